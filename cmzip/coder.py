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

# -log2 P(decoded bit), looked up by (bit << 16) | p16.  Only used to bound how much the decoder
# may decode from a payload (below), never to code, so platform rounding in log2 is harmless.
_P16 = np.arange(1 << 16)
_INFO_BITS = -np.log2(np.concatenate([(1 << 16) - _P16, _P16.clip(1)]) / float(1 << 16))
_CHECK_EVERY = 256        # decode calls between two information checks


def encode_bits(bits, p16):
    """Range-code a block's bits (0/1) with their probabilities of being 1; returns the payload."""
    encoder = constriction.stream.queue.RangeEncoder()
    for i in range(0, len(bits), _CHUNK):
        encoder.encode(bits[i:i + _CHUNK].astype(np.int32), _BERNOULLI,
                       p16[i:i + _CHUNK] / float(1 << 16))
    return encoder.get_compressed().astype("<u4").tobytes()


class BitDecoder:
    """Decodes a block's payload one step at a time.

    constriction's decoder never runs out of input: past the end of the payload it reads zeros.
    So a damaged or hostile block header that claims far more bytes than its payload codes would
    have it decode garbage for the whole claimed length (2**26 bytes: many minutes). What stops it:
    the information the decoded bits carry, the sum of -log2 P(bit) under the model, cannot exceed
    what the payload holds, 32 bits a word: the coder emits a word each time its range has shrunk
    by 2**32, and its final state holds less than 64 bits (measured: at most 6 bits over 32 a
    word, with constriction's rounding of probabilities, on adversarial probabilities and bits).
    The decoder adds it up and raises CmzipError once it exceeds that with a margin; it checks
    every _CHECK_EVERY calls to stay cheap.  A payload thus decodes to at most about 5700 bytes
    per bit (a bit with p16 in [1, 65535] carries at least -log2(65535/65536) bits), the most a
    valid one could, however large a block its header claims.
    """

    def __init__(self, payload):
        if len(payload) % 4:
            raise CmzipError("corrupt data: payload length is not a multiple of 4")
        words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
        self._decoder = constriction.stream.queue.RangeDecoder(words)
        self._budget = 32 * len(words) * (1 + 2**-10) + 64    # bits of information
        self._spent = 0.0
        self._unchecked = []    # (bit << 16) | p16 of the bits decoded since the last check

    def get(self, p16):
        """Decode one step's bits given their probabilities of being 1."""
        try:
            bits = self._decoder.decode(_BERNOULLI, p16 / float(1 << 16))
        except Exception as exc:  # constriction reports exhausted/garbage input in several ways
            raise CmzipError(f"corrupt data: range decoder failed ({exc})") from None
        bits = bits.astype(np.int64)
        self._unchecked.append((bits << 16) | p16)
        if len(self._unchecked) == _CHECK_EVERY:
            self._check()
        return bits

    def _check(self):
        self._spent += float(_INFO_BITS[np.concatenate(self._unchecked)].sum())
        self._unchecked.clear()
        if self._spent > self._budget:
            raise CmzipError("corrupt data: the block decodes to more than its payload holds "
                             "(damaged payload or block header)")
