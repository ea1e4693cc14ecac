"""The compiled GRU byte predictor (models/gru_core.py): its truncated BPTT against finite
differences and against torch autograd on the same weights, the compiled block loop against the
Python-driven one, encoder/decoder parity inside the codec, and that it learns."""
import numpy as np
import pytest

from cmzip.codec import Codec
from cmzip.models import gru_core as core
from cmzip.models.gru import GRUPredictor
from cmzip.samples import sample

INPUTS = np.array([5, 9, 7, 200, 9, 5])
TARGETS = np.array([200, 9, 5, 1])          # the last four predictions are in the loss


def _tiny(window=6, seed=7):
    """A small GRU moved off its initial symmetries (zero biases), with a non-zero start state."""
    gru = GRUPredictor(dict(hidden=8, window=window, every=4, seed=seed))
    rng = np.random.default_rng(3)
    gru.core.theta[:] += rng.normal(0, 0.3, gru.core.theta.shape)
    h0 = rng.uniform(-0.5, 0.5, 8)
    return gru, h0


def _gradient(gru, h0):
    """The compiled window gradient (mean cross-entropy of the last len(TARGETS) predictions)
    and that loss, from hidden state h0."""
    c = gru.core
    c.grad[:] = 0.0
    c.touched[:] = 0
    c.h[:] = h0
    core.gru_window_gradient(c, INPUTS, TARGETS)
    first = len(INPUTS) - len(TARGETS)
    loss = -np.mean([np.log(c.ring_p[first + i, t]) for i, t in enumerate(TARGETS)])
    return c.grad.copy(), loss


def test_bptt_gradient_matches_finite_differences():
    gru, h0 = _tiny()
    grad, _ = _gradient(gru, h0)
    theta = gru.core.theta
    rows = sorted(set(INPUTS.tolist()))
    h3 = 3 * 8
    checked = [r * h3 + k for r in rows for k in range(h3)]              # input rows read
    checked += list(range(gru.core.x_table.size, theta.size))          # every dense parameter
    eps = 1e-6
    numeric = np.zeros(theta.size)
    for i in checked:
        old = theta[i]
        theta[i] = old + eps
        up = _gradient(gru, h0)[1]
        theta[i] = old - eps
        down = _gradient(gru, h0)[1]
        theta[i] = old
        numeric[i] = (up - down) / (2 * eps)
    scale = np.abs(numeric).max()
    assert scale > 0.01
    assert np.abs(grad - numeric).max() < 1e-6 * scale
    unread = np.ones(theta.size, dtype=bool)
    unread[checked] = False
    assert not grad[unread].any()                 # rows of bytes the window did not read: 0


def test_bptt_gradient_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    gru, h0 = _tiny()
    grad, loss = _gradient(gru, h0)
    c, n_h = gru.core, 8
    weights = {name: torch.tensor(getattr(c, name), dtype=torch.float64, requires_grad=True)
               for name in ("x_table", "w_h", "b_h", "w_o", "b_o")}
    x_table, w_h, b_h, w_o, b_o = weights.values()
    h = torch.tensor(h0, dtype=torch.float64)
    losses = []
    first = len(INPUTS) - len(TARGETS)
    for i, byte in enumerate(INPUTS):
        gi, gh = x_table[byte], h @ w_h + b_h
        r = torch.sigmoid(gi[:n_h] + gh[:n_h])
        z = torch.sigmoid(gi[n_h:2 * n_h] + gh[n_h:2 * n_h])
        n = torch.tanh(gi[2 * n_h:] + r * gh[2 * n_h:])
        h = n + z * (h - n)
        if i >= first:
            losses.append(-torch.log_softmax(h @ w_o + b_o, dim=0)[TARGETS[i - first]])
    torch_loss = torch.stack(losses).mean()
    torch_loss.backward()
    assert abs(torch_loss.item() - loss) < 1e-12
    expected = np.concatenate([w.grad.numpy().ravel() for w in weights.values()])
    assert np.abs(grad - expected).max() < 1e-12 * np.abs(expected).max()


def test_truncation_drops_the_gradient_through_older_steps():
    # the same last four steps with a window of 4 instead of 6: the loss is the same function of
    # the hidden state before its window, so the gradient through the two older steps is gone
    gru, h0 = _tiny(window=4)
    c = gru.core
    c.grad[:] = 0.0
    c.h[:] = h0
    core.gru_window_gradient(c, INPUTS, TARGETS)      # a ring of 4 keeps the last 4 steps
    short = c.grad.copy()
    long_gru, _ = _tiny(window=6)
    full, _ = _gradient(long_gru, h0)
    assert np.array_equal(c.theta, long_gru.core.theta)
    assert not np.allclose(short, full)
    # the input rows read only by the two older steps (byte 5 first, then 9) get nothing
    assert np.any(full[5 * 24:6 * 24]) and np.any(short[9 * 24:10 * 24])


def _codec(level, cfg, python_loop=False):
    codec = Codec(level)
    codec.config = dict(codec.config, byte_models=[("gru", cfg)], learners_from=0)
    codec.python_loop = python_loop
    return codec


CFG = dict(hidden=16, window=6, every=3)


@pytest.mark.parametrize("cfg", [CFG, dict(CFG, optimizer="sgd", lr=0.05, momentum=0.5,
                                             clip="value", clip_limit=0.5, every=1)])
def test_encoder_and_decoder_states_are_identical_and_the_python_loop_codes_the_same(cfg):
    data = [sample("text", 5000, seed=5), sample("text", 3000, seed=6)]   # two blocks
    enc, dec, py = _codec(6, cfg), _codec(6, cfg), _codec(6, cfg, python_loop=True)
    for block in data:
        payload = enc.encode_block(block)
        assert py.encode_block(block) == payload
        assert dec.decode_block(payload, len(block)) == block
    a, b = enc.learners[0].state(), dec.learners[0].state()
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    summary = enc.learners[0].metrics.summary()
    assert summary["updates"] >= 8000 // cfg["every"] - 2 and summary["bytes"] == 7998


def test_it_learns_a_pattern_that_needs_more_than_one_byte_of_context():
    codec = _codec(1, dict(hidden=32, window=8, every=4, lr=0.01))
    codec.encode_block(b"the cat sat on the mat; " * 300)
    early = codec.learners[0].metrics.bits_per_byte
    codec.encode_block(b"the cat sat on the mat; " * 100)
    summary = codec.learners[0].metrics.summary()
    late = (summary["bits_per_byte"] * summary["bytes"] - early * 7200) / 2400
    assert early < 2.0 and late < 0.3, (early, late)


def test_bad_settings_are_one_line_errors():
    from cmzip.errors import CmzipError
    with pytest.raises(CmzipError, match="invalid GRU settings: hidden") as error:
        GRUPredictor(dict(hidden=0))
    assert "\n" not in str(error.value)
    with pytest.raises(CmzipError, match="hiden"):
        GRUPredictor(dict(hiden=64))
    with pytest.raises(CmzipError, match="multiple of 8"):
        GRUPredictor(dict(hidden=12))
    with pytest.raises(CmzipError, match="every"):
        GRUPredictor(dict(window=4, every=5))


def test_initialisation_is_deterministic():
    a, b, c = (GRUPredictor(dict(hidden=8, seed=s)) for s in (3, 3, 4))
    assert np.array_equal(a.core.theta, b.core.theta)
    assert not np.array_equal(a.core.theta, c.core.theta)
