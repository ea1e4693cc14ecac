"""cmzip.learn: optimisers, clipping, accumulation, schedules, hyperparameter diagnostics, losses,
metrics and the low-rank adapter -- against hand-computed values and finite differences, plus
the exactness contract (same bits twice, and in a process that simulates another machine)."""
import hashlib
import io
import keyword
import math
import subprocess
import sys
import tokenize
from pathlib import Path

import numpy as np
import pytest

import cmzip.learn as learn
from cmzip import exact
from cmzip.errors import CmzipError
from cmzip.learn import (SGD, AdamW, Curriculum, Diagnostic, GradientAccumulator,
                         LowRankAdapter, OnlineMetrics, OnlineTrainer, Param, WarmupDecay)
from machines import other_machine_env

REPO = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------- optimisers

def test_sgd_plain_steps_by_hand():
    p = np.array([1.0, -2.0])
    opt = SGD({"w": p}, lr=0.1)
    opt.step({"w": np.array([0.5, -1.0])})
    assert p.tolist() == pytest.approx([0.95, -1.9], rel=1e-15)
    opt.step({"w": np.array([0.5, -1.0])}, lr=0.2)            # lr override for this step only
    assert p.tolist() == pytest.approx([0.85, -1.7], rel=1e-15)
    assert opt.steps == 2 and opt.lr == 0.1


def test_sgd_momentum_and_decoupled_weight_decay_by_hand():
    p = np.array([1.0])
    opt = SGD({"w": p}, lr=0.1, momentum=0.9, weight_decay=0.01)
    opt.step({"w": np.array([0.5])})
    # buf = 0.5;  p = 1 - 0.1 * (0.5 + 0.01 * 1) = 0.949
    assert p[0] == pytest.approx(0.949, rel=1e-15)
    opt.step({"w": np.array([0.5])})
    # buf = 0.9 * 0.5 + 0.5 = 0.95;  p = 0.949 - 0.1 * (0.95 + 0.00949) = 0.853051
    assert p[0] == pytest.approx(0.853051, rel=1e-14)
    opt.step({"w": np.array([-1.0])})
    # buf = 0.9 * 0.95 - 1 = -0.145;  p = 0.853051 - 0.1 * (-0.145 + 0.00853051)
    assert p[0] == pytest.approx(0.853051 + 0.1 * (0.145 - 0.00853051), rel=1e-14)
    assert opt.state()["buf.w"][0] == pytest.approx(-0.145, rel=1e-14)


def test_adamw_first_step_moves_each_weight_by_about_lr():
    p = np.array([1.0, 1.0, 1.0])
    AdamW({"w": p}, lr=0.01).step({"w": np.array([1e-3, -3.0, 0.0])})
    # mhat = g, vhat = g^2: the step is lr * g / (|g| + eps), about lr whatever g's scale
    assert p.tolist() == pytest.approx([0.99, 1.01, 1.0], abs=1e-6)


def _adamw_reference(p, grads, lr, b1, b2, eps, wd):
    """Textbook AdamW on Python floats (bias correction with powers)."""
    m = v = 0.0
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat, vhat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        p = p - lr * (mhat / (math.sqrt(vhat) + eps) + wd * p)
    return p


