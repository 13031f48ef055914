"""Terminal and CI-log injection (issue 13, item 1): a dataset's keys, values and file name
reach a terminal, an ``--output text:FILE`` and a CI log; none of them may carry a control
sequence, start a new line, or form a GitHub Actions workflow command.

The hostile strings are the ones the issue lists: an ESC CSI "clear screen", an OSC 52
clipboard write ended by BEL, an OSC 8 hyperlink, an OSC 0 window title, a C1 CSI (U+009B),
bidi overrides, and newlines followed by ``::error``/``::add-mask::`` and ``##[error]``
(GitHub's documented workflow-command forms: "Workflow commands for GitHub Actions", and the
legacy ``##[command]`` form the runner still parses).
"""
from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus import base_document
from harness import cli_env
from mpistd.cli import cli

CLEAR = "\x1b[2J"
OSC52 = "\x1b]52;c;aGFja2Vk\x07"
OSC8 = "\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\"
TITLE = "\x1b]0;pwned\x07"
C1_CSI = "\x9b2J"
BIDI = "\u202eevil\u202c\u2066x\u2069"
DCS = "\x1bP1$r\x1b\\"
INJECT = "\n::error file=a.json::Injected\n::add-mask::secret\n##[error]legacy\r::warning::cr"
HOSTILE_KEY = "x" + CLEAR + OSC52 + OSC8 + TITLE + C1_CSI + BIDI + DCS + INJECT

# what may never appear in text output derived from HOSTILE_KEY
RAW = [CLEAR, OSC52, "\x1b]", "\x1b[", "\x07", "\x9b", "\u202e", "\u2066", "\x1bP", "\r"]


def _bad_lines(text: str) -> list[str]:
    """Lines that would be workflow commands (a line starting '::' after its whitespace, or
    holding '##[' anywhere)."""
    return [ln for ln in text.split("\n") if ln.lstrip().startswith("::") or "##[" in ln]


def _hostile_doc() -> dict:
    doc = base_document()
    doc[HOSTILE_KEY] = "value" + OSC52 + INJECT  # an unknown key: MPI002 quoting the key, at its pointer
    doc["dataset"]["title"] = "t" + INJECT
    return doc


