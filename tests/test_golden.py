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

PINNED_VERSION = 10
PINNED = {
    1: "ac24913899c7db5702834d92bf3deb93024d1f4928ba53f1b3191e2ac0c0166a",
    2: "e6e38749c543d7af99efd209a6197a8e53f25f99b3db0c888980e083de1be1d3",
    3: "5615489a408a6899851aef919e2ef0c526ae572b88914eba598a47081b1570df",
    4: "fb90d5e067a95124db93e1940606ddf16f874d6284398071f373ab65c9a3068a",
    5: "506a0d0fe430156be82442b6839f7175cb1e1a95660a838136c9e32b06766be3",
    6: "a44a6cbe82ad7d2c846c240019c74f430bf4fcf66270eba7ce6291a3d7680660",
    7: "294cfa0c618c8936314f8e02ebfdcfbdf596ee833a75e72bf8c3ad4cb849bd2c",
    8: "442a7a37dfca921f25e9dfc433bc0a38edab1dade5e54fd662446898ac36a236",
    9: "dce3d40eccc8aa6f0521b1be72608497d06cd33933ecacb1da0a1197b8d668f5",
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
