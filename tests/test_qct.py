"""The QCT byte predictor: its hand-written backward pass against finite differences, the exp
and its derivative, the physics it promises (unitary U, density matrices stay density
matrices), encoder/decoder parity, portability to a simulated other machine, and that it learns.
"""
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cmzip.errors import CmzipError

from cmzip.models import qct_math
from cmzip.models.qct import DEFAULT_CONFIG, QCT_SPEC, QCTPredictor
from learner_history import LaneHistory, bit_inputs
from machines import other_machine_env

REPO = Path(__file__).resolve().parent.parent

# small sizes keep the file fast; every code path of the default sizes is still exercised
SMALL = dict(dim=4, blocks=2, window=2, context=5, values=12, train_lanes=8, train_every=2)


def feed(pred, data, lanes, steps=None):
    """The codec's calling pattern without the coder: start_byte, the bit predictions (the
    codec's: lane 0's tree; every lane's from its distribution), push.
    Returns the probability each step gave to the byte that came, (steps, lanes)."""
    hist = LaneHistory(len(data), lanes)
    pred.start_block(hist)
    arr = np.frombuffer(data, dtype=np.uint8)
    probs = []
    for t in range(hist.steps if steps is None else min(steps, hist.steps)):
        pred.start_byte(hist)
        byte = np.where(t < hist.lengths, arr[np.minimum(hist.start + t, len(arr) - 1)], 0)
        probs.append(pred.dist.byte_probability(byte))
        tree = pred.dist.tree()
        assert tree.shape == (256,) and tree.dtype == np.int64
        c0 = np.ones(lanes, dtype=np.int64)
        for bitpos in range(8):
            inputs = bit_inputs(pred.dist, c0, bitpos)
            assert inputs.shape == (lanes,) and inputs[0] == tree[c0[0]]
            assert np.abs(inputs).max() <= 3071
            c0 = (c0 << 1) | ((byte >> (7 - bitpos)) & 1)
        hist.push(byte.astype(np.uint8))
    pred.start_byte(hist)                 # learn from the last byte too
    return np.array(probs)


