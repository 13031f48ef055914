"""Plain data (JSON-ready) from numerics results, and one image's result.

Both :mod:`mpistd.quantities` and :mod:`mpistd.image_metrics` import from here; neither imports
the other's module at import time for them, so the two stay free of an import circle.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def plain(value: Any) -> Any:
    """JSON-ready form of a numerics result (dataclasses with to_dict, tuples, floats).

    None, bool, int and str stay as they are; a float that is NaN or infinite becomes None;
    an object with ``to_dict`` is converted through it, a dict gets string keys, a list or a
    tuple becomes a list, a dataclass a dict of its fields, a numpy scalar its Python value,
    anything else its ``str``. How a type is converted is decided once per type (the same
    tests, in the same order) and remembered: a report converts thousands of small objects.
    """
    convert = _CONVERTERS.get(type(value))
    if convert is None:
        convert = _converter_for(value)
        if convert is not _scalar_item:  # a numpy scalar's conversion may fail per value
            _CONVERTERS[type(value)] = convert
    return convert(value)


def _same(value: Any) -> Any:
    return value


def _float(value: float) -> Any:
    return value if value == value and abs(value) != _INF else None


def _through_to_dict(value: Any) -> Any:
    return plain(value.to_dict())


def _mapping(value: dict) -> dict:
    return {str(k): plain(v) for k, v in value.items()}


def _sequence(value: Any) -> list:
    return [plain(v) for v in value]


def _fields(value: Any) -> dict:
    return {k: plain(getattr(value, k)) for k in value.__dataclass_fields__}


def _scalar_item(value: Any) -> Any:
    try:  # numpy scalars
        return plain(value.item())
    except AttributeError:
        return str(value)


def _converter_for(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return _same
    if isinstance(value, float):
        return _float
    if hasattr(value, "to_dict"):
        return _through_to_dict
    if isinstance(value, dict):
        return _mapping
    if isinstance(value, (list, tuple)):
        return _sequence
    if hasattr(value, "__dataclass_fields__"):
        return _fields
    return _scalar_item


_INF = float("inf")
_CONVERTERS: dict[type, Any] = {}


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
    # what the file itself states (load.images.LoadedImage without its pixels), for MPI017/MPI018
    file_spacing_mm: dict[str, float] | None = None
    spacing_source: str | None = None
    frames: int = 1
    channels: int = 1
    frame: int = 0
    channel: int = 0
    tracers: tuple[Any, ...] = ()  # load.images.TracerInfo
    # the pixel size the metrics used, and where the file's own one disagreed (MPI017)
    spacing_mm: dict[str, float] | None = None
    declared_spacing_mm: dict[str, float] | None = None  # the image's, else the acquisition's pixel_size_mm
    spacing_error: str | None = None  # the file states an unusable pixel size (the declared one stood in)
    spacing_conflicts: tuple[tuple[str, float, float], ...] = ()  # (axis, file mm, declared mm) beyond tolerance

    def to_dict(self) -> dict[str, Any]:
        return {"pointer": self.pointer, "metrics": plain(self.metrics), "threshold": self.threshold,
                "error_kind": self.error_kind,
                "error": self.error, "saturated": self.saturated, "out_of_range": self.out_of_range}
