"""Configuration next to the data (issue 13, item 5): every key and value is checked against a
schema before any dataset is read; a bad one is exit 2 naming the file, the key and the line;
the size limits have hard ceilings; a baseline must be a small regular file; ``--isolated``
ignores discovered configuration files.

Each case below exited 3 (or silently misbehaved) before: the expected line numbers are
counted by hand from the TOML text of the case.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus import base_document
from harness import cli_env
from mpistd.cli import cli

# name: (file name, content, words the message must hold, the line named)
CASES = {
    "document-mib-1e308": ("mpistd.toml", "[limits]\ndocument_mib = 1e308\n", ["document_mib", "ceiling"], 2),
    "document-mib-30000": ("mpistd.toml", "[limits]\ndocument_mib = 30000\n", ["document_mib", "1024"], 2),
    "image-mib-over-4-gib": ("mpistd.toml", "[limits]\nimage_mib = 4097\n", ["image_mib", "4096"], 2),
    "limit-typo": ("mpistd.toml", "# mine\n[limits]\ndocumnt_mib = 3\n", ["documnt_mib", "did you mean",
                                                                          "document_mib"], 3),
    "limit-at-top-level": ("mpistd.toml", "document_mib = 3\n", ["document_mib", "[limits]"], 1),
    "exclude-empty-glob": ("mpistd.toml", 'exclude = [""]\n', ["exclude", "empty glob"], 1),
    "tool-not-a-table": ("pyproject.toml", "tool = 5\n", ["'tool'", "table"], 1),
    "tool-mpistd-not-a-table": ("pyproject.toml", "[tool]\nmpistd = 5\n", ["[tool.mpistd]", "table"], 2),
    "pyproject-unknown-key": ("pyproject.toml", '[project]\nname = "x"\n\n[tool.mpistd]\nprofle = "default"\n',
                              ["profle", "did you mean", "'profile'"], 5),
    "baseline-not-a-string": ("mpistd.toml", "baseline = 5\n", ["baseline", "integer"], 1),
    "prediction-alpha-zero": ("mpistd.toml", "[tolerances]\nprediction_alpha = 0\n", ["prediction_alpha", "(0, 1)"], 2),
    "limit-alpha-nan": ("mpistd.toml", "[tolerances]\nlimit_alpha = nan\n", ["limit_alpha", "finite"], 2),
    "strict-a-string": ("mpistd.toml", 'strict = "false"\n', ["strict", "true or false", "string"], 1),
    "check-images-an-int": ("mpistd.toml", "check_images = 0\n", ["check_images", "true or false"], 1),
    "r-squared-min-nan": ("mpistd.toml", "[tolerances]\nr_squared_min = nan\n", ["r_squared_min", "finite"], 2),
    "r-squared-min-over-1": ("mpistd.toml", "[tolerances]\nr_squared_min = 1.5\n", ["r_squared_min", "[0, 1]"], 2),
    "min-levels-a-float": ("mpistd.toml", "[tolerances]\nmin_levels = 2.5\n", ["min_levels", "integer"], 2),
    "tolerance-typo": ("mpistd.toml", "[tolerances]\nr_squared_mn = 0.9\n", ["r_squared_mn", "'r_squared_min'"], 2),
    "override-unknown-key": ("mpistd.toml", '[[overrides]]\npaths = ["a/**"]\nrules = {}\nrulez = 1\n',
                             ["rulez", "did you mean"], 4),
    "override-empty-paths": ("mpistd.toml", "[[overrides]]\npaths = []\nrules = {}\n", ["paths", "at least one"], 2),
    "rule-typo": ("mpistd.toml", '[rules]\nMPI0200 = "off"\n', ["MPI0200", "did you mean"], 2),
    "level-typo": ("mpistd.toml", '[rules]\nMPI020 = "of"\n', ["MPI020", "error, warning, info, off"], 2),
}


def _setup(tmp_path: Path, name: str, content: str) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "d.mpical.json").write_text(json.dumps(base_document()))
    (data / name).write_text(content)
    return data


@pytest.fixture
def nothing_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import mpistd.pipeline

    read: list[str] = []
    real = mpistd.pipeline.read_document

    def spy(path, **kwargs):
        read.append(str(path))
        return real(path, **kwargs)

    monkeypatch.setattr(mpistd.pipeline, "read_document", spy)
    return read


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_configuration_is_exit_2_naming_file_key_and_line(tmp_path: Path, case: str,
                                                               nothing_read: list[str]) -> None:
    fname, content, words, line = CASES[case]
    data = _setup(tmp_path, fname, content)
    run = CliRunner().invoke(cli, ["validate", str(data), "--jobs", "1", "--format", "json"])
    assert run.exit_code == 2, f"exit {run.exit_code}: {run.output}"
    (msg,) = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert f"{fname}:{line}:" in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    assert "internal error" not in msg and nothing_read == []


def test_r_squared_min_nan_cannot_silence_mpi024_unlisted(tmp_path: Path) -> None:
    """NaN compares false with everything: it silenced MPI024 without listing it as
    suppressed. Now it is refused before any dataset is read."""
    data = _setup(tmp_path, "mpistd.toml", "[tolerances]\nr_squared_min = nan\n")
    run = CliRunner().invoke(cli, ["validate", str(data), "--jobs", "1"])
    assert run.exit_code == 2


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([sys.executable, "-m", "mpistd", *args], cwd=cwd, capture_output=True, text=True,
                              env=cli_env(), timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("hung on the baseline")


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "folder", "too-large"])
def test_a_baseline_must_be_a_small_regular_file(tmp_path: Path, kind: str) -> None:
    data = _setup(tmp_path, "mpistd.toml", "")
    if kind == "dev-zero":
        target = "/dev/zero"
    elif kind == "fifo":
        os.mkfifo(data / "b.json")
        target = "b.json"
    elif kind == "folder":
        (data / "b.json").mkdir()
        target = "b.json"
    else:
        with open(data / "b.json", "wb") as fh:  # sparse: 65 MiB of nothing on disk
            fh.truncate(65 * 2**20)
        target = "b.json"
    (data / "mpistd.toml").write_text(f'baseline = "{target}"\n')
    proc = _run(["validate", ".", "--jobs", "1"], data)
    assert proc.returncode == 2, proc.stderr
    assert "baseline file" in proc.stderr and "mpistd.toml" in proc.stderr and "Traceback" not in proc.stderr
    # the same from the command line
    proc = _run(["validate", "d.mpical.json", "--jobs", "1", "--isolated", "--baseline", target], data)
    assert proc.returncode == 2 and ("baseline file" in proc.stderr or "is a directory" in proc.stderr)


def test_isolated_ignores_discovered_configuration(tmp_path: Path) -> None:
    """A dataset tree's own mpistd.toml applies by default and not with --isolated (a broken one
    is not even read); an explicit --config still applies."""
    data = tmp_path / "third-party"
    data.mkdir()
    doc = base_document()
    doc["x-pad"] = "P" * 300_000
    (data / "d.mpical.json").write_text(json.dumps(doc))
    (data / "mpistd.toml").write_text("[limits]\ndocument_mib = 0.1\n")
    run = CliRunner().invoke(cli, ["validate", str(data), "--jobs", "1", "--format", "json"])
    assert run.exit_code == 1  # discovered: its 0.1 MiB limit refuses the document (MPI005)
    run = CliRunner().invoke(cli, ["validate", str(data), "--isolated", "--jobs", "1", "--format", "json"])
    assert run.exit_code == 0, run.output  # the defaults: 20 MiB
    (data / "mpistd.toml").write_text("[limits\nbroken = true\n")
    run = CliRunner().invoke(cli, ["validate", str(data), "--isolated", "--jobs", "1", "--format", "json"])
    assert run.exit_code == 0, run.output
    mine = tmp_path / "mine.toml"
    mine.write_text("[limits]\ndocument_mib = 0.1\n")
    run = CliRunner().invoke(cli, ["validate", str(data), "--isolated", "--config", str(mine), "--jobs", "1",
                                   "--format", "json"])
    assert run.exit_code == 1
    (f,) = json.loads(run.stdout)["datasets"][0]["findings"]
    assert f["rule"] == "MPI005"


def test_an_oversized_configuration_file_is_refused(tmp_path: Path) -> None:
    data = _setup(tmp_path, "mpistd.toml", "# " + "x" * (2 << 20) + "\n")
    run = CliRunner().invoke(cli, ["validate", str(data), "--jobs", "1"])
    assert run.exit_code == 2 and "over the limit" in run.stderr


def test_a_fifo_configuration_is_refused_not_waited_on(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "d.mpical.json").write_text(json.dumps(base_document()))
    os.mkfifo(data / "mpistd.toml")
    proc = _run(["validate", ".", "--jobs", "1"], data)
    assert proc.returncode == 2 and "FIFO" in proc.stderr


def test_every_documented_setting_is_accepted(tmp_path: Path) -> None:
    """The control: the module docstring's example configuration of mpistd/config.py passes."""
    import mpistd.config as config_mod

    example = config_mod.__doc__.split("Its form::", 1)[1].split("MPI001", 1)[0]
    toml = "\n".join(ln[4:] if ln.startswith("    ") else ln for ln in example.splitlines())
    data = _setup(tmp_path, "mpistd.toml", toml)
    run = CliRunner().invoke(cli, ["validate", str(data), "--jobs", "1"])
    assert run.exit_code in (0, 1), run.output


def test_config_no_longer_imports_the_rule_registry() -> None:
    """config.py <-> rules/registry.py: the circle is untied (config imports neither the
    registry nor anything that imports config back at module level)."""
    import ast

    root = Path(__file__).resolve().parents[2] / "mpistd"
    for module, forbidden in (("config.py", "mpistd.rules"), ("rules/registry.py", "mpistd.config")):
        tree = ast.parse((root / module).read_text())
        names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [n for n in names if n.startswith(forbidden)], (module, names)
