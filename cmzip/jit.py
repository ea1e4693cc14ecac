"""How cmzip compiles its coding loop: numba, imported only by the modules that need it (so that
`cmzip --help` and `cmzip info` never pay for it).

Every compiled function of the coding path uses the same options (docs/design.md says why):

- cache=True: compiled once per machine and kept on disk.  numba keeps the cache beside the
  source in __pycache__; where the package directory is read-only it falls back by itself to a
  per-user cache directory ($NUMBA_CACHE_DIR overrides both).
- nogil=True: a block is coded without holding the GIL, so independent streams can be coded on
  threads side by side.
- never fastmath and never parallel: the order of every operation is the one written in the
  code, and no a*b+c is fused (the exactness contract).
- error_model="numpy": integer division by zero does not raise (every divisor in the loop is
  nonzero by construction) and no exception branch sits in the inner loops.
- _nrt=False: the coding path allocates nothing, so it needs no reference-counted memory
  manager; with one, every access to an array held in a NamedTuple took and released a
  reference (measured: 0.7 us per bit instead of about 0.06 us).

The loop's entry points (loop.py) are `njit`; the components they call are `inline`: numba
inlines them at its IR level, so a block is one function whose hot state LLVM keeps in
registers (measured: level 1 ran 1.7x faster than with the components as separate functions).

numba does not check array bounds: every index computed from data is bounded by construction
(masked to a power-of-two table or clamped), and tests/test_bounds.py runs the decoder with
NUMBA_BOUNDSCHECK=1 in a fresh cache directory to prove it.

The cache must never serve code built from other sources.  numba keys a cached function on its
own file alone, not on the functions it calls (here: inlines), so a changed predictor.py would
leave loop.py's cached loop in place: a model that no longer matches the installed source, whose
files other installations could not decode.  Our functions' cache is keyed on every source file
of the coding path instead (CODING_PATH; tests/test_jit.py checks that the list is complete).

Start-up (each measured alone; a process that compresses a small file took about 0.6 s):
- numba imports scipy, where it is installed, only to check its version (0.016 s): scipy is
  hidden while numba is imported;
- numba refreshes its registries of compiled numpy functions before it loads a cached function,
  and one of them imports scipy.linalg (0.17 s): _Cache loads without the refresh (the machine
  code needs none; a compile, after a cache miss, refreshes them itself);
- numba types the arrays of a model after asking whether each is a numpy.ma array, which
  imports numpy.ma (0.03 s): plain arrays are typed without the question;
- making a dispatcher's cache costs 0.5 ms, for some 60 functions of which a process calls a
  few: each makes its cache on first use.
"""
import gc
import hashlib
import sys
from pathlib import Path

# numba's import creates some 100,000 objects and no garbage: with the cyclic collector paused
# meanwhile, its passes over them stop costing 0.04 s of each process's start-up (measured:
# `import cmzip.codec` 0.33 -> 0.29 s).  scipy is hidden meanwhile (above): an import of it fails
# at once, and numba, finding none, checks no version.  So is yaml, which numba imports only to
# read a .numba_config.yaml in the working directory (0.015 s): where there is such a file, yaml
# is left alone and numba reads it as usual.
_collecting = gc.isenabled()
_hidden = [name for name in ("scipy", "yaml") if name not in sys.modules
           and not (name == "yaml" and Path(".numba_config.yaml").is_file())]
gc.disable()
for _name in _hidden:
    sys.modules[_name] = None
try:
    import numba
    from numba.core import caching
    from numba.extending import intrinsic, overload
finally:
    for _name in _hidden:
        del sys.modules[_name]
    if _collecting:
        gc.enable()

_PACKAGE = Path(__file__).resolve().parent
# every module whose compiled code ends up in the coding loop
CODING_PATH = ("jit.py", "exact.py", "coder.py", "statemap.py", "hashtable.py", "mixer.py",
               "predictor.py", "loop.py", "models/history.py", "models/contexts.py",
               "models/match.py", "models/image.py", "learn/kernels.py", "models/gru_core.py",
               "learner_loop.py")


