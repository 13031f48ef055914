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


def render_pdf(html: str, *, url_fetcher: Any = None, allowed_data_urls: Iterable[str] = (),
               reproducible: bool = False) -> bytes:
    """PDF bytes of a report page (A4, page numbers from the stylesheet).

    ``reproducible``: the same page gives the same bytes. The one varying input is the
    timestamp fontTools writes into each embedded font subset; it honours
    SOURCE_DATE_EPOCH, which is set to 0 for the duration of the call unless the caller
    already set it.
    """
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
