"""The repository view: comparable groups across datasets, their sensitivities, and outliers.

Reads only plain data: each dataset's verdict and its ``repository`` block
(:mod:`mpistd.comparability`), as in the JSON result. So the same code serves one run over a
tree (``mpistd validate DIR``), the merge of sharded runs (``mpistd merge``) and a summary
computed from JSON results alone.

Comparable group: tracer (vendor + product code, else the case-folded name), scanner
(manufacturer + model), acquisition mode and settings (mode, dimensionality, gradient, drive
frequency and amplitude), analysis software and version, threshold k, environment (kind and
cell type), independent variable (per µg Fe or per cell) and metric. Within a group every
series is *reported* (sensitivity = the recomputed slope, detection limit, R², design);
sensitivity is *compared* only on fixed-concentration solution series with iron mass as
the independent variable (fixed-volume slopes carry the dilution bias, cells the clustering
loss). A dataset's sensitivity in a group is the median of ln(slope) over its compared
series there (usually one); the cut (:func:`mpistd.quantify.robust.leave_one_out`) compares
it with the median and MAD of the *other* datasets of the group, in groups of at least
``MIN_GROUP`` datasets.

Time and memory are linear in the number of series (one pass to group, an O(n log n) sort
per group), see ``benchmarks/bench_repository.py``.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from mpistd.quantify.robust import MIN_GROUP, LeaveOneOut, iter_leave_one_out, leave_one_out

SUMMARY_FORMAT = 1
VERDICTS = ("conformant", "conformant with warnings", "not conformant")
COMPARED_METHODS = frozenset({"fixed_concentration"})


def _fold(value: Any) -> Any:
    return " ".join(value.split()).casefold() if isinstance(value, str) else value


def tracer_key(tracer: Mapping[str, Any]) -> str:
    """Vendor + product code when both are stated, else the case-folded name."""
    vendor, code = tracer.get("vendor"), tracer.get("product_code")
    if vendor and code:
        return f"{_fold(vendor)} / {_fold(code)}"
    return _fold(tracer.get("name")) or "(tracer not named)"


def group_key(series: Mapping[str, Any], metric: str | None) -> dict[str, Any]:
    """What two series must share to be compared (plain, JSON-ready)."""
    scanner = series.get("scanner") or {}
    acq = series.get("acquisition") or {}
    software = series.get("analysis_software") or {}
    env = series.get("environment") or {}
    return {
        "tracer": tracer_key(series.get("tracer") or {}),
        "scanner": " ".join(str(_fold(x)) for x in (scanner.get("manufacturer"), scanner.get("model")) if x) or None,
        "mode": acq.get("mode"),
        "dimensionality": acq.get("dimensionality"),
        "gradient_T_per_m": acq.get("gradient_T_per_m"),
        "drive_frequency_kHz": acq.get("drive_frequency_kHz"),
        "drive_amplitude_mT": acq.get("drive_amplitude_mT"),
        "software": " ".join(str(_fold(x)) for x in (software.get("name"), software.get("version")) if x) or None,
        "threshold_k": series.get("threshold_k"),
        "environment": " ".join(str(_fold(x)) for x in (env.get("kind"), env.get("cell_type")) if x) or None,
        "independent_variable": series.get("independent_variable"),
        "metric": metric,
    }


def _label(series: Mapping[str, Any], key: Mapping[str, Any]) -> str:
    tracer = series.get("tracer") or {}
    name = tracer.get("name") or "?"
    if tracer.get("vendor") and tracer.get("product_code"):
        name = f"{name} ({tracer['vendor']} {tracer['product_code']})"
    scanner = series.get("scanner") or {}
    parts = [name, " ".join(x for x in (scanner.get("manufacturer"), scanner.get("model")) if x) or "scanner not stated"]
    acq = []
    for k, unit in (("mode", ""), ("dimensionality", ""), ("gradient_T_per_m", " T/m"), ("drive_frequency_kHz", " kHz")):
        if key.get(k) is not None:
            v = key[k]
            acq.append(f"{v:g}{unit}" if isinstance(v, float) else f"{v}{unit}")
    amp = key.get("drive_amplitude_mT")
    if amp:
        acq.append("/".join(f"{a}{v:g}" for a, v in amp.items()) + " mT")
    parts.append(" ".join(acq) or "acquisition not stated")
    software = series.get("analysis_software")
    parts.append(" ".join(x for x in (software.get("name"), software.get("version")) if x) if software
                 else "software not stated")
    parts.append(f"k {key['threshold_k']:g}" if key.get("threshold_k") is not None else "k not stated")
    parts.append(key.get("environment") or "?")
    parts.append(str(key["metric"]))
    return " · ".join(parts)


def group_id(key: Mapping[str, Any]) -> str:
    """A short stable id of a group (a hash of its canonical key)."""
    text = json.dumps(key, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


# ------------------------------------------------------------------------------------ analysis


@dataclass
class Member:
    """One series and metric of one dataset, in its group."""

    dataset: int
    pointer: str  # the line's pointer (a reported fit, else the calibration)
    series_pointer: str
    series_id: str
    method: str
    slope: float | None
    r_squared: float | None
    detection_limit: float | None
    n: int | None
    compared: bool  # fixed-concentration solution series per µg Fe
    entry: Mapping[str, Any]  # the fit entry (dispositions, line, column)


@dataclass
class Unit:
    """One dataset's sensitivity in one group."""

    dataset: int
    members: list[Member]
    sensitivity: float | None  # exp(median ln slope) of the compared members; else of all positive ones
    status: str = "reported"  # within | outlier | not judged: MAD 0 | not judged: slope ≤ 0 | too few | no line | reported
    loo: LeaveOneOut | None = None


