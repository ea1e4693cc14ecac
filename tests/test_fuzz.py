"""Fuzzing of decompression: hypothesis mutates valid .cmz streams (bit flips, truncation,
extension, overwritten bytes, header fields set to extremes with or without a valid check,
block headers that consistently claim huge blocks), and every case must end in CmzipError or the
original bytes, quickly, never in another exception. Derandomized, so CI runs the same cases
every time; the case count is printed (pytest -s, or -rP) and checked: 1500 cases in about a
minute.

"Quickly" has a limit that no check can lower: a payload of W words may legitimately decode to
as much as its information allows (cmzip.coder's bounds stop it there), and the models grow
confident enough that a few hundred bytes of payload can code megabytes. So the seeds are small
and junk payloads short, and each case gets CASE_SECONDS of CPU, plus, when a block header claims
more bytes than the seed holds, CPU in proportion to the claim at a generous rate for the seed's
level: decoding the claimed bytes is work the format allows (measured: the level-5 seed's own
payload under a 65537-byte claim decoded almost the whole claim before the range decoder gave up,
5.9 s of CPU; other claims and junk payloads failed within 0.6 s), and the wall-clock hang guard
still ends any case at HANG_SECONDS.

Also: a block header that claims the largest block (2**26 bytes) over a tiny payload fails
fast and without allocating more than the model plus a small multiple of the claim.
"""
import functools
import io
import json
import signal
import struct
import subprocess
import sys
import time
import zlib
from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import cmzip
from cmzip import CmzipError, CmzipFile
from cmzip.container import DEFAULT_BLOCK_SIZE
from cmzip.samples import sample

FUZZ_EXAMPLES = 1500
CASE_SECONDS = 2.0       # CPU time of one case, this thread's only (robust to a busy machine)
HANG_SECONDS = 60        # wall-clock guard: a case still running after this is a hang
# CPU seconds per claimed byte beyond the seed's size: about 3x the slowest decoding measured
# (level 5 with its GRU, 64 lanes: 90 us per byte on a slow day; level 1: under 10 us)
CLAIM_SECONDS_PER_BYTE = {1: 3e-5, 5: 3e-4}

HEADER = 16           # the stream header; block headers and the trailer have varints in them
CHECKED_TAIL = 6      # after their varints: a CRC-32 and the 16-bit check


def varint(value):
    """value as a canonical unsigned LEB128 varint (the documented layout)."""
    groups = [value & 0x7F]
    while value := value >> 7:
        groups.append(value & 0x7F)
    return bytes(group | 0x80 for group in groups[:-1]) + bytes(groups[-1:])


def read_varint(blob, at):
    """(value, position after it) of the varint at blob[at]."""
    value = shift = 0
    while True:
        byte = blob[at]
        value, shift, at = value | (byte & 0x7F) << shift, shift + 7, at + 1
        if not byte & 0x80:
            return value, at


def check16(fields):
    return struct.pack("<H", zlib.crc32(fields) & 0xFFFF)


@dataclass(frozen=True)
class Span:
    """A block header or the trailer of a seed: where it is and what it says."""
    start: int
    end: int             # after its 16-bit check
    lengths: tuple       # its varints: (raw_len, payload_len) or (total_len,)
    crc: int             # raw_crc or total_crc


@dataclass(frozen=True)
class Seed:
    name: str
    level: int
    original: bytes
    blob: bytes
    blocks: tuple        # of Span
    trailer: Span


def _span(blob, at, count):
    start, lengths = at, []
    for _ in range(count):
        value, at = read_varint(blob, at)
        lengths.append(value)
    return Span(start, at + CHECKED_TAIL, tuple(lengths), struct.unpack_from("<I", blob, at)[0])


