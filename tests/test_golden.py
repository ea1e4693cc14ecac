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

PINNED_VERSION = 7
PINNED = {
    1: "acaa5a8c6268d3553679d335bf3febf3a007bd99dbb55cf701ed245836e5f747",
    2: "d0e24156583c9a989a621a9fc4be63621ebfc9f42a5dcaae9fbc14a28cfadcfe",
    3: "b0e62cca6c277e8ee46a06f34dc648e10dfb5931ed4c5ca5ef0ab79f244c261a",
    4: "1aa9ab21bcfc0895b02e47264a77bebb954e7c81ce16fd54db3b034f587d610b",
    5: "c49c4961c8e8f167ec4526149a95db51c4a9b12327a0a5abce709ae5a444971f",
    6: "4f092966c88e1724db490c84d291392d04070555aef8348ee86ac2636149cc7c",
    7: "0085fe7d1028095ed20b35ae00d670fb6906221851f71f2b16295dcaead10d08",
    8: "c55887d1e1916379d7c2f4358427371296cc89371deaefff52d4c4aaa7c23ef5",
    9: "4baf22a91fd4375a95444e86245c077e2932464343428e3188fb4da15bf8ae79",
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
