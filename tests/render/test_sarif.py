"""SARIF 2.1.0 output: valid against the OASIS schema, with lines, columns, rule indices,
fingerprints and suppressions as code scanning needs them."""
from __future__ import annotations

import hashlib
import os
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
    # rule|uri|pointer|metric (no metric for MPI010), computed by hand
    expected = hashlib.sha256(b"MPI010|data/promag.mpical.json|/calibrations/0/points/2|").hexdigest()
    assert first["partialFingerprints"] == {"mpistd/v2": expected}

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


# --------------------------------------------------------------------------- source root, URIs
def _uris(log: dict) -> list[str]:
    return [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]]


def _one(path: str, **kw) -> dict:
    report = Report(results=[DatasetResult(path=path, findings=[finding("MPI010", Severity.ERROR, "/x", 1, 1, file=None)])],
                    mpistd_version="0.1.0", schema_version="1.0")
    return json.loads(render_sarif(report, RULES, **kw))


def test_uris_are_relative_to_git_top_level_from_a_subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "data" / "sub").mkdir(parents=True)
    monkeypatch.chdir(repo / "data" / "sub")
    log = _one("x.mpical.json")
    loc = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert (loc["uri"], loc["uriBaseId"]) == ("data/sub/x.mpical.json", "%SRCROOT%")  # not ../../ anything
    assert _uris(_one("../../top.mpical.json")) == ["top.mpical.json"]
    assert "originalUriBaseIds" not in log["runs"][0]  # no machine path unless --srcroot is given
    # a worktree or submodule has a .git *file*
    (repo / ".git").rmdir()
    (repo / ".git").write_text("gitdir: /elsewhere\n")
    assert _uris(_one("x.mpical.json")) == ["data/sub/x.mpical.json"]


def test_srcroot_overrides_and_outside_files_get_file_uris(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b")
    log = _one("x.mpical.json", srcroot=tmp_path / "a")
    assert _uris(log) == ["b/x.mpical.json"]
    assert log["runs"][0]["originalUriBaseIds"] == {"%SRCROOT%": {"uri": (tmp_path / "a").as_uri() + "/"}}
    outside = _one("../../elsewhere.mpical.json", srcroot=tmp_path / "a")
    assert _uris(outside) == [(tmp_path / "elsewhere.mpical.json").as_uri()]
    assert "uriBaseId" not in outside["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]


def test_uris_are_percent_encoded_from_the_name_bytes(tmp_path: Path) -> None:
    cases = {
        # RFC 3986: every octet outside unreserved / sub-delims / ':@' is %XX of the name's bytes
        "caf\u00e9 #1?.mpical.json": "caf%C3%A9%20%231%3F.mpical.json",  # é = UTF-8 C3 A9
        "a:b/c.mpical.json": "a%3Ab/c.mpical.json",  # ':' in a first segment would read as a scheme
        "100%.mpical.json": "100%25.mpical.json",
        os.fsdecode(b"bad\xff\xfe.mpical.json"): "bad%FF%FE.mpical.json",  # not UTF-8: the raw bytes
    }
    for name, uri in cases.items():
        assert _uris(_one(name, srcroot=Path.cwd())) == [uri], name
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(_one(os.fsdecode(b"bad\xff.mpical.json"), srcroot=tmp_path))


# --------------------------------------------------------------------------- fingerprints, category
def test_fingerprints_are_unique_per_result_and_include_the_metric() -> None:
    def mpi031(metric: str) -> Finding:
        return Finding("MPI031", Severity.ERROR, f"{metric} differs", "/calibrations/1", "d.mpical.json", 5, 3,
                       metric=metric)

    twin = finding("MPI010", Severity.ERROR, "/p", 2, 2, file="d.mpical.json")
    report = Report(results=[DatasetResult(path="d.mpical.json", findings=[
        mpi031("max_intensity"), mpi031("total_intensity"), twin, twin])], mpistd_version="0.1.0")
    log = json.loads(render_sarif(report, RULES, srcroot=Path.cwd()))
    prints = [r["partialFingerprints"]["mpistd/v2"] for r in log["runs"][0]["results"]]
    assert len(set(prints)) == 4
    sha = lambda s: hashlib.sha256(s.encode()).hexdigest()  # noqa: E731
    assert prints == [sha("MPI031|d.mpical.json|/calibrations/1|max_intensity"),
                      sha("MPI031|d.mpical.json|/calibrations/1|total_intensity"),
                      sha("MPI010|d.mpical.json|/p|"), sha("MPI010|d.mpical.json|/p||2")]
    assert log["runs"][0]["results"][0]["properties"] == {"metric": "max_intensity"}


def test_real_per_metric_results_have_distinct_fingerprints() -> None:
    from mpistd.pipeline import validate
    from mpistd.rules.registry import all_rules

    example = Path(__file__).resolve().parents[2] / "reference_data" / "conformance" / "MPI031-fires.mpical.json"
    report = validate(example)
    mpi031 = [f for f in report.findings if f.rule == "MPI031"]
    assert len(mpi031) >= 2 and len({f.pointer for f in mpi031}) < len(mpi031)  # several metrics, one pointer
    assert {f.metric for f in mpi031} >= {"max_intensity"}
    log = json.loads(render_sarif(report, all_rules()))
    prints = [r["partialFingerprints"]["mpistd/v2"] for r in log["runs"][0]["results"]]
    assert len(prints) == len(set(prints))


def test_automation_details_only_with_a_category() -> None:
    assert "automationDetails" not in json.loads(render_sarif(build_report(), RULES))["runs"][0]
    log = json.loads(render_sarif(build_report(), RULES, category="mpistd-shard-1"))
    assert log["runs"][0]["automationDetails"] == {"id": "mpistd-shard-1/"}  # category/ (no run id)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(log)
