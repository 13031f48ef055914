"""The repository's own promises: generated docs are fresh, README's commands exist and CI runs them."""
from __future__ import annotations

import re
from pathlib import Path

from mpistd.tools.docs import write_docs

ROOT = Path(__file__).resolve().parents[1]


def test_committed_docs_are_generated_from_the_current_schemas_and_rules() -> None:
    stale = write_docs(ROOT / "docs", check=True)
    assert stale == [], f"stale generated docs {stale}: run 'mpistd docs'"


def test_readme_commands_are_makefile_targets_and_ci_runs_the_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    commands = re.findall(r"^make (\w+)", readme, flags=re.M)
    assert {"demo", "test"} <= set(commands)
    for target in commands:
        assert re.search(rf"^{target}:", makefile, flags=re.M), target
    assert re.search(r"^make test\b", (ROOT / ".ci" / "run").read_text(), flags=re.M)


def test_numerics_import_nothing_from_rules_render_or_files() -> None:
    """quantify/ is pure numerics (CONTRIBUTING.md): no rules, renderers, loaders, pydantic or JSON."""
    forbidden = re.compile(r"^\s*(from|import)\s+(mpistd\.(rules|render|load|standard|pipeline|quantities|cli)"
                           r"|pydantic|json\b|jsonschema)", re.M)
    for path in (ROOT / "mpistd" / "quantify").glob("*.py"):
        assert not forbidden.search(path.read_text()), path.name


def test_heavy_modules_are_not_imported_by_validate() -> None:
    import subprocess
    import sys

    code = ("import sys, runpy; sys.argv=['mpistd','validate','reference_data/conformance/clean.mpical.json'];"
            "\ntry:\n  runpy.run_module('mpistd', run_name='__main__')\nexcept SystemExit: pass\n"
            "heavy=[m for m in ('scipy.stats','matplotlib','weasyprint','pandas','tifffile','h5py','pydicom') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}).stdout
    assert "HEAVY []" in out, out
