"""A dataset folder's own ``mpistd.toml`` is input too: a broken one is a usage error (exit 2,
one line naming the file), never an internal error, and it cannot lift MPI001–MPI005.

A folder scan picks up the nearest ``mpistd.toml`` above each dataset, so whoever ships the
datasets ships this file as well (SECURITY.md: pass ``--config`` for trees you do not trust).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus import base_document
from mpistd.cli import cli

BROKEN = {
    "not-toml": "[limits\n",
    "not-utf8": b"\xff\xfe[limits]\n",
    "nul-bytes": b"[limits]\x00\n",
    "unknown-key": "frobnicate = 1\n",
    "limits-not-a-table": "limits = 5\n",
    "limit-inf": "[limits]\ndocument_mib = inf\n",
    "limit-nan": "[limits]\nimage_mib = nan\n",
    "limit-bool": "[limits]\ndocument_mib = true\n",
    "limit-negative": "[limits]\ndocument_mib = -1\n",
    "limit-string": '[limits]\ndocument_mib = "20"\n',
    "tolerances-not-a-table": "tolerances = 5\n",
    "overrides-not-a-list": "overrides = 5\n",
    "override-paths-not-a-list": "overrides = [{paths = 5, rules = {}}]\n",
    "override-paths-not-strings": 'overrides = [{paths = [1], rules = {MPI020 = "off"}}]\n',
    "override-rules-not-a-table": '[[overrides]]\npaths = ["**"]\nrules = 5\n',
    "rules-not-a-table": "rules = 5\n",
    "level-not-a-string": "[rules]\nMPI020 = 5\n",
    "unknown-rule": '[rules]\nMPI999 = "off"\n',
    "silence-mpi001": '[rules]\nMPI001 = "off"\n',
    "silence-mpi005": '[rules]\nMPI005 = "warning"\n',
    "profile-not-known": "profile = 5\n",
    "exclude-not-strings": "exclude = [1]\n",
    "baseline-a-folder": 'baseline = "."\n',
    "baseline-missing": 'baseline = "nowhere.json"\n',
    "baseline-not-json": 'baseline = "mpistd.toml"\n',
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_dataset_config_is_a_usage_error(tmp_path: Path, name: str) -> None:
    (tmp_path / "d.mpical.json").write_text(json.dumps(base_document()))
    content = BROKEN[name]
    (tmp_path / "mpistd.toml").write_bytes(content.encode() if isinstance(content, str) else content)
    run = CliRunner().invoke(cli, ["validate", str(tmp_path), "--format", "json", "--jobs", "1"])
    assert run.exception is None or isinstance(run.exception, SystemExit), repr(run.exception)
    assert run.exit_code == 2, f"exit {run.exit_code}: {run.stderr}"
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr
    assert "mpistd.toml" in run.stderr or "baseline" in run.stderr


def test_a_config_beside_untrusted_data_is_replaced_by_an_explicit_one(tmp_path: Path) -> None:
    """--config replaces the discovered configuration: a dataset tree cannot raise its own limits."""
    data = tmp_path / "untrusted"
    data.mkdir()
    doc = base_document()
    doc["x-pad"] = "P" * 200_000
    (data / "d.mpical.json").write_text(json.dumps(doc))
    (data / "mpistd.toml").write_text("[limits]\ndocument_mib = 100000\n")
    mine = tmp_path / "mine.toml"
    mine.write_text("[limits]\ndocument_mib = 0.1\n")
    run = CliRunner().invoke(cli, ["validate", str(data), "--config", str(mine), "--format", "json", "--jobs", "1"])
    assert run.exit_code == 1
    (f,) = json.loads(run.stdout)["datasets"][0]["findings"]
    assert (f["rule"], f["pointer"]) == ("MPI005", "")
