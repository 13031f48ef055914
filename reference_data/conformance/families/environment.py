"""Vectors for calibrate-where-you-quantify: MPI040–MPI046.

Cellular variants of the base use the paper's labelling (mouse MSCs, 15.5 ug Fe/mL ProMag for
2 h, 96.6 ± 1.1 % labelled; section 2/3). A cell-number calibration turns the base's six
levels into 10 pg Fe per cell: cell counts 310 000–1 860 000, signals unchanged (so exactly
linear in the count). Estimates are recomputed with numpy.polyfit (families.common.refit or
the helper below), independently of mpistd.

Limits of the base line (max intensity, n = 18), worked out by hand from DIN 32645:
s_y = sqrt(2·(20² + 25² + 18² + 22² + 24² + 21²)/16) = 18.87, b = 212, s_x0 = 0.0890 ug,
x̄ = 10.85 ug, Q_x = 3·168.2 = 504.6 ug²; x_NG = s_x0·t(16, 0.99)·sqrt(1 + 1/18 + x̄²/Q_x)
= 0.0890·2.583·1.135 = 0.261 ug, x_EG = 0.522 ug, x_BG = 3·s_x0·t(16, 0.995)·sqrt(1 + 1/18 +
(x_BG − x̄)²/Q_x) = 0.874 ug (iterated).
"""
from __future__ import annotations

import copy

import numpy as np

from families.common import CAL, QUANT, refit, vector

W, E, I = "warning", "error", "info"
QCAL = f"{QUANT}/calibration"
QSIGNAL = f"{QUANT}/signal"

CELLS = {
    "kind": "cells",
    "medium": "HBSS",
    "cell_type": "mouse MSC (D1 ORL UVA)",
    "labelling": {"iron_concentration_ug_per_mL": 15.5, "duration_h": 2.0, "medium": "DMEM/F12"},
    "labelling_efficiency_percent": {"mean": 96.6, "sd": 1.1},
    "viability_percent": 95.0,
}


def _cells(**changes) -> dict:
    env = copy.deepcopy(CELLS)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _cell_calibration(d: dict, env: dict) -> None:
    """The base calibration as cellular, against iron mass (ICP of the pellets in 100 uL HBSS)."""
    cal = d["calibrations"][0]
    cal["environment"] = copy.deepcopy(env)
    for p in cal["points"]:
        p["volume_uL"] = 100.0
        p["concentration_ug_per_uL"] = round(p["iron_mass_ug"] / 100.0, 6)


def _cell_number(d: dict, env: dict) -> None:
    """The base calibration as a cell-number calibration (10 pg Fe per cell), no iron masses."""
    cal = d["calibrations"][0]
    cal.update(environment=copy.deepcopy(env), method="cell_number", independent_variable="cell_count")
    cal.pop("fits", None)
    for p in cal["points"]:
        p["cell_count"] = int(round(p["iron_mass_ug"] * 1e5))
        p["volume_uL"] = 100.0
        for key in ("iron_mass_ug", "iron_mass_method", "concentration_ug_per_uL"):
            p.pop(key, None)
    x = np.array([p["cell_count"] for p in cal["points"] for _ in p["replicates"]], float)
    y = np.array([r["max_intensity"] for p in cal["points"] for r in p["replicates"]], float)
    b, a = np.polyfit(x, y, 1)
    q = d["quantifications"][0]
    q["reported"] = {"cell_count": int(round((float(np.mean(q["signal"])) - a) / b))}


def _quantify_in(env: dict):
    def change(d: dict) -> None:
        d["quantifications"][0]["environment"] = copy.deepcopy(env)
    return change


def _both(calibration, cal_env: dict, quant_env: dict):
    def change(d: dict) -> None:
        calibration(d, cal_env)
        d["quantifications"][0]["environment"] = copy.deepcopy(quant_env)
    return change


def _other_acquisition(**settings):
    def change(d: dict) -> None:
        acq = copy.deepcopy(d["acquisitions"][0])
        acq.update(id="hs-2d-b", **settings)
        d["acquisitions"].append(acq)
        d["quantifications"][0]["acquisition"] = "hs-2d-b"
    return change


def _other_tracer(d: dict) -> None:
    tracer = copy.deepcopy(d["tracers"][0])
    tracer.update(id="vivotrax", name="VivoTrax", vendor="Magnetic Insight", product_code="VivoTrax")
    d["tracers"].append(tracer)
    d["quantifications"][0]["tracer"] = "vivotrax"


def _signals(values):
    def change(d: dict) -> None:
        d["quantifications"][0]["signal"] = list(values)
        refit(d)
    return change


