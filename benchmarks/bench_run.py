"""CPU time a `mpistd validate TREE --jobs 1` run spends per dataset outside validate_file (issue 17).

Generates N datasets of the bench tree (benchmarks/_tree.py) and runs mpistd's command line in
this process (``mpistd validate TREE --jobs 1 --format FORMAT``, stdout captured), timing the
whole run with ``time.process_time()`` and, through a wrapper on ``pipeline.validate_file``,
the part spent validating the datasets. The difference, per dataset, is what a run does for a
dataset besides validating it: collecting it, its repository record
(``repository.dataset_record``), packing the result for the parent (``store.pack``),
accepting it (``ResultStore.append_packed``, ``Fold.add``), and the end of the run (the
repository rules, the report, the output). A first run warms up (imports, the compiled
schema); each figure is the median of ``--repeat`` runs, with the spread (min–max).

A second, instrumented run says where the time outside validate_file goes (wrappers on the
functions named; ``other`` is the remainder), with the garbage collector's time (gc.callbacks)
counted apart: a collection runs wherever allocations cross its threshold, so it would land
in one part or another by chance.

With ``--base REV`` the same measurement is first run on that commit's ``mpistd/`` (extracted
with ``git archive``, as benchmarks/bench_dataset.py does), in a separate process, and the
ratio of this checkout's outside-validate_file time to the base's is printed last.

    python benchmarks/bench_run.py [--n 300] [--repeat 5] [--format text] [--base d3d4a94]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tree import extract_base, write_tree  # noqa: E402

#: (module, attribute path, label) of the instrumented pass; absent ones are skipped
PARTS = (
    ("mpistd.collect", "collect", "collect"),
    ("mpistd.repository", "dataset_record", "dataset_record"),
    ("mpistd.store", "pack", "pack"),
    ("mpistd.store", "ResultStore.append_packed", "append_packed"),
    ("mpistd.repository", "Fold.add", "Fold.add"),
    ("mpistd.pipeline", "finish", "finish (repository rules)"),
    ("mpistd.cli", "render_pieces", "render (text)"),
)


class _Collections:
    """CPU time in the garbage collector (gc.callbacks), added up while installed."""

    def __init__(self) -> None:
        self.spent = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.process_time()
        else:
            self.spent += time.process_time() - self._start


def _wrap(owner: Any, name: str, spent: dict[str, float], label: str, undo: list[Any],
          collections: _Collections | None = None) -> None:
    """Time ``owner.name`` into ``spent[label]``; with ``collections``, less the collector's
    time inside it (counted apart: a collection runs wherever the allocations cross the
    threshold, so it would land in one part or another by chance)."""
    original = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        t = time.process_time()
        g = collections.spent if collections is not None else 0.0
        try:
            result = original(*args, **kwargs)
            if label.startswith("render"):  # a generator of pieces: time the drawing of them
                result = list(result)
            return result
        finally:
            dt = time.process_time() - t
            if collections is not None:
                inside = collections.spent - g
                dt -= inside
                spent["gc in validate_file" if label == "validate_file" else "gc outside"] += inside
            spent[label] += dt

    undo.append((owner, name, original))
    setattr(owner, name, timed)


def one_run(tree: Path, fmt: str, parts: bool) -> dict[str, float]:
    """CPU seconds of one in-process run: total, in validate_file, and (``parts``) by part."""
    import importlib

    import mpistd.cli as cli
    import mpistd.pipeline as pipeline

    import gc

    spent: dict[str, float] = {"validate_file": 0.0}
    undo: list[Any] = []
    collections = _Collections() if parts else None
    if collections is not None:
        spent["gc in validate_file"] = spent["gc outside"] = 0.0
        gc.callbacks.append(collections)
    # validate_file is never nested in the parts below, so the parts are outside it
    _wrap(pipeline, "validate_file", spent, "validate_file", undo, collections)
    if parts:
        for module, attr, label in PARTS:
            owner: Any = importlib.import_module(module)
            *path, name = attr.split(".")
            for p in path:
                owner = getattr(owner, p, None)
            if owner is None or not hasattr(owner, name):
                continue
            spent[label] = 0.0
            _wrap(owner, name, spent, label, undo, collections)
    out = io.StringIO()
    try:
        t = time.process_time()
        with contextlib.redirect_stdout(out):
            try:
                cli.cli.main(["validate", str(tree), "--jobs", "1", "--format", fmt], standalone_mode=False)
            except SystemExit as exc:
                if exc.code not in (0, 1):
                    raise SystemExit(f"mpistd exited {exc.code}")
        spent["total"] = time.process_time() - t
    finally:
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)
        if collections is not None:
            gc.callbacks.remove(collections)
            # the collections outside every wrapped part (the rest of the run)
            spent["gc outside"] += collections.spent - spent["gc in validate_file"] - spent["gc outside"]
    return spent


def _fmt(values: list[float], scale: float = 1e3) -> str:
    return f"{statistics.median(values) * scale:7.3f} ({min(values) * scale:.3f}–{max(values) * scale:.3f})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--format", default="text", choices=("text", "json", "sarif", "junit"))
    ap.add_argument("--base", help="also measure this commit's mpistd/ first (git archive, separate process)")
    ap.add_argument("--code", help=argparse.SUPPRESS)  # internal: import mpistd from this folder
    ap.add_argument("--emit", help=argparse.SUPPRESS)  # internal: write the median outside time here
    args = ap.parse_args()
    base_outside = _run_base(args) if args.base else None
    if args.code:
        sys.path.insert(0, args.code)
    import mpistd

    print(f"mpistd from {Path(mpistd.__file__).parent}")
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        write_tree(tree, args.n)
        one_run(tree, args.format, parts=False)  # warm up: imports, the compiled schema
        totals, inside, outside = [], [], []
        parts: dict[str, list[float]] = {}
        for _ in range(args.repeat):
            r = one_run(tree, args.format, parts=False)
            totals.append(r["total"] / args.n)
            inside.append(r["validate_file"] / args.n)
            outside.append((r["total"] - r["validate_file"]) / args.n)
            r = one_run(tree, args.format, parts=True)
            rest = r["total"] - r["validate_file"] - r["gc in validate_file"]
            for k, v in r.items():
                if k not in ("total", "validate_file", "gc in validate_file"):
                    parts.setdefault(k, []).append(v / args.n)
                    rest -= v
            parts.setdefault("other", []).append(rest / args.n)
            parts.setdefault("(gc in validate_file)", []).append(r["gc in validate_file"] / args.n)
    print(f"`validate TREE --jobs 1 --format {args.format}`, {args.n} datasets, {args.repeat} runs; "
          "CPU ms per dataset: median (min–max)")
    print(f"  whole run              {_fmt(totals)}")
    print(f"  in validate_file       {_fmt(inside)}")
    print(f"  outside validate_file  {_fmt(outside)}")
    print("  outside, by part (instrumented runs; the collector's time apart, wherever it ran):")
    for k, v in parts.items():
        print(f"    {k:<26} {_fmt(v)}")
    med = statistics.median(outside)
    if args.emit:
        Path(args.emit).write_text(json.dumps(med))
    if base_outside is not None:
        print(f"outside validate_file: {med * 1e3:.3f} ms here / {base_outside * 1e3:.3f} ms on {args.base}"
              f" = {med / base_outside:.2f}")


def _run_base(args: argparse.Namespace) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        extract_base(args.base, Path(tmp))
        emit = Path(tmp) / "outside.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--n", str(args.n), "--repeat", str(args.repeat),
               "--format", args.format, "--code", tmp, "--emit", str(emit)]
        print(f"--- base {args.base}")
        sys.stdout.flush()
        subprocess.run(cmd, check=True, cwd=tmp)
        value: float = json.loads(emit.read_text())
    print("--- this checkout")
    sys.stdout.flush()
    return value


if __name__ == "__main__":
    main()