@dataclass
class Group:
    id: str
    key: dict[str, Any]
    label: str
    metric: str
    unit_label: str
    compared: bool  # the group's design allows comparison (solution, per µg Fe)
    members: list[Member] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    judged_datasets: int = 0  # datasets with a positive compared sensitivity

    def median_sensitivity(self) -> float | None:
        from mpistd.quantify.robust import median

        logs = [math.log(u.sensitivity) for u in self.units if u.sensitivity and u.sensitivity > 0
                and (not self.compared or any(m.compared for m in u.members))]
        return math.exp(median(logs)) if logs else None

    def mad_log(self) -> float | None:
        from mpistd.quantify.robust import mad

        logs = [math.log(u.sensitivity) for u in self.units if u.sensitivity and u.sensitivity > 0
                and (not self.compared or any(m.compared for m in u.members))]
        return mad(logs) if logs else None


@dataclass
class Entry:
    """What the view needs of one dataset result."""

    path: str
    verdict: str
    block: Mapping[str, Any] | None


@dataclass
class Analysis:
    entries: list[Entry]
    groups: list[Group]
    unsupported: list[int]  # datasets whose block has a format this mpistd does not know


def entries_from_results(results: Sequence[Any]) -> list[Entry]:
    """From DatasetResult objects (a run in memory)."""
    return [Entry(r.path, r.verdict(), r.repository) for r in results]


def entries_from_json(datasets: Iterable[Mapping[str, Any]]) -> list[Entry]:
    """From the ``datasets`` of a JSON result."""
    return [Entry(d["path"], d["verdict"], d.get("repository")) for d in datasets]


class _Line:
    """What :func:`dataset_record` needs of a member: its pointer, slope and design (a Member
    has these too, and :func:`_dataset_units` reads only them)."""

    __slots__ = ("pointer", "slope", "compared")

    def __init__(self, pointer: str, slope: float | None, compared: bool) -> None:
        self.pointer, self.slope, self.compared = pointer, slope, compared


