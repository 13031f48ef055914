"""Folder scans of untrusted trees (issue 13, item 2): regular files only, symlinks followed
only inside the scanned folder (or with --follow-symlinks), loops and unreadable entries as
clear findings, every read bounded, and nothing outside the folder opened or quoted.

Every CLI run here is a subprocess with a timeout, so a hang (a FIFO, /dev/zero) fails the
test instead of stopping the suite.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from corpus import base_document
from harness import cli_env

TIMEOUT = 60
SECRET = "ghp_" + "S3cr3tT0k3n" * 3


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([sys.executable, "-m", "mpistd", "validate", *args, "--jobs", "1"], cwd=cwd,
                              capture_output=True, text=True, env=cli_env(), timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"mpistd validate {' '.join(args)} hung (> {TIMEOUT} s)")


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "scan"
    root.mkdir()
    (root / "good.mpical.json").write_text(json.dumps(base_document()))
    return root


def _datasets(proc: subprocess.CompletedProcess) -> dict[str, dict]:
    report = json.loads(proc.stdout)
    return {Path(d["path"]).name: d for d in report["datasets"]}


def _only_mpi001(d: dict) -> str:
    (f,) = d["findings"]
    assert (f["rule"], f["severity"], f["pointer"]) == ("MPI001", "error", "")
    return f["message"]


def test_a_fifo_named_like_a_dataset_is_refused_not_waited_on(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.mkfifo(root / "pipe.mpical.json")
    proc = _run(".", "--format", "json", cwd=root)
    assert proc.returncode == 1, proc.stderr
    ds = _datasets(proc)
    assert "FIFO" in _only_mpi001(ds["pipe.mpical.json"])
    assert ds["good.mpical.json"]["findings"] == []


def test_a_fifo_named_on_the_command_line_is_refused_too(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.mkfifo(root / "pipe.mpical.json")
    proc = _run("pipe.mpical.json", "--format", "json", cwd=root)
    assert proc.returncode == 1, proc.stderr
    assert "FIFO" in _only_mpi001(_datasets(proc)["pipe.mpical.json"])


def test_a_link_to_dev_zero_is_refused_and_hashing_is_bounded(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.symlink("/dev/zero", root / "zero.mpical.json")
    proc = _run(".", "--format", "json", cwd=root)
    assert proc.returncode == 1, proc.stderr
    d = _datasets(proc)["zero.mpical.json"]
    assert "outside the scanned folder" in _only_mpi001(d) and d["sha256"] is None
    # followed on request, it is still a device, not a regular file: refused, nothing streamed
    proc = _run(".", "--format", "json", "--follow-symlinks", cwd=root)
    assert proc.returncode == 1, proc.stderr
    d = _datasets(proc)["zero.mpical.json"]
    assert "character device" in _only_mpi001(d) and d["sha256"] is None


def test_a_link_to_dev_zero_named_explicitly_is_bounded(tmp_path: Path) -> None:
    """Named on the command line, a link is followed; /dev/zero is still not a regular file."""
    root = _tree(tmp_path)
    os.symlink("/dev/zero", root / "zero.mpical.json")
    proc = _run("zero.mpical.json", "--format", "json", cwd=root)
    assert proc.returncode == 1, proc.stderr
    d = _datasets(proc)["zero.mpical.json"]
    assert "character device" in _only_mpi001(d) and d["sha256"] is None


def test_sha256_honours_the_size_limit() -> None:
    """The document's sha256 reads at most the document limit (the old code streamed /dev/zero)."""
    from mpistd.load.documents import sha256_file

    assert sha256_file(Path("/dev/zero"), 1 << 20) is None


def test_a_symlink_loop_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.symlink("b.mpical.json", root / "a.mpical.json")
    os.symlink("a.mpical.json", root / "b.mpical.json")
    os.symlink("self.mpical.json", root / "self.mpical.json")
    proc = _run(".", "--format", "json", cwd=root)
    assert proc.returncode == 1, proc.stderr
    ds = _datasets(proc)
    for name in ("a.mpical.json", "b.mpical.json", "self.mpical.json"):
        assert "loop" in _only_mpi001(ds[name])
    assert ds["good.mpical.json"]["findings"] == []


