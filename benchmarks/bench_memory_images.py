"""Peak memory of the image re-quantification (issue 11, item 3).

    python benchmarks/bench_memory_images.py [--mib 24] [--replicates 18]

Writes one uint8 .npy image of --mib MiB (a Lorentzian line above the base threshold on a
zero background) and two copies of the conformance suite's clean dataset whose first
point's replicates all use it: one with 1 replicate, one with --replicates. Each is
validated in its own subprocess, which reports its peak RSS (resource.getrusage,
ru_maxrss). Goal: peak(N) ≤ peak(1) + 2 × the image's decoded size.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import resource, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from mpistd.config import Options
from mpistd.pipeline import validate_file
r = validate_file(Path(sys.argv[1]), Options(), "bench")
codes = sorted({f.rule for f in r.findings})
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, ",".join(codes))
"""


def _base() -> dict:
    import importlib.util

    spec = importlib.util.spec_from_file_location("base", ROOT / "reference_data/conformance/base.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.base()


def _image(mib: int) -> np.ndarray:
    nx = 4096
    nz = mib * 2**20 // nx
    img = np.zeros((nz, nx), dtype=np.uint8)
    u = (np.arange(nx) - nx // 2) / 8.0
    img[nz // 2] = np.round(250.0 / (1.0 + u * u)).astype(np.uint8)
    return img


def _dataset(folder: Path, n: int, sha: str) -> Path:
    doc = _base()
    point = doc["calibrations"][0]["points"][0]
    rep = dict(point["replicates"][0])
    rep["image"] = {"path": "big.npy", "format": "npy", "sha256": sha, "pixel_size_mm": {"z": 0.5, "x": 0.5}}
    point["replicates"] = [dict(rep) for _ in range(n)]
    path = folder / f"rep{n}.mpical.json"
    path.write_text(json.dumps(doc))
    return path


def _peak_kib(path: Path) -> tuple[int, str]:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(ROOT)], capture_output=True, text=True,
                         check=True)
    kib, codes = out.stdout.split()[-2:] if len(out.stdout.split()) > 1 else (out.stdout.split()[0], "")
    return int(kib), codes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=24)
    ap.add_argument("--replicates", type=int, default=18)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        img = _image(args.mib)
        np.save(folder / "big.npy", img)
        sha = hashlib.sha256((folder / "big.npy").read_bytes()).hexdigest()
        decoded_mib = img.nbytes / 2**20
        one, codes1 = _peak_kib(_dataset(folder, 1, sha))
        many, codes_n = _peak_kib(_dataset(folder, args.replicates, sha))
    goal = one / 1024 + 2 * decoded_mib
    print(f"image: {img.shape} uint8, decoded {decoded_mib:.1f} MiB")
    print(f"peak RSS, 1 replicate:   {one / 1024:8.1f} MiB   (findings: {codes1 or 'none'})")
    print(f"peak RSS, {args.replicates} replicates: {many / 1024:8.1f} MiB   (findings: {codes_n or 'none'})")
    print(f"goal: ≤ 1 replicate + 2 × decoded = {goal:.1f} MiB -> {'met' if many / 1024 <= goal else 'NOT met'} "
          f"(growth {(many - one) / 1024:+.1f} MiB = {(many - one) / 1024 / decoded_mib:+.2f} × decoded)")


if __name__ == "__main__":
    main()
