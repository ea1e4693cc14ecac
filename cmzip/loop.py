"""THE block loop, shared by encoder and decoder: for each byte, for each bit (most significant
first): predict, code, update.  Encoder and decoder run exactly the same model steps in the same
order, so their models stay identical; they differ only in where each bit comes from.

One compiled call codes a whole block (code_block).  Levels with byte learners
(GRU, QCT), which run in Python, code a block one byte per call instead (code_byte), with the
learners' inputs set in model.ext before each call.
"""
from .coder import decode_bit, encode_bit
from .jit import inline, njit
from .predictor import predict_bit, start_stream, update_bit, update_byte


@inline
def _code_byte(m, c, byte, decoding):
    """Code one byte with coder c: the given one (encoding) or the next one (decoding).
    Returns the byte, or -1 if the decoder's payload is exhausted or the encoder's output full.
    (Inlined into the block loops: as a called function, passing the model's dozens of arrays
    took 2.5% of level 3's time on book1, measured with perf.)"""
    c0 = 1
    for bitpos in range(8):
        p = predict_bit(m, c0, bitpos)
        if decoding:
            bit = decode_bit(c, p)
            if bit < 0:
                return -1
        else:
            bit = (byte >> (7 - bitpos)) & 1
            if not encode_bit(c, p, bit):
                return -1
        update_bit(m, bit)
        c0 = (c0 << 1) | bit
    byte = c0 - 256
    update_byte(m, byte)
    return byte


@njit
def code_byte(m, c, byte, decoding):
    """_code_byte as an entry point: the levels whose byte learners run in Python code one byte
    per call."""
    start_stream(m)
    return _code_byte(m, c, byte, decoding)


@njit
def code_block(m, c, data, decoding):
    """Code len(data) bytes: encoding, the bytes of data; decoding, into data (after
    coder.start_decoding).  Returns 0, or -1 if the decoder's payload is exhausted (damage, or a
    block header claiming more bytes than the payload codes) or the encoder's output full.
    One entry point for both directions, called from Python: each model shape compiles once, not
    twice (with a wrapper for each direction, the second wrapper's first call compiled for
    as long as the first's, measured: 28 s each at level 4), and the branches on `decoding` cost nothing measurable."""
    start_stream(m)
    for i in range(data.shape[0]):
        byte = _code_byte(m, c, data[i], decoding)
        if byte < 0:
            return -1
        data[i] = byte
    return 0
