"""Hyperparameter validation with diagnostics a person can act on.

A learner's settings are checked before anything is built: every problem is reported at once,
errors (unknown keys, wrong types, impossible values) separately from warnings (legal values
that usually train badly, with the reason).
"""
import dataclasses
import difflib
import math
import numbers

from ..errors import CmzipError
from .schedule import DECAYS


@dataclasses.dataclass(frozen=True)
class Diagnostic:
    level: str          # "error" | "warning"
    name: str           # the setting it is about
    message: str

    def __post_init__(self):
        if self.level not in ("error", "warning"):
            raise ValueError(f"diagnostic level must be 'error' or 'warning', not {self.level!r}")

    def __str__(self):
        return f"{self.level}: {self.name}: {self.message}"


def _did_you_mean(word, candidates):
    close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _unusual(name, value, how, bound, why):
    """A warning such as "0.5 is unusually low (below 0.9); the estimate will be noisy"."""
    side = "below" if how == "low" else "above"
    return Diagnostic("warning", name, f"{value!r} is unusually {how} ({side} {bound})"
                                       + (f"; {why}" if why else ""))


@dataclasses.dataclass(frozen=True)
class Param:
    """One setting: its type, hard range (errors), soft range (warnings) or choices.

    Ranges are inclusive unless low_open / high_open.  low_note / high_note say why a value
    outside [warn_low, warn_high] is suspicious.  none_ok: None is a legal value ("off").
    default: the value used when the setting is absent (see defaults())."""
    kind: type
    low: float = None
    high: float = None
    warn_low: float = None
    warn_high: float = None
    choices: tuple = None
    doc: str = ""
    default: object = None
    none_ok: bool = False
    required: bool = False
    low_open: bool = False
    high_open: bool = False
    low_note: str = ""
    high_note: str = ""

    def _type_error(self, value):
        if value is None:
            return None if self.none_ok else "must be set (None is not allowed here)"
        if isinstance(value, bool) and self.kind is not bool:
            return f"expected {self.kind.__name__}, got bool {value!r}"
        ok = {int: numbers.Integral, float: numbers.Real}.get(self.kind, self.kind)
        if not isinstance(value, ok):
            return f"expected {self.kind.__name__}, got {type(value).__name__} {value!r}"
        if self.kind is float and not math.isfinite(value):
            return f"must be a finite number, got {value!r}"
        return None

    def check(self, name, value):
        """Diagnostics for `name` = `value` (an empty list when all is well)."""
        problem = self._type_error(value)
        if problem:
            return [Diagnostic("error", name, problem)]
        if value is None:
            return []
        if self.choices is not None and value not in self.choices:
            listed = ", ".join(repr(c) for c in self.choices)
            return [Diagnostic("error", name, f"{value!r} is not one of {listed}"
                               + _did_you_mean(value, self.choices))]
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            bound = "greater than" if self.low_open else "at least"
            return [Diagnostic("error", name, f"{value!r} is out of range: must be {bound} "
                               f"{self.low}")]
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            bound = "less than" if self.high_open else "at most"
            return [Diagnostic("error", name, f"{value!r} is out of range: must be {bound} "
                               f"{self.high}")]
        if self.warn_low is not None and value < self.warn_low:
            return [_unusual(name, value, "low", self.warn_low, self.low_note)]
        if self.warn_high is not None and value > self.warn_high:
            return [_unusual(name, value, "high", self.warn_high, self.high_note)]
        return []


def validate(spec, values):
    """All diagnostics for the settings `values` against `spec` (name -> Param)."""
    diagnostics = []
    for name, value in values.items():
        if name not in spec:
            diagnostics.append(Diagnostic("error", str(name),
                                          "unknown setting" + _did_you_mean(name, spec)))
        else:
            diagnostics.extend(spec[name].check(name, value))
    for name, param in spec.items():
        if param.required and name not in values:
            diagnostics.append(Diagnostic("error", name, "is required but missing"))
    return diagnostics


def raise_for_errors(diagnostics, what):
    """Raise CmzipError listing every error on one line; otherwise return the warnings."""
    errors = [d for d in diagnostics if d.level == "error"]
    if errors:
        listed = "; ".join(f"{d.name}: {d.message}" for d in errors)
        raise CmzipError(" ".join(f"invalid {what}: {listed}".split()))    # one line
    return [d for d in diagnostics if d.level == "warning"]


