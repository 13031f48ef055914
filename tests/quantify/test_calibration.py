"""Tests of mpistd.quantify.calibration against published values and closed forms.

Sources are named in each test; fixture provenance is in tests/fixtures/README.md.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mpistd.quantify import _stats
from mpistd.quantify.calibration import (
    Homoscedasticity,
    LackOfFit,
    LineFit,
    Mandel,
    Skipped,
    Unusable,
    back_calculated,
    fit_line,
    homoscedasticity,
    lack_of_fit,
    level_means,
    mandel,
)
from mpistd.quantify.limits import InversePrediction, inverse_predict, limits_din32645

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REFS = json.loads((FIXTURES / "calibration-references.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- NIST Norris


def _parse_nist(path: Path) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """Certified values and data of a NIST StRD linear-regression .dat file."""
    text = path.read_text(encoding="ascii")
    cert: dict[str, float] = {}
    num = r"([-+]?\d+\.\d*(?:[Ee][-+]?\d+)?)"
    for name in ("B0", "B1"):
        m = re.search(rf"^\s*{name}\s+{num}\s+{num}\s*$", text, re.M)
        assert m, name
        cert[name], cert[name + "_sd"] = float(m.group(1)), float(m.group(2))
    m = re.search(rf"^\s*Standard Deviation\s+{num}\s*$", text, re.M)
    assert m
    cert["residual_sd"] = float(m.group(1))
    m = re.search(rf"^\s*R-Squared\s+{num}\s*$", text, re.M)
    assert m
    cert["r_squared"] = float(m.group(1))
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if re.match(r"^Data:\s+y\s+x\s*$", ln))
    rows = [ln.split() for ln in lines[start + 1:] if ln.strip()]
    data = np.array([[float(a), float(b)] for a, b in rows])
    return cert, data[:, 1], data[:, 0]


def test_norris_nist_strd_certified_values():
    """NIST StRD Norris: certified B0, B1, their SDs, residual SD and R² (>= 9 digits)."""
    cert, x, y = _parse_nist(FIXTURES / "Norris.dat")
    assert x.size == 36
    fit = fit_line(x, y)
    assert isinstance(fit, LineFit)
    rtol = 5e-10  # 9 significant digits
    assert fit.intercept == pytest.approx(cert["B0"], rel=rtol)
    assert fit.slope == pytest.approx(cert["B1"], rel=rtol)
    assert fit.intercept_se == pytest.approx(cert["B0_sd"], rel=rtol)
    assert fit.slope_se == pytest.approx(cert["B1_sd"], rel=rtol)
    assert fit.residual_sd == pytest.approx(cert["residual_sd"], rel=rtol)
    assert fit.r_squared == pytest.approx(cert["r_squared"], rel=rtol)
    assert (fit.n, fit.df, fit.through_origin, fit.weighting) == (36, 34, False, "none")


def test_to_dict_plain_names_and_types():
    cert, x, y = _parse_nist(FIXTURES / "Norris.dat")
    d = fit_line(x, y).to_dict()
    for key in ("slope", "intercept", "slope_se", "intercept_se", "r_squared",
                "residual_sd", "n", "levels", "x_min", "x_max", "x_mean", "y_mean",
                "q_x", "s_x0", "df", "through_origin", "weighting", "slope_ci95"):
        assert key in d
    json.dumps(d)  # JSON-friendly
    for key, value in d.items():
        assert type(value) in (float, int, bool, str, list), key
    assert all(type(v) is float for v in d["slope_ci95"])


# --------------------------------------------------------------------------- Montgomery


def test_lack_of_fit_montgomery_s11_1():
    """Montgomery & Runger example S11-1: SS_pe 3.0366 (7 df), SS_lof 4.3005 (7 df),
    F0 1.42; the book's P 0.3276 is that of the rounded F0 = 1.42."""
    ex = REFS["montgomery_S11_1_lack_of_fit"]
    pub = ex["published"]
    fit = fit_line(ex["x"], ex["y"])
    assert round(fit.intercept, 3) == pub["intercept"]
    assert round(fit.slope, 3) == pub["slope"]
    lof = lack_of_fit(ex["x"], ex["y"], fit)
    assert isinstance(lof, LackOfFit)
    # The book truncates SS_pe = 3.03667 to 3.0366: agree within its last digit.
    assert abs(lof.ss_pe - pub["SS_pure_error"]) < 1e-4
    assert lof.df_pe == pub["df_pure_error"]
    assert round(lof.ss_lof, 4) == pub["SS_lack_of_fit"]
    assert lof.df_lof == pub["df_lack_of_fit"]
    assert round(lof.ss_lof + lof.ss_pe, 4) == pub["SS_residual"]
    assert round(lof.f, 2) == pub["F0"]
    # The book's P at its rounded F0, to the digits it gives:
    assert round(_stats.f_sf(pub["F0"], 7, 7), 4) == pub["P_book_rounded"]
    # Our p from the unrounded F agrees with the book to 2 digits (0.33).
    assert round(lof.p_value, 2) == round(pub["P_book_rounded"], 2)
    assert not lof.significant(0.05)


