"""cmzip: a lossless context-mixing byte compressor.

The interface is shaped like the standard library's lzma and bz2 modules:

    import cmzip
    packed = cmzip.compress(b"hello hello hello", level=9)
    assert cmzip.decompress(packed) == b"hello hello hello"

    with cmzip.open("notes.txt.cmz", "wt", encoding="utf-8") as f:
        f.write("any amount of text, written in pieces of any size")
    with cmzip.open("notes.txt.cmz", "rt", encoding="utf-8") as f:
        for line in f:
            ...

Every problem with compressed data or with a level raises CmzipError (a ValueError).
Importing cmzip is cheap: the models (numpy, torch) load on the first compress or decompress.
"""
import builtins
import io
import os

from .container import (DEFAULT_BLOCK_SIZE, DEFAULT_CHUNK_SIZE, StreamEncoder, check_chunking,
                        compress_stream, decompress_stream, index_frame_bytes, iter_decompressed,
                        stream_table, write_all)
from .errors import CmzipError, WorkerError
from .levels import DEFAULT_LEVEL, MAX_LEVEL, MIN_LEVEL, check_level

__version__ = "0.1.0"

__all__ = ["CmzipError", "WorkerError", "CmzipFile", "compress", "decompress", "open",
           "compress_stream", "decompress_stream", "stream_table", "DEFAULT_LEVEL", "MIN_LEVEL",
           "MAX_LEVEL", "__version__"]


def compress(data, level=DEFAULT_LEVEL, *, predictors=None, threads=1,
             chunk_size=DEFAULT_CHUNK_SIZE, executor=None):
    """Compress bytes-like data; return the .cmz data as bytes.  predictors: a predictor set
    instead of the level's own, e.g. ["context", "match", "gru", "qct"] (stored in the header,
    so decompress() needs nothing extra).  Data longer than chunk_size becomes independent
    streams of chunk_size bytes each, followed by an index of them; threads compresses that
    many at once (the bytes are the same whatever the thread count).  executor: a
    concurrent.futures.Executor (e.g. a ProcessPoolExecutor) or a dask.distributed Client to
    compress the chunks on, `threads` of them in flight (default: its worker count); the same
    bytes again."""
    compressed = io.BytesIO()
    compress_stream(io.BytesIO(data), compressed, level, predictors=predictors, threads=threads,
                    chunk_size=chunk_size, executor=executor)
    return compressed.getvalue()


def decompress(data, *, threads=1, executor=None):
    """Decompress .cmz data given as bytes-like data, one stream or several back to back (as
    made by cat a.cmz b.cmz, or by compressing an input longer than the chunk size); return the
    original bytes.  threads: how many streams to decode at once; executor: where (as for
    compress()).  Trailing bytes that are not a stream are ignored, as lzma.decompress does;
    bytes that begin with the cmzip magic are a stream, and a damaged one is an error."""
    original = io.BytesIO()
    decompress_stream(io.BytesIO(data), original, trailing="ignore", threads=threads,
                      executor=executor)
    return original.getvalue()


def open(filename, mode="rb", level=None, encoding=None, errors=None, newline=None):
    """Open a .cmz file in binary mode ("r", "rb", "w", "wb", "x", "xb") or text mode
    ("rt", "wt", "xt"), like lzma.open. filename is a path or a binary file object.
    level (1..9, default DEFAULT_LEVEL) applies to writing only. In text mode the file is
    wrapped in io.TextIOWrapper with the given encoding, errors and newline."""
    if "t" in mode:
        if "b" in mode:
            raise ValueError(f"invalid mode: {mode!r}")
    elif (encoding, errors, newline) != (None, None, None):
        raise ValueError("encoding, errors and newline are for text modes only")
    binary_file = CmzipFile(filename, mode.replace("t", ""), level=level)
    if "t" in mode:
        return io.TextIOWrapper(binary_file, io.text_encoding(encoding), errors, newline)
    return binary_file


_READ_MODES = ("r", "rb")
_WRITE_MODES = ("w", "wb", "x", "xb")


