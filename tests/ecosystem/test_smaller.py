"""The issue's smaller items: FORCE_COLOR, uncut paths in logs, help texts, rule order, the template."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mpistd.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "reference_data" / "examples"


def test_force_color_colours_output_without_a_terminal_and_no_color_wins() -> None:
    runner = CliRunner()
    args = ["validate", str(EXAMPLES / "promag-fixed-volume.mpical.json")]
    plain = runner.invoke(cli, args, env={"FORCE_COLOR": "", "NO_COLOR": ""})
    assert "\x1b[" not in plain.output  # not a terminal: no colour by default
    forced = runner.invoke(cli, args, env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    assert "\x1b[" in forced.output and forced.exit_code == plain.exit_code
    both = runner.invoke(cli, args, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b[" not in both.output


def test_paths_are_not_cut_in_logs_and_files(tmp_path: Path) -> None:
    deep = tmp_path / ("a-rather-long-folder-name-" * 3) / "and-another-one-below-it"
    deep.mkdir(parents=True)
    for name in ("promag-fixed-volume", "vivotrax-fixed-concentration"):
        shutil.copy(EXAMPLES / f"{name}.mpical.json", deep / f"{name}.mpical.json")
    out = tmp_path / "log.txt"
    result = CliRunner().invoke(cli, ["validate", str(deep), "--output", f"text:{out}"])
    assert result.exit_code in (0, 1)
    full = str(deep / "promag-fixed-volume.mpical.json")
    assert len(full) > 70
    for text in (result.output, out.read_text()):
        table = text.split("\n\n")[0]
        assert full in table and "…" not in table


@pytest.mark.parametrize("command", [["baseline", "write"], ["import"], ["simulate"], ["report"], ["validate"]])
def test_every_option_has_a_help_text(command: list[str]) -> None:
    group = cli
    for name in command:
        group = group.commands[name]  # type: ignore[attr-defined]
    missing = [p.name for p in group.params if getattr(p, "help", None) in (None, "") and p.param_type_name == "option"]
    assert missing == []


def test_rules_are_listed_in_id_order() -> None:
    out = CliRunner().invoke(cli, ["rules", "--format", "json"]).output
    ids = [r["id"] for r in json.loads(out)]
    assert ids == sorted(ids) and "MPI053" in ids


def test_rules_text_lists_ids_in_order() -> None:
    out = CliRunner().invoke(cli, ["rules"]).output
    ids = [line.split()[0] for line in out.splitlines() if line.startswith("MPI")]
    assert ids == sorted(ids) and ids.index("MPI053") == len(ids) - 1


@pytest.mark.parametrize(("text", "where", "bracket"), [
    ('{\n  "a": 1,\n  "b": 2,\n}\n', (3, 9), "}"),      # the comma ends line 3 at column 9
    ('{"a": [1,\n  2 ,\n]}\n', (2, 5), "]"),
])
def test_trailing_comma_is_reported_at_the_comma(text: str, where: tuple[int, int], bracket: str) -> None:
    from mpistd.load.documents import DocumentError, parse_bytes

    with pytest.raises(DocumentError) as info:
        parse_bytes(text.encode(), kind="json")
    assert (info.value.line, info.value.column) == where
    assert f"trailing comma before '{bracket}'" in info.value.message
