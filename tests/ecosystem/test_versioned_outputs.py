"""Versioned outputs: the JSON's $schema, `mpistd schema --version report`, baseline format versions,
and the SARIF options of the command line (--srcroot, --sarif-category)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from mpistd.cli import cli

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "reference_data" / "conformance"
REPORT_SCHEMA = ROOT / "schemas" / "report" / "mpistd-report.schema.json"
SARIF_SCHEMA = ROOT / "tests" / "fixtures" / "sarif-schema-2.1.0.json"


def invoke(*args: str) -> "object":
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_json_output_names_its_schema_which_mpistd_schema_prints() -> None:
    out = invoke("validate", str(VECTORS / "MPI031-fires.mpical.json"), "--format", "json")
    doc = json.loads(out.output)
    printed = invoke("schema", "--version", "report")
    assert printed.exit_code == 0
    schema = json.loads(printed.output)
    assert schema == json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))  # the published file, unchanged
    assert doc["$schema"] == schema["$id"] == "https://mpistd.org/schema/report/1.0/mpistd-report.schema.json"
    jsonschema.Draft202012Validator(schema).validate(doc)
    # per-metric findings say which metric fired
    metrics = {f["metric"] for f in doc["datasets"][0]["findings"] if f["rule"] == "MPI031"}
    assert len(metrics) >= 2 and None not in metrics


def test_schema_writes_the_report_schema_folder(tmp_path: Path) -> None:
    out = invoke("schema", "--version", "report", "-o", str(tmp_path / "s"))
    assert out.exit_code == 0
    assert [p.name for p in (tmp_path / "s").iterdir()] == ["mpistd-report.schema.json"]
    bad = CliRunner().invoke(cli, ["schema", "--version", "9.9"])
    assert bad.exit_code == 2 and "known: 1.0, 1.1, report" in bad.output


def _work(tmp_path: Path) -> Path:
    work = tmp_path / "w"
    work.mkdir()
    shutil.copy(VECTORS / "MPI031-fires.mpical.json", work / "a.mpical.json")
    return work


def test_baseline_v2_records_metrics_and_suppresses_only_those(tmp_path: Path) -> None:
    work = _work(tmp_path)
    base = tmp_path / "b.json"
    assert invoke("baseline", "write", str(work), "-o", str(base)).exit_code == 0
    doc = json.loads(base.read_text())
    assert doc["mpistd_baseline"] == 2
    mpi031 = [e for e in doc["findings"] if e["rule"] == "MPI031"]
    assert len(mpi031) >= 2 and len({e["metric"] for e in mpi031}) == len(mpi031)
    assert invoke("validate", str(work), "--baseline", str(base)).exit_code == 0
    # drop one metric's entry: that result is new again and fails
    dropped = mpi031[0]
    doc["findings"].remove(dropped)
    base.write_text(json.dumps(doc))
    out = invoke("validate", str(work), "--baseline", str(base), "--format", "json")
    assert out.exit_code == 1
    fired = [(f["rule"], f["metric"]) for f in json.loads(out.output)["datasets"][0]["findings"]]
    assert fired == [("MPI031", dropped["metric"])]


def test_v1_baselines_still_read(tmp_path: Path) -> None:
    work = _work(tmp_path)
    base = tmp_path / "b.json"
    invoke("baseline", "write", str(work), "-o", str(base))
    v2 = json.loads(base.read_text())
    # the version-1 form written by mpistd 0.1.0: no format key beyond 1, no metric, one entry per pointer
    v1 = {"mpistd_baseline": 1, "mpistd_version": "0.1.0",
          "findings": sorted({(e["rule"], e["file"], e["pointer"]) for e in v2["findings"]})}
    v1["findings"] = [{"rule": r, "file": f, "pointer": p} for r, f, p in v1["findings"]]
    base.write_text(json.dumps(v1))
    out = invoke("validate", str(work), "--baseline", str(base), "--format", "json")
    assert out.exit_code == 0
    d = json.loads(out.output)["datasets"][0]
    assert d["findings"] == [] and all(s["source"] == "baseline" for s in d["suppressed"])


def test_unknown_baseline_version_is_a_usage_error(tmp_path: Path) -> None:
    base = tmp_path / "b.json"
    base.write_text('{"mpistd_baseline": 7, "findings": []}')
    out = CliRunner().invoke(cli, ["validate", str(VECTORS / "clean.mpical.json"), "--baseline", str(base)])
    assert out.exit_code == 2 and "format version 7" in out.output


def test_cli_sarif_category_and_srcroot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / ".git").mkdir()
    shutil.copy(VECTORS / "MPI031-fires.mpical.json", repo / "data" / "a.mpical.json")
    monkeypatch.chdir(repo / "data")
    out = invoke("validate", "a.mpical.json", "--format", "sarif", "--sarif-category", "shard-2")
    log = json.loads(out.output)
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))).validate(log)
    run = log["runs"][0]
    assert run["automationDetails"] == {"id": "shard-2/"}
    assert {a["location"]["uri"] for a in run["artifacts"]} == {"data/a.mpical.json"}
    out = invoke("validate", "a.mpical.json", "--format", "sarif", "--srcroot", str(repo / "data"))
    run = json.loads(out.output)["runs"][0]
    assert {a["location"]["uri"] for a in run["artifacts"]} == {"a.mpical.json"}
    assert "automationDetails" not in run
