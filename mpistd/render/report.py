"""The standardized calibration report: the public API behind ``mpistd.report`` and ``mpistd report``.

    report("data.mpical.json")                       -> the HTML page as a string
    report("data.mpical.json", "report.html")        -> writes it (atomically), returns the path
    report("data.mpical.json", "report.pdf")         -> the same page as PDF
    report("datasets/", "site/")                     -> one page per dataset + index.html
    report(mpistd.validate("data.mpical.json"))      -> reuse a validation that already ran

The report shows what validation decided and what the quantities stage computed; it never
decides a verdict. Validation keeps its JSON-ready quantities; the report step re-runs
:func:`~mpistd.quantities.compute_quantities` once per dataset to get the model-level objects
the plots need (``LineFit`` and friends). That re-run skips the images (the expensive part:
reading and fitting every image) and takes the image results from validation instead, and
the recomputed numbers are checked against validation's (a mismatch, e.g. a file edited
between the two steps, is stated on the page).

matplotlib, jinja2 and WeasyPrint are imported only on this code path.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, Mapping, Sequence, TypeAlias, Union

from mpistd.findings import DatasetResult, Report

__all__ = ["report", "render_html", "render_pdf", "write_report", "write_site", "sources_from_jobs",
           "DatasetSource", "prepare", "page_source", "resolve_target", "ReportTargetError"]

FORMATS = ("html", "pdf")
_SUFFIXES = {".html": "html", ".htm": "html", ".xhtml": "html", ".pdf": "pdf"}
_DATASET_SUFFIX = re.compile(r"\.mpical\.(json|ya?ml)$|\.(json|ya?ml)$", re.I)


class ReportTargetError(ValueError):
    """An output target that cannot hold the report (a usage error: exit 2 on the CLI)."""


@dataclass
class DatasetSource:
    """One validated dataset and what is needed to recompute its quantities."""

    result: DatasetResult
    path: Path | None = None  # the dataset file; None for an in-memory mapping
    options: Any = None  # mpistd.config.Options the dataset was validated with
    base_dir: Path | None = None  # where image paths resolve (default: the file's folder)
    data: Mapping[str, Any] | None = None  # the mapping itself, for an in-memory dataset


def render_html(result: DatasetResult, quantities: Any, model: Any, report_meta: Any, **kwargs: Any) -> str:
    """The HTML page of one dataset (see :func:`mpistd.render.html.render_html`)."""
    from mpistd.render.html import render_html as _render

    return _render(result, quantities, model, report_meta, **kwargs)


def render_pdf(html: str, **kwargs: Any) -> bytes:
    """PDF bytes of a report page (see :func:`mpistd.render.pdf.render_pdf`)."""
    from mpistd.render.pdf import render_pdf as _render

    return _render(html, **kwargs)


# ------------------------------------------------------------------------------------ quantities


_IMAGE_KEYS = ("images", "noise_sd", "threshold")


def prepare(source: DatasetSource) -> tuple[Any, Any, list[dict[str, Any]] | None, str | None]:
    """(quantities, model, image results, note) for one dataset; (None, None, None, note) when
    validation did not quantify it (schema or reference errors) or it cannot be read again."""
    from mpistd.config import Options

    result = source.result
    if result.quantities is None:
        return None, None, None, None
    options = source.options or Options()
    data = source.data
    base_dir = source.base_dir
    if data is None:
        if source.path is None:
            return None, None, None, "The dataset file is not available: the page shows the findings only."
        from mpistd.load.documents import DocumentError, DocumentTooLarge, read_document

        try:
            doc = read_document(source.path, max_bytes=options.max_document_bytes)
        except (OSError, DocumentError, DocumentTooLarge) as exc:
            return None, None, None, f"The dataset could not be read again ({exc}): the page shows the findings only."
        if result.sha256 and doc.sha256 != result.sha256:
            return None, None, None, ("The dataset file changed after it was validated: the page shows the "
                                      "findings of the validated version only. Run the report again.")
        data = doc.data
        base_dir = base_dir or source.path.parent
    from mpistd.quantities import compute_quantities
    from mpistd.standard.model import parse_dataset

    model = parse_dataset(data)
    quantities = compute_quantities(model, base_dir=base_dir, options=options.with_(check_images=False))
    validated = {k: v for k, v in result.quantities.items() if k not in _IMAGE_KEYS}
    recomputed = {k: v for k, v in quantities.to_dict().items() if k not in _IMAGE_KEYS}
    note = None
    if validated != recomputed:
        note = ("The quantities recomputed for this report differ from the ones validation judged (were the "
                "options different?): the verdict and findings are validation's.")
    images = list(result.quantities.get("images") or [])
    return quantities, model, images, note


#: images drawn on the page: the first replicate of each level (and each quantification's
#: image), at most this many; every image's metrics are in the table whatever the number
MAX_IMAGE_RENDERS = 24


def image_views(source: DatasetSource, model: Any, images: list[dict[str, Any]] | None,
                limit: int | None = MAX_IMAGE_RENDERS, every: bool = False) -> dict[str, dict[str, Any]]:
    """pointer -> what :func:`mpistd.render.plots.image_plot` draws, for the first image of
    each level: the plane through the maximum, its ROI, the FWHM profile and its Lorentzian.

    Display only. The image is read again by the image pipeline's own reader
    (:func:`mpistd.load.images.load_image`: path confinement, size bound, sha256), corrected as
    the pipeline corrects it, and thresholded at the threshold validation applied; the
    maximum's index is validation's. A file that cannot be read again is simply not drawn
    (its validation result, in the table, says why).
    """
    if model is None or not images:
        return {}
    base_dir = source.base_dir or (source.path.parent if source.path is not None else None)
    if base_dir is None:
        return {}
    import numpy as np

    from mpistd.config import Options
    from mpistd.image_metrics import _correction, _image_jobs, _load, declared_spacing, merge_spacing
    from mpistd.load.images import ImageError
    from mpistd.quantify import imaging

    options = source.options or Options()
    by_pointer = {img.get("pointer"): img for img in images}
    analysis = model.analysis
    axis = (analysis.fwhm.axis if analysis is not None and analysis.fwhm is not None else None) or "x"
    roi_method = (analysis.roi.method if analysis is not None and analysis.roi is not None else None) or "threshold_all"
    views: dict[str, dict[str, Any]] = {}
    for pointer, ref, acquisition, _holder in _image_jobs(model):
        if limit is not None and len(views) >= limit:
            break
        parts = pointer.split("/")
        if not every and parts[1] == "calibrations" and parts[-1] != "0":
            continue  # the first replicate of each level
        img = by_pointer.get(pointer) or {}
        metrics = img.get("metrics") or {}
        if img.get("error_kind") or not metrics.get("max_index"):
            continue
        try:
            loaded = _load(ref, base_dir, options)  # as validation read it (frame, channel, slices)
            # the pixel size validation used: the declared one where the file contradicts it (MPI017)
            spacing, _ = merge_spacing(loaded.spacing_mm, declared_spacing(ref, acquisition),
                                       options.tolerances.pixel_size_relative)
            image = np.asarray(loaded.array, dtype=np.float64)
            if loaded.mask is not None:  # e.g. MDF overscan voxels: never drawn as data
                image = np.where(loaded.mask, image, np.nan)
            correction = _correction(acquisition)
            if correction is not None:
                image = imaging.apply_receiver_correction(image, correction).image
        except (ImageError, ValueError, OSError):
            continue
        if spacing is None:
            continue
        names = tuple(loaded.axes) if loaded.axes else (("z", "x") if image.ndim == 2 else ("z", "y", "x"))
        if names not in (("z", "x"), ("z", "y", "x")):
            continue  # a slice in another plane: drawn only in the (z, x) layout below
        if axis not in names or any(n not in spacing for n in names):
            continue
        index = tuple(int(i) for i in metrics["max_index"])
        if len(index) != image.ndim:
            continue
        threshold = img.get("threshold")
        mask = None
        if threshold is not None:
            mask = image > float(threshold)
            if roi_method == "threshold_connected" and mask[index]:
                box, sub = imaging._connected_roi(mask, index)
                mask = np.zeros_like(mask)
                mask[box] = sub
        across = axis if axis != "z" else "x"  # the plane shown: z against the FWHM axis (or x)
        if image.ndim == 3:
            keep = {"x": (slice(None), index[1], slice(None)), "y": (slice(None), slice(None), index[2])}[across]
            plane = image[keep]
            plane_mask = mask[keep] if mask is not None else None
        else:
            plane, plane_mask = image, mask
        col = names.index(across)
        profile_index = list(index)
        profile_index[names.index(axis)] = slice(None)
        profile = np.asarray(image[tuple(profile_index)], dtype=float)
        positions = (np.arange(profile.size) + 0.5) * float(spacing[axis])
        fit = imaging.fit_lorentzian(positions, profile)
        dz, dc = float(spacing["z"]), float(spacing[across])
        # the window around the sample: the ROI's bounding box (or the FWHM) with as much margin
        # again, so that a small tube in a large field of view is seen
        rows_, cols_ = (np.nonzero(plane_mask) if plane_mask is not None and plane_mask.any()
                        else (np.array([index[0]]), np.array([index[col]])))
        fwhm_px = (2 * abs(fit.gamma) / float(spacing[axis])) if fit.converged and fit.gamma else 4.0
        half_r = max((rows_.max() - rows_.min() + 1), fwhm_px * dc / dz, 8)
        half_c = max((cols_.max() - cols_.min() + 1), fwhm_px, 8)
        r0, r1 = max(0, int(rows_.min() - half_r)), min(plane.shape[0], int(rows_.max() + half_r + 1))
        c0, c1 = max(0, int(cols_.min() - half_c)), min(plane.shape[1], int(cols_.max() + half_c + 1))
        window = plane[r0:r1, c0:c1]
        window_mask = plane_mask[r0:r1, c0:c1] if plane_mask is not None else None
        # at most 160 pixels a side on the page: a stride, never an interpolation of values
        step = max(1, int(np.ceil(max(window.shape) / 160)))
        views[pointer] = {
            "plane": window[::step, ::step], "mask": window_mask[::step, ::step] if window_mask is not None else None,
            "extent": (c0 * dc, c1 * dc, r0 * dz, r1 * dz),
            "max_at": ((index[col] + 0.5) * dc, (index[0] + 0.5) * dz),
            "positions": positions, "profile": profile, "axis": axis,
            "lorentz": (fit.amplitude, fit.center, fit.gamma) if fit.converged else None,
        }
    return views


def page_source(source: DatasetSource, meta: Any, fmt: str = "html", image_renders: str = "first",
                ahead: bool = False) -> tuple[str, list[str]]:
    """(HTML, the data: URLs it holds) of one dataset's page: the page itself for ``fmt`` "html",
    the PDF's source (figures as data: URLs) for "pdf". ``image_renders``: "first" draws the
    first image of each level (at most :data:`MAX_IMAGE_RENDERS`), "all" every image, "none"
    none. ``ahead`` (the report helper only, see :mod:`mpistd.render.page_helper`): the
    figures not drawn yet are drawn first, on both cores."""
    from mpistd.render.html import build_context, render_page

    if image_renders not in ("first", "all", "none"):
        raise ReportTargetError(f"image_renders must be 'first', 'all' or 'none', not {image_renders!r}")
    quantities, model, images, note = prepare(source)
    views = {} if image_renders == "none" else image_views(source, model, images, limit=None if image_renders == "all"
                                                           else MAX_IMAGE_RENDERS, every=image_renders == "all")
    if ahead and views:  # the image figures (the others were drawn while validation ran)
        from mpistd.render import plots

        plots._plan = []
        try:
            build_context(source.result, quantities, model, meta, images=images, note=note, image_views=views)
            calls = [c for c in plots._plan if c[4] not in (plots._drawn or {})]
        finally:
            plots._plan = None
        from mpistd.render.page_helper import usable_cores

        plots._drawn = {**(plots._drawn or {}), **plots.draw_ahead(calls, processes=min(2, usable_cores()))}
    return render_page(source.result, quantities, model, meta, images=images, note=note,
                       figures="data-url" if fmt == "pdf" else "inline", image_views=views)


def render_source(source: DatasetSource, meta: Any, fmt: str = "html", image_renders: str = "first"
                  ) -> str | bytes:
    """The page (HTML text or PDF bytes) of one dataset (see :func:`page_source`); built by the
    CLI's report helper when one runs, else here."""
    from mpistd.render import page_helper

    page = page_helper.page(source, meta, fmt, image_renders)
    html, urls = page if page is not None else page_source(source, meta, fmt, image_renders)
    if fmt != "pdf":
        return html
    return render_pdf(html, allowed_data_urls=urls, reproducible=getattr(meta, "created", None) is None)


