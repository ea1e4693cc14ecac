"""The .cmz container format: a checksummed stream of coded blocks.

A .cmz file is one stream, or several back to back (as gzip, xz and zstd allow: cat a.cmz
b.cmz decompresses to a followed by b). All integers are little-endian; CRC-32 is zlib.crc32.

    stream header, 16 bytes
        magic          4 bytes  b"\\x89CMZ"
        version        u8       FORMAT_VERSION (2)
        level          u8       1..9, the compression level
        block_log      u8       log2 of the block size, 16..26 (default 22: 4 MiB blocks)
        flags          u8       the predictor set: 0 = the level's own; else 0x80 | set bits
                                (0x01 match, 0x02 gru, 0x04 qct; see levels.py)
        fingerprint    u32      levels.level_fingerprint(level, flags)
        header_crc     u32      CRC-32 of the 12 bytes above

    blocks, each a header of 8 to 15 bytes followed by its payload
        raw_len        varint   1..block size: how many bytes the block decodes to (1..4 bytes)
        payload_len    varint   at most max_payload_len(raw_len) = 17 * raw_len + 1024 (1..5 bytes)
        raw_crc        u32      CRC-32 of the decoded block
        header_check   u16      the low 16 bits of the CRC-32 of the header bytes above
        payload        payload_len bytes of coded data

    end of blocks      1 byte   0x00 (a raw_len of 0)

    trailer, 7 to 16 bytes
        total_len      varint   length of the whole original (at most 10 bytes, below 2**64)
        total_crc      u32      CRC-32 of the whole original
        trailer_check  u16      the low 16 bits of the CRC-32 of the trailer bytes above

A varint is unsigned LEB128: 7 bits per byte, least significant group first, the high bit
set on every byte but the last. It must be canonical (minimal: no superfluous final zero
group, so 0 is the single byte 0x00) and at most 5 bytes for raw_len and payload_len (their
values are below 2**32), 10 for total_len; anything else is refused as corrupt.

After a trailer comes the next stream or the end of the file.  Bytes that begin with the magic
(or part of it, at the end of the file) are always read as a stream: a damaged stream is an
error, never skipped.  Other bytes after the last stream are trailing garbage: an error on the
command line (as xz), ignored by cmzip.decompress() and CmzipFile (as lzma).  An empty input is
a stream header, the end marker and
a trailer: 16 + 1 + 7 = 24 bytes. A 1-byte input adds one block with an 8-byte header:
32 bytes plus its payload of a few bytes (at most 40 bytes in all, checked by the tests).

Why it looks like this:

- The 0x89 byte in the magic (as in PNG) catches files mangled by 7-bit or text-mode
  transfers, and keeps the magic from looking like text.
- The codec's models carry over from block to block (one Codec per stream), so blocks are
  not independently decodable; they exist so that compression and decompression work with
  bounded memory on inputs of any size.
- The fingerprint identifies the level's exact model configuration: a decoder whose models
  differ would produce garbage, so it refuses the file up front instead.
- Small inputs cost little: lengths are varints, and the block headers and the trailer carry
  a 16-bit check instead of a full CRC-32 (the stream header, written once, keeps its CRC-32).
- Every header carries its own check, verified before any size in it is trusted, and every
  size is checked against a limit before anything is read or allocated (a varint is read byte
  by byte, at most 5 or 10 of them): a damaged or hostile file gets a clear CmzipError, never
  a hang or a huge allocation. A 16-bit check misses about one damaged header in 65536; the
  size limits still bound what such a header can make the decoder do, and the damage is then
  caught by the codec, the block's CRC-32 or, at the latest, the trailer's CRC-32 of the
  whole. Payload damage is caught by the codec or, at the latest, by the block's CRC.

Every problem with the input raises CmzipError with a one-line message; a truncated input
raises CmzipEOFError, which is also an EOFError (as lzma raises EOFError there).
"""
import errno
import io
import struct
import zlib
from dataclasses import dataclass
from typing import NamedTuple

from .errors import CmzipEOFError, CmzipError
from .levels import (DEFAULT_LEVEL, MAX_LEVEL, MIN_LEVEL, check_flags, check_level,
                     level_fingerprint, predictor_flags)

