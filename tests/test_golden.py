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

PINNED_VERSION = 18
PINNED = {
    1: "09e11d36c0677cefb50217d31bc164a4dc547f7f35bb8eb453570cb1dceb9cb9",
    2: "7089243ad1b708cfe676cb927f1887c5ed70611bc89c5bb8dc64aad2cd55ad69",
    3: "aebfa49ef4b2d1b1b66a0d84fc114249f014c5d908d4508d0b2fba8a45939daa",
    4: "14efcce9205fdddd90d3a95a5bf1fc0f78f7ffc801cd7ad1fdcbb39335c24d05",
    5: "cd472c96e5fe81c6585d0e09512678676d9bd23ce4fa155e8f8ae6d173b6f6c8",
    6: "1a11f8f1c1497e3b2845f12a394f36e85bb0207b9104e73e250176c12838e039",
    7: "d7385f74487d96a3f800b92f0221d7e44206e3fde539d7198b931e5f1b1d4090",
    8: "361dbef6f8a149af5d87cfd4b8f5da212ba600d59c79b7a07f0b4d1d696d6be7",
    9: "2822c86c002a15922c541e847cc8f5d73fe6a828241386327c4d6f444ab2093d",
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
