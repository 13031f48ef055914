"""Problems of the environment, not of mpistd or the data: a missing extra or system library.

They are usage errors (exit 2) whose message names the fix — ``pip install 'mpistd[report]'``,
the system packages — never "This is a bug". The command line turns them into one line;
the test suite skips the tests that need a missing system library, with the same message.
"""
from __future__ import annotations

from functools import cache
from types import ModuleType

#: the optional dependency groups (pyproject.toml) by the top-level module that needs them
EXTRA_OF_MODULE = {
    "jinja2": "report",
    "markupsafe": "report",
    "matplotlib": "report",
    "weasyprint": "report",
    "pandas": "import",
    "openpyxl": "import",
    "pint": "import",
    "tifffile": "images",
    "pydicom": "images",
    "h5py": "images",
}

#: the modules every validation needs (pyproject.toml's dependencies), by the distribution that
#: provides them: a broken installation without one is exit 2 naming it, not "a bug"
REQUIRED_MODULES = {
    "jsonschema_rs": "jsonschema-rs",
    "jsonschema": "jsonschema",
    "referencing": "referencing",
    "numpy": "numpy",
    "scipy": "scipy",
    "pydantic": "pydantic",
    "yaml": "PyYAML",
}

#: Debian/Ubuntu packages for PDF output (also in scripts/system-packages.sh)
PDF_SYSTEM_PACKAGES = ("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core")


class EnvironmentProblem(Exception):
    """Something to install: the message says what and how (exit code 2)."""


class MissingExtra(EnvironmentProblem):
    """An optional Python dependency of mpistd is not installed."""


class MissingDependency(EnvironmentProblem):
    """A required Python dependency of mpistd is missing (a broken installation)."""


class MissingSystemLibrary(EnvironmentProblem):
    """A system library (Pango for PDF output) cannot be loaded."""


def install_command(extra: str) -> str:
    return f"pip install 'mpistd[{extra}]'"


def _missing_dependency(module: str) -> MissingDependency:
    distribution = REQUIRED_MODULES[module]
    return MissingDependency(f"mpistd needs {distribution!r} (module {module!r}), which is not installed in this "
                             f"Python: run pip install '{distribution}' (or reinstall mpistd with its dependencies)")


@cache
def require_dependencies() -> None:
    """Raise MissingDependency when a module every validation needs cannot be found (without
    importing it: the check costs microseconds, and is made once per process)."""
    from importlib.util import find_spec

    for module in REQUIRED_MODULES:
        try:
            found = find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise _missing_dependency(module)


def missing_extra(exc: BaseException) -> EnvironmentProblem | None:
    """The MissingExtra (or MissingDependency) an ImportError stands for, or None when it is not
    one of the extras' or the required dependencies' modules."""
    if not isinstance(exc, ImportError):
        return None
    name = (exc.name or "").split(".")[0]
    if name in REQUIRED_MODULES:
        return _missing_dependency(name)
    extra = EXTRA_OF_MODULE.get(name)
    if extra is None:
        return None
    return MissingExtra(f"this needs the optional dependency {name!r}, which is not installed: "
                        f"run {install_command(extra)} (or {install_command('all')})")


#: how every missing-Pango message starts (the test suite recognizes it in a failed assertion)
PDF_LIBRARY_MISSING = "PDF output needs the Pango library and a font"


def pdf_library_message(detail: str = "") -> str:
    packages = " ".join(PDF_SYSTEM_PACKAGES)
    return (f"{PDF_LIBRARY_MISSING}, which cannot be loaded"
            + (f" ({detail[:200]})" if detail else "")
            + f": on Debian/Ubuntu run 'sudo apt-get install {packages}' "
              "(macOS: 'brew install pango'); HTML reports (-o report.html) work without them")


def is_missing_pdf_library(exc: BaseException) -> bool:
    """True for WeasyPrint's OSError when it cannot dlopen Pango/GObject/HarfBuzz/fontconfig."""
    if isinstance(exc, MissingSystemLibrary):
        return True
    if not isinstance(exc, OSError):
        return False
    text = str(exc).lower()
    return any(lib in text for lib in ("pango", "gobject", "harfbuzz", "fontconfig", "libgobject"))


def import_weasyprint() -> ModuleType:
    """``import weasyprint``, with a missing extra or a missing Pango as an EnvironmentProblem."""
    import contextlib
    import io

    try:
        # WeasyPrint prints a banner to stdout when Pango is missing: keep stdout for our output
        with contextlib.redirect_stdout(io.StringIO()):
            import weasyprint
    except ImportError as exc:
        raise (missing_extra(exc) or exc) from None
    except OSError as exc:  # WeasyPrint dlopens Pango at import time
        if is_missing_pdf_library(exc):
            raise MissingSystemLibrary(pdf_library_message(_first_sentence(str(exc)))) from None
        raise
    return weasyprint


# the names WeasyPrint's text/ffi.py tries for each library it cannot do without
_PDF_LIBRARIES = (
    ("libgobject-2.0.so.0", "libgobject-2.0.0.dylib", "libgobject-2.0-0.dll"),
    ("libpango-1.0.so.0", "libpango-1.0.dylib", "libpango-1.0-0.dll"),
    ("libharfbuzz.so.0", "libharfbuzz.0.dylib", "libharfbuzz-0.dll"),
    ("libfontconfig.so.1", "libfontconfig.1.dylib", "libfontconfig-1.dll"),
    ("libpangoft2-1.0.so.0", "libpangoft2-1.0.dylib", "libpangoft2-1.0-0.dll"),
)


def check_weasyprint() -> None:
    """Refuse as :func:`import_weasyprint` would (missing extra: MissingExtra; missing Pango:
    MissingSystemLibrary), cheaply when all is well: the package is found without importing
    it and the system libraries it dlopens are loaded by name. When a library is not found
    under these names (an unusual platform), WeasyPrint is imported: its verdict is final."""
    import ctypes
    import importlib.util

    try:
        spec = importlib.util.find_spec("weasyprint")
    except ValueError:  # sys.modules["weasyprint"] is None: as good as not installed
        spec = None
    except OSError as exc:
        if is_missing_pdf_library(exc):
            raise MissingSystemLibrary(pdf_library_message(_first_sentence(str(exc)))) from None
        raise
    if spec is None:
        raise missing_extra(ModuleNotFoundError("No module named 'weasyprint'", name="weasyprint")) from None
    for names in _PDF_LIBRARIES:
        for name in names:
            try:
                ctypes.CDLL(name)
                break
            except OSError:
                continue
        else:
            import_weasyprint()
            return


def _first_sentence(text: str) -> str:
    head = text.strip().splitlines()[0] if text.strip() else ""
    return head.split(".  ")[0].rstrip(".")
