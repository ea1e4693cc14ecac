"""Memory safety of the compiled loop: numba does not check array bounds, so every index the
decoder computes from untrusted data must be bounded by construction.  The decoder runs over
valid and damaged streams in child processes, a batch per child, so that a crash fails a test
instead of killing the run: once as built (the normal cache), once compiled with
NUMBA_BOUNDSCHECK=1 (in a fresh cache directory: numba's cache key ignores the setting, so a
shared cache would load the unchecked build), where an out-of-range index raises IndexError and a
probe in the same child proves that bounds checking is really on."""
import json
import os
import subprocess
import sys

import pytest

import cmzip
from cmzip.samples import sample
from machines import other_machine_env

_CHILD = r"""
import json, random, sys
import numba, numpy as np
import cmzip

@numba.njit
def probe(a, i):
    return a[i]

try:
    probe(np.zeros(4), 9)
    probe_raised = False
except IndexError:
    probe_raised = True

jobs = json.load(sys.stdin)
outcomes = {"ok": 0, "CmzipError": 0}
rng = random.Random(1)
for job in jobs:
    blob, original = bytes.fromhex(job["blob"]), bytes.fromhex(job["original"])
    cases = [blob]
    for _ in range(job["damaged"]):
        b = bytearray(blob)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(40, len(b))        # the payload: the headers have checksums
            b[i] = rng.randrange(256)
        cases.append(bytes(b))
    for case in cases:
        try:
            assert cmzip.decompress(case) == original
            outcomes["ok"] += 1
        except cmzip.CmzipError:
            outcomes["CmzipError"] += 1
print(json.dumps({"probe_raised": probe_raised, "outcomes": outcomes}))
"""


def _jobs(damaged):
    jobs = []
    for level, kind, seed in [(1, "text", 1), (1, "binary", 2), (5, "text", 3), (5, "binary", 4),
                              (5, "redundant", 5), (5, "bitmap", 7), (6, "text", 6)]:
        original = sample(kind, 2500 if level < 6 else 600, seed=seed)
        jobs.append({"blob": cmzip.compress(original, level).hex(), "original": original.hex(),
                     "damaged": damaged if level < 6 else 4})
    return jobs


def _run_child(jobs, env):
    result = subprocess.run([sys.executable, "-c", _CHILD], input=json.dumps(jobs), env=env,
                            capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]      # a crash or IndexError fails here
    report = json.loads(result.stdout.strip().splitlines()[-1])
    outcomes = report["outcomes"]
    assert outcomes["ok"] >= len(jobs)                           # the undamaged ones
    assert outcomes["CmzipError"] > 0.8 * sum(job["damaged"] for job in jobs)
    return report


def test_damaged_payloads_decode_or_fail_cleanly_in_a_child():
    _run_child(_jobs(150), dict(os.environ))


@pytest.mark.slow
def test_the_decoder_stays_in_bounds_on_damaged_payloads(tmp_path):
    jobs = _jobs(40)
    report = _run_child(jobs, other_machine_env(tmp_path / "numba-cache", NUMBA_BOUNDSCHECK="1"))
    assert report["probe_raised"], "NUMBA_BOUNDSCHECK=1 was not in force in the child"
