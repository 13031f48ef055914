"""Generated docs: deterministic, complete (every rule, every schema file), links resolve."""
from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from mpistd.findings import Severity
from mpistd.rules.registry import Rule, all_rules
from mpistd.tools.docs import build_docs, rules_json, rules_markdown, rules_text, write_docs
from mpistd.tools.template import template_yaml

ROOT = Path(__file__).resolve().parents[2]

RULES = [
    Rule("MPI030", Severity.WARNING, "dilution confounding", "Concentration | distance vary.", "Use fixed "
         "concentration.", "dilution", "the calibration", sources=("paper, section 3",)),
    Rule("MPI001", Severity.ERROR, "document cannot be read", "Unreadable.", "Fix the syntax.", "structure", '""'),
]

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://mpistd.org/schema/1.0/thing.schema.json",
    "title": "Thing",
    "type": "object",
    "required": ["id", "volume_uL"],
    "properties": {
        "id": {"$ref": "common.schema.json#/$defs/id", "description": "the id"},
        "volume_uL": {"type": "number", "exclusiveMinimum": 0, "description": "volume", "examples": [2.0]},
        "kind": {"enum": ["a", "b|c"], "default": "a"},
        "holder": {"type": "object", "properties": {"position": {"type": "string"}}},
        "parts": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/part"}},
    },
    "additionalProperties": False,
    "allOf": [{"if": {"properties": {"kind": {"const": "b|c"}}, "required": ["kind"]},
               "then": {"required": ["parts"]}}],
    "$defs": {"part": {"type": "object", "properties": {"mass_ug": {"type": "number", "minimum": 0}}}},
}
COMMON = {"$id": "https://mpistd.org/schema/1.0/common.schema.json", "title": "Common",
          "$defs": {"id": {"type": "string", "description": "an identifier"}}}


def _anchors_and_links(markdown: str) -> tuple[set[str], set[str]]:
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', markdown))
    links = set(re.findall(r"\]\(#([^)]+)\)", markdown))
    return anchors, links


def test_build_docs_is_deterministic_and_complete() -> None:
    first, second = build_docs(), build_docs()
    assert first == second
    assert set(first) == {"standard.md", "rules.md"}
    rules_md = first["rules.md"]
    for r in all_rules():
        assert f'<a id="{r.id.lower()}"></a>' in rules_md
        assert f"### {r.id}: " in rules_md
    standard = first["standard.md"]
    for path in sorted((ROOT / "schemas" / "1.0").glob("*.json")):
        assert f"`{path.name}`" in standard
    anchors, links = _anchors_and_links(standard)
    assert links <= anchors, sorted(links - anchors)


def test_standard_from_a_schema_folder(tmp_path: Path) -> None:
    (tmp_path / "thing.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    (tmp_path / "common.schema.json").write_text(json.dumps(COMMON), encoding="utf-8")
    md = build_docs(schema_dir=tmp_path, rules=RULES)["standard.md"]
    assert "| `volume_uL` | number, > 0 | yes | µL | volume | `2.0` |" in md
    assert "| `id` | string ([id](#common-id)) | yes |  | the id |  |" in md
    assert '`"a"` \\| `"b\\|c"`' in md  # pipes escaped inside table cells
    assert "| `holder` | [object](#thing-holder) |" in md and '<a id="thing-holder"></a>' in md
    assert "array (at least 1) of [part](#thing-part)" in md
    assert "| `mass_ug` | number, ≥ 0 |  | µg |" in md
    assert '- when `kind` is `"b\\|c"`: `parts` required' in md
    assert "- closed: keys not listed above are an error" in md
    anchors, links = _anchors_and_links(md)
    assert links <= anchors

    # a schema file appearing later is picked up without any code change
    (tmp_path / "zeta.schema.json").write_text(json.dumps({"title": "Zeta", "type": "object",
                                                           "properties": {"drive_frequency_kHz": {"type": "number"}}}))
    md2 = build_docs(schema_dir=tmp_path, rules=RULES)["standard.md"]
    assert "`zeta.schema.json`" in md2 and "| `drive_frequency_kHz` | number |  | kHz |" in md2


def test_rules_formats() -> None:
    md = rules_markdown(RULES)
    assert md.index("[MPI001]") < md.index("[MPI030]")  # sorted by id
    assert "| [MPI030](#mpi030) | warning | dilution | dilution confounding | the calibration |" in md
    assert "**Why.** Concentration | distance vary." in md  # sections are not tables: no escaping
    assert "(cannot be silenced or re-levelled)" in md.split("### MPI001")[1].split("###")[0]
    assert md.index("## Structure rules") < md.index("## Dilution rules")  # pipeline order

    text = rules_text(RULES)
    assert text.splitlines()[0].split() == ["MPI001", "error", "structure", "document", "cannot", "be", "read"]
    assert "why: Concentration" in rules_text(RULES, verbose=True)

    data = json.loads(rules_json(RULES))
    assert [d["id"] for d in data] == ["MPI001", "MPI030"]
    assert data[0]["suppressible"] is False and data[1]["suppressible"] is True
    assert data[1]["sources"] == ["paper, section 3"]


def test_write_docs_check_mode(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "thing.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    out = tmp_path / "docs"
    options = {"schema_dir": schemas, "rules": RULES}
    assert write_docs(out, check=True, **options) == ["rules.md", "standard.md"]
    assert not out.exists()  # check mode writes nothing
    assert write_docs(out, **options) == ["rules.md", "standard.md"]
    assert write_docs(out, check=True, **options) == []
    (out / "rules.md").write_text("stale\n", encoding="utf-8")
    (out / "ci.md").write_text("hand-written\n", encoding="utf-8")
    assert write_docs(out, check=True, **options) == ["rules.md"]
    assert write_docs(out, **options) == ["rules.md"]
    assert (out / "ci.md").read_text(encoding="utf-8") == "hand-written\n"  # never touched


def test_template_parses_into_a_standard_document() -> None:
    doc = yaml.safe_load(template_yaml())
    # the FILL IN placeholders are null on purpose (tests/ecosystem/test_smaller.py); filled, it is valid
    doc["dataset"]["description"] = "filled in"
    doc["dataset"]["authors"][0]["name"] = "A. Author"
    assert doc["schema_version"] == "1.0"  # a string, not the float 1.0
    assert isinstance(doc["dataset"]["created"], str)
    assert list(doc) == ["schema_version", "dataset", "tracers", "acquisitions", "analysis", "calibrations",
                         "quantifications"]
    points = doc["calibrations"][0]["points"]
    assert len(points) >= 5 and all(len(p["replicates"]) >= 3 for p in points)
    schema_dir = ROOT / "schemas" / "1.0"
    if (schema_dir / "dataset.schema.json").exists():
        import jsonschema
        from referencing import Registry, Resource

        resources = [Resource.from_contents(json.loads(p.read_text(encoding="utf-8"))) for p in schema_dir.glob("*.json")]
        registry = Registry().with_resources((r.id(), r) for r in resources if r.id())
        schema = json.loads((schema_dir / "dataset.schema.json").read_text(encoding="utf-8"))
        errors = list(jsonschema.Draft202012Validator(schema, registry=registry).iter_errors(doc))
        assert not errors, [f"{e.json_path}: {e.message}" for e in errors]
