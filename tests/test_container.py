"""The .cmz container: layout, streaming, and rejection of damaged or hostile input.

Hostile headers are built here from the documented layout (with valid CRCs), so that the size
checks themselves are tested, not just the CRCs in front of them.
"""
import io
import re
import struct
import tracemalloc
import zlib

import pytest

from cmzip import compress, decompress
from cmzip.codec import Codec
from cmzip.container import (DEFAULT_BLOCK_SIZE, MAGIC, compress_stream, decompress_stream,
                             iter_decompressed, read_info)
from cmzip.errors import CmzipError
from cmzip.levels import DEFAULT_LEVEL, level_fingerprint

SMALL_BLOCK = 1 << 16
HEADER_SIZE = 16
BLOCK_HEADER_SIZE = 20
END_SIZE = 4 + 16     # end marker and trailer


def sealed(fields):
    return fields + struct.pack("<I", zlib.crc32(fields))


def stream_header(level=1, block_log=16, version=1, flags=0, fingerprint=None, magic=MAGIC):
    if fingerprint is None:
        fingerprint = level_fingerprint(level) if 1 <= level <= 9 else 0
    return sealed(struct.pack("<4sBBBBI", magic, version, level, block_log, flags, fingerprint))


def block_header(raw_len, lanes, payload_len, raw_crc=0):
    return sealed(struct.pack("<IIII", raw_len, lanes, payload_len, raw_crc))


def end_and_trailer(total_len, total_crc):
    return struct.pack("<I", 0) + sealed(struct.pack("<QI", total_len, total_crc))


@pytest.fixture(scope="module")
def tiny_cmz(tiny):
    return compress(tiny, level=1)


# ---------------------------------------------------------------------------- valid streams

def test_stream_round_trip_reports_sizes(sample):
    compressed = io.BytesIO()
    sizes = compress_stream(io.BytesIO(sample), compressed, 1)
    assert sizes == (len(sample), len(compressed.getvalue()))
    restored = io.BytesIO()
    compressed.seek(0)
    assert decompress_stream(compressed, restored) == sizes
    assert restored.getvalue() == sample


def test_empty_input_is_header_end_and_trailer():
    expected = (stream_header(DEFAULT_LEVEL, block_log=22)
                + end_and_trailer(total_len=0, total_crc=0))
    assert compress(b"") == expected
    assert decompress(expected) == b""


def test_one_block_layout_matches_the_documentation(tiny):
    blob = compress(tiny, level=2)
    assert blob[:HEADER_SIZE] == stream_header(2, block_log=22)
    raw_len, lanes, payload_len, raw_crc, header_crc = struct.unpack_from("<5I", blob, HEADER_SIZE)
    assert (raw_len, raw_crc) == (len(tiny), zlib.crc32(tiny))
    assert lanes == Codec(2).lanes_for(len(tiny))
    assert header_crc == zlib.crc32(blob[HEADER_SIZE:HEADER_SIZE + 16])
    assert len(blob) == HEADER_SIZE + BLOCK_HEADER_SIZE + payload_len + END_SIZE
    assert blob[-END_SIZE:] == end_and_trailer(len(tiny), zlib.crc32(tiny))


class Trickle(io.RawIOBase):
    """A source like a pipe: every read returns at most 5 bytes. Records what was asked."""

    def __init__(self, data):
        self._data = io.BytesIO(data)
        self.requested = []

    def readable(self):
        return True

    def readinto(self, buffer):
        self.requested.append(len(buffer))
        chunk = self._data.read(min(len(buffer), 5))
        buffer[:len(chunk)] = chunk
        return len(chunk)


