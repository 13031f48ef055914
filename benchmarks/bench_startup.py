"""Start-up cost: `mpistd validate` on one reference dataset against the import floor
`python -c "import numpy, pydantic, jsonschema"`, both measured in this run (best of N)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "reference_data" / "conformance" / "clean.mpical.json"


def best(cmd: list[str], n: int = 7) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    floor = best([sys.executable, "-c", "import numpy, pydantic, jsonschema"])
    version = best([sys.executable, "-m", "mpistd", "--version"])
    validate = best([sys.executable, "-m", "mpistd", "validate", str(DATASET)])
    print(f"floor  import numpy, pydantic, jsonschema : {floor * 1000:6.0f} ms")
    print(f"mpistd --version                         : {version * 1000:6.0f} ms ({version / floor:.2f}x the floor)")
    print(f"mpistd validate clean.mpical.json        : {validate * 1000:6.0f} ms ({validate / floor:.2f}x the floor)")


if __name__ == "__main__":
    main()
