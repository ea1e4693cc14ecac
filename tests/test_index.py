"""The index: a trailing seek-table frame written after several streams, read by stream_table,
skipped (and checked) by the readers that decode sequentially, and rejected when damaged or
when it does not match its streams.

Index frames are built here from the documented layout, so that the reader is tested against
the documentation rather than against the writer."""
import io
import struct
import zlib

import pytest
from click.testing import CliRunner

import cmzip
import cmzip.cli
from cmzip import container
from cmzip.container import (INDEX_END_MAGIC, INDEX_MAGIC, StreamEntry, compress_stream,
                             decompress_stream, iter_decompressed, read_info, stream_table)
from cmzip.errors import CmzipError
from cmzip.samples import sample
from unseekable import Pipe

BLOCK = 1 << 16
CHUNK = BLOCK


def leb128(value):
    groups = [value & 0x7F]
    while value := value >> 7:
        groups.append(value & 0x7F)
    return bytes(group | 0x80 for group in groups[:-1]) + bytes(groups[-1:])


def index_frame(sizes, flags=0):
    """An index frame for [(original, compressed), ...], written out from the documentation."""
    fields = INDEX_MAGIC + bytes([flags]) + leb128(len(sizes))
    for original, compressed in sizes:
        fields += leb128(original) + leb128(compressed)
    fields += struct.pack("<I", len(fields) + 12)
    return fields + struct.pack("<I", zlib.crc32(fields)) + INDEX_END_MAGIC


@pytest.fixture(scope="module")
def data():
    return sample("text", 2 * CHUNK + 3000, seed=7) + sample("binary", CHUNK, seed=8)


@pytest.fixture(scope="module")
def streams(data):
    """The separate streams of data in chunks, compressed one by one: (original, its stream)."""
    pieces = [data[start:start + CHUNK] for start in range(0, len(data), CHUNK)]
    return [(piece, compressed(piece)) for piece in pieces]   # each one chunk: no index


def compressed(data, **options):
    out = io.BytesIO()
    sizes = compress_stream(io.BytesIO(data), out, 1, block_size=BLOCK, chunk_size=CHUNK,
                            **options)
    assert sizes == (len(data), len(out.getvalue()))
    return out.getvalue()


@pytest.fixture(scope="module")
def indexed(data):
    return compressed(data)


def sizes_of(streams):
    return [(len(piece), len(stream)) for piece, stream in streams]


def entries_of(streams, start=0):
    entries, raw, offset = [], 0, start
    for piece, stream in streams:
        entries.append(StreamEntry(raw, len(piece), offset, len(stream)))
        raw += len(piece)
        offset += len(stream)
    return entries


def no_scanning(monkeypatch):
    """Make a header scan fail loudly: what still works used the index."""
    def scan(*args, **kwargs):
        raise AssertionError("scanned the headers")
        yield
    monkeypatch.setattr(container, "_scan_streams", scan)


# ---------------------------------------------------------------------------- written

def test_several_streams_end_with_an_index_as_documented(indexed, streams):
    together = b"".join(stream for _, stream in streams)
    assert len(streams) == 4
    assert indexed == together + index_frame(sizes_of(streams))
    assert compressed(b"".join(piece for piece, _ in streams), index=False) == together
    one = compressed(streams[0][0])                      # one stream: no index
    assert one == streams[0][1] and not one.endswith(INDEX_END_MAGIC)


def test_cmzipfile_writes_the_index_too(indexed, data):
    out = io.BytesIO()
    with cmzip.CmzipFile(out, "wb", level=1, block_size=BLOCK, chunk_size=CHUNK) as f:
        f.write(data)
    assert out.getvalue() == indexed


# ---------------------------------------------------------------------------- read, skipped

def test_readers_that_decode_skip_the_index(indexed, data):
    assert cmzip.decompress(indexed) == data
    assert b"".join(iter_decompressed(io.BytesIO(indexed), trailing="error")) == data
    with cmzip.CmzipFile(io.BytesIO(indexed)) as f:
        assert f.read() == data
    for threads in (1, 2):
        out = io.BytesIO()
        assert decompress_stream(io.BytesIO(indexed), out, threads=threads) == (
            len(data), len(indexed))
        assert out.getvalue() == data
    info = read_info(io.BytesIO(indexed))
    assert (info.streams, info.indexes, info.ends_with_index) == (4, 1, True)
    assert info.compressed_size == len(indexed) and info.original_size == len(data)


