"""Derived quantities of one dataset: computed once, shared by the rules and the report.

This stage walks the model and calls the pure numerics of :mod:`mpistd.quantify`; images are
read one batch at a time through :mod:`mpistd.load.images`. Rules read these results and
never recompute; renderers read them and never decide.

Everything is keyed by the JSON pointer of the object it belongs to, so a rule can point at
exactly the value it judges.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any

from mpistd.config import Options
from mpistd.plain import ImageResult  # noqa: F401 - re-exported: mpistd.quantities.ImageResult
from mpistd.plain import plain as _plain

METRICS = ("max_intensity", "total_intensity", "mean_intensity")
_POINT_METRICS = (*METRICS, "fwhm_mm")
_point_values = attrgetter(*_POINT_METRICS)  # a replicate's values of _POINT_METRICS, in that order
_holder_position = attrgetter("holder_position")
IMAGE_FIELDS = ("max_intensity", "total_intensity", "mean_intensity", "roi_area_mm2", "roi_volume_mm3", "fwhm_mm")


@dataclass
class PointQuantities:
    pointer: str
    sample_id: str
    x: float | None  # iron mass (ug) or cell count, per the independent variable
    iron_mass_ug: float | None
    cell_count: float | None
    volume_uL: float | None
    concentration_ug_per_uL: float | None
    concentration_source: str | None  # "reported" | "derived" | None
    number_density_per_nm3: float | None = None
    interparticle_distance_nm: float | None = None  # by the dataset's estimator
    distances_nm: dict[str, float] = field(default_factory=dict)  # every estimator
    replicate_values: dict[str, list[float]] = field(default_factory=dict)  # metric -> replicate values
    n_replicates: int = 0
    holder_positions: tuple[str | None, ...] = ()

    def mean(self, metric: str) -> float | None:
        vals = self.replicate_values.get(metric)
        return sum(vals) / len(vals) if vals else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "pointer": self.pointer,
            "sample_id": self.sample_id,
            "x": self.x,
            "concentration_ug_per_uL": self.concentration_ug_per_uL,
            "concentration_source": self.concentration_source,
            "number_density_per_nm3": self.number_density_per_nm3,
            "interparticle_distance_nm": self.interparticle_distance_nm,
            "distances_nm": self.distances_nm,
            "n_replicates": self.n_replicates,
            "means": {m: self.mean(m) for m in self.replicate_values},
        }


def _line_fit() -> type:
    """quantify.calibration.LineFit, imported on first use (rules ask `usable` many times)."""
    global _LINE_FIT
    if _LINE_FIT is None:
        from mpistd.quantify.calibration import LineFit

        _LINE_FIT = LineFit
    return _LINE_FIT


_LINE_FIT: type | None = None


@dataclass
class SeriesFit:
    """One recomputed straight line of a calibration, and its diagnostics."""

    metric: str
    basis: str  # "replicates" | "level_means"
    weighting: str
    through_origin: bool
    pointer: str  # the reported fit it answers, else the calibration
    reported_index: int | None
    x: tuple[float, ...]
    y: tuple[float, ...]
    fit: Any  # LineFit | Unusable
    lack_of_fit: Any = None
    mandel: Any = None
    homoscedasticity: Any = None
    back_calculated: tuple = ()
    limits: dict[str, Any] = field(default_factory=dict)  # method -> Limits | Skipped

    @property
    def usable(self) -> bool:
        return isinstance(self.fit, _line_fit())

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "metric": self.metric,
            "basis": self.basis,
            "weighting": self.weighting,
            "through_origin": self.through_origin,
            "pointer": self.pointer,
        }
        if self.usable:
            d.update(_plain(self.fit))
        else:
            d["unusable"] = _plain(self.fit)
        d["lack_of_fit"] = _plain(self.lack_of_fit)
        d["mandel"] = _plain(self.mandel)
        d["homoscedasticity"] = _plain(self.homoscedasticity)
        d["back_calculated"] = _plain(self.back_calculated)
        d["limits"] = [_plain(v) for v in self.limits.values()]
        return d


@dataclass
class PairedComparison:
    """A fixed-volume series and the fixed-concentration series it was diluted from."""

    fc_index: int
    pairing: Any  # Pairing
    differences: dict[str, tuple] = field(default_factory=dict)  # metric -> PairedDifference per pair

    def to_dict(self) -> dict[str, Any]:
        return {"fixed_concentration": self.fc_index, "pairing": _plain(self.pairing),
                "differences": _plain(self.differences)}


@dataclass
class CellReduction:
    """A cellular iron-mass series against the solution line of the same tracer and acquisition."""

    solution_index: int
    reductions: dict[str, tuple] = field(default_factory=dict)  # metric -> percent per cellular point
    fwhm_change_percent: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"solution_calibration": self.solution_index, "reduction_percent": _plain(self.reductions),
                "fwhm_change_percent": self.fwhm_change_percent}


@dataclass
class CalibrationQuantities:
    index: int
    id: str
    pointer: str
    points: list[PointQuantities]
    fits: list[SeriesFit] = field(default_factory=list)
    concentration_span: float | None = None  # max / min concentration
    distance_span: tuple[float, float] | None = None  # (min, max) nm
    eq1: dict[str, Any] = field(default_factory=dict)  # metric -> Eq1Result
    eq1_split: dict[str, Any] = field(default_factory=dict)  # metric -> Eq1Split (offset known)
    paired: PairedComparison | None = None
    cell_reduction: CellReduction | None = None
    fwhm_mean_mm: float | None = None

    def fit_for(self, metric: str) -> SeriesFit | None:
        """The line used to quantify with this metric: the reported fit's basis if any."""
        reported = [f for f in self.fits if f.metric == metric and f.reported_index is not None]
        if reported:
            return reported[0]
        for f in self.fits:
            if f.metric == metric:
                return f
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pointer": self.pointer,
            "points": [p.to_dict() for p in self.points],
            "fits": [f.to_dict() for f in self.fits],
            "concentration_span": self.concentration_span,
            "interparticle_distance_span_nm": list(self.distance_span) if self.distance_span else None,
            "eq1": _plain(self.eq1),
            "eq1_split": _plain(self.eq1_split),
            "paired": self.paired.to_dict() if self.paired else None,
            "cell_reduction": self.cell_reduction.to_dict() if self.cell_reduction else None,
            "fwhm_mean_mm": self.fwhm_mean_mm,
        }


