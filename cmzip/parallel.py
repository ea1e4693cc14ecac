"""Running independent pieces of work (chunks to compress, streams to decode, files) on a
concurrent.futures.Executor: a thread pool (the compiled loop releases the GIL), a process pool,
or a Dask cluster through distributed's Client.get_executor().  One code path for all three:
results come back in order, with at most a fixed number of tasks in flight, so memory stays
bounded whatever the input size.

Only the standard library is imported here; Dask is imported when a scheduler address is given.
"""
import collections
import concurrent.futures
import os
import signal

from .errors import CmzipError, WorkerError

# What `--scheduler` accepts besides a Dask scheduler address.
LOCAL_SCHEDULERS = ("threads", "processes")
# How long to try to reach a Dask scheduler before giving up.
CONNECT_TIMEOUT_S = 10


def in_order(executor, tasks, in_flight):
    """Run tasks, an iterable of (function, args, tag), on executor, with at most `in_flight`
    of them submitted and not yet handed back; yield (tag, result) in the order of the tasks.

    The iterable is read only as results are handed back (bounded memory: it can read the input
    as it goes).  A CmzipError raised by the iterable itself (damage found while reading ahead)
    is raised after every result before it was yielded, so that everything verified before the
    damage is delivered.  A task that fails with CmzipError raises it; one that fails in any
    other way (a worker that died, a cluster that went away) raises WorkerError: the caller
    never sees a partial or reordered result."""
    pending = collections.deque()          # (future, tag), in task order
    damage = None
    tasks = iter(tasks)
    try:
        while True:
            try:
                function, args, tag = next(tasks)
            except StopIteration:
                break
            except CmzipError as error:
                damage = error
                break
            pending.append((executor.submit(function, *args), tag))
            if len(pending) >= in_flight:
                future, tag = pending.popleft()
                yield tag, result_of(future)
        while pending:
            future, tag = pending.popleft()
            yield tag, result_of(future)
    finally:
        for future, _ in pending:          # after an error: nothing more is needed
            future.cancel()
    if damage is not None:
        raise damage


def result_of(future):
    """The future's result; CmzipError as it is, any other failure as one WorkerError."""
    try:
        return future.result()
    except CmzipError:
        raise
    except Exception as error:   # from a worker: anything, including its death
        raise WorkerError(describe_failure(error)) from error


def describe_failure(error):
    name = type(error).__name__
    if isinstance(error, concurrent.futures.process.BrokenProcessPool):
        return "a worker process died (the process pool is broken); nothing was written for it"
    if name == "KilledWorker":   # distributed: the task's workers died too many times
        return f"Dask workers died while running a task, too many times to retry ({error})"
    if isinstance(error, concurrent.futures.CancelledError):
        return "a task was cancelled (the cluster or its client went away)"
    return f"a task failed on a worker: {name}: {error}"


def workers_of(executor):
    """How many tasks the executor runs at once: its worker count (the threads of every worker
    of a Dask cluster); the number of cores if it does not say."""
    count = getattr(executor, "_max_workers", None)
    client = getattr(executor, "_client", None)
    if count is None and client is not None:
        try:
            count = sum(client.nthreads().values())
        except Exception:
            count = None
    return max(1, count or os.cpu_count() or 1)


def as_executor(executor):
    """A concurrent.futures.Executor: the one given, or a Dask Client's executor (tasks are
    not pure: equal chunks are two tasks, and no input is hashed)."""
    if isinstance(executor, concurrent.futures.Executor):
        return executor
    if hasattr(executor, "get_executor"):
        return executor.get_executor(pure=False)
    raise TypeError(f"executor must be a concurrent.futures.Executor or a dask.distributed "
                    f"Client, got {type(executor).__name__}")


def _ignore_interrupts():
    # In a worker process: Ctrl-C reaches the whole process group, and the parent alone
    # handles it (it removes its partial output); workers must not print tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def process_pool(workers):
    """A process pool whose workers start fresh (spawn: no copied threads or locks), leave
    Ctrl-C to the parent, and import cmzip themselves."""
    import multiprocessing
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
        initializer=_ignore_interrupts)


def stop_process_pool(pool):
    """Shut a process pool down now: queued work cancelled, running workers terminated (after
    an error or an interrupt, their results are not wanted)."""
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()


def dask_client(address, timeout=None):
    """A distributed.Client connected to the scheduler at address; WorkerError if Dask is not
    installed or the scheduler cannot be reached."""
    try:
        from distributed import Client
    except ImportError:
        raise WorkerError("a Dask scheduler needs Dask: pip install cmzip[dask]") from None
    try:
        return Client(address, timeout=timeout or CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, ValueError) as error:
        raise WorkerError(f"cannot reach the Dask scheduler at {address}: {error}") from None
