"""Straight-line calibration fits and their diagnostics.

Pure numerics: arrays or sequences of floats in, small frozen dataclasses of plain
Python floats / ints / tuples out.

What each function returns
--------------------------
=====================  =====================================================================
``fit_line``           ``LineFit``, or ``Unusable`` when no line can be fitted (fewer than 3
                       points, fewer than 2 distinct x levels, 1/x or 1/x² weights with
                       x <= 0, non-finite input, a slope of exactly 0, numerical overflow).
``lack_of_fit``        ``LackOfFit``, or ``Skipped`` (no replicates, no degrees of freedom
                       left for lack of fit, zero pure error, unusable fit).
``mandel``             ``Mandel``, or ``Skipped`` (n < 4, fewer than 3 levels, zero
                       residual variance of the quadratic fit).
``back_calculated``    a tuple of ``LevelBackCalc``, one per distinct level (empty when the
                       fit is unusable); ``relative_error`` is ``None`` at x = 0.
``homoscedasticity``   ``Homoscedasticity``, or ``Skipped`` (fewer than 3 replicates at the
                       lowest or highest level, a zero variance, fewer than 2 levels).
``level_means``        ``(levels, means)``: two tuples of floats, levels ascending.
=====================  =====================================================================

Degenerate *data* never raise and never produce NaN. Misuse of the API (x and y of
different lengths, an unknown weighting name, x/y that are not the data of the fit) raises
``ValueError``.

"Zero" residual variance
------------------------
Floating-point residuals of data lying exactly on a line are not exactly 0. A residual
sum of squares SS is treated as exactly zero when SS <= (1e-12)²·Σwᵢyᵢ², i.e. when the
residuals are below 1e-12 of the signal magnitude (about 10⁴ times the rounding error);
``residual_sd`` is then reported as 0.0 and ``r_squared`` as 1.0.

Sources: NIST StRD linear regression (certified Norris values; uncentred R² through the
origin); Draper & Smith, *Applied Regression Analysis* (weighted least squares, pure-error
lack of fit); Montgomery & Runger, *Applied Statistics and Probability for Engineers*
(lack-of-fit F-test, example S11-1); Mandel (1964), *The Statistical Analysis of
Experimental Data* and DIN 38402-51 / ISO 8466-1 (Mandel's fitting test); DIN 32645
(s_x0, Q_x).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from mpistd.quantify import _stats
from mpistd.quantify._frozen import quick_init

__all__ = [
    "WEIGHTINGS",
    "Skipped",
    "Unusable",
    "LineFit",
    "LackOfFit",
    "Mandel",
    "LevelBackCalc",
    "Homoscedasticity",
    "fit_line",
    "lack_of_fit",
    "mandel",
    "back_calculated",
    "homoscedasticity",
    "level_means",
    "Diagnosed",
    "fit_and_diagnose",
    "fit_and_diagnose_each",
]

#: Accepted ``weighting`` names of :func:`fit_line`.
WEIGHTINGS: tuple[str, ...] = ("none", "1/x", "1/x2")

#: Relative RMS below which a residual sum of squares counts as exactly zero.
_ZERO_RTOL = 1e-12


# --------------------------------------------------------------------------- results


@quick_init
@dataclass(frozen=True, slots=True)
class Skipped:
    """A statistic that cannot be computed for these data, and why (never NaN)."""

    statistic: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"statistic": self.statistic, "reason": self.reason}


@quick_init
@dataclass(frozen=True, slots=True)
class Unusable:
    """No line can be fitted at all (e.g. fewer than 3 points, a single x level)."""

    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason}


@quick_init
@dataclass(frozen=True, slots=True)
class LineFit:
    """A fitted straight line y = intercept + slope·x and its statistics.

    With weights wᵢ (all 1 for ``weighting="none"``; 1/xᵢ or 1/xᵢ² otherwise, *scaled to
    a mean of 1* so that Σwᵢ = n):

    * ``x_mean`` = x̄_w = Σwᵢxᵢ/Σwᵢ, ``y_mean`` = ȳ_w = Σwᵢyᵢ/Σwᵢ (plain means unweighted)
    * ``q_x`` = Q_x = Σwᵢ(xᵢ − x̄_w)² (DIN 32645's Q_x when unweighted), also reported for
      fits through the origin
    * ``slope`` b = Σwᵢ(xᵢ−x̄_w)(yᵢ−ȳ_w)/Q_x; ``intercept`` a = ȳ_w − b·x̄_w
      (through the origin: b = Σwᵢxᵢyᵢ/Σwᵢxᵢ², a = 0)
    * ``df`` = n − 2 (n − 1 through the origin)
    * ``residual_sd`` s_y = √(Σwᵢ(yᵢ − a − bxᵢ)²/df): with mean-1 weights, the residual SD
      of a point of average weight (R's ``lm`` sigma uses the raw weights instead; slope,
      intercept, their SEs, R² and inverse-prediction intervals do not depend on that
      scaling)
    * ``slope_se`` = s_y/√Q_x (through the origin s_y/√Σwᵢxᵢ²); ``intercept_se`` =
      s_y·√(1/Σwᵢ + x̄_w²/Q_x) (0.0 through the origin: the intercept is fixed)
    * ``r_squared`` = 1 − SS_res/SS_tot with SS_tot = Σwᵢ(yᵢ − ȳ_w)², or through the
      origin the uncentred Σwᵢyᵢ² (as NIST StRD and R do)
    * ``s_x0`` = s_y/|b| (DIN 32645 "Verfahrensstandardabweichung")
    * ``slope_ci95`` = b ± t(df, 0.975)·slope_se
    * ``levels`` = number of distinct x values; ``x_min``, ``x_max`` = calibrated range
    * ``weight_mean`` = mean of the raw weights 1/xᵢ or 1/xᵢ² before scaling (1.0
      unweighted): a point at x has the weight w(x) = x^(−p)/weight_mean on the fit's scale
    """

    slope: float
    intercept: float
    slope_se: float
    intercept_se: float
    r_squared: float
    residual_sd: float
    n: int
    levels: int
    x_min: float
    x_max: float
    x_mean: float
    y_mean: float
    q_x: float
    s_x0: float
    df: int
    through_origin: bool
    weighting: str
    slope_ci95: tuple[float, float]
    weight_mean: float = 1.0

    def predict(self, x: Any) -> Any:
        """ŷ = a + b·x: a float for a scalar x, a numpy array for an array-like x."""
        if np.ndim(x) == 0:
            return float(self.intercept + self.slope * float(x))
        return self.intercept + self.slope * np.asarray(x, dtype=float)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict under the report's names (``slope``, ``intercept``, …)."""
        return {
            "slope": self.slope,
            "intercept": self.intercept,
            "slope_se": self.slope_se,
            "intercept_se": self.intercept_se,
            "r_squared": self.r_squared,
            "residual_sd": self.residual_sd,
            "n": self.n,
            "levels": self.levels,
            "x_min": self.x_min,
            "x_max": self.x_max,
            "x_mean": self.x_mean,
            "y_mean": self.y_mean,
            "q_x": self.q_x,
            "s_x0": self.s_x0,
            "df": self.df,
            "through_origin": self.through_origin,
            "weighting": self.weighting,
            "slope_ci95": [self.slope_ci95[0], self.slope_ci95[1]],
            "weight_mean": self.weight_mean,
        }


@quick_init
@dataclass(frozen=True, slots=True)
class LackOfFit:
    """Lack-of-fit F-test against pure error (Draper & Smith; Montgomery & Runger S11-1).

    F = (SS_lof/df_lof)/(SS_pe/df_pe), p = P(F(df_lof, df_pe) > F).
    """

    f: float
    df_lof: int
    df_pe: int
    ss_lof: float
    ss_pe: float
    p_value: float

    def significant(self, alpha: float = 0.05) -> bool:
        """True when the lack of fit is significant at level alpha (p < alpha)."""
        return self.p_value < alpha

    def to_dict(self) -> dict[str, Any]:
        return {
            "f": self.f,
            "df_lof": self.df_lof,
            "df_pe": self.df_pe,
            "ss_lof": self.ss_lof,
            "ss_pe": self.ss_pe,
            "p_value": self.p_value,
        }


@quick_init
@dataclass(frozen=True, slots=True)
class Mandel:
    """Mandel's fitting test, quadratic vs linear (DIN 38402-51, ISO 8466-1; Mandel 1964).

    F = (SS_res,lin − SS_res,quad)/s²_quad with s²_quad = SS_res,quad/(n − 3);
    df1 = 1, df2 = n − 3; p = P(F(1, n − 3) > F).
    """

    f: float
    df1: int
    df2: int
    p_value: float

    def significant(self, alpha: float = 0.01) -> bool:
        """True when the quadratic term is significant at level alpha (p < alpha)."""
        return self.p_value < alpha

    def to_dict(self) -> dict[str, Any]:
        return {"f": self.f, "df1": self.df1, "df2": self.df2, "p_value": self.p_value}


@quick_init
@dataclass(frozen=True, slots=True)
class LevelBackCalc:
    """Back-calculated x of one calibration level from the mean of its signals.

    x_hat = (ȳ_level − a)/b; relative_error = (x_hat − x_level)/x_level (None at x = 0).
    """

    x_level: float
    y_mean: float
    x_hat: float
    relative_error: float | None
    replicates: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "x_level": self.x_level,
            "y_mean": self.y_mean,
            "x_hat": self.x_hat,
            "relative_error": self.relative_error,
            "replicates": self.replicates,
        }


