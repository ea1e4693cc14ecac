"""cmzip bench: consistent figures, Markdown, JSON, plot and the command line.

Most tests benchmark a fast stand-in codec (zlib at the asked level, in a module the child
processes import) so that the machinery is tested in seconds; one test goes through the real
cmzip on a tiny file.
"""
import bz2
import json
import lzma
import shutil
import zlib

import pytest
from click.testing import CliRunner

from cmzip import bench
from cmzip.samples import sample

STAND_IN = '''
import zlib
def compress(data, level):
    return zlib.compress(data, level)
def decompress(blob):
    return zlib.decompress(blob)
'''
BROKEN = '''
import zlib
def compress(data, level):
    return zlib.compress(data, level)
def decompress(blob):
    return zlib.decompress(blob)[:-1]  # loses the last byte
'''


def use_codec(monkeypatch, tmp_path, name, source):
    """Make bench measure module `name` (written from `source`) instead of cmzip."""
    modules = tmp_path / "modules"
    modules.mkdir(exist_ok=True)
    (modules / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(modules))  # the children get the parent's sys.path
    monkeypatch.setattr(bench, "CODEC_MODULE", name)


@pytest.fixture
def stand_in(monkeypatch, tmp_path):
    use_codec(monkeypatch, tmp_path, "bench_stand_in", STAND_IN)


@pytest.fixture
def broken(monkeypatch, tmp_path):
    use_codec(monkeypatch, tmp_path, "bench_broken", BROKEN)


@pytest.fixture
def files_dir(tmp_path):
    directory = tmp_path / "small"
    directory.mkdir()
    for kind, size in (("text", 4000), ("binary", 3000), ("redundant", 2000)):
        (directory / kind).write_bytes(sample(kind, size))
    return directory


@pytest.fixture
def result(stand_in, files_dir):
    return bench.run_bench([str(files_dir)], levels=[1])


def test_figures_are_consistent(result, files_dir):
    assert result["ok"] and not bench.failures(result)
    assert [row["file"] for row in result["files"]] == ["small/binary", "small/redundant",
                                                         "small/text"]
    names = [c["name"] for c in result["compressors"]]
    assert names == ["cmzip L1", "zlib 9", "bz2 9", "lzma 9e"]
    for row in result["files"]:
        data = (files_dir / row["file"].split("/")[1]).read_bytes()
        assert row["size"] == len(data)
        expected_sizes = {
            "cmzip L1": len(zlib.compress(data, 1)),  # the stand-in: proves the child ran level 1
            "zlib 9": len(zlib.compress(data, 9)),
            "bz2 9": len(bz2.compress(data, 9)),
            "lzma 9e": len(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)),
        }
        for name, figures in row["results"].items():
            assert figures["compressed"] == expected_sizes[name]
            assert figures["bpb"] == pytest.approx(8 * figures["compressed"] / len(data))
            assert figures["round_trip"] is True and figures["error"] is None
            assert figures["compress_kbps"] > 0 and figures["decompress_kbps"] > 0
        cmzip = row["results"]["cmzip L1"]
        assert cmzip["compress_peak_rss_bytes"] > 1 << 20  # a whole Python process
        assert cmzip["decompress_peak_rss_bytes"] > 1 << 20


def test_totals(result):
    for name, total in result["totals"].items():
        per_file = [row["results"][name] for row in result["files"]]
        original = sum(row["size"] for row in result["files"])
        compressed = sum(f["compressed"] for f in per_file)
        assert total["original"] == original and total["compressed"] == compressed
        assert total["bpb"] == pytest.approx(8 * compressed / original)
        assert total["mean_bpb"] == pytest.approx(sum(f["bpb"] for f in per_file) / len(per_file))
        assert total["round_trip"] is True


def test_result_is_json_with_run_information(result):
    loaded = json.loads(json.dumps(result))
    run = loaded["run"]
    assert run["date_utc"].endswith("+00:00")
    assert run["machine"]["cpu_count"] >= 1 and run["python"]
    assert set(run["versions"]) == {"cmzip", "numpy", "numba", "torch", "click"}
    assert set(run["child_threads"]) == set(bench.THREAD_VARIABLES)
    assert loaded["levels"] == [1] and loaded["repeat"] == 1