def _block_members(i: int, block: Mapping[str, Any], groups: dict[str, Group],
                   ids: dict[tuple[str, str], str], *, light: bool = False) -> dict[str, list[Any]]:
    """One dataset's members, by group id (in the block's order); new groups are added to
    ``groups``; ``ids`` remembers the group id of (the text of the series' key fields, metric).
    ``light``: each member a :class:`_Line` instead of a full :class:`Member`."""
    out: dict[str, list[Any]] = {}
    for series in block.get("series") or ():
        per_cell = series.get("independent_variable") == "cell_count"
        env_kind = (series.get("environment") or {}).get("kind")
        compared_design = series.get("method") in COMPARED_METHODS and env_kind == "solution" and not per_cell
        fits = series.get("fits") or ()
        # the fields of the series that group_key reads (but the metric), as text, once per series: equal text (repr tells
        # 1, 1.0 and True apart, as the key's JSON does), equal group key; a cheaper stand-in for
        # the key's canonical JSON, which group_id makes only for a new group
        get = series.get
        base = repr((get("tracer"), get("scanner"), get("acquisition"), get("analysis_software"), get("threshold_k"),
                     get("environment"), get("independent_variable"))) if fits else ""
        for fit in fits:
            gid = ids.get((base, fit["metric"]))  # type: ignore[call-overload]
            if gid is None:
                gid = ids[(base, fit["metric"])] = group_id(group_key(series, fit["metric"]))  # type: ignore[index]
            if gid not in groups:
                key = group_key(series, fit["metric"])
                groups[gid] = Group(
                    id=gid, key=key, label=_label(series, key), metric=fit["metric"],
                    unit_label="a.u. per cell" if per_cell else "a.u. per µg Fe",
                    compared=env_kind == "solution" and not per_cell)
            if light:
                series["pointer"], series["id"], series["method"]  # a block without them fails as with a Member
                out.setdefault(gid, []).append(_Line(fit["pointer"], fit.get("slope"), compared_design))
                continue
            out.setdefault(gid, []).append(Member(
                dataset=i, pointer=fit["pointer"], series_pointer=series["pointer"], series_id=series["id"],
                method=series["method"], slope=fit.get("slope"), r_squared=fit.get("r_squared"),
                detection_limit=fit.get("detection_limit"), n=fit.get("n"), compared=compared_design,
                entry=fit))
    return out


def analyse(entries: list[Entry], *, min_group: int = MIN_GROUP) -> Analysis:
    """Group every series and metric, and judge the compared sensitivities (pure: plain data in).

    Everything, every member kept: the summary's view. The repository rules need less and
    fold the datasets one at a time (:class:`Fold`); both judge with the same functions."""
    from mpistd.comparability import FORMAT

    groups: dict[str, Group] = {}
    ids: dict[tuple[str, str], str] = {}
    unsupported = []
    for i, e in enumerate(entries):
        block = e.block
        if not block:
            continue
        if block.get("format") != FORMAT:
            unsupported.append(i)
            continue
        for gid, members in _block_members(i, block, groups, ids).items():
            group = groups[gid]
            group.members += members
            group.units += _dataset_units(i, members)
    ordered = sorted(groups.values(), key=lambda g: (g.label, g.id))
    for g in ordered:
        _judge(g, min_group)
    return Analysis(entries=entries, groups=ordered, unsupported=unsupported)


def _dataset_units(d: int, members: list[Any]) -> list[Unit]:
    """One dataset's units in one group (before the group is judged); ``members``: Member or
    _Line objects (their pointer, slope and compared are read)."""
    from mpistd.quantify.robust import median

    compared = [m for m in members if m.compared]
    pool = compared or members
    slopes = [m.slope for m in pool if m.slope is not None]
    if not slopes:
        return [Unit(d, pool, None, "no line")]
    units = []
    positive = [s for s in slopes if s > 0]
    if len(positive) < len(slopes):
        bad = [m for m in pool if m.slope is not None and m.slope <= 0]
        units.append(Unit(d, bad, min(slopes), "not judged: slope ≤ 0"))
        if not positive:
            return units
        pool = [m for m in pool if m.slope is not None and m.slope > 0]
    value = math.exp(median([math.log(s) for s in positive]))
    units.append(Unit(d, pool, value, "reported" if not compared else "too few"))
    return units


def _judge(group: Group, min_group: int) -> None:
    """The leave-one-out cut over the group's compared units (status "too few" until then)."""
    judged = [u for u in group.units if u.status == "too few"]
    group.judged_datasets = len(judged)
    if len(judged) >= min_group:
        # ln s equal to 1e-9 (a relative 1e-9 in s) is the same sensitivity: recomputation noise
        results = leave_one_out([math.log(u.sensitivity) for u in judged], equal_within=1e-9)  # type: ignore[arg-type]
        for u, r in zip(judged, results):
            u.loo = r
            u.status = "outlier" if r.outlier else ("within" if r.judged else "not judged: MAD 0")


# ------------------------------------------------------------------------------------ the fold
#: statuses of a folded unit, by code (the rules fire on the last three)
_STATUSES = ("no line", "reported", "too few", "within", "outlier", "not judged: MAD 0", "not judged: slope ≤ 0")
_CODE = {s: i for i, s in enumerate(_STATUSES)}
_FLAGGED = frozenset({"outlier", "not judged: MAD 0", "not judged: slope ≤ 0"})


