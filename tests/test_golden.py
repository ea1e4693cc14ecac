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

PINNED_VERSION = 8
PINNED = {
    1: "34db120cce6bf93a6809943c504afb252994626e8cae2767a510b9c174874b2a",
    2: "27b486b034f2aafe8c59a76f83c7845d719464c446ee47aa9b347fa17528d94d",
    3: "fff20128cfaffec4992230faa07c4483ea4b374809b03d682a2bfe416f826ca4",
    4: "febf4c48ed57a9349d73045e45989f922dfd884760a9dff9205eaef3dd8d7ac6",
    5: "70788feff271f345709a25d89523f38348121b026d7f202c2434b5df4044cd09",
    6: "3ed2b83ea4fc0f4fe0bb4e4e4cd17d4900639f6447e89c29830ae08d3be355d1",
    7: "5bc0badb7ebd2e61a38a15055cf8b48ff33c0d7d4f4baba4c0f8261e473a4ed1",
    8: "3d935a133cb5b80ccc0ad98b8a38a0f3763d5512e892a12effcd8c860b3d6001",
    9: "52ba8ee2a14bb91443a7463d2bc4121e31d4ba1d1ac72e17999b0d8c942690eb",
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
