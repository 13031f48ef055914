"""A generated tree of datasets like a shared repository's: 6 series × 8 levels × 3 replicates each
(about 50 kB of JSON per dataset with two-space indentation, no images), all conformant, with small seeded noise."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference_data" / "conformance"))
from base import base  # noqa: E402


def dataset(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    doc = base()
    doc["dataset"]["id"] = f"bench-{seed}"
    template = doc["calibrations"][0]
    cals = []
    for s in range(6):
        conc = [0.78, 1.55, 3.1][s % 3]
        points = []
        for i in range(8):
            v = 2.0 + 2.0 * i
            m = round(conc * v, 4)
            y = 14.0 + 212.0 * m
            reps = []
            for off in (-20.0, 0.0, 20.0):
                val = round(y + off + float(rng.normal(0, 3)), 3)
                reps.append({"max_intensity": val, "total_intensity": round(9.5 * val, 3),
                             "mean_intensity": round(val / 4.0, 3), "roi_area_mm2": round(38.0 + float(rng.normal(0, 0.2)), 3),
                             "fwhm_mm": round(8.0 + float(rng.normal(0, 0.05)), 4), "holder_position": "3"})
            points.append({"sample_id": f"S{s}-{i}", "iron_mass_ug": m, "iron_mass_method": "icp-oes",
                           "volume_uL": v, "concentration_ug_per_uL": conc, "replicates": reps})
        x = np.array([p["iron_mass_ug"] for p in points for _ in p["replicates"]])
        yv = np.array([r["max_intensity"] for p in points for r in p["replicates"]])
        b, a = np.polyfit(x, yv, 1)
        r2 = 1 - np.sum((yv - a - b * x) ** 2) / np.sum((yv - yv.mean()) ** 2)
        cal = json.loads(json.dumps(template))
        cal.update(id=f"series-{s}", points=points)
        cal["fits"][0].update(slope=round(float(b), 6), intercept=round(float(a), 6), r_squared=round(float(r2), 6))
        cals.append(cal)
    doc["calibrations"] = cals
    q = doc["quantifications"][0]
    q["calibration"] = "series-0"
    b0 = cals[0]["fits"][0]
    q["reported"]["iron_mass_ug"] = round((sum(q["signal"]) / 3 - b0["intercept"]) / b0["slope"], 4)
    return doc


def write_tree(root: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        p = root / f"lab{i % 10}" / f"ds{i:05d}.mpical.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(dataset(i), indent=2))
        paths.append(p)
    return paths


def extract_base(commit: str, dest: Path) -> None:
    """That commit's ``mpistd/`` and ``schemas/``, extracted into ``dest`` with ``git archive`` (no
    worktree is touched): the "before" of the benchmarks' --base and of compare_outputs.py."""
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", commit, "mpistd", "schemas"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