@dataclass(frozen=True, slots=True)
class FlaggedMember:
    """A member of a flagged unit, as the repository rules see it (where the finding goes)."""

    dataset: int
    pointer: str


_RECORD_GROUPS: dict[str, Group] = {}  # dataset_record's groups (their members are not kept)
_RECORD_IDS: dict[tuple[str, str], str] = {}


def dataset_record(block: Mapping[str, Any] | None, known: set[str] | None = None) -> tuple[Any, ...] | None:
    """What the repository rules need of one dataset's block, small and plain (it crosses from a
    worker to the parent): per group it appears in, ``(group id, group or None, units)`` with
    each unit ``(status, sensitivity, member pointers)``. The group (id, key, label, …, no
    members) is sent only the first time: ``known`` holds the ids this process has sent already.
    None for no block; ``("unsupported",)`` for a block of an unknown format."""
    from mpistd.comparability import FORMAT

    if not block:
        return None
    if block.get("format") != FORMAT:
        return ("unsupported",)
    if len(_RECORD_GROUPS) > 4096:  # a per-process cache of the groups seen (a run has few)
        _RECORD_GROUPS.clear()
        _RECORD_IDS.clear()
    groups = _RECORD_GROUPS
    out = []
    for gid, members in _block_members(0, block, groups, _RECORD_IDS, light=True).items():
        meta = None
        if known is None or gid not in known:
            g = groups[gid]
            meta = (g.key, g.label, g.metric, g.unit_label, g.compared)
            if known is not None:
                known.add(gid)
        out.append((gid, meta, tuple((u.status, u.sensitivity, tuple(m.pointer for m in u.members))
                                      for u in _dataset_units(0, members))))
    return tuple(out)


