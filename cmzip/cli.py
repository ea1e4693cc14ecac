"""The cmzip command line: compress, decompress, test and info (and bench, when present), and
the classic spelling of gzip, xz and zstd in front of them (classic.py).

Nothing is lost: an output file is written to a temporary file beside it and renamed into place
only once complete (and, when decompressing, verified against the checksums); on an error,
Ctrl-C or SIGTERM the temporary file is removed. An existing file is never overwritten without
-f, and an input is removed only with --rm, after its output is complete.
"""
import contextlib
import importlib
import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

import click

from . import __version__
from .classic import ClassicUsageError, to_subcommand
from .container import (DEFAULT_BLOCK_SIZE, DEFAULT_CHUNK_SIZE, check_chunking, compress_stream,
                        decompress_stream, read_info, write_all)
from .errors import CmzipError, WorkerError
from .levels import (DEFAULT_LEVEL, MAX_LEVEL, MIN_LEVEL, describe_level, level_memory,
                     predictor_flags)
from .progress import progress_bar

SUFFIX = ".cmz"
STDIO = "-"


class Failure(click.ClickException):
    """A failure printed as one line, `cmzip: error: ...`; exit status 1."""

    def show(self, file=None):
        click.echo(f"cmzip: error: {self.format_message()}", err=True)


@dataclass(frozen=True)
class Settings:
    """The options that say where outputs go and what to print."""
    output: str | None = None
    to_stdout: bool = False
    keep: bool = True
    force: bool = False
    quiet: bool = False
    verbose: bool = False


class _Commands(click.Group):
    """The subcommands, with bench loaded only when it is named or listed: its module imports
    the baselines and the subprocess machinery (0.02 s of every other command's start-up)."""

    LAZY = {"bench": ("cmzip.bench", "bench_command")}

    def list_commands(self, ctx):
        return sorted(set(self.commands) | set(self.LAZY))

    def get_command(self, ctx, name):
        if name in self.LAZY and name not in self.commands:
            module, attribute = self.LAZY[name]
            try:
                self.add_command(getattr(importlib.import_module(module), attribute), name)
            except ImportError:     # written separately; the CLI works without it
                return None
        return super().get_command(ctx, name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="cmzip")
def cli():
    """cmzip: lossless compression by context mixing. Models that learn from the file as
    they go predict every bit; an arithmetic coder turns the predictions into few bits.
    Much slower than gzip or xz; built to compress smaller.

    \b
    Examples:
      cmzip compress notes.txt         writes notes.txt.cmz, keeps notes.txt
      cmzip compress -l 9 --rm *.log   strongest level, removes each log when done
      cmzip decompress notes.txt.cmz   restores notes.txt
      cmzip decompress -c data.cmz | less
      tar cf - dir | cmzip compress - > dir.tar.cmz
      cmzip info notes.txt.cmz         level, predictors, blocks, sizes, bits per byte
      cmzip test *.cmz                 check integrity, write nothing

    \b
    The classic spelling of gzip, xz and zstd works too:
      cmzip [-z|-d|-t|-l] [-c] [-k|--rm] [-f] [-1..-9] [-T N] [-o PATH] [-q|-v] [FILE...]
      -z compress (the default), -d decompress, -t test, -l list (as info); -c to standard
      output, -k keep the input (the default), --rm remove it, -f force, -1..-9 the level
      (--fast, --best), -T N threads, -o PATH the output, -q quiet, -v verbose; the long
      options of the commands (--verify, --chunk-size, ...) work too. No FILE, or -: standard
      input to standard output.
      cmzip -9 notes.txt    cmzip -dc notes.txt.cmz | less    cmzip -t *.cmz
      tar -I cmzip -cf dir.tar.cmz dir    tar -I cmzip -xf dir.tar.cmz
      cmzcat is cmzip -dc; uncmzip is cmzip -d.
    A first word that names a command is that command: a file called test is ./test or
    -- test.

    Exit status: 0 if every file succeeded, 1 if any failed, 2 for a usage error.
    Run `cmzip COMMAND --help` for the options of each command.
    """


