"""Property tests: random mutations of the valid reference documents never crash mpistd.

- ``validate_file`` never raises, and the in-process CLI (``validate … --format json``)
  exits 0 or 1 (the code the severities imply) with a strict-JSON report, whatever the
  mutation (:mod:`mutate`: deleted keys, changed types, negative/huge/zero numbers, unicode,
  duplicated items, random enum strings, unknown and ``x-`` keys, bent references, deep
  nesting) and however the file is written (JSON with any indentation or escaping, YAML);
- the HTML report renders every mutated document and stays inert;
- a document the schema accepts round-trips through the model unchanged: ``parse_dataset(doc)
  .model_dump(by_alias=True, exclude_unset=True) == doc`` (``x-`` extensions included, the
  defaults the model fills in left out), and through the file loader too.

About 200 examples in all, derandomized so that CI is reproducible; ``scripts/fuzz.py``
runs the same mutations for thousands of documents outside CI.
"""
from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mutate import benign_mutate, mutate, reference_documents, serialize, workspace
from mpistd.cli import cli
from mpistd.config import Options
from mpistd.findings import Severity
from mpistd.load.documents import parse_bytes
from mpistd.pipeline import validate_file
from mpistd.rules.registry import known_rule_ids
from mpistd.standard.model import parse_dataset
from mpistd.standard.schema import check_document

REFS = reference_documents()
CI = dict(derandomize=True, deadline=None, database=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory):
    return workspace(tmp_path_factory.mktemp("mutants"), REFS)


def _write(space, ref, doc, rnd: random.Random) -> Path:
    raw, suffix = serialize(doc, rnd)
    path = space(ref) / f"mutant{suffix}"
    for old in path.parent.glob("mutant.*"):
        old.unlink()
    path.write_bytes(raw)
    return path


def _no_constant(name: str):
    raise ValueError(f"{name} in the JSON report")


def test_there_are_references_to_mutate() -> None:
    names = {r.name for r in REFS}
    assert len(REFS) >= 20
    assert "conformance/clean.mpical.json" in names
    assert any(r.name.startswith("examples/") for r in REFS)


@settings(max_examples=90, **CI)
@given(ref=st.sampled_from(REFS), rnd=st.randoms(use_true_random=False))
def test_mutated_documents_never_crash_validation(space, ref, rnd) -> None:
    doc = copy.deepcopy(ref.doc)
    what = mutate(doc, rnd)
    path = _write(space, ref, doc, rnd)
    why = f"{ref.name} mutated by {what}"
    result = validate_file(path, Options())  # must not raise
    known = set(known_rule_ids())
    for f in result.findings:
        assert f.rule in known, why
        assert isinstance(f.severity, Severity), why
        assert isinstance(f.pointer, str) and (f.pointer == "" or f.pointer.startswith("/")), why
        assert f.line is None or (isinstance(f.line, int) and f.line >= 1), why
    run = CliRunner().invoke(cli, ["validate", str(path), "--format", "json", "--jobs", "1"])
    assert run.exception is None or isinstance(run.exception, SystemExit), f"{why}: {run.exception!r}"
    assert run.exit_code in (0, 1), f"{why}: exit {run.exit_code}\n{run.stderr}"
    assert "Traceback" not in run.stdout + run.stderr, why
    report = json.loads(run.stdout, parse_constant=_no_constant)
    findings = report["datasets"][0]["findings"]
    implied = 1 if any(f["severity"] == "error" for f in findings) else 0
    assert run.exit_code == implied, why
    # the CLI also runs the repository rules over the whole run (mpistd/repository.py, even a run
    # of one dataset: MPI062 for a slope ≤ 0); validate_file checks one dataset and does not
    from mpistd.rules.repository import CHECKS as repository_rules
    assert sorted((f["rule"], f["pointer"]) for f in findings if f["rule"] not in repository_rules) == sorted(
        (f.rule, f.pointer) for f in result.findings)


@settings(max_examples=30, **CI)
@given(ref=st.sampled_from(REFS), rnd=st.randoms(use_true_random=False))
def test_mutated_documents_never_crash_the_html_report(space, ref, rnd) -> None:
    report_mod = pytest.importorskip("mpistd.render.report")
    from htmlaudit import assert_inert

    doc = copy.deepcopy(ref.doc)
    what = mutate(doc, rnd)
    path = _write(space, ref, doc, rnd)
    page = report_mod.report(path, reproducible=True)  # must not raise
    assert isinstance(page, str) and page.startswith("<!DOCTYPE html>"), what
    assert_inert(page)


@settings(max_examples=80, **CI)
@given(ref=st.sampled_from(REFS), rnd=st.randoms(use_true_random=False), indent=st.sampled_from([None, 2]))
def test_a_document_that_passes_round_trips_unchanged(ref, rnd, indent) -> None:
    doc = copy.deepcopy(ref.doc)
    what = benign_mutate(doc, rnd)
    if check_document(doc):
        return  # the round trip is promised for documents the schema accepts
    # through the file loader: bytes -> the same tree
    raw = json.dumps(doc, indent=indent, ensure_ascii=rnd.random() < 0.5).encode()
    assert parse_bytes(raw).data == doc, what
    # through the model: the JSON names, x- extensions kept, no default added
    dumped = parse_dataset(doc).model_dump(by_alias=True, exclude_unset=True)
    # equal as JSON values: a number keeps its value (a float field may give 5 back as 5.0,
    # the same JSON number), and bool never stands in for a number or the reverse
    assert _first_difference(dumped, doc) == "", f"{ref.name} {what}"
    assert dumped == doc
    # the pipeline's typed view of the loaded document is the model, value by value and type by type
    from tests.core.test_view import _compare

    assert _compare(parse_bytes(raw).data) == [], f"{ref.name} {what}"


