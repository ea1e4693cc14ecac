"""The fixed-point tables are exact, monotone and consistent with the logistic function."""
import math

import numpy as np

from cmzip import exact
from cmzip.statemap import NEXT_STATE, N_STATES, STATE_COUNTS


def test_squash_matches_the_logistic_function():
    x = np.arange(-exact.SMAX, exact.SMAX + 1)
    ideal = np.clip(65536 / (1 + np.exp(-x / 256)), 1, 65535)
    assert np.abs(exact.squash(x) - ideal).max() <= 0.5 + 1e-6


def test_squash_is_monotone_and_saturates_within_16_bits():
    s = exact.SQUASH
    assert np.all(np.diff(s) >= 0)
    assert s[0] == 1 and s[-1] == 65535 and exact.squash(0) == 32768


def test_stretch_inverts_squash_and_is_antisymmetric():
    p = np.arange(1, 65536)
    assert np.all(exact.stretch(p) == -exact.stretch(65536 - p))
    # stretch picks the nearest squash point: the round trip error is below half a step
    back = exact.squash(exact.stretch(p))
    slope = 65536 / 4 / 256                  # steepest squash slope, per stretch unit
    assert np.abs(back - p).max() <= slope / 2 + 1
    assert abs(exact.stretch(np.array([16384]))[0] - round(256 * math.log(1 / 3))) <= 1


def test_state_machine_counts_and_transitions():
    assert N_STATES <= 256
    assert tuple(STATE_COUNTS[0]) == (0, 0)
    for s in range(N_STATES):
        n0, n1 = STATE_COUNTS[s]
        for bit in (0, 1):
            m0, m1 = STATE_COUNTS[NEXT_STATE[s, bit]]
            seen, other = (m1, m0) if bit else (m0, m1)
            assert seen >= 1                              # the bit just seen is always counted
            assert other <= (n0 if bit else n1)           # the other count never grows


def test_squash_table_is_the_correctly_rounded_logistic_function():
    """The table comes from exp_portable; 34-digit decimal arithmetic (correctly rounded in
    software) must give every entry alike."""
    from decimal import Decimal, localcontext
    with localcontext() as ctx:
        ctx.prec = 34
        for i, x in enumerate(range(-exact.SMAX, exact.SMAX + 1)):
            p = Decimal(65536) / (1 + (Decimal(-x) / 256).exp())
            assert exact.SQUASH[i] == min(max(int(p.to_integral_value()), 1), 65535), x
