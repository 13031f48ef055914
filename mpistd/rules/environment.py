"""Calibrate where you quantify: MPI040–MPI046.

The paper's first result (section 3, "Challenges in translating solution-based MPI
calibration to cellular quantification", Fig. 1, Fig. S7/S8) is that labelled cells give
markedly less signal than the same iron mass in solution — up to ~30 % (ProMag) and ~70 %
(VivoTrax) lower maximum intensity — and broader images; its recommendation (section 4) is
to calibrate against the number of labelled cells, in the environment, tracer, cell type and
labelling that will be quantified. A quantification is also only as good as the range and
limits of the line it uses. Every number judged here was computed once by
:mod:`mpistd.quantities`.
"""
from __future__ import annotations

import math
from typing import Any, Iterator

from mpistd.quantify.calibration import Skipped
from mpistd.rules._format import metric_name, num
from mpistd.rules.registry import Hit, RuleContext, rule

FAMILY = "environment"
PAPER = "Ureña Horno et al. 2025"
BIOLOGICAL = ("cells", "tissue", "in_vivo")
SETTINGS = (("mode", "mode"), ("dimensionality", "dimensionality"), ("gradient_T_per_m", "gradient (T/m)"),
            ("drive_frequency_kHz", "drive frequency (kHz)"))
LIMIT_KEYS = {"din32645": "DIN 32645", "ich_q2": "ICH Q2(R2)"}


def _pairs(ctx: RuleContext) -> Iterator[tuple[int, Any, Any]]:
    """(index, quantification, its calibration) for every quantification."""
    by_id = ctx.model.calibration_by_id
    for qi, q in enumerate(ctx.model.quantifications or []):
        cal = by_id.get(q.calibration)
        if cal is not None:
            yield qi, q, cal


def _env(env: Any) -> str:
    bits = [env.kind]
    if env.cell_type:
        bits.append(env.cell_type)
    if env.medium:
        bits.append(f"in {env.medium}")
    return " ".join(bits)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _x_unit(cal: Any) -> str:
    return "µg" if cal.independent_variable == "iron_mass_ug" else "cells"


# ---------------------------------------------------------------------------------------------


@rule(
    "MPI040", severity="error", family=FAMILY, pointer="the quantification's calibration",
    title="cells, tissue or in vivo quantified with a solution calibration",
    rationale="Inside cells SPIONs cluster in endosomes, lose rotational freedom and interact: the paper "
              "measured up to ~30 % (ProMag) and ~70 % (VivoTrax) lower maximum intensity and ~20 %/~50 % "
              "lower total intensity for labelled cells than the solution calibration predicts at the same "
              "iron mass, with ~11 %/~59 % broader FWHM (section 3, Fig. 1, Fig. S7/S8). A solution "
              "calibration therefore systematically underestimates intracellular iron, by a tracer-specific "
              "amount no universal factor corrects.",
    remedy="Quantify labelled cells with a calibration made of the same labelled cells, preferably against "
           "cell number (method cell_number; paper, section 4); for tissue or in vivo, calibrate in a "
           "matching matrix.",
    sources=(f"{PAPER}, section 3 (Fig. 1, S7, S8) and section 4",),
)
def solution_to_cell_misuse(ctx: RuleContext) -> Iterator[Hit]:
    cals = ctx.quantities.calibrations
    for qi, q, cal in _pairs(ctx):
        if q.environment.kind not in BIOLOGICAL or cal.environment.kind != "solution":
            continue
        msg = (f"quantification '{q.id}' of {_env(q.environment)} uses '{cal.id}', a calibration in "
               f"{_env(cal.environment)}; the paper found up to ~30 % (ProMag) and ~70 % (VivoTrax) lower "
               "maximum intensity in labelled cells than in solution, so the estimate is likely too low")
        own = []
        for ci, other in enumerate(ctx.model.calibrations):
            red = cals[ci].cell_reduction
            if other.environment.kind != "cells" or other.tracer != q.tracer or red is None:
                continue
            metric = q.metric if q.metric in red.reductions else next(iter(red.reductions), None)
            bits = []
            if metric is not None:
                values = [v for v in red.reductions[metric] if v is not None]
                if values:
                    bits.append(f"{metric_name(metric)} {num(min(values), 3)}–{num(max(values), 3)} % lower")
            if red.fwhm_change_percent is not None:
                bits.append(f"FWHM {red.fwhm_change_percent:+.1f} %")
            if bits:
                own.append(f"'{other.id}' vs '{cals[red.solution_index].id}': " + ", ".join(bits))
        if own:
            msg += "; this dataset's own cellular calibration measured " + "; ".join(own)
        yield Hit(f"/quantifications/{qi}/calibration", msg)


