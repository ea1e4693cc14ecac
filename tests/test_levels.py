"""Levels and predictor sets: what the header's flags byte can say, and what it cannot."""
import pytest

from cmzip.errors import CmzipError
from cmzip.levels import (CUSTOM_SET, DEFAULT_LEVEL, LEVELS, PREDICTORS, check_flags,
                          describe_level, level_config, level_fingerprint,
                          level_predictors, predictor_flags, stream_byte_models)


@pytest.mark.parametrize("level", sorted(LEVELS))
def test_the_levels_own_set_needs_no_flags(level):
    assert predictor_flags(level, None) == 0
    assert predictor_flags(level, level_predictors(level)) == 0
    assert level_config(level, 0) is LEVELS[level]


def test_a_custom_set_changes_the_config_and_the_fingerprint():
    flags = predictor_flags(5, ["context", "gru"])
    assert flags & CUSTOM_SET
    cfg = level_config(5, flags)
    assert cfg["match"] is False
    assert [name for name, _ in cfg["byte_models"]] == ["gru"]
    assert cfg["contexts"] == LEVELS[5]["contexts"]            # everything else is the level's
    assert level_fingerprint(5, flags) != level_fingerprint(5)
    only_context = level_config(5, predictor_flags(5, ["context"]))
    assert only_context["match"] is False and only_context["byte_models"] == []


def test_every_flags_value_is_either_a_predictor_set_or_rejected():
    accepted = 0
    for flags in range(256):
        try:
            check_flags(flags)
        except CmzipError:
            continue
        accepted += 1
        level_config(5, flags)
    assert accepted == 1 + 8             # the level's own set, and 2^3 subsets of the optional three


@pytest.mark.parametrize("bad, message", [
    (["context", "lstm"], "unknown predictor 'lstm'"),
    (["match", "gru"], "must include 'context'"),
])
def test_bad_predictor_sets_are_clear_errors(bad, message):
    with pytest.raises(CmzipError, match=message):
        predictor_flags(5, bad)


def test_predictor_names():
    assert PREDICTORS == ("context", "match", "gru", "qct")


def test_the_default_level_is_pure_context_mixing_and_levels_6_to_9_add_learners():
    assert stream_byte_models(LEVELS[DEFAULT_LEVEL], 10**6) == []
    assert "gru" not in " ".join(describe_level(DEFAULT_LEVEL)["predictors"])
    for level in (6, 7, 8, 9):
        assert "gru" in [name for name, _ in stream_byte_models(LEVELS[level], 100)]
    # the QCT is in no level (it measured no gain: levels.py), only in a predictor set
    for level in LEVELS:
        assert "qct" not in [name for name, _ in stream_byte_models(LEVELS[level], 100)]
    assert "qct" in [name for name, _ in
                     stream_byte_models(level_config(9, predictor_flags(9, ["context", "qct"])), 100)]
    # a predictor set is taken as given, whatever the size
    custom = level_config(DEFAULT_LEVEL, predictor_flags(DEFAULT_LEVEL, ["context", "gru"]))
    assert [name for name, _ in stream_byte_models(custom, 100)] == ["gru"]


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_the_shared_loop_codes_the_same_bits_as_each_levels_own(level):
    """Levels 1-5 compile a loop with their counts as constants, the other levels share one
    that reads them at run time (levels.UNROLLED_LEVELS): the two must be the same model."""
    from cmzip.codec import Codec
    from cmzip.samples import sample
    data = sample("text", 3000, seed=5) + sample("binary", 2000, seed=6) + sample("bitmap", 1500)
    own, shared = Codec(level), Codec(level)
    assert own.unrolled
    shared.unrolled = False
    payload = own.encode_block(data)
    assert shared.encode_block(data) == payload
    decoder = Codec(level)
    decoder.unrolled = False
    assert decoder.decode_block(payload, len(data)) == data
    assert shared.model.cfg.ctx_count == len(LEVELS[level]["contexts"])   # read at run time


def test_levels_5_to_9_describe_their_second_match_model():
    for level in LEVELS:
        names = describe_level(level)["predictors"]
        assert "match(min 6)" in names
        assert ("match(min 16)" in names) == (level >= 5)
    from cmzip.predictor import new_model
    assert new_model(LEVELS[5], 1000).cfg.use_long_match == (0,)
    # a predictor set without "match" turns both match models off
    without_match = level_config(5, predictor_flags(5, ["context"]))
    assert new_model(without_match, 1000).cfg.use_long_match == ()
