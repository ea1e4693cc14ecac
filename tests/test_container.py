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
from cmzip.container import (DEFAULT_BLOCK_SIZE, FORMAT_VERSION, MAGIC, compress_stream,
                             decompress_stream, iter_decompressed, read_info)
from cmzip.errors import CmzipError
from cmzip.levels import DEFAULT_LEVEL, level_fingerprint

SMALL_BLOCK = 1 << 16
HEADER_SIZE = 16


def sealed(fields):
    """Fields and their CRC-32 (the stream header)."""
    return fields + struct.pack("<I", zlib.crc32(fields))


def checked(fields):
    """Fields and their 16-bit check (block headers, trailer)."""
    return fields + struct.pack("<H", zlib.crc32(fields) & 0xFFFF)


def leb128(value):
    """value as a canonical unsigned LEB128 varint, written out from the documentation."""
    groups = [value & 0x7F]
    while value := value >> 7:
        groups.append(value & 0x7F)
    return bytes(group | 0x80 for group in groups[:-1]) + bytes(groups[-1:])


def read_leb128(blob, at):
    """(value, position after it) of the varint at blob[at]."""
    value = shift = 0
    while True:
        byte = blob[at]
        value |= (byte & 0x7F) << shift
        shift, at = shift + 7, at + 1
        if not byte & 0x80:
            return value, at


def stream_header(level=1, block_log=16, version=FORMAT_VERSION, flags=0, fingerprint=None,
                  magic=MAGIC):
    if fingerprint is None:
        fingerprint = level_fingerprint(level) if 1 <= level <= 9 else 0
    return sealed(struct.pack("<4sBBBBI", magic, version, level, block_log, flags, fingerprint))


def block_header(raw_len, payload_len, raw_crc=0, *, raw_len_bytes=None, payload_len_bytes=None):
    """A block header with a valid check; the varints may be given as raw bytes instead."""
    raw_len_bytes = leb128(raw_len) if raw_len_bytes is None else raw_len_bytes
    payload_len_bytes = leb128(payload_len) if payload_len_bytes is None else payload_len_bytes
    return checked(raw_len_bytes + payload_len_bytes + struct.pack("<I", raw_crc))


def trailer(total_len, total_crc, *, total_len_bytes=None):
    total_len_bytes = leb128(total_len) if total_len_bytes is None else total_len_bytes
    return checked(total_len_bytes + struct.pack("<I", total_crc))


def end_and_trailer(total_len, total_crc):
    return b"\x00" + trailer(total_len, total_crc)


def parse_block_header(blob, at):
    """(raw_len, payload_len, raw_crc, header size) of the block header at blob[at]."""
    raw_len, position = read_leb128(blob, at)
    payload_len, position = read_leb128(blob, position)
    (raw_crc,) = struct.unpack_from("<I", blob, position)
    return raw_len, payload_len, raw_crc, position + 6 - at


def end_size(total_len):
    return len(end_and_trailer(total_len, 0))


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
    assert len(expected) == 24   # as documented: 16 + 1 + 7
    assert decompress(expected) == b""


def test_one_block_layout_matches_the_documentation(tiny):
    blob = compress(tiny, level=2)
    assert blob[:HEADER_SIZE] == stream_header(2, block_log=22)
    raw_len, payload_len, raw_crc, size = parse_block_header(blob, HEADER_SIZE)
    assert (raw_len, raw_crc) == (len(tiny), zlib.crc32(tiny))
    assert blob[HEADER_SIZE:HEADER_SIZE + size] == block_header(raw_len, payload_len, raw_crc)
    assert len(blob) == HEADER_SIZE + size + payload_len + end_size(len(tiny))
    assert blob[-end_size(len(tiny)):] == end_and_trailer(len(tiny), zlib.crc32(tiny))


def test_a_one_byte_input_costs_at_most_40_bytes():
    blob = compress(b"x", level=1)
    raw_len, payload_len, raw_crc, size = parse_block_header(blob, HEADER_SIZE)
    assert (raw_len, raw_crc, size) == (1, zlib.crc32(b"x"), 8)
    assert len(blob) == 32 + payload_len   # as documented: 16 + 8 + payload + 1 + 7
    assert len(blob) <= 40
    assert decompress(blob) == b"x"


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
    assert [len(block) for block in iter_decompressed(io.BytesIO(blob))] == [
        SMALL_BLOCK, len(data) - SMALL_BLOCK]
    assert decompress(blob) == data


