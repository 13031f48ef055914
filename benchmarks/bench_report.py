"""Benchmark of the calibration report: HTML vs PDF for the largest reference dataset.

    python benchmarks/bench_report.py [--dataset PATH] [--repeat 3]

Takes the largest dataset file under reference_data/ (falls back to the conformance suite's
clean vector), validates it once, then times in the same process:

- html: the report page (re-derived quantities, every figure drawn, template rendered);
- pdf:  the same page laid out by WeasyPrint (figures as the report's own data: URLs).

Each timing is the best of ``--repeat`` runs after one untimed warm-up (which pays the
imports of jinja2, matplotlib and WeasyPrint; printed separately), with the figure memo
cleared before every run so that every figure is drawn each time. Prints the times and
the ratio PDF/HTML. Never asserted in tests.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mpistd  # noqa: E402
from mpistd.render import plots  # noqa: E402
from mpistd.render.report import report  # noqa: E402

GLOBS = ("*.mpical.json", "*.mpical.yaml", "*.mpical.yml")


def largest_dataset() -> Path:
    candidates = [p for g in GLOBS for p in (ROOT / "reference_data").rglob(g)]
    # a dataset that fails the schema renders its findings only: prefer ones that quantify
    usable = [p for p in candidates if mpistd.validate(p).results[0].quantities is not None]
    if usable:
        return max(usable, key=lambda p: (p.stat().st_size, str(p)))
    return ROOT / "reference_data" / "conformance" / "clean.mpical.json"


def best_of(func, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        plots._calibration_svg.cache_clear()
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = args.dataset or largest_dataset()
    start = time.perf_counter()
    validated = mpistd.validate(path, reproducible=True)
    validate_s = time.perf_counter() - start

    start = time.perf_counter()
    html = report(validated, reproducible=True)
    pdf = report(validated, format="pdf", reproducible=True)
    warmup_s = time.perf_counter() - start

    html_s = best_of(lambda: report(validated, reproducible=True), args.repeat)
    pdf_s = best_of(lambda: report(validated, format="pdf", reproducible=True), args.repeat)
    try:
        import pypdfium2 as pdfium

        pages = len(pdfium.PdfDocument(pdf))
    except ImportError:  # pragma: no cover - the test extra is not installed
        pages = -1
    result = validated.results[0]
    print(f"dataset      {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
          f"({path.stat().st_size / 1024:.0f} KiB, {len(result.findings)} findings, verdict {result.verdict()})")
    print(f"figures      {html.count('<svg')} inline SVG; HTML {len(html) / 1024:.0f} KiB; "
          f"PDF {len(pdf) / 1024:.0f} KiB, {pages} pages")
    print(f"validate     {validate_s:8.3f} s  (once, not part of the ratio)")
    print(f"warm-up      {warmup_s:8.3f} s  (first HTML + PDF, imports included)")
    print(f"html         {html_s:8.3f} s  (best of {args.repeat})")
    print(f"pdf          {pdf_s:8.3f} s  (best of {args.repeat}, includes building its HTML)")
    print(f"ratio        {pdf_s / html_s:8.2f}  PDF / HTML")
    return 0


if __name__ == "__main__":
    sys.exit(main())
