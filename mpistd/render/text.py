"""Plain-text output for a terminal: findings grouped per file, then a summary.

Colour (ANSI) only when asked (the CLI asks when stdout is a TTY and NO_COLOR is unset).
"""
from __future__ import annotations

from mpistd.findings import Report

_COLOURS = {"error": "\x1b[31;1m", "warning": "\x1b[33m", "info": "\x1b[36m", "dim": "\x1b[2m", "bold": "\x1b[1m",
            "green": "\x1b[32;1m"}
_RESET = "\x1b[0m"


def _c(text: str, colour: str, on: bool) -> str:
    return f"{_COLOURS[colour]}{text}{_RESET}" if on else text


def _clean(text: str) -> str:
    # dataset strings reach the terminal: never let them carry escape sequences
    return "".join(ch if ch.isprintable() or ch == "\n" else "\ufffd" for ch in text)


def render_text(report: Report, *, colour: bool = False, verbose: bool = False) -> str:
    lines: list[str] = []
    for result in report.results:
        if not result.findings and not result.suppressed and not verbose:
            continue
        lines.append(_c(_clean(result.path), "bold", colour))
        for f in result.findings:
            where = f"{f.line}:{f.column}" if f.line is not None else "-"
            sev = _c(f"{f.severity.value:<7}", f.severity.value, colour)
            pointer = _c(f.pointer or "/", "dim", colour)
            lines.append(f"  {where:>9}  {sev} {f.rule}  {_clean(f.message)}  {pointer}")
            if verbose and f.remedy:
                lines.append(f"{'':22}remedy: {f.remedy}")
        if result.suppressed:
            lines.append(_c(f"  ({len(result.suppressed)} suppressed: "
                            + ", ".join(sorted({f'{s.finding.rule} ({s.source})' for s in result.suppressed})) + ")",
                            "dim", colour))
        lines.append("")
    lines.append(summary_line(report, colour=colour))
    return "\n".join(lines) + "\n"


def summary_line(report: Report, *, colour: bool = False) -> str:
    c = report.counts()
    n = len(report.results)
    failing = sum(1 for r in report.results if r.fails(report.fail_level))
    parts = [f"{n} dataset{'s' if n != 1 else ''}", f"{failing} failing",
             f"{c['error']} error{'s' if c['error'] != 1 else ''}",
             f"{c['warning']} warning{'s' if c['warning'] != 1 else ''}", f"{c['info']} info"]
    suppressed = sum(len(r.suppressed) for r in report.results)
    if suppressed:
        parts.append(f"{suppressed} suppressed")
    verdict = "OK" if report.ok else "FAILED"
    head = _c(verdict, "green" if report.ok else "error", colour)
    mode = f" (profile {report.profile}{', strict' if report.strict else ''})"
    return f"{head}: " + ", ".join(parts) + mode


def summary_table(report: Report, *, colour: bool = False, limit: int = 50, max_width: int | None = 70) -> str:
    """A per-dataset table for runs over many files (the worst first)."""
    rows = sorted(report.results, key=lambda r: (-r.counts()["error"], -r.counts()["warning"], r.path))
    width = max((len(r.path) for r in rows), default=7)
    width = min(width, max_width) if max_width else width
    out = [f"{'dataset':<{width}}  {'verdict':<25} errors warnings info"]
    for r in rows[:limit]:
        c = r.counts()
        path = r.path if len(r.path) <= width else "…" + r.path[-(width - 1):]
        out.append(f"{_clean(path):<{width}}  {r.verdict():<25} {c['error']:>6} {c['warning']:>8} {c['info']:>4}")
    if len(rows) > limit:
        out.append(f"… and {len(rows) - limit} more")
    return "\n".join(out) + "\n"
