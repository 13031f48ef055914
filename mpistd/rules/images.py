"""The replicate images and the metrics taken from them: MPI013–MPI017 and MPI019.

The paper's metrics come from images by a fixed recipe (section 2): correct the receiver's
saturation, threshold at five times the noise SD, take the ROI of every voxel above it,
maximum = the highest voxel, total = mean × ROI area, FWHM = the Lorentzian fit of the
profile along x through the maximum. A dataset that ships its images can be re-measured:
:mod:`mpistd.image_metrics` reads each image safely and recomputes the metrics once
(``ctx.quantities.images``, one :class:`~mpistd.quantities.ImageResult` per replicate or
quantification pointer); the rules here only compare and report.

An image over the size limit is MPI005 (a structure rule, emitted by the pipeline), not
MPI014.
"""
from __future__ import annotations

from typing import Any, Iterator

from mpistd.rules._format import metric_name, num
from mpistd.rules.registry import Hit, RuleContext, rule

FAMILY = "images"
PAPER = "Ureña Horno et al. 2025, section 2"

#: the replicate fields recomputed from an image, and which of them need the ROI (threshold)
ROI_FIELDS = ("mean_intensity", "total_intensity", "roi_area_mm2", "roi_volume_mm3")
COMPARED = ("max_intensity", "total_intensity", "mean_intensity", "roi_area_mm2", "roi_volume_mm3", "fwhm_mm")
#: ImageError kinds that are MPI014 (too_large is MPI005)
LOAD_ERRORS = ("escape", "missing", "unreadable", "sha256", "format")
_UNITS = {"roi_area_mm2": " mm²", "roi_volume_mm3": " mm³", "fwhm_mm": " mm"}
_PROBLEMS = {
    "all_nan": "the image has no finite pixel: no metric can be computed",
    "empty_roi": "no pixel is above the threshold (empty ROI): mean, total and ROI area/volume are undefined",
    "fwhm_no_peak": "the profile through the maximum has no positive peak: no FWHM",
    "fwhm_too_few_points": "the profile through the maximum has fewer than 3 finite points: no FWHM",
    "fwhm_not_converged": "the Lorentzian fit of the profile through the maximum did not converge: no FWHM",
    "spacing_overflow": "the pixel size is so large that an area, volume, total or FWHM in mm overflows: "
                        "that metric is not computed",
}


def _images(ctx: RuleContext) -> Iterator[tuple[str, Any, Any, Any]]:
    """(pointer of the object holding the image, that object, its acquisition, ImageResult)."""
    results = getattr(ctx.quantities, "images", None) or {}
    if not results:
        return
    acquisitions = {a.id: a for a in ctx.model.acquisitions}
    for ci, cal in enumerate(ctx.model.calibrations):
        for pi, pt in enumerate(cal.points):
            for ri, rep in enumerate(pt.replicates):
                pointer = f"/calibrations/{ci}/points/{pi}/replicates/{ri}"
                if rep.image is not None and pointer in results:
                    yield pointer, rep, acquisitions.get(cal.acquisition), results[pointer]
    for qi, q in enumerate(ctx.model.quantifications or []):
        pointer = f"/quantifications/{qi}"
        if q.image is not None and pointer in results:
            yield pointer, q, acquisitions.get(q.acquisition), results[pointer]


def _name(image: Any) -> str:
    """How a message names an image: its path, or for a 1.1 slice series without a folder path
    the number of slices and the first one."""
    if image.path is not None:
        return image.path
    slices = image.slices or ()
    return f"{len(slices)} slices from {slices[0].path}" if slices else "?"


def _path_pointer(pointer: str, holder: Any) -> str:
    """Where a load finding points: the image's path, or its slices when it has no path."""
    return f"{pointer}/image/path" if holder.image.path is not None else f"{pointer}/image/slices"


