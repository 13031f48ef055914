"""The calibration line and what it may claim: MPI020–MPI029, MPI053 and MPI054.

The paper fits a straight line not forced through the origin and reports R² (section 2,
"Calibration curve fitting"); the analytical-chemistry standards ask for more before a line
may quantify anything: enough levels, a linearity test beyond R², limits of detection and
quantification, and an interval on every quantified value. Every number judged here was
computed once by :mod:`mpistd.quantities`.
"""
from __future__ import annotations

from typing import Iterator

from mpistd.quantify.calibration import Skipped, Unusable
from mpistd.quantify.limits import InversePrediction, Limits
from mpistd.rules._format import metric_name, num
from mpistd.rules.registry import Hit, RuleContext, rule

FAMILY = "fit"
ADVICE_NOT_R2 = "R² alone is not a linearity test (IUPAC; Van Loco et al. 2002)"


def _usable_fits(ctx: RuleContext) -> list:
    """Every (calibration, usable line) of the dataset, in order; found once per dataset (several
    rules walk them) and kept in the context."""
    found = ctx.extra.get("usable_fits")
    if found is None:
        found = ctx.extra["usable_fits"] = [(cq, sf) for cq in ctx.quantities.calibrations
                                            for sf in cq.fits if sf.usable]
    return found


def _label(sf) -> str:
    basis = "" if sf.basis == "replicates" else f", {sf.basis.replace('_', ' ')}"
    weighting = "" if sf.weighting == "none" else f", weights {sf.weighting}"
    origin = ", through the origin" if sf.through_origin else ""
    return f"{metric_name(sf.metric)}{basis}{weighting}{origin}"


@rule(
    "MPI020", severity="warning", family=FAMILY, pointer="the calibration",
    title="fewer than 5 distinct levels",
    rationale="Linearity and limits cannot be judged from a few levels: ICH Q2(R2) asks for a minimum "
              "of 5 concentrations, ISO 8466-1 for more (10).",
    remedy="Add calibration levels spread over the working range (at least 5, better 6–10).",
    sources=("ICH Q2(R2) (2023), linearity", "ISO 8466-1"),
)
def enough_levels(ctx: RuleContext) -> Iterator[Hit]:
    need = ctx.options.tolerances.min_levels
    for cq in ctx.quantities.calibrations:
        levels = {p.x for p in cq.points if p.x is not None}
        if len(levels) < need:
            yield Hit(cq.pointer, f"calibration '{cq.id}' has {len(levels)} distinct level"
                                  f"{'s' if len(levels) != 1 else ''}; at least {need} are recommended")


@rule(
    "MPI021", severity="warning", family=FAMILY, pointer="the fit's through_origin",
    title="fit forced through the origin",
    rationale="The paper deliberately did not force the line through the origin: near zero iron the "
              "signal is least precise (equipment noise), and forcing a zero intercept distorts the slope "
              "across the whole range.",
    remedy="Fit the line with a free intercept (through_origin: false) and report the intercept.",
    sources=("Ureña Horno et al. 2025, section 2 (Calibration curve fitting)",),
)
def not_through_origin(ctx: RuleContext) -> Iterator[Hit]:
    for ci, cal in enumerate(ctx.model.calibrations):
        for k, rf in enumerate(cal.fits or []):
            if rf.through_origin:
                yield Hit(f"/calibrations/{ci}/fits/{k}/through_origin",
                          f"the reported {metric_name(rf.metric)} fit of '{cal.id}' is forced through the origin")


