"""The report shows issue 14's statistics as the JSON quantities state them.

Datasets are built from the conformance base (``reference_data/conformance/base.py``: an OLS
line computed with plain numpy) and mutated as a user would write them: three unknowns read
with one line (simultaneous intervals, Bonferroni k = 3), a noisy series whose DIN 32645 x_BG
equation has two roots (a quantifiable range), a noisier one whose Fieller interval is the
whole real line, a 1/x-weighted reported fit (Massart skipped) and the corpus fixed-volume series
with its paired fixed-concentration series (eq. 1's offset-vs-spacing split). The expected
text of every number is the JSON quantity (``mpistd validate``'s output) put through the
shared formatter ``mpistd.rules._format.num``: the test checks that the report shows the
JSON's numbers, in the place named, not how they are computed.
"""
from __future__ import annotations

import copy
import html as html_lib
import importlib.util
import json
import re
from pathlib import Path

import pytest

import mpistd
from mpistd.render.report import report
from mpistd.rules._format import NBSP, num

ROOT = Path(__file__).resolve().parents[2]
FC_VS_FV = ROOT / "reference_data" / "corpus" / "promag-fc-vs-fv.mpical.json"


def _base() -> dict:
    spec = importlib.util.spec_from_file_location("conformance_base", ROOT / "reference_data/conformance/base.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.base()


def _validated(tmp_path: Path, doc: dict, name: str) -> tuple[Path, dict]:
    path = tmp_path / f"{name}.mpical.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = mpistd.validate(path, reproducible=True).results[0]
    return path, json.loads(json.dumps(result.quantities))


def _cells(page: str, key: str) -> list[str]:
    """Text of every element carrying ``data-q="key"``, tags stripped, entities decoded."""
    found = re.findall(rf'data-q="{key}"[^>]*>(.*?)</(?:td|span)>', page, flags=re.S)
    return [html_lib.unescape(re.sub(r"<[^>]+>", "", f)).strip() for f in found]


def _interval(low: float, high: float, unit: str) -> str:
    return f"{num(low)} to {num(high)}{NBSP}{unit}"


def _noisy(spread: float) -> dict:
    """The base line with replicates at ±spread around each level's middle one (level means
    stay on the line), no reported fit, the estimate not reported."""
    doc = _base()
    cal = doc["calibrations"][0]
    for point in cal["points"]:
        middle = point["replicates"][1]["max_intensity"]
        for replicate, offset in zip(point["replicates"], (-spread, 0.0, spread)):
            replicate["max_intensity"] = round(middle + offset, 3)
    cal.pop("fits")
    doc["quantifications"][0].pop("reported")
    return doc


def test_wald_fieller_and_simultaneous_intervals_match_the_json(tmp_path: Path) -> None:
    doc = _base()
    first = doc["quantifications"][0]
    for sid, signals in (("B", [1100.0, 1112.0, 1106.0]), ("C", [2500.0, 2490.0, 2512.0])):
        q = copy.deepcopy(first)
        q.update({"id": f"sample-{sid}", "sample_id": sid, "signal": signals})
        q.pop("reported")
        doc["quantifications"].append(q)
    path, quantities = _validated(tmp_path, doc, "three-unknowns")
    page = report(str(path), reproducible=True)
    qs = quantities["quantifications"]
    assert len(qs) == 3
    wald, fieller = _cells(page, "wald"), _cells(page, "fieller")
    sim_wald, sim_fieller = _cells(page, "sim-wald"), _cells(page, "sim-fieller")
    labels = _cells(page, "simultaneous")
    assert len(wald) == len(fieller) == len(sim_wald) == len(sim_fieller) == len(labels) == 3
    for i, q in enumerate(qs):
        assert wald[i].startswith(_interval(q["ci_low"], q["ci_high"], "µg") + " (95 %)")
        assert f"t critical {num(q['critical_value'])}, df {q['df']}" in wald[i]
        assert q["fieller"]["kind"] == "interval"
        assert fieller[i] == _interval(q["fieller"]["low"], q["fieller"]["high"], "µg")
        s = q["simultaneous"]
        assert s["method"] == "bonferroni" and s["k"] == 3
        assert labels[i].startswith(f"Simultaneous (Bonferroni, k = 3 estimates on this line, 95 % jointly; "
                                    f"critical value {num(s['critical_value'])})")
        assert sim_wald[i] == _interval(s["ci_low"], s["ci_high"], "µg")
        assert sim_fieller[i] == _interval(s["fieller"]["low"], s["fieller"]["high"], "µg")
        # the joint interval is wider than the single one (Bonferroni t(df, 1 - α/2k) > t(df, 1 - α/2))
        assert s["ci_high"] - s["ci_low"] > q["ci_high"] - q["ci_low"]
    assert "Variance of ȳ:</span> residual SD of the line, m = 3 replicate signals" in page


def test_one_unknown_has_no_simultaneous_block(tmp_path: Path) -> None:
    path, quantities = _validated(tmp_path, _base(), "one-unknown")
    assert quantities["quantifications"][0]["simultaneous"] is None
    page = report(str(path), reproducible=True)
    assert _cells(page, "simultaneous") == [] and len(_cells(page, "fieller")) == 1


def test_unbounded_fieller_interval_is_said_in_words(tmp_path: Path) -> None:
    # spread 3000 a.u. around a slope of 212 a.u./µg: t·se(b)/b > 1, Fieller's set is every x
    path, quantities = _validated(tmp_path, _noisy(3000.0), "unbounded")
    f = quantities["quantifications"][0]["fieller"]
    assert f["kind"] == "real_line" and f["g"] >= 1
    page = report(str(path), reproducible=True)
    (cell,) = _cells(page, "fieller")
    assert cell == (f"unbounded: every x (the whole real line; g = {num(f['g'], 3)} ≥ 1: "
                    "the slope is not well determined)")
    assert 'class="unbounded"' in page


def test_two_half_lines_in_words() -> None:
    from mpistd.quantify.limits import Fieller
    from mpistd.render.html import fieller_text

    text = fieller_text(Fieller("two_half_lines", -3.25, 41.5, 1.7), "µg")
    assert text == f"unbounded: x ≤ -3.25 or x ≥ 41.5{NBSP}µg (two half-lines; g = 1.7 ≥ 1: the slope is not well determined)"


def test_quantifiable_range_and_notes_in_the_limits_table(tmp_path: Path) -> None:
    # spread 650: DIN 32645's g just above 1, the x_BG equation has two positive roots
    path, quantities = _validated(tmp_path, _noisy(650.0), "two-roots")
    din = quantities["calibrations"][0]["fits"][0]["limits"][0]
    assert din["method"] == "DIN 32645" and din["g"] >= 1 and din["quantification_range"] is not None
    low, high = din["quantification_range"]
    page = report(str(path), reproducible=True)
    assert (f"quantifiable range {num(low)} to {num(high)}{NBSP}µg (two roots of the x_BG equation, "
            f"g = {num(din['g'], 3)})") in html_lib.unescape(page)
    # a note from the quantities is shown as written
    path, quantities = _validated(tmp_path, _noisy(1000.0), "no-root")
    din = quantities["calibrations"][0]["fits"][0]["limits"][0]
    assert din["notes"] and din["quantification_limit"] is None
    assert html_lib.escape(din["notes"][0], quote=False) in report(str(path), reproducible=True)


def test_skipped_massart_is_named_not_keyed(tmp_path: Path) -> None:
    doc = _base()
    doc["calibrations"][0]["fits"][0]["weighting"] = "1/x"
    path, quantities = _validated(tmp_path, doc, "weighted")
    page = report(str(path), reproducible=True)
    rows = re.findall(r'<th scope="row">([^<]*)</th><td class="num">—</td><td class="num">—</td>'
                      r'<td class="num">—</td><td>skipped: ([^<]*)</td>', page)
    assert ("Massart 1997", "Massart&#39;s x_D is defined for unweighted fits") in rows or \
           ("Massart 1997", "Massart's x_D is defined for unweighted fits") in rows
    assert ">massart<" not in page


def test_eq1_split_columns_match_the_json() -> None:
    result = mpistd.validate(FC_VS_FV, reproducible=True).results[0]
    quantities = json.loads(json.dumps(result.quantities))
    splits = [(c, m, s) for c in quantities["calibrations"] for m, s in (c.get("eq1_split") or {}).items()
              if isinstance(s, dict) and "spacing_percent" in s]
    assert splits, "the corpus fixed-volume series are paired with a fixed-concentration one"
    page = report(result, reproducible=True)
    offsets, spacings = _cells(page, "offset-part"), _cells(page, "spacing-part")
    expected_offsets = [num(v, 3) for _, _, s in splits for v in s["offset_percent"]]
    expected_spacings = [num(v, 3) for _, _, s in splits for v in s["spacing_percent"]]
    assert offsets == expected_offsets and spacings == expected_spacings
    assert "intercept of the paired fixed-concentration series" in page
