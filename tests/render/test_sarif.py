"""SARIF 2.1.0 output: valid against the OASIS schema, with lines, columns, rule indices,
fingerprints and suppressions as code scanning needs them."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import pytest

from mpistd.findings import DatasetResult, Finding, Report, Severity, Suppressed
from mpistd.render.sarif import render_sarif
from mpistd.rules.registry import Rule

SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "sarif-schema-2.1.0.json"
SHA = "ab" * 32

RULES = [
    Rule("MPI001", Severity.ERROR, "document cannot be read or parsed", "Unreadable documents cannot be judged.",
         "Fix the syntax.", "structure", '""'),
    Rule("MPI010", Severity.ERROR, "iron mass is not concentration × volume", "m = c·V must hold.",
         "Correct the **iron mass**, the concentration or the volume.", "consistency", "the point",
         sources=("STANDARD.md",)),
    Rule("MPI012", Severity.WARNING, "fewer than 3 replicates", "Replicates estimate pure error.",
         "Measure at least 3 replicates.", "reporting", "the point"),
    Rule("MPI051", Severity.INFO, "threshold k differs from 5", "The paper uses k = 5.", "Use k = 5 or explain.",
         "reporting", "/analysis/threshold/k"),
]


def finding(rule: str, severity: Severity, pointer: str, line: int | None, column: int | None,
            file: str | None = "data/promag.mpical.json", message: str = "") -> Finding:
    return Finding(rule=rule, severity=severity, message=message or f"{rule} fired", pointer=pointer,
                   file=file, line=line, column=column, rationale="why", remedy="fix")


def build_report() -> Report:
    promag = DatasetResult(
        path="data/promag.mpical.json",
        sha256=SHA,
        schema_version="1.0",
        title="ProMag",
        findings=[
            finding("MPI010", Severity.ERROR, "/calibrations/0/points/2", 41, 9,
                    message="iron_mass_ug 9.3 ≠ 1.55 µg/µL × 5.0 µL = 7.75 µg (20.0 % > 2 %)"),
            finding("MPI012", Severity.WARNING, "/calibrations/0/points/0", 17, 9),
            finding("MPI051", Severity.INFO, "/analysis/threshold/k", 12, 12),
        ],
        suppressed=[
            Suppressed(finding("MPI012", Severity.WARNING, "/calibrations/1/points/0", 80, 9), "inline",
                       "two replicates only: tube lost"),
            Suppressed(finding("MPI051", Severity.INFO, "/analysis/threshold/k", None, None,
                               file="data/legacy.mpical.yaml"), "baseline"),
        ],
    )
    broken = DatasetResult(
        path="data\\sub dir\\broken.mpical.yaml",  # as given on Windows, with a space
        findings=[finding("MPI001", Severity.ERROR, "", 3, None, file=None, message="bad YAML\x00 here")],
    )
    unknown_rule = DatasetResult(
        path="./data/other.mpical.json",
        sha256="cd" * 32,
        findings=[finding("MPI999", Severity.WARNING, "/tracers/0", None, None, file=None)],
    )
    return Report(results=[promag, broken, unknown_rule], mpistd_version="0.1.0", schema_version="1.0")


@pytest.fixture(scope="module")
def sarif() -> dict:
    return json.loads(render_sarif(build_report(), RULES))


def test_valid_against_the_oasis_schema(sarif: dict) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(sarif), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    assert sarif["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert sarif["version"] == "2.1.0"
    assert len(sarif["runs"]) == 1


def test_driver_and_rule_descriptors(sarif: dict) -> None:
    run = sarif["runs"][0]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("mpistd", "0.1.0")
    assert driver["informationUri"].startswith("https://")
    ids = [r["id"] for r in driver["rules"]]
    assert ids == ["MPI001", "MPI010", "MPI012", "MPI051", "MPI999"]  # unknown rule appended, not dropped
    mpi010 = driver["rules"][1]
    assert mpi010["name"] == "IronMassIsNotConcentrationVolume"
    assert mpi010["shortDescription"]["text"] == "iron mass is not concentration × volume"
    assert mpi010["fullDescription"]["text"] == "m = c·V must hold."
    assert mpi010["help"] == {"text": RULES[1].remedy, "markdown": RULES[1].remedy}
    assert mpi010["properties"]["family"] == "consistency"
    assert mpi010["properties"]["pointer"] == "the point"
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in driver["rules"]}
    assert levels == {"MPI001": "error", "MPI010": "error", "MPI012": "warning", "MPI051": "note", "MPI999": "warning"}
    assert run["invocations"] == [{"executionSuccessful": True}]


def test_results_locations_and_rule_indices(sarif: dict) -> None:
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert len(results) == 7  # 5 findings + 2 suppressed
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]

    first = results[0]
    assert (first["ruleId"], first["level"]) == ("MPI010", "error")
    assert first["message"]["text"].startswith("iron_mass_ug 9.3")
    loc = first["locations"][0]
    assert loc["physicalLocation"]["artifactLocation"]["uri"] == "data/promag.mpical.json"
    assert loc["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    assert loc["physicalLocation"]["region"] == {"startLine": 41, "startColumn": 9}
    assert loc["logicalLocations"] == [{"fullyQualifiedName": "/calibrations/0/points/2", "name": "2"}]
    expected = hashlib.sha256(b"MPI010|data/promag.mpical.json|/calibrations/0/points/2").hexdigest()
    assert first["partialFingerprints"] == {"mpistd/v1": expected}

    assert [r["level"] for r in results[:3]] == ["error", "warning", "note"]

    broken = results[5]
    assert broken["ruleId"] == "MPI001"
    physical = broken["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "data/sub%20dir/broken.mpical.yaml"  # forward slashes, escaped
    assert physical["region"] == {"startLine": 3}  # no column known: none written
    assert broken["locations"][0]["logicalLocations"] == [{"fullyQualifiedName": ""}]

    other = results[6]
    assert other["ruleId"] == "MPI999" and "region" not in other["locations"][0]["physicalLocation"]
    assert other["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "data/other.mpical.json"


def test_suppressed_findings_are_results_with_suppressions(sarif: dict) -> None:
    results = sarif["runs"][0]["results"]
    assert all("suppressions" not in r for r in results[:3] + results[5:])
    inline, baseline = results[3], results[4]
    assert inline["suppressions"] == [{"kind": "inSource", "status": "accepted",
                                       "justification": "two replicates only: tube lost",
                                       "properties": {"source": "inline"}}]
    assert baseline["suppressions"][0]["kind"] == "external"
    assert "justification" not in baseline["suppressions"][0]
    # a suppressed finding in another file is located in that file
    assert baseline["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "data/legacy.mpical.yaml"


def test_artifacts_carry_hashes(sarif: dict) -> None:
    artifacts = sarif["runs"][0]["artifacts"]
    by_uri = {a["location"]["uri"]: a for a in artifacts}
    assert by_uri["data/promag.mpical.json"]["hashes"] == {"sha-256": SHA}
    assert by_uri["data/promag.mpical.json"]["roles"] == ["analysisTarget"]
    assert by_uri["data/other.mpical.json"]["hashes"] == {"sha-256": "cd" * 32}
    assert "hashes" not in by_uri["data/sub%20dir/broken.mpical.yaml"]  # unreadable: no hash known
    for r in sarif["runs"][0]["results"]:
        location = r["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifacts[location["index"]]["location"]["uri"] == location["uri"]


def test_deterministic() -> None:
    assert render_sarif(build_report(), RULES) == render_sarif(build_report(), RULES)


def test_empty_report_is_valid() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    log = json.loads(render_sarif(Report(results=[], mpistd_version="0.1.0"), RULES))
    jsonschema.Draft4Validator(schema).validate(log)
    assert log["runs"][0]["results"] == []
