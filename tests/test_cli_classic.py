"""The classic command-line spelling of gzip, xz and zstd beside the subcommands
(`cmzip -d FILE.cmz`, `cmzip -dc`, `-t`, `-l`, `-1..-9`, `-T N`), the cmzcat and uncmzip entry
points, and tar -I cmzip."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import cmzip
import cmzip.cli
from cmzip.classic import ClassicUsageError, to_subcommand

ROOT = Path(__file__).resolve().parents[1]
CHILD_ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(
    [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))


def run(*args, input=None, implied=()):
    """The command line as main() runs it (classic words translated first), in this process."""
    words = to_subcommand([str(arg) for arg in args], cmzip.cli.cli.list_commands(None), implied)
    return CliRunner().invoke(cmzip.cli.cli, words, input=input)


def run_main(code, *args, input=None, cwd=None):
    """A child Python that runs code (with `main`, `cat_main`, `uncompress_main` imported from
    this checkout's cmzip.cli) with sys.argv[1:] = args."""
    prelude = "import sys\nfrom cmzip.cli import main, cat_main, uncompress_main\n"
    return subprocess.run([sys.executable, "-c", prelude + code, *map(str, args)], input=input,
                          capture_output=True, env=CHILD_ENV, cwd=cwd, timeout=120)


@pytest.fixture
def original(tmp_path, tiny):
    path = tmp_path / "notes.txt"
    path.write_bytes(tiny)
    return path


def test_compress_and_decompress_keep_the_input(original, tiny):
    packed = original.parent / "notes.txt.cmz"
    result = run("-2", original)
    assert result.exit_code == 0, result.output
    assert original.read_bytes() == tiny and cmzip.decompress(packed.read_bytes()) == tiny
    assert packed.read_bytes()[5] == 2                              # the level byte
    original.unlink()
    result = run("-d", packed)
    assert result.exit_code == 0, result.output
    assert original.read_bytes() == tiny and packed.exists()


def test_remove_force_stdout_output_and_threads(original, tiny, tmp_path):
    packed = original.parent / "notes.txt.cmz"
    assert run("-1", "--rm", original).exit_code == 0
    assert not original.exists() and packed.exists()
    result = run("-dc", packed)
    assert result.exit_code == 0 and result.stdout_bytes == tiny
    assert run("-d", "-k", "--rm", packed).exit_code == 0          # the last of -k/--rm counts
    assert original.read_bytes() == tiny and not packed.exists()
    packed.write_bytes(b"old")
    assert run("-1", original).exit_code == 1 and packed.read_bytes() == b"old"
    assert run("-1f", "-T0", original).exit_code == 0
    assert cmzip.decompress(packed.read_bytes()) == tiny
    elsewhere = tmp_path / "elsewhere.cmz"
    assert run("-1", "-o", elsewhere, original).exit_code == 0
    assert run(f"-do{tmp_path / 'restored'}", elsewhere).exit_code == 0
    assert (tmp_path / "restored").read_bytes() == tiny


def test_test_and_list(original, tiny):
    packed = original.parent / "notes.txt.cmz"
    packed.write_bytes(cmzip.compress(tiny, 1))
    assert run("-t", packed).exit_code == 0
    listing = run("-l", packed)
    assert listing.exit_code == 0 and "streams" in listing.stdout and "level" in listing.stdout
    packed.write_bytes(packed.read_bytes()[:-3])
    result = run("-tv", packed)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"cmzip: error: {packed}: truncated input")
    assert len(result.stderr.splitlines()) == 1


def test_no_file_is_standard_input_to_standard_output(tiny):
    packed = run("-1", input=tiny)
    assert packed.exit_code == 0, packed.output
    assert cmzip.decompress(packed.stdout_bytes) == tiny
    restored = run("-d", input=packed.stdout_bytes)
    assert restored.exit_code == 0 and restored.stdout_bytes == tiny


