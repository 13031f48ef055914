"""Simulated calibration datasets with known truth (`mpistd simulate`).

:func:`simulate_dataset` writes a complete standard dataset, ``NAME.mpical.json``, and one
image per replicate under ``images/`` beside it: a fixed-concentration solution calibration
(the paper's proposed method, section 2 "Calibration curve construction in solution") of
flat-bottomed tubes imaged by the phantom simulator (:mod:`mpistd.quantify.simulate`):
ICP-measured iron masses, a particle model (so interparticle distances are derivable and
reported), the simulator's noise SD as the analysis' noise with the paper's k = 5 threshold,
and a reported straight line per fitted metric (``numpy.polyfit``).

The replicate metrics are those of the reference method (STANDARD.md, "Image metrics, the
reference method"), computed here by a separately written, deliberately plain
implementation (numpy ROI, ``scipy.optimize.curve_fit`` for the Lorentzian) from the very
images written, so that mpistd's own image pipeline (:mod:`mpistd.quantify.imaging`) can be
checked against them and a fresh simulated dataset validates without MPI013.

Each replicate also carries, under the extension key ``x-truth``, the simulator's ground
truth: the reference metrics of the noise-free, uncompressed image (threshold 5 × noise SD)
and the model facts (iron mass, concentration, fill height). The simulator's parameters are
recorded under ``/dataset/x-simulator``.

With ``compressive_receiver`` set, the images are what the receiver measured,
s·tanh(true/s): raw (``images_corrected: false``), and the acquisition declares the inverse
as a lookup table ``receiver_correction`` together with a ``saturation_level`` (where the
receiver's response falls 1 % below linear); the reported metrics are computed after
applying that table, as the paper did (section 2, "Correcting measured images for detector
saturation").

Every file is written atomically (:func:`mpistd._atomic.write_atomic`), images first and the
document last, so a dataset document never names an image that is not there yet.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import re
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np

__all__ = ["simulate_dataset", "reference_metrics", "IMAGE_FORMATS", "TRACERS"]

IMAGE_FORMATS = ("npy", "tiff", "mdf")
_EXT = {"npy": ".npy", "tiff": ".tif", "mdf": ".mdf"}

#: Tracers the simulator knows: product facts for the Tracer object. The particle model
#: only serves to derive interparticle distances (STANDARD.md, Derived quantities).
TRACERS: dict[str, dict[str, Any]] = {
    "promag": {
        "name": "ProMag",
        "vendor": "Bangs Laboratories",
        "product_code": "PMC1N",
        "core_material": "magnetite",
        "particle_model": {"kind": "iron_mass_per_particle", "iron_mass_per_particle_fg": 2500.0},
        "sensitivity": 1000.0,
    },
    "vivotrax": {
        "name": "VivoTrax",
        "vendor": "Magnetic Insight",
        "core_material": "mixed",
        "particle_model": {"kind": "spherical_core", "core_diameter_nm": 5.0, "density_g_per_cm3": 5.17,
                           "iron_mass_fraction": 0.724},
        "sensitivity": 400.0,
    },
}

# the paper's ProMag fixed-concentration series: 1.55 µg/µL, 2 to 12 µL
DEFAULT_MASSES_UG = (3.1, 6.2, 9.3, 12.4, 15.5, 18.6)
#: what a replicate may report, and what it reports by default: the paper's sensitivity
#: metrics (maximum, total) and resolution (FWHM), with the ROI area that total = mean × area
#: uses. The mean ROI intensity is left out by default: it is not proportional to iron mass
#: (the ROI grows with the signal), so its line would be flagged as non-linear (MPI023).
REPORTABLE = ("max_intensity", "mean_intensity", "total_intensity", "roi_area_mm2", "fwhm_mm")
DEFAULT_METRICS = ("max_intensity", "total_intensity", "roi_area_mm2", "fwhm_mm")
_SATURATION_DEVIATION = 0.01  # saturation_level: where s·tanh(t/s) falls 1 % below t


# ----------------------------------------------------------------------------------------------
# the reference method, written plainly (independent of mpistd.quantify.imaging)


def _lorentzian(x: np.ndarray, a: float, x0: float, g: float) -> np.ndarray:
    return a / (1.0 + ((x - x0) / g) ** 2)


def _fwhm_curve_fit(positions: np.ndarray, profile: np.ndarray) -> float | None:
    """2|γ| of A/(1+((x−x₀)/γ)²) fitted by unweighted least squares (scipy curve_fit)."""
    from scipy.optimize import curve_fit

    k = int(np.argmax(profile))
    a0 = float(profile[k])
    if not a0 > 0 or profile.size < 3:
        return None
    above = np.flatnonzero(profile >= a0 / 2.0)
    step = float(positions[1] - positions[0])
    g0 = max(0.5 * float(positions[above[-1]] - positions[above[0]]) + 0.5 * step, 0.1 * step)
    try:
        params, _ = curve_fit(_lorentzian, positions, profile, p0=[a0, float(positions[k]), g0],
                              method="lm", xtol=1e-14, ftol=1e-14, gtol=1e-14, maxfev=20000)
    except (RuntimeError, ValueError):
        return None
    if not np.isfinite(params).all():
        return None
    return 2.0 * abs(float(params[2]))


def reference_metrics(image: np.ndarray, pixel_size_mm: dict[str, float], threshold: float,
                      table: Sequence[Sequence[float]] | None = None) -> dict[str, Any]:
    """The reference metrics of a 2D (z, x) image, ``threshold_all`` ROI, FWHM along x.

    ``table``: the receiver's [[measured, true], …] lookup table, applied first by linear
    interpolation (for raw images). A metric that cannot be computed is None.
    """
    a = np.asarray(image, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError("reference_metrics handles 2D (z, x) images")
    if table is not None:
        t = np.asarray(table, dtype=np.float64)
        a = np.interp(a, t[:, 0], t[:, 1])
    dz, dx = float(pixel_size_mm["z"]), float(pixel_size_mm["x"])
    iz, ix = np.unravel_index(int(np.argmax(a)), a.shape)  # ties: first in row-major order
    inside = a > threshold
    count = int(np.count_nonzero(inside))
    out: dict[str, Any] = {"max_intensity": float(a[iz, ix]), "mean_intensity": None, "total_intensity": None,
                           "roi_area_mm2": None, "fwhm_mm": None}
    if count:
        mean = float(np.mean(a[inside]))
        area = count * dz * dx
        out.update(mean_intensity=mean, roi_area_mm2=area, total_intensity=mean * area)
    out["fwhm_mm"] = _fwhm_curve_fit(np.arange(a.shape[1]) * dx, a[iz, :])
    return out


# ----------------------------------------------------------------------------------------------
# image files


def _image_bytes(image: np.ndarray, fmt: str, pixel_size_mm: dict[str, float], mdf: dict | None = None) -> bytes:
    if fmt == "npy":
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(image, dtype=np.float64), allow_pickle=False)
        return buf.getvalue()
    if fmt == "tiff":
        import tifffile

        buf = io.BytesIO()
        tifffile.imwrite(buf, np.ascontiguousarray(image, dtype=np.float64))
        return buf.getvalue()
    if fmt == "mdf":
        return _mdf_bytes(image, pixel_size_mm, mdf or {})
    raise ValueError(f"image_format must be one of {', '.join(IMAGE_FORMATS)}, got {fmt!r}")


#: MDF v2.1.0 (MagneticParticleImaging/MDF, specification/MDF.tex): the simulated scanner's
#: fixed parameters. A 2D FFP scanner with two sinusoidal drive-field channels (x, z) and two
#: receive channels; the values are illustrative (of the order of preclinical scanners).
_MDF_VERSION = "2.1.0"
_MDF_BASE_FREQUENCY_HZ = 2.5e6
_MDF_DIVIDERS = (102, 96)
_MDF_STRENGTH_T = 0.012  # T/µ0 per drive-field channel
_MDF_SAMPLING_POINTS = 816
_FE_G_PER_MOL = 55.845  # IUPAC standard atomic weight of iron


def _mdf_uuid(seed: bytes, salt: str) -> str:
    """A version-4 UUID (RFC 4122) drawn from the image's own bytes: equal images, equal files."""
    import uuid

    return str(uuid.UUID(bytes=hashlib.sha256(salt.encode() + seed).digest()[:16], version=4))