@rule(
    "MPI022", severity="error", family=FAMILY, pointer="the differing parameter (/…/fits/k/slope)",
    title="reported fit differs from the recomputed one",
    rationale="A calibration is reproducible only if its reported parameters follow from its reported "
              "points; mpistd refits on the same basis (replicates or level means, weighting, intercept) "
              "and compares.",
    remedy="Report the parameters of the fit to exactly these points, or correct the points; say whether "
           "the fit used every replicate or the level means (fitted_to) and which weights.",
    sources=("STANDARD.md, ReportedFit",),
)
def reported_fit_matches(ctx: RuleContext) -> Iterator[Hit]:
    t = ctx.options.tolerances
    for cq in ctx.quantities.calibrations:
        cal = ctx.model.calibrations[cq.index]
        for sf in cq.fits:
            if sf.reported_index is None or not sf.usable:
                continue
            rf = cal.fits[sf.reported_index]
            fit = sf.fit
            base = f"{cq.pointer}/fits/{sf.reported_index}"
            where = f"({_label(sf)}, n = {fit.n})"
            if fit.slope != 0:
                rel = abs(rf.slope - fit.slope) / abs(fit.slope)
                if rel > t.slope_relative:
                    yield Hit(f"{base}/slope", f"reported slope {num(rf.slope, 6)} differs from the recomputed "
                                               f"{num(fit.slope, 6)} by {rel * 100:.2f} % (tolerance "
                                               f"{t.slope_relative * 100:g} %) {where}")
            if rf.intercept is not None and not sf.through_origin:
                scale = max(map(abs, sf.y)) if sf.y else 0.0
                limit = t.intercept_fraction_of_max_signal * scale
                if abs(rf.intercept - fit.intercept) > limit:
                    yield Hit(f"{base}/intercept",
                              f"reported intercept {num(rf.intercept, 6)} differs from the recomputed "
                              f"{num(fit.intercept, 6)} by {num(abs(rf.intercept - fit.intercept))} (tolerance "
                              f"{t.intercept_fraction_of_max_signal * 100:g} % of the largest signal = {num(limit)}) "
                              f"{where}")
            if rf.r_squared is not None and abs(rf.r_squared - fit.r_squared) > t.r_squared_absolute:
                yield Hit(f"{base}/r_squared", f"reported R² {rf.r_squared:.5f} differs from the recomputed "
                                               f"{fit.r_squared:.5f} (tolerance {t.r_squared_absolute:g}) {where}")


@rule(
    "MPI023", severity="warning", family=FAMILY,
    pointer="the fit, or the calibration when none is reported (per metric)",
    title="significant non-linearity",
    rationale="A straight line quantifies correctly only where the response is linear. The paper shows "
              "that concentration effects bend MPI calibrations (Fig. 5); Mandel's fitting test (quadratic "
              "vs linear, 99 %) and the lack-of-fit F-test against pure error (95 %) detect curvature "
              f"that R² hides; {ADVICE_NOT_R2}.",
    remedy="Narrow the working range to the linear part, use a fixed-concentration series (no dilution "
           "effects), or fit and justify a non-linear model.",
    sources=("Mandel 1964; DIN 38402-51", "ISO 8466-1", "Ureña Horno et al. 2025, Fig. 5"),
)
def linearity(ctx: RuleContext) -> Iterator[Hit]:
    t = ctx.options.tolerances
    for cq, sf in _usable_fits(ctx):
        reasons = []
        if sf.mandel is not None and not isinstance(sf.mandel, Skipped) and sf.mandel.significant(t.mandel_alpha):
            reasons.append(f"Mandel F = {num(sf.mandel.f)} (p = {num(sf.mandel.p_value, 3)} < {t.mandel_alpha:g})")
        lof = sf.lack_of_fit
        if lof is not None and not isinstance(lof, Skipped) and lof.significant(t.lack_of_fit_alpha):
            reasons.append(f"lack of fit F = {num(lof.f)} (p = {num(lof.p_value, 3)} < {t.lack_of_fit_alpha:g})")
        if reasons:
            yield Hit(sf.pointer, f"'{cq.id}' {_label(sf)} is not linear: " + "; ".join(reasons)
                      + f" (R² = {sf.fit.r_squared:.4f})", metric=sf.metric)


@rule(
    "MPI024", severity="warning", family=FAMILY, pointer="as MPI023",
    title="R² below the profile's minimum",
    rationale="A low coefficient of determination means the line explains little of the signal's "
              "variation; the paper reports R² for every calibration.",
    remedy="Look for outliers, non-linearity (MPI023) or a range too narrow for the noise; remeasure.",
    sources=("Ureña Horno et al. 2025, Fig. 1d",),
)
def r_squared_minimum(ctx: RuleContext) -> Iterator[Hit]:
    floor = ctx.options.tolerances.r_squared_min
    for cq, sf in _usable_fits(ctx):
        if sf.fit.r_squared < floor:
            yield Hit(sf.pointer, f"'{cq.id}' {_label(sf)}: R² = {sf.fit.r_squared:.4f} is below {floor:g}",
                      metric=sf.metric)


