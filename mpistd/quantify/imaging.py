"""The reference image-metric method (STANDARD.md "Image metrics, the reference method").

Pure numerics: arrays in, small frozen dataclasses with plain Python floats out. No
files, no findings. The steps follow the paper's section 2 (Ureña Horno et al., Nanoscale
2025): "Correcting measured images for detector saturation" (receiver correction),
"ROI analysis methods" (threshold k·SD of the noise, ROI = pixels above it) and
"Quantification of sensitivity and resolution" (maximum, total = mean × area, FWHM of a
Lorentzian fitted to the profile along x through the maximum pixel).

Conventions fixed here so that two implementations agree (the standard's wording):

- 2D images have axes (z, x), 3D images (z, y, x), row-major; ``spacing_mm`` names the
  pixel spacing of each axis in mm. A 2D image in another plane names its axes
  (``axes=("y", "x")`` or ``("z", "y")``, always in z, y, x order).
- ROI = pixels strictly above the threshold T; ``threshold_connected`` keeps only the
  8-connected (26 in 3D) component holding the maximum.
- ``max_intensity`` is the largest pixel; ties go to the first in row-major order
  (``np.argmax`` of the flattened array).
- ``mean_intensity`` = mean over the ROI; ``roi_area_mm2`` = ROI pixel count × pixel
  area; ``total_intensity`` = mean × area (3D: ROI sum × voxel volume, ``roi_volume_mm3``
  = count × voxel volume).
- ``fwhm_mm`` = 2|γ| of A/(1+((x−x₀)/γ)²) (three parameters, no baseline), fitted by
  unweighted least squares to the whole unthresholded profile through the maximum pixel
  along the fwhm axis, positions at pixel centres i·spacing.
- Non-finite pixels (NaN, ±inf) are treated as missing: never the maximum, never in the
  ROI (so never in the mean or the sum), and dropped from the Lorentzian fit (zero
  weight). Their presence is reported as the problem ``"nan_pixels"``; metrics are still
  computed from the finite pixels. An image without any finite pixel gives ``"all_nan"``
  and every metric None.
- Results never hold NaN: a metric that cannot be computed is None and the reason is in
  ``problems`` (the standard's MPI016):

  ``"all_nan"``            no finite pixel: every metric None
  ``"nan_pixels"``         some non-finite pixels were ignored (metrics still computed)
  ``"empty_roi"``          no pixel strictly above T: mean, total, area/volume None
  ``"fwhm_no_peak"``       the profile's largest value is not positive: no Lorentzian peak
  ``"fwhm_too_few_points"`` fewer than 3 finite profile points for 3 parameters
  ``"fwhm_not_converged"`` the least-squares fit did not converge: iteration limit,
                           singular normal equations, or a width running away (|γ| over
                           10 profile spans, e.g. a flat profile, whose sum of squares
                           only vanishes as γ → ∞)
  ``"spacing_overflow"``   the pixel size is so large that an area, volume, total or
                           FWHM in mm overflows double precision: that metric is None

Memory: an image is used in its own dtype (a uint8 image is never copied to float64);
per image the extra memory is the ROI mask (one byte a pixel) and the ROI's values. Only
non-finite pixels or a voxel mask (``mask``) cost one copy of the image in its own float
dtype. :class:`ImageBatch` reduces each image as it is added and keeps only its profile,
so a batch never holds its images.

The Lorentzian fits of a batch are done together (:func:`quantify_images`): a vectorised
Levenberg–Marquardt over all equal-length profiles with the analytic Jacobian (and the
analytic full Hessian where it is positive definite, so noisy profiles converge
quadratically), started from the half-maximum crossings. It stops when the next step is
below 1e-10 relative or below what double precision can resolve in the sum of squares
(~1e-8 relative in γ for the noisiest profiles), so it agrees with
``scipy.optimize.least_squares`` at tight tolerances well inside the 1e-6 asked for.
Fits are done in pixel units (positions 0..n−1) and scaled by the spacing: the
least-squares minimum in mm is exactly the pixel one scaled.

A lone problem in ``problems`` that leaves every metric defined is ``"nan_pixels"``; every
other entry means at least one metric is None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Mapping, Sequence, cast

import numpy as np

__all__ = [
    "ReceiverCorrection",
    "CorrectionResult",
    "apply_receiver_correction",
    "count_saturated",
    "noise_sd_from_background",
    "ImageMetrics",
    "LorentzFit",
    "fit_lorentzian",
    "quantify_image",
    "quantify_images",
    "ImageBatch",
    "ROI_METHODS",
    "PROBLEMS",
]

ROI_METHODS = ("threshold_all", "threshold_connected")
PROBLEMS = (
    "all_nan",
    "nan_pixels",
    "empty_roi",
    "fwhm_no_peak",
    "fwhm_too_few_points",
    "fwhm_not_converged",
    "spacing_overflow",
)

# Fit controls. XTOL is the relative size of the undamped Gauss-Newton step (A relative
# to |A|, x0 and gamma relative to |gamma|) below which the fit has converged: far below
# the 1e-6 agreement the standard asks for, far above rounding noise.
_XTOL = 1e-10
_FTOL = 1e-14
# A fitted half-width beyond this many profile spans means the fit diverged (no peak).
_GAMMA_MAX_SPANS = 10.0
_NEWTON = True  # full-Hessian steps where positive definite (see _lm_batch)
_MAX_ITER = 200
_LAMBDA0 = 1e-3


# --------------------------------------------------------------------------------------
# Receiver correction (paper: "Correcting measured images for detector saturation";
# STANDARD.md, Acquisition.receiver_correction)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceiverCorrection:
    """A receiver linearisation as the dataset declares it.

    ``lookup_table``: rows (measured, true), measured strictly increasing, applied by
    linear interpolation. ``polynomial``: true = Σ cᵢ·measuredⁱ with c₀ first.
    """

    method: Literal["lookup_table", "polynomial"]
    table: tuple[tuple[float, float], ...] | None = None
    coefficients: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.method == "lookup_table":
            if self.table is None or len(self.table) < 2:
                raise ValueError("lookup_table correction needs a table of at least 2 rows")
            t = np.asarray(self.table, dtype=np.float64)
            if t.ndim != 2 or t.shape[1] != 2:
                raise ValueError(f"correction table rows must be [measured, true]; got shape {t.shape}")
            if not np.isfinite(t).all():
                raise ValueError("correction table holds non-finite values")
            if not (np.diff(t[:, 0]) > 0).all():
                raise ValueError("correction table: measured values must be strictly increasing")
        elif self.method == "polynomial":
            if self.coefficients is None or len(self.coefficients) < 1:
                raise ValueError("polynomial correction needs at least one coefficient")
            if not np.isfinite(np.asarray(self.coefficients, dtype=np.float64)).all():
                raise ValueError("polynomial coefficients must be finite")
        else:
            raise ValueError(f"unknown receiver correction method {self.method!r}")


@dataclass(frozen=True, slots=True)
class CorrectionResult:
    image: np.ndarray
    out_of_range: int  # pixels outside the table's measured range (STANDARD.md: MPI015)


def apply_receiver_correction(image: np.ndarray, correction: ReceiverCorrection) -> CorrectionResult:
    """Linearise a measured image with the declared receiver correction.

    Lookup table: linear interpolation of (measured → true); a pixel outside the table's
    measured range is counted in ``out_of_range`` and set to the nearest end's true
    value (clipped, as ``np.interp`` does). NaN pixels stay NaN and are not counted.
    Polynomial: true = Σ cᵢ·measuredⁱ (c₀ first); ``out_of_range`` is 0.
    """
    a = np.asarray(image, dtype=np.float64)
    if correction.method == "lookup_table":
        t = np.asarray(correction.table, dtype=np.float64)
        measured, true = t[:, 0], t[:, 1]
        out = int(np.count_nonzero(a < measured[0]) + np.count_nonzero(a > measured[-1]))
        return CorrectionResult(np.interp(a, measured, true), out)
    # Horner's scheme, c0 first (numpy.polynomial convention).
    from numpy.polynomial import polynomial as P

    return CorrectionResult(P.polyval(a, np.asarray(correction.coefficients, dtype=np.float64)), 0)


def count_saturated(image: np.ndarray, saturation_level: float) -> int:
    """Pixels strictly above the acquisition's saturation level (STANDARD.md: MPI015)."""
    return int(np.count_nonzero(np.asarray(image) > saturation_level))


