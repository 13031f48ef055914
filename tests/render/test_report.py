"""The standardized calibration report: HTML and PDF, one dataset or a site.

The heavy renders (a dataset with every section, as HTML and as PDF) are made once per
module and shared. PDF rendering is slow (WeasyPrint), but every example and corpus dataset
renders to PDF in the default run.
"""
from __future__ import annotations

import copy
import hashlib
import io
import json
import re
import socket
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import mpistd
from mpistd.cli import cli
from mpistd.findings import DatasetResult, Finding, Report, Severity
from mpistd.render import pdf as pdf_module
from mpistd.render.report import DatasetSource, ReportTargetError, page_names, prepare, report

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reference_data"
CLEAN = REFERENCE / "conformance" / "clean.mpical.json"
DATASET_GLOBS = ("*.mpical.json", "*.mpical.yaml", "*.mpical.yml")

HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_SAMPLE = "{{ 7*7 }} </style>"
HOSTILE_IMG = '<img src="http://example.com/x.png">'
HOSTILE_CSS = "body { background: url(http://example.com/y.png) }"


# ------------------------------------------------------------------------------------ datasets


def _clean() -> dict:
    return json.loads(CLEAN.read_text(encoding="utf-8"))


def rich_document(folder: Path) -> dict:
    """Every section: a reported fit, a paired fixed-volume series (Fig. 4, 5), a cellular
    iron-mass series beside the solution line (Fig. 1), a cell-number series, two
    quantifications and a series whose replicates ship images (one reported value off)."""
    from mpistd.quantify.simulate import simulate_tube_image

    doc = _clean()
    fc = doc["calibrations"][0]
    for i, p in enumerate(fc["points"]):
        for j, r in enumerate(p["replicates"]):
            r["fwhm_mm"] = round(6.9 + 0.02 * i + 0.05 * j, 3)
    fv_points = []
    for i, p in enumerate(fc["points"]):
        m = p["iron_mass_ug"]
        loss = 0.10 * (1 - m / 20.0 / 1.55)  # more dilute, less signal (the paper's Fig. 4)
        fv_points.append({"sample_id": f"FV-{i + 1}", "iron_mass_ug": m, "iron_mass_method": "icp-oes",
                          "replicates": [{"max_intensity": round(r["max_intensity"] * (1 - loss), 3),
                                          "fwhm_mm": round(7.0 + 0.1 * i + 0.05 * j, 3)}
                                         for j, r in enumerate(p["replicates"])]})
    doc["calibrations"].append({
        "id": "promag-fv", "tracer": "promag", "acquisition": "hs-2d",
        "environment": {"kind": "solution", "medium": "water"}, "method": "fixed_volume",
        "final_volume_uL": 20.0, "paired_with": "promag-fc", "independent_variable": "iron_mass_ug",
        "points": fv_points,
    })
    rng = np.random.default_rng(3)
    cells_env = {"kind": "cells", "medium": "HBSS", "cell_type": "MSC",
                 "labelling": {"iron_concentration_ug_per_mL": 15.5, "duration_h": 2},
                 "labelling_efficiency_percent": {"mean": 96.6, "sd": 1.1}, "viability_percent": 95}
    cell_points = []
    for i, m in enumerate([0.5, 1.0, 2.0, 4.0, 8.0]):
        y = (212.0 * m + 14.0) * (0.7 - 0.01 * i)  # ~30 % less than in solution
        cell_points.append({
            "sample_id": f"C-{i + 1}", "iron_mass_ug": m, "iron_mass_method": "icp-oes",
            "cell_count": int(25000 * 2 ** i), "volume_uL": 100.0,
            "replicates": [{"max_intensity": round(float(y + rng.normal(0, 6)), 3),
                            "fwhm_mm": round(7.7 + 0.05 * j, 3)} for j in range(3)],
        })
    doc["calibrations"].append({"id": "promag-cells-fe", "tracer": "promag", "acquisition": "hs-2d",
                                "environment": cells_env, "method": "other",
                                "independent_variable": "iron_mass_ug", "points": cell_points})
    doc["calibrations"].append({
        "id": "promag-cells-n", "tracer": "promag", "acquisition": "hs-2d", "environment": copy.deepcopy(cells_env),
        "method": "cell_number", "independent_variable": "cell_count",
        "points": [{"sample_id": f"N-{i + 1}", "cell_count": p["cell_count"],
                    "replicates": copy.deepcopy(p["replicates"])} for i, p in enumerate(cell_points)],
    })
    doc["quantifications"].append({
        "id": "graft-1", "sample_id": "G1", "tracer": "promag", "acquisition": "hs-2d",
        "environment": copy.deepcopy(cells_env), "calibration": "promag-cells-n", "metric": "max_intensity",
        "signal": [610.0, 625.0, 618.0], "reported": {"cell_count": 215000},
    })
    (folder / "images").mkdir(parents=True, exist_ok=True)
    img_points = []
    for i, m in enumerate([1.0, 2.0, 3.0, 4.0, 5.0]):
        sim = simulate_tube_image(iron_mass_ug=m, volume_uL=10.0, shape=(120, 64), noise_sd=2.0, rng=10 + i,
                                  sensitivity=2000.0, with_truth=False)
        buf = io.BytesIO()
        np.save(buf, sim.image.astype(np.float64))
        raw = buf.getvalue()
        name = f"images/img-{i + 1}.npy"
        (folder / name).write_bytes(raw)
        peak = float(sim.image.max())
        img_points.append({"sample_id": f"IMG-{i + 1}", "iron_mass_ug": m, "iron_mass_method": "icp-oes",
                           "volume_uL": 10.0, "replicates": [{
                               "max_intensity": round(peak * (1.05 if i == 2 else 1.0), 6),
                               "image": {"path": name, "format": "npy", "sha256": hashlib.sha256(raw).hexdigest()}}]})
    doc["calibrations"].append({"id": "promag-images", "tracer": "promag", "acquisition": "hs-2d",
                                "environment": {"kind": "solution", "medium": "water"},
                                "method": "fixed_concentration", "independent_variable": "iron_mass_ug",
                                "points": img_points})
    return doc


