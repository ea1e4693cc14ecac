"""The exception types cmzip raises for bad input."""


class CmzipError(ValueError):
    """Raised for damaged, truncated, hostile or otherwise invalid compressed data,
    and for invalid arguments such as an unknown level."""


class CmzipEOFError(CmzipError, EOFError):
    """The compressed data ended before the end of its stream (a truncated file), or a
    decompressor was given data after the end of its stream.  Both a CmzipError and an
    EOFError: code written for lzma, bz2 or gzip catches EOFError there."""


class WorkerError(RuntimeError):
    """Raised when parallel work fails for a reason other than the data: a worker process or a
    Dask worker that died (and could not be retried), a cluster that cannot be reached.
    Nothing is written for the work that failed."""
