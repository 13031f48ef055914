"""The CLI's PDF helper process (mpistd/render/pdf.py): same bytes as in-process, and a
helper that is gone or fails never costs the PDF (the parent renders in-process)."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mpistd.cli import cli
from mpistd.render import pdf as pdf_module

pytest.importorskip("weasyprint")

ROOT = Path(__file__).resolve().parents[2]
CLEAN = ROOT / "reference_data" / "conformance" / "clean.mpical.json"
PAGE = "<html><head><style>@page { size: A4 }</style></head><body><h1>mpistd helper</h1><p>text</p></body></html>"


def test_helper_and_in_process_pdfs_are_byte_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_helper, without = tmp_path / "a.pdf", tmp_path / "b.pdf"
    result = CliRunner().invoke(cli, ["report", str(CLEAN), "--reproducible", "-o", str(with_helper)])
    assert result.exit_code in (0, 1), result.output
    monkeypatch.setenv("MPISTD_NO_PDF_HELPER", "1")
    result = CliRunner().invoke(cli, ["report", str(CLEAN), "--reproducible", "-o", str(without)])
    assert result.exit_code in (0, 1), result.output
    assert with_helper.read_bytes() == without.read_bytes()
    assert pdf_module._HELPER is None


def test_a_dead_helper_falls_back_to_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MPISTD_NO_PDF_HELPER", raising=False)
    assert pdf_module.start_helper()
    try:
        process, _ = pdf_module._HELPER
        process.kill()
        process.join()
        out = pdf_module.render_pdf(PAGE, reproducible=True)
    finally:
        pdf_module.stop_helper()
    assert out[:5] == b"%PDF-" and pdf_module._HELPER is None
    assert out == pdf_module.render_pdf(PAGE, reproducible=True)


def test_a_helper_that_fails_on_a_page_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MPISTD_NO_PDF_HELPER", raising=False)
    assert pdf_module.start_helper()
    try:
        # a url_fetcher of the caller's: never sent to the helper, rendered here
        fetcher = pdf_module.make_url_fetcher()
        assert pdf_module.render_pdf(PAGE, url_fetcher=fetcher)[:5] == b"%PDF-"
        assert pdf_module._HELPER is not None
        # a page the helper cannot lay out (not a str): it answers "failed", the parent renders
        assert pdf_module._by_helper(None, [], True) is None  # type: ignore[arg-type]
        assert pdf_module._HELPER is None
    finally:
        pdf_module.stop_helper()


def test_no_helper_when_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPISTD_NO_PDF_HELPER", "1")
    assert pdf_module.start_helper() is False and pdf_module._HELPER is None
