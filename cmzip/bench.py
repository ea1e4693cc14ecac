"""`cmzip bench`: bits per byte, speed and peak memory of cmzip and of baselines, measured in
one run on the same files.

How each figure is measured (so that a reader can judge it):

- bits per byte (bpb) = 8 * compressed / original, per file; the total is
  8 * sum(compressed) / sum(original) and the mean is the plain mean of the per-file values.
- cmzip: every compress and every decompress runs in a fresh child process (the same Python,
  with the parent's sys.path, so it imports the same cmzip). The child times the
  `cmzip.compress(data, level=L)` or `cmzip.decompress(blob)` call alone (not interpreter
  start-up, imports or file I/O; anything cmzip imports lazily inside the call is included)
  and reports its peak resident memory (ru_maxrss: the whole process, interpreter and imported
  libraries included). Children get OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS=1
  unless the caller set them: on small machines BLAS threads fighting over the cores made small
  products ten times slower.
- zlib 9, bz2 9, lzma 9e (preset 9 | PRESET_EXTREME, .xz container): stdlib calls timed in this
  process; no memory figure.
- `--external "CMD ARGS"`: run as a filter, stdin to stdout; decompression runs the same
  command with `-d` appended (gzip, bzip2, xz, zstd and brotli all accept that). Times are wall
  times including process start; no memory figure.
- KB/s uses KB = 1000 bytes; with --repeat N the median time of N runs is used.
- Every compressed output is decompressed and compared with the original; a mismatch, a crash
  or (for cmzip) different output from repeated runs is an error: it is reported loudly and
  `cmzip bench` exits with status 1.

Only the standard library and click are imported at module level, so that `cmzip --help`
stays fast; the codec is only imported in the child processes.
"""
import bz2
import hashlib
import importlib.util
import json
import lzma
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import click

from . import corpora

RESULT_FORMAT = 1
KB = 1000
MIB = 1 << 20
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
DEFAULT_INPUTS = ("calgary",)
# The module benchmarked as cmzip: anything with compress(data, level=L) and decompress(blob).
# The tests point it at a fast stand-in.
CODEC_MODULE = "cmzip"
PLOT_MAX_BPB = 9  # the plot's y axis: 8 is "no compression"; higher bars are clipped


class BenchError(Exception):
    """The benchmark cannot run as asked (an input that does not exist, a bad level)."""


class BenchWarning(UserWarning):
    """Something the user should know, but the benchmark goes on (a corpus that differs from
    the manifest, an external compressor that is not installed)."""


# ---------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class BenchFile:
    label: str  # how the file is named in tables: "calgary/book1", "mydir/a.bin", "x.txt"
    path: Path


def collect_inputs(args):
    """The files to benchmark, and a verification report per corpus named.

    An argument that exists on disk is a file, or a directory (its regular files, sorted by
    name); otherwise it must be a corpus name, found and verified with cmzip.corpora (a corpus
    that differs from the manifest gives a BenchWarning; its missing files are left out).
    """
    files, reports = [], []
    for arg in args:
        path = Path(arg)
        if path.is_file():
            files.append(BenchFile(str(arg), path))
        elif path.is_dir():
            members = sorted(p for p in path.iterdir() if p.is_file())
            files += [BenchFile(f"{path.name}/{p.name}", p) for p in members]
        elif arg in corpora.corpus_names():
            files += _corpus_inputs(arg, reports)
        else:
            raise BenchError(f"{arg}: no such file or directory, and not a corpus name "
                             f"({', '.join(corpora.corpus_names())})")
    return files, reports


def _corpus_inputs(name, reports):
    try:
        report = corpora.verify_corpus(name)
    except corpora.CorpusError as error:
        raise BenchError(str(error)) from None
    reports.append(report)
    if not report.ok:
        warnings.warn(report.describe(), BenchWarning, stacklevel=3)
    paths = corpora.corpus_paths(name, report.directory, verify=False)
    return [BenchFile(f"{name}/{p.name}", p) for p in paths if p.is_file()]


def parse_predictors(text):
    """'context,match,gru' -> a checked list of predictor names (BenchError if bad)."""
    from .errors import CmzipError
    from .levels import DEFAULT_LEVEL, predictor_flags
    names = [name.strip() for name in text.split(",") if name.strip()]
    try:
        predictor_flags(DEFAULT_LEVEL, names)
    except CmzipError as error:
        raise BenchError(f"--predictors: {error}") from None
    return names


def parse_levels(text):
    """"1,5,9" or "1-3,9" -> [1, 5, 9] / [1, 2, 3, 9]; each checked by cmzip.levels."""
    from .levels import check_level  # lazy: keep `cmzip --help` free of codec imports
    levels = []
    for part in text.split(","):
        low, dash, high = part.strip().partition("-")
        try:
            numbers = range(int(low), int(high if dash else low) + 1)
        except ValueError:
            raise BenchError(f"bad level list {text!r}: expected e.g. 1,5,9 or 1-3") from None
        for level in numbers:
            try:
                check_level(level)
            except ValueError as error:
                raise BenchError(str(error)) from None
            if level not in levels:
                levels.append(level)
    if not levels:
        raise BenchError(f"bad level list {text!r}: no levels")
    return levels


# ---------------------------------------------------------------------------------------------
# Measuring one compressor on one file. Every measure() returns the same dict:
# compressed, bpb, {compress,decompress}_{seconds,kbps,peak_rss_bytes}, round_trip, error.