def _check_range(name: str, rng: tuple[int, int], n: int) -> slice:
    start, stop = int(rng[0]), int(rng[1])
    if start < 0 or stop < start:
        raise ValueError(f"background_roi {name}: [{start}, {stop}) is not a valid index range")
    return slice(start, min(stop, n))


def noise_sd_from_background(
    image: np.ndarray,
    z: tuple[int, int],
    x: tuple[int, int],
    y: tuple[int, int] | None = None,
) -> float | None:
    """SD (ddof = 1) of the pixels in a background box (STANDARD.md, Analysis.noise).

    Ranges are half-open pixel index ranges [start, stop), clipped to the image. For a 3D
    image ``y=None`` means the whole y extent. Non-finite pixels are left out. Returns
    None when fewer than 2 finite pixels remain (an SD needs two).
    """
    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 2:
        if y is not None:
            raise ValueError("a 2D image (z, x) has no y axis for background_roi")
        box = a[_check_range("z", z, a.shape[0]), _check_range("x", x, a.shape[1])]
    elif a.ndim == 3:
        ys = slice(None) if y is None else _check_range("y", y, a.shape[1])
        box = a[_check_range("z", z, a.shape[0]), ys, _check_range("x", x, a.shape[2])]
    else:
        raise ValueError(f"image must be 2D or 3D, got {a.ndim}D")
    vals = box[np.isfinite(box)]
    if vals.size < 2:
        return None
    return float(np.std(vals, ddof=1))


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageMetrics:
    """The reference metrics of one image (STANDARD.md, Replicate metrics).

    Intensities in pixel units (total: pixel units × mm², or × mm³ in 3D), lengths in mm.
    A metric that cannot be computed is None and ``problems`` says why (module docstring).
    ``threshold`` is the T that was applied; ``max_index`` the (z, x) or (z, y, x) index
    of the maximum pixel, through which the FWHM profile runs.
    """

    max_intensity: float | None
    mean_intensity: float | None
    total_intensity: float | None
    roi_area_mm2: float | None  # 2D images only
    roi_volume_mm3: float | None  # 3D images only
    fwhm_mm: float | None
    roi_pixels: int
    max_index: tuple[int, ...]  # () when there is no finite pixel
    threshold: float
    problems: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists)."""
        return {
            "max_intensity": self.max_intensity,
            "mean_intensity": self.mean_intensity,
            "total_intensity": self.total_intensity,
            "roi_area_mm2": self.roi_area_mm2,
            "roi_volume_mm3": self.roi_volume_mm3,
            "fwhm_mm": self.fwhm_mm,
            "roi_pixels": self.roi_pixels,
            "max_index": list(self.max_index),
            "threshold": self.threshold,
            "problems": list(self.problems),
        }


@dataclass(frozen=True, slots=True)
class LorentzFit:
    """Least-squares fit of A/(1+((x−x₀)/γ)²).

    When ``converged`` is False the values are the last iterate (None if not finite)
    and must not be used as a result.
    """

    amplitude: float | None
    center: float | None
    gamma: float | None
    converged: bool
    iterations: int

    @property
    def fwhm(self) -> float | None:
        return 2.0 * abs(self.gamma) if (self.converged and self.gamma is not None) else None


# --------------------------------------------------------------------------------------
# Batched Lorentzian least squares
# --------------------------------------------------------------------------------------


def _start_values(x: np.ndarray, Y: np.ndarray, W: np.ndarray | None) -> np.ndarray:
    """Starting (A, x0, γ) per row from the peak and its half-maximum crossings.

    A₀ = the largest finite value; x₀ = the midpoint of the two half-maximum crossings
    (linear interpolation between the samples around each crossing), or the peak
    position when a side has no crossing; γ₀ = half the width between the crossings, or
    the one crossing's distance from the peak, or a quarter of the profile's span.
    """
    P, n = Y.shape
    valid = np.ones(Y.shape, dtype=bool) if W is None else W > 0
    Yv = np.where(valid, Y, -np.inf)
    k = np.argmax(Yv, axis=1)
    rows = np.arange(P)
    A0 = Yv[rows, k]
    half = 0.5 * A0
    idx = np.arange(n)
    below = valid & (Y < half[:, None])
    left = np.where(below & (idx < k[:, None]), idx, -1).max(axis=1)
    right = np.where(below & (idx > k[:, None]), idx, n).min(axis=1)

    def crossing(j0: np.ndarray, j1: np.ndarray) -> np.ndarray:
        # Between sample j0 (one side of half) and j1 (the other side).
        y0, y1 = Y[rows, j0], Y[rows, j1]
        x0, x1 = x[j0], x[j1]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (half - y0) / (y1 - y0)
        xc = x0 + t * (x1 - x0)
        bad = ~np.isfinite(xc) | ~valid[rows, j0] | ~valid[rows, j1]
        crossed: np.ndarray = np.where(bad, 0.5 * (x0 + x1), xc)
        return crossed

    has_l = left >= 0
    has_r = right < n
    lj = np.clip(left, 0, n - 1)
    rj = np.clip(right, 0, n - 1)
    xl = crossing(lj, np.clip(lj + 1, 0, n - 1))
    xr = crossing(np.clip(rj - 1, 0, n - 1), rj)
    xk = x[k]
    span = float(x[-1] - x[0]) if n > 1 else 1.0
    both = has_l & has_r
    g0 = np.where(
        both,
        0.5 * (xr - xl),
        np.where(has_l, xk - xl, np.where(has_r, xr - xk, 0.25 * span)),
    )
    c0 = np.where(both, 0.5 * (xl + xr), xk)
    g0 = np.abs(g0)
    tiny = 1e-3 * (abs(span) / max(n - 1, 1) if n > 1 else 1.0)
    g0 = np.where(g0 > tiny, g0, max(tiny, 1e-300))
    return np.stack([A0, c0, g0], axis=1)


def _lorentz_parts(x: np.ndarray, Y: np.ndarray, W: np.ndarray | None, A: np.ndarray, c: np.ndarray,
                   g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    u = (x[None, :] - c[:, None]) / g[:, None]
    q = 1.0 / (1.0 + u * u)
    r = Y - A[:, None] * q
    if W is not None:
        r *= W  # missing points (weight 0) contribute nothing
    return u, q, r


def _solve3(M: tuple[np.ndarray, ...],
            b: tuple[np.ndarray, ...]) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Solve symmetric 3×3 systems row-wise (vectorised Cramer with Jacobi scaling).

    Returns (δ, ok). ``ok`` is False where the matrix is singular or not finite.
    """
    m00, m01, m02, m11, m12, m22 = M
    b0, b1, b2 = b
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d0, d1, d2 = np.sqrt(m00), np.sqrt(m11), np.sqrt(m22)
        a, bb, cc = m00 / (d0 * d0), m01 / (d0 * d1), m02 / (d0 * d2)
        d, e, f = m11 / (d1 * d1), m12 / (d1 * d2), m22 / (d2 * d2)
        r0, r1, r2 = b0 / d0, b1 / d1, b2 / d2
        c00 = d * f - e * e
        c01 = cc * e - bb * f
        c02 = bb * e - cc * d
        c11 = a * f - cc * cc
        c12 = bb * cc - a * e
        c22 = a * d - bb * bb
        det = a * c00 + bb * c01 + cc * c02
        s0 = (c00 * r0 + c01 * r1 + c02 * r2) / det
        s1 = (c01 * r0 + c11 * r1 + c12 * r2) / det
        s2 = (c02 * r0 + c12 * r1 + c22 * r2) / det
        x0, x1, x2 = s0 / d0, s1 / d1, s2 / d2
        ok = (
            np.isfinite(x0) & np.isfinite(x1) & np.isfinite(x2)
            & (np.abs(det) > 1e-13)
            & (d0 > 0) & (d1 > 0) & (d2 > 0)
        )
    return (x0, x1, x2), ok