@pytest.mark.parametrize("wd", [0.0, 0.05])
def test_adamw_is_bit_identical_to_its_formula_written_out(wd):
    """The in-place step must give exactly the formula's bits (the codec's learners depend on
    it: a changed bit is a changed format), with running products for the bias corrections."""
    rng = np.random.default_rng(3)
    p = rng.standard_normal((40, 7))
    expected, m, v = p.copy(), np.zeros_like(p), np.zeros_like(p)
    b1, b2, lr, eps = 0.5, 0.99, 0.02, 1e-8
    b1_t = b2_t = 1.0
    opt = AdamW({"w": p}, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    for _ in range(5):
        g = rng.standard_normal(p.shape) * 10.0 ** rng.integers(-6, 2, p.shape)
        opt.step({"w": g})
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * (g * g)
        b1_t, b2_t = b1_t * b1, b2_t * b2
        expected = expected - lr * ((m * (1.0 / (1.0 - b1_t)))
                                    / (np.sqrt(v * (1.0 / (1.0 - b2_t))) + eps)
                                    + wd * expected)
    assert np.array_equal(p, expected)


def test_adamw_three_steps_with_bias_correction_and_weight_decay_by_hand():
    p = np.array([1.0])
    opt = AdamW({"w": p}, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
    opt.step({"w": np.array([2.0])})
    # m = 0.2, v = 0.004;  mhat = 2, vhat = 4;  p = 1 - 0.1 * (2 / (2 + 1e-8) + 0.1 * 1)
    assert p[0] == pytest.approx(1 - 0.1 * (2 / (2 + 1e-8) + 0.1), rel=1e-15)
    assert p[0] == pytest.approx(0.8900000005, rel=1e-12)
    opt.step({"w": np.array([-1.0])})
    # m = 0.08, v = 0.004996;  mhat = 0.08 / 0.19, vhat = 0.004996 / 0.001999
    step2 = 0.8900000005 - 0.1 * ((0.08 / 0.19) / (math.sqrt(0.004996 / 0.001999) + 1e-8)
                                  + 0.1 * 0.8900000005)
    assert p[0] == pytest.approx(step2, rel=1e-12)
    opt.step({"w": np.array([0.5])})
    assert p[0] == pytest.approx(_adamw_reference(1.0, [2.0, -1.0, 0.5], 0.1, 0.9, 0.999, 1e-8,
                                                  0.1), rel=1e-13)
    state = opt.state()
    assert state["steps"] == 3
    assert state["beta1_t.w"] == pytest.approx(0.9 ** 3, rel=1e-15)
    assert state["beta2_t.w"] == pytest.approx(0.999 ** 3, rel=1e-15)
    assert state["m.w"][0] == pytest.approx(0.9 * 0.08 + 0.1 * 0.5, rel=1e-14)


def test_optimisers_update_in_place_and_leave_absent_params_alone():
    w, b = np.ones((2, 3)), np.zeros(3)
    row = w[0]                                                  # a view the model might hold
    for opt in (SGD({"w": w, "b": b}, lr=0.5, momentum=0.5), AdamW({"w": w, "b": b}, lr=0.5)):
        before_b = b.copy()
        opt.step({"w": np.full((2, 3), 0.25)})
        assert opt.params["w"] is w and opt.params["b"] is b
        assert np.all(row < 1.0) and np.array_equal(b, before_b)
    assert AdamW({"b": b}, lr=0.1).state()["beta1_t.b"] == 1.0


def test_adamw_counts_steps_per_parameter():
    a, b = np.array([1.0]), np.array([1.0])
    opt = AdamW({"a": a, "b": b}, lr=0.1)
    opt.step({"a": np.array([1.0])})
    opt.step({"a": np.array([1.0]), "b": np.array([1.0])})
    state = opt.state()
    assert state["beta1_t.a"] == pytest.approx(0.81) and state["beta1_t.b"] == pytest.approx(0.9)
    assert b[0] == pytest.approx(0.9, abs=1e-7)                # b's own first step: about lr


def test_optimiser_input_errors():
    with pytest.raises(TypeError):
        SGD({"w": np.zeros(3, dtype=np.int64)}, lr=0.1)
    opt = AdamW({"w": np.zeros(3)}, lr=0.1)
    with pytest.raises(KeyError):
        opt.step({"v": np.zeros(3)})
    with pytest.raises(ValueError):
        opt.step({"w": np.zeros(4)})


# ------------------------------------------------------------------------------------ clipping

def test_clip_by_value_returns_new_arrays():
    g = {"a": np.array([-3.0, 0.5, 2.0])}
    clipped = learn.clip_by_value(g, 1.0)
    assert clipped["a"].tolist() == [-1.0, 0.5, 1.0]
    assert g["a"].tolist() == [-3.0, 0.5, 2.0]


def test_global_norm_and_clip_by_global_norm():
    g = {"a": np.array([3.0, 4.0]), "b": np.array([[12.0]])}
    assert learn.global_norm(g) == 13.0
    scaled, norm = learn.clip_by_global_norm(g, 6.5)
    assert norm == 13.0
    assert scaled["a"].tolist() == [1.5, 2.0] and scaled["b"].tolist() == [[6.0]]
    assert learn.global_norm(scaled) == pytest.approx(6.5, rel=1e-15)
    same, norm = learn.clip_by_global_norm(g, 20.0)            # under the limit: unchanged
    assert norm == 13.0 and same["a"].tolist() == [3.0, 4.0] and same["a"] is not g["a"]
    zeros, norm = learn.clip_by_global_norm({"a": np.array([np.nan, 1.0])}, 1.0)
    assert math.isnan(norm) and zeros["a"].tolist() == [0.0, 0.0]


def test_global_norm_is_correctly_rounded_in_any_order():
    x = learn.uniform(10_000, seed=5) * np.logspace(-8, 8, 10_000)
    expected = math.sqrt(math.fsum(float(v) * float(v) for v in x))
    assert learn.global_norm({"x": x}) == expected
    assert learn.global_norm({"x": x[::-1].copy()}) == expected
    assert learn.global_norm({"a": x[:3000], "b": x[3000:].reshape(70, 100)}) == expected


# -------------------------------------------------------------------------------- accumulation

def test_accumulator_mean_over_lanes_and_steps():
    acc = GradientAccumulator(every=2)
    acc.add({"w": np.array([3.0, 6.0])}, count=3)               # the sum over 3 lanes
    assert not acc.ready()
    acc.add({"w": np.array([1.0, 2.0]), "b": np.array([5.0])}, count=1)
    assert acc.ready()
    mean = acc.mean()
    assert mean["w"].tolist() == [1.0, 2.0] and mean["b"].tolist() == [1.25]
    acc.reset()
    assert not acc.ready() and acc.count == 0
    with pytest.raises(ValueError):
        acc.mean()
    single = GradientAccumulator()
    g = np.array([4.0])
    single.add({"w": g}, count=2)
    single.sums["w"] += 1.0                                    # the accumulator owns a copy
    assert single.ready() and g[0] == 4.0


# ----------------------------------------------------------------------------------- schedules

def test_warmup_then_inverse_sqrt_decay_with_floor():
    s = WarmupDecay(peak=0.01, warmup=10, decay="inverse_sqrt", floor=0.002)
    assert [s(0), s(1), s(5), s(10)] == pytest.approx([0.0, 0.001, 0.005, 0.01], rel=1e-15)
    assert s(40) == pytest.approx(0.005, rel=1e-15)             # sqrt(10 / 40) = 1/2
    assert s(250) == pytest.approx(0.002, rel=1e-15)            # 0.01 * sqrt(10/250) = floor
    assert s(10_000) == 0.002
    assert WarmupDecay(1.0, 0)(16) == pytest.approx(0.25)         # no warm-up: 1 / sqrt(step)


def test_linear_exponential_and_constant_decay():
    lin = WarmupDecay(1.0, 4, decay="linear", floor=0.2, half_life=10)
    assert lin(4) == 1.0
    assert lin(14) == pytest.approx(0.6, rel=1e-15)              # half-way after half_life
    assert lin(24) == pytest.approx(0.2) and lin(1000) == pytest.approx(0.2)
    exp = WarmupDecay(1.0, 0, decay="exponential", floor=0.2, half_life=10)
    assert [exp(0), exp(10), exp(20), exp(5)] == pytest.approx(
        [1.0, 0.6, 0.4, 0.2 + 0.8 * 2 ** -0.5], rel=1e-14)
    assert WarmupDecay(0.5, 2, decay="constant")(1000) == 0.5
    for bad in ({"decay": "cosine"}, {"decay": "linear"}, {"floor": 2.0}, {"warmup": -1}):
        with pytest.raises(CmzipError):
            WarmupDecay(**{"peak": 1.0, "warmup": 0, **bad})


def test_curriculum_stages():
    c = Curriculum([(1000, {"bptt": 32}), (0, {"bptt": 8, "lr_scale": 1.0}),
                    (5000, {"lr_scale": 0.5})])
    assert c.at(0) == {"bptt": 8, "lr_scale": 1.0}
    assert c.at(999) == {"bptt": 8, "lr_scale": 1.0}
    assert c.at(1000) == {"bptt": 32, "lr_scale": 1.0}
    assert c.at(10**9) == {"bptt": 32, "lr_scale": 0.5}
    assert Curriculum([(10, {"x": 1})]).at(9) == {}
    c.at(0)["bptt"] = 99                                        # a copy: stages are unchanged
    assert c.at(0)["bptt"] == 8 and c.stage(4999) == 1
    with pytest.raises(CmzipError):
        Curriculum([(0, {}), (0, {"x": 1})])


# ------------------------------------------------------------------------ hyperparameter checks

def _by_name(diagnostics):
    return {d.name: d for d in diagnostics}


def test_diagnostics_for_bad_settings():
    d = _by_name(learn.validate(learn.OPTIMIZER_SPEC, {
        "weight_decy": 0.1, "lr": 2e-3, "accumulate": True, "warmup": 2.5, "beta1": 1.0,
        "name": "adam", "momentum": -0.1, "clip_norm": None, "eps": 1e-2, "weight_decay": 0.0}))
    assert str(d["weight_decy"]) == ("error: weight_decy: unknown setting; "
                                     "did you mean 'weight_decay'?")
    assert d["accumulate"].level == "error" and "bool" in d["accumulate"].message
    assert d["warmup"].level == "error" and "expected int" in d["warmup"].message
    assert d["beta1"].level == "error" and "less than 1" in d["beta1"].message
    assert d["name"].level == "error" and "did you mean 'adamw'" in d["name"].message
    assert d["momentum"].level == "error" and "at least 0" in d["momentum"].message
    assert d["eps"].level == "warning" and "SGD" in d["eps"].message
    assert {"lr", "clip_norm", "weight_decay"}.isdisjoint(d)     # fine values: nothing said
    assert str(d["name"]).startswith("error: name: 'adam' is not one of")


def test_warnings_explain_why_and_cross_checks():
    d = _by_name(learn.validate_optimizer({"name": "adamw", "lr": 0.5, "momentum": 0.9}))
    assert d["lr"].level == "warning"
    assert str(d["lr"]) == ("warning: lr: 0.5 is unusually high for AdamW, whose steps are about "
                            "lr in size whatever the gradient's scale; training may diverge")
    assert d["momentum"].level == "warning" and "ignored" in d["momentum"].message
    d = _by_name(learn.validate_optimizer({"name": "sgd", "lr": 5.0}))
    assert d["lr"].level == "warning" and "diverge" in d["lr"].message
    d = _by_name(learn.validate_optimizer({"lr": 0.001, "floor": 0.01, "decay": "linear"}))
    assert d["floor"].level == "error" and d["half_life"].level == "error"
    assert learn.validate_optimizer({"name": "sgd", "lr": 0.05, "momentum": 0.9}) == []


def test_param_kinds_and_required():
    spec = {"n": Param(int, 1, 10, required=True), "on": Param(bool), "f": Param(float, 0.0),
            "tag": Param(str, choices=("a", "b"))}
    d = _by_name(learn.validate(spec, {"on": 1, "f": float("nan"), "tag": 3}))
    assert d["n"].message == "is required but missing"
    assert "expected bool" in d["on"].message and "finite" in d["f"].message
    assert "expected str" in d["tag"].message
    assert learn.validate(spec, {"n": np.int64(3), "on": False, "f": 2, "tag": "b"}) == []
    with pytest.raises(ValueError):
        Diagnostic("fatal", "x", "y")


def test_raise_for_errors_is_one_line_and_returns_warnings():
    diagnostics = learn.validate_optimizer({"lr": -1.0, "lrr": 1.0, "beta2": 0.5})
    with pytest.raises(CmzipError) as info:
        learn.raise_for_errors(diagnostics, "GRU optimizer settings")
    message = str(info.value)
    assert "\n" not in message and message.startswith("invalid GRU optimizer settings: ")
    assert "lr: -1.0 is out of range" in message and "lrr: unknown setting" in message
    assert "beta2" not in message                               # a warning, not an error
    warnings = learn.raise_for_errors(learn.validate_optimizer({"beta2": 0.5}), "x")
    assert [w.name for w in warnings] == ["beta2"]
    assert isinstance(info.value, ValueError)


# -------------------------------------------------------------------------------------- losses

def _softmax_ce_nats(logits, target):
    z = logits - logits.max()
    return math.log(math.fsum(np.exp(z))) - z[target]


def test_byte_cross_entropy_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    logits = np.rint(rng.normal(0, 3, (3, 256)) * 256) / 256   # on softmax_weights' 2^-8 grid
    targets = np.array([0, 97, 255])
    bits, grad = learn.byte_cross_entropy(exact.softmax_weights(logits), targets)
    h = 1e-5
    for row, t in enumerate(targets):
        ce = _softmax_ce_nats(logits[row], t)
        assert bits[row] == pytest.approx(ce / math.log(2), rel=1e-9)
        numeric = np.empty(256)
        for j in range(256):
            up, down = logits[row].copy(), logits[row].copy()
            up[j] += h
            down[j] -= h
            numeric[j] = (_softmax_ce_nats(up, t) - _softmax_ce_nats(down, t)) / (2 * h)
        np.testing.assert_allclose(grad[row], numeric, atol=1e-8)
    assert grad.sum(axis=1) == pytest.approx(0.0, abs=1e-12)


def test_byte_cross_entropy_exactly_on_integer_weights():
    weights = np.array([[1.0, 1.0, 2.0, 4.0]])
    bits, grad = learn.byte_cross_entropy(weights, np.array([2]))
    assert bits.tolist() == [2.0]
    assert grad.tolist() == [[0.125, 0.125, -0.75, 0.5]]
    for bad in (np.array([[0.5, 1.0]]), np.array([[-1.0, 2.0]]), np.array([[2.0 ** 52, 2.0]])):
        with pytest.raises(ValueError):
            learn.byte_cross_entropy(bad, np.array([0]))


def test_binary_stretch_gradient_is_the_mixer_error_term():
    bits = np.array([1, 0, 1, 0])
    p16 = np.array([65535, 1, 16384, 49152])
    err = learn.binary_cross_entropy_stretch_grad(bits, p16)
    assert err.dtype == np.int64 and err.tolist() == [1, -1, 49152, -49152]
    assert learn.binary_cross_entropy_stretch_grad(bits, p16, np.array([2, 0, 1, 3])).tolist() == [
        2, 0, 49152, -147456]
    # minus the derivative of the cost in nats wrt the logit s, for p = sigmoid(s)
    s, y, w = 0.7, 1, 3
    cost = lambda s: -w * math.log(1 / (1 + math.exp(-s)))          # noqa: E731
    p16 = round(65536 / (1 + math.exp(-s)))
    numeric = (cost(s + 1e-6) - cost(s - 1e-6)) / 2e-6
    assert learn.binary_cross_entropy_stretch_grad(y, p16, w) / 65536 == pytest.approx(
        -numeric, abs=1e-4)
    with pytest.raises(TypeError):
        learn.binary_cross_entropy_stretch_grad(bits, p16, 0.5)


def test_weighted_binary_cross_entropy_bits():
    cost = learn.weighted_binary_cross_entropy(np.array([0.5, 0.25, 0.25]), np.array([1, 1, 0]),
                                               np.array([1.0, 2.0, 1.0]))
    assert cost.tolist() == pytest.approx([1.0, 4.0, -math.log2(0.75)])


# ------------------------------------------------------------------------------------- metrics

def test_metrics_bookkeeping():
    m = OnlineMetrics("gru", ema_rate=0.5)
    assert m.bytes == 0 and math.isnan(m.bits_per_byte) and math.isnan(m.trend)
    m.record(np.array([]))
    assert m.bytes == 0
    m.record(np.array([8.0, 6.0]))
    assert m.bits_per_byte == 7.0 and m.ema_bits_per_byte == pytest.approx(7.0)
    assert m.trend == pytest.approx(0.0)
    m.record(np.array([1.0, 1.0]))
    m.record_update()
    summary = m.summary()
    assert summary["name"] == "gru" and summary["bytes"] == 4 and summary["updates"] == 1
    assert summary["bits_per_byte"] == 4.0
    # bias-corrected EMA at rate 1/2 per byte, two bytes per record (each keeps 1/4 of the past):
    # (0.75 * 1 + 0.25 * 0.75 * 7) / (0.75 + 0.25 * 0.75)
    assert summary["ema_bits_per_byte"] == pytest.approx(2.2, rel=1e-14)
    assert summary["trend"] < 0                                  # recent bytes are cheaper
    assert "gru: 4 bytes" in str(m)


# ---------------------------------------------------------------------------------------- LoRA

def test_lora_starts_as_a_no_op_with_a_deterministic_init():
    a = LowRankAdapter(16, 8, rank=4, seed=3)
    assert a.delta().shape == (16, 8) and not a.delta().any()
    assert a.params["A"] is a.A and a.params["B"] is a.B and a.B.shape == (4, 8)
    b = LowRankAdapter(16, 8, rank=4, seed=3)
    assert a.A.tobytes() == b.A.tobytes()
    assert not np.array_equal(a.A, LowRankAdapter(16, 8, rank=4, seed=4).A)
    assert np.array_equal(a.A, exact.to_grid(a.A, 16, 4.0))          # on its grid
    assert 0 < np.abs(a.A).max() <= 0.25 and a.A.std() > 0.05          # 1 / sqrt(16)
    with pytest.raises(ValueError):
        LowRankAdapter(8192, 8, rank=4)                                # dB would not be exact


def test_lora_grads_match_finite_differences():
    rng = np.random.default_rng(7)
    adapter = LowRankAdapter(3, 4, rank=2, seed=1, scale=0.5)
    adapter.B[...] = exact.to_grid(rng.normal(0, 0.5, (2, 4)), 16, 4.0)
    w, target = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))

    def loss(a, b):                                  # 0.5 |W + scale A B - T|^2, plain float64
        return 0.5 * float(((w + 0.5 * (a @ b) - target) ** 2).sum())

    grads = adapter.grads(w + adapter.delta() - target)
    h = 1e-6
    for name in ("A", "B"):
        numeric = np.zeros_like(adapter.params[name])
        for i in np.ndindex(numeric.shape):
            up = {"A": adapter.A.copy(), "B": adapter.B.copy()}
            down = {"A": adapter.A.copy(), "B": adapter.B.copy()}
            up[name][i] += h
            down[name][i] -= h
            numeric[i] = (loss(up["A"], up["B"]) - loss(down["A"], down["B"])) / (2 * h)
        np.testing.assert_allclose(grads[name], numeric, atol=2e-5)


