"""Small generated test inputs, identical on every machine.

    sample("text", 5000)   # -> 5000 bytes of English-like text

Kinds (SAMPLE_KINDS): "text" (Zipf-distributed words, punctuation, wrapped lines, paragraphs),
"binary" (a header, a little-endian lookup table, then fixed-size records of ints and floats),
"redundant" (a repeated phrase broken up by long byte runs), "bitmap" (a 1-bit-per-pixel image
of dark shapes on a light page), "random" (uniform bytes) and "all_bytes" (0, 1, ..., 255
repeated).

Everything is built from a pure-Python splitmix64 generator and integer arithmetic, so the
bytes depend on nothing but (kind, size, seed): no global random state, no numpy, no
platform-dependent floating point (the floats in "binary" are exact multiples of 1/16).
"""
import bisect
import struct
import zlib

MASK64 = (1 << 64) - 1


class SplitMix64:
    """The splitmix64 generator (Steele, Lea and Flood, 2014): tiny, fast, well mixed."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n):
        """An integer in [0, n); the modulo bias is negligible for the small n used here."""
        return self.next64() % n

    def chance(self, numerator, denominator):
        return self.below(denominator) < numerator


def _rng(kind, seed):
    # A different stream per kind, so that e.g. text and random of the same seed are unrelated.
    return SplitMix64((seed << 32) ^ zlib.crc32(kind.encode()))


WORDS = (
    "the of and to a in that is was he for it with as his on be at by I had not are but from "
    "or have an they which one you were her all she there would their we him been has when "
    "who will more no if out so said what up its about into than them can only other new "
    "some could time these two may then do first any my now such like our over man me even "
    "most made after also did many before must through back years where much your way well "
    "down should because each just those people how too little state good very make world "
    "still own see men work long get here between both life being under never day same "
    "another know while last might us great old year off come since against go came right "
    "used take three coder model byte stream context predictor mixer weight entropy"
).split()

# Zipf's law: the word of rank r is drawn with weight proportional to 1/r. Integer weights
# keep the table exact; the cumulative table turns one random integer into a word by bisection.
_ZIPF_CUMULATIVE = []
_total = 0
for _rank in range(1, len(WORDS) + 1):
    _total += 720720 // _rank
    _ZIPF_CUMULATIVE.append(_total)
del _rank, _total


def _zipf_word(rng):
    pick = rng.below(_ZIPF_CUMULATIVE[-1])
    return WORDS[bisect.bisect_right(_ZIPF_CUMULATIVE, pick)]


def _sentence(rng):
    words = [_zipf_word(rng) for _ in range(4 + rng.below(11))]
    words[0] = words[0].capitalize()
    for i in range(1, len(words) - 1):
        if rng.chance(1, 12):
            words[i] += ","
    return " ".join(words) + ".?!."[rng.below(4)]


def text_sample(size, seed=0):
    """English-like text: sentences of Zipf-distributed words, lines wrapped at 72 columns,
    a blank line between paragraphs of 2 to 6 sentences."""
    rng = _rng("text", seed)
    out, line = [], ""
    length = 0
    while length < size:
        for _ in range(2 + rng.below(5)):
            for word in _sentence(rng).split(" "):
                if line and len(line) + 1 + len(word) > 72:
                    out.append(line + "\n")
                    length += len(line) + 1
                    line = word
                else:
                    line = f"{line} {word}" if line else word
        out.append(line + "\n\n")
        length += len(line) + 2
        line = ""
    return "".join(out).encode("ascii")[:size]


def binary_sample(size, seed=0):
    """Structured binary data, as in object files and tables of measurements: a header,
    a 64-entry little-endian uint16 lookup table, then 16-byte records
    (uint32 id, int16 slowly drifting reading, uint16 flags from a small set, float32 value,
    uint32 timestamp ticking about once a minute)."""
    rng = _rng("binary", seed)
    parts = [b"CMZSAMPL", struct.pack("<HH", 1, 16)]  # magic, format version, record size
    parts.append(struct.pack("<64H", *[(i * i * 37) & 0xFFFF for i in range(64)]))
    length = sum(map(len, parts))
    reading = 0
    record_id = 1000
    timestamp = 1_700_000_000
    while length < size:
        reading = max(-30000, min(30000, reading + rng.below(21) - 10))
        flags = (0x0001, 0x0003, 0x0010, 0x8000)[rng.below(4)]
        value = record_id / 16 + rng.below(64) / 16  # exact in float32: a multiple of 1/16
        timestamp += 58 + rng.below(5)
        parts.append(struct.pack("<IhHfI", record_id, reading, flags, value, timestamp))
        length += 16
        record_id += 1 + (rng.below(8) == 0)
    return b"".join(parts)[:size]


def redundant_sample(size, seed=0):
    """Highly redundant data: a phrase repeated many times, interrupted by long runs of one
    byte (zeros, spaces or 'a'); compresses to almost nothing."""
    rng = _rng("redundant", seed)
    phrase = b"the quick brown fox jumps over the lazy dog. "
    parts, length = [], 0
    while length < size:
        run_byte = (b"\x00", b" ", b"a")[rng.below(3)]
        chunk = phrase * (5 + rng.below(20)) + run_byte * (100 + rng.below(900))
        parts.append(chunk)
        length += len(chunk)
    return b"".join(parts)[:size]


def bitmap_sample(size, seed=0):
    """A 1-bit-per-pixel image, 256 pixels (32 bytes) a row, the leftmost pixel in a byte's top
    bit, as fax pages and PBM files store them: dark bars that begin, end and now and
    then drift by a pixel from row to row (so a row is mostly the row above), on a light page
    with a few specks."""
    rng = _rng("bitmap", seed)
    width = 256
    bars = []                   # [left, right) pixel spans of the bars in this row
    out, length = [], 0
    while length < size:
        if rng.chance(1, 6) and len(bars) < 6:
            left = rng.below(width - 20)
            bars.append([left, left + 4 + rng.below(16)])
        if bars and rng.chance(1, 12):
            bars.pop(rng.below(len(bars)))
        for bar in bars:
            if rng.chance(1, 4):
                bar[0] = max(0, min(width - 2, bar[0] + rng.below(3) - 1))
            if rng.chance(1, 4):
                bar[1] += rng.below(3) - 1
            bar[1] = max(bar[0] + 1, min(width, bar[1]))
        row = 0
        for left, right in bars:
            row |= ((1 << (right - left)) - 1) << (width - right)
        if rng.chance(1, 4):
            row |= 1 << rng.below(width)
        out.append(row.to_bytes(width // 8, "big"))
        length += width // 8
    return b"".join(out)[:size]


def random_sample(size, seed=0):
    """Uniformly random bytes: incompressible."""
    rng = _rng("random", seed)
    words = [rng.next64() for _ in range((size + 7) // 8)]
    return struct.pack(f"<{len(words)}Q", *words)[:size]


def all_bytes_sample(size, seed=0):
    """Byte values 0, 1, ..., 255, repeated (the seed is ignored: there is nothing to vary)."""
    return (bytes(range(256)) * (size // 256 + 1))[:size]


SAMPLE_KINDS = {
    "text": text_sample,
    "binary": binary_sample,
    "redundant": redundant_sample,
    "bitmap": bitmap_sample,
    "random": random_sample,
    "all_bytes": all_bytes_sample,
}


def sample(kind, size, seed=0):
    """`size` deterministic bytes of the given kind (see SAMPLE_KINDS)."""
    if kind not in SAMPLE_KINDS:
        raise ValueError(f"unknown sample kind {kind!r}; known: {', '.join(SAMPLE_KINDS)}")
    if size < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    return SAMPLE_KINDS[kind](size, seed)
