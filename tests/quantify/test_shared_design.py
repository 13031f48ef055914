"""The x-only work of a fit is computed once and shared (issue 17): results must not depend on it.

Each test compares against an independent computation: numpy's own ``np.var``, a hand-worked
variance, or the same statistic computed with nothing remembered (the cache emptied before
every call), in the order the pipeline uses and interleaved with other x designs.
"""
from __future__ import annotations

import numpy as np
import pytest

from mpistd.quantify import calibration as calc


def _all(x, y, weighting="none", origin=False):
    fit = calc.fit_line(x, y, through_origin=origin, weighting=weighting)
    return (fit, calc.lack_of_fit(x, y, fit), calc.mandel(x, y), calc.homoscedasticity(x, y),
            calc.back_calculated(x, y, fit), calc.level_means(x, y))


def _fresh(x, y, weighting="none", origin=False):
    """Every statistic with an empty cache before each call: nothing shared."""
    out = []
    fit = None
    for step in range(6):
        calc._DESIGNS.clear()
        if step == 0:
            fit = calc.fit_line(x, y, through_origin=origin, weighting=weighting)
            out.append(fit)
        elif step == 1:
            out.append(calc.lack_of_fit(x, y, fit))
        elif step == 2:
            out.append(calc.mandel(x, y))
        elif step == 3:
            out.append(calc.homoscedasticity(x, y))
        elif step == 4:
            out.append(calc.back_calculated(x, y, fit))
        else:
            out.append(calc.level_means(x, y))
    return tuple(out)


def test_sample_variance_is_numpys_var_bit_for_bit():
    rng = np.random.default_rng(17)
    for _ in range(20_000):
        n = int(rng.integers(2, 40))
        a = rng.normal(rng.normal(0, 1e3), 10 ** rng.uniform(-3, 3), n)
        if rng.random() < 0.3:
            a = np.round(a, int(rng.integers(0, 4)))
        assert calc._sample_variance(a) == float(np.var(a, ddof=1))


def test_sample_variance_by_hand():
    # 1, 2, 3, 4: mean 2.5, squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, / (n - 1) = 5/3
    assert calc._sample_variance(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(5.0 / 3.0, rel=1e-15)


@pytest.mark.parametrize("weighting,origin", [("none", False), ("1/x", False), ("1/x2", False), ("none", True)])
def test_shared_design_gives_the_same_results_as_nothing_shared(weighting, origin):
    rng = np.random.default_rng(3)
    designs = [np.repeat(np.linspace(1, 10, 8), 3), np.repeat([0.5, 1.0, 2.0, 4.0, 8.0], 4),
               np.linspace(2, 20, 12)]
    cases = []
    for x in designs:
        for slope in (212.0, 9.5 * 212.0, 53.0):  # three metrics on one x, as a calibration has
            cases.append((x, 14.0 + slope * x + rng.normal(0, 3, x.size)))
    expected = [_fresh(x, y, weighting, origin) for x, y in cases]
    calc._DESIGNS.clear()
    # in order (metrics of one x together), then interleaved with the other designs
    assert [_all(x, y, weighting, origin) for x, y in cases] == expected
    order = [0, 3, 6, 1, 4, 7, 2, 5, 8]
    assert [_all(*cases[i], weighting, origin) for i in order] == [expected[i] for i in order]
    # lists, tuples and arrays of the same values are the same data
    x, y = cases[0]
    assert _all(list(x), tuple(y), weighting, origin) == expected[0]


def test_non_finite_and_degenerate_x_are_judged_as_before():
    calc._DESIGNS.clear()
    x = [1.0, 1.0, 1.0, 2.0]
    assert isinstance(calc.mandel(x, [1.0, 2.0, 3.0, 4.0]), calc.Skipped)  # 2 levels: no quadratic
    assert isinstance(calc.fit_line([1.0, float("nan"), 3.0], [1.0, 2.0, 3.0]), calc.Unusable)
    # the same x bytes with a non-finite y: the x part is shared, the y test still applies
    assert isinstance(calc.homoscedasticity([1.0] * 3 + [2.0] * 3, [1.0, 2.0, float("inf"), 1.0, 2.0, 3.0]),
                      calc.Skipped)
    assert isinstance(calc.fit_line([1.0, 2.0, 3.0], [1.0, 2.0, float("nan")]), calc.Unusable)
    assert isinstance(calc.fit_line([-1.0, 2.0, 3.0], [1.0, 2.0, 3.0], weighting="1/x"), calc.Unusable)


def test_the_cache_is_bounded():
    calc._DESIGNS.clear()
    for i in range(200):
        calc.fit_line(np.arange(5.0) + i, np.arange(5.0) * 2 + 1 + np.array([0, 0.1, 0, -0.1, 0]))
    assert len(calc._DESIGNS) <= 64
    big = np.arange(150_000.0)
    calc.fit_line(big, 2 * big + 1)
    calc.fit_line(big + 1, 2 * big + 1)
    assert calc._DESIGN_VALUES <= calc._MAX_DESIGN_VALUES


def test_weightings_on_one_x_do_not_share_their_sums():
    x = np.repeat([1.0, 2.0, 4.0, 8.0, 16.0], 3)
    y = 3.0 + 50.0 * x + np.tile([-1.0, 0.5, 0.5], 5) * x
    expected = {w: _fresh(x, y, w) for w in ("none", "1/x", "1/x2")}
    calc._DESIGNS.clear()
    got = {w: _all(x, y, w) for w in ("1/x2", "none", "1/x")}
    assert got == expected
    assert got["none"][0].slope != got["1/x2"][0].slope
