"""Shared test inputs. The codec is slow (it learns as it codes), so the inputs are small."""
import random

import pytest

_WORDS = (b"the of and to in a is that for it as was with be by on not he this are or his "
          b"from at which but have an they you were her she there been one all we their "
          b"compress context mixing model predict bit byte lane block stream").split()


@pytest.fixture(scope="session")
def sample():
    """About 1.6 KB: text-like words, then a run of random bytes, then repeated text."""
    rng = random.Random(20240611)
    text = b" ".join(rng.choice(_WORDS) for _ in range(180)) + b".\n"
    noise = bytes(rng.randrange(256) for _ in range(200))
    return text + noise + text[:400]


@pytest.fixture(scope="session")
def tiny():
    """About 30 bytes, for tests that decode many damaged copies."""
    return b"tiny cmzip input \x00\x01\xfe\xff tiny\n"
