"""SARIF 2.1.0 output, for GitHub code scanning and every other SARIF viewer.

One run; the rule catalogue becomes ``tool.driver.rules`` (so viewers can show the rationale
and remedy of a rule once, not per result); every finding a result located by file,
line:column and its JSON pointer (as a logical location); every suppressed finding a result
with a ``suppressions`` entry, so that silencing stays visible (the standard, "Findings").

URIs are relative to the source root ``%SRCROOT%`` — ``--srcroot``, else git's top level
(the nearest folder above the working directory holding ``.git``), else the working
directory — so code scanning maps them onto the repository from whatever subfolder mpistd
ran in. They are percent-encoded from the file name's bytes (RFC 3986; a name that is not
valid UTF-8 keeps its bytes as ``%XX``). A file outside the source root gets an absolute
``file://`` URI.

``partialFingerprints["mpistd/v2"]`` is the sha256 of ``rule|uri|pointer|metric`` (the
metric only for per-metric rules) — never the numbers in the message, so a result keeps
its identity when they change — made unique within the run by an occurrence number when
two results would share it. ``automationDetails.id`` is written only when a category is
asked for (``--sarif-category``; GitHub's upload action sets it otherwise).
"""
from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import quote

from mpistd.findings import Finding, Report, Severity, Suppressed
from mpistd.rules.registry import Rule

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://mpistd.org"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "mpistd/v2"

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}

# Suppression kinds (SARIF §3.35.2): only an `x-mpistd-ignore` in the document itself is
# "inSource"; configuration files, baselines and --ignore live outside it.
_SUPPRESSION_KIND = {"inline": "inSource"}

# RFC 3986 pchar minus what would change a relative reference's meaning (':' in a first
# segment would read as a scheme; '%' must be escaped itself).
_SAFE_PATH_CHARS = "/-._~!$&'()*+,;=@"


def render_sarif(report: Report, rules: list[Rule], *, srcroot: str | os.PathLike[str] | None = None,
                 category: str | None = None) -> str:
    """The SARIF 2.1.0 log of ``report`` as JSON text (ends with a newline).

    ``rules`` is the catalogue to describe (normally ``registry.all_rules()``); a finding whose
    rule is not in it gets a minimal descriptor built from the finding, so ``ruleIndex`` is
    always valid. ``srcroot`` is the folder URIs are relative to (default: git's top level
    above the working directory, else the working directory); when given it is also recorded
    as the ``%SRCROOT%`` base. ``category`` becomes ``automationDetails.id`` (``category/``).
    """
    descriptors, rule_index = _rule_descriptors(rules)
    root = source_root(srcroot)
    artifacts = _Artifacts(root)
    results: list[dict[str, Any]] = []
    seen: dict[str, int] = {}

    for dataset in report.results:
        artifacts.add(dataset.path, sha256=dataset.sha256, role="analysisTarget")
        for finding in dataset.findings:
            results.append(_result(finding, dataset.path, descriptors, rule_index, artifacts, seen))
        for suppressed in dataset.suppressed:
            result = _result(suppressed.finding, dataset.path, descriptors, rule_index, artifacts, seen)
            result["suppressions"] = [_suppression(suppressed)]
            results.append(result)

    driver: dict[str, Any] = {
        "name": "mpistd",
        "fullName": "mpistd: conformance suite for MPI calibration data",
        "version": report.mpistd_version,
        "semanticVersion": report.mpistd_version,
        "informationUri": INFORMATION_URI,
        "rules": descriptors,
    }
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "invocations": [{"executionSuccessful": True}],
        "columnKind": "unicodeCodePoints",
        "artifacts": artifacts.entries,
        "results": results,
        "properties": {
            "profile": report.profile,
            "strict": report.strict,
            "standardVersion": report.schema_version,
            "failLevel": report.fail_level.value,
        },
    }
    if srcroot is not None:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": "file://" + _quote(root.rstrip("/") + "/")}}
    if category:
        run["automationDetails"] = {"id": category if category.endswith("/") else category + "/"}
    log = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def level(severity: Severity) -> str:
    """SARIF level of an mpistd severity (info is SARIF's "note")."""
    return _LEVEL[Severity.parse(severity)]