@rule(
    "MPI041", severity="error", family=FAMILY, pointer="the quantification's calibration",
    title="calibration of another tracer or acquisition settings",
    rationale="The MPI signal per iron mass depends on the tracer (the paper's two tracers differ in every "
              "respect, section 3) and on the scanner settings: mode, dimensionality, gradient strength, "
              "drive frequency and amplitudes change sensitivity and resolution (the paper fixed high "
              "sensitivity, 2D, 3 T/m, 45 kHz, 20/26 mT; section 2). A line measured under other conditions "
              "does not convert this signal to an amount.",
    remedy="Quantify with a calibration of the same tracer acquired with the same settings, or acquire a "
           "calibration under the quantification's settings.",
    sources=(f"{PAPER}, section 2 (MPI imaging) and section 3",),
)
def same_tracer_and_acquisition(ctx: RuleContext) -> Iterator[Hit]:
    tracers = ctx.model.tracer_by_id
    acqs = ctx.model.acquisition_by_id
    for qi, q, cal in _pairs(ctx):
        reasons = []
        if q.tracer != cal.tracer:
            tq, tc = tracers.get(q.tracer), tracers.get(cal.tracer)
            reasons.append(f"tracer '{q.tracer}' ({tq.name if tq else '?'}) but the calibration's is "
                           f"'{cal.tracer}' ({tc.name if tc else '?'})")
        if q.acquisition != cal.acquisition:
            aq, ac = acqs.get(q.acquisition), acqs.get(cal.acquisition)
            if aq is not None and ac is not None:
                diffs = []
                for field, label in SETTINGS:
                    a, c = getattr(aq, field), getattr(ac, field)
                    if a is not None and c is not None and not _same(a, c):
                        diffs.append(f"{label} {num(a) if isinstance(a, float) else a} vs "
                                     f"{num(c) if isinstance(c, float) else c}")
                if aq.drive_amplitude_mT is not None and ac.drive_amplitude_mT is not None:
                    for axis in ("x", "y", "z"):
                        a, c = getattr(aq.drive_amplitude_mT, axis), getattr(ac.drive_amplitude_mT, axis)
                        if a is not None and c is not None and not _same(a, c):
                            diffs.append(f"drive amplitude {axis} {num(a)} vs {num(c)} mT")
                if diffs:
                    reasons.append(f"acquisition '{q.acquisition}', which differs from the calibration's "
                                   f"'{cal.acquisition}' in " + ", ".join(diffs))
        if reasons:
            yield Hit(f"/quantifications/{qi}/calibration",
                      f"quantification '{q.id}' uses '{cal.id}' with " + "; ".join(reasons))


