"""Small helpers for writing vectors as mutations of the clean base document."""
from __future__ import annotations

from typing import Any, Callable

from base import base
from make_vectors import Vector

CAL = "/calibrations/0"
QUANT = "/quantifications/0"


def mutated(change: Callable[[dict], Any]) -> dict:
    """A fresh base document with `change(doc)` applied (change mutates in place)."""
    doc = base()
    change(doc)
    return doc


def vector(name: str, rule: str, fires: bool, description: str, change: Callable[[dict], Any] | None,
           expected: list[tuple[str, str, str]], **kw: Any) -> Vector:
    doc = mutated(change) if change is not None else base()
    return Vector(name=name, rule=rule, fires=fires, description=description, expected=expected, document=doc, **kw)


def set_level_signals(doc: dict, level_values: list[list[float]], cal: int = 0) -> None:
    """Replace the replicates' maximum intensities (total intensity = 9.5 × maximum, as in the base)."""
    points = doc["calibrations"][cal]["points"]
    for point, values in zip(points, level_values):
        point["replicates"] = [{"max_intensity": round(v, 3), "total_intensity": round(9.5 * v, 3)} for v in values]


def refit(doc: dict, cal: int = 0) -> None:
    """Make the reported maximum-intensity fit and the quantification's estimate honest again
    after a vector changed the signals: ordinary least squares with numpy.polyfit over every
    replicate (independent of mpistd), estimate = (mean signal − a)/b."""
    import numpy as np

    c = doc["calibrations"][cal]
    x = np.array([p["iron_mass_ug"] for p in c["points"] for _ in p["replicates"]], float)
    y = np.array([r["max_intensity"] for p in c["points"] for r in p["replicates"]], float)
    b, a = np.polyfit(x, y, 1)
    r2 = 1.0 - float(np.sum((y - (a + b * x)) ** 2) / np.sum((y - y.mean()) ** 2))
    for f in c.get("fits", []):
        if f["metric"] == "max_intensity":
            f.update(slope=round(float(b), 6), intercept=round(float(a), 6), r_squared=round(r2, 6))
    for q in doc.get("quantifications", []):
        if q["calibration"] == c["id"] and q["metric"] == "max_intensity":
            q["reported"]["iron_mass_ug"] = round((float(np.mean(q["signal"])) - float(a)) / float(b), 4)


def line_signals(slope: float = 212.0, intercept: float = 14.0, spreads=(20, 25, 18, 22, 24, 21),
                 curvature: float = 0.0, shift_first: float = 0.0) -> list[list[float]]:
    """Replicate maxima -d, 0, +d around a + b·m + c·m² at the base's six iron masses."""
    masses = [3.1, 6.2, 9.3, 12.4, 15.5, 18.6]
    out = []
    for i, (m, d) in enumerate(zip(masses, spreads)):
        y = intercept + slope * m + curvature * m * m + (shift_first if i == 0 else 0.0)
        out.append([y - d, y, y + d])
    return out
