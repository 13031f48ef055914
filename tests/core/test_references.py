"""Identity and references (MPI004): duplicated ids, duplicated sample ids, dangling references."""
from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

from mpistd.standard.references import ReferenceProblem, check_references
from mpistd.standard.schema import check_document

ROOT = Path(__file__).resolve().parents[2]


def _load_base():
    spec = importlib.util.spec_from_file_location("_mpistd_conformance_base", ROOT / "reference_data/conformance/base.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.base


base = _load_base()


def _second(doc: dict, key: str, new_id: str) -> dict:
    """Append a copy of the first item of ``doc[key]`` under ``new_id``."""
    item = copy.deepcopy(doc[key][0])
    item["id"] = new_id
    doc[key].append(item)
    return item


def test_the_clean_base_has_no_reference_problem():
    assert check_references(base()) == []


def test_a_duplicated_id_points_at_the_second_one():
    doc = base()
    _second(doc, "tracers", "promag")
    _second(doc, "acquisitions", "hs-2d")
    _second(doc, "calibrations", "promag-fc")
    _second(doc, "quantifications", "sample-A")
    assert check_document(doc) == []  # valid against the schema: ids are not the schema's business
    problems = check_references(doc)
    assert [p.pointer for p in problems] == [
        "/tracers/1/id", "/acquisitions/1/id", "/calibrations/1/id", "/quantifications/1/id"]
    assert problems[0].message.startswith("duplicate tracer id 'promag': /tracers/0 already has it")


def test_an_id_used_three_times_gives_two_findings():
    doc = base()
    _second(doc, "tracers", "promag")
    _second(doc, "tracers", "promag")
    assert [p.pointer for p in check_references(doc)] == ["/tracers/1/id", "/tracers/2/id"]


def test_equal_ids_in_different_lists_are_fine():
    doc = base()
    doc["tracers"][0]["id"] = "same"
    doc["acquisitions"][0]["id"] = "same"
    doc["calibrations"][0].update(tracer="same", acquisition="same")
    doc["quantifications"][0].update(tracer="same", acquisition="same")
    assert check_references(doc) == []


def test_a_duplicated_sample_id_within_a_calibration():
    doc = base()
    doc["calibrations"][0]["points"][4]["sample_id"] = "FC-2"
    assert check_references(doc) == [ReferenceProblem(
        "/calibrations/0/points/4/sample_id",
        "duplicate sample_id 'FC-2' in calibration 'promag-fc': point 1 already has it "
        "(sample ids must be unique within a calibration)")]


def test_sample_ids_may_repeat_across_calibrations():
    doc = base()
    _second(doc, "calibrations", "promag-fc-2")
    assert check_references(doc) == []


def test_dangling_references_point_at_the_referencing_field_and_list_what_exists():
    doc = base()
    doc["calibrations"][0]["tracer"] = "vivotrax"
    doc["calibrations"][0]["acquisition"] = "hr-2d"
    doc["quantifications"][0]["tracer"] = "vivotrax"
    doc["quantifications"][0]["acquisition"] = "hr-2d"
    doc["quantifications"][0]["calibration"] = "vivotrax-fc"
    problems = check_references(doc)
    assert [p.pointer for p in problems] == [
        "/calibrations/0/tracer", "/calibrations/0/acquisition",
        "/quantifications/0/tracer", "/quantifications/0/acquisition", "/quantifications/0/calibration"]
    assert problems[0].message == (
        "calibration 'promag-fc' names tracer 'vivotrax', which does not exist (tracers: 'promag')")
    assert problems[4].message == (
        "quantification 'sample-A' names calibration 'vivotrax-fc', which does not exist "
        "(calibrations: 'promag-fc')")


def test_the_listing_of_available_ids_is_short():
    doc = base()
    for i in range(12):
        _second(doc, "tracers", f"t{i:02d}")
    doc["calibrations"][0]["tracer"] = "nope"
    [problem] = check_references(doc)
    assert problem.message.endswith("(tracers: 'promag', 't00', 't01', 't02', 't03' and 8 more)")


def test_paired_with_must_name_another_calibration():
    doc = base()
    partner = _second(doc, "calibrations", "promag-fv")
    partner.update(method="fixed_volume", final_volume_uL=100.0, paired_with="promag-fc")
    assert check_references(doc) == []
    partner["paired_with"] = "promag-fv"
    assert check_references(doc) == [ReferenceProblem(
        "/calibrations/1/paired_with",
        "calibration 'promag-fv' is paired_with itself: paired_with names the other series "
        "(the fixed_concentration series this one was diluted from)")]
    partner["paired_with"] = "promag-fcx"
    assert check_references(doc) == [ReferenceProblem(
        "/calibrations/1/paired_with",
        "calibration 'promag-fv' is paired_with 'promag-fcx', which does not exist "
        "(other calibrations: 'promag-fc')")]


def test_a_lone_calibration_paired_with_a_missing_one():
    doc = base()
    doc["calibrations"][0]["paired_with"] = "gone"
    [problem] = check_references(doc)
    assert problem.message.endswith("(there are no other calibrations)")


def test_findings_come_in_document_order():
    doc = base()
    _second(doc, "tracers", "promag")
    doc["quantifications"][0]["calibration"] = "nope"
    doc["calibrations"][0]["points"][2]["sample_id"] = "FC-1"
    doc["calibrations"][0]["acquisition"] = "nope"
    assert [p.pointer for p in check_references(doc)] == [
        "/tracers/1/id", "/calibrations/0/acquisition", "/calibrations/0/points/2/sample_id",
        "/quantifications/0/calibration"]


def test_many_objects_stay_quick():
    doc = base()
    tracer = doc["tracers"][0]
    doc["tracers"] = [dict(tracer, id=f"t{i}") for i in range(5000)]
    doc["calibrations"] = [dict(doc["calibrations"][0], id=f"c{i}", tracer=f"x{i}") for i in range(5000)]
    doc.pop("quantifications")
    problems = check_references(doc)
    assert len(problems) == 5000
    assert problems[0].message.endswith("and 4995 more)")
