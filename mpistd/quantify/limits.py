"""Decision, detection and quantification limits and inverse prediction.

What each function returns
--------------------------
* ``limits_din32645(fit, ...)`` → ``Limits`` (method "DIN 32645"), or ``Skipped`` when the
  fit is unusable, forced through the origin, weighted, has zero residual variance, or the
  fixed-point iteration for x_BG does not converge.
* ``limits_ich_q2(fit)`` → ``Limits`` (method "ICH Q2(R2)", no decision limit), or
  ``Skipped`` when the fit is unusable or has zero residual variance.
* ``inverse_predict(fit, y_observed, ...)`` → ``InversePrediction``, or ``Skipped`` when
  the fit is unusable, no finite signal was given, or the residual variance is zero (no
  confidence interval can be formed).

Invalid arguments (alpha outside (0, 1), m < 1, k <= 0) raise ``ValueError``.

Sources: DIN 32645:2008 (calibration method); ICH Q2(R2) (2023) section on detection and
quantitation limits based on the residual SD of a regression line; Massart et al. (1997)
*Handbook of Chemometrics and Qualimetrics Part A*, eqs. 8.26/8.28; R package chemCal
(J. Ranke), ``inverse.predict`` and ``loq``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from mpistd.quantify import _stats
from mpistd.quantify.calibration import LineFit, Skipped, Unusable

__all__ = [
    "Limits",
    "InversePrediction",
    "limits_din32645",
    "limits_ich_q2",
    "inverse_predict",
]

_MAX_ITERATIONS = 200
_RTOL = 1e-12


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits in x units; ``None`` where the method defines no such limit."""

    method: str
    decision_limit: float | None
    detection_limit: float | None
    quantification_limit: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "decision_limit": self.decision_limit,
            "detection_limit": self.detection_limit,
            "quantification_limit": self.quantification_limit,
        }


