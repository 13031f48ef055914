"""Vectors for concentration and dilution: MPI030–MPI034.

The base is a fixed-concentration ProMag-like series at 1.55 ug/uL (masses 3.1–18.6 ug in
2–12 uL), a particle model of 2500 fg Fe per particle and the Wigner–Seitz estimator
declared. Distances below are worked out here with the textbook formulas (independent of
mpistd): n = c·1e9/(1e18·m_p) per nm³, Wigner–Seitz (3/(4πn))^(1/3), cubic n^(-1/3),
nearest neighbour Γ(4/3)·(3/(4πn))^(1/3).
"""
from __future__ import annotations

import math

from families.common import CAL, vector

W, E = "warning", "error"
FV = "/calibrations/1"
PARTICLE_FG = 2500.0  # the base tracer's particle model


def _n_per_nm3(c_ug_per_uL: float) -> float:
    return c_ug_per_uL * 1e9 / (1e18 * PARTICLE_FG)


def wigner_seitz(c: float) -> float:
    return (3.0 / (4.0 * math.pi * _n_per_nm3(c))) ** (1.0 / 3.0)


def cubic(c: float) -> float:
    return _n_per_nm3(c) ** (-1.0 / 3.0)


def nearest_neighbour(c: float) -> float:
    return math.gamma(4.0 / 3.0) * wigner_seitz(c)


# ---------------------------------------------------------------------------------------------


def _to_fixed_volume(cal: dict, final_volume: float = 200.0) -> None:
    """The same iron masses diluted to one final volume: concentration m/200 (0.0155–0.093 ug/uL, 6×)."""
    cal["method"] = "fixed_volume"
    cal["final_volume_uL"] = final_volume
    for p in cal["points"]:
        p.pop("volume_uL", None)
        p.pop("concentration_ug_per_uL", None)


def _fixed_volume(d: dict) -> None:
    _to_fixed_volume(d["calibrations"][0])


def _span_below_limit(d: dict) -> None:
    # point FC-1 in 3.8 uL instead of 2 uL: 3.1/3.8 = 0.8158 ug/uL vs 1.55 elsewhere, a 1.90× span
    p = d["calibrations"][0]["points"][0]
    p["volume_uL"] = 3.8
    del p["concentration_ug_per_uL"]


def _paired(scale: float):
    """A fixed-volume copy of the base series (same ICP masses), diluted to 200 uL and paired with it,
    whose signals are `scale` × the fixed-concentration ones at every replicate (still exactly linear,
    so no fit rule fires)."""
    def change(d: dict) -> None:
        fc = d["calibrations"][0]
        fv = {
            "id": "promag-fv",
            "tracer": fc["tracer"],
            "acquisition": fc["acquisition"],
            "environment": {"kind": "solution", "medium": "water"},
            "method": "fixed_volume",
            "independent_variable": "iron_mass_ug",
            "final_volume_uL": 200.0,
            "paired_with": fc["id"],
            "points": [],
        }
        for i, p in enumerate(fc["points"]):
            fv["points"].append({
                "sample_id": f"FV-{i + 1}",
                "iron_mass_ug": p["iron_mass_ug"],
                "iron_mass_method": "icp-oes",
                "replicates": [{k: round(v * scale, 3) for k, v in r.items()} for r in p["replicates"]],
            })
        d["calibrations"].append(fv)
    return change


def _no_concentration(keep_volume: bool):
    def change(d: dict) -> None:
        p = d["calibrations"][0]["points"][2]
        del p["concentration_ug_per_uL"]
        if not keep_volume:
            del p["volume_uL"]
    return change


def _no_particle_model(report_distances: bool):
    def change(d: dict) -> None:
        del d["tracers"][0]["particle_model"]
        if report_distances:
            for p in d["calibrations"][0]["points"]:
                p["interparticle_distance_nm"] = round(wigner_seitz(p["concentration_ug_per_uL"]), 1)
    return change


def _distance(factor_of, *, declared: bool = True):
    """Point FC-1 reports a distance computed by `factor_of(c)`; optionally no estimator declared."""
    def change(d: dict) -> None:
        p = d["calibrations"][0]["points"][0]
        p["interparticle_distance_nm"] = round(factor_of(p["concentration_ug_per_uL"]), 1)
        if not declared:
            del d["analysis"]["interparticle_distance"]
    return change


