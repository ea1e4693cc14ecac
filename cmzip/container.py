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

After a trailer comes the next stream, an index frame or the end of the file.

    index frame (a seek table, in the spirit of zstd's seekable format), 20 bytes or more
        magic          4 bytes  b"\x89CMI"
        flags          u8       0 (other values are reserved and refused)
        count          varint   how many streams the index describes, 1..2**32-1
        entries        count times: raw_len varint (the stream's original length) and
                       length varint (its compressed length, header to trailer); 10 bytes
                       at most each
        frame_len      u32      the length of the whole frame, magic to end magic
        frame_crc      u32      CRC-32 of every byte of the frame before it
        end_magic      4 bytes  b"IMC\x89"

An index describes the `count` streams right before it, back to back, in order, all after
any previous index: their offsets follow from the lengths (the first begins count streams
before the index; each stream's original data begins where the previous one's ends).
compress_stream (and CmzipFile) write one after their streams when they wrote more than one.
Because it ends with frame_len and an end magic, a reader finds it from the end of a file
(stream_table) and can go from index to index backwards; a file that does not end with an
index (after a cat or an append without one) is scanned by its headers instead.  Readers that
decode sequentially skip an index after checking its CRC and its sizes against the streams they
just read; a reader that uses it checks every stream it describes (the header at each offset,
the trailer and its length at each end).  A damaged index, or one whose sizes do not match the
streams, is a CmzipError.

Bytes that begin with the stream magic (or part of it, at the end of the file) are always read
as a stream, and bytes that begin with the index magic as an index: damage is an error, never
skipped.  Other bytes after the last stream or index are trailing garbage: an error on the
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
import contextlib
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
INDEX_MAGIC = b"\x89CMI"
INDEX_END_MAGIC = b"IMC\x89"
_INDEX_FOOTER = struct.Struct("<II4s")      # frame_len, frame_crc, end magic
# The smallest index frame: magic, flags, a count and one entry of one-byte varints, footer.
_MIN_INDEX_LEN = len(INDEX_MAGIC) + 1 + 1 + 2 + _INDEX_FOOTER.size

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


class StreamEntry(NamedTuple):
    """Where one stream lies (see stream_table): its original data in the decompressed output,
    and its compressed bytes in the file."""
    raw_offset: int
    raw_len: int
    offset: int
    length: int


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
    indexes: int = 0             # index frames met (each checked against its streams)
    ends_with_index: bool = False

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


def index_frame_bytes(streams):
    """The index frame describing `streams` (StreamSizes, in file order), which the frame
    must follow directly."""
    if not streams:
        raise ValueError("an index describes at least one stream")
    fields = bytearray(INDEX_MAGIC + b"\x00" + varint(len(streams)))
    for original, compressed in streams:
        fields += varint(original) + varint(compressed)
    frame_len = len(fields) + _INDEX_FOOTER.size
    fields += _U32.pack(frame_len)
    return bytes(fields) + _U32.pack(zlib.crc32(fields)) + INDEX_END_MAGIC


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

    @property
    def sizes(self):
        """StreamSizes of what was written so far (the whole stream after finish())."""
        return StreamSizes(self.original_size, self.compressed_size)

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
                    progress=None, predictors=None, learners=None, threads=None,
                    chunk_size=DEFAULT_CHUNK_SIZE, index=True, executor=None):
    """Compress binary file object fin into fout, one block at a time.  An input longer than
    chunk_size is cut into chunks of chunk_size bytes, each compressed as an independent .cmz
    stream, and the streams are written back to back in order.  The chunking depends on
    chunk_size alone, so `threads` (chunks compressed at once, on threads: the compiled loop
    releases the GIL) changes the speed and never the bytes.  Memory: one block at a time with
    one thread; with more, up to `threads` chunks and their models.

    executor: a concurrent.futures.Executor (a process pool, or any other) or a Dask
    distributed Client, to compress the chunks on instead of threads of this process; then
    `threads` chunks are in flight at most (None, the default: as many as the executor has
    workers; without an executor, None means 1).
    The bytes are the same.  A task that fails other than on bad data (a worker that died and
    could not be retried) raises errors.WorkerError; nothing after the last complete stream is
    written.

    progress, if given, is called with the number of input bytes done as they are done.
    predictors: a predictor set instead of the level's own (names from levels.PREDICTORS,
    "context" included).  learners: a list that receives the online learners' own metrics at
    the end (of the last chunk).  index: when more than one stream was written, end with an
    index frame describing them (see the module docstring).  Returns StreamSizes, the index
    included."""
    check_chunking(block_size, chunk_size)
    _check_threads(threads)
    reader = _Reader(fin)
    if threads in (None, 1) and executor is None:
        streams = []
        while True:
            encoder = StreamEncoder(fout, level, block_size, predictors)
            while encoder.original_size < chunk_size and (block := reader.read_up_to(block_size)):
                encoder.write_block(block)
                if progress:
                    progress(len(block))
            encoder.finish()
            streams.append(encoder.sizes)
            if encoder.original_size < chunk_size or not reader.peek(1):
                break
        if learners is not None:
            learners.extend(encoder.learner_metrics())
    else:
        streams = _compress_chunks_in_parallel(reader, fout, level, block_size, predictors,
                                               progress, learners, threads, chunk_size, executor)
    return _finish_streams(fout, streams, index)


def _finish_streams(fout, streams, index):
    """Write the index of `streams` if asked and there are several; the total StreamSizes."""
    compressed = sum(sizes.compressed for sizes in streams)
    if index and len(streams) > 1:
        frame = index_frame_bytes(streams)
        write_all(fout, frame)
        compressed += len(frame)
    return StreamSizes(sum(sizes.original for sizes in streams), compressed)


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
                                 threads, chunk_size, executor):
    """Compress the input's chunks as independent streams on executor (a thread pool of
    `threads` if None), at most `threads` in flight, writing each stream as soon as it and
    every stream before it are done.  Returns the StreamSizes of the streams."""
    from . import parallel

    def chunks():
        first = True
        while True:
            chunk = reader.read_up_to(chunk_size)
            if not chunk and not first:        # an empty input is one empty stream
                return
            first = False
            yield _compress_chunk, (chunk, level, block_size, predictors), len(chunk)
            if len(chunk) < chunk_size:
                return

    streams = []
    metrics = []
    with _executor_or_pool(executor, threads) as (pool, in_flight):
        for length, (stream, metrics) in parallel.in_order(pool, chunks(), in_flight):
            write_all(fout, stream)
            streams.append(StreamSizes(length, len(stream)))
            if progress:
                progress(length)
    if learners is not None:
        learners.extend(metrics)
    return streams


