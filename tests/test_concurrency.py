"""Concurrent use: compressing (and decompressing) in several threads or processes at once gives
exactly the bytes that one caller alone gets. Catches shared mutable state: lazily built tables,
module-level caches or buffers that two callers could fill at the same time."""
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

import cmzip
from cmzip.samples import sample

JOBS = [(sample("text", 1500, seed=1), 1), (sample("binary", 1200, seed=2), 5),
        (sample("text", 900, seed=3), 5), (sample("redundant", 2000, seed=4), 1)]


def _compress(job):
    data, level = job
    return cmzip.compress(data, level)


@pytest.fixture(scope="module")
def expected():
    """What a single caller gets, one job after another."""
    return [_compress(job) for job in JOBS]


def test_threads_give_the_same_bytes(expected):
    jobs = JOBS * 2   # every input twice, so that identical work also overlaps
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        assert list(pool.map(_compress, jobs)) == expected * 2
        assert list(pool.map(cmzip.decompress, expected * 2)) == [data for data, _ in jobs]


def test_processes_give_the_same_bytes(expected):
    # spawn: fresh interpreters that build every table themselves, as separate runs would
    with ProcessPoolExecutor(max_workers=3, mp_context=multiprocessing.get_context("spawn")) as pool:
        assert list(pool.map(_compress, JOBS)) == expected
        assert list(pool.map(cmzip.decompress, expected)) == [data for data, _ in JOBS]


def test_two_threads_code_side_by_side_and_give_the_same_bytes():
    """Two threads coding different inputs at once give exactly the bytes of one at a time."""
    inputs = [sample("text", 300_000, seed=21), sample("binary", 300_000, seed=22)]
    alone = [cmzip.compress(data, 1) for data in inputs]
    with ThreadPoolExecutor(max_workers=2) as pool:
        together = list(pool.map(lambda data: cmzip.compress(data, 1), inputs))
    assert together == alone
    assert [cmzip.decompress(p) for p in together] == inputs


def test_the_compiled_loop_releases_the_gil():
    """While one thread is inside the compiled block loop, Python code runs in another: the
    main thread counts while a worker compresses.  (Whether that makes two threads faster
    than one is for `cmzip bench --threads`, not a timed unit test on a shared machine.)  With
    the GIL held, the count could only move before the call starts or after it ends, never
    while the worker is inside it."""
    import threading
    from cmzip.codec import Codec
    data = sample("text", 400_000, seed=23)
    Codec(1).encode_block(b"warm up the compiled code")
    codec = Codec(1)
    codec._start(len(data))             # the models, built before the timed part
    inside = threading.Event()
    done = threading.Event()

    def worker():
        inside.set()
        codec.encode_block(data)        # about 0.3 s in the compiled loop
        done.set()

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait()
    count = 0
    while not done.is_set():
        count += 1
    thread.join()
    assert count > 200_000, count
