"""JUnit XML output, for CI systems that show test results (GitLab, Jenkins, Azure, …).

One ``<testsuite>`` per dataset, one ``<testcase>`` per rule family, so a dashboard shows
"dataset × family" as a grid. A family fails when it has findings at the report's failing
level (errors; warnings too with ``--strict``); findings below it go to ``<system-out>``,
and so do suppressed findings (silencing is never invisible). The verdict is the report's:
this renderer only lays it out.

The output is valid against the Jenkins xunit-plugin's ``junit-10.xsd`` (the strictest of the
common JUnit schemas; GitLab and Azure read the same file).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Iterable

from mpistd.findings import DatasetResult, Finding, Report, Severity, Suppressed
from mpistd.rules.registry import FAMILIES, Rule

#: testcase for findings whose rule the catalogue passed in does not know
OTHER_FAMILY = "other"

# Characters XML 1.0 cannot carry at all, even escaped (a parse error message may quote them).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render_junit(report: Report, rules: Iterable[Rule]) -> str:
    """The JUnit XML of ``report`` (UTF-8 text with an XML declaration, ends with a newline)."""
    family_of = {r.id: r.family for r in rules}
    fail_level = report.fail_level

    root = ET.Element("testsuites", {"name": "mpistd"})
    total_tests = total_failures = 0
    total_time = 0.0
    any_time = False
    for dataset in report.results:
        suite, tests, failures = _testsuite(dataset, family_of, fail_level)
        root.append(suite)
        total_tests += tests
        total_failures += failures
        if dataset.seconds is not None:
            total_time += dataset.seconds
            any_time = True

    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("errors", "0")  # <testsuites> has no `skipped` in the Jenkins junit-10 XSD
    if any_time:
        root.set("time", _seconds(total_time))
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def finding_line(finding: Finding) -> str:
    """``RULE severity pointer line:col message`` — one line per finding."""
    pointer = finding.pointer if finding.pointer else '""'
    if finding.line:
        where = f"{finding.line}:{finding.column}" if finding.column else f"{finding.line}"
    else:
        where = "-"
    message = " ".join(finding.message.split())  # one line, whatever the message holds
    return f"{finding.rule} {finding.severity.value} {pointer} {where} {message}"


def _testsuite(
    dataset: DatasetResult, family_of: dict[str, str], fail_level: Severity
) -> tuple[ET.Element, int, int]:
    by_family: dict[str, list[Finding]] = {f: [] for f in FAMILIES}
    suppressed_by_family: dict[str, list[Suppressed]] = {f: [] for f in FAMILIES}
    for finding in dataset.findings:
        by_family.setdefault(_family(finding.rule, family_of), []).append(finding)
    for s in dataset.suppressed:
        fam = _family(s.finding.rule, family_of)
        by_family.setdefault(fam, [])
        suppressed_by_family.setdefault(fam, []).append(s)

    suite = ET.Element("testsuite", {"name": _text(dataset.path)})
    failures = 0
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("sha256", dataset.sha256),
        ("schema_version", dataset.schema_version),
        ("title", dataset.title),
        ("verdict", dataset.verdict()),
    ):
        if value is not None:
            ET.SubElement(properties, "property", {"name": name, "value": _text(value)})

    for family, findings in by_family.items():
        # the Jenkins junit-10 XSD knows no `file` on <testcase>; the file is the classname
        case = ET.SubElement(suite, "testcase", {"classname": _text(dataset.path), "name": family})
        failing = [f for f in findings if f.severity.rank >= fail_level.rank]
        passing = [f for f in findings if f.severity.rank < fail_level.rank]
        if failing:
            failures += 1
            worst = max(failing, key=lambda f: f.severity.rank).severity.value
            failure = ET.SubElement(case, "failure", {"message": _count_summary(failing), "type": worst})
            failure.text = _text("\n".join(finding_line(f) for f in failing))
        out_lines = [finding_line(f) for f in passing]
        out_lines += [
            f"suppressed ({s.source}{': ' + s.reason if s.reason else ''}): {finding_line(s.finding)}"
            for s in suppressed_by_family.get(family, [])
        ]
        if out_lines:
            ET.SubElement(case, "system-out").text = _text("\n".join(out_lines))

    tests = len(by_family)
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", "0")
    if dataset.seconds is not None:
        suite.set("time", _seconds(dataset.seconds))
    if not len(properties):
        suite.remove(properties)
    return suite, tests, failures


def _family(rule_id: str, family_of: dict[str, str]) -> str:
    return family_of.get(rule_id, OTHER_FAMILY)


def _count_summary(findings: list[Finding]) -> str:
    parts = []
    for severity in Severity:  # error, warning, info
        n = sum(1 for f in findings if f.severity is severity)
        if n:
            parts.append(f"{n} {severity.value}{'' if n == 1 else 's'}")
    return ", ".join(parts)


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _text(value: object) -> str:
    # ElementTree escapes &, <, > and quotes; it cannot escape what XML 1.0 forbids outright.
    return _XML_INVALID.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", str(value))