@quick_init
@dataclass(frozen=True, slots=True)
class Homoscedasticity:
    """F-test of the variances at the lowest and highest level (DIN 38402-51, ISO 8466-1).

    F = larger/smaller sample variance (ddof 1); df1 belongs to the larger variance.
    Two-sided: p = min(1, 2·P(F(df1, df2) > F)), so ``significant(alpha)`` is
    F > F(df1, df2; 1 − alpha/2).
    """

    f: float
    df1: int
    df2: int
    p_value: float
    var_low: float
    var_high: float

    def significant(self, alpha: float = 0.01) -> bool:
        """True when the end-level variances differ at level alpha (two-sided)."""
        return self.p_value < alpha

    def to_dict(self) -> dict[str, Any]:
        return {
            "f": self.f,
            "df1": self.df1,
            "df2": self.df2,
            "p_value": self.p_value,
            "var_low": self.var_low,
            "var_high": self.var_high,
        }


# --------------------------------------------------------------------------- helpers


def _as_pair(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    xa = np.asarray(x, dtype=float).ravel()
    ya = np.asarray(y, dtype=float).ravel()
    if xa.shape != ya.shape:
        raise ValueError(f"x and y differ in length ({xa.size} vs {ya.size})")
    return xa, ya


def _finite(*values: float) -> bool:
    return all(map(math.isfinite, values))


def _is_zero_ss(ss: float, scale: float) -> bool:
    """SS counts as zero when its RMS is below _ZERO_RTOL of the signal magnitude."""
    return ss <= (_ZERO_RTOL * _ZERO_RTOL) * scale


def _weights_and_mean(xa: np.ndarray, weighting: str) -> tuple[np.ndarray, float] | Unusable:
    """Weights scaled to mean 1 (Σw = n) and the mean of the raw weights."""
    if weighting == "none":
        return np.ones_like(xa), 1.0
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r}; expected one of {WEIGHTINGS}")
    if np.any(xa <= 0):
        return Unusable("1/x weights need x > 0")
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        raw = 1.0 / xa if weighting == "1/x" else 1.0 / (xa * xa)
        raw_mean = float(raw.mean())
        w: np.ndarray = raw / raw_mean
    if not np.all(np.isfinite(w)) or not np.all(w > 0) or not (math.isfinite(raw_mean) and raw_mean > 0):
        return Unusable(f"{weighting} weights overflow for these x values")
    return w, raw_mean


