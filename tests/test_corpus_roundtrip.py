"""Every file of the standard corpora round-trips at level 1 and at the default level."""
import pytest

import cmzip
from cmzip.corpora import CorpusError, corpus_paths, find_corpus
from cmzip.levels import DEFAULT_LEVEL

CORPORA = ("calgary", "canterbury", "artificial")


def _corpus_files():
    params = []
    for name in CORPORA:
        try:
            directory = find_corpus(name)
        except CorpusError as exc:
            params.append(pytest.param(None, id=f"{name}-absent",
                                       marks=pytest.mark.skip(reason=str(exc))))
            continue
        for path in corpus_paths(name, directory):
            params.append(pytest.param(path, id=f"{name}/{path.name}"))
    return params


@pytest.mark.slow
@pytest.mark.parametrize("level", [1, DEFAULT_LEVEL])
@pytest.mark.parametrize("path", _corpus_files())
def test_corpus_file_roundtrips(path, level):
    data = path.read_bytes()
    packed = cmzip.compress(data, level=level)
    assert cmzip.decompress(packed) == data
