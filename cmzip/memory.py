"""Process memory settings for the step loop.

Every numpy operation on lane arrays allocates a fresh result of a few hundred KB to a few MB.
glibc serves blocks that size with mmap, or trims the freed heap back to the OS, so each one is
page-faulted in again: measured at 384 lanes, a portable sigmoid over (384, 192) took 1.0 ms
that way and 0.19 ms with freed memory kept (softmax weights over (384, 256): 1.5 vs 0.34 ms;
the QCT's forward pass: 3x).  Keeping freed memory in the heap removes that cost.  The setting
is process-wide and changes no result; where the C library has no mallopt it does nothing.
"""
import ctypes
import ctypes.util

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_done = False


def keep_freed_memory():
    """Ask glibc to serve blocks up to 32 MB from the heap and to return freed heap to the OS
    only beyond 256 MB (once per process)."""
    global _done
    if _done:
        return
    _done = True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 256 << 20)
    except (OSError, AttributeError, TypeError):
        pass
