"""The arithmetic coder: how close its payload comes to the ideal code length, sum(-log2 p), on
named probability streams, with constriction's range coder on the same stream as the reference;
and that the decoder returns exactly the bits and refuses to read past a payload."""

import numba
import numpy as np
import pytest

from cmzip.codec import Codec
from cmzip.coder import (BUDGET, INFO, MAX_PAST_END, PAST_END, decode_bit, decoded_exactly,
                         encode_bit, flush, new_decoder, new_encoder, start_decoding)
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
def _encode_all(c, bits, probs):
    for i in range(bits.shape[0]):
        encode_bit(c, probs[i], bits[i])
    return flush(c)


def _encode(bits, probs, min_cost=1):
    """The payload of bits coded with their probabilities."""
    c = new_encoder(len(bits) * 3 + 64, min_cost)
    return c.io[:_encode_all(c, bits, probs)].tobytes()


@numba.njit
def _decode_all(c, probs, bits_out):
    start_decoding(c)
    for i in range(probs.shape[0]):
        bits_out[i] = decode_bit(c, probs[i])
        if bits_out[i] < 0:
            return


def _decode(payload, probs, min_cost=1):
    """(the decoded bits, -1 from where the decoder stopped; the decoder)"""
    c = new_decoder(payload, min_cost)
    bits = np.zeros(len(probs), dtype=np.int64)
    _decode_all(c, probs, bits)
    return bits, c


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
    payload = _encode(bits, probs)
    size = len(payload)
    ideal = _ideal_bytes(bits, probs)
    assert size <= ideal * 1.0005 + 8, (name, size, ideal)
    # the decoder gives back every bit, reading exactly the payload
    decoded, c = _decode(payload, probs)
    assert np.array_equal(decoded, bits)
    assert decoded_exactly(c)
    assert c.st[INFO] == 0          # no information sum at min_cost 1 (coder.py)
    # with one (min_cost 64, the levels with byte learners), the payload stays within its
    # decoder's budget and decodes exactly too
    payload = _encode(bits, probs, 64)
    decoded, c = _decode(payload, probs, 64)
    assert np.array_equal(decoded, bits) and decoded_exactly(c)
    assert 0 < c.st[INFO] <= c.st[BUDGET]
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
    size = len(_encode(bits, probs))
    ideal = _ideal_bytes(bits, probs)
    print(f"book1 level 1: {len(bits)} bits, ideal {ideal:.1f} bytes, payload {size} "
          f"(+{100 * (size - ideal) / ideal:.4f}%)")
    # (the coder splits its interval at a rounded point, so a stream can come out a fraction
    # of a byte under the ideal computed from the 16-bit probabilities: 0.13 bytes at version 17)
    assert ideal - 1 < size < ideal * 1.0005 + 8


@pytest.mark.parametrize("min_cost", [1, 64])
def test_a_decoder_past_its_payload_stops_instead_of_decoding_garbage(min_cost):
    # a near-certain 1 costs 0.000022 bits: 10^5 of them fit in a few bytes, but 10^7 carry
    # 220 bits, more than such a payload holds, and the decoder must stop well before that
    n = 10_000_000
    bits = np.ones(n, dtype=np.int64)
    probs = np.full(n, 65535, dtype=np.int64)
    payload = _encode(bits[:100000], probs[:100000], min_cost)
    assert len(payload) <= (4 if min_cost == 1 else 1000)
    decoded, c = _decode(payload, probs, min_cost)
    assert -1 in decoded                                     # it stopped
    stopped_at = int(np.argmax(decoded == -1))
    assert stopped_at >= 100000
    if min_cost == 1:
        # at the fourth byte past the payload's end: 8 (L + 4) bits of narrowing at most, each
        # bit narrowing the interval by at least a part in 2^16 (coder.py)
        assert c.st[PAST_END] > MAX_PAST_END
        assert stopped_at <= 8 * (len(payload) + 4) / -np.log2(1 - 2.0 ** -16)
    else:
        # at its budget: each bit counts at least min_cost units of 2^-16 bit
        assert c.st[INFO] > c.st[BUDGET]
        assert stopped_at <= 8 * len(payload) * 65536 / min_cost


def test_a_payload_is_never_shorter_than_its_information_and_never_longer_than_needed():
    """Coding rounds in favour of improbable bits (a part is at least one unit wide), so a
    payload could come out shorter than the information it codes; where it keeps an information
    sum (min_cost > 1), the encoder then pads it with zeros (so that the decoder's budget never
    rejects a valid payload), and the decoder checks that a payload is exactly as long as the
    encoder makes it."""
    bits = np.ones(3000, dtype=np.int64)
    probs = np.ones(3000, dtype=np.int64)          # 3000 bits of p = 2^-16: 16 bits each
    payload = _encode(bits, probs, 64)
    assert len(payload) >= 6000
    decoded, c = _decode(payload, probs, 64)
    assert np.array_equal(decoded, bits) and decoded_exactly(c)
    assert not decoded_exactly(_decode(payload + b"\0", probs, 64)[1])      # too long
    # the padding itself: an encoder whose bits carried 100 bytes of information but that has
    # written nothing yet ends its payload with zeros up to 100 bytes
    c = new_encoder(1000, 64)
    c.st[INFO] = 100 * 8 * 65536 - 5
    assert flush(c) == 100 and not c.io[1:100].any()
    # where no sum is kept (min_cost 1), the payload is the coded bytes alone, and exact
    payload = _encode(bits, probs)
    decoded, c = _decode(payload, probs)
    assert np.array_equal(decoded, bits) and decoded_exactly(c)
    assert not decoded_exactly(_decode(payload + b"\0", probs)[1])


def test_every_coded_bit_narrows_the_interval():
    """split() keeps both parts non-empty for every probability, even on the narrowest
    interval the coder can hold."""
    from cmzip.coder import split
    for x1, x2 in [(0, 0xFFFFFFFF), (0x00FFFFFF, 0x01000000), (5, 6), (0x12345678, 0x12345679 + 1000)]:
        for p in (1, 2, 255, 32768, 65534, 65535):
            xmid = split(x1, x2, p)
            assert x1 <= xmid < x2