def state_hash(pred):
    h = hashlib.sha256()
    for key, value in sorted(pred.state().items()):
        h.update(key.encode())
        a = np.asarray(value)
        h.update(str((a.dtype, a.shape)).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def text(n, seed=5):
    rng = np.random.default_rng(seed)
    words = b"the of and to in a is that for it as was with be by on not quantum state".split()
    out = b" ".join(words[i] for i in rng.integers(0, len(words), n // 3))
    return out[:n]


# ------------------------------------------------------------------------------ portable maths

def test_sincos_sigmoid_and_tree_sum():
    x = np.linspace(-60.0, 60.0, 20001)
    s, c = qct_math.sincos(x)
    assert np.abs(s - np.sin(x)).max() < 4e-16 and np.abs(c - np.cos(x)).max() < 4e-16
    z = np.linspace(-30, 30, 601)
    assert np.abs(qct_math.sigmoid(z) - 1 / (1 + np.exp(-z))).max() < 1e-15
    a = np.arange(7 * 5, dtype=np.float64).reshape(7, 5)
    assert np.array_equal(qct_math.tree_sum(a, 0), a.sum(0))
    assert np.array_equal(qct_math.tree_sum(a, 1), a.sum(1))


def test_exact_matmul_is_exact():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 40, 64)), rng.normal(size=(3, 64, 50))
    got = qct_math.exact_matmul(a, b, 64)
    ba, bb = qct_math.grid_bits(64)
    aq, bq = qct_math.quantise(a, ba), qct_math.quantise(b, bb)
    # summed in the opposite order, one product at a time: bit-identical
    ref = np.zeros((3, 40, 50))
    for k in range(63, -1, -1):
        ref = ref + aq[:, :, k:k + 1] * bq[:, k:k + 1, :]
    assert np.array_equal(got, ref)
    assert np.abs(got - a @ b).max() < 1e-5 * np.abs(a @ b).max()


def test_expm_and_its_exact_backward():
    """U = exp(-iH dt) is unitary to 1e-13, and the backward pass through our Taylor +
    squaring equals the adjoint Frechet derivative of the true exponential to ~1e-14
    (scipy.linalg.expm_frechet as the reference), and finite differences to ~1e-8."""
    rng = np.random.default_rng(1)
    d = 6
    hr = rng.normal(size=(4, d, d))
    hi = rng.normal(size=(4, d, d))
    hr, hi = hr + np.swapaxes(hr, 1, 2), hi - np.swapaxes(hi, 1, 2)       # Hermitian
    dt = 0.7
    a = qct_math.real_rep(dt * hi, -dt * hr)
    u, cache = qct_math.expm(a)
    assert cache[3] >= 1                                                   # squarings used
    eye = np.eye(2 * d)
    assert np.abs(np.swapaxes(u, 1, 2) @ u - eye).max() < 1e-13          # unitary (real rep)
    g = rng.normal(size=a.shape)
    grad = qct_math.expm_backward(cache, g)
    # finite differences of <g, expm(a)>
    eps = 1e-6
    for trial in range(6):
        i, j, k = rng.integers(0, 4), rng.integers(0, 2 * d), rng.integers(0, 2 * d)
        ap, am = a.copy(), a.copy()
        ap[i, j, k] += eps
        am[i, j, k] -= eps
        num = ((qct_math.expm(ap)[0] - qct_math.expm(am)[0]) * g).sum() / (2 * eps)
        assert abs(num - grad[i, j, k]) < 1e-7 * np.abs(grad).max()
    scipy_linalg = pytest.importorskip("scipy.linalg")
    ref_u = np.stack([scipy_linalg.expm(m) for m in a])
    assert np.abs(u - ref_u).max() < 1e-13 * np.abs(ref_u).max() * 10
    ref = np.stack([scipy_linalg.expm_frechet(m.T, e, compute_expm=False) for m, e in zip(a, g)])
    assert np.abs(grad - ref).max() < 1e-12 * np.abs(ref).max()


# ------------------------------------------------------------------------------ backward pass

def _loss(pred, x, targets, mask):
    pred._prepare()
    weights, _ = pred.forward(x)
    p = weights / weights.sum(axis=1, keepdims=True)
    return -(np.log(p[np.arange(len(targets)), targets]) * mask).sum()


@pytest.mark.parametrize("config", [
    dict(dim=3, blocks=2, window=2, context=5, values=5),
    dict(dim=4, blocks=1, window=3, context=3, values=4),     # fewer bytes than the window
])
def test_backward_matches_finite_differences(config):
    """Every parameter, float64 (exact=False): relative error below 1e-6 (measured ~1e-8)."""
    cfg = dict(config, coupling_init=1.0, gate_threshold=0.5, gate_sharpness=2.0)
    pred = QCTPredictor(cfg, exact=False)
    rng = np.random.default_rng(11)
    for v in pred.params.values():              # off the initial symmetries (zero output, ...)
        v += rng.normal(0, 0.3, v.shape)
    pred._prepare()
    lanes = 4
    x = rng.integers(0, 6, size=(cfg["context"], lanes))
    targets = rng.integers(0, 6, size=lanes)
    mask = np.array([1.0, 1.0, 0.0, 1.0])
    _, cache = pred.forward(x, keep=True)
    gates = np.concatenate([c["gate"].ravel() for c in cache["blocks"]])
    assert ((gates > 0.05) & (gates < 0.95)).any()            # the gate's slope is exercised
    grads = pred.gradients(cache, targets, mask)
    assert set(grads) == set(pred.params)
    eps = 1e-5
    for name, param in pred.params.items():
        flat = param.reshape(-1)
        if name.startswith("embed"):                           # the rows of the bytes used
            idx = np.arange(6 * param.shape[1])
        else:
            idx = rng.permutation(flat.size)[:24]
        numeric = np.empty(len(idx))
        for n, i in enumerate(idx):
            old = flat[i]
            flat[i] = old + eps
            up = _loss(pred, x, targets, mask)
            flat[i] = old - eps
            down = _loss(pred, x, targets, mask)
            flat[i] = old
            numeric[n] = (up - down) / (2 * eps)
        pred._prepare()
        scale = np.abs(numeric).max()
        assert scale > 0, name
        rel = np.abs(grads[name].reshape(-1)[idx] - numeric).max() / scale
        assert rel < 1e-6, (name, rel)


# ------------------------------------------------------------------------------ physics

@pytest.mark.parametrize("exact_math, tol", [(True, 2e-6), (False, 1e-12)])
def test_physics_invariants_after_online_learning(exact_math, tol):
    """After a few hundred updates: U unitary, and every state the lane path builds is
    Hermitian with trace 1 and non-negative populations (within tol: exact mode rounds the
    operands of its products to 24-bit grids)."""
    pred = QCTPredictor(dict(SMALL, train_every=1), exact=exact_math)
    feed(pred, text(3000), lanes=16)
    assert pred.metrics.updates >= 150
    d = pred.d
    u = pred.ham["ur"] + 1j * pred.ham["ui"]
    assert np.abs(np.conj(np.swapaxes(u, 1, 2)) @ u - np.eye(d)).max() < 1e-12
    psi = pred.embed["psi_r"] + 1j * pred.embed["psi_i"]
    assert np.abs(np.abs(psi) ** 2 @ np.ones(d) - 1).max() < 1e-14     # pure, normalised
    x = np.random.default_rng(2).integers(0, 256, size=(pred.cfg["context"], 64))
    _, cache = pred.forward(x, keep=True)
    for block in cache["blocks"]:
        for name in ("s", "rho", "y"):
            m = block[name]                                            # (n, k, c, j, L)
            a = m[:, :, 0] + 1j * m[:, :, 1]                           # a[n, k, j, L] = A_jk
            herm = np.abs(a - np.conj(np.swapaxes(a, 1, 2))).max()
            trace = np.einsum("nkkl->nl", a).real
            pops = np.einsum("nkkl->nkl", a).real
            assert herm <= (0.0 if exact_math and name == "y" else tol), (name, herm)
            assert np.abs(trace - 1).max() < tol, (name, np.abs(trace - 1).max())
            assert pops.min() > -tol, (name, pops.min())
        assert (block["gate"] >= 0).all() and (block["gate"] <= 1).all()


# ------------------------------------------------------------------------------ parity, portability

def test_encoder_decoder_parity():
    """Two predictors fed the same stream end in bit-identical states (weights, optimiser,
    pending samples, distributions), and the learning really changed them."""
    data = text(1500)
    a, b = QCTPredictor(SMALL), QCTPredictor(SMALL)
    before = state_hash(a)
    pa, pb = feed(a, data, lanes=12), feed(b, data, lanes=12)
    assert np.array_equal(pa, pb)
    assert state_hash(a) == state_hash(b) != before
    assert a.metrics.updates == b.metrics.updates > 0


def test_encoder_decoder_parity_inside_the_codec():
    """The same through the codec (one lane, _LearnerView; its tree feeds the mixer): the block
    decodes, and encoder and decoder QCTs end in bit-identical states after learning."""
    from cmzip.codec import Codec
    cfg = dict(SMALL, train_lanes=1)
    data = text(600)
    enc, dec = Codec(5), Codec(5)
    for codec in (enc, dec):
        codec.config = dict(codec.config, byte_models=[("qct", cfg)], learners_from=0)
    payload = enc.encode_block(data)
    assert dec.decode_block(payload, len(data)) == data
    assert state_hash(enc.learners[0]) == state_hash(dec.learners[0])
    assert enc.learners[0].metrics.updates == dec.learners[0].metrics.updates > 100


_CHILD = r"""
import sys, json
sys.path.insert(0, sys.argv[1])
from tests.test_qct import QCTPredictor, SMALL, feed, state_hash, text
pred = QCTPredictor(dict(SMALL, dim=8, values=24))
feed(pred, text(1200), lanes=24)
print(json.dumps({"hash": state_hash(pred), "updates": pred.metrics.updates}))
"""


def test_same_state_on_a_simulated_other_machine():
    """Same byte stream in a child process with other SIMD kernels, BLAS core type, MKL path
    and one thread: the same state() bits."""
    pred = QCTPredictor(dict(SMALL, dim=8, values=24))
    feed(pred, text(1200), lanes=24)
    env = other_machine_env()
    out = subprocess.run([sys.executable, "-c", _CHILD, str(REPO)], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    child = json.loads(out.stdout.strip().splitlines()[-1])
    assert child["updates"] == pred.metrics.updates > 0
    assert child["hash"] == state_hash(pred)


# ------------------------------------------------------------------------------ learning

def test_learns_a_repeating_pattern():
    """Period-10 data at 16 lanes: by steps 250-300 the byte that comes gets probability > 0.8
    on average (chance: 1/256; measured ~0.95)."""
    data = b"0123456789" * 600
    pred = QCTPredictor(SMALL)
    probs = feed(pred, data, lanes=16, steps=300)
    assert probs[:10].mean() < 0.05
    assert probs[-50:].mean() > 0.8, probs[-50:].mean()
    assert pred.metrics.bits_per_byte < 2.5


# ------------------------------------------------------------------------------ configuration

def test_config_is_validated():
    assert DEFAULT_CONFIG == {name: param.default for name, param in QCT_SPEC.items()}
    assert QCTPredictor().warnings == []
    with pytest.raises(CmzipError, match="dimm"):
        QCTPredictor({"dimm": 8})
    with pytest.raises(CmzipError, match="window"):
        QCTPredictor({"window": 0})
    assert any("receptive field" in w for w in QCTPredictor({"context": 12}).warnings)


@pytest.mark.parametrize("config", [dict(dim=2, blocks=1, window=1, context=1, values=2),
                                    dict(dim=3, blocks=3, window=1, context=4, values=6)])
def test_odd_sizes_run(config):
    pred = QCTPredictor(dict(config, train_lanes=4, train_every=1))
    probs = feed(pred, text(200), lanes=5)
    assert np.isfinite(probs).all() and pred.metrics.updates > 0
