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


def _separate(x, y, weighting="none", origin=False):
    """fit_line and, for a usable line, each diagnostic by its own public function, nothing shared."""
    calc._DESIGNS.clear()
    fit = calc.fit_line(x, y, through_origin=origin, weighting=weighting)
    if not isinstance(fit, calc.LineFit):
        return (fit, None, None, None, ())
    return (fit, calc.lack_of_fit(x, y, fit), calc.mandel(x, y), calc.homoscedasticity(x, y),
            calc.back_calculated(x, y, fit))


def _combined(x, y, weighting="none", origin=False):
    d = calc.fit_and_diagnose(x, y, through_origin=origin, weighting=weighting)
    return (d.fit, d.lack_of_fit, d.mandel, d.homoscedasticity, d.back_calculated)


@pytest.mark.parametrize("weighting,origin", [("none", False), ("1/x", False), ("1/x2", False), ("none", True),
                                              ("1/x", True)])
def test_fit_and_diagnose_equals_the_separate_calls_bit_for_bit(weighting, origin):
    """One pass (the series' finite check, Σwy², level means computed once and shared) gives the
    very values of the five separate calls: compared with ==, i.e. every float bit for bit."""
    rng = np.random.default_rng(29)
    designs = [np.repeat(np.linspace(1, 10, 8), 3), np.repeat([0.5, 1.0, 2.0, 4.0, 8.0], 4),
               np.linspace(2, 20, 12), np.repeat([1.0, 3.0, 9.0], [2, 5, 3]), np.array([1.0, 2.0, 4.0]),
               np.repeat([0.001, 0.002, 0.004, 0.008], 3)]
    checked = 0
    for x in designs:
        for _ in range(40):
            slope = 10 ** rng.uniform(-3, 4)
            y = rng.normal(0, 50) + slope * x + rng.normal(0, 10 ** rng.uniform(-4, 1), x.size) * slope
            if rng.random() < 0.3:
                y = np.round(y, int(rng.integers(0, 4)))
            expected = _separate(x, y, weighting, origin)
            calc._DESIGNS.clear()
            assert _combined(x, y, weighting, origin) == expected
            assert _combined(list(x), tuple(y), weighting, origin) == expected  # design now shared
            checked += isinstance(expected[1], calc.LackOfFit)
    assert checked > 100  # most cases reach the full set of diagnostics, not only skips


def test_fit_and_diagnose_of_an_unusable_or_degenerate_series():
    # 2 points: no line (fit_line's own words), and no diagnostics at all
    d = calc.fit_and_diagnose([1.0, 2.0], [3.0, 5.0])
    assert isinstance(d.fit, calc.Unusable) and d.fit.reason == "2 point(s): a line needs at least 3"
    assert (d.lack_of_fit, d.mandel, d.homoscedasticity, d.back_calculated) == (None, None, None, ())
    # exact line through 3 levels, 2 replicates each: zero pure error and zero variance are skipped
    x = [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    y = [5.0, 5.0, 7.0, 7.0, 9.0, 9.0]  # y = 3 + 2x
    assert _combined(x, y) == _separate(x, y)
    d = calc.fit_and_diagnose(x, y)
    assert d.fit.slope == 2.0 and d.fit.intercept == 3.0
    assert isinstance(d.lack_of_fit, calc.Skipped) and isinstance(d.homoscedasticity, calc.Skipped)
    assert [b.x_hat for b in d.back_calculated] == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError):
        calc.fit_and_diagnose(x, y, weighting="1/y")


def test_level_means_of_unweighted_and_weighted_fits():
    """Unweighted, lack of fit's weighted level means are the plain means (shared with
    back_calculated); weighted, they are Σw·y/Σw per level, here by hand: at x = 2 (weights all
    1/2 before scaling) the mean of 4 and 6 is 5 whatever the scale."""
    x = np.array([1.0, 1.0, 2.0, 2.0, 4.0])
    y = np.array([1.0, 3.0, 4.0, 6.0, 9.0])
    d = calc._design(x)
    plain = calc._plain_level_means(d, y)
    assert plain.tolist() == [2.0, 5.0, 9.0]
    assert calc._weighted_level_means(d, d.weighted("none"), y, "none", plain) is plain
    assert calc._weighted_level_means(d, d.weighted("none"), y, "none", None).tolist() == [2.0, 5.0, 9.0]
    weighted = calc._weighted_level_means(d, d.weighted("1/x"), y, "1/x", None)
    assert weighted.tolist() == pytest.approx([2.0, 5.0, 9.0], rel=1e-15)


def test_ndarray_dot_is_the_kernel_of_the_matmul_operator_bit_for_bit():
    """calibration.py sums with ``a.dot(b)`` where it wrote ``a @ b`` (less dispatch per call): both
    reach numpy's one dot kernel for 1-D float arrays, so every sum is the same float. Should a
    numpy release route them differently, this fails before any output changes."""
    rng = np.random.default_rng(41)
    for _ in range(5000):
        n = int(rng.integers(1, 80))
        a = rng.normal(0, 10 ** rng.uniform(-6, 6), n)
        b = np.ones(n) if rng.random() < 0.4 else rng.normal(0, 10 ** rng.uniform(-6, 6), n)
        assert float(a.dot(b)) == float(a @ b)
        assert float(b.dot(a * a)) == float(b @ (a * a))


def test_a_finite_sum_of_y_answers_the_finite_test():
    """The finite test reads Σy first: a sum with an inf or NaN term is never finite, and a sum
    that overflows from finite terms falls back to looking at each y (here: finite data whose
    sum is inf are judged finite, data with one inf or NaN are not)."""
    d = calc._design(np.array([1.0, 2.0, 3.0]))
    for y, expected in (([1.0, 2.0, 3.0], True), ([1e308, 1e308, 1e308], True), ([1.0, np.inf, 2.0], False),
                        ([1.0, np.nan, 2.0], False), ([np.inf, -np.inf, 1.0], False)):
        ya = np.array(y)
        with np.errstate(all="ignore"):
            assert calc._series_finite(d, ya, calc._y_sum(ya)) is expected
    # the same x as a contiguous or scattered end level: the same variance either way
    x = np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0])
    y = np.array([4.0, 5.0, 7.0, 8.0, 9.0, 11.0, 13.0, 12.0, 16.0])
    order = np.array([0, 3, 6, 1, 4, 7, 2, 5, 8])
    assert isinstance(calc._design(x).ends[0], slice) and not isinstance(calc._design(x[order]).ends[0], slice)
    assert calc.homoscedasticity(x, y) == calc.homoscedasticity(x[order], y[order])