@rule(
    "MPI025", severity="info", family=FAMILY, pointer="as MPI023",
    title="end-level variances differ: weighted fit suggested",
    rationale="Ordinary least squares assumes equal variance at every level; when the variances at the "
              "lowest and highest level differ significantly (F-test, 99 %), the low end is fitted badly "
              "and limits are wrong.",
    remedy="Fit with weights (1/x or 1/x², declared in the reported fit) or narrow the range.",
    sources=("DIN 38402-51", "ISO 8466-1", "Almeida et al. 2002, J. Chromatogr. A"),
)
def homoscedastic(ctx: RuleContext) -> Iterator[Hit]:
    alpha = ctx.options.tolerances.homoscedasticity_alpha
    for cq, sf in _usable_fits(ctx):
        h = sf.homoscedasticity
        if sf.weighting != "none" or h is None or isinstance(h, Skipped):
            continue
        if h.significant(alpha):
            yield Hit(sf.pointer, f"'{cq.id}' {_label(sf)}: variance at the highest level {num(h.var_high)} vs "
                                  f"{num(h.var_low)} at the lowest (F = {num(h.f)}, p = {num(h.p_value, 3)})",
                      metric=sf.metric)


@rule(
    "MPI026", severity="warning", family=FAMILY, pointer="the point",
    title="back-calculated level off by more than 10 %",
    rationale="Reading each level's mean signal back through the line should return its own x; a level "
              "that comes back more than 10 % off shows where the line does not describe the data.",
    remedy="Check that level (outlier, preparation error) or restrict the range; consider weighting.",
    sources=("ICH M10 / EMA bioanalytical guideline (±15 %, ±20 % at LLOQ); STANDARD.md uses ±10 %",),
)
def back_calculation(ctx: RuleContext) -> Iterator[Hit]:
    limit = ctx.options.tolerances.back_calculated_relative
    for cq in ctx.quantities.calibrations:
        off: dict[int, list[str]] = {}
        for sf in cq.fits:
            if not sf.usable:
                continue
            for bc in sf.back_calculated:
                if bc.relative_error is None or abs(bc.relative_error) <= limit:
                    continue
                for pi, p in enumerate(cq.points):
                    if p.x == bc.x_level:
                        off.setdefault(pi, []).append(
                            f"{_label(sf)} gives {num(bc.x_hat)} ({bc.relative_error * 100:+.1f} %)")
        for pi, parts in sorted(off.items()):
            p = cq.points[pi]
            yield Hit(p.pointer, f"level '{p.sample_id}' (x = {num(p.x)}) back-calculates off by more than "
                                 f"{limit * 100:g} %: " + "; ".join(parts))


@rule(
    "MPI027", severity="error", family=FAMILY, pointer="the calibration",
    title="no usable calibration line",
    rationale="A line from fewer than 3 points or a single level, or whose slope is not significantly "
              "different from zero (its 95 % interval includes 0), cannot turn a signal into an amount.",
    remedy="Measure more levels over a wider range; with 1/x weights every x must be positive.",
    sources=("Massart et al. 1997, ch. 8",),
)
def usable_line(ctx: RuleContext) -> Iterator[Hit]:
    for cq in ctx.quantities.calibrations:
        problems = []
        for sf in cq.fits:
            if isinstance(sf.fit, Unusable):
                problems.append(f"{_label(sf)}: {sf.fit.reason}")
            elif sf.fit.slope_ci95[0] <= 0 <= sf.fit.slope_ci95[1]:
                lo, hi = sf.fit.slope_ci95
                problems.append(f"{_label(sf)}: slope {num(sf.fit.slope)} has a 95 % interval "
                                f"[{num(lo)}, {num(hi)}] that includes 0")
        if not cq.fits:
            problems.append("no metric is present in every replicate, so no line can be fitted")
        if problems:
            yield Hit(cq.pointer, f"calibration '{cq.id}' has no usable line: " + "; ".join(problems))


