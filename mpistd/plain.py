"""Plain data (JSON-ready) from numerics results, and one image's result.

Both :mod:`mpistd.quantities` and :mod:`mpistd.image_metrics` import from here; neither imports
the other's module at import time for them, so the two stay free of an import circle.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def plain(value: Any) -> Any:
    """JSON-ready form of a numerics result (dataclasses with to_dict, tuples, floats)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if hasattr(value, "to_dict"):
        return plain(value.to_dict())
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: plain(getattr(value, k)) for k in value.__dataclass_fields__}
    try:  # numpy scalars
        return plain(value.item())
    except AttributeError:
        return str(value)


@dataclass
class ImageResult:
    """What became of one replicate's image: metrics, or the reason it could not be read."""

    pointer: str  # the replicate
    metrics: Any = None  # ImageMetrics
    error_kind: str | None = None  # ImageError.kind
    error: str | None = None
    saturated: int = 0
    out_of_range: int = 0
    corrected: bool = False
    threshold: float | None = None  # k·SD used for this image (None: no noise SD known)

    def to_dict(self) -> dict[str, Any]:
        return {"pointer": self.pointer, "metrics": plain(self.metrics), "threshold": self.threshold,
                "error_kind": self.error_kind,
                "error": self.error, "saturated": self.saturated, "out_of_range": self.out_of_range}
