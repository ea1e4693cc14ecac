"""The exactness contract: a file compressed here decodes in a process that simulates another
machine (the compiled loop built for a generic CPU in a fresh cache, other SIMD kernels, BLAS
core type, MKL path, one thread), and compressing there gives byte-identical output."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

import cmzip
from cmzip.corpora import CorpusError, find_corpus
from cmzip.levels import DEFAULT_LEVEL, MAX_LEVEL
from cmzip.samples import sample
from machines import other_machine_env

REPO = Path(__file__).resolve().parent.parent
FILES = [("calgary", "paper5"), ("calgary", "obj1"), ("canterbury", "fields.c"),
         ("canterbury", "grammar.lsp")]


_CHILD = r"""
import json, sys, zlib
import cmzip
jobs = json.load(sys.stdin)
out = []
for job in jobs:
    original = open(job["original"], "rb").read()
    packed = open(job["packed"], "rb").read()
    decoded_ok = cmzip.decompress(packed) == original
    repacked = cmzip.compress(original, level=job["level"], predictors=job.get("predictors"))
    out.append({"decoded_ok": decoded_ok, "same_bytes": repacked == packed})
print(json.dumps(out))
"""


def _inputs(tmp_path, files=FILES):
    paths = []
    for corpus, name in files:
        try:
            paths.append(find_corpus(corpus) / name)
        except CorpusError:
            pass
    if not paths:                       # still prove the contract without the corpora
        for kind in ("text", "binary"):
            p = tmp_path / kind
            p.write_bytes(sample(kind, 20000))
            paths.append(p)
    return paths


BOTH_LEARNERS = ["context", "match", "gru", "qct"]


@pytest.mark.slow
# levels 8 and 9: the GRU in its compiled block loop; level 9 with both learners (the QCT is in
# no level's own set): the GRU (compiled, one call per byte) and the QCT in the Python-driven loop
@pytest.mark.parametrize("level,predictors", [(DEFAULT_LEVEL, None), (8, None), (MAX_LEVEL, None),
                                              (MAX_LEVEL, BOTH_LEARNERS)],
                         ids=["default", "8", "9", "9-gru+qct"])
def test_decodes_and_reencodes_identically_on_a_simulated_other_machine(tmp_path, level,
                                                                        predictors):
    jobs = []
    # the learner levels are slower: their two smallest files are enough to show it
    files = FILES if level <= DEFAULT_LEVEL else FILES[2:]
    for path in _inputs(tmp_path, files):
        packed = tmp_path / (path.name + f".{level}.cmz")
        packed.write_bytes(cmzip.compress(path.read_bytes(), level=level, predictors=predictors))
        jobs.append({"original": str(path), "packed": str(packed), "level": level,
                     "predictors": predictors})
    _check_in_child(jobs, other_machine_env(tmp_path / "numba-cache"))


def _check_in_child(jobs, env, writes_cache=True):
    result = subprocess.run([sys.executable, "-c", _CHILD], input=json.dumps(jobs), env=env,
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-2000:]
    if writes_cache:     # the child compiled into its own, fresh cache (NUMBA_OPT=0 code is
        # not cacheable: numba says it uses dynamic globals; it is compiled afresh all the same)
        assert any((Path(env["NUMBA_CACHE_DIR"])).rglob("*.nbi")), "the child did not compile afresh"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(report) == len(jobs)
    for job, r in zip(jobs, report):
        assert r["decoded_ok"], f"{job['original']} did not decode on the simulated machine"
        assert r["same_bytes"], f"{job['original']} compressed differently on the simulated machine"


@pytest.mark.slow
def test_unoptimised_compiled_code_gives_the_same_bytes(tmp_path):
    """NUMBA_OPT=0: no LLVM optimisation at all, so nothing that an optimiser may reorder."""
    path = _inputs(tmp_path, FILES[3:])[0]
    data = path.read_bytes()[:3000]
    original = tmp_path / "small"
    original.write_bytes(data)
    packed = tmp_path / "small.cmz"
    packed.write_bytes(cmzip.compress(data, level=DEFAULT_LEVEL))
    jobs = [{"original": str(original), "packed": str(packed), "level": DEFAULT_LEVEL}]
    _check_in_child(jobs, other_machine_env(tmp_path / "numba-cache", NUMBA_OPT="0"),
                    writes_cache=False)
