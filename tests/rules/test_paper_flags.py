"""The paper's two flags, end to end: solution-to-cell misuse (MPI040) and dilution confounding (MPI030).

Ureña Horno et al., Nanoscale 2025, 17, 24060: labelled cells must not be quantified with a
solution calibration (section 3, Fig. 1; section 4: calibrate against cell number), and a
fixed-volume (serial-dilution) series varies the concentration along the calibration
(section 3, Fig. 4/5). The documents are built from the synthetic corpus
(reference_data/corpus) and from a small series written here; expectations are the rules'
decided semantics, not mpistd output.
"""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path

from mpistd.config import Options, Tolerances
from mpistd.findings import Severity
from mpistd.pipeline import validate_mapping

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "reference_data" / "corpus"
ENVIRONMENT_RULES = ("MPI040", "MPI041", "MPI042", "MPI043", "MPI044")


def _corpus(name: str) -> dict:
    return json.loads((CORPUS / f"{name}.mpical.json").read_text(encoding="utf-8"))


def _findings(doc: dict, options: Options | None = None):
    return validate_mapping(doc, CORPUS, options or Options()).findings


def _cells_document() -> tuple[dict, int, int]:
    """The ProMag solution-vs-cells corpus file with a single quantification of labelled cells:
    (document, index of the solution calibration, index of the cell-number calibration)."""
    doc = _corpus("promag-solution-vs-cells")
    ids = [c["id"] for c in doc["calibrations"]]
    doc["quantifications"] = [q for q in doc["quantifications"] if q["id"] == "promag-cells-solution-line"]
    return doc, ids.index("promag-solution-fc"), ids.index("promag-cells-number")


def test_labelled_cells_with_a_solution_calibration_fire_mpi040_at_the_calibration_field() -> None:
    doc, sol, _ = _cells_document()
    assert doc["quantifications"][0]["calibration"] == doc["calibrations"][sol]["id"]
    assert doc["quantifications"][0]["environment"]["kind"] == "cells"
    hits = [f for f in _findings(doc) if f.rule == "MPI040"]
    assert [(f.severity, f.pointer) for f in hits] == [(Severity.ERROR, "/quantifications/0/calibration")]
    msg = hits[0].message
    assert "~30 %" in msg and "~70 %" in msg  # the paper's numbers
    assert "promag-cells-iron" in msg and "% lower" in msg and "FWHM" in msg  # the dataset's own reduction


def test_the_same_cells_with_a_matching_cell_number_calibration_fire_none_of_mpi040_to_mpi044() -> None:
    doc, _, number = _cells_document()
    cal = doc["calibrations"][number]
    q = doc["quantifications"][0]
    # same cell type, labelling, tracer and acquisition as the calibration
    assert q["environment"] == cal["environment"]
    assert (q["tracer"], q["acquisition"]) == (cal["tracer"], cal["acquisition"])
    q["calibration"] = cal["id"]
    q["reported"] = {"cell_count": 300_000}
    findings = _findings(doc)
    on_q = [f for f in findings if f.pointer.startswith("/quantifications/0")]
    assert not [f for f in on_q if f.rule in ENVIRONMENT_RULES], [(f.rule, f.message) for f in on_q]
    assert "MPI040" not in {f.rule for f in findings}


def test_tissue_and_in_vivo_count_as_cellular_for_mpi040_but_gel_does_not() -> None:
    for kind, rule in (("tissue", "MPI040"), ("in_vivo", "MPI040"), ("gel", "MPI042")):
        doc, _, _ = _cells_document()
        doc["quantifications"][0]["environment"] = {"kind": kind}
        rules = {f.rule for f in _findings(doc) if f.pointer == "/quantifications/0/calibration"}
        assert rules == {rule}, kind


# ---------------------------------------------------------------------------------------------
# a small ProMag-like series, written here: 5–100 ug Fe, every level in triplicate

MASSES = (5.0, 10.0, 20.0, 40.0, 70.0, 100.0)
PARTICLE_FG = 1.013e7  # the corpus's ProMag particle model


