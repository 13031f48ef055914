"""The garbage collector is tuned only in mpistd's own processes (pipeline._own_process_gc): the
console entry point's single process and the workers; never in a library caller's process
(the Python API, or a test invoking the click command)."""
from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import mpistd
from mpistd.cli import cli
from mpistd.pipeline import GC_YOUNG_THRESHOLD

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "reference_data" / "examples"

# the console entry point, then the collector's state as the run left it
PROBE = ("import atexit, gc, os, sys\n"
         "atexit.register(lambda: os.write(2, f'GC {gc.get_threshold()[0]} {gc.get_freeze_count()}\\n'.encode()))\n"
         "from mpistd.cli import main\n"
         "sys.argv = ['mpistd', *sys.argv[1:]]\n"
         "main()\n")


def _gc_after(*args: str) -> tuple[int, int]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    line = [x for x in proc.stderr.splitlines() if x.startswith("GC ")][-1]
    threshold, frozen = map(int, line.split()[1:])
    return threshold, frozen


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_command_lines_own_process_is_tuned(jobs: str) -> None:
    # with --jobs 2 the parent is tuned too (it receives and keeps every result)
    threshold, frozen = _gc_after("validate", str(EXAMPLES), "--jobs", jobs)
    assert threshold == GC_YOUNG_THRESHOLD
    assert frozen > 10_000  # the imported modules' objects, out of the collector's generations


def test_a_library_callers_process_is_left_alone(tmp_path: Path) -> None:
    before = (gc.get_threshold(), gc.get_freeze_count())
    report = mpistd.validate(EXAMPLES)
    assert report.results
    result = CliRunner().invoke(cli, ["validate", str(EXAMPLES), "--jobs", "1"])
    assert result.exit_code in (0, 1), result.output
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
