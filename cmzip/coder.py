"""Binary range coding with constriction's queue (FIFO) range coder.

Every coded bit carries a probability p16 in [1, 65535] (P(bit=1) = p16/65536).  p16/65536 is an
exact float64, and constriction quantises it with its own deterministic integer arithmetic, so
encoder and decoder on any machine see identical model distributions.

The encoder codes a whole block's (bit, p16) pairs in a few large calls; the decoder decodes the
bits of one step (one bit of every active lane) per call.
"""
import numpy as np
import constriction

from .errors import CmzipError

_BERNOULLI = constriction.stream.model.Bernoulli(perfect=False)
_CHUNK = 1 << 20          # symbols per encode call: bounds the float64 temporary


def encode_bits(bits, p16):
    """Range-code a block's bits (0/1) with their probabilities of being 1; returns the payload."""
    encoder = constriction.stream.queue.RangeEncoder()
    for i in range(0, len(bits), _CHUNK):
        encoder.encode(bits[i:i + _CHUNK].astype(np.int32), _BERNOULLI,
                       p16[i:i + _CHUNK] / float(1 << 16))
    return encoder.get_compressed().astype("<u4").tobytes()


class BitDecoder:
    def __init__(self, payload):
        if len(payload) % 4:
            raise CmzipError("corrupt data: payload length is not a multiple of 4")
        words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
        self._decoder = constriction.stream.queue.RangeDecoder(words)

    def get(self, p16):
        """Decode one step's bits given their probabilities of being 1."""
        try:
            bits = self._decoder.decode(_BERNOULLI, p16 / float(1 << 16))
        except Exception as exc:  # constriction reports exhausted/garbage input in several ways
            raise CmzipError(f"corrupt data: range decoder failed ({exc})") from None
        return bits.astype(np.int64)