@rule(
    "MPI042", severity="warning", family=FAMILY, pointer="the quantification's calibration",
    title="calibration of another environment, cell type or labelling",
    rationale="The paper found that each tracer's intracellular signal deviates differently from solution and "
              "that calibration \"must be performed on a particle-by-particle, and likely cell type-by-cell "
              "type, basis\" (section 3); uptake and clustering depend on the labelling concentration and "
              "time (section 2). A calibration in another environment (e.g. gel for cells), cell type or "
              "labelling protocol may not transfer.",
    remedy="Calibrate with the environment, cell type and labelling (iron concentration, duration) of the "
           "samples quantified, or show that the difference does not change the calibration.",
    sources=(f"{PAPER}, section 2 (Cell culture and labelling), section 3 and section 4",),
)
def same_environment(ctx: RuleContext) -> Iterator[Hit]:
    for qi, q, cal in _pairs(ctx):
        eq, ec = q.environment, cal.environment
        reasons = []
        misuse = eq.kind in BIOLOGICAL and ec.kind == "solution"  # MPI040's case
        if eq.kind != ec.kind and not misuse:
            reasons.append(f"environment {eq.kind} quantified with a {ec.kind} calibration")
        if eq.cell_type is not None and ec.cell_type is not None and eq.cell_type != ec.cell_type:
            reasons.append(f"cell type '{eq.cell_type}' vs '{ec.cell_type}'")
        if eq.labelling is not None and ec.labelling is not None:
            for field, label, unit in (("iron_concentration_ug_per_mL", "labelling iron concentration", "µg/mL"),
                                       ("duration_h", "labelling duration", "h")):
                a, c = getattr(eq.labelling, field), getattr(ec.labelling, field)
                if a is not None and c is not None and not _same(a, c):
                    reasons.append(f"{label} {num(a)} {unit} vs {num(c)} {unit}")
        if reasons:
            yield Hit(f"/quantifications/{qi}/calibration",
                      f"quantification '{q.id}' uses '{cal.id}': " + "; ".join(reasons))


@rule(
    "MPI043", severity="warning", family=FAMILY, pointer="the calibration",
    title="cellular calibration against iron mass",
    rationale="Intracellular clustering changes the signal per iron mass, and the iron per cell varies with "
              "uptake; the paper recommends calibrating the signal of labelled cells against the number of "
              "labelled cells, which accounts for both without measuring intracellular iron (section 3, "
              "section 4).",
    remedy="Calibrate against cell count (method cell_number, independent_variable cell_count) with cells "
           "labelled as the quantified ones; keep the iron-mass series as supporting data.",
    sources=(f"{PAPER}, section 3 (MPI signal vs. cell number) and section 4",),
)
def cell_number_recommended(ctx: RuleContext) -> Iterator[Hit]:
    cals = ctx.quantities.calibrations
    for ci, cal in enumerate(ctx.model.calibrations):
        if cal.environment.kind != "cells" or cal.independent_variable != "iron_mass_ug":
            continue
        msg = f"cellular calibration '{cal.id}' ({_env(cal.environment)}) is against iron mass"
        red = cals[ci].cell_reduction
        if red is not None:
            bits = []
            for metric, values in red.reductions.items():
                vals = [v for v in values if v is not None]
                if vals:
                    bits.append(f"{metric_name(metric)} up to {num(max(vals), 3)} % lower")
            if bits:
                msg += ("; its signal is " + ", ".join(bits)
                        + f" than the solution line '{cals[red.solution_index].id}'")
        yield Hit(f"/calibrations/{ci}", msg + "; a cell-number calibration is recommended")


@rule(
    "MPI044", severity="warning", family=FAMILY, pointer="the quantification's signal",
    title="estimate outside the calibrated range",
    rationale="A calibration line is validated only between its lowest and highest level; outside them "
              "linearity is assumed, not shown, and the paper shows MPI signals bending with concentration "
              "and receiver saturation (sections 2 and 3).",
    remedy="Extend the calibration to cover the sample, or dilute/concentrate the sample into the range "
           "(at the calibration's concentration, see MPI030).",
    sources=("ISO 8466-1 (working range)", "ICH Q2(R2) (range)", f"{PAPER}, sections 2 and 3"),
)
def inside_range(ctx: RuleContext) -> Iterator[Hit]:
    cals = ctx.quantities.calibrations
    for qq in ctx.quantities.quantifications:
        p = qq.prediction
        if p is None or isinstance(p, Skipped):
            continue
        sf = cals[qq.calibration_index].fit_for(qq.metric)
        if sf is None or not sf.usable:
            continue
        lo, hi = sf.fit.x_min, sf.fit.x_max
        if lo <= p.estimate <= hi:
            continue
        cal = ctx.model.calibrations[qq.calibration_index]
        unit = _x_unit(cal)
        side = "above" if p.estimate > hi else "below"
        yield Hit(f"{qq.pointer}/signal",
                  f"quantification '{qq.id}': estimate {num(p.estimate)} {unit} ({(1 - p.alpha) * 100:g} % CI "
                  f"{num(p.ci_low)} to {num(p.ci_high)}) is {side} the calibrated range {num(lo)}–{num(hi)} {unit} "
                  f"of '{cal.id}' ({metric_name(qq.metric)})")