def _check_threads(threads):
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or threads < 1):
        raise ValueError(f"threads must be None or at least 1, got {threads!r}")


@contextlib.contextmanager
def _executor_or_pool(executor, threads):
    """with _executor_or_pool(executor, threads) as (executor, in_flight): the executor given
    (a Dask Client becomes its executor; in flight: `threads`, or its worker count when threads
    is None), or a thread pool of `threads` made here and shut down on the way out (at once, its
    queued work cancelled, after an error or Ctrl-C)."""
    from . import parallel
    if executor is not None:
        executor = parallel.as_executor(executor)
        yield executor, threads if threads is not None else parallel.workers_of(executor)
        return
    threads = threads or 1
    from concurrent.futures import ThreadPoolExecutor
    # The thread names let the command line tell that chunks are still being coded.
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="cmzip-worker")
    try:
        yield pool, threads
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


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

    def frame_follows(self, trailing):
        """After a stream or an index: what comes next, "stream", "index" or None (the end of
        the input, or trailing garbage ignored).  Bytes that begin with the stream magic or the
        index magic (or with part of one, cut off by the end of the input) are read as such,
        never skipped: damage is an error, never silently dropped.  Other bytes are trailing
        garbage: an error with trailing="error" (as xz), ignored with trailing="ignore" (as
        lzma)."""
        head = self.peek(len(MAGIC))
        if not head:
            return None
        if MAGIC.startswith(head):
            return "stream"
        if INDEX_MAGIC.startswith(head):
            return "index"
        if trailing == "ignore":
            return None
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
    last one, check the trailer.  Returns (as a generator) the stream's StreamSizes."""
    offset = reader.position
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
    return StreamSizes(total_len, reader.position - offset)


