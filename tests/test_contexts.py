"""The instruction contexts read the bytes they say they read."""
import numpy as np

from cmzip.models import context
from cmzip.models.history import History


def _history_after(data, steps):
    """One lane over data, after coding its first `steps` bytes."""
    hist = History(len(data), 1)
    for byte in data[:steps]:
        hist.push(np.array([byte], dtype=np.uint8))
    return hist


def test_word_so_far_and_the_first_bytes_of_earlier_words():
    data = bytes(range(0x10, 0x30))         # words 10 11 12 13 | 14 15 16 17 | 18 19 1a 1b | ...
    hist = _history_after(data, 14)         # next byte: 0x1e, position 2 of the word 1c 1d 1e 1f
    so_far = int(context._word_so_far(hist)[0])
    assert so_far & 0xFF == 2 and so_far >> 8 == 0x1C1D     # position; bytes 1c 1d, latest lowest
    assert [int(hist.word_start(back)[0]) for back in (1, 2, 3)] == [0x18, 0x14, 0x10]
    assert int(hist.word_start(4)[0]) == 0                     # before the lane's start: 0


def test_a_word_boundary_starts_an_empty_word():
    hist = _history_after(bytes(range(0x10, 0x30)), 8)
    assert int(context._word_so_far(hist)[0]) == 0
    assert int(hist.word_start(1)[0]) == 0x14
