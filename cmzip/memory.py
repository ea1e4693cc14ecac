"""The models' large tables, on huge pages where the system offers them.

The bucket table, the match table and the history buffer are read at random positions several
times a byte.  With 4 KiB pages nearly every such read also misses the TLB; on 2 MiB pages it
rarely does.  Measured on book1 and 8 MiB of real files, codec only: level 4 +5-9%, level 5
+5-10% bytes per second.  Linux gives huge pages to private anonymous memory that asks for them
(madvise), so the tables are allocated that way; elsewhere, or if the request fails, they are
ordinary numpy arrays.  Where an array lives changes no bit of the output.
"""
import mmap

import numpy as np

HUGE_PAGE = 2 << 20


def big_zeros(count, dtype):
    """A zeroed 1-D array of `count` elements of `dtype`, on huge pages if the system allows."""
    dtype = np.dtype(dtype)
    nbytes = count * dtype.itemsize
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    private = getattr(mmap, "MAP_PRIVATE", None)
    if nbytes < HUGE_PAGE or advice is None or private is None:
        return np.zeros(count, dtype=dtype)
    try:
        # one extra huge page, so that the array can start on a huge-page boundary
        buf = mmap.mmap(-1, nbytes + HUGE_PAGE, flags=private | mmap.MAP_ANONYMOUS)
    except (OSError, ValueError):
        return np.zeros(count, dtype=dtype)
    raw = np.frombuffer(buf, dtype=np.uint8)        # the array keeps the mapping alive
    start = (-raw.ctypes.data) % HUGE_PAGE
    try:
        buf.madvise(advice, start, nbytes)
    except OSError:
        pass                                        # ordinary pages: slower, same output
    return raw[start:start + nbytes].view(dtype)
