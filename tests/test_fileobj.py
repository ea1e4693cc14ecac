"""cmzip.open and CmzipFile: file objects that read and write .cmz streams, like lzma's."""
import io
import pathlib

import pytest

import cmzip
from cmzip import CmzipError, CmzipFile
from unseekable import Pipe

SMALL_BLOCK = 1 << 16


@pytest.fixture(scope="module")
def two_blocks():
    """Data, and its .cmz stream at level 1 in 2**16-byte blocks (two of them), written by
    one write() bigger than a block."""
    data = b"".join(b"line %05d of a file that crosses a block boundary\n" % i
                    for i in range(1400))
    assert len(data) > SMALL_BLOCK
    out = io.BytesIO()
    with CmzipFile(out, "wb", level=1, block_size=SMALL_BLOCK) as f:
        assert f.write(data) == len(data)
    return data, out.getvalue()


@pytest.fixture(scope="module")
def lines():
    """A few hundred bytes of lines, and their .cmz stream."""
    data = b"".join(b"line %d\n" % i for i in range(40))
    return data, cmzip.compress(data, level=1)


# ---------------------------------------------------------------------------- writing

def test_one_byte_writes_give_the_same_stream_as_one_big_write(two_blocks):
    data, expected = two_blocks
    out = io.BytesIO()
    with CmzipFile(out, "wb", level=1, block_size=SMALL_BLOCK) as f:
        for byte in data:
            assert f.write(bytes([byte])) == 1
    assert out.getvalue() == expected


def test_writing_matches_the_stream_compressor(lines):
    data, expected = lines
    out = io.BytesIO()
    with CmzipFile(out, "wb", level=1) as f:
        f.write(data[:100])
        f.write(data[100:])
    assert out.getvalue() == expected


def test_write_accepts_bytes_like_objects(tiny):
    out = io.BytesIO()
    with CmzipFile(out, "wb") as f:
        f.write(bytearray(tiny[:5]))
        f.write(memoryview(tiny[5:]))
    assert cmzip.decompress(out.getvalue()) == tiny


def test_empty_file(tmp_path):
    path = tmp_path / "empty.cmz"
    with cmzip.open(path, "wb"):
        pass
    assert cmzip.decompress(path.read_bytes()) == b""
    with cmzip.open(path) as f:
        assert f.read() == b""


@pytest.mark.parametrize("path_type", [str, pathlib.Path, lambda p: str(p).encode()])
def test_paths_of_every_kind(tmp_path, tiny, path_type):
    path = path_type(tmp_path / "f.cmz")
    with cmzip.open(path, "wb", level=2) as f:
        f.write(tiny)
    assert (tmp_path / "f.cmz").read_bytes()[5] == 2
    with cmzip.open(path, "rb") as f:
        assert f.read() == tiny


def test_exclusive_mode_refuses_an_existing_file(tmp_path):
    path = tmp_path / "f.cmz"
    with cmzip.open(path, "x"):
        pass
    with pytest.raises(FileExistsError):
        cmzip.open(path, "xb")


def test_a_bad_level_leaves_an_existing_file_alone(tmp_path):
    path = tmp_path / "precious"
    path.write_bytes(b"precious data")
    with pytest.raises(CmzipError, match="level"):
        CmzipFile(path, "wb", level=10)
    assert path.read_bytes() == b"precious data"


# ---------------------------------------------------------------------------- reading

def test_read_in_pieces_across_blocks(two_blocks):
    data, blob = two_blocks
    with CmzipFile(io.BytesIO(blob)) as f:
        pieces = iter(lambda: f.read(777), b"")
        assert b"".join(pieces) == data


def test_read_all_read1_readinto_and_peek(lines):
    data, blob = lines
    with CmzipFile(io.BytesIO(blob)) as f:
        assert f.peek(1)[:1] == data[:1]
        first = f.read1(100)
        assert 0 < len(first) <= 100 and data.startswith(first)
        buffer = bytearray(50)
        assert f.readinto(buffer) == 50
        assert first + buffer == data[:len(first) + 50]
        assert f.read() == data[len(first) + 50:]
        assert f.read() == b"" and f.read(10) == b""