class _Design:
    """What depends on the x values alone, computed once for every fit and diagnostic of them.

    The fits of one calibration share their x (one per metric, on the same basis), and each
    fit's diagnostics group the same x again; every value here is the very expression the
    functions below would otherwise evaluate each time, so results are bit-for-bit the same.
    The cheap parts are plain attributes (read by every line); the weightings and Mandel's x
    part are computed on first use.
    """

    __slots__ = ("xa", "n", "finite", "groups", "n_levels", "levels", "counts", "x_range", "ends",
                 "_weighted", "_mandel")

    def __init__(self, xa: np.ndarray) -> None:
        self.xa = xa
        self.n = int(xa.size)
        self.finite = bool(np.all(np.isfinite(xa)))
        levels, inverse, counts = np.unique(xa, return_inverse=True, return_counts=True)  # empty x: empty arrays
        for arr in (levels, inverse, counts):
            arr.flags.writeable = False
        inverse = inverse.ravel()
        self.groups: tuple[np.ndarray, np.ndarray, np.ndarray] = (levels, inverse, counts)
        self.n_levels = int(levels.size)
        #: the distinct levels (ascending) and their counts as Python floats and ints
        self.levels: tuple[float, ...] = tuple(levels.tolist())
        self.counts: tuple[int, ...] = tuple(int(c) for c in counts.tolist())
        #: the calibrated range (x_min, x_max); empty x has none (no line is fitted to it)
        self.x_range: tuple[float, float] = (float(xa.min()), float(xa.max())) if xa.size else (math.nan, math.nan)
        #: the lowest and the highest level's points, in data order: a slice where they are
        #: contiguous (as replicates are listed), else their indices; ya[end] has the same values
        #: in the same order either way
        self.ends: tuple[slice | np.ndarray, slice | np.ndarray] = (_end(inverse, 0), _end(inverse, levels.size - 1))
        self._weighted: dict[str, _Weighted | Unusable] = {}
        self._mandel: tuple[Any, ...] | Skipped | None = None

    def weighted(self, weighting: str) -> _Weighted | Unusable:
        """The sums of x under a weighting (see _weighted), once per weighting."""
        got = self._weighted.get(weighting)
        if got is None:
            got = self._weighted[weighting] = _weighted(self, weighting)
        return got

    def mandel(self) -> tuple[Any, ...] | Skipped:
        """Mandel's x part: (z, z·z, u, u·u), or why the x levels cannot carry a quadratic."""
        if self._mandel is None:
            self._mandel = _mandel_design(self.xa)
        return self._mandel


