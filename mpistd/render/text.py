"""Plain-text output for a terminal: findings grouped per file, then a summary.

Colour (ANSI) only when asked (the CLI asks when stdout is a TTY and NO_COLOR is unset).
Every string from a dataset or a file name (path, rule id, message, pointer, remedy,
suppression source and reason, an internal error's message) passes :func:`mpistd._text.clean`,
and the whole text :func:`mpistd._text.guard_lines`: no control sequence, no extra line and no
CI workflow command can come from the data, on a terminal or in an ``--output text:FILE``.
"""
from __future__ import annotations

from mpistd._text import clean, guard_lines
from typing import Iterator

from mpistd.findings import DatasetResult, Report

_COLOURS = {"error": "\x1b[31;1m", "warning": "\x1b[33m", "info": "\x1b[36m", "dim": "\x1b[2m", "bold": "\x1b[1m",
            "green": "\x1b[32;1m"}
_RESET = "\x1b[0m"


def _c(text: str, colour: str, on: bool) -> str:
    return f"{_COLOURS[colour]}{text}{_RESET}" if on else text


_clean = clean  # the one sanitiser (mpistd/_text.py); kept under its old name for callers


def render_text(report: Report, *, colour: bool = False, verbose: bool = False, debug: bool = False) -> str:
    lines: list[str] = []
    for result in _listed(report, verbose):
        if not result.findings and not result.suppressed and not verbose and not result.internal_error:
            continue
        lines.append(_c(clean(result.path), "bold", colour))
        if result.internal_error:
            err = result.error or {}
            lines.append(f"  {'-':>9}  {_c('internal error', 'error', colour)}  "
                         f"{clean(err.get('type', ''))}: {clean(err.get('message', ''))}  "
                         "(a bug in mpistd: this dataset was not judged)")
            if debug and result.traceback:
                lines += [f"    {clean(tl)}" for tl in result.traceback.rstrip("\n").splitlines()]
        for f in result.findings:
            where = f"{f.line}:{f.column}" if f.line is not None else "-"
            sev = _c(f"{f.severity.value:<7}", f.severity.value, colour)
            pointer = _c(clean(f.pointer or "/"), "dim", colour)
            lines.append(f"  {where:>9}  {sev} {clean(f.rule)}  {clean(f.message)}  {pointer}")
            if verbose and f.remedy:
                lines.append(f"{'':22}remedy: {clean(f.remedy)}")
        if result.suppressed:
            lines.append(_c(f"  ({len(result.suppressed)} suppressed: "
                            + ", ".join(sorted({f'{clean(s.finding.rule)} ({clean(s.source)})'
                                                for s in result.suppressed})) + ")",
                            "dim", colour))
        lines.append("")
    lines.append(summary_line(report, colour=colour))
    return guard_lines("\n".join(lines) + "\n")


def _listed(report: Report, verbose: bool) -> Iterator[DatasetResult]:
    """The results, reading from a run's store only those the text lists."""
    store = report.results
    if verbose or not getattr(store, "keeps_totals", False):
        yield from store
        return
    for i in range(len(store)):
        if store.needs_text(i):  # type: ignore[attr-defined]
            yield store[i]


def summary_line(report: Report, *, colour: bool = False) -> str:
    c = report.counts()
    n = len(report.results)
    failing = report.failing()
    parts = [f"{n} dataset{'s' if n != 1 else ''}", f"{failing} failing",
             f"{c['error']} error{'s' if c['error'] != 1 else ''}",
             f"{c['warning']} warning{'s' if c['warning'] != 1 else ''}", f"{c['info']} info"]
    suppressed = report.suppressed_count()
    if suppressed:
        parts.append(f"{suppressed} suppressed")
    internal = len(report.internal_errors)
    if internal:
        parts.append(f"{internal} internal error{'s' if internal != 1 else ''}")
    verdict = "OK" if report.ok else "FAILED"
    head = _c(verdict, "green" if report.ok else "error", colour)
    mode = f" (profile {report.profile}{', strict' if report.strict else ''})"
    return f"{head}: " + ", ".join(parts) + mode


def summary_table(report: Report, *, colour: bool = False, limit: int = 50, max_width: int | None = 70) -> str:
    """A per-dataset table for runs over many files (the worst first: internal errors, then by
    errors, warnings and path). Only the shown rows are kept (a run may have many thousands)."""
    import heapq

    width = max((len(clean(row[0])) for row in report.rows()), default=7)
    width = min(width, max_width) if max_width else width
    total = len(report.results)
    shown_rows = heapq.nsmallest(limit, report.rows(), key=lambda row: (not row[1], -row[2], -row[3], row[0]))
    out = [f"{'dataset':<{width}}  {'verdict':<25} errors warnings info"]
    for path, internal, errors, warnings, infos in shown_rows:
        verdict = ("internal error" if internal else "not conformant" if errors else
                   "conformant with warnings" if warnings else "conformant")  # DatasetResult.verdict
        path = clean(path)
        path = path if len(path) <= width else "…" + path[-(width - 1):]
        out.append(f"{path:<{width}}  {verdict:<25} {errors:>6} {warnings:>8} {infos:>4}")
    if total > limit:
        out.append(f"… and {total - limit} more")
    return guard_lines("\n".join(out) + "\n")