MAGIC = b"\x89CMZ"
FORMAT_VERSION = 2
MIN_BLOCK_LOG, MAX_BLOCK_LOG = 16, 26
DEFAULT_BLOCK_SIZE = 1 << 22
# Inputs longer than this are cut into independent streams (see compress_stream), so that
# they can be compressed on several cores with the same bytes whatever the thread count.
# Every chunk starts its models cold: on the first 32 MiB of a tar of /usr/include at level 1,
# against one stream (0.8451 bpb), 16 MiB chunks cost +0.18%, 8 MiB +1.3%, 4 MiB +2.9%; with
# 16 MiB chunks, -T 2 compressed it 1.90x faster than -T 1 (18.2 s -> 9.6 s).  At level 5, 16 MiB
# chunks were a little smaller than one stream (0.7472 against 0.7486 bpb) and -T 2 2.03x faster.
DEFAULT_CHUNK_SIZE = 1 << 24

_STREAM_FIELDS = struct.Struct("<4sBBBBI")   # magic, version, level, block_log, flags, fingerprint
_U32 = struct.Struct("<I")
_U16 = struct.Struct("<H")
_CRC_SIZE = _U32.size
# What follows the varints of a block header or the trailer: a CRC-32 (raw_crc or total_crc)
# and the 16-bit check.
_FIXED_TAIL = _U32.size + _U16.size
# Varint limits (bytes, bits) of the 32-bit fields and of total_len.
_VARINT32 = (5, 32)
_VARINT64 = (10, 64)
END_OF_BLOCKS = b"\x00"

# Reads of untrusted lengths go in pieces of at most this size, so that a header claiming a
# huge payload in a short file fails at the end of the file instead of allocating the claim.
_READ_CHUNK = 1 << 20


def max_payload_len(raw_len):
    """The largest payload a block of raw_len bytes may have: a generous bound on what the
    coder produces even on data its models predict as badly as possible."""
    return 17 * raw_len + 1024


class StreamSizes(NamedTuple):
    """Byte counts of one stream: the original data and its compressed form."""
    original: int
    compressed: int


@dataclass(frozen=True)
class StreamHeader:
    version: int
    level: int
    block_size: int
    flags: int = 0


@dataclass(frozen=True)
class BlockHeader:
    raw_len: int
    payload_len: int
    raw_crc: int


@dataclass(frozen=True)
class StreamInfo:
    """What the headers of a .cmz file say, read without decoding (see read_info): the first
    stream's header, the blocks of all its streams, and the totals."""
    header: StreamHeader
    blocks: tuple        # of BlockHeader
    original_size: int
    compressed_size: int
    streams: int = 1

    @property
    def bits_per_byte(self):
        """Compressed bits per original byte, or None for an empty original."""
        return 8 * self.compressed_size / self.original_size if self.original_size else None


def _sealed(fields):
    """The packed fields followed by their CRC-32."""
    return fields + _U32.pack(zlib.crc32(fields))


def _checked(fields):
    """The packed fields followed by their 16-bit check: the low 16 bits of their CRC-32."""
    return fields + _U16.pack(zlib.crc32(fields) & 0xFFFF)


def varint(value):
    """value as a canonical unsigned LEB128 varint."""
    if value < 0:
        raise ValueError(f"a varint is unsigned, got {value}")
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def block_header_bytes(raw_len, payload_len, raw_crc):
    """A block header as the format lays it out, its check included."""
    return _checked(varint(raw_len) + varint(payload_len) + _U32.pack(raw_crc))


def trailer_bytes(total_len, total_crc):
    """The trailer as the format lays it out, its check included."""
    return _checked(varint(total_len) + _U32.pack(total_crc))


def write_all(file, data):
    """Write all of data to a binary file object. A write() may take only part of it (a raw
    file; a pipe whose reader has gone, where the next write then raises BrokenPipeError);
    ignoring that would lose data silently."""
    view = memoryview(data)
    while view:
        written = file.write(view)
        if not written:
            raise OSError(errno.EIO, "the output accepted no more data")
        view = view[written:]


