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

PINNED_VERSION = 9
PINNED = {
    1: "194c06eec5e7a7fe0c25237b8382926636edf8fa45e8ab6128c26852bd65c0e7",
    2: "a11e6c2312c163f988776b17ba61f6a8c691e35da320599271b407932b9b58a3",
    3: "cb01ac5db081f078e75b2fa2b1ef77816c4be4a0113cb66b9c43774ce170a760",
    4: "2c9db9329d45584d66a68cb158fab856e76e2363a383ec5668c61d97da9d1288",
    5: "8b7e4b88b946627be4c38d0e80345304df04fbae0c0e4ba56a6a621ef35c78a8",
    6: "be5fa3dffa45c1ee376b0283f4bea07be5ca534b21f5bc87546b6f7182568e94",
    7: "8afde912b539c3f4661ea44732a0da4b232bb699402a616c82aa5abe1df095bd",
    8: "fe42df7bd239f7248758678eeac61079f921a561db4dcea28c41b79074ea739e",
    9: "5a1372c49456f6e5d473cdf4be1d5637eb93830e6c2a2564dcb928998e0b2645",
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
