"""Generate tests/fixtures/gitignore-cases.json: what `git check-ignore` says for each (glob, path).

mpistd's `exclude` and `[[overrides]] paths` globs follow gitignore semantics (through pathspec);
this table is their reference, taken from git itself. Run once (needs git) and commit the output:

    python scripts/gitignore_cases.py > tests/fixtures/gitignore-cases.json
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

PATTERNS = [
    "legacy/**", "**/z.mpical.json", "*.mpical.yaml", "legacy/", "legacy", "/top.mpical.json", "a/*.json",
    "a/**/b.json", "**/legacy/**", "scratch", "data/in-vivo/**", "conformance/**", "*/x.mpical.json",
    "a/b", "?.mpical.json", "[ab]/*.json", "**",
]
PATHS = [
    "legacy/x.mpical.json", "legacy/deep/y.mpical.json", "a/legacy/x.mpical.json", "z.mpical.json",
    "a/z.mpical.json", "a/b/z.mpical.json", "x.mpical.yaml", "a/x.mpical.yaml", "top.mpical.json",
    "a/top.mpical.json", "a/b.json", "a/c/b.json", "a/b/c/b.json", "scratch/x.mpical.json",
    "a/scratch/x.mpical.json", "data/in-vivo/m1.mpical.json", "data/in-vivo/deep/m2.mpical.json",
    "conformance/MPI010-fires.mpical.json", "b/x.mpical.json", "q.mpical.json", "legacy.mpical.json",
]


def main() -> None:
    version = subprocess.run(["git", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        for p in PATHS:
            (repo / p).parent.mkdir(parents=True, exist_ok=True)
            (repo / p).write_text("{}\n")
        for pattern in PATTERNS:
            (repo / ".gitignore").write_text(pattern + "\n")
            proc = subprocess.run(["git", "-C", str(repo), "check-ignore", "--no-index", "--stdin", "-v", "-n"],
                                  input="\n".join(PATHS) + "\n", capture_output=True, text=True)
            for line in proc.stdout.splitlines():
                source, _, path = line.partition("\t")
                cases.append({"pattern": pattern, "path": path, "ignored": bool(source.split(":")[0])})
    json.dump({"source": f"git check-ignore --no-index -v -n ({version}), scripts/gitignore_cases.py",
               "cases": cases}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