class _IndexCheck:
    """The sizes of the streams read since the last index frame, which the next index frame
    must describe (its last `count` of them); and what was met so far.  mid_file: reading began
    at a stream in the middle of the data (a seek), so the first index may also describe
    streams before that one, which only it can vouch for."""

    def __init__(self, mid_file=False):
        self._streams = []
        self._mid_file = mid_file
        self.indexes = 0
        self.ends_with_index = False

    def add(self, sizes):
        self._streams.append(sizes)
        self.ends_with_index = False

    def read_index(self, reader):
        """Read the index frame at reader's position and check it against the streams."""
        if self._mid_file:          # only as many entries as bytes could hold
            described = _read_index_frame(reader, 1 << 32)[-len(self._streams):]
            self._mid_file = False
        else:
            described = _read_index_frame(reader, len(self._streams))
        for number, (said, found) in enumerate(zip(described, self._streams[-len(described):]), 1):
            if said != found:
                raise CmzipError(
                    f"corrupt index: it says stream {number} of the {len(described)} it describes "
                    f"holds {said.original} bytes in {said.compressed}, the stream holds "
                    f"{found.original} in {found.compressed}")
        self._streams.clear()
        self.indexes += 1
        self.ends_with_index = True


def _read_index_frame(reader, max_count):
    """Read and check one index frame at reader's position; return the StreamSizes it gives,
    in file order.  max_count: how many streams it may describe (those before it since the
    previous index), checked before the entries are read, so that a damaged count cannot make
    the reader collect more entries than there are streams."""
    start = reader.position
    fields = bytearray(reader.read_exact(len(INDEX_MAGIC) + 1, "index"))
    if fields[:len(INDEX_MAGIC)] != INDEX_MAGIC:
        raise CmzipError("corrupt index (bad magic)")
    count, count_bytes = _read_varint(reader, "index", "count", _VARINT32)
    fields += count_bytes
    if count == 0:
        raise CmzipError("corrupt index: it describes no stream")
    if count > max_count:
        raise CmzipError(f"corrupt index: it describes {count} streams, but only {max_count} "
                         f"precede it")
    described = []
    for _ in range(count):
        original, original_bytes = _read_varint(reader, "index", "raw_len", _VARINT64)
        compressed, compressed_bytes = _read_varint(reader, "index", "length", _VARINT64)
        fields += original_bytes + compressed_bytes
        described.append(StreamSizes(original, compressed))
    footer = reader.read_exact(_INDEX_FOOTER.size, "index")
    frame_len, crc, end_magic = _INDEX_FOOTER.unpack(footer)
    fields += footer[:_U32.size]
    if zlib.crc32(fields) != crc:
        raise CmzipError("corrupt index (checksum mismatch)")
    if frame_len != reader.position - start or end_magic != INDEX_END_MAGIC:
        raise CmzipError("corrupt index: its length or end magic is wrong")
    if fields[len(INDEX_MAGIC)] != 0:
        raise CmzipError(f"unsupported index flags {fields[len(INDEX_MAGIC)]:#x} "
                         f"(written by a newer cmzip?)")
    return described


def _another_stream_follows(reader, trailing, index_check, stop=None):
    """After a stream: read and check the index frames that follow it, then tell whether
    another stream follows (see _Reader.frame_follows).  stop: where to end, a position that
    must be a frame boundary."""
    while True:
        if stop is not None and reader.position >= stop:
            if reader.position > stop:
                raise CmzipError("corrupt index: the streams it describes do not begin where a "
                                 "stream ends")
            return False
        kind = reader.frame_follows(trailing)
        if kind != "index":
            return kind == "stream"
        index_check.read_index(reader)


def _decode_streams(reader, trailing, mid_file=False):
    """Yield the decoded blocks of every stream in the input, one stream after another (a .cmz
    file may be several streams back to back, e.g. made with cat), checking the index frames
    between them (mid_file: as _IndexCheck); see _Reader.frame_follows for what may follow the
    last one."""
    index_check = _IndexCheck(mid_file)
    while True:
        index_check.add((yield from _decode_blocks(reader)))
        if not _another_stream_follows(reader, trailing, index_check):
            return


