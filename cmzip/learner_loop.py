"""The block loop of levels whose byte learner is compiled (the GRU): one compiled call codes a
block, with the GRU predicting before each byte and learning after it, so no Python runs per
byte.  The same steps, in the same order, as the codec's Python-driven loop (codec.py), which
predictor sets with the QCT (still numpy code; in no level's own set) use: the two give the same
bits (tests/test_gru.py).

Per byte: the GRU's bit predictions go to the predictor's learner inputs (model.ext), the byte is
coded (loop.code_byte: predict, code, update for each bit), then the GRU learns from the byte and
reads it.  Encoder and decoder run exactly these steps.
"""
from .jit import njit
from .loop import code_byte
from .models.gru_core import forward, learn, start_block


@njit
def code_block(m, c, data, decoding, g):
    """Code len(data) bytes: encoding, the bytes of data; decoding, into data (after
    coder.start_decoding).  Returns 0, or -1 as loop.code_byte does.  (One entry point for both
    directions, as loop.code_block.)"""
    start_block(g)
    for i in range(data.shape[0]):
        if i > 0:
            learn(g, data[i - 1])
            forward(g, data[i - 1])
        for k in range(256):
            m.ext[0, k] = g.ext[k]
        byte = code_byte(m, c, data[i], decoding)
        if byte < 0:
            return -1
        data[i] = byte
    return 0
