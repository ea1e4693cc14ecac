"""Gain and time of a level's byte learners: files coded with the level's codec (no container)
with each given set of byte learners (names from the level's own, or from the defaults).  CPU
time (time.thread_time).

    PYTHONPATH=. python3 experiments/learner_gain.py LEVEL FILES SET...
    (FILES: comma-separated Calgary names, "text" for its 14 text files, or paths;
     SET: comma-separated learner names, e.g. "gru,qct", "gru", or "none")
"""
import json
import sys
import time
from pathlib import Path

from cmzip import levels
from cmzip.codec import Codec
from cmzip.corpora import find_corpus

TEXT = "bib book1 book2 news paper1 paper2 paper3 paper4 paper5 paper6 progc progl progp trans"


def _data(name):
    path = Path(name)
    return (path if path.exists() else find_corpus("calgary") / name).read_bytes()


def run(level, names, learners):
    base = dict(levels.LEVELS[level])
    own = dict(base.get("byte_models", []))
    models = [(n, own.get(n, levels.BYTE_MODEL_DEFAULTS[n])) for n in learners]
    # the decoder's information budget as the level has it with these learners (a level's own
    # min_bit_cost of 64 costs up to 0.008 bits per byte without them)
    levels.LEVELS[level] = dict(base, byte_models=models,
                                min_bit_cost=levels._min_bit_cost(models))
    total, cpu, sizes, own_bpb = 0, 0.0, {}, []
    try:
        Codec(level).encode_block(b"warm up the compiled code" * 10)
        for name in names:
            data = _data(name)
            codec = Codec(level)
            start = time.thread_time()
            size = len(codec.encode_block(data))
            cpu += time.thread_time() - start
            sizes[Path(name).name] = size
            total += size
            own_bpb.append({m["name"] if "name" in m else i: round(m["bits_per_byte"], 4)
                            for i, m in enumerate(codec.learner_metrics())})
    finally:
        levels.LEVELS[level] = base
    return total, cpu, sizes, own_bpb


if __name__ == "__main__":
    level = int(sys.argv[1])
    names = TEXT.split() if sys.argv[2] == "text" else sys.argv[2].split(",")
    n = sum(len(_data(name)) for name in names)
    for arg in sys.argv[3:]:
        learners = [] if arg == "none" else arg.split(",")
        total, cpu, sizes, own = run(level, names, learners)
        print(json.dumps({"level": level, "learners": learners, "bytes": total,
                          "bpb": round(8 * total / n, 4), "cpu_s": round(cpu, 2),
                          "us_per_byte": round(cpu / n * 1e6, 2), "sizes": sizes,
                          "learners_bpb": own}), flush=True)
