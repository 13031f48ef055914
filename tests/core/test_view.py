"""The pipeline's plain typed view (mpistd.standard.view) is the pydantic model, without pydantic.

The view checks nothing: it stands in for the model only for a document read by the loader
(JSON values only) that has passed the schema. Two kinds of evidence that it then gives what
``parse_dataset`` gives:
- structure: each view class's field table against the pydantic class of the same name: the
  same fields in the same order, the same JSON keys, the same defaults (value and type) and the
  same kind of value (a float for ``number``, an int for ``integer``, the same nested class);
- behaviour: on every reference document, on the benchmark tree's datasets and on random valid
  mutations, every field of every object has the same value and type, the same extensions,
  suppressions and fields set, and the methods give the same answers.
"""
from __future__ import annotations

import copy
import importlib.util
import inspect
import json
import random
import sys
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pydantic
import pytest
from pydantic import BaseModel

from mpistd.load.documents import DocumentError, parse_bytes
from mpistd.standard import model as m
from mpistd.standard import view as v
from mpistd.standard.schema import check_document

ROOT = Path(__file__).resolve().parents[2]


# =========================================================================== structure
def _model_classes() -> dict[str, type[BaseModel]]:
    return {
        name: obj for name, obj in inspect.getmembers(m, inspect.isclass)
        if issubclass(obj, BaseModel) and obj.__module__ == m.__name__ and not name.startswith("_")
    }


