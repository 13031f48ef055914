"""The standardized calibration report as one self-contained HTML page.

:func:`render_html` turns what validation decided (a :class:`~mpistd.findings.DatasetResult`)
and what the quantities stage computed (a :class:`~mpistd.quantities.DatasetQuantities`)
into HTML. It arranges and formats; it never recomputes a statistic and never decides a
verdict: the verdict is ``DatasetResult.verdict()``, a table cell is flagged only when a
finding points at it, and every number is one the quantities carry (the plots' prediction
band is drawn from the fit's own residual SD, n, x̄ and Q_x).

Safety: the jinja2 environment autoescapes everything; dataset strings are never marked
safe and never used as a template. The only ``Markup`` is this package's own CSS and the
SVG that :mod:`mpistd.render.plots` drew from numbers and fixed labels. The page loads
nothing: CSS and SVG are inline and a Content-Security-Policy forbids every fetch and
every script.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from mpistd.findings import DatasetResult, Finding, Report, Severity
from mpistd.rules._format import NBSP, display, distance_unit, metric_name, num, pct, qty

METRIC_NAMES = {m: display(m) for m in ("max_intensity", "total_intensity", "mean_intensity", "roi_area_mm2",
                                         "roi_volume_mm3", "fwhm_mm")}
IMAGE_METRICS = ("max_intensity", "mean_intensity", "total_intensity", "roi_area_mm2", "roi_volume_mm3", "fwhm_mm")
SEVERITY_TITLES = {"error": "Errors", "warning": "Warnings", "info": "Information"}
VERDICT_CLASS = {"conformant": "ok", "conformant with warnings": "warn", "not conformant": "fail"}


@dataclass(frozen=True)
class ReportMeta:
    """What the run says about itself (provenance), the same for every page of a site."""

    mpistd_version: str
    schema_version: str
    profile: str = "default"
    strict: bool = False
    created: str | None = None  # ISO time; None for reproducible output

    @property
    def fail_level(self) -> Severity:
        return Severity.WARNING if self.strict else Severity.ERROR

    @classmethod
    def from_report(cls, report: Report) -> "ReportMeta":
        return cls(report.mpistd_version, report.schema_version, report.profile, report.strict, report.created)

    @classmethod
    def coerce(cls, value: "ReportMeta | Report | Mapping[str, Any] | None") -> "ReportMeta":
        if isinstance(value, ReportMeta):
            return value
        if isinstance(value, Report):
            return cls.from_report(value)
        from mpistd import SCHEMA_VERSION, __version__

        data = dict(value or {})
        return cls(mpistd_version=str(data.get("mpistd_version") or __version__),
                   schema_version=str(data.get("schema_version") or SCHEMA_VERSION),
                   profile=str(data.get("profile") or "default"), strict=bool(data.get("strict", False)),
                   created=data.get("created"))


# ------------------------------------------------------------------------------------ formatting


def fmt(value: Any, sig: int = 4) -> str:
    """A number for a table by the shared policy (:mod:`mpistd.rules._format`): ``sig``
    significant digits, ``m × 10ⁿ`` beyond the plain range, '—' for none."""
    if value is None:
        return "—"
    if isinstance(value, (int, float)):
        return num(value, sig)
    return str(value)


def _pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else pct(value, digits)


_UNBROKEN = None


def breakable(text: str, run: int = 24) -> str:
    """``text`` with a zero-width space after every ``run`` characters of an unbroken run
    longer than 2·run: a line-break opportunity, invisible, so that a 10,000-character string
    without spaces lays out in linear time (WeasyPrint re-shapes the rest of an unbreakable
    run for every line it cuts from it: quadratic). Text with spaces is unchanged."""
    global _UNBROKEN
    import re

    if _UNBROKEN is None:
        _UNBROKEN = re.compile(r"\S{%d,}" % (2 * run))
    return _UNBROKEN.sub(lambda m: "\u200b".join(m.group(0)[i:i + run] for i in range(0, len(m.group(0)), run)),
                         text)


_TERMS = None


def schema_terms(text: str) -> Any:
    """A rule's text (message, rationale, remedy) as markup in which the schema's own words —
    enum values and field names such as ``cell_number`` or ``high_resolution`` that a remedy
    tells the user to write — are set as code: they are values to type, not prose, and read
    as such instead of as raw enum values. Everything is escaped first; a quoted dataset
    string ('…') is left alone."""
    global _TERMS
    import re

    from markupsafe import Markup, escape

    if _TERMS is None:
        from mpistd.rules._format import DISPLAY

        words = sorted((k for k in DISPLAY if ("_" in k or "-" in k) and k[0].isalpha()), key=len, reverse=True)
        _TERMS = re.compile(r"(?<![\w'/.-])(" + "|".join(map(re.escape, words)) + r"|[a-z]+(?:_[a-z0-9]+)+)(?![\w'-])")
    escaped = str(escape(text))
    return Markup(_TERMS.sub(lambda m: f'<code class="term">{m.group(1)}</code>', escaped))


def _anchor(pointer: str) -> str | None:
    """The page section a JSON pointer belongs to (our own ids, never dataset text)."""
    parts = pointer.split("/")[1:] if pointer.startswith("/") else []
    if not parts:
        return None
    head = parts[0]
    if head == "calibrations" and len(parts) > 1 and parts[1].isdigit():
        return f"cal-{parts[1]}"
    if head == "quantifications":
        return "quantifications"
    if head in ("tracers", "acquisitions", "analysis", "dataset", "schema_version"):
        return "summary"
    return None


def _under(findings: Iterable[Finding], pointer: str) -> list[Finding]:
    prefix = pointer + "/"
    return [f for f in findings if f.pointer == pointer or f.pointer.startswith(prefix)]


def _at(findings: Iterable[Finding], pointer: str) -> list[str]:
    return sorted({f.rule for f in findings if f.pointer == pointer})


def _finding_row(f: Finding) -> dict[str, Any]:
    title = ""
    try:
        from mpistd.rules.registry import get_rule

        title = get_rule(f.rule).title
    except Exception:  # noqa: BLE001 - an unknown rule id still renders
        title = ""
    return {
        "rule": f.rule,
        "title": title,
        "severity": f.severity.value,
        "message": f.message,
        "pointer": f.pointer or "/",
        "where": f"{f.line}:{f.column}" if f.line is not None else "",
        "rationale": f.rationale,
        "remedy": f.remedy,
        "anchor": _anchor(f.pointer),
    }


# ------------------------------------------------------------------------------------ units


def _pixel_unit(dimensionality: str | None) -> str:
    return "a.u.·mm⁻³" if dimensionality == "3d" else "a.u.·mm⁻²"


def _signal_unit(metric: str, dimensionality: str | None) -> str:
    return "a.u." if metric == "total_intensity" else _pixel_unit(dimensionality)


def _signal_label(metric: str, dimensionality: str | None) -> str:
    return f"{METRIC_NAMES.get(metric, metric)} ({_signal_unit(metric, dimensionality)})"


def _x_axis(independent_variable: str) -> tuple[str, str, str]:
    """(label with unit, unit, short name) of a calibration's independent variable."""
    if independent_variable == "cell_count":
        return "cell count (cells)", "cells", "cell count"
    return "iron mass (µg Fe)", "µg", "iron mass"


# ------------------------------------------------------------------------------------ summary