def block_log_for(block_size):
    """log2 of block_size; ValueError unless it is a power of two in the allowed range."""
    block_log = block_size.bit_length() - 1
    if not MIN_BLOCK_LOG <= block_log <= MAX_BLOCK_LOG or block_size != 1 << block_log:
        raise ValueError(f"block size must be a power of two from 2**{MIN_BLOCK_LOG} "
                         f"to 2**{MAX_BLOCK_LOG}, got {block_size}")
    return block_log


# ---------------------------------------------------------------------------- writing

class StreamEncoder:
    """Writes one .cmz stream to a binary file object: the header at once, then one
    write_block() per block of input, then finish() for the end marker and trailer."""

    def __init__(self, fout, level=DEFAULT_LEVEL, block_size=DEFAULT_BLOCK_SIZE, predictors=None):
        level = check_level(level)
        block_log = block_log_for(block_size)
        flags = predictor_flags(level, predictors)
        from .codec import Codec   # imported here: the models are heavy, `import cmzip` is not
        self._codec = Codec(level, flags)
        self._fout = fout
        self.block_size = block_size
        self.original_size = 0
        self.compressed_size = 0
        self._crc = 0
        self._write(_sealed(_STREAM_FIELDS.pack(
            MAGIC, FORMAT_VERSION, level, block_log, flags, level_fingerprint(level, flags))))

    def write_block(self, data):
        """Compress and write one block of 1..block_size bytes."""
        data = bytes(data)
        if not 0 < len(data) <= self.block_size:
            raise ValueError(f"a block holds 1 to {self.block_size} bytes, got {len(data)}")
        payload = self._codec.encode_block(data)
        if len(payload) > max_payload_len(len(data)):
            # A codec bug; refuse to write a file that every decoder would reject.
            raise RuntimeError(f"codec produced {len(payload)} bytes for a {len(data)}-byte block")
        self._write(block_header_bytes(len(data), len(payload), zlib.crc32(data)))
        self._write(payload)
        self.original_size += len(data)
        self._crc = zlib.crc32(data, self._crc)

    def learner_metrics(self):
        """The online learners' own metrics so far (bits per byte, updates), one dict each."""
        return self._codec.learner_metrics()

    def finish(self):
        """Write the end marker and the trailer. The stream is then complete."""
        self._write(END_OF_BLOCKS)
        self._write(trailer_bytes(self.original_size, self._crc))

    def _write(self, data):
        write_all(self._fout, data)
        self.compressed_size += len(data)


def compress_stream(fin, fout, level=DEFAULT_LEVEL, *, block_size=DEFAULT_BLOCK_SIZE,
                    progress=None, predictors=None, learners=None, threads=1,
                    chunk_size=DEFAULT_CHUNK_SIZE):
    """Compress binary file object fin into fout, one block at a time.  An input longer than
    chunk_size is cut into chunks of chunk_size bytes, each compressed as an independent .cmz
    stream, and the streams are written back to back in order.  The chunking depends on
    chunk_size alone, so `threads` (chunks compressed at once, on threads: the compiled loop
    releases the GIL) changes the speed and never the bytes.  Memory: one block at a time with
    one thread; with more, up to `threads` chunks and their models.

    progress, if given, is called with the number of input bytes done as they are done.
    predictors: a predictor set instead of the level's own (names from levels.PREDICTORS,
    "context" included).  learners: a list that receives the online learners' own metrics at
    the end (of the last chunk).  Returns StreamSizes."""
    check_chunking(block_size, chunk_size)
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    reader = _Reader(fin)
    if threads == 1:
        original = compressed = 0
        while True:
            encoder = StreamEncoder(fout, level, block_size, predictors)
            while encoder.original_size < chunk_size and (block := reader.read_up_to(block_size)):
                encoder.write_block(block)
                if progress:
                    progress(len(block))
            encoder.finish()
            original += encoder.original_size
            compressed += encoder.compressed_size
            if encoder.original_size < chunk_size or not reader.peek(1):
                break
        if learners is not None:
            learners.extend(encoder.learner_metrics())
        return StreamSizes(original, compressed)
    return _compress_chunks_in_parallel(reader, fout, level, block_size, predictors, progress,
                                        learners, threads, chunk_size)


