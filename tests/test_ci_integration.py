"""mpistd in CI: exit codes over trees, SARIF and JUnit of real runs, exclude, shards, baselines."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "reference_data"
SARIF_SCHEMA = json.loads((ROOT / "tests" / "fixtures" / "sarif-schema-2.1.0.json").read_text())


def mpistd(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "mpistd", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=300)


def _expected_failing(root: Path) -> list[Path]:
    """Datasets whose hand-written expected file says they fail, or that need their own options."""
    out = []
    for e in root.rglob("*.expected.json"):
        stem = e.name[: -len(".expected.json")]
        if json.loads(e.read_text())["exit_code"] != 0 or e.with_name(stem + ".mpistd.toml").exists():
            out.extend(p for p in e.parent.glob(stem + ".mpical.*"))
    return out


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("repo") / "reference_data"
    shutil.copytree(REFERENCE, dst, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return dst


def test_tree_with_nonconformant_vectors_exits_1(tree: Path) -> None:
    proc = mpistd("validate", str(tree), "--jobs", "2")
    assert proc.returncode == 1, proc.stderr


def test_excluding_the_nonconformant_vectors_by_config_exits_0(tree: Path, tmp_path: Path) -> None:
    failing = _expected_failing(tree)
    assert failing
    cfg = tree / "mpistd.toml"
    globs = [p.relative_to(tree).as_posix() for p in failing]
    cfg.write_text("exclude = [\n" + ",\n".join(json.dumps(g) for g in globs) + "\n]\n")
    try:
        proc = mpistd("validate", str(tree), "--jobs", "2")
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    finally:
        cfg.unlink()


def test_missing_path_and_empty_selection_exit_2(tree: Path, tmp_path: Path) -> None:
    assert mpistd("validate", str(tree / "nope"), "--jobs", "2").returncode == 2
    (tmp_path / "empty").mkdir()
    assert mpistd("validate", str(tmp_path / "empty")).returncode == 2
    # a configuration that excludes everything must not turn CI green
    only = tmp_path / "only"
    only.mkdir()
    shutil.copy(tree / "conformance" / "clean.mpical.json", only / "a.mpical.json")
    (only / "mpistd.toml").write_text('exclude = ["*.mpical.json"]\n')
    proc = mpistd("validate", str(only))
    assert proc.returncode == 2 and "no datasets" in proc.stderr


def test_sarif_of_the_reference_data_is_valid_and_located(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.sarif"
    proc = mpistd("validate", str(tree / "conformance"), "--output", f"sarif:{out}", "--jobs", "2")
    assert proc.returncode == 1
    sarif = json.loads(out.read_text())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    results = sarif["runs"][0]["results"]
    assert results
    located = [r for r in results if r["locations"][0]["physicalLocation"].get("region", {}).get("startLine")]
    assert len(located) == len(results)
    # the MPI004 vector's finding points at the line holding "tracer": "vivotrax"
    (hit,) = [r for r in results if r["ruleId"] == "MPI004"]
    uri = hit["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    line = hit["locations"][0]["physicalLocation"]["region"]["startLine"]
    assert uri.endswith("MPI004-fires.mpical.json")
    text = (tree / "conformance" / "MPI004-fires.mpical.json").read_text().splitlines()
    assert '"tracer": "vivotrax"' in text[line - 1]


def test_junit_counts_failures(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "j.xml"
    mpistd("validate", str(tree / "conformance"), "--output", f"junit:{out}", "--output", f"json:{tmp_path / 'r.json'}")
    root = ET.parse(out).getroot()
    report = json.loads((tmp_path / "r.json").read_text())
    failing_pairs = {(d["path"], f["rule"]) for d in report["datasets"] for f in d["findings"] if f["severity"] == "error"}
    failures = sum(int(s.get("failures")) for s in root.iter("testsuite"))
    assert int(root.get("failures")) == failures
    # one test case per dataset and family: every family with an error finding is one failure
    from mpistd.rules.registry import get_rule

    expected = {(path, get_rule(rule).family) for path, rule in failing_pairs}
    assert failures == len(expected)


def test_shards_partition_the_tree(tree: Path) -> None:
    seen = []
    for i in (1, 2, 3):
        proc = mpistd("validate", str(tree / "conformance"), "--shard", f"{i}/3", "--format", "json")
        seen.append({d["path"] for d in json.loads(proc.stdout)["datasets"]})
    allp = {d["path"] for d in json.loads(mpistd("validate", str(tree / "conformance"), "--format", "json").stdout)["datasets"]}
    assert set().union(*seen) == allp
    assert sum(len(s) for s in seen) == len(allp)
    assert mpistd("validate", str(tree), "--shard", "4/3").returncode == 2


def test_baseline_lets_old_findings_pass_and_new_ones_fail(tmp_path: Path) -> None:
    work = tmp_path / "w"
    work.mkdir()
    shutil.copy(REFERENCE / "conformance" / "MPI022-fires.mpical.json", work / "a.mpical.json")
    base = tmp_path / "baseline.json"
    assert mpistd("baseline", "write", str(work), "-o", str(base)).returncode == 0
    proc = mpistd("validate", str(work), "--baseline", str(base), "--format", "json")
    assert proc.returncode == 0
    d = json.loads(proc.stdout)["datasets"][0]
    assert [s["rule"] for s in d["suppressed"]] == ["MPI022"] and d["suppressed"][0]["source"] == "baseline"
    doc = json.loads((work / "a.mpical.json").read_text())
    doc["quantifications"][0]["reported"]["iron_mass_ug"] = 11.0  # a new MPI053
    (work / "a.mpical.json").write_text(json.dumps(doc))
    proc = mpistd("validate", str(work), "--baseline", str(base), "--format", "json")
    assert proc.returncode == 1
    assert [f["rule"] for f in json.loads(proc.stdout)["datasets"][0]["findings"]] == ["MPI053"]


def test_per_path_overrides_select_ignore_and_several_outputs(tmp_path: Path) -> None:
    work = tmp_path / "w"
    (work / "legacy").mkdir(parents=True)
    (work / "new").mkdir()
    for d in ("legacy", "new"):
        shutil.copy(REFERENCE / "conformance" / "MPI022-fires.mpical.json", work / d / "a.mpical.json")
    (work / "mpistd.toml").write_text('[[overrides]]\npaths = ["legacy/**"]\nrules = { MPI022 = "warning" }\n')
    proc = mpistd("validate", str(work), "--format", "json", "--output", f"sarif:{tmp_path / 'x.sarif'}",
                  "--output", f"junit:{tmp_path / 'x.xml'}")
    assert proc.returncode == 1
    sev = {d["path"].split(os.sep)[-2]: d["findings"][0]["severity"] for d in json.loads(proc.stdout)["datasets"]}
    assert sev == {"legacy": "warning", "new": "error"}
    assert (tmp_path / "x.sarif").exists() and (tmp_path / "x.xml").exists()
    assert mpistd("validate", str(work / "new"), "--ignore", "MPI022").returncode == 0
    assert mpistd("validate", str(work / "new"), "--select", "MPI01").returncode == 0
    assert mpistd("validate", str(work / "new"), "--select", "MPI999").returncode == 2


def test_mpistd_001_to_005_cannot_be_disabled(tmp_path: Path) -> None:
    (tmp_path / "mpistd.toml").write_text('[rules]\nMPI001 = "off"\n')
    shutil.copy(REFERENCE / "conformance" / "MPI001-fires.mpical.json", tmp_path / "a.mpical.json")
    proc = mpistd("validate", str(tmp_path))
    assert proc.returncode == 2 and "MPI001 cannot be" in proc.stderr


def test_inline_suppression_is_listed(tmp_path: Path) -> None:
    doc = json.loads((REFERENCE / "conformance" / "MPI022-fires.mpical.json").read_text())
    doc["calibrations"][0]["x-mpistd-ignore"] = [{"rule": "MPI022", "reason": "legacy slope from the lab book"}]
    (tmp_path / "a.mpical.json").write_text(json.dumps(doc))
    proc = mpistd("validate", str(tmp_path / "a.mpical.json"), "--format", "json")
    assert proc.returncode == 0
    (s,) = json.loads(proc.stdout)["datasets"][0]["suppressed"]
    assert (s["rule"], s["source"], s["reason"]) == ("MPI022", "inline", "legacy slope from the lab book")
