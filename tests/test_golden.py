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

PINNED_VERSION = 5
PINNED = {
    1: "5d7d0f304b150a0a9ea70580274c85396cd6d3fd0864c1ba15dd12771f039534",
    2: "0eaba6a4437d41e6b4d385e5c1d0b7a1594da9c54146dd902d6cb3b3bcd8ee4a",
    3: "b2ae34801cf365adcac715add9f8048fc3d84fa698f434712fddab3b4ca2c7d1",
    4: "675b725e8c6c896f9a72c0604a6dfd6a239dff49576fdf66e24c971f0a7db7eb",
    5: "1781ba45d00294d8065c66e0732cb527e3032023f4952091f3643f1c3888bb03",
    6: "165aa6f570c47f53eb4de807089d1abbb1da30b9d8cfddb73513a15fe65615ad",
    7: "68068fd4d47cc3bcfe73eec97a98aef5dfbc17eaa942957df39acb2df22f1d26",
    8: "ff6a9e5357edb44f246f522b0736293d5f0abcaf3b73f5af41ffa3a96e9d3cc3",
    9: "b9ee90862eccdccc76d0b9cf8a2d06442b38703529f0b4238259c8fb167c3931",
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
