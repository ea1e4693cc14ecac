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

PINNED_VERSION = 13
PINNED = {
    1: "cbc76a8fa25fdcc791d7cc54ebe573ede7765868dc3130e13c5a1fbb43915463",
    2: "12c335369f0b16bfc890591629c63bd772d14d82778b9badaadb03a8951b7367",
    3: "73f473459a16169ea10ba69687522f7612de21504b49c089e7ada5500de3e94e",
    4: "2334e538580dd3935ab06ac3af03772a7580ee22fa82a0cc9a3f4658ca8cb2ab",
    5: "d75cc7a0ca6bcb3c7fe8cbdd0332f5fccd117eefead70d2ca3e65b72f20e6ef0",
    6: "9a7ec8d7d91e11bd0bae862e5558e42569cb9a4feefea8c89ef8383e8fababe8",
    7: "263d5ec1d24c50922c7122374561aa1e64e36ca80b907a22cf319846b7da9ca7",
    8: "a8888ce811e89f906ab3dc5d992654ca7f065ea67de51ba8e26d502f4cb853dc",
    9: "9ae7aaefaaebdebcbcb7f82699390f9c061615c1c2a1506007149ec41019a227",
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