def _render_job(args: tuple[DatasetSource, Any, str, str]) -> str | bytes:
    return render_source(*args)


# ------------------------------------------------------------------------------------ targets


def resolve_target(output: str | os.PathLike | None, fmt: str | None) -> tuple[str, str]:
    """(kind, format): kind is "string", "file" or "site" (a folder target)."""
    if fmt is not None and fmt not in FORMATS:
        raise ReportTargetError(f"unknown report format {fmt!r} (use html or pdf)")
    if output is None:
        return "string", fmt or "html"
    text = os.fspath(output)
    path = Path(text)
    if text.endswith(("/", os.sep)) or path.is_dir():
        return "site", fmt or "html"
    suffix_fmt = _SUFFIXES.get(path.suffix.lower())
    if suffix_fmt is not None:
        if fmt is not None and fmt != suffix_fmt:
            raise ReportTargetError(f"{text}: the suffix says {suffix_fmt} but the format asked is {fmt}")
        return "file", suffix_fmt
    if fmt is not None:
        return "file", fmt
    if not path.suffix:
        return "site", "html"
    raise ReportTargetError(f"{text}: cannot tell the format from {path.suffix!r}; use .html, .pdf, a folder "
                            f"(ending in '/') or give the format")


def page_names(results: Sequence[DatasetResult], suffix: str = ".html") -> list[str]:
    """A safe, unique file name per dataset, from its path below the datasets' common folder."""
    paths = [PurePath(r.path) for r in results]
    common = os.path.commonprefix([p.parent.parts for p in paths]) if paths else ()
    names: list[str] = []
    used = {"index"}
    for p in paths:
        parts = list(p.parts[len(common):]) or [p.name]
        parts[-1] = _DATASET_SUFFIX.sub("", parts[-1]) or "dataset"
        parts = ["up" if part == ".." else part for part in parts]
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", "__".join(parts)).strip("._-")[:120] or "dataset"
        name, k = stem, 2
        while name.lower() in used:
            name, k = f"{stem}-{k}", k + 1
        used.add(name.lower())
        names.append(name + suffix)
    return names


