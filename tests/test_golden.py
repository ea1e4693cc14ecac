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

PINNED_VERSION = 4
PINNED = {
    1: "5f773cdcb2a078530942c5f4a738185f439250adec3122ea1f25433f4656e6cf",
    2: "99ad77a1307e021aaf15d8552b38d69d20571176435bc40853a6c0a11f14eb2f",
    3: "19b3d49edc33b9e101036fadea84f83716906dbf3c0eb89cd07df5ce3590498e",
    4: "23d476e3328b1c33afd386b30c49855c565071cdf0cdc3ce556ebfa5720ceae8",
    5: "658b85951ce0c32cf7baedd1037d88c76dee8c3c9a78de8f32d9db8ea15bd8b7",
    6: "0f1d055980d1a4919845ea122c5dbb1451e7636c4ae3767a95dd9a14c11466f3",
    7: "d268ad190507a538dfcc39468eef0d64f6d16a53227cda44a1c1be951a53d601",
    8: "84cc46fa78834149241b1f3efd41ad7fb46aea6836fbb330051e4ccfb72d7bea",
    9: "4acf7983077cebb6f33990a64e6d78dfd74de07a1483e78e04b3350ef3a75654",
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