def _figures(original_size, compressed_size, compress_seconds, decompress_seconds,
             compress_peak=None, decompress_peak=None, round_trip=True, error=None):
    return {
        "compressed": compressed_size,
        "bpb": 8 * compressed_size / original_size if original_size else None,
        "compress_seconds": compress_seconds,
        "decompress_seconds": decompress_seconds,
        "compress_kbps": _kbps(original_size, compress_seconds),
        "decompress_kbps": _kbps(original_size, decompress_seconds),
        "compress_peak_rss_bytes": compress_peak,
        "decompress_peak_rss_bytes": decompress_peak,
        "round_trip": round_trip,
        "error": error,
    }


def _failed(error):
    return _figures(0, None, None, None, round_trip=False, error=error)


def _kbps(size, seconds):
    """Speed in KB/s; None when there is nothing to measure (an empty file, no time)."""
    return size / KB / seconds if size and seconds else None


def _check_round_trip(original, restored):
    if restored == original:
        return None
    return (f"ROUND TRIP MISMATCH: decompressed {len(restored)} bytes differ from the "
            f"{len(original)} original bytes")


class StdlibCompressor:
    """A baseline from the standard library, timed in this process."""
    kind = "stdlib"

    def __init__(self, name, compress, decompress):
        self.name, self._compress, self._decompress = name, compress, decompress

    def describe(self):
        return {"name": self.name, "kind": self.kind}

    def measure(self, path, data, repeat, workdir):
        blob, compress_seconds = _median_time(self._compress, data, repeat)
        restored, decompress_seconds = _median_time(self._decompress, blob, repeat)
        error = _check_round_trip(data, restored)
        return _figures(len(data), len(blob), compress_seconds, decompress_seconds,
                        round_trip=error is None, error=error)