def _end(inverse: np.ndarray, level: int) -> slice | np.ndarray:
    at = np.flatnonzero(inverse == level)
    if at.size and int(at[-1]) - int(at[0]) == at.size - 1:
        return slice(int(at[0]), int(at[-1]) + 1)  # a view: no copy of the points
    return at


#: (w, weight_mean, Σw, weighted x̄, x − x̄, Q_x, per-level Σw) of a design under one weighting:
#: the mean-1 weights and the raw weights' mean (see _weights_and_mean) and the sums of fit_line
#: and lack_of_fit that depend on x alone.
_Weighted = tuple[np.ndarray, float, float, float, np.ndarray, float, np.ndarray]


def _weighted(d: _Design, weighting: str) -> _Weighted | Unusable:
    got = _weights_and_mean(d.xa, weighting)
    if isinstance(got, Unusable):
        return got
    w, weight_mean = got
    xa = d.xa
    with np.errstate(all="ignore"):
        sw = float(w.sum())
        x_mean = float(w @ xa) / sw
        dx = xa - x_mean
        q_x = float(w @ (dx * dx))
    w_level = np.bincount(d.groups[1], weights=w, minlength=d.n_levels)
    for arr in (w, dx, w_level):
        arr.flags.writeable = False
    return w, weight_mean, sw, x_mean, dx, q_x, w_level


def _design(xa: np.ndarray) -> _Design:
    key = xa.tobytes()
    d = _DESIGNS.get(key)
    if d is None:
        global _DESIGN_VALUES
        # a bounded memory: a few dozen designs of ordinary size, never more than 200 000 x values
        if len(_DESIGNS) >= 64 or _DESIGN_VALUES + xa.size > _MAX_DESIGN_VALUES:
            _DESIGNS.clear()
            _DESIGN_VALUES = 0
        xa = xa.copy()
        xa.flags.writeable = False
        d = _DESIGNS[key] = _Design(xa)
        _DESIGN_VALUES += xa.size
    return d


_DESIGNS: dict[bytes, _Design] = {}
_DESIGN_VALUES = 0
_MAX_DESIGN_VALUES = 200_000  # x values held (each design keeps a few arrays of its size)


# What the fit and the diagnostics of one series share about y. Each helper is the one expression
# of its quantity: the public functions and fit_and_diagnose call the same helpers (the latter
# once per series, passing the value on), so the results are bit-for-bit those of separate calls.
# Nothing about y is remembered after a call.


def _y_sum(ya: np.ndarray) -> Any:
    """Σy, numpy's pairwise sum (a numpy float64): Mandel's mean of y, and the finite test."""
    return np.add.reduce(ya)


def _series_finite(d: _Design, ya: np.ndarray, y_sum: Any) -> bool:
    """Every x and every y finite. A sum of floats is finite only if every term is (an inf or a NaN
    term makes it inf or NaN), so a finite Σy answers without looking at each y; a non-finite Σy may
    also be an overflow of finite values, and then each y is looked at."""
    if not d.finite:
        return False
    return math.isfinite(y_sum) or bool(np.isfinite(ya).all())


def _wyy(w: np.ndarray, ya: np.ndarray) -> float:
    """Σwᵢyᵢ² with the fit's weights: the scale of the zero tests of fit_line and lack_of_fit."""
    return float(w.dot(ya * ya))


def _plain_level_means(d: _Design, ya: np.ndarray) -> np.ndarray:
    """The plain mean of y at each level, levels ascending (Σ_level y / count)."""
    levels, inverse, counts = d.groups
    means: np.ndarray = np.bincount(inverse, weights=ya, minlength=levels.size) / counts
    return means


def _weighted_level_means(d: _Design, wd: _Weighted, ya: np.ndarray, weighting: str,
                          plain: np.ndarray | None) -> np.ndarray:
    """The weighted mean of y at each level (Σ_level wy / Σ_level w) with the fit's weights;
    ``plain`` (the plain means, or None to compute them) serves the unweighted case."""
    if weighting == "none":
        # w is all 1.0: w·y is y and Σ_level w the count, exactly, so this is the plain mean
        return _plain_level_means(d, ya) if plain is None else plain
    means: np.ndarray = np.bincount(d.groups[1], weights=wd[0] * ya, minlength=d.n_levels) / wd[6]
    return means


def _sample_variance(a: np.ndarray) -> float:
    """``float(np.var(a, ddof=1))`` of a 1-D float array: the same operations in the same order
    (mean = Σa / n; Σ(a − mean)² / (n − 1), each Σ numpy's pairwise sum), without np.var's
    per-call overhead (it matters for the two end levels of every fit)."""
    n = a.size
    d = a - np.add.reduce(a) / n  # the mean as a numpy scalar: keepdims=True costs more, same values
    d *= d  # squared in place: the same products as d * d, into the array d no longer needs
    return float(np.add.reduce(d)) / (n - 1)  # a Python float division: the same IEEE division