def write_site(report_: Report, sources: Sequence[DatasetSource], out_dir: str | os.PathLike, fmt: str = "html",
               jobs: int | None = 1, image_renders: str = "first") -> Path:
    """One page per dataset and an ``index.html`` that links them; returns the index path."""
    from mpistd._atomic import write_atomic
    from mpistd.render.html import ReportMeta, render_index

    folder = Path(out_dir)
    meta = ReportMeta.from_report(report_)
    names = page_names([s.result for s in sources], ".pdf" if fmt == "pdf" else ".html")
    work = [(s, meta, fmt, image_renders) for s in sources]
    n = jobs or os.cpu_count() or 1
    if n > 1 and len(work) >= 4:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # not a plain fork: a process that has drawn PDFs holds Pango/GLib objects and locks, and a
        # forked worker that finalizes one while a lock was held at fork time hangs for ever (seen
        # in the test suite: g_slice_free1 in the worker's garbage collection). Forkserver workers
        # start from a clean interpreter; the jobs are pickled either way.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else None)
        with ProcessPoolExecutor(max_workers=min(n, len(work)), mp_context=context) as pool:
            for name, content in zip(names, pool.map(_render_job, work, chunksize=1)):
                write_atomic(folder / name, content)
    else:
        for name, job in zip(names, work):
            write_atomic(folder / name, _render_job(job))
    index = render_index(report_, [(s.result, name) for s, name in zip(sources, names)])
    from mpistd.render.repository import write_repository_page  # the repository page (issue 18)

    write_repository_page(report_, folder, [(s.result, name) for s, name in zip(sources, names)])
    return write_atomic(folder / "index.html", index)