def _lm_batch(
    x: np.ndarray, Y: np.ndarray, W: np.ndarray | None, p0: np.ndarray, max_iter: int = _MAX_ITER
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Levenberg–Marquardt for A/(1+((x−x₀)/γ)²) on every row of Y at once.

    x: (n,) positions shared by the rows; Y: (P, n) values (0 where missing); W: (P, n)
    1/0 weights (0 = missing point) or None when every point is present; p0: (P, 3)
    starting (A, x₀, γ). Marquardt's diagonal damping makes the iteration invariant to
    the units of x and y. Converged when the undamped Gauss–Newton step is below _XTOL
    relative (A to |A|, x₀ and γ to |γ|) or would lower the sum of squares by less than
    _FTOL of it: the gradient is then zero to the resolution of double precision.
    Returns (params (P, 3), converged (P,), iterations (P,)).
    """
    P = Y.shape[0]
    span = float(np.max(x) - np.min(x)) if x.size > 1 else 1.0
    gamma_max = _GAMMA_MAX_SPANS * (span if span > 0 else 1.0)
    A = p0[:, 0].astype(np.float64).copy()
    c = p0[:, 1].astype(np.float64).copy()
    g = p0[:, 2].astype(np.float64).copy()
    lam = np.full(P, _LAMBDA0)
    converged = np.zeros(P, dtype=bool)
    failed = np.zeros(P, dtype=bool)
    iters = np.zeros(P, dtype=np.int64)

    with np.errstate(all="ignore"):
        u, q, r = _lorentz_parts(x, Y, W, A, c, g)
    cost = np.einsum("ij,ij->i", r, r)
    active = np.arange(P)
    # Per-active-row state, kept compact so each iteration costs O(active · n).
    Ya, Wa = Y, W
    def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # row-wise dot product
        rows: np.ndarray = np.einsum("ij,ij->i", a, b)
        return rows
    for _ in range(max_iter):
        if active.size == 0:
            break
        Aa, ca, ga = A[active], c[active], g[active]
        # Analytic Jacobian of f = A·q, q = 1/(1+u²), u = (x−x₀)/γ.
        jA = q if Wa is None else q * Wa  # ∂f/∂A
        jc = u * q  # becomes ∂f/∂x₀ = (2A/γ)·u·q²
        jc *= jA
        jc *= (2.0 * Aa / ga)[:, None]
        jg = jc * u  # ∂f/∂γ = (2A/γ)·u²·q²
        M = (dot(jA, jA), dot(jA, jc), dot(jA, jg), dot(jc, jc), dot(jc, jg), dot(jg, jg))
        b = (dot(jA, r), dot(jc, r), dot(jg, r))
        iters[active] += 1
        ca_cost = cost[active]
        # Full Hessian of ½Σr²: JᵀJ − Σ r·∇²f (analytic second derivatives below). Newton
        # steps converge quadratically even when the residuals are not small (noisy
        # profiles), where Gauss–Newton crawls linearly; rows whose full Hessian is not
        # positive definite (far from the optimum) take the Gauss–Newton matrix instead.
        #   ∂²f/∂A∂x₀ = (∂f/∂x₀)/A,  ∂²f/∂A∂γ = (∂f/∂γ)/A,
        #   ∂²f/∂x₀² = −(2A/γ²)·q²(1 − 4u²q),  ∂²f/∂x₀∂γ = −(2A/γ²)·q²(2u − 4u³q),
        #   ∂²f/∂γ² = −(2A/γ²)·q²(3u² − 4u⁴q).
        if _NEWTON:
            with np.errstate(all="ignore"):
                p1 = r * q * q
                t = u * u * q
                p2 = p1 * u
                p3 = p2 * u
                c2 = 2.0 * Aa / (ga * ga)
                H = (
                    M[0],
                    M[1] - b[1] / Aa,
                    M[2] - b[2] / Aa,
                    M[3] + c2 * (p1.sum(1) - 4.0 * dot(p1, t)),
                    M[4] + c2 * (2.0 * p2.sum(1) - 4.0 * dot(p2, t)),
                    M[5] + c2 * (3.0 * p3.sum(1) - 4.0 * dot(p3, t)),
                )
                # positive definite <=> leading principal minors > 0
                m2 = H[0] * H[3] - H[1] * H[1]
                det = (
                    H[0] * (H[3] * H[5] - H[4] * H[4])
                    - H[1] * (H[1] * H[5] - H[4] * H[2])
                    + H[2] * (H[1] * H[4] - H[3] * H[2])
                )
                pd = (H[0] > 0) & (H[3] > 0) & (H[5] > 0) & (m2 > 0) & (det > 0) & np.isfinite(det)
            K = tuple(np.where(pd, h, m) for h, m in zip(H, M))
        else:
            K = M
        # Undamped (Newton, or Gauss-Newton) step: the convergence test.
        (s0, s1, s2), ok_gn = _solve3(K, b)
        scale_g = np.abs(ga)
        small = ok_gn & (np.abs(s0) <= _XTOL * np.abs(Aa)) & (np.abs(s1) <= _XTOL * scale_g) & (
            np.abs(s2) <= _XTOL * scale_g
        )
        # ...or the step would lower the sum of squares by less than its own
        # rounding (predicted decrease bᵀδ below _FTOL·cost): a stationary point to the
        # resolution of double precision. Noisy profiles stop here, at ~1e-9 relative.
        pred = b[0] * s0 + b[1] * s1 + b[2] * s2
        small |= ok_gn & (pred <= _FTOL * ca_cost)
        # Damped step (Marquardt: λ·diag of the matrix).
        la = lam[active]
        Md = (K[0] * (1 + la), K[1], K[2], K[3] * (1 + la), K[4], K[5] * (1 + la))
        (t0, t1, t2), ok = _solve3(Md, b)
        An, cn, gn = Aa + t0, ca + t1, ga + t2
        with np.errstate(all="ignore"):
            un, qn, rn = _lorentz_parts(x, Ya, Wa, An, cn, gn)
            cost_n = dot(rn, rn)
        accept = ok & np.isfinite(cost_n) & (cost_n <= ca_cost) & (gn != 0)
        # Accepted rows move and lower λ; rejected rows keep their state and raise λ
        # (a shorter, more gradient-like step next time).
        sel = active[accept]
        A[sel], c[sel], g[sel] = An[accept], cn[accept], gn[accept]
        cost[sel] = cost_n[accept]
        rej = ~accept
        if rej.any():
            un[rej], qn[rej], rn[rej] = u[rej], q[rej], r[rej]
        u, q, r = un, qn, rn
        lam[active] = np.where(accept, np.maximum(la / 3.0, 1e-12), la * 4.0)
        # A fit whose width runs away (γ beyond _GAMMA_MAX_SPANS profile spans, e.g. a flat
        # profile, whose sum of squares only vanishes as γ → ∞) has no optimum: diverged.
        runaway = np.abs(g[active]) > gamma_max
        small &= ~runaway
        dead = (~ok & ~ok_gn) | (lam[active] > 1e16) | runaway
        converged[active[small]] = True
        failed[active[dead & ~small]] = True
        keep = ~(small | dead)
        if not keep.all():
            active = active[keep]
            Ya = Ya[keep]
            Wa = None if Wa is None else Wa[keep]
            u, q, r = u[keep], q[keep], r[keep]
    params = np.stack([A, c, g], axis=1)
    return params, converged & ~failed, iters


def _fit_batch(x: np.ndarray, Y: np.ndarray, W: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalise each row by its peak (the minimum is scale-invariant), fit, scale back.

    W: (P, n) 1/0 weights, or None when every point of every row is present.
    """
    with np.errstate(invalid="ignore"):
        peak = np.max(Y if W is None else np.where(W > 0, Y, -np.inf), axis=1)
    scale = np.where(np.isfinite(peak) & (peak > 0), peak, 1.0)
    Yn = Y / scale[:, None]
    p0 = _start_values(x, Yn, W)
    params, conv, iters = _lm_batch(x, Yn, W, p0)
    params[:, 0] *= scale
    return params, conv, iters


def _finite_or_none(v: float) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def fit_lorentzian(positions_mm: np.ndarray, profile: np.ndarray) -> LorentzFit:
    """Unweighted least-squares fit of A/(1+((x−x₀)/γ)²) to one profile.

    Non-finite points are left out. FWHM = 2|γ| (``LorentzFit.fwhm``).
    """
    x = np.asarray(positions_mm, dtype=np.float64).ravel()
    y = np.asarray(profile, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"positions {x.shape} and profile {y.shape} differ in length")
    w = np.isfinite(y) & np.isfinite(x)
    if np.count_nonzero(w) < 3:
        return LorentzFit(None, None, None, False, 0)
    if not w.all():
        x, y, w = x[w], y[w], w[w]
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    params, conv, iters = _fit_batch(x, y[None, :], None)
    A, c, g = (_finite_or_none(v) for v in params[0])
    return LorentzFit(A, c, g, bool(conv[0]) and None not in (A, c, g), int(iters[0]))


# --------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------

_AXES = {2: ("z", "x"), 3: ("z", "y", "x")}


def _axes(ndim: int, axes: Sequence[str] | None) -> tuple[str, ...]:
    """The image's axis names: the default (z, x) / (z, y, x), or those given for a 2D image in
    another plane (e.g. ("y", "x")), two or three distinct names of x, y, z in z, y, x order."""
    if axes is None:
        return _AXES[ndim]
    t = tuple(axes)
    if len(t) != ndim or len(set(t)) != ndim or not set(t) <= {"x", "y", "z"} or list(t) != sorted(t, reverse=True):
        raise ValueError(f"axes {t!r} do not name the {ndim} axes of the image in z, y, x order")
    return t


def _spacing(spacing_mm: Mapping[str, float], ndim: int, axes: Sequence[str] | None = None) -> tuple[float, ...]:
    axes = _axes(ndim, axes)
    try:
        sp = tuple(float(spacing_mm[a]) for a in axes)
    except KeyError as exc:
        raise ValueError(f"spacing_mm must name axes {axes} for a {ndim}D image; missing {exc}") from None
    for a, s in zip(axes, sp):
        if not (math.isfinite(s) and s > 0):
            raise ValueError(f"spacing_mm[{a!r}] = {s} is not a positive number")
    return sp


def _connected_roi(mask: np.ndarray, max_index: tuple[int, ...]) -> tuple[tuple[slice, ...], np.ndarray]:
    """The component of ``mask`` holding ``max_index`` (which must be in the mask).

    8-connectivity in 2D, 26 in 3D (STANDARD.md, roi.method threshold_connected).
    Returns (box, sub_mask): the ROI is ``sub_mask`` within ``image[box]``. Only the
    bounding box of the above-threshold pixels is labelled: every component lies inside
    it, and at k = 5 the box is little more than the sample.
    """
    from scipy import ndimage

    box = []
    for ax in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != ax)
        hit = np.flatnonzero(mask.any(axis=other))
        box.append(slice(int(hit[0]), int(hit[-1]) + 1))
    box_t = tuple(box)
    labels, _ = ndimage.label(mask[box_t], structure=np.ones((3,) * mask.ndim, dtype=bool))
    lab = labels[tuple(i - b.start for i, b in zip(max_index, box_t))]
    return box_t, labels == lab


