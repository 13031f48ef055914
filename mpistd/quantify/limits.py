"""Decision, detection and quantification limits and inverse prediction.

What each function returns
--------------------------
* ``limits_din32645(fit, ...)`` → ``Limits`` (method "DIN 32645"), or ``Skipped`` when the
  fit is unusable, forced through the origin or has zero residual variance. A limit the fit
  does not allow is ``None`` in the ``Limits`` with the reason in ``notes`` (x_NG and x_EG
  do not depend on x_BG and are kept when x_BG has no finite solution).
* ``limits_massart(fit, ...)`` → ``Limits`` (method "Massart 1997": x_C and the iterative
  x_D of chemCal's default ``lod``), or ``Skipped`` (unusable, through the origin,
  weighted, zero residual variance).
* ``limits_ich_q2(fit)`` → ``Limits`` (method "ICH Q2(R2)", no decision limit), or
  ``Skipped`` when the fit is unusable or has zero residual variance.
* ``inverse_predict(fit, y_observed, ...)`` → ``InversePrediction`` (Wald and Fieller
  intervals), or ``Skipped`` when the fit is unusable, no finite signal was given, the
  residual variance is zero, a reported signal variance is not finite, or a weighted fit's
  unknown has no weight (x̂ <= 0).
* ``simultaneous_interval(fit, prediction, k=..., method=...)`` → ``Simultaneous``: the
  Bonferroni or Scheffé adjusted Wald and Fieller intervals for one of k unknowns read
  with the same calibration.
* ``sqrt_equation_roots(a, p, q, r)`` → the real roots x >= 0 of x = a + √(p + q·x + r·x²),
  ascending: the exact solutions of every limit equation here.

Invalid arguments (alpha or beta outside (0, 1), m < 1, k <= 0, an unknown variance mode or
simultaneous method) raise ``ValueError``.

Sources: DIN 32645:2008 (calibration method); ICH Q2(R2) (2023) section on detection and
quantitation limits based on the residual SD of a regression line; Massart et al. (1997)
*Handbook of Chemometrics and Qualimetrics Part A*, eqs. 8.26/8.28 and section 13.7.8
(x_D); R package chemCal (J. Ranke), ``inverse.predict``, ``lod`` and ``loq`` (``ws``,
``var.s``, ``w.loq``, ``var.loq``); Draper & Smith (1998) *Applied Regression Analysis*,
3rd ed., section 3.2 (inverse regression, the straight-line case: the Fieller interval);
Graybill & Iyer (1994) *Regression Analysis: Concepts and Applications*, ch. 6;
Greenwell & Schubert Kabban (2014), investr, The R Journal 6(1) 90–100 (inversion and
Wald intervals, pooled variance of m readings, Bonferroni and Scheffé adjustment).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from mpistd.quantify import _stats
from mpistd.quantify._frozen import quick_init
from mpistd.quantify.calibration import LineFit, Skipped, Unusable

__all__ = [
    "Limits",
    "Fieller",
    "Simultaneous",
    "InversePrediction",
    "VARIANCE_MODES",
    "SIMULTANEOUS_METHODS",
    "sqrt_equation_roots",
    "limits_din32645",
    "limits_massart",
    "limits_ich_q2",
    "inverse_predict",
    "simultaneous_interval",
]

#: How the variance of the unknown's mean signal is estimated (see :func:`inverse_predict`).
VARIANCE_MODES: tuple[str, ...] = ("fixed", "pooled")
#: Adjustments for several unknowns read with one calibration.
SIMULTANEOUS_METHODS: tuple[str, ...] = ("bonferroni", "scheffe")

# a root of the squared equation counts as a root of x = a + √(…) when x − a >= −this·scale
_ROOT_RTOL = 1e-9


# --------------------------------------------------------------------------- results


@quick_init
@dataclass(frozen=True, slots=True)
class Limits:
    """Limits in x units; ``None`` where the method defines no such limit or the fit does
    not allow it (the reason is then in ``notes``).

    * ``quantification_range``: when the x_BG equation has two positive roots (g >= 1), the
      range (lower, upper) between which the relative precision is adequate;
      ``quantification_limit`` is then the lower root. ``None`` with a single root.
    * ``g``: the coefficient of x under the square root of the x_BG equation, √r in
      x = √(p + q·x + r·x²); unweighted g = k·s_x0·t/√Q_x (DIN 32645). g < 1: one root.
    * ``alpha``, ``beta``, ``k``, ``m``: the settings used (``None`` where unused).
    * ``variance_basis``: where the variance at the limits came from ("residual", "blank",
      "weighting", "reported").
    """

    method: str
    decision_limit: float | None
    detection_limit: float | None
    quantification_limit: float | None
    quantification_range: tuple[float, float] | None = None
    g: float | None = None
    alpha: float | None = None
    beta: float | None = None
    k: float | None = None
    m: int | None = None
    variance_basis: str | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "decision_limit": self.decision_limit,
            "detection_limit": self.detection_limit,
            "quantification_limit": self.quantification_limit,
            "quantification_range": (list(self.quantification_range)
                                     if self.quantification_range is not None else None),
            "g": self.g,
            "alpha": self.alpha,
            "beta": self.beta,
            "k": self.k,
            "m": self.m,
            "variance_basis": self.variance_basis,
            "notes": list(self.notes),
        }


@quick_init
@dataclass(frozen=True, slots=True)
class Fieller:
    """Fieller (inversion) interval: every x whose predicted signal is compatible with ȳ.

    ``kind``:

    * ``"interval"``: the bounded interval [low, high];
    * ``"two_half_lines"``: (−∞, low] ∪ [high, +∞) — the line is not well determined;
    * ``"real_line"``: every x (``low``/``high`` are ``None``).

    ``g`` = (t·se(b)/b)² with the critical value used; the interval is bounded iff g < 1.
    """

    kind: str
    low: float | None
    high: float | None
    g: float

    @property
    def bounded(self) -> bool:
        return self.kind == "interval"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "low": self.low, "high": self.high, "g": self.g}


@quick_init
@dataclass(frozen=True, slots=True)
class Simultaneous:
    """Intervals for one of k unknowns read with the same calibration, adjusted so that all
    k hold together with probability >= 1 − alpha: Bonferroni t(df, 1 − α/(2k)) or Scheffé
    √(k·F(k, df; 1 − α)) (investr's ``adjust``; Miller 1981, ch. 3)."""

    method: str
    k: int
    alpha: float
    critical_value: float
    ci_low: float
    ci_high: float
    fieller: Fieller

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "k": self.k,
            "alpha": self.alpha,
            "critical_value": self.critical_value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "fieller": self.fieller.to_dict(),
        }