def _axes(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    parts = [f"{k}\u00a0{fmt(getattr(value, k))}" for k in ("x", "y", "z") if getattr(value, k, None) is not None]
    return (", ".join(parts) + f" {unit}") if parts else "—"


def _summary(model: Any) -> dict[str, Any] | None:
    if model is None:
        return None
    info = model.dataset
    dataset_rows = [("id", info.id), ("title", info.title)]
    if info.created:
        dataset_rows.append(("created", info.created))
    if info.authors:
        dataset_rows.append(("authors", "; ".join(
            a.name + (f" ({a.affiliation})" if a.affiliation else "") + (f", ORCID {a.orcid}" if a.orcid else "")
            for a in info.authors)))
    if info.license:
        dataset_rows.append(("license", info.license))
    if info.doi:
        dataset_rows.append(("DOI", info.doi))
    if info.references:
        dataset_rows.append(("references", "; ".join(info.references)))
    tracers = []
    for t in model.tracers:
        pm = t.particle_model
        if pm is None:
            particle = "—"
        elif pm.kind == "iron_mass_per_particle":
            particle = f"{fmt(pm.iron_mass_per_particle_fg)} fg Fe per particle"
        else:
            particle = (f"spherical core {fmt(pm.core_diameter_nm)} nm, {fmt(pm.density_g_per_cm3)} g/cm³, "
                        f"iron fraction {fmt(pm.iron_mass_fraction)}")
        stock = "—"
        if t.stock_iron_concentration_ug_per_uL is not None:
            stock = f"{fmt(t.stock_iron_concentration_ug_per_uL)} µg/µL"
            if t.stock_concentration_method:
                stock += f" ({display(t.stock_concentration_method)})"
        tracers.append({
            "id": t.id, "name": t.name,
            "vendor": " ".join(v for v in (t.vendor, t.product_code) if v) or "—",
            "lot": t.lot or "—", "coating": t.coating or "—", "core": display(t.core_material),
            "hydrodynamic": f"{fmt(t.hydrodynamic_diameter_nm)} nm" if t.hydrodynamic_diameter_nm else "—",
            "stock": stock, "particle": particle,
        })
    acquisitions = []
    for a in model.acquisitions:
        scanner = "—"
        if a.scanner is not None:
            scanner = f"{a.scanner.manufacturer} {a.scanner.model}"
            if a.scanner.software_version:
                scanner += f" (software {a.scanner.software_version})"
        holder = "—"
        if a.sample_holder is not None:
            holder = ", ".join(v for v in (a.sample_holder.kind, f"position {a.sample_holder.position}"
                                           if a.sample_holder.position else None) if v) or "—"
        rc = a.receiver_correction
        correction = "—"
        if rc is not None:
            correction = ("images already corrected" if rc.images_corrected else "raw images") + (
                f", {display(rc.method)}" if rc.method else "")
        acquisitions.append({
            "id": a.id, "scanner": scanner, "mode": display(a.mode),
            "dimensionality": display(a.dimensionality),
            "gradient": f"{fmt(a.gradient_T_per_m)} T/m" if a.gradient_T_per_m else "—",
            "frequency": f"{fmt(a.drive_frequency_kHz)} kHz" if a.drive_frequency_kHz else "—",
            "amplitude": _axes(a.drive_amplitude_mT, "mT"), "fov": _axes(a.fov_mm, "mm"),
            "pixel": _axes(a.pixel_size_mm, "mm"), "holder": holder,
            "saturation": fmt(a.saturation_level) if a.saturation_level else "—", "correction": correction,
        })
    tracer_table = _transpose(tracers, [
        ("name", "name"), ("vendor / product", "vendor"), ("lot", "lot"), ("coating", "coating"),
        ("core material", "core"), ("hydrodynamic diameter", "hydrodynamic"), ("stock iron", "stock"),
        ("particle model", "particle")])
    acquisition_table = _transpose(acquisitions, [
        ("scanner", "scanner"), ("mode", "mode"), ("dimensionality", "dimensionality"), ("gradient", "gradient"),
        ("drive frequency", "frequency"), ("drive amplitude", "amplitude"), ("field of view", "fov"),
        ("pixel size", "pixel"), ("sample holder", "holder"), ("saturation level", "saturation"),
        ("receiver", "correction")])
    an = model.analysis
    analysis_rows = []
    if an is not None:
        if an.noise is not None:
            analysis_rows.append(("noise", ", ".join(v for v in (
                display(an.noise.method) if an.noise.method else None,
                f"SD {fmt(an.noise.sd)} a.u." if an.noise.sd is not None else None) if v) or "—"))
        if an.threshold is not None:
            analysis_rows.append(("threshold", f"{fmt(an.threshold.k)} × noise SD"))
        if an.roi is not None:
            analysis_rows.append(("ROI", display(an.roi.method)))
        if an.fwhm is not None:
            analysis_rows.append(("FWHM", f"{display(an.fwhm.model)} profile along {an.fwhm.axis}"))
        if an.interparticle_distance is not None:
            analysis_rows.append(("interparticle distance", display(an.interparticle_distance.estimator)))
        if an.software is not None:
            analysis_rows.append(("software", an.software.name + (f" {an.software.version}"
                                                                  if an.software.version else "")))
    return {"dataset": dataset_rows, "description": breakable(info.description) if info.description else None, "tracers": tracer_table, "acquisitions": acquisition_table,
            "analysis": analysis_rows}


def _transpose(items: list[dict[str, Any]], fields: list[tuple[str, str]]) -> dict[str, Any]:
    """One column per object, one row per property (objects are few, properties many)."""
    return {"ids": [i["id"] for i in items],
            "rows": [(label, [i[key] for i in items]) for label, key in fields]}


def _environment_text(env: Any) -> str:
    parts = [display(env.kind)]
    if env.medium:
        parts.append(f"in {env.medium}")
    if env.cell_type:
        parts.append(f"cells: {env.cell_type}")
    if env.labelling is not None:
        lab = env.labelling
        bits = [f"{fmt(lab.iron_concentration_ug_per_mL)} µg Fe/mL" if lab.iron_concentration_ug_per_mL else None,
                f"{fmt(lab.duration_h)} h" if lab.duration_h else None, lab.medium]
        if any(bits):
            parts.append("labelled " + ", ".join(b for b in bits if b))
    if env.labelling_efficiency_percent is not None:
        e = env.labelling_efficiency_percent
        parts.append(f"labelling efficiency {fmt(e.mean)}" + (f" ± {fmt(e.sd)}" if e.sd is not None else "") + " %")
    if env.viability_percent is not None:
        parts.append(f"viability {fmt(env.viability_percent)} %")
    if env.iron_per_cell_pg is not None:
        parts.append(f"{fmt(env.iron_per_cell_pg)} pg Fe per cell")
    return "; ".join(parts)


# ------------------------------------------------------------------------------------ calibrations


class _Figures:
    """Numbers the page's figures so that each SVG gets its own id prefix."""

    def __init__(self) -> None:
        self.count = 0

    def next_id(self) -> str:
        self.count += 1
        return f"fig{self.count}"


def _param_rows(sf: Any, reported: Any, findings: list[Finding]) -> list[dict[str, Any]]:
    fit = sf.fit
    pointer = sf.pointer if sf.reported_index is not None else None

    def row(name: str, key: str, value: float | None, se: float | None, rep: float | None) -> dict[str, Any]:
        return {
            "name": name, "key": key, "recomputed": fmt(value, 6), "se": fmt(se, 3) if se is not None else "",
            "reported": fmt(rep, 6) if reported is not None else "",
            "rules": _at(findings, f"{pointer}/{key}") if pointer else [],
        }

    intercept_reported = None
    if reported is not None:
        intercept_reported = reported.intercept if reported.intercept is not None else (
            0.0 if reported.through_origin else None)
    return [
        row("slope", "slope", fit.slope, fit.slope_se, reported.slope if reported is not None else None),
        row("intercept", "intercept", fit.intercept, None if fit.through_origin else fit.intercept_se,
            intercept_reported),
        row("R²", "r_squared", fit.r_squared, None, reported.r_squared if reported is not None else None),
    ]


def _statistic(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {"name": what, "value": "not computed", "detail": ""}
    if hasattr(value, "reason") and not hasattr(value, "p_value"):
        return {"name": what, "value": "skipped", "detail": value.reason}
    if what.startswith("lack of fit"):
        return {"name": what, "value": f"F({value.df_lof}, {value.df_pe}) = {fmt(value.f)}",
                "detail": f"p = {fmt(value.p_value, 3)}"}
    if what.startswith("Mandel"):
        return {"name": what, "value": f"F({value.df1}, {value.df2}) = {fmt(value.f)}",
                "detail": f"p = {fmt(value.p_value, 3)}"}
    return {"name": what, "value": f"F({value.df1}, {value.df2}) = {fmt(value.f)}",
            "detail": f"p = {fmt(value.p_value, 3)}; variances {fmt(value.var_low)} (lowest level), "
                      f"{fmt(value.var_high)} (highest)"}


_LIMIT_METHODS = {"din32645": "DIN 32645", "massart": "Massart 1997", "ich_q2": "ICH Q2(R2)"}


def _limit_rows(sf: Any, x_unit: str = "") -> list[dict[str, str]]:
    """One row per method of ``sf.limits`` (DIN 32645, Massart 1997, ICH Q2(R2)); a skipped
    method is named by its display name with the reason; DIN 32645's quantifiable range (two
    roots of the x_BG equation, g >= 1) and each method's notes go in the last column."""
    rows = []
    for key, value in sf.limits.items():
        if hasattr(value, "detection_limit"):
            notes = []
            span = getattr(value, "quantification_range", None)
            if span is not None:
                notes.append(f"quantifiable range {fmt(span[0])} to {fmt(span[1])}"
                             + (f"{NBSP}{x_unit}" if x_unit else "")
                             + (f" (two roots of the x_BG equation, g = {fmt(value.g, 3)})"
                                if value.g is not None else " (two roots of the x_BG equation)"))
            notes.extend(getattr(value, "notes", ()) or ())
            rows.append({"method": _LIMIT_METHODS.get(key, value.method), "decision": fmt(value.decision_limit),
                         "detection": fmt(value.detection_limit), "quantification": fmt(value.quantification_limit),
                         "range": (f"{fmt(span[0])} to {fmt(span[1])}" if span is not None else ""),
                         "note": "; ".join(notes)})
        else:
            rows.append({"method": _LIMIT_METHODS.get(key, key), "decision": "—",
                         "detection": "—", "quantification": "—", "range": "",
                         "note": f"skipped: {getattr(value, 'reason', value)}"})
    return rows


def _fit_view(cq: Any, sf: Any, cal: Any, findings: list[Finding], figures: _Figures, dimensionality: str | None,
              draw: bool) -> dict[str, Any]:
    from mpistd.render import plots

    x_label, x_unit, _ = _x_axis(cal.independent_variable)
    reported = None
    if sf.reported_index is not None and cal.fits and sf.reported_index < len(cal.fits):
        reported = cal.fits[sf.reported_index]
    basis = "level means" if sf.basis == "level_means" else "every replicate"
    desc = [f"{METRIC_NAMES.get(sf.metric, sf.metric)}", f"fitted to {basis}"]
    if sf.weighting != "none":
        desc.append(f"weights {sf.weighting}")
    if sf.through_origin:
        desc.append("through the origin")
    view: dict[str, Any] = {
        "metric": METRIC_NAMES.get(sf.metric, sf.metric),
        "title": ", ".join(desc),
        "answers": "the reported fit" if reported is not None else "no reported fit: every metric present is fitted",
        "pointer": sf.pointer,
        "usable": sf.usable,
        "rules": sorted({f.rule for f in findings if f.pointer == sf.pointer
                         and (sf.reported_index is not None or metric_name(sf.metric) in f.message)}),
        "svg": None,
    }
    if not sf.usable:
        view["reason"] = getattr(sf.fit, "reason", str(sf.fit))
        return view
    from markupsafe import Markup

    fit = sf.fit
    view["params"] = _param_rows(sf, reported, findings)
    view["reported_basis"] = None
    if reported is not None:
        view["reported_basis"] = (f"reported: fitted to {display(reported.fitted_to)}, weighting {display(reported.weighting)}"
                                  + (", through the origin" if reported.through_origin else "")
                                  + (f", software {reported.software.name}" if reported.software else ""))
    view["stats"] = [
        (Markup("residual SD s<sub>y</sub>"), fmt(fit.residual_sd), _signal_unit(sf.metric, dimensionality)),
        (Markup("s<sub>x0</sub> = s<sub>y</sub>/b"), fmt(fit.s_x0), x_unit),
        ("n points / levels", f"{fit.n} / {fit.levels}", ""),
        ("calibrated range", f"{fmt(fit.x_min)} to {fmt(fit.x_max)}", x_unit),
        ("mean x̄ of the fitted x", fmt(fit.x_mean), x_unit),
        (Markup("Q<sub>x</sub> = Σ(x − x̄)²"), fmt(fit.q_x), f"{x_unit}²"),
        ("slope 95 % CI", f"{fmt(fit.slope_ci95[0])} to {fmt(fit.slope_ci95[1])}",
         f"{_signal_unit(sf.metric, dimensionality)} per {x_unit}"),
    ]
    view["tests"] = [
        _statistic(sf.lack_of_fit, "lack of fit vs pure error"),
        _statistic(sf.mandel, "Mandel (quadratic vs linear)"),
        _statistic(sf.homoscedasticity, "end-level variances (F-test)"),
    ]
    view["limits"] = _limit_rows(sf, x_unit)
    view["y_unit"] = _signal_unit(sf.metric, dimensionality)
    view["back"] = [{"x": fmt(b.x_level), "y": fmt(b.y_mean), "xhat": fmt(b.x_hat),
                     "error": _pct(100.0 * b.relative_error if b.relative_error is not None else None),
                     "replicates": b.replicates} for b in sf.back_calculated]
    if draw:
        din = sf.limits.get("din32645")
        levels = [(p.x, tuple(p.replicate_values.get(sf.metric) or ())) for p in cq.points
                  if p.x is not None and p.replicate_values.get(sf.metric)]
        view["svg"] = plots.calibration_plot(sf, fig_id=figures.next_id(), x_label=x_label,
                                             y_label=_signal_label(sf.metric, dimensionality), x_unit=x_unit,
                                             limits=din if hasattr(din, "detection_limit") else None,
                                             levels=levels or None)
    return view


def _dilution_view(cq: Any, quantities: Any, model: Any, figures: _Figures, dimensionality: str | None
                   ) -> dict[str, Any] | None:
    from mpistd.render import plots

    comp = cq.paired
    if comp is None:
        return None
    fc = quantities.calibrations[comp.fc_index]
    view: dict[str, Any] = {"fc_id": fc.id, "fc_anchor": f"cal-{comp.fc_index}", "tables": [], "svg": None,
                            "unmatched_fc": [fc.points[i].sample_id for i in comp.pairing.unmatched_fc],
                            "unmatched_fv": [cq.points[i].sample_id for i in comp.pairing.unmatched_fv]}
    series = []
    fwhm: list[tuple[float, float]] = []
    for metric, diffs in comp.differences.items():
        rows = []
        for d in diffs:
            rows.append({
                "fc": fc.points[d.i_fc].sample_id, "fv": cq.points[d.i_fv].sample_id, "mass": fmt(d.iron_mass),
                "ratio": fmt(d.dilution_ratio), "s_fc": fmt(d.signal_fc_mean), "s_fv": fmt(d.signal_fv_mean),
                "percent": fmt(d.percent_difference, 3),
                "uncertainty": fmt(d.uncertainty_percent, 2) if d.uncertainty_percent is not None else "—",
                "dfwhm": fmt(d.delta_fwhm, 3),
            })
        view["tables"].append({"metric": METRIC_NAMES.get(metric, metric),
                               "unit": _signal_unit(metric, dimensionality), "rows": rows})
        usable = [d for d in diffs if d.dilution_ratio is not None and d.percent_difference is not None]
        if usable:
            series.append({"label": METRIC_NAMES.get(metric, metric),
                           "ratio": [d.dilution_ratio for d in usable],
                           "percent": [d.percent_difference for d in usable],
                           "uncertainty": [d.uncertainty_percent for d in usable]})
        if not fwhm:
            fwhm = [(d.dilution_ratio, d.delta_fwhm) for d in diffs
                    if d.dilution_ratio is not None and d.delta_fwhm is not None]
    if series:
        view["svg"] = plots.dilution_plot(series, fwhm or None, fig_id=figures.next_id())
    return view


def _eq1_view(cq: Any, figures: _Figures, dimensionality: str | None, estimator: str,
              d_unit: tuple[str, float] = ("nm", 1.0)) -> dict[str, Any] | None:
    from mpistd.render import plots

    if not cq.eq1 or cq.distance_span is None or not cq.distance_span[1] > cq.distance_span[0]:
        return None  # equal distances (a fixed-concentration series): eq. 1 has nothing to show
    distances = [p.interparticle_distance_nm for p in cq.points]
    panels = []
    for metric, result in cq.eq1.items():
        means = [p.mean(metric) for p in cq.points]
        rows = [{"sample": p.sample_id, "distance": fmt(d * d_unit[1] if d is not None else None, 3),
                 "concentration": fmt(p.concentration_ug_per_uL, 3),
                 "measured": fmt(m), "theory": fmt(t), "deviation": fmt(dev, 3),
                 "reference": i == result.reference_index}
                for i, (p, d, m, t, dev) in enumerate(zip(cq.points, distances, means, result.theory,
                                                          result.deviation_percent))]
        split = None
        sp = (getattr(cq, "eq1_split", None) or {}).get(metric)
        if sp is not None and hasattr(sp, "spacing_percent") and len(sp.spacing_percent) == len(rows):
            for r, off, spc in zip(rows, sp.offset_percent, sp.spacing_percent):
                r["offset_part"] = fmt(off, 3)
                r["spacing_part"] = fmt(spc, 3)
            source = ("the measured blank" if sp.offset_source == "blank"
                      else "the intercept of the paired fixed-concentration series")
            split = {"offset": fmt(sp.offset), "source": source,
                     "unit": _signal_unit(metric, dimensionality)}
        panels.append({
            "metric": METRIC_NAMES.get(metric, metric), "rows": rows, "split": split,
            "svg": plots.eq1_plot(distances, means, result.reference_index, fig_id=figures.next_id(),
                                  y_label=_signal_label(metric, dimensionality), unit=d_unit),
        })
    return {"estimator": display(estimator), "panels": panels,
            "span": (f"{fmt(cq.distance_span[0] * d_unit[1], 3)} to {fmt(cq.distance_span[1] * d_unit[1], 3)}"
                     f"\u00a0{d_unit[0]}"), "d_unit": d_unit[0],
            "concentration_span": fmt(cq.concentration_span)}


def _sd(values: Any) -> float | None:
    vals = [float(v) for v in values or () if v is not None]
    if len(vals) < 2:
        return None
    mean = sum(vals) / len(vals)
    return math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))