def _bare(annotation: Any) -> Any:
    """Strip Optional and Annotated."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return tuple(_bare(a) for a in args)  # the particle model's discriminated union
            annotation = args[0]
        else:
            return annotation


def _expected_kind(annotation: Any) -> Any:
    """What the view must do with a value of this model annotation."""
    bare = _bare(annotation)
    if isinstance(bare, tuple):
        return ("union", tuple(sorted(c.__name__ for c in bare)))
    if get_origin(bare) is list:
        item = _expected_kind(get_args(bare)[0])
        return ("list", item)
    if bare is float:
        return "float"
    if bare is int:
        return "int"
    if bare in (str, bool) or get_origin(bare) is Literal:
        return "as is"
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return ("object", bare.__name__)
    raise AssertionError(f"an annotation the view does not know: {annotation!r}")


def _view_kind(conv: Any) -> Any:
    if conv is None:
        return "as is"
    if conv is float:
        return "float"
    if conv is v._integral:
        return "int"
    if conv is v._floats:
        return ("list", "float")
    if conv is v._float_pairs:
        return ("list", ("list", "float"))
    if conv is v._integrals:
        return ("list", "int")
    if conv is v._strings:
        return ("list", "as is")
    if conv is v._particle_model:
        return ("union", ("IronMassPerParticle", "SphericalCore"))
    if isinstance(conv, v._Many):
        return ("list", ("object", conv.cls.__name__))
    if inspect.ismethod(conv) and isinstance(conv.__self__, type) and issubclass(conv.__self__, v._View):
        return ("object", conv.__self__.__name__)
    raise AssertionError(f"an unknown converter {conv!r}")


def test_every_model_class_has_a_view_class_and_the_reverse():
    assert sorted(_model_classes()) == sorted(c.__name__ for c in v.VIEW_CLASSES)
    assert all(getattr(v, c.__name__) is c for c in v.VIEW_CLASSES)


@pytest.mark.parametrize("name", sorted(_model_classes()))
def test_the_field_table_is_the_model_class(name):
    model_cls = _model_classes()[name]
    view_cls = getattr(v, name)
    fields = model_cls.model_fields
    assert [attr for attr, *_ in view_cls.FIELDS] == list(fields), "the same fields in the same order"
    for attr, key, conv, default in view_cls.FIELDS:
        info = fields[attr]
        assert key == (info.alias or attr), attr
        assert _view_kind(conv) == _expected_kind(info.annotation), attr
        if info.is_required():
            continue
        if info.default_factory is not None:
            assert attr == "suppressions" and info.default_factory() == [], attr  # built as a new list each time
            continue
        assert type(default) is type(info.default) and default == info.default, attr


def test_a_field_the_model_gains_fails_the_table_test():
    """The structure test can fail: a model class with one more field than its view is told."""
    class Extra(m.Software):
        licence: str | None = None

    assert [attr for attr, *_ in v.Software.FIELDS] != list(Extra.model_fields)


# =========================================================================== behaviour
def _same(mine: Any, theirs: Any, pointer: str = "") -> list[str]:
    """Where a view object differs from the pydantic object (values, types, classes)."""
    if isinstance(theirs, BaseModel):
        if type(mine).__name__ != type(theirs).__name__:
            return [f"{pointer}: class {type(mine).__name__} != {type(theirs).__name__}"]
        out = []
        for attr in type(theirs).model_fields:
            out += _same(getattr(mine, attr), getattr(theirs, attr), f"{pointer}/{attr}")
        if mine.model_extra != (theirs.model_extra or {}) or mine.extensions != theirs.extensions:
            out.append(f"{pointer}: extensions {mine.model_extra!r} != {theirs.model_extra!r}")
        if mine.model_fields_set != theirs.model_fields_set:
            out.append(f"{pointer}: fields set {mine.model_fields_set} != {theirs.model_fields_set}")
        if mine.model_dump(exclude_none=True) != theirs.model_dump(exclude_none=True):
            out.append(f"{pointer}: model_dump differs")
        return out
    if isinstance(theirs, list):
        if type(mine) is not list or len(mine) != len(theirs):
            return [f"{pointer}: {mine!r} != {theirs!r}"]
        return [d for i, (a, b) in enumerate(zip(mine, theirs)) for d in _same(a, b, f"{pointer}/{i}")]
    if type(mine) is not type(theirs) or mine != theirs:
        return [f"{pointer}: {mine!r} ({type(mine).__name__}) != {theirs!r} ({type(theirs).__name__})"]
    return []


def _same_answers(mine: Any, theirs: Any) -> list[str]:
    """The methods give the same answers (value and type)."""
    out = []

    def check(what: str, a: Any, b: Any) -> None:
        if type(a) is not type(b) or a != b:
            out.append(f"{what}: {a!r} != {b!r}")

    for i, (a, b) in enumerate(zip(mine.calibrations, theirs.calibrations)):
        check(f"calibration {i} metrics_present", a.metrics_present(), b.metrics_present())
        check(f"calibration {i} concentrations", a.concentrations(), b.concentrations())
        for metric in m.METRICS:
            ba, bb = a.blank_for(metric), b.blank_for(metric)
            check(f"calibration {i} blank_for {metric}", ba is None, bb is None)
            if ba is not None:
                check(f"calibration {i} blank variance", ba.variance(), bb.variance())
                check(f"calibration {i} blank mean", ba.mean(), bb.mean())
        for p, q in zip(a.points, b.points):
            check(f"calibration {i} concentration(7.5)", p.concentration(7.5), q.concentration(7.5))
            for r, s in zip(p.replicates, q.replicates):
                for metric in m.METRICS + ("roi_area_mm2",):
                    check(f"calibration {i} metric {metric}", r.metric(metric), s.metric(metric))
    for a, b in zip(mine.tracers, theirs.tracers):
        if b.particle_model is not None:
            check(f"tracer {b.id} iron mass", a.particle_model.iron_mass_per_particle_ug(),
                  b.particle_model.iron_mass_per_particle_ug())
    check("tracer_by_id", sorted(mine.tracer_by_id), sorted(theirs.tracer_by_id))
    check("calibration_by_id", [c.id for c in mine.calibration_by_id.values()],
          [c.id for c in theirs.calibration_by_id.values()])
    check("acquisition_by_id", sorted(mine.acquisition_by_id), sorted(theirs.acquisition_by_id))
    return out


def _compare(doc: dict) -> list[str]:
    assert check_document(doc) == [], "the view is promised for schema-valid documents only"
    mine, theirs = v.view_dataset(doc), m.parse_dataset(doc)
    return _same(mine, theirs) + _same_answers(mine, theirs)


def _reference_documents() -> list[tuple[str, dict]]:
    """Every reference document (JSON and YAML) the loader reads and the schema accepts."""
    out = []
    for path in sorted((ROOT / "reference_data").rglob("*.mpical.*")):
        if path.suffix not in (".json", ".yaml", ".yml"):
            continue
        try:
            data = parse_bytes(path.read_bytes(), kind="yaml" if path.suffix != ".json" else "json").data
        except DocumentError:
            continue
        if isinstance(data, dict) and not check_document(data):
            out.append((str(path.relative_to(ROOT)), data))
    return out


REFERENCES = _reference_documents()


def test_there_are_enough_reference_documents():
    assert len(REFERENCES) > 50
    assert any(name.endswith((".yaml", ".yml")) for name, _ in REFERENCES)


@pytest.mark.parametrize("name,doc", REFERENCES, ids=[name for name, _ in REFERENCES])
def test_the_view_of_each_reference_document_is_the_model(name, doc):
    assert _compare(doc) == []


def test_the_view_of_benchmark_tree_datasets_is_the_model():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from _tree import dataset
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    for seed in range(3):
        doc = parse_bytes(json.dumps(dataset(seed), indent=2).encode()).data
        assert _compare(doc) == []


def _load_base():
    spec = importlib.util.spec_from_file_location("_mpistd_conformance_base", ROOT / "reference_data/conformance/base.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.base


def test_the_view_keeps_defaults_types_extensions_and_suppressions():
    """Hand-made: the values the model's conversions and defaults give, checked by name."""
    doc = _load_base()()
    doc["analysis"] = {"threshold": {}, "roi": {}, "fwhm": {"axis": "y"}}
    point = doc["calibrations"][0]["points"][0]
    point["iron_mass_ug"] = 3  # an integral number: a float field reads 3.0
    point["cell_count"] = 1e5  # an integer written as a float: an int field reads 100000
    point["x-note"] = {"lab": [1, None]}
    point["x-mpistd-ignore"] = [{"rule": "MPI030", "reason": "known", "x-by": "me"}]
    doc["calibrations"][0]["points"][1]["replicates"][0]["x-raw"] = 7
    assert check_document(doc) == []
    view = v.view_dataset(doc)
    p = view.calibrations[0].points[0]
    assert p.iron_mass_ug == 3.0 and type(p.iron_mass_ug) is float
    assert p.cell_count == 100000 and type(p.cell_count) is int
    assert p.extensions == {"x-note": {"lab": [1, None]}}
    assert [(s.rule, s.reason, s.extensions) for s in p.suppressions] == [("MPI030", "known", {"x-by": "me"})]
    assert "suppressions" in p.model_fields_set and "volume_uL" in p.model_fields_set
    assert view.calibrations[0].points[1].replicates[0].extensions == {"x-raw": 7}
    assert view.calibrations[0].points[1].suppressions == []
    threshold = view.analysis.threshold
    assert (threshold.rule, threshold.k, type(threshold.k)) == ("k_sd", 5, int)  # the model's unconverted default
    assert (view.analysis.roi.method, view.analysis.fwhm.axis, view.analysis.fwhm.model) == (
        "threshold_all", "y", "lorentzian")
    assert view.analysis.noise is None
    assert threshold.model_fields_set == set()
    assert _compare(doc) == []


