"""Datasets per second and peak memory on a generated repository tree (issue: CI integration).

Generates N datasets of ~50 kB (6 series × 8 levels × 3 replicates, 4 metrics, no images) and
times `mpistd validate TREE --jobs 1` and `--jobs 2` end to end (process start included),
against the floor measured in the same run: a Python process that only reads and json-parses
the same files. Peak memory (max RSS of mpistd and its workers) is measured for 100 and for N
datasets (or --rss-n), to show it does not grow with the count. On a shared machine the
parallel run can only be as fast as the cores it gets: the run first times a pure-Python task
in one process and in two, and prints how much faster two were, so a --jobs 2 ratio can be read
against the capacity that was really there. Each mpistd run also reports the CPU time of its
parent process and of its workers apart (resource.getrusage in the process that runs mpistd:
RUSAGE_SELF and RUSAGE_CHILDREN), per dataset, which other users of the machine disturb less
than the wall clock; and the bytes a worker sends back per dataset (the pickled result).

    python benchmarks/bench_tree.py [--n 1000] [--rss-n 10000] [--repeat 2]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tree import write_tree  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


#: runs mpistd's command line in this process and, at exit, writes its own CPU time and its
#: workers' (children's) to stderr
WRAPPER = ("import atexit,os,resource,sys\n"
           "def _cpu():\n"
           "    s=resource.getrusage(resource.RUSAGE_SELF); c=resource.getrusage(resource.RUSAGE_CHILDREN)\n"
           "    os.write(2, ('\\nBENCH-CPU %r %r %r\\n' % (s.ru_utime+s.ru_stime, c.ru_utime+c.ru_stime, "
           "s.ru_maxrss)).encode())\n"
           "atexit.register(_cpu)\n"
           "sys.argv=['mpistd',*sys.argv[1:]]\n"
           "from mpistd.cli import main\n"
           "main()\n")


def timed(cmd: list[str], env: dict) -> tuple[float, int, int, tuple[float, float, int] | None]:
    """(wall s, exit code, peak RSS KiB, (parent CPU s, workers' CPU s, parent peak RSS KiB) of a WRAPPER run)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cpu = None
    for line in proc.stderr.splitlines():
        if line.startswith("BENCH-CPU "):
            parent, workers, rss = line.split()[1:]
            cpu = (float(parent), float(workers), int(rss))
    return elapsed, proc.returncode, max(peak, before), cpu


def bytes_per_result(files: list[Path], count: int = 20) -> tuple[float, float]:
    """Mean pickled bytes a worker sends back per dataset (what the run sends with the default
    output: mpistd.store.Packed), and of the whole DatasetResult (what was sent before)."""
    import pickle

    sys.path.insert(0, str(ROOT))
    from mpistd.collect import collect
    from mpistd.config import Options
    from mpistd.pipeline import _work, validate_file

    jobs = collect(files[:count], Options(), None)
    sent = [len(pickle.dumps(_work(j, keep_quantities=False, reproducible=False, token="bench", packed=False),
                             protocol=pickle.HIGHEST_PROTOCOL)) for j in jobs]
    whole = [len(pickle.dumps(validate_file(j.path, j.options, j.display, keep_quantities=False),
                              protocol=pickle.HIGHEST_PROTOCOL)) for j in jobs]
    return sum(sent) / len(sent), sum(whole) / len(whole)


def compile_bytecode() -> None:
    """Byte-compile mpistd first, as an installed package is (pip compiles on install): with
    PYTHONDONTWRITEBYTECODE set, a source checkout would otherwise be compiled on every run."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "mpistd")], check=True,
                   stdout=subprocess.DEVNULL)


def peak_rss_kib(cmd: list[str], env: dict) -> int:
    # a fresh measuring process, so an earlier larger child does not mask this one's peak
    probe = ("import resource,subprocess,sys;subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL);"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], env=env, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1])


def _burn(n: int) -> int:
    s = 0
    for i in range(n):
        s += i * i
    return s


def parallel_capacity() -> float:
    """How many times faster two processes do 4 equal CPU-bound tasks than one (2.0: two free cores)."""
    from concurrent.futures import ProcessPoolExecutor

    work = [2_000_000] * 4
    t = time.perf_counter()
    for w in work:
        _burn(w)
    serial = time.perf_counter() - t
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_burn, [1000, 1000]))  # start the workers before timing
        t = time.perf_counter()
        list(pool.map(_burn, work))
        parallel = time.perf_counter() - t
    return serial / parallel


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--rss-n", type=int, default=None, help="datasets of the larger memory run (default: --n)")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each command; the best is reported")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    compile_bytecode()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "tree"
        files = write_tree(root, args.n)
        size = sum(f.stat().st_size for f in files) / len(files)
        print(f"{args.n} datasets, {size / 1024:.1f} kB each on average")
        floor_code = ("import json,pathlib,sys;[json.loads(p.read_text()) for p in "
                      "sorted(pathlib.Path(sys.argv[1]).rglob('*.mpical.json'))]")
        print(f"parallel capacity now: 2 processes ran {parallel_capacity():.2f}x as fast as 1 on a CPU-bound task")
        floor = min(timed([sys.executable, "-c", floor_code, str(root)], env)[0] for _ in range(3))
        print(f"floor (read + json.loads in one process): {floor:.2f} s = {args.n / floor:,.0f} datasets/s")
        base = [sys.executable, "-c", WRAPPER, "validate", str(root)]
        for jobs in (1, 2):
            runs = [timed(base + ["--jobs", str(jobs)], env) for _ in range(args.repeat)]
            best = min(r[0] for r in runs)
            codes = {r[1] for r in runs}
            if max(codes) > 1:  # a failed run's time is not mpistd's speed (e.g. a Python without mpistd's dependencies)
                sys.exit(f"mpistd --jobs {jobs} exited {sorted(codes)}: not a measurement; run "
                         f"'mpistd validate {root}' with this Python ({sys.executable}) to see why")
            print(f"mpistd --jobs {jobs}: {best:.2f} s = {args.n / best:,.0f} datasets/s "
                  f"({best / floor:.1f}x the floor; exit {sorted(codes)})")
            for k, r in enumerate(runs):
                if r[3] is not None:
                    parent, workers, rss = r[3]
                    print(f"    run {k + 1}: {r[0]:.2f} s wall; CPU parent {parent:.2f} s "
                          f"({parent / args.n * 1000:.2f} ms/dataset), workers {workers:.2f} s "
                          f"({workers / args.n * 1000:.2f} ms/dataset); parent peak RSS {rss / 1024:.0f} MiB")
        sent, whole = bytes_per_result(files)
        print(f"bytes a worker sends back per dataset: {sent:,.0f} (the whole DatasetResult pickled: {whole:,.0f})")
        small_root = Path(tmp) / "small"
        write_tree(small_root, 100)
        big_n = args.rss_n or args.n
        big_root = root
        if big_n != args.n:
            big_root = Path(tmp) / "big"
            write_tree(big_root, big_n)
        peaks: list[int] = []
        for label, tree in (("100", small_root), (str(big_n), big_root)):
            rss = peak_rss_kib([sys.executable, "-m", "mpistd", "validate", str(tree), "--jobs", "2"], env)
            peaks.append(rss)
            print(f"peak RSS, {label} datasets, --jobs 2: {rss / 1024:.0f} MiB")
        print(f"peak RSS, {big_n} vs 100 datasets: {peaks[1] / peaks[0]:.2f}x")


if __name__ == "__main__":
    main()