def iter_decompressed(fin, trailing="ignore", mid_file=False):
    """Yield the decoded blocks of the .cmz streams in binary file object fin (bounded memory).
    Each stream is verified only once its last block has been yielded.  Index frames are
    checked and skipped.  Trailing bytes that are not a stream are ignored (as lzma does),
    unless trailing="error".  mid_file: fin is at a stream after the start of the data (an
    index that follows may also describe streams before it)."""
    return _decode_streams(_Reader(fin), trailing, mid_file)


def decompress_stream(fin, fout, *, progress=None, trailing="error", threads=None,
                      executor=None):
    """Decompress the .cmz streams in fin into fout, block by block; with fout None, only
    check them (decode and verify, write nothing). Each block is written only after its CRC
    matched; every stream is verified before this returns. progress, if given, is called
    with the number of compressed bytes done after each block.  trailing: what bytes after
    the last stream that are not a stream mean: "error" (the command line, as xz) or "ignore"
    (the Python API, as lzma).  threads > 1 decodes that many streams at once (streams are
    independent; their boundaries come from the index, or from the headers without decoding)
    and writes them in order.  executor: decode the streams there instead (as for
    compress_stream).  Returns StreamSizes."""
    _check_threads(threads)
    if threads not in (None, 1) or executor is not None:
        return _decompress_in_parallel(fin, fout, progress, trailing, threads, executor)
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
    """(the bytes of the next stream, its original length), found from its headers without
    decoding (every header is validated on the way; payloads and checksums are checked when
    the stream is decoded)."""
    recorder = _RecordingReader(reader)
    header = _read_stream_header(recorder)
    index = 1
    total = 0
    while (block := _read_block_header(recorder, header.block_size, index)) is not None:
        recorder.skip_exact(block.payload_len, f"block {index} payload")
        total += block.raw_len
        index += 1
    _finish_stream(recorder, total)
    return bytes(recorder.recorded), total


def _decode_whole_stream(stream):
    """(the verified blocks of one stream, in order, up to any damage; the error or None).
    The stream must fill `stream` exactly: its extent came from the headers or an index."""
    blocks = []
    reader = _Reader(io.BytesIO(stream))
    try:
        for data in _decode_blocks(reader):
            blocks.append(data)
        if reader.position != len(stream):
            raise CmzipError(f"corrupt index: a stream it says is {len(stream)} bytes long "
                             f"ends after {reader.position}")
    except CmzipError as error:
        return blocks, error
    return blocks, None


def _streams_by_headers(reader, trailing):
    """Yield the bytes of each stream in order, read sequentially and found from the headers;
    index frames between them are checked."""
    index_check = _IndexCheck()
    while True:
        stream, original = _next_stream_bytes(reader)
        index_check.add(StreamSizes(original, len(stream)))
        yield stream
        if not _another_stream_follows(reader, trailing, index_check):
            return


def _streams_by_table(fin, start, entries):
    """Yield the bytes of each stream, read from where `entries` say."""
    for entry in entries:
        fin.seek(start + entry.offset)
        yield _Reader(fin).read_exact(entry.length, "stream")


def _decompress_in_parallel(fin, fout, progress, trailing, threads, executor):
    from . import parallel
    table = _table_of_seekable(fin, trailing)
    if table is not None:
        start, entries, data_end = table
        streams = _streams_by_table(fin, start, entries)
    else:
        reader = _Reader(fin)
        streams = _streams_by_headers(reader, trailing)
    tasks = ((_decode_whole_stream, (stream,), len(stream)) for stream in streams)
    original = 0
    with _executor_or_pool(executor, threads) as (pool, in_flight):
        for size, (blocks, error) in parallel.in_order(pool, tasks, in_flight):
            for data in blocks:                  # every verified block before any damage
                if fout is not None:
                    write_all(fout, data)
                original += len(data)
            if error is not None:
                raise error
            if progress:
                progress(size)
    if table is not None:
        fin.seek(data_end)
        return StreamSizes(original, data_end - start)
    return StreamSizes(original, reader.position)