def _median_time(function, argument, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        output = function(argument)
        times.append(time.perf_counter() - start)
    return output, statistics.median(times)


STDLIB_BASELINES = (
    StdlibCompressor("zlib 9", lambda data: zlib.compress(data, 9), zlib.decompress),
    StdlibCompressor("bz2 9", lambda data: bz2.compress(data, 9), bz2.decompress),
    StdlibCompressor("lzma 9e", lambda data: lzma.compress(data, preset=9 | lzma.PRESET_EXTREME),
                     lzma.decompress),
)


class ExternalCommand:
    """An external compressor used as a filter; `CMD ARGS -d` decompresses."""
    kind = "external"

    def __init__(self, command):
        self.name = command
        self.argv = shlex.split(command)
        if not self.argv:
            raise BenchError("--external needs a command, e.g. --external \"xz -9e\"")

    def describe(self):
        return {"name": self.name, "kind": self.kind, "command": self.argv,
                "executable": shutil.which(self.argv[0])}

    def available(self):
        return shutil.which(self.argv[0]) is not None

    def measure(self, path, data, repeat, workdir):
        try:
            blob, compress_seconds = _median_time(lambda d: self._filter(self.argv, d), data, repeat)
            restored, decompress_seconds = _median_time(
                lambda b: self._filter(self.argv + ["-d"], b), blob, repeat)
        except (OSError, RuntimeError) as error:
            return _failed(str(error))
        error = _check_round_trip(data, restored)
        return _figures(len(data), len(blob), compress_seconds, decompress_seconds,
                        round_trip=error is None, error=error)

    @staticmethod
    def _filter(argv, data):
        done = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip().splitlines()
            raise RuntimeError(f"`{shlex.join(argv)}` exited with status {done.returncode}"
                               + (f": {message[-1]}" if message else ""))
        return done.stdout


# The program a child process runs: one compress or decompress call of the codec module,
# timed alone; prints its figures as one JSON line. argv: sys.path (JSON), operation,
# codec module, level, predictor set (JSON list or null), input file, output file, parallel
# options (JSON: threads, chunk_size, scheduler; {} for the defaults).  With a codec that has
# compress_stream (cmzip), compression goes through it to collect the online learners' own
# metrics.  A scheduler (a process pool, a Dask cluster) is set up before the clock starts.
CHILD_PROGRAM = r"""
import importlib, io, json, sys, time
sys.path[:] = json.loads(sys.argv[1])
operation, module_name, level, predictors, source, target, parallel = sys.argv[2:9]
codec = importlib.import_module(module_name)
options = {"level": int(level)}
if json.loads(predictors) is not None:
    options["predictors"] = json.loads(predictors)
parallel = json.loads(parallel)
scheduler = parallel.pop("scheduler", None)
threads = parallel.get("threads", 1)
if scheduler == "processes":
    from cmzip.parallel import process_pool
    parallel["executor"] = process_pool(threads)
    list(parallel["executor"].map(abs, range(threads)))       # the workers have started
elif scheduler not in (None, "threads"):
    from distributed import Client
    parallel["executor"] = Client(scheduler, set_as_default=False)
if "chunk_size" in parallel:             # chunks below the default block size: smaller blocks
    parallel["block_size"] = min(1 << 22, parallel["chunk_size"])
with open(source, "rb") as f:
    data = f.read()
learners = []
start = time.perf_counter()
if operation == "compress" and hasattr(codec, "compress_stream"):
    sink = io.BytesIO()
    codec.compress_stream(io.BytesIO(data), sink, learners=learners, **options, **parallel)
    output = sink.getvalue()
elif operation == "compress":
    output = codec.compress(data, **options)
else:
    parallel.pop("chunk_size", None), parallel.pop("block_size", None)
    output = codec.decompress(data, **parallel)
seconds = time.perf_counter() - start
if "executor" in parallel:
    (parallel["executor"].close if scheduler != "processes" else parallel["executor"].shutdown)()
with open(target, "wb") as f:
    f.write(output)
try:
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
except ImportError:  # not on Windows
    peak = None
print(json.dumps({"seconds": seconds, "peak_rss": peak, "module_file": codec.__file__,
                  "learners": learners}))
"""


def child_environment():
    """The parent's environment, with one BLAS/OpenMP thread unless the caller chose."""
    env = dict(os.environ)
    for variable in THREAD_VARIABLES:
        env.setdefault(variable, "1")
    return env


class CmzipLevel:
    """cmzip at one level, through `<codec>.compress(data, level=L)` / `<codec>.decompress(blob)`,
    each call in a fresh child process; `codec` names the module (see CODEC_MODULE).
    predictors: a predictor set instead of the level's own (`--predictors`, `--ablate`);
    label: what the column is called after "cmzip L<level>"."""
    kind = "cmzip"

    def __init__(self, level, codec, predictors=None, label=None, parallel=None):
        self.level, self.codec, self.predictors = level, codec, predictors
        self.parallel = parallel or {}      # threads, chunk_size, scheduler (see CHILD_PROGRAM)
        self.name = f"cmzip L{level}" + (f" {label}" if label else "")

    def describe(self):
        return {"name": self.name, "kind": self.kind, "level": self.level, "codec": self.codec,
                "predictors": self.predictors, "parallel": self.parallel}

    def measure(self, path, data, repeat, workdir):
        blob_path, restored_path = workdir / "compressed", workdir / "restored"
        try:
            compress_runs, blobs = [], []
            for _ in range(repeat):
                compress_runs.append(self._child("compress", path, blob_path))
                blobs.append(blob_path.read_bytes())
            if any(blob != blobs[0] for blob in blobs):
                return _failed("NOT DETERMINISTIC: repeated compression gave different bytes")
            decompress_runs = [self._child("decompress", blob_path, restored_path)
                               for _ in range(repeat)]
        except RuntimeError as error:
            return _failed(str(error))
        error = _check_round_trip(data, restored_path.read_bytes())
        figures = _figures(
            len(data), len(blobs[0]),
            statistics.median(run["seconds"] for run in compress_runs),
            statistics.median(run["seconds"] for run in decompress_runs),
            _peak_bytes(compress_runs), _peak_bytes(decompress_runs),
            round_trip=error is None, error=error)
        figures["learners"] = compress_runs[0].get("learners") or []
        figures["sha256"] = hashlib.sha256(blobs[0]).hexdigest()
        return figures

    def _child(self, operation, source, target):
        parent_path = [entry or os.getcwd() for entry in sys.path]
        argv = [sys.executable, "-c", CHILD_PROGRAM, json.dumps(parent_path), operation,
                self.codec, str(self.level), json.dumps(self.predictors), str(source), str(target),
                json.dumps(self.parallel)]
        done = subprocess.run(argv, env=child_environment(), capture_output=True, text=True)
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            raise RuntimeError(f"{self.name} {operation} failed"
                               + (f": {lines[-1]}" if lines else f" (status {done.returncode})"))
        run = json.loads(done.stdout.strip().splitlines()[-1])
        self._check_same_module(run["module_file"])
        return run

    def _check_same_module(self, child_file):
        spec = importlib.util.find_spec(self.codec)
        if spec is None or Path(spec.origin).resolve() != Path(child_file).resolve():
            raise RuntimeError(f"the child process imported {self.codec} from {child_file}, "
                               f"not from {spec.origin if spec else '(nowhere)'}")


def _peak_bytes(runs):
    """The highest ru_maxrss of the runs, in bytes (Linux reports KiB, macOS bytes)."""
    peaks = [run["peak_rss"] for run in runs if run["peak_rss"] is not None]
    if not peaks:
        return None
    return max(peaks) * (1 if sys.platform == "darwin" else 1024)


def build_compressors(levels, externals=(), baselines=True, predictors=None, ablate=False,
                      threads=None, chunk_size=None, scheduler=None):
    """The compressors of one run, in column order: cmzip levels, stdlib baselines, externals.

    predictors: a predictor set used at every level instead of the level's own.  ablate: after
    each level, the same level once without each of its optional predictors (match, gru, qct),
    so that every predictor's contribution is a column of its own.  threads: a list of thread
    counts; each level is then measured as one stream (no chunking: the reference for the
    ratio cost of chunking) and chunked (chunk_size, default the default chunk size) at each
    thread count, on threads or on `scheduler` ("processes", or a Dask scheduler address).
    Returns (compressors, skipped); skipped lists externals not found on PATH, each with a
    BenchWarning.
    """
    from .levels import level_predictors   # lazy, like parse_levels
    if threads and ablate:
        raise BenchError("--threads and --ablate measure different things; run them separately")
    compressors = []
    for level in levels:
        own = list(predictors) if predictors else level_predictors(level)
        label = "[" + ",".join(own) + "]" if predictors else None
        if threads:
            compressors += _parallel_compressors(level, own if predictors else None, label,
                                                 threads, chunk_size, scheduler)
            continue
        compressors.append(CmzipLevel(level, CODEC_MODULE, own if predictors else None, label))
        if ablate:
            for removed in own:
                if removed != "context":
                    rest = [name for name in own if name != removed]
                    compressors.append(CmzipLevel(level, CODEC_MODULE, rest, f"-{removed}"))
    if baselines:
        compressors += STDLIB_BASELINES
    skipped = []
    for command in externals:
        external = ExternalCommand(command)
        if external.available():
            compressors.append(external)
        else:
            warnings.warn(f"--external {command!r}: {external.argv[0]} not found on PATH; skipped",
                          BenchWarning, stacklevel=2)
            skipped.append({"name": command, "reason": f"{external.argv[0]} not found on PATH"})
    return compressors, skipped


# Chunk size of the "one stream" reference: larger than any input, so never cut.
ONE_STREAM = 1 << 60


def _parallel_compressors(level, predictors, label, threads, chunk_size, scheduler):
    """The level as one stream, then chunked at each thread count (see build_compressors)."""
    from .container import DEFAULT_CHUNK_SIZE   # lazy, like parse_levels
    prefix = f"{label} " if label else ""
    chunk_size = chunk_size or DEFAULT_CHUNK_SIZE
    columns = [CmzipLevel(level, CODEC_MODULE, predictors, f"{prefix}1 stream",
                          {"chunk_size": ONE_STREAM})]
    for count in threads:
        options = {"threads": count, "chunk_size": chunk_size}
        if scheduler and scheduler != "threads":
            options["scheduler"] = scheduler
        columns.append(CmzipLevel(level, CODEC_MODULE, predictors, f"{prefix}-T {count}", options))
    return columns


def parse_threads(text):
    """'1,2,4' -> [1, 2, 4] (BenchError if bad)."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise BenchError(f"bad thread list {text!r}: expected e.g. 1,2")
    return list(dict.fromkeys(counts))


def parse_chunk_size(text):
    """'64K', '16M' -> bytes; a power of two from 64 KiB, or a multiple of the 4 MiB block size
    (BenchError if not)."""
    from .container import DEFAULT_BLOCK_SIZE, block_log_for, check_chunking
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    body = text.strip().upper().removesuffix("B")
    scale = units.get(body[-1:], 1)
    digits = body[:-1] if body[-1:] in units else body
    if not digits.isdigit():
        raise BenchError(f"--chunk-size: not a size: {text!r} (e.g. 16M)")
    size = int(digits) * scale
    try:
        if size < DEFAULT_BLOCK_SIZE:
            block_log_for(size)          # the chunk is then one block of that size
        else:
            check_chunking(DEFAULT_BLOCK_SIZE, size)
    except ValueError as error:
        raise BenchError(f"--chunk-size: {error}") from None
    return size


def parallel_summary(result):
    """For every level measured with --threads: per file and in total, the ratio cost of
    chunking (chunked against one stream) and each thread count's times and speed-up against
    the first thread count.  Marks a thread count that wrote other bytes than the first as a
    failure (the bytes must not depend on it)."""
    groups = {}
    for compressor in result["compressors"]:
        parallel = compressor.get("parallel") or {}
        if compressor["kind"] == "cmzip" and parallel:
            groups.setdefault(compressor["level"], []).append(compressor)
    summaries = []
    for level, compressors in groups.items():
        reference, chunked = compressors[0], compressors[1:]
        first = chunked[0]["name"]
        rows = []
        for row in result["files"] + [None]:
            def figures(name):
                return result["totals"][name] if row is None else row["results"][name]
            one, base = figures(reference["name"]), figures(first)
            if row is not None:
                for compressor in chunked[1:]:
                    other = row["results"][compressor["name"]]
                    if other["error"] is None and base["error"] is None \
                            and other["sha256"] != base["sha256"]:
                        other["error"] = f"NOT THE SAME BYTES as {first}"
            entry = {"file": "total" if row is None else row["file"],
                     "one_stream": one["compressed"], "chunked": base["compressed"],
                     "chunking_cost": (base["compressed"] / one["compressed"] - 1)
                     if one["compressed"] and base["compressed"] else None,
                     "threads": {}}
            for compressor in chunked:
                timing = figures(compressor["name"])
                seconds = {op: _seconds(row, timing, op) for op in ("compress", "decompress")}
                base_seconds = {op: _seconds(row, base, op) for op in ("compress", "decompress")}
                entry["threads"][compressor["parallel"]["threads"]] = {
                    **{f"{op}_seconds": seconds[op] for op in seconds},
                    **{f"{op}_speedup": base_seconds[op] / seconds[op]
                       if seconds[op] and base_seconds[op] else None for op in seconds}}
            rows.append(entry)
        summaries.append({"level": level, "reference": reference["name"],
                          "chunk_size": chunked[0]["parallel"]["chunk_size"],
                          "scheduler": chunked[0]["parallel"].get("scheduler", "threads"),
                          "rows": rows})
    return summaries


def _seconds(row, figures, operation):
    """A file's seconds for the operation; in total, the sum over the files (from KB/s)."""
    if row is not None:
        return figures[f"{operation}_seconds"]
    speed = figures.get(f"{operation}_kbps")
    return figures["original"] / KB / speed if speed else None


# ---------------------------------------------------------------------------------------------
# The run


def default_level():
    from .levels import DEFAULT_LEVEL  # lazy, like parse_levels
    return DEFAULT_LEVEL


def run_bench(paths, levels=None, externals=(), repeat=1, baselines=True, progress=None,
              predictors=None, ablate=False, threads=None, chunk_size=None, scheduler=None):
    """Benchmark every file of `paths` (files, directories, corpus names) and return every
    figure as a JSON-ready dict (see the module docstring for how each is measured).

    levels: cmzip levels (default: the default level). externals: command strings such as
    "xz -9e". predictors, ablate, threads, chunk_size, scheduler: see build_compressors. progress: called as progress(files_done, files_total, text, file_finished).
    Problems that do not stop the run (a corpus differing from its manifest, a missing
    external) are issued as BenchWarning; failures are in the result (see `failures`).
    """
    if repeat < 1:
        raise BenchError(f"repeat must be at least 1, got {repeat}")
    levels = list(levels) if levels else [default_level()]
    files, corpus_reports = collect_inputs(paths or DEFAULT_INPUTS)
    compressors, skipped = build_compressors(levels, externals, baselines, predictors, ablate,
                                             threads, chunk_size, scheduler)
    notify = progress or (lambda *args: None)

    rows = []
    with tempfile.TemporaryDirectory(prefix="cmzip-bench-") as workdir:
        for index, bench_file in enumerate(files):
            data = bench_file.path.read_bytes()
            results = {}
            for compressor in compressors:
                notify(index, len(files), f"{bench_file.label} ({len(data)} B): {compressor.name}",
                       False)
                results[compressor.name] = compressor.measure(bench_file.path, data, repeat,
                                                              Path(workdir))
            rows.append({"file": bench_file.label, "path": str(bench_file.path),
                         "size": len(data), "results": results})
            notify(index + 1, len(files), _file_summary(rows[-1]), True)

    names = [compressor.name for compressor in compressors]
    if threads:     # a thread count that wrote other bytes is a failure before totals are made
        parallel_summary({"compressors": [c.describe() for c in compressors], "files": rows,
                          "totals": {name: _total(rows, name) for name in names}})
    result = {
        "format": RESULT_FORMAT,
        "run": run_info(),
        "levels": levels,
        "repeat": repeat,
        "compressors": [compressor.describe() for compressor in compressors],
        "skipped": skipped,
        "corpora": [corpus_report.to_dict() for corpus_report in corpus_reports],
        "files": rows,
        "totals": {name: _total(rows, name) for name in names},
    }
    if threads:
        result["parallel"] = parallel_summary(result)
    result["ok"] = not failures(result)
    return result


def _file_summary(row):
    figures = ", ".join(f"{name} {_format_result_bpb(r)}" for name, r in row["results"].items())
    return f"{row['file']} ({row['size']} B): {figures}"


def _total(rows, name):
    """Totals of one compressor over all files: None figures unless every file succeeded,
    so that a total always covers the same files as every other column's."""
    results = [(row["size"], row["results"][name]) for row in rows]
    complete = all(result["error"] is None for _, result in results)
    original = sum(size for size, _ in results)
    per_file_bpb = [result["bpb"] for _, result in results if result["bpb"] is not None]
    if not complete:
        return {"files": len(rows), "original": original, "compressed": None, "bpb": None,
                "mean_bpb": None, "compress_kbps": None, "decompress_kbps": None,
                "peak_rss_bytes": None, "round_trip": False}
    compressed = sum(result["compressed"] for _, result in results)
    peaks = [result[key] for _, result in results
             for key in ("compress_peak_rss_bytes", "decompress_peak_rss_bytes")
             if result[key] is not None]
    return {
        "files": len(rows),
        "original": original,
        "compressed": compressed,
        "bpb": 8 * compressed / original if original else None,
        "mean_bpb": statistics.mean(per_file_bpb) if per_file_bpb else None,
        "compress_kbps": _kbps(original, sum(r["compress_seconds"] for _, r in results)),
        "decompress_kbps": _kbps(original, sum(r["decompress_seconds"] for _, r in results)),
        "peak_rss_bytes": max(peaks) if peaks else None,
        "round_trip": True,
        "learners": _learner_totals(result for _, result in results),
    }


def _learner_totals(results):
    """Each online learner's own bits per byte over all files (weighted by bytes), and its
    optimiser updates."""
    totals = {}
    for result in results:
        for learner in result.get("learners") or []:
            total = totals.setdefault(learner["name"], {"bytes": 0, "bits": 0.0, "updates": 0})
            if learner["bytes"]:
                total["bytes"] += learner["bytes"]
                total["bits"] += learner["bits_per_byte"] * learner["bytes"]
            total["updates"] += learner["updates"]
    return {name: {"bytes": t["bytes"], "updates": t["updates"],
                   "bits_per_byte": t["bits"] / t["bytes"] if t["bytes"] else None}
            for name, t in totals.items()}


def failures(result):
    """One line per failed (file, compressor): round-trip mismatches, crashes, nondeterminism."""
    return [f"{row['file']}: {name}: {figures['error']}"
            for row in result["files"] for name, figures in row["results"].items()
            if figures["error"] is not None]


def run_info():
    """Where, when and with what the run was made: machine, versions, date, command line."""
    return {
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command_line": shlex.join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "machine": {
            "platform": platform.platform(),
            "architecture": platform.machine(),
            "cpu": _cpu_model(),
            "cpu_count": os.cpu_count(),
            "memory_bytes": _memory_bytes(),
        },
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "versions": {package: _version(package)
                     for package in ("cmzip", "numpy", "numba", "torch", "click")},
        "child_threads": {variable: child_environment()[variable] for variable in THREAD_VARIABLES},
        "source_revision": _git_revision(),
    }


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_bytes():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _version(package):
    """The installed version, read from package metadata (never importing the package)."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        if package == "cmzip":  # running from a checkout that is not installed
            return getattr(sys.modules.get("cmzip"), "__version__", None)
        return None


def _git_revision():
    """The commit of the checkout cmzip runs from (with '+dirty' for local changes), if any."""
    root = corpora.REPO_ROOT
    if not (root / ".git").exists() or shutil.which("git") is None:
        return None
    try:
        revision = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty=+dirty"],
                                  capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return revision.stdout.strip() or None


# ---------------------------------------------------------------------------------------------
# Output


def _format_bpb(bpb):
    return "n/a" if bpb is None else f"{bpb:.3f}"


def _format_result_bpb(figures):
    return "FAIL" if figures["error"] is not None else _format_bpb(figures["bpb"])


def _format_number(value, digits=1):
    if value is None:
        return "n/a"
    return f"{value:.0f}" if value >= 100 else f"{value:.{digits}f}"


def _format_mib(value):
    return "n/a" if value is None else f"{value / MIB:.1f}"


def _table(header, rows, align):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(":--" if a == "left" else "--:" for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _peak(figures):
    peaks = [figures[key] for key in ("compress_peak_rss_bytes", "decompress_peak_rss_bytes",
                                      "peak_rss_bytes") if figures.get(key) is not None]
    return max(peaks) if peaks else None


def to_markdown(result):
    """Two Markdown tables and a caption: bits per byte per file with cmzip's speeds and memory,
    then each compressor's totals and speeds."""
    compressors = [c["name"] for c in result["compressors"]]
    cmzip_names = [c["name"] for c in result["compressors"] if c["kind"] == "cmzip"]

    header = ["file", "size"] + [f"{name} bpb" for name in compressors]
    for name in cmzip_names:
        short = name.removeprefix("cmzip ")
        header += [f"{short} comp KB/s", f"{short} dec KB/s", f"{short} peak MiB"]

    def speed_cells(figures):
        return [_format_number(figures["compress_kbps"]), _format_number(figures["decompress_kbps"]),
                _format_mib(_peak(figures))]

    rows = []
    for row in result["files"]:
        cells = [row["file"], str(row["size"])]
        cells += [_format_result_bpb(row["results"][name]) for name in compressors]
        for name in cmzip_names:
            cells += speed_cells(row["results"][name])
        rows.append(cells)
    totals = result["totals"]
    total_cells = ["**total**", str(sum(row["size"] for row in result["files"]))]
    total_cells += [_format_bpb(totals[name]["bpb"]) for name in compressors]
    for name in cmzip_names:
        total_cells += speed_cells(totals[name])
    rows.append(total_cells)
    per_file = _table(header, rows, ["left"] + ["right"] * (len(header) - 1))

    summary_header = ["compressor", "compressed", "total bpb", "mean bpb", "compress KB/s",
                      "decompress KB/s", "peak MiB"]
    summary_rows = [[name, "n/a" if t["compressed"] is None else str(t["compressed"]),
                     _format_bpb(t["bpb"]), _format_bpb(t["mean_bpb"])] + speed_cells(t)
                    for name, t in totals.items()]
    summary = _table(summary_header, summary_rows, ["left"] + ["right"] * 6)
    learners = _learner_table(result)
    parallel = "".join(_parallel_table(summary) for summary in result.get("parallel") or [])
    return f"{per_file}\n\n{summary}\n\n{learners}{parallel}{_caption(result)}\n"