def test_a_folder_link_loop_is_scanned_once(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    sub = root / "sub"
    sub.mkdir()
    (sub / "inner.mpical.json").write_text(json.dumps(base_document()))
    os.symlink("..", sub / "up")  # sub/up -> scan/ : a cycle through the tree
    proc = _run(".", "--format", "json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert sorted(Path(d["path"]).name for d in json.loads(proc.stdout)["datasets"]) == [
        "good.mpical.json", "inner.mpical.json"]


def test_a_link_out_of_the_folder_is_neither_read_nor_quoted(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "token.json").write_text(json.dumps({"schema_version": SECRET}))
    os.symlink(outside / "token.json", root / "leak.mpical.json")
    os.symlink(outside, root / "linked-folder")
    (outside / "also.mpical.json").write_text(json.dumps({"schema_version": SECRET}))
    proc = _run(".", "--format", "json", cwd=root)
    assert proc.returncode == 1, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    ds = _datasets(proc)
    assert "outside the scanned folder" in _only_mpi001(ds["leak.mpical.json"])
    assert "also.mpical.json" not in ds  # a folder link out is not entered
    assert ds["leak.mpical.json"]["sha256"] is None


def test_follow_symlinks_follows_links_out(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    outside = tmp_path / "shared"
    outside.mkdir()
    (outside / "d.mpical.json").write_text(json.dumps(base_document()))
    os.symlink(outside / "d.mpical.json", root / "linked.mpical.json")
    proc = _run(".", "--format", "json", "--follow-symlinks", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert _datasets(proc)["linked.mpical.json"]["findings"] == []


def test_a_link_inside_the_folder_is_followed(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "real").mkdir()
    (root / "real" / "x.json").write_text(json.dumps(base_document()))
    os.symlink("real/x.json", root / "alias.mpical.json")
    proc = _run(".", "--format", "json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert _datasets(proc)["alias.mpical.json"]["findings"] == []


def test_a_dangling_link_is_a_finding(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.symlink("nowhere.json", root / "dangling.mpical.json")
    proc = _run(".", "--format", "json", cwd=root)
    assert proc.returncode == 1
    assert "dangling" in _only_mpi001(_datasets(proc)["dangling.mpical.json"])


def test_a_loop_named_on_the_command_line_is_a_usage_error(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.symlink("loop.mpical.json", root / "loop.mpical.json")
    proc = _run("loop.mpical.json", cwd=root)
    assert proc.returncode == 2 and "leads nowhere" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
def test_an_unreadable_folder_is_a_usage_error(tmp_path: Path) -> None:  # pragma: no cover - not as root
    root = _tree(tmp_path)
    locked = root / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        proc = _run(".", cwd=root)
    finally:
        locked.chmod(0o755)
    assert proc.returncode == 2 and "cannot read the folder" in proc.stderr


def test_an_unlistable_folder_is_a_usage_error_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same as root: os.scandir failing on one sub-folder (as EACCES would) is exit 2."""
    from click.testing import CliRunner

    import mpistd.collect as collect_mod
    from mpistd.cli import cli

    root = _tree(tmp_path)
    (root / "locked").mkdir()
    real = os.scandir

    def scandir(path):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(collect_mod.os, "scandir", scandir)
    run = CliRunner().invoke(cli, ["validate", str(root), "--jobs", "1"])
    assert run.exit_code == 2 and "cannot read the folder" in run.stderr and "Permission denied" in run.stderr


def test_a_document_read_never_preallocates_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the limit at the 1 GiB ceiling, a small file's read asks for at most 1 MiB at once
    (the old read asked the OS for a buffer of limit + 1 bytes: a MemoryError at 30,000 MiB)."""
    import io

    from mpistd.load import documents

    p = tmp_path / "d.mpical.json"
    p.write_text(json.dumps(base_document()))
    asked: list[int] = []
    real_read = io.FileIO.read

    class Spy(io.FileIO):
        def read(self, n=-1):
            asked.append(n)
            return real_read(self, n)

    real_fdopen = os.fdopen
    monkeypatch.setattr(documents.os if hasattr(documents, "os") else os, "fdopen",
                        lambda fd, *a, **k: Spy(fd, "rb") if a and a[0] == "rb" else real_fdopen(fd, *a, **k))
    doc = documents.read_document(p, max_bytes=1 << 30)
    assert doc.data["schema_version"] == base_document()["schema_version"]
    assert asked and max(asked) <= 1 << 20


def test_the_report_does_not_read_a_refused_link_either(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "token.json").write_text(json.dumps({"schema_version": SECRET, "dataset": {"title": SECRET}}))
    os.symlink(outside / "token.json", root / "leak.mpical.json")
    site = tmp_path / "site"
    try:
        proc = subprocess.run([sys.executable, "-m", "mpistd", "report", ".", "--jobs", "1", "-o", f"{site}/"],
                              cwd=root, capture_output=True, text=True, env=cli_env(), timeout=300)
    except subprocess.TimeoutExpired:
        pytest.fail("report hung")
    assert proc.returncode == 1, proc.stderr
    pages = "".join(p.read_text(encoding="utf-8") for p in site.glob("*.html"))
    assert "outside the scanned folder" in pages and SECRET not in pages + proc.stderr