def test_lora_trains_with_an_optimiser():
    adapter = LowRankAdapter(4, 3, rank=2, seed=0)
    target = learn.uniform((4, 2), seed=9) @ learn.uniform((2, 3), seed=10)    # rank 2
    opt = AdamW(adapter.params, lr=0.02)
    first = None
    for _ in range(200):
        residual = adapter.delta() - target
        first = first if first is not None else learn.global_norm({"r": residual})
        opt.step(adapter.grads(residual))
    assert learn.global_norm({"r": adapter.delta() - target}) < 0.1 * first


# --------------------------------------------------------------------------------- the trainer

def test_trainer_matches_the_pieces_by_hand():
    settings = {"name": "sgd", "lr": 0.1, "momentum": 0.5, "accumulate": 2, "clip_norm": 1.0,
                "warmup": 2}
    w = np.zeros(2)
    trainer = OnlineTrainer({"w": w}, settings)
    assert trainer.warnings == []
    assert trainer.add({"w": np.array([6.0, 8.0])}, count=2) is False
    assert trainer.add({"w": np.array([0.0, 0.0])}, count=2) is True
    # mean (1.5, 2), norm 2.5 -> clipped to (0.6, 0.8); warm-up step 1 of 2: lr 0.05
    assert trainer.last_norm == 2.5
    assert w.tolist() == pytest.approx([-0.03, -0.04], rel=1e-14)
    trainer.add({"w": np.array([0.0, 0.4])}, count=1)
    trainer.add({"w": np.array([0.0, 0.0])}, count=1, lr_scale=0.5)
    # mean (0, 0.2), not clipped; buf = (0.3, 0.6); lr 0.1 * 0.5
    assert w.tolist() == pytest.approx([-0.045, -0.07], rel=1e-14)
    with pytest.raises(CmzipError, match="invalid GRU settings: lrr: unknown"):
        OnlineTrainer({"w": w}, {"lrr": 0.1}, what="GRU settings")


