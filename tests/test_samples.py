"""Generated samples: deterministic everywhere, the asked size, and of sensibly different kinds."""
import hashlib
import zlib

import pytest

from cmzip.samples import SAMPLE_KINDS, WORDS, sample

# Pinned digests: a change here means the samples changed (on this or another platform), which
# silently changes every test that uses them. Update only on purpose.
PINNED_SHA1 = {
    ("text", 4096): "9534f560500efff86f913d4ab44ff0032061b6b0",
    ("binary", 4096): "715281ff3f7c166f4eb757a7bbcaad34d3b76b2e",
    ("redundant", 4096): "259190c3c67a2c05074667a29a39e6d81c2703a6",
    ("random", 4096): "745c4f703bdd0ec4d18ecec0eb78e51c7d167107",
}


@pytest.mark.parametrize("kind", sorted(SAMPLE_KINDS))
def test_same_bytes_every_time(kind):
    assert sample(kind, 5000) == sample(kind, 5000)


@pytest.mark.parametrize("kind_and_size", sorted(PINNED_SHA1))
def test_pinned_digests(kind_and_size):
    kind, size = kind_and_size
    assert hashlib.sha1(sample(kind, size)).hexdigest() == PINNED_SHA1[kind_and_size]


@pytest.mark.parametrize("kind", sorted(SAMPLE_KINDS))
@pytest.mark.parametrize("size", [0, 1, 15, 16, 255, 256, 1000, 12345])
def test_exact_size(kind, size):
    assert len(sample(kind, size)) == size


@pytest.mark.parametrize("kind", sorted(SAMPLE_KINDS))
def test_a_longer_sample_extends_a_shorter_one(kind):
    assert sample(kind, 20000)[:3000] == sample(kind, 3000)


@pytest.mark.parametrize("kind", ["text", "binary", "redundant", "bitmap", "random"])
def test_seeds_give_different_samples(kind):
    assert sample(kind, 2000, seed=1) != sample(kind, 2000, seed=2)


def test_all_bytes():
    assert sample("all_bytes", 256) == bytes(range(256))
    assert sample("all_bytes", 600)[256:512] == bytes(range(256))


def test_text_looks_like_text():
    text = sample("text", 20000).decode("ascii")
    lines = text.split("\n")
    assert max(len(line) for line in lines) <= 72 and "" in lines  # wrapped, with paragraphs
    assert any(mark in text for mark in ".?!,")
    words = text.split()[:-1]  # the last word may be cut off by the size
    bare = [w.strip(".,?!").lower() for w in words]
    vocabulary = {w.lower() for w in WORDS}
    assert sum(w in vocabulary for w in bare) == len(bare)
    # Zipf: the most frequent word is far more frequent than a typical one.
    counts = sorted((bare.count(w) for w in set(bare)), reverse=True)
    assert counts[0] > 10 * counts[len(counts) // 2]


def bpb_zlib(data):
    return 8 * len(zlib.compress(data, 9)) / len(data)


def test_kinds_compress_as_their_names_say():
    size = 50000
    ratios = {kind: bpb_zlib(sample(kind, size)) for kind in SAMPLE_KINDS}
    assert ratios["random"] > 7.9  # incompressible
    assert ratios["redundant"] < 0.2  # almost free
    assert 1.5 < ratios["text"] < 4.5
    assert ratios["binary"] < 6.5  # structured, so well below random
    assert ratios["bitmap"] < 1.5  # a page of shapes: mostly blank, rows like the row above
    assert ratios["redundant"] < ratios["text"] < ratios["random"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown sample kind"):
        sample("poetry", 10)
    with pytest.raises(ValueError, match="size"):
        sample("text", -1)
