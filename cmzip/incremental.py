"""Incremental compression and decompression, shaped like lzma.LZMACompressor and
lzma.LZMADecompressor: feed data in pieces of any size, get out what is ready.

Output appears a block at a time: the compressor returns a block's compressed bytes as soon as
the block is full (block_size bytes of input, 4 MiB by default) and the rest at flush(); the
decompressor returns a block's decoded bytes as soon as its whole payload has arrived and its
checksum matched.  Nothing needs more memory than a block and its payload.
"""
import io
import zlib

from .container import (DEFAULT_BLOCK_SIZE, DEFAULT_CHUNK_SIZE, MAGIC, StreamEncoder,
                        _decode_payload, _finish_stream, _read_block_header, _read_stream_header,
                        _Reader, check_chunking, index_frame_bytes)
from .errors import CmzipEOFError, CmzipError
from .levels import DEFAULT_LEVEL, check_level, predictor_flags

# The longest stream header, block header or trailer (16 bytes each at most: the varints are
# limited to 5, 5 and 10 bytes): one window of this many bytes always holds the next one whole.
_HEADER_WINDOW = 16


class CmzipCompressor:
    """Compress data incrementally, like lzma.LZMACompressor: compress(data) returns the
    compressed bytes that are ready (possibly b""), flush() the rest; the pieces joined are
    exactly what cmzip.compress() makes of all the data (a new stream every chunk_size bytes,
    and after several streams their index, as there).  level, predictors, block_size and
    chunk_size as for CmzipFile."""

    def __init__(self, level=DEFAULT_LEVEL, *, predictors=None, block_size=DEFAULT_BLOCK_SIZE,
                 chunk_size=DEFAULT_CHUNK_SIZE):
        self._level = check_level(level)
        predictor_flags(self._level, predictors)     # refuse a bad set now, not at the first block
        check_chunking(block_size, chunk_size)
        self._predictors = predictors
        self._block_size, self._chunk_size = block_size, chunk_size
        self._out = io.BytesIO()        # compressed bytes not yet returned
        self._encoder = None            # the stream being written, if any
        self._streams = 0
        self._stream_sizes = []         # of the finished streams, for the index
        self._pending = bytearray()     # input not yet filling a whole block
        self._flushed = False

    def compress(self, data):
        """Take bytes-like data (any length); return the compressed bytes now ready."""
        if self._flushed:
            raise ValueError("the compressor has been flushed")
        with memoryview(data) as view, view.cast("B") as data_bytes:
            offset = 0
            while offset < data_bytes.nbytes:
                room = self._block_size - len(self._pending)
                self._pending += data_bytes[offset:offset + room]
                offset += room
                if len(self._pending) == self._block_size:
                    self._write_block()
        return self._take_output()

    def flush(self):
        """Finish: compress what is pending and end the stream; return the last bytes.
        The compressor cannot be used afterwards."""
        if self._flushed:
            raise ValueError("repeated call to flush()")
        self._flushed = True
        if self._pending:
            self._write_block()
        if self._encoder is None and self._streams == 0:   # no input: one empty stream
            self._new_stream()
        if self._encoder is not None:
            self._finish_stream()
        if len(self._stream_sizes) > 1:                  # as compress_stream() does
            self._out.write(index_frame_bytes(self._stream_sizes))
        return self._take_output()

    def _finish_stream(self):
        self._encoder.finish()
        self._stream_sizes.append(self._encoder.sizes)
        self._encoder = None

    def _new_stream(self):
        self._encoder = StreamEncoder(self._out, self._level, self._block_size, self._predictors)
        self._streams += 1

    def _write_block(self):
        if self._encoder is None:
            self._new_stream()
        self._encoder.write_block(self._pending)
        self._pending.clear()
        if self._encoder.original_size == self._chunk_size:   # a whole chunk: end its stream
            self._finish_stream()

    def _take_output(self):
        ready = self._out.getvalue()
        self._out.seek(0)
        self._out.truncate()
        return ready