@dataclass(slots=True)
class _Partial:
    """Everything but the FWHM, and the profile waiting for the batched fit."""

    max_intensity: float | None
    mean_intensity: float | None
    total_intensity: float | None
    area: float | None
    volume: float | None
    roi_pixels: int
    max_index: tuple[int, ...]
    threshold: float
    problems: list[str]
    profile: np.ndarray | None = None
    profile_weights: np.ndarray | None = None  # None = all finite
    axis_spacing: float = 1.0


def _measure(
    image: np.ndarray,
    spacing_mm: Mapping[str, float],
    threshold: float,
    roi_method: str,
    fwhm_axis: str,
    mask: np.ndarray | None = None,
    axes: Sequence[str] | None = None,
) -> _Partial:
    a = np.asarray(image)
    if a.dtype.kind not in "iuf":
        a = a.astype(np.float64)
    a = np.ascontiguousarray(a)  # a view only when already contiguous
    if a.ndim not in (2, 3):
        raise ValueError(f"image must be 2D (z, x) or 3D (z, y, x), got shape {a.shape}")
    if a.size == 0:
        raise ValueError("image is empty")
    axes = _axes(a.ndim, axes)
    sp = _spacing(spacing_mm, a.ndim, axes)
    if fwhm_axis not in axes:
        raise ValueError(f"fwhm_axis {fwhm_axis!r} is not an axis of a {a.ndim}D image {axes}")
    T = float(threshold)
    if not math.isfinite(T):
        raise ValueError(f"threshold must be finite, got {threshold!r}")
    with np.errstate(over="ignore"):
        cell = math.prod(sp)  # pixel area (2D, mm²) or voxel volume (3D, mm³)
    problems: list[str] = []
    valid = None
    if mask is not None:
        valid = np.asarray(mask, dtype=bool)
        if valid.shape != a.shape:
            raise ValueError(f"mask shape {valid.shape} differs from the image's {a.shape}")
        if valid.all():
            valid = None

    flat = a.reshape(-1)
    k = int(np.argmax(flat))
    mx = flat[k]
    # max finite and min finite <=> every pixel finite (NaN propagates through both
    # reductions); cheaper than np.isfinite(a).all(). Integers are always finite.
    all_finite = a.dtype.kind in "iu" or (math.isfinite(mx) and math.isfinite(flat.min()))
    if not all_finite or valid is not None:
        if a.dtype.kind in "iu":
            a = a.astype(np.float64)  # only to mark excluded voxels; a masked integer image
        fin = np.isfinite(a)
        if valid is not None:
            if not fin[valid].all():
                problems.append("nan_pixels")
            fin &= valid
        else:
            problems.append("nan_pixels")
        if not fin.any():
            return _Partial(None, None, None, None, None, 0, (), T,
                            ["all_nan"])
        a = np.where(fin, a, -np.inf)  # missing or excluded pixels: never the max, never above T
        flat = a.reshape(-1)
        k = int(np.argmax(flat))
        mx = flat[k]
    max_index = tuple(int(i) for i in np.unravel_index(k, a.shape))

    mask = a > T
    roi_values = a  # the pixels `mask` indexes: the image, or a box of it
    if roi_method == "threshold_connected":
        if mx > T:
            box, mask = _connected_roi(mask, max_index)
            roi_values = a[box]
        else:
            mask = np.zeros_like(mask)
    elif roi_method != "threshold_all":
        raise ValueError(f"roi_method must be one of {ROI_METHODS}, got {roi_method!r}")
    count = int(np.count_nonzero(mask))
    mean = total = area = volume = None
    if count == 0:
        problems.append("empty_roi")
    else:
        # Boolean indexing gathers only the ROI (small next to the field of view), then
        # ndarray.sum's pairwise summation. Missing pixels are -inf, never in the mask.
        # summed in float64 whatever the pixels' dtype (a uint8 sum would wrap)
        roi_sum = float(roi_values[mask].sum(dtype=np.float64))
        mean = roi_sum / count
        if a.ndim == 2:
            area = count * cell
            total = mean * area  # STANDARD.md: total = mean × area (2D)
        else:
            volume = count * cell
            total = roi_sum * cell  # STANDARD.md: ROI sum × voxel volume (3D)
        if not all(v is None or math.isfinite(v) for v in (area, volume, total)):
            area = area if area is not None and math.isfinite(area) else None
            volume = volume if volume is not None and math.isfinite(volume) else None
            total = total if total is not None and math.isfinite(total) else None
            problems.append("spacing_overflow")

    # The profile through the maximum pixel along the fwhm axis, unthresholded.
    ai = axes.index(fwhm_axis)
    sl: list[Any] = list(max_index)
    sl[ai] = slice(None)
    prof = a[tuple(sl)]
    weights = None
    if not all_finite or valid is not None:
        w = np.isfinite(prof)
        if not w.all():
            weights = w.astype(np.float64)
            prof = np.where(w, prof, 0.0)
    part = _Partial(
        float(mx), mean, total, area, volume, count, max_index, T, problems,
        axis_spacing=sp[ai],
    )
    nfin = prof.size if weights is None else int(np.count_nonzero(weights))
    if not mx > 0:
        problems.append("fwhm_no_peak")
    elif nfin < 3:
        problems.append("fwhm_too_few_points")
    else:
        part.profile = np.array(prof, dtype=np.float64)  # own copy, tiny
        part.profile_weights = weights
    return part