def _coding_path_stamp():
    digest = hashlib.sha256()
    for name in CODING_PATH:
        digest.update(name.encode() + b"\0" + (_PACKAGE / name).read_bytes())
    return digest.hexdigest()


_STAMP = _coding_path_stamp()


def _type_plain_arrays_without_numpy_ma():
    """numba types each array of a model (a NamedTuple of arrays, so in Python: the compiled
    dispatcher only types bare arrays itself) after asking whether it is a numpy.ma array, and
    that question imports numpy.ma: 0.03 s of every start-up, measured.  An array whose type is
    exactly np.ndarray is none, and is typed here as numba types it; anything else goes to
    numba's own rule."""
    import numpy as np
    from numba.core import types
    from numba.core.typing import typeof
    from numba.np import numpy_support

    numbas_rule = typeof.typeof_impl.dispatch(np.ndarray)

    @typeof.typeof_impl.register(np.ndarray)
    def _typeof_ndarray(val, c):
        if type(val) is not np.ndarray:
            return numbas_rule(val, c)
        try:
            dtype = numpy_support.from_dtype(val.dtype)
        except Exception:           # numba's rule says why, in its own words
            return numbas_rule(val, c)
        return types.Array(dtype, val.ndim, numpy_support.map_layout(val),
                           readonly=not val.flags.writeable)


_type_plain_arrays_without_numpy_ma()


class _CodingPathStamp:
    def get_source_stamp(self):
        return _STAMP


class _UserProvidedLocator(_CodingPathStamp, caching.UserProvidedCacheLocator):
    """$NUMBA_CACHE_DIR, if set"""


class _InTreeLocator(_CodingPathStamp, caching.InTreeCacheLocator):
    """__pycache__ beside the source, if writable"""


class _UserWideLocator(_CodingPathStamp, caching.UserWideCacheLocator):
    """else a per-user cache directory"""


class _CacheImpl(caching.CompileResultCacheImpl):
    _locator_classes = [_UserProvidedLocator, _InTreeLocator, _UserWideLocator]


class _TolerantIndex(caching.IndexDataCacheFile):
    """numba unpickles a cache index before it compares the stamp, so an index that another
    version of cmzip wrote (whose model types name a module this version lacks) raised
    ModuleNotFoundError instead of missing.  Such an index is stale: it is treated as empty, and
    the function compiles and replaces it."""

    def _load_index(self):
        try:
            return super()._load_index()
        except Exception:
            return {}


class _Cache(caching.FunctionCache):
    _impl_class = _CacheImpl

    def __init__(self, py_func):
        super().__init__(py_func)
        self._cache_file.__class__ = _TolerantIndex

    def load_overload(self, sig, target_context):
        """Load a cached function without first refreshing numba's registries: the machine
        code needs none of them.  numba refreshes them before every load, which imports and
        installs every lowering it has (0.17 s measured alone; the first call of a process went
        from 0.43 to 0.35 s); a compile, after a cache miss, refreshes them itself.  If a load
        fails without them, it is retried as numba does it.  On a miss (a compile follows),
        numba's inliner is first made to copy each callee's scope once (below)."""
        try:
            with self._guard_against_spurious_io_errors():
                loaded = self._load_overload(sig, target_context)
        except Exception:
            loaded = super().load_overload(sig, target_context)
        if loaded is None:
            _copy_each_inlined_scope_once()
        return loaded


_ONE_COPY_PER_BLOCK = """\
        for block_label, block in the_ir.blocks.items():
            new_block = copy.deepcopy(the_ir.blocks[block_label])
            kernel_copy.blocks[block_label] = new_block
"""
_ONE_COPY_OF_ALL_BLOCKS = """\
        kernel_copy.blocks = copy.deepcopy(the_ir.blocks)
"""
INLINER = {"copies": None}      # "once": the patch below applies; "per block": numba as it is


