"""Configuration globs (exclude, [[overrides]] paths) have gitignore semantics: every case of the
committed table, whose expectations come from `git check-ignore` (scripts/gitignore_cases.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mpistd.config import Options, PathOverride
from mpistd.findings import Severity

ROOT = Path(__file__).resolve().parents[2]
TABLE = json.loads((ROOT / "tests" / "fixtures" / "gitignore-cases.json").read_text())
CASES = TABLE["cases"]


def test_the_table_is_from_git_and_covers_the_issue() -> None:
    assert TABLE["source"].startswith("git check-ignore")
    by = {(c["pattern"], c["path"]): c["ignored"] for c in CASES}
    assert by[("legacy/**", "a/legacy/x.mpical.json")] is False  # fnmatch matched this
    assert by[("**/z.mpical.json", "z.mpical.json")] is True  # fnmatch missed this
    assert len(CASES) > 300 and {True, False} == set(by.values())


@pytest.mark.parametrize("case", CASES, ids=[f"{c['pattern']}|{c['path']}" for c in CASES])
def test_exclude_follows_git(case: dict, tmp_path: Path) -> None:
    options = Options(exclude=(case["pattern"],), config_base=tmp_path)
    assert options.is_excluded(tmp_path / case["path"]) is case["ignored"]


@pytest.mark.parametrize("case", [c for c in CASES if c["pattern"] in ("legacy/**", "**/z.mpical.json", "legacy/")])
def test_overrides_follow_git(case: dict, tmp_path: Path) -> None:
    options = Options(overrides=(PathOverride((case["pattern"],), {"MPI020": "info"}, tmp_path),))
    level, _, _ = options.resolve("MPI020", Severity.WARNING, tmp_path / case["path"])
    assert level is (Severity.INFO if case["ignored"] else Severity.WARNING)


def test_paths_outside_the_config_folder_match_nothing(tmp_path: Path) -> None:
    options = Options(exclude=("**",), config_base=tmp_path / "repo")
    assert not options.is_excluded(tmp_path / "elsewhere" / "x.mpical.json")
    assert options.is_excluded(tmp_path / "repo" / "x.mpical.json")
