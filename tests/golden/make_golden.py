"""Writes the golden vectors of tests/test_golden.py: run it (python3 tests/golden/make_golden.py)
only together with a bump of levels.MODEL_VERSION, when the coded bits change on purpose, and
paste the printed hashes into tests/test_golden.py."""
import hashlib
from pathlib import Path

import cmzip
from cmzip.levels import MAX_LEVEL, MIN_LEVEL, MODEL_VERSION
from cmzip.samples import sample

HERE = Path(__file__).resolve().parent


def golden_input():
    return (sample("text", 1500, seed=11) + sample("binary", 1000, seed=12)
            + sample("redundant", 500, seed=13) + sample("bitmap", 2000, seed=14))


if __name__ == "__main__":
    data = golden_input()
    print(f"MODEL_VERSION = {MODEL_VERSION}")
    for level in range(MIN_LEVEL, MAX_LEVEL + 1):
        packed = cmzip.compress(data, level)
        print(f"    {level}: \"{hashlib.sha256(packed).hexdigest()}\",   # {len(packed)} bytes")
        if level in (1, 5, 9):
            (HERE / f"golden-v{MODEL_VERSION}-level{level}.cmz").write_bytes(packed)