def _verbosity_options(command):
    command = click.option("-v", "--verbose", is_flag=True,
                           help="Print a line per file: sizes, bits per byte, seconds, KB/s.")(command)
    return click.option("-q", "--quiet", is_flag=True,
                        help="Print errors only (no summary line for several files).")(command)


def _output_options(command):
    """The options compress and decompress share: where the output goes, what happens to
    the input."""
    options = [
        click.option("-o", "--output", metavar="PATH",
                     help="Write the output to PATH (a single FILE only)."),
        click.option("-c", "--stdout", "to_stdout", is_flag=True,
                     help="Write to standard output; the input is always kept."),
        click.option("-k", "--keep/--rm", default=True,
                     help="Keep the input file (-k, the default) or remove it (--rm) once "
                          "its output is complete and verified."),
        click.option("-f", "--force", is_flag=True,
                     help="Overwrite existing output files (and compress to a terminal)."),
    ]
    command = _verbosity_options(command)
    for option in reversed(options):
        command = option(command)
    return command


def _scheduler_option(command):
    return click.option(
        "--scheduler", metavar="threads|processes|ADDRESS", default="threads", show_default=True,
        help="Where -T's pieces run: threads of this process, worker processes, or the Dask "
             "cluster whose scheduler is at ADDRESS (e.g. tcp://host:8786; needs cmzip[dask]; "
             "-T is then how many are in flight, by default the cluster's worker threads). "
             "The output is the same.")(command)


def _recursive_option(command):
    return click.option(
        "-r", "--recursive", is_flag=True,
        help="Take the files in each directory FILE and its subdirectories (compress: those "
             "without the .cmz suffix; decompress: those with it; symbolic links are left "
             "alone). With -T N, N files at once, one file per task, on threads.")(command)


def _settings(files, output=None, to_stdout=False, keep=True, force=False, quiet=False,
              verbose=False):
    """Check that the options fit together."""
    if output is not None and to_stdout:
        raise click.UsageError("-o/--output and -c/--stdout cannot be combined")
    if output is not None and len(files) > 1:
        raise click.UsageError("-o/--output works with a single FILE")
    if to_stdout and not keep:
        raise click.UsageError("--rm cannot be combined with -c/--stdout")
    if quiet and verbose:
        raise click.UsageError("-q/--quiet and -v/--verbose cannot be combined")
    return Settings(output, to_stdout, keep, force, quiet, verbose)


@cli.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("-l", "--level", type=click.IntRange(MIN_LEVEL, MAX_LEVEL), default=DEFAULT_LEVEL,
              show_default=True, help=f"Compression level: {MIN_LEVEL} fastest, {MAX_LEVEL} strongest.")
@click.option("--verify", is_flag=True,
              help="Decompress the result and check it before reporting success (twice the "
                   "time; implied by --rm).")
@click.option("--predictors", metavar="LIST",
              help="Use these predictors instead of the level's own: a comma-separated subset "
                   "of context, match, gru, qct (context is always needed), e.g. "
                   "context,match,gru,qct. Stored in the file; decompress needs no option.")
@click.option("-T", "--threads", type=click.IntRange(0, 1024), default=1, show_default=True,
              help="Compress this many chunks at once, on threads (0: one per core, as many as "
                   "the memory allows). The output is the same whatever the number.")
@_scheduler_option
@_recursive_option
@click.option("--chunk-size", metavar="SIZE", default=f"{DEFAULT_CHUNK_SIZE >> 20}M",
              show_default=True,
              help="Inputs longer than this are cut into independent streams of this size "
                   "(a multiple of 4M: K, M, G suffixes), which -T compresses in parallel.")
