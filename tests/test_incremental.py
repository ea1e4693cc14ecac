"""CmzipCompressor and CmzipDecompressor: incremental (de)compression with the semantics of
lzma.LZMACompressor and lzma.LZMADecompressor; where a behaviour is generic, the same driver
runs against lzma's classes too."""
import io
import lzma

import pytest

import cmzip
from cmzip import CmzipCompressor, CmzipDecompressor, CmzipEOFError, CmzipError
from cmzip.container import block_header_bytes, read_info
from cmzip.samples import sample

BLOCK = 1 << 16


@pytest.fixture(scope="module")
def two_blocks():
    """Data of two blocks and a bit, and its stream at level 1 in 2**16-byte blocks."""
    data = sample("text", 2 * BLOCK + 700, seed=5)
    out = io.BytesIO()
    with cmzip.CmzipFile(out, "wb", level=1, block_size=BLOCK) as f:
        f.write(data)
    return data, out.getvalue()


# ---------------------------------------------------------------------------- compressor

@pytest.mark.parametrize("piece", [1000, BLOCK, 3 * BLOCK])
def test_compressed_pieces_join_into_what_compress_makes(two_blocks, piece):
    data, blob = two_blocks
    compressor = CmzipCompressor(1, block_size=BLOCK)
    out = [compressor.compress(data[i:i + piece]) for i in range(0, len(data), piece)]
    out.append(compressor.flush())
    assert b"".join(out) == blob


def test_output_is_ready_once_a_block_is_full(two_blocks):
    data, blob = two_blocks
    compressor = CmzipCompressor(1, block_size=BLOCK)
    assert compressor.compress(data[:BLOCK - 1]) == b""                 # no whole block yet
    first = compressor.compress(data[BLOCK - 1:BLOCK])                  # the first one is full
    assert first and blob.startswith(first)
    assert cmzip.CmzipDecompressor().decompress(first) == data[:BLOCK]  # and decodes alone


def test_chunks_become_streams_as_in_compress(two_blocks):
    data, _ = two_blocks
    expected = io.BytesIO()
    cmzip.compress_stream(io.BytesIO(data), expected, 1, block_size=BLOCK, chunk_size=BLOCK)
    compressor = CmzipCompressor(1, block_size=BLOCK, chunk_size=BLOCK)
    first = compressor.compress(data[:BLOCK])
    assert read_info(io.BytesIO(first)).streams == 1                   # a whole stream, ended
    out = first + compressor.compress(data[BLOCK:]) + compressor.flush()
    assert out == expected.getvalue() and read_info(io.BytesIO(out)).streams == 3


def test_no_input_is_one_empty_stream():
    compressor = CmzipCompressor()
    assert compressor.compress(b"") + compressor.flush() == cmzip.compress(b"")


@pytest.mark.parametrize("make", [CmzipCompressor, lzma.LZMACompressor])
def test_a_flushed_compressor_refuses_more(make):
    compressor = make()
    compressor.compress(b"data")
    compressor.flush()
    with pytest.raises(ValueError):
        compressor.compress(b"more")
    with pytest.raises(ValueError):
        compressor.flush()


def test_bad_settings_are_refused_up_front():
    with pytest.raises(CmzipError, match="level"):
        CmzipCompressor(10)
    with pytest.raises(CmzipError, match="predictor"):
        CmzipCompressor(5, predictors=["match"])
    with pytest.raises(ValueError, match="multiple of the block size"):
        CmzipCompressor(1, block_size=BLOCK, chunk_size=BLOCK + 1)
    with pytest.raises(TypeError):
        CmzipCompressor().compress("text")


# ---------------------------------------------------------------------------- decompressor

def test_one_call_decodes_the_stream(two_blocks):
    data, blob = two_blocks
    decompressor = CmzipDecompressor()
    assert (decompressor.eof, decompressor.needs_input, decompressor.unused_data) == (False, True, b"")
    assert decompressor.decompress(blob) == data
    assert (decompressor.eof, decompressor.needs_input, decompressor.unused_data) == (True, False, b"")


def test_output_appears_as_soon_as_a_block_has_arrived(two_blocks):
    data, blob = two_blocks
    first = read_info(io.BytesIO(blob)).blocks[0]
    end_of_block_1 = 16 + len(block_header_bytes(first.raw_len, first.payload_len,
                                                 first.raw_crc)) + first.payload_len
    decompressor = CmzipDecompressor()
    assert decompressor.decompress(blob[:end_of_block_1 - 1]) == b""
    assert decompressor.needs_input
    assert decompressor.decompress(blob[end_of_block_1 - 1:end_of_block_1]) == data[:BLOCK]
    assert decompressor.needs_input and not decompressor.eof
    rest = b"".join(decompressor.decompress(blob[i:i + 997])
                    for i in range(end_of_block_1, len(blob), 997))
    assert rest == data[BLOCK:] and decompressor.eof


@pytest.mark.parametrize("extra", [b"", b"junk after the stream", None])
def test_unused_data_is_what_follows_the_stream(two_blocks, tiny, extra):
    data, blob = two_blocks
    if extra is None:
        extra = cmzip.compress(tiny)                     # another stream: for another decompressor
    decompressor = CmzipDecompressor()
    assert decompressor.decompress(blob[:100]) == b""
    assert decompressor.decompress(blob[100:] + extra) == data
    assert decompressor.eof and decompressor.unused_data == extra


