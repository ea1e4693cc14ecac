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

PINNED_VERSION = 14
PINNED = {
    1: "50346a0386fa21af2d1223ea7997c1f6abb9acc915f7aa26afaf9895721e5dac",
    2: "4207368d62ac24f2229d39a5c88163b042e07e1a49132560a2dbb070064df0a0",
    3: "e6797caf721055ca805160325304d25b67194f932403c2c81f43a404febbf9ff",
    4: "9d6712be986f2808474f1f894f87299aba5e202243d59d5b5c9f6e263d670862",
    5: "fa0fbc9ee4136983aed080437db0582ec341fecbe45be10f6d8ceb90ca9388f5",
    6: "8d8df4be04a82c5be0c0e96e60a9f22c1b20ea0ca3b84a76d77ec6b819138936",
    7: "6a0d8d2e0741f9d51a28536887ff51ccc3b2f34088eabbcdbbc87306a8739d13",
    8: "9351828f86f08f7450b3e3f5c8b47fdf0fc7995a6be49b7acd29ce652e3c98c3",
    9: "141a2baf4122816813853561b10dea90ea83ef4daf1e70b6c5416cd0d88f61ce",
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