def _mdf_bytes(image: np.ndarray, pixel_size_mm: dict[str, float], meta: dict) -> bytes:
    """One MDF v2.1.0 reconstruction file: every mandatory group and dataset of MDF.tex's
    tables, parameters as datasets (the specification uses no attributes), the image as
    ``/reconstruction/data`` Q × P × S = 1 × (Nx·Nz) × 1, voxels x fastest, on an x–z grid
    (Ny = 1), ``size`` (Nx, 1, Nz) and ``fieldOfView`` in metres."""
    import h5py

    nz, nx = image.shape
    data = np.ascontiguousarray(image, dtype=np.float64)
    seed = data.tobytes()
    dx, dz = pixel_size_mm["x"] / 1000.0, pixel_size_mm["z"] / 1000.0
    time = meta.get("time", "2000-01-01T00:00:00.000")  # fixed: equal arguments give equal bytes
    d = len(_MDF_DIVIDERS)
    cycle = math.lcm(*_MDF_DIVIDERS) / _MDF_BASE_FREQUENCY_HZ
    string = h5py.string_dtype()
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        def put(name, value):
            if isinstance(value, str):
                f.create_dataset(name, data=value, dtype=string)
            elif isinstance(value, (list, tuple)) and value and isinstance(value[0], str):
                f.create_dataset(name, data=np.array(value, dtype=object), dtype=string)
            else:
                f.create_dataset(name, data=value)

        # Data (group: /)
        put("/version", _MDF_VERSION)
        put("/uuid", _mdf_uuid(seed, "file"))
        put("/time", time)
        # Study Description (group: /study/)
        put("/study/name", "mpistd simulate")
        put("/study/number", np.int64(1))
        put("/study/uuid", _mdf_uuid(b"", "study"))
        put("/study/description", "simulated phantom calibration (mpistd simulate)")
        # Experiment Description (group: /experiment/)
        put("/experiment/name", str(meta.get("sample", "sample")))
        put("/experiment/number", np.int64(meta.get("number", 1)))
        put("/experiment/uuid", _mdf_uuid(seed, "experiment"))
        put("/experiment/description", "simulated tube sample, one replicate image")
        put("/experiment/subject", "tube phantom")
        put("/experiment/isSimulation", np.int8(1))
        # Tracer Parameters (group: /tracer/), dimension A = 1
        put("/tracer/name", [str(meta.get("tracer", "tracer"))])
        put("/tracer/batch", [str(meta.get("batch", "simulated"))])
        put("/tracer/vendor", [str(meta.get("vendor", "unknown"))])
        put("/tracer/volume", np.array([float(meta.get("volume_uL", 0.0)) * 1e-6]))  # L
        # mol(solute)/L: µg/µL = g/L, over the molar mass of iron
        put("/tracer/concentration", np.array([float(meta.get("concentration_ug_per_uL", 0.0)) / _FE_G_PER_MOL]))
        put("/tracer/solute", ["Fe"])
        # Scanner Parameters (group: /scanner/)
        put("/scanner/facility", "mpistd")
        put("/scanner/operator", "mpistd simulate")
        put("/scanner/manufacturer", "simulated")
        put("/scanner/name", "mpistd phantom simulator")
        put("/scanner/topology", "FFP")
        # Acquisition Parameters (group: /acquisition/)
        put("/acquisition/startTime", time)
        put("/acquisition/numFrames", np.int64(1))
        put("/acquisition/numAverages", np.int64(1))
        put("/acquisition/numPeriodsPerFrame", np.int64(1))
        put("/acquisition/numPatches", np.int64(1))
        put("/acquisition/framePeriod", np.float64(cycle))
        # Drive Field (group: /acquisition/drivefield/): J × D × F and D × F, J = F = 1
        put("/acquisition/drivefield/numChannels", np.int64(d))
        put("/acquisition/drivefield/strength", np.full((1, d, 1), _MDF_STRENGTH_T))
        put("/acquisition/drivefield/phase", np.zeros((1, d, 1)))
        put("/acquisition/drivefield/baseFrequency", np.float64(_MDF_BASE_FREQUENCY_HZ))
        put("/acquisition/drivefield/divider", np.array(_MDF_DIVIDERS, dtype=np.int64).reshape(d, 1))
        f.create_dataset("/acquisition/drivefield/waveform", data=np.array([["sine"]] * d, dtype=object),
                         dtype=string)
        put("/acquisition/drivefield/period", np.float64(cycle))
        put("/acquisition/drivefield/cycle", np.float64(cycle))
        # Receiver (group: /acquisition/receiver/)
        put("/acquisition/receiver/numChannels", np.int64(d))
        put("/acquisition/receiver/numAverages", np.int64(1))
        put("/acquisition/receiver/bandwidth", np.float64(_MDF_BASE_FREQUENCY_HZ / 2))
        put("/acquisition/receiver/numSamplingPoints", np.int64(_MDF_SAMPLING_POINTS))
        put("/acquisition/receiver/unit", "V")
        # Reconstruction Results (group: /reconstruction/)
        put("/reconstruction/data", data.reshape(1, nz * nx, 1))
        put("/reconstruction/size", np.array([nx, 1, nz], dtype=np.int64))
        put("/reconstruction/fieldOfView", np.array([nx * dx, dx, nz * dz]))
        put("/reconstruction/fieldOfViewCenter", np.zeros(3))
        put("/reconstruction/order", "xyz")
    return buf.getvalue()



