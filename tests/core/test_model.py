"""The pydantic model agrees with the normative JSON Schemas.

Two kinds of evidence:
- structure: walking the schemas and the model side by side from the top, every object has the
  same keys, the same required keys, the same enums, defaults and bounds;
- behaviour: the clean base document and a set of valid variants pass both; a list of invalid
  mutations of the base fails both (and each gives exactly the MPI002/MPI003 findings listed).
"""
from __future__ import annotations

import copy
import importlib.util
import inspect
import types
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Union, get_args, get_origin

import annotated_types as at
import pydantic
import pytest
from pydantic import AfterValidator, BaseModel

from mpistd.standard import model as m
from mpistd.standard.schema import (
    LATEST_VERSION,
    SUPPORTED_VERSIONS,
    check_document,
    fast_is_valid,
    load_schemas,
    registry,
    schema_uri,
    validator,
)

ROOT = Path(__file__).resolve().parents[2]


def _load_base():
    spec = importlib.util.spec_from_file_location("_mpistd_conformance_base", ROOT / "reference_data/conformance/base.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.base


base = _load_base()


# =========================================================================== structure
def _resolve(schema: dict, resolver) -> tuple[dict, Any]:
    while "$ref" in schema:
        resolved = resolver.lookup(schema["$ref"])
        schema, resolver = resolved.contents, resolved.resolver
    return schema, resolver


def _object_targets(schema: dict, resolver) -> list[tuple[dict, Any]]:
    """The object schemas a property holds: itself, its items, or a discriminated union's branches."""
    schema, resolver = _resolve(schema, resolver)
    if schema.get("type") == "array" and "items" in schema:
        return _object_targets(schema["items"], resolver)
    branches = [part["then"] for part in schema.get("allOf", []) if "$ref" in part.get("then", {})]
    if branches:
        return [target for branch in branches for target in _object_targets(branch, resolver)]
    if "properties" in schema:
        return [(schema, resolver)]
    return []


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """Strip Optional and Annotated: the bare type and the metadata met on the way."""
    metadata: list[Any] = []
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            for item in extra:
                metadata.extend(item.metadata if isinstance(item, pydantic.fields.FieldInfo) else [item])
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation, metadata
            annotation = args[0]
        else:
            return annotation, metadata


def _model_classes(annotation: Any) -> list[type[BaseModel]]:
    bare, _ = _unwrap(annotation)
    origin = get_origin(bare)
    if origin in (Union, types.UnionType):
        return [c for arg in get_args(bare) for c in _model_classes(arg)]
    if origin is list:
        return _model_classes(get_args(bare)[0])
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return [bare]
    return []


def _json_name(name: str, field: pydantic.fields.FieldInfo) -> str:
    return field.alias or name


_JSON_TYPES = {float: "number", int: "integer", str: "string", bool: "boolean", list: "array"}


def _value_constraints(annotation: Any, metadata: list[Any]) -> dict[str, Any]:
    """The JSON Schema keywords a model annotation amounts to (for scalars and lists of scalars)."""
    bare, inner = _unwrap(annotation)
    metadata = list(metadata) + inner
    out: dict[str, Any] = {}
    origin = get_origin(bare)
    if origin is Literal:
        return {"enum": list(get_args(bare))}
    kind = _JSON_TYPES.get(origin or bare)
    if kind is None:
        return {"object": True}
    out["type"] = kind
    for item in metadata:
        if isinstance(item, at.Ge):
            out["minimum"] = item.ge
        elif isinstance(item, at.Gt):
            out["exclusiveMinimum"] = item.gt
        elif isinstance(item, at.Le):
            out["maximum"] = item.le
        elif isinstance(item, at.MinLen):
            out["minItems" if kind == "array" else "minLength"] = item.min_length
        elif isinstance(item, at.MaxLen):
            out["maxItems" if kind == "array" else "maxLength"] = item.max_length
        elif isinstance(item, AfterValidator) and isinstance(item.func, m.Pattern):
            out["pattern"] = item.func.pattern
        elif isinstance(item, AfterValidator) and item.func is m._is_date:
            out["format"] = "date"
    if kind == "array":
        out["items"] = _value_constraints(get_args(bare)[0], [])
    return out


_COMPARED = ("type", "enum", "const", "minimum", "exclusiveMinimum", "maximum", "minLength", "maxLength",
             "minItems", "maxItems", "pattern", "format")


def _schema_constraints(schema: dict, resolver) -> dict[str, Any]:
    schema, resolver = _resolve(schema, resolver)
    out = {k: schema[k] for k in _COMPARED if k in schema}
    if "const" in out:  # a Literal of one value
        out["enum"] = [out.pop("const")]
    if "enum" in out:
        out.pop("type", None)
    if schema.get("type") == "array":
        out["items"] = _schema_constraints(schema["items"], resolver) if "items" in schema else {}
    return out


def _walk():
    """Pairs (model class, object schema) from Dataset down, with the differences found on the way."""
    pairs: list[tuple[type[BaseModel], dict]] = []
    differences: list[str] = []
    top = load_schemas(LATEST_VERSION)[schema_uri(LATEST_VERSION)]
    stack = [(m.Dataset, top, registry(LATEST_VERSION).resolver(base_uri=schema_uri(LATEST_VERSION)))]
    seen: set[tuple[type, int]] = set()
    while stack:
        cls, schema, resolver = stack.pop()
        if (cls, id(schema)) in seen:
            continue
        seen.add((cls, id(schema)))
        pairs.append((cls, schema))
        where = cls.__name__
        fields = {_json_name(n, f): f for n, f in cls.model_fields.items()}
        properties = schema["properties"]
        if set(fields) != set(properties):
            differences.append(f"{where}: model only {sorted(set(fields) - set(properties))}, "
                               f"schema only {sorted(set(properties) - set(fields))}")
        required = {k for k, f in fields.items() if f.is_required()}
        if required != set(schema.get("required", [])):
            differences.append(f"{where}: required {sorted(required)} vs schema {sorted(schema.get('required', []))}")
        for key in sorted(set(fields) & set(properties)):
            field, prop = fields[key], properties[key]
            # defaults
            has_default = field.default is not pydantic_core_undefined and field.default is not None
            if ("default" in prop) != has_default or (has_default and prop["default"] != field.default):
                differences.append(f"{where}.{key}: default {field.default!r} vs schema {prop.get('default')!r}")
            # nested objects
            targets = _object_targets(prop, resolver)
            classes = _model_classes(field.annotation)
            if len(targets) != len(classes):
                differences.append(f"{where}.{key}: {len(classes)} model classes vs {len(targets)} schema objects")
                continue
            if targets:
                if len(targets) == 1:
                    matched = [(classes[0], targets[0])]
                else:  # discriminated union: pair by kind
                    by_kind = {get_args(c.model_fields["kind"].annotation)[0]: c for c in classes}
                    matched = [(by_kind[t[0]["properties"]["kind"]["const"]], t) for t in targets]
                for sub_cls, (sub_schema, sub_resolver) in matched:
                    stack.append((sub_cls, sub_schema, sub_resolver))
                continue
            # scalar values and lists of scalars: type, enum, bounds, pattern
            mine = _value_constraints(field.annotation, field.metadata)
            theirs = _schema_constraints(prop, resolver)
            if where == "Dataset" and key == "schema_version":
                # the model reads every supported version; each version's schema names its own
                theirs = {"enum": list(SUPPORTED_VERSIONS)}
            if mine != theirs:
                differences.append(f"{where}.{key}: model {mine} vs schema {theirs}")
    return pairs, differences


pydantic_core_undefined = pydantic.fields.PydanticUndefined


def test_models_and_schemas_have_the_same_objects_keys_required_enums_defaults_and_bounds():
    pairs, differences = _walk()
    assert differences == []
    # every model class and every object schema took part in the walk
    visited_classes = {cls for cls, _ in pairs}
    model_classes = {
        obj for _, obj in inspect.getmembers(m, inspect.isclass)
        if issubclass(obj, BaseModel) and obj.__module__ == m.__name__ and not obj.__name__.startswith("_")
    }
    assert model_classes - visited_classes == set()
    visited_schemas = {id(schema) for _, schema in pairs}
    object_schemas = {}
    for uri, schema in load_schemas(LATEST_VERSION).items():
        dispatcher = any("$ref" in part.get("then", {}) for part in schema.get("allOf", []))  # particle model
        if "properties" in schema and schema.get("type") == "object" and not dispatcher:
            object_schemas[id(schema)] = uri
        for name, sub in schema.get("$defs", {}).items():
            if "properties" in sub and sub.get("type") == "object":
                object_schemas[id(sub)] = f"{uri}#/$defs/{name}"
    assert sorted(uri for key, uri in object_schemas.items() if key not in visited_schemas) == []


def test_each_schema_object_has_one_model_class():
    pairs, _ = _walk()
    by_schema: dict[int, set[str]] = {}
    for cls, schema in pairs:
        by_schema.setdefault(id(schema), set()).add(cls.__name__)
    assert {frozenset(names) for names in by_schema.values() if len(names) > 1} == set()


# =========================================================================== behaviour
def _cal(doc):
    return doc["calibrations"][0]


def _point(doc, i=0):
    return doc["calibrations"][0]["points"][i]


def _rep(doc, i=0, j=0):
    return doc["calibrations"][0]["points"][i]["replicates"][j]


def _set(path: str, value: Any) -> Callable[[dict], None]:
    """A mutation setting the value at a JSON pointer (its parent must exist)."""
    def mutate(doc: dict) -> None:
        *parents, last = _split(path)
        node = doc
        for part in parents:
            node = node[part]
        node[last] = value
    return mutate


def _delete(path: str) -> Callable[[dict], None]:
    def mutate(doc: dict) -> None:
        *parents, last = _split(path)
        node = doc
        for part in parents:
            node = node[part]
        del node[last]
    return mutate


def _split(pointer: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in pointer.lstrip("/").split("/")]


def _cell_series(doc: dict, lacking: int | None = None) -> None:
    cal = _cal(doc)
    cal["method"] = "cell_number"
    cal["independent_variable"] = "cell_count"
    cal["environment"] = {"kind": "cells", "medium": "HBSS"}
    for i, point in enumerate(cal["points"]):
        point.pop("iron_mass_ug")
        if i != lacking:
            point["cell_count"] = 12500 * 2 ** i


def _all(*mutations: Callable[[dict], None]) -> Callable[[dict], None]:
    def mutate(doc: dict) -> None:
        for mutation in mutations:
            mutation(doc)
    return mutate


P = "/calibrations/0/points/0"
R = P + "/replicates/0"
C = "/calibrations/0"

# (name, mutation, the findings check_document gives: (rule, pointer) in document order)
MUTATIONS: list[tuple[str, Callable[[dict], Any], list[tuple[str, str]]]] = [
    ("wrong enum", _set(C + "/method", "fixed_volum"), [("MPI002", C + "/method")]),
    ("negative volume", _set(P + "/volume_uL", -2.0), [("MPI002", P + "/volume_uL")]),
    ("zero volume", _set(P + "/volume_uL", 0), [("MPI002", P + "/volume_uL")]),
    ("volume as a string", _set(P + "/volume_uL", "2.0"), [("MPI002", P + "/volume_uL")]),
    ("metric as a boolean", _set(R + "/max_intensity", True), [("MPI002", R + "/max_intensity")]),
    ("null instead of omitting", _set(P + "/volume_uL", None), [("MPI002", P + "/volume_uL")]),
    ("missing title", _delete("/dataset/title"), [("MPI002", "/dataset")]),
    ("missing tracers", _delete("/tracers"), [("MPI002", "")]),
    ("no tracer", _set("/tracers", []), [("MPI002", "/tracers")]),
    ("missing replicates", _delete(P + "/replicates"), [("MPI002", P)]),
    ("extra key at the top", _set("/comment", "hello"), [("MPI002", "/comment")]),
    ("extra key in a replicate", _set(R + "/maximum", 3.0), [("MPI002", R + "/maximum")]),
    ("python name of x-mpistd-ignore", _set("/dataset/suppressions", []), [("MPI002", "/dataset/suppressions")]),
    ("fixed_volume without final_volume_uL", _set(C + "/method", "fixed_volume"), [("MPI002", C)]),
    ("cell_number against iron mass", _set(C + "/method", "cell_number"), [("MPI002", C + "/independent_variable")]),
    ("cell_count series with a point lacking cell_count", lambda d: _cell_series(d, lacking=2),
     [("MPI002", C + "/points/2")]),
    ("iron-mass series with a point lacking iron_mass_ug", _delete(P + "/iron_mass_ug"), [("MPI002", P)]),
    ("cell_count not an integer", _all(lambda d: _cell_series(d), _set(P + "/cell_count", 1.5)),
     [("MPI002", P + "/cell_count")]),
    ("unknown particle model kind", _set("/tracers/0/particle_model/kind", "sphere"),
     [("MPI002", "/tracers/0/particle_model/kind")]),
    ("particle model without kind", _delete("/tracers/0/particle_model/kind"),
     [("MPI002", "/tracers/0/particle_model")]),
    ("spherical core without diameter", _set("/tracers/0/particle_model", {"kind": "spherical_core"}),
     [("MPI002", "/tracers/0/particle_model")]),
    ("spherical core with the other branch's key", _set("/tracers/0/particle_model", {
        "kind": "spherical_core", "core_diameter_nm": 40.0, "iron_mass_per_particle_fg": 2500.0}),
     [("MPI002", "/tracers/0/particle_model/iron_mass_per_particle_fg")]),
    ("iron mass fraction above 1", _set("/tracers/0/particle_model", {
        "kind": "spherical_core", "core_diameter_nm": 40.0, "iron_mass_fraction": 1.5}),
     [("MPI002", "/tracers/0/particle_model/iron_mass_fraction")]),
    ("replicate with no metric", _set(R, {"fwhm_mm": 3.9}), [("MPI002", R)]),
    ("schema_version as a number", _set("/schema_version", 1.0), [("MPI002", "/schema_version")]),
    ("schema_version missing", _delete("/schema_version"), [("MPI002", "")]),
    ("unknown schema_version", _set("/schema_version", "2.0"), [("MPI003", "/schema_version")]),
    ("viability above 100 %", _set(C + "/environment/viability_percent", 101.0),
     [("MPI002", C + "/environment/viability_percent")]),
    ("negative labelling efficiency", _set(C + "/environment/labelling_efficiency_percent", {"mean": -1.0}),
     [("MPI002", C + "/environment/labelling_efficiency_percent/mean")]),
    ("bad sha256", _set(R + "/image", {"path": "x.npy", "sha256": "abc"}), [("MPI002", R + "/image/sha256")]),
    ("impossible date", _set("/dataset/created", "2026-02-30"), [("MPI002", "/dataset/created")]),
    ("basic-format date", _set("/dataset/created", "20261125"), [("MPI002", "/dataset/created")]),
    ("id with a space", _set("/tracers/0/id", "pro mag"), [("MPI002", "/tracers/0/id")]),
    ("id with a trailing newline", _set("/tracers/0/id", "promag\n"), [("MPI002", "/tracers/0/id")]),
    ("reported estimate empty", _set("/quantifications/0/reported", {}), [("MPI002", "/quantifications/0/reported")]),
    ("no signal", _set("/quantifications/0/signal", []), [("MPI002", "/quantifications/0/signal")]),
    ("signal not numbers", _set("/quantifications/0/signal", ["high"]), [("MPI002", "/quantifications/0/signal/0")]),
    ("lookup table missing", _set("/acquisitions/0/receiver_correction", {"method": "lookup_table"}),
     [("MPI002", "/acquisitions/0/receiver_correction")]),
    ("polynomial coefficients missing", _set("/acquisitions/0/receiver_correction", {"method": "polynomial"}),
     [("MPI002", "/acquisitions/0/receiver_correction")]),
    ("table row of three", _set("/acquisitions/0/receiver_correction", {
        "method": "lookup_table", "table": [[0, 0], [1, 1, 1]]}),
     [("MPI002", "/acquisitions/0/receiver_correction/table/1")]),
    ("threshold k zero", _set("/analysis/threshold/k", 0), [("MPI002", "/analysis/threshold/k")]),
    ("fwhm axis unknown", _set("/analysis/fwhm/axis", "w"), [("MPI002", "/analysis/fwhm/axis")]),
    ("suppression with a bad rule id", _set("/x-mpistd-ignore", [{"rule": "MPI30", "reason": "r"}]),
     [("MPI002", "/x-mpistd-ignore/0/rule")]),
    ("suppression with a blank reason", _set(C + "/x-mpistd-ignore", [{"rule": "MPI030", "reason": "  "}]),
     [("MPI002", C + "/x-mpistd-ignore/0/reason")]),
    ("suppressions not a list", _set(C + "/x-mpistd-ignore", {"rule": "MPI030"}), [("MPI002", C + "/x-mpistd-ignore")]),
    ("r_squared above 1", _set(C + "/fits/0/r_squared", 1.2), [("MPI002", C + "/fits/0/r_squared")]),
    ("fit without slope", _delete(C + "/fits/0/slope"), [("MPI002", C + "/fits/0")]),
    ("through_origin as a string", _set(C + "/fits/0/through_origin", "false"),
     [("MPI002", C + "/fits/0/through_origin")]),
    ("dimensionality upper case", _set("/acquisitions/0/dimensionality", "2D"),
     [("MPI002", "/acquisitions/0/dimensionality")]),
    ("zero pixel size", _set("/acquisitions/0/pixel_size_mm/x", 0.0), [("MPI002", "/acquisitions/0/pixel_size_mm/x")]),
    ("negative drive amplitude", _set("/acquisitions/0/drive_amplitude_mT/x", -1.0),
     [("MPI002", "/acquisitions/0/drive_amplitude_mT/x")]),
    ("empty sample id", _set(P + "/sample_id", ""), [("MPI002", P + "/sample_id")]),
    ("bad ORCID", _set("/dataset/authors/0/orcid", "1234"), [("MPI002", "/dataset/authors/0/orcid")]),
    ("negative iron mass", _set(P + "/iron_mass_ug", -0.1), [("MPI002", P + "/iron_mass_ug")]),
    ("analysis missing", _delete("/analysis"), [("MPI002", "")]),
    ("environment without kind", _set(C + "/environment", {"medium": "water"}), [("MPI002", C + "/environment")]),
    ("the document is a list", lambda d: [d], [("MPI002", "")]),
    ("three violations", _all(_set("/tracers/0/lot", 7), _set(P + "/volume_uL", -1.0), _delete("/dataset/id")),
     [("MPI002", "/dataset"), ("MPI002", "/tracers/0/lot"), ("MPI002", P + "/volume_uL")]),
]

# valid documents that differ from the base: both must accept them
VARIANTS: list[tuple[str, Callable[[dict], Any]]] = [
    ("extension keys everywhere", _all(_set("/x-lab", {"any": ["thing"]}), _set(R + "/x-operator", "EUH"),
                                      _set("/tracers/0/particle_model/x-source", "TEM"))),
    ("inline suppressions", _all(_set(C + "/x-mpistd-ignore", [{"rule": "MPI030", "reason": "kept on purpose"}]),
                                 _set(P + "/x-mpistd-ignore", [{"rule": "MPI012", "reason": "tube lost",
                                                                "x-ticket": 12}]))),
    ("spherical core with defaults", _set("/tracers/0/particle_model", {"kind": "spherical_core",
                                                                        "core_diameter_nm": 40.0})),
    ("cell-number series", lambda d: _cell_series(d)),
    ("integral float cell count", _all(lambda d: _cell_series(d), _set(P + "/cell_count", 1e5))),
    ("fixed volume series", _all(_set(C + "/method", "fixed_volume"), _set(C + "/final_volume_uL", 100.0))),
    ("receiver correction table", _set("/acquisitions/0/receiver_correction", {
        "images_corrected": False, "method": "lookup_table", "table": [[0, 0], [1000, 1000], [2000, 2600]]})),
    ("raw images without correction", _set("/acquisitions/0/receiver_correction", {"images_corrected": False})),
    ("image reference", _set(R + "/image", {"path": "images/FC 1..r1.npy", "format": "npy", "sha256": "a" * 64,
                                            "pixel_size_mm": {"x": 0.25, "z": 0.25}})),
    ("empty analysis", _set("/analysis", {})),
    ("minimal dataset info", _set("/dataset", {"id": "d", "title": "t"})),
    ("blank level", _all(_set(P + "/iron_mass_ug", 0.0), _set(P + "/concentration_ug_per_uL", 0.0))),
    ("cell estimate", _set("/quantifications/0/reported", {"cell_count": 50000})),
    ("doi link and orcid url", _all(_set("/dataset/doi", "https://doi.org/10.1039/d5nr03025k"),
                                    _set("/dataset/authors/0/orcid", "https://orcid.org/0000-0002-1825-0097"))),
    ("no quantifications", _delete("/quantifications")),
]


def _mutated(mutation: Callable[[dict], Any]) -> Any:
    doc = base()
    result = mutation(doc)
    return doc if result is None else result


def test_there_are_enough_mutations():
    assert len(MUTATIONS) >= 25
    assert len({name for name, _, _ in MUTATIONS}) == len(MUTATIONS)


def test_base_document_passes_schema_and_model():
    doc = base()
    assert list(validator("1.0").iter_errors(doc)) == []
    assert fast_is_valid(doc)
    assert check_document(doc) == []
    parsed = m.parse_dataset(doc)
    assert parsed.model_dump(by_alias=True, exclude_unset=True) == doc


@pytest.mark.parametrize("name, mutation", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_valid_variants_pass_schema_and_model(name, mutation):
    doc = _mutated(mutation)
    assert check_document(doc) == []
    assert fast_is_valid(doc)
    assert validator("1.0").is_valid(doc)
    parsed = m.parse_dataset(doc)
    assert parsed.model_dump(by_alias=True, exclude_unset=True) == doc


@pytest.mark.parametrize("name, mutation, expected", MUTATIONS, ids=[v[0] for v in MUTATIONS])
def test_invalid_mutations_fail_schema_and_model(name, mutation, expected):
    doc = _mutated(mutation)
    assert not fast_is_valid(doc)
    assert not validator("1.0").is_valid(doc)
    problems = check_document(doc)
    assert [(p.rule, p.pointer) for p in problems] == expected
    with pytest.raises(pydantic.ValidationError):
        m.parse_dataset(doc)


# =========================================================================== conveniences
def test_extensions_and_suppressions_are_accessible():
    doc = _mutated(VARIANTS[0][1])
    doc["calibrations"][0]["x-mpistd-ignore"] = [{"rule": "MPI030", "reason": "kept on purpose"}]
    parsed = m.parse_dataset(doc)
    assert parsed.extensions == {"x-lab": {"any": ["thing"]}}
    assert parsed.calibrations[0].points[0].replicates[0].extensions == {"x-operator": "EUH"}
    assert parsed.tracers[0].particle_model.extensions == {"x-source": "TEM"}
    assert parsed.calibrations[0].suppressions == [m.Suppression(rule="MPI030", reason="kept on purpose")]
    assert parsed.suppressions == []


def test_defaults_follow_the_standard():
    parsed = m.parse_dataset(_mutated(_all(
        _set("/analysis", {"threshold": {}, "roi": {}, "fwhm": {}, "interparticle_distance": {}}),
        _set("/tracers/0/particle_model", {"kind": "spherical_core", "core_diameter_nm": 40.0}),
        _set("/acquisitions/0/receiver_correction", {}),
        _set(C + "/fits", [{"metric": "max_intensity", "slope": 1.0}]),
    )))
    analysis = parsed.analysis
    assert (analysis.threshold.rule, analysis.threshold.k) == ("k_sd", 5)
    assert analysis.roi.method == "threshold_all"
    assert (analysis.fwhm.axis, analysis.fwhm.model) == ("x", "lorentzian")
    assert analysis.interparticle_distance.estimator == "wigner_seitz"
    core = parsed.tracers[0].particle_model
    assert isinstance(core, m.SphericalCore)
    assert (core.density_g_per_cm3, core.iron_mass_fraction) == (5.17, 0.724)
    assert parsed.acquisitions[0].receiver_correction.images_corrected is True
    fit = parsed.calibrations[0].fits[0]
    assert (fit.model, fit.through_origin, fit.weighting, fit.fitted_to) == ("linear", False, "none", "replicates")
    assert "k" not in analysis.threshold.model_fields_set  # a rule can still tell "not reported"


def test_lookups_by_id():
    doc = base()
    extra = copy.deepcopy(doc["tracers"][0])
    extra["id"] = "vivotrax"
    doc["tracers"].append(extra)
    parsed = m.parse_dataset(doc)
    assert list(parsed.tracer_by_id) == ["promag", "vivotrax"]
    assert parsed.tracer_by_id["vivotrax"] is parsed.tracers[1]
    assert parsed.acquisition_by_id["hs-2d"] is parsed.acquisitions[0]
    assert parsed.calibration_by_id["promag-fc"] is parsed.calibrations[0]


def test_metrics_present_in_every_replicate():
    doc = base()
    assert m.parse_dataset(doc).calibrations[0].metrics_present() == ("max_intensity", "total_intensity")
    del doc["calibrations"][0]["points"][4]["replicates"][1]["total_intensity"]
    assert m.parse_dataset(doc).calibrations[0].metrics_present() == ("max_intensity",)


def test_point_concentration_reported_or_derived():
    doc = base()
    point = doc["calibrations"][0]["points"][1]
    parsed = m.parse_dataset(doc).calibrations[0].points[1]
    assert parsed.concentration() == point["concentration_ug_per_uL"]
    del point["concentration_ug_per_uL"]
    assert m.parse_dataset(doc).calibrations[0].points[1].concentration() == pytest.approx(6.2 / 4.0)
    del point["volume_uL"]
    derived = m.parse_dataset(doc).calibrations[0].points[1]
    assert derived.concentration() is None
    assert derived.concentration(final_volume_uL=100.0) == pytest.approx(0.062)


def test_particle_model_iron_mass():
    core = m.SphericalCore(kind="spherical_core", core_diameter_nm=10.0)
    # 5.17 g/cm3 · π/6 · (1e-6 cm)^3 · 0.724 = 1.96e-18 g = 1.96e-12 µg
    assert core.iron_mass_per_particle_ug() == pytest.approx(5.17 * 3.141592653589793 / 6 * 1e-18 * 0.724 * 1e6)
    given = m.IronMassPerParticle(kind="iron_mass_per_particle", iron_mass_per_particle_fg=2500.0)
    assert given.iron_mass_per_particle_ug() == pytest.approx(2.5e-6)


# =========================================================================== random agreement
_VALUES = [None, True, 0, -1, 1.5, 1e5, 101, "", " ", "1.0", "../a", "a/b.npy", "MPI030", "2026-01-01", "cells",
           "cell_count", "iron_mass_ug", "fixed_volume", "cell_number", "lookup_table", "polynomial", "spherical_core",
           "max_intensity", "promag", "hs-2d", [], [1], [[0, 0], [1, 1]], {}, {"kind": "spherical_core"},
           [{"rule": "MPI010", "reason": "r"}]]
_KEYS = ["x-foo", "foo", "method", "independent_variable", "final_volume_uL", "cell_count", "iron_mass_ug", "kind",
         "x-mpistd-ignore", "table", "coefficients", "images_corrected", "max_intensity", "path", "core_diameter_nm"]


def _random_mutation(doc: dict, rnd) -> None:
    """Set, add or delete something somewhere in the document."""
    nodes: list[tuple[tuple, Any]] = []
    stack: list[tuple[tuple, Any]] = [((), doc)]
    while stack:
        path, node = stack.pop()
        nodes.append((path, node))
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        stack.extend((path + (k,), v) for k, v in children)
    path, node = rnd.choice(nodes)
    value = copy.deepcopy(rnd.choice(_VALUES))
    if isinstance(node, dict) and rnd.random() < 0.5:
        node[rnd.choice(_KEYS + list(node))] = value
    elif isinstance(node, (dict, list)) and node and rnd.random() < 0.5:
        del node[rnd.choice(list(node)) if isinstance(node, dict) else rnd.randrange(len(node))]
    elif path:
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = value


def test_random_mutations_get_the_same_verdict_from_schema_fast_validator_and_model():
    import random

    rnd = random.Random(20251125)
    verdicts = {True: 0, False: 0}
    for _ in range(300):
        doc = base()
        for _ in range(rnd.randint(1, 3)):
            _random_mutation(doc, rnd)
        schema_ok = validator("1.0").is_valid(doc)
        assert fast_is_valid(doc) is schema_ok
        assert (check_document(doc) == []) is schema_ok
        try:
            m.parse_dataset(doc)
            model_ok = True
        except pydantic.ValidationError:
            model_ok = False
        assert model_ok is schema_ok, check_document(doc)[:3]
        verdicts[schema_ok] += 1
    assert min(verdicts.values()) > 20  # both verdicts were exercised
