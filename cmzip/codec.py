"""Python side of a block: builds a stream's models once, calls the compiled block loop, and
returns bytes.  The models carry over from one block of a stream to the next (the byte learners
keep their weights, but start each block with a fresh hidden state and training window).

Levels without byte learners code a block in one compiled call, and so do levels whose only
learner is the compiled GRU (learner_loop.py): every level's own set.  With the QCT (still numpy
code, selectable with `--predictors`), Python drives the loop one byte per compiled call: before
each byte every learner predicts the byte's distribution, which becomes its 255 bit predictions
(one per node of the bit tree, model.ext); after it, the learners see the byte and train (the
GRU in one compiled call).
"""
import numpy as np
from threadpoolctl import threadpool_limits

from .coder import decoded_exactly, flush, new_decoder, new_encoder, start_decoding
from .container import max_payload_len
from .errors import CmzipError
from .levels import UNROLLED_LEVELS, check_level, level_config, stream_byte_models
from .loop import code_block, code_byte
from .predictor import new_model
from .models import byte_models


class _LearnerView:
    """What a byte learner may see of the block: the bytes coded so far (one lane)."""

    lanes = 1

    def __init__(self, n):
        self.buf = np.zeros(n, dtype=np.uint8)
        self.lengths = np.array([n])
        self.t = 0

    def c1(self):
        return np.array([self.buf[self.t - 1] if self.t else 0], dtype=np.int64)

    def lane_bytes_back(self, distance):
        where = self.t - int(distance)
        return np.array([self.buf[where] if where >= 0 else 0], dtype=np.int64)


class Codec:
    """Stateful models for one stream: consecutive blocks share all model state."""

    def __init__(self, level, flags=0):
        self.level = check_level(level)
        self.config = level_config(level, flags)
        self.unrolled = self.level in UNROLLED_LEVELS and not flags
        self.model = None
        self.learners = []

    def _start(self, n):
        if self.model is None:          # tables are sized by the stream's first block
            self.learners = [byte_models.create(name, cfg)
                             for name, cfg in stream_byte_models(self.config, n)]
            self.model = new_model(self.config, n, n_ext=len(self.learners),
                                   unrolled=self.unrolled)
        return self.model

    def encode_block(self, data):
        """Code one block of bytes; returns the payload."""
        data = np.frombuffer(bytes(data), dtype=np.uint8).copy()
        model = self._start(len(data))
        coder = new_encoder(max_payload_len(len(data)), self.config["min_bit_cost"])
        if self.learners:
            size = self._code_with_learners(model, coder, data, False)
        else:
            size = flush(coder) if code_block(model, coder, data, False) == 0 else -1
        if size < 0:
            raise RuntimeError("payload larger than its bound")   # a codec bug, never data
        return coder.io[:size].tobytes()

    def decode_block(self, payload, n):
        """Decode one block of n bytes. Raises CmzipError if the payload is damaged."""
        model = self._start(n)
        coder = new_decoder(bytes(payload), self.config["min_bit_cost"])
        out = np.zeros(n, dtype=np.uint8)
        if self.learners:
            status = self._code_with_learners(model, coder, out, True)
        else:
            start_decoding(coder)
            status = code_block(model, coder, out, True)
        if status < 0 or not decoded_exactly(coder):
            raise CmzipError("corrupt data: the payload does not decode to the block's length")
        return out.tobytes()

    # tests set this to run a compiled learner through the Python-driven loop
    python_loop = False

    def _code_with_learners(self, model, coder, data, decoding):
        """The block loop with the byte learners: encoding, the bytes of data, flushed (returns
        the payload length); decoding, into data (returns 0).  -1 as loop.code_block."""
        learners = self.learners
        if decoding:
            start_decoding(coder)
        if len(learners) == 1 and getattr(learners[0], "compiled", False) and not self.python_loop:
            from . import learner_loop   # the GRU's loop: imported only by the levels that use it
            status = learner_loop.code_block(model, coder, data, decoding, learners[0].core)
        else:
            # one BLAS thread: the learners' products are small, and two threads made them
            # several times slower here
            with threadpool_limits(limits=1, user_api="blas"):
                status = self._learner_loop(model, coder, data, decoding)
        for learner in learners:
            learner.end_block()
        if status < 0 or decoding:
            return status
        return flush(coder)

    def _learner_loop(self, model, coder, data, decoding):
        view = _LearnerView(len(data))
        for learner in self.learners:
            learner.start_block(view)
        for i in range(len(data)):
            view.t = i
            for j, learner in enumerate(self.learners):
                learner.start_byte(view)
                model.ext[j] = learner.tree()
            byte = code_byte(model, coder, data[i], decoding)
            if byte < 0:
                return byte
            view.buf[i] = byte
            data[i] = byte
        return 0

    def learner_metrics(self):
        """The byte learners' own metrics so far (bits per byte, updates), one dict each."""
        return [learner.metrics.summary() for learner in self.learners]