def write_report(report_: Report, sources: Sequence[DatasetSource], output: str | os.PathLike | None,
                 fmt: str | None = None, *, jobs: int | None = 1, image_renders: str = "first"
                 ) -> str | bytes | Path:
    """Render validated datasets to ``output`` (a file or a folder); the page itself when None."""
    from mpistd.render.html import ReportMeta

    kind, resolved = resolve_target(output, fmt)
    if kind == "site":
        return write_site(report_, sources, output, resolved, jobs, image_renders)  # type: ignore[arg-type]
    if len(sources) != 1:
        raise ReportTargetError(f"{len(sources)} datasets: write them to a folder (an output ending in '/'), "
                                "one page each plus index.html")
    content = render_source(sources[0], ReportMeta.from_report(report_), resolved, image_renders)
    if kind == "string":
        return content
    from mpistd._atomic import write_atomic

    return write_atomic(output, content)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ sources


def sources_from_jobs(report_: Report, jobs: Sequence[Any]) -> list[DatasetSource]:
    """Pair each result with the collected job (path and options) it came from."""
    by_display = {j.display: j for j in jobs}
    out = []
    for r in report_.results:
        job = by_display.get(r.path)
        out.append(DatasetSource(result=r, path=(job.path if job.refusal is None else None) if job  # refused: never read
                                 else (Path(r.path) if Path(r.path).is_file() else None),
                                 options=job.options if job else None))
    return out