def defaults(spec):
    """{name: default} for every setting of spec."""
    return {name: param.default for name, param in spec.items()}


OPTIMIZER_SPEC = {
    "name": Param(str, choices=("sgd", "adamw"), default="adamw", doc="the optimiser"),
    "lr": Param(float, low=0.0, high=100.0, warn_low=1e-7, warn_high=1.0, default=1e-3,
                low_note="the learner will hardly move", high_note="training may diverge",
                doc="peak learning rate"),
    "momentum": Param(float, low=0.0, high=1.0, high_open=True, warn_high=0.99, default=0.0,
                      high_note="updates will lag far behind a file whose statistics change",
                      doc="SGD momentum"),
    "beta1": Param(float, low=0.0, high=1.0, high_open=True, warn_high=0.99, default=0.9,
                   high_note="the first moment will lag far behind a changing file",
                   doc="AdamW first-moment decay"),
    "beta2": Param(float, low=0.0, high=1.0, high_open=True, warn_low=0.9, default=0.999,
                   low_note="the second-moment estimate will be noisy and steps erratic",
                   doc="AdamW second-moment decay"),
    "eps": Param(float, low=0.0, low_open=True, warn_high=1e-3, default=1e-8,
                 high_note="a large eps dominates sqrt(v) and turns AdamW into SGD with momentum",
                 doc="AdamW denominator guard"),
    "weight_decay": Param(float, low=0.0, high=1.0, warn_high=0.5, default=0.0,
                          high_note="weights will be pulled to zero faster than they learn",
                          doc="decoupled weight decay"),
    "clip_value": Param(float, low=0.0, low_open=True, none_ok=True,
                        doc="clip each gradient element to +-clip_value (None: off)"),
    "clip_norm": Param(float, low=0.0, low_open=True, none_ok=True,
                       doc="rescale gradients whose global norm exceeds clip_norm (None: off)"),
    "accumulate": Param(int, low=1, high=1 << 20, warn_high=64, default=1,
                        high_note="an online learner updated this rarely adapts slowly",
                        doc="codec steps per optimiser step"),
    "warmup": Param(int, low=0, warn_high=10000, default=0,
                    high_note="much of a file may be coded before the learning rate peaks",
                    doc="optimiser steps of linear warm-up"),
    "decay": Param(str, choices=DECAYS, default="constant",
                   doc="learning-rate decay after warm-up"),
    "floor": Param(float, low=0.0, default=0.0, doc="the learning rate decays no lower"),
    "half_life": Param(int, low=0, default=0,
                       doc="steps after warm-up to come half-way down to floor "
                           "(linear, exponential)"),
}

ADAMW_LR_WARN = 0.05


def validate_optimizer(values):
    """validate(OPTIMIZER_SPEC, values) plus the checks that involve several settings."""
    diagnostics = validate(OPTIMIZER_SPEC, values)
    if any(d.level == "error" for d in diagnostics):
        return diagnostics              # the cross-checks below need well-typed values
    s = {**defaults(OPTIMIZER_SPEC), **values}
    ignored = ("beta1", "beta2", "eps") if s["name"] == "sgd" else ("momentum",)
    for name in ignored:
        if name in values:
            diagnostics.append(Diagnostic("warning", name, f"is ignored by {s['name']}"))
    if s["name"] == "adamw" and ADAMW_LR_WARN < s["lr"] <= OPTIMIZER_SPEC["lr"].warn_high:
        diagnostics.append(Diagnostic(
            "warning", "lr", f"{s['lr']!r} is unusually high for AdamW, whose steps are about "
            f"lr in size whatever the gradient's scale; training may diverge"))
    if s["floor"] > s["lr"]:
        diagnostics.append(Diagnostic("error", "floor", f"{s['floor']!r} is above lr {s['lr']!r}"))
    if s["decay"] in ("linear", "exponential") and s["half_life"] == 0:
        diagnostics.append(Diagnostic("error", "half_life",
                                      f"must be > 0 for decay {s['decay']!r}"))
    return diagnostics
