"""The arithmetic coder: how close its payload comes to the ideal code length, sum(-log2 p), on
named probability streams, with constriction's range coder on the same stream as the reference;
and that the decoder returns exactly the bits and refuses to read past a payload."""
import math

import numba
import numpy as np
import pytest

from cmzip.codec import Codec
from cmzip.coder import (MAX_PAST_END, decode_bit, decoded_exactly, encode_bit, flush, new_state,
                         start_decoding)
from cmzip.corpora import CorpusError, find_corpus
from cmzip.predictor import predict_bit, update_bit, update_byte
from cmzip.samples import sample


@numba.njit
def _model_stream(m, data, bits, probs):
    """The level's model over data, recording every bit and the probability it was coded with
    (the loop of cmzip.loop, without the coder)."""
    k = 0
    for i in range(data.shape[0]):
        c0 = 1
        for bitpos in range(8):
            p = predict_bit(m, c0, bitpos)
            bit = (data[i] >> (7 - bitpos)) & 1
            bits[k] = bit
            probs[k] = p
            k += 1
            update_bit(m, bit)
            c0 = (c0 << 1) | bit
        update_byte(m, c0 - 256)


@numba.njit
def _encode(bits, probs, out):
    st = np.zeros(5, dtype=np.int64)
    st[1] = 0xFFFFFFFF
    for i in range(bits.shape[0]):
        encode_bit(st, out, probs[i], bits[i])
    flush(st, out)
    return st[3]


@numba.njit
def _decode(payload, probs, bits_out, st):
    start_decoding(st, payload)
    for i in range(probs.shape[0]):
        bits_out[i] = decode_bit(st, payload, probs[i])
        if bits_out[i] < 0:
            return


def _level1_stream_of(data):
    codec = Codec(1)
    codec._start(len(data))
    arr = np.frombuffer(data, dtype=np.uint8).copy()
    bits = np.zeros(8 * len(data), dtype=np.int64)
    probs = np.zeros(8 * len(data), dtype=np.int64)
    _model_stream(codec.model, arr, bits, probs)
    return bits, probs


def _ideal_bytes(bits, probs):
    p1 = probs / 65536.0
    return float(-np.log2(np.where(bits == 1, p1, 1 - p1)).sum()) / 8


def _book1():
    try:
        return (find_corpus("calgary") / "book1").read_bytes()
    except CorpusError:
        return sample("text", 400000)


def _named_streams():
    yield "book1 at level 1", _level1_stream_of(_book1())
    n = 2_000_000                       # a long run at the most certain probability the coder has
    yield "p = 1 - 2^-16", (np.ones(n, dtype=np.int64), np.full(n, 65535, dtype=np.int64))
    yield "p = 2^-16", (np.ones(4000, dtype=np.int64), np.ones(4000, dtype=np.int64))
    rng = np.random.default_rng(5)
    probs = rng.integers(1, 65536, 300000)
    yield "random p, bits drawn from p", ((rng.random(300000) < probs / 65536).astype(np.int64), probs)


@pytest.mark.parametrize("name, stream", list(_named_streams()), ids=lambda v: v if isinstance(v, str) else "")
def test_payload_is_within_a_twentieth_of_a_percent_of_the_ideal_code_length(name, stream):
    bits, probs = stream
    out = np.zeros(len(bits) * 3 + 64, dtype=np.uint8)
    size = int(_encode(bits, probs, out))
    ideal = _ideal_bytes(bits, probs)
    assert size <= ideal * 1.0005 + 8, (name, size, ideal)
    # the decoder gives back every bit, reading exactly the payload
    st = new_state()
    decoded = np.zeros_like(bits)
    payload = out[:size].copy()
    _decode(payload, probs, decoded, st)
    assert np.array_equal(decoded, bits)
    assert decoded_exactly(st, payload)
    # the reference: constriction's range coder on the same stream
    constriction = pytest.importorskip("constriction")
    encoder = constriction.stream.queue.RangeEncoder()
    model = constriction.stream.model.Bernoulli(perfect=False)
    encoder.encode(bits.astype(np.int32), model, probs / 65536.0)
    reference = 4 * len(encoder.get_compressed())
    print(f"{name}: ideal {ideal:.1f} B, cmzip {size} B, constriction {reference} B")
    assert size <= reference + 8


def test_book1_level1_figures():
    """The figures the README quotes (printed with -s)."""
    bits, probs = _level1_stream_of(_book1())
    out = np.zeros(len(bits) * 3 + 64, dtype=np.uint8)
    size = int(_encode(bits, probs, out))
    ideal = _ideal_bytes(bits, probs)
    print(f"book1 level 1: {len(bits)} bits, ideal {ideal:.1f} bytes, payload {size} "
          f"(+{100 * (size - ideal) / ideal:.4f}%)")
    assert ideal < size < ideal * 1.0005 + 8


def test_a_decoder_past_its_payload_stops_instead_of_decoding_garbage():
    # a near-certain 1 costs 0.000022 bits: 10^5 of them fit in a few bytes, but 10^7 carry
    # 220 bits, more than such a payload holds, and the decoder must stop well before that
    n = 10_000_000
    bits = np.ones(n, dtype=np.int64)
    probs = np.full(n, 65535, dtype=np.int64)
    out = np.zeros(1000, dtype=np.uint8)
    size = int(_encode(bits[:100000], probs[:100000], out))
    assert size <= 4
    payload = out[:size].copy()
    st = new_state()
    decoded = np.zeros_like(bits)
    _decode(payload, probs, decoded, st)
    assert -1 in decoded                                     # it stopped, at the budget
    stopped_at = int(np.argmax(decoded == -1))
    assert 100000 <= stopped_at < n // 2
    assert st[4] == MAX_PAST_END + 1


def test_every_coded_bit_narrows_the_interval():
    """split() keeps both parts non-empty for every probability, even on the narrowest
    interval the coder can hold."""
    from cmzip.coder import split
    for x1, x2 in [(0, 0xFFFFFFFF), (0x00FFFFFF, 0x01000000), (5, 6), (0x12345678, 0x12345679 + 1000)]:
        for p in (1, 2, 255, 32768, 65534, 65535):
            xmid = split(x1, x2, p)
            assert x1 <= xmid < x2
