"""The one exception type cmzip raises for bad input."""


class CmzipError(ValueError):
    """Raised for damaged, truncated, hostile or otherwise invalid compressed data,
    and for invalid arguments such as an unknown level."""