def _what_was_applied(ctx: RuleContext, result: Any, acquisition: Any) -> str:
    """Receiver correction and threshold, as applied to this image (for messages)."""
    rc = getattr(acquisition, "receiver_correction", None)
    if result.corrected:
        corr = f"receiver correction applied ({rc.method.replace('_', ' ')})"
    elif rc is None:
        corr = "no receiver correction declared, none applied"
    elif rc.images_corrected is False:
        corr = "raw images but no correction method declared, none applied"
    else:
        corr = "images declared already corrected, no receiver correction applied"
    if result.threshold is None:
        thr = "no threshold (no noise SD)"
    else:
        analysis = ctx.model.analysis
        k = analysis.threshold.k if analysis is not None and analysis.threshold is not None else None
        thr = f"threshold T = {num(result.threshold)} (k = {num(float(k) if k else 5.0)} × noise SD)"
    nan = ""
    m = result.metrics
    if m is not None and "nan_pixels" in m.problems:
        nan = "; the image has non-finite (NaN) pixels, left out of every metric"
    if m is not None and "overscan_excluded" in m.problems:
        nan += "; overscan voxels excluded (MDF /reconstruction/isOverscanRegion) from every metric"
    return f"{corr}, {thr}{nan}"


def _relative(reported: float, recomputed: float) -> float:
    if recomputed == 0:
        return 0.0 if reported == 0 else float("inf")
    return abs(reported - recomputed) / abs(recomputed)


def _apart(rel: float, spec: str) -> str:
    """A relative difference as a percentage for a message ("∞" when the reference is 0)."""
    return "∞" if rel == float("inf") else f"{rel * 100:{spec}} %"


@rule(
    "MPI013", severity="error", family=FAMILY, pointer="the replicate's metric value",
    title="reported metric differs from the one recomputed from its image",
    rationale="The paper defines every metric by a recipe applied to the image (section 2): receiver-"
              "saturation correction, a threshold of 5 × the noise SD, an ROI of all voxels above it, "
              "maximum = the highest voxel, total = mean signal in the ROI × ROI area, FWHM of a Lorentzian "
              "fitted along x through the maximum. Re-running that recipe on the shipped image must give the "
              "reported number (tolerance 1 %, FWHM 5 %); otherwise the image, the number or the analysis "
              "differs from what the dataset declares.",
    remedy="Recompute the metric from the image with the declared receiver correction, noise SD, threshold k, "
           "ROI method and FWHM axis (analysis section), or correct those declarations to what was actually "
           "done; make sure the image is the one the number came from.",
    sources=(f"{PAPER} (ROI analysis; Quantification of sensitivity and resolution)",
             "STANDARD.md, Image metrics, the reference method"),
)
def metrics_match_images(ctx: RuleContext) -> Iterator[Hit]:
    t = ctx.options.tolerances
    for pointer, holder, acquisition, result in _images(ctx):
        m = result.metrics
        if result.error_kind is not None or m is None or not pointer.startswith("/calibrations/"):
            continue
        for field in COMPARED:
            reported = getattr(holder, field, None)
            recomputed = getattr(m, field, None)
            if reported is None or recomputed is None:
                continue  # a metric that cannot be recomputed is MPI016's business
            if field in ROI_FIELDS and result.threshold is None:
                continue  # no noise SD, no threshold: the ROI of the reference method is unknown
            tol = t.fwhm_relative if field == "fwhm_mm" else t.metric_relative
            rel = _relative(float(reported), float(recomputed))
            if rel > tol:
                unit = _UNITS.get(field, "")
                diff = _apart(rel, ".2f")
                yield Hit(f"{pointer}/{field}",
                          f"reported {metric_name(field)} {num(float(reported), 6)}{unit} differs from "
                          f"{num(float(recomputed), 6)}{unit} recomputed from image '{_name(holder.image)}' by {diff} "
                          f"(tolerance {tol * 100:g} %); {_what_was_applied(ctx, result, acquisition)}")


@rule(
    "MPI014", severity="error", family=FAMILY, pointer="the replicate's image path",
    title="image missing, unreadable, outside the dataset folder, or with a wrong sha256",
    rationale="A metric whose image cannot be read cannot be checked against the paper's recipe "
              f"({PAPER}). Images are read only inside the dataset's folder (a path leaving it, directly or "
              "through a symlink, is refused before anything is opened) and must match their declared "
              "sha256, so that the image checked is the image reported.",
    remedy="Ship the image beside the dataset at the relative path given (inside the dataset's folder), in "
           "the declared format with a pixel size, and record its current sha256 (sha256sum FILE).",
    sources=("STANDARD.md, Replicate.image", "SECURITY.md"),
)
def images_readable(ctx: RuleContext) -> Iterator[Hit]:
    for pointer, holder, _acquisition, result in _images(ctx):
        if result.error_kind in LOAD_ERRORS:
            kind = {"escape": "outside the dataset's folder", "missing": "missing", "unreadable": "unreadable",
                    "sha256": "sha256 mismatch", "format": "wrong or unusable format"}[result.error_kind]
            yield Hit(_path_pointer(pointer, holder), f"image cannot be used ({kind}): {result.error}")