def _reduction_uncertainty(cell_values: Any, predicted: float | None, fit: Any, mass: float | None) -> float | None:
    """Standard uncertainty (percentage points) of the reduction r = 100·(1 − S̄_cell/Ŝ_sol(m)).

    Display only (the reduction itself is the quantities stage's): first-order propagation
    of u(S̄_cell) = SD/√n of the cellular replicates and of the solution line's standard
    error at m, u(Ŝ) = s_y·√(1/n + (m − x̄)²/Q_x) (Draper & Smith), taken as independent:
    u(r) = 100·√((u(S̄)/Ŝ)² + (S̄·u(Ŝ)/Ŝ²)²).
    """
    vals = [float(v) for v in cell_values if v is not None]
    if predicted is None or fit is None or mass is None or not vals or predicted == 0:
        return None
    mean = sum(vals) / len(vals)
    sd = _sd(vals)
    u_cell = sd / math.sqrt(len(vals)) if sd is not None else 0.0
    if fit.through_origin:
        u_line = fit.residual_sd * math.sqrt(mass * mass / (fit.q_x + fit.n * fit.x_mean ** 2))
    else:
        u_line = fit.residual_sd * math.sqrt(1.0 / fit.n + (mass - fit.x_mean) ** 2 / fit.q_x)
    return 100.0 * math.sqrt((u_cell / predicted) ** 2 + (mean * u_line / predicted ** 2) ** 2)