class CmzipDecompressor:
    """Decompress one .cmz stream incrementally, like lzma.LZMADecompressor.

    decompress(data, max_length=-1) takes the next bytes-like piece of the stream and returns
    the decoded bytes now ready, at most max_length of them when it is not negative (the rest
    comes from later calls, with b"" as data if need be).  Attributes, as lzma's:
      eof          True once the end of the stream (its trailer) has been read and verified;
      unused_data  the bytes after the end of the stream (another stream, or anything else);
      needs_input  False when decompress() can return more before it is given more data.
    Like LZMADecompressor, one object decodes one stream: for concatenated streams, start a new
    one on unused_data.  Damaged data raises CmzipError; decompress() after the end of the
    stream raises CmzipEOFError (an EOFError, as lzma's).
    """

    def __init__(self):
        self.eof = False
        self.unused_data = b""
        self.needs_input = True
        self._input = bytearray()          # received, not yet consumed
        self._output = memoryview(b"")     # decoded, not yet returned
        self._header = None                # the stream header, once read
        self._codec = None
        self._blocks_done = False          # the end-of-blocks marker has been read
        self._index = 1                    # the next block's number (for messages)
        self._total_len = self._total_crc = 0

    def decompress(self, data, max_length=-1):
        if self.eof:
            raise CmzipEOFError("already at the end of the stream")
        self._input += data
        room = max_length if max_length >= 0 else None
        pieces = []
        while True:
            if self._output:
                n = len(self._output) if room is None else min(room, len(self._output))
                pieces.append(bytes(self._output[:n]))
                self._output = self._output[n:]
                if room is not None:
                    room -= n
            if room == 0 or self.eof or not self._advance():
                break
        self.needs_input = not (self.eof or self._output or self._can_advance())
        return b"".join(pieces)

    # -- one part at a time: the stream header, each block, the end marker, the trailer

    def _next_part(self):
        """The next part of the stream, parsed without taking it from the input: (kind, what
        was parsed, how many header bytes), or None while it has not all arrived.  Damage
        raises CmzipError."""
        if self._header is None:
            if not MAGIC.startswith(bytes(self._input[:len(MAGIC)])):
                raise CmzipError("not a .cmz file (bad magic)")
            return self._parse("stream header", _read_stream_header)
        if not self._blocks_done:
            parsed = self._parse("block", lambda reader: _read_block_header(
                reader, self._header.block_size, self._index))
            if parsed is None:
                return None
            _, block, used = parsed
            if block is None:
                return "end of blocks", None, used
            if len(self._input) < used + block.payload_len:
                return None                 # the payload has not all arrived yet
            return parsed
        return self._parse("trailer", lambda reader: _finish_stream(
            reader, self._total_len, self._total_crc))

    def _parse(self, kind, read):
        """(kind, read(reader), bytes read) over the start of the input; None if the input ends
        before what read() reads."""
        reader = _Reader(io.BytesIO(bytes(self._input[:_HEADER_WINDOW])))
        try:
            parsed = read(reader)
        except CmzipEOFError:
            if len(self._input) >= _HEADER_WINDOW:   # not short of input: damage
                raise
            return None
        return kind, parsed, reader.position

    def _can_advance(self):
        try:
            return self._next_part() is not None
        except CmzipError:
            return True                     # the next call reports it

    def _advance(self):
        """Take the next part of the stream from the input if it has all arrived; return
        whether it had.  A block's decoded bytes go to self._output."""
        part = self._next_part()
        if part is None:
            return False
        kind, parsed, used = part
        if kind == "stream header":
            from .codec import Codec     # imported here: the models are heavy, `import cmzip` is not
            self._header = parsed
            self._codec = Codec(parsed.level, parsed.flags)
        elif kind == "block":
            payload = bytes(self._input[used:used + parsed.payload_len])
            data = _decode_payload(self._codec, parsed, payload, self._index)
            used += parsed.payload_len
            self._index += 1
            self._total_len += len(data)
            self._total_crc = zlib.crc32(data, self._total_crc)
            self._output = memoryview(data)
        elif kind == "end of blocks":
            self._blocks_done = True
        else:                               # the trailer, verified: the end of the stream
            self.eof = True
            self.unused_data = bytes(self._input[used:])
            self._input = bytearray()
            self._codec = None              # its models are no longer needed
            return True
        del self._input[:used]
        return True
