"""The PDF's print layout, checked on WeasyPrint's own laid-out pages (issue 15, item 5).

For the bundled examples and a corpus report, every page of the laid-out document is
walked box by box and the test fails on

- any box beyond the page's content area (a table or figure running past the margin);
- a heading (h1–h3) as the last content of a page (its content starts on the next page);
- a table of 12 rows or fewer split across pages (short tables are kept whole; the
  provenance table too).
"""
from __future__ import annotations

from pathlib import Path

import pytest

import mpistd
from mpistd.render.html import ReportMeta, render_page
from mpistd.render.report import DatasetSource, prepare

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ("examples/promag-fixed-volume.mpical.json", "examples/simulated-phantom/simulated-phantom.mpical.json",
            "corpus/promag-fc-vs-fv.mpical.json", "corpus/promag-solution-vs-cells.mpical.json")
TOLERANCE = 0.5  # CSS px: rounding in WeasyPrint's layout


def _laid_out(path: Path):
    from weasyprint import HTML

    from mpistd.render.pdf import make_url_fetcher

    validated = mpistd.validate(path, reproducible=True)
    result = validated.results[0]
    quantities, model, images, note = prepare(DatasetSource(result=result, path=path))
    html, urls = render_page(result, quantities, model, ReportMeta.from_report(validated), images=images,
                             note=note, figures="data-url")
    return HTML(string=html, base_url=None, url_fetcher=make_url_fetcher(urls), media_type="print").render()


def _walk(box, block_tag, out, depth=0):
    from weasyprint.formatting_structure import boxes

    if isinstance(box, boxes.MarginBox):
        return
    tag = getattr(box, "element_tag", None)
    if isinstance(box, (boxes.BlockBox, boxes.TableBox, boxes.TableRowBox, boxes.TableCellBox)) and tag:
        block_tag = tag
    out.append((box, block_tag))
    for child in getattr(box, "children", ()):
        _walk(child, block_tag, out, depth + 1)


def _problems(document) -> list[str]:
    from weasyprint.formatting_structure import boxes

    problems: list[str] = []
    reported: set[int] = set()
    table_pages: dict[int, set[int]] = {}
    table_rows: dict[int, tuple[int, str]] = {}
    for number, page in enumerate(document.pages, 1):
        root = page._page_box
        right = root.content_box_x() + root.width + TOLERANCE
        left = root.content_box_x() - TOLERANCE
        bottom = root.content_box_y() + root.height + TOLERANCE
        flat: list = []
        for child in root.children:
            _walk(child, None, flat)
        last_leaf = None
        for box, block_tag in flat:
            if isinstance(box, (boxes.TextBox, boxes.ReplacedBox)) or (
                    isinstance(box, boxes.BlockBox) and box.element_tag in ("hr",)):
                if box.width > 0 and box.height > 0:
                    last_leaf = (box, block_tag)
            if isinstance(box, (boxes.TextBox, boxes.ReplacedBox, boxes.TableBox, boxes.TableCellBox)):
                outside = box.border_box_x() + box.border_width() > right or box.border_box_x() < left
                if outside and id(box.element) not in reported:
                    reported.add(id(box.element))
                    text = getattr(box, "text", box.element_tag)
                    problems.append(f"page {number}: <{box.element_tag}> {text!r:.40} reaches "
                                    f"x = {box.border_box_x() + box.border_width():.1f} > {right:.1f}")
                if box.border_box_y() + box.border_height() > bottom and not isinstance(box, boxes.TableBox) \
                        and id(box.element) not in reported:
                    reported.add(id(box.element))
                    problems.append(f"page {number}: <{box.element_tag}> below the content area")
            if isinstance(box, boxes.TableBox) and box.element is not None:
                key = id(box.element)
                table_pages.setdefault(key, set()).add(number)
                rows = sum(1 for _ in box.element.iter("tr"))
                head = sum(1 for tr in box.element.iter("tr") if any(p.tag == "thead" for p in _parents(box.element, tr)))
                caption = " ".join(box.element.itertext())[:50]
                table_rows[key] = (rows - head, caption)
        if last_leaf is not None and last_leaf[1] in ("h1", "h2", "h3"):
            text = getattr(last_leaf[0], "text", "")
            problems.append(f"page {number}: ends with the heading <{last_leaf[1]}> {text!r}")
    for key, pages in table_pages.items():
        rows, caption = table_rows[key]
        if len(pages) > 1 and rows <= 12:
            problems.append(f"pages {sorted(pages)}: a table of {rows} rows is split ({caption!r})")
    return problems


def _parents(root, node):
    # the elements from root down to node (ElementTree has no parent pointers)
    path = []

    def down(element):
        if element is node:
            return True
        for child in element:
            path.append(element)
            if down(child):
                return True
            path.pop()
        return False

    down(root)
    return path


@pytest.mark.parametrize("name", DATASETS)
def test_print_layout_keeps_boxes_inside_headings_with_content_and_short_tables_whole(name: str) -> None:
    document = _laid_out(ROOT / "reference_data" / name)
    assert len(document.pages) >= 2
    problems = _problems(document)
    assert not problems, "\n".join(problems)


def test_the_layout_check_catches_each_fault() -> None:
    """The checker itself, on pages built to break each rule (it must not be a test that cannot fail)."""
    from weasyprint import HTML

    rows = "".join(f"<tr><td style='height: 30mm'>{i}</td></tr>" for i in range(6))
    page = ("<style>@page { size: A6; margin: 10mm } body { font-size: 9pt } table { break-inside: auto }"
            " h3 { break-after: auto }</style>"
            "<p>first page</p><h3>heading at the foot</h3><div style='break-before: page'>content</div>"
            "<table style='width: 160mm'><tr><td>wide</td></tr></table>"
            f"<table>{rows}</table>")
    problems = _problems(HTML(string=page).render())
    assert any("ends with the heading" in p for p in problems), problems
    assert any("reaches x" in p for p in problems), problems
    assert any("a table of 6 rows is split" in p for p in problems), problems


def test_image_renders_first_of_each_level_all_on_request_none() -> None:
    """The phantom ships 3 replicates at each of its levels: "first" draws one image per level,
    "all" every image, "none" only the metrics tables; a bad value is refused before any work."""
    from mpistd.render.report import ReportTargetError, report

    path = ROOT / "reference_data/examples/simulated-phantom/simulated-phantom.mpical.json"
    model_points = __import__("json").loads(path.read_text(encoding="utf-8"))["calibrations"][0]["points"]
    levels = len(model_points)
    images = sum(len(p["replicates"]) for p in model_points)
    assert images > levels
    counts = {k: report(str(path), image_renders=k).count('class="plot-figure image-figure"')
              for k in ("first", "all", "none")}
    assert counts == {"first": levels, "all": images, "none": 0}
    with pytest.raises(ReportTargetError):
        report(str(path), image_renders="some")
