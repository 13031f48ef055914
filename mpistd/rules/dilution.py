"""Concentration and dilution: MPI030–MPI034.

The paper (section 3, "Impact of dilution at constant iron mass" and "Experimental
comparison of Fixed-Concentration and Fixed-Volume calibration methods", Fig. 3–5) shows
that the MPI signal of a given iron mass depends on the SPION concentration, i.e. on the
mean interparticle distance: a serial-dilution (fixed-volume) calibration therefore encodes
concentration as well as iron mass. It asks that concentration and interparticle distance be
reported with every point (section 4). Every number judged here was computed once by
:mod:`mpistd.quantities` (concentrations, distances, eq. 1, the FV/FC pairing).
"""
from __future__ import annotations

from typing import Iterator

from mpistd.findings import Severity
from mpistd.rules._format import metric_name, num, pct
from mpistd.rules.registry import Hit, RuleContext, rule

FAMILY = "dilution"
PAPER = "Ureña Horno et al. 2025"
ESTIMATOR_NAMES = {"wigner_seitz": "Wigner–Seitz", "cubic": "cubic-cell", "nearest_neighbour": "nearest-neighbour"}
DILUTABLE = ("solution", "gel")  # environments where the tracer's concentration is the sample's


def _length(nm: float | None, unit_of: float | None = None) -> str:
    """A distance in nm, or in µm when it (or `unit_of`, the larger end of a span) is 10 µm or more
    (the paper quotes 116 µm in solution and 306 nm in cells)."""
    if nm is not None and max(nm, unit_of or 0.0) >= 1e4:
        return f"{num(nm / 1000.0)} µm"
    return f"{num(nm)} nm"


def _estimator(name: str) -> str:
    return ESTIMATOR_NAMES.get(name, name)


def _sample_ids(cq, indices) -> str:
    return ", ".join(f"'{cq.points[i].sample_id}'" for i in indices)


def _largest(values) -> tuple[int, float] | None:
    """Index and value of the entry with the largest magnitude."""
    best = None
    for i, v in enumerate(values):
        if v is not None and (best is None or abs(v) > abs(best[1])):
            best = (i, v)
    return best


def _eq1_split_text(cq, q) -> str:
    """MPI030's offset-vs-spacing split of the eq. 1 deviation, or why it cannot be made."""
    pieces = []
    sources = set()
    for metric, sp in cq.eq1_split.items():
        big = _largest(sp.total_percent)
        if big is None:
            continue
        i, total = big
        pieces.append(f"{metric_name(metric)} {pct(total)} at '{cq.points[i].sample_id}' = "
                      f"{sp.offset_percent[i]:+.1f} points offset (S₀ = {num(sp.offset)}) + "
                      f"{pct(sp.spacing_percent[i])} spacing")
        if sp.offset_source == "blank":
            sources.add("the measured blank")
        elif cq.paired is not None:
            sources.add(f"the intercept of the paired fixed-concentration series "
                        f"'{q.calibrations[cq.paired.fc_index].id}'")
    if pieces:
        return "split with the background offset S₀ from " + " and ".join(sorted(sources)) + ": " + "; ".join(pieces)
    return ("whether part of this is a background offset rather than a spacing effect cannot be decided from "
            "this series alone (at a fixed volume eq. 1 is proportionality to iron mass, and a line's intercept "
            "absorbs part of a dilution effect); a measured blank or a paired fixed-concentration series would "
            "separate them")