def test_readline_and_iteration(lines):
    data, blob = lines
    expected = data.splitlines(keepends=True)
    with CmzipFile(io.BytesIO(blob)) as f:
        assert f.readline() == expected[0]
        assert f.readline(4) == expected[1][:4]
        assert f.readline() == expected[1][4:]
        assert list(f) == expected[2:]


def test_text_mode_round_trip(tmp_path):
    path = tmp_path / "text.cmz"
    lines = ["première ligne\n", "zweite Zeile – mit Gedankenstrich\n", "третья\n"]
    with cmzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(lines)
    with cmzip.open(path, "rt", encoding="utf-8") as f:
        assert f.readlines() == lines
    with cmzip.open(path, "rb") as f:
        assert f.read() == "".join(lines).encode("utf-8")


def test_text_mode_newline_translation(tmp_path):
    path = tmp_path / "crlf.cmz"
    with cmzip.open(path, "wt", encoding="ascii", newline="\r\n") as f:
        f.write("a\nb\n")
    assert cmzip.decompress(path.read_bytes()) == b"a\r\nb\r\n"
    with cmzip.open(path, "rt", encoding="ascii") as f:
        assert f.read() == "a\nb\n"


def test_damage_keeps_raising(tiny):
    blob = bytearray(cmzip.compress(tiny))
    blob[-1] ^= 1   # the trailer's CRC
    with CmzipFile(io.BytesIO(bytes(blob))) as f:
        with pytest.raises(CmzipError):
            f.read()
        with pytest.raises(CmzipError):   # not a silent end of file
            f.read()


# ---------------------------------------------------------------------------- the file object

def test_file_objects_given_stay_open(tiny):
    raw = io.BytesIO()
    with cmzip.open(raw, "wb") as f:
        f.write(tiny)
    assert not raw.closed
    raw.seek(0)
    with cmzip.open(raw, "rb") as f:
        assert f.read() == tiny
    assert not raw.closed


def test_files_opened_by_path_are_closed(tmp_path):
    f = cmzip.open(tmp_path / "f.cmz", "wb")
    underlying = f._fp
    f.close()
    assert underlying.closed and f.closed
    f.close()   # closing twice is fine


def test_modes_and_capabilities(tmp_path, tiny):
    path = tmp_path / "f.cmz"
    with cmzip.open(path, "w") as f:
        assert (f.readable(), f.writable(), f.seekable()) == (False, True, False)
        with pytest.raises(io.UnsupportedOperation):
            f.read()
        f.write(tiny)
    with cmzip.open(path, "r") as f:
        assert (f.readable(), f.writable(), f.seekable()) == (True, False, True)
        with pytest.raises(io.UnsupportedOperation):
            f.write(b"x")
    for capability in (f.readable, f.writable, f.seekable):
        with pytest.raises(ValueError, match="closed"):
            capability()


def test_closed_files_refuse_io(tmp_path, tiny):
    path = tmp_path / "f.cmz"
    with cmzip.open(path, "wb") as writer:
        writer.write(tiny)
    with pytest.raises(ValueError, match="closed"):
        writer.write(b"more")
    with cmzip.open(path) as reader:
        pass
    for operation in (reader.read, reader.readline, reader.readable, lambda: next(iter(reader))):
        with pytest.raises(ValueError, match="closed"):
            operation()


@pytest.mark.parametrize("mode", ["a+", "ab+", "r+", "rw", "wbt", "U", "", "abt"])
def test_unsupported_modes(tmp_path, mode):
    with pytest.raises(ValueError, match="mode"):
        cmzip.open(tmp_path / "f.cmz", mode)


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="writing only"):
        CmzipFile(io.BytesIO(), "rb", level=3)
    with pytest.raises(ValueError, match="text modes"):
        cmzip.open(tmp_path / "f.cmz", "wb", encoding="utf-8")
    with pytest.raises(TypeError):
        CmzipFile(42, "rb")


# ---------------------------------------------------------------------------- as lzma.LZMAFile

