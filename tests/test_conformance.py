"""The conformance suite: every reference dataset produces exactly its expected findings.

`reference_data/**/NAME.expected.json` lists the multiset of (rule, severity, pointer) that
NAME.mpical.json (or .yaml/.yml) must produce, warnings and infos included, so a new false
positive anywhere fails here. Options for a vector's own run come from NAME.mpistd.toml.
"""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from mpistd.config import Options, load_config
from mpistd.findings import ENVIRONMENT_RULES
from mpistd.pipeline import validate_file
from mpistd.rules.registry import all_rules

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "reference_data"
CONFORMANCE = REFERENCE / "conformance"


def _cases() -> list[Path]:
    return sorted(REFERENCE.rglob("*.expected.json"))


def _dataset_for(expected: Path) -> Path:
    stem = expected.name[: -len(".expected.json")]
    for suffix in (".mpical.json", ".mpical.yaml", ".mpical.yml"):
        candidate = expected.with_name(stem + suffix)
        if candidate.exists():
            return candidate
    raise AssertionError(f"{expected}: no dataset beside it")


def run_case(expected_path: Path):
    dataset = _dataset_for(expected_path)
    options_file = expected_path.with_name(expected_path.name.replace(".expected.json", ".mpistd.toml"))
    options = load_config(options_file, Options()) if options_file.exists() else Options()
    hidden = json.loads(expected_path.read_text()).get("without_modules", [])
    saved = {name: sys.modules.get(name) for name in hidden}
    try:
        for name in hidden:  # as if the module were not installed: its import fails
            sys.modules[name] = None  # type: ignore[assignment]
        return validate_file(dataset, options, dataset.name)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


@pytest.mark.parametrize("expected_path", _cases(), ids=lambda p: str(p.relative_to(REFERENCE)))
def test_reference_dataset_produces_exactly_its_expected_findings(expected_path: Path) -> None:
    expected = json.loads(expected_path.read_text())
    result = run_case(expected_path)
    got = Counter(f.key for f in result.findings)
    want = Counter((f["rule"], f["severity"], f["pointer"]) for f in expected["findings"])
    missing = want - got
    extra = got - want
    detail = "\n".join(f"  {f.rule} {f.severity.value} {f.pointer} {f.line}:{f.column} {f.message}" for f in result.findings)
    assert not missing and not extra, f"missing {sorted(missing)}\nunexpected {sorted(extra)}\nall findings:\n{detail}"
    code = 2 if any(f.rule in ENVIRONMENT_RULES for f in result.findings) else \
        1 if any(f.severity.value == "error" for f in result.findings) else 0
    assert code == expected["exit_code"]
    if expected.get("fires") is False:
        assert expected["rule"] not in {k[0] for k in got}


def test_every_rule_has_a_firing_and_a_quiet_vector() -> None:
    fires, quiet = set(), set()
    for path in CONFORMANCE.glob("*.expected.json"):
        e = json.loads(path.read_text())
        rules_found = {f["rule"] for f in e["findings"]}
        if e["fires"] and e["rule"] in rules_found:
            fires.add(e["rule"])
        if not e["fires"] and e["rule"] not in rules_found:
            quiet.add(e["rule"])
    # repository rules (MPI060–MPI069) judge a run, not a file: their vectors are folders
    # (reference_data/conformance/repository/, tests/test_repository_view.py)
    ids = {r.id for r in all_rules() if r.family != "repository"}
    # MPI019 (a reader library not installed) fires in a vector whose expected file names the
    # module to hide (without_modules)
    assert ids - fires == set(), f"rules without a firing vector: {sorted(ids - fires)}"
    assert ids - quiet == set(), f"rules without a non-firing vector: {sorted(ids - quiet)}"


def test_committed_vectors_match_their_generator() -> None:
    proc = subprocess.run([sys.executable, str(CONFORMANCE / "make_vectors.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
