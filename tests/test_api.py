"""The lzma-shaped API: cmzip.compress, cmzip.decompress, levels, the one exception type."""
import pytest

import cmzip
import cmzip.errors


@pytest.mark.parametrize("data", [b"", b"\x00", b"ab", bytes(range(256))],
                         ids=["empty", "1 byte", "2 bytes", "all 256 values"])
def test_round_trip_small_inputs(data):
    compressed = cmzip.compress(data)
    assert type(compressed) is bytes
    restored = cmzip.decompress(compressed)
    assert type(restored) is bytes
    assert restored == data


@pytest.mark.parametrize("level", [cmzip.MIN_LEVEL, cmzip.MAX_LEVEL])
def test_round_trip_at_the_extreme_levels(tiny, level):
    compressed = cmzip.compress(tiny, level)
    assert compressed[5] == level   # the level byte of the stream header
    assert cmzip.decompress(compressed) == tiny


def test_redundant_input_round_trips_smaller_than_one_copy(sample):
    data = sample * 4
    compressed = cmzip.compress(data)
    assert len(compressed) < len(sample)
    assert cmzip.decompress(compressed) == data


def test_compression_is_deterministic(tiny):
    assert cmzip.compress(tiny, level=2) == cmzip.compress(tiny, level=2)


def test_accepts_any_bytes_like_object(tiny):
    expected = cmzip.compress(tiny)
    assert cmzip.compress(bytearray(tiny)) == expected
    assert cmzip.compress(memoryview(tiny)) == expected
    assert cmzip.decompress(bytearray(expected)) == tiny


@pytest.mark.parametrize("level", [0, 10, -1, "5", 5.0, True, None])
def test_invalid_levels_raise_cmzip_error(level):
    with pytest.raises(cmzip.CmzipError, match="level"):
        cmzip.compress(b"data", level)


def test_cmzip_error_is_the_one_value_error():
    assert cmzip.CmzipError is cmzip.errors.CmzipError
    assert issubclass(cmzip.CmzipError, ValueError)


@pytest.mark.parametrize("data", [b"", b"\x89CM", b"not compressed at all", b"\x89CMZ" + bytes(40)])
def test_decompress_rejects_what_is_not_a_cmz_stream(data):
    with pytest.raises(cmzip.CmzipError):
        cmzip.decompress(data)


def test_str_is_not_bytes():
    with pytest.raises(TypeError):
        cmzip.compress("text")
    with pytest.raises(TypeError):
        cmzip.decompress("text")


def test_public_names():
    assert isinstance(cmzip.__version__, str) and cmzip.__version__
    assert cmzip.MIN_LEVEL <= cmzip.DEFAULT_LEVEL <= cmzip.MAX_LEVEL
    for name in cmzip.__all__:
        assert hasattr(cmzip, name), name