# ------------------------------------------------------------------------------ exactness

_WORKLOAD = r"""
import hashlib
import numpy as np
import cmzip.learn as learn
from cmzip.exact import softmax_weights

def workload():
    params = {"w": learn.uniform((64, 32), seed=1), "b": learn.uniform(32, seed=2) * 0.1}
    adapter = learn.LowRankAdapter(64, 32, rank=4, seed=3)
    trainer = learn.OnlineTrainer(params, {"name": "adamw", "lr": 0.01, "weight_decay": 0.01,
                                           "accumulate": 2, "clip_norm": 5.0, "clip_value": 2.0,
                                           "warmup": 3, "decay": "exponential", "floor": 1e-3,
                                           "half_life": 4})
    lora_opt = learn.SGD(adapter.params, lr=0.05, momentum=0.9, weight_decay=1e-3)
    digest = hashlib.sha256()
    for step in range(24):
        x = learn.uniform((64, 32), seed=100 + step) * (1 + step % 5)
        grads = {"w": x * params["w"] + adapter.delta(), "b": x[0] - params["b"]}
        trainer.add(grads, count=1 + step % 3)
        lora_opt.step(adapter.grads(x * 0.01))
        logits = np.rint(x[:4] * 2048) / 256
        bits, d_logits = learn.byte_cross_entropy(softmax_weights(logits), np.arange(4))
        digest.update(d_logits.tobytes())
    for arrays in (params, adapter.params):
        for name in sorted(arrays):
            digest.update(arrays[name].tobytes())
    state = trainer.optimizer.state()
    for key in sorted(state):
        digest.update(np.asarray(state[key]).tobytes())
    return digest.hexdigest()
"""

