"""A progress bar on stderr for long compress/decompress/test runs."""
import contextlib
import sys

import click

# Below this many input bytes a run is short enough that a bar would only flicker.
MIN_BAR_BYTES = 1 << 20


@contextlib.contextmanager
def progress_bar(total, label, stream=None):
    """Yield a callback(n_bytes) that advances a bar of `total` bytes on `stream` (default
    stderr), or None when no bar is wanted: the stream is not a terminal (so pipes, logs and
    tests never get one), or the total is unknown (None) or small."""
    stream = sys.stderr if stream is None else stream
    if total is None or total < MIN_BAR_BYTES or not stream.isatty():
        yield None
        return
    with click.progressbar(length=total, label=label, file=stream) as bar:
        yield bar.update
