"""Benchmark of the calibration report: validate (JSON) vs HTML vs PDF, and long text fields.

    python benchmarks/bench_report.py [--dataset PATH ...] [--repeat 2]

For each dataset (default: the fixed-volume example, the simulated phantom and the
``promag-fc-vs-fv`` corpus dataset), the commands a user runs, each a fresh process (imports
included, as the user pays them), best of ``--repeat``:

- validate: ``mpistd validate --format json PATH``;
- html:     ``mpistd report PATH -o out.html``;
- pdf:      ``mpistd report PATH -o out.pdf``;

and, in this process after a warm-up, the rendering alone (``mpistd.report`` of an already
validated result, figure memo cleared before every run): html-only and pdf-only.

Then the fixed-volume example again with a 10,000-character ``dataset.description`` (the
schema's maximum), once as ordinary words and once as one unbroken string: the PDF time it
adds, against the HTML time of the same report.

Prints the times and the goals of issue 15 as ratios: PDF/HTML ≤ 1.5, HTML/validate ≤ 2,
added PDF time of a 10,000-character description / HTML ≤ 1. Never asserted in tests.

``--helper auto`` (default) leaves the CLI's report helper to decide (it forks only when a core
is spare: the load average is printed), ``on`` forces it (MPISTD_REPORT_HELPER=1), ``off``
turns it off (MPISTD_NO_REPORT_HELPER=1): on a busy machine, compare the two.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from mpistd.cli import cli  # noqa: E402
from mpistd.render import plots  # noqa: E402
from mpistd.render.report import report  # noqa: E402

DEFAULTS = ("reference_data/examples/promag-fixed-volume.mpical.json",
            "reference_data/examples/simulated-phantom/simulated-phantom.mpical.json",
            "reference_data/corpus/promag-fc-vs-fv.mpical.json")


def _clear() -> None:
    for name in dir(plots):
        memo = getattr(getattr(plots, name), "cache_clear", None)
        if memo is not None:
            memo()


def best_of(func, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        _clear()
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


MPISTD = [sys.executable, "-m", "mpistd"]


def run(args: list[str]) -> None:
    done = subprocess.run(MPISTD + args, capture_output=True, cwd=ROOT)
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr.decode(errors="replace"))


def validate_json(path: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", "--format", "json", "--reproducible", str(path)])
    if result.exit_code not in (0, 1):
        raise RuntimeError(result.output)


def pages(pdf: bytes) -> int:
    try:
        import pypdfium2 as pdfium
    except ImportError:  # pragma: no cover - the test extra is not installed
        return -1
    return len(pdfium.PdfDocument(pdf))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, action="append", default=None)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--helper", choices=("auto", "on", "off"), default="auto")
    args = parser.parse_args()
    if args.helper == "on":
        os.environ["MPISTD_REPORT_HELPER"] = "1"
    elif args.helper == "off":
        os.environ["MPISTD_NO_REPORT_HELPER"] = "1"
    from mpistd.render.page_helper import spare_core

    print(f"load average {os.getloadavg()[0]:.2f}; report helper: {args.helper}"
          + (f" (a spare core now: {spare_core()})" if args.helper == "auto" else ""))
    paths = args.dataset or [ROOT / p for p in DEFAULTS]
    # warm-up: every import and every first-use cache
    validate_json(paths[0])
    report(str(paths[0]), reproducible=True)
    report(str(paths[0]), format="pdf", reproducible=True)
    import mpistd

    for path in paths:
        name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        with tempfile.TemporaryDirectory() as tmp:
            v = best_of(lambda: run(["validate", "--format", "json", "--reproducible", str(path)]), args.repeat)
            h = best_of(lambda: run(["report", str(path), "--reproducible", "-o", f"{tmp}/r.html"]), args.repeat)
            p = best_of(lambda: run(["report", str(path), "--reproducible", "-o", f"{tmp}/r.pdf"]), args.repeat)
        validated = mpistd.validate(path, reproducible=True)
        hi = best_of(lambda: report(validated, reproducible=True), args.repeat)
        pi = best_of(lambda: report(validated, format="pdf", reproducible=True), args.repeat)
        pdf = report(validated, format="pdf", reproducible=True)
        print(f"{name} ({pages(pdf)} pages)")
        print(f"  CLI         validate --format json {v:6.2f} s   report .html {h:6.2f} s   report .pdf {p:6.2f} s")
        print(f"  CLI ratios  PDF/HTML {p / h:5.2f} (goal <= 1.5)   HTML/validate {h / v:5.2f} (goal <= 2)")
        print(f"  rendering   html {hi:6.2f} s   pdf {pi:6.2f} s   PDF/HTML {pi / hi:5.2f}")
    base = paths[0]
    data = json.loads(base.read_text(encoding="utf-8"))
    words = ("calibration " * 900)[:10_000]
    unbroken = "x" * 10_000
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "plain.mpical.json"
        data["dataset"].pop("description", None)
        plain.write_text(json.dumps(data), encoding="utf-8")
        p0 = best_of(lambda: report(str(plain), format="pdf", reproducible=True), args.repeat)
        h0 = best_of(lambda: report(str(plain), reproducible=True), args.repeat)
        for label, text in (("words", words), ("unbroken", unbroken)):
            long = Path(tmp) / f"{label}.mpical.json"
            data["dataset"]["description"] = text
            long.write_text(json.dumps(data), encoding="utf-8")
            p1 = best_of(lambda: report(str(long), format="pdf", reproducible=True), args.repeat)
            print(f"10,000-character description ({label:8s}): pdf {p1:6.2f} s vs {p0:6.2f} s without; "
                  f"adds {p1 - p0:6.2f} s = {(p1 - p0) / h0:5.2f} x the HTML time {h0:.2f} s (goal <= 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
