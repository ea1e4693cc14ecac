"""The step loop shared by encoder and decoder.

A block is coded in `steps` steps; step t codes byte t of every lane, bit by bit, most significant
first.  Per bit the predictor gives P(bit = 1) for every lane, the bit is coded (encoder: taken
from the data; decoder: decoded, one range-coder call for all lanes), and the predictor learns
from it.  Encoder and decoder run exactly this loop, so their models stay identical; the encoder
only differs in where the bits come from, and hands all probabilities to the range coder in a
few large calls at the end.  All model state carries over from one block to the next.
"""
import numpy as np
from threadpoolctl import threadpool_limits

from .coder import BitDecoder, encode_bits
from .levels import check_level, lanes_for, level_config
from .memory import keep_freed_memory
from .models.history import History
from .predictor import Predictor


class Codec:
    """Stateful models for one stream: consecutive blocks share all model state."""

    def __init__(self, level, flags=0):
        self.level = check_level(level)
        keep_freed_memory()             # lane arrays are allocated per step: see memory.py
        self.config = level_config(level, flags)
        self.predictor = None
        self.last_history = None

    def lanes_for(self, n):
        """Deterministic lane count for a block of n bytes at this level."""
        return lanes_for(n, self.level)

    def encode_block(self, data):
        """Code one block; returns the payload bytes."""
        n = len(data)
        lanes = self.lanes_for(n)
        source = np.append(np.frombuffer(bytes(data), dtype=np.uint8), np.uint8(0))
        hist = History(n, lanes)
        probs = np.zeros((hist.steps, 8, lanes), dtype=np.uint16)
        coded_bytes = np.zeros((hist.steps, lanes), dtype=np.uint8)

        def bit_source(t):
            byte = source[np.where(hist.active, hist.pos, n)].astype(np.int64)   # padding: 0
            coded_bytes[t] = byte

            def take_bit(p, bitpos):
                probs[t, bitpos] = p
                return (byte >> (7 - bitpos)) & 1
            return take_bit

        self._run(hist, bit_source)
        # the bits in coding order: step, bit (most significant first), lane
        bits = np.unpackbits(coded_bytes[:, :, None], axis=2).transpose(0, 2, 1)
        coded = np.arange(hist.steps)[:, None] < hist.lengths[None, :]     # (steps, lanes)
        coded = np.broadcast_to(coded[:, None, :], probs.shape)
        return encode_bits(bits[coded], probs[coded])

    def decode_block(self, payload, n):
        """Decode one block of n bytes. Raises CmzipError if damaged."""
        lanes = self.lanes_for(n)
        decoder = BitDecoder(payload)
        hist = History(n, lanes)

        def decode_partial_step(p, bitpos):
            bits = np.zeros(lanes, dtype=np.int64)               # inactive lanes: padding 0
            bits[hist.active] = decoder.get(p[hist.active])
            return bits

        def bit_source(t):
            if hist.active.all():
                return lambda p, bitpos: decoder.get(p)
            return decode_partial_step

        self._run(hist, bit_source)
        return hist.buf[:len(hist.buf) - 1].tobytes()

    def _run(self, hist, bit_source):
        # One BLAS thread: the codec's matrix products are small (a few hundred rows), and
        # measured here two threads made them about 3x SLOWER (11-12x when another process kept
        # the second core busy).  The limit is lifted again when the block is done.
        with threadpool_limits(limits=1, user_api="blas"):
            self._run_block(hist, bit_source)

    def _run_block(self, hist, bit_source):
        if self.predictor is None:          # tables are sized by the stream's first block
            self.predictor = Predictor(self.config, len(hist.buf) - 1)
        predictor = self.predictor
        if self.last_history is not None:
            hist.carry_over(self.last_history)
        self.last_history = hist
        predictor.start_block(hist)
        for t in range(hist.steps):
            code_bit = bit_source(t)
            predictor.start_byte()
            c0 = np.ones(hist.lanes, dtype=np.int64)
            for bitpos in range(8):
                bits = code_bit(predictor.predict(c0, bitpos), bitpos)
                predictor.update(bits)
                c0 = (c0 << 1) | bits
            hist.push((c0 - 256).astype(np.uint8))