@rule(
    "MPI015", severity="error", family=FAMILY, pointer="the replicate's image",
    title="saturated raw image without correction, or pixels outside the correction table",
    rationale="The receiver is non-linear at high SPION concentration; the paper measured a calibration "
              f"function and corrected every image for detector saturation before any metric ({PAPER}, "
              "Correcting measured images for detector saturation). Raw pixels above the saturation level "
              "without a correction, or outside the measured range of the correction table, give metrics "
              "that are not proportional to iron.",
    remedy="Declare the receiver correction (acquisition.receiver_correction method and table or "
           "coefficients) for raw images, extend the correction table over the measured range, or reduce "
           "the iron in the sample so that the receiver stays linear.",
    sources=(f"{PAPER} and Fig. S2", "STANDARD.md, Acquisition.receiver_correction"),
)
def receiver_saturation(ctx: RuleContext) -> Iterator[Hit]:
    for pointer, holder, acquisition, result in _images(ctx):
        if result.error_kind is not None:
            continue
        parts = []
        if result.saturated > 0:
            level = getattr(acquisition, "saturation_level", None)
            parts.append(f"{result.saturated} pixel{'s' if result.saturated != 1 else ''} above the saturation "
                         f"level {num(level)} in a raw image (images_corrected false) with no correction method")
        if result.out_of_range > 0:
            rc = acquisition.receiver_correction
            lo, hi = rc.table[0][0], rc.table[-1][0]
            parts.append(f"{result.out_of_range} pixel{'s' if result.out_of_range != 1 else ''} outside the "
                         f"correction table's measured range [{num(lo)}, {num(hi)}] (clipped to its ends)")
        if parts:
            yield Hit(f"{pointer}/image", f"image '{_name(holder.image)}': " + "; ".join(parts))


@rule(
    "MPI016", severity="warning", family=FAMILY, pointer="the replicate's image",
    title="a metric cannot be computed from the image",
    rationale=f"The paper's metrics need an ROI of voxels above 5 × the noise SD and a Lorentzian fit of the "
              f"profile through the maximum ({PAPER}); an image with no pixel above the threshold, no finite "
              "pixel, or a profile the fit cannot follow yields no number, and mpistd says so rather than "
              "report NaN.",
    remedy="Check the image (empty holder? wrong file? all NaN?), the noise SD and k of the threshold, and "
           "the FWHM axis; a sample below the detection limit belongs outside the calibrated range.",
    sources=(PAPER, "STANDARD.md, Image metrics, the reference method"),
)
def metrics_computable(ctx: RuleContext) -> Iterator[Hit]:
    for pointer, holder, acquisition, result in _images(ctx):
        m = result.metrics
        if result.error_kind is not None or m is None:
            continue
        reasons = []
        for p in m.problems:
            if p == "empty_roi" and result.threshold is None:
                continue  # no threshold known: no ROI was asked for (MPI050 reports the gap)
            if p in _PROBLEMS:
                reasons.append(_PROBLEMS[p] if p != "empty_roi" else
                               f"no pixel is above the threshold (empty ROI, maximum {num(m.max_intensity)}): "
                               "mean, total and ROI area/volume are undefined")
        if reasons:
            yield Hit(f"{pointer}/image", f"image '{_name(holder.image)}': " + "; ".join(reasons)
                      + f" ({_what_was_applied(ctx, result, acquisition)})")


# ---- MPI017: the image file's own metadata against the dataset (images-dicom) ------------------

#: 1 mg Fe/mL = 1 g/L ÷ 55.845 g/mol (IUPAC standard atomic weight of Fe) = 17.91 mmol/L
FE_MMOL_PER_L_PER_MG_PER_ML = 1000.0 / 55.845
_AXIS_NAMES = ("x", "y", "z")


