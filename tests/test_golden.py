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

PINNED_VERSION = 12
PINNED = {
    1: "c3dd7b96d2480277d0d20fb9b725d22ba9821a0aac6923d802a37bf8a2f5b73f",
    2: "9f170d7310a4eac85fb2a5ef05fc8ca1847d219fcbefe02934252f42d858f7ec",
    3: "4c7d3c5bd6f8c1d347a5f3eb94c3c00e163b8aa9bc9e536874cdeac844cc14e0",
    4: "97585a7022f5b7db2d76dc8315e0305171de5bd2673597c9ed4ace38cab21c80",
    5: "e5e60692c5cc1c2e21ffa5aef7d563144a6a9215c443fa0abcf3d8b9f27e3c62",
    6: "03ce6b67281e431a1796e96b7cd803d3610c3c93d0f6102d421a43889e1b7c6b",
    7: "98082032514241db35b9b96d46ed04301ef315cd3a41b64827d95bffbcd5dffa",
    8: "0863a9b7d5ab5a5ab8545f4a10b3ce573ebbb7342d827eaaf6b822d3e602079b",
    9: "bfd39cd327fca1b4dfdf2a403160b05a1d612e2267bae8d141d56d9a40c297e3",
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
