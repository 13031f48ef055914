"""Where the package's data lives: the normative schemas and the report templates.

In a source checkout (and an editable install) they are the repository's own `schemas/` and
`reports/` folders; a wheel carries copies under `mpistd/_data/` (see pyproject.toml).
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    packaged = _PACKAGE / "_data" / name
    if packaged.is_dir():
        return packaged
    source = _PACKAGE.parent / name
    if source.is_dir():
        return source
    raise FileNotFoundError(f"mpistd data folder {name!r} not found (looked in {packaged} and {source})")


@cache
def schemas_root() -> Path:
    """The folder holding one sub-folder of JSON Schemas per standard version."""
    return _find("schemas")


def schema_dir(version: str = "1.1") -> Path:
    return schemas_root() / version


@cache
def reports_dir() -> Path:
    """The report templates and styles (jinja2 + CSS)."""
    return _find("reports")