_CHILD = _WORKLOAD + "\nprint(workload())\n"


def _run_workload():
    namespace = {}
    exec(_WORKLOAD, namespace)
    return namespace["workload"]()


def test_same_bits_every_time():
    assert _run_workload() == _run_workload()


def test_same_bits_on_a_simulated_other_machine():
    env = other_machine_env()
    result = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == _run_workload()


_PORTABLE_MODULES = ["optim", "clip", "accumulate", "schedule", "losses", "lora", "rng", "trainer"]
_FORBIDDEN = ["np.exp", "np.log", "np.power", "np.random", "math.exp", "math.log", "math.pow",
              "math.cos", "math.sin", "np.sum", "np.dot", "np.einsum"]


@pytest.mark.parametrize("module", _PORTABLE_MODULES)
def test_training_paths_use_no_library_transcendentals(module):
    source = (REPO / "cmzip" / "learn" / f"{module}.py").read_text()
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    tokens = [t for t in tokens if t.type in (tokenize.NAME, tokenize.OP, tokenize.NUMBER)]
    code = "".join(t.string for t in tokens)
    allowed = {"losses": ["np.log2"]}.get(module, [])            # display-only bits
    for name in _FORBIDDEN:
        hits = code.count(name) - sum(code.count(a) for a in allowed if a.startswith(name))
        assert hits == 0, f"{module}.py uses {name}"
    for before, token in zip(tokens, tokens[1:]):                # x ** y, not {**d} / f(**kw)
        binary = before.type == tokenize.NUMBER or before.string in ")]" or (
            before.type == tokenize.NAME and before.string not in keyword.kwlist)
        assert not (token.string == "**" and binary), f"{module}.py line {token.start[0]}: **"