def _around(estimate: float) -> list[float]:
    """Three replicate signals ±6 around the base line (14 + 212 m) at `estimate` ug."""
    y = 14.0 + 212.0 * estimate
    return [round(y - 6.0, 1), round(y, 1), round(y + 6.0, 1)]


GEL = {"kind": "gel", "medium": "1 % agarose"}
VECTORS = [
    vector("MPI040-fires", "MPI040", True,
           "Labelled MSCs quantified with the base's solution (water) calibration.",
           _quantify_in(CELLS), [("MPI040", E, QCAL)]),
    vector("MPI040-quiet", "MPI040", False,
           "Near miss: the same labelled cells quantified with a cell-number calibration of the same cell type, "
           "labelling, tracer and acquisition (efficiency and viability reported): nothing fires.",
           _both(_cell_number, CELLS, CELLS), []),
    vector("MPI041-fires", "MPI041", True,
           "The sample was acquired at 5.7 T/m, the calibration at 3 T/m (acquisition 'hs-2d-b').",
           _other_acquisition(gradient_T_per_m=5.7), [("MPI041", E, QCAL)]),
    vector("MPI041-fires-tracer", "MPI041", True,
           "The sample holds VivoTrax, the calibration is of ProMag.",
           _other_tracer, [("MPI041", E, QCAL)]),
    vector("MPI041-quiet", "MPI041", False,
           "Near miss: another acquisition id with the same mode, dimensionality, gradient, drive frequency and "
           "amplitudes (only the field of view and software version differ).",
           _other_acquisition(fov_mm={"x": 60.0, "z": 100.0},
                              scanner={"manufacturer": "Magnetic Insight", "model": "Momentum",
                                       "software_version": "2.1"}), []),
    vector("MPI042-fires", "MPI042", True,
           "A sample in agarose gel quantified with the solution calibration (gel is not cells, so not MPI040).",
           _quantify_in(GEL), [("MPI042", W, QCAL)]),
    vector("MPI042-fires-labelling", "MPI042", True,
           "Cell-number calibration with cells labelled at 15.5 ug/mL for 2 h; the quantified cells were "
           "labelled at 25 ug/mL for 2 h.",
           _both(_cell_number, CELLS, _cells(labelling={"iron_concentration_ug_per_mL": 25.0, "duration_h": 2.0})),
           [("MPI042", W, QCAL)]),
    vector("MPI042-quiet", "MPI042", False,
           "Near miss: the sample is in PBS, the calibration in water: both solution (the medium is not compared).",
           _quantify_in({"kind": "solution", "medium": "PBS"}), []),
    vector("MPI043-fires", "MPI043", True,
           "A cellular calibration against iron mass (pellet ICP in 100 uL HBSS) used for the same cells.",
           _both(_cell_calibration, CELLS, CELLS), [("MPI043", W, CAL)]),
    vector("MPI043-quiet", "MPI043", False,
           "Near miss: the cellular calibration is against cell number, as the paper recommends.",
           _both(_cell_number, CELLS, CELLS), []),
    vector("MPI044-fires", "MPI044", True,
           "Signals around 14 + 212·20.5 = 4360: the estimate 20.5 ug is above the calibrated 3.1–18.6 ug.",
           _signals(_around(20.5)), [("MPI044", W, QSIGNAL)]),
    vector("MPI044-quiet", "MPI044", False,
           "Near miss: signals around 14 + 212·18.0: the estimate 18.0 ug is just inside 3.1–18.6 ug.",
           _signals(_around(18.0)), []),
    vector("MPI045-fires", "MPI045", True,
           "Estimate 0.45 ug: below the DIN 32645 quantification limit 0.874 ug (and below the detection "
           "limit 0.522 ug, so the message says so) and below the calibrated range (MPI044).",
           _signals(_around(0.45)), [("MPI044", W, QSIGNAL), ("MPI045", W, QSIGNAL)]),
    vector("MPI045-quiet", "MPI045", False,
           "Near miss: estimate 1.3 ug, below the calibrated range (MPI044) but above the quantification "
           "limit 0.874 ug.",
           _signals(_around(1.3)), [("MPI044", W, QSIGNAL)]),
    vector("MPI046-fires", "MPI046", True,
           "A cell-number calibration (and the cells quantified) without viability reported.",
           _both(_cell_number, _cells(viability_percent=None), _cells(viability_percent=None)),
           [("MPI046", I, f"{CAL}/environment")]),
    vector("MPI046-quiet", "MPI046", False,
           "Near miss: labelling efficiency and viability both reported (the quantified cells' environment "
           "omits them: only the calibration's is judged).",
           _both(_cell_number, CELLS, _cells(viability_percent=None, labelling_efficiency_percent=None)), []),
]