@rule(
    "MPI030", severity="warning", family=FAMILY, pointer="the calibration",
    title="dilution confounding: the concentration varies along an iron-mass series",
    rationale="At constant iron mass the MPI signal depends on the SPION concentration (interparticle "
              "distance): the paper measured ProMag's maximum intensity 9.44 % lower after a 20-fold "
              "dilution, the fixed-volume (serial-dilution) series differed from the fixed-concentration "
              "one by up to that much, and fixed-volume signals deviated up to ~16 % from the spacing-only "
              "model of eq. 1 (section 3, Fig. 3–5). A series in solution or gel whose concentration "
              "varies (fixed volume, or a span above the profile's limit, 2× by default) therefore "
              "calibrates concentration effects together with iron mass. At a fixed volume eq. 1 is proportionality "
              "to iron mass, so a background offset and a spacing effect look alike; with a measured blank or "
              "the paired fixed-concentration series' intercept as the offset, the deviation is split into the "
              "two (docs/decisions.md).",
    remedy="Build the calibration at fixed concentration (increasing volumes of one stock, the paper's "
           "recommendation, section 4); if a fixed-volume series is needed, also measure the matching "
           "fixed-concentration series (paired_with) and report concentration and interparticle distance "
           "with every point.",
    sources=(f"{PAPER}, section 3 (Fig. 3, 4, 5; eq. 1) and section 4",),
)
def dilution_confounding(ctx: RuleContext) -> Iterator[Hit]:
    t = ctx.options.tolerances
    q = ctx.quantities
    for cq in q.calibrations:
        cal = ctx.model.calibrations[cq.index]
        if cal.independent_variable != "iron_mass_ug" or cal.environment.kind not in DILUTABLE:
            continue
        span = cq.concentration_span
        if cal.method != "fixed_volume" and not (span is not None and span > t.dilution_span):
            continue
        why = ("a fixed-volume series" if cal.method == "fixed_volume"
               else f"its concentration span exceeds {t.dilution_span:g}×")
        parts = [f"{cal.environment.kind} iron-mass series '{cq.id}' ({why})"]
        concs = [p.concentration_ug_per_uL for p in cq.points if p.concentration_ug_per_uL]
        if concs:
            ratio = f" ({num(span, 3)}×)" if span is not None else ""
            parts.append(f"concentration {num(min(concs))}–{num(max(concs))} µg/µL{ratio}")
        else:
            parts.append("concentration not reported nor derivable (MPI032)")
        if cq.distance_span is not None:
            lo, hi = cq.distance_span
            parts.append(f"mean interparticle distance {_length(lo, hi)}–{_length(hi)} "
                         f"({_estimator(q.estimator)} estimator)")
        eq1 = []
        for metric, result in cq.eq1.items():
            big = _largest(result.deviation_percent)
            if big is not None:
                i, dev = big
                p = cq.points[i]
                where = f"'{p.sample_id}'"
                if p.interparticle_distance_nm is not None:
                    where += f", d = {_length(p.interparticle_distance_nm)}"
                eq1.append(f"{metric_name(metric)} {pct(dev)} ({where})")
        if eq1:
            ref = cq.points[next(iter(cq.eq1.values())).reference_index].sample_id
            parts.append(f"largest deviation from eq. 1 (reference '{ref}'): " + ", ".join(eq1))
            parts.append(_eq1_split_text(cq, q))
        if cq.paired is not None and cq.paired.differences:
            fc = q.calibrations[cq.paired.fc_index]
            per_metric = []
            for metric, diffs in cq.paired.differences.items():
                rows = sorted((d for d in diffs if d.percent_difference is not None),
                              key=lambda d: -(d.dilution_ratio or 0.0))
                if rows:
                    per_metric.append(f"{metric_name(metric)} " + ", ".join(
                        f"{pct(d.percent_difference)} at {num(d.dilution_ratio, 3)}×" for d in rows))
            if per_metric:
                parts.append(f"difference from the fixed-concentration series '{fc.id}' "
                             "(FC − FV)/FC by dilution ratio: " + "; ".join(per_metric))
        yield Hit(cq.pointer, "; ".join(parts))