def _parallel_table(summary):
    """Per file and in total: one stream against chunks (the ratio cost of chunking), and each
    thread count's seconds and speed-up against the first."""
    counts = list(summary["rows"][0]["threads"])
    header = ["file", "1 stream", "chunked", "cost"]
    for count in counts:
        header += [f"-T {count} comp s", f"-T {count} dec s"]
        if count != counts[0]:
            header += [f"-T {count} comp x", f"-T {count} dec x"]
    rows = []
    for row in summary["rows"]:
        cost = row["chunking_cost"]
        cells = [f"**{row['file']}**" if row["file"] == "total" else row["file"],
                 str(row["one_stream"]), str(row["chunked"]),
                 "n/a" if cost is None else f"{100 * cost:+.2f}%"]
        for count in counts:
            figures = row["threads"][count]
            cells += [_format_number(figures["compress_seconds"], 2),
                      _format_number(figures["decompress_seconds"], 2)]
            if count != counts[0]:
                cells += [_format_speedup(figures["compress_speedup"]),
                          _format_speedup(figures["decompress_speedup"])]
        rows.append(cells)
    chunk = summary["chunk_size"]
    chunk_text = (f"{chunk >> 20} MiB" if chunk % (1 << 20) == 0
                  else f"{chunk >> 10} KiB" if chunk % (1 << 10) == 0 else f"{chunk} bytes")
    title = (f"Parallel, level {summary['level']}: compressed bytes as one stream and in "
             f"{chunk_text} chunks (cost: the ratio cost of chunking), seconds and speed-up "
             f"against -T {counts[0]} on {summary['scheduler']}.\n\n")
    return title + _table(header, rows, ["left"] + ["right"] * (len(header) - 1)) + "\n\n"