POINT0_DISTANCE = f"{CAL}/points/0/interparticle_distance_nm"

VECTORS = [
    vector("MPI030-fires", "MPI030", True,
           "The base series as a fixed-volume series: the same masses in 200 uL, 0.0155–0.093 ug/uL (6×). "
           "Signals are unchanged (exactly linear), so only the dilution warning fires.",
           _fixed_volume, [("MPI030", W, CAL)]),
    vector("MPI030-quiet", "MPI030", False,
           "Near miss: one level in 3.8 uL instead of 2 uL, so the concentrations span 1.55/0.8158 = 1.90×, "
           "below the 2× limit; a fixed-concentration series otherwise.",
           _span_below_limit, []),
    vector("MPI031-fires", "MPI031", True,
           "A fixed-volume copy paired with the base series, every signal 8 % lower: each pair differs by "
           "8 % (> 5 %) and by 8 % of >= 671 = 54 a.u. or more, beyond 2·sqrt(SE_FC² + SE_FV²) <= 2·sqrt(14.4² "
           "+ 13.3²) = 39 a.u. One error per metric (maximum and total intensity), plus the dilution warning "
           "on the fixed-volume series.",
           _paired(0.92), [("MPI030", W, FV), ("MPI031", E, FV), ("MPI031", E, FV)]),
    vector("MPI031-quiet", "MPI031", False,
           "Near miss: the paired fixed-volume copy is 4 % lower: beyond the replicate uncertainty at the "
           "upper levels but inside the 5 % limit. Only the dilution warning.",
           _paired(0.96), [("MPI030", W, FV)]),
    vector("MPI032-fires", "MPI032", True,
           "Point FC-3 reports neither its concentration nor its volume (fixed-concentration series, so no "
           "final volume either).",
           _no_concentration(keep_volume=False), [("MPI032", E, f"{CAL}/points/2")]),
    vector("MPI032-quiet", "MPI032", False,
           "Near miss: point FC-3 reports no concentration but its 6 uL volume, so 9.3/6 = 1.55 ug/uL is derived.",
           _no_concentration(keep_volume=True), []),
    vector("MPI033-fires", "MPI033", True,
           "The tracer has no particle model and no point reports an interparticle distance.",
           _no_particle_model(report_distances=False), [("MPI033", W, "/tracers/0")]),
    vector("MPI033-quiet", "MPI033", False,
           "Near miss: no particle model, but every point reports its interparticle distance (Wigner–Seitz "
           f"{wigner_seitz(1.55):.1f} nm; nothing to check it against).",
           _no_particle_model(report_distances=True), []),
    vector("MPI034-fires", "MPI034", True,
           f"Wigner–Seitz declared, but FC-1 reports the cubic-cell distance {cubic(1.55):.1f} nm "
           f"({(cubic(1.55) / wigner_seitz(1.55) - 1) * 100:.0f} % above the Wigner–Seitz "
           f"{wigner_seitz(1.55):.1f} nm): "
           "an error.",
           _distance(cubic), [("MPI034", E, POINT0_DISTANCE)]),
    vector("MPI034-fires-undeclared", "MPI034", True,
           f"No estimator declared; FC-1 reports 1.3 × Wigner–Seitz = {1.3 * wigner_seitz(1.55):.1f} nm, which "
           f"matches none (cubic {cubic(1.55):.1f}, nearest neighbour {nearest_neighbour(1.55):.1f} nm): a warning.",
           _distance(lambda c: 1.3 * wigner_seitz(c), declared=False), [("MPI034", W, POINT0_DISTANCE)]),
    vector("MPI034-quiet", "MPI034", False,
           f"Near miss: Wigner–Seitz declared and FC-1 reports 1.04 × its {wigner_seitz(1.55):.1f} nm (4 %, "
           "inside the 5 % tolerance).",
           _distance(lambda c: 1.04 * wigner_seitz(c)), []),
    vector("MPI034-quiet-undeclared", "MPI034", False,
           f"No estimator declared; FC-1 reports the cubic-cell distance {cubic(1.55):.1f} nm: one estimator "
           "matches, so nothing fires.",
           _distance(cubic, declared=False), []),
]
