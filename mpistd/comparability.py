"""The plain data the repository view reads from one validated dataset.

Computed once per dataset by the pipeline (one hook at the end of ``_run_rules``) and written
to the JSON result as ``datasets[i].repository`` (schemas/report/mpistd-report.schema.json,
``$defs/repositoryData``). The repository summary, the repository rules (MPI060–MPI069) and
``mpistd merge`` read *only* this block and the dataset's verdict, so that results of
sharded runs can be combined without the dataset tree, byte for byte like one run.

It holds what makes two calibrations comparable (tracer vendor + product code, scanner,
acquisition mode and settings, analysis software and version, threshold k, environment,
metric, series design), the recomputed line of each series and metric (slope, R², detection
limit: copied from the quantities, never recomputed), and for every repository rule how the
dataset's own options dispose of a finding at that line (severity after profile and
configuration, or suppressed inline, by configuration or by the baseline) and where that
line is in the file, so a finding raised later from plain data is exactly the one the
dataset's own validation would have raised.
"""
from __future__ import annotations

from math import isfinite
from typing import Any

METRICS = ("max_intensity", "total_intensity", "mean_intensity")

#: bumped when the block changes shape; summaries and merge refuse what they do not know
FORMAT = 1


def repository_rule_ids() -> tuple[str, ...]:
    from mpistd.rules.registry import family_ids

    return family_ids("repository")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _num(value: Any) -> float | None:
    if type(value) is float:  # the common case, without the conversions below
        return value if isfinite(value) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


def _axes(axes: Any) -> dict[str, float] | None:
    if axes is None:
        return None
    return {a: float(getattr(axes, a)) for a in ("x", "y", "z") if getattr(axes, a, None) is not None}