def test_uniform_is_splitmix64():
    assert int(learn.splitmix64(0, 1)[0]) == 0xE220A8397B1DCDAF    # SplitMix64's reference value
    u = learn.uniform((2, 3), seed=12345, low=-2.0, high=2.0)
    assert u.shape == (2, 3) and np.all((u >= -2.0) & (u < 2.0))
    # pinned: initial weights are part of what a .cmz file means, so they must never change
    assert [x.hex() for x in learn.uniform(3, seed=0)] == [
        "0x1.8882a0e5ec772p-1", "-0x1.18761955e46a0p-3", "-0x1.e4ee8b9dffdb0p-1"]
    assert hashlib.sha256(learn.uniform(1000, seed=0).tobytes()).hexdigest() == \
        "5160af461b4636515d1aaa6bc23125634a4695e995b73c38272568e9be433b73"


def test_grid_norm_is_a_close_exact_estimate_of_the_global_norm():
    from cmzip.learn import clip_by_global_norm, global_norm, grid_norm
    rng = np.random.default_rng(0)
    grads = {"a": rng.normal(0, 0.1, (300, 200)), "b": rng.normal(0, 1.0, 50)}
    assert abs(grid_norm(grads) - global_norm(grads)) < 1e-3 * global_norm(grads)
    shuffled = {"b": grads["b"][::-1].copy(), "a": grads["a"].T.copy()}
    assert grid_norm(shuffled) == grid_norm(grads)          # order of elements does not matter
    clipped, norm = clip_by_global_norm(grads, 1.0, grid_bits=12)
    assert norm == grid_norm(grads)
    assert abs(global_norm(clipped) - 1.0) < 1e-3


def test_compiled_exp_is_bit_identical_to_exp_portable():
    import numba
    from cmzip.learn import kernels

    @numba.njit
    def many(x):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = kernels.exp(x[i])
        return out

    x = np.concatenate([np.linspace(-800, 800, 20001), learn.uniform(20000, seed=9, low=-40, high=40),
                        [0.0, -0.0, 1e-300, 709.0, -745.0]])
    assert np.array_equal(many(x), exact.exp_portable(x))

