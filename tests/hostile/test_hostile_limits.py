"""Size, count and time bounds on untrusted documents (MPI005 and the loader's limits)."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from mpistd.config import Options
from mpistd.load.documents import (
    MAX_DEPTH,
    MAX_NUMBER_DIGITS,
    DocumentError,
    DocumentTooLarge,
    parse_bytes,
    read_document,
)
from mpistd.pipeline import validate_file

_OPENED: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if _OPENED is not None and event == "open" and args and isinstance(args[0], (str, os.PathLike)):
        _OPENED.append(os.fspath(args[0]))


sys.addaudithook(_audit)


def test_an_oversized_document_is_refused_from_its_size_alone(tmp_path: Path) -> None:
    """Over the limit: MPI005 from os.stat, the file is never opened (a sparse 25 MiB file)."""
    global _OPENED
    big = tmp_path / "big.mpical.json"
    with open(big, "wb") as fh:
        fh.truncate(25 * 2**20)
    _OPENED = []
    try:
        with pytest.raises(DocumentTooLarge):
            read_document(big, max_bytes=Options().max_document_bytes)
        result = validate_file(big, Options())
        opened = [p for p in _OPENED if Path(p).name == big.name]
    finally:
        _OPENED = None
    assert [(f.rule, f.pointer, f.line, f.column) for f in result.findings] == [("MPI005", "", 1, 1)]
    # the result's sha256 of the refused file is computed by streaming it (1 MiB blocks) at most
    assert len(opened) <= 1


def test_the_defaults_are_the_standards() -> None:
    opts = Options()
    assert opts.max_document_bytes == 20 * 2**20
    assert opts.max_image_bytes == 256 * 2**20
    assert MAX_DEPTH == 64 and MAX_NUMBER_DIGITS == 400


@pytest.mark.parametrize("depth, ok", [(64, True), (66, False), (900, False)])
def test_json_and_yaml_nest_to_the_same_bound(depth: int, ok: bool) -> None:
    """64 levels of containers are read, deeper is MPI001, in JSON and YAML alike (JSON's C
    parser alone would go to ~1,000; YAML counts a scalar as a level, so the two may differ by
    one exactly at the bound)."""
    text = '{"a": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"
    for kind in ("json", "yaml"):
        if ok:
            parse_bytes(text.encode(), kind=kind)
        else:
            with pytest.raises(DocumentError):
                parse_bytes(text.encode(), kind=kind)


def test_a_long_string_costs_linear_memory(tmp_path: Path) -> None:
    """The position scanner matched strings with a backtracking regex that took ~120 bytes of
    stack per character (600 MB for a 5 MB string); it must now be cheap."""
    import tracemalloc

    from mpistd.load.documents import _JsonScanner

    text = '{"a": "' + "x" * 5_000_000 + '", "b": "' + "\\n" * 1_000_000 + '"}'
    tracemalloc.start()
    try:
        positions = _JsonScanner(text).positions()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert set(positions) == {"", "/a", "/b"}
    assert peak < 50 * 2**20, f"{peak / 2**20:.0f} MiB to scan a 7 MB document"


def test_a_large_yaml_document_is_read_in_bounded_time() -> None:
    """A 2 MiB YAML document parses well inside a generous limit (a hang-catcher, not a speed
    test: throughput is measured by benchmarks, ~1–4 MiB/s with libyaml's event parser)."""
    text = ("x-values: [" + ", ".join(["1"] * 700_000) + "]\n").encode()
    assert len(text) > 2 * 2**20
    started = time.process_time()
    doc = parse_bytes(text, kind="yaml")
    assert len(doc.data["x-values"]) == 700_000
    assert time.process_time() - started < 60