def _copy_each_inlined_scope_once():
    """numba's inliner (inline="always") copies the callee's IR before splicing it in, one
    block at a time, and every block's copy deep-copies the callee's whole variable scope along
    with it: a cost of blocks x variables per inlined call, and our components inline into each
    other, so the callees grow large.  It made compiling a level's loop take about 30 s, two
    thirds of them in these copies, and about 1 GiB of memory (numba issues #8989, #9204).
    Copying all the blocks at once (one memo) copies the scope once, which every block of the
    original shares too: the same IR, so the same machine code, compiled in about 12 s within
    about 360 MiB (measured at level 4).  Applied only where numba's source reads exactly as
    expected (numba is pinned); elsewhere numba is left as it is, only slower to compile."""
    if INLINER["copies"] is not None:
        return
    INLINER["copies"] = "per block"
    import inspect
    import textwrap
    from numba.core import inline_closurecall
    worker = inline_closurecall.InlineWorker
    try:
        source = textwrap.dedent(inspect.getsource(worker.inline_ir))
    except (OSError, TypeError):
        return
    if source.count(_ONE_COPY_PER_BLOCK) != 1:
        return
    namespace = {}
    exec(compile(source.replace(_ONE_COPY_PER_BLOCK, _ONE_COPY_OF_ALL_BLOCKS),
                 inline_closurecall.__file__, "exec"), vars(inline_closurecall), namespace)
    INLINER["numba's"] = worker.inline_ir
    worker.inline_ir = namespace["inline_ir"]
    INLINER["copies"] = "once"


class _CacheOnFirstUse:
    """A dispatcher's _Cache, made when the dispatcher first compiles or loads code.  Making one
    looks for a writable cache directory (about 0.5 ms); the inlined components never need
    theirs unless called from Python (tests), so some 60 of them were 0.03 s of every start-up."""

    def __init__(self, py_func):
        self._py_func = py_func
        self._cache = None

    def __getattr__(self, name):
        if self._cache is None:
            self._cache = _Cache(self._py_func)
        return getattr(self._cache, name)


def _with_coding_path_cache(dispatcher):
    dispatcher._cache = _CacheOnFirstUse(dispatcher.py_func)
    return dispatcher

_OPTIONS = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", _nrt=False)


def njit(function):
    """Compile an entry point of the coding path."""
    return _with_coding_path_cache(numba.njit(**_OPTIONS)(function))


def inline(function):
    """Compile a component of the coding path, to be inlined into its callers."""
    return _with_coding_path_cache(numba.njit(inline="always", **_OPTIONS)(function))


def count(field):
    """How many of a part a model has, from a Config field that holds it either as the length
    of a tuple (a constant of the compiled code: loops over the parts unroll) or as an int (a
    value read at run time: one compiled loop serves every count; levels.UNROLLED_LEVELS says
    which levels take which)."""
    return field if isinstance(field, int) else len(field)


# (a plain overload, which LLVM inlines: with numba's own inlining of it, inline="always", the
# count passed as an argument to the bit-image model's update_bit read as 0, and that model
# never learned: found by the golden vectors)
@overload(count)
def _count_compiled(field):
    if isinstance(field, numba.types.Integer):
        return lambda field: field
    return lambda field: len(field)


def prefetch(array, index):
    """Ask the CPU to bring in the cache line of element `index` of a C-contiguous array (its
    flat index, whatever the array's shape), without waiting for it: a hint that changes no
    value (out of the compiled code, nothing to do)."""


@intrinsic
def _prefetch_compiled(typingctx, array, index):
    # llvm.prefetch(address, write 0, locality 3 (keep in every cache level), data 1); a
    # prefetch never faults, and the callers index within their arrays anyway
    if not isinstance(array, numba.types.Array) or not isinstance(index, numba.types.Integer):
        return None

    def codegen(context, builder, signature, args):
        from llvmlite import ir
        from numba.core import cgutils
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        address = builder.bitcast(builder.gep(data, [args[1]]), ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        hint_type = ir.FunctionType(ir.VoidType(), [address.type, i32, i32, i32])
        hint = cgutils.get_or_insert_function(builder.module, hint_type, "llvm.prefetch.p0")
        builder.call(hint, [address, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()
    return numba.types.void(array, index), codegen


@overload(prefetch)
def _prefetch_overload(array, index):
    return lambda array, index: _prefetch_compiled(array, index)
