"""The GRU byte predictor: its hand-written BPTT against finite differences, exactness of its
arithmetic, encoder/decoder parity inside the codec, and that it learns."""
import numpy as np
import pytest

from cmzip import exact
from cmzip.codec import Codec

from cmzip.models.gru import A_GRID, G_GRID, W_GRID, GRUPredictor
from cmzip.samples import sample
from learner_history import LaneHistory, bit_inputs


class FakeHistory:
    def __init__(self, lanes):
        self.lanes = lanes


def _tiny(exact_math):
    gru = GRUPredictor(dict(embed=3, hidden=4, window=3, train_lanes=2, seed=7), exact=exact_math)
    gru.start_block(FakeHistory(2))
    return gru


def _window_loss(gru, h0, inputs, targets):
    """Mean cross-entropy (nats) of the window's predictions, by a plain forward pass."""
    gru._use_weights()
    gru.h = h0.copy()
    loss = 0.0
    for byte, target in zip(inputs, targets):
        rec = gru._forward(byte)
        p = rec["weights"] / rec["weights"].sum(axis=1, keepdims=True)
        loss -= np.log(p[np.arange(len(target)), target]).sum()
    return loss / (len(inputs) * len(inputs[0]))


def test_bptt_gradient_matches_finite_differences():
    gru = _tiny(exact_math=False)
    rng = np.random.default_rng(3)
    for v in gru.params.values():                 # move off the zero biases / init symmetry
        v += rng.normal(0, 0.3, v.shape)
    inputs = [np.array([5, 9]), np.array([7, 5]), np.array([9, 200])]
    targets = [np.array([7, 5]), np.array([9, 200]), np.array([1, 5])]
    h0 = rng.uniform(-0.5, 0.5, (2, 4))
    gru._use_weights()
    gru.h = h0.copy()
    records = []
    for byte, target in zip(inputs, targets):
        rec = gru._forward(byte)
        rec["target"], rec["mask"] = target, np.ones(2, dtype=bool)
        records.append(rec)
    grads, count = gru.window_gradients(records)
    assert count == 6
    eps = 1e-6
    for name, param in gru.params.items():
        numeric = np.zeros_like(param)
        for i in range(param.size):
            old = param.flat[i]
            param.flat[i] = old + eps
            up = _window_loss(gru, h0, inputs, targets)
            param.flat[i] = old - eps
            down = _window_loss(gru, h0, inputs, targets)
            param.flat[i] = old
            numeric.flat[i] = (up - down) / (2 * eps)
        scale = np.abs(numeric).max()
        assert scale > 0, name
        rel = np.abs(grads[name] - numeric).max() / scale
        assert rel < 1e-6, (name, rel)


def test_grids_keep_every_product_exact():
    gru = GRUPredictor()                          # default sizes; construction checks the bounds
    for v in gru.w.values():
        assert np.array_equal(v, exact.to_grid(v, *W_GRID))
    # the largest backward product: a window of training samples against signals on the G grid
    exact.check_exact_products(gru.cfg["window"] * gru.cfg["train_lanes"], *A_GRID, *G_GRID)
    with pytest.raises(ValueError):
        exact.check_exact_products(1 << 20, 16, 8.0, 20, 4.0)


def test_input_gates_are_the_same_computed_per_lane_or_from_the_table():
    gru = GRUPredictor(dict(seed=5))
    gru.params["b_in"] += exact.to_grid(np.linspace(-1, 1, gru.params["b_in"].size), *W_GRID)
    gru._use_weights()
    byte = np.array([0, 7, 255, 7, 65, 200, 13, 0, 99, 128])
    direct = gru._input_gates(byte)                   # few lanes: each lane's row computed
    assert gru.input_table is None
    many = np.resize(byte, 300)                       # many lanes: the 256-row table, gathered
    from_table = gru._input_gates(many)
    assert gru.input_table is not None
    assert np.array_equal(from_table[:len(byte)], direct)
    assert np.array_equal(gru._input_gates(byte), direct)     # the table, once built, serves all