def fingerprint(rule_id: str, uri: str, pointer: str, metric: str | None = None, occurrence: int = 1) -> str:
    """The identity of a result: sha256 of ``rule|uri|pointer|metric``, ``|n`` added for the n-th (n ≥ 2)
    result that would otherwise share it."""
    text = f"{rule_id}|{uri}|{pointer}|{metric or ''}" + (f"|{occurrence}" if occurrence > 1 else "")
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def source_root(srcroot: str | os.PathLike[str] | None = None) -> str:
    """The absolute POSIX folder SARIF URIs are relative to: ``srcroot``, git's top level, or the cwd."""
    if srcroot is not None:
        return _posix(os.path.abspath(os.fspath(srcroot)))
    cwd = os.getcwd()
    for folder in (Path(cwd), *Path(cwd).parents):
        if (folder / ".git").exists():  # a folder, or a file in worktrees and submodules
            return _posix(str(folder))
    return _posix(cwd)


# --------------------------------------------------------------------------- rules


def _rule_descriptors(rules: Iterable[Rule]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    descriptors: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for rule in rules:
        if rule.id in index:
            continue
        index[rule.id] = len(descriptors)
        descriptors.append(_descriptor(rule))
    return descriptors, index


def _descriptor(rule: Rule) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": _pascal_name(rule.title) or rule.id,
        "shortDescription": {"text": rule.title or rule.id},
    }
    if rule.rationale:
        descriptor["fullDescription"] = {"text": rule.rationale}
    if rule.remedy:
        descriptor["help"] = {"text": rule.remedy, "markdown": rule.remedy}
    descriptor["defaultConfiguration"] = {"level": level(rule.severity)}
    descriptor["properties"] = {
        "family": rule.family,
        "pointer": rule.pointer,
        "suppressible": rule.suppressible,
        "tags": ["mpi", rule.family],
    }
    if rule.sources:
        descriptor["properties"]["sources"] = list(rule.sources)
    return descriptor


def _descriptor_from_finding(finding: Finding) -> dict[str, Any]:
    """For a finding whose rule the catalogue passed in does not know (never silently dropped)."""
    descriptor: dict[str, Any] = {"id": finding.rule, "shortDescription": {"text": finding.rule}}
    if finding.rationale:
        descriptor["fullDescription"] = {"text": finding.rationale}
    if finding.remedy:
        descriptor["help"] = {"text": finding.remedy, "markdown": finding.remedy}
    descriptor["defaultConfiguration"] = {"level": level(finding.severity)}
    return descriptor


def _pascal_name(title: str) -> str:
    # SARIF §3.49.7: `name` is an identifier-like, human-readable name ("IronMassMismatch").
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "".join(w[:1].upper() + w[1:] for w in words)


# --------------------------------------------------------------------------- results


def _result(
    finding: Finding,
    dataset_path: str,
    descriptors: list[dict[str, Any]],
    rule_index: dict[str, int],
    artifacts: "_Artifacts",
    seen: dict[str, int],
) -> dict[str, Any]:
    if finding.rule not in rule_index:
        rule_index[finding.rule] = len(descriptors)
        descriptors.append(_descriptor_from_finding(finding))
    path = finding.file or dataset_path
    artifact_index = artifacts.add(path)
    location = artifacts.location(path)

    physical: dict[str, Any] = {"artifactLocation": {**location, "index": artifact_index}}
    region = _region(finding)
    if region:
        physical["region"] = region
    logical: dict[str, Any] = {"fullyQualifiedName": finding.pointer}
    leaf = _pointer_leaf(finding.pointer)
    if leaf is not None:
        logical["name"] = leaf

    key = f"{finding.rule}|{location['uri']}|{finding.pointer}|{finding.metric or ''}"
    seen[key] = occurrence = seen.get(key, 0) + 1
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index[finding.rule],
        "level": level(finding.severity),
        "message": {"text": finding.message or finding.rule},
        "locations": [{"physicalLocation": physical, "logicalLocations": [logical]}],
        "partialFingerprints": {
            FINGERPRINT_KEY: fingerprint(finding.rule, location["uri"], finding.pointer, finding.metric, occurrence)
        },
    }
    if finding.metric:
        result["properties"] = {"metric": finding.metric}
    return result