def _options(kwargs: Mapping[str, Any]) -> Any:
    from mpistd.config import Options

    opts = kwargs.get("options") or Options()
    if kwargs.get("profile") is not None:
        opts = opts.with_(profile=kwargs["profile"])
    if kwargs.get("strict") is not None:
        opts = opts.with_(strict=kwargs["strict"])
    return opts


def _sources(target: Any, reproducible: bool, kwargs: dict[str, Any]) -> tuple[Report, list[DatasetSource]]:
    from mpistd.pipeline import validate

    if isinstance(target, DatasetResult):
        target = Report(results=[target])
    if isinstance(target, Report):
        opts = _options(kwargs)
        if kwargs.get("profile") is None:
            opts = opts.with_(profile=target.profile)
        if kwargs.get("strict") is None:
            opts = opts.with_(strict=target.strict)
        from mpistd.collect import collect

        config = Path(kwargs["config"]) if kwargs.get("config") else None
        sources = []
        for r in target.results:
            path = Path(r.path)
            if not path.is_file():
                sources.append(DatasetSource(result=r, options=opts))
                continue
            # the options validation used: a configuration found beside the dataset counts
            job = collect([path], opts, config)[0]
            sources.append(DatasetSource(result=r, path=path, options=job.options))
        return target, sources
    if isinstance(target, Mapping):
        opts = _options(kwargs)
        if kwargs.get("config") is not None:
            from mpistd.config import load_config

            opts = load_config(Path(kwargs["config"]), opts)
        rep = validate(target, reproducible=reproducible, **kwargs)
        base_dir = Path(kwargs["base_dir"]) if kwargs.get("base_dir") else None
        return rep, [DatasetSource(result=rep.results[0], options=opts, base_dir=base_dir, data=target)]
    from mpistd.collect import collect

    paths = [target] if isinstance(target, (str, os.PathLike)) else list(target)
    rep = validate(paths, reproducible=reproducible, **kwargs)
    config = kwargs.get("config")
    jobs = collect([Path(p) for p in paths], _options(kwargs), Path(config) if config else None)
    return rep, sources_from_jobs(rep, jobs)


#: what :func:`report` takes: a dataset file or folder, several, an in-memory document, or a validation result
ReportInput: TypeAlias = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]], Mapping[str, Any], Report,
                               DatasetResult]


def report(path_or_report: ReportInput, output: str | os.PathLike[str] | None = None, *, format: str | None = None,
           reproducible: bool = False, image_renders: str = "first", **validate_kwargs: Any) -> str | bytes | Path:
    """Validate and render the standardized calibration report.

    ``path_or_report``: a dataset file, a folder or a list of paths (validated here with
    ``validate_kwargs``: profile, strict, config, options, base_dir), an in-memory mapping
    (give ``base_dir`` for its images), or a :class:`~mpistd.findings.Report` /
    :class:`~mpistd.findings.DatasetResult` that :func:`mpistd.validate` returned.

    ``output`` None returns the page: HTML text (or PDF bytes with ``format="pdf"``); a file
    name writes HTML or PDF by its suffix (or ``format``) atomically and returns the path; a
    folder (an existing directory or a name ending in '/') gets one page per dataset and an
    ``index.html``, whose path is returned. ``reproducible`` leaves the time out, so the same
    input gives the same bytes. Raises what :func:`mpistd.validate` raises for a missing path
    or a bad configuration, and :class:`ReportTargetError` (a ValueError) for an output that
    cannot hold the report (several datasets into one file, an unknown format).
    ``image_renders``: "first" (default) draws the first image of each level, "all" every
    image (the rest on request), "none" only the metrics tables.
    """
    resolve_target(output, format)  # a bad target fails before any work is done
    if image_renders not in ("first", "all", "none"):
        raise ReportTargetError(f"image_renders must be 'first', 'all' or 'none', not {image_renders!r}")
    rep, sources = _sources(path_or_report, reproducible, dict(validate_kwargs))
    if reproducible and rep.created is not None:
        import dataclasses

        rep = dataclasses.replace(rep, created=None)
    return write_report(rep, sources, output, format, jobs=1, image_renders=image_renders)