@rule(
    "MPI028", severity="info", family=FAMILY, pointer="as MPI023",
    title="a statistic was skipped",
    rationale="Some statistics cannot be computed for some data (Mandel's test needs 4 points, lack of "
              "fit needs replicates and non-zero pure error, limits need residual variance; a weighted fit's "
              "decision and detection limits need a reported blank's variance; x_BG has no finite value when "
              "its equation has no real positive root); mpistd says so instead of printing NaN.",
    remedy="Usually: measure replicates at every level and more levels. Nothing to do if the design is deliberate.",
    sources=("STANDARD.md, Derived quantities",
             "DIN 32645:2008 (x_NG, x_EG with β, x_BG and its roots)",
             "Massart et al. 1997, section 13.7.8 (x_D); chemCal lod/loq (w.loq, var.loq)"),
)
def skipped_statistics(ctx: RuleContext) -> Iterator[Hit]:
    for cq, sf in _usable_fits(ctx):
        # Massart's x_D is an alternative to DIN 32645's x_EG: its skips repeat DIN's or concern
        # weighted fits, which DIN 32645 handles
        limits = [v for key, v in sf.limits.items() if key != "massart"]
        parts = [f"{s.statistic} ({s.reason})" for s in (sf.lack_of_fit, sf.mandel, sf.homoscedasticity, *limits)
                 if isinstance(s, Skipped)]
        parts += [f"{lim.method} limits: {note}" for lim in limits if isinstance(lim, Limits) for note in lim.notes]
        if parts:
            yield Hit(sf.pointer, f"'{cq.id}' {_label(sf)}: skipped " + "; ".join(parts))


def _slope_ci_contains_zero(sf) -> bool:
    lo, hi = sf.fit.slope_ci95
    return bool(lo <= 0 <= hi)


def _fieller_text(f) -> str:
    if f.kind == "real_line":
        return "every x (the whole real line)"
    return f"(−∞, {num(f.low)}] ∪ [{num(f.high)}, +∞)"


@rule(
    "MPI029", severity="warning", family=FAMILY, pointer="the quantification's signal",
    title="inverse-prediction interval unbounded",
    rationale="The Fieller (inversion) interval of an inverse prediction is every x whose predicted signal is "
              "compatible with the unknown's; when g = (t·se(b)/b)² ≥ 1 it is not a finite interval but two "
              "half-lines or the whole real line, and a symmetric Wald interval beside it is misleading "
              "(Draper & Smith 1998, section 3.2; Graybill & Iyer 1994, p. 429; investr). At the fit's own "
              "95 % level this is exactly a slope whose interval contains 0, which MPI027 reports; it also "
              "happens with another prediction_alpha, with simultaneous intervals for several unknowns "
              "(Bonferroni or Scheffé) or with the unknown's replicates pooled into the variance.",
    remedy="Determine the slope better (more levels, more replicates, a wider range), quantify fewer unknowns "
           "with the line, or report the interval as unbounded instead of the Wald interval.",
    sources=("Draper & Smith 1998, Applied Regression Analysis, section 3.2",
             "Graybill & Iyer 1994, Regression Analysis, ch. 6",
             "Greenwell & Schubert Kabban 2014, The R Journal 6(1) (investr)"),
)
def bounded_inverse_interval(ctx: RuleContext) -> Iterator[Hit]:
    cals = ctx.quantities.calibrations
    for qq in ctx.quantities.quantifications:
        p = qq.prediction
        if not isinstance(p, InversePrediction) or p.fieller is None:
            continue
        sf = cals[qq.calibration_index].fit_for(qq.metric)
        if sf is None or not sf.usable or _slope_ci_contains_zero(sf):
            continue  # MPI027
        parts = []
        if not p.fieller.bounded:
            parts.append(f"the {(1 - p.alpha) * 100:g} % Fieller interval is {_fieller_text(p.fieller)} "
                         f"(g = {num(p.fieller.g, 3)} ≥ 1; {p.variance} variance, {p.df} df)")
        sim = p.simultaneous
        if sim is not None and not sim.fieller.bounded:
            parts.append(f"the simultaneous ({sim.method}, k = {sim.k}) interval is {_fieller_text(sim.fieller)} "
                         f"(g = {num(sim.fieller.g, 3)} ≥ 1)")
        if parts:
            cal = cals[qq.calibration_index]
            yield Hit(f"{qq.pointer}/signal",
                      f"quantification '{qq.id}' with '{cal.id}' ({_label(sf)}), estimate {num(p.estimate)}: "
                      + "; ".join(parts))