def test_read_info_describes_without_decoding(sample, monkeypatch):
    blob = compress(sample, level=3)
    monkeypatch.setattr(Codec, "decode_block", None)   # info must not need it
    info = read_info(io.BytesIO(blob))
    assert (info.header.version, info.header.level) == (FORMAT_VERSION, 3)
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
    block_header_size = parse_block_header(tiny_cmz, HEADER_SIZE)[3]
    payload = range(HEADER_SIZE + block_header_size, len(tiny_cmz) - end_size(len(tiny)))
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


@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF, 0x55])
def test_a_damaged_block_header_byte_is_rejected_as_such(tiny_cmz, mask):
    """Any damaged byte of a block header: its 16-bit check, its varints' rules or its size
    limits reject it, before any payload is read or decoded."""
    size = parse_block_header(tiny_cmz, HEADER_SIZE)[3]
    for position in range(HEADER_SIZE, HEADER_SIZE + size):
        damaged = bytearray(tiny_cmz)
        damaged[position] ^= mask
        for read in (read_info, lambda source: decompress_stream(source, None)):
            with pytest.raises(CmzipError, match="^corrupt block 1 header"):
                read(io.BytesIO(bytes(damaged)))


def test_block_checksum_catches_wrong_data(tiny_cmz):
    raw_len, payload_len, raw_crc, size = parse_block_header(tiny_cmz, HEADER_SIZE)
    damaged = bytearray(tiny_cmz)
    damaged[HEADER_SIZE:HEADER_SIZE + size] = block_header(raw_len, payload_len, raw_crc ^ 1)
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
    (stream_header(version=3), "unsupported .cmz format version 3 (this cmzip reads version 2)"),
    (stream_header(version=0), "unsupported .cmz format version 0"),
    (stream_header(version=1), "older cmzip in .cmz format version 1"),
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


def v1_stream(data, level=1):
    """A stream in the old format version 1 (20-byte block headers with a lane count, 4-byte
    end marker, 16-byte trailer), with a made-up payload: it must be refused up front."""
    payload = bytes(8)
    return (stream_header(level, block_log=22, version=1)
            + sealed(struct.pack("<IIII", len(data), 1, len(payload), zlib.crc32(data))) + payload
            + bytes(4) + sealed(struct.pack("<QI", len(data), zlib.crc32(data))))


@pytest.mark.parametrize("data", [b"", b"x"])
def test_a_version_1_file_is_refused_with_a_clear_message(data):
    blob = v1_stream(data)
    for read in (decompress, lambda blob: read_info(io.BytesIO(blob))):
        with pytest.raises(CmzipError) as caught:
            read(blob)
        message = str(caught.value)
        assert "older cmzip" in message and "format version 1" in message
        assert f"reads format version {FORMAT_VERSION}" in message
        assert "corrupt" not in message and "\n" not in message


@pytest.mark.parametrize("fields, message", [
    ((SMALL_BLOCK + 1, 10), "exceeds the block size"),
    ((2**32 - 1, 10), "exceeds the block size"),
    ((3, 17 * 3 + 1025), "payload length"),
    ((3, 2**31), "payload length"),
    ((3, 2**32 - 1), "payload length"),
    ((2**32, 10), "raw_len 4294967296 does not fit in 32 bits"),
    ((3, 2**35 - 1), "payload_len 34359738367 does not fit in 32 bits"),
])
def test_absurd_block_headers_are_rejected_before_reading_the_payload(fields, message):
    blob = stream_header() + block_header(*fields) + bytes(64) + end_and_trailer(3, 0)
    with pytest.raises(CmzipError, match=message):
        decompress(blob)
    with pytest.raises(CmzipError, match=message):
        read_info(io.BytesIO(blob))


@pytest.mark.parametrize("blob, message", [
    # raw_len 3 as 0x83 0x00: a superfluous zero group
    (stream_header() + block_header(3, 10, raw_len_bytes=b"\x83\x00") + bytes(10)
     + end_and_trailer(3, 0), "corrupt block 1 header: raw_len varint is not canonical"),
    (stream_header() + block_header(3, 10, payload_len_bytes=b"\x8a\x80\x00") + bytes(10)
     + end_and_trailer(3, 0), "corrupt block 1 header: payload_len varint is not canonical"),
    # the end marker written as a two-byte zero
    (stream_header() + b"\x80\x00" + trailer(0, 0),
     "corrupt block 1 header: raw_len varint is not canonical"),
    (stream_header() + b"\x00" + trailer(0, 0, total_len_bytes=b"\x80\x00"),
     "corrupt trailer: total_len varint is not canonical"),
    # overlong: a continuation bit on the last byte allowed
    (stream_header() + b"\x81\x80\x80\x80\x80\x00" + bytes(64),
     "corrupt block 1 header: raw_len varint is longer than 5 bytes"),
    (stream_header() + b"\x03\xff\xff\xff\xff\xff\x01" + bytes(64),
     "corrupt block 1 header: payload_len varint is longer than 5 bytes"),
    (stream_header() + b"\x00" + b"\x80" * 10 + b"\x01" + bytes(6),
     "corrupt trailer: total_len varint is longer than 10 bytes"),
    (stream_header() + b"\x00" + trailer(0, 0, total_len_bytes=b"\xff" * 9 + b"\x02"),
     f"corrupt trailer: total_len {2**64 + 2**63 - 1} does not fit in 64 bits"),
    # cut off inside a varint
    (stream_header() + b"\x83",
     "truncated input: block 1 header is cut off in its raw_len varint"),
    (stream_header() + b"\x03\x8a",
     "truncated input: block 1 header is cut off in its payload_len varint"),
    (stream_header() + b"\x00\x80", "truncated input: trailer is cut off in its total_len varint"),
    (stream_header() + b"\x03\x0a\x00", "truncated input: block 1 header has 3 of 8 bytes"),
])
def test_bad_varints_are_refused(blob, message):
    with pytest.raises(CmzipError, match=re.escape(message)):
        decompress(blob)
    with pytest.raises(CmzipError, match=re.escape(message)):
        read_info(io.BytesIO(blob))


