"""The HTML/PDF report of a hostile dataset: every dataset string escaped, nothing executed,
nothing fetched.

The page must show hostile strings (HTML, ``<script>``, ``</style>``, CSS ``url(…)``, jinja
``{{ }}`` / ``{% %}``) as the text they are, carry no script, no event handler, no reference
to anything but its own anchors and inline ``data:`` images, keep dataset text out of
``<style>``, and forbid fetches by its Content-Security-Policy. The PDF renderer fetches
nothing but the report's own ``data:`` figures: its URL fetcher refuses ``http:``,
``file:`` and everything else, which a local server and a canary file confirm.
"""
from __future__ import annotations

import io
import json
import socket
import threading
from pathlib import Path

import pytest

from corpus import HOSTILE_STRINGS, hostile_document, base_document, yaml_text
from htmlaudit import assert_inert, audit, is_page_name

report_mod = pytest.importorskip("mpistd.render.report", reason="the report module is not there yet")

def _write(folder: Path, doc: dict, name: str = "hostile.mpical.json", yaml: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml_text(doc) if yaml else json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------ HTML


@pytest.mark.parametrize("yaml", [False, True], ids=["json", "yaml"])
def test_hostile_strings_are_shown_as_text(tmp_path: Path, yaml: bool) -> None:
    doc, strings = hostile_document()
    path = _write(tmp_path, doc, "hostile.mpical.yaml" if yaml else "hostile.mpical.json", yaml=yaml)
    page = report_mod.report(path, reproducible=True)
    a = assert_inert(page)
    text = "".join(a.text)
    for s in (doc["dataset"]["title"], doc["tracers"][0]["name"], doc["quantifications"][0]["sample_id"],
              doc["calibrations"][0]["points"][0]["sample_id"], doc["calibrations"][0]["points"][5]["sample_id"]):
        assert s in text, f"{s!r} is not shown as text"
    # jinja syntax in data is data: shown literally, never evaluated
    assert "{{ 7*7 }}" in text and "{% for x in range(9) %}loop{% endfor %}" in text
    assert "looploop" not in page
    # the title of the page is the dataset's, escaped
    assert doc["dataset"]["title"] in "".join(audit(page).text)


def test_hostile_strings_in_findings_messages_and_pointers(tmp_path: Path) -> None:
    """A document that fails the schema: messages quote the bad values and keys, pointers name
    the hostile keys; the findings-only page escapes all of it."""
    doc = base_document()
    doc["acquisitions"][0]["mode"] = HOSTILE_STRINGS[0]  # not an enum value: quoted in the message
    doc["tracers"][0][HOSTILE_STRINGS[1]] = HOSTILE_STRINGS[2]  # unexpected key: in the pointer
    doc["dataset"]["id"] = HOSTILE_STRINGS[8]  # not an identifier
    path = _write(tmp_path, doc)
    page = report_mod.report(path, reproducible=True)
    a = assert_inert(page)
    text = "".join(a.text)
    assert "MPI002" in text
    assert "evil.example" not in "".join(a.style_text)


def test_hostile_image_paths_and_errors(tmp_path: Path) -> None:
    """An image path with markup (missing: MPI014) and one that escapes the folder."""
    doc = base_document()
    doc["quantifications"][0]["image"] = {"path": "<img src=x onerror=alert(1)>.npy", "format": "npy"}
    doc["calibrations"][0]["points"][0]["replicates"][0]["image"] = {"path": "../</style><script>x</script>.npy",
                                                                      "format": "npy"}
    path = _write(tmp_path / "d", doc)
    page = report_mod.report(path, reproducible=True)
    a = assert_inert(page)
    assert "MPI014" in "".join(a.text)


def test_an_unreadable_document_renders_its_finding(tmp_path: Path) -> None:
    path = tmp_path / "bad.mpical.json"
    path.write_bytes(b'{"title": "<script>alert(1)</script>", NaN}')
    page = report_mod.report(path, reproducible=True)
    a = assert_inert(page)
    assert "MPI001" in "".join(a.text)


def test_a_site_with_hostile_file_names(tmp_path: Path) -> None:
    """File names are dataset input too: the index escapes them and links only safe page names."""
    doc, _ = hostile_document()
    src = tmp_path / "in"
    for name in ('"><img src=x onerror=alert(1)>.mpical.json', "javascript:alert(1).mpical.json",
                 "{{ 7*7 }}.mpical.json", "plain.mpical.json"):
        _write(src, doc, name)
    out = tmp_path / "site"
    index = report_mod.report(src, f"{out}/", reproducible=True)
    pages = sorted(p for p in out.iterdir() if p.is_file())
    assert len(pages) == 5
    # and the repository page (mpistd/render/repository.py), in a folder of its own
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["repository"]
    assert [p.name for p in (out / "repository").iterdir()] == ["index.html"]
    repository_page = out / "repository" / "index.html"
    for p in pages:
        assert p.resolve().parent == out.resolve()  # no page written outside the site folder
        assert_inert(p.read_text(encoding="utf-8"))
    # its links go up one level, to the site's pages (checked below); otherwise the same audit
    assert_inert(repository_page.read_text(encoding="utf-8").replace('href="../', 'href="'))
    a = audit(Path(index).read_text(encoding="utf-8"))
    hrefs = [v for t, k, v in a.attrs if t == "a" and k == "href"]
    assert hrefs and all(is_page_name(h) or h.startswith("#") for h in hrefs), hrefs
    a = audit(repository_page.read_text(encoding="utf-8"))
    hrefs = [v for t, k, v in a.attrs if t == "a" and k == "href"]
    assert hrefs and all(h.startswith("../") and is_page_name(h[3:]) for h in hrefs), hrefs


# ------------------------------------------------------------------------------------ PDF


@pytest.fixture()
def listener():
    """A local TCP server that records every connection (it must get none)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    hits: list[tuple] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, addr = server.accept()
            except (socket.timeout, OSError):
                continue
            hits.append(addr)
            conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield server.getsockname()[1], hits
    stop.set()
    t.join(2)
    server.close()


def test_the_pdf_fetcher_refuses_everything_but_its_own_data_urls() -> None:
    pytest.importorskip("weasyprint")
    from mpistd.render.pdf import make_url_fetcher

    own = "data:image/svg+xml;base64,PHN2Zy8+"
    fetcher = make_url_fetcher([own])
    assert fetcher.fetch(own) is not None
    for url in ("http://127.0.0.1:1/x", "https://example.org/a.css", "file:///etc/passwd", "ftp://x/y",
                "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+", "data:text/css,body{}", "x.png",
                "//evil.example/x", "about:blank", "javascript:alert(1)"):
        with pytest.raises(Exception):
            fetcher.fetch(url)
    assert make_url_fetcher(["http://evil.example/x"]).allowed == frozenset()  # only data: may be allowed


def test_the_pdf_renderer_fetches_nothing_even_from_hostile_html(tmp_path: Path, listener) -> None:
    """Bypass the escaping on purpose: raw HTML that asks for a server, a file and a stylesheet."""
    pytest.importorskip("weasyprint")
    from mpistd.render.pdf import make_url_fetcher, render_pdf

    port, hits = listener
    canary = tmp_path / "canary.css"
    canary.write_text("body { color: red }")
    base = f"http://127.0.0.1:{port}"
    html = (f'<html><head><link rel="stylesheet" href="{base}/a.css"><link rel="stylesheet" href="file://{canary}">'
            f'<style>@import url("{base}/b.css"); body {{ background: url({base}/c.png) }}</style></head>'
            f'<body><img src="{base}/d.png"><img src="file://{canary}"><img src="relative.png">'
            f'<object data="{base}/e"></object><iframe src="{base}/f"></iframe><p>text</p></body></html>')
    fetcher = make_url_fetcher()
    pdf = render_pdf(html, url_fetcher=fetcher)
    assert pdf.startswith(b"%PDF")
    assert hits == [], "the renderer connected to the network"
    # the renderer did ask (so the refusals are what kept it off the network and the disk)
    assert any(f"127.0.0.1:{port}" in u for u in fetcher.requested), fetcher.requested
    assert any(u.startswith("file://") for u in fetcher.requested), fetcher.requested


def test_the_pdf_report_fetches_only_its_own_figures(tmp_path: Path, monkeypatch, listener) -> None:
    pytest.importorskip("weasyprint")
    pytest.importorskip("pypdf")
    import mpistd.render.pdf as pdf_mod

    port, hits = listener
    made = []
    real = pdf_mod.make_url_fetcher

    def recording(*args, **kwargs):
        f = real(*args, **kwargs)
        made.append(f)
        return f

    monkeypatch.setattr(pdf_mod, "make_url_fetcher", recording)
    doc, _ = hostile_document()
    doc["dataset"]["description"] = f"<img src='http://127.0.0.1:{port}/x'> url(http://127.0.0.1:{port}/y)"
    path = _write(tmp_path, doc)
    pdf = report_mod.report(path, format="pdf", reproducible=True)
    assert pdf[:4] == b"%PDF"
    assert hits == []
    assert made, "the PDF was rendered without the refusing fetcher"
    for f in made:
        assert all(u in f.allowed and u.startswith("data:") for u in f.requested), f.requested
    from pypdf import PdfReader

    text = "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "mpistd-xss" in text  # the hostile title is printed as text