def _series(method: str) -> dict:
    points = []
    for i, m in enumerate(MASSES):
        y = 14.0 + 180.0 * m
        point = {"sample_id": f"S{i + 1}", "iron_mass_ug": m, "iron_mass_method": "icp-oes",
                 "replicates": [{"max_intensity": y - 20.0}, {"max_intensity": y}, {"max_intensity": y + 20.0}]}
        if method == "fixed_concentration":
            point["volume_uL"] = m / 1.55
            point["concentration_ug_per_uL"] = 1.55
        points.append(point)
    cal = {"id": "series", "tracer": "promag", "acquisition": "hs", "environment": {"kind": "solution"},
           "method": method, "independent_variable": "iron_mass_ug", "points": points}
    if method == "fixed_volume":
        cal["final_volume_uL"] = 200.0
    return {
        "schema_version": "1.0",
        "dataset": {"id": "flags", "title": "paper flags (synthetic)"},
        "tracers": [{"id": "promag", "name": "ProMag", "stock_concentration_method": "icp-oes",
                     "particle_model": {"kind": "iron_mass_per_particle", "iron_mass_per_particle_fg": PARTICLE_FG}}],
        "acquisitions": [{"id": "hs", "sample_holder": {"position": "3"}}],
        "analysis": {"noise": {"method": "empty_holder", "sd": 2.0}, "threshold": {"rule": "k_sd", "k": 5}},
        "calibrations": [cal],
    }


def _wigner_seitz_um(c_ug_per_uL: float) -> float:
    n_per_nm3 = c_ug_per_uL * 1e9 / (1e18 * PARTICLE_FG)
    return (3.0 / (4.0 * math.pi * n_per_nm3)) ** (1.0 / 3.0) / 1000.0


def test_a_fixed_volume_series_over_20x_in_concentration_fires_mpi030_with_its_spans() -> None:
    hits = [f for f in _findings(_series("fixed_volume")) if f.rule == "MPI030"]
    assert [(f.severity, f.pointer) for f in hits] == [(Severity.WARNING, "/calibrations/0")]
    msg = hits[0].message
    # 5/200 = 0.025 to 100/200 = 0.5 ug/uL: a 20-fold span
    assert "0.025–0.5 µg/µL (20×)" in msg
    # distances by hand: Wigner–Seitz (3/(4πn))^(1/3) at both ends, 20^(1/3) = 2.71 apart
    lo, hi = _wigner_seitz_um(0.5), _wigner_seitz_um(0.025)
    assert f"{lo:.4g} µm–{hi:.4g} µm" in msg and "Wigner–Seitz" in msg
    assert "eq. 1" in msg


def test_a_fixed_concentration_series_does_not_fire_mpi030() -> None:
    assert "MPI030" not in {f.rule for f in _findings(_series("fixed_concentration"))}


def test_a_fixed_concentration_series_that_varies_its_concentration_fires_mpi030() -> None:
    doc = _series("fixed_concentration")
    p = doc["calibrations"][0]["points"][0]
    p["concentration_ug_per_uL"] = 0.5  # 0.5 vs 1.55: 3.1×, above the 2× limit
    p["volume_uL"] = 10.0
    assert [f.pointer for f in _findings(doc) if f.rule == "MPI030"] == ["/calibrations/0"]


# ---------------------------------------------------------------------------------------------
# MPI031 needs both: beyond 5 % and beyond 2·√(SE_FC² + SE_FV²)


def _paired(scale: float, relative_spread: float) -> dict:
    """A fixed-volume copy of the FC series, signals × `scale`, replicates ±relative_spread·level."""
    doc = _series("fixed_concentration")
    fc = doc["calibrations"][0]
    fc["id"] = "fc"
    fv = copy.deepcopy(fc)
    fv.update(id="fv", method="fixed_volume", final_volume_uL=200.0, paired_with="fc")
    for p in fv["points"]:
        del p["volume_uL"], p["concentration_ug_per_uL"]
        mid = p["replicates"][1]["max_intensity"] * scale
        spread = relative_spread * mid
        p["replicates"] = [{"max_intensity": mid - spread}, {"max_intensity": mid}, {"max_intensity": mid + spread}]
    doc["calibrations"].append(fv)
    return doc


def test_mpi031_fires_beyond_both_limits_once_per_metric() -> None:
    hits = [f for f in _findings(_paired(0.90, 0.005)) if f.rule == "MPI031"]
    assert [(f.severity, f.pointer) for f in hits] == [(Severity.ERROR, "/calibrations/1")]
    assert "6 of 6 paired levels" in hits[0].message


def test_mpi031_is_quiet_when_the_difference_is_within_the_replicate_uncertainty() -> None:
    # 10 % lower, but FV replicates ±12 % of the level: SE_FV = 0.12·0.9·S_FC/√3 = 0.0624·S_FC, so
    # 2·u > 0.125·S_FC exceeds the 0.1·S_FC difference at every level
    assert "MPI031" not in {f.rule for f in _findings(_paired(0.90, 0.12))}


def test_mpi031_is_quiet_within_the_percentage_limit_however_precise() -> None:
    assert "MPI031" not in {f.rule for f in _findings(_paired(0.96, 0.001))}


def test_mpi031_limits_come_from_the_profile() -> None:
    options = Options(tolerances=Tolerances(paired_percent=12.0))
    assert "MPI031" not in {f.rule for f in _findings(_paired(0.90, 0.005), options)}
