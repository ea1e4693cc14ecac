"""The standard corpora: the manifest, finding a corpus directory, and verifying it.

The manifest (`cmzip/corpora_manifest.json`, shipped inside the package so that an installed
cmzip has it too) lists, per corpus, every file's name, size, SHA-1, category and a short
description, in the corpus's customary order. The corpus files themselves are not part of
cmzip; they are looked up on disk (see `candidate_dirs`) and checked against the manifest, so a
bits-per-byte figure is always reported on exactly the files everybody else measures.

    >>> report = verify_corpus("calgary")          # finds the directory, checks every file
    >>> report.ok, report.describe()
    >>> files = corpus_paths("calgary")            # verified paths, in manifest order
"""
import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

MANIFEST_RESOURCE = "corpora_manifest.json"
CORPORA_ENV = "CMZIP_CORPORA"

# The directory holding the `cmzip` package: the repository root in a source checkout.
REPO_ROOT = Path(__file__).resolve().parent.parent


class CorpusError(Exception):
    """A corpus is unknown, cannot be found, or does not match the manifest."""


@dataclass(frozen=True)
class ManifestEntry:
    name: str
    size: int
    sha1: str
    category: str
    description: str = ""


def fingerprint(path):
    """(size, SHA-1 hex digest) of a file: what the manifest records and verification compares."""
    digest = hashlib.sha1()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def manifest_entry(path, category, description=""):
    """The manifest entry for the file at `path` (used to generate the manifest)."""
    size, sha1 = fingerprint(path)
    return ManifestEntry(Path(path).name, size, sha1, category, description)


@lru_cache(maxsize=1)
def load_manifest():
    """{corpus name: {"description": str, "files": [ManifestEntry, ...]}} in manifest order."""
    text = resources.files("cmzip").joinpath(MANIFEST_RESOURCE).read_text(encoding="utf-8")
    raw = json.loads(text)
    return {
        name: {"description": corpus["description"],
               "files": [ManifestEntry(**entry) for entry in corpus["files"]]}
        for name, corpus in raw["corpora"].items()
    }


def corpus_names():
    return list(load_manifest())


def manifest_files(name):
    """The manifest entries of corpus `name`, in manifest order."""
    manifest = load_manifest()
    if name not in manifest:
        raise CorpusError(f"unknown corpus {name!r}; known corpora: {', '.join(manifest)}")
    return manifest[name]["files"]


def candidate_dirs(name):
    """Where corpus `name` is looked for, in this order.

    $CMZIP_CORPORA comes first because it is the user's explicit choice; then the working
    directory's corpora/ and ../shared/corpora/; then the same two relative to the repository
    root, so that tests and `cmzip bench` work from any working directory of a checkout.
    """
    places = []
    if os.environ.get(CORPORA_ENV):
        places.append(Path(os.environ[CORPORA_ENV]) / name)
    for base in (Path.cwd(), REPO_ROOT):
        places.append(base / "corpora" / name)
        places.append(base.parent / "shared" / "corpora" / name)
    unique = []
    for place in places:
        if place not in unique:
            unique.append(place)
    return unique


def find_corpus(name, directory=None):
    """The directory of corpus `name`: `directory` if given, else the first existing candidate.

    Raises CorpusError for an unknown name, a `directory` that is not one, or when no
    candidate exists (the message lists every place that was searched).
    """
    manifest_files(name)  # unknown names fail here, with the list of known ones
    if directory is not None:
        directory = Path(directory)
        if not directory.is_dir():
            raise CorpusError(f"corpus {name!r}: {directory} is not a directory")
        return directory
    places = candidate_dirs(name)
    for place in places:
        if place.is_dir():
            return place
    searched = "\n  ".join(str(p) for p in places)
    raise CorpusError(f"corpus {name!r} not found; searched (set ${CORPORA_ENV} to add a place):"
                      f"\n  {searched}")


@dataclass
class VerifyReport:
    """What verifying one corpus directory against the manifest found."""
    corpus: str
    directory: Path
    checked: int = 0
    missing: list = field(default_factory=list)  # names
    size_differs: list = field(default_factory=list)  # (name, expected size, actual size)
    sha1_differs: list = field(default_factory=list)  # (name, expected sha1, actual sha1)

    @property
    def ok(self):
        return not (self.missing or self.size_differs or self.sha1_differs)

    def problems(self):
        """One human-readable line per problem (empty when ok)."""
        lines = [f"{name}: missing" for name in self.missing]
        lines += [f"{name}: size {actual} bytes, manifest says {expected}"
                  for name, expected, actual in self.size_differs]
        lines += [f"{name}: SHA-1 {actual}, manifest says {expected}"
                  for name, expected, actual in self.sha1_differs]
        return lines

    def describe(self):
        if self.ok:
            return f"corpus {self.corpus} at {self.directory}: all {self.checked} files match the manifest"
        problems = self.problems()
        return (f"corpus {self.corpus} at {self.directory}: {len(problems)} of {self.checked} files "
                "differ from the manifest:\n  " + "\n  ".join(problems))

    def to_dict(self):
        return {"corpus": self.corpus, "directory": str(self.directory), "ok": self.ok,
                "problems": self.problems()}


def verify_corpus(name, directory=None):
    """Check every manifest file of corpus `name` in its directory (see find_corpus).

    Files in the directory that the manifest does not list are ignored: they are not part
    of the corpus and are never benchmarked as part of it.
    """
    directory = find_corpus(name, directory)
    report = VerifyReport(name, directory)
    for entry in manifest_files(name):
        report.checked += 1
        path = directory / entry.name
        if not path.is_file():
            report.missing.append(entry.name)
            continue
        size, sha1 = fingerprint(path)
        if size != entry.size:
            # A different size already says the content differs; skip the SHA-1 line.
            report.size_differs.append((entry.name, entry.size, size))
        elif sha1 != entry.sha1:
            report.sha1_differs.append((entry.name, entry.sha1, sha1))
    return report


def require_corpus(name, directory=None):
    """The corpus directory, verified; raises CorpusError describing every difference."""
    report = verify_corpus(name, directory)
    if not report.ok:
        raise CorpusError(report.describe())
    return report.directory


def corpus_paths(name, directory=None, verify=True):
    """Paths of the files of corpus `name`, in manifest order (verified unless verify=False)."""
    directory = require_corpus(name, directory) if verify else find_corpus(name, directory)
    return [directory / entry.name for entry in manifest_files(name)]
