"""The report's figures: matplotlib drawn straight to SVG text, embedded inline in the HTML.

Every function takes numbers the quantities stage already computed (a ``LineFit``, the
paired differences, eq. 1's result, …) and returns one ``<svg>`` element as a string. The
figures echo the paper's: signal vs iron mass or cell count with the line (Fig. 1b/c, S3,
S5), percentage difference vs dilution ratio (Fig. 4), signal vs interparticle distance
with the eq.-1 curve (Fig. 5), solution and cellular curves overlaid (Fig. 1b/c).

Rules of this module:

- matplotlib is imported only inside these functions (``import mpistd`` and ``mpistd
  validate`` never pay for it), figures are ``matplotlib.figure.Figure`` objects that pyplot
  never sees (no global figure registry, no backend switch that would touch a user's
  notebook) and rcParams are set only inside ``rc_context``;
- no dataset string ever reaches a figure: titles, legends and labels are this module's or
  the caller's fixed vocabulary, so the SVG needs no escaping review and mathtext never
  parses user text;
- output is reproducible: fixed ``svg.hashsalt``, no date in the metadata, and every id in
  an SVG is prefixed with the caller's figure id so that several SVGs inline in one HTML
  document never share an id;
- series differ by marker, line style and fill as well as colour, so a greyscale print
  still tells them apart.
"""
from __future__ import annotations

import io
import math
import re
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator, Sequence

#: Colours (Okabe–Ito) with distinct markers, line styles and fills: readable in grey too.
STYLES: tuple[dict[str, Any], ...] = (
    {"color": "#000000", "marker": "o", "linestyle": "-", "mfc": "#000000"},
    {"color": "#d55e00", "marker": "s", "linestyle": "--", "mfc": "none"},
    {"color": "#0072b2", "marker": "^", "linestyle": ":", "mfc": "#0072b2"},
    {"color": "#009e73", "marker": "D", "linestyle": "-.", "mfc": "none"},
    {"color": "#cc79a7", "marker": "v", "linestyle": (0, (5, 1, 1, 1, 1, 1)), "mfc": "#cc79a7"},
)

_RC = {
    "svg.hashsalt": "mpistd-report",
    "svg.fonttype": "none",  # real <text>: small, selectable, searchable in the PDF
    "font.family": "DejaVu Sans",
    "font.size": 8.0,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8.0,
    "legend.fontsize": 7.0,
    "xtick.labelsize": 7.0,
    "ytick.labelsize": 7.0,
    "axes.linewidth": 0.7,
    "lines.linewidth": 1.2,
    "lines.markersize": 4.5,
    "axes.grid": True,
    "grid.color": "#d9d9d9",
    "grid.linewidth": 0.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.formatter.limits": (-4, 5),
    "axes.formatter.use_mathtext": False,  # mathtext tick labels cost ~10x the drawing time
    "path.simplify": True,
    "figure.dpi": 72.0,
}

_ID = re.compile(r'\bid="([^"]+)"')


@contextmanager
def _figure(width_in: float, height_in: float, ncols: int = 1, width_ratios: Sequence[float] | None = None
            ) -> Iterator[tuple[Any, list[Any]]]:
    """A pyplot-free Figure with fixed margins in inches.

    Fixed margins rather than constrained layout: a third faster, and the tick labels are
    short (plain formatter, scientific offset beyond 1e5), so 0.62 in on the left suffices.
    """
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width_in, height_in))
        left, right, bottom, top, gap = 0.62, 0.12, 0.42, 0.12, 0.72
        fig.subplots_adjust(left=left / width_in, right=1 - right / width_in, bottom=bottom / height_in,
                            top=1 - top / height_in,
                            wspace=gap / ((width_in - left - right - gap * (ncols - 1)) / ncols) if ncols > 1 else 0)
        axes = fig.subplots(1, ncols, width_ratios=width_ratios, squeeze=False)[0].tolist()
        for ax in axes:
            ax.locator_params(nbins=5)  # fewer, rounder ticks: easier to read, and ticks are most of the drawing
        try:
            yield fig, axes
        finally:
            fig.clear()