def _environment_view(cq: Any, quantities: Any, figures: _Figures, dimensionality: str | None
                      ) -> dict[str, Any] | None:
    from mpistd.render import plots

    red = cq.cell_reduction
    if red is None:
        return None
    sol = quantities.calibrations[red.solution_index]
    panels = []
    for metric, values in red.reductions.items():
        sol_fit = sol.fit_for(metric)
        cell_fit = cq.fit_for(metric)
        rows = []
        for p, v in zip(cq.points, values):
            usable = sol_fit is not None and sol_fit.usable
            predicted = sol_fit.fit.predict(p.iron_mass_ug) if usable and p.iron_mass_ug is not None else None
            u = _reduction_uncertainty(p.replicate_values.get(metric) or (), predicted,
                                       sol_fit.fit if usable else None, p.iron_mass_ug)
            rows.append({"sample": p.sample_id, "mass": fmt(p.iron_mass_ug), "cells": fmt(p.mean(metric)),
                         "solution": fmt(predicted), "reduction": _pct(v, 1).replace("+", ""),
                         "uncertainty": fmt(u, 2) if u is not None else "—"})
        svg = plots.environment_plot(
            {"x": [p.x for p in sol.points if p.mean(metric) is not None],
             "y": [p.mean(metric) for p in sol.points if p.mean(metric) is not None],
             "sd": [_sd(p.replicate_values.get(metric)) for p in sol.points if p.mean(metric) is not None],
             "fit": sol_fit.fit if sol_fit is not None and sol_fit.usable else None},
            {"x": [p.x for p in cq.points], "y": [p.mean(metric) for p in cq.points],
             "sd": [_sd(p.replicate_values.get(metric)) for p in cq.points],
             "fit": cell_fit.fit if cell_fit is not None and cell_fit.usable else None},
            fig_id=figures.next_id(), x_label="iron mass (µg Fe)", y_label=_signal_label(metric, dimensionality))
        panels.append({"metric": METRIC_NAMES.get(metric, metric), "rows": rows, "svg": svg})
    return {"solution_id": sol.id, "solution_anchor": f"cal-{red.solution_index}", "panels": panels,
            "fwhm_change": _pct(red.fwhm_change_percent)}