def _format_speedup(value):
    return "n/a" if value is None else f"{value:.2f}x"


def _learner_table(result):
    """The online learners' own bits per byte (what each would cost alone): a row per file, a
    column per (compressor, learner)."""
    columns = [(name, learner) for name, totals in result["totals"].items()
               for learner in (totals.get("learners") or {})]
    if not columns:
        return ""

    def own(figures, learner):
        found = [x for x in figures.get("learners") or [] if x["name"] == learner]
        return _format_bpb(found[0]["bits_per_byte"]) if found and found[0]["bytes"] else "-"

    header = ["file"] + [f"{name} {learner} own bpb" for name, learner in columns]
    rows = [[row["file"]] + [own(row["results"][name], learner) for name, learner in columns]
            for row in result["files"]]
    rows.append(["**total**"] + [_format_bpb(result["totals"][name]["learners"][learner]["bits_per_byte"])
                                 for name, learner in columns])
    rows.append(["updates"] + [str(result["totals"][name]["learners"][learner]["updates"])
                               for name, learner in columns])
    table = _table(header, rows, ["left"] + ["right"] * len(columns))
    return ("Online learners: each one's own bits per byte (the cost if its predictions were "
            "used alone), from cmzip.learn's metrics during compression.\n\n" + table + "\n\n")


