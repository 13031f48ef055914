"""One formatting policy for numbers, units and enum values (issue 15, item 2).

The policy lives in :mod:`mpistd.rules._format`; the rules' messages, the report and the
text output format through it. Checked here: the formatter against hand-written values, a
display name for every enum value of the schemas, and the rendered text of every bundled
example and corpus report (tables, findings, figure labels) for float noise, bare exponents
and raw enum values.
"""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mpistd.rules._format import DISPLAY, display, distance, num, p_value, pct, qty

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("value, digits, text", [
    (15461.0, 6, "15461"), (14079.2, 6, "14079.2"),  # the MPI031 pair the issue quotes: no e+05 beside it
    (122508.3, 6, "122508"), (116110.0, 6, "116110"),
    (1.013e7, 4, "1.013 × 10⁷"),  # 1.013e+07 fg in the issue
    (4.561e12, 4, "4.561 × 10¹²"),
    (0.1 + 0.2, 4, "0.3"),  # 0.30000000000000004: float noise never shows
    (2.675, 3, "2.67"), (9.99996, 4, "10"), (9999999.7, 4, "1 × 10⁷"), (6795123.0, 4, "6795000"),
    (1.5e-5, 3, "1.5 × 10⁻⁵"), (-0.00042, 2, "-4.2 × 10⁻⁴"), (0.0, 4, "0"), (7, 4, "7"),
])
def test_numbers_by_hand(value: float, digits: int, text: str) -> None:
    assert num(value, digits) == text


def test_percentages_units_and_p_values() -> None:
    assert pct(-9.04e-7) == "0.0 %"  # the issue's -9.04e-07 %
    assert pct(8.94) == "+8.9 %" and pct(-0.25) == "-0.2 %" or pct(-0.25) == "-0.3 %"
    assert qty(5.289, "µg") == "5.289\u00a0µg" and qty(None, "µg") == "n/a"
    assert p_value(4.68e-9) == "< 0.0001" and p_value(0.0191) == "0.019"
    # one distance unit: the paper quotes 116 µm in solution and 306 nm in cells
    assert distance(116_000.0) == "116\u00a0µm" and distance(306.0) == "306\u00a0nm"
    assert distance(9_000.0, unit_of=116_000.0) == "9\u00a0µm"


def _schema_enums() -> set[str]:
    values: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for v in node.get("enum", ()):
                if isinstance(v, str):
                    values.add(v)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for path in (ROOT / "schemas").rglob("*.json"):
        walk(json.loads(path.read_text(encoding="utf-8")))
    return values


def test_every_enum_value_of_the_schemas_has_a_display_name() -> None:
    enums = _schema_enums()
    assert {"wigner_seitz", "icp-oes", "fixed_volume", "lorentzian"} <= enums  # the walk found the enums
    missing = sorted(v for v in enums if v not in DISPLAY and not v.isdigit())
    assert not missing, missing
    assert display("wigner_seitz") == "Wigner–Seitz radius" and display("icp-oes") == "ICP-OES"


class _Text(HTMLParser):
    """The text a reader sees, without <style>, <code> (ids, pointers, paths) and <title>."""

    SKIP = {"style", "code", "title", "script"}

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth:
            self.parts.append(data)


NOISE = re.compile(r"\d\.\d*?(?:0{5,}|9{5,})\d")  # 0.30000000000000004, 2.6749999999
BARE_EXPONENT = re.compile(r"\b\d+(?:\.\d+)?[eE][+-]?\d+\b")  # 1.22508e+05, 1e5
RAW_ENUM = re.compile(r"\b(?:" + "|".join(re.escape(v) for v in sorted(
    {"wigner_seitz", "nearest_neighbour", "fixed_volume", "fixed_concentration", "cell_number", "icp-oes", "icp-ms",
     "threshold_all", "threshold_connected", "background_roi", "empty_holder", "level_means", "high_sensitivity",
     "high_resolution", "iron_mass_per_particle", "spherical_core", "in_vivo", "lookup_table", "cell_count",
     "iron_mass_ug"}, key=len, reverse=True)) + r")\b")


def _datasets() -> list[Path]:
    found = sorted((ROOT / "reference_data" / "examples").rglob("*.mpical.json"))
    found += sorted((ROOT / "reference_data" / "corpus").glob("*.mpical.json"))
    return found


def test_rendered_reports_carry_no_float_noise_bare_exponent_or_raw_enum() -> None:
    from mpistd.render.report import report

    problems = []
    for path in _datasets():
        html = report(str(path), reproducible=True)
        parser = _Text()
        parser.feed(html)
        text = " ".join(parser.parts)
        for name, pattern in (("float noise", NOISE), ("bare exponent", BARE_EXPONENT), ("raw enum value", RAW_ENUM)):
            for m in pattern.finditer(text):
                problems.append(f"{path.name}: {name} {m.group(0)!r} in …{text[max(0, m.start() - 50):m.end() + 30]}…")
    assert not problems, "\n".join(problems[:30])


def test_the_text_check_catches_what_the_issue_saw() -> None:
    sample = "1.22508e+05 vs 1.16110e+05, -9.04e-07 %, 0.30000000000000004, estimator wigner_seitz"
    assert BARE_EXPONENT.search(sample) and NOISE.search(sample) and RAW_ENUM.search(sample)


def test_estimates_carry_their_findings_a_bias_statement_and_the_other_calibrations() -> None:
    """promag-solution-vs-cells: 'promag-cells-solution-line' reads cellular signals with the
    solution line (MPI040). Its row must list MPI040, state the bias with the dataset's own
    reduction (computed here by numpy from the dataset: cellular level means against an
    ordinary least-squares solution line) and show the estimate with the cellular iron-mass
    calibration (x̂ = (ȳ − a)/b, numpy again) beside it."""
    import numpy as np

    from mpistd.render.report import report

    path = ROOT / "reference_data" / "corpus" / "promag-solution-vs-cells.mpical.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    cals = {c["id"]: c for c in doc["calibrations"]}

    def line(cal):
        xs = [p["iron_mass_ug"] for p in cal["points"] for _ in p["replicates"]]
        ys = [r["max_intensity"] for p in cal["points"] for r in p["replicates"]]
        b, a = np.polyfit(xs, ys, 1)
        return a, b

    a_sol, b_sol = line(cals["promag-solution-fc"])
    reductions = []
    for p in cals["promag-cells-iron"]["points"]:
        mean = np.mean([r["max_intensity"] for r in p["replicates"]])
        reductions.append(100 * (1 - mean / (a_sol + b_sol * p["iron_mass_ug"])))
    a_cell, b_cell = line(cals["promag-cells-iron"])
    q = next(q for q in doc["quantifications"] if q["id"] == "promag-cells-solution-line")
    x_cell = (np.mean(q["signal"]) - a_cell) / b_cell

    html = report(str(path))
    start = html.index("<code>promag-cells-solution-line</code>")
    row = html[start:html.index("</table>", html.index("alternatives", start))]
    assert "MPI040" in row
    assert (f"gave {num(min(reductions), 2)}–{num(max(reductions), 2)} % less maximum intensity than the solution "
            f"line &#39;promag-solution-fc&#39;") in row
    assert "cells iron-mass calibration" in row and f"{num(x_cell)} µg" in row