def check_chunking(block_size, chunk_size):
    """ValueError unless chunk_size is a positive multiple of the block size (so that a chunk
    is whole blocks, however the input arrives)."""
    block_log_for(block_size)
    if chunk_size < block_size or chunk_size % block_size:
        raise ValueError(f"chunk size must be a multiple of the block size ({block_size}), "
                         f"got {chunk_size}")


def _compress_chunk(chunk, level, block_size, predictors):
    """One chunk as a complete stream: (its bytes, its learners' metrics)."""
    out = io.BytesIO()
    encoder = StreamEncoder(out, level, block_size, predictors)
    for start in range(0, len(chunk), block_size):
        encoder.write_block(chunk[start:start + block_size])
    encoder.finish()
    return out.getvalue(), encoder.learner_metrics()


def _compress_chunks_in_parallel(reader, fout, level, block_size, predictors, progress, learners,
                                 threads, chunk_size):
    from concurrent.futures import ThreadPoolExecutor
    original = compressed = 0
    metrics = []
    in_flight = []           # (future, chunk length), in input order
    with ThreadPoolExecutor(max_workers=threads) as pool:
        def write_oldest():
            nonlocal compressed, metrics
            future, length = in_flight.pop(0)
            stream, metrics = future.result()
            write_all(fout, stream)
            compressed += len(stream)
            if progress:
                progress(length)
        first = True
        while True:
            chunk = reader.read_up_to(chunk_size)
            if not chunk and not first:
                break
            first = False
            original += len(chunk)
            in_flight.append((pool.submit(_compress_chunk, chunk, level, block_size, predictors),
                              len(chunk)))
            if len(in_flight) >= threads:
                write_oldest()
            if len(chunk) < chunk_size:
                break
        while in_flight:
            write_oldest()
    if learners is not None:
        learners.extend(metrics)
    return StreamSizes(original, compressed)


# ---------------------------------------------------------------------------- reading

class _Reader:
    """Reads exact byte counts from an untrusted binary file object, counting them."""

    def __init__(self, file):
        self._file = file
        self._peeked = b""       # read from the file, not yet consumed
        self.position = 0

    def _read(self, n):
        if self._peeked:
            chunk, self._peeked = self._peeked[:n], self._peeked[n:]
            return chunk
        return self._file.read(n)

    def peek(self, n):
        """Up to n next bytes, without consuming them (fewer only at the end of the input)."""
        while len(self._peeked) < n:
            more = self._file.read(n - len(self._peeked))
            if not more:
                break
            self._peeked += more
        return self._peeked[:n]

    def _chunks(self, n):
        """Yield pieces totalling n bytes, fewer if the input ends first."""
        while n > 0:
            chunk = self._read(min(n, _READ_CHUNK))
            if not chunk:
                return
            self.position += len(chunk)
            n -= len(chunk)
            yield chunk

    def read_up_to(self, n):
        return b"".join(self._chunks(n))

    def read_exact(self, n, what):
        data = self.read_up_to(n)
        if len(data) < n:
            raise _truncated(what, len(data), n)
        return data

    def skip_exact(self, n, what):
        skipped = sum(len(chunk) for chunk in self._chunks(n))
        if skipped < n:
            raise _truncated(what, skipped, n)

    def read_byte(self):
        """The next byte as an int, or None at the end of the input."""
        byte = self._read(1)
        if not byte:
            return None
        self.position += 1
        return byte[0]

    def another_stream_follows(self, trailing):
        """After a stream's trailer: whether another stream follows.  Bytes that begin with the
        magic (or with part of it, cut off by the end of the input) are a stream, never skipped:
        a damaged stream is an error, never silently dropped.  Other bytes are trailing garbage:
        an error with trailing="error" (as xz), ignored with trailing="ignore" (as lzma)."""
        head = self.peek(len(MAGIC))
        if not head:
            return False
        if MAGIC.startswith(head):
            return True
        if trailing == "ignore":
            return False
        raise CmzipError("trailing garbage after the end of the last .cmz stream")


