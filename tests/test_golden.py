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
    1: "bd7260989c121e7290eee8f717bc46d34c8690eaeb0f60f3b3032dc4c3c231bb",
    2: "54a8444e205ee8ba029eb389bfe04d1f5f15bc57cccc6d1737f5b28e7c8d5736",
    3: "86f3257ac1181f2541600dd3dfe557843c66c9871ff5dc93751e1855c302b226",
    4: "85cd60799dd608a8880f8bf1a0fd46ce22c34e975d89a1142b1aeaccc8ccdf24",
    5: "1de0db5915d4f2889ee6ff048614de7d803b1ec68757bfa5a2777b44589948d5",
    6: "3a24603f895e295b3a0956a45ca8957eae22fb6cc19a2c0a99421e7c5f585f33",
    7: "2c5d93bb76a403e4aafc231353d53fb59bef2bbb5294afc91e3102102cf00299",
    8: "8f91494d0c45a4b1ffe3276625df20d5bac023465e96bf193497195d8e48a700",
    9: "469357c99c5598f36685d355621644f3d8d96137cd816b23ac9ce75a44d4500e",
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
