"""Re-running the image quantification of a dataset (the paper's section 2).

For every replicate (and quantification) that ships an image: read it safely (the path stays
inside the dataset's folder, sha256 checked, size bounded), apply the receiver correction when
the images are raw, take the noise SD, threshold at k·SD, and compute the reference metrics.
Images are read in small batches, so memory does not grow with the dataset; the Lorentzian
fits of a batch are solved together.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from mpistd.config import Options

BATCH = 64
NO_THRESHOLD = sys.float_info.max


def _image_jobs(model: Any) -> Iterator[tuple[str, Any, Any, Any]]:
    """(pointer of the object holding the image, image ref, acquisition) for every image."""
    acq = {a.id: a for a in model.acquisitions}
    for ci, cal in enumerate(model.calibrations):
        for pi, pt in enumerate(cal.points):
            for ri, rep in enumerate(pt.replicates):
                if rep.image is not None:
                    yield f"/calibrations/{ci}/points/{pi}/replicates/{ri}", rep.image, acq.get(cal.acquisition), rep
    for qi, q in enumerate(model.quantifications or []):
        if q.image is not None:
            yield f"/quantifications/{qi}", q.image, acq.get(q.acquisition), q


def _spacing(image_ref: Any, loaded: Any, acquisition: Any) -> dict[str, float] | None:
    # a format that carries its spacing (DICOM tags, MDF field of view) is believed first
    if loaded.spacing_mm:
        return dict(loaded.spacing_mm)
    for axes in (getattr(image_ref, "pixel_size_mm", None), getattr(acquisition, "pixel_size_mm", None)):
        if axes is not None:
            d = {k: float(v) for k, v in axes.model_dump(exclude_none=True).items() if k in ("x", "y", "z")}
            if d:
                return d
    return None


def _correction(acquisition: Any) -> Any:
    from mpistd.quantify.imaging import ReceiverCorrection

    rc = getattr(acquisition, "receiver_correction", None)
    if rc is None or rc.images_corrected is not False or rc.method is None:
        return None
    table = tuple((float(a), float(b)) for a, b in rc.table) if rc.table else None
    coeffs = tuple(float(c) for c in rc.coefficients) if rc.coefficients else None
    return ReceiverCorrection(method=rc.method, table=table, coefficients=coeffs)


def compute_image_results(model: Any, base_dir: Path | None, options: Options, out: Any) -> None:
    from mpistd.quantities import ImageResult

    jobs = list(_image_jobs(model))
    if not jobs:
        return
    analysis = model.analysis
    noise = analysis.noise if analysis is not None else None
    k = analysis.threshold.k if analysis is not None and analysis.threshold is not None and analysis.threshold.k else 5.0
    roi_method = (analysis.roi.method if analysis is not None and analysis.roi is not None else None) or "threshold_all"
    if roi_method == "manual":
        roi_method = "threshold_all"  # a manual ROI cannot be reproduced; metrics that need it are compared as all
    axis = (analysis.fwhm.axis if analysis is not None and analysis.fwhm is not None else None) or "x"
    out.noise_sd = float(noise.sd) if noise is not None and noise.sd is not None else None
    out.threshold = k * out.noise_sd if out.noise_sd is not None else None
    for start in range(0, len(jobs), BATCH):
        _run_batch(jobs[start:start + BATCH], model, base_dir, options, out, noise, k, roi_method, axis, ImageResult)


def _run_batch(batch: list, model: Any, base_dir: Path | None, options: Options, out: Any, noise: Any, k: float,
               roi_method: str, axis: str, ImageResult: type) -> None:
    from mpistd.load.images import ImageError, ReadRequest, load_image
    from mpistd.quantify import imaging

    arrays, spacings, thresholds, pending = [], [], [], []
    for pointer, ref, acquisition, _holder in batch:
        result = ImageResult(pointer=pointer)
        out.images[pointer] = result
        if base_dir is None:
            result.error_kind, result.error = "missing", "no base folder to resolve image paths against"
            continue
        try:
            request = ReadRequest(frame=ref.frame, channel=ref.channel, magnitude=ref.magnitude)
            loaded = load_image(base_dir, ref.path, ref.format, sha256=ref.sha256, max_bytes=options.max_image_bytes,
                                request=request)
        except ImageError as exc:
            result.error_kind, result.error = exc.kind, str(exc)
            continue
        result.file_spacing_mm, result.spacing_source = loaded.spacing_mm, loaded.spacing_source
        result.frames, result.channels, result.frame, result.channel = (loaded.frames, loaded.channels,
                                                                        loaded.frame, loaded.channel)
        result.tracers = loaded.tracers
        image = loaded.array
        # voxels the file excludes (MDF isOverscanRegion) come as NaN; say so rather than "NaN pixels"
        overscan = loaded.mask is not None and not loaded.mask.all()
        other_nan = overscan and not np.isfinite(image[loaded.mask]).all()
        spacing = _spacing(ref, loaded, acquisition)
        if spacing is None:
            result.error_kind, result.error = "format", "no pixel size: give image.pixel_size_mm or acquisition.pixel_size_mm"
            continue
        axes = ("z", "x") if image.ndim == 2 else ("z", "y", "x")
        unusable = [f"no pixel size for axis {a}" for a in axes if a not in spacing]
        if axis not in axes:
            unusable.append(f"the FWHM axis {axis!r} is not an axis of a {image.ndim}D image {axes}")
        if unusable:
            result.error_kind, result.error = "format", f"image {ref.path!r}: " + "; ".join(unusable)
            continue
        try:  # a declaration the image cannot satisfy (table not increasing, background box) is a finding
            correction = _correction(acquisition)
            rc = getattr(acquisition, "receiver_correction", None)
            raw = rc is not None and rc.images_corrected is False
            saturation = getattr(acquisition, "saturation_level", None)
            if raw and correction is None and saturation is not None:
                result.saturated = imaging.count_saturated(image, float(saturation))
            if correction is not None:
                corrected = imaging.apply_receiver_correction(image, correction)
                image, result.out_of_range, result.corrected = corrected.image, corrected.out_of_range, True
            sd = float(noise.sd) if noise is not None and noise.sd is not None else None
            if noise is not None and noise.method == "background_roi" and noise.background_roi is not None:
                roi = noise.background_roi
                sd = imaging.noise_sd_from_background(
                    image, z=tuple(roi.z) if roi.z else None, x=tuple(roi.x) if roi.x else None,
                    y=tuple(roi.y) if getattr(roi, "y", None) else None)
        except ValueError as exc:
            result.error_kind, result.error = "format", f"image {ref.path!r} cannot be analysed as declared: {exc}"
            continue
        # without a noise SD there is no threshold: the ROI metrics are not computed (MPI050
        # reports the gap) but the maximum and the FWHM still are
        threshold = k * sd if sd is not None else None
        result.threshold = threshold
        arrays.append(image)
        spacings.append(spacing)
        thresholds.append(threshold)
        pending.append((result, overscan, other_nan))
    if not arrays:
        return
    # no threshold: one no finite pixel exceeds, so the ROI is empty and only max and FWHM remain
    metrics = imaging.quantify_images(arrays, spacings, threshold=[t if t is not None else NO_THRESHOLD for t in thresholds],
                                      roi_method=roi_method, fwhm_axis=axis)
    for (result, overscan, other_nan), m in zip(pending, metrics):
        if overscan:
            m = dataclasses.replace(m, problems=tuple(p for p in m.problems if p != "nan_pixels" or other_nan)
                                    + ("overscan_excluded",))
        result.metrics = m