def _caption(result):
    run = result["run"]
    machine = run["machine"]
    cores = f"{machine['cpu_count']} cores" if machine["cpu_count"] else "cores unknown"
    repeat = f", median of {result['repeat']} runs" if result["repeat"] > 1 else ""
    return (f"_bpb = 8 x compressed / original (total: over all files; mean: of per-file values). "
            f"KB = 1000 bytes{repeat}. cmzip {run['versions']['cmzip'] or '(version unknown)'}, "
            f"{run['date_utc']}, {machine['cpu'] or machine['architecture']}, {cores}, "
            f"{run['python']}. Command: `{run['command_line']}`._")


def matplotlib_available():
    return importlib.util.find_spec("matplotlib") is not None


def plot(result, path):
    """Two charts, one above the other: the frontier (total bits per byte against compression
    speed, one point per compressor, cmzip's levels joined in order) and bits per byte per file
    (and the total), one bar per compressor.  Needs matplotlib (`pip install cmzip[plot]`); the
    format follows the file's extension."""
    from matplotlib.figure import Figure  # lazy; Figure needs no pyplot and no GUI backend

    compressors = [c["name"] for c in result["compressors"]]
    labels = [row["file"] for row in result["files"]] + ["total"]
    bars = len(labels) * max(1, len(compressors))
    figure = Figure(figsize=(max(8.0, 3 + 0.18 * bars), 9.5), layout="constrained")
    frontier, per_file = figure.subplots(2, 1)
    _plot_frontier(frontier, result)
    _plot_bars(per_file, result, compressors, labels)
    figure.savefig(path, dpi=120)


