"""Running the command line and snapshotting folders, for the hostile suite's tests."""
from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # seconds: only a hang takes this long


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPISTD")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env["NO_COLOR"] = "1"
    return env


def run_cli(args: list[str], cwd: Path, timeout: float = TIMEOUT) -> "CliResult":
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "mpistd", *args], capture_output=True, text=True, cwd=cwd,
                              env=cli_env(), timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return CliResult(None, out, err, time.perf_counter() - started, timed_out=True)
    return CliResult(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started)


@dataclass
class CliResult:
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    report: dict[str, Any] | None = None
    parse_error: str | None = None

    def __post_init__(self) -> None:
        if self.stdout:
            try:
                self.report = json.loads(self.stdout, parse_constant=_no_constant)
            except ValueError as exc:
                self.parse_error = str(exc)

    @property
    def has_traceback(self) -> bool:
        return "Traceback" in self.stdout or "Traceback" in self.stderr


def _no_constant(name: str) -> Any:
    raise ValueError(f"the JSON report holds {name}, which is not JSON")


@dataclass
class CaseRun:
    """What the CLI did with one case: the process (shared by a batch) and the case's dataset."""

    case: Any
    process: CliResult
    dataset: dict[str, Any] | None
    batch: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------ snapshots


def snapshot(root: Path) -> dict[str, tuple]:
    """Every name under ``root``: files by (size, mtime_ns, sha256), links by target, others by kind.

    Never follows links and never opens anything but regular files (a FIFO would block).
    """
    out: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            p = Path(folder) / name
            rel = str(p.relative_to(root))
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                with open(p, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
                out[rel] = ("file", st.st_size, st.st_mtime_ns, h.hexdigest())
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir",)
            else:
                out[rel] = ("other", stat.S_IFMT(st.st_mode), st.st_mtime_ns)
    return out


def atime_is_tracked(folder: Path) -> bool:
    """Whether reading a file whose atime is older than its mtime updates the atime here."""
    probe = folder / ".atime-probe"
    probe.write_bytes(b"x")
    st = os.stat(probe)
    os.utime(probe, ns=(st.st_mtime_ns - 10**13, st.st_mtime_ns))
    before = os.stat(probe).st_atime_ns
    with open(probe, "rb") as fh:
        fh.read()
    tracked = os.stat(probe).st_atime_ns != before
    probe.unlink()
    return tracked