def _first_difference(a, b, pointer: str = "") -> str:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return "" if a == b else f"{pointer}: {a!r} != {b!r}"
    if type(a) is not type(b):
        return f"{pointer}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                return f"{pointer}/{k}: {'missing' if k not in a else 'extra'} in the dump"
            d = _first_difference(a[k], b[k], f"{pointer}/{k}")
            if d:
                return d
        return ""
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{pointer}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = _first_difference(x, y, f"{pointer}/{i}")
            if d:
                return d
        return ""
    return "" if a == b else f"{pointer}: {a!r} != {b!r}"


def test_the_round_trip_keeps_extensions_and_adds_no_default() -> None:
    """The round trip above, on the points that matter, without randomness."""
    doc = copy.deepcopy(next(r.doc for r in REFS if r.name == "conformance/clean.mpical.json"))
    doc["x-lab"] = {"nested": [1, 2.5, {"not-x": None}], "unicode": "µg Fe₃O₄ 🧲"}
    doc["calibrations"][0]["points"][0]["replicates"][0]["x-note"] = "<b>raw</b>"
    doc["analysis"] = {}  # every analysis default (k = 5, threshold_all, x, wigner_seitz) left unset
    assert check_document(doc) == []
    model = parse_dataset(doc)
    assert model.extensions == {"x-lab": doc["x-lab"]}
    assert model.model_dump(by_alias=True, exclude_unset=True) == doc


@pytest.mark.parametrize("name", ["nan", "inf", "lone-surrogate", "int-beyond-double", "tuple", "int-key", "set"])
def test_the_mapping_api_reports_non_json_values_instead_of_raising(name: str) -> None:
    """``mpistd.validate(mapping)`` takes Python values no JSON file can hold; where the schema
    lets one through and the model refuses it, the result is a finding (MPI002), never an
    exception (found by this suite: pydantic's ValidationError used to escape)."""
    import math

    from mpistd.pipeline import validate

    doc = copy.deepcopy(next(r.doc for r in REFS if r.name == "conformance/clean.mpical.json"))
    point = doc["calibrations"][0]["points"][0]
    if name == "nan":
        point["iron_mass_ug"] = math.nan
    elif name == "inf":
        point["iron_mass_ug"] = math.inf
    elif name == "lone-surrogate":
        doc["dataset"]["title"] = "calibration \ud800"
    elif name == "int-beyond-double":
        point["iron_mass_ug"] = 10**400
    elif name == "tuple":
        point["replicates"] = tuple(point["replicates"])
    elif name == "int-key":
        doc["dataset"][1] = "x"
    else:
        doc["x-set"] = {1, 2}
    report = validate(doc)  # must not raise
    codes = {f.rule for f in report.findings}
    assert codes <= set(known_rule_ids())
    if name in ("nan", "lone-surrogate", "int-beyond-double", "tuple", "int-key"):
        assert "MPI002" in codes, [(f.rule, f.pointer, f.message) for f in report.findings]


def _set(pointer: str, value):
    def apply(doc):
        *parents, last = pointer.strip("/").split("/")
        node = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(last) if isinstance(node, list) else last] = value
    return apply


REGRESSIONS = {
    # scripts/fuzz.py seed 1 #7426: max/min of the concentrations overflowed to inf, and the JSON
    # report (strict, no NaN/inf) raised: exit 3
    "denormal-concentration": _set("/calibrations/0/points/0/concentration_ug_per_uL", 5e-324),
    "denormal-concentrations": lambda d: [p.__setitem__("concentration_ug_per_uL", 5e-324 * (i + 1))
                                          for i, p in enumerate(d["calibrations"][0]["points"])],
    "huge-concentration": _set("/calibrations/0/points/0/concentration_ug_per_uL", 1.7976931348623157e308),
    "denormal-volume": _set("/calibrations/0/points/0/volume_uL", 5e-324),
    "huge-signal": _set("/quantifications/0/signal", [1.7976931348623157e308] * 3),
    "denormal-noise": _set("/analysis/noise/sd", 5e-324),
    "huge-k": _set("/analysis/threshold/k", 1e308),
}


@pytest.mark.parametrize("name", list(REGRESSIONS))
def test_extreme_numbers_found_by_fuzzing(tmp_path: Path, name: str) -> None:
    doc = copy.deepcopy(next(r.doc for r in REFS if r.name == "conformance/clean.mpical.json"))
    REGRESSIONS[name](doc)
    path = tmp_path / "d.mpical.json"
    path.write_text(json.dumps(doc))
    run = CliRunner().invoke(cli, ["validate", str(path), "--format", "json", "--jobs", "1"])
    assert run.exception is None or isinstance(run.exception, SystemExit), repr(run.exception)
    assert run.exit_code in (0, 1), run.stderr
    json.loads(run.stdout, parse_constant=_no_constant)