def _plot_frontier(axes, result):
    """Total bits per byte against total compression speed (log scale): the better compressors
    sit low and to the right; a compressor that another beats on both axes is off the
    frontier."""
    points, kinds, levels = {}, {}, []
    for compressor in result["compressors"]:
        name = compressor["name"]
        totals = result["totals"][name]
        if totals["compress_kbps"] is None or totals["bpb"] is None:
            continue
        points[name] = (totals["compress_kbps"], totals["bpb"])
        kinds[name] = compressor["kind"]
        if (compressor["kind"] == "cmzip" and not compressor.get("predictors")
                and not compressor.get("parallel")):
            levels.append((compressor["level"], name))
    levels = [name for _, name in sorted(levels)]
    if len(levels) > 1:         # cmzip's own levels, joined in order
        axes.plot([points[n][0] for n in levels], [points[n][1] for n in levels], "-",
                  color="tab:blue", alpha=0.5, zorder=1)
    for name, (speed, bpb) in points.items():
        ours = kinds[name] == "cmzip"
        axes.scatter([speed], [bpb], color="tab:blue" if ours else "tab:red",
                     marker="o" if ours else "s", zorder=2)
        axes.annotate(name, (speed, bpb), textcoords="offset points", xytext=(4, 4), fontsize=7)
    axes.set_xscale("log")
    axes.set_xlabel("compression speed, KB/s (log scale; one process per file)")
    axes.set_ylabel("total bits per byte (lower is better)")
    axes.set_title("ratio against speed")
    axes.grid(alpha=0.3)


def _plot_bars(axes, result, compressors, labels):
    width = 0.8 / max(1, len(compressors))
    # Tiny files cost tens of bits per byte (headers); clip them so the rest stays readable.
    axes.set_ylim(0, PLOT_MAX_BPB)
    for i, name in enumerate(compressors):
        values = [row["results"][name]["bpb"] for row in result["files"]]
        values.append(result["totals"][name]["bpb"])
        positions = [x + (i - (len(compressors) - 1) / 2) * width for x in range(len(labels))]
        heights = [min(v, PLOT_MAX_BPB) if v is not None else 0 for v in values]
        axes.bar(positions, heights, width, label=name)
        for position, value in zip(positions, values):
            if value is not None and value > PLOT_MAX_BPB:
                axes.text(position, PLOT_MAX_BPB, f"{value:.0f}", rotation=90, ha="center",
                          va="top", fontsize=6, color="white")
    axes.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    axes.set_ylabel("bits per byte (lower is better)")
    axes.set_title("bits per byte, per file")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axes.grid(axis="y", alpha=0.3)


