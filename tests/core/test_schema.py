"""The normative schemas (schemas/1.0) and the structural check (MPI002, MPI003)."""
from __future__ import annotations

import importlib.util
import json
import re
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable

from mpistd.resources import schema_dir
from mpistd.standard.model import parse_dataset
from mpistd.standard.schema import (
    SUPPORTED_VERSIONS,
    SchemaProblem,
    check_document,
    fast_is_valid,
    json_pointer,
    load_schemas,
    registry,
    schema_uri,
    validator,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILES = [
    "dataset", "dataset-info", "tracer", "particle-model", "acquisition", "analysis", "calibration",
    "environment", "point", "replicate", "image", "reported-fit", "quantification", "definitions",
]


def _load_base():
    spec = importlib.util.spec_from_file_location("_mpistd_conformance_base", ROOT / "reference_data/conformance/base.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.base


base = _load_base()

def check(document: Any) -> list[SchemaProblem]:
    """check_document, after making sure the fast and the Python validators agree on the document."""
    if isinstance(document, dict):
        version = document.get("schema_version")
        if not (isinstance(version, str) and version in SUPPORTED_VERSIONS):
            version = "1.0"
        try:
            expected = validator(version).is_valid(document)
        except TypeError:  # non-string keys: the Python validator cannot look at them
            expected = False
        assert fast_is_valid(document, version) is expected
    return check_document(document)


# =========================================================================== the schema files
@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_the_schema_files_are_the_standard_set(version):
    names = sorted(p.name for p in schema_dir(version).glob("*.schema.json"))
    assert names == sorted(f"{n}.schema.json" for n in SCHEMA_FILES)
    assert set(load_schemas(version)) == {schema_uri(version, n) for n in names}
    assert SUPPORTED_VERSIONS == ("1.0", "1.1")


@pytest.mark.parametrize("version", ["1.0", "1.1"])
@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_every_schema_file_passes_the_draft_2020_12_metaschema(name, version):
    schema = json.loads((schema_dir(version) / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://mpistd.org/schema/{version}/{name}.schema.json"
    assert schema.get("title") and schema.get("description")


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for key, value in node.items():
            if key not in ("examples", "default", "const", "enum"):
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_ref_resolves_from_the_local_files_and_nothing_is_fetched():
    reg = registry("1.0")
    for uri, schema in load_schemas("1.0").items():
        resolver = reg.resolver(base_uri=uri)
        for ref in _refs(schema):
            assert resolver.lookup(ref).contents is not None, (uri, ref)
    with pytest.raises(Unresolvable):
        reg.resolver(base_uri=schema_uri("1.0")).lookup("https://example.org/not-local.schema.json")


def test_unknown_versions_are_refused():
    with pytest.raises(ValueError):
        load_schemas("0.9")


def test_the_validators_are_built_once():
    assert validator("1.0") is validator("1.0")
    assert validator("1.0").format_checker is not None
    assert load_schemas("1.0") is load_schemas("1.0")


# --------------------------------------------------------------------------- documentation and bounds
def _object_schemas() -> Iterator[tuple[str, dict]]:
    """(JSON pointer URI, schema) of every object schema: the files' roots and their $defs."""
    for uri, schema in load_schemas("1.0").items():
        if "properties" in schema:
            yield uri + "#", schema
        for name, sub in schema.get("$defs", {}).items():
            if "properties" in sub:
                yield f"{uri}#/$defs/{name}", sub


def _properties() -> Iterator[tuple[str, str, dict]]:
    for where, schema in _object_schemas():
        for name, prop in schema["properties"].items():
            yield f"{where}/properties/{json_pointer([name])[1:]}", name, prop


UNIT_SYMBOLS = {  # field-name suffix -> what the description must say
    "_ug_per_uL": "µg", "_ug_per_mL": "µg", "_g_per_cm3": "g/cm³", "_T_per_m": "T/m", "_percent": "%",
    "_ug": "µg", "_uL": "µL", "_nm": "nm", "_mT": "mT", "_kHz": "kHz", "_h": "h", "_mm": "mm", "_mm2": "mm²",
    "_mm3": "mm³", "_pg": "pg", "_fg": "fg",
}
UNIT_WORDS = ("No unit", "dimensionless", "unit 1", "a.u.", "pixel", "in mm", "in mT", "mT or mm", "%")


def test_every_property_has_a_description_stating_its_unit_and_examples():
    missing = []
    for where, name, prop in _properties():
        description = prop.get("description", "")
        examples = prop.get("examples")
        if not description or not isinstance(examples, list) or not examples:
            missing.append(f"{where}: description or examples missing")
            continue
        suffix = next((s for s in sorted(UNIT_SYMBOLS, key=len, reverse=True) if name.endswith(s)), None)
        if suffix and UNIT_SYMBOLS[suffix] not in description:
            missing.append(f"{where}: description does not state {UNIT_SYMBOLS[suffix]}")
        elif not suffix and not any(word in description for word in UNIT_WORDS):
            missing.append(f"{where}: description states no unit (or 'No unit')")
    assert missing == []


def test_every_example_is_valid_against_its_property():
    invalid = []
    for where, _, prop in _properties():
        check_property = Draft202012Validator({"$ref": where}, registry=registry("1.0"),
                                              format_checker=Draft202012Validator.FORMAT_CHECKER)
        for example in prop.get("examples", []):
            errors = [e.message for e in check_property.iter_errors(example)]
            if errors:
                invalid.append(f"{where}: {example!r}: {errors}")
    assert invalid == []


SIGNED = {"max_intensity", "total_intensity", "mean_intensity", "slope", "intercept", "r_squared"}


def test_quantities_are_bounded_as_the_standard_asks():
    wrong = []
    for where, name, prop in _properties():
        if prop.get("type") not in ("number", "integer"):
            continue
        if name in SIGNED:
            continue
        if "minimum" not in prop and "exclusiveMinimum" not in prop:
            wrong.append(f"{where}: no lower bound")
        if name.endswith("_percent") and prop.get("maximum") != 100:
            wrong.append(f"{where}: a percentage up to 100")
        if name.endswith(("_uL", "_ug_per_uL", "_ug_per_mL", "_g_per_cm3", "diameter_nm")) \
                and name != "concentration_ug_per_uL" and prop.get("exclusiveMinimum") != 0:
            wrong.append(f"{where}: must be positive")
    assert wrong == []


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, dict]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key not in ("examples", "default", "const", "enum"):
                yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}/{i}")


def test_strings_and_arrays_are_size_bounded():
    unbounded = []
    for uri, schema in load_schemas("1.0").items():
        for path, node in _walk(schema):
            if node.get("type") == "string" and not {"maxLength", "const", "enum"} & set(node):
                unbounded.append(f"{uri}#{path}")
            if node.get("type") == "array" and "maxItems" not in node:
                unbounded.append(f"{uri}#{path}")
    assert unbounded == []


def test_every_object_is_closed_with_the_x_namespace_and_inline_suppressions():
    wrong = []
    for where, schema in _object_schemas():
        if any("$ref" in part.get("then", {}) for part in schema.get("allOf", [])):
            continue  # the particle model's dispatcher: its branches are the objects
        if schema.get("additionalProperties") is not False or set(schema.get("patternProperties", {})) != {"^x-"}:
            wrong.append(f"{where}: not closed with the x- namespace")
        if not where.endswith("/$defs/suppression") \
                and schema["properties"].get("x-mpistd-ignore", {}).get("$ref", "").split("/")[-1] != "suppressions":
            wrong.append(f"{where}: x-mpistd-ignore not allowed")
    assert wrong == []


# =========================================================================== documents
def test_the_clean_base_document_is_valid():
    doc = base()
    assert [e.message for e in validator("1.0").iter_errors(doc)] == []
    assert fast_is_valid(doc)
    assert check(doc) == []


def _rules_in(node: Any) -> set[str]:
    """The rule ids an expected-findings file lists: its findings' rules (any MPI id if the shape differs)."""
    if isinstance(node, dict) and isinstance(node.get("findings"), list):
        return {f.get("rule") for f in node["findings"] if isinstance(f, dict)}
    if isinstance(node, str):
        return {node} if re.fullmatch(r"MPI[0-9]{3}", node) else set()
    values = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    return set().union(*(_rules_in(v) for v in values))


def _structurally_clean_datasets() -> list[Path]:
    found = []
    for path in sorted((ROOT / "reference_data").rglob("*.mpical.json")):
        expected = path.with_name(path.name[: -len(".mpical.json")] + ".expected.json")
        if not expected.is_file():
            continue
        try:
            rules = _rules_in(json.loads(expected.read_text(encoding="utf-8")))
        except ValueError:
            continue
        if not rules & {"MPI001", "MPI002", "MPI003"}:
            found.append(path)
    return found


def test_reference_datasets_without_structural_findings_pass_schema_and_model():
    datasets = _structurally_clean_datasets()
    if not datasets:
        pytest.skip("no reference dataset with an expected file yet")
    failures = []
    for path in datasets:
        doc = json.loads(path.read_text(encoding="utf-8"))
        problems = check(doc)
        if problems:
            failures.append(f"{path.relative_to(ROOT)}: {problems[:3]}")
            continue
        parse_dataset(doc)
    assert failures == []


# --------------------------------------------------------------------------- check_document
def test_three_distinct_violations_give_exactly_three_findings():
    doc = base()
    doc["tracers"][0]["vendor"] = 42
    doc["calibrations"][0]["points"][2]["volume_uL"] = -6.0
    del doc["quantifications"][0]["metric"]
    problems = check(doc)
    assert problems == [
        SchemaProblem("MPI002", "/tracers/0/vendor", "vendor must be a string, found a number (42)"),
        SchemaProblem("MPI002", "/calibrations/0/points/2/volume_uL", "volume_uL must be greater than 0, found -6.0"),
        SchemaProblem("MPI002", "/quantifications/0", "required key 'metric' is missing"),
    ]


def test_an_unknown_version_gives_one_mpi003_and_nothing_else():
    doc = base()
    doc["schema_version"] = "2.0"
    doc["tracers"] = "not even a list"
    doc["foo"] = 1
    problems = check(doc)
    assert len(problems) == 1
    assert (problems[0].rule, problems[0].pointer) == ("MPI003", "/schema_version")
    assert "'2.0'" in problems[0].message and '"1.0"' in problems[0].message


def test_a_numeric_version_gets_the_hint_to_quote_it():
    doc = base()
    doc["schema_version"] = 1.0
    assert check(doc) == [SchemaProblem(
        "MPI002", "/schema_version",
        'schema_version must be the string "1.0", found the number 1.0: write "1.0" in quotes')]


def test_a_missing_version_is_a_missing_required_key():
    doc = base()
    del doc["schema_version"]
    assert check(doc) == [SchemaProblem("MPI002", "", "required key 'schema_version' is missing")]


@pytest.mark.parametrize("document, found", [([], "a list"), ("text", "a string"), (None, "null"), (3, "a number")])
def test_the_document_must_be_an_object(document, found):
    assert check(document) == [SchemaProblem("MPI002", "", f"the document must be a JSON object, found {found}")]


def test_each_unexpected_key_is_its_own_finding_at_that_key():
    doc = base()
    doc["dataset"]["notes"] = "n"
    doc["dataset"]["a/b~c"] = 1
    doc["dataset"]["x-notes"] = "fine: extension namespace"
    assert check(doc) == [
        SchemaProblem("MPI002", "/dataset/notes", "unexpected key 'notes' (lab-specific fields must start with 'x-')"),
        SchemaProblem("MPI002", "/dataset/a~1b~0c", "unexpected key 'a/b~c' (lab-specific fields must start with 'x-')"),
    ]


def test_findings_come_in_document_order():
    doc = base()
    reordered = {k: doc[k] for k in ("calibrations", "schema_version", "analysis", "tracers", "acquisitions",
                                     "dataset", "quantifications")}
    reordered["dataset"]["title"] = ""
    reordered["tracers"][0]["core_material"] = "iron"
    reordered["calibrations"][0]["points"][3]["iron_mass_method"] = "guess"
    reordered["calibrations"][0]["points"][1]["iron_mass_method"] = "guess"
    pointers = [p.pointer for p in check(reordered)]
    assert pointers == ["/calibrations/0/points/1/iron_mass_method", "/calibrations/0/points/3/iron_mass_method",
                        "/tracers/0/core_material", "/dataset/title"]


def test_a_conditional_requirement_reports_only_its_inner_error_with_the_reason():
    doc = base()
    doc["calibrations"][0]["method"] = "fixed_volume"
    assert check(doc) == [SchemaProblem(
        "MPI002", "/calibrations/0",
        "required key 'final_volume_uL' is missing (a fixed_volume calibration states its final_volume_uL)")]


def test_a_particle_model_is_checked_only_against_the_branch_its_kind_names():
    doc = base()
    doc["tracers"][0]["particle_model"] = {"kind": "spherical_core", "core_diameter_nm": -4.0}
    assert check(doc) == [SchemaProblem(
        "MPI002", "/tracers/0/particle_model/core_diameter_nm", "core_diameter_nm must be greater than 0, found -4.0")]
    doc["tracers"][0]["particle_model"] = {"kind": "spherical", "core_diameter_nm": 40.0}
    problems = check(doc)
    assert [p.pointer for p in problems] == ["/tracers/0/particle_model/kind"]
    assert "did you mean 'spherical_core'" in problems[0].message


def test_a_replicate_without_a_metric_gives_one_clear_finding():
    doc = base()
    doc["calibrations"][0]["points"][0]["replicates"][2] = {"fwhm_mm": 3.0}
    assert check(doc) == [SchemaProblem(
        "MPI002", "/calibrations/0/points/0/replicates/2",
        "replicates[2] needs at least one of 'max_intensity', 'total_intensity', 'mean_intensity'")]


def test_a_cell_number_series_must_count_cells():
    doc = base()
    doc["calibrations"][0]["method"] = "cell_number"
    assert check(doc) == [SchemaProblem(
        "MPI002", "/calibrations/0/independent_variable",
        "independent_variable must be 'cell_count', found 'iron_mass_ug' "
        "(a cell_number calibration has independent_variable cell_count)")]


def test_every_violation_is_reported_once():
    doc = base()
    for point in doc["calibrations"][0]["points"]:
        point["volume_uL"] = -1.0
        point["x-ok"] = True
        point["replicates"][0]["extra"] = 1
    problems = check(doc)
    assert len(problems) == 12
    assert len({(p.pointer, p.message) for p in problems}) == 12


def test_messages_never_dump_large_values():
    doc = base()
    doc["tracers"][0]["id"] = "x " * 5000
    doc["tracers"][0]["name"] = list(range(50_000))
    doc["dataset"]["description"] = "d" * 20_000
    problems = check(doc)
    assert [p.pointer for p in problems] == ["/dataset/description", "/tracers/0/id", "/tracers/0/name"]
    assert all(len(p.message) < 300 for p in problems), problems


def test_non_string_keys_are_findings_not_crashes():
    doc = base()
    doc["dataset"][7] = "seven"
    problems = check(doc)
    assert problems == [SchemaProblem("MPI002", "/dataset", "key 7 is not a string (JSON object keys are strings)")]


def test_hostile_sizes_stay_bounded_and_quick():
    doc = base()
    doc["dataset"].update({f"k{i}": i for i in range(3000)})
    doc["quantifications"][0]["signal"] = [1.0] * 100_001
    started = time.perf_counter()
    problems = check(doc)
    assert time.perf_counter() - started < 5
    assert len(problems) == 3001
    assert problems[-1].pointer == "/quantifications/0/signal"
    assert fast_is_valid({"schema_version": "1.0", "x": 10**40}) is False  # beyond 64 bits: no exception


def test_a_valid_document_with_an_integral_float_count_passes_both_validators():
    doc = base()
    cal = doc["calibrations"][0]
    cal["independent_variable"] = "cell_count"
    for i, point in enumerate(cal["points"]):
        point["cell_count"] = float(10_000 * (i + 1))
    assert check(doc) == []
    assert validator("1.0").is_valid(doc)


def test_json_pointer_escapes_as_rfc_6901_says():
    assert json_pointer([]) == ""
    assert json_pointer(["a/b", "m~n", 0, ""]) == "/a~1b/m~0n/0/"