@dataclass
class QuantificationQuantities:
    index: int
    id: str
    pointer: str
    calibration_index: int
    metric: str
    prediction: Any = None  # InversePrediction | Skipped | None (no usable line)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "pointer": self.pointer, "metric": self.metric}
        p = self.prediction
        if p is not None and hasattr(p, "estimate"):
            d.update({"estimate": p.estimate, "ci_low": p.ci_low, "ci_high": p.ci_high, "se": p.se,
                      "m": p.m, "alpha": p.alpha})
            # issue 14: Fieller interval, variance model and simultaneous block beside the Wald CI
            d.update({"df": p.df, "variance": p.variance, "sigma": p.sigma, "sample_weight": p.sample_weight,
                      "critical_value": p.critical_value,
                      "fieller": _plain(p.fieller), "simultaneous": _plain(p.simultaneous)})
        else:
            d["skipped"] = _plain(p)
        return d


@dataclass
class DatasetQuantities:
    estimator: str
    calibrations: list[CalibrationQuantities]
    quantifications: list[QuantificationQuantities]
    images: dict[str, ImageResult] = field(default_factory=dict)  # replicate pointer -> result
    noise_sd: float | None = None
    threshold: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "interparticle_distance_estimator": self.estimator,
            "noise_sd": self.noise_sd,
            "threshold": self.threshold,
            "calibrations": [c.to_dict() for c in self.calibrations],
            "quantifications": [q.to_dict() for q in self.quantifications],
            "images": [r.to_dict() for r in self.images.values()],
        }


# ==============================================================================================


