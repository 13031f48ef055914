"""Nothing is lost: inputs are never written, outputs are written atomically.

- every CLI run over the hostile corpus leaves every input byte-identical (sha256, size,
  mtime), creates nothing and removes nothing beside them (``conftest.corpus_runs`` snapshots
  the corpus folder before and after);
- :func:`mpistd._atomic.write_atomic` never leaves a partial target: a failing rename, a
  failing write or an interrupt leaves the old file intact (or no file) and no temporary;
- a ``validate --output json:PATH`` killed with SIGKILL in the middle of writing leaves no
  file, or the previous one, or a complete one; never half of one.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import mpistd._atomic as atomic
from harness import cli_env
from corpus import base_document

# ------------------------------------------------------------------------------------ inputs


def test_the_corpus_is_never_written(corpus_runs) -> None:
    before, after = corpus_runs.before, corpus_runs.after
    assert len(before) > 100  # the snapshot saw the corpus (files, links, folders)
    created = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    assert not created, f"files created in the corpus: {created}"
    assert not removed, f"files removed from the corpus: {removed}"
    assert not changed, f"inputs changed (sha256, size or mtime): {changed}"


def test_the_snapshot_sees_a_one_byte_change(tmp_path: Path) -> None:
    """Control: the snapshot that proves the above does notice a change of content or time."""
    from harness import snapshot

    f = tmp_path / "a.mpical.json"
    f.write_bytes(b"{}")
    first = snapshot(tmp_path)
    st = os.stat(f)
    f.write_bytes(b"[]")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime: only the sha256 differs
    assert snapshot(tmp_path) != first


# ------------------------------------------------------------------------------------ atomic writes


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.mark.parametrize("existing", [False, True], ids=["new-target", "old-target"])
@pytest.mark.parametrize("where", ["replace", "fsync", "interrupt"])
def test_a_crash_never_leaves_a_partial_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str,
                                               existing: bool) -> None:
    target = tmp_path / "out" / "report.json"
    target.parent.mkdir()
    old = b'{"old": "complete"}\n'
    if existing:
        target.write_bytes(old)

    def boom(*args, **kwargs):
        if where == "interrupt":
            raise KeyboardInterrupt
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace" if where != "fsync" else "fsync", boom)
    with pytest.raises(KeyboardInterrupt if where == "interrupt" else OSError):
        atomic.write_atomic(target, "x" * 1_000_000)
    monkeypatch.undo()
    if existing:
        assert target.read_bytes() == old
    else:
        assert not target.exists()
    assert _leftovers(target.parent) == []


def test_an_atomic_write_replaces_the_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    target.write_text("old " * 10_000)
    atomic.write_atomic(target, '{"new": 1}')
    assert target.read_text() == '{"new": 1}'
    assert _leftovers(tmp_path) == []


# A child that runs the real CLI, with one hook in the write path: it writes HALF of the
# report's bytes into the temporary file, says so (a marker file), and waits to be killed.
# Or, with AFTER, it lets the rename happen and then waits (the complete case).
_CHILD = textwrap.dedent("""
    import os, sys, time
    marker, mode = sys.argv[1], sys.argv[2]
    import mpistd._atomic as atomic
    real_fdopen, real_replace = os.fdopen, os.replace

    def mark(text):
        # the marker appears complete or not at all: the test kills as soon as it exists
        with open(marker + ".tmp", "w") as fh:
            fh.write(text)
        real_replace(marker + ".tmp", marker)

    class HalfThenHang:
        def __init__(self, fh):
            self.fh = fh
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return self.fh.__exit__(*exc)
        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            self.fh.flush()
            os.fsync(self.fh.fileno())
            mark(str(len(data)))
            time.sleep(120)
        def __getattr__(self, name):
            return getattr(self.fh, name)

    def fdopen(*a, **k):
        return HalfThenHang(real_fdopen(*a, **k))

    def replace_then_hang(src, dst):
        real_replace(src, dst)
        mark("renamed")
        time.sleep(120)

    if mode == "during":
        atomic.os.fdopen = fdopen
    else:
        atomic.os.replace = replace_then_hang
    from mpistd.cli import main
    sys.argv = ["mpistd"] + sys.argv[3:]
    main()
""")


def _large_dataset(folder: Path) -> Path:
    """A valid dataset whose JSON report is several MB (many levels, quantities for each)."""
    doc = base_document()
    cal = doc["calibrations"][0]
    pts = cal["points"]
    extra = []
    for k in range(1600):
        p = json.loads(json.dumps(pts[k % len(pts)]))
        p["sample_id"] = f"L-{k}"
        extra.append(p)
    cal["points"] = pts + extra
    path = folder / "large.mpical.json"
    path.write_text(json.dumps(doc))
    return path


def _kill_when(marker: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the child ended before the write ({proc.returncode}): {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the child never reached the write")
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX only")
@pytest.mark.parametrize("existing", [False, True], ids=["no-old-report", "old-report"])
def test_sigkill_mid_write_leaves_no_partial_report(tmp_path: Path, existing: bool) -> None:
    data = _large_dataset(tmp_path)
    out = tmp_path / "reports" / "report.json"
    out.parent.mkdir()
    old = '{"previous": "run"}\n'
    if existing:
        out.write_text(old)
    marker = tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(marker), "during", "validate", str(data),
                             "--format", "text", "--output", f"json:{out}", "--jobs", "1"],
                            cwd=tmp_path, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _kill_when(marker, proc)
    assert proc.returncode == -signal.SIGKILL
    assert int(marker.read_text()) > 1_000_000  # the report really was large and half-written
    if existing:
        assert out.read_text() == old
    else:
        assert not out.exists()
    # the killed writer's temporary (hidden, ".report.json.*.part") may remain; it is never the target
    for leftover in out.parent.iterdir():
        assert leftover == out or (leftover.name.startswith(".report.json.") and leftover.name.endswith(".part"))


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX only")
def test_sigkill_after_the_rename_leaves_the_complete_report(tmp_path: Path) -> None:
    data = _large_dataset(tmp_path)
    out = tmp_path / "report.json"
    out.write_text('{"previous": "run"}\n')
    marker = tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(marker), "after", "validate", str(data),
                             "--format", "text", "--output", f"json:{out}", "--jobs", "1"],
                            cwd=tmp_path, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _kill_when(marker, proc)
    report = json.loads(out.read_text())  # complete: it parses
    assert report["datasets"][0]["path"].endswith("large.mpical.json")
    assert len(report["datasets"][0]["quantities"]["calibrations"][0]["points"]) == 1606


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX only")
def test_sigkill_at_random_moments_never_leaves_half_a_report(tmp_path: Path) -> None:
    """No hook at all: the real CLI killed at a few moments spread over its run."""
    data = _large_dataset(tmp_path)
    out = tmp_path / "report.json"
    args = [sys.executable, "-m", "mpistd", "validate", str(data), "--format", "text", "--output", f"json:{out}",
            "--jobs", "1"]
    started = time.monotonic()
    subprocess.run(args, cwd=tmp_path, env=cli_env(), capture_output=True, timeout=120)
    full = time.monotonic() - started
    complete = json.loads(out.read_text())
    for fraction in (0.5, 0.8, 0.9, 0.97):
        out.unlink(missing_ok=True)
        proc = subprocess.Popen(args, cwd=tmp_path, env=cli_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(full * fraction)
        proc.kill()
        proc.wait(timeout=30)
        if out.exists():
            got = json.loads(out.read_text())
            got["created"] = complete["created"]
            assert got == complete or got["datasets"] == complete["datasets"]
