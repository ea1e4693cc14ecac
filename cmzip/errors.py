"""The one exception type cmzip raises for bad input."""


class CmzipError(ValueError):
    """Raised for damaged, truncated, hostile or otherwise invalid compressed data,
    and for invalid arguments such as an unknown level."""


class WorkerError(RuntimeError):
    """Raised when parallel work fails for a reason other than the data: a worker process or a
    Dask worker that died (and could not be retried), a cluster that cannot be reached.
    Nothing is written for the work that failed."""
