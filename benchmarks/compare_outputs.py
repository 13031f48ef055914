"""Results unchanged: byte-for-byte comparison of `mpistd validate --format json --reproducible`
(and, with --formats, of the other output formats: text, sarif, junit) between this checkout and a base commit (default: 1b0ea92, the merge base of the second speed
pass; the first pass used 423df08).

The base commit's `mpistd/` is extracted with `git archive` into a temporary folder (no worktree
is touched) and both versions validate the same inputs with the same interpreter: the generated
benchmark tree (benchmarks/_tree.py) and, with --reference, the conformance vectors and the
corpus. Exits 1 and names the first differing line when the outputs differ.

    python benchmarks/compare_outputs.py [--base 1b0ea92] [--n 200] [--reference] [--formats json,sarif,junit,text]
                                         [--jobs N]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tree import extract_base, write_tree  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def run(code_root: Path, targets: list[Path], cwd: Path, fmt: str = "json",
        jobs: int | None = None) -> tuple[bytes, int]:
    # cwd is a neutral folder: `python -m` puts it first on sys.path, so it must hold no mpistd
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    env.pop("FORCE_COLOR", None)  # the text output without colour (stdout is not a terminal)
    extra = ["--jobs", str(jobs)] if jobs is not None else []
    proc = subprocess.run([sys.executable, "-m", "mpistd", "validate", *map(str, targets), "--format", fmt,
                           "--reproducible", *extra], env=env, cwd=cwd, capture_output=True)
    return proc.stdout, proc.returncode


def first_difference(a: bytes, b: bytes) -> str:
    la, lb = a.decode().splitlines(), b.decode().splitlines()
    for i, (x, y) in enumerate(zip(la, lb), 1):
        if x != y:
            return f"line {i}:\n  base: {x.strip()[:200]}\n  this: {y.strip()[:200]}"
    return f"one output is a prefix of the other ({len(la)} vs {len(lb)} lines)"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="1b0ea92")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--reference", action="store_true",
                    help="also compare over reference_data/conformance and reference_data/corpus")
    ap.add_argument("--formats", default="json",
                    help="comma-separated output formats to compare (json, text, sarif, junit); default json")
    ap.add_argument("--jobs", type=int, default=None, help="pass --jobs N to both versions (default: mpistd's)")
    args = ap.parse_args()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        base_root = Path(tmp) / "base"
        extract_base(args.base, base_root)
        tree = Path(tmp) / "tree"
        write_tree(tree, args.n)
        sets = [("benchmark tree", [tree], Path(tmp))]
        if args.reference:
            for name in ("conformance", "corpus"):
                folder = ROOT / "reference_data" / name
                if folder.is_dir():
                    sets.append((f"reference_data/{name}", [folder], Path(tmp)))
        for label, targets, cwd in sets:
            for fmt in formats:
                old, old_code = run(base_root, targets, cwd, fmt, args.jobs)
                new, new_code = run(ROOT, targets, cwd, fmt, args.jobs)
                same = old == new and old_code == new_code
                failed |= not same
                kind = "JSON" if fmt == "json" else fmt
                print(f"{label}: {len(new):,} bytes of {kind}, exit {old_code} (base) / {new_code} (this): "
                      f"{'identical' if same else 'DIFFERENT'}")
                if not same and old != new:
                    print(first_difference(old, new))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
