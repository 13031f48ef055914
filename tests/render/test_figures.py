"""The report's figures are fit for a paper (issue 15, item 1), checked from matplotlib's own
artists: no legend's extent overlaps a data point, a limit line, an error bar or the
prediction band; axis labels carry ×10ⁿ instead of a bare offset; the low-range panel
shows LOD, LOQ and the band where they can be read.

The numbers come from a closed-form line (y = 2000·x − 7000 with known scatter), never from
mpistd's reader.
"""
from __future__ import annotations

import numpy as np
import pytest

from mpistd.quantify.calibration import fit_line
from mpistd.render import plots


def _display_points(artist, ax):
    """Every display-space point an artist occupies (line vertices densified, collections'
    paths, error-bar segments), restricted to its axes' box (what is clipped is not drawn)."""
    from matplotlib.collections import Collection
    from matplotlib.lines import Line2D

    pts = []
    if isinstance(artist, Line2D):
        xy = artist.get_transform().transform(np.column_stack(artist.get_data()).astype(float))
        if artist.get_marker() not in (None, "None", "none", " ", ""):
            pts.append(xy)
        if artist.get_linestyle() not in ("None", "none", " ", "") and len(xy) > 1:
            t = np.linspace(0, 1, 60)[:, None]
            for a, b in zip(xy[:-1], xy[1:]):
                pts.append(a + (b - a) * t)
    elif isinstance(artist, Collection):
        transform = artist.get_transform()
        for path in artist.get_paths():
            verts = transform.transform(path.vertices)
            pts.append(verts)
            if len(verts) > 1:
                t = np.linspace(0, 1, 30)[:, None]
                for a, b in zip(verts[:-1], verts[1:]):
                    pts.append(a + (b - a) * t)
    if not pts:
        return np.empty((0, 2))
    allpts = np.vstack(pts)
    box = ax.bbox
    keep = ((allpts[:, 0] >= box.x0 - 1) & (allpts[:, 0] <= box.x1 + 1)
            & (allpts[:, 1] >= box.y0 - 1) & (allpts[:, 1] <= box.y1 + 1))
    return allpts[keep]


def _overlaps(fig) -> list[str]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)  # a renderer to measure with; pyplot never sees the figure
    canvas.draw()
    renderer = canvas.get_renderer()
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert legends, "the figure has a legend"
    problems = []
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            for artist in list(ax.lines) + list(ax.collections):
                pts = _display_points(artist, ax)
                inside = ((pts[:, 0] > box.x0) & (pts[:, 0] < box.x1) & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1))
                if inside.any():
                    problems.append(f"legend covers {artist.get_label() or type(artist).__name__} in {ax.get_title()!r}")
        # the legend overlaps no axes' data area at all
        for ax in fig.axes:
            if box.overlaps(ax.bbox):
                problems.append(f"legend overlaps the data area of {ax.get_title()!r}")
    return problems


class _Limits:
    def __init__(self, lod: float, loq: float) -> None:
        self.detection_limit = lod
        self.quantification_limit = loq
        self.decision_limit = lod / 2


def _line():
    x = np.repeat([31.0, 62.0, 125.0, 185.0, 248.0, 310.0], 3)
    y = 2000.0 * x - 7000.0 + np.tile([-1500.0, 300.0, 1200.0], 6)
    levels = tuple((float(v), tuple(float(w) for w in y[x == v])) for v in np.unique(x))
    return x, y, fit_line(x, y), levels


def test_calibration_figure_legend_is_outside_points_limits_and_band() -> None:
    x, y, fit, levels = _line()
    with plots.calibration_figure(tuple(x), tuple(y), fit, "replicates", "iron mass (µg Fe)",
                                  "maximum intensity (a.u.)", "µg", _Limits(5.3, 8.9), 0.05, levels) as fig:
        assert _overlaps(fig) == []
        main, low, resid = fig.axes
        # LOD/LOQ readable: in the low-range panel they sit well inside the x range, not on the axis
        lo, hi = low.get_xlim()
        for value in (5.3, 8.9):
            assert lo + 0.1 * (hi - lo) < value < hi - 0.1 * (hi - lo)
        # ×10ⁿ in the label, no bare offset text (y up to 6.2e5 -> 10⁵)
        assert "10⁵" in main.get_ylabel()
        assert all(ax.yaxis.get_offset_text().get_text() == "" for ax in fig.axes)
        # the band is visible: a filled collection with a real area in the low-range panel
        band = [c for c in low.collections if "prediction band" in (c.get_label() or "")]
        assert band and band[0].get_paths()[0].vertices.shape[0] > 10
        # replicates jittered: three replicates of a level do not share one x
        jittered = [ln for ln in main.lines if ln.get_label() == "replicates (jittered)"][0]
        xs = np.asarray(jittered.get_xdata())[:3]
        assert len(set(np.round(xs, 6))) == 3


def test_the_overlap_check_fails_on_a_legend_over_the_data() -> None:
    """The checker can fail: the old layout (legend inside, upper left, over the LOD line) is caught."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 3))
    ax = fig.subplots()
    ax.plot([0, 1, 2], [0, 1, 2], "o", label="points")
    ax.axvline(0.1, label="LOD")
    ax.legend(loc="upper left")
    assert _overlaps(fig)


@pytest.mark.parametrize("which", ["dilution", "eq1", "environment", "image"])
def test_other_figures_keep_their_legends_off_the_data(which: str) -> None:
    if which == "dilution":
        series = [{"label": "maximum intensity", "ratio": [20.0, 10.0, 5.0, 2.5], "percent": [9.0, 8.5, 5.0, 1.0],
                   "uncertainty": [0.8, 0.7, 0.6, 0.5]}]
        ctx = plots.dilution_figure(series, [(20.0, 0.3), (10.0, 0.2), (5.0, 0.1), (2.5, 0.0)])
    elif which == "eq1":
        d = [116e3, 150e3, 200e3, 250e3]
        ctx = plots.eq1_figure(d, [6e5 * (250e3 / v) ** 3 for v in d], 3, y_label="maximum intensity (a.u.)",
                               unit=("µm", 1e-3))
    elif which == "environment":
        _, _, fit, _ = _line()
        ctx = plots.environment_figure({"x": [31.0, 62.0, 125.0], "y": [55e3, 117e3, 243e3], "sd": [900.0, 1200.0, 2e3],
                                        "fit": fit},
                                       {"x": [31.0, 62.0, 125.0], "y": [38e3, 80e3, 170e3], "sd": [900.0, 1e3, 2e3],
                                        "fit": None}, x_label="iron mass (µg Fe)", y_label="maximum intensity (a.u.)")
    else:
        z, xg = np.mgrid[0:40, 0:60]
        plane = 100.0 / (1 + ((xg - 30) / 2.0) ** 2 + ((z - 20) / 3.0) ** 2)
        pos = (np.arange(60) + 0.5) * 0.5
        ctx = plots.image_figure({"plane": plane, "mask": plane > 10, "extent": (0, 30, 0, 20),
                                  "max_at": (15.25, 10.25), "positions": pos, "profile": plane[20],
                                  "lorentz": (100.0, 15.25, 1.0), "axis": "x"})
    with ctx as fig:
        assert _overlaps(fig) == []


def test_eq1_legend_sets_the_reference_symbols_as_math() -> None:
    d = [116e3, 250e3]
    with plots.eq1_figure(d, [1.0, 0.1], 1, y_label="signal (a.u.)") as fig:
        labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(r"$S_\mathrm{ref}" in t for t in labels), labels
    assert not any("S_ref" in t for t in labels)