def particle_iron_mass_fg(tracer: Any) -> float | None:
    from mpistd.quantify.spacing import particle_iron_mass_fg_spherical

    pm = getattr(tracer, "particle_model", None)
    if pm is None:
        return None
    if pm.kind == "iron_mass_per_particle":
        value = float(pm.iron_mass_per_particle_fg)
    else:
        value = particle_iron_mass_fg_spherical(pm.core_diameter_nm, pm.density_g_per_cm3, pm.iron_mass_fraction)
    return value if isinstance(value, float) and value > 0 else None


def compute_quantities(model: Any, *, base_dir: Path | None, options: Options) -> DatasetQuantities:

    analysis = model.analysis
    estimator = "wigner_seitz"
    if analysis is not None and analysis.interparticle_distance is not None:
        estimator = analysis.interparticle_distance.estimator or estimator
    tracers = {t.id: t for t in model.tracers}
    cals: list[CalibrationQuantities] = []
    for ci, cal in enumerate(model.calibrations):
        cpointer = f"/calibrations/{ci}"
        m_particle = particle_iron_mass_fg(tracers.get(cal.tracer))
        points: list[PointQuantities] = []
        x_is_mass = cal.independent_variable == "iron_mass_ug"
        for pi, pt in enumerate(cal.points):
            mass, volume_uL, cells = pt.iron_mass_ug, pt.volume_uL, pt.cell_count
            conc, source = None, None
            if pt.concentration_ug_per_uL is not None:
                conc, source = float(pt.concentration_ug_per_uL), "reported"
            elif mass is not None:
                volume = volume_uL
                if volume is None and cal.method == "fixed_volume":
                    volume = cal.final_volume_uL
                if volume:
                    conc, source = float(mass) / float(volume), "derived"
            x = mass if x_is_mass else cells
            reps = pt.replicates
            # each metric's values over the replicates, the 4 metrics of a replicate in one attribute
            # fetch (validated floats or None: a metric missing from any replicate is left out)
            values: dict[str, list[float]] = (
                {metric: list(map(float, vals)) for metric, vals in zip(_POINT_METRICS, zip(*map(_point_values, reps)))
                 if None not in vals} if reps else {m: [] for m in _POINT_METRICS})
            # positional, in the field order (pointer … holder_positions): once per point of every series
            points.append(PointQuantities(
                f"{cpointer}/points/{pi}", pt.sample_id, float(x) if x is not None else None,
                float(mass) if mass is not None else None, float(cells) if cells is not None else None,
                float(volume_uL) if volume_uL is not None else None, conc, source, None, None, {}, values,
                len(reps), tuple(map(_holder_position, reps))))
        if m_particle:
            _spacing(points, m_particle, estimator)
        cq = CalibrationQuantities(index=ci, id=cal.id, pointer=cpointer, points=points)
        _fits(cal, cq, options)
        _spans_and_eq1(cal, cq)
        fwhm = [v for p in points for v in p.replicate_values.get("fwhm_mm", [])]
        cq.fwhm_mean_mm = sum(fwhm) / len(fwhm) if fwhm else None
        cals.append(cq)
    _pairings(model, cals, options)
    _eq1_splits(model, cals)
    _cell_reductions(model, cals)
    quants = _quantifications(model, cals, options)
    out = DatasetQuantities(estimator=estimator, calibrations=cals, quantifications=quants)
    if options.check_images:
        from mpistd.image_metrics import compute_image_results

        compute_image_results(model, base_dir, options, out)
    return out


def _spacing(points: list[PointQuantities], m_particle: float, estimator: str) -> None:
    """Number density and interparticle distance (every estimator) of every point, one call each."""
    from mpistd.quantify import spacing

    concs = [p.concentration_ug_per_uL if p.concentration_ug_per_uL is not None else 0.0 for p in points]
    densities = spacing.number_density_per_nm3(concs, m_particle)
    if not isinstance(densities, tuple):
        return
    per_estimator = list(spacing.interparticle_distances_nm([n or 0.0 for n in densities]).items())
    for i, (p, n) in enumerate(zip(points, densities)):
        if n is None:
            continue
        p.number_density_per_nm3 = n
        p.distances_nm = distances = {e: d[i] for e, d in per_estimator if d[i] is not None}
        p.interparticle_distance_nm = distances.get(estimator)


