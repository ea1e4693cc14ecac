"""Optimisers for online learners: SGD with momentum and AdamW, both portable.

Parameters are float64 arrays updated IN PLACE, so a model that holds references to them sees
the new values.  Every operation is element-wise float64 + - * / sqrt (correctly rounded, so
bit-identical on every machine) or Python float arithmetic on scalars; AdamW's bias corrections
use running products beta^t, never a power with a float exponent.

Both apply *decoupled* weight decay (Loshchilov & Hutter): the decay term wd * p is added to
the step itself, never to the gradient, so it does not pass through momentum or Adam's
second-moment scaling.  Parameters absent from a step's grads are left alone, moments and all.

The arithmetic itself is the compiled kernels' (learn/kernels.py), the same code that the
compiled learners run inside the coding loop.
"""
import numpy as np

from . import kernels


def _check_params(params):
    for name, p in params.items():
        if not isinstance(p, np.ndarray) or p.dtype != np.float64 or not p.flags.c_contiguous:
            raise TypeError(f"parameter {name!r} must be a contiguous float64 numpy array "
                            f"(it is updated in place), got {type(p).__name__}")


def _grad_items(params, grads):
    """(name, param, grad as float64) for the parameters this step updates."""
    for name, g in grads.items():
        if name not in params:
            raise KeyError(f"gradient for unknown parameter {name!r}")
        p = params[name]
        g = np.asarray(g, dtype=np.float64)
        if g.shape != p.shape:
            raise ValueError(f"gradient for {name!r} has shape {g.shape}, parameter {p.shape}")
        yield name, p, g


def _flat(a):
    """a contiguous float64 array as 1-D (a view: the kernels update it in place)"""
    return a.reshape(-1)


class SGD:
    """p -= lr * (buf + wd * p) with buf = momentum * buf + g (buf = g when momentum is 0)."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        _check_params(params)
        self.params, self.lr = params, float(lr)
        self.momentum, self.weight_decay = float(momentum), float(weight_decay)
        self.buf = {name: np.zeros_like(p) for name, p in params.items()} if momentum else {}
        self.steps = 0

    def step(self, grads, lr=None):
        lr = self.lr if lr is None else float(lr)
        for name, p, g in _grad_items(self.params, grads):
            buf = self.buf[name] if self.momentum else p       # (unused without momentum)
            kernels.sgd_step(_flat(p), np.ascontiguousarray(g).reshape(-1), _flat(buf), lr,
                             self.momentum, self.weight_decay)
        self.steps += 1

    def state(self):
        """Everything that decides the next step (copies), for encoder/decoder parity checks."""
        state = {"steps": self.steps, "lr": self.lr, "momentum": self.momentum,
                 "weight_decay": self.weight_decay}
        state.update({f"buf.{name}": b.copy() for name, b in self.buf.items()})
        return state


class AdamW:
    """Adam with decoupled weight decay:

        m = b1 m + (1 - b1) g            mhat = m * (1 / (1 - b1^t))
        v = b2 v + (1 - b2) g*g          vhat = v * (1 / (1 - b2^t))
        p -= lr * (mhat / (sqrt(vhat) + eps) + wd * p)

    t counts the steps each parameter took part in (a parameter skipped by some steps keeps its
    own count), and b^t is kept as a running product b^t = b^(t-1) * b."""

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        _check_params(params)
        self.params, self.lr = params, float(lr)
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.eps, self.weight_decay = float(eps), float(weight_decay)
        self.m = {name: np.zeros_like(p) for name, p in params.items()}
        self.v = {name: np.zeros_like(p) for name, p in params.items()}
        self.beta1_t = {name: 1.0 for name in params}       # beta1^t for each parameter's t
        self.beta2_t = {name: 1.0 for name in params}
        self.steps = 0

    def step(self, grads, lr=None):
        lr = self.lr if lr is None else float(lr)
        b1, b2 = self.beta1, self.beta2
        for name, p, g in _grad_items(self.params, grads):
            self.beta1_t[name] *= b1
            self.beta2_t[name] *= b2
            kernels.adamw_step(_flat(p), np.ascontiguousarray(g).reshape(-1),
                               _flat(self.m[name]), _flat(self.v[name]), lr, b1, b2,
                               1.0 - self.beta1_t[name], 1.0 - self.beta2_t[name], self.eps,
                               self.weight_decay)
        self.steps += 1

    def state(self):
        """Everything that decides the next step (copies), for encoder/decoder parity checks."""
        state = {"steps": self.steps, "lr": self.lr, "beta1": self.beta1, "beta2": self.beta2,
                 "eps": self.eps, "weight_decay": self.weight_decay}
        for name in self.params:
            state[f"m.{name}"] = self.m[name].copy()
            state[f"v.{name}"] = self.v[name].copy()
            state[f"beta1_t.{name}"] = self.beta1_t[name]
            state[f"beta2_t.{name}"] = self.beta2_t[name]
        return state