@_output_options
def compress(files, level, verify, predictors, threads, scheduler, recursive, chunk_size,
             **options):
    """Compress each FILE into FILE.cmz.

    The input is kept unless --rm is given; then the output is first decompressed and
    checked, as with --verify, so that an input is never removed for an output that would
    not restore it. FILE "-" reads standard input and writes standard output (or -o PATH).
    The output appears only when complete: an error or Ctrl-C leaves no partial file behind.

    \b
    Examples:
      cmzip compress book1               writes book1.cmz
      cmzip compress -l 9 -v a.txt b.txt
      cmzip compress -c book1 > backup.cmz
      cmzip compress -T 0 big.tar        one chunk per core at a time
      cmzip compress --scheduler tcp://host:8786 -T 64 big.tar    on a Dask cluster
      cmzip compress -r -T 2 logs/       every file under logs/, two files at once
    """
    settings = _settings(files, **options)
    files, file_jobs, threads = _recursion(files, recursive, threads, scheduler, settings,
                                           lambda name: not name.endswith(SUFFIX),
                                           level, _parse_size(chunk_size, "--chunk-size"))
    chunk_bytes = _parse_size(chunk_size, "--chunk-size")
    try:
        check_chunking(DEFAULT_BLOCK_SIZE, chunk_bytes)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--chunk-size") from None
    if settings.to_stdout and len(files) > 1:
        raise click.UsageError("-c/--stdout takes a single FILE when compressing "
                               "(a .cmz file holds one stream)")
    writes_stdout = settings.to_stdout or (STDIO in files and settings.output is None)
    if writes_stdout and not settings.force and sys.stdout.isatty():
        raise Failure("compressed data not written to a terminal; use -f to force")

    predictor_set = None
    if predictors is not None:
        predictor_set = [name.strip() for name in predictors.split(",") if name.strip()]
        try:
            predictor_flags(level, predictor_set)
        except CmzipError as error:
            raise click.BadParameter(str(error), param_hint="--predictors") from None

    def compress_to(source, out, progress):
        learners = []
        sizes = compress_stream(source, out, level, progress=progress, predictors=predictor_set,
                                learners=learners, threads=threads, chunk_size=chunk_bytes,
                                executor=executor)
        if settings.verbose:
            for learner in learners:        # what each online learner achieved on its own
                click.echo(f"cmzip: learner {_learner_line(learner)}", err=True)
        return sizes

    verify = verify or not settings.keep
    with _scheduler(scheduler, threads, level, chunk_bytes) as (executor, threads):
        _for_each_file(files, settings, "compressed", lambda name, stop=None: _convert_file(
            name, settings, _compressed_name, compress_to, "compressed", verify, stop),
            file_jobs)


