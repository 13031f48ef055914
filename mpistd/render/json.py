"""JSON output: the report exactly as ``Report.to_dict()`` has it.

The shape is described by ``schemas/report/mpistd-report.schema.json`` (draft 2020-12), so
that downstream tools can rely on it. ``allow_nan=False`` is deliberate: the standard never
lets a NaN or an infinity stand for "could not compute" (that is a finding), so one reaching
this point is a bug and must fail loudly rather than produce invalid JSON.
"""
from __future__ import annotations

import json

from mpistd.findings import REPORT_SCHEMA_ID, Report

__all__ = ["REPORT_SCHEMA_ID", "render_json"]


def render_json(report: Report) -> str:
    """The report as indented JSON text (UTF-8 characters kept), ending with a newline."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
