"""Start-up cost: `mpistd validate` on one reference dataset against the floor of its own
necessary imports, `python -c "import numpy, pydantic, jsonschema, scipy.special"`, both measured
in this run (best of N, the commands interleaved so that a burst of load on a shared machine
hits all of them alike).

    python benchmarks/bench_startup.py [--n 9]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "reference_data" / "conformance" / "clean.mpical.json"
FLOOR = "import numpy, pydantic, jsonschema, scipy.special"


def once(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=9)
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    commands = {
        "floor": [sys.executable, "-c", FLOOR],
        "version": [sys.executable, "-m", "mpistd", "--version"],
        "validate": [sys.executable, "-m", "mpistd", "validate", str(DATASET)],
    }
    times: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(args.n):
        for key, cmd in commands.items():
            times[key].append(once(cmd, env))
    floor, version, validate = (min(times[k]) for k in ("floor", "version", "validate"))
    print(f"floor  {FLOOR} : {floor * 1000:6.0f} ms")
    print(f"mpistd --version                                  : {version * 1000:6.0f} ms "
          f"({version / floor:.2f}x the floor)")
    print(f"mpistd validate clean.mpical.json                 : {validate * 1000:6.0f} ms "
          f"({validate / floor:.2f}x the floor)")


if __name__ == "__main__":
    main()
