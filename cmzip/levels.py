"""Compression levels: each level is a list of predictor configs plus lane policy.

(Placeholder: being filled in by the codec work.)"""
import zlib

MIN_LEVEL, MAX_LEVEL, DEFAULT_LEVEL = 1, 9, 5


def check_level(level):
    from .errors import CmzipError
    if not isinstance(level, int) or isinstance(level, bool) or not MIN_LEVEL <= level <= MAX_LEVEL:
        raise CmzipError(f"level must be an integer from {MIN_LEVEL} to {MAX_LEVEL}, got {level!r}")
    return level


def level_fingerprint(level):
    """32-bit fingerprint of the level's full model config, stored in the header so a decoder
    refuses a file whose models it cannot rebuild identically."""
    return zlib.crc32(repr(("placeholder", level)).encode())


def describe_level(level):
    return {"level": level, "predictors": ["placeholder"]}