@rule(
    "MPI045", severity="warning", family=FAMILY, pointer="the quantification's signal",
    title="estimate below the quantification limit",
    rationale="Below the quantification limit the relative uncertainty of an estimate is too large for a "
              "number to be reported (DIN 32645: x_BG with k = 3, i.e. ~33 % relative uncertainty; ICH "
              "Q2(R2): 10·s_y/b); the paper did not force its lines through the origin because the signal "
              "is least precise near zero iron (section 2).",
    remedy="Report the sample as below the quantification limit (or detection limit), or measure a more "
           "concentrated sample or a calibration with lower noise at the low end.",
    sources=("DIN 32645:2008", "ICH Q2(R2) (2023)", f"{PAPER}, section 2 (Calibration curve fitting)"),
)
def above_quantification_limit(ctx: RuleContext) -> Iterator[Hit]:
    method = ctx.options.tolerances.limits_method
    cals = ctx.quantities.calibrations
    for qq in ctx.quantities.quantifications:
        p = qq.prediction
        if p is None or isinstance(p, Skipped):
            continue
        sf = cals[qq.calibration_index].fit_for(qq.metric)
        if sf is None or not sf.usable:
            continue
        lim = sf.limits.get(method)
        if lim is None or isinstance(lim, Skipped) or lim.quantification_limit is None:
            continue
        if p.estimate >= lim.quantification_limit:
            continue
        cal = ctx.model.calibrations[qq.calibration_index]
        unit = _x_unit(cal)
        msg = (f"quantification '{qq.id}': estimate {num(p.estimate)} {unit} is below the "
               f"{LIMIT_KEYS.get(method, method)} quantification limit {num(lim.quantification_limit)} {unit} "
               f"of '{cal.id}' ({metric_name(qq.metric)})")
        if lim.detection_limit is not None:
            below = p.estimate < lim.detection_limit
            msg += (f"; it is {'also' if below else 'not'} below the detection limit "
                    f"{num(lim.detection_limit)} {unit}")
        yield Hit(f"{qq.pointer}/signal", msg)


@rule(
    "MPI046", severity="info", family=FAMILY, pointer="the calibration's environment",
    title="labelling efficiency or viability not reported for a cellular calibration",
    rationale="A cellular calibration describes labelled cells only if the share of labelled cells and their "
              "viability are known: the paper reports 96.6 ± 1.1 % (ProMag) and 91.5 ± 1.3 % (VivoTrax) "
              "Prussian-blue-positive cells and ATP-based viability (section 2, section 3).",
    remedy="Report labelling_efficiency_percent {mean, sd} (e.g. Prussian blue counts) and viability_percent "
           "(e.g. an ATP luminescence assay) in the calibration's environment.",
    sources=(f"{PAPER}, section 2 (Cell culture and labelling) and section 3",),
)
def labelling_reported(ctx: RuleContext) -> Iterator[Hit]:
    for ci, cal in enumerate(ctx.model.calibrations):
        env = cal.environment
        if env.kind != "cells":
            continue
        missing = [name for name, value in (("labelling_efficiency_percent", env.labelling_efficiency_percent),
                                            ("viability_percent", env.viability_percent)) if value is None]
        if missing:
            yield Hit(f"/calibrations/{ci}/environment",
                      f"cellular calibration '{cal.id}' does not report " + " or ".join(missing))
