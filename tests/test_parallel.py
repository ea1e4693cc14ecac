"""One executor path: chunks compressed (and streams decoded) on threads, a process pool or a
Dask cluster give the same bytes, come back in order with a bounded number in flight, and a
worker that dies ends in a retry or a clear error, never a wrong file."""
import concurrent.futures
import io
import os
import signal

import pytest
from click.testing import CliRunner

import cmzip
import cmzip.cli
from cmzip import parallel
from cmzip.container import compress_stream, decompress_stream, read_info
from cmzip.errors import WorkerError
from cmzip.samples import sample

BLOCK = 1 << 16
CHUNK = 2 * BLOCK


@pytest.fixture(scope="module")
def data():
    return sample("text", 4 * CHUNK + 1000, seed=11) + sample("binary", CHUNK, seed=12)


def compressed(data, threads=None, executor=None, progress=None, out=None):
    out = io.BytesIO() if out is None else out
    compress_stream(io.BytesIO(data), out, 1, block_size=BLOCK, chunk_size=CHUNK,
                    threads=threads, executor=executor, progress=progress)
    return out.getvalue()


@pytest.fixture(scope="module")
def expected(data):
    return compressed(data, threads=2)


def decompressed(blob, threads=None, executor=None):
    out = io.BytesIO()
    decompress_stream(io.BytesIO(blob), out, threads=threads, executor=executor)
    return out.getvalue()


def test_threads_give_the_bytes_of_one_thread(data, expected):
    assert read_info(io.BytesIO(expected)).streams == 6
    for threads in (1, 4):
        assert compressed(data, threads) == expected
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        assert compressed(data, executor=pool) == expected
        assert decompressed(expected, executor=pool) == data


class LastFirst(concurrent.futures.Executor):
    """Runs nothing until a result is asked for, then everything submitted so far, the last
    submitted first: tasks finish in the reverse of their order."""

    def __init__(self):
        self.queue = []
        self.finished = []          # task numbers, in the order they finished

    def submit(self, function, *args):
        future = _RunOnDemand(self)
        self.queue.append((len(self.queue) + len(self.finished), future, function, args))
        return future

    def run_all(self):
        while self.queue:
            number, future, function, args = self.queue.pop()
            future.set_result(function(*args))
            self.finished.append(number)


class _RunOnDemand(concurrent.futures.Future):
    def __init__(self, executor):
        super().__init__()
        self._executor = executor

    def result(self, timeout=None):
        self._executor.run_all()
        return super().result(timeout)


def test_results_are_written_in_order_whatever_order_they_finish_in(data, expected):
    executor = LastFirst()
    assert compressed(data, threads=3, executor=executor) == expected
    assert executor.finished[:3] == [2, 1, 0]          # the third chunk finished first
    executor = LastFirst()
    assert decompressed(expected, threads=4, executor=executor) == data
    assert executor.finished[:4] == [3, 2, 1, 0]


class Counting(concurrent.futures.ThreadPoolExecutor):
    """A thread pool that counts the tasks submitted whose result was not yet taken."""

    def __init__(self, workers):
        super().__init__(workers)
        self.outstanding = self.peak = 0

    def submit(self, function, *args):
        self.outstanding += 1
        self.peak = max(self.peak, self.outstanding)
        future = super().submit(function, *args)
        taken = future.result

        def result(timeout=None):
            self.outstanding -= 1
            return taken(timeout)
        future.result = result
        return future


@pytest.mark.parametrize("threads, in_flight", [(None, 4), (1, 1), (2, 2), (3, 3)])
def test_at_most_the_asked_number_of_chunks_are_in_flight(data, expected, threads, in_flight):
    """threads chunks at most; with an executor and the default threads=None, its worker
    count (threads=1 is one at a time: a cluster measured against itself with one worker)."""
    with Counting(4) as pool:
        assert compressed(data, threads=threads, executor=pool) == expected
        assert pool.peak == in_flight
        pool.peak = 0
        assert decompressed(expected, threads=threads, executor=pool) == data
        assert pool.peak == in_flight


def test_a_process_pool_gives_the_same_bytes(data, expected):
    with parallel.process_pool(2) as pool:
        assert compressed(data, executor=pool) == expected
        assert decompressed(expected, executor=pool) == data


