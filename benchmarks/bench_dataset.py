"""CPU time of validating one dataset in-process, by stage, against the floor (issue 17, item 1).

Generates N datasets of the bench tree (benchmarks/_tree.py: 6 series × 8 levels × 3
replicates, 4 metrics, a quantification; ~50 kB each) and, in this one process, times
`pipeline.validate_file(path, options, display, keep_quantities=False)` — what
`mpistd validate` calls per dataset — with `time.process_time()` (CPU time, so the other
users of a shared machine disturb it little). The floor is measured in the same run on the same
files: reading the bytes and `json.loads`. Every pass is repeated; the script prints the median
and the spread (min–max) of each figure.

A second, instrumented pass wraps the stages to say where the time goes:
read (`read_document`), schema (`schema.check_document` + `check_references`),
model (`parse_dataset`, or the typed view `view_dataset` where the pipeline uses it), quantities (`compute_quantities`), rules (the pipeline's loop over the
rules: every check, drained, and the emitting of its hits), describe (`comparability.describe`), and the rest (emitting, sorting, the result).
The wrappers cost a little, so the instrumented total is a bit above the plain one.

With ``--base REV`` the same measurement is first run on that commit's ``mpistd/`` (extracted
with ``git archive`` into a temporary folder, as benchmarks/compare_outputs.py does; no worktree
is touched), in a separate process, so that before and after are printed by one command.

    python benchmarks/bench_dataset.py [--n 200] [--repeat 5] [--keep-quantities] [--per-rule] [--base 34153e6]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tree import extract_base, write_tree  # noqa: E402

STAGES = ("read", "schema", "model", "quantities", "rules", "describe", "rest")


def floor_pass(paths: list[Path]) -> float:
    t = time.process_time()
    for p in paths:
        json.loads(p.read_bytes())
    return (time.process_time() - t) / len(paths)


def plain_pass(paths: list[Path], options: Any, keep: bool) -> float:
    from mpistd.pipeline import validate_file

    t = time.process_time()
    for p in paths:
        r = validate_file(p, options, p.name, keep_quantities=keep)
        if r.status == "internal_error":
            raise SystemExit(f"internal error on {p}: {r.error}")
    return (time.process_time() - t) / len(paths)


class _Timed:
    """Patches module attributes with wrappers adding their CPU time to a stage."""

    def __init__(self) -> None:
        self.spent = dict.fromkeys(STAGES, 0.0)
        self.by_rule: dict[str, float] = {}
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, module: Any, name: str, stage: str) -> None:
        original = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.spent[stage] += time.process_time() - t

        self._undo.append((module, name, original))
        setattr(module, name, timed)

    def wrap_rules(self, registry: Any) -> None:
        """The rules stage: from the first rule the pipeline asks of ``registry.checks()`` to the
        end of its loop over them (every check, drained, and the emitting of its hits), with
        one pair of clock readings per dataset. (Timing each rule apart, as this script did
        first, cost about 0.1 ms per dataset of wrappers and clock readings, counted in
        rules and rest.)"""
        original = registry.checks
        spent = self.spent

        def checks(*args: Any, **kwargs: Any) -> Iterator[Any]:
            t = time.process_time()
            try:
                yield from original(*args, **kwargs)
            finally:
                spent["rules"] += time.process_time() - t

        self._undo.append((registry, "checks", original))
        registry.checks = checks

    def wrap_each_rule(self, registry: Any) -> None:
        """--per-rule: each rule's check timed apart (drained), its time also kept by rule id;
        the wrappers cost about 0.1 ms per dataset (in rules and rest)."""
        original = registry.checks
        spent, by_rule = self.spent, self.by_rule

        class Rule:
            def __init__(self, rule: Any) -> None:
                self.id = rule.id
                self._check = rule.check

            def check(self, ctx: Any) -> list[Any]:
                t = time.process_time()
                try:
                    return list(self._check(ctx))
                finally:
                    dt = time.process_time() - t
                    spent["rules"] += dt
                    by_rule[self.id] = by_rule.get(self.id, 0.0) + dt

        def checks(*args: Any, **kwargs: Any) -> list[Any]:
            return [Rule(r) for r in original(*args, **kwargs)]

        self._undo.append((registry, "checks", original))
        registry.checks = checks

    def undo(self) -> None:
        for module, name, original in reversed(self._undo):
            setattr(module, name, original)


def staged_pass(paths: list[Path], options: Any, keep: bool, per_rule: bool = False,
                by_rule: dict[str, float] | None = None) -> dict[str, float]:
    import mpistd.comparability as comparability
    import mpistd.pipeline as pipeline
    import mpistd.quantities as quantities
    import mpistd.rules.registry as registry
    import mpistd.standard.model as model
    import mpistd.standard.references as references
    import mpistd.standard.schema as schema

    timer = _Timed()
    timer.wrap(pipeline, "read_document", "read")
    timer.wrap(schema, "check_document", "schema")
    timer.wrap(references, "check_references", "schema")
    timer.wrap(model, "parse_dataset", "model")
    try:  # the plain typed view that replaced the model for loaded files (absent in older bases)
        import mpistd.standard.view as view

        timer.wrap(view, "view_dataset", "model")
    except ImportError:
        pass
    timer.wrap(quantities, "compute_quantities", "quantities")
    timer.wrap(comparability, "describe", "describe")
    if per_rule:
        timer.wrap_each_rule(registry)
    else:
        timer.wrap_rules(registry)
    try:
        t = time.process_time()
        for p in paths:
            pipeline.validate_file(p, options, p.name, keep_quantities=keep)
        total = time.process_time() - t
    finally:
        timer.undo()
    if by_rule is not None:
        for k, v in timer.by_rule.items():
            by_rule[k] = by_rule.get(k, 0.0) + v / len(paths)
    out = {k: v / len(paths) for k, v in timer.spent.items()}
    out["rest"] = total / len(paths) - sum(out.values())
    out["total"] = total / len(paths)
    return out


def _fmt(values: list[float], scale: float = 1e3) -> str:
    med = statistics.median(values)
    return f"{med * scale:7.3f} ({min(values) * scale:.3f}–{max(values) * scale:.3f})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep-quantities", action="store_true",
                    help="also turn the quantities into plain data (what --format json does)")
    ap.add_argument("--per-rule", action="store_true",
                    help="time each rule apart in the instrumented pass (costlier) and list the slowest")
    ap.add_argument("--base", help="also measure this commit's mpistd/ first (git archive, separate process)")
    ap.add_argument("--code", help=argparse.SUPPRESS)  # internal: import mpistd from this folder
    args = ap.parse_args()
    if args.base:
        _run_base(args)
    if args.code:
        sys.path.insert(0, args.code)
    import mpistd

    print(f"mpistd from {Path(mpistd.__file__).parent}")
    from mpistd.config import Options

    options = Options()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_tree(Path(tmp), args.n)
        plain_pass(paths[: min(20, len(paths))], options, args.keep_quantities)  # warm up: imports, schema
        floors, totals, ratios = [], [], []
        stages: dict[str, list[float]] = {k: [] for k in (*STAGES, "total")}
        by_rule: dict[str, float] = {}
        for _ in range(args.repeat):
            f = floor_pass(paths)
            v = plain_pass(paths, options, args.keep_quantities)
            floors.append(f)
            totals.append(v)
            ratios.append(v / f)
            for k, x in staged_pass(paths, options, args.keep_quantities, args.per_rule, by_rule).items():
                stages[k].append(x)
    print(f"{args.n} datasets, {args.repeat} passes; CPU ms per dataset: median (min–max)")
    print(f"  floor (read + json.loads) {_fmt(floors)}")
    print(f"  validate_file             {_fmt(totals)}")
    print(f"  ratio to the floor        {statistics.median(ratios):7.2f} ({min(ratios):.2f}–{max(ratios):.2f})")
    print("  by stage (instrumented pass):")
    total = statistics.median(stages["total"])
    for k in (*STAGES, "total"):
        share = statistics.median(stages[k]) / total * 100
        print(f"    {k:<11} {_fmt(stages[k])}  {share:5.1f} %")
    if by_rule:
        print("  slowest rules (mean over the passes, ms per dataset):")
        for rule_id, v in sorted(by_rule.items(), key=lambda kv: -kv[1])[:10]:
            print(f"    {rule_id}  {v / args.repeat * 1e3:.4f}")


def _run_base(args: argparse.Namespace) -> None:
    import subprocess

    with tempfile.TemporaryDirectory() as tmp:
        extract_base(args.base, Path(tmp))
        cmd = [sys.executable, str(Path(__file__).resolve()), "--n", str(args.n), "--repeat", str(args.repeat),
               "--code", tmp] + (["--keep-quantities"] if args.keep_quantities else []) \
            + (["--per-rule"] if args.per_rule else [])
        print(f"--- base {args.base}")
        sys.stdout.flush()
        subprocess.run(cmd, check=True, cwd=tmp)
    print("--- this checkout")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