def test_a_first_word_naming_a_command_is_the_command(tmp_path, tiny, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("test").write_bytes(tiny)
    result = run("test")                          # the test command, which needs a FILE
    assert result.exit_code == 2 and not Path("test.cmz").exists()
    assert run("-1", "--", "test").exit_code == 0                 # the file called test
    assert cmzip.decompress(Path("test.cmz").read_bytes()) == tiny
    assert run("-1f", "./test").exit_code == 0
    assert run("test", "test.cmz").exit_code == 0                 # the command again


@pytest.mark.parametrize("args, message", [
    (["-x", "f"], "no such option: -x"),
    (["--frobnicate", "f"], "no such option: --frobnicate"),
    (["-dz", "f"], "exclude one another"),
    (["-d", "-l", "f"], "exclude one another"),
    (["-T"], "-T needs a value"),
])
def test_classic_usage_errors(args, message):
    with pytest.raises(ClassicUsageError, match=message):
        to_subcommand(args, cmzip.cli.cli.list_commands(None))


def test_usage_errors_are_one_line_and_status_2(tmp_path):
    result = run_main("main()", "-q", "-x", "file", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [
        "cmzip: error: no such option: -x (cmzip --help shows the options)"]
    result = run("-qv", tmp_path / "missing")     # refused by the command, as its own -q -v
    assert result.exit_code == 2 and "cannot be combined" in result.output


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["-d", "--help"], ["-dh"]])
def test_help_shows_both_forms(args):
    result = run(*args)
    assert result.exit_code == 0
    assert "[-z|-d|-t|-l]" in result.stdout and "decompress" in result.stdout
    assert "tar -I cmzip" in result.stdout


def test_classic_help_imports_neither_numba_nor_torch():
    result = run_main("""
for args in (["-d", "--help"], ["-V"]):
    try:
        main(args)
    except SystemExit as exit:
        assert exit.code == 0, exit.code
heavy = [name for name in ("numba", "torch", "cmzip.codec") if name in sys.modules]
assert not heavy, heavy
""")
    assert result.returncode == 0, result.stderr


def test_cmzcat_and_uncmzip(tmp_path, tiny):
    packed = tmp_path / "notes.txt.cmz"
    packed.write_bytes(cmzip.compress(tiny, 1) + cmzip.compress(b"second\n", 1))
    result = run_main("cat_main()", packed)
    assert result.returncode == 0 and result.stdout == tiny + b"second\n"
    result = run_main("uncompress_main()", packed)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "notes.txt").read_bytes() == tiny + b"second\n" and packed.exists()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'cmzcat = "cmzip.cli:cat_main"' in pyproject
    assert 'uncmzip = "cmzip.cli:uncompress_main"' in pyproject


@pytest.mark.skipif(shutil.which("tar") is None, reason="needs tar")
def test_tar_uses_cmzip_as_its_compressor(tmp_path):
    """GNU tar runs `cmzip` with no file to compress (stdin to stdout) and `cmzip -d` to
    decompress; here through a script that runs this checkout's cmzip."""
    version = subprocess.run(["tar", "--version"], capture_output=True, text=True).stdout
    if "GNU tar" not in version:
        pytest.skip("needs GNU tar")
    script = tmp_path / "cmzip"
    script.write_text(f"#!/bin/sh\nexec {sys.executable} -m cmzip \"$@\"\n")
    script.chmod(0o755)
    tree = tmp_path / "dir"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_bytes(b"some text\n" * 100)
    (tree / "sub" / "b.bin").write_bytes(bytes(range(256)) * 10)
    subprocess.run(["tar", "-I", str(script), "-cf", "dir.tar.cmz", "dir"], cwd=tmp_path,
                   env=CHILD_ENV, check=True, timeout=120)
    assert (tmp_path / "dir.tar.cmz").read_bytes()[:4] == b"\x89CMZ"
    (tmp_path / "out").mkdir()
    subprocess.run(["tar", "-I", str(script), "-xf", "../dir.tar.cmz"], cwd=tmp_path / "out",
                   env=CHILD_ENV, check=True, timeout=120)
    for name in ("a.txt", "sub/b.bin"):
        assert (tmp_path / "out" / "dir" / name).read_bytes() == (tree / name).read_bytes()