def _table_of_seekable(fin, trailing):
    """(start, stream_table's entries, where the data ends) when fin is a seekable file whose
    streams can be listed up front; else None, and fin is where it was (a damaged or odd file
    is then read sequentially, which delivers every verified block before the damage)."""
    try:
        if not fin.seekable():
            return None
        start = fin.tell()
    except (AttributeError, OSError, ValueError):
        return None
    try:
        end = fin.seek(0, io.SEEK_END)
        entries, data_end, _ = _stream_table(fin, start, end, trailing)
    except CmzipError:
        fin.seek(start)
        return None
    return start, entries, data_end


# ---------------------------------------------------------------------------- without decoding

class _SeekingReader(_Reader):
    """A _Reader over a seekable file that skips payloads by seeking, never reading them.
    Positions are the file's own; end: the file's length."""

    def __init__(self, file, end):
        super().__init__(file)
        self.position = file.tell()
        self._end = end

    def skip_exact(self, n, what):
        if n > self._end - self.position:
            raise _truncated(what, self._end - self.position, n)
        from_peeked = min(n, len(self._peeked))
        self._peeked = self._peeked[from_peeked:]
        self._file.seek(n - from_peeked, io.SEEK_CUR)
        self.position += n


def _scan_streams(reader, trailing, stop=None, index_check=None):
    """Yield (StreamHeader, its blocks, StreamSizes, offset) for every stream from the reader's
    position, read from the headers alone (payloads skipped, every header checked, index frames
    checked against the streams before them), up to `stop` (a frame boundary) if given, else to
    the end of the data.  index_check: an _IndexCheck to use (it tells what indexes were met)."""
    index_check = index_check or _IndexCheck()
    while True:
        offset = reader.position
        header = _read_stream_header(reader)
        blocks = []
        while (block := _read_block_header(reader, header.block_size, len(blocks) + 1)) is not None:
            reader.skip_exact(block.payload_len, f"block {len(blocks) + 1} payload")
            blocks.append(block)
        original = sum(block.raw_len for block in blocks)
        _finish_stream(reader, original)
        sizes = StreamSizes(original, reader.position - offset)
        index_check.add(sizes)
        yield header, blocks, sizes, offset
        if not _another_stream_follows(reader, trailing, index_check, stop):
            return


def stream_table(fileobj, *, trailing="ignore"):
    """The streams of the .cmz data in a seekable binary file object, from its current position
    to its end, found without decoding: a list of StreamEntry(raw_offset, raw_len, offset,
    length) in file order, the offsets counted from that position (raw_offset in the
    decompressed output, offset in the file).

    When the data ends with an index frame, the list comes from it (and from the index before
    it, if its streams do not reach back to the start), and every stream it names is checked
    where it says it lies (the stream header at its offset, the trailer and original length at
    its end): an index that does not match its streams is a CmzipError.  Otherwise (after a cat
    or an append without an index) the headers are scanned, payloads skipped by seeking.
    trailing: what bytes that are not a stream mean, as for decompress_stream ("ignore": the
    streams before them, as the Python API reads them; "error": a CmzipError).  The file
    position is restored."""
    start = fileobj.tell()
    try:
        end = fileobj.seek(0, io.SEEK_END)
        return _stream_table(fileobj, start, end, trailing)[0]
    finally:
        fileobj.seek(start)


def _stream_table(file, start, end, trailing):
    """stream_table's work: (entries, where the data ends, whether an index was used)."""
    indexed = []              # (where its streams begin, their StreamSizes), last index first
    stop = end
    while stop > start and (found := _index_ending_at(file, start, stop)) is not None:
        frame_start, described = found
        first = frame_start - sum(sizes.compressed for sizes in described)
        if first < start:
            raise CmzipError("corrupt index: it describes more bytes than precede it")
        indexed.append((first, described))
        stop = first
    entries = []
    raw_offset = 0
    if stop > start or not indexed:
        # The data before the first index's streams (all of it, without an index): scanned.
        file.seek(start)
        reader = _SeekingReader(file, end)
        for _, _, sizes, offset in _scan_streams(reader, trailing, stop if indexed else None):
            entries.append(StreamEntry(raw_offset, sizes.original, offset - start, sizes.compressed))
            raw_offset += sizes.original
        if not indexed or reader.position < stop:
            # The end of the data, or bytes that are not a stream (ignored, with what follows
            # them, as a sequential reader ignores them).
            return entries, reader.position, False
    for first, described in reversed(indexed):
        offset = first
        for sizes in described:
            _check_stream_lies(file, offset, sizes)
            entries.append(StreamEntry(raw_offset, sizes.original, offset - start, sizes.compressed))
            raw_offset += sizes.original
            offset += sizes.compressed
    return entries, end, True