def _write(folder: Path, name: str = "d.mpical.json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(json.dumps(_hostile_doc()), encoding="utf-8")
    return p


# ---------------------------------------------------------------------------------- the function


@pytest.mark.parametrize("raw, shown", [
    ("\x1b[2J", "\\x1b[2J"),
    ("a\nb", "a\\nb"),
    ("a\r\nb", "a\\r\\nb"),
    ("\x07", "\\x07"),
    ("\x9b", "\\x9b"),
    ("\x7f", "\\x7f"),
    ("\u202e", "\\u202e"),
    ("\u2028", "\\u2028"),
    ("\udcff", "\\xff"),  # an undecodable byte of a file name (surrogateescape)
    ("::error::x", "\\x3a:error::x"),
    ("  ::x", "  \\x3a:x"),
    ("a ##[error] b", "a ##\\x5berror] b"),
    ("plain µg/mL ü", "plain µg/mL ü"),
])
def test_clean_escapes_every_control_and_command_form(raw: str, shown: str) -> None:
    from mpistd._text import clean

    assert clean(raw) == shown


def test_clean_output_has_no_control_character_at_all() -> None:
    from mpistd._text import clean

    out = clean(HOSTILE_KEY + "".join(chr(c) for c in range(0x00, 0xA0)))
    assert not [c for c in out if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0], out
    assert "\n" not in out and _bad_lines(out) == []


def test_guard_lines_defuses_commands_however_the_parts_were_joined() -> None:
    from mpistd._text import guard_lines

    text = guard_lines("ok\n::error::x\n  ::set-output name=a::b\nfine ##[group]x\n")
    assert _bad_lines(text) == [] and text.count("\n") == 4


# ---------------------------------------------------------------------------------- the CLI


def test_text_output_and_text_file_carry_no_sequences(tmp_path: Path) -> None:
    """stdout (not a TTY here) and --output text:FILE: no raw control, no command line."""
    data = _write(tmp_path / "data")
    target = tmp_path / "out.txt"
    run = CliRunner().invoke(cli, ["validate", str(data), "--jobs", "1", "--output", f"text:{target}"])
    assert run.exit_code == 1, run.output
    for text in (run.stdout, target.read_text(encoding="utf-8")):
        assert "MPI002" in text  # the finding is there, quoting the key escaped
        assert "\\x1b[2J" in text or "\\x1b" in text
        for raw in RAW:
            assert raw not in text, (raw, text)
        assert _bad_lines(text) == [], _bad_lines(text)


def test_through_a_pseudo_terminal(tmp_path: Path) -> None:
    """A real TTY (colour on): only mpistd's own SGR colour codes reach it, nothing else."""
    data = _write(tmp_path / "data")
    env = {**cli_env(), "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.execve(sys.executable, [sys.executable, "-m", "mpistd", "validate", str(data), "--jobs", "1"], env)
        finally:
            os._exit(127)
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 120)
        if not ready:
            os.kill(pid, 9)
            pytest.fail("no output from the CLI within 120 s")
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 1
    text = b"".join(chunks).decode("utf-8")
    assert "MPI002" in text and "\x1b[" in text  # colour is on: it is a terminal
    # every ESC is the start of one of mpistd's own SGR sequences (ESC [ digits ; m)
    for m in re.finditer("\x1b", text):
        assert re.match(r"\x1b\[[0-9;]*m", text[m.start():]), repr(text[m.start():m.start() + 20])
    for raw in ("\x07", "\x9b", "\u202e", "\x1b]", "\x1bP", CLEAR):
        assert raw not in text
    lines = text.replace("\r\n", "\n").split("\n")  # the pty turns \n into \r\n
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", ln) for ln in lines]
    assert [ln for ln in plain if ln.lstrip().startswith("::") or "##[" in ln] == []
    assert "\r" not in "\n".join(plain)


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit"])
def test_structured_formats_keep_values_but_form_no_command(tmp_path: Path, fmt: str) -> None:
    data = _write(tmp_path / "data")
    run = CliRunner().invoke(cli, ["validate", str(data), "--jobs", "1", "--format", fmt])
    assert run.exit_code == 1
    assert _bad_lines(run.stdout) == []
    for raw in RAW:
        assert raw not in run.stdout
    if fmt == "json":  # the value is unchanged once parsed: only the spelling is guarded
        (finding,) = [f for f in json.loads(run.stdout)["datasets"][0]["findings"] if f["rule"] == "MPI002"]
        assert finding["pointer"] == "/" + HOSTILE_KEY.replace("~", "~0").replace("/", "~1")
    if fmt == "junit":
        import xml.etree.ElementTree as ET

        ET.fromstring(run.stdout.split("\n", 1)[1])


def test_file_names_with_commands_and_controls(tmp_path: Path) -> None:
    """A file name is dataset content too: newline, '::', '##[' and ESC in it."""
    folder = tmp_path / "data"
    _write(folder, "x\n::error::n\x1b[2J##[e].mpical.json")
    for args in (["--format", "text"], ["--format", "json"], ["--format", "sarif"], ["--format", "junit"]):
        run = CliRunner().invoke(cli, ["validate", str(folder), "--jobs", "1", *args])
        assert run.exit_code == 1, run.output
        assert _bad_lines(run.stdout) == [], (args, _bad_lines(run.stdout))
        assert "\x1b" not in run.stdout


def test_stderr_messages_are_clean_too(tmp_path: Path) -> None:
    """A usage error quoting a path (a configuration file in a folder with a hostile name)."""
    folder = tmp_path / ("c\n::error::x\x1b]0;t\x07")
    _write(folder)
    (folder / "mpistd.toml").write_text("frobnicate = 1\n")
    proc = subprocess.run([sys.executable, "-m", "mpistd", "validate", str(folder), "--jobs", "1"],
                          capture_output=True, text=True, env=cli_env(), timeout=120)
    assert proc.returncode == 2
    assert "frobnicate" in proc.stderr and _bad_lines(proc.stderr) == [] and "\x1b" not in proc.stderr
