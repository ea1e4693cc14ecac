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

PINNED_VERSION = 15
PINNED = {
    1: "ddf3b416403a3ec363a49258854f16868e8616ccff9720b7c33b8c9e6704b408",
    2: "6e1fe5c1a1d631484166d9e5ef5965d05d6ec017589d7dcb931d081bed27de87",
    3: "4d753d0ac9d00fac3f7456eb472d92ec28683a526820eecd0f1d90c825ea19bc",
    4: "008bc4ad17e85a852c544f5ac132d0ba965faec93c55d57b1ea5c7453e32f638",
    5: "b6b583e340338ff251b419ec5e577cb168aa2587a136b1516e85750ca9fdb763",
    6: "32806b708f8dda6ab01433d7e45b5ca05586a6b657e21c6d52e200929b96af7d",
    7: "b8e100b66c9d040a57cdea2500049e3b902c6d6a79ec51dbbbbfecd974fcca0f",
    8: "8cc5e6366773a0a89bdd58a1f84420bd1a130cea4c6175f23a129f6393d086e4",
    9: "d0a577d62e865aeb0756a65be63b7e7ea37bb6fc0be1acc8c0032c99e1d44624",
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
