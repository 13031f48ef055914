"""Phantom simulator: MPI-like images with known ground truth (pure numerics).

The phantom is the paper's sample (section 2, "Sample holder and tube design"): a
flat-bottomed tube holding ``volume_uL`` of tracer with ``iron_mass_ug`` of iron, so the
sample is a cylinder of the tube's diameter whose fill height is volume / cross-section.
The scanner sees it in 2D projection (the Momentum's 2D mode): axes (z, x), z along the
tube axis, the projection taken along y. The projected iron areal density at (z, x) is
concentration × chord length 2·√(R² − x²) inside the fill, zero outside; each pixel holds
its exact average over the pixel (analytic integral, no point sampling), so the image sum ×
pixel area equals the iron mass × sensitivity before blurring.

Signal model (documented units):

- ``sensitivity`` is in pixel units (a.u.) per µg·mm⁻² of projected iron areal density:
  pixel value = sensitivity × (µg of iron per mm² of the projection), i.e. pixels are
  signal densities as the standard says. Hence the integral of the noise-free image over
  the plane (sum × pixel area, which is the standard's total intensity, mean × area, when
  the ROI holds every pixel) is sensitivity × iron mass (a.u. per µg × µg), as long as the
  blurred sample stays inside the field of view.
- The point-spread function is separable, a product of 1D kernels along z and x
  ("lorentzian": 1/(1+(d/γ)²), γ = FWHM/2; "gaussian": exp(−d²/2σ²), σ = FWHM/2.3548),
  sampled at pixel offsets over the full image extent and normalised to unit sum, applied
  by zero-padded FFT (a linear, not circular, convolution; signal blurred past the field of
  view is lost, as in a scanner).
- Noise: i.i.d. Gaussian, SD ``noise_sd`` pixel units, added to the blurred image (receiver
  input). Optional compressive receiver: measured = s·tanh(true/s) (s =
  ``compressive_receiver``), whose inverse is returned as a lookup table so that a dataset
  can declare ``receiver_correction`` (STANDARD.md, Acquisition).

Ground truth: the reference metrics (STANDARD.md, "Image metrics, the reference method",
``threshold_all``) of the NOISE-FREE, uncompressed image, computed here by plain numpy and
a ``scipy.optimize.least_squares`` Lorentzian fit, independently of
:mod:`mpistd.quantify.imaging`, so tests can check one against the other.

Closed-form helpers: :func:`lorentzian_line_image` (FWHM exactly 2γ) and
:func:`uniform_disc_image` (area and total known exactly, 2D disc or 3D ball).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

import numpy as np

__all__ = [
    "SimulatedImage",
    "ClosedFormImage",
    "simulate_tube_image",
    "compress",
    "decompress",
    "compressive_receiver_table",
    "reference_truth",
    "lorentzian_line_image",
    "uniform_disc_image",
]

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


@dataclass(frozen=True, slots=True)
class SimulatedImage:
    image: np.ndarray  # what the scanner ships: blurred + noise (+ receiver compression)
    noise_free: np.ndarray  # blurred true signal density, no noise, no compression
    truth: dict[str, Any]  # reference metrics of noise_free (see reference_truth) + model facts
    spacing_mm: dict[str, float]
    # Inverse of the compressive receiver as [[measured, true], ...] rows, strictly
    # increasing (STANDARD.md receiver_correction.table); None without compression.
    receiver_table: tuple[tuple[float, float], ...] | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ClosedFormImage:
    image: np.ndarray
    spacing_mm: dict[str, float]
    truth: dict[str, Any]


# --------------------------------------------------------------------------------------
# Receiver model
# --------------------------------------------------------------------------------------


def compress(true: np.ndarray, saturation: float) -> np.ndarray:
    """Compressive receiver: measured = s·tanh(true/s) (linear for true ≪ s)."""
    s = float(saturation)
    return s * np.tanh(np.asarray(true, dtype=np.float64) / s)


def decompress(measured: np.ndarray, saturation: float) -> np.ndarray:
    """Exact inverse of :func:`compress` (|measured| < s)."""
    s = float(saturation)
    return s * np.arctanh(np.asarray(measured, dtype=np.float64) / s)


def compressive_receiver_table(
    saturation: float, true_max: float, n_points: int = 2049
) -> tuple[tuple[float, float], ...]:
    """Lookup table [[measured, true], …] inverting s·tanh(true/s) on [−true_max, true_max].

    The true values are sampled uniformly and symmetrically about 0 (noise in the
    background is negative as often as positive, so the table must cover it); measured
    values are then strictly increasing. Linear interpolation of the table reproduces the
    exact inverse to a relative error of order (Δtrue/s)² at the compressed end.
    """
    s = float(saturation)
    tm = float(true_max)
    if not (s > 0 and tm > 0):
        raise ValueError("saturation and true_max must be positive")
    if tm / s > 15.0:
        # tanh is 1 to double precision beyond ~19: the table would stop increasing.
        raise ValueError(f"true_max {tm} is beyond what a receiver of saturation {s} can invert")
    t = np.linspace(-tm, tm, int(n_points))
    m = compress(t, s)
    if not (np.diff(m) > 0).all():
        raise ValueError("receiver table is not strictly increasing; use fewer points")
    return tuple((float(a), float(b)) for a, b in zip(m, t))


# --------------------------------------------------------------------------------------
# Independent reference truth
# --------------------------------------------------------------------------------------


def _lorentz_fit_scipy(x: np.ndarray, y: np.ndarray) -> float | None:
    """2|γ| of a least-squares Lorentzian fit (scipy, tight tolerances), or None."""
    from scipy.optimize import least_squares

    k = int(np.argmax(y))
    A0 = float(y[k])
    if not A0 > 0:
        return None
    above = np.nonzero(y >= A0 / 2)[0]
    g0 = max(0.5 * (x[above[-1]] - x[above[0]]) + 0.5 * (x[1] - x[0]), 1e-3 * (x[1] - x[0]))

    def resid(p: np.ndarray) -> np.ndarray:
        r: np.ndarray = p[0] / (1.0 + ((x - p[1]) / p[2]) ** 2) - y
        return r

    res = least_squares(resid, [A0, x[k], g0], method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=20000)
    if not res.success or not np.isfinite(res.x).all():
        return None
    return 2.0 * abs(float(res.x[2]))


def reference_truth(
    image: np.ndarray,
    spacing_mm: Mapping[str, float],
    threshold: float,
    *,
    fwhm_axis: str = "x",
    with_fwhm: bool = True,
) -> dict[str, Any]:
    """The reference metrics of a 2D (z, x) image with plain numpy (``threshold_all``).

    Written separately from :mod:`mpistd.quantify.imaging` on purpose: the simulator's
    truth must not be the code under test. Empty ROI → None for mean/total/area.
    """
    a = np.asarray(image, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError("reference_truth handles 2D (z, x) images")
    sz, sx = float(spacing_mm["z"]), float(spacing_mm["x"])
    k = int(np.argmax(a))  # ties: first in row-major order
    iz, ix = divmod(k, a.shape[1])
    roi = a > threshold
    n = int(roi.sum())
    out: dict[str, Any] = {
        "max_intensity": float(a[iz, ix]),
        "max_index": (iz, ix),
        "roi_pixels": n,
        "threshold": float(threshold),
        "mean_intensity": None,
        "roi_area_mm2": None,
        "total_intensity": None,
        "fwhm_mm": None,
    }
    if n:
        mean = float(a[roi].mean())
        area = n * (sz * sx)
        out.update(mean_intensity=mean, roi_area_mm2=area, total_intensity=mean * area)
    if with_fwhm:
        if fwhm_axis == "x":
            prof, s = a[iz, :], sx
        else:
            prof, s = a[:, ix], sz
        out["fwhm_mm"] = _lorentz_fit_scipy(np.arange(prof.size) * s, prof)
    return out


# --------------------------------------------------------------------------------------
# Tube phantom
# --------------------------------------------------------------------------------------


def _chord_pixel_average(edges: np.ndarray, R: float) -> np.ndarray:
    """Average of the chord 2√(R²−x²) over each interval [edges[i], edges[i+1]] (mm)."""

    def F(x: np.ndarray) -> np.ndarray:  # antiderivative of 2√(R²−x²), constant outside [−R, R]
        x = np.clip(x, -R, R)
        value: np.ndarray = x * np.sqrt(np.maximum(R * R - x * x, 0.0)) + R * R * np.arcsin(x / R)
        return value

    average: np.ndarray = (F(edges[1:]) - F(edges[:-1])) / np.diff(edges)
    return average


def _overlap_fraction(edges: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Fraction of each interval [edges[i], edges[i+1]] inside [lo, hi]."""
    a = np.maximum(edges[:-1], lo)
    b = np.minimum(edges[1:], hi)
    fraction: np.ndarray = np.clip(b - a, 0.0, None) / np.diff(edges)
    return fraction