def test_lack_of_fit_without_replicates_is_skipped():
    x, y = [1, 2, 3, 4, 5], [1.1, 1.9, 3.2, 3.9, 5.1]
    res = lack_of_fit(x, y, fit_line(x, y))
    assert isinstance(res, Skipped) and res.statistic == "lack_of_fit"


def test_lack_of_fit_zero_pure_error_is_skipped():
    x = [1, 1, 2, 2, 3, 3]
    y = [1.0, 1.0, 2.5, 2.5, 3.0, 3.0]
    assert isinstance(lack_of_fit(x, y, fit_line(x, y)), Skipped)


def test_lack_of_fit_two_levels_no_df_is_skipped():
    x = [1, 1, 2, 2]
    y = [1.0, 1.2, 2.0, 2.3]
    assert isinstance(lack_of_fit(x, y, fit_line(x, y)), Skipped)


def test_lack_of_fit_of_unusable_fit_is_skipped():
    assert isinstance(lack_of_fit([1, 2], [1, 2], fit_line([1, 2], [1, 2])), Skipped)


# --------------------------------------------------------------------------- Mandel
# No published worked example of Mandel's test (data and result) could be found to
# cite (DIN 38402-51 / ISO 8466-1 examples are not openly available); Mandel is tested
# against closed forms and against the equivalent t-test of the quadratic coefficient.

_X5 = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
# Orthogonal-polynomial contrast of degree 3 on x = -2..2: orthogonal to 1, x and x².
_E3 = np.array([-1.2, 2.4, 0.0, -2.4, 1.2])


def test_mandel_closed_form_linear_plus_cubic_contrast_gives_f_zero():
    """y = 1 + 2x + e with e ⟂ {1, x, x²}: the quadratic removes nothing, F = 0, p = 1."""
    y = 1.0 + 2.0 * _X5 + 0.5 * _E3
    res = mandel(_X5, y)
    assert isinstance(res, Mandel)
    assert res.f == pytest.approx(0.0, abs=1e-12)
    assert res.p_value == pytest.approx(1.0, abs=1e-9)
    assert (res.df1, res.df2) == (1, 2)
    assert not res.significant()


def test_mandel_closed_form_parabola_plus_tiny_noise():
    """y = x² + δ·e: DS² = Σ(x² − mean x²)² = 14 (the x² part orthogonal to 1, x is
    x² − 2 on -2..2), s²_quad = δ²·|e|²/(n − 3) = 7.2·δ², so F = 14/(7.2·δ²)."""
    delta = 0.01
    y = _X5**2 + delta * _E3
    res = mandel(_X5, y)
    assert isinstance(res, Mandel)
    assert res.f == pytest.approx(14.0 / (7.2 * delta**2), rel=1e-9)
    assert res.significant(0.01)
    assert res.p_value == pytest.approx(_stats.f_sf(14.0 / (7.2 * delta**2), 1, 2), rel=1e-9)


