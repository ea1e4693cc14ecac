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
    4: "18d829616643635e66e2fa456092f7b763e367aa62c3c1500346ef0ab7568399",
    5: "f07a6b92ada66a7d5dc7ce19a1e27cbcae8442569dedd91f3e4b9d28df51f6a1",
    6: "17cf672eb78bbdf6d5a2fb44b4df2327dd085604e6e6b6dcc15a1ee757bbfe8b",
    7: "ed67fd46b99ccdf12d808ca1522ac5589d3229ca063f2a3c8ecd3c3b97b111c6",
    8: "40dbbed98a14ae79d65a24e7d397115be7e1070e80f25de1ea64feee2c229826",
    9: "10d28f6de8adffc35f82f4b003305517999ddaaba4e55718ff6aa67913cb9148",
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
