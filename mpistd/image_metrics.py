"""Re-running the image quantification of a dataset (the paper's section 2).

For every replicate (and quantification) that ships an image: read it safely (the path stays
inside the dataset's folder, sha256 checked, size bounded), apply the receiver correction when
the images are raw, take the noise SD, threshold at k·SD, and compute the reference metrics.
Images are read one at a time and dropped once reduced, so memory does not grow with the
dataset (nor with the replicates sharing an image); the Lorentzian fits of a batch, bounded
by the bytes of its profiles, are solved together.

Pixel size: the file's own (DICOM, MDF, TIFF/OME) and the dataset's declared pixel_size_mm
both pass :func:`mpistd.load.images.check_spacing`; where they disagree beyond the
``pixel_size_relative`` tolerance the declared one is used and MPI017 reports it.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any, Iterator

from mpistd.config import Options

#: a batch of Lorentzian fits is closed when its profiles reach this many bytes; images are
#: never held by a batch (each is reduced as it is read, then dropped: ImageBatch)
PROFILE_BUDGET = 8 << 20
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


# ---- pixel size: the file's against the declared one (MPI017) -------------------------------

def declared_spacing(image_ref: Any, acquisition: Any) -> dict[str, float] | None:
    """The dataset's pixel size per axis: the image's pixel_size_mm, else the acquisition's."""
    out: dict[str, float] = {}
    for axes in (getattr(acquisition, "pixel_size_mm", None), getattr(image_ref, "pixel_size_mm", None)):
        if axes is not None:
            out.update({k: float(v) for k, v in axes.model_dump(exclude_none=True).items() if k in ("x", "y", "z")})
    return out or None


def merge_spacing(file_sp: dict[str, float] | None, declared: dict[str, float] | None,
                  rtol: float) -> tuple[dict[str, float] | None, tuple[tuple[str, float, float], ...]]:
    """The pixel size the metrics use, per axis, and the axes where file and dataset disagree.

    Where both state a size and they differ by more than ``rtol`` (relative to the declared),
    the declared value is used and the axis is a conflict (MPI017); where they agree the
    file's value is used; an axis only one of them states takes that one.
    """
    if not file_sp and not declared:
        return None, ()
    used = dict(declared or {})
    conflicts = []
    for axis, fv in (file_sp or {}).items():
        dv = (declared or {}).get(axis)
        if dv is None:
            used[axis] = fv
        elif abs(fv - dv) > rtol * abs(dv):
            conflicts.append((axis, fv, dv))
        else:
            used[axis] = fv
    return used, tuple(conflicts)


def _correction(acquisition: Any) -> Any:
    from mpistd.quantify.imaging import ReceiverCorrection

    rc = getattr(acquisition, "receiver_correction", None)
    if rc is None or rc.images_corrected is not False or rc.method is None:
        return None
    table = tuple((float(a), float(b)) for a, b in rc.table) if rc.table else None
    coeffs = tuple(float(c) for c in rc.coefficients) if rc.coefficients else None
    return ReceiverCorrection(method=rc.method, table=table, coefficients=coeffs)


def compute_image_results(model: Any, base_dir: Path | None, options: Options, out: Any) -> None:
    from mpistd.plain import ImageResult
    from mpistd.quantify import imaging

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
    # Memory (issue 11): one image at a time. Each is read, reduced into the batch (which
    # keeps only its profile) and dropped before the next is read; the batch is bounded by
    # the bytes of its profiles, not by a count of images.
    batch = imaging.ImageBatch(roi_method, axis)
    pending: list[Any] = []
    for pointer, ref, acquisition, _holder in jobs:
        result = ImageResult(pointer=pointer)
        out.images[pointer] = result
        prepared = _prepare(result, ref, acquisition, model, base_dir, options, noise, k, imaging)
        if prepared is None:
            continue
        image, spacing, threshold, mask, axes = prepared
        overscan = mask is not None and not mask.all()
        try:
            batch.add(image, spacing, NO_THRESHOLD if threshold is None else threshold, mask, axes)
        except ValueError as exc:  # pragma: no cover - _prepare checks what _measure refuses
            result.error_kind, result.error = "format", f"image {ref.path!r} cannot be analysed: {exc}"
            continue
        finally:
            del image, mask, prepared
        # voxels the file excludes (MDF isOverscanRegion, mask False) are left out by the
        # metrics; say so ("overscan voxels excluded") rather than "NaN pixels"
        pending.append((result, overscan))
        if batch.profile_bytes >= PROFILE_BUDGET:
            _flush(batch, pending)
            batch, pending = imaging.ImageBatch(roi_method, axis), []
    _flush(batch, pending)