def test_mandel_equals_t_squared_of_quadratic_coefficient():
    """Mandel's F(1, n−3) equals t² of c₂ in y = c₀ + c₁x + c₂x² (independent lstsq)."""
    rng = np.random.default_rng(20240531)
    x = np.repeat(np.array([0.5, 1.0, 2.0, 4.0, 6.0, 8.0]), 3)
    y = 100.0 + 950.0 * x - 9.0 * x**2 + rng.normal(0.0, 40.0, x.size)
    design = np.column_stack([np.ones_like(x), x, x**2])
    coef, ss, *_ = np.linalg.lstsq(design, y, rcond=None)
    n = x.size
    s2 = float(ss[0]) / (n - 3)
    cov = s2 * np.linalg.inv(design.T @ design)
    t = coef[2] / math.sqrt(cov[2, 2])
    res = mandel(x, y)
    assert isinstance(res, Mandel)
    assert res.f == pytest.approx(t * t, rel=1e-8)
    assert res.p_value == pytest.approx(_stats.t_two_sided_p(t, n - 3), rel=1e-8)


def test_mandel_degenerate_cases_are_skipped():
    assert isinstance(mandel([1, 2, 3], [1, 2, 4]), Skipped)  # n = 3
    assert isinstance(mandel([1, 1, 2, 2], [1, 1.1, 2, 2.2]), Skipped)  # 2 levels
    exact = mandel(_X5, 3.0 + 0.5 * _X5)  # zero residual variance
    assert isinstance(exact, Skipped) and exact.statistic == "mandel"


# --------------------------------------------------------------------------- closed forms


def test_exact_line_has_r2_one_sd_zero_and_later_statistics_skipped():
    x = [0.1, 0.2, 0.3, 0.4, 0.5]
    y = [1.0 + 2.5 * v for v in x]
    fit = fit_line(x, y)
    assert isinstance(fit, LineFit)
    assert fit.slope == pytest.approx(2.5, rel=1e-14)
    assert fit.intercept == pytest.approx(1.0, rel=1e-14)
    assert fit.r_squared == 1.0
    assert fit.residual_sd == 0.0
    assert fit.slope_se == 0.0 and fit.intercept_se == 0.0 and fit.s_x0 == 0.0
    lim = limits_din32645(fit)
    assert isinstance(lim, Skipped) and "zero residual variance" in lim.reason
    inv = inverse_predict(fit, 1.5)
    assert isinstance(inv, Skipped)


def test_hand_computed_small_line():
    """x = 1, 2, 3, 4; y = 2, 3, 5, 6 by hand: x̄ = 2.5, Q_x = 5, Sxy = 7, b = 1.4,
    a = 4 − 3.5 = 0.5, residuals (0.1, −0.3, 0.3, −0.1), SS_res = 0.2, s² = 0.1,
    SS_tot = 10, R² = 0.98, se(b) = √(0.1/5), se(a) = √(0.1·(1/4 + 6.25/5))."""
    fit = fit_line([1, 2, 3, 4], [2, 3, 5, 6])
    assert fit.slope == pytest.approx(1.4)
    assert fit.intercept == pytest.approx(0.5)
    assert fit.residual_sd == pytest.approx(math.sqrt(0.1))
    assert fit.r_squared == pytest.approx(0.98)
    assert fit.slope_se == pytest.approx(math.sqrt(0.02))
    assert fit.intercept_se == pytest.approx(math.sqrt(0.1 * (0.25 + 1.25)))
    assert fit.q_x == pytest.approx(5.0)
    assert fit.s_x0 == pytest.approx(math.sqrt(0.1) / 1.4)
    t = 4.302652729911275  # t(2, 0.975), standard tables: 4.303
    assert fit.slope_ci95[0] == pytest.approx(1.4 - t * math.sqrt(0.02), rel=1e-9)
    assert fit.slope_ci95[1] == pytest.approx(1.4 + t * math.sqrt(0.02), rel=1e-9)
    assert fit.predict(2.0) == pytest.approx(3.3)
    assert np.allclose(fit.predict([1.0, 4.0]), [1.9, 6.1])


