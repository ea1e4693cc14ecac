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

PINNED_VERSION = 14
PINNED = {
    1: "50346a0386fa21af2d1223ea7997c1f6abb9acc915f7aa26afaf9895721e5dac",
    2: "4207368d62ac24f2229d39a5c88163b042e07e1a49132560a2dbb070064df0a0",
    3: "e6797caf721055ca805160325304d25b67194f932403c2c81f43a404febbf9ff",
    4: "9d6712be986f2808474f1f894f87299aba5e202243d59d5b5c9f6e263d670862",
    5: "e264e5b5183f5c966932e7c828d6a6278ef2bade1a34cdba55695eaec5fb563c",
    6: "5e657d7112455cefae683f1376efd643650333ba6ee1a26134b2a3b9e37504da",
    7: "f7a6f9ab488cbef9fa3564b43c8812bef72c99ff11f9189ab39bf7728660dc5d",
    8: "4bf29aa56b864c91f6f1e12aa335efef5f4217d47c50f156c60bdaf9dbf85ac1",
    9: "3cb53f781802e1131383e6038e07dfb58cd70c0bac754627fef0b206ebabbd4f",
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