def _flush(batch: Any, pending: list) -> None:
    for (result, overscan), m in zip(pending, batch.results()):
        if overscan:  # the mask's voxels are not "nan_pixels" (the metrics report only NaN in kept voxels)
            m = dataclasses.replace(m, problems=tuple(m.problems) + ("overscan_excluded",))
        result.metrics = m


def _load(ref: Any, base_dir: Path, options: Options) -> Any:
    from mpistd.load.images import ReadRequest, load_image, load_slice_series

    request = ReadRequest(frame=ref.frame, channel=ref.channel, magnitude=ref.magnitude)
    if getattr(ref, "slices", None):
        return load_slice_series(base_dir, ref.path, ref.slices, max_bytes=options.max_image_bytes, request=request)
    return load_image(base_dir, ref.path, ref.format, sha256=ref.sha256, max_bytes=options.max_image_bytes,
                      request=request)


def _prepare(result: Any, ref: Any, acquisition: Any, model: Any, base_dir: Path | None, options: Options,
             noise: Any, k: float, imaging: Any) -> tuple | None:
    """Read one image and make it ready for the metrics; None (with the result's error) if
    it cannot be used."""
    from mpistd.load.images import ImageError, check_spacing

    if base_dir is None:
        result.error_kind, result.error = "missing", "no base folder to resolve image paths against"
        return None
    name = ref.path if ref.path is not None else f"{len(ref.slices or ())} slices"
    try:
        loaded = _load(ref, base_dir, options)
    except ImageError as exc:
        result.error_kind, result.error = exc.kind, str(exc)
        return None
    result.file_spacing_mm, result.spacing_source = loaded.spacing_mm, loaded.spacing_source
    result.frames, result.channels, result.frame, result.channel = (loaded.frames, loaded.channels,
                                                                    loaded.frame, loaded.channel)
    result.tracers = loaded.tracers
    image = loaded.array
    mask = loaded.mask
    # ---- pixel size (MPI014/MPI017): every size, the file's and the declared, passes check_spacing
    declared = declared_spacing(ref, acquisition)
    result.declared_spacing_mm = declared
    axes = loaded.axes or (("z", "x") if image.ndim == 2 else ("z", "y", "x"))
    try:
        declared = check_spacing(declared, f"image {name!r}", "the dataset's pixel_size_mm")
    except ImageError as exc:
        result.error_kind, result.error = exc.kind, str(exc)
        return None
    if loaded.spacing_error is not None:
        covered = declared is not None and all(a in declared for a in axes)
        if not covered:
            result.error_kind, result.error = "format", loaded.spacing_error + (
                "; and the dataset declares no pixel_size_mm to use instead")
            return None
        result.spacing_error = loaded.spacing_error  # MPI017: the declared size stands in
    spacing, result.spacing_conflicts = merge_spacing(loaded.spacing_mm, declared,
                                                      options.tolerances.pixel_size_relative)
    if spacing is not None:
        try:
            spacing = check_spacing({a: spacing[a] for a in axes if a in spacing}, f"image {name!r}",
                                    "the pixel size in use")
        except ImageError as exc:
            result.error_kind, result.error = exc.kind, str(exc)
            return None
    result.spacing_mm = spacing
    if spacing is None:
        result.error_kind, result.error = "format", "no pixel size: give image.pixel_size_mm or acquisition.pixel_size_mm"
        return None
    analysis = model.analysis
    fwhm_axis = (analysis.fwhm.axis if analysis is not None and analysis.fwhm is not None else None) or "x"
    unusable = [f"no pixel size for axis {a}" for a in axes if a not in spacing]
    if fwhm_axis not in axes:
        unusable.append(f"the FWHM axis {fwhm_axis!r} is not an axis of a {image.ndim}D image {axes}")
    if unusable:
        result.error_kind, result.error = "format", f"image {name!r}: " + "; ".join(unusable)
        return None
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
            box = {a: tuple(getattr(roi, a)) if getattr(roi, a, None) else None for a in ("z", "y", "x")}
            if image.ndim == 2:  # rows and columns of a 2D image in any plane (default z, x)
                sd = imaging.noise_sd_from_background(image, z=box[axes[0]], x=box[axes[1]])
            else:
                sd = imaging.noise_sd_from_background(image, z=box["z"], x=box["x"], y=box["y"])
    except ValueError as exc:
        result.error_kind, result.error = "format", f"image {name!r} cannot be analysed as declared: {exc}"
        return None
    # without a noise SD there is no threshold: the ROI metrics are not computed (MPI050
    # reports the gap) but the maximum and the FWHM still are
    threshold = k * sd if sd is not None else None
    result.threshold = threshold
    return image, {a: spacing[a] for a in axes}, threshold, mask, loaded.axes
