"""Reading .cmz data as a seekable stream of decoded bytes (what CmzipFile reads through).

Seeking works as in lzma.LZMAFile (forward by decoding, backward by rewinding), with one
shortcut: streams are independent, and where each one starts is known from the headers without
decoding (container.stream_table: from the index, or from the headers), so a seek goes straight to the stream that holds the target and
decodes forward from that stream's start only.  Seeking into the middle of a file of 16 MiB
chunks decodes at most one chunk.
"""
import bisect
import io
import sys

from .container import iter_decompressed, stream_table
from .errors import CmzipError


class DecodedReader(io.RawIOBase):
    """The decoded bytes of the .cmz streams in a binary file object, as a raw, read-only
    stream (CmzipFile buffers it).  Reading decodes one block at a time and hands out its bytes
    only after its checksum matched.  Seekable when the file object is; then the data is taken
    to start where the file object was when this was made."""

    def __init__(self, fp):
        self._fp = fp
        seekable = getattr(fp, "seekable", None)
        self._seekable = bool(seekable and seekable())
        self._start = fp.tell() if self._seekable else None
        self._table = None     # the stream table, found at the first seek; [] if unusable
        self._size = None      # the decoded length, once known
        self._start_decoding(iter_decompressed(fp), 0)

    def _start_decoding(self, blocks, position):
        self._blocks = blocks              # the decoded blocks from here on
        self._block = memoryview(b"")      # what is left of the current one
        self._pos = position
        self._error = None                 # what ended decoding, raised again by later reads

    def readable(self):
        return True

    def seekable(self):
        return self._seekable

    def tell(self):
        return self._pos

    # -- reading

    def _current_block(self):
        """What is left of the current decoded block; empty only at the end of the data."""
        if self._error is not None:
            # The generator is finished after an error: without this, reading again would look
            # like a clean end of file.
            raise type(self._error)(*self._error.args)
        try:
            while not self._block:
                self._block = memoryview(next(self._blocks))
        except StopIteration:
            self._size = self._pos
        except CmzipError as error:
            self._error = error
            raise
        return self._block

    def readinto(self, buffer):
        block = self._current_block()
        n = min(len(buffer), len(block))
        buffer[:n] = block[:n]
        self._block = block[n:]
        self._pos += n
        return n

    def readall(self):
        # whole blocks at once (RawIOBase's readall would copy them 8 KiB at a time)
        pieces = []
        while block := self._current_block():
            pieces.append(bytes(block))
            self._pos += len(block)
            self._block = memoryview(b"")
        return b"".join(pieces)

    def _skip(self, count):
        """Decode and drop up to count bytes (fewer at the end of the data)."""
        while count > 0 and (block := self._current_block()):
            n = min(count, len(block))
            self._block = block[n:]
            self._pos += n
            count -= n

    # -- seeking

    def seek(self, offset, whence=io.SEEK_SET):
        if not self._seekable:
            raise io.UnsupportedOperation("the underlying file object does not support seeking")
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = self._decoded_size() + offset
        else:
            raise ValueError(f"invalid value for whence: {whence}")
        self._move_to(max(target, 0))   # as lzma: before the start is the start
        return self._pos

    def _move_to(self, target):
        table = self._stream_table()
        if table:
            end = table[-1].raw_offset + table[-1].raw_len
            if target >= end:       # at or past the end (as lzma, the position stops there)
                self._start_decoding(iter(()), end)
                self._size = end
                return
            # the last stream starting at or before the target (a later empty one included)
            entry = table[bisect.bisect_right([e.raw_offset for e in table], target) - 1]
            if target < self._pos or entry.raw_offset > self._pos:
                self._fp.seek(self._start + entry.offset)
                self._start_decoding(iter_decompressed(self._fp, mid_file=entry.offset > 0),
                                     entry.raw_offset)
        elif target < self._pos:    # no usable table: rewind to the start, as lzma does
            self._fp.seek(self._start)
            self._start_decoding(iter_decompressed(self._fp), 0)
        self._skip(target - self._pos)

    def _decoded_size(self):
        if self._size is None:
            table = self._stream_table()
            if table:
                self._size = table[-1].raw_offset + table[-1].raw_len
            else:                   # decode to the end, which also finds any damage
                self._skip(sys.maxsize)
        return self._size

    def _stream_table(self):
        """The stream table, scanned once; [] where the headers are damaged (seeking then
        decodes forward, and reaches the damage in order, as reading would)."""
        if self._table is None:
            here = self._fp.tell()
            try:
                self._fp.seek(self._start)
                self._table = stream_table(self._fp)
            except CmzipError:
                self._table = []
            finally:
                self._fp.seek(here)      # decoding goes on from where it was
        return self._table