def _imaged(ctx: RuleContext) -> Iterator[tuple[str, Any, Any, Any, Any, Any]]:
    """(pointer, holder, acquisition, result, tracer, point or None) for every image read."""
    results = getattr(ctx.quantities, "images", None) or {}
    if not results:
        return
    acquisitions = {a.id: a for a in ctx.model.acquisitions}
    tracers = {t.id: t for t in ctx.model.tracers}
    for ci, cal in enumerate(ctx.model.calibrations):
        for pi, pt in enumerate(cal.points):
            for ri, rep in enumerate(pt.replicates):
                pointer = f"/calibrations/{ci}/points/{pi}/replicates/{ri}"
                if rep.image is not None and pointer in results:
                    yield (pointer, rep, acquisitions.get(cal.acquisition), results[pointer],
                           tracers.get(cal.tracer), (pt, cal))
    for qi, q in enumerate(ctx.model.quantifications or []):
        pointer = f"/quantifications/{qi}"
        if q.image is not None and pointer in results:
            yield pointer, q, acquisitions.get(q.acquisition), results[pointer], tracers.get(q.tracer), None


def _mm(v: float) -> str:
    return f"{num(v, 6)} mm"


def _where_declared(holder: Any, axis: str) -> str:
    img = getattr(holder.image, "pixel_size_mm", None)
    if img is not None and getattr(img, axis, None) is not None:
        return "image.pixel_size_mm"
    return "acquisition.pixel_size_mm"


@rule(
    "MPI017", severity="error", family=FAMILY, pointer="the replicate's image",
    title="the image file's own metadata contradicts the dataset (pixel size, tracer concentration)",
    rationale="Every area, volume, total and FWHM in mm scales with the pixel size, so a pixel size declared "
              "in the dataset that the image file itself contradicts (DICOM PixelSpacing, MDF fieldOfView/size, "
              "TIFF resolution in cm or inch, OME PhysicalSize) makes one of the two wrong, silently. Likewise "
              "an MDF file's /tracer records the concentration that was imaged (MDF v2, Tracer group); one that "
              f"contradicts the point's reported concentration names another sample. The paper's metrics ({PAPER}) "
              "are only reproducible when file and dataset agree (pixel size within 1 %, concentration within the "
              "iron-mass tolerance). mpistd uses the declared pixel size for the metrics and reports the "
              "contradiction.",
    remedy="Correct the dataset's pixel_size_mm (image or acquisition) or the file's header so that they agree; "
           "for /tracer, check that the image is the sample of this point and its concentration and solute are "
           "right.",
    sources=("DICOM PS3.3 C.7.6.2 (Image Plane), C.7.6.16.2.1 (Pixel Measures)",
             "MagneticParticleImaging/MDF, specification/MDF.tex: reconstruction fieldOfView, Tracer",
             "TIFF 6.0 section 8 (ResolutionUnit)", "OME-XML schema, Pixels PhysicalSize"),
)
def file_metadata_matches(ctx: RuleContext) -> Iterator[Hit]:
    rtol = ctx.options.tolerances.pixel_size_relative
    ctol = ctx.options.tolerances.iron_mass_relative
    for pointer, holder, _acquisition, result, tracer, imaged in _imaged(ctx):
        path = _name(holder.image)
        source = result.spacing_source or "the file"
        if result.spacing_error is not None and result.error_kind is None:
            used = ", ".join(f"{a} = {_mm(v)}" for a, v in sorted((result.spacing_mm or {}).items()))
            yield Hit(f"{pointer}/image", f"{result.spacing_error}; the declared pixel size "
                                          f"({used}) was used instead")
        for axis, file_mm, declared_mm in result.spacing_conflicts:
            rel = abs(file_mm - declared_mm) / abs(declared_mm)
            yield Hit(f"{pointer}/image",
                      f"image '{path}': {source} gives a pixel size of {_mm(file_mm)} along {axis}, the dataset's "
                      f"{_where_declared(holder, axis)} {_mm(declared_mm)} ({rel * 100:.3g} % apart, tolerance "
                      f"{rtol * 100:g} %); the declared {_mm(declared_mm)} was used for the metrics")
        if not result.tracers or tracer is None or imaged is None:
            continue
        point, cal = imaged
        match = [t for t in result.tracers if t.name is not None
                 and t.name.strip().casefold() == str(tracer.name).strip().casefold()]
        if not match:
            continue
        entry = match[0]
        reported = point.concentration(getattr(cal, "final_volume_uL", None))
        if entry.concentration_mol_per_L is None or reported is None:
            continue
        solute = (entry.solute or "").strip()
        file_text = f"{num(entry.concentration_mol_per_L, 6)} mol/L of {solute or 'an unnamed solute'}"
        if solute.casefold() != "fe":
            yield Hit(f"{pointer}/image",
                      f"image '{path}': its /tracer entry '{entry.name}' gives {file_text}, the point reports "
                      f"{num(reported, 6)} µg/µL of iron: not comparable (only a solute of Fe converts, "
                      "1 mg Fe/mL = 17.91 mmol/L)")
            continue
        expected = reported * FE_MMOL_PER_L_PER_MG_PER_ML / 1000.0  # µg/µL = mg/mL -> mol/L
        rel = _relative(entry.concentration_mol_per_L, expected)
        if rel > ctol:
            diff = _apart(rel, ".3g")
            yield Hit(f"{pointer}/image",
                      f"image '{path}': its /tracer entry '{entry.name}' gives {file_text}; the point reports "
                      f"{num(reported, 6)} µg/µL of iron = {num(expected, 6)} mol/L of Fe (1 mg Fe/mL = "
                      f"17.91 mmol/L), {diff} apart (tolerance {ctol * 100:g} %)")