def test_a_worker_failure_is_one_clear_error_and_nothing_after_it(data, expected):
    class Failing(concurrent.futures.ThreadPoolExecutor):
        submitted = 0

        def submit(self, function, *args):
            Failing.submitted += 1
            if Failing.submitted == 3:            # the third chunk's worker runs out of memory
                function = _raise_memory_error
            return super().submit(function, *args)

    out = io.BytesIO()
    with Failing(2) as pool, pytest.raises(WorkerError, match="MemoryError"):
        compressed(data, threads=2, executor=pool, out=out)
    written = out.getvalue()
    assert written == expected[:len(written)]                   # the first two streams, whole
    assert cmzip.decompress(written) == data[:2 * CHUNK]


def _raise_memory_error(*args):
    raise MemoryError("no room for the models")


def test_a_dead_process_pool_worker_is_a_clear_error(data):
    with parallel.process_pool(1) as pool:
        pool.submit(os.getpid).result()                     # the worker has started
        (pid,) = [process.pid for process in pool._processes.values()]
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(WorkerError, match="worker process died"):
            compressed(data, executor=pool)


def test_the_command_line_reports_a_worker_failure_and_leaves_no_file(tmp_path, monkeypatch):
    source = tmp_path / "notes.txt"
    source.write_bytes(b"notes " * 1000)

    def dies(source, out, level, **options):
        out.write(b"the first streams")
        raise WorkerError("Dask workers died while running a task, too many times to retry")
    monkeypatch.setattr(cmzip.cli, "compress_stream", dies)
    result = CliRunner().invoke(cmzip.cli.cli, ["compress", str(source)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"cmzip: error: {source}: Dask workers died while running a task, too many times to retry"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_an_unreachable_scheduler_is_a_one_line_error(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT_S", 1)
    source = tmp_path / "notes.txt"
    source.write_bytes(b"notes")
    result = CliRunner().invoke(cmzip.cli.cli, ["compress", "--scheduler", "tcp://127.0.0.1:9",
                                                str(source)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cmzip: error: cannot reach the Dask scheduler")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_processes_on_the_command_line(tmp_path, data, expected):
    source = tmp_path / "data.bin"
    source.write_bytes(data)
    result = CliRunner().invoke(cmzip.cli.cli, [
        "compress", "-l", "1", "--chunk-size", "4M", "-T", "2", "--scheduler", "processes",
        str(source)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data.bin.cmz").read_bytes() == cmzip.compress(data, 1)


# ---------------------------------------------------------------------------- a Dask cluster

@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as local_cluster, \
            distributed.Client(local_cluster) as client:
        yield local_cluster, client


@pytest.fixture
def client(cluster):
    local_cluster, client = cluster
    client.wait_for_workers(2, timeout=60)       # after a test killed one
    return client


@pytest.mark.slow
def test_a_dask_cluster_gives_the_same_bytes(client, data, expected, tmp_path):
    assert compressed(data, executor=client) == expected
    assert compressed(data, threads=3, executor=client.get_executor()) == expected
    assert decompressed(expected, executor=client) == data
    # The command line, with the cluster's scheduler address.
    source = tmp_path / "data.bin"
    source.write_bytes(data)
    result = CliRunner().invoke(cmzip.cli.cli, [
        "compress", "-l", "1", "--chunk-size", "4M", "--scheduler", client.scheduler.address,
        str(source)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data.bin.cmz").read_bytes() == cmzip.compress(data, 1)


def _killer(client, how_many):
    """A progress callback that kills how_many workers of the cluster the first time it is
    called: the other chunks in flight are on them or queued."""
    killed = []

    def progress(done):
        if not killed:
            pids = list(client.run(os.getpid).values())[:how_many]
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            killed.extend(pids)
    return progress, killed


@pytest.mark.slow
def test_a_killed_worker_ends_in_a_retry_or_a_clear_error(client, data, expected):
    progress, killed = _killer(client, 1)
    out = io.BytesIO()
    try:
        compressed(data, threads=4, executor=client, progress=progress, out=out)
    except WorkerError:
        written = out.getvalue()
        assert written == expected[:len(written)]           # complete streams, then nothing
    else:
        assert out.getvalue() == expected                   # retried on another worker
    assert len(killed) == 1


@pytest.mark.slow
def test_workers_that_die_with_no_retries_left_are_a_clear_error(cluster, client, data, expected):
    local_cluster, _ = cluster
    scheduler = local_cluster.scheduler
    allowed, scheduler.allowed_failures = scheduler.allowed_failures, 0
    progress, killed = _killer(client, 2)
    out = io.BytesIO()
    try:
        with pytest.raises(WorkerError, match="Dask workers died"):
            compressed(data, threads=4, executor=client, progress=progress, out=out)
    finally:
        scheduler.allowed_failures = allowed
    written = out.getvalue()
    assert len(killed) == 2 and written and written == expected[:len(written)]
