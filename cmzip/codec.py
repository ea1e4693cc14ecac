"""PLACEHOLDER codec with the final interface (stores data as-is). Being replaced."""
from .errors import CmzipError
from .levels import check_level


class Codec:
    """Stateful models for one stream: consecutive blocks share (carry over) all model state."""

    def __init__(self, level):
        self.level = check_level(level)

    def lanes_for(self, n):
        """Deterministic lane count for a block of n bytes at this level."""
        return max(1, min(64, n // 1024))

    def encode_block(self, data):
        """Code one block; returns (lanes, payload bytes)."""
        return self.lanes_for(len(data)), bytes(data)

    def decode_block(self, payload, n, lanes):
        """Decode one block of n bytes coded with `lanes` lanes. Raises CmzipError if damaged."""
        if lanes != self.lanes_for(n):
            raise CmzipError("corrupt block: lane count does not match block size")
        if len(payload) != n:
            raise CmzipError("corrupt block payload")
        return bytes(payload)
