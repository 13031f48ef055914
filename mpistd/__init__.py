"""mpistd: the open conformance and validation suite for MPI calibration data.

Public API (heavy modules load lazily, so ``import mpistd`` stays cheap):

- :func:`validate` — validate a dataset file, folder or mapping, returns a :class:`~mpistd.findings.Report`.
- :func:`report` — render the standardized calibration report (HTML or PDF).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the real signatures for type checkers; at run time __getattr__ imports lazily
    from mpistd.pipeline import validate as validate
    from mpistd.render.report import report as report

__version__ = "0.1.0"
SCHEMA_VERSION = "1.1"

__all__ = ["validate", "report", "__version__", "SCHEMA_VERSION"]


def __getattr__(name: str) -> Any:
    if name == "validate":
        from mpistd.pipeline import validate

        return validate
    if name == "report":
        from mpistd.render.report import report

        return report
    raise AttributeError(f"module 'mpistd' has no attribute {name!r}")
