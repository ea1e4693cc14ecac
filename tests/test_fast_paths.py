"""Paths taken only for few lanes (or many) must give the same bits as the general ones: the
choice depends on the lane count, and the lane count on the input's size, so a difference would
not break round trips but would make the format depend on an implementation detail."""
import numpy as np
import pytest

from cmzip.mixer import Mixer
from cmzip.models import byte_inputs
from cmzip.models.byte_inputs import ByteDistribution
from cmzip.statemap import StateMap


def _statemap_run(lanes, sparse, steps=40):
    rng = np.random.default_rng(lanes)
    size = 20 * 256
    sm = StateMap(rng.integers(1, 1 << 22, size), lane_cap=8,
                  confidence=rng.integers(0, 2000, size))       # some above the limit: clamped
    sm.sparse_below = 1e9 if sparse else 0.0
    for _ in range(steps):
        index = rng.integers(0, 256, (20, lanes)) + (np.arange(20) * 256)[:, None]
        index[:, : lanes // 2] = index[:, :1]                   # many lanes on one entry
        sm.predict(index)
        sm.update(rng.integers(0, 2, lanes))
    return sm.p, sm.n


@pytest.mark.parametrize("lanes", [3, 30])
def test_statemap_updates_only_the_looked_up_entries_with_the_same_result(lanes):
    p_sparse, n_sparse = _statemap_run(lanes, sparse=True)
    p_dense, n_dense = _statemap_run(lanes, sparse=False)
    assert np.array_equal(p_sparse, p_dense) and np.array_equal(n_sparse, n_dense)
    assert n_dense.max() <= 1023


def _reference_mixer_update(m, bits):
    """Mixer.update as its docstring and comments state it, without the shortcuts."""
    err = ((bits << 16) - m.p).astype(np.float64)
    total = np.zeros_like(m.w)
    hits = np.zeros(m.n_rows)
    for k in range(m.rows.shape[0]):
        for lane in range(m.rows.shape[1]):
            total[m.rows[k, lane]] += err[k, lane] * m.x[:, lane]
            hits[m.rows[k, lane]] += 1
    damp = np.maximum(hits, m.lane_cap)[:, None] / float(m.lane_cap)
    m.w += np.floor(total * m.step_scale / damp)


@pytest.mark.parametrize("lanes, lane_cap", [(6, 8), (12, 8), (30, 8)])
def test_mixer_update_equals_its_formula_written_out(lanes, lane_cap):
    rng = np.random.default_rng(lanes)
    fast, slow = (Mixer(9, [256, 16], lane_cap=lane_cap) for _ in range(2))
    for step in range(30):
        x = rng.integers(-2047, 2048, (9, lanes)).astype(np.float64)
        # the first mixer's sets are shared by all lanes (the cap binds when lanes > lane_cap),
        # the second's are spread out (it does not)
        select = np.stack([np.full(lanes, step % 3 + 1), rng.integers(0, 16, lanes)])
        bits = rng.integers(0, 2, lanes)
        for m in (fast, slow):
            m.predict(x, select)
        fast.update(bits)
        _reference_mixer_update(slow, bits)
        assert np.array_equal(fast.w, slow.w)


@pytest.mark.parametrize("lanes", [5, byte_inputs.TREE_MAX_LANES])
def test_byte_inputs_from_the_per_byte_tree_equal_the_per_bit_ones(lanes):
    rng = np.random.default_rng(lanes)
    dist = ByteDistribution(lanes)
    assert dist._use_tree
    for _ in range(20):
        weights = rng.integers(0, 1 << 30, (lanes, 256)).astype(np.float64)
        weights[:, rng.integers(0, 256, 40)] = 0                  # bytes that cannot occur
        dist.set(weights)
        byte = rng.integers(0, 256, lanes)
        c0 = np.ones(lanes, dtype=np.int64)
        for bitpos in range(8):
            from_tree = dist.bit_stretch(c0, bitpos)
            per_bit = byte_inputs.STRETCH[dist.bit_p16(c0, bitpos)].astype(np.float64)
            assert np.array_equal(from_tree, per_bit)
            c0 = (c0 << 1) | ((byte >> (7 - bitpos)) & 1)
