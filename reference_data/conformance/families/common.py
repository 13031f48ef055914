"""Small helpers for writing vectors as mutations of the clean base document."""
from __future__ import annotations

from typing import Any, Callable

from base import base
from make_vectors import Vector

CAL = "/calibrations/0"
QUANT = "/quantifications/0"


def mutated(change: Callable[[dict], Any]) -> dict:
    """A fresh base document with `change(doc)` applied (change mutates in place)."""
    doc = base()
    change(doc)
    return doc


def vector(name: str, rule: str, fires: bool, description: str, change: Callable[[dict], Any] | None,
           expected: list[tuple[str, str, str]], **kw: Any) -> Vector:
    doc = mutated(change) if change is not None else base()
    return Vector(name=name, rule=rule, fires=fires, description=description, expected=expected, document=doc, **kw)
