"""Errors that come from the environment name the fix and exit 2; the PDF tests skip without Pango."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner

from mpistd._environment import PDF_SYSTEM_PACKAGES
from mpistd.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "reference_data" / "examples" / "promag-fixed-volume.mpical.json"

# WeasyPrint's own message when it cannot dlopen Pango (weasyprint/text/ffi.py, via cffi)
PANGO_OSERROR = ("cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared object file: "
                 "No such file or directory.  Additionally, ctypes.util.find_library() did not manage to "
                 "locate a library called 'libpango-1.0-0'")


def _without(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Make `import NAME` fail as it does when the package is not installed."""
    for name in list(sys.modules):
        if name.split(".")[0] in modules:
            monkeypatch.delitem(sys.modules, name)
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)  # import -> ModuleNotFoundError(name=NAME)


class _PangoMissing:
    """A meta-path finder: importing weasyprint raises the OSError a machine without Pango gives."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.split(".")[0] == "weasyprint":
            raise OSError(PANGO_OSERROR)
        return None


@pytest.fixture
def no_pango(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(sys.modules):
        if name.split(".")[0] == "weasyprint":
            monkeypatch.delitem(sys.modules, name)
    finder = _PangoMissing()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize(("modules", "args", "extra"), [
    (("jinja2",), ["report", str(EXAMPLE), "-o", "{tmp}/r.html"], "report"),
    (("matplotlib",), ["report", str(EXAMPLE), "-o", "{tmp}/r.html"], "report"),
    (("weasyprint",), ["report", str(EXAMPLE), "-o", "{tmp}/r.pdf"], "report"),
    (("tifffile",), ["simulate", "{tmp}/sim", "--format", "tiff"], "images"),
    (("h5py",), ["simulate", "{tmp}/sim", "--format", "mdf"], "images"),
])
def test_missing_extra_exits_2_with_the_install_command(modules: tuple[str, ...], args: list[str], extra: str,
                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _without(monkeypatch, *modules)
    code, out = run(*[a.format(tmp=tmp_path) for a in args])
    assert code == 2, out
    assert f"pip install 'mpistd[{extra}]'" in out and repr(modules[0]) in out
    assert "bug" not in out
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "sim").exists()  # refused before any work


def test_import_without_its_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "t.csv").write_text("sample,iron_mass_ug\nA,1\n")
    (tmp_path / "m.yaml").write_text("dataset: {id: x}\n")
    _without(monkeypatch, "pandas")
    code, out = run("import", str(tmp_path / "t.csv"), str(tmp_path / "m.yaml"))
    assert code == 2 and "pip install 'mpistd[import]'" in out and "bug" not in out


def test_pdf_without_pango_exits_2_naming_the_system_packages(tmp_path: Path, no_pango: None) -> None:
    code, out = run("report", str(EXAMPLE), "-o", str(tmp_path / "r.pdf"))
    assert code == 2, out
    assert "sudo apt-get install " + " ".join(PDF_SYSTEM_PACKAGES) in out
    assert "bug" not in out and not (tmp_path / "r.pdf").exists()
    # HTML needs no Pango
    code, out = run("report", str(EXAMPLE), "-o", str(tmp_path / "r.html"))
    assert code <= 1 and (tmp_path / "r.html").is_file()


def test_render_pdf_raises_an_environment_problem(no_pango: None) -> None:
    from mpistd._environment import MissingSystemLibrary
    from mpistd.render.pdf import render_pdf

    with pytest.raises(MissingSystemLibrary, match="libpangoft2-1.0-0"):
        render_pdf("<p>x</p>")


def test_a_real_bug_is_still_exit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    import mpistd.cli as cli_module

    def broken(*a: object, **k: object) -> None:
        raise ModuleNotFoundError("No module named 'mpistd.nonexistent'", name="mpistd.nonexistent")

    monkeypatch.setattr(cli_module, "run_validation", broken)
    code, out = run("validate", str(EXAMPLE))
    assert code == 3 and "This is a bug" in out


def test_pdf_tests_skip_with_the_reason_when_pango_is_missing(tmp_path: Path) -> None:
    # the suite's conftest hook, run on a test that renders a PDF on a machine "without Pango"
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (tmp_path / "test_needs_pango.py").write_text(
        "import sys\n"
        "class F:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] == 'weasyprint': raise OSError({PANGO_OSERROR!r})\n"
        "sys.meta_path.insert(0, F())\n"
        "def test_pdf():\n"
        "    from mpistd.render.pdf import render_pdf\n"
        "    render_pdf('<p>x</p>')\n"
        "def test_importorskip_does_not_catch_oserror():\n"
        "    import pytest\n"
        "    pytest.importorskip('weasyprint')\n"
        "def test_cli_assertion_on_the_message():\n"
        "    from click.testing import CliRunner\n"
        "    from mpistd.cli import cli\n"
        f"    r = CliRunner().invoke(cli, ['report', {str(EXAMPLE)!r}, '-o', 'x.pdf'])\n"
        "    assert r.exit_code in (0, 1), r.output\n"
        "def test_other_failures_still_fail():\n"
        "    assert False\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "1 failed, 3 skipped" in proc.stdout, proc.stdout
    assert proc.stdout.count("sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core") == 3


def test_system_package_lists_agree() -> None:
    script = (ROOT / "scripts" / "system-packages.sh").read_text()
    assert f'PDF_PACKAGES="{" ".join(PDF_SYSTEM_PACKAGES)}"' in script
    readme = (ROOT / "README.md").read_text()
    for pkg in (*PDF_SYSTEM_PACKAGES, "python3-venv"):
        assert pkg in readme


# --------------------------------------------------------------------------- make install's system step
def _stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


@pytest.mark.parametrize("root", [True, False])
def test_system_packages_step_installs_as_root_or_prints_the_command(tmp_path: Path, root: bool) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt.log"
    _stub(bin_dir, "dpkg-query", 'case "$*" in *fonts-dejavu-core*) echo "install ok installed";; *) exit 1;; esac')
    _stub(bin_dir, "id", f'echo {0 if root else 1000}')
    _stub(bin_dir, "apt-get", f'echo "apt-get $*" >> {log}')
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHON": sys.executable}
    proc = subprocess.run(["sh", str(ROOT / "scripts" / "system-packages.sh")], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr  # Pango missing never stops the install
    if root:
        calls = log.read_text().splitlines()
        assert calls == ["apt-get update -qq",
                         "apt-get install -y -qq --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0"]
    else:
        assert not log.exists()
        assert "sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0" in proc.stderr
        assert "PDF tests skip" in proc.stderr


def test_system_packages_step_stops_without_venv(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _stub(bin_dir, "fakepython", f'case "$*" in *ensurepip*) exit 1;; *) exec {sys.executable} "$@";; esac')
    _stub(bin_dir, "dpkg-query", 'echo "install ok installed"')
    _stub(bin_dir, "id", "echo 1000")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHON": str(bin_dir / "fakepython")}
    proc = subprocess.run(["sh", str(ROOT / "scripts" / "system-packages.sh")], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 1
    v = sys.version_info
    assert f"sudo apt-get install python{v.major}.{v.minor}-venv" in proc.stderr


@pytest.mark.parametrize("module", ["jsonschema_rs", "scipy"])
def test_a_missing_required_dependency_is_exit_2_naming_it(module: str, tmp_path: Path) -> None:
    # a broken installation (here: the module hidden, as if it were not installed) is the
    # environment's problem: one line naming the package to install, exit 2, before any work;
    # it used to be one "internal error ... a bug in mpistd" per dataset and exit 3
    code = ("import sys\n"
            f"sys.modules[{module!r}] = None\n"
            "from mpistd.cli import main\n"
            "sys.argv = ['mpistd', *sys.argv[1:]]\n"
            "main()\n")
    out = tmp_path / "v.json"
    proc = subprocess.run([sys.executable, "-c", code, "validate", str(EXAMPLE), "--output", f"json:{out}"],
                          capture_output=True, text=True, timeout=120)
    from mpistd._environment import REQUIRED_MODULES

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"pip install '{REQUIRED_MODULES[module]}'" in proc.stderr
    assert "bug" not in proc.stdout + proc.stderr and not out.exists()


def test_the_python_api_raises_a_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    import mpistd
    from mpistd import _environment

    _environment.require_dependencies.cache_clear()
    monkeypatch.setitem(sys.modules, "jsonschema_rs", None)
    try:
        with pytest.raises(_environment.MissingDependency, match="pip install 'jsonschema-rs'"):
            mpistd.validate(EXAMPLE)
        with pytest.raises(_environment.MissingDependency):
            mpistd.validate({"schema_version": "1.0"})
    finally:
        _environment.require_dependencies.cache_clear()
