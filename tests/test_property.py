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


# The layout of a stream, written out from the documentation (cmzip/container.py), so that a
# stream can be rebuilt with any field set to any value and its headers' checks still valid.

def _varint(value):
    groups = [value & 0x7F]
    while value := value >> 7:
        groups.append(value & 0x7F)
    return bytes(group | 0x80 for group in groups[:-1]) + bytes(groups[-1:])


def _checked(fields):
    return fields + struct.pack("<H", zlib.crc32(fields) & 0xFFFF)


def _fields_of(blob):
    """The fields of a one-block stream, and its payload."""
    magic, version, level, block_log, flags, fingerprint = struct.unpack_from("<4sBBBBI", blob)
    at, lengths = 16, []
    for _ in range(2):   # raw_len, payload_len
        value = shift = 0
        while True:
            byte = blob[at]
            value, shift, at = value | (byte & 0x7F) << shift, shift + 7, at + 1
            if not byte & 0x80:
                break
        lengths.append(value)
    (raw_crc,) = struct.unpack_from("<I", blob, at)
    payload = blob[at + 6:at + 6 + lengths[1]]
    return dict(magic=magic, version=version, level=level, block_log=block_log, flags=flags,
                fingerprint=fingerprint, raw_len=lengths[0], payload_len=lengths[1],
                raw_crc=raw_crc, payload=payload, total_len=len(ORIGINAL),
                total_crc=zlib.crc32(ORIGINAL))


def _build(fields):
    """A one-block stream from its fields, every header's check valid."""
    f = fields
    header = struct.pack("<4sBBBBI", f["magic"], f["version"], f["level"], f["block_log"],
                         f["flags"], f["fingerprint"])
    return (header + struct.pack("<I", zlib.crc32(header))
            + _checked(_varint(f["raw_len"]) + _varint(f["payload_len"])
                       + struct.pack("<I", f["raw_crc"]))
            + f["payload"] + b"\x00"
            + _checked(_varint(f["total_len"]) + struct.pack("<I", f["total_crc"])))


FIELD_BITS = {"level": 8, "block_log": 8, "flags": 8, "raw_len": 64, "payload_len": 64,
              "raw_crc": 32, "total_len": 64, "total_crc": 32}


def test_the_layout_written_out_here_rebuilds_the_stream():
    assert _build(_fields_of(valid_stream())) == valid_stream()


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
)
# Header fields set to extreme values with the headers' checks kept valid, so that the
# fields' own validation is what must catch them (varints of up to 10 bytes included).
field_values = st.dictionaries(
    st.sampled_from(sorted(FIELD_BITS)),
    st.sampled_from([0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**64 - 1]), max_size=2)


@settings(BUDGET, max_examples=60)
@given(field_values, st.lists(mutations, max_size=3))
def test_damaged_streams_raise_cmzip_error_or_decode_correctly(changes, steps):
    fields = _fields_of(valid_stream())
    for field, value in changes.items():
        fields[field] = value & ((1 << FIELD_BITS[field]) - 1)
    blob = bytearray(_build(fields))
    for mutate, *arguments in steps:
        mutate(blob, *arguments)
    try:
        restored = cmzip.decompress(bytes(blob))
    except CmzipError:
        return
    assert restored == ORIGINAL