def test_random_valid_mutations_give_the_model():
    """The schema-valid outcomes of test_model's random mutations (the same generator)."""
    from tests.core.test_model import _random_mutation

    rnd = random.Random(20251202)
    base = _load_base()
    compared = 0
    for _ in range(300):
        doc = base()
        for _ in range(rnd.randint(1, 3)):
            _random_mutation(doc, rnd)
        doc = json.loads(json.dumps(doc))  # as the loader would give it
        if check_document(doc):
            continue
        assert _compare(doc) == [], doc
        compared += 1
    assert compared > 20


def test_a_view_differs_where_the_document_differs():
    """The comparison can fail: one changed value is found."""
    doc = _load_base()()
    other = copy.deepcopy(doc)
    other["calibrations"][0]["points"][0]["replicates"][0]["max_intensity"] += 1.0
    assert _same(v.view_dataset(other), m.parse_dataset(doc)) != []
    assert v.view_dataset(other) != v.view_dataset(doc)
    assert v.view_dataset(copy.deepcopy(doc)) == v.view_dataset(doc)


def test_the_pipeline_gives_the_same_result_for_a_file_and_its_mapping(tmp_path):
    """A file goes through the view, the same document as a mapping through the pydantic model."""
    from mpistd.config import Options
    from mpistd.pipeline import validate_file, validate_mapping

    data = parse_bytes((ROOT / "reference_data/conformance/clean.mpical.json").read_bytes()).data
    source = tmp_path / "d.mpical.json"
    source.write_text(json.dumps(data, indent=1))  # as a mapping is written for its positions
    by_file = validate_file(source, Options(), display="d")
    by_mapping = validate_mapping(data, tmp_path, Options(), display="d")
    assert by_file.findings == by_mapping.findings
    assert by_file.quantities == by_mapping.quantities and by_file.quantities
    assert by_file.repository == by_mapping.repository


def test_pydantic_is_not_needed_to_validate_a_file():
    """The start-up promise: `mpistd validate FILE` loads no pydantic model machinery."""
    import subprocess

    code = ("import sys; from mpistd.cli import main; sys.argv = ['mpistd', 'validate', "
            f"{str(ROOT / 'reference_data/conformance/clean.mpical.json')!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(k for k in sys.modules if k.startswith('pydantic')))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]", run.stdout


def test_an_object_without_suppressions_has_its_own_list_as_the_model_gives_it():
    """The view makes the empty list on first access (the pipeline never asks): it is still each
    object's own, and kept, as the model's default_factory gives it."""
    doc = _load_base()()
    view, model = v.view_dataset(doc), m.parse_dataset(doc)
    a, b = view.calibrations[0].points[0].replicates[:2]
    assert a.suppressions == [] and type(a.suppressions) is list and a.suppressions is a.suppressions
    assert a.suppressions is not b.suppressions
    a.suppressions.append("kept")
    assert a.suppressions == ["kept"] and b.suppressions == []
    mine, theirs = view.calibrations[0].points[1], model.calibrations[0].points[1]
    assert mine.model_dump() == theirs.model_dump() and "suppressions" in mine.model_dump()