def markdown_tables(text):
    """The Markdown tables of `text`, each as a list of rows of stripped cells."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            assert line.endswith("|"), line
            current.append([cell.strip() for cell in line[1:-1].split("|")])
        elif current:
            tables.append(current)
            current = []
    return tables


def test_markdown_is_well_formed(result):
    per_file, summary = markdown_tables(bench.to_markdown(result))
    header, separator, *rows = per_file
    assert header[:3] == ["file", "size", "cmzip L1 bpb"]
    assert {"zlib 9 bpb", "bz2 9 bpb", "lzma 9e bpb", "L1 comp KB/s", "L1 peak MiB"} <= set(header)
    assert len(separator) == len(header) and all(set(cell) <= set(":-") for cell in separator)
    assert all(len(row) == len(header) for row in rows)
    assert [row[0] for row in rows] == [r["file"] for r in result["files"]] + ["**total**"]
    assert rows[-1][2] == f"{result['totals']['cmzip L1']['bpb']:.3f}"

    assert [row[0] for row in summary[2:]] == ["cmzip L1", "zlib 9", "bz2 9", "lzma 9e"]
    assert all(len(row) == len(summary[0]) for row in summary)


def test_round_trip_failure_is_reported(broken, files_dir):
    result = bench.run_bench([str(files_dir)], levels=[1], baselines=False)
    assert not result["ok"]
    lines = bench.failures(result)
    assert len(lines) == 3 and all("ROUND TRIP MISMATCH" in line for line in lines)
    assert result["totals"]["cmzip L1"]["bpb"] is None
    assert "FAIL" in bench.to_markdown(result)


def test_external_compressor(stand_in, files_dir):
    if shutil.which("gzip") is None:
        pytest.skip("gzip not on PATH")
    result = bench.run_bench([str(files_dir / "text")], levels=[1], baselines=False,
                             externals=["gzip -9"])
    figures = result["files"][0]["results"]["gzip -9"]
    assert figures["round_trip"] and figures["error"] is None
    assert figures["bpb"] == pytest.approx(8 * figures["compressed"] / 4000)


def test_missing_external_is_skipped_with_a_warning(stand_in, files_dir):
    with pytest.warns(bench.BenchWarning, match="not found on PATH"):
        result = bench.run_bench([str(files_dir / "text")], levels=[1], baselines=False,
                                 externals=["no-such-compressor-here -9"])
    assert [c["name"] for c in result["compressors"]] == ["cmzip L1"]
    assert result["skipped"][0]["name"] == "no-such-compressor-here -9"


def test_corpus_that_differs_from_manifest_warns(stand_in, tmp_path, monkeypatch):
    corpus = tmp_path / "corpora" / "calgary"
    corpus.mkdir(parents=True)
    (corpus / "paper4").write_bytes(sample("text", 1000))
    monkeypatch.setenv("CMZIP_CORPORA", str(tmp_path / "corpora"))
    with pytest.warns(bench.BenchWarning, match="paper4: size 1000 bytes"):
        files, reports = bench.collect_inputs(["calgary"])
    assert [f.label for f in files] == ["calgary/paper4"]  # missing files are left out
    assert len(reports[0].missing) == 17


def test_inputs_that_do_not_exist(tmp_path):
    with pytest.raises(bench.BenchError, match="not a corpus name"):
        bench.collect_inputs([str(tmp_path / "nothing")])


def test_parse_levels():
    assert bench.parse_levels("1,5,9") == [1, 5, 9]
    assert bench.parse_levels("1-3, 2") == [1, 2, 3]
    for bad in ("0", "10", "x", "1-"):
        with pytest.raises(bench.BenchError):
            bench.parse_levels(bad)


def test_plot_writes_a_png(result, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "bpb.png"
    bench.plot(result, target)
    image = target.read_bytes()
    assert image.startswith(b"\x89PNG\r\n\x1a\n") and len(image) > 5000


def test_command_line(stand_in, files_dir, tmp_path):
    json_path, markdown_path = tmp_path / "out.json", tmp_path / "out.md"
    outcome = CliRunner().invoke(bench.bench_command, [
        str(files_dir), "--levels", "1,2", "--json", str(json_path),
        "--markdown", str(markdown_path), "--external", "no-such-compressor-here"])
    assert outcome.exit_code == 0, outcome.output
    assert outcome.stdout == markdown_path.read_text()
    assert "cmzip L2 bpb" in outcome.stdout
    assert "warning: --external 'no-such-compressor-here'" in outcome.stderr
    assert "[3/3" in outcome.stderr  # progress, one line per file when not a terminal
    saved = json.loads(json_path.read_text())
    assert saved["ok"] and saved["levels"] == [1, 2] and len(saved["files"]) == 3


def test_command_line_exits_1_on_round_trip_failure(broken, files_dir):
    outcome = CliRunner().invoke(bench.bench_command, [str(files_dir / "text"), "--levels", "1"])
    assert outcome.exit_code == 1
    assert "FAILED: " in outcome.stderr and "cmzip L1: ROUND TRIP MISMATCH" in outcome.stderr


def test_command_line_plot_without_matplotlib(monkeypatch, files_dir, tmp_path):
    monkeypatch.setattr(bench, "matplotlib_available", lambda: False)
    outcome = CliRunner().invoke(bench.bench_command,
                                 [str(files_dir), "--plot", str(tmp_path / "x.png")])
    assert outcome.exit_code == 1
    assert "pip install cmzip[plot]" in outcome.stderr


def test_real_cmzip_on_a_tiny_file(tmp_path):
    """Through the real cmzip.compress/decompress, in child processes that import this cmzip."""
    (tmp_path / "tiny.txt").write_bytes(sample("text", 300))
    result = bench.run_bench([str(tmp_path / "tiny.txt")], levels=[1], baselines=False)
    figures = result["files"][0]["results"]["cmzip L1"]
    assert result["ok"], bench.failures(result)
    assert figures["round_trip"] and figures["bpb"] == pytest.approx(8 * figures["compressed"] / 300)


def test_ablate_adds_one_column_per_optional_predictor_of_the_level():
    from cmzip.levels import level_predictors
    compressors, _ = bench.build_compressors([6], baselines=False, ablate=True)
    names = [c.name for c in compressors]
    optional = [p for p in level_predictors(6) if p != "context"]
    assert names == ["cmzip L6"] + [f"cmzip L6 -{p}" for p in optional]
    assert "gru" in optional
    without_gru = compressors[1 + optional.index("gru")]
    assert without_gru.predictors == [p for p in level_predictors(6) if p != "gru"]


def test_predictors_override_every_level_and_bad_names_are_clear_errors():
    compressors, _ = bench.build_compressors([1, 5], baselines=False,
                                             predictors=["context", "qct"])
    assert [c.name for c in compressors] == ["cmzip L1 [context,qct]", "cmzip L5 [context,qct]"]
    with pytest.raises(bench.BenchError, match="unknown predictor 'lstm'"):
        bench.parse_predictors("context,lstm")


@pytest.mark.slow
def test_bench_reports_the_learners_own_bits_per_byte(tmp_path):
    sample_file = tmp_path / "text"
    sample_file.write_bytes(sample("text", 3000, seed=9))
    # level 6's own GRU: its loop is the one the round trips of every level compile anyway
    # (level 1 with a GRU compiled a loop of its own, about 100 s of the suite)
    result = bench.run_bench([str(tmp_path)], levels=[6], baselines=False)
    (row,) = result["files"]
    (figures,) = row["results"].values()
    assert figures["round_trip"] and figures["error"] is None
    (learner,) = figures["learners"]
    # a prediction is scored when the next step starts: each lane's last byte goes unscored
    assert learner["name"] == "gru" and 2900 < learner["bytes"] <= 3000 and learner["updates"] > 0
    assert 0 < learner["bits_per_byte"] < 8
    total = result["totals"]["cmzip L6"]["learners"]["gru"]
    assert total["bits_per_byte"] == pytest.approx(learner["bits_per_byte"])
    assert "Online learners" in bench.to_markdown(result)


@pytest.mark.slow
def test_threads_report_the_speed_up_and_the_ratio_cost_of_chunking(tmp_path):
    """--threads 1,2 with 64 KiB chunks, through the real cmzip: one stream against chunks,
    per file and in total, from the same figures as the other tables."""
    (tmp_path / "text").write_bytes(sample("text", 150000, seed=5))
    result = bench.run_bench([str(tmp_path)], levels=[1], baselines=False, threads=[1, 2],
                             chunk_size=1 << 16)
    assert result["ok"], bench.failures(result)
    names = [c["name"] for c in result["compressors"]]
    assert names == ["cmzip L1 1 stream", "cmzip L1 -T 1", "cmzip L1 -T 2"]
    (summary,) = result["parallel"]
    assert summary["chunk_size"] == 1 << 16 and summary["scheduler"] == "threads"
    (row,) = result["files"]
    one, t1, t2 = (row["results"][name] for name in names)
    assert t1["sha256"] == t2["sha256"] != one["sha256"]        # chunked: other bytes, the same
    file_row, total_row = summary["rows"]
    assert file_row["one_stream"] == one["compressed"] and file_row["chunked"] == t1["compressed"]
    assert file_row["chunking_cost"] == pytest.approx(t1["compressed"] / one["compressed"] - 1)
    assert file_row["chunking_cost"] > 0                          # 3 chunks start cold
    speedup = file_row["threads"][2]["compress_speedup"]
    assert speedup == pytest.approx(t1["compress_seconds"] / t2["compress_seconds"])
    assert total_row["chunked"] == result["totals"]["cmzip L1 -T 1"]["compressed"]
    markdown = bench.to_markdown(result)
    assert "Parallel, level 1" in markdown and "64 KiB chunks" in markdown
    assert f"{100 * file_row['chunking_cost']:+.2f}%" in markdown


def test_a_thread_count_that_writes_other_bytes_is_a_failure():
    def figures(digest, seconds):
        return {"compressed": 100, "compress_seconds": seconds, "decompress_seconds": seconds,
                "sha256": digest, "error": None}
    compressors = [{"kind": "cmzip", "level": 1, "name": "one", "parallel": {"chunk_size": bench.ONE_STREAM}},
                   {"kind": "cmzip", "level": 1, "name": "t1", "parallel": {"threads": 1, "chunk_size": 1 << 16}},
                   {"kind": "cmzip", "level": 1, "name": "t2", "parallel": {"threads": 2, "chunk_size": 1 << 16}}]
    row = {"file": "f", "size": 1000,
           "results": {"one": figures("a", 1.0), "t1": figures("b", 1.0), "t2": figures("c", 0.5)}}
    totals = {name: {"original": 1000, "compressed": 100, "compress_kbps": 1.0,
                     "decompress_kbps": 1.0} for name in ("one", "t1", "t2")}
    bench.parallel_summary({"compressors": compressors, "files": [row], "totals": totals})
    assert row["results"]["t2"]["error"] == "NOT THE SAME BYTES as t1"
    assert row["results"]["t1"]["error"] is None


def test_bad_thread_lists_and_chunk_sizes_are_clear_errors(files_dir):
    runner = CliRunner()
    for args, message in ((["--threads", "1,x"], "bad thread list"),
                          (["--threads", "0,2"], "bad thread list"),
                          (["--threads", "1,2", "--chunk-size", "100K"], "--chunk-size"),
                          (["--chunk-size", "64K"], "go with --threads")):
        result = runner.invoke(bench.bench_command, [str(files_dir), *args])
        assert result.exit_code == 1 and message in result.output, result.output
