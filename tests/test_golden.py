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

PINNED_VERSION = 17
PINNED = {
    1: "ea1e3109d9148773fb7da07defe5ac71b3eb7dccf1781861d59b729817a5a8bf",
    2: "4a20afce28781d1cb80017f7ca77d5065613f4bcff646e87d314a241460ca494",
    3: "7d354344f4c78009b36c870a88eac525e480942e83d527a5dc90fd3750883f1d",
    4: "f28bd07220d0fa81cbba177a42d4add4b6468745a84655ba1af40f97fb294272",
    5: "d4cabfb03db2d28bd37d73dd94eede99604da98c1a61818b6cb9c386b2ac42ad",
    6: "0fa717270ed0bc6fa6ee472196034667ecad2ce2c5f7236cf97a48c8acfa6327",
    7: "a75caa92b9d78c3fef36506bbe3d1cd93871a5a4dbece523727d0389de06ef47",
    8: "7ee871bb557943405d11fe2111bb342b7073148a13c03b01c4e972d43563e687",
    9: "30e3630ee8d84162f791c219f76c98cb8f3a423943cb41da92c589882841fdd4",
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
