"""The environment of a simulated other machine, for the exactness tests (DESIGN.md): other SIMD
kernels for torch and numpy, another OpenBLAS core type, MKL's compatible path, one thread, and
the learners' matrix products through torch/MKL instead of numpy/OpenBLAS."""
import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def other_machine_env():
    env = dict(os.environ)
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
