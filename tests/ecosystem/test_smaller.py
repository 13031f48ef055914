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
    for text in (result.output, out.read_text()):
        table = text.split("\n\n")[0].splitlines()
        assert table[0].startswith("dataset")
        paths = sorted(row.split()[0] for row in table[1:])
        assert len(paths) == 2 and all(len(p) > 70 and "…" not in p for p in paths)  # a terminal would cut at 70
        assert paths[0].endswith("a-rather-long-folder-name-/and-another-one-below-it/promag-fixed-volume.mpical.json")
        assert paths[0].startswith(("/", "..", "a-rather"))  # the whole path as given, from its start


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


def test_rules_text_lists_mpi053_with_its_family() -> None:
    from mpistd.rules.registry import FAMILIES

    out = CliRunner().invoke(cli, ["rules"]).output
    rows = [line.split()[:3] for line in out.splitlines() if line.startswith("MPI")]
    families = [r[2] for r in rows]
    assert families == sorted(families, key=FAMILIES.index)  # family blocks in docs/rules.md's order
    ids = [r[0] for r in rows]
    assert ("MPI053", "fit") == (rows[ids.index("MPI053")][0], rows[ids.index("MPI053")][2])
    last_02x = max(i for i, rule_id in enumerate(ids) if rule_id.startswith("MPI02"))
    assert ids.index("MPI053") == last_02x + 1 and ids.index("MPI053") < ids.index("MPI050")


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


def test_init_template_fails_until_its_placeholders_are_filled(tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "t.mpical.yaml"
    assert runner.invoke(cli, ["init", str(target)]).exit_code == 0
    out = runner.invoke(cli, ["validate", str(target), "--format", "json"])
    assert out.exit_code == 1
    findings = json.loads(out.output)["datasets"][0]["findings"]
    assert sorted((f["rule"], f["pointer"]) for f in findings) == [
        ("MPI002", "/dataset/authors/0/name"), ("MPI002", "/dataset/description")]
    lines = target.read_text().splitlines()
    assert all("FILL IN" in lines[f["line"] - 1] for f in findings)  # each finding's line says what to do
    text = target.read_text().replace("name: null ", "name: A. Author ").replace("description: null ", "description: x ")
    target.write_text(text)
    assert runner.invoke(cli, ["validate", str(target)]).exit_code == 0


def test_init_template_promag_particle_mass_matches_the_examples_and_the_paper() -> None:
    import math

    import yaml

    from mpistd.tools.template import template_yaml

    template = yaml.safe_load(template_yaml())["tracers"][0]
    example = json.loads((EXAMPLES / "promag-fixed-volume.mpical.json").read_text())["tracers"][0]
    assert template["name"] == example["name"] == "ProMag"
    m_fg = template["particle_model"]["iron_mass_per_particle_fg"]
    assert m_fg == example["particle_model"]["iron_mass_per_particle_fg"]
    # by hand: at the paper's 1.55 µg Fe/µL, n = c/m particles per m³ and the Wigner–Seitz radius
    # (3/(4πn))^(1/3) is the paper's ~116 µm for ProMag in solution (section 3.1)
    n = 1.55e-6 / (m_fg * 1e-15) / 1e-9
    assert (3 / (4 * math.pi * n)) ** (1 / 3) * 1e6 == pytest.approx(116, abs=1)
