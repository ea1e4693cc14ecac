"""cmzip.open and CmzipFile: file objects that read and write .cmz streams, like lzma's."""
import io
import pathlib

import pytest

import cmzip
from cmzip import CmzipError, CmzipFile

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
        assert (f.readable(), f.writable(), f.seekable()) == (True, False, False)
        with pytest.raises(io.UnsupportedOperation):
            f.write(b"x")


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


@pytest.mark.parametrize("mode", ["a", "ab", "r+", "rw", "wbt", "U", ""])
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