# Said after every truncation, in the words of lzma's EOFError.
_ENDED_EARLY = "the compressed data ended before the end of the stream was reached"


def _truncated(what, got, wanted):
    return CmzipEOFError(f"truncated input: {what} has {got} of {wanted} bytes: {_ENDED_EARLY}")


def _read_varint(reader, what, field, limits):
    """Read one canonical varint from the untrusted input, byte by byte, never more than
    limits[0] bytes; its value must be below 2**limits[1]. Returns (value, its bytes)."""
    max_bytes, max_bits = limits
    encoded = bytearray()
    value = 0
    while True:
        byte = reader.read_byte()
        if byte is None:
            raise CmzipEOFError(f"truncated input: {what} is cut off in its {field} varint: "
                                f"{_ENDED_EARLY}")
        value |= (byte & 0x7F) << (7 * len(encoded))
        encoded.append(byte)
        if not byte & 0x80:
            break
        if len(encoded) == max_bytes:
            raise CmzipError(f"corrupt {what}: {field} varint is longer than {max_bytes} bytes")
    if byte == 0 and len(encoded) > 1:
        raise CmzipError(f"corrupt {what}: {field} varint is not canonical "
                         f"(a superfluous zero group)")
    if value >> max_bits:
        raise CmzipError(f"corrupt {what}: {field} {value} does not fit in {max_bits} bits")
    return value, bytes(encoded)


def _read_fixed_tail(reader, head, what):
    """Read the CRC-32 and the 16-bit check that follow head (the varints already read) and
    verify the check over head and the CRC-32. Returns that CRC-32."""
    tail = reader.read_up_to(_FIXED_TAIL)
    if len(tail) < _FIXED_TAIL:
        raise _truncated(what, len(head) + len(tail), len(head) + _FIXED_TAIL)
    fields = head + tail[:_U32.size]
    (check,) = _U16.unpack(tail[_U32.size:])
    if zlib.crc32(fields) & 0xFFFF != check:
        raise CmzipError(f"corrupt {what} (checksum mismatch)")
    return _U32.unpack(tail[:_U32.size])[0]


def _unseal(data, what):
    """Check the CRC-32 at the end of data; return the bytes before it."""
    fields, (crc,) = data[:-_CRC_SIZE], _U32.unpack(data[-_CRC_SIZE:])
    if zlib.crc32(fields) != crc:
        raise CmzipError(f"corrupt {what} (checksum mismatch)")
    return fields


def _read_stream_header(reader):
    size = _STREAM_FIELDS.size + _CRC_SIZE
    data = reader.read_up_to(size)
    # Magic and version come first, before the CRC: a file that is not .cmz at all, or one of
    # another format version (version 1 had a different block and trailer layout), deserves a
    # message that says so.
    if len(data) >= len(MAGIC) and data[:len(MAGIC)] != MAGIC:
        raise CmzipError("not a .cmz file (bad magic)")
    if len(data) > len(MAGIC) and data[len(MAGIC)] == 1:
        raise CmzipError(f"written by an older cmzip in .cmz format version 1; this cmzip reads "
                         f"format version {FORMAT_VERSION} (decompress it with the older cmzip)")
    if len(data) > len(MAGIC) and data[len(MAGIC)] != FORMAT_VERSION:
        raise CmzipError(f"unsupported .cmz format version {data[len(MAGIC)]} "
                         f"(this cmzip reads version {FORMAT_VERSION})")
    if len(data) < size:
        raise _truncated("stream header", len(data), size)
    fields = _unseal(data, "stream header")
    _, version, level, block_log, flags, fingerprint = _STREAM_FIELDS.unpack(fields)
    check_flags(flags)
    if not MIN_LEVEL <= level <= MAX_LEVEL:
        raise CmzipError(f"corrupt stream header: level {level} is not in {MIN_LEVEL}..{MAX_LEVEL}")
    if not MIN_BLOCK_LOG <= block_log <= MAX_BLOCK_LOG:
        raise CmzipError(f"corrupt stream header: block size 2**{block_log} is not in "
                         f"2**{MIN_BLOCK_LOG}..2**{MAX_BLOCK_LOG}")
    if fingerprint != level_fingerprint(level, flags):
        raise CmzipError(f"level {level} data made by an incompatible cmzip version/model config")
    return StreamHeader(version, level, 1 << block_log, flags)


