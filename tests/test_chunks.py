"""Chunked compression: an input longer than the chunk size becomes independent streams of
chunk-size bytes, and the thread count changes the speed, never the bytes: compress(),
compress_stream() with any thread count, CmzipFile and the command line's -T all write the
same bytes."""
import io

import pytest

import cmzip
from cmzip.container import compress_stream, decompress_stream, read_info
from cmzip.samples import sample

BLOCK = 1 << 16
CHUNK = 2 * BLOCK


@pytest.fixture(scope="module")
def data():
    return sample("text", 3 * CHUNK + 5000, seed=3) + sample("binary", 20000, seed=4)


def _compress(data, threads, level=1):
    out = io.BytesIO()
    sizes = compress_stream(io.BytesIO(data), out, level, block_size=BLOCK, threads=threads,
                            chunk_size=CHUNK)
    assert sizes.original == len(data) and sizes.compressed == len(out.getvalue())
    return out.getvalue()


def test_the_thread_count_never_changes_the_bytes(data):
    one = _compress(data, 1)
    for threads in (2, 4):
        assert _compress(data, threads) == one
    info = read_info(io.BytesIO(one))
    assert info.streams == 4                              # 3 whole chunks and the rest
    assert [b.raw_len for b in info.blocks][:3] == [BLOCK, BLOCK, BLOCK]
    assert cmzip.decompress(one) == data


def test_cmzipfile_writes_what_compress_writes(data):
    expected = _compress(data, 1)
    out = io.BytesIO()
    with cmzip.CmzipFile(out, "wb", level=1, block_size=BLOCK, chunk_size=CHUNK) as f:
        for start in range(0, len(data), 7777):             # odd pieces
            f.write(data[start:start + 7777])
    assert out.getvalue() == expected
    exact = data[:2 * CHUNK]                                # ends on a chunk boundary
    out = io.BytesIO()
    with cmzip.CmzipFile(out, "wb", level=1, block_size=BLOCK, chunk_size=CHUNK) as f:
        f.write(exact)
    assert out.getvalue() == _compress(exact, 1) == _compress(exact, 3)
    assert read_info(io.BytesIO(out.getvalue())).streams == 2


def test_small_inputs_stay_one_stream():
    for data in (b"", b"x", sample("text", 5000)):
        assert cmzip.compress(data, 1, threads=3) == cmzip.compress(data, 1)
        assert read_info(io.BytesIO(cmzip.compress(data, 1))).streams == 1


@pytest.mark.parametrize("chunk_size", [BLOCK + 1, BLOCK // 2, 0])
def test_a_chunk_must_be_whole_blocks(chunk_size):
    with pytest.raises(ValueError, match="multiple of the block size"):
        compress_stream(io.BytesIO(b"abc"), io.BytesIO(), 1, block_size=BLOCK, chunk_size=chunk_size)
    with pytest.raises(ValueError, match="threads"):
        cmzip.compress(b"abc", 1, threads=0)


def _decompress(blob, threads):
    out = io.BytesIO()
    sizes = decompress_stream(io.BytesIO(blob), out, threads=threads)
    return out.getvalue(), sizes


def test_parallel_decompression_gives_the_same_bytes(data):
    blob = _compress(data, 2) + cmzip.compress(b"and a small stream", 2)
    expected = data + b"and a small stream"
    for threads in (1, 2, 3):
        restored, sizes = _decompress(blob, threads)
        assert restored == expected and sizes == (len(expected), len(blob))


@pytest.mark.parametrize("threads", [1, 2])
def test_a_damaged_stream_delivers_every_verified_block_before_it_and_nothing_after(data, threads):
    streams = [cmzip.compress(data[i:i + 30000], 1) for i in (0, 30000, 60000)]
    damaged = bytearray(streams[1])
    damaged[len(damaged) // 2] ^= 0x55                    # inside the second stream's payload
    out = io.BytesIO()
    with pytest.raises(cmzip.CmzipError):
        decompress_stream(io.BytesIO(streams[0] + bytes(damaged) + streams[2]), out,
                          threads=threads)
    assert out.getvalue() == data[:30000]                 # the first stream, and nothing else
    out = io.BytesIO()
    with pytest.raises(cmzip.CmzipError, match="trailing garbage"):
        decompress_stream(io.BytesIO(streams[0] + streams[1] + b"junk"), out, threads=threads)
    assert out.getvalue() == data[:60000]                 # both streams, then the error