def _calibration_views(quantities: Any, model: Any, findings: list[Finding], figures: _Figures
                       ) -> list[dict[str, Any]]:
    acquisitions = {a.id: a for a in model.acquisitions}
    # one distance unit for the whole page (tables, figures), chosen as the rules choose it
    distances = [p.interparticle_distance_nm for cq in quantities.calibrations for p in cq.points
                 if p.interparticle_distance_nm is not None]
    d_unit = distance_unit(max(distances) if distances else None)
    views = []
    for cq in quantities.calibrations:
        cal = model.calibrations[cq.index]
        acq = acquisitions.get(cal.acquisition)
        dim = getattr(acq, "dimensionality", None)
        x_label, x_unit, x_name = _x_axis(cal.independent_variable)
        metrics = [m for m in ("max_intensity", "total_intensity", "mean_intensity", "fwhm_mm")
                   if any(m in p.replicate_values for p in cq.points)]
        points = []
        for p in cq.points:
            points.append({
                "sample": p.sample_id, "x": fmt(p.x),
                "concentration": fmt(p.concentration_ug_per_uL),
                "source": p.concentration_source or "",
                "distance": fmt(p.interparticle_distance_nm * d_unit[1]
                                if p.interparticle_distance_nm is not None else None, 3),
                "replicates": p.n_replicates,
                "means": [fmt(p.mean(m)) for m in metrics],
                "rules": sorted({f.rule for f in _under(findings, p.pointer)}),
            })
        # one figure per distinct line (a reported fit and the default fit may coincide)
        seen: set[tuple] = set()
        fits = []
        for sf in cq.fits:
            key = (sf.metric, sf.basis, sf.weighting, sf.through_origin)
            fits.append(_fit_view(cq, sf, cal, findings, figures, dim, draw=key not in seen))
            seen.add(key)
        views.append({
            "index": cq.index, "anchor": f"cal-{cq.index}", "id": cq.id, "tracer": cal.tracer,
            "acquisition": cal.acquisition, "environment": _environment_text(cal.environment),
            "environment_short": " ".join(v for v in (display(cal.environment.kind), f"({cal.environment.cell_type})"
                                                      if cal.environment.cell_type else None,
                                                      f"in {cal.environment.medium}" if cal.environment.medium
                                                      else None) if v),
            "method": display(cal.method), "x_name": x_name, "x_unit": x_unit,
            "final_volume": fmt(cal.final_volume_uL) if cal.final_volume_uL else None,
            "paired_with": cal.paired_with,
            "metric_names": [METRIC_NAMES.get(m, m) for m in metrics],
            "points": points, "fits": fits,
            "concentration_span": fmt(cq.concentration_span) if cq.concentration_span else "—",
            "distance_span": (f"{fmt(cq.distance_span[0] * d_unit[1], 3)} to {fmt(cq.distance_span[1] * d_unit[1], 3)}"
                              if cq.distance_span else "—"), "d_unit": d_unit[0],
            "fwhm_mean": fmt(cq.fwhm_mean_mm),
            "findings": [_finding_row(f) for f in _under(findings, cq.pointer)],
            "dilution": _dilution_view(cq, quantities, model, figures, dim),
            "eq1": _eq1_view(cq, figures, dim, quantities.estimator, d_unit),
            "environment_view": _environment_view(cq, quantities, figures, dim),
        })
    return views


#: the paper's measured reduction of labelled cells against the solution line at equal iron mass
#: (section 3, Fig. 1, S7/S8): metric -> tracer -> (low, high) percent; "up to" values, so low is 0
PAPER_CELL_REDUCTION = {
    "max_intensity": {"ProMag": 30.0, "VivoTrax": 70.0},
    "total_intensity": {"ProMag": 20.0, "VivoTrax": 50.0},
}
PAPER = "Ureña Horno et al. 2025"


def _brief(f: Finding) -> dict[str, Any]:
    row = _finding_row(f)
    return {"rule": row["rule"], "severity": row["severity"], "title": row["title"], "anchor": row["anchor"]}


def _alternative(label: str, cq: Any, metric: str, signal: Any, unit: str, index: int) -> dict[str, Any] | None:
    """The same signals read with another calibration of the dataset (display only)."""
    from mpistd.quantify.limits import inverse_predict

    sf = cq.fit_for(metric)
    if sf is None or not sf.usable or not signal:
        return None
    p = inverse_predict(sf.fit, [float(v) for v in signal])
    if not hasattr(p, "estimate"):
        return None
    return {"label": label, "calibration": cq.id, "anchor": f"cal-{index}", "estimate": fmt(p.estimate),
            "value": p.estimate, "ci": f"{fmt(p.ci_low)} to {fmt(p.ci_high)}", "unit": unit,
            "level": f"{100 * (1 - p.alpha):g} %"}


def _tracer_name(model: Any, tracer_id: str) -> str | None:
    for t in model.tracers:
        if t.id == tracer_id:
            text = f"{t.name} {t.product_code or ''} {t.id}".lower()
            for name in ("ProMag", "VivoTrax"):
                if name.lower() in text:
                    return name
    return None


def _cell_bias(qq: Any, q: Any, cal: Any, quantities: Any, model: Any, estimate: float | None, unit: str
               ) -> str | None:
    """MPI040's bias statement: from the dataset's own cellular series when it has one,
    otherwise the paper's measured range, named as such."""
    metric = qq.metric
    for cq in quantities.calibrations:
        red = cq.cell_reduction
        other = model.calibrations[cq.index]
        if red is None or other.tracer != cal.tracer or metric not in red.reductions:
            continue
        vals = [v for v in red.reductions[metric] if v is not None]
        if not vals:
            continue
        lo, hi = min(vals), max(vals)
        text = (f"Bias: in this dataset the cellular series '{cq.id}' gave {num(lo, 2)}–{num(hi, 2)} % less "
                f"{metric_name(metric)} than the solution line '{quantities.calibrations[red.solution_index].id}' "
                f"at equal iron mass")
        if estimate is not None and hi < 100:
            text += (f"; read with a solution line, cells give an estimate that is low by that fraction: "
                     f"about {num(estimate / (1 - lo / 100), 3)}–{num(estimate / (1 - hi / 100), 3)} {unit} "
                     f"instead of {num(estimate, 3)} {unit}")
        return text + "."
    tracer = _tracer_name(model, cal.tracer)
    ranges = PAPER_CELL_REDUCTION.get(metric, {})
    if tracer in ranges:
        hi = ranges[tracer]
        text = (f"Bias (not measured in this dataset; the paper's measured range for {tracer}, {PAPER}): labelled "
                f"cells gave up to {num(hi, 2)} % less {metric_name(metric)} than the solution calibration")
    elif ranges:
        lo, hi = min(ranges.values()), max(ranges.values())
        text = (f"Bias (not measured in this dataset; the paper's measured range, {PAPER}): labelled cells gave "
                f"up to {num(lo, 2)} % (ProMag) to {num(hi, 2)} % (VivoTrax) less {metric_name(metric)} than the "
                f"solution calibration")
    else:
        return ("Bias (not measured in this dataset; the paper's measured range, " + PAPER + "): labelled cells "
                "gave up to 20–50 % less total and 30–70 % less maximum intensity than the solution calibration.")
    if estimate is not None and hi < 100:
        text += f"; the iron mass may then be up to {num(estimate / (1 - hi / 100), 3)} {unit} instead of {num(estimate, 3)} {unit}"
    return text + "."