def _make_seed(name, level, original, block_size=DEFAULT_BLOCK_SIZE):
    out = io.BytesIO()
    with CmzipFile(out, "wb", level=level, block_size=block_size) as f:
        f.write(original)
    blob = out.getvalue()
    blocks, at = [], HEADER
    while blob[at] != 0:   # the end marker: a raw_len of 0
        blocks.append(_span(blob, at, 2))
        at = blocks[-1].end + blocks[-1].lengths[1]
    trailer = _span(blob, at + 1, 1)
    assert trailer.end == len(blob) and trailer.lengths == (len(original),)
    return Seed(name, level, original, blob, tuple(blocks), trailer)


@functools.cache
def seeds():
    """Small valid streams: one block at levels 1 and 5; two blocks (2**16 bytes, 200 bytes)
    at level 1, for damage to a block that follows another."""
    return (
        _make_seed("tiny-l1", 1, b"tiny cmzip input \x00\x01\xfe\xff tiny\n"),
        _make_seed("small-l5", 5, sample("text", 80, seed=6) + sample("binary", 40, seed=6)),
        _make_seed("two-blocks-l1", 1, sample("redundant", (1 << 16) + 200, seed=6), 1 << 16),
    )


# ---------------------------------------------------------------------------- mutations

def _reseal(blob, start, end):
    if end + 4 <= len(blob):
        blob[end:end + 4] = struct.pack("<I", zlib.crc32(blob[start:end]))


# The stream header's fields: (struct format, offset). Those of the block headers and the
# trailer: (which header, index among its varints or None for its CRC-32, bits).
STREAM_FIELDS = {"version": ("<B", 4), "level": ("<B", 5), "block_log": ("<B", 6),
                 "flags": ("<B", 7), "fingerprint": ("<I", 8)}
VARINT_FIELDS = {"raw_len": ("block", 0, 64), "payload_len": ("block", 1, 64),
                 "raw_crc": ("block", None, 32),
                 "total_len": ("trailer", 0, 64), "total_crc": ("trailer", None, 32)}
FIELDS = {**STREAM_FIELDS, **VARINT_FIELDS}
EXTREMES = [0, 1, 2, 3, 15, 16, 26, 27, 127, 128, 255, 2**14, 2**16, 2**22, 2**26, 2**26 + 1,
            2**28, 2**31, 2**32 - 1, 2**32, 2**35, 2**63, 2**64 - 1]


def set_field(blob, seed, field, value, block, reseal):
    """Set a header field to an extreme value; usually keep its header's check valid, so that
    the field's own validation is what must catch it. A block header (block picks the first or
    last) or the trailer is rewritten where it was before any other mutation, from the seed's
    fields with the one changed, so a varint may grow or shrink; without reseal it keeps its
    old 16-bit check."""
    if field in STREAM_FIELDS:
        fmt, offset = STREAM_FIELDS[field]
        if offset + struct.calcsize(fmt) > len(blob):
            return
        struct.pack_into(fmt, blob, offset, value & ((1 << 8 * struct.calcsize(fmt)) - 1))
        if reseal:
            _reseal(blob, 0, HEADER - 4)
        return
    which, index, bits = VARINT_FIELDS[field]
    span = seed.blocks[block] if which == "block" else seed.trailer
    if span.end > len(blob):
        return
    lengths, crc = list(span.lengths), span.crc
    if index is None:
        crc = value & ((1 << bits) - 1)
    else:
        lengths[index] = value & ((1 << bits) - 1)
    fields = b"".join(map(varint, lengths)) + struct.pack("<I", crc)
    check = check16(fields) if reseal else blob[span.end - 2:span.end]
    blob[span.start:span.end] = fields + check


def claim_block(blob, seed, raw_len, block, junk, big_blocks):
    """Make a block header claim raw_len bytes consistently (its check valid), optionally over
    a junk payload, optionally allowing 2**26-byte blocks in the stream header: what a hostile
    file would do to make the decoder work hard."""
    if len(blob) != len(seed.blob):
        return
    span = seed.blocks[block]
    if big_blocks:
        blob[6] = 26
        _reseal(blob, 0, 12)
    payload_len = span.lengths[1]
    payload = blob[span.end:span.end + payload_len]
    if junk is not None:
        payload = junk
    fields = varint(raw_len) + varint(len(payload)) + struct.pack("<I", span.crc)
    blob[span.start:span.end + payload_len] = fields + check16(fields) + payload