class ImageBatch:
    """Images measured one at a time, their Lorentzian fits solved together.

    :meth:`add` reduces an image at once (maximum, ROI, profile) and keeps only its
    profile, so the caller can drop the image before reading the next: memory grows with
    the profiles (:attr:`profile_bytes`), never with the images. :meth:`results` fits the
    profiles (grouped by length, in pixel units) and returns the metrics in order.
    """

    def __init__(self, roi_method: str = "threshold_all", fwhm_axis: str = "x") -> None:
        self.roi_method = roi_method
        self.fwhm_axis = fwhm_axis
        self._parts: list[_Partial] = []
        self.profile_bytes = 0

    def __len__(self) -> int:
        return len(self._parts)

    def add(self, image: np.ndarray, spacing_mm: Mapping[str, float], threshold: float,
            mask: np.ndarray | None = None, axes: Sequence[str] | None = None) -> int:
        """Measure one image. ``mask``: True where a voxel counts (False voxels are left out of
        every metric, like non-finite ones). ``axes``: the names of a 2D image's axes when it
        is not (z, x), e.g. ("y", "x") for a slice in the x–y plane."""
        part = _measure(image, spacing_mm, threshold, self.roi_method, self.fwhm_axis, mask, axes)
        self._parts.append(part)
        if part.profile is not None:
            self.profile_bytes += part.profile.nbytes * (2 if part.profile_weights is not None else 1)
        return len(self._parts) - 1

    def results(self) -> list[ImageMetrics]:
        parts = self._parts
        n = len(parts)
        # Group the profiles by length; fit each group in pixel units (positions 0..n−1).
        # The least-squares minimum in mm is the pixel one scaled by the spacing.
        fwhm: list[float | None] = [None] * n
        groups: dict[int, list[int]] = {}
        for i, p in enumerate(parts):
            if p.profile is not None:
                groups.setdefault(p.profile.size, []).append(i)
        for length, members in groups.items():
            Y = np.stack([cast(np.ndarray, parts[i].profile) for i in members])
            W = None
            if any(parts[i].profile_weights is not None for i in members):
                W = np.ones_like(Y)
                for row, i in enumerate(members):
                    if parts[i].profile_weights is not None:
                        W[row] = parts[i].profile_weights
            x = np.arange(length, dtype=np.float64)
            params, conv, _ = _fit_batch(x, Y, W)
            for row, i in enumerate(members):
                g = params[row, 2]
                if conv[row] and math.isfinite(g) and g != 0:
                    value = 2.0 * abs(float(g)) * parts[i].axis_spacing
                    if math.isfinite(value):
                        fwhm[i] = value
                    elif "spacing_overflow" not in parts[i].problems:
                        parts[i].problems.append("spacing_overflow")
                else:
                    parts[i].problems.append("fwhm_not_converged")
        return [
            ImageMetrics(
                max_intensity=p.max_intensity,
                mean_intensity=p.mean_intensity,
                total_intensity=p.total_intensity,
                roi_area_mm2=p.area,
                roi_volume_mm3=p.volume,
                fwhm_mm=fwhm[i],
                roi_pixels=p.roi_pixels,
                max_index=p.max_index,
                threshold=p.threshold,
                problems=tuple(p.problems),
            )
            for i, p in enumerate(parts)
        ]