def _paired_bias(qq: Any, cq: Any, quantities: Any, estimate: float | None, unit: str) -> tuple[str | None, Any]:
    """MPI031's bias statement from the dataset's paired series: (text, the fixed-concentration
    calibration's quantities or None)."""
    comp = cq.paired
    if comp is None:
        return None, None
    fc = quantities.calibrations[comp.fc_index]
    diffs = [d.percent_difference for d in comp.differences.get(qq.metric, ()) if d.percent_difference is not None]
    if not diffs:
        return None, fc
    lo, hi = min(diffs), max(diffs)
    return (f"Bias: this fixed-volume series' {metric_name(qq.metric)} differs from the fixed-concentration series "
            f"'{fc.id}' at equal iron mass by {pct(lo)} to {pct(hi)} ((FC − FV)/FC, this dataset); the estimate "
            f"with '{fc.id}' is shown beside it."), fc


def _paired_details(f: Finding, quantities: Any) -> dict[str, Any] | None:
    """MPI031's numbers as a table: every paired level of the metric the finding names, the
    pairs the finding lists marked (the message's lead sentence stays the text)."""
    parts = f.pointer.split("/")
    if len(parts) < 3 or parts[1] != "calibrations" or not parts[2].isdigit():
        return None
    index = int(parts[2])
    if index >= len(quantities.calibrations):
        return None
    cq = quantities.calibrations[index]
    comp = cq.paired
    if comp is None:
        return None
    fc = quantities.calibrations[comp.fc_index]
    metric = next((m for m in comp.differences if f.message.startswith(metric_name(m))), None)
    if metric is None:
        return None
    rows = []
    for d in comp.differences[metric]:
        pair = f"'{fc.points[d.i_fc].sample_id}'/'{cq.points[d.i_fv].sample_id}'"
        rows.append({"fc": fc.points[d.i_fc].sample_id, "fv": cq.points[d.i_fv].sample_id,
                     "mass": fmt(d.iron_mass), "ratio": fmt(d.dilution_ratio, 3),
                     "s_fc": fmt(d.signal_fc_mean), "s_fv": fmt(d.signal_fv_mean),
                     "percent": _pct(d.percent_difference), "diff": fmt(abs(d.difference), 4) if d.difference is not None else "—",
                     "u2": fmt(2 * d.uncertainty, 4) if d.uncertainty is not None else "—",
                     "beyond": pair in f.message})
    lead = f.message.split(": ", 1)[0]
    return {"lead": lead, "rows": rows, "metric": metric_name(metric), "fc": fc.id, "fv": cq.id}


_VARIANCE = {"fixed": "residual SD of the line", "pooled": "residual SD pooled with the sample's replicates",
             "reported": "the reported variance", "mean_response": "the mean response's variance"}


def _interval(low: float | None, high: float | None, unit: str) -> str:
    """``low to high unit`` by the shared number policy."""
    return f"{fmt(low)} to {fmt(high)}{NBSP}{unit}" if unit else f"{fmt(low)} to {fmt(high)}"


def fieller_text(f: Any, unit: str) -> str:
    """A Fieller interval in words: bounded as ``low to high unit``; unbounded said as such
    (the slope is not significantly different from zero at this level: g ≥ 1)."""
    if f is None:
        return "—"
    if f.kind == "interval":
        return _interval(f.low, f.high, unit)
    g = f"g = {fmt(f.g, 3)} ≥ 1"
    if f.kind == "two_half_lines":
        return (f"unbounded: x ≤ {fmt(f.low)} or x ≥ {fmt(f.high)}{NBSP}{unit} "
                f"(two half-lines; {g}: the slope is not well determined)")
    return f"unbounded: every x (the whole real line; {g}: the slope is not well determined)"


def _simultaneous_view(s: Any, unit: str) -> dict[str, str] | None:
    if s is None:
        return None
    return {"method": {"bonferroni": "Bonferroni", "scheffe": "Scheffé"}.get(s.method.lower(), display(s.method)),
            "k": str(s.k), "level": f"{100 * (1 - s.alpha):g} %", "critical": fmt(s.critical_value, 4),
            "wald": _interval(s.ci_low, s.ci_high, unit), "fieller": fieller_text(s.fieller, unit)}


def _quantification_rows(quantities: Any, model: Any, findings: list[Finding]) -> list[dict[str, Any]]:
    rows = []
    for qq in quantities.quantifications:
        q = model.quantifications[qq.index]
        cal = model.calibrations[qq.calibration_index]
        cq = quantities.calibrations[qq.calibration_index]
        _, x_unit, _ = _x_axis(cal.independent_variable)
        p = qq.prediction
        reported = None
        if q.reported is not None:
            reported = q.reported.cell_count if cal.independent_variable == "cell_count" else q.reported.iron_mass_ug
        own = _under(findings, qq.pointer)
        of_cal = _under(findings, cq.pointer)
        row = {
            "id": q.id, "sample": q.sample_id or "—", "calibration": cal.id, "cal_anchor": f"cal-{qq.calibration_index}",
            "metric": METRIC_NAMES.get(q.metric, q.metric), "environment": display(q.environment.kind),
            "m": len(q.signal), "mean_signal": fmt(sum(q.signal) / len(q.signal)) if q.signal else "—",
            "unit": x_unit, "reported": qty(reported, x_unit) if reported is not None else "—",
            "rules": sorted({f.rule for f in own}),
            "own_findings": sorted({(b["rule"], b["severity"], b["title"]) for b in map(_brief, own)}),
            "cal_findings": sorted({(b["rule"], b["severity"], b["title"]) for b in map(_brief, of_cal)}),
            "bias": [], "alternatives": [],
        }
        estimate = None
        if p is not None and hasattr(p, "estimate"):
            estimate = p.estimate
            row.update({"estimate": fmt(p.estimate), "ci": _interval(p.ci_low, p.ci_high, x_unit),
                        "fieller": fieller_text(p.fieller, x_unit),
                        "fieller_bounded": p.fieller is None or p.fieller.kind == "interval",
                        "simultaneous": _simultaneous_view(p.simultaneous, x_unit),
                        "variance": _VARIANCE.get(p.variance, display(p.variance)), "df": str(p.df),
                        "critical": fmt(p.critical_value, 4),
                        "level": f"{100 * (1 - p.alpha):g} %", "se": qty(p.se, x_unit, 3), "note": ""})
        else:
            row.update({"estimate": "—", "ci": "—", "fieller": "—", "fieller_bounded": True, "simultaneous": None,
                        "variance": "", "df": "", "critical": "", "level": "", "se": "—",
                        "note": getattr(p, "reason", None) or "no usable calibration line"})
        biological = q.environment.kind in ("cells", "tissue", "in_vivo")
        rules_here = {f.rule for f in own} | {f.rule for f in of_cal}
        if biological and cal.environment.kind == "solution":
            text = _cell_bias(qq, q, cal, quantities, model, estimate, x_unit)
            if text:
                row["bias"].append(text)
        if "MPI031" in rules_here or cq.paired is not None:
            text, fc = _paired_bias(qq, cq, quantities, estimate, x_unit)
            if text and "MPI031" in rules_here:
                row["bias"].append(text)
            if fc is not None:
                alt = _alternative("fixed-concentration series", fc, qq.metric, q.signal, x_unit, fc.index)
                if alt:
                    row["alternatives"].append(alt)
        if biological:
            for other_cq in quantities.calibrations:
                other = model.calibrations[other_cq.index]
                if other_cq.index == qq.calibration_index or other.tracer != cal.tracer:
                    continue
                if other.environment.kind != q.environment.kind:
                    continue
                _, unit, _ = _x_axis(other.independent_variable)
                label = ("cell-number calibration" if other.independent_variable == "cell_count"
                         else f"{display(other.environment.kind)} iron-mass calibration")
                alt = _alternative(label, other_cq, qq.metric, q.signal, unit, other_cq.index)
                if alt:
                    row["alternatives"].append(alt)
        rows.append(row)
    return rows


