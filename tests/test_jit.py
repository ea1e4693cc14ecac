"""The compiled code's cache: keyed on every source file of the coding path, usable from a
read-only install, and never loading code built from other sources."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cmzip
from cmzip import jit

PACKAGE = Path(cmzip.__file__).resolve().parent


def test_every_module_with_compiled_code_is_in_the_cache_key():
    compiled = set()
    for path in PACKAGE.rglob("*.py"):
        if re.search(r"^from \.+jit import", path.read_text(), re.M) or path.name == "jit.py":
            compiled.add(path.relative_to(PACKAGE).as_posix())
    compiled.add("exact.py")                 # its tables are the loop's arithmetic
    assert compiled <= set(jit.CODING_PATH), compiled - set(jit.CODING_PATH)


_CHILD = r"""
import sys
import cmzip
data = b"the cache must follow the source " * 50
packed = cmzip.compress(data, 1)
assert cmzip.decompress(packed) == data
print(len(packed))
"""


def _run(package_parent, env_extra, tmp_path):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(package_parent), HOME=str(home),
               XDG_CACHE_HOME=str(home / ".cache"), **env_extra)
    env.pop("NUMBA_CACHE_DIR", None)
    result = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                            text=True, timeout=600, cwd=str(home))
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_a_read_only_install_caches_in_the_user_cache_and_edits_invalidate_it(tmp_path):
    copy = tmp_path / "site" / "cmzip"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    if os.geteuid() == 0:
        # root writes into read-only directories anyway: a file where numba would create its
        # __pycache__ directory makes the package's tree unusable for the cache all the same
        for package_dir in (copy, copy / "models"):
            (package_dir / "__pycache__").write_bytes(b"")
    for path in [copy, *copy.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        _run(copy.parent, {}, tmp_path)
        user_cache = tmp_path / "home" / ".cache" / "numba"
        first = {p: p.stat().st_mtime_ns for p in user_cache.rglob("*.nbi")}
        assert first, "nothing was cached in the user cache directory"
        assert not list(copy.rglob("*.nbi"))                 # nothing written into the package
        _run(copy.parent, {}, tmp_path)                       # a second run loads, writes nothing
        assert {p: p.stat().st_mtime_ns for p in user_cache.rglob("*.nbi")} == first
        # an edit to a module the loop inlines (not the loop's own file) must invalidate it
        target = copy / "models" / "contexts.py"
        target.chmod(0o644)
        target.write_text(target.read_text() + "\n# edited\n")        # (as root, or the owner)
        target.chmod(0o444)
        _run(copy.parent, {}, tmp_path)
        loop_index = [p for p in user_cache.rglob("loop.code_block*.nbi")]
        assert loop_index and all(p.stat().st_mtime_ns != first.get(p) for p in loop_index)
    finally:
        for path in [copy, *copy.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_an_index_that_names_a_missing_module_is_a_cache_miss(tmp_path):
    """A cache directory that another version of cmzip filled (its index unpickles to a module
    this version does not have) must make the function compile again, not fail."""
    import pickle

    cache = tmp_path / "cache"
    env = {"NUMBA_CACHE_DIR": str(cache)}
    _run_with_cache(env, tmp_path)
    indexes = list(cache.rglob("*.nbi"))
    assert [p for p in indexes if "hash32" in p.name]
    for index in indexes:
        with open(index, "rb") as f:
            version = pickle.load(f)
        with open(index, "wb") as f:
            pickle.dump(version, f, protocol=-1)
            f.write(b"cmodule_of_another_cmzip_version\nModel\n.")
        with open(index, "rb") as f:
            pickle.load(f)
            try:
                pickle.loads(f.read())
            except ModuleNotFoundError:
                pass
            else:
                raise AssertionError("the altered index should name a missing module")
    _run_with_cache(env, tmp_path)


# one small compiled function of the coding path, cached as the loop is (the loop's compile
# would take a minute)
_SMALL_CHILD = "from cmzip.models.contexts import hash32; print(hash32(1, 2, 3))"


def _run_with_cache(env_extra, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(PACKAGE.parent), **env_extra)
    result = subprocess.run([sys.executable, "-c", _SMALL_CHILD], env=env, capture_output=True,
                            text=True, timeout=600, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]


def test_plain_arrays_are_typed_as_numba_types_them():
    """jit.py types arrays of exactly np.ndarray itself (without importing numpy.ma); the
    result must be numba's own, for every layout, dtype and flag the models use or could."""
    import numba
    import numpy as np
    from numba.core.typing import typeof

    rule = typeof.typeof_impl.dispatch(np.ndarray)
    assert rule.__module__ == "cmzip.jit"
    base = np.arange(24, dtype=np.int64).reshape(4, 6)
    frozen = np.zeros(5, dtype=np.uint32)
    frozen.flags.writeable = False
    for array in (np.zeros(3, np.uint8), np.zeros(3, np.int16), np.zeros((2, 3), np.int32),
                  base, base.T, base[:, ::2], np.zeros(0, np.float64), frozen,
                  np.zeros((2, 2, 2), np.float32)):
        assert rule(array, None) == numba.core.typing.typeof._typeof_ndarray(array, None)
    with __import__("pytest").raises(numba.core.errors.NumbaTypeError):
        numba.typeof(np.ma.zeros(3))            # other array types still take numba's rule


def test_a_process_that_compresses_imports_neither_scipy_nor_numpy_ma(tmp_path):
    """Start-up (jit.py): a cached level-4 round trip loads neither."""
    child = (_CHILD + "import sys\n"
             "print(sorted(m for m in ('scipy', 'numpy.ma', 'numba.np.arraymath', 'cmzip.bench')"
             " if m in sys.modules))\n").replace("cmzip.compress(data, 1)", "cmzip.compress(data, 4)")
    env = dict(os.environ)
    subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, timeout=600)
    result = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-1] == "[]"


def test_the_inliner_copies_each_callee_scope_once_with_the_pinned_numba():
    """jit.py mends numba's inliner (a compile took 30 s and 1 GiB without it); the mend applies
    only where numba's source reads as expected.  With the numba version cmzip pins it must
    apply, so that an upgrade that drops it is noticed here, not as a slow CI."""
    import numba
    from numba.core.inline_closurecall import InlineWorker
    jit._copy_each_inlined_scope_once()
    if numba.__version__ == "0.68.1":
        assert jit.INLINER["copies"] == "once"
        assert InlineWorker.inline_ir is not jit.INLINER["numba's"]
    else:
        assert jit.INLINER["copies"] in ("once", "per block")


def test_prefetch_changes_no_value_and_compiles_to_a_prefetch():
    """jit.prefetch is a hint: a compiled loop that asks for lines (any shape of array, indices
    within it) computes what it computes without them; on x86-64 the hint is an instruction."""
    import platform

    import numba
    import numpy as np

    @numba.njit
    def total(table, weights, ask):
        s = 0
        for i in range(table.shape[0]):
            if ask:
                jit.prefetch(table, (i * 7919) & (table.shape[0] - 1))
                jit.prefetch(weights, (i * 31) % weights.size)
            s += table[(i * 7919) & (table.shape[0] - 1)] * weights[i % 4, i % 8]
        return s

    table = np.arange(1 << 12, dtype=np.uint8)
    weights = np.arange(32, dtype=np.int32).reshape(4, 8)
    assert total(table, weights, True) == total(table, weights, False) > 0
    jit.prefetch(table, 5)                      # out of compiled code: nothing to do
    if platform.machine() in ("x86_64", "AMD64"):
        assembly = total.inspect_asm(total.signatures[0])
        assert "prefetch" in assembly