def _kernel_1d(n: int, spacing: float, fwhm: float, psf: str) -> np.ndarray:
    d = np.arange(-(n - 1), n) * spacing
    if psf == "lorentzian":
        k = 1.0 / (1.0 + (d / (0.5 * fwhm)) ** 2)
    elif psf == "gaussian":
        sigma = fwhm / _FWHM_PER_SIGMA
        k = np.exp(-0.5 * (d / sigma) ** 2)
    else:
        raise ValueError(f"psf must be 'lorentzian' or 'gaussian', got {psf!r}")
    normalized: np.ndarray = k / k.sum()
    return normalized


def _convolve_axis(a: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    """Linear 'same' convolution along one axis by zero-padded FFT (kernel centred)."""
    n = a.shape[axis]
    L = 1 << int(math.ceil(math.log2(2 * n - 1 + n)))  # room for the full linear result
    fa = np.fft.rfft(a, L, axis=axis)
    fk = np.fft.rfft(kernel, L)
    shape = [1] * a.ndim
    shape[axis] = fk.size
    full = np.fft.irfft(fa * fk.reshape(shape), L, axis=axis)
    return np.take(full, np.arange(n - 1, 2 * n - 1), axis=axis)


def _blur(a: np.ndarray, spacing: dict[str, float], fwhm: dict[str, float], psf: str) -> np.ndarray:
    out = a
    for axis, name in enumerate(("z", "x")):
        f = fwhm.get(name)
        if f is None or f <= 0:
            continue
        out = _convolve_axis(out, _kernel_1d(a.shape[axis], spacing[name], float(f), psf), axis)
    return out


def _as_rng(rng: "np.random.Generator | int | None") -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def simulate_tube_image(
    *,
    iron_mass_ug: float,
    volume_uL: float,
    shape: tuple[int, int] = (240, 120),
    spacing_mm: Mapping[str, float] | None = None,
    tube_diameter_mm: float = 6.0,
    sensitivity: float = 1000.0,
    psf: Literal["lorentzian", "gaussian"] = "lorentzian",
    psf_fwhm_mm: float | Mapping[str, float] = 2.5,
    noise_sd: float = 0.0,
    compressive_receiver: float | None = None,
    rng: np.random.Generator | int | None = None,
    center_x_mm: float | None = None,
    bottom_z_mm: float | None = None,
    truth_threshold: float | None = None,
    with_truth: bool = True,
) -> SimulatedImage:
    """A 2D (z, x) MPI-like image of a flat-bottomed tube holding a tracer sample.

    Geometry in mm, positions at pixel centres i·spacing (as the reference method). The
    tube axis is along z at x = ``center_x_mm`` (default: the middle of the field of
    view); the fill occupies z ∈ [bottom, bottom + h], h = volume / (π·R²) (1 µL = 1 mm³),
    with ``bottom_z_mm`` by default such that the fill is centred in the field of view.
    ``psf_fwhm_mm`` is one FWHM for both axes or {"z": …, "x": …}. ``sensitivity``: pixel
    units per µg·mm⁻² (module docstring). ``noise_sd``: Gaussian noise SD in pixel units.
    ``compressive_receiver``: saturation s of measured = s·tanh(true/s).

    ``truth`` holds :func:`reference_truth` of the noise-free image at
    ``truth_threshold`` (default 5·noise_sd, the paper's k = 5; 0 without noise), plus
    ``iron_mass_ug``, ``concentration_ug_per_uL``, ``fill_height_mm`` and
    ``integrated_signal`` (noise-free sum × pixel area, ≈ sensitivity × mass when the
    blurred sample stays inside the field of view). ``with_truth=False`` skips the truth's
    Lorentzian fit (fwhm_mm None), for speed.
    """
    sp = {"z": 0.5, "x": 0.5} if spacing_mm is None else {k: float(v) for k, v in spacing_mm.items()}
    nz, nx = (int(shape[0]), int(shape[1]))
    if iron_mass_ug < 0 or volume_uL <= 0 or tube_diameter_mm <= 0:
        raise ValueError("iron_mass_ug must be ≥ 0, volume_uL and tube_diameter_mm > 0")
    R = 0.5 * float(tube_diameter_mm)
    h = float(volume_uL) / (math.pi * R * R)
    conc = float(iron_mass_ug) / float(volume_uL)  # µg/µL = µg/mm³
    fov_z, fov_x = nz * sp["z"], nx * sp["x"]
    cx = (nx - 1) / 2 * sp["x"] if center_x_mm is None else float(center_x_mm)
    bz = ((nz - 1) / 2 * sp["z"] - h / 2) if bottom_z_mm is None else float(bottom_z_mm)

    # Pixel i covers [(i − ½)·s, (i + ½)·s] (centres at i·s).
    ex = (np.arange(nx + 1) - 0.5) * sp["x"] - cx
    ez = (np.arange(nz + 1) - 0.5) * sp["z"]
    chord = _chord_pixel_average(ex, R)  # mm of sample along y, averaged over the pixel
    fill = _overlap_fraction(ez, bz, bz + h)
    areal = conc * np.outer(fill, chord)  # µg/mm² of projected iron
    obj = float(sensitivity) * areal

    fwhm = (
        {"z": float(psf_fwhm_mm), "x": float(psf_fwhm_mm)}
        if isinstance(psf_fwhm_mm, (int, float))
        else {k: float(v) for k, v in psf_fwhm_mm.items()}
    )
    noise_free = _blur(obj, sp, fwhm, psf)
    # The blurred object is non-negative; FFT round-off leaves ±1e-16·max where it is 0
    # (Gaussian tails): zero that, so that a threshold of 0 gives a well-defined ROI.
    noise_free[np.abs(noise_free) <= 1e-12 * float(np.max(np.abs(noise_free), initial=0.0))] = 0.0

    g = _as_rng(rng)
    noisy = noise_free + (g.normal(0.0, float(noise_sd), noise_free.shape) if noise_sd > 0 else 0.0)
    table = None
    image = noisy
    if compressive_receiver is not None:
        s = float(compressive_receiver)
        image = compress(noisy, s)
        # Cover the noisy true range with margin; never past where tanh stays invertible.
        tmax = min(1.25 * float(np.max(np.abs(noisy))) + 1e-12, 15.0 * s)
        table = compressive_receiver_table(s, tmax)

    thr = (5.0 * float(noise_sd)) if truth_threshold is None else float(truth_threshold)
    truth = reference_truth(noise_free, sp, thr, with_fwhm=with_truth)
    truth.update(
        iron_mass_ug=float(iron_mass_ug),
        volume_uL=float(volume_uL),
        concentration_ug_per_uL=conc,
        fill_height_mm=h,
        integrated_signal=float(noise_free.sum()) * sp["z"] * sp["x"],
        object_signal=float(obj.sum()) * sp["z"] * sp["x"],
    )
    params = dict(
        iron_mass_ug=float(iron_mass_ug), volume_uL=float(volume_uL), shape=(nz, nx),
        tube_diameter_mm=float(tube_diameter_mm), sensitivity=float(sensitivity), psf=psf,
        psf_fwhm_mm=fwhm, noise_sd=float(noise_sd), compressive_receiver=compressive_receiver,
        center_x_mm=cx, bottom_z_mm=bz, fov_mm={"z": fov_z, "x": fov_x},
    )
    return SimulatedImage(image, noise_free, truth, sp, table, params)


# --------------------------------------------------------------------------------------
# Closed-form images
# --------------------------------------------------------------------------------------


def lorentzian_line_image(
    *,
    shape: tuple[int, int] = (240, 120),
    spacing_mm: Mapping[str, float] | None = None,
    amplitude: float = 1000.0,
    gamma_mm: float = 2.0,
    center_mm: Mapping[str, float] | None = None,
    z_gamma_mm: float = 10.0,
) -> ClosedFormImage:
    """I(z, x) = A / (1+((x−x₀)/γ)²) · 1/(1+((z−z₀)/γ_z)²): a Lorentzian line along x.

    z₀ sits on a pixel centre, so the maximum pixel lies on row z₀/Δz and the profile
    along x through it is exactly A/(1+((x−x₀)/γ)²): a least-squares fit has zero
    residual and FWHM = 2γ exactly. x₀ may be anywhere (default: the pixel centre
    nx//2, which makes the maximum exactly A).
    """
    sp = {"z": 0.5, "x": 0.5} if spacing_mm is None else {k: float(v) for k, v in spacing_mm.items()}
    nz, nx = shape
    iz0 = nz // 2
    z0 = iz0 * sp["z"]
    x0 = (nx // 2) * sp["x"] if center_mm is None or "x" not in center_mm else float(center_mm["x"])
    if center_mm is not None and "z" in center_mm:
        iz0 = int(round(float(center_mm["z"]) / sp["z"]))
        z0 = iz0 * sp["z"]
    x = np.arange(nx) * sp["x"]
    z = np.arange(nz) * sp["z"]
    line = float(amplitude) / (1.0 + ((x - x0) / float(gamma_mm)) ** 2)
    zprof = 1.0 / (1.0 + ((z - z0) / float(z_gamma_mm)) ** 2)
    image = np.outer(zprof, line)
    truth = {
        "fwhm_mm": 2.0 * abs(float(gamma_mm)),
        "gamma_mm": float(gamma_mm),
        "center_x_mm": x0,
        "max_row": iz0,
        "amplitude": float(amplitude),
        "profile": line,
    }
    return ClosedFormImage(image, sp, truth)


def uniform_disc_image(
    *,
    shape: tuple[int, ...] = (240, 120),
    spacing_mm: Mapping[str, float] | None = None,
    value: float = 3.0,
    radius_mm: float = 5.0,
    center_mm: Mapping[str, float] | None = None,
) -> ClosedFormImage:
    """A uniform disc (2D (z, x)) or ball (3D (z, y, x)) of ``value`` on a zero background.

    A pixel belongs to the disc when its centre (i·spacing) lies within ``radius_mm`` of
    the centre (default: the middle of the grid). Truth: roi_pixels = that count; with any
    threshold in [0, value), area (2D) = count × pixel area and total = value × area, or
    volume (3D) = count × voxel volume and total = value × count × voxel volume. Use a
    dyadic ``value`` (e.g. 3.0) so that sums of it are exact in floating point.
    """
    axes = ("z", "x") if len(shape) == 2 else ("z", "y", "x")
    if len(shape) not in (2, 3):
        raise ValueError("shape must be 2D or 3D")
    sp = {a: 0.5 for a in axes} if spacing_mm is None else {k: float(v) for k, v in spacing_mm.items()}
    cen = {a: (n - 1) / 2 * sp[a] for a, n in zip(axes, shape)}
    if center_mm is not None:
        cen.update({k: float(v) for k, v in center_mm.items()})
    grids = np.meshgrid(*[np.arange(n) * sp[a] - cen[a] for a, n in zip(axes, shape)], indexing="ij")
    r2 = sum(gr * gr for gr in grids)
    inside = r2 <= float(radius_mm) ** 2
    image = np.where(inside, float(value), 0.0)
    n = int(inside.sum())
    cell = math.prod(sp[a] for a in axes)
    first = tuple(int(i) for i in np.unravel_index(int(np.argmax(image)), shape)) if n else ()
    truth: dict[str, Any] = {"roi_pixels": n, "max_intensity": float(value) if n else 0.0, "mean_intensity": float(value),
                   "max_index": first}
    if len(shape) == 2:
        truth.update(roi_area_mm2=n * cell, total_intensity=float(value) * (n * cell))
    else:
        truth.update(roi_volume_mm3=n * cell, total_intensity=float(value) * n * cell)
    return ClosedFormImage(image, sp, truth)
