"""What the parent keeps of a large run (issue 17): the repository rules' dispositions found
without a Finding per fit, and the results kept in a temporary file (mpistd/store.py). Both must
give exactly what they replace; the expectations here are the plain definitions (emit's own
answer, the list of results)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mpistd.config import Options
from mpistd.pipeline import Emitter

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("options", [
    Options(),
    Options(profile="publication"),
    Options(ignore=("MPI061",)),
    Options(select=("MPI06",)),
    Options(select=("MPI0",), ignore=("MPI06",)),
    Options(levels={"MPI060": "off", "MPI061": "error", "MPI062": "info"}),
])
def test_disposition_anywhere_is_what_emit_does(options: Options) -> None:
    for rule_id in ("MPI060", "MPI061", "MPI062"):
        probe = Emitter(None, options, "f.mpical.json", None)
        known = probe.disposition_anywhere(rule_id)
        probe.emit(rule_id, "/calibrations/0/fits/0", "")
        if probe.findings:
            assert known == (probe.findings[0].severity.value, None)
        else:
            s = probe.suppressed[0]
            assert known == (s.finding.severity.value, (s.source, s.reason))


def test_disposition_anywhere_declines_when_the_pointer_matters() -> None:
    baseline = frozenset({("MPI060", "f.mpical.json", "/calibrations/0/fits/0", None)})
    assert Emitter(None, Options(baseline=baseline), "f.mpical.json", None).disposition_anywhere("MPI060") is None


def test_the_result_store_gives_back_what_was_stored_and_its_totals() -> None:
    """mpistd.store.ResultStore (a run's results on disk) against the list it stands for: every
    result equal after the round trip, a replaced one written back, and the totals the Report
    takes from it equal to the ones counted from the results (hand-made results, known counts)."""
    from mpistd.findings import DatasetResult, Finding, Report, Severity, Suppressed
    from mpistd.store import ResultStore

    def finding(rule: str, sev: Severity) -> Finding:
        return Finding(rule=rule, severity=sev, message="m", pointer="/a", file="f", line=3, column=1)

    results = [
        DatasetResult(path="a", findings=[finding("MPI010", Severity.WARNING)], repository={"format": 1, "series": []}),
        DatasetResult(path="b", findings=[finding("MPI011", Severity.ERROR), finding("MPI012", Severity.INFO)],
                      suppressed=[Suppressed(finding("MPI013", Severity.INFO), "config", "why")]),
        DatasetResult(path="c", status="internal_error", error={"type": "ZeroDivisionError", "message": "x"}),
        DatasetResult(path="d", findings=[finding("MPI019", Severity.ERROR)]),
        DatasetResult(path="e"),
    ]
    for with_repository in (True, False):
        store = ResultStore(with_repository=with_repository)
        for r in results:
            store.append(r)
        assert len(store) == 5
        for got, want in zip(store, results):
            assert got.to_dict() == {**want.to_dict(), "repository": want.repository if with_repository else None}
        # without the blocks (no output writes them) only what the repository rules read back is kept
        assert store.repository_of(0) == ({"format": 1, "series": []} if with_repository else {"series": []})
        changed = store[4]
        changed.findings = [finding("MPI060", Severity.INFO)]
        store[4] = changed
        assert [f.rule for f in store[4].findings] == ["MPI060"] and store[1].path == "b"
        want = results[:4] + [changed]
        for strict in (False, True):
            on_disk, in_memory = Report(results=store, strict=strict), Report(results=want, strict=strict)
            # by hand: errors b, d; warnings a; infos b, e; b's one suppressed; c internal
            assert on_disk.counts() == in_memory.counts() == {"error": 2, "warning": 1, "info": 2}
            assert on_disk.failing() == in_memory.failing() == (4 if strict else 3)
            assert on_disk.suppressed_count() == 1
            assert [r.path for r in on_disk.internal_errors] == ["c"]
            assert on_disk.exit_code == in_memory.exit_code == 3
            assert list(on_disk.rows()) == list(in_memory.rows())
        store.close()


def test_the_json_result_in_pieces_is_the_json_of_the_whole_report() -> None:
    """mpistd.render.json.iter_json (one dataset at a time) against json.dumps of Report.to_dict()
    (the definition of the JSON result) plus the guard, for 0, 1 and 3 datasets whose texts hold
    a line break, U+2028, '##[' and non-ASCII characters."""
    import json

    from mpistd._text import guard_json
    from mpistd.findings import DatasetResult, Finding, Report, Severity
    from mpistd.render.json import iter_json, render_json

    tricky = "two\nlines \u2028 ##[error] µg Fe \u00e9"
    results = [DatasetResult(path=f"d{i}/{tricky}", title=tricky, quantities={"a": [1.5, None, {"b": []}]},
                             findings=[Finding(rule="MPI010", severity=Severity.WARNING, message=tricky)],
                             repository={"format": 1, "series": [], "lab": tricky}) for i in range(3)]
    for n in (0, 1, 3):
        report = Report(results=results[:n], created="2026-01-01T00:00:00+00:00", run={"shard": None})
        whole = guard_json(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        assert "".join(iter_json(report)) == render_json(report) == whole
        assert json.loads(whole)["datasets"] == [r.to_dict() for r in results[:n]]


@pytest.mark.parametrize("where", ["create", "write"])
def test_a_temporary_folder_that_cannot_hold_the_results_is_the_environments_problem(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """The results' temporary file (mpistd/store.py) cannot be made (no writable TMPDIR) or
    written (the folder is full): exit 2 with the fix, no traceback (the brief: the
    environment's problems are exit 2)."""
    import errno
    import shutil
    import tempfile

    from click.testing import CliRunner

    from mpistd.cli import cli

    shutil.copy(ROOT / "reference_data" / "conformance" / "clean.mpical.json", tmp_path / "a.mpical.json")
    real = tempfile.TemporaryFile

    class Full:
        def __init__(self, *a: object, **k: object) -> None:
            self._f = real()

        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name: str) -> object:
            return getattr(self._f, name)

    def refuse(*a: object, **k: object) -> None:
        raise FileNotFoundError(errno.ENOENT, "No usable temporary directory found")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse if where == "create" else Full)
    run = CliRunner().invoke(cli, ["validate", str(tmp_path), "--jobs", "1"])
    assert run.exit_code == 2, run.output
    assert "temporary file" in run.stderr and "TMPDIR" in run.stderr
    assert "Traceback" not in run.output + run.stderr
