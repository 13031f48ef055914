"""The command line runs numpy's BLAS on one thread (cli.single_threaded_blas): the same sums on
every machine, and no thread pool competing with --jobs. A user's own setting is kept."""
from __future__ import annotations

import os
import subprocess
import sys

# runs mpistd's console entry point (here `mpistd --version`), then, in the same process, what
# numpy computes: the BLAS variables mpistd set and a dot product of 20,000 values
PROBE = ("import os, sys\n"
         "from mpistd.cli import BLAS_THREAD_VARIABLES, main\n"
         "sys.argv = ['mpistd', '--version']\n"
         "try:\n"
         "    main()\n"
         "except SystemExit:\n"
         "    pass\n"
         "import numpy as np\n"
         "rng = np.random.default_rng(7)\n"
         "a, b = rng.standard_normal(20_000), rng.standard_normal(20_000)\n"
         "print(*(os.environ.get(v) for v in BLAS_THREAD_VARIABLES), a.dot(b).hex())\n")

# the same dot product, computed the way a single BLAS thread adds it up (numpy with one thread)
SINGLE = ("import numpy as np\n"
          "rng = np.random.default_rng(7)\n"
          "a, b = rng.standard_normal(20_000), rng.standard_normal(20_000)\n"
          "print(a.dot(b).hex())\n")


def _run(code: str, **env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                                              "OMP_NUM_THREADS")}
    proc = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()[-4:] if code is PROBE else proc.stdout.split()


def test_the_command_line_sets_one_blas_thread_and_sums_as_one_thread_does() -> None:
    *variables, dot = _run(PROBE)
    assert variables == ["1", "1", "1"]
    assert dot == _run(SINGLE, OPENBLAS_NUM_THREADS="1")[0]


def test_a_users_own_setting_is_kept() -> None:
    *variables, _dot = _run(PROBE, OPENBLAS_NUM_THREADS="2")
    assert variables == ["2", "1", "1"]
