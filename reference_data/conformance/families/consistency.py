"""Vectors for MPI010–MPI012: masses, concentrations and volumes agree; masses measured; replicates."""
from __future__ import annotations

from families.common import CAL, vector

W, E = "warning", "error"


def _conc(value: float):
    def change(d: dict) -> None:
        d["calibrations"][0]["points"][2]["concentration_ug_per_uL"] = value  # m = 9.3 ug, V = 6 uL
    return change


def _unmeasured(d: dict) -> None:
    d["calibrations"][0]["points"][0]["iron_mass_method"] = "nominal"
    d["tracers"][0]["stock_concentration_method"] = "manufacturer"


def _other_measurements(d: dict) -> None:
    for p in d["calibrations"][0]["points"]:
        p["iron_mass_method"] = "ferrozine"
    d["tracers"][0]["stock_concentration_method"] = "icp-ms"


def _replicates(count: int):
    def change(d: dict) -> None:
        point = d["calibrations"][0]["points"][3]  # 12.4 ug, signal 212·12.4 + 14 = 2642.8
        if count < 3:
            point["replicates"] = point["replicates"][:count]
        else:
            point["replicates"].append({"max_intensity": 2642.8, "total_intensity": 25106.6})
    return change


VECTORS = [
    vector("MPI010-fires", "MPI010", True,
           "Point FC-3: 1.70 ug/uL x 6 uL = 10.2 ug, but 9.3 ug reported (9.7 % apart, tolerance 2 %).",
           _conc(1.70), [("MPI010", E, f"{CAL}/points/2")]),
    vector("MPI010-quiet", "MPI010", False,
           "Point FC-3: 1.58 ug/uL x 6 uL = 9.48 ug vs 9.3 ug reported: 1.9 %, inside the 2 % tolerance.",
           _conc(1.58), []),
    vector("MPI011-fires", "MPI011", True,
           "One nominal iron mass in the series and a manufacturer-stated stock concentration.",
           _unmeasured, [("MPI011", W, CAL), ("MPI011", W, "/tracers/0")]),
    vector("MPI011-quiet", "MPI011", False, "Masses by ferrozine assay and stock by ICP-MS: both measured.",
           _other_measurements, []),
    vector("MPI012-fires", "MPI012", True,
           "Level FC-4 measured twice only (the +d replicate dropped; the fit moves by far less than its tolerances).",
           _replicates(2), [("MPI012", W, f"{CAL}/points/3")]),
    vector("MPI012-quiet", "MPI012", False, "Level FC-4 measured four times (a fourth value on the line).",
           _replicates(4), []),
]