def _read_back(data: bytes, fmt: str) -> np.ndarray:
    """The array as a reader will see it (what the reported metrics must describe)."""
    if fmt == "npy":
        return np.load(io.BytesIO(data), allow_pickle=False)
    if fmt == "tiff":
        import tifffile

        return tifffile.imread(io.BytesIO(data))
    import h5py

    with h5py.File(io.BytesIO(data), "r") as f:
        nx, _, nz = (int(v) for v in f["/reconstruction/size"][()])
        return np.asarray(f["/reconstruction/data"][0, :, 0]).reshape(nz, nx)


def _spacing_as_read(fmt: str, shape: tuple[int, int], pixel: float) -> dict[str, float]:
    """The pixel size a reader derives (MDF: field of view in metres / size)."""
    if fmt != "mdf":
        return {"z": pixel, "x": pixel}
    nz, nx = shape
    return {"z": (nz * pixel / 1000.0) * 1000.0 / nz, "x": (nx * pixel / 1000.0) * 1000.0 / nx}


# ----------------------------------------------------------------------------------------------
# the dataset


def _sig(x: float | None, digits: int = 10) -> float | None:
    """Round to significant digits for a readable document (None stays None)."""
    if x is None or x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.{digits}g}")


def _particle_iron_mass_fg(model: dict[str, Any]) -> float:
    if model["kind"] == "iron_mass_per_particle":
        return float(model["iron_mass_per_particle_fg"])
    d_cm = model["core_diameter_nm"] * 1e-7
    grams = model["density_g_per_cm3"] * math.pi / 6.0 * d_cm ** 3 * model["iron_mass_fraction"]
    return grams * 1e15