def test_stream_table_reads_the_index_without_scanning(indexed, streams, monkeypatch):
    no_scanning(monkeypatch)
    file = io.BytesIO(b"prefix" + indexed)
    file.seek(6)
    table = stream_table(file)
    assert table == entries_of(streams)
    assert file.tell() == 6                          # where it was
    for entry, (piece, _) in zip(table, streams):    # each entry is a stream on its own
        file.seek(6 + entry.offset)
        assert cmzip.decompress(file.read(entry.length)) == piece


def test_stream_table_scans_a_file_without_an_index(data, streams):
    plain = compressed(data, index=False)
    assert stream_table(io.BytesIO(plain)) == entries_of(streams)
    assert stream_table(io.BytesIO(plain + b"junk")) == entries_of(streams)
    with pytest.raises(CmzipError, match="trailing garbage"):
        stream_table(io.BytesIO(plain + b"junk"), trailing="error")
    assert stream_table(io.BytesIO(cmzip.compress(b""))) == [StreamEntry(0, 0, 0, 24)]
    with pytest.raises(CmzipError, match="truncated"):
        stream_table(io.BytesIO(b""))


def test_cat_of_indexed_files_goes_from_index_to_index(indexed, data, streams, monkeypatch):
    both = indexed + indexed
    assert cmzip.decompress(both) == data + data
    info = read_info(io.BytesIO(both))
    assert (info.streams, info.indexes, info.ends_with_index) == (8, 2, True)
    no_scanning(monkeypatch)
    first = entries_of(streams)
    second = [StreamEntry(raw + len(data), size, offset + len(indexed), length)
              for raw, size, offset, length in first]
    assert stream_table(io.BytesIO(both)) == first + second


def test_streams_before_the_indexed_ones_are_scanned(indexed, data, streams):
    """cat plain.cmz indexed.cmz: the index describes its own streams only."""
    plain = cmzip.compress(b"no index here", 1)
    blob = plain + indexed
    table = stream_table(io.BytesIO(blob))
    assert table[0] == StreamEntry(0, 13, 0, len(plain))
    assert table[1:] == [StreamEntry(raw + 13, size, offset + len(plain), length)
                         for raw, size, offset, length in entries_of(streams)]
    assert cmzip.decompress(blob) == b"no index here" + data
    # An index may describe fewer streams than precede it: here only the last one.
    last = streams[-1][1]
    partial = b"".join(s for _, s in streams) + index_frame(sizes_of(streams[-1:]))
    assert stream_table(io.BytesIO(partial)) == entries_of(streams)
    assert cmzip.decompress(partial) == data
    assert last in partial


def test_streams_after_an_index_and_garbage_after_it(indexed, data):
    extra = cmzip.compress(b"appended later", 1)
    table = stream_table(io.BytesIO(indexed + extra))
    assert table[-1] == StreamEntry(len(data), 14, len(indexed), len(extra))
    assert cmzip.decompress(indexed + extra) == data + b"appended later"
    info = read_info(io.BytesIO(indexed + extra))
    assert (info.streams, info.indexes, info.ends_with_index) == (5, 1, False)
    assert cmzip.decompress(indexed + b"junk") == data           # the API ignores garbage
    with pytest.raises(CmzipError, match="trailing garbage"):
        decompress_stream(io.BytesIO(indexed + b"junk"), io.BytesIO())


def test_parallel_decompression_takes_the_boundaries_from_the_index(indexed, data, monkeypatch):
    def no_header_walk(*args):
        raise AssertionError("found the streams by their headers")
    monkeypatch.setattr(container, "_next_stream_bytes", no_header_walk)
    no_scanning(monkeypatch)
    out = io.BytesIO()
    decompress_stream(io.BytesIO(indexed), out, threads=3)
    assert out.getvalue() == data


def test_parallel_decompression_of_a_pipe_finds_the_streams_by_their_headers(indexed, data):
    out = io.BytesIO()
    assert decompress_stream(Pipe(indexed), out, threads=2) == (len(data), len(indexed))
    assert out.getvalue() == data


# ---------------------------------------------------------------------------- damaged, lying

