"""The environment of a simulated other machine, for the exactness tests (docs/design.md): the compiled
loop built for a generic x86-64 CPU (SSE2 only) in a fresh, empty numba cache, other SIMD kernels
for torch and numpy, another OpenBLAS core type, MKL's compatible path, one thread, and the
learners' matrix products through torch/MKL instead of numpy/OpenBLAS.

numba's cache key ignores NUMBA_CPU_NAME, NUMBA_OPT and NUMBA_BOUNDSCHECK: without a fresh
NUMBA_CACHE_DIR a child with those settings would silently load the normal build."""
import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def other_machine_env(numba_cache_dir=None, **numba_settings):
    """numba_cache_dir: an empty directory of the caller's (tmp_path), for children that run the
    compiled loop (None: tests of numpy-only learners); numba_settings: more NUMBA_* variables,
    e.g. NUMBA_OPT="0" or NUMBA_BOUNDSCHECK="1"."""
    env = dict(os.environ)
    if numba_cache_dir is not None:
        env.update({"NUMBA_CPU_NAME": "generic", "NUMBA_CACHE_DIR": str(numba_cache_dir),
                    **numba_settings})
    env.update({
        "ATEN_CPU_CAPABILITY": "default",
        "NPY_DISABLE_CPU_FEATURES": " ".join(np._core._multiarray_umath.__cpu_dispatch__),
        "OPENBLAS_CORETYPE": "Prescott",
        "MKL_CBWR": "COMPATIBLE",
        "CMZIP_MATMUL": "torch",
        "PYTHONPATH": str(REPO) + os.pathsep + str(REPO / "tests") + os.pathsep
                      + env.get("PYTHONPATH", ""),
    })
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env[var] = "1"
    return env
