"""Session fixtures of the hostile suite: the generated corpus and one CLI pass over it.

The corpus is generated once per session (the 25 MiB document included) into a temporary
folder. ``corpus_runs`` snapshots that folder (sha256, size and mtime of every file, every
link and name), runs ``python -m mpistd validate … --format json`` over every case in
subprocesses, and snapshots it again, so the integrity tests can say that no input was
written, created or removed.

Speed: one interpreter per case would spend most of the time importing numpy and scipy.
Cases that must exit with the same code run together, a few per ``validate`` call (the exit
code of a call is the highest of its datasets, so a call whose code is not the one its cases
share has a case that misbehaved); each dataset's findings are read from that call's JSON.
A call that does not end as expected (another exit code, a timeout, unparseable output, a
traceback) is re-run one case per process, so every failure is pinned to its case.
"""
from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import corpus as corpus_mod  # noqa: E402
from harness import CaseRun, CliResult, atime_is_tracked, run_cli, snapshot  # noqa: E402

BATCH = 8


# ------------------------------------------------------------------------------------ fixtures


@dataclass
class Corpus:
    root: Path
    cases: dict[str, Any]
    canary: Path
    exec_canary: Path
    pickle_canary: Path


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    root = tmp_path_factory.mktemp("hostile-corpus")
    cases = corpus_mod.build(root)
    b = corpus_mod._Builder(root, True, dry=True)
    return Corpus(root, cases, b.canary, b.exec_canary, b.pickle_canary)


@dataclass
class Runs:
    by_case: dict[str, CaseRun]
    before: dict[str, tuple]
    after: dict[str, tuple]
    canary_atime_before: int
    canary_atime_after: int
    atime_tracked: bool


def _batches(cases: list[Any]) -> list[list[Any]]:
    by_code: dict[int, list[Any]] = {}
    for c in cases:
        by_code.setdefault(c.exit_code, []).append(c)
    out = []
    for group in by_code.values():
        out += [group[i:i + BATCH] for i in range(0, len(group), BATCH)]
    return out


def validate_args(paths: list[Path], root: Path) -> list[str]:
    return ["validate", *(os.path.relpath(p, root) for p in paths), "--format", "json", "--jobs", "1"]


def _dataset_of(result: CliResult, case: Any, root: Path) -> dict[str, Any] | None:
    if result.report is None:
        return None
    want = os.path.relpath(case.path, root)
    for d in result.report.get("datasets", []):
        if os.path.normpath(d.get("path", "")) == os.path.normpath(want):
            return d
    return None


def _batch_ok(result: CliResult, cases: list[Any], root: Path) -> bool:
    return (not result.timed_out and result.returncode == cases[0].exit_code and not result.has_traceback
            and result.report is not None and all(_dataset_of(result, c, root) is not None for c in cases))


@pytest.fixture(scope="session")
def corpus_runs(corpus: Corpus) -> Runs:
    root = corpus.root
    tracked = atime_is_tracked(root.parent)
    before = snapshot(root)  # reads every file, the canary too: its atime is set afterwards
    # the canary's atime is set older than its mtime (mtime kept), so that any read moves it
    st = os.stat(corpus.canary)
    os.utime(corpus.canary, ns=(st.st_mtime_ns - 10**13, st.st_mtime_ns))
    atime_before = os.stat(corpus.canary).st_atime_ns

    def run_batch(cases: list[Any]) -> list[CaseRun]:
        result = run_cli(validate_args([c.path for c in cases], root), root)
        names = [c.name for c in cases]
        if _batch_ok(result, cases, root):
            return [CaseRun(c, result, _dataset_of(result, c, root), names) for c in cases]
        # pin the failure to its case: one process each
        runs = []
        for c in cases:
            single = run_cli(validate_args([c.path], root), root)
            runs.append(CaseRun(c, single, _dataset_of(single, c, root), [c.name]))
        return runs

    workers = max(2, min(4, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        batches = list(pool.map(run_batch, _batches(list(corpus.cases.values()))))
    by_case = {r.case.name: r for batch in batches for r in batch}
    atime_after = os.stat(corpus.canary).st_atime_ns
    after = snapshot(root)
    return Runs(by_case, before, after, atime_before, atime_after, tracked)