def test_through_origin_uncentred_r2_by_hand():
    """Through the origin, x = 1, 2, 3; y = 1, 3, 2 by hand: b = Σxy/Σx² = 13/14,
    SS_res = Σy² − b·Σxy = 14 − 169/14 = 27/14, R² = 1 − SS_res/Σy² (uncentred,
    NIST StRD) = 1 − 27/196, df = 2, se(b) = √(SS_res/2/14)."""
    fit = fit_line([1, 2, 3], [1, 3, 2], through_origin=True)
    assert isinstance(fit, LineFit)
    assert fit.slope == pytest.approx(13 / 14)
    assert fit.intercept == 0.0 and fit.intercept_se == 0.0
    assert fit.df == 2
    assert fit.r_squared == pytest.approx(1 - 27 / 196)
    assert fit.residual_sd == pytest.approx(math.sqrt(27 / 28))
    assert fit.slope_se == pytest.approx(math.sqrt(27 / 28 / 14))


@pytest.mark.parametrize("weighting, power", [("1/x", 1), ("1/x2", 2)])
def test_weighted_fit_matches_lstsq_on_sqrt_w_scaled_data(weighting, power):
    """WLS = OLS of √w·y on √w·[1, x] (numpy lstsq); SEs from s²·(XᵀWX)⁻¹; R² weighted
    centred (as R's lm). Scale of w does not matter for these."""
    x = np.array([0.5, 0.5, 1, 1, 2, 2, 5, 5, 10, 10, 20, 20.0])
    rng = np.random.default_rng(7)
    y = 3.0 + 40.0 * x * (1 + rng.normal(0, 0.03, x.size))
    w = 1.0 / x**power
    sw = np.sqrt(w)
    design = np.column_stack([np.ones_like(x), x])
    coef, ss, *_ = np.linalg.lstsq(design * sw[:, None], y * sw, rcond=None)
    s2 = float(ss[0]) / (x.size - 2)
    cov = s2 * np.linalg.inv(design.T @ (design * w[:, None]))
    ybar_w = np.sum(w * y) / np.sum(w)
    r2 = 1 - float(ss[0]) / float(np.sum(w * (y - ybar_w) ** 2))
    fit = fit_line(x, y, weighting=weighting)
    assert isinstance(fit, LineFit) and fit.weighting == weighting
    assert fit.intercept == pytest.approx(coef[0], rel=1e-10)
    assert fit.slope == pytest.approx(coef[1], rel=1e-10)
    assert fit.intercept_se == pytest.approx(math.sqrt(cov[0, 0]), rel=1e-9)
    assert fit.slope_se == pytest.approx(math.sqrt(cov[1, 1]), rel=1e-9)
    assert fit.r_squared == pytest.approx(r2, rel=1e-10)
    # documented weighted forms: weights scaled to mean 1
    wn = w / w.mean()
    assert fit.x_mean == pytest.approx(np.sum(wn * x) / np.sum(wn))
    assert fit.y_mean == pytest.approx(ybar_w)
    assert fit.q_x == pytest.approx(np.sum(wn * (x - fit.x_mean) ** 2))
    assert fit.residual_sd == pytest.approx(
        math.sqrt(np.sum(wn * (y - coef[0] - coef[1] * x) ** 2) / (x.size - 2)))


def test_back_calculated_by_hand():
    """Line from x = 1, 2, 3, 4 / y = 2, 3, 5, 6 (b = 1.4, a = 0.5): level 2 has
    ȳ = 3, x̂ = 2.5/1.4, relative error (x̂ − 2)/2."""
    fit = fit_line([1, 2, 3, 4], [2, 3, 5, 6])
    res = back_calculated([0, 2, 2], [0.5, 2.9, 3.1], fit)
    assert [r.x_level for r in res] == [0.0, 2.0]
    assert res[0].relative_error is None  # x = 0
    assert res[0].x_hat == pytest.approx(0.0, abs=1e-12)
    assert res[1].y_mean == pytest.approx(3.0)
    assert res[1].x_hat == pytest.approx(2.5 / 1.4)
    assert res[1].relative_error == pytest.approx((2.5 / 1.4 - 2) / 2)
    assert res[1].replicates == 2
    assert back_calculated([1, 2], [1, 2], Unusable("x")) == ()