def _read_block_header(reader, block_size, index):
    """The next block's header, validated; None at the end marker."""
    what = f"block {index} header"
    raw_len, raw_len_bytes = _read_varint(reader, what, "raw_len", _VARINT32)
    if raw_len == 0:
        return None
    payload_len, payload_len_bytes = _read_varint(reader, what, "payload_len", _VARINT32)
    raw_crc = _read_fixed_tail(reader, raw_len_bytes + payload_len_bytes, what)
    block = BlockHeader(raw_len, payload_len, raw_crc)
    if block.raw_len > block_size:
        raise CmzipError(f"corrupt {what}: block length {block.raw_len} exceeds "
                         f"the block size {block_size}")
    if block.payload_len > max_payload_len(block.raw_len):
        raise CmzipError(f"corrupt {what}: payload length {block.payload_len} is absurd "
                         f"for a block of {block.raw_len} bytes")
    return block


def _finish_stream(reader, total_len, total_crc=None):
    """Read the trailer after the end marker and check it against what the blocks held (the
    CRC only if known)."""
    trailer_len, trailer_len_bytes = _read_varint(reader, "trailer", "total_len", _VARINT64)
    trailer_crc = _read_fixed_tail(reader, trailer_len_bytes, "trailer")
    if trailer_len != total_len:
        raise CmzipError(f"length mismatch: the trailer says {trailer_len} bytes, "
                         f"the blocks hold {total_len}")
    if total_crc is not None and trailer_crc != total_crc:
        raise CmzipError("corrupt data: checksum mismatch of the whole stream")


def _decode_payload(codec, block, payload, index):
    try:
        data = codec.decode_block(payload, block.raw_len)
    except Exception as error:   # a damaged payload may break the decoder in any way
        raise CmzipError(f"corrupt data in block {index}: {error}") from error
    if len(data) != block.raw_len or zlib.crc32(data) != block.raw_crc:
        raise CmzipError(f"corrupt data in block {index}: checksum mismatch")
    return data


def _decode_blocks(reader):
    """Yield the decoded blocks of one stream, each checked against its CRC; after the
    last one, check the trailer."""
    header = _read_stream_header(reader)
    from .codec import Codec
    codec = Codec(header.level, header.flags)
    total_len = total_crc = 0
    index = 1
    while (block := _read_block_header(reader, header.block_size, index)) is not None:
        payload = reader.read_exact(block.payload_len, f"block {index} payload")
        data = _decode_payload(codec, block, payload, index)
        total_len += len(data)
        total_crc = zlib.crc32(data, total_crc)
        yield data
        index += 1
    _finish_stream(reader, total_len, total_crc)


def _decode_streams(reader, trailing):
    """Yield the decoded blocks of every stream in the input, one stream after another (a .cmz
    file may be several streams back to back, e.g. made with cat); see
    _Reader.another_stream_follows for what may follow the last one."""
    while True:
        yield from _decode_blocks(reader)
        if not reader.another_stream_follows(trailing):
            return


def iter_decompressed(fin, trailing="ignore"):
    """Yield the decoded blocks of the .cmz streams in binary file object fin (bounded memory).
    Each stream is verified only once its last block has been yielded.  Trailing bytes that
    are not a stream are ignored (as lzma does), unless trailing="error"."""
    return _decode_streams(_Reader(fin), trailing)