@quick_init
@dataclass(frozen=True, slots=True)
class InversePrediction:
    """x̂ from m replicate signals with its standard error and (1 − alpha) intervals.

    ``ci_low``/``ci_high`` is the Wald interval x̂ ± t·se; ``fieller`` the inversion
    interval. ``variance`` says how var(ȳ) was estimated ("fixed", "pooled", "reported",
    "mean_response"); ``sigma`` is the residual SD used (pooled: with the unknown's
    replicates), ``df`` its degrees of freedom, ``variance_of_mean`` var(ȳ) in signal
    units², ``sample_weight`` the unknown's weight on the fit's mean-1 scale (1.0
    unweighted). ``simultaneous`` is set by the caller when k unknowns share the line.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    m: int
    alpha: float
    df: int = 0
    signal_mean: float = 0.0
    sigma: float = 0.0
    variance_of_mean: float = 0.0
    variance: str = "fixed"
    sample_weight: float = 1.0
    critical_value: float = 0.0
    fieller: Fieller | None = None
    simultaneous: Simultaneous | None = None

    @property
    def ci_half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "m": self.m,
            "alpha": self.alpha,
            "df": self.df,
            "signal_mean": self.signal_mean,
            "sigma": self.sigma,
            "variance_of_mean": self.variance_of_mean,
            "variance": self.variance,
            "sample_weight": self.sample_weight,
            "critical_value": self.critical_value,
            "fieller": self.fieller.to_dict() if self.fieller is not None else None,
            "simultaneous": self.simultaneous.to_dict() if self.simultaneous is not None else None,
        }


# --------------------------------------------------------------------------- helpers


def _check_alpha(alpha: float, name: str = "alpha") -> None:
    if not (0.0 < alpha < 1.0):
        raise ValueError(f"{name} must be in (0, 1), got {alpha!r}")


def _check_m_k(m: int, k: float) -> None:
    if m < 1:
        raise ValueError(f"m must be >= 1, got {m!r}")
    if not k > 0:
        raise ValueError(f"k must be > 0, got {k!r}")


def sqrt_equation_roots(a: float, p: float, q: float, r: float) -> tuple[float, ...]:
    """The real roots x >= 0 of x = a + √(p + q·x + r·x²), ascending (none, one or two).

    Squared: (1 − r)·x² − (2a + q)·x + (a² − p) = 0, solved in the cancellation-free form
    (Numerical Recipes §5.6); a root of the square is kept only if x − a >= 0 (it then
    solves the unsquared equation) and p + q·x + r·x² >= 0.
    """
    c2 = 1.0 - r
    c1 = -(2.0 * a + q)
    c0 = a * a - p
    candidates: list[float] = []
    if c2 == 0.0:
        if c1 != 0.0:
            candidates.append(-c0 / c1)
    else:
        four_ac = 4.0 * c2 * c0
        disc = c1 * c1 - four_ac
        scale = c1 * c1 + abs(four_ac)
        if disc < 0.0 and disc >= -1e-14 * scale:
            disc = 0.0  # a double root lost to rounding
        if disc >= 0.0:
            sq = math.sqrt(disc)
            qq = -0.5 * (c1 + math.copysign(sq, c1))
            if qq != 0.0:
                candidates.extend((qq / c2, c0 / qq))
            else:
                candidates.append(0.0)
    out: list[float] = []
    abs_a, sqrt_p = abs(a), math.sqrt(abs(p))  # the same for every candidate
    for x in candidates:
        if not math.isfinite(x) or x < 0.0:
            continue
        inside = p + q * x + r * x * x
        size = max(abs(x), abs_a, sqrt_p, 1e-300)
        if x - a < -_ROOT_RTOL * size or inside < -_ROOT_RTOL * size * size:
            continue
        out.append(float(x))
    if len(out) < 2:
        return tuple(out)  # nothing to order or merge
    out.sort()
    # a double root may come out twice
    dedup: list[float] = []
    for x in out:
        if not dedup or abs(x - dedup[-1]) > 1e-12 * max(abs(x), 1e-300):
            dedup.append(x)
    return tuple(dedup)


def _weight_power(weighting: str) -> int:
    return {"none": 0, "1/x": 1, "1/x2": 2}[weighting]


# --------------------------------------------------------------------------- limits


def limits_din32645(
    fit: LineFit | Unusable,
    *,
    alpha: float = 0.01,
    beta: float | None = None,
    m: int = 1,
    k: float = 3,
    blank_variance: float | None = None,
    variance_at_limit: float | None = None,
) -> Limits | Skipped:
    """DIN 32645 limits by the calibration method.

    Unweighted line with intercept (s_x0 = s_y/|b|, t one-sided with n − 2 df):

    * decision limit  x_NG = s_x0·t(1 − α)·√(1/m + 1/n + x̄²/Q_x)
    * detection limit x_EG = s_x0·(t(1 − α) + t(1 − β))·√(1/m + 1/n + x̄²/Q_x)
      (the variance at x = 0, DIN 32645's approximation; = 2·x_NG when β = α, the default)
    * quantification limit x_BG: the root of x = k·s_x0·t(1 − α/2)·√(1/m + 1/n +
      (x − x̄)²/Q_x) (chemCal's ``loq``). Squared it is a quadratic; with g =
      k·s_x0·t/√Q_x < 1 it has one positive root; with g >= 1 it can have two, and the
      relative precision is adequate between them: both are reported
      (``quantification_range``, ``quantification_limit`` the lower). Only when no real
      positive root exists is x_BG ``None`` ("no finite quantification limit", with g).

    Weighted fits (1/x, 1/x²; weights scaled to mean 1, see ``LineFit``): the variance of
    one reading at x is s_y²/w(x) with w(x) = x^(−p)/weight_mean, so x_BG solves
    x = k·t/|b|·√(s_y²/(w(x)·m) + s_y²·(1/n + (x − x̄)²/Q_x)) — the weight taken at x_BG
    itself, as chemCal's ``loq`` with ``w.loq`` iterates to; or, given
    ``variance_at_limit`` (chemCal's ``var.loq``), with that variance in place of
    s_y²/w(x). Both stay quadratics and are solved exactly. The decision and detection
    limits of a weighted fit need the variance of a blank reading (``blank_variance``):
    x_NG = t(1 − α)/|b|·√(s_0²/m + s_y²·(1/n + x̄²/Q_x)), x_EG likewise with
    t(1 − α) + t(1 − β); without one they are ``None``.

    Skipped for unusable or through-origin fits (the calibration method needs a line with
    intercept) and for zero residual variance.
    """
    _check_alpha(alpha)
    beta = alpha if beta is None else beta
    _check_alpha(beta, "beta")
    _check_m_k(m, k)
    name = "limits_din32645"
    if not isinstance(fit, LineFit):
        return Skipped(name, "no usable line")
    if fit.through_origin:
        return Skipped(name, "DIN 32645 calibration method needs a line with intercept")
    if fit.residual_sd == 0.0:
        return Skipped(name, "zero residual variance")
    n, df, xm, qx, b = fit.n, fit.df, fit.x_mean, fit.q_x, abs(fit.slope)
    s2 = fit.residual_sd * fit.residual_sd
    t_one = _stats.t_quantile(1.0 - alpha, df)
    t_beta = _stats.t_quantile(1.0 - beta, df)
    t_two = _stats.t_quantile(1.0 - alpha / 2.0, df)
    notes: list[str] = []
    weighted = fit.weighting != "none"
    x_ng: float | None = None
    x_eg: float | None = None
    basis = "residual"
    try:
        if not weighted:
            root0 = fit.s_x0 * math.sqrt(1.0 / m + 1.0 / n + xm * xm / qx)
            x_ng, x_eg = t_one * root0, (t_one + t_beta) * root0
        elif blank_variance is not None and blank_variance >= 0.0 and math.isfinite(blank_variance):
            root0 = math.sqrt(blank_variance / m + s2 * (1.0 / n + xm * xm / qx)) / b
            x_ng, x_eg = t_one * root0, (t_one + t_beta) * root0
            basis = "blank"
        else:
            notes.append(f"decision and detection limits of a {fit.weighting}-weighted fit need the "
                         "variance of a blank reading (a reported blank), which is not available")
        # x_BG: x = √(K2·(σ²_read(x)/m + s²/n + s²(x − x̄)²/Q_x)), σ²_read(x) = c0 + c1·x + c2·x²
        kk = k * t_two / b
        k2 = kk * kk
        v0, v1, v2 = s2, 0.0, 0.0
        if weighted:
            if variance_at_limit is not None:
                v0 = float(variance_at_limit)
                basis_bg = "reported"
            else:
                power = _weight_power(fit.weighting)
                v0 = 0.0
                if power == 1:
                    v1 = s2 * fit.weight_mean
                else:
                    v2 = s2 * fit.weight_mean
                basis_bg = "weighting"
            if basis == "residual":
                basis = basis_bg
            elif basis_bg != basis:
                basis = f"{basis}+{basis_bg}"
        p = k2 * (v0 / m + s2 / n + s2 * xm * xm / qx)
        q = k2 * (v1 / m - 2.0 * s2 * xm / qx)
        r = k2 * (v2 / m + s2 / qx)
        g = math.sqrt(r)
        roots = sqrt_equation_roots(0.0, p, q, r)
    except (ZeroDivisionError, OverflowError, ValueError):
        return Skipped(name, "numerical underflow/overflow: rescale x or y")
    x_bg: float | None = None
    span: tuple[float, float] | None = None
    if not roots:
        notes.append(f"no finite quantification limit: g = {g:.4g} >= 1 and the x_BG equation has "
                     "no real positive root (the line is too imprecise over this range)")
    elif len(roots) == 2:
        x_bg, span = roots[0], (roots[0], roots[1])
    else:
        x_bg = roots[0]
    isfinite = math.isfinite  # each limit that exists, and g too: Q_x near 0 makes it infinite
    if not (isfinite(g) and (x_ng is None or isfinite(x_ng)) and (x_eg is None or isfinite(x_eg))
            and (x_bg is None or isfinite(x_bg)) and (span is None or (isfinite(span[0]) and isfinite(span[1])))):
        return Skipped(name, "numerical overflow")
    # method, decision, detection, quantification limit, quantification_range, g, alpha, beta, k, m,
    # variance_basis, notes: positional (limits of every fit; a keyword call costs more)
    return Limits("DIN 32645", x_ng, x_eg, x_bg, span, float(g), float(alpha), float(beta), float(k), int(m),
                  basis, tuple(notes))


def limits_massart(
    fit: LineFit | Unusable, *, alpha: float = 0.05, beta: float = 0.05, m: int = 1
) -> Limits | Skipped:
    """Massart et al. (1997, section 13.7.8) limits, chemCal's default ``lod``:

    * critical level x_C = s_x0·t(1 − α)·√(1/m + 1/n + x̄²/Q_x): the upper one-sided
      prediction limit at x = 0 read back through the line (= DIN 32645's x_NG);
    * detection limit x_D: the x at which the *lower* one-sided (1 − β) prediction limit
      reaches that signal, x = x_C + s_x0·t(1 − β)·√(1/m + 1/n + (x − x̄)²/Q_x) — the
      prediction variance taken at x_D itself (chemCal finds it with ``optimize``; here
      the exact root of the quadratic).

    No quantification limit (``None``). Skipped for unusable, through-origin or weighted
    fits and for zero residual variance.
    """
    _check_alpha(alpha)
    _check_alpha(beta, "beta")
    _check_m_k(m, 1.0)
    name = "limits_massart"
    if not isinstance(fit, LineFit):
        return Skipped(name, "no usable line")
    if fit.through_origin:
        return Skipped(name, "Massart's x_D needs a line with intercept")
    if fit.weighting != "none":
        return Skipped(name, "Massart's x_D is defined for unweighted fits")
    if fit.residual_sd == 0.0:
        return Skipped(name, "zero residual variance")
    n, df, xm, qx = fit.n, fit.df, fit.x_mean, fit.q_x
    c = 1.0 / m + 1.0 / n
    t_a = _stats.t_quantile(1.0 - alpha, df)
    t_b = _stats.t_quantile(1.0 - beta, df)
    try:
        x_c = fit.s_x0 * t_a * math.sqrt(c + xm * xm / qx)
        bb = (fit.s_x0 * t_b) ** 2
        roots = sqrt_equation_roots(x_c, bb * (c + xm * xm / qx), -2.0 * bb * xm / qx, bb / qx)
    except (ZeroDivisionError, OverflowError, ValueError):
        return Skipped(name, "numerical underflow/overflow: rescale x or y")
    notes: tuple[str, ...] = ()
    x_d: float | None = None
    if roots:
        x_d = roots[0]
    else:
        notes = ("no finite detection limit: the lower prediction band never reaches the critical "
                 "signal (the line is too imprecise)",)
    g = math.sqrt(bb / qx)
    if not (math.isfinite(x_c) and math.isfinite(g)) or (x_d is not None and not math.isfinite(x_d)):
        return Skipped(name, "numerical overflow")
    # as limits_din32645's, positional; no k
    return Limits("Massart 1997", float(x_c), x_d, None, None, float(g), float(alpha), float(beta), None, int(m),
                  "residual", notes)


def limits_ich_q2(fit: LineFit | Unusable) -> Limits | Skipped:
    """ICH Q2(R2) limits from the residual SD of the line: detection 3.3·s_y/b,
    quantification 10·s_y/b (|b|); no decision limit (``None``).

    For weighted fits s_y is the residual SD at a point of average weight (see
    :class:`~mpistd.quantify.calibration.LineFit`). Skipped for unusable fits and zero
    residual variance.
    """
    name = "limits_ich_q2"
    if not isinstance(fit, LineFit):
        return Skipped(name, "no usable line")
    if fit.residual_sd == 0.0:
        return Skipped(name, "zero residual variance")
    # method, decision, detection, quantification limit, range, g, alpha, beta, k, m, variance_basis, notes
    return Limits("ICH Q2(R2)", None, float(3.3 * fit.s_x0), float(10.0 * fit.s_x0), None, None, None, None, None,
                  None, "residual", ())


# --------------------------------------------------------------------------- inverse prediction


def _fieller(fit: LineFit, y_bar: float, v0: float, s: float, crit: float) -> Fieller:
    """{x : (ȳ − a − b·x)² <= crit²·(v0 + s²·(h + (x − c)²/q))}, solved exactly.

    With u = x − c and d = ȳ − ŷ(c): (b² − crit²s²/q)·u² − 2·d·b·u + d² − crit²(v0 + s²h) <= 0
    (Draper & Smith 1998, section 3.2). c = x̄, q = Q_x, h = 1/n with an intercept; through
    the origin c = 0, q = Σwx², h = 0.
    """
    b = fit.slope
    if fit.through_origin:
        c, q, h = 0.0, fit.q_x + fit.n * fit.x_mean * fit.x_mean, 0.0
    else:
        c, q, h = fit.x_mean, fit.q_x, 1.0 / fit.n
    d = y_bar - (fit.intercept + b * c)
    c2 = crit * crit
    a2 = b * b - c2 * s * s / q
    a1 = -2.0 * d * b
    a0 = d * d - c2 * (v0 + s * s * h)
    g = c2 * s * s / (q * b * b)
    disc = a1 * a1 - 4.0 * a2 * a0
    if not all(math.isfinite(v) for v in (a2, a1, a0, g, disc)):
        raise OverflowError("Fieller interval out of floating-point range")
    if a2 == 0.0 or (a2 < 0.0 and disc <= 0.0):
        return Fieller("real_line", None, None, float(g))
    sq = math.sqrt(max(disc, 0.0))
    qq = -0.5 * (a1 + math.copysign(sq, a1))
    r1 = qq / a2
    r2 = a0 / qq if qq != 0.0 else r1
    lo, hi = sorted((r1, r2))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise OverflowError("Fieller interval out of floating-point range")
    if a2 > 0.0:
        return Fieller("interval", float(c + lo), float(c + hi), float(g))
    return Fieller("two_half_lines", float(c + lo), float(c + hi), float(g))


def _critical(method: str, alpha: float, k: int, df: int) -> float:
    if method == "bonferroni":
        return _stats.t_quantile(1.0 - alpha / (2.0 * k), df)
    if method == "scheffe":
        return math.sqrt(k * _stats.f_quantile(1.0 - alpha, k, df))
    raise ValueError(f"unknown simultaneous method {method!r}; expected one of {SIMULTANEOUS_METHODS}")


def inverse_predict(
    fit: LineFit | Unusable,
    y_observed: float | Sequence[float] | np.ndarray,
    *,
    alpha: float = 0.05,
    variance: str = "fixed",
    signal_variance: float | None = None,
    sample_weight: float | str = "fit",
    mean_response: bool = False,
) -> InversePrediction | Skipped:
    """Inverse prediction x̂ = (ȳ − a)/b from the mean ȳ of m replicate signals, with the
    Wald interval x̂ ± t·se and the Fieller (inversion) interval.

    In general, with V = var(ȳ) estimated as below, s the residual SD and t = t(df, 1 − α/2)::

        se      = (1/|b|)·√(V + s²·(1/n + (ȳ − ȳ_cal)²/(b²·Q_x)))
        Wald    = x̂ ± t·se
        Fieller = {x : (ȳ − a − b·x)² <= t²·(V + s²·(1/n + (x − x̄)²/Q_x))}

    (through the origin: 1/n → 0, ȳ_cal → 0, x̄ → 0, Q_x → Σwx², df = n − 1).

    * ``variance="fixed"`` (default; chemCal, Massart et al. 1997 eq. 8.26/8.28): V =
      s²/(w_s·m), s and df = n − 2 from the calibration alone;
    * ``variance="pooled"`` (investr): the unknown's replicate scatter is pooled with the
      residuals, s_p² = (SS_res + w_s·Σ(y₀ⱼ − ȳ)²)/(n − 2 + m − 1), df = n + m − 3, V =
      s_p²/(w_s·m);
    * ``signal_variance`` given (chemCal's ``var.s``): V = signal_variance/m, df = n − 2;
    * ``mean_response=True`` (investr's regulation): V = 0, ȳ a specified mean signal.

    The unknown's weight w_s (weighted fits, on the fit's mean-1 scale): ``"fit"`` (the
    default) takes the fit's weighting at x̂, w_s = x̂^(−p)/weight_mean (Skipped when
    x̂ <= 0); ``"mean"`` the mean weight 1 (chemCal's default ``ws``); a number is a raw
    weight in the fit's units (chemCal's ``ws``), scaled by 1/weight_mean. Unweighted
    fits have w_s = 1.

    At m = 1 and fixed variance the Fieller interval is the inverted prediction band
    (Draper & Smith 1998, section 3.2; Graybill & Iyer 1994, ch. 6); it is bounded iff
    g = (t·se(b)/b)² < 1, otherwise two half-lines or the whole line. Skipped when the
    residual variance is zero.
    """
    _check_alpha(alpha)
    if variance not in VARIANCE_MODES:
        raise ValueError(f"unknown variance mode {variance!r}; expected one of {VARIANCE_MODES}")
    name = "inverse_prediction"
    if not isinstance(fit, LineFit):
        return Skipped(name, "no usable line")
    ys = np.asarray(y_observed, dtype=float).ravel()
    m = int(ys.size)
    if m == 0:
        return Skipped(name, "no observed signal")
    if not np.all(np.isfinite(ys)):
        return Skipped(name, "non-finite observed signal")
    if fit.residual_sd == 0.0:
        return Skipped(name, "zero residual variance: no confidence interval")
    if mean_response and m != 1:
        raise ValueError("mean_response takes a single specified mean signal")
    with np.errstate(over="ignore"):  # signals near the largest double: an inf mean, judged below
        y_bar = float(ys.mean())
    b = fit.slope
    s = fit.residual_sd
    df = fit.df
    try:
        estimate = (y_bar - fit.intercept) / b
        # the unknown's weight
        w_s = 1.0
        if fit.weighting != "none" and signal_variance is None and not mean_response:
            if sample_weight == "fit":
                if not estimate > 0.0:
                    return Skipped(name, f"weighted fit: the estimate {estimate:.4g} <= 0 has no "
                                         f"{fit.weighting} weight (report the signal's variance)")
                w_s = estimate ** (-_weight_power(fit.weighting)) / fit.weight_mean
            elif sample_weight == "mean":
                w_s = 1.0
            elif isinstance(sample_weight, (int, float)) and not isinstance(sample_weight, bool) \
                    and sample_weight > 0:
                w_s = float(sample_weight) / fit.weight_mean
            else:
                raise ValueError(f"sample_weight must be 'fit', 'mean' or a positive number, "
                                 f"got {sample_weight!r}")
        mode = variance
        if mean_response:
            v0, mode = 0.0, "mean_response"
        elif signal_variance is not None:
            if signal_variance < 0.0:
                raise ValueError(f"signal_variance must be >= 0, got {signal_variance!r}")
            if not math.isfinite(signal_variance):
                return Skipped(name, "non-finite signal variance")
            v0, mode = float(signal_variance) / m, "reported"
        elif variance == "pooled" and m > 1:
            with np.errstate(over="ignore", invalid="ignore"):
                ss0 = float(np.sum((ys - y_bar) ** 2)) * w_s
            ss_res = s * s * df
            df = df + m - 1
            s = math.sqrt((ss_res + ss0) / df)
            v0 = s * s / (w_s * m)
        else:
            v0 = s * s / (w_s * m)
        if fit.through_origin:
            sxx0 = fit.q_x + fit.n * fit.x_mean * fit.x_mean
            dy = y_bar
            se = math.sqrt(v0 + s * s * dy * dy / (b * b * sxx0)) / abs(b)
        else:
            dy = y_bar - fit.y_mean
            se = math.sqrt(v0 + s * s * (1.0 / fit.n + dy * dy / (b * b * fit.q_x))) / abs(b)
        t = _stats.t_quantile(1.0 - alpha / 2.0, df)
        half = t * se
        fieller = _fieller(fit, y_bar, v0, s, t)
    except (ZeroDivisionError, OverflowError):
        return Skipped(name, "numerical underflow/overflow: rescale x or y")
    if not all(math.isfinite(v) for v in (estimate, se, half, w_s, v0)):
        return Skipped(name, "numerical overflow")
    return InversePrediction(
        estimate=float(estimate),
        se=float(se),
        ci_low=float(estimate - half),
        ci_high=float(estimate + half),
        m=m,
        alpha=float(alpha),
        df=int(df),
        signal_mean=y_bar,
        sigma=float(s),
        variance_of_mean=float(v0),
        variance=mode,
        sample_weight=float(w_s),
        critical_value=float(t),
        fieller=fieller,
    )


def simultaneous_interval(
    fit: LineFit, prediction: InversePrediction, *, k: int, method: str = "bonferroni"
) -> Simultaneous:
    """Adjusted intervals for one of ``k`` unknowns quantified with the same calibration
    (investr's ``adjust``): the Wald interval x̂ ± c·se and the Fieller interval with the
    critical value c = t(df, 1 − α/(2k)) (Bonferroni) or √(k·F(k, df; 1 − α)) (Scheffé),
    at the prediction's own alpha, df and variance. With k = 1 Bonferroni is the
    per-interval result. Raises ``OverflowError`` when the adjusted interval leaves the
    floating-point range."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k!r}")
    crit = _critical(method, prediction.alpha, k, prediction.df)
    half = crit * prediction.se
    if not (math.isfinite(half) and math.isfinite(prediction.estimate - half)
            and math.isfinite(prediction.estimate + half)):
        raise OverflowError("simultaneous interval out of floating-point range")
    fieller = _fieller(fit, prediction.signal_mean, prediction.variance_of_mean, prediction.sigma, crit)
    return Simultaneous(method=method, k=int(k), alpha=prediction.alpha, critical_value=float(crit),
                        ci_low=float(prediction.estimate - half), ci_high=float(prediction.estimate + half),
                        fieller=fieller)