def readers():
    """Every way of reading a file: name, function(blob) that reads all of it."""
    def parallel(blob):
        decompress_stream(io.BytesIO(blob), io.BytesIO(), threads=2)
    def pipe(blob):
        decompress_stream(Pipe(blob), io.BytesIO(), threads=2)
    return {
        "decompress": cmzip.decompress,
        "decompress_stream": lambda blob: decompress_stream(io.BytesIO(blob), io.BytesIO()),
        "threads": parallel,
        "pipe": pipe,
        "CmzipFile": lambda blob: cmzip.CmzipFile(io.BytesIO(blob)).read(),
        "read_info": lambda blob: read_info(io.BytesIO(blob)),
        "stream_table": lambda blob: stream_table(io.BytesIO(blob)),
    }


@pytest.mark.parametrize("reader", list(readers()))
def test_a_damaged_index_is_an_error(indexed, streams, reader):
    read = readers()[reader]
    frame_start = len(indexed) - len(index_frame(sizes_of(streams)))
    for where in (frame_start + 5, frame_start + 7, len(indexed) - 9, len(indexed) - 2):
        damaged = bytearray(indexed)
        damaged[where] ^= 0x10
        with pytest.raises(CmzipError, match="index"):
            read(bytes(damaged))
    for cut in (1, 6, 13):                        # cut off: bytes with the index magic remain
        with pytest.raises(CmzipError, match="index"):
            read(indexed[:-cut])


def lies(streams):
    """Index frames with valid checksums whose sizes do not match the streams before them."""
    sizes = sizes_of(streams)
    original_off = [(sizes[0][0] + 1, sizes[0][1])] + sizes[1:]
    shifted = [(sizes[0][0], sizes[0][1] + 1), (sizes[1][0], sizes[1][1] - 1)] + sizes[2:]
    swapped = [sizes[1], sizes[0]] + sizes[2:]
    too_many = [(5, 30)] + sizes
    return {"original length": original_off, "offsets": shifted, "order": swapped,
            "more streams than there are": too_many}


@pytest.mark.parametrize("lie", ["original length", "offsets", "order",
                                 "more streams than there are"])
@pytest.mark.parametrize("reader", list(readers()))
def test_an_index_that_lies_is_rejected(streams, lie, reader):
    blob = b"".join(stream for _, stream in streams) + index_frame(lies(streams)[lie])
    with pytest.raises(CmzipError, match="corrupt index"):
        readers()[reader](blob)


def test_unknown_flags_and_an_empty_index_are_refused(indexed, streams):
    together = b"".join(stream for _, stream in streams)
    with pytest.raises(CmzipError, match="unsupported index flags"):
        cmzip.decompress(together + index_frame(sizes_of(streams), flags=1))
    empty = INDEX_MAGIC + b"\x00\x00" + struct.pack("<I", 18)
    empty += struct.pack("<I", zlib.crc32(empty)) + INDEX_END_MAGIC
    with pytest.raises(CmzipError, match="describes no stream"):
        cmzip.decompress(together + empty)


# ---------------------------------------------------------------------------- command line

def test_info_shows_the_streams_and_the_index(tmp_path, indexed, streams):
    path = tmp_path / "data.cmz"
    path.write_bytes(indexed)
    result = CliRunner().invoke(cmzip.cli.cli, ["info", str(path)])
    assert result.exit_code == 0, result.output
    fields = {key.strip(): value.strip() for key, value in
              (row.strip().split("  ", 1) for row in result.stdout.splitlines()[1:])}
    assert fields["streams"] == "4"
    assert fields["index"] == "yes, at the end (1 frame)"
    path.write_bytes(streams[0][1])
    result = CliRunner().invoke(cmzip.cli.cli, ["info", str(path)])
    assert "index" in result.stdout and "none" in result.stdout


@pytest.mark.parametrize("threads", ["1", "2"])
def test_the_command_line_refuses_a_lying_index_and_writes_nothing(tmp_path, streams, threads):
    path = tmp_path / "data.cmz"
    path.write_bytes(b"".join(s for _, s in streams) + index_frame(lies(streams)["offsets"]))
    result = CliRunner().invoke(cmzip.cli.cli, ["decompress", "-T", threads, str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith("cmzip: error: ") and "corrupt index" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.cmz"]