@rule(
    "MPI031", severity="error", family=FAMILY, pointer="the fixed-volume calibration (per metric)",
    title="paired fixed-volume and fixed-concentration series differ at equal iron mass",
    rationale="A fixed-volume sample made by diluting a fixed-concentration sample holds the same iron "
              "mass; if its signal differs beyond the profile's limit (5 % by default) and beyond the "
              "replicate uncertainty (2·√(SE_FC² + SE_FV²)), the dilution itself changed the signal and "
              "the two calibrations cannot both be right for that iron mass (paper, section 3, Fig. 4: "
              "ProMag maximum intensity up to 9.44 % lower after dilution). With single replicates (no "
              "standard error) the percentage alone decides, and the message says so.",
    remedy="Quantify with the fixed-concentration calibration, at the concentration of the unknown "
           "samples; report the difference and keep the fixed-volume series only as evidence of the "
           "dilution effect.",
    sources=(f"{PAPER}, section 3 (Fig. 4, eqs. S12–S14)", "STANDARD.md, Derived quantities"),
)
def paired_series_agree(ctx: RuleContext) -> Iterator[Hit]:
    t = ctx.options.tolerances
    for cq in ctx.quantities.calibrations:
        comp = cq.paired
        if comp is None or not comp.differences:
            continue
        fc = ctx.quantities.calibrations[comp.fc_index]
        unmatched = []
        if comp.pairing.unmatched_fc:
            unmatched.append(f"'{fc.id}' {_sample_ids(fc, comp.pairing.unmatched_fc)}")
        if comp.pairing.unmatched_fv:
            unmatched.append(f"'{cq.id}' {_sample_ids(cq, comp.pairing.unmatched_fv)}")
        for metric, diffs in comp.differences.items():
            beyond = []
            for d in diffs:
                if d.percent_difference is None or d.difference is None:
                    continue
                if abs(d.percent_difference) <= t.paired_percent:
                    continue
                if d.uncertainty is not None:
                    limit = t.paired_uncertainty_factor * d.uncertainty
                    if abs(d.difference) <= limit:
                        continue
                    noise = f"|Δ| = {num(abs(d.difference))} > {t.paired_uncertainty_factor:g}·u = {num(limit)}"
                else:
                    noise = "replicate uncertainty unknown (single replicates)"
                ratio = f"{num(d.dilution_ratio, 3)}×" if d.dilution_ratio is not None else "ratio unknown"
                mass = f"{num(d.iron_mass)} µg" if d.iron_mass is not None else "iron mass unknown"
                beyond.append(f"'{fc.points[d.i_fc].sample_id}'/'{cq.points[d.i_fv].sample_id}' ({mass}, "
                              f"dilution {ratio}): {num(d.signal_fc_mean, 6)} vs {num(d.signal_fv_mean, 6)}, "
                              f"{pct(d.percent_difference)} ({noise})")
            if not beyond:
                continue
            msg = (f"{metric_name(metric)} of '{cq.id}' differs from '{fc.id}' at equal iron mass beyond "
                   f"{t.paired_percent:g} % and the replicate uncertainty at {len(beyond)} of {len(diffs)} "
                   f"paired level{'s' if len(diffs) != 1 else ''}: " + "; ".join(beyond))
            if unmatched:
                msg += "; unmatched points (iron masses differ by more than " \
                       f"{t.pairing_mass_relative * 100:g} %): " + ", ".join(unmatched)
            yield Hit(cq.pointer, msg, metric=metric)


@rule(
    "MPI032", severity="error", family=FAMILY, pointer="the point",
    title="concentration neither reported nor derivable",
    rationale="The paper shows that concentration changes the signal of a given iron mass and asks that "
              "concentration be reported with every calibration point (sections 3 and 4); without it (or "
              "the volume to derive it) neither dilution effects nor interparticle distances can be judged.",
    remedy="Report concentration_ug_per_uL, or the sample volume (volume_uL; for a fixed-volume series "
           "the series' final_volume_uL).",
    sources=(f"{PAPER}, section 4",),
)
def concentration_known(ctx: RuleContext) -> Iterator[Hit]:
    for cq in ctx.quantities.calibrations:
        cal = ctx.model.calibrations[cq.index]
        if cal.independent_variable != "iron_mass_ug":
            continue
        for p in cq.points:
            if p.concentration_ug_per_uL is None:
                mass = f" ({num(p.iron_mass_ug)} µg Fe)" if p.iron_mass_ug is not None else ""
                yield Hit(p.pointer, f"point '{p.sample_id}'{mass} of '{cq.id}' reports neither "
                                     "concentration_ug_per_uL nor volume_uL, so its concentration is unknown")


