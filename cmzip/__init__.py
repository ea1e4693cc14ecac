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

Every problem with compressed data or with a level raises CmzipError (a ValueError); a
truncated file raises CmzipEOFError, which is both a CmzipError and an EOFError (as lzma raises
EOFError there).
Importing cmzip is cheap: the models (numpy, torch) load on the first compress or decompress.
"""
import builtins
import io
import os

from .container import (DEFAULT_BLOCK_SIZE, DEFAULT_CHUNK_SIZE, compress_stream, decompress_stream,
                        stream_table, write_all)
from .errors import CmzipEOFError, CmzipError, WorkerError
from .incremental import CmzipCompressor, CmzipDecompressor
from .levels import DEFAULT_LEVEL, MAX_LEVEL, MIN_LEVEL
from .reading import DecodedReader

__version__ = "0.1.0"

__all__ = ["CmzipError", "CmzipEOFError", "WorkerError", "CmzipFile", "CmzipCompressor",
           "CmzipDecompressor", "compress", "decompress", "open", "compress_stream",
           "decompress_stream", "stream_table", "DEFAULT_LEVEL", "MIN_LEVEL", "MAX_LEVEL",
           "__version__"]


def compress(data, level=DEFAULT_LEVEL, *, predictors=None, threads=None,
             chunk_size=DEFAULT_CHUNK_SIZE, executor=None):
    """Compress bytes-like data; return the .cmz data as bytes.  predictors: a predictor set
    instead of the level's own, e.g. ["context", "match", "gru", "qct"] (stored in the header,
    so decompress() needs nothing extra).  Data longer than chunk_size becomes independent
    streams of chunk_size bytes each, followed by an index of them; threads compresses that
    many at once (default: one; the bytes are the same whatever the thread count).  executor: a
    concurrent.futures.Executor (e.g. a ProcessPoolExecutor) or a dask.distributed Client to
    compress the chunks on, `threads` of them in flight (default: its worker count); the same
    bytes again."""
    compressed = io.BytesIO()
    compress_stream(io.BytesIO(data), compressed, level, predictors=predictors, threads=threads,
                    chunk_size=chunk_size, executor=executor)
    return compressed.getvalue()


def decompress(data, *, threads=None, executor=None):
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
    """Open a .cmz file in binary mode ("r", "rb", "w", "wb", "x", "xb", "a", "ab") or text
    mode ("rt", "wt", "xt", "at"), like lzma.open. filename is a path or a binary file object.
    Appending adds a stream to the end of the file (a reader decodes them all, one after the
    other).  level (1..9, default DEFAULT_LEVEL) applies to writing only. In text mode the file
    is wrapped in io.TextIOWrapper with the given encoding, errors and newline."""
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
_WRITE_MODES = ("w", "wb", "x", "xb", "a", "ab")


class CmzipFile(io.BufferedIOBase):
    """A file object that reads or writes .cmz data, like lzma.LZMAFile.

    Reading decodes one block at a time and verifies it before handing out its bytes;
    reaching the end of a stream verifies the whole stream, and concatenated streams are read
    one after another; bytes after the last stream that are not a stream are ignored.  A file
    that ends early raises CmzipEOFError (an EOFError, as lzma's).  Reading seeks when the
    underlying file does: forward by decoding, backward by rewinding, and straight to the stream
    that holds the target (streams are independent, and the headers say where each one starts),
    so a seek decodes at most one stream: at most 16 MiB with the default chunk size.

    Writing collects the data into blocks and compresses each as it fills, starting a new stream
    every chunk_size bytes exactly as compress() does (the same bytes); close() writes the final
    block and the trailer, and the index after several streams.  Appending ("a") adds streams
    after what the file holds (with their own index if there are several).  Memory use is
    bounded by the block size either way.
    """

    def __init__(self, filename, mode="r", *, level=None, block_size=DEFAULT_BLOCK_SIZE,
                 chunk_size=DEFAULT_CHUNK_SIZE):
        """filename is a str, bytes or os.PathLike path, or a binary file object (which
        stays open after close()). mode is "r"/"rb" to read, "w"/"wb" to write (truncating),
        "x"/"xb" to create a new file or "a"/"ab" to append a stream. level (1..9) applies to
        writing only; block_size (a power of two from 2**16 to 2**26) and chunk_size (a
        multiple of it) to writing only, too."""
        self._reader = self._compressor = None   # closed, until opened below
        self._owns_fp = False
        if mode in _READ_MODES:
            if level is not None:
                raise ValueError("level applies to writing only")
            # what the `mode` attribute says, as LZMAFile's since Python 3.13
            self._mode = "rb"
        elif mode in _WRITE_MODES:
            # Check the settings before opening: a bad level must not truncate a file.
            compressor = CmzipCompressor(DEFAULT_LEVEL if level is None else level,
                                         block_size=block_size, chunk_size=chunk_size)
            self._mode = "wb"
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
                self._raw = DecodedReader(self._fp)
                self._reader = io.BufferedReader(self._raw)
            else:
                self._compressor = compressor
                self._written = 0        # uncompressed bytes taken: tell() in write mode
        except BaseException:
            self._close_fp()
            raise

    # -- state

    @property
    def closed(self):
        return self._reader is None and self._compressor is None

    @property
    def mode(self):
        """"rb" when reading, "wb" when writing or appending (as LZMAFile's since 3.13)."""
        return self._mode

    @property
    def name(self):
        """The underlying file's name (AttributeError if it has none), as LZMAFile's since
        3.13."""
        self._check_not_closed()
        return self._fp.name

    def fileno(self):
        """The underlying file's descriptor."""
        self._check_not_closed()
        return self._fp.fileno()

    def readable(self):
        self._check_not_closed()
        return self._reader is not None

    def writable(self):
        self._check_not_closed()
        return self._compressor is not None

    def seekable(self):
        """True when reading from a file object that seeks."""
        return self.readable() and self._raw.seekable()

    def close(self):
        """Finish the stream when writing, then close the underlying file if we opened it."""
        if self.closed:
            return
        try:
            if self._compressor is not None:
                write_all(self._fp, self._compressor.flush())
        finally:
            self._reader = self._compressor = None
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

    # -- positions

    def seek(self, offset, whence=io.SEEK_SET):
        """Move to offset (relative to the start, whence 0; to the current position, 1; to the
        end, 2) in the decompressed data; return the new position.  As in lzma.LZMAFile, a
        position before the start is the start and one past the end is the end.  Reading only,
        and only when the underlying file seeks."""
        if not self.readable():
            raise io.UnsupportedOperation("seeking is only supported on files open for reading")
        if not self.seekable():
            raise io.UnsupportedOperation("the underlying file object does not support seeking")
        return self._reader.seek(offset, whence)

    def tell(self):
        """The position in the decompressed data: read so far, or written so far."""
        self._check_not_closed()
        if self._reader is not None:
            return self._reader.tell()
        return self._written

    # -- writing

    def write(self, data):
        """Compress bytes-like data (any length); return the number of bytes taken."""
        self._check_can_write()
        with memoryview(data) as view:
            taken = view.nbytes
            write_all(self._fp, self._compressor.compress(view))
        self._written += taken
        return taken
