"""Many files at once (`-r DIR -T N`, one file per task) and interrupted parallel runs: the same
exit-status rules as one file at a time, and no partial output file after Ctrl-C or SIGTERM."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import cmzip
import cmzip.cli
from cmzip.samples import sample

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    return CliRunner().invoke(cmzip.cli.cli, [str(arg) for arg in args])


def tree(directory):
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


@pytest.fixture
def files(tmp_path):
    """A directory tree of small files, one already compressed and one symbolic link."""
    top = tmp_path / "top"
    (top / "sub" / "deeper").mkdir(parents=True)
    contents = {"a.txt": sample("text", 3000, seed=1), "sub/b.bin": sample("binary", 2000, seed=2),
                "sub/deeper/c.txt": sample("text", 500, seed=3), "sub/empty": b""}
    for name, data in contents.items():
        (top / name).write_bytes(data)
    (top / "old.cmz").write_bytes(cmzip.compress(b"compressed before", 1))
    (top / "link").symlink_to("a.txt")
    return top, contents


def test_compress_and_decompress_a_tree_with_several_files_at_once(files):
    top, contents = files
    result = run("compress", "-r", "-T", "2", "-l", "1", top)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == ["cmzip: 4 of 4 files compressed"]
    for name, data in contents.items():
        assert cmzip.decompress((top / (name + ".cmz")).read_bytes()) == data
        assert (top / name).read_bytes() == data                # kept
    assert not (top / "old.cmz.cmz").exists() and not (top / "link.cmz").exists()
    for name in contents:
        (top / name).unlink()
    result = run("decompress", "-r", "-T", "3", top)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == ["cmzip: 5 of 5 files decompressed"]
    for name, data in contents.items():
        assert (top / name).read_bytes() == data
    assert (top / "old").read_bytes() == b"compressed before"
    result = run("test", top / "old.cmz")
    assert result.exit_code == 0
    assert run("decompress", "-t", "-r", "-T", "2", top).exit_code == 0


def test_a_failing_file_is_reported_and_the_others_go_on(files):
    top, contents = files
    (top / "sub" / "b.bin.cmz").write_bytes(b"in the way")
    result = run("compress", "-r", "-T", "2", "-l", "1", top)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"cmzip: error: {top}/sub/b.bin: output {top}/sub/b.bin.cmz already exists; "
        f"use -f to overwrite",
        "cmzip: 3 of 4 files compressed, 1 failed"]
    assert (top / "sub" / "b.bin.cmz").read_bytes() == b"in the way"
    assert cmzip.decompress((top / "sub/deeper/c.txt.cmz").read_bytes()) == contents["sub/deeper/c.txt"]
    (top / "sub" / "b.bin.cmz").write_bytes(cmzip.compress(b"damaged")[:-3])
    for name in contents:
        (top / name).unlink()
    result = run("decompress", "-r", "-T", "2", top)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"cmzip: error: {top}/sub/b.bin.cmz: truncated")
    assert lines[1] == "cmzip: 4 of 5 files decompressed, 1 failed"
    assert not (top / "sub" / "b.bin").exists()
    assert (top / "a.txt").read_bytes() == contents["a.txt"]


@pytest.mark.parametrize("args, message", [
    (["-o", "x"], "takes no -o or -c"),
    (["-c"], "takes no -o or -c"),
    (["--scheduler", "processes"], "takes no --scheduler"),
])
def test_recursive_usage_errors(files, args, message):
    top, _ = files
    result = run("compress", "-r", *args, top)
    assert result.exit_code == 2 and message in result.stderr


def test_without_r_a_directory_is_still_an_error(files):
    top, _ = files
    result = run("compress", top)
    assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1


# ---------------------------------------------------------------------------- interrupted

SIGNALS = [(signal.SIGINT, 130), (signal.SIGTERM, 128 + signal.SIGTERM)]
SIGNAL_IDS = ["SIGINT", "SIGTERM"]


def interrupt(args, directory, signum):
    """Run `cmzip ARGS` in a child, send it signum once a temporary output has existed for a
    moment; return (exit status, stderr, seconds from the signal to the exit)."""
    # SIGINT as a terminal sends it, even if this test runs with SIGINT ignored
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from cmzip.cli import main; main(sys.argv[1:])")
    process = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], cwd=ROOT,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not [path for path in directory.rglob("*.tmp")]:
        assert process.poll() is None and time.monotonic() < deadline, "no temporary file"
        time.sleep(0.02)
    time.sleep(1.5)                      # the loading done, well inside the coding
    process.send_signal(signum)
    sent = time.monotonic()
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr.decode(), time.monotonic() - sent


@pytest.mark.slow
@pytest.mark.parametrize("signum, status", SIGNALS, ids=SIGNAL_IDS)
def test_a_signal_during_a_parallel_compression_leaves_no_partial_file(tmp_path, signum, status):
    source = tmp_path / "big.txt"
    data = b"".join(b"line %d of a file cut into chunks coded on two threads\n" % i
                    for i in range(200000))                         # 11 MB: 3 chunks of 4 MiB
    source.write_bytes(data)
    returncode, stderr, _ = interrupt(["compress", "-l", "1", "-T", "2", "--chunk-size", "4M",
                                       source], tmp_path, signum)
    assert returncode == status, stderr
    assert tree(tmp_path) == ["big.txt"]
    assert source.read_bytes() == data
    if signum == signal.SIGINT:
        assert stderr.splitlines() == ["cmzip: interrupted"]


@pytest.mark.slow
@pytest.mark.parametrize("signum, status", SIGNALS, ids=SIGNAL_IDS)
def test_a_signal_during_many_files_at_once_leaves_no_partial_file(tmp_path, signum, status):
    top = tmp_path / "top"
    top.mkdir()
    originals = {}
    for index in range(4):
        data = b"".join(b"file %d line %d of several compressed at once\n" % (index, i)
                        for i in range(40000))
        originals[f"f{index}.txt"] = data
        (top / f"f{index}.txt").write_bytes(data)
    returncode, stderr, _ = interrupt(["compress", "-r", "-T", "2", "-l", "5", top], top, signum)
    assert returncode == status, stderr
    listing = tree(top)
    assert not [name for name in listing if name.endswith(".tmp")]
    for name, data in originals.items():
        assert (top / name).read_bytes() == data
        if name + ".cmz" in listing:                     # finished before the signal: whole
            assert cmzip.decompress((top / (name + ".cmz")).read_bytes()) == data
