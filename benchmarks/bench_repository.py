"""Time and peak memory of the repository summary step, at 1,000 and 10,000 datasets (issue 18).

The summary reads only the per-dataset JSON results, so the benchmark feeds it generated
results directly (validating 10,000 datasets would take this machine many minutes): several
labs, tracers, scanners, modes and designs, with a lognormal lab scatter and some injected
outliers, each dataset's entry shaped exactly like ``mpistd validate --format json`` writes it
(``repository`` block and verdict; ``quantities`` left null, which the summary never reads).

Each size runs in a fresh process that loads the JSON text, then times the summary step
(analysis, the repository rules on the results, the summary, its JSON) and reports the peak
RSS of the process, and the memory the step itself allocates at its peak (tracemalloc, in a second,
traced run of the same step; the RSS of a Python process hides a step's growth inside memory freed
by the JSON parse). Printed as ratios to the 1,000-dataset run in the
same invocation: linear growth shows as ratios near 10 for 10× the datasets.

    python benchmarks/bench_repository.py [--sizes 1000,10000]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TRACERS = [("ProMag", "Bangs Laboratories", "PMC1N", 212.0), ("VivoTrax", None, None, 75.0),
           ("Synomag-D", "micromod", "104-00-501", 380.0), ("Perimag", "micromod", "102-00-132", 150.0)]
SCANNERS = [("Magnetic Insight", "Momentum"), ("Bruker", "MPI 25/20 FF"), ("Magnetic Insight", "MOMENTUM HR")]
MODES = [("high_sensitivity", 3.0), ("high_resolution", 5.7)]


def result(i: int, rng) -> dict:
    t = TRACERS[i % len(TRACERS)]
    s = SCANNERS[(i // 4) % len(SCANNERS)]
    mode = MODES[(i // 12) % len(MODES)]
    lab = f"Lab {i % 40}"
    factor = math.exp(rng.uniform(-0.05, 0.05)) * (0.5 if i % 97 == 0 else 1.0)
    series = []
    for k, method in enumerate(("fixed_concentration", "fixed_volume") if i % 5 == 0 else ("fixed_concentration",)):
        slope = t[3] * factor * (0.7 if method == "fixed_volume" else 1.0)
        series.append({
            "pointer": f"/calibrations/{k}", "id": f"series-{k}", "method": method, "independent_variable": "iron_mass_ug",
            "tracer": {"name": t[0], "vendor": t[1], "product_code": t[2]},
            "scanner": {"manufacturer": s[0], "model": s[1]},
            "acquisition": {"mode": mode[0], "dimensionality": "2d", "gradient_T_per_m": mode[1],
                            "drive_frequency_kHz": 45.0, "drive_amplitude_mT": {"x": 20.0, "z": 26.0}},
            "analysis_software": {"name": "Magnetic Insight", "version": "1.4"}, "threshold_k": 5.0,
            "environment": {"kind": "solution", "cell_type": None},
            "fits": [{"metric": m, "pointer": f"/calibrations/{k}/fits/{j}", "slope": slope * (9.5 if j else 1.0),
                      "r_squared": 0.999, "detection_limit": 0.5, "n": 18, "line": 100 + 40 * k + j, "column": 9,
                      "rules": {r: {"severity": "info"} for r in ("MPI060", "MPI061", "MPI062")}}
                     for j, m in enumerate(("max_intensity", "total_intensity"))],
        })
    return {"path": f"lab{i % 40}/ds{i:05d}.mpical.json", "sha256": "0" * 64, "schema_version": "1.0",
            "title": f"dataset {i}", "verdict": "conformant", "counts": {"error": 0, "warning": 0, "info": 0},
            "findings": [], "suppressed": [], "quantities": None,
            "repository": {"format": 1, "dataset_id": f"ds{i}", "lab": lab, "limits_method": "din32645",
                           "series": series}}


CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
from mpistd.merge import dataset_from_dict
from mpistd.repository import analyse, apply_rules, entries_from_results, summary, summary_json
data = json.loads(open(sys.argv[1], encoding="utf-8").read())
results = [dataset_from_dict(d, "bench") for d in data]
del data
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
apply_rules(results)
analysis = analyse(entries_from_results(results))
text = summary_json(summary(analysis, tool_version="bench", schema_version="1.0"))
elapsed = time.perf_counter() - t
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
del analysis, text
import tracemalloc  # the step again (idempotent: earlier repository findings are dropped first), traced
tracemalloc.start()
apply_rules(results)
analysis = analyse(entries_from_results(results))
text = summary_json(summary(analysis, tool_version="bench", schema_version="1.0"))
traced = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps({"seconds": elapsed, "rss_kib": rss1, "added_kib": traced // 1024, "groups": len(analysis.groups),
                  "outliers": text.count('"MPI060"'), "bytes": len(text)}))
"""


def run(n: int, folder: Path) -> dict:
    import numpy as np

    rng = np.random.default_rng(n)
    path = folder / f"results-{n}.json"
    path.write_text(json.dumps([result(i, rng) for i in range(n)]), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path), str(ROOT)], capture_output=True, text=True,
                          check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000")
    sizes = [int(s) for s in ap.parse_args().sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        rows = [(n, run(n, Path(tmp))) for n in sizes]
    base_n, base = rows[0]
    print(f"{'datasets':>9} {'groups':>6} {'outliers':>8} {'summary s':>10} {'peak RSS MiB':>12} {'step MiB':>9} "
          f"{'time ratio':>10} {'step-memory ratio':>17}  (ratios to {base_n}; linear = x{sizes[-1] // base_n})")
    for n, r in rows:
        print(f"{n:>9} {r['groups']:>6} {r['outliers']:>8} {r['seconds']:>10.3f} {r['rss_kib'] / 1024:>12.1f} "
              f"{r['added_kib'] / 1024:>9.1f} {r['seconds'] / base['seconds']:>10.2f} "
              f"{(r['added_kib'] / max(base['added_kib'], 1)):>17.2f}")


if __name__ == "__main__":
    main()
