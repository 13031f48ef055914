"""The reports say the same as at a base commit: every text and every number, HTML and PDF.

    python benchmarks/compare_report_text.py [--base 34153e6] [--dataset PATH ...]

For each dataset (default: the three of bench_report.py), writes ``mpistd report --reproducible``
as HTML and as PDF with this tree and with the base commit's tree (``git archive`` into a
temporary folder, run with the same interpreter), then compares

- the HTML's text: every character data outside ``<style>``, the figures' SVG text included,
  whitespace collapsed, plus the HTML's byte equality (reported, not required: figures may
  change representation);
- the PDF's text, page by page (pypdfium2), and its page count.

Exit 0 when all texts are equal, 1 otherwise (the first differing lines are printed).
"""
from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
import tarfile
import tempfile
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = ("reference_data/examples/promag-fixed-volume.mpical.json",
            "reference_data/examples/simulated-phantom/simulated-phantom.mpical.json",
            "reference_data/corpus/promag-fc-vs-fv.mpical.json")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(" ".join(data.split()))


def html_text(page: str) -> list[str]:
    parser = _Text()
    parser.feed(page)
    return parser.parts


def pdf_text(pdf: bytes) -> list[str]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    pages = []
    for page in doc:
        pages.append(re.sub(r"[ \t]+", " ", page.get_textpage().get_text_range()).strip())
    return pages


_RUN = "import sys; sys.path.insert(0, sys.argv.pop(1)); from mpistd.cli import main; sys.argv[0] = 'mpistd'; main()"


def render(tree: Path, dataset: Path, out: Path) -> None:
    """``mpistd report`` of the package in ``tree``, run from this checkout (equal displayed paths)."""
    shown = dataset.relative_to(ROOT) if dataset.is_relative_to(ROOT) else dataset
    done = subprocess.run([sys.executable, "-c", _RUN, str(tree), "report", str(shown), "--reproducible", "-o",
                           str(out)], cwd=ROOT, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="34153e6")
    parser.add_argument("--dataset", type=Path, action="append", default=None)
    args = parser.parse_args()
    datasets = [p.resolve() for p in args.dataset] if args.dataset else [ROOT / p for p in DEFAULTS]
    same = True
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        base_tree = tmp / "base"
        base_tree.mkdir()
        archive = subprocess.run(["git", "archive", args.base], cwd=ROOT, capture_output=True, check=True).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(base_tree, filter="data")
        for dataset in datasets:
            name = dataset.name.split(".")[0]
            for fmt in ("html", "pdf"):
                ours, theirs = tmp / f"{name}.ours.{fmt}", tmp / f"{name}.base.{fmt}"
                render(ROOT, dataset, ours)
                render(base_tree, dataset, theirs)
                if fmt == "html":
                    a, b = html_text(theirs.read_text(encoding="utf-8")), html_text(ours.read_text(encoding="utf-8"))
                    identical = theirs.read_bytes() == ours.read_bytes()
                    extra = f", bytes {'identical' if identical else 'differ'}"
                else:
                    a, b = pdf_text(theirs.read_bytes()), pdf_text(ours.read_bytes())
                    extra = f", {len(b)} pages (base {len(a)})"
                equal = a == b
                same &= equal
                print(f"{name} {fmt}: text {'equal' if equal else 'DIFFERS'} ({sum(map(len, b))} characters){extra}")
                if not equal:
                    for line in list(difflib.unified_diff(a, b, "base", "ours", lineterm="", n=0))[:20]:
                        print("   ", line[:200])
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
