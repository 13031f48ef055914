#!/usr/bin/env python3
"""The long fuzz run (outside CI): mutate the valid reference documents and validate each one.

    python scripts/fuzz.py --n 2000 [--seed S] [--jobs J] [--out fuzz-crashes/] [--report-every K]

Every ``*.mpical.json`` under ``reference_data/`` that mpistd reads is a seed document. Document
``i`` of a run is fully determined by (seed, i): a random reference, 1–3 random mutations
(``tests/hostile/mutate.py``: deleted keys, changed types, negative/huge/zero numbers, unicode
and lone surrogates, duplicated or dropped items, random enum strings, unknown and ``x-`` keys,
bent references, deep nesting) and a random serialization (JSON with any indentation or
escaping, NaN literals, sometimes YAML). It is written beside a copy of the reference images
and then

1. validated in-process with :func:`mpistd.pipeline.validate_file` (any exception is a crash),
2. run through the command line in-process (``mpistd validate FILE --format json``; exit 3, an
   exception, a traceback or a non-JSON report is a crash; exit codes other than 0/1 too),
3. every ``--report-every`` documents, rendered as the HTML report (any exception is a crash).

A document taking longer than ``--timeout`` seconds counts as a crash (a hang). Each crashing
input is saved to ``--out`` with a ``.txt`` beside it (seed, index, reference, mutations,
traceback); rerun it with ``mpistd validate --debug FILE``. The run prints the number of
documents and of crashes, and exits 1 if there was any.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "hostile"))

import mutate  # noqa: E402  (tests/hostile/mutate.py: the same mutations as the property tests)

_STATE: dict = {}


class Hang(Exception):
    pass


def _alarm(signum, frame):  # pragma: no cover - only on a hang
    raise Hang("time limit exceeded")


def _init(timeout: float) -> None:
    refs = mutate.reference_documents()
    tmp = Path(tempfile.mkdtemp(prefix="mpistd-fuzz-"))
    # removed when this process ends (pool workers run multiprocessing's finalizers, not atexit)
    from multiprocessing.util import Finalize

    Finalize(None, shutil.rmtree, args=(str(tmp), True), exitpriority=10)
    _STATE.update(refs=refs, folder_for=mutate.workspace(tmp, refs), tmp=tmp, timeout=timeout)
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _alarm)
    # warm the imports so the first document's time is its own
    from mpistd.cli import cli  # noqa: F401
    from mpistd.pipeline import validate_file  # noqa: F401


def _strict_json(text: str) -> object:
    def refuse(name: str):
        raise ValueError(f"{name} in the JSON report")

    return json.loads(text, parse_constant=refuse)


def run_one(seed: str, i: int, report_every: int) -> dict:
    """Build document i of the run, validate it; a dict describing a crash, or {"ok": ...}."""
    from click.testing import CliRunner

    from mpistd.cli import cli
    from mpistd.config import Options
    from mpistd.pipeline import validate_file

    rnd = random.Random(f"{seed}:{i}")
    ref = rnd.choice(_STATE["refs"])
    doc = copy.deepcopy(ref.doc)
    what = mutate.mutate(doc, rnd)
    raw, suffix = mutate.serialize(doc, rnd)
    folder = _STATE["folder_for"](ref)
    path = folder / f"fuzz-{os.getpid()}{suffix}"
    for old in folder.glob(f"fuzz-{os.getpid()}.*"):
        old.unlink()
    path.write_bytes(raw)
    stage = "validate_file"
    started = time.perf_counter()
    if hasattr(signal, "alarm"):
        signal.alarm(int(_STATE["timeout"]))
    try:
        result = validate_file(path, Options())
        errors = sum(1 for f in result.findings if f.severity.value == "error")
        stage = "cli"
        run = CliRunner().invoke(cli, ["validate", str(path), "--format", "json", "--jobs", "1"])
        if run.exception is not None and not isinstance(run.exception, SystemExit):
            raise run.exception
        if run.exit_code not in (0, 1):
            raise AssertionError(f"exit code {run.exit_code}: {run.stderr.strip()[:500]}")
        if "Traceback" in run.stdout + run.stderr:
            raise AssertionError("a traceback in the output")
        _strict_json(run.stdout)
        if run.exit_code != (1 if errors else 0):
            raise AssertionError(f"exit code {run.exit_code} but {errors} error findings")
        if report_every and i % report_every == 0:
            stage = "html report"
            from mpistd.render.report import report

            page = report(path, reproducible=True)
            if not isinstance(page, str):
                raise AssertionError("the report is not a page")
        return {"ok": True, "exit": run.exit_code, "seconds": time.perf_counter() - started}
    except BaseException as exc:  # noqa: BLE001 - everything is a finding of the fuzz run
        if isinstance(exc, KeyboardInterrupt):
            raise
        return {"ok": False, "index": i, "seed": seed, "reference": ref.name, "mutations": what, "stage": stage,
                "error": f"{type(exc).__name__}: {str(exc)[:500]}", "traceback": traceback.format_exc(),
                "suffix": suffix, "input": raw, "seconds": time.perf_counter() - started}
    finally:
        if hasattr(signal, "alarm"):
            signal.alarm(0)


def _chunk(args: tuple[str, list[int], int]) -> list[dict]:
    seed, indices, report_every = args
    out = []
    for i in indices:
        r = run_one(seed, i, report_every)
        out.append(r if not r["ok"] else {"ok": True, "exit": r["exit"]})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="number of mutated documents (default 2000)")
    ap.add_argument("--seed", default="0", help="seed of the run (any string; default 0)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    ap.add_argument("--out", type=Path, default=Path("fuzz-crashes"), help="where crashing inputs are saved")
    ap.add_argument("--report-every", type=int, default=20, help="render the HTML report of every K-th document "
                                                                  "(0: never)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per document before it counts as a hang")
    args = ap.parse_args(argv)

    started = time.perf_counter()
    jobs = max(1, args.jobs)
    slices = [list(range(k, args.n, jobs)) for k in range(jobs)]
    work = [(args.seed, s, args.report_every) for s in slices if s]
    if jobs == 1:
        _init(args.timeout)
        results = [r for w in work for r in _chunk(w)]
    else:
        with ProcessPoolExecutor(max_workers=jobs, initializer=_init, initargs=(args.timeout,)) as pool:
            results = [r for chunk in pool.map(_chunk, work) for r in chunk]
    crashes = [r for r in results if not r["ok"]]
    exits = {0: 0, 1: 0}
    for r in results:
        if r["ok"]:
            exits[r["exit"]] = exits.get(r["exit"], 0) + 1
    if crashes:
        args.out.mkdir(parents=True, exist_ok=True)
        for c in crashes:
            stem = args.out / f"crash-{c['seed']}-{c['index']:06d}"
            Path(str(stem) + c["suffix"]).write_bytes(c["input"])
            Path(str(stem) + ".txt").write_text(
                f"seed {c['seed']} index {c['index']}\nreference {c['reference']}\nmutations {c['mutations']}\n"
                f"stage {c['stage']}\n{c['error']}\n\n{c['traceback']}", encoding="utf-8")
    seconds = time.perf_counter() - started
    print(f"mpistd fuzz: seed {args.seed}, {len(results)} documents from {len(mutate.reference_documents())} "
          f"references in {seconds:.0f} s: exit 0 for {exits.get(0, 0)}, exit 1 for {exits.get(1, 0)}; "
          f"{len(crashes)} crash{'es' if len(crashes) != 1 else ''}")
    for c in crashes[:20]:
        print(f"  #{c['index']} ({c['reference']}, {c['stage']}): {c['error'][:200]}")
    if crashes:
        print(f"crashing inputs saved to {args.out}/")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
