"""Hostile and broken input through the command line: nothing crashes, nothing leaks, nothing is lost.

Every case of :mod:`corpus` goes through ``python -m mpistd validate … --format json`` in a
subprocess (see ``conftest.corpus_runs``) and must give exactly its findings (rule, severity,
pointer), located (line:column, exact where the case knows it), with the exit code the
severities imply: never 3, never a traceback, never a hang, and a report that is strict
JSON (no NaN or Infinity) of bounded size.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import corpus as corpus_mod

CASES = corpus_mod.build(Path("/nonexistent/hostile-corpus"), dry=True)
MAX_STDOUT = 512 * 1024  # a report never echoes a 5 MB string or a 25 MiB document


def _diagnose(run) -> str:
    p = run.process
    return (f"case {run.case.name} (batch {run.batch}): exit {p.returncode}, timed out {p.timed_out}, "
            f"{p.seconds:.1f} s\n--- stderr ---\n{p.stderr[-3000:]}\n--- stdout ---\n{p.stdout[:3000]}")


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_case(name: str, corpus_runs) -> None:
    run = corpus_runs.by_case[name]
    case, proc = run.case, run.process
    why = _diagnose(run)
    assert not proc.timed_out, "the CLI hung\n" + why
    assert proc.returncode != 3, "internal error (exit 3)\n" + why
    assert not proc.has_traceback, "a traceback reached the user\n" + why
    assert proc.report is not None, f"stdout is not strict JSON ({proc.parse_error})\n" + why
    assert len(proc.stdout) < MAX_STDOUT, f"the report is {len(proc.stdout):,} bytes\n" + why
    assert run.dataset is not None, "the dataset is missing from the report\n" + why
    findings = run.dataset["findings"]
    got = Counter((f["rule"], f["severity"], f["pointer"]) for f in findings)
    assert got == Counter(case.expected), f"findings {sorted(got.elements())} != {sorted(case.expected)}\n" + why
    # the exit code is the one the severities imply (default profile: errors fail)
    implied = 1 if any(f["severity"] == "error" for f in findings) else 0
    assert implied == case.exit_code
    assert proc.returncode == case.exit_code, why
    # every finding is located: its pointer (compared above) and a line:column in the file
    for f in findings:
        assert isinstance(f["line"], int) and f["line"] >= 1, f
        assert isinstance(f["column"], int) and f["column"] >= 1, f
        assert len(f["message"]) < 2000, f"message of {len(f['message']):,} characters"
    if case.where is not None:
        (f,) = findings
        assert (f["line"], f["column"]) == case.where, f"{f['message']}\n" + why


def test_corpus_covers_the_issue() -> None:
    """The cases the issue lists are all here (a guard against a case silently dropped)."""
    names = set(CASES)
    for required in ("empty", "binary-garbage", "utf16-bom", "latin1", "number-nan", "number-infinity",
                     "number-minus-infinity", "number-digits-5000", "number-exp-1e999", "deep-json-list",
                     "deep-yaml-flow", "duplicate-key-json", "duplicate-key-yaml", "yaml-alias-bomb",
                     "yaml-os-system-tag", "top-level-list", "document-25mib", "string-5mb-description",
                     "string-5mb-extension", "image-npy-truncated", "image-npy-complex", "image-npy-object-pickle",
                     "image-npy-bool", "image-npy-string", "image-npy-1d", "image-npy-4d", "image-all-nan",
                     "image-all-zero", "image-dicom-not-dicom", "image-mdf-without-reconstruction", "path-dotdot",
                     "path-absolute", "path-symlink-file-out", "hostile-strings"):
        assert required in names, required
    rules = {r for c in CASES.values() for r, _, _ in c.expected}
    assert {"MPI001", "MPI002", "MPI005", "MPI014", "MPI016"} <= rules


def test_escape_findings_say_why(corpus_runs) -> None:
    """An image path leading out of the folder is refused as such (not as missing)."""
    for name in ("path-dotdot", "path-dotdot-inner", "path-absolute", "path-drive-letter", "path-unc",
                 "path-backslash", "path-symlink-file-out", "path-symlink-relative-out", "path-symlink-dir-out",
                 "path-symlink-replicate-out", "path-symlink-dev-zero"):
        (f,) = corpus_runs.by_case[name].dataset["findings"]
        assert "outside the dataset's folder" in f["message"], (name, f["message"])


def test_findings_reveal_no_local_path(corpus, corpus_runs) -> None:
    """A finding never names where the dataset sits on this machine, nor where a link leads,
    unless the dataset itself wrote that path (the reports of a CI run are often public)."""
    root = str(corpus.root.resolve())
    leaks = []
    for name, run in corpus_runs.by_case.items():
        if run.dataset is None:
            continue
        own = run.case.path.read_bytes() if run.case.path.stat().st_size < 1 << 20 else b""
        for f in run.dataset["findings"]:
            if root in f["message"] and root.encode() not in own:
                leaks.append((name, f["message"]))
    assert not leaks, leaks


def test_nothing_is_executed_or_unpickled(corpus, corpus_runs) -> None:
    """The YAML python tags and the pickled .npy payload would create these if ever run."""
    assert corpus_runs.by_case["yaml-python-tag"].dataset is not None
    assert not corpus.exec_canary.exists()
    assert not corpus.pickle_canary.exists()


def test_the_pickle_payload_is_live(tmp_path: Path) -> None:
    """Control for the test above: numpy *with* pickles allowed would run the payload."""
    import io

    import numpy as np

    canary = tmp_path / "created-by-unpickling"
    np.load(io.BytesIO(corpus_mod.pickle_npy(canary)), allow_pickle=True)
    assert canary.is_dir()


def test_the_symlinked_canary_is_never_read(corpus, corpus_runs) -> None:
    """The file outside the folder that the symlink cases point at is never opened: its access
    time (set older than its mtime, so any read would move it) is unchanged."""
    if not corpus_runs.atime_tracked:
        pytest.skip("this file system does not update access times (see test_paths for the in-process proof)")
    assert corpus_runs.canary_atime_after == corpus_runs.canary_atime_before


def test_one_timeout_only_catches_hangs(corpus_runs) -> None:
    """Every case ran well inside the timeout (the generous timeout exists for hangs only)."""
    slow = {n: r.process.seconds for n, r in corpus_runs.by_case.items() if r.process.seconds > 30}
    assert not slow, slow
