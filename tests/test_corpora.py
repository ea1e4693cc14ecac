"""The corpora manifest, finding a corpus, and verifying it (good, missing, altered, unknown)."""
import re
import shutil
import string

import pytest

from cmzip import corpora

EXPECTED_COUNTS = {"calgary": 18, "canterbury": 11, "artificial": 4}
CATEGORIES = {"text", "source", "markup", "binary", "image", "table", "executable", "random",
              "redundant", "tiny"}


def shared_corpus(name):
    """The real corpus directory, or skip: the corpora are not part of the repository."""
    try:
        return corpora.require_corpus(name)
    except corpora.CorpusError as error:
        pytest.skip(f"corpus {name} not available or not as in the manifest: {error}")


def copy_corpus(name, target_root):
    """A writable copy of a real corpus (the shared one is read-only) under target_root/name."""
    source = shared_corpus(name)
    target = target_root / name
    target.mkdir()
    for path in source.iterdir():
        shutil.copyfile(path, target / path.name)
    return target


def test_manifest_lists_the_standard_corpora():
    assert {name: len(corpora.manifest_files(name)) for name in corpora.corpus_names()} \
        == EXPECTED_COUNTS
    for name in corpora.corpus_names():
        entries = corpora.manifest_files(name)
        assert len({entry.name for entry in entries}) == len(entries)
        for entry in entries:
            assert re.fullmatch(r"[0-9a-f]{40}", entry.sha1), entry
            assert entry.size > 0 and entry.category in CATEGORIES and entry.description


def test_manifest_entry_matches_manifest_for_a_generated_file(tmp_path):
    # aaa.txt of the artificial corpus is 100000 'a's: its entry can be rebuilt without the corpus.
    (tmp_path / "aaa.txt").write_bytes(b"a" * 100000)
    expected = {e.name: e for e in corpora.manifest_files("artificial")}["aaa.txt"]
    assert corpora.manifest_entry(tmp_path / "aaa.txt", expected.category,
                                  expected.description) == expected


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_shared_corpus_verifies(name):
    directory = shared_corpus(name)
    report = corpora.verify_corpus(name, directory)
    assert report.ok and report.checked == EXPECTED_COUNTS[name]
    assert "match the manifest" in report.describe()
    paths = corpora.corpus_paths(name, directory)
    assert [p.name for p in paths] == [e.name for e in corpora.manifest_files(name)]


def test_partly_regenerated_artificial_corpus_reports_the_missing_file(tmp_path):
    """Runs without the shared corpora: three of the four artificial files are easy to rebuild."""
    directory = tmp_path / "artificial"
    directory.mkdir()
    (directory / "a.txt").write_bytes(b"a")
    (directory / "aaa.txt").write_bytes(b"a" * 100000)
    (directory / "alphabet.txt").write_bytes((string.ascii_lowercase.encode() * 4000)[:100000])
    report = corpora.verify_corpus("artificial", directory)
    assert not report.ok
    assert report.missing == ["random.txt"] and not report.size_differs and not report.sha1_differs
    assert report.problems() == ["random.txt: missing"]


def test_missing_file_is_reported(tmp_path):
    directory = copy_corpus("canterbury", tmp_path)
    (directory / "fields.c").unlink()
    report = corpora.verify_corpus("canterbury", directory)
    assert report.missing == ["fields.c"]
    assert not report.ok
    with pytest.raises(corpora.CorpusError, match=r"fields\.c: missing"):
        corpora.require_corpus("canterbury", directory)


def test_altered_files_are_reported(tmp_path):
    directory = copy_corpus("canterbury", tmp_path)
    changed = bytearray((directory / "grammar.lsp").read_bytes())
    changed[100] ^= 1  # same size, different content
    (directory / "grammar.lsp").write_bytes(bytes(changed))
    with open(directory / "xargs.1", "ab") as f:
        f.write(b"\n")  # one byte longer
    report = corpora.verify_corpus("canterbury", directory)
    assert [name for name, _, _ in report.sha1_differs] == ["grammar.lsp"]
    assert report.size_differs == [("xargs.1", 4227, 4228)]
    description = report.describe()
    assert "2 of 11 files differ" in description
    assert "grammar.lsp: SHA-1" in description and "xargs.1: size 4228 bytes" in description


def test_unknown_corpus_name():
    with pytest.raises(corpora.CorpusError, match=r"unknown corpus 'enwik9'.*calgary"):
        corpora.verify_corpus("enwik9")


def test_explicit_directory_must_exist(tmp_path):
    with pytest.raises(corpora.CorpusError, match="is not a directory"):
        corpora.find_corpus("calgary", tmp_path / "nowhere")


def test_environment_variable_is_searched_first(tmp_path, monkeypatch):
    (tmp_path / "calgary").mkdir()
    monkeypatch.setenv(corpora.CORPORA_ENV, str(tmp_path))
    assert corpora.find_corpus("calgary") == tmp_path / "calgary"


def test_not_found_lists_the_places_searched(tmp_path, monkeypatch):
    monkeypatch.delenv(corpora.CORPORA_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(corpora, "REPO_ROOT", tmp_path / "repo")
    with pytest.raises(corpora.CorpusError) as caught:
        corpora.find_corpus("calgary")
    message = str(caught.value)
    assert "not found" in message and corpora.CORPORA_ENV in message
    assert str(tmp_path / "corpora" / "calgary") in message
    assert str(tmp_path / "shared" / "corpora" / "calgary") in message