def test_a_varint_is_read_no_further_than_its_limit():
    source = io.BytesIO(stream_header() + b"\xff" * 1000)
    with pytest.raises(CmzipError, match="longer than 5 bytes"):
        read_info(source)
    assert source.tell() == HEADER_SIZE + 5


def test_a_huge_claimed_payload_is_never_allocated(tiny_cmz):
    """The largest legal block (2**26 bytes) with the largest legal payload (1.1 GB) claimed
    by a 200-byte file: it must fail as truncated without allocating the claim."""
    raw_len = 1 << 26
    hostile = (stream_header(block_log=26)
               + block_header(raw_len, 17 * raw_len + 1024)
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
    damaged = tiny_cmz[:-end_size(len(tiny))] + end_and_trailer(len(tiny) + 1, zlib.crc32(tiny))
    with pytest.raises(CmzipError, match="length mismatch"):
        decompress(damaged)
    with pytest.raises(CmzipError, match="length mismatch"):
        read_info(io.BytesIO(damaged))


def test_trailer_checksum_mismatch(tiny_cmz, tiny):
    damaged = tiny_cmz[:-end_size(len(tiny))] + end_and_trailer(len(tiny), zlib.crc32(tiny) ^ 1)
    with pytest.raises(CmzipError, match="checksum mismatch of the whole stream"):
        decompress(damaged)


@pytest.mark.parametrize("extra", [b"\x00", b"garbage"])
def test_trailing_garbage_is_ignored_by_the_api_and_an_error_elsewhere(tiny_cmz, tiny, extra):
    """As lzma: decompress() and CmzipFile ignore trailing bytes that are not a stream; the
    command line's decompress_stream (and info) report them, as xz does."""
    blob = tiny_cmz + extra
    assert decompress(blob) == tiny
    assert b"".join(iter_decompressed(io.BytesIO(blob))) == tiny
    with pytest.raises(CmzipError, match="trailing garbage"):
        decompress_stream(io.BytesIO(blob), io.BytesIO())
    with pytest.raises(CmzipError, match="trailing garbage"):
        read_info(io.BytesIO(blob))


def test_concatenated_streams_decode_one_after_another(tiny_cmz, tiny):
    other = compress(b"a second stream, at another level", level=2)
    blob = tiny_cmz + other + tiny_cmz
    expected = tiny + b"a second stream, at another level" + tiny
    assert decompress(blob) == expected
    restored = io.BytesIO()
    assert decompress_stream(io.BytesIO(blob), restored).original == len(expected)
    assert restored.getvalue() == expected
    info = read_info(io.BytesIO(blob))
    assert info.streams == 3 and info.original_size == len(expected)
    assert info.compressed_size == len(blob)
    assert decompress(compress(b"") + tiny_cmz) == tiny          # an empty stream, then another
    import cmzip
    with cmzip.CmzipFile(io.BytesIO(blob)) as f:
        assert f.read() == expected


@pytest.mark.parametrize("cut", [1, 3, 4, 10, 30])
def test_a_damaged_or_cut_second_stream_is_an_error_never_skipped(tiny_cmz, cut):
    """Bytes that begin with the magic are a stream: a cut or damaged one is an error even
    where trailing garbage would be ignored."""
    second = tiny_cmz[:cut]
    with pytest.raises(CmzipError):
        decompress(tiny_cmz + second)
    damaged = bytearray(tiny_cmz)
    damaged[-3] ^= 0x40                                            # the second's trailer
    with pytest.raises(CmzipError):
        decompress(tiny_cmz + bytes(damaged))