def _replicate_at(model: Any, pointer: str) -> Any:
    parts = pointer.split("/")[1:]
    try:
        if parts[0] == "calibrations":
            return model.calibrations[int(parts[1])].points[int(parts[3])].replicates[int(parts[5])]
        if parts[0] == "quantifications":
            return model.quantifications[int(parts[1])]
    except (IndexError, ValueError):
        return None
    return None


def _sample_of(model: Any, pointer: str) -> str:
    parts = pointer.split("/")[1:]
    try:
        if parts[0] == "calibrations":
            cal = model.calibrations[int(parts[1])]
            return f"{cal.id} · {cal.points[int(parts[3])].sample_id} · replicate {int(parts[5]) + 1}"
        if parts[0] == "quantifications":
            q = model.quantifications[int(parts[1])]
            return f"{q.id} (quantification)"
    except (IndexError, ValueError):
        pass
    return pointer


def _image_rows(images: list[dict[str, Any]], model: Any, findings: list[Finding],
                views: Mapping[str, Any] | None = None, figures: "_Figures | None" = None) -> list[dict[str, Any]]:
    from mpistd.render import plots

    views = views or {}
    rows = []
    for img in images:
        pointer = img.get("pointer") or ""
        rep = _replicate_at(model, pointer)
        metrics = img.get("metrics") or {}
        ref = getattr(rep, "image", None)
        cells = {}
        for m in IMAGE_METRICS:
            reported = getattr(rep, m, None) if rep is not None else None
            recomputed = metrics.get(m)
            if reported is None and recomputed is None:
                continue
            diff = None
            if reported is not None and recomputed is not None and recomputed != 0:
                diff = 100.0 * (reported - recomputed) / abs(recomputed)
            cells[m] = {"name": METRIC_NAMES[m], "reported": fmt(reported), "recomputed": fmt(recomputed),
                        "diff": _pct(diff), "rules": _at(findings, f"{pointer}/{m}")}
        status = "ok"
        if img.get("error_kind"):
            status = f"{img['error_kind']}: {img.get('error') or ''}"
        elif metrics.get("problems"):
            status = "; ".join(metrics["problems"])
        notes = []
        if img.get("saturated"):
            notes.append(f"{img['saturated']} saturated pixels")
        if img.get("out_of_range"):
            notes.append(f"{img['out_of_range']} pixels outside the correction table")
        svg = None
        if pointer in views and figures is not None:
            svg = plots.image_plot(views[pointer], fig_id=figures.next_id())
        parts = pointer.split("/")
        group = (f"cal-{parts[2]}" if len(parts) > 2 and parts[1] == "calibrations" else "quantifications")
        rows.append({
            "sample": _sample_of(model, pointer), "path": getattr(ref, "path", "—") if ref is not None else "—",
            "status": status, "threshold": fmt(img.get("threshold")), "group": group,
            "roi_pixels": metrics.get("roi_pixels") if metrics else None, "cells": cells, "notes": "; ".join(notes),
            "rules": sorted({f.rule for f in _under(findings, pointer)}), "svg": svg,
        })
    return rows


def _image_groups(rows: list[dict[str, Any]], model: Any) -> list[dict[str, Any]]:
    """The image rows by calibration (then the quantifications' images): one compact table
    each, one column per metric present."""
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        g = groups.setdefault(r["group"], {"anchor": r["group"], "images": [], "metrics": []})
        g["images"].append(r)
    for key, g in groups.items():
        present = [m for m in IMAGE_METRICS if any(m in r["cells"] for r in g["images"])]
        dim = None
        if key.startswith("cal-"):
            acq = {a.id: a for a in model.acquisitions}.get(model.calibrations[int(key[4:])].acquisition)
            dim = getattr(acq, "dimensionality", None)
        g["metrics"] = [{"key": m, "name": METRIC_NAMES[m],
                         "unit": _IMAGE_UNITS.get(m) or _signal_unit(m, dim)} for m in present]
        if key.startswith("cal-"):
            g["title"] = f"Calibration {model.calibrations[int(key[4:])].id}"
        else:
            g["title"] = "Quantifications"
        g["long"] = len(g["images"]) > 12
        g["drawn"] = [r for r in g["images"] if r["svg"]]
    return list(groups.values())


_IMAGE_UNITS = {"roi_area_mm2": "mm²", "roi_volume_mm3": "mm³", "fwhm_mm": "mm"}


def _short(sha: str | None) -> str:
    return sha or "—"


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in ("jinja2", "matplotlib"):
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:  # pragma: no cover - a vendored copy without metadata
            out.append(name)
    return ", ".join(out)


# ------------------------------------------------------------------------------------ the page