def _wigner_seitz_nm(concentration_ug_per_uL: float, particle_fg: float) -> float:
    # µg/µL = µg/mm³; 1 µg = 1e9 fg, 1 mm³ = 1e18 nm³
    n = concentration_ug_per_uL * 1e9 / particle_fg / 1e18  # particles per nm³
    return (3.0 / (4.0 * math.pi * n)) ** (1.0 / 3.0)


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return s or "simulated"


def _ols(x: list[float], y: list[float]) -> dict[str, float]:
    xa, ya = np.asarray(x, float), np.asarray(y, float)
    slope, intercept = np.polyfit(xa, ya, 1)
    resid = ya - (intercept + slope * xa)
    r2 = 1.0 - float(resid @ resid) / float(((ya - ya.mean()) ** 2).sum())
    return {"slope": float(slope), "intercept": float(intercept), "r_squared": r2}


def simulate_dataset(
    out_dir: Path,
    *,
    tracer: str = "ProMag",
    masses_ug: Sequence[float] = DEFAULT_MASSES_UG,
    volume_uL: float = 12.0,
    replicates: int = 3,
    psf_fwhm_mm: float = 3.0,
    noise_sd: float = 2.0,
    compressive_receiver: float | None = None,
    image_format: Literal["npy", "tiff", "mdf"] = "npy",
    seed: int = 0,
    reported_metrics: Literal["reference", "none"] = "reference",
    metrics: Sequence[str] = DEFAULT_METRICS,
    name: str | None = None,
    psf: Literal["gaussian", "lorentzian"] = "gaussian",
    pixel_size_mm: float = 0.5,
    fov_mm: tuple[float, float] = (120.0, 60.0),
    sensitivity: float | None = None,
    tube_diameter_mm: float = 6.0,
    created: str | None = None,
) -> Path:
    """Write ``NAME.mpical.json`` and its images into ``out_dir``; return the document's path.

    tracer: "ProMag" or "VivoTrax" (product facts and particle model; any other name gets
      a generic tracer). masses_ug: the calibration levels (µg Fe, as measured by ICP-OES).
    volume_uL: the volume of the largest level; every level shares its concentration
      max(masses)/volume_uL (fixed concentration), so level i holds masses_ug[i]/c µL.
    replicates: images per level, each with its own noise. psf, psf_fwhm_mm: the scanner's
      point-spread function (separable; "gaussian" or "lorentzian") and its FWHM.
    noise_sd: Gaussian noise SD in pixel units, also the analysis' noise SD (threshold
      5 × noise_sd). compressive_receiver: saturation s of measured = s·tanh(true/s); the
      images are then raw and the acquisition carries the inverse lookup table.
    image_format: "npy", "tiff" or "mdf" (MDF v2 reconstruction data).
    reported_metrics: "reference": every replicate reports the fields named in ``metrics``
      (default :data:`DEFAULT_METRICS`: max and total intensity, ROI area, FWHM), computed
      from its image by :func:`reference_metrics`; "none": the replicate reports only what
      the schema cannot do without, its maximum intensity (STANDARD.md: a replicate needs
      at least one metric), and leaves the rest to mpistd's report.
    pixel_size_mm, fov_mm: the grid, square pixels, field of view (z, x) in mm (default the
      paper's 120 mm × 60 mm). sensitivity: pixel units per µg·mm⁻² (default per tracer).
    name: the dataset's file stem and id (default "simulated-<tracer>").
    created: the dataset's date (YYYY-MM-DD), omitted by default so equal arguments give
      equal bytes.
    """
    from mpistd import __version__
    from mpistd._atomic import write_atomic
    from mpistd.quantify.simulate import compress, compressive_receiver_table, simulate_tube_image

    out_dir = Path(out_dir)
    if image_format not in IMAGE_FORMATS:
        raise ValueError(f"image_format must be one of {', '.join(IMAGE_FORMATS)}, got {image_format!r}")
    if reported_metrics not in ("reference", "none"):
        raise ValueError(f"reported_metrics must be 'reference' or 'none', got {reported_metrics!r}")
    masses = [float(m) for m in masses_ug]
    if not masses or any(not (m > 0 and math.isfinite(m)) for m in masses):
        raise ValueError("masses_ug must be positive numbers")
    if not (volume_uL > 0 and replicates >= 1 and noise_sd >= 0 and pixel_size_mm > 0):
        raise ValueError("volume_uL and pixel_size_mm must be > 0, replicates ≥ 1, noise_sd ≥ 0")
    if compressive_receiver is not None and not compressive_receiver > 0:
        raise ValueError("compressive_receiver (the saturation s) must be > 0")

    facts = TRACERS.get(tracer.lower(), {"name": tracer, "particle_model": TRACERS["promag"]["particle_model"],
                                         "sensitivity": 1000.0})
    name = name or f"simulated-{_slug(facts['name'])}"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ValueError(f"name {name!r} must be a plain file stem (letters, digits, '.', '_', '-')")
    sens = float(sensitivity if sensitivity is not None else facts["sensitivity"])
    conc = max(masses) / float(volume_uL)
    shape = (int(round(fov_mm[0] / pixel_size_mm)), int(round(fov_mm[1] / pixel_size_mm)))
    grid = {"z": float(pixel_size_mm), "x": float(pixel_size_mm)}
    threshold = 5.0 * float(noise_sd)
    rng = np.random.default_rng(seed)
    fields = tuple(metrics) if reported_metrics == "reference" else ("max_intensity",)
    unknown = set(fields) - set(REPORTABLE)
    if unknown or "max_intensity" not in fields and "total_intensity" not in fields and "mean_intensity" not in fields:
        raise ValueError(f"metrics must be among {', '.join(REPORTABLE)} and include an intensity; got {fields}")

    # 1. every image: simulated first, so one receiver table can cover them all
    sims = []
    for i, m in enumerate(masses):
        for _ in range(replicates):
            sims.append((i, simulate_tube_image(
                iron_mass_ug=m, volume_uL=m / conc, shape=shape, spacing_mm=grid, tube_diameter_mm=tube_diameter_mm,
                sensitivity=sens, psf=psf, psf_fwhm_mm=psf_fwhm_mm, noise_sd=noise_sd, rng=rng,
                truth_threshold=threshold)))
    table = None
    saturation_level = None
    if compressive_receiver is not None:
        s = float(compressive_receiver)
        # the true (noisy) values the receiver saw, with margin, as far as tanh is invertible
        true_max = min(1.25 * max(float(np.max(np.abs(sim.image))) for _, sim in sims) + 1e-12, 15.0 * s)
        # full precision: rounding could merge neighbouring rows where tanh is nearly flat
        table = [[a, b] for a, b in compressive_receiver_table(s, true_max)]
        # measured level where s·tanh(t/s) is 1 % below t: tanh(u)/u = 0.99
        u = _solve_tanh_ratio(1.0 - _SATURATION_DEVIATION)
        saturation_level = _sig(s * math.tanh(u), 8)

    # 2. images and replicate metrics
    points: list[dict[str, Any]] = []
    particle_fg = _particle_iron_mass_fg(facts["particle_model"])
    series: dict[str, tuple[list[float], list[float]]] = {}
    for i, m in enumerate(masses):
        sample = f"FC-{i + 1}"
        volume = m / conc
        point: dict[str, Any] = {
            "sample_id": sample,
            "iron_mass_ug": _sig(m),
            "iron_mass_method": "icp-oes",
            "volume_uL": _sig(volume),
            "concentration_ug_per_uL": _sig(conc),
            "interparticle_distance_nm": _sig(_wigner_seitz_nm(conc, particle_fg), 8),
            "replicates": [],
        }
        for k, (_, sim) in enumerate([p for p in sims if p[0] == i]):
            # simulate_tube_image ran without compression: the receiver is applied here, with
            # the one table of the whole dataset
            image = sim.image if compressive_receiver is None else compress(sim.image, float(compressive_receiver))
            data = _image_bytes(image, image_format, grid, mdf={
                "tracer": facts["name"], "vendor": facts.get("vendor", "unknown"), "sample": sample,
                "number": k + 1, "volume_uL": volume, "concentration_ug_per_uL": conc})
            rel = f"images/{sample}_r{k + 1}{_EXT[image_format]}"
            write_atomic(out_dir / rel, data)
            shipped = _read_back(data, image_format)
            measured = reference_metrics(shipped, _spacing_as_read(image_format, shape, pixel_size_mm), threshold,
                                         table)
            rep: dict[str, Any] = {}
            for f in fields:
                if measured[f] is not None:
                    rep[f] = measured[f]
            rep["image"] = {"path": rel, "format": image_format, "sha256": hashlib.sha256(data).hexdigest(),
                            "pixel_size_mm": dict(grid)}
            truth = sim.truth
            rep["x-truth"] = {
                "max_intensity": truth["max_intensity"],
                "mean_intensity": truth["mean_intensity"],
                "total_intensity": truth["total_intensity"],
                "roi_area_mm2": truth["roi_area_mm2"],
                "fwhm_mm": truth["fwhm_mm"],
                "roi_pixels": truth["roi_pixels"],
                "threshold": truth["threshold"],
                "integrated_signal": truth["integrated_signal"],
                "fill_height_mm": truth["fill_height_mm"],
            }
            point["replicates"].append(rep)
            for metric in ("max_intensity", "total_intensity", "mean_intensity"):
                if metric in rep:
                    xs, ys = series.setdefault(metric, ([], []))
                    xs.append(point["iron_mass_ug"])
                    ys.append(rep[metric])
        points.append(point)

    # 3. the reported lines: every metric present in every replicate
    n_images = len(masses) * replicates
    fits = []
    if len(set(masses)) >= 2:
        for metric, (xs, ys) in series.items():
            if len(ys) == n_images:
                line = _ols(xs, ys)
                fits.append({"metric": metric, "model": "linear", "slope": _sig(line["slope"]),
                             "intercept": _sig(line["intercept"]), "r_squared": _sig(line["r_squared"]),
                             "through_origin": False, "weighting": "none", "fitted_to": "replicates",
                             "software": {"name": "numpy.polyfit", "version": np.__version__}})

    tracer_obj: dict[str, Any] = {"id": _slug(facts["name"]), "name": facts["name"]}
    for key in ("vendor", "product_code", "core_material"):
        if key in facts:
            tracer_obj[key] = facts[key]
    tracer_obj.update(stock_iron_concentration_ug_per_uL=_sig(conc), stock_concentration_method="icp-oes",
                      particle_model=dict(facts["particle_model"]))
    acquisition: dict[str, Any] = {
        "id": "momentum-hs-2d",
        "scanner": {"manufacturer": "Magnetic Insight", "model": "Momentum (simulated)"},
        "mode": "high_sensitivity",
        "dimensionality": "2d",
        "gradient_T_per_m": 3.0,
        "drive_frequency_kHz": 45.0,
        "drive_amplitude_mT": {"x": 20.0, "z": 26.0},
        "fov_mm": {"x": shape[1] * pixel_size_mm, "z": shape[0] * pixel_size_mm},
        "pixel_size_mm": dict(grid),
        "sample_holder": {"kind": "7-well tube holder", "position": "3"},
    }
    if compressive_receiver is not None:
        acquisition["saturation_level"] = saturation_level
        acquisition["receiver_correction"] = {"images_corrected": False, "method": "lookup_table", "table": table}
    else:
        acquisition["receiver_correction"] = {"images_corrected": True}

    info: dict[str, Any] = {
        "id": name,
        "title": f"Simulated {facts['name']} fixed-concentration calibration (phantom simulator)",
        "description": (
            f"Synthetic. {len(masses)} levels × {replicates} replicates of a {tube_diameter_mm:g} mm flat-bottomed "
            f"tube at {_sig(conc, 6)} µg Fe/µL, 2D images ({psf} PSF, FWHM {psf_fwhm_mm:g} mm, noise SD "
            f"{noise_sd:g}" + (f", compressive receiver s = {compressive_receiver:g}" if compressive_receiver else "")
            + "). Replicate metrics by the reference method; ground truth of the noise-free image under x-truth."),
        "authors": [{"name": "mpistd simulate"}],
        "license": "CC0-1.0",
        "x-simulator": {
            "tool": f"mpistd {__version__} simulate_dataset", "seed": seed, "psf": psf, "psf_fwhm_mm": psf_fwhm_mm,
            "noise_sd": noise_sd, "compressive_receiver": compressive_receiver, "sensitivity": sens,
            "tube_diameter_mm": tube_diameter_mm, "shape_zx": list(shape), "reported_metrics": reported_metrics,
        },
    }
    if created is not None:
        info["created"] = created
    document = {
        "schema_version": "1.0",
        "dataset": info,
        "tracers": [tracer_obj],
        "acquisitions": [acquisition],
        "analysis": {
            "noise": {"method": "empty_holder", "sd": float(noise_sd)},
            "threshold": {"rule": "k_sd", "k": 5},
            "roi": {"method": "threshold_all"},
            "fwhm": {"axis": "x", "model": "lorentzian"},
            "interparticle_distance": {"estimator": "wigner_seitz"},
            "software": {"name": "mpistd simulate (reference method, numpy + scipy curve_fit)", "version": __version__},
        },
        "calibrations": [{
            "id": f"{tracer_obj['id']}-fc",
            "tracer": tracer_obj["id"],
            "acquisition": acquisition["id"],
            "environment": {"kind": "solution", "medium": "water"},
            "method": "fixed_concentration",
            "independent_variable": "iron_mass_ug",
            "points": points,
            **({"fits": fits} if fits else {}),
        }],
    }
    target = out_dir / f"{name}.mpical.json"
    write_atomic(target, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return target


def _solve_tanh_ratio(ratio: float) -> float:
    """u > 0 with tanh(u)/u = ratio (0 < ratio < 1), by bisection."""
    lo, hi = 1e-9, 50.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if math.tanh(mid) / mid > ratio:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
