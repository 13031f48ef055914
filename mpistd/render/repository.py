"""The repository page of a report site (``mpistd report DIR -o site/``, ``mpistd merge … -o site:DIR``).

``repository/index.html`` beside the site's ``index.html``: verdict counts, and per comparable group a forest
plot of the datasets' sensitivities (log axis, the group's median and its cut band
median · exp(±3.5 · 1.4826 · MAD)), a table of its series with links to the dataset pages.
It reads only the repository summary (:func:`mpistd.repository.summary`), never decides a
verdict, and escapes every dataset string (jinja2 autoescape; the SVG is built from escaped
text and numbers only). Self-contained like the other pages: inline CSS and SVG, no scripts,
a Content-Security-Policy that forbids every fetch.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from mpistd.quantify.robust import CUT_K, MAD_SCALE

PAGE = "repository/index.html"  # a folder of its own: the site's top level holds the dataset pages and index.html
#: rows drawn per group's forest plot (outliers always, then the others in order)
MAX_ROWS = 60
_STATUS_CLASS = {"outlier": "bad", "not judged: MAD 0": "warn", "not judged: slope ≤ 0": "warn", "within": "ok",
                 "too few": "muted", "reported": "muted", "no line": "muted"}


_FILL = {"ok": "#2f6fbf", "bad": "#cf222e", "warn": "#bf8700", "muted": "#9aa3b2"}


def _fmt(x: float | None) -> str:
    from mpistd.rules._format import num

    return num(x)


def forest_svg(group: Mapping[str, Any], hrefs: Mapping[str, str]) -> str:
    """An inline SVG forest plot of one group: one row per series, log-scaled sensitivity."""
    from markupsafe import escape

    members = [m for m in group["members"] if m["sensitivity"] is not None and m["sensitivity"] > 0]
    flagged = [m for m in members if m["status"] != "within" and m["compared"]]
    rest = [m for m in members if m not in flagged]
    rows = (flagged + rest)[:MAX_ROWS]
    hidden = len(members) - len(rows)
    median = group["median_sensitivity"]
    mad = group["mad_ln_sensitivity"]
    values = [math.log(m["sensitivity"]) for m in rows]
    if median:
        values.append(math.log(median))
        if mad:
            values += [math.log(median) - CUT_K * MAD_SCALE * mad, math.log(median) + CUT_K * MAD_SCALE * mad]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    pad = max((hi - lo) * 0.08, 0.05)
    lo, hi = lo - pad, hi + pad
    left, width, row_h, top = 290, 440, 16, 26
    height = top + row_h * len(rows) + 34 + (14 if hidden else 0)

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * width

    out = [f'<svg class="forest" xmlns="http://www.w3.org/2000/svg" width="{left + width + 20}" height="{height}" '
           f'viewBox="0 0 {left + width + 20} {height}" role="img" aria-label="forest plot of {escape(group["label"])}">']
    if median and mad:
        a, b = x(math.log(median) - CUT_K * MAD_SCALE * mad), x(math.log(median) + CUT_K * MAD_SCALE * mad)
        out.append(f'<rect x="{a:.1f}" y="{top - 8}" width="{b - a:.1f}" height="{row_h * len(rows) + 8}" fill="#e7f0fb"/>')
    if median:
        xm = x(math.log(median))
        out.append(f'<line x1="{xm:.1f}" y1="{top - 10}" x2="{xm:.1f}" y2="{top + row_h * len(rows)}" stroke="#1d2330" stroke-dasharray="4 3"/>')
        out.append(f'<text x="{xm:.1f}" y="{top - 12}" font-size="11" fill="#3a4252" font-family="sans-serif" text-anchor="middle">median {escape(_fmt(median))}</text>')
    for i, m in enumerate(rows):
        y = top + row_h * i + row_h / 2
        label = f"{m['path']} {m['series']}"
        if len(label) > 46:
            label = "…" + label[-45:]
        cls = _STATUS_CLASS.get(m["status"], "muted") if m["compared"] else "muted"
        shape = "circle" if m["design"] == "fixed_concentration" else "diamond"
        out.append(f'<text x="{left - 8}" y="{y + 4:.1f}" font-size="11" fill="#3a4252" font-family="sans-serif" text-anchor="end">{escape(label)}</text>')
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" stroke="#eef0f4"/>')
        cx = x(math.log(m["sensitivity"]))
        title = f"<title>{escape(m['path'])} {escape(m['pointer'])}: {escape(_fmt(m['sensitivity']))} ({escape(m['status'])})</title>"
        if shape == "circle":
            out.append(f'<circle cx="{cx:.1f}" cy="{y:.1f}" r="4.5" fill="{_FILL[cls]}" stroke="#fff">{title}</circle>')
        else:
            out.append(f'<path d="M{cx:.1f} {y - 5:.1f} L{cx + 5:.1f} {y:.1f} L{cx:.1f} {y + 5:.1f} L{cx - 5:.1f} {y:.1f} Z" '
                       f'fill="{_FILL[cls]}" stroke="#fff">{title}</path>')
    base = top + row_h * len(rows) + 4
    out.append(f'<line x1="{left}" y1="{base}" x2="{left + width}" y2="{base}" stroke="#8a93a5"/>')
    for t in _ticks(lo, hi):
        xt = x(math.log(t))
        out.append(f'<line x1="{xt:.1f}" y1="{base}" x2="{xt:.1f}" y2="{base + 4}" stroke="#8a93a5"/>')
        out.append(f'<text x="{xt:.1f}" y="{base + 16}" font-size="11" fill="#3a4252" font-family="sans-serif" text-anchor="middle">{escape(_fmt(t))}</text>')
    out.append(f'<text x="{left + width / 2:.1f}" y="{base + 30}" font-size="11" fill="#3a4252" font-family="sans-serif" text-anchor="middle">'
               f'sensitivity ({escape(group["unit"])}, log scale)</text>')
    if hidden:
        out.append(f'<text x="{left}" y="{height - 2}" font-size="11" fill="#3a4252" font-family="sans-serif">… and {hidden} more series within the band '
                   f'(see the table)</text>')
    out.append("</svg>")
    return "".join(out)


def _ticks(lo: float, hi: float) -> list[float]:
    """Round values (1, 2, 5 × 10^k) inside exp(lo)..exp(hi), at most about 7."""
    a, b = math.exp(lo), math.exp(hi)
    ticks: list[float] = []
    for step in ((1.0,), (1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 5.0, 7.0), tuple(range(1, 10))):
        ticks = [m * 10.0 ** k for k in range(math.floor(math.log10(a)) - 1, math.ceil(math.log10(b)) + 1)
                 for m in step if a <= m * 10.0 ** k <= b]
        if len(ticks) >= 3:
            break
    if len(ticks) < 2:
        ticks = [a * (b / a) ** (i / 4) for i in range(5)]
    return ticks[:: max(1, len(ticks) // 7)]


def render_repository(data: Mapping[str, Any], hrefs: Mapping[str, str], meta: Any) -> str:
    """The repository page (HTML text) of a summary; ``hrefs`` maps dataset path -> page name."""
    from markupsafe import Markup

    from mpistd.render.html import _environment

    groups = []
    for g in data["groups"]:
        groups.append({**g, "svg": Markup(forest_svg(g, hrefs)),
                       "rows": [{**m, "href": hrefs.get(m["path"]), "cls": _STATUS_CLASS.get(m["status"], "muted")}
                                for m in g["members"]]})
    judged = sum(1 for g in data["groups"] if g["judged"])
    template = _environment().get_template("repository.html.j2")
    return template.render(data=data, groups=groups, judged=judged, meta=meta, num=_fmt, cut_k=CUT_K, hrefs=hrefs,
                           mad_scale=MAD_SCALE)


def write_repository_page(report: Any, folder: Path, pages: Sequence[tuple[Any, str]]) -> Path | None:
    """Write ``repository/index.html`` into a report site (when any dataset was quantified)."""
    from mpistd._atomic import write_atomic
    from mpistd.render.html import ReportMeta
    from mpistd.repository import analyse, entries_from_results, summary

    if not any(r.repository for r, _ in pages):
        return None
    data = summary(analyse(entries_from_results(report.results)), tool_version=report.mpistd_version,
                   schema_version=report.schema_version)
    hrefs = {r.path: f"../{name}" for r, name in pages}
    return write_atomic(Path(folder) / PAGE, render_repository(data, hrefs, ReportMeta.from_report(report)))


__all__ = ["render_repository", "write_repository_page", "forest_svg", "PAGE"]