def flip(blob, seed, position, bit):
    if blob:
        blob[position % len(blob)] ^= 1 << bit


def truncate(blob, seed, cut):
    del blob[cut % (len(blob) + 1):]


def extend(blob, seed, junk):
    blob += junk


def overwrite(blob, seed, position, junk):
    if blob:
        position %= len(blob)
        blob[position:position + len(junk)] = junk[:len(blob) - position]


blocks = st.sampled_from([0, -1])
mutations = st.one_of(
    st.tuples(st.just(flip), st.integers(0, 1 << 20), st.integers(0, 7)),
    st.tuples(st.just(truncate), st.integers(0, 1 << 20)),
    st.tuples(st.just(extend), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just(overwrite), st.integers(0, 1 << 20), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just(set_field), st.sampled_from(sorted(FIELDS)),
              st.one_of(st.sampled_from(EXTREMES), st.integers(0, 2**64 - 1)), blocks,
              st.sampled_from([True, True, True, False])),   # mostly with a valid CRC
    # Junk payloads are at most 8 bytes: the decoding work a payload can cause is bounded by
    # what it could code if valid (see cmzip.coder.BitDecoder), so long junk is slow, not wrong.
    st.tuples(st.just(claim_block), st.sampled_from([1, 2, 2**16, 2**16 + 1, 2**22, 2**26]),
              blocks, st.none() | st.binary(max_size=8), st.booleans()),
)

OUTCOMES = Counter()
SLOWEST = {"seconds": 0.0, "case": None}


class Hang(BaseException):
    """Not an Exception: cmzip must not be able to turn it into a CmzipError."""


def _hang(signum, frame):
    raise Hang(f"a fuzz case ran for over {HANG_SECONDS} s")


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate, Phase.shrink],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(seed=st.integers(0, 2), steps=st.lists(mutations, min_size=1, max_size=3))
def fuzz_case(seed, steps):
    seed = seeds()[seed]
    blob = bytearray(seed.blob)
    for mutate, *arguments in steps:
        mutate(blob, seed, *arguments)
    previous = signal.signal(signal.SIGALRM, _hang)
    signal.alarm(HANG_SECONDS)
    start = time.thread_time()
    try:
        restored = cmzip.decompress(bytes(blob))
        outcome = "original" if restored == seed.original else "WRONG OUTPUT"
    except CmzipError:
        outcome = "CmzipError"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    seconds = time.thread_time() - start
    OUTCOMES[outcome] += 1
    if seconds > SLOWEST["seconds"]:
        SLOWEST.update(seconds=seconds, case=(seed.name, steps))
    assert outcome != "WRONG OUTPUT", "a damaged stream decoded to different bytes"
    claimed = max([arguments[0] for mutate, *arguments in steps if mutate is claim_block], default=0)
    extra = max(0, claimed - len(seed.original)) * CLAIM_SECONDS_PER_BYTE[seed.level]
    limit = min(CASE_SECONDS + extra, HANG_SECONDS)
    assert seconds < limit, f"case took {seconds:.2f} s of CPU (limit {limit:.1f} s)"


def test_fuzz_decompression(record_property):
    OUTCOMES.clear()
    fuzz_case()
    cases = sum(OUTCOMES.values())
    summary = (f"{cases} fuzz cases: {OUTCOMES['CmzipError']} CmzipError, "
               f"{OUTCOMES['original']} decoded to the original; slowest "
               f"{SLOWEST['seconds']:.2f} s CPU ({SLOWEST['case'][0]})")
    print(summary)
    record_property("fuzz_cases", cases)
    assert cases == FUZZ_EXAMPLES, summary
    assert OUTCOMES["CmzipError"] > cases * 0.8, summary   # the mutations do damage


# ---------------------------------------------------------------------------- a hostile claim