def test_level_means():
    levels, means = level_means([3, 1, 1, 3, 2], [30, 9, 11, 32, 20])
    assert levels == (1.0, 2.0, 3.0)
    assert means == pytest.approx((10.0, 20.0, 31.0))
    assert all(type(v) is float for v in levels + means)


def test_homoscedasticity_closed_form_f_2_2():
    """3 replicates per end level → F(2, 2), whose tail is P(F > f) = 1/(1 + f);
    two-sided p = 2/(1 + F). var_low = 1 (1, 2, 3), var_high = 16 (10, 14, 18): F = 16."""
    x = [1, 1, 1, 5, 5, 10, 10, 10]
    y = [1, 2, 3, 50, 51, 10, 14, 18]
    res = homoscedasticity(x, y)
    assert isinstance(res, Homoscedasticity)
    assert (res.var_low, res.var_high) == (pytest.approx(1.0), pytest.approx(16.0))
    assert res.f == pytest.approx(16.0)
    assert (res.df1, res.df2) == (2, 2)
    assert res.p_value == pytest.approx(2 / 17, rel=1e-12)
    assert not res.significant(0.01)
    # F(2, 2; 0.995) = 199 (two-sided 99 %): F = 250 is significant, p = 2/251
    y2 = [1, 2, 3, 50, 51, 10, 10 + 4 * math.sqrt(250 / 16), 10 + 8 * math.sqrt(250 / 16)]
    res2 = homoscedasticity(x, y2)
    assert res2.f == pytest.approx(250.0)
    assert res2.p_value == pytest.approx(2 / 251)
    assert res2.significant(0.01)


def test_homoscedasticity_skipped_without_three_replicates_or_zero_variance():
    assert isinstance(homoscedasticity([1, 1, 2, 2, 2], [1, 2, 3, 4, 5]), Skipped)
    assert isinstance(homoscedasticity([1, 1, 1, 2, 2, 2], [1, 1, 1, 3, 4, 5]), Skipped)
    assert isinstance(homoscedasticity([1, 1, 1], [1, 2, 3]), Skipped)


# --------------------------------------------------------------------------- degenerate


def test_degenerate_fits_are_unusable():
    assert isinstance(fit_line([1, 2], [1, 2]), Unusable)  # 2 points
    assert isinstance(fit_line([2, 2, 2], [1, 2, 3]), Unusable)  # one level
    res = fit_line([0, 1, 2], [0.1, 1.0, 2.1], weighting="1/x")  # x = 0
    assert res == Unusable("1/x weights need x > 0")
    assert isinstance(fit_line([0, 1, 2], [0.1, 1.0, 2.1], weighting="1/x2"), Unusable)
    assert isinstance(fit_line([1, 2, 3], [1, float("nan"), 3]), Unusable)
    assert isinstance(fit_line([1, 2, 3], [5, 5, 5]), Unusable)  # zero slope
    with pytest.raises(ValueError):
        fit_line([1, 2, 3], [1, 2])
    with pytest.raises(ValueError):
        fit_line([1, 2, 3], [1, 2, 3], weighting="1/y")


# --------------------------------------------------------------------------- properties

_FLOATS = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


def _all_finite(obj) -> bool:
    for f in fields(obj):
        v = getattr(obj, f.name)
        vals = v if isinstance(v, tuple) else (v,)
        for item in vals:
            if isinstance(item, float) and not math.isfinite(item):
                return False
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_FLOATS, _FLOATS), min_size=3, max_size=20),
       st.sampled_from(["none", "1/x", "1/x2"]), st.booleans())