def hostile_document() -> dict:
    """Markup, template syntax and URLs in every free-text field a report shows."""
    doc = _clean()
    doc["dataset"]["title"] = HOSTILE_TITLE
    doc["dataset"]["description"] = f"{HOSTILE_IMG} {HOSTILE_CSS} <style>{HOSTILE_CSS}</style>"
    doc["dataset"]["references"] = ["javascript:alert(1)", "http://example.com/paper"]
    doc["tracers"][0]["name"] = f"ProMag {HOSTILE_IMG}"
    doc["tracers"][0]["vendor"] = "<a href='http://example.com'>vendor</a>"
    doc["calibrations"][0]["environment"]["medium"] = "<iframe src='http://example.com'></iframe>"
    point = doc["calibrations"][0]["points"][0]
    point["sample_id"] = HOSTILE_SAMPLE
    point["replicates"] = point["replicates"][:1]  # MPI012 quotes the sample id in its message
    doc["quantifications"][0]["sample_id"] = "</td></tr></table><script>alert(2)</script>"
    return doc


def _write(folder: Path, name: str, doc: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _datasets(sub: str) -> list[Path]:
    folder = REFERENCE / sub
    if not folder.is_dir():
        return []
    return sorted({p for g in DATASET_GLOBS for p in folder.rglob(g)})


@pytest.fixture(scope="module")
def rich(tmp_path_factory) -> dict:
    """The rich dataset rendered once: its path, HTML and PDF."""
    folder = tmp_path_factory.mktemp("rich")
    path = _write(folder, "rich.mpical.json", rich_document(folder))
    validated = mpistd.validate(path)
    html = report(validated, reproducible=True)
    pdf_path = report(validated, folder / "rich.pdf")
    return {"path": path, "html": html, "pdf": pdf_path, "validated": validated}


# ------------------------------------------------------------------------------------ helpers


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    text = "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
    return " ".join(text.split())


def _printed(html: str, key: str) -> list[str]:
    return re.findall(rf'data-q="{key}">([^<]+)<', html)


def _not_blank(path: Path, page: int = 0) -> tuple[float, float]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        pixels = doc[page].render(scale=1).to_numpy()
    finally:
        doc.close()
    grey = pixels[..., :3].astype(float).mean(axis=-1)
    return float((grey < 245).mean()), float(grey.std())


# ------------------------------------------------------------------------------------ reference data


@pytest.fixture(autouse=True)
def _slow_only_when_asked(request: pytest.FixtureRequest) -> None:
    """Tests marked slow run only when asked for (``-m slow``), so the default run stays short."""
    if request.node.get_closest_marker("slow") and "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("slow: run with -m slow")


def _split(paths: list[Path], default: int) -> tuple[list[Path], list[Path]]:
    """An evenly spread sample of ``default`` paths for the default run, and the rest."""
    if len(paths) <= default:
        return paths, []
    step = len(paths) / default
    sample = sorted({paths[int(i * step)] for i in range(default)})
    return sample, [p for p in paths if p not in set(sample)]


def _site(paths: list[Path], out: Path) -> None:
    """Render ``paths`` as a site with the CLI; check exit code, index and every page."""
    result = CliRunner().invoke(cli, ["report", *map(str, paths), "-o", f"{out}/", "-j", "2", "--reproducible"])
    validated = mpistd.validate(paths)
    assert result.exit_code == int(validated.exit_code), result.output
    index = (out / "index.html").read_text(encoding="utf-8")
    names = page_names(validated.results)
    assert sorted(re.findall(r'<a href="([^"#]+)"', index)) == sorted(names)
    assert sorted(p.name for p in out.glob("*.html") if p.name != "index.html") == sorted(names)
    for r, name in zip(validated.results, names):
        page = (out / name).read_text(encoding="utf-8")
        assert f'id="verdict">{r.verdict()}<' in page, name
        for f in r.findings:
            assert f'data-rule="{f.rule}"' in page, (name, f.rule)
        assert "<script" not in page.lower()
        assert f"{r.verdict()}</span>" in index


def test_examples_and_corpus_render_html(tmp_path: Path) -> None:
    """Every example and (a sample of up to 10 of) the corpus: one page each, verdict and rules shown."""
    paths = _datasets("examples") + _split(_datasets("corpus"), 10)[0]
    if not paths:
        pytest.skip("no examples or corpus yet")
    _site(paths, tmp_path / "site")


@pytest.mark.slow
def test_rest_of_corpus_renders_html(tmp_path: Path) -> None:
    rest = _split(_datasets("corpus"), 10)[1]
    if not rest:
        pytest.skip("the default run rendered the whole corpus")
    _site(rest, tmp_path / "site")


def test_conformance_vectors_render_html_as_a_site(tmp_path: Path) -> None:
    """Every conformance vector (valid or not) gets a page; index.html links them all."""
    vectors = _datasets("conformance")
    assert vectors
    _site(vectors, tmp_path / "site")


def _example_pdf_params() -> list:
    # every example and every corpus dataset renders to PDF in the default run (issue: "Reports
    # for every example and corpus dataset render to HTML and PDF in the tests")
    datasets = sorted(_datasets("examples") + _datasets("corpus"), key=lambda p: (p.stat().st_size, str(p)))
    return [pytest.param(p, id=str(p.relative_to(REFERENCE))) for p in datasets]


@pytest.mark.parametrize("path", _example_pdf_params())
def test_example_renders_pdf(path: Path, tmp_path: Path) -> None:
    out = report(path, tmp_path / "report.pdf")
    assert out.read_bytes()[:5] == b"%PDF-"
    result = mpistd.validate(path).results[0]
    text = _pdf_text(out)
    assert result.verdict() in text
    for f in result.findings:
        assert f.rule in text
    dark, spread = _not_blank(out)
    assert dark > 0.02 and spread > 10


# ------------------------------------------------------------------------------------ contents


def test_rich_report_has_every_section(rich: dict) -> None:
    html = rich["html"]
    for anchor in ("summary", "findings", "cal-0", "cal-1", "cal-4", "dilution", "environment", "quantifications",
                   "images", "provenance"):
        assert f'id="{anchor}"' in html, anchor
    result = rich["validated"].results[0]
    assert f'id="verdict">{result.verdict()}<' in html
    for rule in {f.rule for f in result.findings}:
        assert f'data-rule="{rule}"' in html
    # figures: calibration lines, Fig. 4, Fig. 5, Fig. 1 overlays; each inline and labelled with units
    assert html.count("<svg") >= 8
    for label in ("iron mass (µg Fe)", "cell count (cells)", "dilution ratio c(FC) / c(FV)",
                  "interparticle distance", "95 % prediction band", "LOD ", "LOQ ", "solution: line"):
        assert label in html, label
    # the reported-vs-recomputed table shows the reported fit and the recomputed one
    assert _printed(html, "slope")[0] == "212" and _printed(html, "intercept")[0] == "14"
    # quantifications: estimates and intervals
    assert len(_printed(html, "estimate")) == 2 and "(95 %)" in html
    # images: reported vs recomputed, the 5 % offset flagged by the finding that points at it
    assert "images/img-3.npy" in html and "recomputed" in html


def test_report_reads_validation_and_recomputes_nothing_new(rich: dict) -> None:
    """The quantities the report re-derives equal validation's (images aside)."""
    result = rich["validated"].results[0]
    quantities, model, images, note = prepare(DatasetSource(result=result, path=rich["path"]))
    assert note is None
    assert images == result.quantities["images"] and len(images) == 5
    assert model.dataset.id == "clean-base"
    assert len(quantities.calibrations) == 5


def test_verdict_comes_from_the_dataset_result() -> None:
    """A finding injected into the result changes the banner: the renderer decides nothing."""
    from mpistd.render.html import render_html

    result = DatasetResult(path="x.mpical.json", title="t", findings=[
        Finding("MPI012", Severity.WARNING, "only two <b>replicates</b>", "/calibrations/0/points/0")])
    html = render_html(result, None, None, Report(results=[result]))
    assert 'id="verdict">conformant with warnings<' in html and "only two &lt;b&gt;replicates&lt;/b&gt;" in html
    result.findings.append(Finding("MPI010", Severity.ERROR, "m ≠ c·V", "/calibrations/0/points/1"))
    assert 'id="verdict">not conformant<' in render_html(result, None, None, {"strict": True})


def test_structurally_invalid_dataset_shows_its_findings_only() -> None:
    html = report(REFERENCE / "conformance" / "MPI002-fires.mpical.json")
    assert 'id="verdict">not conformant<' in html and 'data-rule="MPI002"' in html
    assert "Not computed" in html and "<svg" not in html


def test_suppressed_findings_are_listed_with_source_and_reason(tmp_path: Path) -> None:
    doc = _clean()
    doc["calibrations"][0]["points"][0]["replicates"] = doc["calibrations"][0]["points"][0]["replicates"][:2]
    doc["calibrations"][0]["x-mpistd-ignore"] = [{"rule": "MPI012", "reason": "tube <lost> in transit"}]
    html = report(_write(tmp_path, "s.mpical.json", doc))
    assert 'id="suppressed"' not in html  # a table, not a section
    assert "Suppressed (1)" in html and "inline" in html and "tube &lt;lost&gt; in transit" in html


def test_prediction_band_uses_the_fits_own_numbers() -> None:
    from mpistd.quantify.calibration import fit_line
    from mpistd.render.plots import prediction_band

    x = np.repeat([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3)
    y = 10.0 + 5.0 * x + np.tile([-0.5, 0.1, 0.4], 6)
    fit = fit_line(x, y)
    lower, upper = prediction_band(fit, x, [fit.x_mean, 0.0])
    t_16 = 2.119905299  # t(16, 0.975)
    half = t_16 * fit.residual_sd * np.sqrt(1 + 1 / fit.n)
    assert (upper[0] - lower[0]) / 2 == pytest.approx(half, rel=1e-7)
    assert (upper[1] - lower[1]) / 2 > half  # wider away from x̄
    weighted = fit_line(x, y, weighting="1/x")
    lo_w, hi_w = prediction_band(weighted, x, [1.0, 6.0])
    assert (hi_w[1] - lo_w[1]) > (hi_w[0] - lo_w[0])  # 1/x weights: variance grows with x


def test_svg_ids_are_unique_and_plots_leave_matplotlib_state_alone(rich: dict) -> None:
    import matplotlib

    ids = re.findall(r'\bid="([^"]+)"', rich["html"])
    assert len(ids) == len(set(ids))
    def settings() -> dict:  # read without resolving the backend (that would import pyplot)
        return {k: dict.__getitem__(matplotlib.rcParams, k) for k in matplotlib.rcParams if k != "backend"}

    before = settings()
    report(rich["path"])
    assert settings() == before
    assert "matplotlib.pyplot" not in sys.modules
    assert "<dc:date>" not in rich["html"] and "<metadata>" not in rich["html"]


# ------------------------------------------------------------------------------------ PDF


def test_pdf_text_has_verdict_rules_and_the_printed_fit(rich: dict) -> None:
    text = _pdf_text(rich["pdf"])
    result = rich["validated"].results[0]
    assert result.verdict() in text
    for f in result.findings:
        assert f.rule in text
    html = rich["html"]
    slopes, intercepts = _printed(html, "slope"), _printed(html, "intercept")
    assert len(slopes) >= 5
    for value in slopes + intercepts:
        assert value in text, value


def test_pdf_pages_are_not_blank(rich: dict) -> None:
    for page in (0, 3):
        dark, spread = _not_blank(rich["pdf"], page)
        assert dark > 0.02, (page, dark)
        assert spread > 10, (page, spread)


# ------------------------------------------------------------------------------------ safety


def test_dataset_strings_are_inert_html(tmp_path: Path) -> None:
    path = _write(tmp_path, "hostile.mpical.json", hostile_document())
    html = report(path)
    lowered = html.lower()
    assert "<script" not in lowered and "<iframe" not in lowered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" in html  # shown as text, never evaluated
    assert "{{ 7*7 }} &lt;/style&gt;" in html
    tags = _tags(html)
    names = {t for t, _ in tags}
    assert {"script", "iframe", "img", "object", "embed", "link", "base"}.isdisjoint(names)
    for tag, attrs in tags:
        for key, value in attrs.items():
            assert "example.com" not in (value or ""), (tag, key, value)
            assert not (value or "").lower().startswith("javascript:"), (tag, key, value)
    # only our own stylesheet and the figures' <style> blocks close a style element
    body = re.sub(r"<svg.*?</svg>", "", html, flags=re.S)
    assert body.count("</style>") == 1
    assert body.index("</style>") < body.index("<body>")


def test_rendering_is_offline_and_fetches_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    requested: list[str] = []
    real = pdf_module.make_url_fetcher

    def spying(allowed_data_urls=()):  # noqa: ANN001
        fetcher = real(allowed_data_urls)
        original = fetcher.fetch

        def fetch(url, headers=None):  # noqa: ANN001
            requested.append(url)
            return original(url, headers)

        fetcher.fetch = fetch
        return fetcher

    monkeypatch.setattr(pdf_module, "make_url_fetcher", spying)
    path = _write(tmp_path, "hostile.mpical.json", hostile_document())
    html = report(path)
    assert "http://example.com" in html  # as escaped text
    # the CLI lays the PDF out in its forked helper (which inherits these patches: a network
    # attempt there fails the helper, and the in-process fallback fails the test) and, with
    # MPISTD_NO_PDF_HELPER=1, in-process; each path reports the URLs its fetcher was asked for
    monkeypatch.setattr(pdf_module, "helper_requested", [])
    for helper in (True, False):
        if not helper:
            monkeypatch.setenv("MPISTD_NO_PDF_HELPER", "1")
        out = tmp_path / f"hostile-{helper}"  # no suffix: the format comes from --format
        result = CliRunner().invoke(cli, ["report", str(path), "-o", str(out), "--format", "pdf"])
        assert result.exit_code in (0, 1), result.output
        assert out.read_bytes()[:5] == b"%PDF-"
        asked = pdf_module.helper_requested if helper else requested
        assert asked, "the PDF's figures are data: URLs the report made"
        assert all(u.startswith("data:image/svg+xml;base64,") for u in asked), asked
        assert HOSTILE_TITLE in _pdf_text(out)  # the text, shown literally
    assert pdf_module._HELPER is None  # the CLI ended its helper


def test_url_fetcher_refuses_everything_but_the_reports_own_data_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", no_network)
    own = "data:text/plain;base64,aGk="
    fetcher = pdf_module.make_url_fetcher([own])
    assert fetcher(own).read() == b"hi"
    for url in ("http://example.com/x.png", "https://example.com/", "file:///etc/passwd", "data:text/plain,other",
                "ftp://example.com/x"):
        with pytest.raises(pdf_module.FetchRefused):
            fetcher(url)
    assert fetcher.requested[-1] == "ftp://example.com/x"
    # a page that does reference the network still renders, without it
    page = ('<html><head><link rel="stylesheet" href="http://example.com/s.css"><style>@import '
            'url(http://example.com/t.css); p { background: url(http://example.com/u.png) }</style></head>'
            '<body><p>x</p><img src="http://example.com/x.png"><img src="/etc/hostname"></body></html>')
    spy = pdf_module.make_url_fetcher()
    assert pdf_module.render_pdf(page, url_fetcher=spy)[:5] == b"%PDF-"
    assert any("example.com" in u for u in spy.requested)


# ------------------------------------------------------------------------------------ API and CLI


def test_reproducible_html_is_byte_identical(tmp_path: Path, rich: dict) -> None:
    assert report(rich["path"], reproducible=True) == rich["html"]
    assert "generated" not in rich["html"]
    assert "generated" in report(CLEAN)
    runner = CliRunner()
    outs = []
    for name in ("a.html", "b.html"):
        result = runner.invoke(cli, ["report", str(CLEAN), "-o", str(tmp_path / name), "--reproducible"])
        assert result.exit_code == 0, result.output
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1]


def test_reproducible_pdf_is_byte_identical() -> None:
    small = REFERENCE / "conformance" / "MPI002-fires.mpical.json"  # findings only: a quick PDF
    first = report(small, format="pdf", reproducible=True)
    assert first[:5] == b"%PDF-"
    assert report(small, format="pdf", reproducible=True) == first


def test_api_writes_files_atomically_and_accepts_a_validated_report(tmp_path: Path) -> None:
    out = report(CLEAN, tmp_path / "deep" / "r.html", reproducible=True)
    assert out == tmp_path / "deep" / "r.html" and out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not list((tmp_path / "deep").glob("*.part"))
    validated = mpistd.validate(CLEAN, reproducible=True)
    assert report(validated, reproducible=True) == out.read_text(encoding="utf-8")
    assert mpistd.report is report
    with pytest.raises(ReportTargetError):
        report([CLEAN, REFERENCE / "conformance" / "MPI002-fires.mpical.json"], tmp_path / "one.html")
    with pytest.raises(ReportTargetError):
        report(CLEAN, tmp_path / "r.txt")
    with pytest.raises(ReportTargetError):
        report(CLEAN, tmp_path / "r.html", format="pdf")


def test_api_renders_an_in_memory_mapping() -> None:
    html = report(_clean(), reproducible=True)
    assert 'id="verdict">conformant<' in html and "<svg" in html


def test_page_names_are_safe_and_unique() -> None:
    results = [DatasetResult(path=p) for p in ("a/x.mpical.json", "b/x.mpical.json", "a/../<evil>.mpical.yaml",
                                               "index.mpical.json")]
    names = page_names(results)
    assert len(set(names)) == 4 and "index.html" not in names
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+\.html", n) for n in names)


def test_cli_site_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    good = tmp_path / "good"
    for name in ("one", "two"):
        _write(good, f"{name}.mpical.json", _clean())
    result = runner.invoke(cli, ["report", str(good), "-o", str(tmp_path / "site-ok") + "/", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "site-ok").glob("*.html"))) == 3
    bad = tmp_path / "bad"
    _write(bad, "clean.mpical.json", _clean())
    broken = _clean()
    broken["calibrations"][0]["points"][0]["iron_mass_ug"] = 9.0  # ≠ c·V: MPI010, an error
    _write(bad, "broken.mpical.json", broken)
    result = runner.invoke(cli, ["report", str(bad), "-o", str(tmp_path / "site-bad") + "/", "-j", "1"])
    assert result.exit_code == 1, result.output
    index = (tmp_path / "site-bad" / "index.html").read_text(encoding="utf-8")
    assert '<a href="broken.html">' in index and '<a href="clean.html">' in index
    assert "not conformant</span>" in index and 'data-rule="MPI010"' in (tmp_path / "site-bad" / "broken.html"
                                                                      ).read_text(encoding="utf-8")
    result = runner.invoke(cli, ["report", str(tmp_path / "missing"), "-o", str(tmp_path / "x") + "/"])
    assert result.exit_code == 2
    result = runner.invoke(cli, ["report", str(bad), "-o", str(tmp_path / "one.html")])
    assert result.exit_code == 2 and "folder" in result.output
    result = runner.invoke(cli, ["report", str(CLEAN), "-o", str(tmp_path / "s.html"), "--strict", "--profile",
                                 "publication"])
    assert result.exit_code in (0, 1) and (tmp_path / "s.html").exists()


def test_cli_writes_stdout_and_takes_the_format_option(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["report", str(CLEAN), "-o", "-", "--reproducible"])
    assert result.exit_code == 0 and "<!DOCTYPE html>" in result.stdout
    result = runner.invoke(cli, ["report", str(CLEAN), "-o", str(tmp_path / "r"), "--format", "html"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_validate_and_import_never_load_the_report_stack() -> None:
    code = (
        "import sys, mpistd\n"
        "from click.testing import CliRunner\n"
        "from mpistd.cli import cli\n"
        f"r = mpistd.validate({str(CLEAN)!r})\n"
        f"res = CliRunner().invoke(cli, ['validate', {str(CLEAN)!r}, '--format', 'json'])\n"
        "assert res.exit_code == 0, res.output\n"
        "heavy = [m for m in ('matplotlib', 'weasyprint', 'jinja2') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