def _fits(cal: Any, cq: CalibrationQuantities, options: Options) -> None:
    """Every metric present in all replicates is fitted (OLS on replicates, not through the
    origin); each reported fit is recomputed on the basis it declares."""
    import numpy as np

    from mpistd.quantify import calibration as calc

    wanted: list[tuple[str, str, str, bool, int | None, str]] = []
    reported_keys = set()
    for k, rf in enumerate(cal.fits or []):
        key = (rf.metric, rf.fitted_to or "replicates", rf.weighting or "none", bool(rf.through_origin))
        reported_keys.add(rf.metric)
        wanted.append((*key, k, f"{cq.pointer}/fits/{k}"))
    metrics_all = [m for m in METRICS if all(m in p.replicate_values for p in cq.points)]
    for m in metrics_all:
        if m not in reported_keys:
            wanted.append((m, "replicates", "none", False, None, cq.pointer))
    # the points that carry a metric, and so the x of its line, are mostly the same for every metric:
    # the x (as the array the fit takes and the tuple the line keeps) is made once per (basis,
    # those points) and shared by those lines
    shared_x: dict[tuple[str, tuple[tuple[int, int], ...]], tuple[Any, tuple[float, ...]]] = {}
    lines: list[tuple[tuple[Any, tuple[float, ...]], list[float]]] = []  # (x, y) of each wanted line
    points = cq.points
    for metric, basis, _weighting, _origin, _k, _pointer in wanted:
        used = [(i, p.x, vals) for i, p in enumerate(points)
                if p.x is not None and (vals := p.replicate_values.get(metric))]
        if basis == "level_means":
            ys = [sum(vals) / len(vals) for _i, _x, vals in used]
        else:
            ys = [v for _i, _x, vals in used for v in vals]
        key = (basis, tuple([(i, len(vals)) for i, _x, vals in used]))
        line_x = shared_x.get(key)
        if line_x is None:
            if basis == "level_means":
                xs = [x for _i, x, _vals in used]
            else:
                xs = [x for _i, x, vals in used for _ in vals]
            line_x = shared_x[key] = (np.asarray(xs, dtype=float), tuple(xs))
        lines.append((line_x, ys))
    # one pass per line for the fit and all its diagnostics, the lines of the calibration at once
    diagnosed = calc.fit_and_diagnose_each([(x_array, np.asarray(ys, dtype=float), origin, weighting)
                                            for ((x_array, _x_tuple), ys), (_m, _b, weighting, origin, _k, _p)
                                            in zip(lines, wanted)])
    blank_for = getattr(cal, "blank_for", None)
    t = options.tolerances
    for (metric, basis, weighting, origin, k, pointer), ((_x_array, x_tuple), ys), d in zip(wanted, lines, diagnosed):
        blank = blank_for(metric) if blank_for is not None else None
        blank_variance = blank.variance() if blank is not None else None
        cq.fits.append(_series_fit(metric, basis, weighting, origin, pointer, k, x_tuple, tuple(ys), d, t,
                                   blank_variance=blank_variance))


def _series_fit(metric: str, basis: str, weighting: str, origin: bool, pointer: str, k: int | None,
                xs: tuple[float, ...], ys: tuple[float, ...], d: Any, t: Any,
                blank_variance: float | None = None) -> SeriesFit:
    """The SeriesFit of one line and its diagnostics (``d``: quantify.calibration.Diagnosed), and
    its limits (``t``: the options' tolerances)."""
    from mpistd.quantify import limits as lim

    fit = d.fit
    if not isinstance(fit, _line_fit()):  # no line: no diagnostics, no limits
        return SeriesFit(metric, basis, weighting, origin, pointer, k, xs, ys, fit)
    limits = {
        "din32645": lim.limits_din32645(fit, alpha=t.limit_alpha, beta=t.limit_beta, m=t.limit_m, k=t.limit_k,
                                        blank_variance=blank_variance),
        "massart": lim.limits_massart(fit, alpha=t.limit_alpha, beta=t.limit_beta, m=t.limit_m),
        "ich_q2": lim.limits_ich_q2(fit),
    }
    # positional, in the field order (metric … limits)
    return SeriesFit(metric, basis, weighting, origin, pointer, k, xs, ys, fit, d.lack_of_fit, d.mandel,
                     d.homoscedasticity, d.back_calculated, limits)


