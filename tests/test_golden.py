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

PINNED_VERSION = 11
PINNED = {
    1: "e1178ae22f15074a849c42871ee72a063df08faa5e1e4185a79eeef28a77b71e",
    2: "44551d98e1a21580e49f880e3a17593d2e271b8ecfe0451117c7b1a7e903241a",
    3: "61c05a87f94b0c1919d6eb214e3161d7cbd032c1d2e438e5aa623b0077483c81",
    4: "97623962beb252c1efa514a5bdc8934914afc78d0cbc5a54688da4e491b4ddca",
    5: "0e20b93e24dd793e3f9f0ab15b57d3527670dcf03aa0f8ac9a39db7a6fe95f3b",
    6: "38377a1c84276a653acbdf26f991837fc3ca96a8923163b8b5f5b1f9756b2565",
    7: "b8ed5a177647205efa6b3630b2792ada9eb19a136c3b46a7d1a9c87457498b7a",
    8: "3b2c3a2a38b6e1e1242c2c5ef15357990246ae05d44a9677ece363ee3775053e",
    9: "5ff121f6ce2d8cc4dc9cf79f519fd9aea7b99f60e20d0fdba5e6216be48c6b7d",
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
