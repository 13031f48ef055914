"""Repository-level conformance vectors: a folder of datasets and the findings of one run over it.

The repository rules (MPI060–MPI069) judge a dataset against the other datasets of a run, so
their vectors are folders: ``repository/NAME/*.mpical.json`` beside
``repository/NAME/repository-expected.json``, which lists every finding (file, rule,
severity, pointer) that ``mpistd validate repository/NAME`` must produce, per-dataset ones
included — written by hand from the construction below, never by running mpistd.

Every dataset is the clean base with its signals multiplied by a factor (the recomputed
sensitivity is 212 a.u./µg Fe × factor, exactly), built by reference_data/repository/generate.py.

    python reference_data/conformance/repository_vectors.py          # write
    python reference_data/conformance/repository_vectors.py --check  # exit 1 if anything is stale
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "repository"))
from generate import scaled_dataset  # noqa: E402

ROOT = HERE / "repository"
P, V = "promag", "vivotrax"


def _ds(name: str, series: list[tuple[str, float, bool]]) -> tuple[str, dict]:
    doc = scaled_dataset(name, f"lab of {name}", [{"tracer": t, "acquisition": "hs", "factor": f, "decreasing": d}
                                                  for t, f, d in series])
    return f"{name}.mpical.json", doc


def vectors() -> list[dict]:
    # ---- fires: one outlier (MPI060), one difference from a group without scatter (MPI061),
    # one decreasing series (MPI062). ProMag factors 1.00 1.02 0.98 1.01 0.99 and 0.50: for ds6
    # the other five have ln-median 0 and MAD 0.01005, the cut 3.5 × 1.4826 × 0.01005 = 0.0521,
    # and |ln 0.5| = 0.693 is beyond it; each of the five stays within (largest |dev| 0.030 against
    # a cut of 0.052). VivoTrax factors 0.35 except ds5 at 0.385: ds5's others are exact copies
    # (MAD 0, not judged: MPI061); the others equal their median (not outliers).
    p = [1.00, 1.02, 0.98, 1.01, 0.99, 0.50]
    v = [0.35, 0.35, 0.35, 0.35, 0.385, 0.35]
    fires = []
    for i in range(6):
        series = [(P, p[i], False), (V, v[i], False)]
        if i == 2:
            series.append((P, 1.0, True))  # a decreasing ProMag series: slope −212
        fires.append(_ds(f"ds{i + 1}", series))
    # ---- quiet: near misses. ProMag factors 1.00 1.03 0.97 1.02 0.98 and 1.06: ds6's others have
    # ln-median 0 and MAD 0.0202, cut 0.1048 > ln 1.06 = 0.0583 (within). VivoTrax on four
    # datasets only, one at half: a group of 4 is not judged. No slope is ≤ 0, no MAD is 0 with
    # a differing value.
    q = [1.00, 1.03, 0.97, 1.02, 0.98, 1.06]
    qv = [0.35, 0.35 * 1.01, 0.35 * 0.99, 0.35 * 0.5]
    quiet = []
    for i in range(6):
        series = [(P, q[i], False)]
        if i < 4:
            series.append((V, qv[i], False))
        quiet.append(_ds(f"ds{i + 1}", series))
    return [
        {"name": "fires", "datasets": fires,
         "description": "MPI060 (a ProMag sensitivity at half of five comparable datasets), MPI061 (a VivoTrax "
                        "sensitivity 1.1x a group of exact copies) and MPI062 (a decreasing series) fire.",
         "fires": ["MPI060", "MPI061", "MPI062"], "quiet": [], "exit_code": 0,
         "findings": [("ds6.mpical.json", "MPI060", "info", "/calibrations/0/fits/0"),
                      ("ds5.mpical.json", "MPI061", "info", "/calibrations/1/fits/0"),
                      ("ds3.mpical.json", "MPI062", "info", "/calibrations/2/fits/0")]},
        {"name": "quiet", "datasets": quiet,
         "description": "Near misses: a ProMag sensitivity 1.06x inside the cut, an outlier in a group of four "
                        "(not judged), no MAD-0 group with a differing value, no slope <= 0.",
         "fires": [], "quiet": ["MPI060", "MPI061", "MPI062"], "exit_code": 0, "findings": []},
    ]


def outputs() -> dict[Path, bytes]:
    out: dict[Path, bytes] = {}
    for vec in vectors():
        folder = ROOT / vec["name"]
        for name, doc in vec["datasets"]:
            out[folder / name] = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        expected = {
            "description": vec["description"],
            "fires": vec["fires"],
            "quiet": vec["quiet"],
            "exit_code": vec["exit_code"],
            "findings": [{"file": f, "rule": r, "severity": s, "pointer": p} for f, r, s, p in sorted(vec["findings"])],
        }
        out[folder / "repository-expected.json"] = (json.dumps(expected, indent=2) + "\n").encode("utf-8")
    return out


def main() -> int:
    check = "--check" in sys.argv[1:]
    files = outputs()
    existing = {p for p in ROOT.rglob("*") if p.is_file()} if ROOT.exists() else set()
    stale = sorted(str(p.relative_to(HERE)) for p, data in files.items() if not p.exists() or p.read_bytes() != data)
    extra = sorted(str(p.relative_to(HERE)) for p in existing - set(files))
    if check:
        if stale or extra:
            print("stale repository vectors (run 'make vectors'):", *stale, *(f"{e} (not generated)" for e in extra))
            return 1
        return 0
    if ROOT.exists():
        for p in existing - set(files):
            p.unlink()
    for p, data in files.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    print(f"wrote {len(files)} files under {ROOT.relative_to(HERE)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
