"""Property tests: round trips of random and structured inputs, reads in random pieces, and
decompression of randomly damaged streams. Inputs stay at or under 2 KB and the example
counts modest, because the codec learns as it codes and is slow per byte."""
import functools
import io
import itertools
import struct
import zlib

from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import cmzip
from cmzip import CmzipError

MAX_SIZE = 2048
# No deadline: examples take up to seconds. No explain phase: after a failure it reruns
# the slow test hundreds of times (minutes) to annotate the report.
BUDGET = settings(deadline=None, phases=[phase for phase in Phase if phase != Phase.explain])
ROUND_TRIPS = settings(BUDGET, max_examples=25)

levels = st.sampled_from([cmzip.MIN_LEVEL, cmzip.DEFAULT_LEVEL, cmzip.MAX_LEVEL])


def _runs(pairs):
    return b"".join(bytes([value]) * length for value, length in pairs)[:MAX_SIZE]


structured = st.one_of(
    st.builds(lambda unit, count: (unit * count)[:MAX_SIZE],   # a short pattern, repeated
              st.binary(min_size=1, max_size=16), st.integers(1, MAX_SIZE)),
    st.lists(st.tuples(st.integers(0, 255), st.integers(1, 300)), max_size=20).map(_runs),
    st.text(max_size=MAX_SIZE // 4).map(lambda text: text.encode("utf-8")),
    st.lists(st.sampled_from([b"the ", b"cat ", b"sat ", b"on ", b"mat\n", b"\x00\x00\xff"]),
             max_size=300).map(lambda words: b"".join(words)[:MAX_SIZE]),
)


@ROUND_TRIPS
@given(data=st.binary(max_size=MAX_SIZE), level=levels)
def test_round_trip_random_bytes(data, level):
    assert cmzip.decompress(cmzip.compress(data, level)) == data


@ROUND_TRIPS
@given(data=structured, level=levels)
def test_round_trip_structured_bytes(data, level):
    assert cmzip.decompress(cmzip.compress(data, level)) == data


@settings(BUDGET, max_examples=10)
@given(data=structured, pieces=st.lists(st.integers(1, 700), min_size=1, max_size=10))
def test_reading_in_any_pieces(data, pieces):
    reader = cmzip.CmzipFile(io.BytesIO(cmzip.compress(data, level=1)))
    restored = bytearray()
    for size in itertools.cycle(pieces):
        chunk = reader.read(size)
        if not chunk:
            break
        restored += chunk
    assert restored == data


# ---------------------------------------------------------------------------- fuzzing

ORIGINAL = b"fuzz me: \x00\x01\x02 fuzz me again\n"


@functools.cache
def valid_stream():
    return cmzip.compress(ORIGINAL, level=1)


def _reseal(blob, start, end):
    """Recompute the CRC-32 stored after blob[start:end]."""
    blob[end:end + 4] = struct.pack("<I", zlib.crc32(blob[start:end]))


def _set_field(blob, field, value):
    """Set a header field to an extreme value and keep its header's CRC valid, so that the
    field's own validation is what must catch it."""
    size = len(blob)
    if size < 56:   # shorter than any stream with a block: truncated already
        return
    spans = {  # field: (format, offset, start and end of the CRC-covered bytes)
        "level": ("<B", 5, 0, 12), "block_log": ("<B", 6, 0, 12), "flags": ("<B", 7, 0, 12),
        "raw_len": ("<I", 16, 16, 32), "lanes": ("<I", 20, 16, 32),
        "payload_len": ("<I", 24, 16, 32), "raw_crc": ("<I", 28, 16, 32),
        "total_len": ("<Q", size - 16, size - 16, size - 4),
        "total_crc": ("<I", size - 8, size - 16, size - 4),
    }
    fmt, offset, start, end = spans[field]
    value &= (1 << (8 * struct.calcsize(fmt))) - 1
    struct.pack_into(fmt, blob, offset, value)
    _reseal(blob, start, end)


def _flip(blob, position, bit):
    if blob:
        blob[position % len(blob)] ^= 1 << bit


def _truncate(blob, cut):
    del blob[cut % (len(blob) + 1):]


def _extend(blob, extra):
    blob += extra


mutations = st.one_of(
    st.tuples(st.just(_flip), st.integers(0, 10_000), st.integers(0, 7)),
    st.tuples(st.just(_truncate), st.integers(0, 10_000)),
    st.tuples(st.just(_extend), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just(_set_field),
              st.sampled_from(["level", "block_log", "flags", "raw_len", "lanes", "payload_len",
                               "raw_crc", "total_len", "total_crc"]),
              st.sampled_from([0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**64 - 1])),
)


@settings(BUDGET, max_examples=60)
@given(st.lists(mutations, min_size=1, max_size=3))
def test_damaged_streams_raise_cmzip_error_or_decode_correctly(steps):
    blob = bytearray(valid_stream())
    for mutate, *arguments in steps:
        mutate(blob, *arguments)
    try:
        restored = cmzip.decompress(bytes(blob))
    except CmzipError:
        return
    assert restored == ORIGINAL