class CmzipFile(io.BufferedIOBase):
    """A file object that reads or writes a .cmz stream, like lzma.LZMAFile.

    Reading decodes one block at a time and verifies it before handing out its bytes;
    reaching the end of a stream verifies the whole stream, and concatenated streams are read
    one after another. Writing collects the data into blocks and compresses each as it fills,
    starting a new stream every chunk_size bytes exactly as compress() does (the same bytes);
    close() writes the final block and the trailer, and the index after several streams. Memory use is bounded by the block size
    either way. Not seekable.
    """

    def __init__(self, filename, mode="r", *, level=None, block_size=DEFAULT_BLOCK_SIZE,
                 chunk_size=DEFAULT_CHUNK_SIZE):
        """filename is a str, bytes or os.PathLike path, or a binary file object (which
        stays open after close()). mode is "r"/"rb" to read, "w"/"wb" to write (truncating)
        or "x"/"xb" to create a new file. level (1..9) applies to writing only; block_size
        (a power of two from 2**16 to 2**26) and chunk_size (a multiple of it) to writing
        only, too."""
        self._reader = self._encoder = None   # closed, until opened below
        self._owns_fp = False
        if mode in _READ_MODES:
            if level is not None:
                raise ValueError("level applies to writing only")
        elif mode in _WRITE_MODES:
            # Check the settings before opening: a bad level must not truncate a file.
            level = check_level(DEFAULT_LEVEL if level is None else level)
            check_chunking(block_size, chunk_size)
        else:
            raise ValueError(f"invalid mode: {mode!r}")
        if isinstance(filename, (str, bytes, os.PathLike)):
            self._fp = builtins.open(filename, mode[0] + "b")
            self._owns_fp = True
        elif hasattr(filename, "read" if mode in _READ_MODES else "write"):
            self._fp = filename
        else:
            raise TypeError("filename must be a path or a binary file object")
        try:
            if mode in _READ_MODES:
                self._reader = io.BufferedReader(_BlockReader(iter_decompressed(self._fp)))
            else:
                self._encoder = StreamEncoder(self._fp, level, block_size)
                self._level, self._chunk_size = level, chunk_size
                self._pending = bytearray()   # input not yet filling a whole block
                self._finished_streams = []   # their StreamSizes, for the index
        except BaseException:
            self._close_fp()
            raise

    # -- state

    @property
    def closed(self):
        return self._reader is None and self._encoder is None

    def readable(self):
        self._check_not_closed()
        return self._reader is not None

    def writable(self):
        self._check_not_closed()
        return self._encoder is not None

    def seekable(self):
        return False

    def close(self):
        """Finish the stream when writing, then close the underlying file if we opened it."""
        if self.closed:
            return
        try:
            if self._encoder is not None:
                if self._pending:
                    self._write_block()
                self._encoder.finish()
                streams = self._finished_streams + [self._encoder.sizes]
                if len(streams) > 1:                       # as compress_stream does
                    write_all(self._fp, index_frame_bytes(streams))
        finally:
            self._reader = self._encoder = None
            self._close_fp()

    def _close_fp(self):
        if self._owns_fp:
            self._fp.close()

    def _check_not_closed(self):
        if self.closed:
            raise ValueError("I/O operation on closed file")

    def _check_can_read(self):
        if not self.readable():
            raise io.UnsupportedOperation("file not open for reading")

    def _check_can_write(self):
        if not self.writable():
            raise io.UnsupportedOperation("file not open for writing")

    # -- reading (the BufferedReader over the decoded blocks does the buffering)

    def read(self, size=-1):
        self._check_can_read()
        return self._reader.read(size)

    def read1(self, size=-1):
        self._check_can_read()
        return self._reader.read1(size)

    def readinto(self, buffer):
        self._check_can_read()
        return self._reader.readinto(buffer)

    def readline(self, size=-1):
        self._check_can_read()
        return self._reader.readline(size)

    def peek(self, size=0):
        self._check_can_read()
        return self._reader.peek(size)

    # -- writing

    def write(self, data):
        """Compress bytes-like data (any length); return the number of bytes taken."""
        self._check_can_write()
        block_size = self._encoder.block_size
        with memoryview(data) as view, view.cast("B") as data_bytes:
            taken = data_bytes.nbytes
            offset = 0
            while offset < taken:
                room = block_size - len(self._pending)
                self._pending += data_bytes[offset:offset + room]
                offset += room
                if len(self._pending) == block_size:
                    self._write_block()
        return taken

    def _write_block(self):
        if self._encoder.original_size == self._chunk_size:     # a new chunk, a new stream
            self._encoder.finish()
            self._finished_streams.append(self._encoder.sizes)
            self._encoder = StreamEncoder(self._fp, self._level, self._encoder.block_size)
        self._encoder.write_block(self._pending)
        self._pending.clear()


class _BlockReader(io.RawIOBase):
    """A raw, read-only stream over an iterator of decoded blocks."""

    def __init__(self, blocks):
        self._blocks = blocks
        self._block = memoryview(b"")
        self._error = None

    def readable(self):
        return True

    def readinto(self, buffer):
        # After an error the generator is finished; without this, reading again would
        # look like a clean end of file.
        if self._error is not None:
            raise CmzipError(self._error)
        try:
            while not self._block:
                self._block = memoryview(next(self._blocks))
        except StopIteration:
            return 0
        except CmzipError as error:
            self._error = str(error)
            raise
        n = min(len(buffer), len(self._block))
        buffer[:n] = self._block[:n]
        self._block = self._block[n:]
        return n
