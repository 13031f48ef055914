"""JSON output: the report exactly as ``Report.to_dict()`` has it.

The shape is described by ``schemas/report/mpistd-report.schema.json`` (draft 2020-12), so
that downstream tools can rely on it. ``allow_nan=False`` is deliberate: the standard never
lets a NaN or an infinity stand for "could not compute" (that is a finding), so one reaching
this point is a bug and must fail loudly rather than produce invalid JSON.
"""
from __future__ import annotations

import json
from typing import Iterator

from mpistd._text import guard_json
from mpistd.findings import REPORT_SCHEMA_ID, Report

__all__ = ["REPORT_SCHEMA_ID", "render_json", "iter_json"]

_DATASETS = '\n  "datasets": [],\n'  # where the datasets go in the head (a raw line break is never in a string)


def render_json(report: Report) -> str:
    """The report as indented JSON text (UTF-8 characters kept), ending with a newline."""
    return "".join(iter_json(report))


def iter_json(report: Report) -> Iterator[str]:
    """:func:`render_json`'s text in pieces, one dataset at a time (a run's results are read one
    by one from its store): the same bytes as ``json.dumps(report.to_dict(), indent=2)``, each
    dataset dumped alone and indented to its depth (two levels)."""
    head = json.dumps(report.head_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    before, after = head.split(_DATASETS)
    # '##[' (a CI log command) can only occur inside a JSON string: spelled '##\\u005b', same value;
    # a string is never split between two pieces, so guarding each piece guards the whole
    if not len(report.results):
        yield guard_json(head)
        return
    yield guard_json(before + '\n  "datasets": [\n')
    for i, result in enumerate(report.results):
        text = json.dumps(result.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)
        yield guard_json(("    " if i == 0 else ",\n    ") + text.replace("\n", "\n    "))
    yield guard_json("\n  ],\n" + after)
