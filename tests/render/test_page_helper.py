"""The CLI's report helper (mpistd/render/page_helper.py) and figures drawn ahead
(mpistd/render/plots.py: planning, draw_ahead, the memo): the page is the page built
in-process, byte for byte; a figure whose inputs differ is never served from the memo; a
helper that is gone costs nothing but time (the parent builds the page)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mpistd.render import page_helper, plots

pytest.importorskip("matplotlib")
pytest.importorskip("jinja2")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "reference_data" / "examples" / "promag-fixed-volume.mpical.json"

# run in a fresh interpreter: the helper is forked only from a process that has not loaded
# WeasyPrint (this test process may have), exactly as the CLI forks it
_SCRIPT = r"""
import os
import sys
from pathlib import Path
from mpistd.collect import collect
from mpistd.config import Options
from mpistd.render import page_helper
from mpistd.render.html import ReportMeta
from mpistd.render.report import page_source, sources_from_jobs
import mpistd

path = Path(sys.argv[1])
os.environ["MPISTD_REPORT_HELPER"] = "1"  # a busy test machine: the helper all the same
assert page_helper.start_helper(page_source)
try:
    jobs = collect([path], Options(), None)
    page_helper.prefetch(jobs[0].path, jobs[0].options)
    report = mpistd.validate(path, reproducible=True)
    source = sources_from_jobs(report, jobs)[0]
    meta = ReportMeta.from_report(report)
    for fmt in ("html", "pdf"):
        helped = page_helper.page(source, meta, fmt, "first")
        assert helped is not None, "the helper gave no page"
        assert helped == page_source(source, meta, fmt, "first"), fmt
    assert helped[0].count("data:image/svg+xml;base64,") >= 4
finally:
    page_helper.stop_helper()
print("same pages")
"""


def test_the_helpers_pages_are_the_in_process_pages() -> None:
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(EXAMPLE)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "same pages" in done.stdout


def test_a_helper_that_is_gone_gives_no_page_and_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    here, there = multiprocessing.Pipe()
    there.close()  # the helper's end: gone

    class Gone:
        def join(self, timeout=None): ...
        def is_alive(self): return False

    monkeypatch.setattr(page_helper, "_HELPER", (Gone(), here))
    assert page_helper.page(object(), None, "html", "first") is None
    assert page_helper._HELPER is None
    page_helper.prefetch("x", None)  # no helper: nothing sent, no error


def test_no_helper_when_turned_off_or_after_weasyprint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPISTD_NO_REPORT_HELPER", "1")
    assert page_helper.start_helper(lambda *a, **k: ('', [])) is False and page_helper._HELPER is None
    monkeypatch.delenv("MPISTD_NO_REPORT_HELPER")
    monkeypatch.setitem(sys.modules, "weasyprint", object())
    assert page_helper.start_helper(lambda *a, **k: ('', [])) is False and page_helper._HELPER is None
    monkeypatch.delitem(sys.modules, "weasyprint")
    monkeypatch.delenv("MPISTD_REPORT_HELPER", raising=False)
    monkeypatch.setattr(page_helper, "spare_core", lambda: False)  # every core busy: no helper
    assert page_helper.start_helper(lambda *a, **k: ('', [])) is False and page_helper._HELPER is None


def test_a_spare_core_needs_two_cores_and_a_load_below_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setattr(page_helper, "usable_cores", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.5, 0.0, 0.0))
    assert page_helper.spare_core()
    monkeypatch.setattr(os, "getloadavg", lambda: (2.5, 0.0, 0.0))
    assert not page_helper.spare_core()
    monkeypatch.setattr(page_helper, "usable_cores", lambda: 1)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert not page_helper.spare_core()


def _eq1(means) -> str:
    return plots.eq1_plot([200.0, 150.0, 100.0], means, 0, fig_id="t", y_label="max (a.u.)")


def test_planned_figures_drawn_ahead_are_the_figures_drawn_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plots, "_plan", [])
    assert _eq1([10.0, 24.0, 80.0]) == ""  # planning draws nothing
    assert plots.dilution_plot([{"label": "max", "ratio": [1.0, 2.0], "percent": [1.0, 3.0],
                                 "uncertainty": [0.5, None]}], None, fig_id="d") == ""
    calls = plots._plan
    monkeypatch.setattr(plots, "_plan", None)
    assert [c[0] for c in calls] == ["eq1_plot", "dilution_plot"]
    drawn = plots.draw_ahead(calls + calls)  # a repeated call is drawn once
    assert len(drawn) == 2
    direct = _eq1([10.0, 24.0, 80.0])
    assert drawn[calls[0][4]] == direct and direct.startswith('<svg class="plot"')
    # the memo serves exactly the planned inputs; any other argument is drawn anew
    monkeypatch.setattr(plots, "_drawn", {calls[0][4]: "<svg>memo</svg>"})
    assert _eq1([10.0, 24.0, 80.0]) == "<svg>memo</svg>"
    assert _eq1([10.0, 24.0, 81.0]) != "<svg>memo</svg>"
