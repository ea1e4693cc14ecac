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
    """The compiled block loop releases the GIL: two threads coding different inputs at once
    give exactly the bytes of one at a time, in less wall time than one after the other (on a
    machine with two cores or more)."""
    import os
    import time
    inputs = [sample("text", 600_000, seed=21), sample("binary", 600_000, seed=22)]
    cmzip.compress(b"warm up the compiled code", 1)
    start = time.perf_counter()
    alone = [cmzip.compress(data, 1) for data in inputs]
    serial = time.perf_counter() - start
    with ThreadPoolExecutor(max_workers=2) as pool:
        start = time.perf_counter()
        together = list(pool.map(lambda data: cmzip.compress(data, 1), inputs))
        parallel = time.perf_counter() - start
    assert together == alone
    assert [cmzip.decompress(p) for p in together] == inputs
    if (os.cpu_count() or 1) >= 2:
        assert parallel < 0.85 * serial, (parallel, serial)
