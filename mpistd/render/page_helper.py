"""The CLI's report helper: the page's imports and figures done while the parent validates.

``mpistd report data.mpical.json -o report.html`` spends, besides validation, about as long
again importing matplotlib and jinja2 and drawing the figures, which do not depend on
validation: they are drawn from the numbers the quantities stage computes from the dataset
(the figures' functions never see a finding). The command forks this helper once it has
collected the dataset, before anything else is loaded (no GLib, no threads: see
:mod:`mpistd.render.pdf` on forking after Pango):

1. the helper imports matplotlib and jinja2, compiles the templates and draws a first figure
   (fonts), while the parent starts validating;
2. :func:`prefetch` (the collected file and its options, sent at once): the
   helper reads the dataset as the report step does (:func:`mpistd.render.report.prepare`:
   the same bounded reader, the images not read), recomputes its quantities, plans the
   page's calibration figures and draws them on both cores (:func:`mpistd.render.plots.draw_ahead`);
3. :func:`page` (the validated result, after validation): the helper builds the page as
   :func:`mpistd.render.report.page_source` does in-process, its figures taken from what it
   drew (keyed on every argument of each figure: a figure whose inputs differ is drawn
   again), the image figures drawn first on both cores, and sends back the HTML (for a PDF,
   the PDF's source, which the PDF helper or the parent lays out).

The helper only ever helps: if it cannot start, fails on a step, dies or does not answer
within :data:`HELPER_TIMEOUT`, the parent builds the page itself exactly as without it (and
reports every error as it would). It never reads anything the parent would not (a refused
dataset is never sent; images are read by the image pipeline's own reader, as in-process).
Only where ``fork`` exists, from a process that has not loaded WeasyPrint, and when a core is
spare (:func:`spare_core`; MPISTD_REPORT_HELPER=1 forks it all the same, for benchmarks);
MPISTD_NO_REPORT_HELPER=1 turns it off.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Callable

_HELPER: Any = None  # (process, connection) while a helper runs
HELPER_TIMEOUT = 120.0  # seconds for one page: far beyond any real page, it only catches a hang


def start_helper(build: Callable[..., tuple[str, list[str]]]) -> bool:
    """Fork the report helper (see above); True when one runs. Call :func:`stop_helper` after.

    ``build`` makes a page from :func:`page`'s arguments and ``ahead=True``
    (:func:`mpistd.render.report.page_source`, given by the caller: this module knows no page)."""
    global _HELPER
    import multiprocessing

    if _HELPER is not None:
        return True
    if os.environ.get("MPISTD_NO_REPORT_HELPER") or "fork" not in multiprocessing.get_all_start_methods():
        return False
    if "weasyprint" in sys.modules:  # Pango/GLib loaded here: a fork of this process can hang
        return False
    if not (spare_core() or os.environ.get("MPISTD_REPORT_HELPER")):  # =1: even on a busy machine
        return False
    # what the helper needs and this process's validation imports anyway: imported once, here,
    # rather than in both processes (the helper's path is not longer for it: it needs them too)
    import mpistd.load.documents  # noqa: F401
    import mpistd.quantities  # noqa: F401
    import mpistd.standard.model  # noqa: F401

    from mpistd.render._forked import fork

    _HELPER = fork(_serve, (build,), "mpistd-report")  # None: no process to spare, the parent draws everything
    return _HELPER is not None


def usable_cores() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def spare_core() -> bool:
    """True when a second process would run beside this one: two or more usable CPUs, and a
    load average (one minute) below their number. On a machine whose cores are all busy the
    helper only adds work (it repeats the dataset's reading and its imports), so none is forked."""
    cores = usable_cores()
    if cores < 2:
        return False
    try:
        return os.getloadavg()[0] < cores
    except (AttributeError, OSError):  # pragma: no cover - no load average: assume a free core
        return True


def stop_helper() -> None:
    """End the helper (idempotent)."""
    global _HELPER
    if _HELPER is None:
        return
    from mpistd.render._forked import stop

    process, conn = _HELPER
    _HELPER = None
    # it holds nothing worth finishing (it writes no file): a helper still importing or drawing
    # when the command ends (an error, a usage problem) is not waited for
    stop(process, conn, wait=0.1)


def prefetch(path: Any, options: Any) -> None:
    """Ask the helper to draw the figures of the dataset at ``path`` (validated with ``options``)
    while the parent validates; returns at once."""
    if _HELPER is None:
        return
    try:
        _HELPER[1].send(("prefetch", path, options))
    except (OSError, ValueError):
        stop_helper()


def page(source: Any, meta: Any, fmt: str, image_renders: str) -> tuple[str, list[str]] | None:
    """(HTML, data: URLs) of the page built by the helper, or None (no helper, or it failed:
    build it in-process)."""
    if _HELPER is None:
        return None
    from mpistd.render._forked import ask

    answer = ask(_HELPER, ("page", source, meta, fmt, image_renders), "page", HELPER_TIMEOUT)
    if answer is None:  # a job that does not pickle, a helper gone or stuck: build it here
        stop_helper()
        return None
    return answer[1], answer[2]


def _warm_up() -> None:  # pragma: no cover - runs in the forked helper
    from mpistd.render import html, plots

    html._environment().get_template("report.html.j2")
    html._environment().get_template("_layout.html.j2")
    with plots._figure(1.0, 1.0) as (fig, (ax,)):  # matplotlib's font list and the DejaVu face
        ax.plot([0.0, 1.0], [0.0, 1.0], label="x")
        ax.set_xlabel("x")
        plots._legend_below(fig, [ax])
        plots._to_svg(fig, "warm-up")


def _prefetch(path: Any, options: Any) -> None:  # pragma: no cover - runs in the forked helper
    """Draw the calibration figures of the page as prepare() will recompute it (the images are
    validation's: their figures are drawn at :func:`page` time)."""
    from pathlib import Path

    from mpistd.load.documents import read_document
    from mpistd.quantities import compute_quantities
    from mpistd.render import html, plots
    from mpistd.standard.model import parse_dataset

    path = Path(path)
    doc = read_document(path, max_bytes=options.max_document_bytes)
    model = parse_dataset(doc.data)
    quantities = compute_quantities(model, base_dir=path.parent, options=options.with_(check_images=False))
    plots._plan = []
    try:
        html._calibration_views(quantities, model, [], html._Figures())
        calls = plots._plan
    finally:
        plots._plan = None
    plots._drawn = {**(plots._drawn or {}), **plots.draw_ahead(calls, processes=min(2, usable_cores()))}


def _serve(conn: Any, build: Callable[..., tuple[str, list[str]]]) -> None:  # pragma: no cover - the helper
    import gc

    gc.freeze()  # what it inherited is never collected here (and the collector skips it: faster)
    try:
        _warm_up()
    except BaseException:  # the parent builds the page and reports any error itself
        conn.close()
        return
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            conn.close()
            return
        if job[0] == "prefetch":
            try:
                _prefetch(*job[1:])
            except BaseException:  # noqa: BLE001 - a dataset the report step will judge itself
                pass
            continue
        try:
            source, meta, fmt, image_renders = job[1:]
            html_text, urls = build(source, meta, fmt, image_renders, ahead=True)
            conn.send(("page", html_text, urls))
        except BaseException as exc:  # noqa: BLE001 - reported by the parent's own rendering
            try:
                conn.send(("failed", type(exc).__name__))
            except (OSError, ValueError):
                return