def rule_entries(block: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The part of a block that :func:`apply_rules` reads once a rule fired (each fit's pointer,
    position and dispositions), in the block's shape: what a run keeps of a block when no output
    writes the blocks. Equal dispositions are one object (pickled once)."""
    if not block:
        return None
    # the dispositions are plain strings in dicts (mpistd.comparability): equal text, equal
    # dispositions; and a line's are most often those of the line before (asked first: cheaper)
    shared: dict[str, Any] = {}
    last: Any = None
    series = []
    for s in block.get("series") or ():
        fits = []
        for fit in s.get("fits") or ():
            rules = fit.get("rules")
            if last is None or rules != last:
                last = shared.setdefault(repr(rules), rules)
            fits.append({"pointer": fit["pointer"], "line": fit.get("line"), "column": fit.get("column"),
                         "rules": last})
        series.append({"fits": fits})
    return {"series": series}


class _FoldGroup:
    __slots__ = ("group", "datasets", "sensitivities", "statuses", "pointers")

    def __init__(self, group: Group) -> None:
        from array import array

        self.group = group
        self.datasets = array("l")
        self.sensitivities = array("d")  # NaN for None
        self.statuses = bytearray()
        self.pointers: list[tuple[str, ...]] = []


class Fold:
    """The repository rules' view of a run, folded one dataset's :func:`dataset_record` at a time
    (in dataset order), so that a run keeps a few numbers per dataset and group instead of every
    block: memory that does not grow with the blocks' size. :meth:`analysis` judges the groups
    exactly as :func:`analyse` does (same functions, same order) and keeps only the flagged units."""

    def __init__(self) -> None:
        self.groups: dict[str, _FoldGroup] = {}
        self.unsupported: list[int] = []
        self._tuples: dict[tuple[str, ...], tuple[str, ...]] = {}

    def add(self, d: int, record: tuple[Any, ...] | None) -> None:
        from sys import intern

        if record is None:
            return
        if record == ("unsupported",):
            self.unsupported.append(d)
            return
        for gid, meta, units in record:
            fg = self.groups.get(gid)
            if fg is None:
                if meta is None:
                    raise ValueError(f"repository group {gid} arrived without its description")
                key, label, metric, unit_label, compared = meta
                fg = self.groups[gid] = _FoldGroup(Group(id=gid, key=key, label=label, metric=metric,
                                                         unit_label=unit_label, compared=compared))
            for status, sensitivity, pointers in units:
                fg.datasets.append(d)
                fg.sensitivities.append(math.nan if sensitivity is None else sensitivity)
                fg.statuses.append(_CODE[status])
                shared = self._tuples.get(pointers)
                if shared is None:
                    shared = self._tuples[pointers] = tuple(intern(p) for p in pointers)
                fg.pointers.append(shared)

    def analysis(self, min_group: int = MIN_GROUP) -> Analysis:
        """The judged groups (sorted as :func:`analyse` sorts them), each with its flagged units only."""
        too_few = _CODE["too few"]
        ordered = sorted(self.groups.values(), key=lambda fg: (fg.group.label, fg.group.id))
        groups = []
        for fg in ordered:
            judged = [k for k, s in enumerate(fg.statuses) if s == too_few]
            statuses = fg.statuses
            loo: dict[int, LeaveOneOut] = {}  # of the flagged units only
            if len(judged) >= min_group:
                statuses = bytearray(fg.statuses)
                for k, r in zip(judged, iter_leave_one_out([math.log(fg.sensitivities[k]) for k in judged],
                                                      equal_within=1e-9)):
                    status = "outlier" if r.outlier else ("within" if r.judged else "not judged: MAD 0")
                    statuses[k] = _CODE[status]
                    if status in _FLAGGED:
                        loo[k] = r
            g = fg.group
            group = Group(id=g.id, key=g.key, label=g.label, metric=g.metric, unit_label=g.unit_label,
                          compared=g.compared, judged_datasets=len(judged))
            del judged
            for k, code in enumerate(statuses):
                status = _STATUSES[code]
                if status in _FLAGGED:
                    d = fg.datasets[k]
                    s = fg.sensitivities[k]
                    group.units.append(Unit(d, [FlaggedMember(d, p) for p in fg.pointers[k]],  # type: ignore[misc]
                                            None if math.isnan(s) else s, status, loo.get(k)))
            groups.append(group)
        return Analysis(entries=[], groups=groups, unsupported=list(self.unsupported))


# ------------------------------------------------------------------------------------ the rules


def apply_rules(results: Sequence[Any], fold: Fold | None = None, *, drop_previous: bool = True) -> None:
    """Run the repository rules on a whole run's results (DatasetResult objects), in place.

    Findings are disposed of as each dataset's own options said (severity, inline, config or
    baseline suppression: recorded in its block) and placed among its findings in document
    order. Findings of earlier repository runs (a merged unsharded result) are dropped first
    (``drop_previous``: a fresh run has none). ``fold``: the run's datasets already folded (as
    a run does while it validates); else they are folded here from the results' blocks. A
    result sequence with ``repository_of(i)`` (:class:`mpistd.store.ResultStore`) is asked for
    the blocks of the datasets a rule fires on; an item replaced is written back.
    """
    from mpistd.findings import Finding, Severity, Suppressed, sort_findings
    from mpistd.rules.registry import get_rule
    from mpistd.rules.repository import CHECKS

    ids = set(CHECKS)
    if drop_previous:
        for i, r in enumerate(results):
            if any(f.rule in ids for f in r.findings) or any(s.finding.rule in ids for s in r.suppressed):
                r.findings = [f for f in r.findings if f.rule not in ids]
                r.suppressed = [s for s in r.suppressed if s.finding.rule not in ids]
                results[i] = r  # type: ignore[index]
    if fold is None:
        fold = Fold()
        for i, r in enumerate(results):
            fold.add(i, dataset_record(r.repository))
    analysis = fold.analysis()
    block_of = getattr(results, "repository_of", None) or (lambda d: results[d].repository)
    entries: dict[tuple[int, str], Mapping[str, Any]] = {}

    def entry(d: int, pointer: str) -> Mapping[str, Any]:
        if (d, pointer) not in entries:
            for series in (block_of(d) or {}).get("series") or ():
                for fit in series.get("fits") or ():
                    entries[(d, fit["pointer"])] = fit  # the last fit of a pointer, as the members' index had
        return entries[(d, pointer)]

    added: dict[int, tuple[list[Any], list[Any]]] = {}
    for rule_id in sorted(CHECKS):
        rule = get_rule(rule_id)
        for hit in CHECKS[rule_id](analysis):
            fit = entry(hit.dataset, hit.pointer)
            disposition = (fit.get("rules") or {}).get(rule_id)
            if disposition is None:
                continue  # the dataset's options did not select the rule (--select)
            path = results[hit.dataset].path if not hasattr(results, "path_of") else results.path_of(hit.dataset)  # type: ignore[attr-defined]
            finding = Finding(rule=rule_id, severity=Severity.parse(disposition["severity"]), message=hit.message,
                              pointer=hit.pointer, file=path, line=fit.get("line"),
                              column=fit.get("column"), rationale=rule.rationale, remedy=rule.remedy)
            found, silenced = added.setdefault(hit.dataset, ([], []))
            if "suppressed" in disposition:
                s = disposition["suppressed"]
                silenced.append(Suppressed(finding, s["source"], s["reason"]))
            else:
                found.append(finding)
    for d, (found, silenced) in sorted(added.items()):
        result = results[d]
        result.findings = sort_findings(result.findings + found)
        result.suppressed = result.suppressed + silenced
        results[d] = result  # type: ignore[index]

def run_record(*, shard: tuple[int, int] | None, options: Mapping[str, Any], repository_rules: bool) -> dict[str, Any]:
    """The report's ``run``: what ``mpistd merge`` checks before combining results."""
    text = json.dumps(options, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return {"shard": list(shard) if shard else None,
            "options_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "repository_rules": repository_rules}


# ------------------------------------------------------------------------------------ the summary


def summary(analysis: Analysis, *, tool_version: str, schema_version: str) -> dict[str, Any]:
    """The repository summary as plain, JSON-ready data (deterministic: no time, sorted)."""
    entries = analysis.entries
    verdicts = {v: 0 for v in VERDICTS}
    for e in entries:
        verdicts[e.verdict] = verdicts.get(e.verdict, 0) + 1
    groups = []
    outliers = []
    for g in analysis.groups:
        units_by_member = {}
        for u in g.units:
            for m in u.members:
                units_by_member[(m.dataset, m.pointer)] = u
        gverdicts = {v: 0 for v in VERDICTS}
        for d in sorted({m.dataset for m in g.members}):
            gverdicts[entries[d].verdict] = gverdicts.get(entries[d].verdict, 0) + 1
        designs: dict[str, int] = {}
        for m in g.members:
            designs[m.method] = designs.get(m.method, 0) + 1
        n = len(g.members)
        members = []
        for m in g.members:
            u = units_by_member.get((m.dataset, m.pointer))
            status = u.status if u is not None else "reported"
            e = entries[m.dataset]
            members.append({
                "path": e.path,
                "dataset_id": (e.block or {}).get("dataset_id"),
                "lab": (e.block or {}).get("lab"),
                "series": m.series_id,
                "pointer": m.pointer,
                "design": m.method,
                "compared": m.compared,
                "sensitivity": m.slope,
                "detection_limit": m.detection_limit,
                "r_squared": m.r_squared,
                "status": status,
                "verdict": e.verdict,
            })
            if status in ("outlier", "not judged: MAD 0", "not judged: slope ≤ 0") and u is not None:
                outliers.append({
                    "rule": {"outlier": "MPI060", "not judged: MAD 0": "MPI061"}.get(status, "MPI062"),
                    "group": g.id, "path": e.path, "pointer": m.pointer, "status": status,
                    "sensitivity": u.sensitivity,
                    "median": math.exp(u.loo.median) if u.loo is not None else None,
                })
        groups.append({
            "id": g.id,
            "label": g.label,
            "key": g.key,
            "metric": g.metric,
            "unit": g.unit_label,
            "compared": g.compared,
            "datasets": len({m.dataset for m in g.members}),
            "series": n,
            "judged_datasets": g.judged_datasets,
            "judged": g.judged_datasets >= MIN_GROUP,
            "fixed_concentration_share": designs.get("fixed_concentration", 0) / n,
            "fixed_volume_share": designs.get("fixed_volume", 0) / n,
            "designs": dict(sorted(designs.items())),
            "median_sensitivity": g.median_sensitivity(),
            "mad_ln_sensitivity": g.mad_log(),
            "verdicts": gverdicts,
            "members": members,
        })
    return {
        "mpistd_summary": SUMMARY_FORMAT,
        "tool": {"name": "mpistd", "version": tool_version},
        "schema_version": schema_version,
        "min_group": MIN_GROUP,
        "datasets": len(entries),
        "verdicts": verdicts,
        "dataset_verdicts": {e.path: e.verdict for e in entries},
        "groups": groups,
        "outliers": outliers,
        "unsupported": [entries[i].path for i in analysis.unsupported],
    }


def summary_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def summary_text(data: Mapping[str, Any]) -> str:
    """A terminal table per group (data from the datasets are cleaned of control characters)."""
    from mpistd.rules._format import num

    v = data["verdicts"]
    lines = [f"repository summary: {data['datasets']} datasets — {v.get('conformant', 0)} conformant, "
             f"{v.get('conformant with warnings', 0)} with warnings, {v.get('not conformant', 0)} not conformant; "
             f"{len(data['groups'])} comparable groups, {len(data['outliers'])} outliers or unjudged sensitivities"]
    for g in data["groups"]:
        judged = ("compared" if g["judged"] else
                  f"not compared (needs {data['min_group']} datasets, has {g['judged_datasets']})" if g["compared"]
                  else "reported only (not a solution series per µg Fe)")
        lines.append("")
        lines.append(_clean(f"{g['label']}  [{g['id']}]"))
        lines.append(f"  {g['datasets']} datasets, {g['series']} series; fixed-concentration "
                     f"{g['fixed_concentration_share'] * 100:.0f} %, fixed-volume {g['fixed_volume_share'] * 100:.0f} %; "
                     f"median sensitivity {num(g['median_sensitivity'])} {g['unit']}, MAD(ln) {num(g['mad_ln_sensitivity'])}; "
                     f"{judged}")
        flagged = [m for m in g["members"] if m["status"] not in ("within", "reported", "too few")]
        for m in flagged:
            lines.append(_clean(f"  {m['status']:<22} {m['path']} {m['pointer']}  sensitivity {num(m['sensitivity'])}"))
    return "\n".join(lines) + "\n"


def _clean(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text)


# ------------------------------------------------------------------------------------ --previous


class SummaryError(ValueError):
    """A --previous file that is not an mpistd summary (a usage error)."""


def load_summary(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SummaryError(f"{where}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("mpistd_summary") != SUMMARY_FORMAT:
        raise SummaryError(f"{where}: not an mpistd repository summary (write one with "
                           f"'mpistd validate DIR --summary json:PATH')")
    for key, kind in (("dataset_verdicts", dict), ("outliers", list)):
        if not isinstance(data.get(key), kind):
            raise SummaryError(f"{where}: '{key}' is missing or not a {kind.__name__}")
    return data


def _outlier_key(o: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (str(o.get("rule")), str(o.get("group")), str(o.get("path")), str(o.get("pointer")))


def compare(previous: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """What changed between two summaries: datasets new, removed, changed verdict; outliers new, removed."""
    pv, cv = previous["dataset_verdicts"], current["dataset_verdicts"]
    po = {_outlier_key(o): o for o in previous["outliers"] if isinstance(o, dict)}
    co = {_outlier_key(o): o for o in current["outliers"]}
    return {
        "new": [{"path": p, "verdict": cv[p]} for p in sorted(set(cv) - set(pv))],
        "removed": [{"path": p, "verdict": pv[p]} for p in sorted(set(pv) - set(cv))],
        "changed": [{"path": p, "previous": pv[p], "verdict": cv[p]} for p in sorted(set(pv) & set(cv))
                    if pv[p] != cv[p]],
        "new_outliers": [co[k] for k in sorted(set(co) - set(po))],
        "removed_outliers": [po[k] for k in sorted(set(po) - set(co))],
    }


def changes_text(changes: Mapping[str, Any]) -> str:
    n = {k: len(v) for k, v in changes.items()}
    lines = [f"changes against the previous summary: {n['new']} new, {n['removed']} removed, {n['changed']} changed "
             f"verdicts; {n['new_outliers']} new, {n['removed_outliers']} removed outliers"]
    for d in changes["new"]:
        lines.append(_clean(f"  + {d['path']}: {d['verdict']}"))
    for d in changes["removed"]:
        lines.append(_clean(f"  - {d['path']} (was {d['verdict']})"))
    for d in changes["changed"]:
        lines.append(_clean(f"  ~ {d['path']}: {d['previous']} -> {d['verdict']}"))
    for o in changes["new_outliers"]:
        lines.append(_clean(f"  + {o['rule']} {o['path']} {o['pointer']} ({o['status']}, group {o['group']})"))
    for o in changes["removed_outliers"]:
        lines.append(_clean(f"  - {o['rule']} {o['path']} {o['pointer']} (group {o['group']})"))
    return "\n".join(lines) + "\n"


__all__ = ["analyse", "apply_rules", "summary", "summary_text", "summary_json", "compare", "changes_text",
           "load_summary", "entries_from_results", "entries_from_json", "group_key", "tracer_key", "run_record",
           "Analysis", "Group", "Unit", "Member", "SummaryError"]
