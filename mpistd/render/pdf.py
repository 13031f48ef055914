"""The report as PDF: the same self-contained HTML, laid out by WeasyPrint, fetching nothing.

The page carries its CSS and its figures inline, so the PDF needs no resource at all. The
URL fetcher makes that a guarantee rather than a hope: it refuses (raises for) every URL,
``file:`` and ``http:`` included, except the ``data:`` URLs that the report itself put into
the page (none today: the figures are inline SVG), and ``base_url`` is None, so a relative
reference resolves to nothing. A dataset string is escaped text and can never become a
reference, but if a future template slipped, the fetcher would still refuse it. Every URL
asked for is recorded in ``requested`` for tests and audits.

WeasyPrint is imported only here, inside the functions: ``import mpistd`` and
``mpistd validate`` never load it.
"""
from __future__ import annotations

from typing import Any, Iterable


class FetchRefused(ValueError):
    """A URL the report's PDF renderer will not fetch."""


def make_url_fetcher(allowed_data_urls: Iterable[str] = ()) -> Any:
    """A WeasyPrint URL fetcher that refuses every URL but the given ``data:`` URLs."""
    from mpistd._environment import import_weasyprint

    import_weasyprint()  # a missing Pango is an environment problem (exit 2), named as such
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    allowed = frozenset(u for u in allowed_data_urls if u.startswith("data:"))

    class RefusingURLFetcher(URLFetcher):
        """Fetches nothing from any network or file system; see the module docstring."""

        def __init__(self) -> None:
            super().__init__(timeout=1, allowed_protocols=("data",), allow_redirects=False, fail_on_errors=False)
            self.requested: list[str] = []
            self.allowed = allowed

        def fetch(self, url: str, headers: Any = None) -> Any:
            self.requested.append(url)
            if url not in self.allowed:
                raise FetchRefused(f"the report fetches nothing: refused {url[:80]!r}")
            import base64
            from urllib.parse import unquote_to_bytes

            head, _, payload = url[len("data:"):].partition(",")
            mime, _, encoding = head.partition(";")
            body = base64.b64decode(payload) if encoding.endswith("base64") else unquote_to_bytes(payload)
            return URLFetcherResponse(url, body, {"Content-Type": mime or "text/plain"})

    return RefusingURLFetcher()


# ------------------------------------------------------------------------- the PDF helper process
#
# Importing WeasyPrint costs ~0.4 s on a 2-core machine (cffi parses Pango's C declarations,
# the CSS machinery loads), a third of what the layout itself costs for a 7-page report. The
# CLI, which knows from the start that it will write a PDF, forks a helper before it
# validates: the helper imports WeasyPrint and loads the fonts while the parent validates and
# draws the figures, then lays out the page the parent sends it. The helper only ever helps:
# if it cannot import WeasyPrint, dies, or fails on a page, the parent renders in-process,
# where every error (a missing Pango, a missing extra) is raised and reported as without it.
# It fetches nothing either (the same refusing fetcher, built in the helper). Only where
# ``fork`` exists (Linux; not macOS' default spawn, not Windows); MPISTD_NO_PDF_HELPER=1 turns
# it off. A helper that does not answer within HELPER_TIMEOUT (a fork that inherited a held
# Pango/GLib lock from a process that had already drawn PDFs can hang) is given up on.

_HELPER: Any = None  # (process, connection) while a helper runs
HELPER_TIMEOUT = 120.0  # seconds for one page: ~10× the longest real layout, it only catches a hang
#: every URL the helper's fetcher was asked for (the audit ``requested`` gives in-process)
helper_requested: list[str] = []


def start_helper() -> bool:
    """Fork the PDF helper (see above); True when one runs. Call :func:`stop_helper` after."""
    global _HELPER
    import multiprocessing
    import os

    if _HELPER is not None:
        return True
    if os.environ.get("MPISTD_NO_PDF_HELPER") or "fork" not in multiprocessing.get_all_start_methods():
        return False
    from mpistd.render._forked import fork

    _HELPER = fork(_serve, (), "mpistd-pdf")  # None: no process to spare, render in-process
    return _HELPER is not None


def stop_helper() -> None:
    """End the helper (idempotent)."""
    global _HELPER
    if _HELPER is None:
        return
    from mpistd.render._forked import stop

    process, conn = _HELPER
    _HELPER = None
    stop(process, conn, wait=5)  # a helper stuck in a layout is killed after 5 s


def _serve(conn: Any) -> None:  # pragma: no cover - runs in the forked helper
    try:
        from mpistd._environment import import_weasyprint

        import_weasyprint()
        # fonts: fontconfig's cache and Pango's font map, loaded once by a one-line page
        render_pdf("<p>mpistd</p>", reproducible=True)
    except BaseException:  # the parent renders in-process and reports the error itself
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
        html, urls, reproducible = job
        try:
            fetcher = make_url_fetcher(urls)
            pdf = render_pdf(html, url_fetcher=fetcher, reproducible=reproducible)
            conn.send(("pdf", pdf, list(getattr(fetcher, "requested", ()))))
        except BaseException as exc:  # noqa: BLE001 - reported by the parent's own rendering
            try:
                conn.send(("failed", type(exc).__name__))
            except (OSError, ValueError):
                return


def _by_helper(html: str, urls: Iterable[str], reproducible: bool) -> bytes | None:
    """The PDF laid out by the helper, or None (no helper, or it failed: render in-process)."""
    from mpistd.render._forked import ask

    if _HELPER is None:
        return None
    answer = ask(_HELPER, (html, list(urls), reproducible), "pdf", HELPER_TIMEOUT)
    if answer is None:  # a helper gone, or one that hangs (it never hangs the run): render here
        stop_helper()
        return None
    helper_requested.extend(answer[2])
    return answer[1]


def render_pdf(html: str, *, url_fetcher: Any = None, allowed_data_urls: Iterable[str] = (),
               reproducible: bool = False) -> bytes:
    """PDF bytes of a report page (A4, page numbers from the stylesheet).

    ``reproducible``: the same page gives the same bytes. The one varying input is the
    timestamp fontTools writes into each embedded font subset; it honours
    SOURCE_DATE_EPOCH, which is set to 0 for the duration of the call unless the caller
    already set it.

    Laid out by the CLI's helper process when one runs (and no fetcher is given), else here.
    """
    if url_fetcher is None and _HELPER is not None:
        allowed_data_urls = list(allowed_data_urls)
        done = _by_helper(html, allowed_data_urls, reproducible)
        if done is not None:
            return done
    import logging
    import os

    from mpistd._environment import import_weasyprint

    HTML = import_weasyprint().HTML
    fetcher = url_fetcher if url_fetcher is not None else make_url_fetcher(allowed_data_urls)
    # WeasyPrint logs every CSS property it does not support as a warning; the report's
    # stylesheet is shared with browsers, so those messages are noise for a CLI user
    logger = logging.getLogger("weasyprint")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    pinned = reproducible and "SOURCE_DATE_EPOCH" not in os.environ
    if pinned:
        os.environ["SOURCE_DATE_EPOCH"] = "0"
    try:
        document = HTML(string=html, base_url=None, url_fetcher=fetcher, media_type="print")
        return document.write_pdf()
    finally:
        logger.setLevel(previous)
        if pinned:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