def _read_at(file, offset, n):
    file.seek(offset)
    return _Reader(file).read_up_to(n)


def _index_ending_at(file, start, stop):
    """(where the frame begins, its StreamSizes) if a valid index frame ends at stop, else None
    (also for a damaged one: the scan then finds it from its start and reports the damage)."""
    if stop - start < _MIN_INDEX_LEN:
        return None
    frame_len, _, end_magic = _INDEX_FOOTER.unpack(
        _read_at(file, stop - _INDEX_FOOTER.size, _INDEX_FOOTER.size))
    if end_magic != INDEX_END_MAGIC or not _MIN_INDEX_LEN <= frame_len <= stop - start:
        return None
    frame = _read_at(file, stop - frame_len, frame_len)
    reader = _Reader(io.BytesIO(frame))
    try:
        # Each entry takes 2 bytes at least, so the frame's length bounds the count.
        described = _read_index_frame(reader, frame_len // 2)
    except CmzipError:
        return None
    return stop - frame_len, described


# The end of a stream: end marker, total_len (a varint of at most 10 bytes), CRC and check.
_MAX_STREAM_END = 1 + _VARINT64[0] + _FIXED_TAIL
_MIN_STREAM_LEN = _STREAM_FIELDS.size + _CRC_SIZE + 1 + 1 + _FIXED_TAIL


def _check_stream_lies(file, offset, sizes):
    """That a stream of sizes.compressed bytes holding sizes.original bytes lies at offset, as
    an index says: a valid stream header there, and at its end a valid trailer after the end
    marker, with that original length.  (Decoding it checks the rest.)"""
    where = f"stream at offset {offset}"
    try:
        if sizes.compressed < _MIN_STREAM_LEN:
            raise CmzipError(f"{sizes.compressed} bytes are too few for a stream")
        _read_stream_header(_Reader(io.BytesIO(
            _read_at(file, offset, _STREAM_FIELDS.size + _CRC_SIZE))))
        tail_len = min(sizes.compressed - _STREAM_FIELDS.size - _CRC_SIZE, _MAX_STREAM_END)
        tail = _read_at(file, offset + sizes.compressed - tail_len, tail_len)
        # Backwards from the fixed tail: the varint's last byte has its high bit clear, its
        # other bytes have it set, and the end marker (0) comes right before it.
        last = len(tail) - _FIXED_TAIL - 1
        first = last
        while first > 0 and tail[first - 1] & 0x80:
            first -= 1
        if last < 1 or tail[last] & 0x80 or first < 1 or tail[first - 1] != 0:
            raise CmzipError("no end marker and trailer where it should end")
        trailer = _Reader(io.BytesIO(tail[first:]))
        total_len, total_len_bytes = _read_varint(trailer, "trailer", "total_len", _VARINT64)
        _read_fixed_tail(trailer, total_len_bytes, "trailer")
        if total_len != sizes.original:
            raise CmzipError(f"the stream holds {total_len} bytes, not {sizes.original}")
    except CmzipError as error:
        raise CmzipError(f"corrupt index: {where}: {error}") from None


def read_info(fin):
    """Read the headers of the .cmz streams in fin, skipping the payloads without decoding
    them. Checks everything except the payloads and the data CRCs (index frames included);
    trailing bytes that are not a stream are an error. Returns StreamInfo (the first stream's
    header, all blocks, how many streams and indexes)."""
    reader = _Reader(fin)
    headers, blocks = [], []
    check = _IndexCheck()
    for header, stream_blocks, _, _ in _scan_streams(reader, "error", index_check=check):
        headers.append(header)
        blocks += stream_blocks
    original_size = sum(block.raw_len for block in blocks)
    return StreamInfo(headers[0], tuple(blocks), original_size, reader.position, len(headers),
                      check.indexes, check.ends_with_index)
