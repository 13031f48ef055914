"""Suite-wide: a test that needs a missing system library (Pango for PDF output) is skipped with
the install command, not failed (the library is an environment problem, not a bug)."""
from __future__ import annotations

from typing import Any

import pytest

from mpistd._environment import PDF_LIBRARY_MISSING, is_missing_pdf_library, pdf_library_message


def _needs_missing_pango(exc: BaseException) -> bool:
    # raised by WeasyPrint or mpistd, or an assertion on a command's output that says so (exit 2)
    return is_missing_pdf_library(exc) or PDF_LIBRARY_MISSING in str(exc)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.excinfo is not None and _needs_missing_pango(call.excinfo.value):
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, "Skipped: " + pdf_library_message())
