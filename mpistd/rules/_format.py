"""Number formatting for finding messages: enough digits to compare, no more."""
from __future__ import annotations


def num(x: float | None, digits: int = 4) -> str:
    if x is None:
        return "n/a"
    if x == 0:
        return "0"
    ax = abs(x)
    if ax >= 1e5 or ax < 1e-3:
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x:+.{digits}f} %"


def metric_name(metric: str) -> str:
    return metric.replace("_", " ")
