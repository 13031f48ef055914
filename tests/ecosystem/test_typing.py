"""The public API is typed: py.typed ships, mpistd.validate is the real function for type checkers
(not Any through __getattr__) while `import mpistd` stays lazy."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_py_typed_ships_in_the_package() -> None:
    assert (ROOT / "mpistd" / "py.typed").is_file()


def test_import_mpistd_stays_lazy() -> None:
    code = ("import sys, mpistd\n"
            "print(sorted(m for m in ('mpistd.pipeline', 'mpistd.render.report', 'pydantic', 'numpy') "
            "if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
    import mpistd
    from mpistd.pipeline import validate

    assert mpistd.validate is validate


def test_mypy_sees_the_real_signature(tmp_path: Path) -> None:
    import pytest

    pytest.importorskip("mypy", reason="mypy is in the test extra: pip install -e '.[test]'")
    probe = tmp_path / "probe.py"
    probe.write_text("import mpistd\nreveal_type(mpistd.validate)\nreveal_type(mpistd.validate('x').ok)\n")
    out = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--follow-imports=silent",
                          "--ignore-missing-imports", str(probe)], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert "def (target:" in out.stdout and "mpistd.findings.Report" in out.stdout, out.stdout
    assert 'Revealed type is "bool"' in out.stdout or 'Revealed type is "builtins.bool"' in out.stdout