def _parse_size(text, option):
    """'32M' -> 33554432 (K, M, G: powers of 1024; no suffix: bytes)."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("B")
    scale = units.get(text[-1:], 1)
    digits = text[:-1] if text[-1:] in units else text
    if not digits.isdigit():
        raise click.BadParameter(f"not a size: {text!r} (e.g. 32M)", param_hint=option)
    return int(digits) * scale


def _recursion(files, recursive, threads, scheduler, settings, wanted, level, chunk_size):
    """-r: (the files, how many files at once, -T for each file).  Without -r: the files as
    given, one at a time, -T for each."""
    if not recursive:
        return files, 1, threads
    if settings.output is not None or settings.to_stdout:
        raise click.UsageError("-r/--recursive writes each output beside its input: "
                               "it takes no -o or -c")
    if scheduler != "threads":
        raise click.UsageError("-r/--recursive runs files on threads: it takes no --scheduler")
    if STDIO in files:
        raise click.UsageError("-r/--recursive takes files and directories, not '-'")
    expanded = []
    for name in files:
        if os.path.isdir(name):
            expanded += _files_under(name, wanted)
        else:
            expanded.append(name)
    jobs = threads or _threads_that_fit(level, chunk_size)
    return expanded, jobs, 1


def _files_under(directory, wanted):
    """The regular files under directory that wanted(name) accepts, in sorted order."""
    found = []
    for root, directories, names in os.walk(directory):
        directories.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            if stat.S_ISREG(os.lstat(path).st_mode) and wanted(path):
                found.append(path)
    return found


@contextlib.contextmanager
def _scheduler(scheduler, threads, level, chunk_size):
    """with _scheduler(...) as (executor or None, threads): where the chunks run, and how many
    at once (-T 0: as many as fit; with a Dask cluster, 0 or 1: its worker threads)."""
    from . import parallel
    if scheduler not in parallel.LOCAL_SCHEDULERS:
        try:
            client = parallel.dask_client(scheduler)
        except WorkerError as error:
            raise Failure(str(error)) from None
        try:
            yield client, threads if threads > 1 else None     # None: the cluster's workers
        finally:
            client.close()
        return
    threads = threads or _threads_that_fit(level, chunk_size)
    if scheduler == "threads" or threads == 1:
        yield None, threads
        return
    pool = parallel.process_pool(threads)
    try:
        yield pool, threads
    except BaseException:
        # Ctrl-C, SIGTERM or a failure: stop the workers now rather than after their chunks.
        parallel.stop_process_pool(pool)
        raise
    pool.shutdown()


def _threads_that_fit(level, chunk_size):
    """One thread per core, at most as many as the memory holds: each thread holds a chunk,
    its compressed form and the level's models."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return max(1, cores or 1)
    per_thread = level_memory(level) + 3 * chunk_size
    return max(1, min(cores or 1, memory // 2 // per_thread))


@cli.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE.cmz...")
@click.option("-t", "--test", "test_only", is_flag=True,
              help="Only check integrity, as `cmzip test` does: decode, verify, write nothing.")
@click.option("-T", "--threads", type=click.IntRange(0, 1024), default=1, show_default=True,
              help="Decode this many streams of a file at once, on threads (0: one per core, as "
                   "many as the memory allows); a file of one stream uses one.")
@_scheduler_option
@_recursive_option
@_output_options
def decompress(files, test_only, threads, scheduler, recursive, **options):
    """Decompress each FILE.cmz into FILE.

    Every block is checked against its checksum, and the output file appears only after the
    whole stream has been verified. With -c, blocks are written as they are verified, and a
    damaged stream ends with an error (exit status 1). FILE "-" reads standard input and
    writes standard output (or -o PATH).

    \b
    Examples:
      cmzip decompress book1.cmz         restores book1
      cmzip decompress -o copy book1.cmz
      cmzip decompress -c logs.cmz | grep error
      cmzip decompress -t *.cmz          check integrity only
      cmzip decompress -T 0 big.tar.cmz  its streams on every core
      cmzip decompress -r -T 2 logs/     every .cmz file under logs/, two files at once
    """
    settings = _settings(files, **options)
    files, file_jobs, threads = _recursion(files, recursive, threads, scheduler, settings,
                                           lambda name: name.endswith(SUFFIX),
                                           MAX_LEVEL, DEFAULT_CHUNK_SIZE)
    if test_only:
        if settings != Settings(quiet=settings.quiet, verbose=settings.verbose):
            raise click.UsageError("-t/--test writes nothing: it takes no -o, -c, --rm or -f")
        _for_each_file(files, settings, "tested OK",
                       lambda name, stop=None: _test_file(name, settings, stop), file_jobs)
        return

    def decompress_to(source, out, progress):
        return decompress_stream(source, out, progress=progress, threads=threads,
                                 executor=executor)

    with _scheduler(scheduler, threads, MAX_LEVEL, DEFAULT_CHUNK_SIZE) as (executor, threads):
        _for_each_file(files, settings, "decompressed", lambda name, stop=None: _convert_file(
            name, settings, _decompressed_name, decompress_to, "decompressed", stop=stop),
            file_jobs)


@cli.command("test")
@click.argument("files", nargs=-1, required=True, metavar="FILE.cmz...")
@_verbosity_options
def test_command(files, quiet, verbose):
    """Check the integrity of each FILE.cmz: decode it fully and verify every checksum,
    writing nothing (like gzip -t).

    \b
    Example:
      cmzip test -v backups/*.cmz
    """
    settings = _settings(files, quiet=quiet, verbose=verbose)
    _for_each_file(files, settings, "tested OK", lambda name: _test_file(name, settings))


@cli.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE.cmz...")
def info(files):
    """Describe each FILE.cmz without decompressing it: format version, level and its
    predictors, streams and index, block count, sizes and bits per byte.

    \b
    Example:
      cmzip info book1.cmz
    """
    # quiet: several descriptions need no summary line; errors are still printed.
    _for_each_file(files, Settings(quiet=True), "described", _print_info)


def main(args=None, implied=()):
    """Entry point of the `cmzip` console script and of `python -m cmzip`: a subcommand, or
    the classic spelling (see classic.py).  implied: classic options that come first."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    from_command_line = args is None
    args = sys.argv[1:] if from_command_line else list(args)
    try:
        args = to_subcommand(args, cli.list_commands(None), implied)
    except ClassicUsageError as error:
        click.echo(f"cmzip: error: {error} (cmzip --help shows the options)", err=True)
        sys.exit(2)
    try:
        cli.main(args=args, prog_name="cmzip")
    except SystemExit as exit:
        if exit.code in (130, 128 + signal.SIGTERM) and _workers_running():
            # Interrupted while worker threads code chunks or files: the compiled loop cannot
            # be interrupted, and Python would wait for every chunk in flight before exiting
            # (seconds to minutes).  Remove the outputs still being written, and go now.
            _remove_temporary_files()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(exit.code)
        if from_command_line:
            _exit_now(exit.code)
        raise


def _exit_now(code):
    """End the process once its work is done and its output flushed, without the interpreter's
    shutdown: tearing down numba's compiled code takes about 0.3 s, more than cmzip takes to
    compress 100 KB (measured: 100 bytes at level 4, 0.90 s -> 0.59 s wall).  Only for the
    console scripts, where nothing runs after main(); every file is closed and every worker
    joined by then."""
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError, ValueError):
        code = code or 1
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)


# Thread names of the pools that code chunks, streams or files (see _workers_running).
WORKER_THREAD_PREFIX = "cmzip-worker"


def _workers_running():
    return any(thread.name.startswith(WORKER_THREAD_PREFIX) and thread.is_alive()
               for thread in threading.enumerate())


# Temporary outputs being written, by any thread: removed on the way out after an interrupt.
_TEMPORARY_FILES = set()
_TEMPORARY_FILES_LOCK = threading.Lock()


def _remove_temporary_files():
    with _TEMPORARY_FILES_LOCK:
        for path in list(_TEMPORARY_FILES):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        _TEMPORARY_FILES.clear()


def cat_main():
    """Entry point of `cmzcat`: cmzip -d -c, as xzcat is xz -d -c."""
    main(implied=["-d", "-c"])


def uncompress_main():
    """Entry point of `uncmzip`: cmzip -d, as unxz is xz -d."""
    main(implied=["-d"])


def _exit_on_sigterm(signum, frame):
    # Unwinding like Ctrl-C does removes any temporary output file on the way out.
    raise SystemExit(128 + signum)


# ---------------------------------------------------------------------------- per file

_FILE_ERRORS = (CmzipError, WorkerError, OSError, click.ClickException)


class _Stopped(Exception):
    """A file's work was stopped because the run was interrupted (its output is removed)."""


def _for_each_file(files, settings, verb, action, jobs=1):
    """Run action(name) on every file, reporting each failure in one line and going on with
    the next file; exit with status 1 if any failed, 130 on Ctrl-C.  jobs > 1: that many files
    at once, on threads; action(name, stop) then ends early (removing its output) once the
    event `stop` is set, which Ctrl-C and SIGTERM do."""
    failed = 0
    try:
        if jobs > 1 and len(files) > 1:
            outcomes = _run_files_in_parallel(files, action, jobs)
        else:
            outcomes = ((name, _outcome(action, name)) for name in files)
        for name, error in outcomes:
            if error is not None:
                failed += 1
                click.echo(f"cmzip: error: {_display(name)}: {_message(error, name)}", err=True)
    except KeyboardInterrupt:
        click.echo("cmzip: interrupted", err=True)
        sys.exit(130)
    if len(files) > 1 and not settings.quiet:
        click.echo(f"cmzip: {len(files) - failed} of {len(files)} files {verb}"
                   + (f", {failed} failed" if failed else ""), err=True)
    if failed:
        sys.exit(1)


def _outcome(action, name, *args):
    """None if action(name) succeeded, the error if it failed as a file can fail."""
    try:
        action(name, *args)
    except _FILE_ERRORS as error:
        return error
    return None


def _run_files_in_parallel(files, action, jobs):
    """Yield (name, its error or None) in the order of files, running `jobs` at once."""
    from concurrent.futures import ThreadPoolExecutor
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix=WORKER_THREAD_PREFIX)
    futures = [pool.submit(_outcome, action, name, stop) for name in files]
    try:
        for name, future in zip(files, futures):
            yield name, future.result()
    except BaseException:
        # Ctrl-C, SIGTERM (SystemExit) or an unexpected error: the files not started never
        # start, and those running stop at their next block, removing their outputs (main()
        # removes them at once when it exits without waiting).
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def _stoppable(progress, stop):
    """The progress callback, raising _Stopped once stop is set (called after every block)."""
    if stop is None:
        return progress

    def check(done):
        if stop.is_set():
            raise _Stopped("interrupted")
        if progress:
            progress(done)
    return check


def _convert_file(name, settings, output_name, convert, verb, verify=False, stop=None):
    """Compress or decompress one file: convert(source, out, progress) -> StreamSizes.  stop:
    an event that ends the work early (see _for_each_file); several files at once get no bar."""
    target = _target(name, settings, output_name)
    with _open_source(name) as source, _open_target(target, name, settings.force, verify) as out:
        start = time.perf_counter()
        with progress_bar(_size_of(source) if stop is None else None, _display(name)) as progress:
            sizes = convert(source, out, _stoppable(progress, stop))
        seconds = time.perf_counter() - start
        if verify:
            _verify(out)
    if not settings.keep and target is not None and name != STDIO:
        os.remove(name)   # only now: the output is complete and in place
    if settings.verbose:
        _report(name, sizes, seconds, f"{verb} to {target or '<stdout>'}"
                + (", verified" if verify else ""))


def _test_file(name, settings, stop=None):
    with _open_source(name) as source:
        start = time.perf_counter()
        with progress_bar(_size_of(source) if stop is None else None, _display(name)) as progress:
            sizes = decompress_stream(source, None, progress=_stoppable(progress, stop))
    if settings.verbose:
        _report(name, sizes, time.perf_counter() - start, "OK")


def _verify(out):
    out.flush()
    out.seek(0)
    try:
        decompress_stream(out, None)
    except CmzipError as error:
        raise Failure(f"verification failed: {error}") from error


def _learner_line(summary):
    if not summary["bytes"]:
        return f"{summary['name']}: no bytes seen"
    return (f"{summary['name']}: {summary['bits_per_byte']:.3f} bits/byte on its own over "
            f"{summary['bytes']} bytes (recent {summary['ema_bits_per_byte']:.3f}, trend "
            f"{summary['trend']:+.3f}), {summary['updates']} updates")


def _print_info(name):
    with _open_source(name) as source:
        stream = read_info(source)
    level = stream.header.level
    first_block = stream.blocks[0].raw_len if stream.blocks else None
    rows = [("format version", stream.header.version), ("level", level)]
    rows += [(key.replace("_", " "), _listing(value))
             for key, value in describe_level(level, stream.header.flags, first_block).items()
             if key != "level"]
    bits_per_byte = stream.bits_per_byte
    rows += [
        ("block size", f"{stream.header.block_size} bytes"),
        ("streams", stream.streams),
        ("index", _index_line(stream)),
        ("blocks", len(stream.blocks)),
        ("original size", f"{stream.original_size} bytes"),
        ("compressed size", f"{stream.compressed_size} bytes"),
        ("bits per byte", "-" if bits_per_byte is None else f"{bits_per_byte:.3f}"),
    ]
    width = max(len(key) for key, _ in rows)
    click.echo(f"{_display(name)}:")
    for key, value in rows:
        click.echo(f"  {key:<{width}}  {value}")


def _index_line(stream):
    if not stream.indexes:
        return "none"
    frames = f"{stream.indexes} frame" + ("s" if stream.indexes > 1 else "")
    return f"yes, at the end ({frames})" if stream.ends_with_index else f"{frames}, not at the end"


def _listing(value):
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _report(name, sizes, seconds, outcome):
    """The -v line for one file."""
    original, compressed = sizes
    bits_per_byte = f"{8 * compressed / original:.3f}" if original else "-"
    speed = original / 1000 / seconds if seconds > 0 else 0.0
    click.echo(f"{_display(name)}: {outcome}: {original} bytes original, {compressed} bytes "
               f"compressed, {bits_per_byte} bits/byte, {seconds:.2f} s, {speed:.1f} KB/s", err=True)


# ---------------------------------------------------------------------------- inputs and outputs

def _display(name):
    return "<stdin>" if name == STDIO else name


def _message(error, name):
    """The text after `cmzip: error: NAME: ` for an error."""
    if isinstance(error, click.ClickException):
        return error.format_message()
    if isinstance(error, OSError) and error.strerror:
        if error.filename is not None and error.filename != name:
            return f"{error.strerror}: {error.filename}"
        return error.strerror
    return str(error)


def _target(name, settings, output_name):
    """The output path for input `name`, or None for standard output."""
    if settings.to_stdout:
        return None
    if settings.output is not None:
        return settings.output
    if name == STDIO:
        return None
    return output_name(name, settings.force)


def _compressed_name(name, force):
    if name.endswith(SUFFIX) and not force:
        raise Failure(f"already has the {SUFFIX} suffix; use -f to compress it again")
    return name + SUFFIX


def _decompressed_name(name, force):
    if not name.endswith(SUFFIX) or os.path.basename(name) == SUFFIX:
        raise Failure(f"name does not end in {SUFFIX}; use -o PATH or -c to choose the output")
    return name[:-len(SUFFIX)]


def _open_source(name):
    if name == STDIO:
        return contextlib.nullcontext(click.get_binary_stream("stdin"))
    return open(name, "rb")


def _size_of(file):
    """The size of a regular file behind a file object, else None (pipes, terminals)."""
    try:
        status = os.fstat(file.fileno())
    except OSError:
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


@contextlib.contextmanager
def _open_target(path, source, force, readable=False):
    """Yield a binary file for the output; path None means standard output.

    A file output goes to a temporary file in the target directory, which is renamed to
    path only when the with-block ends normally, and removed otherwise. readable asks for a
    file that can be read back (for --verify): standard output then gets the data only
    after the block ended normally.
    """
    if path is None:
        stdout = click.get_binary_stream("stdout")
        if readable:
            with tempfile.TemporaryFile() as temp:
                yield temp
                temp.seek(0)
                for chunk in iter(lambda: temp.read(1 << 20), b""):
                    write_all(stdout, chunk)
        else:
            yield stdout
        stdout.flush()
        return
    _check_can_write(path, source, force)
    descriptor, temp_path = tempfile.mkstemp(
        dir=os.path.dirname(path) or ".", prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    with _TEMPORARY_FILES_LOCK:
        _TEMPORARY_FILES.add(temp_path)
    try:
        with os.fdopen(descriptor, "w+b") as temp:
            yield temp
            temp.flush()
            os.fsync(temp.fileno())   # on disk before the rename, and before any --rm
        _copy_metadata(source, temp_path)
        _check_can_write(path, source, force)   # again: it may have appeared meanwhile
        os.replace(temp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temp_path)
        raise
    finally:
        with _TEMPORARY_FILES_LOCK:
            _TEMPORARY_FILES.discard(temp_path)


def _check_can_write(path, source, force):
    if source != STDIO and os.path.exists(path) and os.path.samefile(source, path):
        raise Failure(f"output {path} is the input file")
    if os.path.lexists(path) and not force:
        raise Failure(f"output {path} already exists; use -f to overwrite")


def _copy_metadata(source, temp_path):
    """Give the output the input's permissions and times, as gzip does; from standard
    input, the permissions of a new file (mkstemp creates it private to the owner)."""
    if source == STDIO:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_path, 0o666 & ~umask)
    else:
        shutil.copystat(source, temp_path)