def operations(f):
    """A fixed sequence of reads, seeks and tells over a file of 70000 decoded bytes or more;
    the list of what each returned."""
    done = [f.tell(), f.read(10), f.seek(500), f.read(5), f.tell(),
            f.seek(-200, io.SEEK_CUR), f.read(3),            # backward, relative
            f.seek(66000), f.read(20),                       # forward, across a block boundary
            f.seek(-7, io.SEEK_END), f.read(), f.tell(), f.read(),
            f.seek(-10), f.tell(), f.read(4),                # before the start is the start
            f.seek(10**9), f.read(1), f.tell(),              # past the end is the end
            f.seek(3), f.readline(), f.seek(0), len(f.read())]
    with pytest.raises(ValueError):
        f.seek(0, 3)
    return done


def test_seek_and_tell_do_what_lzma_does(two_blocks):
    import lzma
    data, blob = two_blocks
    with lzma.LZMAFile(io.BytesIO(lzma.compress(data))) as reference:
        expected = operations(reference)
    with CmzipFile(io.BytesIO(blob)) as f:
        assert f.seekable()
        assert operations(f) == expected
    with cmzip.open(io.BytesIO(blob), "rt", encoding="ascii") as text:   # text mode seeks too
        text.read(30)
        where = text.tell()
        line = text.readline()
        text.seek(where)
        assert text.readline() == line == data[30:].split(b"\n")[0].decode() + "\n"


def test_seeking_needs_a_readable_seekable_file(two_blocks):
    data, blob = two_blocks
    with CmzipFile(Pipe(blob)) as f:
        assert not f.seekable()
        assert f.read(5) == data[:5] and f.tell() == 5
        with pytest.raises(io.UnsupportedOperation):
            f.seek(10)
    with CmzipFile(io.BytesIO(), "wb") as f:
        assert not f.seekable()
        with pytest.raises(io.UnsupportedOperation):
            f.seek(0)
    with pytest.raises(ValueError, match="closed"):
        f.tell()


def test_tell_when_writing_counts_the_bytes_taken(tiny):
    import array
    numbers = array.array("Q", [1, 2, 3, 4, 5])
    with CmzipFile(io.BytesIO(), "wb") as f:
        assert f.tell() == 0
        assert f.write(numbers) == len(numbers) * numbers.itemsize
        f.write(tiny)
        assert f.tell() == len(numbers) * numbers.itemsize + len(tiny)


def test_reading_starts_where_the_file_object_is(lines):
    """A .cmz stream inside a bigger file (as in an archive): reading and seeking back stay
    within it."""
    data, blob = lines
    container = io.BytesIO(b"some header bytes" + blob)
    container.seek(17)
    with CmzipFile(container) as f:
        assert f.read(12) == data[:12]
        f.seek(2)
        assert f.read() == data[2:]


# ---------------------------------------------------------------------------- seeking by stream

BLOCK = SMALL_BLOCK
CHUNK = 2 * BLOCK


@pytest.fixture(scope="module")
def chunked():
    """Data of four chunks (three whole ones of two blocks each, and a bit), written as four
    streams at level 1."""
    from cmzip.samples import sample
    data = sample("text", 3 * CHUNK + 3000, seed=11)
    out = io.BytesIO()
    with CmzipFile(out, "wb", level=1, block_size=BLOCK, chunk_size=CHUNK) as f:
        f.write(data)
    return data, out.getvalue()


@pytest.fixture
def decoded_bytes(monkeypatch):
    """A list that gets the length of every block the codec decodes."""
    from cmzip.codec import Codec
    decoded = []
    original = Codec.decode_block

    def counting(self, payload, n):
        decoded.append(n)
        return original(self, payload, n)

    monkeypatch.setattr(Codec, "decode_block", counting)
    return decoded