# ---- MPI019: the reader library is not installed (issue 16; images-dicom) ----------------------

@rule(
    "MPI019", severity="error", family=FAMILY, pointer="the replicate's image path",
    title="the image's reader library is not installed (an environment problem, exit 2)",
    rationale="Reading TIFF, DICOM and MDF images needs tifffile, pydicom and h5py, the optional extra "
              "mpistd[images]. Without them nothing can be said about the image, and saying it is bad data "
              "(MPI014) would blame the dataset for the machine; so the finding names the install command and "
              "the run exits 2 (an environment problem) after writing all its outputs.",
    remedy="pip install 'mpistd[images]' (or mpistd[all]) in the environment that runs mpistd.",
    sources=("docs/decisions.md, missing reader libraries",),
)
def reader_installed(ctx: RuleContext) -> Iterator[Hit]:
    for pointer, holder, _acquisition, result in _images(ctx):
        if result.error_kind == "reader_missing":
            yield Hit(_path_pointer(pointer, holder), f"image cannot be read here: {result.error}")


# ------------------------------------------------------------------------------------------------ MPI018
# (MDF frames and channels; MPI017 and MPI019 are their own blocks)

@rule(
    "MPI018", severity="warning", family=FAMILY, pointer="the replicate's image",
    title="the image file holds several frames or channels and the dataset names none",
    rationale="An MDF reconstruction holds Q frames and S channels (MDF.tex, Reconstruction Results: data is "
              "Q × P × S); a multi-frame DICOM image may hold several temporal frames. The metrics come from one "
              "of them. When the dataset does not say which (image.frame, image.channel, standard 1.1), mpistd "
              "takes the first (frame 0, channel 0), which may not be the one the reported numbers came from.",
    remedy="Name the frame and channel the metrics were taken from in the image reference (\"frame\": N, "
           "\"channel\": N, counted from 0; standard 1.1), or ship a file that holds only that image.",
    sources=("STANDARD.md, Replicate.image (frame, channel)",
             "MDF.tex (MagneticParticleImaging/MDF), Reconstruction Results"),
)
def frame_and_channel_named(ctx: RuleContext) -> Iterator[Hit]:
    for pointer, holder, _acquisition, result in _images(ctx):
        if result.error_kind is not None:
            continue
        ref = holder.image
        parts = []
        if result.frames > 1 and getattr(ref, "frame", None) is None:
            parts.append(f"{result.frames} frames (frame {result.frame} was used)")
        if result.channels > 1 and getattr(ref, "channel", None) is None:
            parts.append(f"{result.channels} channels (channel {result.channel} was used)")
        if parts:
            yield Hit(f"{pointer}/image", f"image '{_name(ref)}' holds " + " and ".join(parts)
                      + " and the dataset names none; set image.frame / image.channel to the one the metrics "
                        "came from")
