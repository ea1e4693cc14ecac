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
    3: "5a96e2380dbb4c18f8b389469211cef0b17c0c06d6bd8d2530f1140150d7d087",
    4: "28f817c9da2c6b8e891dad7aeb5cf48671907a8c06681b81ddcf09f29fb87287",
    5: "b3ae39804391f9bd4d1f071e7c7a6b30c6dcfc1d71ac3866b881123b6cddd3d1",
    6: "9c3096cef617fddb8c63a6b12ace5ff4836bcc2d7c8f39ca0cab2a4a0b49f49c",
    7: "b5d885acd9adc205432a7b6cfd532f29e86cb7ef75971fa1866c3128f4ae8d80",
    8: "82f17da09c9ab79eb23006528d3add8cf594524ec7526e303bab0c947a798761",
    9: "41a8b48bc765312202700988631dadea74b8baf9f3153a66cf7054a302ad4000",
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