@pytest.mark.parametrize("level, size", [(1, 1 << 17), (5, 1 << 14), (9, 1 << 11)])
def test_the_information_check_passes_the_most_redundant_data(level, size):
    """Zeros compress best: the fewest payload bits per byte, where a check that bounds the
    bytes a payload may decode to could reject a valid block."""
    data = bytes(size) + b"end"
    packed = cmzip.compress(data, level)
    assert len(packed) < size / 20
    assert cmzip.decompress(packed) == data


_HOSTILE_CHILD = r"""
import json, resource, struct, sys, time, zlib
import numpy as np
import cmzip
from cmzip.container import (END_OF_BLOCKS, FORMAT_VERSION, MAGIC, block_header_bytes,
                             trailer_bytes)
from cmzip.levels import level_config, level_fingerprint
from cmzip.codec import Codec
level, raw_len, payload, what = int(sys.argv[1]), int(sys.argv[2]), bytes.fromhex(sys.argv[3]), sys.argv[4]
def sealed(fields):
    return fields + struct.pack("<I", zlib.crc32(fields))
def touch(obj, seen):   # write every numpy array the models hold: all their pages resident
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        if obj.flags.writeable:
            np.add(obj, 0, out=obj, casting="unsafe")
    elif isinstance(obj, (list, tuple, dict)):
        for item in (obj.values() if isinstance(obj, dict) else obj):
            touch(item, seen)
    elif type(obj).__module__.startswith("cmzip"):
        touch(vars(obj), seen)
if what == "warm":      # the level's loop compiled and cached, outside the measured children
    cmzip.decompress(cmzip.compress(b"warm", level))
    error, seconds = None, 0.0
elif what == "model":   # the models a 2**26-byte first block gets: what decoding may cost anyway
    codec = Codec(level)
    codec._start(raw_len)
    touch(codec, set())
    error, seconds = None, 0.0
else:
    fingerprint = level_fingerprint(level)
    blob = (sealed(struct.pack("<4sBBBBI", MAGIC, FORMAT_VERSION, level, 26, 0, fingerprint))
            + block_header_bytes(raw_len, len(payload), 0)
            + payload + END_OF_BLOCKS + trailer_bytes(raw_len, 0))
    start = time.thread_time()
    try:
        cmzip.decompress(blob)
        error = None
    except cmzip.CmzipError as exc:
        error = str(exc)
    seconds = time.thread_time() - start
print(json.dumps({"error": error, "seconds": seconds,
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def _child(level, raw_len, payload, what):
    result = subprocess.run(
        [sys.executable, "-c", _HOSTILE_CHILD, str(level), str(raw_len), payload.hex(), what],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("level", [1, 5, 9])
@pytest.mark.parametrize("payload", [bytes(8), b"\xde\xad\xbe\xef" * 2], ids=["zeros", "junk"])
def test_a_huge_block_claimed_over_a_tiny_payload_fails_fast_and_small(level, payload):
    """The largest block (2**26 bytes) with valid header checks and CRCs over 8 bytes of
    payload. A decoder reads zeros past the end of a payload, so without its bounds (coder.py:
    at the fourth byte past the payload's end, and where byte learners make decoding slow an
    information budget) this would decode garbage for all 2**26 bytes (many minutes)."""
    raw_len = 1 << 26
    _child(level, 0, b"", "warm")        # a cold cache's compile counts in neither child below
    hostile = _child(level, raw_len, payload, "decode")
    assert hostile["error"] is not None and "corrupt data in block 1" in hostile["error"]
    # the decoder stops after about 8 bytes' worth of information (at levels 1-5 up to about
    # 45 KB of output a byte); where byte learners decode slowly (level 9), up to 8 KB of output
    # (a bit counts at least 2^-10 bit)
    assert hostile["seconds"] < (5 if level <= 5 else 20)
    model = _child(level, raw_len, b"", "model")
    # Decoding adds the output buffer (raw_len bytes) to the models; anything that allocated in
    # proportion to the claim several times over would fail.
    assert hostile["peak"] < model["peak"] + 3 * raw_len, (hostile, model)
