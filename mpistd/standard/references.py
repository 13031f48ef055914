"""Identity and references (MPI004): duplicated ids and references to ids that do not exist.

Runs on a schema-valid document (plain JSON data, before the model): every object that others
point at has an ``id`` unique within its list, and references name ids (``tracer``,
``acquisition``, ``calibration``, ``paired_with``).
"""
from __future__ import annotations

from collections.abc import Collection, Iterator
from itertools import islice
from dataclasses import dataclass
from typing import Any

from mpistd.standard.schema import DocumentOrder, json_pointer

__all__ = ["ReferenceProblem", "check_references"]

_LISTED_IDS = 5  # how many available ids a message lists

# list key -> what one item is called in a message
_ID_LISTS = {
    "tracers": "tracer",
    "acquisitions": "acquisition",
    "calibrations": "calibration",
    "quantifications": "quantification",
}
# (list holding the referencing objects, referencing field, list the id must be in)
_REFERENCES = (
    ("calibrations", "tracer", "tracers"),
    ("calibrations", "acquisition", "acquisitions"),
    ("quantifications", "tracer", "tracers"),
    ("quantifications", "acquisition", "acquisitions"),
    ("quantifications", "calibration", "calibrations"),
)


@dataclass(frozen=True)
class ReferenceProblem:
    """One MPI004 finding: ``pointer`` is the referencing field, or the second of two equal ids."""

    pointer: str
    message: str


def check_references(document: dict[str, Any]) -> list[ReferenceProblem]:
    """Duplicated ids and dangling references of a schema-valid document, in document order."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    problems.extend(_duplicate_ids(document))
    problems.extend(_duplicate_sample_ids(document))
    problems.extend(_dangling_references(document))
    order = DocumentOrder(document)
    problems.sort(key=lambda item: order.position(item[0]))
    return [ReferenceProblem(json_pointer(path), message) for path, message in problems]


def _objects(document: dict[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    items = document.get(key)
    if not isinstance(items, list):
        return []
    return [(i, item) for i, item in enumerate(items) if isinstance(item, dict)]


def _ids(document: dict[str, Any], key: str) -> dict[str, None]:
    """The ids of a list, in document order (a dict: ordered, with constant-time look-ups)."""
    return {item["id"]: None for _, item in _objects(document, key) if isinstance(item.get("id"), str)}


def _duplicate_ids(document: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for key, noun in _ID_LISTS.items():
        first_at: dict[str, int] = {}
        for i, item in _objects(document, key):
            value = item.get("id")
            if not isinstance(value, str):
                continue
            if value in first_at:
                yield (key, i, "id"), (
                    f"duplicate {noun} id {value!r}: {json_pointer((key, first_at[value]))} already has it "
                    f"(ids must be unique among the {key})"
                )
            else:
                first_at[value] = i


def _duplicate_sample_ids(document: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for c, calibration in _objects(document, "calibrations"):
        points = calibration.get("points")
        if not isinstance(points, list):
            continue
        first_at: dict[str, int] = {}
        for p, point in enumerate(points):
            value = point.get("sample_id") if isinstance(point, dict) else None
            if not isinstance(value, str):
                continue
            if value in first_at:
                yield ("calibrations", c, "points", p, "sample_id"), (
                    f"duplicate sample_id {value!r} in calibration {calibration.get('id')!r}: point "
                    f"{first_at[value]} already has it (sample ids must be unique within a calibration)"
                )
            else:
                first_at[value] = p


def _dangling_references(document: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    available = {key: _ids(document, key) for key in _ID_LISTS}
    for owner_key, field, target_key in _REFERENCES:
        owner_noun = _ID_LISTS[owner_key]
        for i, owner in _objects(document, owner_key):
            value = owner.get(field)
            if isinstance(value, str) and value not in available[target_key]:
                yield (owner_key, i, field), (
                    f"{owner_noun} {owner.get('id')!r} names {field} {value!r}, which does not exist "
                    f"({_listing(target_key, available[target_key])})"
                )
    for i, calibration in _objects(document, "calibrations"):
        value = calibration.get("paired_with")
        if not isinstance(value, str):
            continue
        own = calibration.get("id")
        if value == own:
            yield ("calibrations", i, "paired_with"), (
                f"calibration {own!r} is paired_with itself: paired_with names the other series "
                "(the fixed_concentration series this one was diluted from)"
            )
        elif value not in available["calibrations"]:
            yield ("calibrations", i, "paired_with"), (
                f"calibration {own!r} is paired_with {value!r}, which does not exist "
                f"({_listing('other calibrations', available['calibrations'], exclude=own)})"
            )


def _listing(label: str, ids: Collection[str], exclude: str | None = None) -> str:
    """'tracers: 'a', 'b' and 3 more' — the first few ids, without reading them all."""
    count = len(ids) - (exclude in ids)
    if count <= 0:
        return f"there are no {label}"
    shown = ", ".join(repr(i) for i in islice((i for i in ids if i != exclude), _LISTED_IDS))
    more = f" and {count - _LISTED_IDS} more" if count > _LISTED_IDS else ""
    return f"{label}: {shown}{more}"