def quantify_images(
    images: Iterable[np.ndarray],
    spacings: Mapping[str, float] | Sequence[Mapping[str, float]],
    *,
    threshold: float | Sequence[float],
    roi_method: str = "threshold_all",
    fwhm_axis: str = "x",
) -> list[ImageMetrics]:
    """Reference metrics of many images; the Lorentzian fits are done in one batch.

    ``spacings`` and ``threshold`` are either one value for every image or one per image.
    ``images`` may be any iterable, e.g. a generator that loads each image: every image is
    reduced as soon as it arrives (while it is still in the CPU cache) and only its
    profile is kept for the batched fit, so a batch never holds all its images
    (:class:`ImageBatch`).
    """
    const_sp = isinstance(spacings, Mapping)
    const_th = isinstance(threshold, (int, float, np.floating, np.integer))
    sp_list = None if const_sp else list(cast(Sequence[Mapping[str, float]], spacings))
    th_list = None if const_th else [float(t) for t in cast(Sequence[float], threshold)]

    batch = ImageBatch(roi_method, fwhm_axis)
    for i, im in enumerate(images):
        if (sp_list is not None and i >= len(sp_list)) or (th_list is not None and i >= len(th_list)):
            raise ValueError(f"more images than spacings ({len(sp_list or ())}) or thresholds ({len(th_list or ())})")
        sp = cast(Mapping[str, float], spacings) if const_sp else cast(list[Mapping[str, float]], sp_list)[i]
        th = cast(float, threshold) if const_th else cast(list[float], th_list)[i]
        batch.add(im, sp, th)
    n = len(batch)
    for name, lst in (("spacings", sp_list), ("thresholds", th_list)):
        if lst is not None and len(lst) != n:
            raise ValueError(f"{len(lst)} {name} for {n} images")
    return batch.results()


def quantify_image(
    image: np.ndarray,
    spacing_mm: Mapping[str, float],
    *,
    threshold: float,
    roi_method: str = "threshold_all",
    fwhm_axis: str = "x",
) -> ImageMetrics:
    """Reference metrics of one image (STANDARD.md, "Image metrics, the reference method")."""
    return quantify_images([image], [spacing_mm], threshold=threshold, roi_method=roi_method, fwhm_axis=fwhm_axis)[0]
