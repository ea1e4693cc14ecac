"""THE block loop, shared by encoder and decoder: for each byte, for each bit (most significant
first): predict, code, update.  Encoder and decoder run exactly the same model steps in the same
order, so their models stay identical; they differ only in where each bit comes from.

One compiled call codes a whole block (encode_block, decode_block).  Levels with byte learners
(GRU, QCT), which run in Python, code a block one byte per call instead (code_byte), with the
learners' inputs set in model.ext before each call.
"""
from .coder import decode_bit, encode_bit, flush, start_decoding
from .jit import inline, njit
from .predictor import predict_bit, update_bit, update_byte


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
    return _code_byte(m, c, byte, decoding)


@njit
def encode_block(m, c, data):
    """Code all of data and flush.  Returns the payload length, or -1 if the output is full."""
    for i in range(data.shape[0]):
        if _code_byte(m, c, data[i], False) < 0:
            return -1
    return flush(c)


@njit
def decode_block(m, c, out):
    """Decode len(out) bytes into out.  Returns 0, or -1 if the payload is exhausted (damage,
    or a block header claiming more bytes than the payload codes)."""
    start_decoding(c)
    for i in range(out.shape[0]):
        byte = _code_byte(m, c, 0, True)
        if byte < 0:
            return -1
        out[i] = byte
    return 0