def describe(model: Any, quantities: Any, options: Any, probe: Any) -> dict[str, Any]:
    """The repository block of one dataset.

    ``probe`` is a fresh ``pipeline.Emitter`` for the same document and options: a finding
    emitted into it shows how the dataset's options dispose of it (and where it is located),
    without touching the dataset's own findings.
    """
    rules = repository_rule_ids()
    method = options.tolerances.limits_method
    info = model.dataset
    affiliation = None
    for author in info.authors or ():
        if author.affiliation:
            affiliation = author.affiliation
            break
    analysis = model.analysis
    software = analysis.software if analysis is not None else None
    threshold = analysis.threshold if analysis is not None else None
    # each series' lines, in METRICS order (asked of the quantities once)
    lines = [(cq, [sf for m in METRICS if (sf := cq.fit_for(m)) is not None]) for cq in quantities.calibrations]
    located = element_positions(probe.doc, {cq.index: [sf.pointer for sf in fits] for cq, fits in lines})
    threshold_k = _num(threshold.k) if threshold is not None else None
    # the tracer's, scanner's and acquisition's entries, read once per (tracer, acquisition) object
    # pair (series share them); each series gets its own copies
    described: dict[tuple[int, int], tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {}
    series = []
    for cq, series_fits in lines:
        cal = model.calibrations[cq.index]
        tracer = model.tracer_by_id.get(cal.tracer)
        acq = model.acquisition_by_id.get(cal.acquisition)
        parts = described.get((id(tracer), id(acq)))
        if parts is None:
            parts = described[(id(tracer), id(acq))] = _equipment(tracer, acq)
        tracer_entry, scanner_entry, acquisition_entry = parts
        amplitude = acquisition_entry["drive_amplitude_mT"]
        fits = []
        for sf in series_fits:
            if sf.usable:
                line_fit = sf.fit
                slope, r_squared = _num(line_fit.slope), _num(line_fit.r_squared)
                detection_limit = _num(getattr(sf.limits.get(method), "detection_limit", None))
            else:
                slope = r_squared = detection_limit = None
            entry: dict[str, Any] = {"metric": sf.metric, "pointer": sf.pointer, "slope": slope,
                                     "r_squared": r_squared, "detection_limit": detection_limit, "n": len(sf.x)}
            entry.update(_dispositions(probe, rules, sf.pointer, located.get(sf.pointer)))
            fits.append(entry)
        series.append({
            "pointer": cq.pointer,
            "id": cal.id,
            "method": cal.method,
            "independent_variable": cal.independent_variable,
            "tracer": dict(tracer_entry),
            "scanner": dict(scanner_entry),
            "acquisition": {**acquisition_entry,
                            "drive_amplitude_mT": dict(amplitude) if amplitude is not None else None},
            "analysis_software": ({"name": software.name, "version": software.version}
                                  if software is not None else None),
            "threshold_k": threshold_k,
            "environment": {"kind": cal.environment.kind, "cell_type": _text(cal.environment.cell_type)},
            "fits": fits,
        })
    return {"format": FORMAT, "dataset_id": info.id, "lab": affiliation, "limits_method": method,
            "series": series}


def _equipment(tracer: Any, acq: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A series' tracer, scanner and acquisition entries (the acquisition's drive amplitude
    is a dict of its own, or None)."""
    scanner = acq.scanner if acq is not None else None
    return ({"name": _text(getattr(tracer, "name", None)),
             "vendor": _text(getattr(tracer, "vendor", None)),
             "product_code": _text(getattr(tracer, "product_code", None))},
            {"manufacturer": _text(getattr(scanner, "manufacturer", None)),
             "model": _text(getattr(scanner, "model", None))},
            {"mode": getattr(acq, "mode", None),
             "dimensionality": getattr(acq, "dimensionality", None),
             "gradient_T_per_m": _num(getattr(acq, "gradient_T_per_m", None)),
             "drive_frequency_kHz": _num(getattr(acq, "drive_frequency_kHz", None)),
             "drive_amplitude_mT": _axes(getattr(acq, "drive_amplitude_mT", None))})


def element_positions(doc: Any, wanted: dict[int, list[str]]) -> dict[str, tuple[int, int]]:
    """1-based (line, column) of ``/calibrations/i`` and ``/calibrations/i/fits/j``, as
    ``Document.locate`` gives them, through ``Document.locate_elements`` (the JSON parse recorded
    where these elements start, so no second pass over the text is needed; a conformant dataset
    never needs the full position map, whose cost would double that of validating it). YAML or an
    in-memory mapping: {} and the emitter locates as usual."""
    if doc is None or not hasattr(doc, "locate_elements"):
        return {}
    return doc.locate_elements(p for ps in wanted.values() for p in ps)


def _rule_entry(severity: str, silenced: tuple[str, str] | None) -> dict[str, Any]:
    """What a repository rule's finding becomes at a line: its severity, and how it is suppressed."""
    if silenced is None:
        return {"severity": severity}
    return {"severity": severity, "suppressed": {"source": silenced[0], "reason": silenced[1]}}


def _dispositions(probe: Any, rules: tuple[str, ...], pointer: str,
                  where: tuple[int, int] | None = None) -> dict[str, Any]:
    """Where a finding at ``pointer`` is located, and what each repository rule's finding becomes."""
    out: dict[str, Any] = {"line": None, "column": None, "rules": {}}
    line, column = where if where is not None else (None, None)
    for rule_id in rules:
        answer = probe.disposition_anywhere(rule_id)  # the same answer as emit, without a Finding
        if answer is not None:
            out["rules"][rule_id] = _rule_entry(*answer)
            if line is None and probe.doc is not None:
                line, column = probe.doc.locate(pointer)
            out["line"], out["column"] = line, column
            continue
        n_f, n_s = len(probe.findings), len(probe.suppressed)
        probe.emit(rule_id, pointer, "", line=line, column=column)
        if len(probe.findings) > n_f:
            f = probe.findings[-1]
            out["rules"][rule_id] = {"severity": f.severity.value}
        elif len(probe.suppressed) > n_s:
            s = probe.suppressed[-1]
            f = s.finding
            out["rules"][rule_id] = _rule_entry(f.severity.value, (s.source, s.reason))
        else:  # pragma: no cover - emit always files the finding somewhere
            continue
        out["line"], out["column"] = f.line, f.column
    return out


__all__ = ["describe", "repository_rule_ids", "FORMAT"]
