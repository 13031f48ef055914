"""TIFF reader: the first series of the file (see the package docstring)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from mpistd.load.images._contract import ImageError, ReadRequest, _check_decoded_size


def _read_tiff(path: Path | io.BytesIO, size: int, max_bytes: int, what: str, request: ReadRequest) -> tuple[np.ndarray, None]:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        if not tif.series:
            raise ImageError("unreadable", f"{what} holds no readable image (no TIFF page or series)")
        series = tif.series[0]
        axes = getattr(series, "axes", "")
        if "S" in axes and series.shape[axes.index("S")] > 1:
            raise ImageError("format", f"{what} is a colour image (axes {axes}); one sample per pixel is expected")
        _check_decoded_size(series.shape, series.dtype, max_bytes, what)
        arr = series.asarray()
    return arr, None