def test_property_fit_line_never_nan(points, weighting, through_origin):
    x = [p[0] for p in points]
    y = [p[1] for p in points]
    assume(len(set(x)) >= 2)
    fit = fit_line(x, y, weighting=weighting, through_origin=through_origin)
    if isinstance(fit, Unusable):
        return
    assert _all_finite(fit)
    assert all(type(getattr(fit, f.name)) is not np.float64 for f in fields(fit))
    for res in (lack_of_fit(x, y, fit), mandel(x, y), homoscedasticity(x, y),
                limits_din32645(fit), inverse_predict(fit, y[0])):
        assert isinstance(res, Skipped) or _all_finite(res)
    for level in back_calculated(x, y, fit):
        assert _all_finite(level)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.floats(-1e3, 1e3)), min_size=3, max_size=20),
       st.floats(0.0, 1.0))
def test_property_inverse_predict_roundtrip(points, where):
    x = [p[0] / 4 for p in points]
    y = [p[1] for p in points]
    assume(len(set(x)) >= 2)
    fit = fit_line(x, y)
    assume(isinstance(fit, LineFit) and fit.residual_sd > 0)
    x0 = fit.x_min + where * (fit.x_max - fit.x_min)
    res = inverse_predict(fit, fit.predict(x0))
    assert isinstance(res, InversePrediction)
    tol = 1e-12 * (abs(fit.intercept) + abs(fit.slope * x0)) / abs(fit.slope) + 1e-12 * abs(x0)
    assert res.estimate == pytest.approx(x0, abs=tol + 1e-300)
    assert res.ci_low <= res.estimate <= res.ci_high


# --------------------------------------------------------------------------- import cost


def test_imports_are_cheap_no_scipy_stats():
    """Importing the quantify modules must not import scipy (lazy) nor ever scipy.stats."""
    code = (
        "import sys\n"
        "import mpistd.quantify.calibration as c, mpistd.quantify.limits as l\n"
        "import mpistd.quantify.spacing, mpistd.quantify.pairing\n"
        "assert 'scipy' not in sys.modules, 'scipy imported at module import'\n"
        "f = c.fit_line([1, 2, 3, 4], [1.1, 2.0, 2.9, 4.2])\n"
        "c.lack_of_fit([1, 2, 3, 4], [1.1, 2.0, 2.9, 4.2], f); c.mandel([1, 2, 3, 4], [1.1, 2, 2.9, 4.2])\n"
        "l.limits_din32645(f); l.inverse_predict(f, 2.0)\n"
        "assert 'scipy.stats' not in sys.modules, 'scipy.stats imported'\n"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def test_mandel_reproduces_the_nist_pontius_certified_quadratic_term() -> None:
    """Mandel's F (quadratic vs line, F(1, n−3)) is the extra-sum-of-squares F of the quadratic
    term, i.e. (B2/SD(B2))² of the quadratic least-squares fit. NIST StRD 'Pontius' certifies B2 and
    its SD for this load-cell calibration (tests/fixtures/README.md), so F follows from published
    values; its p-value equals the two-sided t(n−3) p-value of that certified t (checked with
    stdtr, a different special function than the F tail mpistd uses)."""
    import json
    from pathlib import Path

    from scipy.special import stdtr

    ref = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "nist_pontius.json").read_text())
    b2, sd_b2 = ref["certified"]["B2"]
    result = mandel(ref["x"], ref["y"])
    assert not isinstance(result, Skipped)
    t = b2 / sd_b2
    assert result.df1 == 1 and result.df2 == len(ref["x"]) - 3 == 37
    assert result.f == pytest.approx(t * t, rel=1e-8)  # (−64.95)² ≈ 4218.6
    assert result.p_value == pytest.approx(2.0 * stdtr(37, -abs(t)), rel=1e-6)
    assert result.significant(0.01)


def test_limits_of_a_line_whose_x_levels_nearly_coincide_are_skipped_not_infinite():
    """Found by test_property_fit_line_never_nan: x levels 0 and 2.7e-159 give Q_x ≈ 7e-318, so
    g = k·s_x0·t/√Q_x is infinite; the limits are Skipped (never inf in the JSON output)."""
    fit = fit_line([0.0, 0.0, 2.684503915769937e-159], [0.0, 1.0, 0.0])
    assert isinstance(limits_din32645(fit), Skipped)
