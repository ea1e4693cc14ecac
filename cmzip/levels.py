"""Compression levels: each level is a predictor config plus a lane policy.

Level 1 is the fastest (few contexts, many lanes), 9 the strongest; DEFAULT_LEVEL balances.
The config is part of the format: its fingerprint is stored in every .cmz header, so a decoder
refuses a file whose models it would not rebuild identically.
"""
import zlib

from .errors import CmzipError

MIN_LEVEL, MAX_LEVEL, DEFAULT_LEVEL = 1, 9, 5

# Bumped whenever the coded bits change for the same config (a model or coder change), so that
# the fingerprint in the header tells an old file from a new decoder with a clear message.
MODEL_VERSION = 1

_TEXT = ["o1", "o2", "o3", "o4", "o6", "word"]
_FULL = ["o0", "o1", "o2", "o3", "o4", "o5", "o6", "o8", "word", "word2",
         "sparse1", "sparse2", "sparse3"]

_BASE = dict(table_bits=22, match=True, match_bits=22, match_min=6, mixer_lr=12, final_lr=4, init_weight=0.15,
             min_lane_bytes=320, max_lanes=128)

LEVELS = {
    1: dict(_BASE, contexts=_TEXT[:5], mixers=["c0"], max_lanes=512),
    2: dict(_BASE, contexts=_TEXT, mixers=["c0"], max_lanes=384),
    3: dict(_BASE, contexts=_TEXT, mixers=["c0", "match"], max_lanes=256),
    4: dict(_BASE, contexts=_FULL, mixers=["c0", "match"], max_lanes=192),
    5: dict(_BASE, contexts=_FULL, mixers=["c0", "match", "c1"], max_lanes=128),
    6: dict(_BASE, contexts=_FULL, mixers=["c0", "match", "c1"], table_bits=23, max_lanes=96),
    7: dict(_BASE, contexts=_FULL, mixers=["c0", "match", "c1", "c2bits"], table_bits=23, max_lanes=64),
    8: dict(_BASE, contexts=_FULL, mixers=["c0", "match", "c1", "c2bits"], table_bits=24, max_lanes=48),
    9: dict(_BASE, contexts=_FULL, mixers=["c0", "match", "c1", "c2bits"], table_bits=24, max_lanes=32),
}


def check_level(level):
    if not isinstance(level, int) or isinstance(level, bool) or not MIN_LEVEL <= level <= MAX_LEVEL:
        raise CmzipError(f"level must be an integer from {MIN_LEVEL} to {MAX_LEVEL}, got {level!r}")
    return level


def level_config(level):
    return LEVELS[check_level(level)]


def level_fingerprint(level):
    """32-bit fingerprint of the level's full model config."""
    return zlib.crc32(repr((MODEL_VERSION, sorted(level_config(level).items()))).encode())


def describe_level(level):
    cfg = level_config(level)
    predictors = [f"context[{','.join(cfg['contexts'])}]"]
    if cfg["match"]:
        predictors.append(f"match(min {cfg['match_min']})")
    return {"level": level, "predictors": predictors, "mixers": list(cfg["mixers"]),
            "max_lanes": cfg["max_lanes"]}


def lanes_for(n, level):
    """Deterministic lane count for a block of n bytes: enough bytes per lane that the models
    learn well, few enough steps that Python's per-call cost is amortised."""
    cfg = level_config(level)
    return max(1, min(cfg["max_lanes"], n // cfg["min_lane_bytes"]))
