"""Consistency of the calibration points: MPI010–MPI012.

Do the reported masses, concentrations and volumes agree, were the masses measured, and is
every level replicated?
"""
from __future__ import annotations

from typing import Iterator

from mpistd.rules._format import num
from mpistd.rules.registry import Hit, RuleContext, rule

FAMILY = "consistency"
MEASURED_MASS = {"icp-oes", "icp-ms", "ferrozine"}
MEASURED_STOCK = {"icp-oes", "icp-ms", "ferrozine", "other"}


@rule(
    "MPI010", severity="error", family=FAMILY, pointer="the point",
    title="iron mass disagrees with concentration × volume",
    rationale="Iron mass, concentration and volume are three views of one sample; when all three are "
              "reported they must agree, or at least one of them is wrong and so is every quantity "
              "derived from it (the paper's eq. 1 uses concentration, the calibration uses mass).",
    remedy="Re-check the point's iron_mass_ug, concentration_ug_per_uL and volume_uL (or the series' "
           "final_volume_uL); report the measured values, not the planned ones.",
    sources=("Ureña Horno et al. 2025, section 2 (Calibration curve construction)",),
)
def iron_mass_matches_concentration_times_volume(ctx: RuleContext) -> Iterator[Hit]:
    tol = ctx.options.tolerances.iron_mass_relative
    for ci, cal in enumerate(ctx.model.calibrations):
        # a point's own volume, else (fixed-volume series) the series' final volume
        final = cal.final_volume_uL if cal.method == "fixed_volume" else None
        for pi, pt in enumerate(cal.points):
            m, c, v = pt.iron_mass_ug, pt.concentration_ug_per_uL, pt.volume_uL
            if v is None:
                v = final
            if m is None or c is None or v is None:
                continue
            m, c, v = float(m), float(c), float(v)
            cv = c * v
            if m <= 0 and cv <= 0:
                continue
            rel = abs(m - cv) / max(abs(m), abs(cv))
            if rel > tol:
                yield Hit(f"/calibrations/{ci}/points/{pi}",
                          f"iron mass {num(m)} µg differs from concentration × volume = {num(c)} µg/µL × "
                          f"{num(v)} µL = {num(cv)} µg by {rel * 100:.1f} % (tolerance {tol * 100:g} %)")


@rule(
    "MPI011", severity="warning", family=FAMILY, pointer="the calibration (iron-mass series) or the tracer",
    title="iron mass or stock concentration not measured",
    rationale="Manufacturer-stated and nominal iron contents can be far from the truth; the paper "
              "confirmed every iron mass by ICP-OES (section 2) and notes that manufacturer-stated "
              "concentrations differed between tracers. A calibration is only as good as its x values.",
    remedy="Measure the stock concentration and each level's iron mass (ICP-OES, ICP-MS or ferrozine) "
           "and report the method in iron_mass_method / stock_concentration_method.",
    sources=("Ureña Horno et al. 2025, section 2 and 'Impact of dilution at constant iron mass'",),
)
def iron_mass_measured(ctx: RuleContext) -> Iterator[Hit]:
    for ti, tracer in enumerate(ctx.model.tracers):
        method = tracer.stock_concentration_method
        if method not in MEASURED_STOCK:
            what = "not reported" if method is None else f"'{method}'"
            yield Hit(f"/tracers/{ti}", f"tracer '{tracer.id}': stock concentration method {what}; "
                                        "it is not a measurement")
    for ci, cal in enumerate(ctx.model.calibrations):
        if cal.independent_variable != "iron_mass_ug":
            continue
        unmeasured = [pt.sample_id for pt in cal.points if pt.iron_mass_method not in MEASURED_MASS]
        if unmeasured:
            listed = ", ".join(unmeasured[:5]) + (" …" if len(unmeasured) > 5 else "")
            yield Hit(f"/calibrations/{ci}",
                      f"calibration '{cal.id}': iron mass not measured (nominal, manufacturer or unreported "
                      f"method) for {len(unmeasured)} of {len(cal.points)} points: {listed}")


@rule(
    "MPI012", severity="warning", family=FAMILY, pointer="the point",
    title="fewer than 3 replicates at a level",
    rationale="Replicates estimate the pure error that the lack-of-fit test, the homoscedasticity check "
              "and every confidence interval need; the paper measured in triplicate.",
    remedy="Measure each calibration level at least three times (separately prepared samples).",
    sources=("Ureña Horno et al. 2025, section 2", "ISO 8466-1"),
)
def enough_replicates(ctx: RuleContext) -> Iterator[Hit]:
    need = ctx.options.tolerances.min_replicates
    for ci, cal in enumerate(ctx.model.calibrations):
        for pi, pt in enumerate(cal.points):
            if len(pt.replicates) < need:
                yield Hit(f"/calibrations/{ci}/points/{pi}",
                          f"point '{pt.sample_id}' has {len(pt.replicates)} replicate"
                          f"{'s' if len(pt.replicates) != 1 else ''}; at least {need} are needed")
