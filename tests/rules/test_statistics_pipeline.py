"""Issue 14's quantities end to end: tolerances, 1.1 blanks and signal variance, simultaneous
intervals, and the JSON output against the report schema.

Documents are the conformance base (reference_data/conformance/base.py: six levels 3.1–18.6 µg,
max = 14 + 212·m ± d) with changes written here; expected numbers are computed in the tests with
numpy/scipy from the formulas' sources (DIN 32645, chemCal, investr), never from mpistd's output.
"""
from __future__ import annotations

import copy
import importlib.util
import json
import math
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from scipy.special import fdtri, stdtrit

from mpistd.config import ConfigError, Options, Tolerances
from mpistd.findings import DatasetResult, Report
from mpistd.pipeline import validate_mapping
from mpistd.render.json import render_json

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas" / "report" / "mpistd-report.schema.json").read_text(encoding="utf-8"))


def _base() -> dict:
    spec = importlib.util.spec_from_file_location("_conf_base_stats", ROOT / "reference_data/conformance/base.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return copy.deepcopy(module.base())


def _xy(doc: dict, metric: str = "max_intensity") -> tuple[np.ndarray, np.ndarray]:
    c = doc["calibrations"][0]
    x = np.array([p["iron_mass_ug"] for p in c["points"] for _ in p["replicates"]], float)
    y = np.array([r[metric] for p in c["points"] for r in p["replicates"]], float)
    return x, y


def _run(doc: dict, **tolerances) -> DatasetResult:
    return validate_mapping(doc, ROOT, Options(tolerances=Tolerances(**tolerances)))


def _validate_json(result: DatasetResult) -> dict:
    report = Report(results=[result], mpistd_version="0.1.0", schema_version="1.1", created="2026-01-01T00:00:00+00:00")
    data = json.loads(render_json(report))
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    return data["datasets"][0]["quantities"]


def test_limit_m_k_beta_reach_the_json_and_match_din32645_by_hand() -> None:
    doc = _base()
    x, y = _xy(doc)
    n = x.size
    b, a = np.polyfit(x, y, 1)
    s = math.sqrt(np.sum((y - a - b * x) ** 2) / (n - 2))
    qx = np.sum((x - x.mean()) ** 2)
    sx0 = s / b
    m, k, alpha, beta = 2, 5.0, 0.01, 0.05
    base = math.sqrt(1 / m + 1 / n + x.mean() ** 2 / qx)
    x_ng = sx0 * stdtrit(n - 2, 1 - alpha) * base
    x_eg = sx0 * (stdtrit(n - 2, 1 - alpha) + stdtrit(n - 2, 1 - beta)) * base
    kk = k * sx0 * stdtrit(n - 2, 1 - alpha / 2)
    g2 = kk * kk / qx
    qa, qb, qc = 1 - g2, 2 * g2 * x.mean(), -kk * kk * (1 / m + 1 / n + x.mean() ** 2 / qx)
    x_bg = (-qb + math.sqrt(qb * qb - 4 * qa * qc)) / (2 * qa)
    result = _run(doc, limit_m=m, limit_k=k, limit_beta=beta)
    quantities = _validate_json(result)
    fit = next(f for f in quantities["calibrations"][0]["fits"] if f["metric"] == "max_intensity")
    din = next(lim for lim in fit["limits"] if lim["method"] == "DIN 32645")
    assert din["decision_limit"] == pytest.approx(x_ng, rel=1e-9)
    assert din["detection_limit"] == pytest.approx(x_eg, rel=1e-9)
    assert din["quantification_limit"] == pytest.approx(x_bg, rel=1e-9)
    assert (din["m"], din["k"], din["beta"]) == (m, k, beta)
    assert {lim["method"] for lim in fit["limits"]} == {"DIN 32645", "Massart 1997", "ICH Q2(R2)"}


def test_bad_tolerances_are_config_errors() -> None:
    for key, value in (("limit_m", 0), ("limit_k", 0.0), ("limit_beta", 1.0), ("prediction_variance", "mixed"),
                       ("simultaneous_method", "tukey")):
        with pytest.raises(ConfigError):
            Tolerances.from_mapping({key: value}, "test")


def test_simultaneous_block_for_several_unknowns_bonferroni_and_scheffe() -> None:
    """Three quantifications with the one max-intensity line: each gets a simultaneous block with
    k = 3 (Bonferroni t(16, 1 − 0.05/6); Scheffé √(3·F(3, 16; 0.95))); the per-interval CI is
    unchanged (investr's adjust; Miller 1981 ch. 3)."""
    doc = _base()
    q0 = doc["quantifications"][0]
    for i, shift in enumerate((200.0, 400.0), start=1):
        q = copy.deepcopy(q0)
        q["id"] = f"sample-{i}"
        q["signal"] = [v + shift for v in q0["signal"]]
        q.pop("reported")
        doc["quantifications"].append(q)
    single = _run(_base()).quantities["quantifications"][0]
    for method, crit in (("bonferroni", stdtrit(16, 1 - 0.05 / 6)), ("scheffe", math.sqrt(3 * fdtri(3, 16, 0.95)))):
        quantities = _validate_json(_run(doc, simultaneous_method=method))
        for q in quantities["quantifications"]:
            sim = q["simultaneous"]
            assert sim["method"] == method and sim["k"] == 3
            assert sim["critical_value"] == pytest.approx(crit, rel=1e-9)
            assert sim["ci_high"] - sim["ci_low"] == pytest.approx(2 * crit * q["se"], rel=1e-9)
        first = quantities["quantifications"][0]
        assert (first["ci_low"], first["ci_high"]) == (single["ci_low"], single["ci_high"])
    assert single["simultaneous"] is None


def test_signal_variance_and_pooled_variance_from_the_dataset() -> None:
    """1.1 signal_variance: se = (1/b)·√(σ0²/m + s²(1/n + (ȳ − ȳ_cal)²/(b²Q_x))) (chemCal var.s);
    prediction_variance = "pooled": investr's s_p² = (SS_res + Σ(y0 − ȳ0)²)/(n + m − 3)."""
    doc = _base()
    doc["schema_version"] = "1.1"
    doc["quantifications"][0]["signal_variance"] = 900.0
    x, y = _xy(doc)
    n = x.size
    b, a = np.polyfit(x, y, 1)
    ss = np.sum((y - a - b * x) ** 2)
    qx = np.sum((x - x.mean()) ** 2)
    y0 = np.array(doc["quantifications"][0]["signal"], float)
    m = y0.size
    dy = y0.mean() - y.mean()
    se_rep = math.sqrt(900.0 / m + ss / (n - 2) * (1 / n + dy * dy / (b * b * qx))) / b
    q = _validate_json(_run(doc))["quantifications"][0]
    assert q["variance"] == "reported" and q["se"] == pytest.approx(se_rep, rel=1e-9)
    doc["quantifications"][0].pop("signal_variance")
    sp2 = (ss + np.sum((y0 - y0.mean()) ** 2)) / (n + m - 3)
    se_pool = math.sqrt(sp2) / b * math.sqrt(1 / m + 1 / n + dy * dy / (b * b * qx))
    q = _validate_json(_run(doc, prediction_variance="pooled"))["quantifications"][0]
    assert q["variance"] == "pooled" and q["df"] == n + m - 3
    assert q["se"] == pytest.approx(se_pool, rel=1e-9)
    assert q["fieller"]["kind"] == "interval"


def test_weighted_fit_limits_from_a_reported_blank() -> None:
    """A 1/x-weighted reported fit: without a blank its DIN decision/detection limits are null (the
    reason in notes, MPI028); with calibrations[].blanks (1.1) they follow from the blank's variance
    (sample variance of its readings) by x_NG = t(1 − α)/|b|·√(s0² + s²(1/Σw + x̄_w²/Q_x))."""
    doc = _base()
    doc["schema_version"] = "1.1"
    x, y = _xy(doc)
    w = 1 / x
    sw = np.sqrt(w)
    (a, b), *_ = np.linalg.lstsq(np.column_stack([np.ones_like(x), x]) * sw[:, None], y * sw, rcond=None)
    fit = doc["calibrations"][0]["fits"][0]
    fit.update(weighting="1/x", slope=round(float(b), 6), intercept=round(float(a), 6))
    fit.pop("r_squared")
    result = _run(doc)
    limits = next(f for f in result.quantities["calibrations"][0]["fits"] if f["weighting"] == "1/x")["limits"]
    din = next(lim for lim in limits if lim["method"] == "DIN 32645")
    assert din["decision_limit"] is None and any("blank" in note for note in din["notes"])
    assert any(f.rule == "MPI028" and "blank" in f.message for f in result.findings)
    blank = [12.0, 14.5, 9.0, 11.5]
    doc["calibrations"][0]["blanks"] = [{"metric": "max_intensity", "signal": blank}]
    se2 = np.sum(w * (y - a - b * x) ** 2) / (x.size - 2)
    var_a = se2 * np.sum(w * x * x) / (np.sum(w) * np.sum(w * x * x) - np.sum(w * x) ** 2)
    s0 = np.var(blank, ddof=1)
    x_ng = stdtrit(x.size - 2, 0.99) / b * math.sqrt(s0 + var_a)
    result = _run(doc)
    quantities = _validate_json(result)
    limits = next(f for f in quantities["calibrations"][0]["fits"] if f["weighting"] == "1/x")["limits"]
    din = next(lim for lim in limits if lim["method"] == "DIN 32645")
    assert din["decision_limit"] == pytest.approx(x_ng, rel=1e-9)
    assert din["variance_basis"] == "blank+weighting"


def test_mpi030_says_the_split_cannot_be_made_without_blank_or_pair() -> None:
    """A fixed-volume series alone: MPI030 reports eq. 1's deviation and says that the offset /
    spacing split cannot be made from this series; with a measured blank (1.1) it gives the split."""
    doc = json.loads((ROOT / "reference_data/corpus/promag-fc-vs-fv.mpical.json").read_text(encoding="utf-8"))
    fv = next(i for i, c in enumerate(doc["calibrations"]) if c["method"] == "fixed_volume")
    cal = doc["calibrations"][fv]
    cal.pop("paired_with", None)
    for other in doc["calibrations"]:
        if other.get("paired_with") == cal["id"]:
            other.pop("paired_with")
    base_dir = ROOT / "reference_data" / "corpus"
    hits = [f for f in validate_mapping(doc, base_dir, Options()).findings
            if f.rule == "MPI030" and f.pointer == f"/calibrations/{fv}"]
    assert len(hits) == 1 and "cannot be decided from this series alone" in hits[0].message
    doc["schema_version"] = "1.1"
    cal["blanks"] = [{"metric": "max_intensity", "signal": [40.0, 44.0, 42.0]}]
    result = validate_mapping(doc, base_dir, Options())
    hits = [f for f in result.findings if f.rule == "MPI030" and f.pointer == f"/calibrations/{fv}"]
    assert "background offset S₀ from the measured blank" in hits[0].message
    split = result.quantities["calibrations"][fv]["eq1_split"]["max_intensity"]
    assert split["offset"] == pytest.approx(42.0) and split["offset_source"] == "blank"
    total = result.quantities["calibrations"][fv]["eq1"]["max_intensity"]["deviation_percent"]
    assert split["total_percent"] == pytest.approx(total, rel=1e-12)


def _narrow_range_document() -> dict:
    """Six levels 10–12 µg (three replicates ±4 around 5 + 20·m): a narrow range far from 0."""
    doc = _base()
    masses = [10.0, 10.4, 10.8, 11.2, 11.6, 12.0]
    for point, mass in zip(doc["calibrations"][0]["points"], masses):
        point["iron_mass_ug"] = mass
        point.pop("concentration_ug_per_uL", None)
        point["replicates"] = [{"max_intensity": 5 + 20 * mass + d, "total_intensity": 9.5 * (5 + 20 * mass + d)}
                               for d in (-4.0, 0.0, 4.0)]
    doc["calibrations"][0].pop("fits")
    doc["quantifications"] = []
    return doc


def _din_roots(x: np.ndarray, y: np.ndarray, k: float, alpha: float = 0.01) -> tuple[float, float] | None:
    """Both roots of x = k·s_x0·t(1 − α/2)·√(1 + 1/n + (x − x̄)²/Q_x) (DIN 32645), by the school formula."""
    n = x.size
    b, a = np.polyfit(x, y, 1)
    s = math.sqrt(np.sum((y - a - b * x) ** 2) / (n - 2))
    qx = np.sum((x - x.mean()) ** 2)
    kk = k * s / b * stdtrit(n - 2, 1 - alpha / 2)
    g2 = kk * kk / qx
    qa, qb, qc = 1 - g2, 2 * g2 * x.mean(), -kk * kk * (1 + 1 / n + x.mean() ** 2 / qx)
    disc = qb * qb - 4 * qa * qc
    if disc < 0:
        return None
    r = sorted(((-qb - math.sqrt(disc)) / (2 * qa), (-qb + math.sqrt(disc)) / (2 * qa)))
    return r[0], r[1]


@pytest.mark.parametrize("k, fires", [(21.0, False), (21.9, True)])
def test_mpi054_when_the_quantifiable_range_ends_inside_the_calibration(k: float, fires: bool) -> None:
    """g ≥ 1 on a narrow range 10–12 µg: with k = 21 the x_BG equation's roots (≈10.92, ≈12.85)
    cover the upper end of the calibration; with k = 21.9 both (≈11.65, ≈11.96) lie inside it and
    12 µg is not quantifiable (MPI054), for both metrics."""
    doc = _narrow_range_document()
    x, y = _xy(doc)
    roots = _din_roots(x, y, k)
    assert roots is not None and roots[0] > x.min()
    assert bool(roots[1] < x.max()) is fires
    result = _run(doc, limit_k=k)
    hits = [f for f in result.findings if f.rule == "MPI054"]
    assert len(hits) == (2 if fires else 0)
    for hit in hits:
        assert f"between {roots[0]:.4g} and {roots[1]:.4g}" in hit.message
    din = next(lim for lim in result.quantities["calibrations"][0]["fits"][0]["limits"]
               if lim["method"] == "DIN 32645")
    assert din["quantification_range"] == pytest.approx(list(roots), rel=1e-9)


@pytest.mark.parametrize("method, fires", [("bonferroni", False), ("scheffe", True)])
def test_mpi029_for_simultaneous_intervals(method: str, fires: bool) -> None:
    """The flat line 2000 + 3 m (slope 3, SE = s/√Q_x from numpy; 95 % CI excludes 0, so MPI027 is
    quiet) read for five unknowns: Bonferroni t(16, 1 − 0.05/10) keeps g = (c·se/b)² < 1, Scheffé
    √(5·F(5, 16; 0.95)) makes g ≥ 1 and the simultaneous Fieller set unbounded (MPI029)."""
    doc = _base()
    masses = [3.1, 6.2, 9.3, 12.4, 15.5, 18.6]
    spreads = (20, 25, 18, 22, 24, 21)
    for point, mass, d in zip(doc["calibrations"][0]["points"], masses, spreads):
        y = 2000.0 + 3.0 * mass
        point["replicates"] = [{"max_intensity": y + e, "total_intensity": 9.5 * (y + e)} for e in (-d, 0.0, d)]
    doc["calibrations"][0].pop("fits")
    q0 = doc["quantifications"][0]
    q0.pop("reported")
    doc["quantifications"] = []
    for i in range(5):
        q = copy.deepcopy(q0)
        q["id"] = f"u{i}"
        q["signal"] = [2020.0 + 5 * i, 2030.0 + 5 * i]
        doc["quantifications"].append(q)
    x, y = _xy(doc)
    b, a = np.polyfit(x, y, 1)
    se_b = math.sqrt(np.sum((y - a - b * x) ** 2) / (x.size - 2) / np.sum((x - x.mean()) ** 2))
    assert b - stdtrit(16, 0.975) * se_b > 0
    crit = stdtrit(16, 1 - 0.05 / 10) if method == "bonferroni" else math.sqrt(5 * fdtri(5, 16, 0.95))
    g = (crit * se_b / b) ** 2
    assert bool(g >= 1) is fires
    result = _run(doc, simultaneous_method=method)
    hits = [f for f in result.findings if f.rule == "MPI029"]
    assert len(hits) == (5 if fires else 0)
    for hit in hits:
        assert f"simultaneous ({method}, k = 5)" in hit.message
    for q in result.quantities["quantifications"]:
        assert q["simultaneous"]["fieller"]["g"] == pytest.approx(g, rel=1e-9)
        assert q["fieller"]["kind"] == "interval"  # the per-interval one stays bounded
