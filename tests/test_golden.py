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

PINNED_VERSION = 16
PINNED = {
    1: "fcd1d9b51b0d131c892c0de6549f2355f3726a71ff7e7a4700d5c2e79165fd9e",
    2: "dd19e069442405bdf52aa56cf15542267945bbba25da0426c180ea31b9630a3a",
    3: "c0c87ea2ea4c537ccdd16835f47c9f940c893f317c6801a6ad751d2ebcd76e5c",
    4: "f7ebe05c1769eebe8d6ea9b8713e740bfbe3e46db00f8b2f9abe84509ba4294b",
    5: "95128ea6584462765e03cfec2e402555029f6d29cf072fe45265071821313bec",
    6: "82ac818d5e75c084228d78764eef8fe9a98e6849141338f67a814f9887ea4165",
    7: "c78226b01071a09cb780afaf59edf7873f2b244a88d92d30ee83bbefdf5d5113",
    8: "9686af8bdea7c090c1aae1d531693766d008429b827a99a72edd25f1608d41a3",
    9: "cc2c6f8048d190f4e1d924c98e0c86f2d12b14adf2f81e82a8a952b463907100",
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