def _region(finding: Finding) -> dict[str, int] | None:
    # mpistd lines and columns are 1-based, as SARIF's are; anything else is "unknown".
    if not finding.line or finding.line < 1:
        return None
    region = {"startLine": int(finding.line)}
    if finding.column and finding.column >= 1:
        region["startColumn"] = int(finding.column)
    return region


def _pointer_leaf(pointer: str) -> str | None:
    if not pointer or not pointer.startswith("/"):
        return None
    return pointer.rsplit("/", 1)[1].replace("~1", "/").replace("~0", "~")


def _suppression(suppressed: Suppressed) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": _SUPPRESSION_KIND.get(suppressed.source, "external"), "status": "accepted"}
    if suppressed.reason:
        entry["justification"] = suppressed.reason
    entry["properties"] = {"source": suppressed.source}
    return entry


# --------------------------------------------------------------------------- artifacts


def _posix(path: str) -> str:
    return path.replace("\\", "/")


def _quote(text: str, extra_safe: str = "") -> str:
    """Percent-encode a path from its bytes: a name that is not valid UTF-8 (held by Python as
    surrogate escapes) keeps its original bytes, e.g. b"\\xff" -> %FF."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte: its UTF-8-like form
        raw = text.encode("utf-8", "surrogatepass")
    return quote(raw, safe=_SAFE_PATH_CHARS + extra_safe)


def _artifact_location(path: str, root: str | None = None) -> dict[str, Any]:
    """The artifactLocation of ``path`` (as given: relative to the cwd, or absolute)."""
    posix = _posix(path)
    if re.match(r"^[A-Za-z]:/", posix):  # an absolute Windows path: a file URI, no base
        return {"uri": "file:///" + _quote(posix, ":")}
    root = root if root is not None else source_root()
    absolute = posixpath.normpath(posix if posix.startswith("/") else posixpath.join(_posix(os.getcwd()), posix))
    relative = posixpath.relpath(absolute, root)
    if relative == ".." or relative.startswith("../"):  # outside the source root: no base can hold it
        return {"uri": "file://" + _quote(absolute)}
    return {"uri": _quote(relative), "uriBaseId": SRCROOT}


class _Artifacts:
    """`run.artifacts` in first-seen order, one per file; datasets carry their sha256."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.entries: list[dict[str, Any]] = []
        self._index: dict[str, int] = {}
        self._locations: dict[str, dict[str, Any]] = {}

    def location(self, path: str) -> dict[str, Any]:
        if path not in self._locations:
            self._locations[path] = _artifact_location(path, self.root)
        return self._locations[path]

    def add(self, path: str, *, sha256: str | None = None, role: str | None = None) -> int:
        location = self.location(path)
        key = json.dumps(location, sort_keys=True)
        if key in self._index:
            i = self._index[key]
            entry = self.entries[i]
        else:
            i = self._index[key] = len(self.entries)
            entry = {"location": location}
            mime = _mime_type(path)
            if mime:
                entry["mimeType"] = mime
            self.entries.append(entry)
        if sha256 and "hashes" not in entry:
            entry["hashes"] = {"sha-256": sha256}
        if role:
            roles = entry.setdefault("roles", [])
            if role not in roles:
                roles.append(role)
        return i


def _mime_type(path: str) -> str | None:
    lower = path.lower()
    if lower.endswith(".json"):
        return "application/json"
    if lower.endswith((".yaml", ".yml")):
        return "application/yaml"
    return None