@dataclass(frozen=True, slots=True)
class InversePrediction:
    """x̂ from m replicate signals with its standard error and (1 − alpha) interval."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    m: int
    alpha: float

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
        }


def _check_alpha(alpha: float) -> None:
    if not (0.0 < alpha < 1.0):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")


def limits_din32645(
    fit: LineFit | Unusable, *, alpha: float = 0.01, m: int = 1, k: float = 3
) -> Limits | Skipped:
    """DIN 32645 limits by the calibration method (unweighted line with intercept).

    * decision limit  x_NG = s_x0·t(n−2, 1−α)·√(1/m + 1/n + x̄²/Q_x)
    * detection limit x_EG = 2·x_NG (α = β)
    * quantification limit x_BG = k·s_x0·t(n−2, 1−α/2)·√(1/m + 1/n + (x_BG − x̄)²/Q_x),
      solved by fixed-point iteration from k·x_NG to a relative change <= 1e-12 (at most
      200 iterations; otherwise Skipped). This is the root chemCal's ``loq`` finds.

    Skipped for unusable, through-origin or weighted fits (the calibration method of
    DIN 32645 assumes an unweighted line with intercept) and for zero residual variance.
    """
    _check_alpha(alpha)
    if m < 1:
        raise ValueError(f"m must be >= 1, got {m!r}")
    if not k > 0:
        raise ValueError(f"k must be > 0, got {k!r}")
    name = "limits_din32645"
    if not isinstance(fit, LineFit):
        return Skipped(name, "no usable line")
    if fit.through_origin:
        return Skipped(name, "DIN 32645 calibration method needs a line with intercept")
    if fit.weighting != "none":
        return Skipped(name, "DIN 32645 calibration method assumes an unweighted fit")
    if fit.residual_sd == 0.0:
        return Skipped(name, "zero residual variance")
    n, df, xm, qx = fit.n, fit.df, fit.x_mean, fit.q_x
    base = 1.0 / m + 1.0 / n
    t_one = _stats.t_quantile(1.0 - alpha, df)
    t_two = _stats.t_quantile(1.0 - alpha / 2.0, df)
    converged = False
    try:
        x_ng = fit.s_x0 * t_one * math.sqrt(base + xm * xm / qx)
        x_eg = 2.0 * x_ng
        scale = k * fit.s_x0 * t_two
        # x_BG = scale·√(base + (x_BG − x̄)²/Q_x) has a finite solution reached by iteration only
        # while scale/√Q_x < 1; beyond that the line is too imprecise for a quantification limit
        gain = scale / math.sqrt(qx)
        if gain >= 1.0:
            return Skipped(name, f"no finite quantification limit: k·s_x0·t/√Q_x = {gain:.3g} ≥ 1 "
                                 "(the line is too imprecise over this range)")
        x_bg = k * x_ng
        for _ in range(_MAX_ITERATIONS):
            d = x_bg - xm
            new = scale * math.sqrt(base + d * d / qx)
            if not math.isfinite(new):
                break
            if abs(new - x_bg) <= _RTOL * abs(new):
                x_bg, converged = new, True
                break
            x_bg = new
    except (ZeroDivisionError, OverflowError):
        converged = False
    if not converged or not all(math.isfinite(v) for v in (x_ng, x_eg, x_bg)):
        return Skipped(name, f"x_BG fixed-point iteration did not converge "
                             f"({_MAX_ITERATIONS} steps at most)")
    return Limits("DIN 32645", float(x_ng), float(x_eg), float(x_bg))


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
    return Limits("ICH Q2(R2)", None, float(3.3 * fit.s_x0), float(10.0 * fit.s_x0))


def inverse_predict(
    fit: LineFit | Unusable,
    y_observed: float | Sequence[float] | np.ndarray,
    *,
    alpha: float = 0.05,
) -> InversePrediction | Skipped:
    """Inverse prediction x̂ = (ȳ − a)/b from the mean ȳ of m replicate signals.

    Line with intercept (Massart et al. 1997, eqs. 8.26/8.28; identical to chemCal's
    ``inverse.predict`` with its defaults)::

        se  = (s_y/|b|)·√(1/m + 1/n + (ȳ − ȳ_cal)²/(b²·Q_x))
        CI  = x̂ ± t(n − 2, 1 − α/2)·se

    Weighted fits use chemCal's weighted form, se = (1/|b|)·√(s²/(w_s·m) +
    s²·(1/Σw + (ȳ − ȳ_w)²·Σw/(b²·(Σw·Σwx² − (Σwx)²)))) with the sample weight w_s = mean
    weight. Because :func:`fit_line` scales the weights to mean 1 (Σw = n, w_s = 1) and
    reports the weighted ȳ_w, Q_x and s_y, this is exactly the formula above with the
    fit's fields.

    Through the origin (x̂ = ȳ/b; delta method with var(b) = s²/Σwx², Σwx² = Q_x + n·x̄²)::

        se = (s_y/|b|)·√(1/m + ȳ²/(b²·Σwx²)),  CI with t(n − 1, 1 − α/2)

    (chemCal would use its intercept formula and t(n − 2) here; this is the
    through-origin analogue). Skipped when the residual variance is zero.
    """
    _check_alpha(alpha)
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
    y_bar = float(ys.mean())
    b = fit.slope
    s = fit.residual_sd
    try:
        if fit.through_origin:
            estimate = y_bar / b
            sxx0 = fit.q_x + fit.n * fit.x_mean * fit.x_mean
            se = (s / abs(b)) * math.sqrt(1.0 / m + y_bar * y_bar / (b * b * sxx0))
        else:
            estimate = (y_bar - fit.intercept) / b
            dy = y_bar - fit.y_mean
            se = (s / abs(b)) * math.sqrt(1.0 / m + 1.0 / fit.n + dy * dy / (b * b * fit.q_x))
    except (ZeroDivisionError, OverflowError):
        return Skipped(name, "numerical underflow/overflow: rescale x or y")
    t = _stats.t_quantile(1.0 - alpha / 2.0, fit.df)
    half = t * se
    if not all(math.isfinite(v) for v in (estimate, se, half)):
        return Skipped(name, "numerical overflow")
    return InversePrediction(
        estimate=float(estimate),
        se=float(se),
        ci_low=float(estimate - half),
        ci_high=float(estimate + half),
        m=m,
        alpha=float(alpha),
    )
