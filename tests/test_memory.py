"""The models' large tables (cmzip/memory.py): zeroed, writable, of the asked size and type,
on a huge-page boundary where huge pages were asked for, and ordinary arrays otherwise."""
import mmap

import numpy as np
import pytest

from cmzip import memory


@pytest.mark.parametrize("count, dtype", [(100, np.uint8), (1 << 20, np.int64), (3 << 20, np.uint8)])
def test_big_zeros_are_zeroed_writable_arrays_of_the_asked_size(count, dtype):
    a = memory.big_zeros(count, dtype)
    assert a.shape == (count,) and a.dtype == dtype and a.flags.writeable and a.flags.c_contiguous
    assert not a.any()
    a[:] = 7
    a[-1] = 3
    assert int(a.sum()) == 7 * (count - 1) + 3


@pytest.mark.skipif(not hasattr(mmap, "MADV_HUGEPAGE"), reason="no huge pages on this system")
def test_big_tables_start_on_a_huge_page_boundary():
    a = memory.big_zeros(4 << 20, np.uint8)
    assert a.ctypes.data % memory.HUGE_PAGE == 0


def test_without_huge_pages_they_are_plain_numpy_arrays(monkeypatch):
    monkeypatch.delattr(mmap, "MADV_HUGEPAGE", raising=False)
    a = memory.big_zeros(4 << 20, np.uint8)
    assert a.base is None and not a.any()