def _spans_and_eq1(cal: Any, cq: CalibrationQuantities) -> None:
    from mpistd.quantify.spacing import eq1_deviation

    concs = [p.concentration_ug_per_uL for p in cq.points if p.concentration_ug_per_uL]
    if concs and min(concs) > 0:
        # a ratio beyond a double (a denormal smallest concentration) is capped: still "more than
        # 2x" for MPI030, and a number the JSON report can carry (inf is not JSON)
        cq.concentration_span = min(max(concs) / min(concs), sys.float_info.max)
    dists = [p.interparticle_distance_nm for p in cq.points if p.interparticle_distance_nm]
    if dists:
        cq.distance_span = (min(dists), max(dists))
    # eq. 1 (S ∝ 1/d³ ∝ c) describes iron mass only when the volume is fixed (STANDARD.md)
    if cal.method != "fixed_volume" or cal.independent_variable != "iron_mass_ug":
        return
    if len(dists) != len(cq.points) or len(dists) < 2:
        return
    if max(dists) <= min(dists) * (1 + 1e-9):
        return  # one spacing for every point (fixed concentration): eq. 1 predicts nothing
    for metric in METRICS:
        means = [p.mean(metric) for p in cq.points]
        if all(m is not None for m in means):
            result = eq1_deviation([p.interparticle_distance_nm for p in cq.points], means)
            if hasattr(result, "deviation_percent"):
                cq.eq1[metric] = result


def _eq1_splits(model: Any, cals: list[CalibrationQuantities]) -> None:
    """Eq. 1's deviation split into offset and spacing parts where an offset is known independently:
    a measured blank of the series (1.1), else the intercept of the paired fixed-concentration line."""
    from mpistd.quantify.spacing import Eq1Split, eq1_split

    for cq in cals:
        if not cq.eq1:
            continue
        cal = model.calibrations[cq.index]
        for metric in cq.eq1:
            offset: float | None = None
            source = ""
            blank = cal.blank_for(metric) if hasattr(cal, "blank_for") else None
            if blank is not None and blank.mean() is not None:
                offset, source = blank.mean(), "blank"
            elif cq.paired is not None:
                sf = cals[cq.paired.fc_index].fit_for(metric)
                if sf is not None and sf.usable and not sf.through_origin:
                    offset, source = sf.fit.intercept, "paired_intercept"
            if offset is None:
                continue
            result = eq1_split([p.interparticle_distance_nm for p in cq.points],
                               [p.mean(metric) for p in cq.points], offset, source)
            if isinstance(result, Eq1Split):
                cq.eq1_split[metric] = result


def _pairings(model: Any, cals: list[CalibrationQuantities], options: Options) -> None:
    from mpistd.quantify.pairing import pair_by_iron_mass, paired_differences

    index = {c.id: i for i, c in enumerate(model.calibrations)}
    for i, cal in enumerate(model.calibrations):
        if cal.paired_with is None or cal.paired_with not in index:
            continue
        j = index[cal.paired_with]
        fv, fc = cals[i], cals[j]
        # the fixed-volume series is the one diluted; if the author paired them the other way
        # round, swap so that differences keep the paper's sign (FC − FV)
        if model.calibrations[j].method == "fixed_volume" and cal.method != "fixed_volume":
            fv, fc, i, j = fc, fv, j, i
        if any(p.iron_mass_ug is None for p in fv.points + fc.points):
            continue
        pairing = pair_by_iron_mass([p.iron_mass_ug for p in fc.points], [p.iron_mass_ug for p in fv.points],
                                    tolerance=options.tolerances.pairing_mass_relative)
        comp = PairedComparison(fc_index=j, pairing=pairing)
        nan = float("nan")
        conc_fc = [p.concentration_ug_per_uL if p.concentration_ug_per_uL else nan for p in fc.points]
        conc_fv = [p.concentration_ug_per_uL if p.concentration_ug_per_uL else nan for p in fv.points]
        fw_fc = [p.replicate_values.get("fwhm_mm") for p in fc.points]
        fw_fv = [p.replicate_values.get("fwhm_mm") for p in fv.points]
        if pairing.pairs:
            for metric in METRICS:
                s_fc = [p.replicate_values.get(metric, []) for p in fc.points]
                s_fv = [p.replicate_values.get(metric, []) for p in fv.points]
                if all(s_fc[a] and s_fv[b] for a, b in pairing.pairs):
                    comp.differences[metric] = paired_differences(
                        pairing, conc_fc, conc_fv, s_fc, s_fv, fwhm_fc=fw_fc, fwhm_fv=fw_fv,
                        masses_fc=[p.iron_mass_ug for p in fc.points],
                        masses_fv=[p.iron_mass_ug for p in fv.points],
                    )
        fv.paired = comp