def test_the_stream_table_is_found_without_decoding(chunked, decoded_bytes):
    from cmzip.container import INDEX_MAGIC, stream_table
    data, blob = chunked
    table = stream_table(io.BytesIO(blob))
    assert decoded_bytes == []                                   # nothing decoded
    assert [entry.raw_len for entry in table] == [CHUNK, CHUNK, CHUNK, 3000]
    assert [entry.raw_offset for entry in table] == [0, CHUNK, 2 * CHUNK, 3 * CHUNK]
    for entry in table:       # each entry is a whole stream, decoding to its part of the data
        stream = blob[entry.offset:entry.offset + entry.length]
        assert cmzip.decompress(stream) == data[entry.raw_offset:entry.raw_offset + entry.raw_len]
    end = table[-1].offset + table[-1].length
    assert sum(entry.length for entry in table) == end
    assert blob[end:].startswith(INDEX_MAGIC)                    # then the streams' index
    assert stream_table(io.BytesIO(blob + b"not a stream")) == table    # ignored, as by reading


def test_a_seek_decodes_at_most_the_stream_that_holds_the_target(chunked, decoded_bytes):
    data, blob = chunked
    with CmzipFile(io.BytesIO(blob)) as f:
        target = 2 * CHUNK + BLOCK + 100                         # the second block of stream 3
        assert f.seek(target) == target
        assert f.read(50) == data[target:target + 50]
        assert sum(decoded_bytes) == CHUNK                       # stream 3's two blocks only
        decoded_bytes.clear()
        assert f.seek(BLOCK // 2) == BLOCK // 2                  # backward, into stream 1
        assert f.read(50) == data[BLOCK // 2:BLOCK // 2 + 50]
        assert sum(decoded_bytes) == BLOCK
        decoded_bytes.clear()
        assert f.seek(-10, io.SEEK_END) == len(data) - 10        # the size from the headers
        assert f.read() == data[-10:]
        assert sum(decoded_bytes) == 3000
        decoded_bytes.clear()
        assert f.seek(CHUNK) == CHUNK and f.read(1) == data[CHUNK:CHUNK + 1]
        assert sum(decoded_bytes) == BLOCK                       # a stream's first block


def test_damaged_headers_make_seeking_decode_forward(chunked, decoded_bytes):
    """Without a trustworthy table, a seek decodes from the start, as lzma's does, and meets
    the damage where reading would."""
    data, blob = chunked
    from cmzip.container import stream_table
    last = stream_table(io.BytesIO(blob))[-1]
    damaged = bytearray(blob)
    damaged[last.offset + 8] ^= 0xFF                             # the last stream's header
    with CmzipFile(io.BytesIO(bytes(damaged))) as f:
        f.seek(CHUNK + 10)
        assert f.read(10) == data[CHUNK + 10:CHUNK + 20]
        assert sum(decoded_bytes) == CHUNK + BLOCK       # all of stream 1, stream 2's first block
        with pytest.raises(CmzipError, match="stream header"):
            f.seek(3 * CHUNK + 1)


def test_concatenated_streams_and_trailing_bytes_seek_like_one_file(tiny, lines):
    """Streams of different levels back to back, then bytes that are not a stream: read and
    seek as one file of the concatenated data, the trailing bytes ignored (as lzma)."""
    text, text_blob = lines
    blob = cmzip.compress(tiny, 2) + text_blob + cmzip.compress(b"") + b"\x00trailing"
    expected = tiny + text
    assert cmzip.decompress(blob) == expected
    with CmzipFile(io.BytesIO(blob)) as f:
        assert f.seek(len(tiny) + 5) == len(tiny) + 5
        assert f.read() == expected[len(tiny) + 5:]
        assert f.seek(0, io.SEEK_END) == len(expected)
        assert f.seek(3) == 3 and f.read(len(tiny)) == expected[3:3 + len(tiny)]


# ---------------------------------------------------------------------------- truncation

def test_truncated_files_raise_an_eof_error_that_is_a_cmzip_error(lines):
    data, blob = lines
    for cut in sorted({0, 1, 4, 15, 16, 17, 20, len(blob) // 2, len(blob) - 7, len(blob) - 1}):
        with CmzipFile(io.BytesIO(blob[:cut])) as f:
            with pytest.raises(EOFError) as raised:
                f.read()
        assert isinstance(raised.value, CmzipError), cut
        assert "ended before the end of the stream" in str(raised.value)
        with pytest.raises(cmzip.CmzipEOFError):
            cmzip.decompress(blob[:cut])
    with CmzipFile(io.BytesIO(blob[:-1])) as f:       # all the data is there, the trailer is not
        assert f.read(len(data)) == data
        with pytest.raises(EOFError):
            f.read(1)


def test_damage_is_not_an_eof_error(lines):
    data, blob = lines
    damaged = bytearray(blob)
    damaged[-1] ^= 1
    with pytest.raises(CmzipError) as raised:
        cmzip.decompress(bytes(damaged))
    assert not isinstance(raised.value, EOFError)


# ---------------------------------------------------------------------------- name, mode, fileno

def test_name_mode_and_fileno_of_a_path(tmp_path, tiny):
    path = tmp_path / "f.cmz"
    for mode, expected_mode in (("wb", "wb"), ("ab", "wb"), ("rb", "rb")):
        with CmzipFile(path, mode) as f:
            assert f.name == str(path) and f.mode == expected_mode
            assert isinstance(f.fileno(), int) and f.fileno() == f._fp.fileno()
            if f.writable():
                f.write(tiny)
        assert f.mode == expected_mode                    # still there after close
        with pytest.raises(ValueError):
            f.name
        with pytest.raises(ValueError):
            f.fileno()
    with CmzipFile(str(path).encode()) as f:
        assert f.name == str(path).encode()


def test_name_and_fileno_come_from_the_file_object(tmp_path, lines):
    data, blob = lines
    path = tmp_path / "f.cmz"
    path.write_bytes(blob)
    with builtins_open(path, "rb") as raw, CmzipFile(raw) as f:
        assert f.name == raw.name and f.fileno() == raw.fileno() and f.mode == "rb"
    with CmzipFile(io.BytesIO(blob)) as f:
        with pytest.raises(AttributeError):
            f.name
        with pytest.raises(io.UnsupportedOperation):
            f.fileno()


def builtins_open(*args, **kwargs):
    import builtins
    return builtins.open(*args, **kwargs)


# ---------------------------------------------------------------------------- append

def test_append_modes_add_a_stream(tmp_path, tiny):
    from cmzip.container import read_info
    path = tmp_path / "log.cmz"
    with cmzip.open(path, "a") as f:                      # creates the file
        f.write(tiny)
    with cmzip.open(path, "ab", level=2) as f:
        f.write(b"second")
    with cmzip.open(path, "at", encoding="utf-8") as f:
        f.write("dritte Zeile – drei\n")
    expected = tiny + b"second" + "dritte Zeile – drei\n".encode()
    assert cmzip.decompress(path.read_bytes()) == expected
    with cmzip.open(path) as f:
        assert f.read() == expected
    with builtins_open(path, "rb") as raw:
        assert read_info(raw).streams == 3
    raw = io.BytesIO(path.read_bytes())
    raw.seek(0, io.SEEK_END)
    with CmzipFile(raw, "a") as f:                        # a file object, as given
        f.write(b"!")
    assert cmzip.decompress(raw.getvalue()) == expected + b"!"


# ---------------------------------------------------------------------------- tarfile

def test_tarfile_over_cmzip_open(tmp_path, tiny):
    import tarfile
    members = {"a.txt": tiny, "dir/b.bin": bytes(range(256)) * 40, "empty": b""}
    archive = tmp_path / "x.tar.cmz"
    with cmzip.open(archive, "wb", level=1) as f, tarfile.open(fileobj=f, mode="w") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    with cmzip.open(archive) as f, tarfile.open(fileobj=f, mode="r:") as tar:   # seeks
        assert tar.getnames() == list(members)
        for name in reversed(list(members)):                                 # backward too
            assert tar.extractfile(name).read() == members[name]
    with cmzip.open(archive) as f, tarfile.open(fileobj=f, mode="r|") as tar:  # streams
        assert [(m.name, tar.extractfile(m).read()) for m in tar] == list(members.items())
