"""One bad dataset does not end the run (issue 13, item 3).

An unexpected exception while validating one dataset becomes that dataset's own
internal-error result: JSON ``status: "internal_error"`` with the message, SARIF
``executionSuccessful: false`` with a toolExecutionNotification (SARIF 2.1.0 §3.20.14,
§3.58), a JUnit ``<error>``, a line in the text output (the traceback with --debug). Every
other dataset is reported in full, all outputs are written, and the run exits 3.

The failure is injected the way ``tests/core/test_cli.py`` does it (monkeypatching
``mpistd.pipeline._run_rules``); with ``--jobs 2`` the pool's workers are forked from the
test process, so they inherit the patch.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus import base_document
from mpistd.cli import cli

N = 8
BAD = "d3.mpical.json"


def _folder(tmp_path: Path) -> Path:
    root = tmp_path / "many"
    root.mkdir()
    for i in range(N):
        (root / f"d{i}.mpical.json").write_text(json.dumps(base_document()))
    return root


@pytest.fixture
def one_bad(monkeypatch: pytest.MonkeyPatch) -> None:
    import mpistd.pipeline

    real = mpistd.pipeline._run_rules

    def sometimes_broken(doc, *args, **kwargs):
        if doc.path is not None and doc.path.name == BAD:
            raise RuntimeError("injected failure in one dataset")
        return real(doc, *args, **kwargs)

    monkeypatch.setattr(mpistd.pipeline, "_run_rules", sometimes_broken)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_one_failing_dataset_is_reported_and_the_others_in_full(tmp_path: Path, one_bad: None, jobs: str) -> None:
    root = _folder(tmp_path)
    out = {f: tmp_path / "out" / f"r.{f}" for f in ("json", "sarif", "junit", "text")}
    args = ["validate", str(root), "--jobs", jobs, "--reproducible"]
    for f, p in out.items():
        args += ["--output", f"{f}:{p}"]
    run = CliRunner().invoke(cli, args)
    assert run.exit_code == 3, run.output
    assert all(p.is_file() and p.stat().st_size > 0 for p in out.values())  # every output written

    report = json.loads(out["json"].read_text())
    assert report["exit_code"] == 3 and not report["ok"]
    by_name = {Path(d["path"]).name: d for d in report["datasets"]}
    assert len(by_name) == N
    bad = by_name.pop(BAD)
    assert bad["status"] == "internal_error" and bad["verdict"] == "internal error"
    assert bad["error"] == {"type": "RuntimeError", "message": "injected failure in one dataset"}
    for d in by_name.values():  # judged in full: the clean document has its quantities
        assert d["status"] == "ok" and d["findings"] == [] and d["quantities"]

    sarif = json.loads(out["sarif"].read_text())
    (inv,) = sarif["runs"][0]["invocations"]
    assert inv["executionSuccessful"] is False
    (note,) = inv["toolExecutionNotifications"]
    assert note["level"] == "error" and "injected failure" in note["message"]["text"]
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(BAD)

    junit = ET.fromstring(out["junit"].read_text().split("\n", 1)[1])
    errors = junit.findall(".//error")
    assert len(errors) == 1 and "injected failure" in errors[0].get("message", "")
    assert junit.get("errors") == "1"
    (suite,) = [s for s in junit.findall("testsuite") if s.get("name", "").endswith(BAD)]
    assert suite.get("errors") == "1"

    text = out["text"].read_text()
    assert "internal error" in text and "injected failure in one dataset" in text and "Traceback" not in text
    assert f"{N} datasets" in text
    # stderr: one line for the failed dataset, saying the others are reported
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and BAD in lines[0] and "This is a bug" in lines[0]


def test_debug_puts_the_traceback_in_the_text_output(tmp_path: Path, one_bad: None) -> None:
    root = _folder(tmp_path)
    run = CliRunner().invoke(cli, ["validate", str(root), "--jobs", "1", "--debug"])
    assert run.exit_code == 3
    assert "Traceback" in run.stdout and "RuntimeError: injected failure" in run.stdout
    assert "Traceback" in run.stderr


def test_a_sarif_run_without_internal_errors_is_successful(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    run = CliRunner().invoke(cli, ["validate", str(root), "--jobs", "1", "--format", "sarif"])
    assert run.exit_code == 0
    assert json.loads(run.stdout)["runs"][0]["invocations"] == [{"executionSuccessful": True}]


def test_the_json_report_with_an_internal_error_matches_its_schema(tmp_path: Path, one_bad: None) -> None:
    import jsonschema

    schema = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "report"
                         / "mpistd-report.schema.json").read_text())
    run = CliRunner().invoke(cli, ["validate", str(_folder(tmp_path)), "--jobs", "1", "--format", "json"])
    assert run.exit_code == 3
    jsonschema.Draft202012Validator(schema).validate(json.loads(run.stdout))


def test_the_api_returns_the_internal_error_as_a_result(tmp_path: Path, one_bad: None) -> None:
    import mpistd

    report = mpistd.validate(_folder(tmp_path))
    assert int(report.exit_code) == 3
    assert [Path(r.path).name for r in report.internal_errors] == [BAD]
    assert sum(1 for r in report.results if r.status == "ok") == N - 1


def test_a_worker_that_dies_loses_only_its_unfinished_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed mid-run (out of memory, a signal): the pool breaks; every result that
    arrived is kept, the rest are internal errors, the outputs are written, exit 3."""
    import os

    import mpistd.pipeline

    real = mpistd.pipeline._run_rules
    parent = os.getpid()

    def dies(doc, *args, **kwargs):
        if os.getpid() != parent and doc.path is not None and doc.path.name == "d6.mpical.json":
            os._exit(9)
        return real(doc, *args, **kwargs)

    monkeypatch.setattr(mpistd.pipeline, "_run_rules", dies)
    out = tmp_path / "r.json"
    run = CliRunner().invoke(cli, ["validate", str(_folder(tmp_path)), "--jobs", "2", "--output", f"json:{out}"])
    assert run.exit_code == 3, run.output
    report = json.loads(out.read_text())
    assert len(report["datasets"]) == N
    statuses = [d["status"] for d in report["datasets"]]
    assert statuses[6] == "internal_error" and "ok" in statuses


def test_the_report_command_writes_every_page_and_exits_3(tmp_path: Path, one_bad: None) -> None:
    site = tmp_path / "site"
    run = CliRunner().invoke(cli, ["report", str(_folder(tmp_path)), "--jobs", "1", "-o", f"{site}/"])
    assert run.exit_code == 3, run.output
    assert len(list(site.glob("d*.html"))) == N and (site / "index.html").is_file()
    assert "internal error" in (site / "index.html").read_text(encoding="utf-8")