def _check_data_of_fit(xa: np.ndarray, fit: LineFit) -> None:
    if xa.size != fit.n:
        raise ValueError(f"the fit has {fit.n} points but {xa.size} were given")


# --------------------------------------------------------------------------- fit


def fit_line(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    through_origin: bool = False,
    weighting: str = "none",
) -> LineFit | Unusable:
    """Least-squares straight line y = a + b·x (see :class:`LineFit` for every formula).

    Ordinary least squares with an intercept by default; ``through_origin=True`` fixes
    a = 0 (uncentred R², NIST StRD); ``weighting`` "1/x" or "1/x2" gives weighted least
    squares with weights 1/xᵢ or 1/xᵢ² (scaled to mean 1).

    Returns ``Unusable`` when n < 3, fewer than 2 distinct x levels, 1/x-type weights with
    some x <= 0, non-finite data, a slope of exactly 0 (the signal does not depend on x,
    s_x0 would be infinite) or a numerical overflow. Zero residual variance is *not*
    unusable: the line is returned with ``residual_sd`` 0.0, and statistics that need the
    residual variance are ``Skipped`` later.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r}; expected one of {WEIGHTINGS}")
    xa, ya = _as_pair(x, y)
    d = _design(xa)
    with np.errstate(all="ignore"):
        return _fit_line(d, ya, _series_finite(d, ya, _y_sum(ya)), through_origin, weighting)[0]


def _fit_line(d: _Design, ya: np.ndarray, finite: bool, through_origin: bool,
              weighting: str) -> tuple[LineFit | Unusable, float]:
    """fit_line of a series (``finite``: _series_finite of it) and the Σwᵢyᵢ² it took (0.0 when it
    stopped before); the caller has checked the weighting and set np.errstate."""
    n = d.n
    if n < 3:
        return Unusable(f"{n} point(s): a line needs at least 3"), 0.0
    if not finite:
        return Unusable("non-finite x or y values"), 0.0
    levels = d.n_levels
    if levels < 2:
        return Unusable("a single x level: a line needs at least 2 distinct levels"), 0.0
    wd = d.weighted(weighting)
    if isinstance(wd, Unusable):
        return wd, 0.0
    w, weight_mean, sw, x_mean, dx, q_x, _w_level = wd
    xa = d.xa

    y_mean = float(w.dot(ya)) / sw
    dy = ya - y_mean
    scale = _wyy(w, ya)
    if not (q_x > 0.0) or not math.isfinite(q_x):
        return Unusable("the x levels cannot be told apart numerically (Q_x = 0)"), scale
    if through_origin:
        sxx0 = float(w.dot(xa * xa))
        if not (sxx0 > 0.0 and math.isfinite(sxx0)):
            return Unusable("the x values cannot be told apart from 0 numerically"), scale
        slope = float(w.dot(xa * ya)) / sxx0
        intercept = 0.0
        resid = ya - slope * xa
        df = n - 1
        ss_tot = scale
    else:
        sxx0 = float("nan")  # unused
        slope = float(w.dot(dx * dy)) / q_x
        intercept = y_mean - slope * x_mean
        resid = dy - slope * dx
        df = n - 2
        ss_tot = float(w.dot(dy * dy))
    ss_res = float(w.dot(resid * resid))

    if not _finite(slope, intercept, ss_res, ss_tot, scale):
        return Unusable("numerical overflow: rescale x or y"), scale
    if slope == 0.0:
        return Unusable("zero slope: the signal does not change with x"), scale
    if _is_zero_ss(ss_res, scale):
        ss_res = 0.0

    residual_sd = math.sqrt(ss_res / df)
    if through_origin:
        slope_se = residual_sd / math.sqrt(sxx0)
        intercept_se = 0.0
    else:
        slope_se = residual_sd / math.sqrt(q_x)
        intercept_se = residual_sd * math.sqrt(1.0 / sw + x_mean * x_mean / q_x)
    if ss_res == 0.0:
        r_squared = 1.0
    elif ss_tot > 0.0:
        r_squared = 1.0 - ss_res / ss_tot
    else:
        r_squared = 0.0
    t975 = _stats.t_quantile(0.975, df)
    ci = (slope - t975 * slope_se, slope + t975 * slope_se)
    s_x0 = residual_sd / abs(slope)

    # slope, intercept and q_x are known finite here (tested above)
    if not _finite(slope_se, intercept_se, r_squared, residual_sd, x_mean, y_mean, s_x0, ci[0], ci[1]):
        return Unusable("numerical overflow: rescale x or y"), scale
    x_min, x_max = d.x_range
    # positional, in the field order (slope … weight_mean): a keyword call costs half as much again.
    # Every value is already a Python float (each sum is float()ed where it is taken; the rest is
    # float arithmetic and math.sqrt) and df an int: no float()/int() of them is needed.
    return LineFit(slope, intercept, slope_se, intercept_se, r_squared, residual_sd, n, levels, x_min, x_max,
                   x_mean, y_mean, q_x, s_x0, df, bool(through_origin), weighting, ci, weight_mean), scale


# --------------------------------------------------------------------------- linearity


def lack_of_fit(x: Any, y: Any, fit: LineFit | Unusable) -> LackOfFit | Skipped:
    """Lack-of-fit F-test against pure error (Draper & Smith ch. 2; Montgomery S11-1).

    With k distinct levels, p fitted parameters (2, or 1 through the origin), level means
    ȳ_j (weighted; the weights are constant within a level) and the fit's weights w:

    * SS_pe = Σ wᵢ (yᵢ − ȳ_j(i))², df_pe = n − k
    * SS_lof = Σ_j W_j (ȳ_j − ŷ(x_j))² (W_j = Σ of the level's weights), df_lof = k − p;
      SS_lof + SS_pe = SS_res
    * F = (SS_lof/df_lof)/(SS_pe/df_pe), p = P(F(df_lof, df_pe) > F)

    ``x``, ``y`` must be the data the fit was made from. Skipped when no level has
    replicates (df_pe = 0), when k <= p (df_lof = 0), when SS_pe is zero, or when the fit
    is ``Unusable``.
    """
    if not isinstance(fit, LineFit):
        return Skipped("lack_of_fit", "no usable line")
    xa, ya = _as_pair(x, y)
    _check_data_of_fit(xa, fit)
    with np.errstate(all="ignore"):
        return _lack_of_fit(_design(xa), ya, fit, None, None)


def _lack_of_fit(d: _Design, ya: np.ndarray, fit: LineFit, plain: np.ndarray | None,
                 wyy: float | None) -> LackOfFit | Skipped:
    """lack_of_fit of a series and its usable line (np.errstate set by the caller). ``plain`` (the
    plain level means) and ``wyy`` (Σwᵢyᵢ² with the fit's weights) are the values the caller has
    already computed with the same helpers, or None to compute them here."""
    levels, inverse, _counts = d.groups
    k = d.n_levels
    n = d.n
    p = 1 if fit.through_origin else 2
    df_pe = n - k
    df_lof = k - p
    if df_pe <= 0:
        return Skipped("lack_of_fit", "no replicates at any level: pure error cannot be estimated")
    if df_lof <= 0:
        return Skipped("lack_of_fit", f"{k} levels leave no degrees of freedom for lack of fit")
    wd = d.weighted(fit.weighting)
    if isinstance(wd, Unusable):  # pragma: no cover - the fit would have been unusable
        return Skipped("lack_of_fit", wd.reason)
    w = wd[0]
    mean_level = _weighted_level_means(d, wd, ya, fit.weighting, plain)
    pe = ya - mean_level[inverse]
    ss_pe = float(w.dot(pe * pe))
    if _is_zero_ss(ss_pe, _wyy(w, ya) if wyy is None else wyy):
        return Skipped("lack_of_fit", "zero pure error: the replicates are identical")
    lof = mean_level - (fit.intercept + fit.slope * levels)
    ss_lof = float(wd[6].dot(lof * lof))
    f = (ss_lof / df_lof) / (ss_pe / df_pe)
    if not _finite(f, ss_lof, ss_pe):
        return Skipped("lack_of_fit", "numerical overflow")
    # f, df_lof, df_pe, ss_lof, ss_pe, p_value: f is a Python float (float arithmetic of floats), the df ints
    return LackOfFit(f, df_lof, df_pe, ss_lof, ss_pe, _stats.f_sf(f, df_lof, df_pe))


def mandel(x: Any, y: Any) -> Mandel | Skipped:
    """Mandel's fitting test: is a quadratic significantly better than the line?

    Unweighted least squares (DIN 38402-51 / ISO 8466-1; Mandel 1964):
    DS² = SS_res,lin − SS_res,quad, s²_quad = SS_res,quad/(n − 3),
    F = DS²/s²_quad with F(1, n − 3); significant at 99 % by default.

    Computed stably: with z = (x − x̄)/max|x − x̄| and u the part of z² orthogonal to
    {1, z}, DS² = (u·r_lin)²/(u·u) and r_quad = r_lin − (u·r_lin/u·u)·u, which is the
    same quadratic fit as an ordinary least-squares y = c₀ + c₁x + c₂x².

    Skipped when n < 4, fewer than 3 distinct levels, or s²_quad is zero.
    """
    xa, ya = _as_pair(x, y)
    d = _design(xa)
    with np.errstate(all="ignore"):
        y_sum = _y_sum(ya)
        return _mandel(d, ya, _series_finite(d, ya, y_sum), y_sum)


def _mandel(d: _Design, ya: np.ndarray, finite: bool, y_sum: Any) -> Mandel | Skipped:
    """mandel of a series (``finite``, ``y_sum``: _series_finite and _y_sum of it; np.errstate set
    by the caller)."""
    n = d.n
    if n < 4:
        return Skipped("mandel", f"{n} points: Mandel's test needs at least 4")
    if not finite:
        return Skipped("mandel", "non-finite x or y values")
    if d.n_levels < 3:
        return Skipped("mandel", "fewer than 3 distinct levels: no quadratic can be fitted")
    x_part = d.mandel()
    if isinstance(x_part, Skipped):
        return x_part
    z, szz, u, uu = x_part
    yc = ya - y_sum / n  # ya.mean(): the same sum and division, without its overhead
    r_lin = yc - z * (float(z.dot(yc)) / szz)
    ur = float(u.dot(r_lin))
    r_quad = r_lin - (ur / uu) * u
    ss_quad = float(r_quad.dot(r_quad))
    ds2 = ur * ur / uu
    if not _finite(ss_quad, ds2):
        return Skipped("mandel", "numerical overflow")
    if _is_zero_ss(ss_quad, float(ya.dot(ya))):
        return Skipped("mandel", "zero residual variance of the quadratic fit")
    df2 = n - 3
    f = ds2 / (ss_quad / df2)
    if not math.isfinite(f):
        return Skipped("mandel", "numerical overflow")
    return Mandel(f, 1, df2, _stats.f_sf(f, 1, df2))  # f, df1, df2, p_value (a Python float and ints)


def _mandel_design(xa: np.ndarray) -> tuple[Any, ...] | Skipped:
    """The x part of :func:`mandel` (z, z·z, u, u·u), or why it cannot be computed."""
    n = int(xa.size)
    with np.errstate(all="ignore"):
        xc = xa - xa.mean()
        spread = float(np.max(np.abs(xc)))
        z = xc / spread if spread > 0.0 else xc
        z2 = z * z
        szz = float(z @ z)
        if not (szz > 0.0 and math.isfinite(szz)):
            return Skipped("mandel", "the x levels cannot be told apart numerically")
        u = z2 - z2.mean() - z * (float(z2 @ z) / szz)
        uu = float(u @ u)
        # u spans the quadratic direction; ~0 means fewer than 3 effective levels
        if not (uu > 1e-20 * n and math.isfinite(uu)):
            return Skipped("mandel", "the x levels cannot be told apart numerically")
    z.flags.writeable = False
    u.flags.writeable = False
    return z, szz, u, uu


def back_calculated(x: Any, y: Any, fit: LineFit | Unusable) -> tuple[LevelBackCalc, ...]:
    """Back-calculated x of every distinct level, ascending (ICH M10 / DIN 38402-51 style).

    ȳ_level is the plain mean of the level's signals; x_hat = (ȳ_level − a)/b;
    relative_error = (x_hat − x_level)/x_level, ``None`` when x_level == 0.
    An ``Unusable`` fit gives an empty tuple.
    """
    if not isinstance(fit, LineFit):
        return ()
    xa, ya = _as_pair(x, y)
    if xa.size == 0:
        return ()
    d = _design(xa)
    with np.errstate(all="ignore"):
        return _back_calculated(d, _plain_level_means(d, ya), fit)


def _back_calculated(d: _Design, plain: np.ndarray, fit: LineFit) -> tuple[LevelBackCalc, ...]:
    """back_calculated of a non-empty series from its plain level means, and its usable line
    (np.errstate set by the caller)."""
    a, b = fit.intercept, fit.slope
    isfinite = math.isfinite
    out = []
    for xl, ym, c in zip(d.levels, plain.tolist(), d.counts):
        xh = (ym - a) / b  # element-wise, so the same IEEE operations as (means − a)/b on the array
        rel = None if xl == 0.0 else (xh - xl) / xl
        if rel is not None and not isfinite(rel):
            rel = None
        out.append(LevelBackCalc(xl, ym, xh, rel, c))  # x_level, y_mean, x_hat, relative_error, replicates
    return tuple(out)


def homoscedasticity(x: Any, y: Any) -> Homoscedasticity | Skipped:
    """F-test of the signal variances at the lowest and highest level (two-sided, 99 %).

    DIN 38402-51 / ISO 8466-1: s² of the replicates (ddof 1) at the lowest and at the
    highest x level; F = s²_larger/s²_smaller with (n_larger − 1, n_smaller − 1) degrees
    of freedom; p = min(1, 2·P(F(df1, df2) > F)).

    Skipped unless both end levels have at least 3 replicates, or when either variance
    is zero.
    """
    xa, ya = _as_pair(x, y)
    if xa.size == 0:
        return Skipped("homoscedasticity", "no data or non-finite values")
    d = _design(xa)
    with np.errstate(all="ignore"):
        return _homoscedasticity(d, ya, _series_finite(d, ya, _y_sum(ya)))


def _homoscedasticity(d: _Design, ya: np.ndarray, finite: bool) -> Homoscedasticity | Skipped:
    """homoscedasticity of a non-empty series (``finite``: _series_finite of it; np.errstate set by
    the caller)."""
    if not finite:
        return Skipped("homoscedasticity", "no data or non-finite values")
    if d.n_levels < 2:
        return Skipped("homoscedasticity", "fewer than 2 levels")
    counts = d.counts
    n_low, n_high = counts[0], counts[-1]
    if n_low < 3 or n_high < 3:
        return Skipped(
            "homoscedasticity",
            f"needs at least 3 replicates at the lowest and highest level "
            f"(has {n_low} and {n_high})",
        )
    low, high = d.ends
    y_low = ya[low]
    y_high = ya[high]
    var_low = _sample_variance(y_low)
    if _is_zero_ss(var_low * (n_low - 1), float(y_low.dot(y_low))):
        return Skipped("homoscedasticity", "zero variance at the lowest level")
    var_high = _sample_variance(y_high)
    if _is_zero_ss(var_high * (n_high - 1), float(y_high.dot(y_high))):
        return Skipped("homoscedasticity", "zero variance at the highest level")
    if var_high >= var_low:
        f, df1, df2 = var_high / var_low, n_high - 1, n_low - 1
    else:
        f, df1, df2 = var_low / var_high, n_low - 1, n_high - 1
    if not math.isfinite(f):
        return Skipped("homoscedasticity", "numerical overflow")
    p = min(1.0, 2.0 * _stats.f_sf(f, df1, df2))
    # f, df1, df2, p_value, var_low, var_high: Python floats (the variances are, f_sf returns one) and ints
    return Homoscedasticity(f, df1, df2, p, var_low, var_high)


def level_means(x: Any, y: Any) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Distinct x levels (ascending) and the plain mean of y at each, for fits on the
    ``level_means`` basis."""
    xa, ya = _as_pair(x, y)
    if xa.size == 0:
        return (), ()
    d = _design(xa)
    return d.levels, tuple(_plain_level_means(d, ya).tolist())


@quick_init
@dataclass(frozen=True, slots=True)
class Diagnosed:
    """A line and its diagnostics, as :func:`fit_and_diagnose` returns them."""

    fit: LineFit | Unusable
    lack_of_fit: LackOfFit | Skipped | None
    mandel: Mandel | Skipped | None
    homoscedasticity: Homoscedasticity | Skipped | None
    back_calculated: tuple[LevelBackCalc, ...]


def fit_and_diagnose(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    through_origin: bool = False,
    weighting: str = "none",
) -> Diagnosed:
    """:func:`fit_line` and, when the line is usable, its :func:`lack_of_fit`, :func:`mandel`,
    :func:`homoscedasticity` and :func:`back_calculated`, in one pass over the data.

    Every value is bit-for-bit that of the separate calls (the same functions run on the same
    arrays; what they share is computed once: the arrays, the finite check, Σwᵢyᵢ², the level
    means). An ``Unusable`` line gives ``None`` diagnostics and no back-calculated levels.
    """
    return fit_and_diagnose_each([(x, y, through_origin, weighting)])[0]


def fit_and_diagnose_each(
    series: Iterable[tuple[Sequence[float] | np.ndarray, Sequence[float] | np.ndarray, bool, str]],
) -> list[Diagnosed]:
    """:func:`fit_and_diagnose` of every (x, y, through_origin, weighting), in order: the fits of a
    calibration at once (one np.errstate for all, which costs more than a small fit's sums)."""
    out = []
    with np.errstate(all="ignore"):
        for x, y, through_origin, weighting in series:
            if weighting not in WEIGHTINGS:
                raise ValueError(f"unknown weighting {weighting!r}; expected one of {WEIGHTINGS}")
            xa, ya = _as_pair(x, y)
            d = _design(xa)
            # what the five share about y, each by the helper the public functions call
            y_sum = _y_sum(ya)
            finite = _series_finite(d, ya, y_sum)
            fit, wyy = _fit_line(d, ya, finite, through_origin, weighting)
            if not isinstance(fit, LineFit):
                out.append(Diagnosed(fit, None, None, None, ()))
                continue
            plain = _plain_level_means(d, ya)
            out.append(Diagnosed(fit, _lack_of_fit(d, ya, fit, plain, wyy), _mandel(d, ya, finite, y_sum),
                                 _homoscedasticity(d, ya, finite), _back_calculated(d, plain, fit)))
    return out