@rule(
    "MPI033", severity="warning", family=FAMILY, pointer="the tracer",
    title="interparticle distance neither reported nor derivable",
    rationale="The paper explains the dilution and cellular effects by the mean interparticle distance "
              "(eq. 1; ~116 µm in solution vs ~306 nm in cells for ProMag) and asks that it be reported "
              "(section 4). It follows from the concentration only with a particle model (iron mass per "
              "particle, or core size and density).",
    remedy="Give the tracer a particle_model (iron_mass_per_particle_fg, or spherical_core with "
           "core_diameter_nm), or report interparticle_distance_nm with every point.",
    sources=(f"{PAPER}, section 3 (eq. 1, Tables S2–S3) and section 4",),
)
def distance_known(ctx: RuleContext) -> Iterator[Hit]:
    for ti, tracer in enumerate(ctx.model.tracers):
        if tracer.particle_model is not None:
            continue
        lacking = []
        for cal in ctx.model.calibrations:
            if cal.tracer != tracer.id or cal.independent_variable != "iron_mass_ug":
                continue
            n = sum(1 for p in cal.points if p.interparticle_distance_nm is None)
            if n:
                lacking.append(f"'{cal.id}' ({n} of {len(cal.points)} points)")
        if lacking:
            yield Hit(f"/tracers/{ti}", f"tracer '{tracer.id}' has no particle_model and interparticle_distance_nm "
                                        "is missing in " + ", ".join(lacking))


@rule(
    "MPI034", severity="error", family=FAMILY, pointer="the point's interparticle_distance_nm",
    title="reported interparticle distance differs from the derived one",
    rationale="A reported interparticle distance must follow from the point's concentration and the "
              "particle model by the estimator used; the paper does not name its estimator, and the "
              "usual ones differ by a factor of up to 1.8 (Wigner–Seitz radius, cubic cell, Poisson nearest "
              "neighbour). Against a declared estimator a difference beyond the tolerance (5 %) is an "
              "error; with none declared, a value no estimator reproduces is a warning.",
    remedy="Declare the estimator (analysis.interparticle_distance.estimator) and report the distance it "
           "gives, or correct the concentration or the particle model.",
    sources=(f"{PAPER}, section 3 (eq. 1)", "Chandrasekhar 1943, Rev. Mod. Phys. 15, 1 (nearest neighbour)"),
)
def distance_matches(ctx: RuleContext) -> Iterator[Hit]:
    tol = ctx.options.tolerances.distance_relative
    analysis = ctx.document.get("analysis") if isinstance(ctx.document, dict) else None
    spacing = analysis.get("interparticle_distance") if isinstance(analysis, dict) else None
    declared = isinstance(spacing, dict) and "estimator" in spacing
    estimator = ctx.quantities.estimator
    for cq in ctx.quantities.calibrations:
        cal = ctx.model.calibrations[cq.index]
        for p, pt in zip(cq.points, cal.points):
            reported = pt.interparticle_distance_nm
            if reported is None or not p.distances_nm:
                continue
            rel = {e: abs(reported - d) / d for e, d in p.distances_nm.items() if d > 0}
            if not rel:
                continue
            closest = min(rel, key=rel.get)
            where = f"point '{p.sample_id}' reports {num(reported, 6)} nm at {num(p.concentration_ug_per_uL)} µg/µL"
            pointer = f"{p.pointer}/interparticle_distance_nm"
            if declared:
                derived = p.distances_nm.get(estimator)
                if derived is None or rel[estimator] <= tol:
                    continue
                msg = (f"{where}; the declared {_estimator(estimator)} estimator gives {num(derived, 6)} nm "
                       f"({(reported / derived - 1) * 100:+.1f} %, tolerance {tol * 100:g} %)")
                if closest != estimator and rel[closest] <= tol:
                    msg += (f"; the value matches the {_estimator(closest)} estimator "
                            f"({num(p.distances_nm[closest], 6)} nm)")
                yield Hit(pointer, msg)
            elif rel[closest] > tol:
                others = ", ".join(f"{_estimator(e)} {num(d, 6)} nm" for e, d in p.distances_nm.items())
                yield Hit(pointer, f"{where}; no estimator reproduces it within {tol * 100:g} % ({others}); "
                                   f"closest: {_estimator(closest)} "
                                   f"({(reported / p.distances_nm[closest] - 1) * 100:+.1f} %)",
                          severity=Severity.WARNING)
