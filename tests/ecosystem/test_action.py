"""action.yml: its shell steps run (as GitHub runs them: bash -eo pipefail) with a stand-in mpistd,
and each receives the arguments the inputs promise; actions are pinned; output is fenced."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
STEPS = {s["name"]: s for s in ACTION["runs"]["steps"]}

INPUTS = {
    **{k: str(v.get("default", "")) for k, v in ACTION["inputs"].items()},
    "paths": "data/ more/",
    "args": "--shard 2/4 --config mpistd.toml --baseline b.json --profile publication --select MPI03 "
            "--ignore MPI051 --strict",
    "validate-args": "--srcroot .",
    "report-args": "--reproducible",
    "sarif-category": "mpistd-shard-2",
}
SHARED = INPUTS["args"].split()

STUB_MPISTD = """#!/bin/sh
printf '%s\\n' "$@" > "$STUB_LOG/mpistd-$1.args"
echo "::set-output name=pwned::from a dataset"
echo "::add-mask::x"
exit "${STUB_EXIT:-1}"
"""
STUB_PYTHON = f"""#!/bin/sh
# stand-in for the runner's python: `-m venv DIR` makes DIR/bin with a recording python and mpistd
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin"
  printf '#!/bin/sh\\necho "$0 $*" >> "$STUB_LOG/venv-python.log"\\n' > "$3/bin/python"
  cp "$STUB_LOG/mpistd" "$3/bin/mpistd"
  chmod +x "$3/bin/python" "$3/bin/mpistd"
  exit 0
fi
case "$1" in -m) echo "global python: $*" >> "$STUB_LOG/global-python.log"; exit 0;; esac
exec {sys.executable} "$@"
"""


def _env_of(step: dict) -> dict[str, str]:
    out = {}
    for key, value in (step.get("env") or {}).items():
        m = re.fullmatch(r"\$\{\{ inputs\.([\w-]+) \}\}", str(value))
        assert m, f"{step['name']}: env {key} must be exactly one input, got {value!r}"
        out[key] = INPUTS[m.group(1)]
    return out


@pytest.fixture
def runner(tmp_path: Path):  # type: ignore[no-untyped-def]
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    log = tmp_path / "log"
    log.mkdir()
    (log / "mpistd").write_text(STUB_MPISTD)
    (log / "mpistd").chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_text(STUB_PYTHON)
    (bin_dir / "python").chmod(0o755)
    files = {n: tmp_path / n for n in ("GITHUB_OUTPUT", "GITHUB_ENV")}
    for f in files.values():
        f.write_text("")
    base = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "STUB_LOG": str(log), "RUNNER_TEMP": str(tmp_path / "tmp"),
            "GITHUB_ACTION_PATH": "/action", **{k: str(v) for k, v in files.items()}}
    (tmp_path / "tmp").mkdir()

    def run(name: str, **extra: str) -> subprocess.CompletedProcess:
        step = STEPS[name]
        assert step["shell"] == "bash"
        github_env = dict(line.split("=", 1) for line in files["GITHUB_ENV"].read_text().splitlines() if line)
        env = {**base, **github_env, **_env_of(step), **extra}
        return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)

    run.log = log  # type: ignore[attr-defined]
    run.files = files  # type: ignore[attr-defined]
    return run


def _fenced(stdout: str) -> None:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("::stop-commands::"))
    token = lines[start].split("::")[2]
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    end = lines.index(f"::{token}::")
    inside = lines[start + 1:end]
    assert "::set-output name=pwned::from a dataset" in inside and "::add-mask::x" in inside
    assert all(not line.startswith("::") for line in lines[:start] + lines[end + 1:])


def test_install_uses_a_virtual_environment(runner) -> None:  # type: ignore[no-untyped-def]
    proc = runner("Install mpistd", STUB_EXIT="0")
    assert proc.returncode == 0, proc.stderr
    pip = (runner.log / "venv-python.log").read_text()
    assert "-m pip install --quiet /action[all]" in pip
    assert not (runner.log / "global-python.log").exists()  # nothing into the runner's global Python
    env = runner.files["GITHUB_ENV"].read_text()
    assert re.fullmatch(r"MPISTD_BIN=.*/tmp/mpistd-venv/bin/mpistd\n", env)


def test_validate_receives_paths_outputs_category_and_every_option(runner) -> None:  # type: ignore[no-untyped-def]
    assert runner("Install mpistd", STUB_EXIT="0").returncode == 0
    proc = runner("Validate")
    assert proc.returncode == 1  # the exit code of mpistd validate
    args = (runner.log / "mpistd-validate.args").read_text().split("\n")[:-1]
    assert args == ["validate", "data/", "more/", "--output", "sarif:mpistd.sarif", "--output",
                    "junit:mpistd-junit.xml", "--sarif-category", "mpistd-shard-2", *SHARED, "--srcroot", "."]
    assert "exit-code=1" in runner.files["GITHUB_OUTPUT"].read_text()
    _fenced(proc.stdout)


def test_report_receives_the_shared_selection_options(runner) -> None:  # type: ignore[no-untyped-def]
    assert runner("Install mpistd", STUB_EXIT="0").returncode == 0
    proc = runner("Render reports")
    assert proc.returncode == 0  # exit 1 (findings) was the Validate step's to report
    args = (runner.log / "mpistd-report.args").read_text().split("\n")[:-1]
    assert args == ["report", "data/", "more/", "-o", "mpistd-report/", *SHARED, "--reproducible"]
    assert "--shard" in args and "--baseline" in args  # each shard renders only its own datasets
    _fenced(proc.stdout)
    assert runner("Render reports", STUB_EXIT="2").returncode == 2  # usage/environment errors fail the step


def test_tokens_are_fresh_per_step(runner) -> None:  # type: ignore[no-untyped-def]
    assert runner("Install mpistd", STUB_EXIT="0").returncode == 0
    tokens = {runner("Validate").stdout.splitlines()[0] for _ in range(3)}
    assert len(tokens) == 3


def test_actions_are_pinned_to_commit_shas_with_the_tag_in_a_comment() -> None:
    text = (ROOT / "action.yml").read_text()
    uses = re.findall(r"^\s*uses:\s*(\S+)(.*)$", text, flags=re.M)
    assert len(uses) == 3
    for ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), ref
        assert re.fullmatch(r"\s*# v\d+(\.\d+)*", comment), comment


def test_no_input_is_pasted_into_a_script() -> None:
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", "")


def test_docs_show_the_permissions() -> None:
    ci = (ROOT / "docs" / "ci.md").read_text()
    for permission in ("contents: read", "security-events: write", "actions: read"):
        assert permission in ci