def build_context(result: DatasetResult, quantities: Any, model: Any, report_meta: Any, *,
                  images: list[dict[str, Any]] | None = None, note: str | None = None,
                  image_views: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything the template shows, as plain values (strings stay strings: jinja escapes them)."""
    meta = ReportMeta.coerce(report_meta)
    findings = list(result.findings)
    verdict = result.verdict()
    counts = result.counts()
    figures = _Figures()
    groups = []
    for sev in ("error", "warning", "info"):
        by_rule: dict[str, dict[str, Any]] = {}
        for f in findings:
            if f.severity.value != sev:
                continue
            row = _finding_row(f)
            entry = by_rule.setdefault(f.rule, {"rule": f.rule, "title": row["title"], "severity": sev,
                                                "rationale": row["rationale"], "remedy": row["remedy"],
                                                "instances": []})
            if f.rule == "MPI031" and quantities is not None:
                row["details"] = _paired_details(f, quantities)
            entry["instances"].append(row)
        if by_rule:
            groups.append({"severity": sev, "title": SEVERITY_TITLES[sev],
                           "count": sum(len(e["instances"]) for e in by_rule.values()),
                           "rules": sorted(by_rule.values(), key=lambda e: e["rule"])})
    suppressed = [{**_finding_row(s.finding), "source": s.source, "reason": s.reason} for s in result.suppressed]
    calibrations: list[dict[str, Any]] = []
    quant_rows: list[dict[str, Any]] = []
    image_rows: list[dict[str, Any]] = []
    if quantities is not None and model is not None:
        calibrations = _calibration_views(quantities, model, findings, figures)
        quant_rows = _quantification_rows(quantities, model, findings)
        if images is None:
            images = [r.to_dict() for r in quantities.images.values()]
        image_rows = _image_rows(images or [], model, findings, image_views or {}, figures)
    # in-page links only to sections this page has
    present = {c["anchor"] for c in calibrations} | ({"quantifications"} if quant_rows else set())
    if model is not None:
        present.add("summary")
    for group in groups:
        for entry in group["rules"]:
            for row in entry["instances"]:
                if row["anchor"] not in present:
                    row["anchor"] = None
    for row in suppressed:
        if row["anchor"] not in present:
            row["anchor"] = None
    provenance = [
        ("mpistd", meta.mpistd_version),
        ("standard (schema) version", meta.schema_version),
        ("dataset schema_version", result.schema_version or "—"),
        ("input", result.path),
        ("input sha256", _short(result.sha256)),
        ("profile", meta.profile + (" (strict: warnings fail)" if meta.strict else "")),
        ("failing level", meta.fail_level.value),
    ]
    if quantities is not None:
        provenance.append(("interparticle distance estimator", display(quantities.estimator)))
    if meta.created:
        provenance.append(("generated", meta.created))
    provenance.append(("rendered with", _versions()))
    title = result.title or (model.dataset.title if model is not None else None) or result.path
    return {
        "title": title,
        "path": result.path,
        "verdict": verdict,
        "verdict_class": VERDICT_CLASS.get(verdict, "fail"),
        "fails": result.fails(meta.fail_level),
        "counts": counts,
        "suppressed_count": len(result.suppressed),
        "meta": meta,
        "note": note,
        "quantified": quantities is not None and model is not None,
        "summary": _summary(model),
        "finding_groups": groups,
        "suppressed": suppressed,
        "calibrations": calibrations,
        "quantifications": quant_rows,
        "images": image_rows,
        "image_groups": _image_groups(image_rows, model) if image_rows else [],
        "provenance": provenance,
        "has_dilution": any(c["dilution"] or c["eq1"] for c in calibrations),
        "has_environment": any(c["environment_view"] for c in calibrations),
    }


_ENV: Any = None


def _environment() -> Any:
    """The jinja2 environment: templates from ``reports/``, autoescape on for everything."""
    global _ENV
    if _ENV is None:
        import jinja2

        from mpistd.resources import reports_dir

        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(reports_dir())),
            autoescape=True,  # every template, whatever its name: dataset strings are always escaped
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.filters["num"] = fmt
        env.filters["terms"] = schema_terms
        _ENV = env
    return _ENV


def _css() -> Any:
    from markupsafe import Markup

    from mpistd.resources import reports_dir

    css = (reports_dir() / "report.css").read_text(encoding="utf-8")
    if "</" in css:  # our own file, but a stray end tag would close the <style> element
        raise ValueError("report.css must not contain '</'")
    return Markup(css)


def _figure_markup(svg: str, mode: str, urls: list[str]) -> Any:
    """The plots module's SVG (drawn from numbers and fixed labels only) as markup: inline, or
    for the PDF an <img> with a data: URL (WeasyPrint then parses it as a separate image
    instead of styling each of its thousands of nodes through the page's cascade)."""
    from markupsafe import Markup

    if mode == "inline":
        return Markup(svg)
    import base64

    url = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
    urls.append(url)
    # a raster inside the figure (an image's pixels) is a data: URL of matplotlib's own PNG
    urls.extend(_NESTED.findall(svg))
    return Markup('<img class="plot" alt="figure" src="{}">').format(url)


_NESTED = __import__("re").compile(r'xlink:href="(data:image/png;base64,[A-Za-z0-9+/=]+)"')


def _markup_figures(context: dict[str, Any], mode: str) -> list[str]:
    urls: list[str] = []
    for cal in context["calibrations"]:
        for f in cal["fits"]:
            if f.get("svg"):
                f["svg"] = _figure_markup(f["svg"], mode, urls)
        if cal["dilution"] and cal["dilution"]["svg"]:
            cal["dilution"]["svg"] = _figure_markup(cal["dilution"]["svg"], mode, urls)
        for key in ("eq1", "environment_view"):
            if cal[key]:
                for p in cal[key]["panels"]:
                    p["svg"] = _figure_markup(p["svg"], mode, urls)
    for group in context["image_groups"]:
        for i in group["images"]:
            if i.get("svg"):
                i["svg"] = _figure_markup(i["svg"], mode, urls)
    return urls


def render_page(result: DatasetResult, quantities: Any, model: Any, report_meta: Any, *,
                images: list[dict[str, Any]] | None = None, note: str | None = None,
                figures: str = "inline", image_views: Mapping[str, Any] | None = None) -> tuple[str, list[str]]:
    """(HTML, the data: URLs it holds). ``figures`` "inline" embeds each SVG in the page (the
    HTML report); "data-url" makes each an <img> with a data: URL (the PDF's source)."""
    if figures not in ("inline", "data-url"):
        raise ValueError(f"figures must be 'inline' or 'data-url', not {figures!r}")
    context = build_context(result, quantities, model, report_meta, images=images, note=note,
                            image_views=image_views)
    urls = _markup_figures(context, figures)
    html = _environment().get_template("report.html.j2").render(css=_css(), **context)
    return html, urls


def render_html(result: DatasetResult, quantities: Any, model: Any, report_meta: Any, *,
                images: list[dict[str, Any]] | None = None, note: str | None = None) -> str:
    """The report page of one dataset, figures inline as SVG.

    ``quantities`` (a :class:`~mpistd.quantities.DatasetQuantities`) and ``model`` (the
    parsed :class:`~mpistd.standard.model.Dataset`) may be None for a document that did not
    pass the schema: the page then shows the findings only. ``report_meta`` is a
    :class:`ReportMeta`, a :class:`~mpistd.findings.Report` or a mapping with its fields.
    ``images`` replaces ``quantities.images`` (the validation run's image results as
    dicts, when the quantities were recomputed without images).
    """
    return render_page(result, quantities, model, report_meta, images=images, note=note)[0]


def render_index(report: Report, pages: list[tuple[DatasetResult, str]], *, title: str = "mpistd calibration reports"
                 ) -> str:
    """The site's index: one row per dataset with its verdict and counts, linked to its page."""
    meta = ReportMeta.from_report(report)
    rows = []
    for result, href in pages:
        rows.append({"href": href, "path": result.path, "title": result.title or "—", "verdict": result.verdict(),
                     "verdict_class": VERDICT_CLASS.get(result.verdict(), "fail"), "counts": result.counts(),
                     "suppressed": len(result.suppressed), "fails": result.fails(meta.fail_level)})
    provenance = [("mpistd", meta.mpistd_version), ("standard (schema) version", meta.schema_version),
                  ("profile", meta.profile + (" (strict: warnings fail)" if meta.strict else "")),
                  ("failing level", meta.fail_level.value)]
    if meta.created:
        provenance.append(("generated", meta.created))
    provenance.append(("rendered with", _versions()))
    failing = sum(1 for r in rows if r["fails"])
    return _environment().get_template("index.html.j2").render(
        css=_css(), title=title, rows=rows, counts=report.counts(), failing=failing, ok=report.ok,
        suppressed=sum(r["suppressed"] for r in rows), provenance=provenance, meta=meta)
