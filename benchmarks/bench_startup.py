"""Start-up cost: `mpistd validate` on one reference dataset against the floor of its own
necessary imports, `python -c "import numpy, pydantic, jsonschema, scipy.special"`, both measured
in this run (best of N, the commands interleaved so that a burst of load on a shared machine
hits all of them alike).

Then, in this process, the per-dataset cost of reading a document into typed objects, CPU time
per dataset of the benchmark tree (benchmarks/_tree.py, about 50 kB each): the pydantic model
(`parse_dataset`, what the pipeline built before) against the plain typed view
(`view_dataset`, what it builds now for a loaded, schema-valid document), best of N passes,
interleaved.

    python benchmarks/bench_startup.py [--n 9] [--datasets 50]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "reference_data" / "conformance" / "clean.mpical.json"
FLOOR = "import numpy, pydantic, jsonschema, scipy.special"


def compile_bytecode() -> None:
    """Byte-compile mpistd first, as an installed package is (pip compiles on install): with
    PYTHONDONTWRITEBYTECODE set, a source checkout would otherwise be compiled on every run."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "mpistd")], check=True,
                   stdout=subprocess.DEVNULL)


def once(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds user + system) of one run of cmd."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    # cwd: `python -m mpistd` imports from the working directory before PYTHONPATH, so a run from
    # another checkout's folder would time that checkout's code
    subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def parse_costs(n: int, datasets: int) -> dict[str, float]:
    """CPU seconds per dataset of the tree for the pydantic model and the typed view."""
    import json

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _tree import dataset

    from mpistd.load.documents import parse_bytes
    from mpistd.standard.model import parse_dataset
    from mpistd.standard.view import view_dataset

    docs = [parse_bytes(json.dumps(dataset(seed), indent=2).encode()).data for seed in range(datasets)]
    builders = {"parse_dataset (pydantic model)": parse_dataset, "view_dataset (typed view)": view_dataset}
    best = {k: float("inf") for k in builders}
    for build in builders.values():  # the first call builds pydantic's validator: not counted
        build(docs[0])
    for _ in range(n):
        for key, build in builders.items():
            t = time.process_time()
            for doc in docs:
                build(doc)
            best[key] = min(best[key], (time.process_time() - t) / len(docs))
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=9)
    ap.add_argument("--datasets", type=int, default=50)
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # the command line runs BLAS on one thread (mpistd.cli.single_threaded_blas) and numpy's
    # import then starts no thread pool: the floor is measured the same way, or it would carry
    # a cost mpistd does not have (about 10 ms of wall clock and 200 ms of CPU here)
    sys.path.insert(0, str(ROOT))
    from mpistd.cli import BLAS_THREAD_VARIABLES

    for name in BLAS_THREAD_VARIABLES:
        env.setdefault(name, "1")
    compile_bytecode()
    commands = {
        "floor": [sys.executable, "-c", FLOOR],
        "version": [sys.executable, "-m", "mpistd", "--version"],
        "validate": [sys.executable, "-m", "mpistd", "validate", str(DATASET)],
    }
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in commands}
    for _ in range(args.n):
        for key, cmd in commands.items():
            times[key].append(once(cmd, env))
    wall = {k: min(w for w, _ in v) for k, v in times.items()}
    cpu = {k: min(c for _, c in v) for k, v in times.items()}
    print(f"best of {args.n}, wall clock (CPU time user+system in brackets: steadier on a shared machine); "
          + ", ".join(f"{v}={env[v]}" for v in BLAS_THREAD_VARIABLES) + " for every command")
    labels = {"floor": f"floor  {FLOOR}", "version": "mpistd --version", "validate": "mpistd validate clean.mpical.json"}
    for key, label in labels.items():
        ratio = "" if key == "floor" else f" = {wall[key] / wall['floor']:.2f}x the floor"
        cratio = "" if key == "floor" else f" = {cpu[key] / cpu['floor']:.2f}x"
        print(f"{label:<58}: {wall[key] * 1000:5.0f} ms{ratio}  [{cpu[key] * 1000:4.0f} ms{cratio}]")
    costs = parse_costs(args.n, args.datasets)
    model_cost = costs["parse_dataset (pydantic model)"]
    print(f"\nper dataset of the benchmark tree, in one process, CPU (best of {args.n} passes over {args.datasets})")
    for label, cost in costs.items():
        print(f"{label:<58}: {cost * 1000:6.3f} ms = {cost / model_cost:.2f}x the pydantic model")

if __name__ == "__main__":
    main()