@rule(
    "MPI054", severity="warning", family=FAMILY, pointer="as MPI023",
    title="quantification limit outside the calibrated range",
    rationale="The quantification limit x_BG is where the relative uncertainty of a result falls to 1/k "
              "(DIN 32645). Above the largest calibration level no result within the calibration is "
              "quantifiable; when the line is imprecise (g = k·s_x0·t/√Q_x ≥ 1) the precision is adequate only "
              "between the two roots of the x_BG equation, and a calibrated range reaching beyond the upper "
              "root is not quantifiable there either.",
    remedy="Measure a calibration with less noise or more levels and replicates (smaller s_x0, larger Q_x), "
           "or restrict the working range to where x_BG and the upper root allow quantification.",
    sources=("DIN 32645:2008", "chemCal loq (J. Ranke)"),
)
def quantification_limit_in_range(ctx: RuleContext) -> Iterator[Hit]:
    method = ctx.options.tolerances.limits_method
    for cq, sf in _usable_fits(ctx):
        lim = sf.limits.get(method)
        if not isinstance(lim, Limits) or lim.quantification_limit is None:
            continue
        lo, hi = sf.fit.x_min, sf.fit.x_max
        span = lim.quantification_range
        unit = "µg" if ctx.model.calibrations[cq.index].independent_variable == "iron_mass_ug" else "cells"
        where = f"'{cq.id}' {_label(sf)}: "
        if lim.quantification_limit > hi:
            msg = (f"{where}the {lim.method} quantification limit {num(lim.quantification_limit)} {unit} lies above "
                   f"the calibrated range {num(lo)}–{num(hi)} {unit}")
            if span is not None:
                msg += f" (g = {num(lim.g, 3)} ≥ 1: quantifiable range {num(span[0])}–{num(span[1])} {unit})"
        elif span is not None and span[1] < hi:
            msg = (f"{where}the {lim.method} quantification limit equation has two roots (g = {num(lim.g, 3)} ≥ 1); "
                   f"results are quantifiable only between {num(span[0])} and {num(span[1])} {unit}, not up to "
                   f"the calibrated maximum {num(hi)} {unit}")
        else:
            continue
        yield Hit(sf.pointer, msg)


@rule(
    "MPI053", severity="error", family=FAMILY, pointer="the quantification's reported value",
    title="reported estimate differs from the inverse prediction",
    rationale="An amount quantified with a calibration must follow from its signals and that line: "
              "x̂ = (ȳ − a)/b with its confidence interval (Massart et al. 1997).",
    remedy="Recompute the estimate from the mean of the replicate signals and the calibration's fit, "
           "and report its interval.",
    sources=("Massart et al. 1997, section 8.2.8", "R chemCal inverse.predict"),
)
def estimate_matches(ctx: RuleContext) -> Iterator[Hit]:
    t = ctx.options.tolerances
    for qq in ctx.quantities.quantifications:
        q = ctx.model.quantifications[qq.index]
        cal = ctx.model.calibrations[qq.calibration_index]
        p = qq.prediction
        if p is None or isinstance(p, Skipped) or q.reported is None:
            continue
        field = "iron_mass_ug" if cal.independent_variable == "iron_mass_ug" else "cell_count"
        reported = getattr(q.reported, field, None)
        if reported is None:
            continue
        allowed = max(t.estimate_relative * abs(p.estimate), t.estimate_ci_fraction * p.ci_half_width)
        if abs(reported - p.estimate) > allowed:
            unit = "µg" if field == "iron_mass_ug" else "cells"
            yield Hit(f"{qq.pointer}/reported/{field}",
                      f"reported {num(reported)} {unit} but the calibration gives {num(p.estimate)} {unit} "
                      f"({(1 - p.alpha) * 100:g} % CI {num(p.ci_low)} to {num(p.ci_high)}) from the mean of "
                      f"{p.m} signal{'s' if p.m != 1 else ''}; allowed difference {num(allowed)}")
