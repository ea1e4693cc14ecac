"""A file object that reads but cannot seek, as standard input from a pipe or a socket."""
import io


class Pipe(io.RawIOBase):
    """A readable that cannot seek."""

    def __init__(self, data):
        self._data = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        return self._data.readinto(buffer)
