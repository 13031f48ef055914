"""The standard's versions: 1.1 only adds to 1.0 (CONTRIBUTING.md, "How schema versions evolve").

Two guards. Structurally, every 1.1 schema is its 1.0 file with optional additions only (new
properties that are not required, fewer required ones, new conditionals that only test new
properties). Behaviourally, every 1.0 document bundled under reference_data/ gets the same
structural verdict, pointer for pointer, when it declares "1.1" instead.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from mpistd.standard.schema import LATEST_VERSION, SUPPORTED_VERSIONS, check_document, load_schemas, schema_uri

ROOT = Path(__file__).resolve().parents[2]
_TEXT = {"$id", "title", "description", "examples", "$comment"}


def _tested_properties(condition: Any) -> set[str]:
    if not isinstance(condition, dict):
        return set()
    names = set(condition.get("required", [])) | set(condition.get("properties", {}))
    for key in ("allOf", "anyOf", "oneOf"):
        for part in condition.get(key, []):
            names |= _tested_properties(part)
    return names | _tested_properties(condition.get("not"))


def _compatible(old: Any, new: Any, where: str, old_props: set[str], problems: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key, value in old.items():
            if key in _TEXT:
                continue
            if key not in new:
                if key != "required":
                    problems.append(f"{where}: 1.1 drops {key!r}")
                continue
            if key == "properties":
                for name, sub in value.items():
                    if name not in new[key]:
                        problems.append(f"{where}/properties: 1.1 drops {name!r}")
                    else:
                        _compatible(sub, new[key][name], f"{where}/properties/{name}", set(value), problems)
            elif key == "required":
                extra = set(new[key]) - set(value)
                if extra:
                    problems.append(f"{where}: 1.1 requires {sorted(extra)} more")
            elif key == "allOf" and isinstance(value, list):
                if new[key][:len(value)] != value and len(new[key]) >= len(value):
                    for i, (a, b) in enumerate(zip(value, new[key])):
                        _compatible(a, b, f"{where}/allOf/{i}", old_props, problems)
                for i, extra in enumerate(new[key][len(value):], start=len(value)):
                    tested = _tested_properties(extra.get("if"))
                    if not tested or tested & set(old.get("properties", {})):
                        problems.append(f"{where}/allOf/{i}: a new conditional that tests 1.0 properties {sorted(tested)}")
            else:
                _compatible(value, new[key], f"{where}/{key}", old_props, problems)
        for key in set(new) - set(old) - _TEXT:
            if key == "allOf":
                for i, extra in enumerate(new[key]):
                    tested = _tested_properties(extra.get("if"))
                    if not tested or tested & set(old.get("properties", {})):
                        problems.append(f"{where}/allOf/{i}: a new conditional that tests 1.0 properties {sorted(tested)}")
            elif key not in ("properties", "$defs"):
                problems.append(f"{where}: 1.1 adds the keyword {key!r}")
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            problems.append(f"{where}: list of {len(old)} becomes {len(new)}")
        for i, (a, b) in enumerate(zip(old, new)):
            _compatible(a, b, f"{where}/{i}", old_props, problems)
    elif old != new:
        problems.append(f"{where}: {old!r} becomes {new!r}")


def test_the_versions_are_1_0_and_1_1() -> None:
    assert SUPPORTED_VERSIONS == ("1.0", "1.1") and LATEST_VERSION == "1.1"


def test_every_1_1_schema_only_adds_to_its_1_0_file() -> None:
    old, new = load_schemas("1.0"), load_schemas("1.1")
    problems: list[str] = []
    for uri, schema in old.items():
        twin = uri.replace("/1.0/", "/1.1/")
        assert twin in new, f"{twin} missing"
        a, b = copy.deepcopy(schema), copy.deepcopy(new[twin])
        if uri == schema_uri("1.0"):
            assert b["properties"]["schema_version"]["const"] == "1.1"
            a["properties"].pop("schema_version")
            b["properties"].pop("schema_version")
        _compatible(a, b, uri.rsplit("/", 1)[-1], set(), problems)
    assert problems == []


def _documents() -> list[Path]:
    found = sorted(ROOT.glob("reference_data/**/*.mpical.json"))
    assert len(found) > 50
    return found


def test_every_bundled_1_0_document_gets_the_same_verdict_under_1_1() -> None:
    checked = 0
    for path in _documents():
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("schema_version") != "1.0":
            continue
        before = [(p.rule, p.pointer) for p in check_document(data)]
        relabelled = dict(data, schema_version="1.1")
        after = [(p.rule, p.pointer) for p in check_document(relabelled)]
        assert before == after, path.name
        checked += 1
    assert checked > 50
