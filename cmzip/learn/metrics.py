"""Online training metrics: how well a learner is predicting, and whether it is improving.

Display only: nothing here feeds back into a model, so it is not bound by the exactness
contract (it uses numpy sums and float powers freely).
"""
import numpy as np


class _Ema:
    """Exponential moving average with Adam-style bias correction: no warm-up bias toward 0."""

    def __init__(self, rate):
        self.rate, self.num, self.den = rate, 0.0, 0.0

    def add(self, mean, n):
        """n samples whose mean is `mean`, as if added one by one with equal values."""
        keep = (1.0 - self.rate) ** n
        self.num = self.num * keep + (1.0 - keep) * mean
        self.den = self.den * keep + (1.0 - keep)

    @property
    def value(self):
        return self.num / self.den if self.den else float("nan")


class OnlineMetrics:
    """Bits per byte of one learner's predictions: running mean, EMA, and trend.

    trend = EMA at ema_rate minus an EMA ten times slower: negative while recent bytes cost less
    than the longer-run average, i.e. while the learner is improving.  Values are NaN until the
    first byte is recorded."""

    SLOW = 10                     # the slow EMA's rate is ema_rate / SLOW

    def __init__(self, name, ema_rate=0.01):
        if not 0.0 < ema_rate <= 1.0:
            raise ValueError(f"ema_rate must be in (0, 1], got {ema_rate!r}")
        self.name, self.ema_rate = name, ema_rate
        self.bytes, self.total_bits, self.updates = 0, 0.0, 0
        self._fast, self._slow = _Ema(ema_rate), _Ema(ema_rate / self.SLOW)

    def record(self, bits):
        """bits: the cost in bits of each byte predicted (e.g. one per lane this step)."""
        bits = np.asarray(bits, dtype=np.float64).ravel()
        if bits.size == 0:
            return
        total = float(bits.sum())
        self.bytes += bits.size
        self.total_bits += total
        self._fast.add(total / bits.size, bits.size)
        self._slow.add(total / bits.size, bits.size)

    def record_total(self, total_bits, count):
        """`count` bytes that cost `total_bits` together (a compiled learner's tally)."""
        if count <= 0:
            return
        self.bytes += count
        self.total_bits += total_bits
        self._fast.add(total_bits / count, count)
        self._slow.add(total_bits / count, count)

    def record_update(self):
        self.updates += 1

    @property
    def bits_per_byte(self):
        return self.total_bits / self.bytes if self.bytes else float("nan")

    @property
    def ema_bits_per_byte(self):
        return self._fast.value

    @property
    def trend(self):
        return self._fast.value - self._slow.value

    def summary(self):
        return {"name": self.name, "bytes": self.bytes, "bits_per_byte": self.bits_per_byte,
                "ema_bits_per_byte": self.ema_bits_per_byte, "trend": self.trend,
                "updates": self.updates}

    def __str__(self):
        return (f"{self.name}: {self.bytes} bytes, {self.bits_per_byte:.4f} bits/byte "
                f"(recent {self.ema_bits_per_byte:.4f}, trend {self.trend:+.4f}), "
                f"{self.updates} updates")
