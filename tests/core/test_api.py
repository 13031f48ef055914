"""The Python API and configuration discovery."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

import mpistd
from mpistd.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CLEAN = ROOT / "reference_data" / "conformance" / "clean.mpical.json"


def test_validate_a_mapping_returns_findings_and_recomputed_numbers() -> None:
    doc = json.loads(CLEAN.read_text())
    doc["calibrations"][0]["fits"][0]["slope"] = 224.72  # 6 % above the data's 212
    report = mpistd.validate(doc, base_dir=ROOT)
    assert not report.ok and [f.rule for f in report.findings] == ["MPI022"]
    fit = report.to_dict()["datasets"][0]["quantities"]["calibrations"][0]["fits"][0]
    # the base's level means lie exactly on 14 + 212·m (reference_data/conformance/base.py)
    assert fit["slope"] == pytest.approx(212.0, rel=1e-12) and fit["intercept"] == pytest.approx(14.0, abs=1e-9)
    assert doc["calibrations"][0]["fits"][0]["slope"] == 224.72  # the input mapping is not modified


def test_validate_a_path_and_profiles() -> None:
    assert mpistd.validate(CLEAN).ok
    assert mpistd.validate(CLEAN, profile="publication").ok
    with pytest.raises(FileNotFoundError):
        mpistd.validate(ROOT / "nope.mpical.json")


def test_pyproject_tool_table_is_found_by_walking_up(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.mpistd]\n[tool.mpistd.rules]\nMPI022 = "warning"\n')
    sub = tmp_path / "data" / "lab"
    sub.mkdir(parents=True)
    doc = json.loads(CLEAN.read_text())
    doc["calibrations"][0]["fits"][0]["slope"] = 224.72
    (sub / "a.mpical.json").write_text(json.dumps(doc))
    report = mpistd.validate(sub)
    assert report.ok and [f.severity.value for f in report.findings] == ["warning"]


def test_bad_configuration_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "mpistd.toml").write_text('[rules]\nMPI999 = "off"\n')
    shutil.copy(CLEAN, tmp_path / "a.mpical.json")
    with pytest.raises(ConfigError, match="unknown rule 'MPI999'"):
        mpistd.validate(tmp_path)


def test_schema_command_prints_and_writes_the_normative_schemas(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "mpistd", "schema"], capture_output=True, text=True, env=env)
    entry = json.loads(out.stdout)
    assert entry["$id"] == "https://mpistd.org/schema/1.1/dataset.schema.json"  # the latest version by default
    jsonschema.Draft202012Validator.check_schema(entry)
    subprocess.run([sys.executable, "-m", "mpistd", "schema", "-o", str(tmp_path / "s")], check=True, env=env,
                   capture_output=True)
    written = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert written == sorted(p.name for p in (ROOT / "schemas" / "1.1").glob("*.schema.json"))
