"""Vectors for how images became numbers: MPI050–MPI052 (MPI053 is with the fit family).

The base reports noise (empty holder, SD 2.0), threshold 5·SD and holder position "3" on its
acquisition; no replicate or quantification overrides the position.
"""
from __future__ import annotations

from families.common import CAL, QUANT, vector

W, I = "warning", "info"


def _drop(*keys: str):
    def change(d: dict) -> None:
        for key in keys:
            del d["analysis"][key]
    return change


def _background_roi(d: dict) -> None:
    d["analysis"]["noise"] = {"method": "background_roi", "background_roi": {"z": [0, 20], "x": [0, 20]}}


def _noise_without_sd(d: dict) -> None:
    d["analysis"]["noise"] = {"method": "empty_holder"}


def _k(value):
    def change(d: dict) -> None:
        if value is None:
            d["analysis"]["threshold"] = {"rule": "k_sd"}
        else:
            d["analysis"]["threshold"]["k"] = value
    return change


def _replicate_position(position: str):
    def change(d: dict) -> None:
        d["calibrations"][0]["points"][2]["replicates"][1]["holder_position"] = position
    return change


def _quantification_position(position: str):
    def change(d: dict) -> None:
        d["quantifications"][0]["holder_position"] = position
    return change


def _explicit_positions(d: dict) -> None:
    del d["acquisitions"][0]["sample_holder"]["position"]
    for p in d["calibrations"][0]["points"]:
        for r in p["replicates"]:
            r["holder_position"] = "3"
    d["quantifications"][0]["holder_position"] = "3"


VECTORS = [
    vector("MPI050-fires", "MPI050", True, "No analysis.noise: the threshold's SD is unknown.",
           _drop("noise"), [("MPI050", W, "/analysis")]),
    vector("MPI050-fires-threshold", "MPI050", True, "Noise reported, but no threshold rule.",
           _drop("threshold"), [("MPI050", W, "/analysis")]),
    vector("MPI050-fires-no-sd", "MPI050", True, "Noise measured on an empty holder, but its SD is not given.",
           _noise_without_sd, [("MPI050", W, "/analysis")]),
    vector("MPI050-quiet", "MPI050", False,
           "Near miss: no SD value, but the noise is measured in a stated background ROI of the images "
           "(method background_roi), and the threshold is reported.",
           _background_roi, []),
    vector("MPI051-fires", "MPI051", True, "Threshold 3·SD instead of the paper's 5·SD.",
           _k(3), [("MPI051", I, "/analysis/threshold/k")]),
    vector("MPI051-quiet", "MPI051", False, "Near miss: threshold rule k_sd without k, i.e. the default 5.",
           _k(None), []),
    vector("MPI052-fires", "MPI052", True,
           "One replicate of level FC-3 measured at holder position 5 (the others at the acquisition's 3).",
           _replicate_position("5"), [("MPI052", W, CAL)]),
    vector("MPI052-fires-quantification", "MPI052", True,
           "The quantified sample was measured at position 5, the calibration at position 3.",
           _quantification_position("5"), [("MPI052", W, QUANT)]),
    vector("MPI052-quiet", "MPI052", False,
           "Near miss: the acquisition states no position; every replicate and the sample say position 3.",
           _explicit_positions, []),
]
