"""scripts/fuzz.py mutates configuration files, file names and folder layouts too (issue 13,
item 8): a short run of each new mode finds nothing on the current code, and finds the
planted bug of its control (the text renderer's sanitiser switched off)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _fuzz():
    spec = importlib.util.spec_from_file_location("mpistd_fuzz_script", ROOT / "scripts" / "fuzz.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_new_modes_find_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    fuzz = _fuzz()
    code = fuzz.main(["--n", "45", "--jobs", "1", "--seed", "t", "--modes", "config,names,layout",
                      "--out", str(tmp_path / "crashes"), "--timeout", "60"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 crashes (0 exit 3, 0 hangs)" in out
    counts = {m: int(out.split(f" {m}")[0].rsplit(" ", 1)[-1].lstrip("(")) for m in ("config", "names", "layout")}
    assert all(n > 0 for n in counts.values()), counts


def test_the_names_mode_catches_an_unsanitised_renderer(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import mpistd.render.text as text

    monkeypatch.setattr(text, "clean", lambda s: s if isinstance(s, str) else str(s))
    monkeypatch.setattr(text, "guard_lines", lambda s: s)
    fuzz = _fuzz()
    # one fixed hostile name for every case, so the control does not depend on which names the
    # seeded draws happen to make (a newline, then a workflow command); a case shows it when its
    # dataset has findings and its output format prints names as they are (about one case in six)
    monkeypatch.setattr(fuzz, "_hostile_name", lambda rnd: "\n::error file=x::Injected.mpical.json")
    code = fuzz.main(["--n", "40", "--jobs", "1", "--seed", "t", "--modes", "names",
                      "--out", str(tmp_path / "crashes"), "--timeout", "60"])
    out = capsys.readouterr().out
    assert code == 1 and ("workflow-command line" in out or "raw control characters" in out), out
