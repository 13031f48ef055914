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
from functools import lru_cache, wraps
from typing import Any, Callable, Iterator, Sequence

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
    # titles at the top of their axes, not placed by measuring every tick label first (nothing
    # is drawn above an axes here: no top ticks, no offset text)
    "axes.titley": 1.0,
}

_ID = re.compile(r'\bid="([^"]+)"')


# ------------------------------------------------------------------------------ figures drawn ahead
#
# The CLI's report helper (mpistd/render/page_helper.py) draws a page's figures before the page
# is built: while the parent process validates, and on both cores. It first *plans*: the page's
# view code runs with ``_plan`` set, and every figure function records its call instead of
# drawing. It then draws the planned calls (:func:`draw_ahead`) into ``_drawn``, keyed on the
# pickled call (the function's name and every argument): when the page is built, a call whose
# key is there returns that SVG; any other call (an argument that differs, a figure not
# planned) is drawn as usual. Equal pickles are equal inputs, and the figure functions depend
# on their arguments only, so a hit is the figure the call would draw. Both are None (off)
# everywhere but in that helper process.

_plan: list[tuple[str, Callable[..., str], tuple, dict, bytes]] | None = None
_drawn: dict[bytes, str] | None = None


def _ahead(func: Callable[..., str]) -> Callable[..., str]:
    """A figure function that takes part in planning and in the drawn-ahead memo (see above)."""

    @wraps(func)
    def figure(*args: Any, **kwargs: Any) -> str:
        if _plan is None and _drawn is None:
            return func(*args, **kwargs)
        import pickle

        try:
            key = pickle.dumps((func.__qualname__, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - an argument that does not pickle: never planned, drawn here
            return "" if _plan is not None else func(*args, **kwargs)
        if _plan is not None:
            _plan.append((func.__qualname__, func, args, kwargs, key))
            return ""
        drawn = _drawn.get(key) if _drawn is not None else None
        return drawn if drawn is not None else func(*args, **kwargs)

    figure.__wrapped__ = func  # type: ignore[attr-defined]
    return figure


def draw_ahead(calls: Sequence[tuple[str, Callable[..., str], tuple, dict, bytes]], processes: int = 2
               ) -> dict[bytes, str]:
    """key -> SVG of each planned call, drawn by this process and ``processes - 1`` forked ones.

    Only for a process that may fork (the report helper: no threads, no GLib); a process that
    has loaded WeasyPrint (Pango, GLib: a fork of it can hang, see :mod:`mpistd.render.pdf`)
    draws everything itself. A forked drawer that fails or dies costs nothing but time: what
    it did not send is drawn here.
    """
    import os
    import pickle
    import sys

    calls = list({c[4]: c for c in calls}.values())  # one drawing per distinct call
    done: dict[bytes, str] = {}
    children: list[tuple[int, int]] = []
    if processes > 1 and len(calls) > 1 and hasattr(os, "fork") and "weasyprint" not in sys.modules:
        for k in range(1, min(processes, len(calls))):
            share = calls[k::processes]
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the forked drawer
                import gc

                gc.disable()  # it lives for a few figures and finalizes nothing it inherited
                status = 1
                try:
                    os.close(read_end)
                    out = pickle.dumps([(c[4], c[1](*c[2], **c[3])) for c in share])
                    with os.fdopen(write_end, "wb") as pipe:
                        pipe.write(out)
                    status = 0
                finally:
                    os._exit(status)
            os.close(write_end)
            children.append((pid, read_end))
        mine = calls[0::processes]
    else:
        mine = calls
    for c in mine:
        done[c[4]] = c[1](*c[2], **c[3])
    for pid, read_end in children:
        try:
            with os.fdopen(read_end, "rb") as pipe:
                data = pipe.read()
            os.waitpid(pid, 0)
            if data:
                done.update(pickle.loads(data))
        except Exception:  # noqa: BLE001 - drawn below
            pass
    for c in calls:
        if c[4] not in done:
            done[c[4]] = c[1](*c[2], **c[3])
    return done


@contextmanager
def _figure(width_in: float, height_in: float, ncols: int = 1, width_ratios: Sequence[float] | None = None,
            bottom: float = 0.42, top: float = 0.22) -> Iterator[tuple[Any, list[Any]]]:
    """A pyplot-free Figure with fixed margins in inches.

    Fixed margins rather than constrained layout: a third faster, and the tick labels are
    short (plain formatter, scientific offset beyond 1e5), so 0.62 in on the left suffices.
    """
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC), _collector_paused():
        fig = Figure(figsize=(width_in, height_in))
        left, right, gap = 0.62, 0.12, 0.72
        fig.subplots_adjust(left=left / width_in, right=1 - right / width_in, bottom=bottom / height_in,
                            top=1 - top / height_in,
                            wspace=gap / ((width_in - left - right - gap * (ncols - 1)) / ncols) if ncols > 1 else 0)
        axes = fig.subplots(1, ncols, width_ratios=width_ratios, squeeze=False)[0].tolist()
        for ax in axes:
            ax.locator_params(nbins=5)  # fewer, rounder ticks: easier to read, and ticks are most of the drawing
        yield fig, axes  # no fig.clear(): a tenth of the drawing time, and the figure is garbage anyway


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while one figure is built and drawn.

    A figure allocates tens of thousands of small objects (artists, transforms, paths); the
    collector's generation-0 passes over them cost a fifth of the drawing time and free
    nothing (the figure is alive until it is written). The figure's cycles are collected
    after, at the collector's next pass. Restored even when drawing fails; a collector the
    caller had disabled stays disabled.
    """
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
    # an embedded raster (an image's pixels): its base64 on one line, one exact data: URL
    text = re.sub(r'(xlink:href="data:image/png;base64,)([^"]*)"',
                  lambda m: m.group(1) + "".join(m.group(2).split()) + '"', text)
    text = _simplified(text)
    text = text.replace("<svg ", '<svg class="plot" ', 1)
    return text.strip() + "\n"


#: matplotlib's one style sheet: ``*`` (every element) round joins, butt caps
_STAR = '<style type="text/css">*{stroke-linejoin: round; stroke-linecap: butt}</style>'
_TAG = re.compile(r"<(/?)([A-Za-z]+)((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(/?)>")
_STYLE = re.compile(r'\sstyle="([^"]*)"')
_REFERENCED = re.compile(r'(?:href="#|url\(#)([^")]+)')
_STROKED = ("path", "use", "rect")


def _simplified(svg: str) -> str:
    """The same drawing in fewer, cheaper nodes (WeasyPrint styles and draws every node of
    every figure: this is about a quarter of a figure's PDF layout time, and a browser gains too):

    - each ``style="a: b; c: d"`` becomes presentation attributes ``a="b" c="d"`` (no CSS
      parse per node); matplotlib sets no presentation attribute these could meet;
    - the ``*`` style sheet (matched against every node) becomes its two properties on each
      node that strokes and does not set them, which is what the rule did (an inline style
      beat it; a value inherited from a parent never did);
    - ``<g id="…">`` groups with nothing but an id no one references are unwrapped;
    - the identity ``rotate(-0 x y)`` of unrotated text is left out.
    """
    star = _STAR in svg
    svg = svg.replace("<defs>" + _STAR + "</defs>", "").replace(_STAR, "")
    referenced = set(_REFERENCED.findall(svg))
    out: list[str] = []
    unwrapped: list[bool] = []
    pos = 0
    for m in _TAG.finditer(svg):
        out.append(svg[pos:m.start()])
        pos = m.end()
        closing, name, attrs, empty = m.group(1), m.group(2), m.group(3), m.group(4)
        if name == "g" and not empty:
            if closing:
                if unwrapped and unwrapped.pop():
                    continue
            else:
                only_id = re.fullmatch(r'\s+id="([^"]*)"\s*', attrs)
                unwrapped.append(bool(only_id) and only_id.group(1) not in referenced)
                if unwrapped[-1]:
                    continue
        if not closing:
            style = _STYLE.search(attrs)
            if style is not None:
                declarations = [d.split(":", 1) for d in style.group(1).split(";") if ":" in d]
                attrs = attrs[:style.start()] + "".join(f' {k.strip()}="{v.strip()}"' for k, v in declarations) \
                    + attrs[style.end():]
            if star and name in _STROKED:
                for prop, value in (("stroke-linejoin", "round"), ("stroke-linecap", "butt")):
                    if f' {prop}="' not in attrs:
                        attrs += f' {prop}="{value}"'
            if name == "text":
                attrs = re.sub(r'\stransform="rotate\(-0 [-0-9.e]+ [-0-9.e]+\)"', "", attrs)
        out.append(f"<{closing}{name}{attrs}{empty}>")
    out.append(svg[pos:])
    return "".join(out)


_PATH_DATA = re.compile(r'\bd="([^"]*)"')
_NUMBER = re.compile(r"-?\d+\.\d+")


def _round(match: re.Match) -> str:
    value = f"{float(match.group(0)):.2f}".rstrip("0").rstrip(".")
    return "0" if value in ("-0", "") else value


def _legend_below(fig: Any, axes: Sequence[Any], ncols: int = 3) -> Any:
    """One legend for the figure, below its axes and their labels: outside every data area,
    so it can cover no point, limit line or band (tests check this from the artists)."""
    handles, labels, seen = [], [], set()
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab and lab not in seen:
                seen.add(lab)
                handles.append(h)
                labels.append(lab)
    if not handles:
        return None
    return fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncols=min(ncols, len(handles)),
                      frameon=False, borderaxespad=0.2, handlelength=2.2, columnspacing=1.2)


def _fmt(value: float) -> str:
    from mpistd.rules._format import num

    return num(value)


def _exponent(values: Any) -> int:
    """The power of ten shown in an axis label instead of a bare "1e5" offset: 0 within 10⁻²–10⁴."""
    import numpy as np

    finite = np.asarray([v for v in np.ravel(values) if v is not None and math.isfinite(v)], dtype=float)
    if finite.size == 0:
        return 0
    top = float(np.max(np.abs(finite)))
    if top == 0 or 1e-2 <= top < 1e4:
        return 0
    return int(math.floor(math.log10(top)))


def _scaled(label: str, exponent: int) -> str:
    """``"max (a.u.)"`` with exponent 5 -> ``"max (10⁵ a.u.)"``: the axis reads in units of 10⁵ a.u."""
    if exponent == 0:
        return label
    from mpistd.rules._format import superscript

    power = f"10{superscript(exponent)}"
    if label.endswith(")") and "(" in label:
        name, unit = label[:-1].rsplit("(", 1)
        return f"{name}({power} {unit})"
    return f"{label} ({power})"


def _plain_ticks(*axes: Any) -> None:
    for ax in axes:
        ax.ticklabel_format(axis="both", style="plain", useOffset=False)


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


@_ahead
def calibration_plot(sf: Any, *, fig_id: str, x_label: str, y_label: str, x_unit: str,
                     limits: Any = None, alpha: float = 0.05,
                     levels: Sequence[tuple[float, Sequence[float]]] | None = None) -> str:
    """Signal vs x with the recomputed line, its prediction band and LOD/LOQ; a low-range
    panel where LOD, LOQ and the band can be read; residuals beside.

    ``sf`` is a usable :class:`~mpistd.quantities.SeriesFit`; ``limits`` a DIN 32645
    ``Limits`` (or anything else: then no limit is drawn); ``levels`` the replicate values
    of each level (x, values): drawn as points with a small jitter plus the level mean ± SD.
    Figures are memoised on their inputs (all frozen numbers and fixed labels): a site of
    many datasets that share a series draws it once per process.
    """
    if getattr(limits, "detection_limit", None) is None:
        limits = None
    lv = tuple((float(x), tuple(float(v) for v in vs)) for x, vs in levels) if levels else None
    return _calibration_svg(tuple(sf.x), tuple(sf.y), sf.fit, sf.basis, fig_id, x_label, y_label, x_unit, limits,
                            alpha, lv)


@lru_cache(maxsize=256)
def _calibration_svg(x_values: tuple[float, ...], y_values: tuple[float, ...], fit: Any, basis: str, fig_id: str,
                     x_label: str, y_label: str, x_unit: str, limits: Any, alpha: float,
                     levels: tuple | None = None) -> str:
    with calibration_figure(x_values, y_values, fit, basis, x_label, y_label, x_unit, limits, alpha, levels) as fig:
        return _to_svg(fig, fig_id)


def _jittered(levels: tuple, span: float) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for x, values in levels:
        k = len(values)
        for j, v in enumerate(values):
            offset = (j - (k - 1) / 2.0) / max(k - 1, 1) * 0.016 * span if k > 1 else 0.0
            xs.append(x + offset)
            ys.append(v)
    return xs, ys


@contextmanager
def calibration_figure(x_values: Sequence[float], y_values: Sequence[float], fit: Any, basis: str, x_label: str,
                       y_label: str, x_unit: str, limits: Any = None, alpha: float = 0.05,
                       levels: tuple | None = None) -> Iterator[Any]:
    """The calibration figure as a matplotlib Figure (for :func:`calibration_plot` and tests)."""
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
    ex = _exponent([lo, hi])
    ey = _exponent(list(y) + [float(np.max(upper))])
    sx, sy = 10.0 ** -ex, 10.0 ** -ey
    lod = getattr(limits, "detection_limit", None) if limits is not None else None
    loq = getattr(limits, "quantification_limit", None) if limits is not None else None
    low_range = lod is not None and math.isfinite(lod) and lod > 0 and (loq or lod) < 0.5 * hi
    ncols = 3 if low_range else 2
    ratios = (1.5, 1.0, 1.0) if low_range else (1.6, 1.0)
    with _figure(7.2, 3.35, ncols, width_ratios=ratios, bottom=0.95) as (fig, axes):
        ax, axr = axes[0], axes[-1]
        panels = [(ax, lo, hi, grid, lower, upper)]
        if low_range:
            top = 2.5 * float(loq if loq is not None and math.isfinite(loq) else lod)
            top = min(max(top, 1.5 * lod), hi)
            lgrid = np.linspace(max(lo, 0.0) if not weighted else max(lo, top * 1e-3), top, 61)
            llo, lup = prediction_band(fit, x, lgrid, alpha)
            panels.append((axes[1], float(lgrid[0]) if weighted else 0.0, top, lgrid, llo, lup))
        for axis, a, b, g, lw, up in panels:
            w = b - a if b > a else span
            axis.fill_between(g * sx, lw * sy, up * sy, color="#cfcfcf", linewidth=0,
                              label=f"{100 * (1 - alpha):g} % prediction band")
            axis.plot(g * sx, lw * sy, color="#6f6f6f", linestyle=(0, (1, 1.2)), linewidth=0.8)
            axis.plot(g * sx, up * sy, color="#6f6f6f", linestyle=(0, (1, 1.2)), linewidth=0.8)
            ends = np.array([g[0], g[-1]])
            axis.plot(ends * sx, fit.predict(ends) * sy, color="#000000", linestyle="-", label="recomputed line")
            s = STYLES[2]
            if levels:
                jx, jy = _jittered(levels, span)
                axis.plot(np.asarray(jx) * sx, np.asarray(jy) * sy, linestyle="none", marker="o", color=s["color"],
                          mfc="none", markersize=3.2, markeredgewidth=0.7, label="replicates (jittered)")
                means = [(lx, float(np.mean(vs)), float(np.std(vs, ddof=1)) if len(vs) > 1 else 0.0)
                         for lx, vs in levels if vs]
                axis.errorbar([m[0] * sx for m in means], [m[1] * sy for m in means],
                              yerr=[m[2] * sy for m in means], linestyle="none", marker="_", markersize=9,
                              color="#000000", elinewidth=0.9, capsize=2.5, label="level mean ± SD")
            else:
                axis.plot(x * sx, y * sy, linestyle="none", marker=s["marker"], color=s["color"], mfc=s["mfc"],
                          label="level means" if basis == "level_means" else "replicates")
            axis.set_xlim((a - 0.03 * w) * sx, (b + 0.03 * w) * sx)
            for value, name, style in ((lod, "LOD", STYLES[1]), (loq, "LOQ", STYLES[3])):
                if value is None or not math.isfinite(value):
                    continue
                text = f"{name} = {_fmt(value)} {x_unit}"
                if a - 0.03 * w <= value <= b + 0.03 * w:
                    axis.axvline(value * sx, color=style["color"], linestyle=style["linestyle"], linewidth=1.1,
                                 label=text)
                elif axis is ax:
                    axis.plot([], [], " ", label=f"{text} (off scale)")
            axis.set_xlabel(_scaled(x_label, ex))
        ax.set_ylabel(_scaled(y_label, ey))
        if low_range:
            la = axes[1]
            a, b = panels[1][1], panels[1][2]
            inside = [v for xv, v in zip(x, y) if a <= xv <= b]
            top_y = max([float(np.max(panels[1][5]))] + inside)
            bottom_y = min([float(np.min(panels[1][4])), 0.0] + inside)
            pad = 0.05 * (top_y - bottom_y or 1.0)
            la.set_ylim((bottom_y - pad) * sy, (top_y + pad) * sy)
            la.set_title("low range: LOD, LOQ and band", loc="left")
        residuals = y - fit.predict(x)
        r = STYLES[1]
        axr.axhline(0.0, color="#000000", linewidth=0.9)
        if fit.residual_sd > 0:
            for sign in (-1.0, 1.0):
                axr.axhline(sign * fit.residual_sd * sy, color="#7f7f7f", linestyle=(0, (3, 2)), linewidth=0.8,
                            label="± residual SD" if sign > 0 else None)
        axr.plot(x * sx, residuals * sy, linestyle="none", marker=r["marker"], color=r["color"], mfc=r["mfc"],
                 label="residuals")
        axr.set_xlim((lo - 0.03 * span) * sx, (hi + 0.03 * span) * sx)
        reach = max(float(np.max(np.abs(residuals))) if residuals.size else 0.0, fit.residual_sd)
        if reach > 0:
            axr.set_ylim(-1.2 * reach * sy, 1.2 * reach * sy)
        axr.set_xlabel(_scaled(x_label, ex))
        unit = y_label.rsplit("(", 1)[-1].rstrip(")") if "(" in y_label else ""
        axr.set_ylabel(_scaled(f"residual ({unit})" if unit else "residual", ey))
        axr.set_title("residuals", loc="left")
        _plain_ticks(*axes)
        _legend_below(fig, axes, ncols=4)
        yield fig


# ------------------------------------------------------------------------------------ dilution


@_ahead
def dilution_plot(series: Sequence[dict[str, Any]], fwhm: Sequence[tuple[float, float]] | None, *, fig_id: str
                  ) -> str:
    """The paper's Fig. 4: percentage difference (FC − FV)/FC vs dilution ratio c_FC/c_FV.

    ``series``: one dict per metric with ``label``, ``ratio``, ``percent`` and ``uncertainty``
    (percent, or None) lists; ``fwhm``: (ratio, ΔFWHM in mm) pairs for a second panel.
    """
    with dilution_figure(series, fwhm) as fig:
        return _to_svg(fig, fig_id)


@contextmanager
def dilution_figure(series: Sequence[dict[str, Any]], fwhm: Sequence[tuple[float, float]] | None) -> Iterator[Any]:
    panels = 2 if fwhm else 1
    with _figure(7.2 if panels == 2 else 4.6, 3.0, panels, width_ratios=(1.4, 1.0) if panels == 2 else None,
                 bottom=0.8) as (fig, axes):
        ax = axes[0]
        ax.axhline(0.0, color="#7f7f7f", linewidth=0.8)
        for i, s in enumerate(series):
            st = STYLES[(i + 1) % len(STYLES)]
            err = [u if u is not None else 0.0 for u in s["uncertainty"]]
            ax.errorbar(s["ratio"], s["percent"], yerr=err if any(err) else None, color=st["color"],
                        marker=st["marker"], mfc=st["mfc"], linestyle=st["linestyle"], linewidth=0.9, capsize=2,
                        label=f"{s['label']}: (FC − FV)/FC ± u")
        ax.set_xlabel("dilution ratio c(FC) / c(FV)")
        ax.set_ylabel("difference (FC − FV)/FC (%)")
        if panels == 2:
            axf = axes[1]
            st = STYLES[2]
            axf.axhline(0.0, color="#7f7f7f", linewidth=0.8)
            axf.plot([r for r, _ in fwhm], [d for _, d in fwhm], color=st["color"], marker=st["marker"],
                     mfc=st["mfc"], linestyle=st["linestyle"],
                     label="$\\Delta$FWHM = FWHM(FV) − FWHM(FC)")
            axf.set_xlabel("dilution ratio c(FC) / c(FV)")
            axf.set_ylabel("ΔFWHM (mm)")
        _plain_ticks(*axes)
        _legend_below(fig, axes, ncols=3)
        yield fig


@_ahead
def eq1_plot(distances_nm: Sequence[float], means: Sequence[float], reference_index: int, *, fig_id: str,
             y_label: str, unit: tuple[str, float] = ("nm", 1.0)) -> str:
    """The paper's Fig. 5: measured signal vs interparticle distance, and eq. 1's curve
    S_ref·(d_ref/d)³ through the reference point (the largest distance); ``unit`` is the
    page's distance unit (name, factor from nm)."""
    with eq1_figure(distances_nm, means, reference_index, y_label=y_label, unit=unit) as fig:
        return _to_svg(fig, fig_id)


@contextmanager
def eq1_figure(distances_nm: Sequence[float], means: Sequence[float], reference_index: int, *, y_label: str,
               unit: tuple[str, float] = ("nm", 1.0)) -> Iterator[Any]:
    import numpy as np

    d = np.asarray(distances_nm, dtype=float)
    s = np.asarray(means, dtype=float)
    d_ref, s_ref = float(d[reference_index]), float(s[reference_index])
    name, scale = unit
    grid = np.linspace(float(d.min()), float(d.max()), 97)
    curve = s_ref * (d_ref / grid) ** 3
    ey = _exponent(list(s) + [float(np.max(curve))])
    sy = 10.0 ** -ey
    with _figure(3.6, 3.0, bottom=0.95) as (fig, (ax,)):
        ax.plot(grid * scale, curve * sy, color="#000000", linestyle="-",
                label="eq. 1: $S_\\mathrm{ref}\\,(d_\\mathrm{ref}/d)^3$")
        st = STYLES[4]
        ax.plot(d * scale, s * sy, linestyle="none", marker="s", color=st["color"], mfc="none",
                label="measured (level mean)")
        ax.plot([d_ref * scale], [s_ref * sy], linestyle="none", marker="s", color=st["color"], mfc=st["color"],
                label="reference point")
        ax.set_xlabel(f"interparticle distance ({name})")
        ax.set_ylabel(_scaled(y_label, ey))
        _plain_ticks(ax)
        _legend_below(fig, [ax], ncols=2)
        yield fig


# ------------------------------------------------------------------------------------ environment


@_ahead
def environment_plot(solution: dict[str, Any], cells: dict[str, Any], *, fig_id: str, x_label: str,
                     y_label: str) -> str:
    """Solution and cellular calibrations of one tracer overlaid (the paper's Fig. 1b/c).

    Each side: ``x``, ``y`` (level means), optional ``sd`` (the level's replicate SD, drawn
    as error bars) and ``fit`` (a LineFit or None).
    """
    with environment_figure(solution, cells, x_label=x_label, y_label=y_label) as fig:
        return _to_svg(fig, fig_id)


@contextmanager
def environment_figure(solution: dict[str, Any], cells: dict[str, Any], *, x_label: str, y_label: str
                       ) -> Iterator[Any]:
    import numpy as np

    xs_all = [float(v) for side in (solution, cells) for v in side["x"]]
    lo, hi = min(0.0, min(xs_all)), max(xs_all)
    grid = np.array([lo, hi])  # straight lines: their ends suffice
    ys_all = [float(v) for side in (solution, cells) for v in side["y"] if v is not None]
    ey = _exponent(ys_all)
    ex = _exponent([lo, hi])
    sy, sx = 10.0 ** -ey, 10.0 ** -ex
    with _figure(3.6, 3.0, bottom=0.95) as (fig, (ax,)):
        for side, st, name in ((solution, STYLES[0], "solution"), (cells, STYLES[1], "cells")):
            if side.get("fit") is not None:
                ax.plot(grid * sx, side["fit"].predict(grid) * sy, color=st["color"], linestyle=st["linestyle"],
                        label=f"{name}: line")
            sd = side.get("sd")
            ax.errorbar(np.asarray(side["x"], dtype=float) * sx, np.asarray(side["y"], dtype=float) * sy,
                        yerr=None if not sd else np.asarray([v or 0.0 for v in sd]) * sy, linestyle="none",
                        marker=st["marker"], color=st["color"], mfc=st["mfc"], capsize=2, elinewidth=0.8,
                        label=f"{name}: level mean ± SD" if sd else f"{name}: level mean")
        ax.set_xlabel(_scaled(x_label, ex))
        ax.set_ylabel(_scaled(y_label, ey))
        _plain_ticks(ax)
        _legend_below(fig, [ax], ncols=2)
        yield fig


# ------------------------------------------------------------------------------------ images


@_ahead
def image_plot(view: dict[str, Any], *, fig_id: str) -> str:
    """One image: the plane through its maximum with the ROI contour and the maximum marked;
    beside it the FWHM profile through the maximum and the fitted Lorentzian.

    ``view``: ``plane`` (2-D array, rows z, columns along the FWHM axis), ``extent``
    (left, right, bottom, top in mm), ``mask`` (the ROI in that plane, or None), ``max_at``
    (position of the maximum in mm, (axis, z)), ``positions``/``profile`` (mm, pixel values)
    and ``lorentz`` (amplitude, centre, gamma, or None), ``axis`` (its name).
    """
    with image_figure(view) as fig:
        return _to_svg(fig, fig_id)


@contextmanager
def image_figure(view: dict[str, Any]) -> Iterator[Any]:
    import numpy as np

    plane = np.asarray(view["plane"], dtype=float)
    left, right, bottom, top = view["extent"]
    ey = _exponent([float(np.nanmax(plane))] if np.isfinite(plane).any() else [0.0])
    sy = 10.0 ** -ey
    with _figure(7.2, 2.5, 2, width_ratios=(1.0, 1.35), bottom=0.8, top=0.25) as (fig, (ax, axp)):
        ax.grid(False)
        ax.imshow(plane, extent=(left, right, bottom, top), origin="lower", cmap="gray_r", aspect="equal",
                  interpolation="nearest")
        mask = view.get("mask")
        if mask is not None and np.any(mask):
            zs = np.linspace(bottom, top, plane.shape[0] + 1)
            xs = np.linspace(left, right, plane.shape[1] + 1)
            zc, xc = (zs[:-1] + zs[1:]) / 2, (xs[:-1] + xs[1:]) / 2
            ax.contour(xc, zc, np.asarray(mask, dtype=float), levels=[0.5], colors=[STYLES[1]["color"]],
                       linewidths=1.0)
            ax.plot([], [], color=STYLES[1]["color"], linewidth=1.0, label="ROI (above threshold)")
        if view.get("max_at") is not None:
            mx, mz = view["max_at"]
            ax.plot([mx], [mz], linestyle="none", marker="+", markersize=8, markeredgewidth=1.4,
                    color=STYLES[2]["color"], label="maximum")
        ax.set_xlabel(f"{view.get('axis', 'x')} (mm)")
        ax.set_ylabel("z (mm)")
        pos = np.asarray(view["positions"], dtype=float)
        prof = np.asarray(view["profile"], dtype=float)
        axp.plot(pos, prof * sy, linestyle="none", marker="o", markersize=3, color="#000000", mfc="none",
                 label="profile through the maximum")
        lor = view.get("lorentz")
        if lor is not None:
            amplitude, centre, gamma = lor
            fine = np.linspace(float(pos.min()), float(pos.max()), 161)
            axp.plot(fine, amplitude / (1 + ((fine - centre) / gamma) ** 2) * sy, color=STYLES[1]["color"],
                     linestyle="-", label=f"Lorentzian fit, FWHM = {_fmt(2 * abs(gamma))} mm")
            axp.plot([centre - abs(gamma), centre + abs(gamma)], [amplitude / 2 * sy] * 2, color=STYLES[3]["color"],
                     linestyle=(0, (3, 1.5)), linewidth=1.0, label="half maximum")
        axp.set_xlabel(f"{view.get('axis', 'x')} (mm)")
        axp.set_ylabel(_scaled("pixel value (a.u.)", ey))
        _plain_ticks(axp)
        _legend_below(fig, [ax, axp], ncols=3)
        yield fig
