"""The command line's contract: exit codes, located findings, one line for a bug."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mpistd.cli import cli

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "reference_data" / "conformance"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "mpistd", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=120)


def test_valid_document_exits_0() -> None:
    proc = run("validate", str(VECTORS / "clean.mpical.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK: 1 dataset" in proc.stdout


def test_syntax_error_is_mpi001_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mpical.json"
    bad.write_text('{\n  "schema_version": "1.0",\n  "dataset": {"id": "x",, "title": "t"}\n}\n')
    proc = run("validate", str(bad), "--format", "json")
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    (finding,) = out["datasets"][0]["findings"]
    assert (finding["rule"], finding["line"], finding["column"]) == ("MPI001", 3, 25)  # the second comma


def test_three_schema_violations_are_three_located_findings() -> None:
    proc = run("validate", str(VECTORS / "MPI002-fires.mpical.json"), "--format", "json")
    assert proc.returncode == 1
    findings = json.loads(proc.stdout)["datasets"][0]["findings"]
    assert sorted(f["pointer"] for f in findings) == [
        "/acquisitions/0/scanner", "/calibrations/0/points/1/volume_uL", "/tracers/0/core_material"]
    assert all(f["rule"] == "MPI002" and f["line"] and f["column"] for f in findings)
    text = (VECTORS / "MPI002-fires.mpical.json").read_text().splitlines()
    by_pointer = {f["pointer"]: f for f in findings}
    assert '"volume_uL"' in text[by_pointer["/calibrations/0/points/1/volume_uL"]["line"] - 1]
    assert '"core_material"' in text[by_pointer["/tracers/0/core_material"]["line"] - 1]


def test_dangling_reference_is_mpi004() -> None:
    proc = run("validate", str(VECTORS / "MPI004-fires.mpical.json"), "--format", "json")
    assert proc.returncode == 1
    (f,) = json.loads(proc.stdout)["datasets"][0]["findings"]
    assert (f["rule"], f["pointer"]) == ("MPI004", "/calibrations/0/tracer")


def test_missing_path_exits_2() -> None:
    proc = run("validate", "no/such/file.mpical.json")
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr


def test_empty_selection_exits_2(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text("{}")
    proc = run("validate", str(tmp_path))
    assert proc.returncode == 2
    assert "no datasets" in proc.stderr


def test_unknown_option_is_a_usage_error() -> None:
    assert run("validate", "--no-such-option", "x").returncode == 2


def test_internal_error_exits_3_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import mpistd.pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("injected failure")

    monkeypatch.setattr(mpistd.pipeline, "_run_rules", broken)
    result = CliRunner().invoke(cli, ["validate", "--jobs", "1", str(VECTORS / "clean.mpical.json")])
    assert result.exit_code == 3
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "internal error" in lines[0] and "injected failure" in lines[0]
    assert "Traceback" not in result.output


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import mpistd.pipeline

    monkeypatch.setattr(mpistd.pipeline, "_run_rules", lambda *a, **k: 1 / 0)
    result = CliRunner().invoke(cli, ["validate", "--debug", "--jobs", "1", str(VECTORS / "clean.mpical.json")])
    assert result.exit_code == 3
    assert "Traceback" in result.stderr and "ZeroDivisionError" in result.stderr


def test_version_names_the_standard() -> None:
    proc = run("--version")
    assert proc.returncode == 0 and "standard 1.1" in proc.stdout


def test_json_output_records_versions_and_input_hashes() -> None:
    import hashlib

    path = VECTORS / "clean.mpical.json"
    out = json.loads(run("validate", str(path), "--format", "json").stdout)
    assert out["tool"]["name"] == "mpistd" and out["schema_version"] == "1.1"
    assert out["datasets"][0]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_highest_exit_code_wins_over_many_files(tmp_path: Path) -> None:
    proc = run("validate", str(VECTORS / "clean.mpical.json"), str(VECTORS / "MPI004-fires.mpical.json"))
    assert proc.returncode == 1


def test_strict_makes_warnings_fail(tmp_path: Path) -> None:
    doc = json.loads((VECTORS / "clean.mpical.json").read_text())
    for p in doc["calibrations"][0]["points"]:
        p["replicates"] = p["replicates"][:2]  # MPI012 warnings
    f = tmp_path / "two.mpical.json"
    f.write_text(json.dumps(doc))
    assert run("validate", str(f)).returncode == 0
    assert run("validate", "--strict", str(f)).returncode == 1
    assert run("validate", "--profile", "publication", str(f)).returncode == 1


def test_input_is_never_modified(tmp_path: Path) -> None:
    import hashlib

    f = tmp_path / "d.mpical.json"
    f.write_bytes((VECTORS / "MPI002-fires.mpical.json").read_bytes())
    before = hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_mtime_ns
    run("validate", str(f), "--output", f"json:{tmp_path / 'out.json'}")
    assert (hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_mtime_ns) == before


def test_simulate_writes_a_dataset_that_validates_and_catches_a_raised_maximum(tmp_path: Path) -> None:
    proc = run("simulate", str(tmp_path / "sim"), "--seed", "5", "--masses", "2,4,6,8,10", "--replicates", "3")
    assert proc.returncode == 0, proc.stderr
    (dataset,) = (tmp_path / "sim").glob("*.mpical.json")
    assert run("validate", str(dataset)).returncode == 0
    doc = json.loads(dataset.read_text())
    rep = doc["calibrations"][0]["points"][2]["replicates"][1]
    rep["max_intensity"] = rep["max_intensity"] * 1.15
    dataset.write_text(json.dumps(doc))
    out = json.loads(run("validate", str(dataset), "--format", "json").stdout)
    pointers = [(f["rule"], f["pointer"]) for f in out["datasets"][0]["findings"] if f["rule"] == "MPI013"]
    assert pointers == [("MPI013", "/calibrations/0/points/2/replicates/1/max_intensity")]
