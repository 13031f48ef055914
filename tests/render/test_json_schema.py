"""JSON output: `render_json` of a hand-built report validates against the report schema."""
from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import pytest

from mpistd.findings import DatasetResult, Finding, Report, Severity, Suppressed
from mpistd.render.json import REPORT_SCHEMA_ID, render_json

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "report" / "mpistd-report.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == REPORT_SCHEMA_ID
    return jsonschema.Draft202012Validator(schema)


def build_report(**quantities) -> Report:
    f = Finding("MPI010", Severity.ERROR, "iron_mass_ug 9.3 ≠ 7.75 µg", "/calibrations/0/points/2",
                "data/promag.mpical.json", 41, 9, "m = c·V", "Correct the mass.")
    root = Finding("MPI001", Severity.ERROR, "not YAML", "", "data/bad.mpical.yaml", None, None)
    s = Suppressed(Finding("MPI030", Severity.WARNING, "dilution", "/calibrations/1", "data/promag.mpical.json",
                           60, 5), "inline", "kept on purpose")
    return Report(
        results=[
            DatasetResult("data/promag.mpical.json", "ab" * 32, "1.0", [f], [s],
                          quantities or {"calibrations": [{"id": "promag-fc", "slope": 212.0, "limits": []}]},
                          "ProMag", 0.1),
            DatasetResult("data/bad.mpical.yaml", findings=[root]),
        ],
        profile="publication",
        strict=True,
        mpistd_version="0.1.0",
        schema_version="1.0",
        created="2026-01-15T10:00:00+00:00",
    )


def test_render_json_validates(validator: jsonschema.Draft202012Validator) -> None:
    text = render_json(build_report())
    assert text.endswith("}\n") and "≠" in text  # UTF-8 kept, not \u-escaped
    data = json.loads(text)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    assert data["exit_code"] == 1 and data["ok"] is False
    assert data["datasets"][0]["suppressed"][0]["source"] == "inline"


def test_empty_report_validates(validator: jsonschema.Draft202012Validator) -> None:
    validator.validate(json.loads(render_json(Report(results=[], mpistd_version="0.1.0", schema_version="1.0"))))


def test_schema_catches_drift(validator: jsonschema.Draft202012Validator) -> None:
    data = json.loads(render_json(build_report()))
    data["datasets"][0]["findings"][0]["severity"] = "fatal"
    data["datasets"][0]["unexpected"] = 1
    data["datasets"][0]["suppressed"][0]["source"] = "magic"
    messages = [e.message for e in validator.iter_errors(data)]
    assert len(messages) == 3, messages


def test_nan_is_refused() -> None:
    with pytest.raises(ValueError):
        render_json(build_report(slope=math.nan))
