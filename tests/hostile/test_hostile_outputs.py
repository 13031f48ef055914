"""Outputs (issue 13, item 4): an existing target that is not a regular file is refused, never
replaced; every requested output is checked before the work starts (exit 2 with the path
and the reason, never "This is a bug" after the work is done); missing folders are created.
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus import base_document
from mpistd.cli import cli


def _data(tmp_path: Path) -> Path:
    p = tmp_path / "d.mpical.json"
    p.write_text(json.dumps(base_document()))
    return p


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records whether any dataset was validated (it must not be, when an output is bad)."""
    import mpistd.cli

    called: list[str] = []
    real = mpistd.cli.run_validation

    def spy(*args, **kwargs):
        called.append("run")
        return real(*args, **kwargs)

    monkeypatch.setattr(mpistd.cli, "run_validation", spy)
    return called


def _invoke(*args: str) -> object:
    return CliRunner().invoke(cli, [*args])


def test_an_existing_fifo_target_is_refused_not_replaced(tmp_path: Path, no_work: list[str]) -> None:
    fifo = tmp_path / "out.sarif"
    os.mkfifo(fifo)
    run = _invoke("validate", str(_data(tmp_path)), "--jobs", "1", "--output", f"sarif:{fifo}")
    assert run.exit_code == 2, run.output
    assert "out.sarif" in run.stderr and "FIFO" in run.stderr and "not a regular file" in run.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and no_work == []


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_an_existing_device_target_is_refused_not_replaced(tmp_path: Path, no_work: list[str]) -> None:
    """What `--output sarif:/dev/null` as root in CI did: a device node (here a private copy of
    /dev/null's numbers in tmp_path, so a failing test cannot harm the real one)."""
    dev = tmp_path / "null"
    os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    run = _invoke("validate", str(_data(tmp_path)), "--jobs", "1", "--output", f"sarif:{dev}")
    assert run.exit_code == 2 and "character device" in run.stderr
    assert stat.S_ISCHR(os.lstat(dev).st_mode) and no_work == []


def test_an_existing_folder_target_is_refused(tmp_path: Path, no_work: list[str]) -> None:
    target = tmp_path / "out.json"
    target.mkdir()
    run = _invoke("validate", str(_data(tmp_path)), "--jobs", "1", "--output", f"json:{target}")
    assert run.exit_code == 2 and "a folder" in run.stderr and no_work == []


def test_a_path_under_a_file_is_exit_2_before_any_work(tmp_path: Path, no_work: list[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    run = _invoke("validate", str(_data(tmp_path)), "--jobs", "1", "--output", f"json:{blocker}/sub/r.json")
    assert run.exit_code == 2, run.output
    assert "r.json" in run.stderr and "is not a folder" in run.stderr and "bug" not in run.stderr
    assert no_work == []


def test_a_path_in_proc_is_exit_2_before_any_work(tmp_path: Path, no_work: list[str]) -> None:
    if not Path("/proc/self").is_dir():  # pragma: no cover
        pytest.skip("no /proc")
    run = _invoke("validate", str(_data(tmp_path)), "--jobs", "1", "--output", "json:/proc/mpistd-report.json")
    assert run.exit_code == 2, run.output
    assert "/proc/mpistd-report.json" in run.stderr and "not writable" in run.stderr and no_work == []


def test_an_unwritable_folder_is_exit_2_before_any_work(tmp_path: Path, no_work: list[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """As root every folder is writable: the probe's mkstemp failing with EACCES stands in."""
    import tempfile

    import mpistd._atomic as atomic

    locked = tmp_path / "locked"
    locked.mkdir()
    real = tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        if Path(kwargs.get("dir", "")) == locked:
            raise PermissionError(13, "Permission denied")
        return real(*args, **kwargs)

    monkeypatch.setattr(atomic.tempfile, "mkstemp", mkstemp)
    run = _invoke("validate", str(_data(tmp_path)), "--jobs", "1", "--output", f"junit:{locked}/r.xml")
    assert run.exit_code == 2 and "Permission denied" in run.stderr and no_work == []


def test_missing_folders_are_created(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "r.json"
    run = _invoke("validate", str(_data(tmp_path)), "--jobs", "1", "--output", f"json:{target}")
    assert run.exit_code == 0 and json.loads(target.read_text())["ok"] is True


def test_a_failure_while_writing_is_exit_2_with_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A target that becomes unwritable after the check (disk full at the rename)."""
    import mpistd._atomic as atomic

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    target = tmp_path / "r.json"
    monkeypatch.setattr(atomic.os, "replace", full)
    run = _invoke("validate", str(_data(tmp_path)), "--jobs", "1", "--output", f"json:{target}")
    assert run.exit_code == 2 and "r.json" in run.stderr and "No space left" in run.stderr
    assert "bug" not in run.stderr


def test_report_and_baseline_targets_are_checked_first(tmp_path: Path, no_work: list[str]) -> None:
    fifo = tmp_path / "page.html"
    os.mkfifo(fifo)
    run = _invoke("report", str(_data(tmp_path)), "--jobs", "1", "-o", str(fifo))
    assert run.exit_code == 2 and "FIFO" in run.stderr
    run = _invoke("baseline", "write", str(_data(tmp_path)), "-o", str(fifo))
    assert run.exit_code == 2 and "FIFO" in run.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and no_work == []