def test_multi_block_stream_from_a_trickling_source():
    """Blocks are full even when reads come back short, no read asks for more than a block
    (the input is never slurped), and the last block crosses the boundary."""
    data = bytes(range(256)) * (SMALL_BLOCK // 256) + b"the last block crosses the boundary"
    source = Trickle(data)
    out = io.BytesIO()
    compress_stream(source, out, 1, block_size=SMALL_BLOCK)
    assert max(source.requested) <= SMALL_BLOCK
    blob = out.getvalue()
    info = read_info(io.BytesIO(blob))
    assert info.header.block_size == SMALL_BLOCK
    assert [block.raw_len for block in info.blocks] == [SMALL_BLOCK, len(data) - SMALL_BLOCK]
    assert [block.lanes for block in info.blocks] == [
        Codec(1).lanes_for(block.raw_len) for block in info.blocks]
    assert [len(block) for block in iter_decompressed(io.BytesIO(blob))] == [
        SMALL_BLOCK, len(data) - SMALL_BLOCK]
    assert decompress(blob) == data


def test_read_info_describes_without_decoding(sample, monkeypatch):
    blob = compress(sample, level=3)
    monkeypatch.setattr(Codec, "decode_block", None)   # info must not need it
    info = read_info(io.BytesIO(blob))
    assert (info.header.version, info.header.level) == (1, 3)
    assert info.header.block_size == DEFAULT_BLOCK_SIZE
    assert len(info.blocks) == 1
    assert info.original_size == len(sample)
    assert info.compressed_size == len(blob)
    assert info.bits_per_byte == pytest.approx(8 * len(blob) / len(sample))


class Dribble(io.RawIOBase):
    """An output like a raw pipe: every write takes at most 3 bytes."""

    def __init__(self):
        self.data = bytearray()

    def writable(self):
        return True

    def write(self, data):
        self.data += data[:3]
        return min(3, len(data))


def test_short_writes_lose_nothing(tiny):
    compressed, restored = Dribble(), Dribble()
    compress_stream(io.BytesIO(tiny), compressed, 1)
    assert compressed.data == compress(tiny, level=1)
    decompress_stream(io.BytesIO(compressed.data), restored)
    assert restored.data == tiny


def test_an_output_that_takes_nothing_is_an_error(tiny):
    class Full(Dribble):
        def write(self, data):
            return 0

    with pytest.raises(OSError, match="accepted no more data"):
        compress_stream(io.BytesIO(tiny), Full(), 1)


@pytest.mark.parametrize("block_size", [0, 1000, 1 << 15, 1 << 27, 3 << 16])
def test_block_size_must_be_an_allowed_power_of_two(block_size):
    with pytest.raises(ValueError, match="block size"):
        compress_stream(io.BytesIO(b"x"), io.BytesIO(), 1, block_size=block_size)


def test_decompress_stream_without_output_only_checks(tiny_cmz, tiny):
    assert decompress_stream(io.BytesIO(tiny_cmz), None) == (len(tiny), len(tiny_cmz))


# ---------------------------------------------------------------------------- damage

def test_every_truncation_is_rejected(tiny_cmz):
    for cut in range(len(tiny_cmz)):
        with pytest.raises(CmzipError):
            decompress(tiny_cmz[:cut])
        with pytest.raises(CmzipError):
            read_info(io.BytesIO(tiny_cmz[:cut]))


def test_every_flipped_byte_is_caught(tiny_cmz, tiny):
    """Header, end marker and trailer damage always raises. Payload damage raises too, or,
    where the coder never looks at the damaged bits, still yields the original: never
    anything else."""
    payload = range(HEADER_SIZE + BLOCK_HEADER_SIZE, len(tiny_cmz) - END_SIZE)
    undetected = 0
    for position in range(len(tiny_cmz)):
        damaged = bytearray(tiny_cmz)
        damaged[position] ^= 0x55
        try:
            restored = decompress(bytes(damaged))
        except CmzipError:
            continue
        assert position in payload, f"damage at byte {position} went unnoticed"
        assert restored == tiny
        undetected += 1
    assert undetected < len(payload) / 2


def test_block_checksum_catches_wrong_data(tiny_cmz):
    fields = list(struct.unpack_from("<4I", tiny_cmz, HEADER_SIZE))
    fields[3] ^= 1   # the CRC of the decoded block
    damaged = bytearray(tiny_cmz)
    damaged[HEADER_SIZE:HEADER_SIZE + BLOCK_HEADER_SIZE] = block_header(*fields)
    with pytest.raises(CmzipError, match="block 1: checksum mismatch"):
        decompress(bytes(damaged))


def test_decoder_failures_become_cmzip_errors(tiny_cmz, monkeypatch):
    def broken_decoder(self, payload, n):
        raise IndexError("index 12 is out of bounds")

    monkeypatch.setattr(Codec, "decode_block", broken_decoder)
    with pytest.raises(CmzipError, match="corrupt data in block 1: index 12"):
        decompress(tiny_cmz)


def test_encoder_refuses_to_write_an_oversized_payload(monkeypatch):
    monkeypatch.setattr(Codec, "encode_block", lambda self, data: bytes(17 * len(data) + 1025))
    with pytest.raises(RuntimeError, match="codec produced"):
        compress(b"abc")


@pytest.mark.parametrize("header, message", [
    (b"PK\x03\x04" + bytes(12), "not a .cmz file"),
    (stream_header(magic=b"\x89CMY"), "not a .cmz file"),
    (stream_header(version=2), "unsupported .cmz format version 2"),
    (stream_header(version=0), "unsupported .cmz format version 0"),
    (stream_header(flags=1), "unknown flags"),
    (stream_header(level=0), "level 0"),
    (stream_header(level=10), "level 10"),
    (stream_header(block_log=15), "block size"),
    (stream_header(block_log=27), "block size"),
    (stream_header(fingerprint=level_fingerprint(1) ^ 1), "incompatible cmzip version"),
    (stream_header()[:-1] + bytes([stream_header()[-1] ^ 1]), "stream header (checksum mismatch)"),
])
def test_bad_stream_headers(header, message):
    blob = header + end_and_trailer(0, 0)
    with pytest.raises(CmzipError, match=re.escape(message)):
        decompress(blob)
    with pytest.raises(CmzipError, match=re.escape(message)):
        read_info(io.BytesIO(blob))


LANES_OF_3 = Codec(1).lanes_for(3)


@pytest.mark.parametrize("fields, message, info_rejects", [
    ((SMALL_BLOCK + 1, 1, 10), "exceeds the block size", True),
    ((2**32 - 1, 1, 10), "exceeds the block size", True),
    ((3, 0, 10), "zero lanes", True),
    ((3, LANES_OF_3 + 1, 10), "lanes, expected", False),
    ((3, 2**32 - 1, 10), "lanes, expected", False),
    ((3, LANES_OF_3, 17 * 3 + 1025), "payload length", True),
    ((3, LANES_OF_3, 2**31), "payload length", True),
    ((3, LANES_OF_3, 2**32 - 1), "payload length", True),
])
def test_absurd_block_headers_are_rejected_before_reading_the_payload(fields, message, info_rejects):
    blob = stream_header() + block_header(*fields) + bytes(64) + end_and_trailer(3, 0)
    with pytest.raises(CmzipError, match=message):
        decompress(blob)
    if info_rejects:
        with pytest.raises(CmzipError, match=message):
            read_info(io.BytesIO(blob))


def test_a_huge_claimed_payload_is_never_allocated(tiny_cmz):
    """The largest legal block (2**26 bytes) with the largest legal payload (1.1 GB) claimed
    by a 200-byte file: it must fail as truncated without allocating the claim."""
    raw_len = 1 << 26
    hostile = (stream_header(block_log=26)
               + block_header(raw_len, Codec(1).lanes_for(raw_len), 17 * raw_len + 1024)
               + bytes(160))

    def peak_bytes(function):
        tracemalloc.start()
        try:
            function()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def hostile_decompress():
        with pytest.raises(CmzipError, match="truncated input: block 1 payload has 160 of"):
            decompress(hostile)

    def hostile_info():
        with pytest.raises(CmzipError, match="truncated"):
            read_info(io.BytesIO(hostile))

    baseline = peak_bytes(lambda: decompress(tiny_cmz))   # what models cost anyway
    assert peak_bytes(hostile_decompress) < baseline + (8 << 20)
    assert peak_bytes(hostile_info) < 8 << 20


def test_trailer_length_mismatch(tiny_cmz, tiny):
    damaged = tiny_cmz[:-END_SIZE] + end_and_trailer(len(tiny) + 1, zlib.crc32(tiny))
    with pytest.raises(CmzipError, match="length mismatch"):
        decompress(damaged)
    with pytest.raises(CmzipError, match="length mismatch"):
        read_info(io.BytesIO(damaged))


def test_trailer_checksum_mismatch(tiny_cmz, tiny):
    damaged = tiny_cmz[:-END_SIZE] + end_and_trailer(len(tiny), zlib.crc32(tiny) ^ 1)
    with pytest.raises(CmzipError, match="checksum mismatch of the whole stream"):
        decompress(damaged)


@pytest.mark.parametrize("extra", [b"\x00", b"garbage", None])
def test_trailing_garbage(tiny_cmz, extra):
    blob = tiny_cmz + (tiny_cmz if extra is None else extra)   # None: two streams in a row
    with pytest.raises(CmzipError, match="trailing garbage"):
        decompress(blob)
    with pytest.raises(CmzipError, match="trailing garbage"):
        read_info(io.BytesIO(blob))
