"""JUnit XML: one suite per dataset, one case per rule family, failures at the failing level."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from mpistd.findings import DatasetResult, Finding, Report, Severity, Suppressed
from mpistd.render.junit import render_junit
from mpistd.rules.registry import FAMILIES, Rule

RULES = [
    Rule("MPI002", Severity.ERROR, "schema violation", "r", "f", "structure", "the value"),
    Rule("MPI010", Severity.ERROR, "iron mass mismatch", "r", "f", "consistency", "the point"),
    Rule("MPI012", Severity.WARNING, "fewer than 3 replicates", "r", "f", "reporting", "the point"),
    Rule("MPI024", Severity.WARNING, "R² below minimum", "r", "f", "fit", "the fit"),
    Rule("MPI051", Severity.INFO, "threshold k differs from 5", "r", "f", "reporting", "/analysis/threshold/k"),
]


def f(rule: str, severity: Severity, pointer: str, line: int | None = None, column: int | None = None,
      message: str = "") -> Finding:
    return Finding(rule, severity, message or f"{rule} message", pointer, "a.mpical.json", line, column)


def build_report(strict: bool = False) -> Report:
    a = DatasetResult(
        path="data/a & b.mpical.json",
        sha256="ab" * 32,
        seconds=0.25,
        findings=[
            f("MPI010", Severity.ERROR, "/calibrations/0/points/2", 41, 9, "m 9.3 µg ≠ c·V <7.75 µg>"),
            f("MPI010", Severity.ERROR, "/calibrations/0/points/3", 52, 9),
            f("MPI012", Severity.WARNING, "/calibrations/0/points/0", 17, 9),
            f("MPI051", Severity.INFO, "/analysis/threshold/k", 12),
            f("MPI024", Severity.WARNING, "/calibrations/0/fits/0"),
        ],
        suppressed=[Suppressed(f("MPI012", Severity.WARNING, "/calibrations/1/points/0"), "inline", "tube lost")],
    )
    b = DatasetResult(path="data/clean.mpical.yaml", seconds=0.5)
    c = DatasetResult(path="data/broken.mpical.json",
                      findings=[f("MPI002", Severity.ERROR, "", 1, 1, "bad\x01 char"),
                                f("MPI999", Severity.WARNING, "/x")])
    return Report(results=[a, b, c], strict=strict, mpistd_version="0.1.0", schema_version="1.0")


def parse(report: Report) -> ET.Element:
    text = render_junit(report, RULES)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))


def cases(suite: ET.Element) -> dict[str, ET.Element]:
    return {c.get("name"): c for c in suite.iter("testcase")}


def test_structure_and_totals() -> None:
    root = parse(build_report())
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["data/a & b.mpical.json", "data/clean.mpical.yaml",
                                               "data/broken.mpical.json"]
    a, b, c = suites
    assert [x.get("name") for x in a.iter("testcase")] == list(FAMILIES)
    assert all(x.get("classname") == "data/a & b.mpical.json" for x in a.iter("testcase"))
    # default: only errors fail — consistency in a; structure in c
    assert (a.get("tests"), a.get("failures"), a.get("errors"), a.get("skipped")) == (str(len(FAMILIES)), "1", "0", "0")
    assert (b.get("tests"), b.get("failures")) == (str(len(FAMILIES)), "0")
    # c: MPI999 is not in the catalogue: an extra "other" case, never dropped
    assert list(cases(c)) == [*FAMILIES, "other"]
    assert (c.get("tests"), c.get("failures")) == (str(len(FAMILIES) + 1), "1")
    assert root.get("tests") == str(3 * len(FAMILIES) + 1)
    assert (root.get("failures"), root.get("errors")) == ("2", "0")
    assert root.get("skipped") is None  # not an attribute of <testsuites> in junit-10.xsd
    assert a.get("time") == "0.250" and root.get("time") == "0.750"


def test_failure_text_and_system_out() -> None:
    a = parse(build_report()).find("testsuite")
    consistency = cases(a)["consistency"]
    failure = consistency.find("failure")
    assert failure.get("message") == "2 errors"
    assert failure.text.splitlines() == [
        "MPI010 error /calibrations/0/points/2 41:9 m 9.3 µg ≠ c·V <7.75 µg>",
        "MPI010 error /calibrations/0/points/3 52:9 MPI010 message",
    ]
    reporting = cases(a)["reporting"]
    assert reporting.find("failure") is None
    out = reporting.find("system-out").text.splitlines()
    assert out == [
        "MPI012 warning /calibrations/0/points/0 17:9 MPI012 message",
        "MPI051 info /analysis/threshold/k 12 MPI051 message",
        "suppressed (inline: tube lost): MPI012 warning /calibrations/1/points/0 - MPI012 message",
    ]
    assert cases(a)["fit"].find("system-out").text == "MPI024 warning /calibrations/0/fits/0 - MPI024 message"
    assert cases(a)["images"].find("failure") is None and cases(a)["images"].find("system-out") is None


def test_strict_turns_warnings_into_failures() -> None:
    root = parse(build_report(strict=True))
    a, b, c = root.findall("testsuite")
    assert a.get("failures") == "3"  # consistency, reporting, fit
    reporting = cases(a)["reporting"]
    assert reporting.find("failure").get("message") == "1 warning"
    assert reporting.find("failure").get("type") == "warning"
    assert reporting.find("system-out").text.startswith("MPI051 info")  # info stays below the failing level
    assert c.get("failures") == "2" and root.get("failures") == "5"


def test_invalid_xml_characters_are_escaped() -> None:
    c = parse(build_report()).findall("testsuite")[2]
    assert cases(c)["structure"].find("failure").text == 'MPI002 error "" 1:1 bad\\x01 char'


def test_deterministic() -> None:
    assert render_junit(build_report(), RULES) == render_junit(build_report(), RULES)


# --------------------------------------------------------------------------- Jenkins junit-10 XSD
FIXTURES = __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures"


def _jenkins_schema():  # type: ignore[no-untyped-def]
    import pytest

    xmlschema = pytest.importorskip("xmlschema", reason="xmlschema is in the test extra: pip install -e '.[test]'")
    return xmlschema.XMLSchema(FIXTURES / "junit-10.xsd")


def test_valid_against_jenkins_junit10_xsd() -> None:
    schema = _jenkins_schema()
    for strict in (False, True):
        text = render_junit(build_report(strict=strict), RULES)
        errors = [str(e.reason) for e in schema.iter_errors(text)]
        assert errors == []
    empty = render_junit(Report(results=[], mpistd_version="0.1.0", schema_version="1.0"), RULES)
    assert list(schema.iter_errors(empty)) == []


def test_the_xsd_check_can_fail() -> None:
    # the two attributes the issue found: `skipped` on <testsuites>, `file` on <testcase>
    schema = _jenkins_schema()
    text = render_junit(build_report(), RULES)
    assert not schema.is_valid(text.replace('<testsuites name="mpistd"', '<testsuites skipped="0" name="mpistd"', 1))
    assert not schema.is_valid(text.replace('<testcase ', '<testcase file="x" ', 1))


def test_real_validation_output_is_valid(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mpistd.pipeline import validate
    from mpistd.rules.registry import all_rules

    schema = _jenkins_schema()
    examples = __import__("pathlib").Path(__file__).resolve().parents[2] / "reference_data" / "examples"
    report = validate(examples)
    assert list(schema.iter_errors(render_junit(report, all_rules()))) == []
