"""Golden vectors: the coded bits of every level are pinned, so that a change of the bits without
a bumped levels.MODEL_VERSION fails here (a file written by one cmzip would not decode with the
other, yet both would claim the same model version); and files written by this model version,
stored in tests/golden/, still decode.  After a deliberate change of the bits: bump
MODEL_VERSION, run tests/golden/make_golden.py, and paste its hashes below."""
import hashlib
import struct
import zlib
from pathlib import Path

import pytest

import cmzip
from cmzip.levels import MAX_LEVEL, MIN_LEVEL, MODEL_VERSION

from golden.make_golden import golden_input

GOLDEN = Path(__file__).resolve().parent / "golden"

PINNED_VERSION = 16
PINNED = {
    1: "4d66c9058013485f4aee75c6400950f38592a70b419745e745a15e1ef36d65de",
    2: "1cc77156f7a9cce33227ab61e31c92b8050797c6bac8852a6dfe30ffe1ddfe21",
    3: "da2c704db421000e3353a533321290ee63552315764714ca44c4ae043d650ad9",
    4: "65fb25a1ceaf2251f1de9481e0717c02e0913f50f4b8aea046dd27b7f4ee7370",
    5: "e4ed22aede54b9664ca73e7350e8f702cdb71f9981433d1392138f97568483f9",
    6: "65d7fa8a934051b03c271a53b4ca6dd1e798a58cf37dac92b8abb7e50fe7e58a",
    7: "e22addf243b3bf71c63e0b3e59d8c448c930ab2309c6cac34c674948555d1dd0",
    8: "10fcca46f4806493f97ddf493631b58dcbb672a381bd61aa2e4b052950fd2a91",
    9: "ad10a6f2da0bc769e4e6eb24616a593f2b052453b6a4d98828153910ec35542d",
}


def test_the_pins_belong_to_this_model_version():
    assert MODEL_VERSION == PINNED_VERSION, (
        "MODEL_VERSION was bumped: regenerate the golden vectors (tests/golden/make_golden.py)")


@pytest.mark.parametrize("level", range(MIN_LEVEL, MAX_LEVEL + 1))
def test_the_coded_bits_of_every_level_are_pinned(level):
    packed = cmzip.compress(golden_input(), level)
    assert hashlib.sha256(packed).hexdigest() == PINNED[level], (
        f"level {level} codes different bits: bump levels.MODEL_VERSION and regenerate the "
        "golden vectors, or undo the change")


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.cmz")), ids=lambda p: p.name)
def test_stored_files_of_this_model_version_decode(path):
    assert cmzip.decompress(path.read_bytes()) == golden_input()


def test_a_file_of_another_model_version_is_refused_as_incompatible_not_corrupt():
    """The header's fingerprint covers the model version: rewrite a stored file's fingerprint as
    another model version would have written it (with a valid header CRC)."""
    import cmzip.levels as levels
    blob = bytearray(sorted(GOLDEN.glob("*level5.cmz"))[0].read_bytes())
    real = levels.MODEL_VERSION
    try:
        levels.MODEL_VERSION = real - 1
        older = levels.level_fingerprint(5)
    finally:
        levels.MODEL_VERSION = real
    struct.pack_into("<I", blob, 8, older)
    struct.pack_into("<I", blob, 12, zlib.crc32(bytes(blob[:12])))
    with pytest.raises(cmzip.CmzipError, match="incompatible") as caught:
        cmzip.decompress(bytes(blob))
    assert "corrupt" not in str(caught.value)