# ---------------------------------------------------------------------------------------------
# The command


class ProgressLine:
    """Progress on stderr: a live, rewritten line on a terminal; one line per finished file
    otherwise (logs and CI stay readable)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.start = time.monotonic()

    def __call__(self, done, total, text, file_finished):
        elapsed = f"{time.monotonic() - self.start:.0f} s"
        if self.live:
            self.stream.write(f"\r\033[K[{done}/{total} files, {elapsed}] {text}")
            if file_finished and done == total:
                self.stream.write("\n")
        elif file_finished:
            self.stream.write(f"[{done}/{total}, {elapsed}] {text}\n")
        self.stream.flush()


def _echo_warning(message, category, filename, lineno, file=None, line=None):
    click.secho(f"warning: {message}", fg="yellow", err=True)


@click.command("bench")
@click.argument("inputs", nargs=-1, metavar="[PATH|CORPUS]...")
@click.option("--levels", "levels_text", metavar="LIST",
              help="cmzip levels to measure, e.g. 1,5,9 or 1-3  [default: the default level]")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Write every figure, the machine, versions and date as JSON.")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False),
              help="Also write the Markdown tables to this file.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Draw the ratio-speed frontier and a bar chart of bits per byte per file "
                   "(PNG, SVG, PDF; needs cmzip[plot]).")
@click.option("--external", "externals", multiple=True, metavar='"CMD ARGS"',
              help='Also measure an external filter compressor, e.g. --external "xz -9e"; '
                   'decompression runs CMD ARGS -d. Repeatable; skipped with a warning if '
                   'not on PATH.')
@click.option("--no-baselines", is_flag=True, help="Leave out zlib, bz2 and lzma.")
@click.option("--repeat", type=click.IntRange(min=1), default=1, show_default=True,
              help="Time every operation N times and report the median.")
@click.option("--predictors", "predictors_text", metavar="LIST",
              help="Use this predictor set at every level instead of the level's own, e.g. "
                   "context,match,gru (context is always needed; names: context, match, gru, qct).")
@click.option("--ablate", is_flag=True,
              help="Also measure each level once without each of its predictors (match, gru, "
                   "qct), to show what each contributes.")
@click.option("--threads", "threads_text", metavar="LIST",
              help="Measure parallel compression, e.g. 1,2: each level as one stream and in "
                   "chunks at each thread count; reports the speed-up against the first count "
                   "and the ratio cost of chunking, per file and in total.")
@click.option("--chunk-size", "chunk_size_text", metavar="SIZE",
              help="The chunk size for --threads (K, M, G suffixes)  [default: 16M]")
@click.option("--scheduler", metavar="threads|processes|ADDRESS",
              help="Where --threads runs the chunks: threads (the default), worker processes, "
                   "or a Dask cluster's scheduler address (its workers stay up between runs).")
def bench_command(inputs, levels_text, json_path, markdown_path, plot_path, externals,
                  no_baselines, repeat, predictors_text, ablate, threads_text, chunk_size_text,
                  scheduler):
    """Measure bits per byte, speed and peak memory of cmzip and of baselines.

    Each argument is a file, a directory (all its files) or a corpus name (calgary,
    canterbury, artificial: found and verified against the manifest; see
    cmzip.corpora). Without arguments: the Calgary corpus. Prints Markdown tables on
    stdout and progress on stderr; exits with status 1 if any round trip fails.

    cmzip runs in child processes with OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
    MKL_NUM_THREADS set to 1 unless already set.
    """
    if plot_path and not matplotlib_available():
        raise click.ClickException("--plot needs matplotlib: pip install cmzip[plot]")
    with warnings.catch_warnings():
        warnings.simplefilter("always", BenchWarning)
        warnings.showwarning = _echo_warning
        try:
            levels = parse_levels(levels_text) if levels_text else None
            predictors = parse_predictors(predictors_text) if predictors_text else None
            threads = parse_threads(threads_text) if threads_text else None
            if (chunk_size_text or scheduler) and not threads:
                raise BenchError("--chunk-size and --scheduler go with --threads")
            chunk_size = parse_chunk_size(chunk_size_text) if chunk_size_text else None
            result = run_bench(inputs, levels, externals, repeat, baselines=not no_baselines,
                               progress=ProgressLine(), predictors=predictors, ablate=ablate,
                               threads=threads, chunk_size=chunk_size, scheduler=scheduler)
        except BenchError as error:
            raise click.ClickException(str(error)) from None

    markdown = to_markdown(result)
    click.echo(markdown, nl=False)
    if markdown_path:
        Path(markdown_path).write_text(markdown, encoding="utf-8")
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    if plot_path:
        plot(result, plot_path)
    for line in failures(result):
        click.secho(f"FAILED: {line}", fg="red", bold=True, err=True)
    if not result["ok"]:
        click.get_current_context().exit(1)