def _to_svg(fig: Any, fig_id: str) -> str:
    """The figure as one inline ``<svg>`` element, its ids prefixed with ``fig_id``."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, count=1, flags=re.S)
    ids = sorted(set(_ID.findall(text)), key=len, reverse=True)
    if ids:
        alternatives = "|".join(re.escape(i) for i in ids)
        pattern = re.compile(r'(\bid="|href="#|url\(#)(' + alternatives + r')(?=["\)])')
        text = pattern.sub(lambda m: f"{m.group(1)}{fig_id}-{m.group(2)}", text)
    # path data: 0.01 pt is plenty, one line; markup: no indentation (a third of the bytes,
    # and the PDF renderer parses every one of them)
    text = _PATH_DATA.sub(lambda m: 'd="' + _NUMBER.sub(_round, " ".join(m.group(1).split())) + '"', text)
    text = re.sub(r">\s+<", "><", text)
    text = text.replace("<svg ", '<svg class="plot" ', 1)
    return text.strip() + "\n"


_PATH_DATA = re.compile(r'\bd="([^"]*)"')
_NUMBER = re.compile(r"-?\d+\.\d+")


def _round(match: re.Match) -> str:
    value = f"{float(match.group(0)):.2f}".rstrip("0").rstrip(".")
    return "0" if value in ("-0", "") else value


def _legend(ax: Any, loc: str, ncols: int = 1) -> None:
    # a light box: lines that run under the legend do not strike its text through
    ax.legend(loc=loc, ncols=ncols, frameon=True, framealpha=0.85, edgecolor="none", facecolor="#ffffff",
              borderpad=0.3, handlelength=2.2)


def _fmt(value: float) -> str:
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e6:
        return f"{value:.4g}"
    return f"{value:.3e}"


# ------------------------------------------------------------------------------------ calibration


def prediction_band(fit: Any, x_fitted: Sequence[float], grid: Any, alpha: float = 0.05) -> tuple[Any, Any]:
    """Lower and upper (1 − alpha) prediction limits of one new observation along ``grid``.

    ŷ ± t(df, 1 − α/2)·s_y·√(1/w(x) + 1/n + (x − x̄)²/Q_x) from the fit's own residual_sd,
    n, x_mean, q_x and df (Draper & Smith); w(x) = 1 unweighted, else the fit's 1/x or 1/x²
    weight scaled as fit_line scales it (mean 1 over the fitted points). Through the origin:
    s_y·√(1/w(x) + x²/Σwx²), Σwx² = Q_x + n·x̄². The t quantile is mpistd's own
    (:mod:`mpistd.quantify._stats`), never scipy.stats.
    """
    import numpy as np

    from mpistd.quantify._stats import t_quantile

    grid = np.asarray(grid, dtype=float)
    t = t_quantile(1.0 - alpha / 2.0, fit.df)
    if fit.weighting == "none":
        inverse_weight = np.ones_like(grid)
    else:
        power = 1.0 if fit.weighting == "1/x" else 2.0
        xs = np.asarray(x_fitted, dtype=float)
        scale = xs.size / float(np.sum(xs ** -power))
        inverse_weight = grid ** power / scale
    if fit.through_origin:
        sxx0 = fit.q_x + fit.n * fit.x_mean * fit.x_mean
        variance = inverse_weight + grid * grid / sxx0
    else:
        variance = inverse_weight + 1.0 / fit.n + (grid - fit.x_mean) ** 2 / fit.q_x
    half = t * fit.residual_sd * np.sqrt(variance)
    centre = fit.predict(grid)
    return centre - half, centre + half


def calibration_plot(sf: Any, *, fig_id: str, x_label: str, y_label: str, x_unit: str,
                     limits: Any = None, alpha: float = 0.05) -> str:
    """Signal vs x with the recomputed line, its prediction band and LOD/LOQ; residuals beside.

    ``sf`` is a usable :class:`~mpistd.quantities.SeriesFit`; ``limits`` a DIN 32645
    ``Limits`` (or anything else: then no limit is drawn). Figures are memoised on their
    inputs (all frozen numbers and fixed labels): a site of many datasets that share a
    series (the conformance vectors, a corpus of variants) draws it once per process.
    """
    if getattr(limits, "detection_limit", None) is None:
        limits = None
    return _calibration_svg(tuple(sf.x), tuple(sf.y), sf.fit, sf.basis, fig_id, x_label, y_label, x_unit, limits,
                            alpha)


@lru_cache(maxsize=256)
def _calibration_svg(x_values: tuple[float, ...], y_values: tuple[float, ...], fit: Any, basis: str, fig_id: str,
                     x_label: str, y_label: str, x_unit: str, limits: Any, alpha: float) -> str:
    import numpy as np

    x = np.asarray(x_values, dtype=float)
    y = np.asarray(y_values, dtype=float)
    weighted = fit.weighting != "none"
    lo = float(x.min()) if weighted or float(x.min()) < 0 else 0.0
    hi = float(x.max())
    span = hi - lo if hi > lo else (abs(hi) or 1.0)
    grid = np.linspace(lo, hi, 81)  # the band's edges are smooth hyperbolae: 81 points draw them
    if weighted:
        grid = grid[grid > 0]
    lower, upper = prediction_band(fit, x, grid, alpha)
    points_label = "level means" if basis == "level_means" else "replicates"
    with _figure(7.2, 2.9, 2, width_ratios=(1.65, 1.0)) as (fig, (ax, axr)):
        ax.fill_between(grid, lower, upper, color="#e3e3e3", linewidth=0,
                        label=f"{100 * (1 - alpha):g} % prediction band")
        ax.plot(grid, lower, color="#7f7f7f", linestyle=(0, (1, 1.5)), linewidth=0.8)
        ax.plot(grid, upper, color="#7f7f7f", linestyle=(0, (1, 1.5)), linewidth=0.8)
        ends = np.array([grid[0], grid[-1]])
        ax.plot(ends, fit.predict(ends), color="#000000", linestyle="-", label="recomputed line")
        s = STYLES[2]
        ax.plot(x, y, linestyle="none", marker=s["marker"], color=s["color"], mfc=s["mfc"], label=points_label)
        ax.set_xlim(lo - 0.03 * span, hi + 0.03 * span)
        if limits is not None:
            for value, name, style in ((limits.detection_limit, "LOD", STYLES[1]),
                                       (limits.quantification_limit, "LOQ", STYLES[3])):
                if value is None:
                    continue
                text = f"{name} {_fmt(value)} {x_unit}"
                if lo - 0.03 * span <= value <= hi + 0.03 * span:
                    ax.axvline(value, color=style["color"], linestyle=style["linestyle"], linewidth=1.0, label=text)
                else:
                    ax.plot([], [], " ", label=f"{text} (off scale)")
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        _legend(ax, "upper left")
        residuals = y - fit.predict(x)
        r = STYLES[1]
        axr.axhline(0.0, color="#000000", linewidth=0.9)
        if fit.residual_sd > 0:
            for sign in (-1.0, 1.0):
                axr.axhline(sign * fit.residual_sd, color="#7f7f7f", linestyle=(0, (3, 2)), linewidth=0.8,
                            label="± residual SD" if sign > 0 else None)
        axr.plot(x, residuals, linestyle="none", marker=r["marker"], color=r["color"], mfc=r["mfc"],
                 label="residuals")
        axr.set_xlim(lo - 0.03 * span, hi + 0.03 * span)
        reach = max(float(np.max(np.abs(residuals))) if residuals.size else 0.0, fit.residual_sd)
        if reach > 0:
            axr.set_ylim(-1.15 * reach, 1.6 * reach)  # headroom for the legend above the points
        axr.set_xlabel(x_label)
        axr.set_ylabel("residual (" + y_label.rsplit("(", 1)[-1] if "(" in y_label else "residual")
        _legend(axr, "upper center", ncols=2)
        return _to_svg(fig, fig_id)


# ------------------------------------------------------------------------------------ dilution


def dilution_plot(series: Sequence[dict[str, Any]], fwhm: Sequence[tuple[float, float]] | None, *, fig_id: str
                  ) -> str:
    """The paper's Fig. 4: percentage difference (FC − FV)/FC vs dilution ratio c_FC/c_FV.

    ``series``: one dict per metric with ``label``, ``ratio``, ``percent`` and ``uncertainty``
    (percent, or None) lists; ``fwhm``: (ratio, ΔFWHM in mm) pairs for a second panel.
    """
    panels = 2 if fwhm else 1
    with _figure(7.2 if panels == 2 else 4.6, 2.8, panels, width_ratios=(1.4, 1.0) if panels == 2 else None
                 ) as (fig, axes):
        ax = axes[0]
        ax.axhline(0.0, color="#7f7f7f", linewidth=0.8)
        for i, s in enumerate(series):
            st = STYLES[(i + 1) % len(STYLES)]
            err = [u if u is not None else 0.0 for u in s["uncertainty"]]
            ax.errorbar(s["ratio"], s["percent"], yerr=err if any(err) else None, color=st["color"],
                        marker=st["marker"], mfc=st["mfc"], linestyle=st["linestyle"], linewidth=0.9, capsize=2,
                        label=s["label"])
        ax.set_xlabel("dilution ratio c(FC) / c(FV)")
        ax.set_ylabel("difference (FC − FV)/FC (%)")
        _legend(ax, "best")
        if panels == 2:
            axf = axes[1]
            st = STYLES[2]
            axf.axhline(0.0, color="#7f7f7f", linewidth=0.8)
            axf.plot([r for r, _ in fwhm], [d for _, d in fwhm], color=st["color"], marker=st["marker"],
                     mfc=st["mfc"], linestyle=st["linestyle"], label="ΔFWHM = FWHM(FV) − FWHM(FC)")
            axf.set_xlabel("dilution ratio c(FC) / c(FV)")
            axf.set_ylabel("ΔFWHM (mm)")
            _legend(axf, "best")
        return _to_svg(fig, fig_id)


def eq1_plot(distances_nm: Sequence[float], means: Sequence[float], reference_index: int, *, fig_id: str,
             y_label: str) -> str:
    """The paper's Fig. 5: measured signal vs interparticle distance, and eq. 1's curve
    S_ref·(d_ref/d)³ through the reference point (the largest distance)."""
    import numpy as np

    d = np.asarray(distances_nm, dtype=float)
    s = np.asarray(means, dtype=float)
    d_ref, s_ref = float(d[reference_index]), float(s[reference_index])
    scale, unit = (1e-3, "µm") if float(d.max()) >= 1e4 else (1.0, "nm")
    grid = np.linspace(float(d.min()), float(d.max()), 97)
    with _figure(3.9, 2.7) as (fig, (ax,)):
        ax.plot(grid * scale, s_ref * (d_ref / grid) ** 3, color="#000000", linestyle="-",
                label="eq. 1: S_ref·(d_ref/d)³")
        st = STYLES[4]
        ax.plot(d * scale, s, linestyle="none", marker="s", color=st["color"], mfc="none", label="measured (level mean)")
        ax.plot([d_ref * scale], [s_ref], linestyle="none", marker="s", color=st["color"], mfc=st["color"],
                label="reference point")
        ax.set_xlabel(f"interparticle distance ({unit})")
        ax.set_ylabel(y_label)
        _legend(ax, "best")
        return _to_svg(fig, fig_id)


# ------------------------------------------------------------------------------------ environment


def environment_plot(solution: dict[str, Any], cells: dict[str, Any], *, fig_id: str, x_label: str,
                     y_label: str) -> str:
    """Solution and cellular calibrations of one tracer overlaid (the paper's Fig. 1b/c).

    Each side: ``x`` and ``y`` (level means) and ``fit`` (a LineFit or None).
    """
    import numpy as np

    xs_all = [float(v) for side in (solution, cells) for v in side["x"]]
    lo, hi = min(0.0, min(xs_all)), max(xs_all)
    grid = np.array([lo, hi])  # straight lines: their ends suffice
    with _figure(3.9, 2.7) as (fig, (ax,)):
        for side, st, name in ((solution, STYLES[0], "solution"), (cells, STYLES[1], "cells")):
            if side.get("fit") is not None:
                ax.plot(grid, side["fit"].predict(grid), color=st["color"], linestyle=st["linestyle"],
                        label=f"{name}: line")
            ax.plot(side["x"], side["y"], linestyle="none", marker=st["marker"], color=st["color"], mfc=st["mfc"],
                    label=f"{name}: level means")
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        _legend(ax, "upper left")
        return _to_svg(fig, fig_id)
