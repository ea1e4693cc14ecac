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

PINNED_VERSION = 19
PINNED = {
    1: "ba4a95fad097cbf3b74ffd581cb9a48388d03d817ec12daf42df0d04002f7999",
    2: "ace97a550bab5768e8ebe54b632c95706d4f09c2f6bc966ad300deae4b20a7e5",
    3: "37f87710ff004000b73e69a6b91f52ad5820311fce570b7dcb306808348f3a95",
    4: "4704464f07b02c8111daf2e9e3ca45fa340bb0407dade36c6c0c06e57d3f7db8",
    5: "5c602d5447dcbe6d28595759bcabc3d5e7a8badba82bc13303a339f8cde16b89",
    6: "ddb561ed04ed294754c0d10b8a8e0f4827a39d6220860c0b61b8522786392c6c",
    7: "f70e9611bbb3759570faea5e1f3e720c7e2b19905706dc17cadb6349d58c4c52",
    8: "bbee22c69bb082a032383f21c6dc71c250ae116089266883ba30eb6979dab4a5",
    9: "e1de06ecd3dc32f97fdb880f1485098ed3356abd1ff38c3add95eaa0ccf3c485",
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