def test_initialisation_is_deterministic_and_on_the_grid():
    a, b, c = GRUPredictor(dict(seed=3)), GRUPredictor(dict(seed=3)), GRUPredictor(dict(seed=4))
    for k in a.params:
        assert np.array_equal(a.params[k], b.params[k])
        assert np.array_equal(a.params[k], exact.to_grid(a.params[k], *W_GRID))
    assert not np.array_equal(a.params["w_h"], c.params["w_h"])


def _feed(gru, data, lanes):
    """Drive the predictor over `data` split into lanes, as the codec does; returns the
    probability it gave each coded byte, per step (steps, lanes).  Every 16th step also checks
    the bit predictions the codec would take (lane 0's tree) against every lane's distribution."""
    hist = LaneHistory(len(data), lanes)
    gru.start_block(hist)
    src = np.frombuffer(data + b"\0", dtype=np.uint8)
    probs = []
    for t in range(hist.steps):
        gru.start_byte(hist)
        byte = src[np.where(hist.active, hist.pos, len(data))]
        p = gru.dist.byte_probability(byte.astype(np.int64))
        probs.append(np.where(hist.active, p, np.nan))         # lanes past their end: no byte
        if t % 16 == 0:
            tree = gru.dist.tree()
            c0 = np.ones(lanes, dtype=np.int64)
            for bitpos in range(8):
                inputs = bit_inputs(gru.dist, c0, bitpos)
                assert inputs[0] == tree[c0[0]]
                assert np.abs(inputs).max() <= 3071
                c0 = (c0 << 1) | ((byte.astype(np.int64) >> (7 - bitpos)) & 1)
        hist.push(byte)
    return np.array(probs)


def test_it_learns_a_repeating_pattern():
    gru = GRUPredictor(dict(hidden=32, embed=16, window=5, lr=0.05))
    probs = _feed(gru, b"0123456789abcdefghijklmnopqrstuv" * 100, lanes=8)
    assert np.nanmean(probs[:10]) < 0.1
    assert np.nanmean(probs[200:300]) > 0.9, np.nanmean(probs[200:300])
    assert gru.metrics.summary()["updates"] >= 60


def test_it_learns_a_pattern_that_needs_more_than_one_byte_of_context():
    gru = GRUPredictor(dict(hidden=32, embed=16, window=5, lr=0.05))
    probs = _feed(gru, b"the cat sat on the mat; " * 300, lanes=8)
    assert np.nanmean(probs[600:850]) > 0.85, np.nanmean(probs[600:850])


@pytest.mark.parametrize("lora_rank", [0, 4])
def test_gru_state_is_identical_after_encode_and_decode(lora_rank):
    cfg = dict(hidden=16, embed=8, window=4, train_lanes=1, lora_rank=lora_rank)   # one lane
    data = sample("text", 6000, seed=5)
    enc = Codec(5)
    enc.config = dict(enc.config, byte_models=[("gru", cfg)], learners_from=0)
    payload = enc.encode_block(data)
    dec = Codec(5)
    dec.config = dict(dec.config, byte_models=[("gru", cfg)], learners_from=0)
    assert dec.decode_block(payload, len(data)) == data
    a, b = enc.learners[0].state(), dec.learners[0].state()
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(np.asarray(a[k]), np.asarray(b[k])), k
    assert enc.learners[0].metrics.summary()["updates"] > 10


def test_bad_settings_are_one_line_errors_and_odd_ones_warnings():
    from cmzip.errors import CmzipError
    with pytest.raises(CmzipError, match="invalid GRU settings: hidden") as error:
        GRUPredictor(dict(hidden=0))
    assert "\n" not in str(error.value)
    with pytest.raises(CmzipError, match="hiden"):
        GRUPredictor(dict(hiden=64))
    gru = GRUPredictor(dict(lr=0.2, hidden=8, embed=4))
    assert any("lr" in w and "diverge" in w for w in gru.warnings)