def decompress_stream(fin, fout, *, progress=None, trailing="error", threads=1):
    """Decompress the .cmz streams in fin into fout, block by block; with fout None, only
    check them (decode and verify, write nothing). Each block is written only after its CRC
    matched; every stream is verified before this returns. progress, if given, is called
    with the number of compressed bytes done after each block.  trailing: what bytes after
    the last stream that are not a stream mean: "error" (the command line, as xz) or "ignore"
    (the Python API, as lzma).  threads > 1 decodes that many streams at once (streams are
    independent; their boundaries are found from the headers, without decoding) and writes
    them in order.  Returns StreamSizes."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if threads > 1:
        return _decompress_in_parallel(_Reader(fin), fout, progress, trailing, threads)
    reader = _Reader(fin)
    original = reported = 0
    for data in _decode_streams(reader, trailing):
        if fout is not None:
            write_all(fout, data)
        original += len(data)
        if progress:
            progress(reader.position - reported)
            reported = reader.position
    return StreamSizes(original, reader.position)


class _RecordingReader(_Reader):
    """A _Reader that keeps a copy of every byte it consumes (one stream's extent)."""

    def __init__(self, reader):
        super().__init__(None)
        self._source = reader
        self.recorded = bytearray()

    def _read(self, n):
        chunk = self._source.read_up_to(n)
        self.recorded += chunk
        return chunk

    def peek(self, n):
        return self._source.peek(n)


def _next_stream_bytes(reader):
    """The bytes of the next stream, found from its headers without decoding (every header is
    validated on the way; payloads and checksums are checked when the stream is decoded)."""
    recorder = _RecordingReader(reader)
    header = _read_stream_header(recorder)
    index = 1
    total = 0
    while (block := _read_block_header(recorder, header.block_size, index)) is not None:
        recorder.skip_exact(block.payload_len, f"block {index} payload")
        total += block.raw_len
        index += 1
    _finish_stream(recorder, total)
    return bytes(recorder.recorded)


def _decode_whole_stream(stream):
    """(the verified blocks of one stream, in order, up to any damage; the error or None)."""
    blocks = []
    try:
        for data in _decode_blocks(_Reader(io.BytesIO(stream))):
            blocks.append(data)
    except CmzipError as error:
        return blocks, error
    return blocks, None


def _decompress_in_parallel(reader, fout, progress, trailing, threads):
    from concurrent.futures import ThreadPoolExecutor
    original = compressed = 0
    in_flight = []
    with ThreadPoolExecutor(max_workers=threads) as pool:
        def write_oldest():
            nonlocal original, compressed
            future, size = in_flight.pop(0)
            blocks, error = future.result()
            for data in blocks:                  # every verified block before any damage
                if fout is not None:
                    write_all(fout, data)
                original += len(data)
            if error is not None:
                raise error
            compressed += size
            if progress:
                progress(size)
        damage = None            # an error in the headers after the streams in flight
        while damage is None:
            try:
                stream = _next_stream_bytes(reader)
            except CmzipError as error:
                damage = error
                break
            in_flight.append((pool.submit(_decode_whole_stream, stream), len(stream)))
            if len(in_flight) >= threads:
                write_oldest()               # raises at a damaged stream: nothing after it
            try:
                if not reader.another_stream_follows(trailing):
                    break
            except CmzipError as error:
                damage = error
        while in_flight:                     # the streams before the damage come first
            write_oldest()
        if damage is not None:
            raise damage
    return StreamSizes(original, reader.position)


def read_info(fin):
    """Read the headers of the .cmz streams in fin, skipping the payloads without decoding
    them. Checks everything except the payloads and the data CRCs; trailing bytes that are not
    a stream are an error. Returns StreamInfo (the first stream's header, all blocks)."""
    reader = _Reader(fin)
    headers, blocks = [], []
    while True:
        header = _read_stream_header(reader)
        headers.append(header)
        stream_blocks = []
        while (block := _read_block_header(reader, header.block_size,
                                           len(stream_blocks) + 1)) is not None:
            reader.skip_exact(block.payload_len, f"block {len(stream_blocks) + 1} payload")
            stream_blocks.append(block)
        _finish_stream(reader, sum(block.raw_len for block in stream_blocks))
        blocks += stream_blocks
        if not reader.another_stream_follows("error"):
            break
    original_size = sum(block.raw_len for block in blocks)
    return StreamInfo(headers[0], tuple(blocks), original_size, reader.position, len(headers))