def _cell_reductions(model: Any, cals: list[CalibrationQuantities]) -> None:
    from mpistd.quantify.pairing import fwhm_change_percent, solution_to_cell_reduction

    for i, cal in enumerate(model.calibrations):
        if cal.environment.kind != "cells" or cal.independent_variable != "iron_mass_ug":
            continue
        for j, sol in enumerate(model.calibrations):
            if (sol.environment.kind == "solution" and sol.independent_variable == "iron_mass_ug"
                    and sol.tracer == cal.tracer and sol.acquisition == cal.acquisition
                    and sol.method != "fixed_volume"):
                break
        else:
            continue
        red = CellReduction(solution_index=j)
        for metric in METRICS:
            sf = cals[j].fit_for(metric)
            means = [p.mean(metric) for p in cals[i].points]
            masses = [p.iron_mass_ug for p in cals[i].points]
            if sf is not None and sf.usable and all(m is not None for m in means) and all(masses):
                values = solution_to_cell_reduction(sf.fit, masses, means)
                if isinstance(values, tuple):
                    red.reductions[metric] = values
        if cals[i].fwhm_mean_mm and cals[j].fwhm_mean_mm:
            change = fwhm_change_percent(cals[i].fwhm_mean_mm, cals[j].fwhm_mean_mm)
            red.fwhm_change_percent = change if isinstance(change, float) else None
        cals[i].cell_reduction = red


def _quantifications(model: Any, cals: list[CalibrationQuantities], options: Options) -> list[QuantificationQuantities]:
    from dataclasses import replace

    from mpistd.quantify.limits import InversePrediction, inverse_predict, simultaneous_interval

    t = options.tolerances
    index = {c.id: i for i, c in enumerate(model.calibrations)}
    out = []
    users: dict[int, list[QuantificationQuantities]] = {}  # id(SeriesFit) -> quantifications using it
    lines: dict[int, SeriesFit] = {}
    for qi, q in enumerate(model.quantifications or []):
        ci = index[q.calibration]
        qq = QuantificationQuantities(index=qi, id=q.id, pointer=f"/quantifications/{qi}", calibration_index=ci,
                                      metric=q.metric)
        sf = cals[ci].fit_for(q.metric)
        if sf is not None and sf.usable:
            qq.prediction = inverse_predict(sf.fit, [float(s) for s in q.signal], alpha=t.prediction_alpha,
                                            variance=t.prediction_variance,
                                            signal_variance=getattr(q, "signal_variance", None))
            if isinstance(qq.prediction, InversePrediction):
                users.setdefault(id(sf), []).append(qq)
                lines[id(sf)] = sf
        out.append(qq)
    # several unknowns read with one line: simultaneous intervals beside the per-interval ones
    for key, group in users.items():
        if len(group) < 2:
            continue
        for qq in group:
            p = qq.prediction
            try:
                block = simultaneous_interval(lines[key].fit, p, k=len(group), method=t.simultaneous_method)
            except OverflowError:
                continue  # the per-interval result stands; the JSON's simultaneous stays null
            qq.prediction = replace(p, simultaneous=block)
    return out