@pytest.mark.parametrize("make, compress", [(CmzipDecompressor, cmzip.compress),
                                            (lzma.LZMADecompressor, lzma.compress)])
def test_decompress_after_the_end_is_an_eof_error(make, compress, tiny):
    decompressor = make()
    decompressor.decompress(compress(tiny))
    for more in (b"anything", b""):
        with pytest.raises(EOFError):
            decompressor.decompress(more)
    if make is CmzipDecompressor:
        with pytest.raises(CmzipEOFError):
            decompressor.decompress(b"")


def limited_decompression(decompressor, blob, split, max_length):
    """Feed blob in two pieces with an output limit, as lzma's test does; check the protocol on
    the way (needs_input, at most max_length per call); return the output."""
    out = [decompressor.decompress(blob[:split], max_length=max_length)]
    assert len(out[-1]) == max_length and not decompressor.needs_input   # more is ready
    out.append(decompressor.decompress(b"", max_length=max_length))      # without more input
    assert len(out[-1]) == max_length and not decompressor.needs_input
    out.append(decompressor.decompress(blob[split:], max_length=max_length))
    while not decompressor.eof:
        out.append(decompressor.decompress(b"", max_length=max_length))
        assert len(out[-1]) <= max_length
    assert decompressor.unused_data == b"" and not decompressor.needs_input
    return b"".join(out)


def test_max_length_limits_each_call_as_in_lzma(two_blocks):
    data, blob = two_blocks
    assert limited_decompression(lzma.LZMADecompressor(), lzma.compress(data), 5000, 100) == data
    assert limited_decompression(CmzipDecompressor(), blob, len(blob) - 64, 100) == data
    assert limited_decompression(CmzipDecompressor(), blob, len(blob) - 64, 40000) == data


def test_max_length_zero_takes_input_and_returns_nothing(two_blocks):
    data, blob = two_blocks
    decompressor = CmzipDecompressor()
    assert decompressor.decompress(blob[:BLOCK], max_length=0) == b""
    assert decompressor.decompress(blob[BLOCK:]) == data and decompressor.eof


def test_concatenated_streams_decode_one_decompressor_each(tiny):
    """The loop lzma.decompress runs: a new decompressor on each one's unused_data."""
    lines_data = b"line\n" * 300
    blob = cmzip.compress(tiny, 1) + cmzip.compress(lines_data, 2) + cmzip.compress(b"", 3)
    out = []
    while blob:
        decompressor = CmzipDecompressor()
        out.append(decompressor.decompress(blob))
        assert decompressor.eof
        blob = decompressor.unused_data
    assert out == [tiny, lines_data, b""]


def test_damage_raises_cmzip_error_and_truncation_waits_for_more(two_blocks, tiny):
    data, blob = two_blocks
    with pytest.raises(CmzipError, match="not a .cmz file"):
        CmzipDecompressor().decompress(b"x")                      # known from the first byte
    damaged = bytearray(blob)
    damaged[len(blob) // 2] ^= 0x10                               # inside the second payload
    decompressor = CmzipDecompressor()
    with pytest.raises(CmzipError) as raised:
        decompressor.decompress(bytes(damaged))
    assert not isinstance(raised.value, EOFError)
    decompressor = CmzipDecompressor()
    assert decompressor.decompress(blob[:-1]) == data             # all but the trailer's end
    assert not decompressor.eof and decompressor.needs_input      # as lzma: not an error yet


def test_compressor_to_decompressor_in_small_pieces(sample):
    data = sample * 3
    compressor, decompressor = CmzipCompressor(2), CmzipDecompressor()
    restored = []
    for i in range(0, len(data), 333):
        restored.append(decompressor.decompress(compressor.compress(data[i:i + 333])))
    restored.append(decompressor.decompress(compressor.flush()))
    assert b"".join(restored) == data and decompressor.eof


def test_accepts_bytes_like_input(tiny):
    blob = cmzip.compress(tiny)
    assert CmzipDecompressor().decompress(memoryview(blob)) == tiny
    assert CmzipDecompressor().decompress(bytearray(blob)) == tiny
    with pytest.raises(TypeError):
        CmzipDecompressor().decompress("text")


def test_damage_anywhere_fed_in_pieces_is_an_error_or_the_original(tiny):
    """Every bit flip of a small stream, fed 7 bytes at a time: the decompressor raises
    CmzipError exactly where cmzip.decompress() does, and otherwise (a bit the coder never
    needed, in the last byte of a payload) returns the original and reaches the end."""
    blob = cmzip.compress(tiny)
    for position in range(len(blob)):
        for bit in (0, 5):
            damaged = bytearray(blob)
            damaged[position] ^= 1 << bit
            try:
                cmzip.decompress(bytes(damaged))
            except CmzipError:
                whole_is_refused = True
            else:
                whole_is_refused = False
            decompressor = CmzipDecompressor()
            try:
                out = b"".join(decompressor.decompress(damaged[i:i + 7])
                               for i in range(0, len(damaged), 7))
            except CmzipError:
                assert whole_is_refused, (position, bit)
            else:
                assert not whole_is_refused, (position, bit)
                assert out == tiny and decompressor.eof, (position, bit)
