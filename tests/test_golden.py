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

PINNED_VERSION = 6
PINNED = {
    1: "db29fe77896771bf62cac0e7bec2900e92b6cc708e55e19ff2c54f566c2275b6",
    2: "e6685280fb8bcd6d44f348235b7e408a7fcd11b9f4090858cfb09bcd8cfc1b11",
    3: "f48f38e9bc10801d0fd65289f0ea983174250d2aeec0fc35921784b020f1eb7b",
    4: "feffb4621517cc5efe6a3e0be1384ab40305c616a9df9416513c16674e89bbc4",
    5: "177e57e46a649b4de9058ad515da15cd9ffd81498d51fc94550c0bb12744531e",
    6: "e4cdfe73ca0e8ee9581dc9458d87b10208b0c923c61c83023e42f6e715f7d6c8",
    7: "4dcb2daab89928dcdb9d5c8daf3db2c9882caa5d9b936e24e9072c3fe624ab46",
    8: "ec11ecd3c7efdb4b8869df61c9a23190f8e05c52fa5e0f7c8d9517a56cb070e9",
    9: "fb4eb0da89a5ab3c7898e42fad271ce8aff5fbced2860aecdffd1e0615fc9306",
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
