"""File names that are not valid UTF-8 (issue 13, item 6), and CR-only line endings (item 7).

Linux file names are bytes; Python decodes an invalid byte as a lone surrogate
(surrogateescape, PEP 383), which no UTF-8 output can hold: ``--format sarif`` and ``report``
exited 3 (UnicodeEncodeError). The display name now shows such a byte as ``\\xNN`` in every
format.

CR-only files: JSON (RFC 8259 §2) allows CR as whitespace, and a file saved with old Mac line
endings has CR alone between lines; a finding on line 4, column 5 must say 4:5, as it does for
the same text with LF endings (it said 1:49).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus import base_document
from harness import cli_env
from mpistd.cli import cli

BAD_NAME = b"caf\xe9-\xff.mpical.json"  # Latin-1 e-acute and a lone 0xff: not UTF-8
SHOWN = "caf\\xe9-\\xff.mpical.json"


def _make(tmp_path: Path) -> Path:
    folder = tmp_path / "names"
    folder.mkdir()
    doc = base_document()
    doc["unexpected"] = 1  # one MPI002 finding, so the name appears in every format's findings
    fd = os.open(os.fsencode(folder) + b"/" + BAD_NAME, os.O_WRONLY | os.O_CREAT, 0o644)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(doc))
    return folder


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mpistd", *args], cwd=cwd, capture_output=True, env=cli_env(),
                          timeout=300)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit"])
def test_a_non_utf8_file_name_renders_in_every_validate_format(tmp_path: Path, fmt: str) -> None:
    folder = _make(tmp_path)
    proc = _run(["validate", ".", "--jobs", "1", "--format", fmt], folder)
    assert proc.returncode == 1, proc.stderr.decode(errors="replace")
    out = proc.stdout.decode("utf-8")  # strict: the output is valid UTF-8
    if fmt == "sarif":  # RFC 3986 percent-encoding of the name's own bytes (0xE9 -> %E9, 0xFF -> %FF)
        uris = [a["location"]["uri"] for a in json.loads(out)["runs"][0]["artifacts"]]
        assert uris == ["caf%E9-%FF.mpical.json"]
    elif fmt == "json":
        assert json.loads(out)["datasets"][0]["path"] == SHOWN
    else:
        assert SHOWN in out


@pytest.mark.parametrize("suffix", ["html", "pdf"])
def test_a_non_utf8_file_name_renders_in_the_report(tmp_path: Path, suffix: str) -> None:
    if suffix == "pdf":
        pytest.importorskip("weasyprint")
    folder = _make(tmp_path)
    target = tmp_path / f"report.{suffix}"
    proc = _run(["report", BAD_NAME.decode("utf-8", "surrogateescape"), "--jobs", "1", "-o", str(target)], folder)
    assert proc.returncode == 1, proc.stderr.decode(errors="replace")
    assert target.stat().st_size > 0
    if suffix == "html":
        assert SHOWN in target.read_text(encoding="utf-8")


def test_a_non_utf8_name_in_a_site_report(tmp_path: Path) -> None:
    folder = _make(tmp_path)
    (folder / "other.mpical.json").write_text(json.dumps(base_document()))
    site = tmp_path / "site"
    proc = _run(["report", ".", "--jobs", "1", "-o", f"{site}/"], folder)
    assert proc.returncode == 1, proc.stderr.decode(errors="replace")
    assert SHOWN in (site / "index.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------- CR-only files


def _located(text: str, tmp_path: Path, name: str) -> list[tuple[str, str, int, int]]:
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8"))
    run = CliRunner().invoke(cli, ["validate", str(p), "--jobs", "1", "--format", "json"])
    assert run.exit_code == 1, run.output
    return [(f["rule"], f["pointer"], f["line"], f["column"]) for f in json.loads(run.stdout)["datasets"][0]["findings"]]


@pytest.mark.parametrize("eol", ["\r", "\r\n", "\n"])
def test_a_schema_finding_is_located_whatever_the_line_endings(tmp_path: Path, eol: str) -> None:
    doc = base_document()
    text = json.dumps({"schema_version": doc["schema_version"], "x": {"y": {"unexpected": 1}}}, indent=2)
    # by hand: line 1 '{', 2 '"schema_version": ...', 3 '"x": {', 4 '    "y": {', 5 '      "unexpected": 1'
    text = text.replace("\n", eol)
    found = _located(text, tmp_path, "cr.mpical.json")
    assert found and all(line is not None for _, _, line, _ in found)
    (x,) = [f for f in found if f[1] == "/x"]
    assert x[2:] == (3, 3)  # line 3, column 3: the key "x" after two spaces


@pytest.mark.parametrize("eol", ["\r", "\r\n", "\n"])
def test_a_syntax_error_is_located_whatever_the_line_endings(tmp_path: Path, eol: str) -> None:
    # line 4, column 5 is the stray 'oops' (counted by hand: four spaces then the token)
    text = eol.join(['{', '  "schema_version": "1.0",', '  "a": [', '    oops', '  ]', '}'])
    found = _located(text, tmp_path, "syntax.mpical.json")
    assert found == [("MPI001", "", 4, 5)], found


def test_a_cr_only_yaml_document_is_located(tmp_path: Path) -> None:
    text = "\r".join(["schema_version: '1.0'", "a:", "  - 1", "  - [", ""])
    found = _located(text, tmp_path, "cr.mpical.yaml")
    assert len(found) == 1 and found[0][0] == "MPI001" and found[0][2] >= 4, found
