"""DICOM reader (see the package docstring)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from mpistd.load.images._contract import ImageError, ReadRequest, _check_decoded_size


def _read_dicom(path: Path | io.BytesIO, size: int, max_bytes: int, what: str, request: ReadRequest) -> tuple[np.ndarray, dict[str, float] | None]:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(path)
    except InvalidDicomError as exc:
        raise ImageError("unreadable", f"{what} is not a DICOM file: {exc}") from None
    if "PixelData" not in ds:
        raise ImageError("format", f"{what} is a DICOM file without pixel data")
    if int(getattr(ds, "SamplesPerPixel", 1)) != 1:
        raise ImageError("format", f"{what} has {ds.SamplesPerPixel} samples per pixel; a grey-level image is expected")
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    rows, cols = int(ds.Rows), int(ds.Columns)
    bits = int(getattr(ds, "BitsAllocated", 16))
    _check_decoded_size((frames, rows, cols, max(1, bits // 8)), np.uint8, max_bytes, what)
    arr = ds.pixel_array
    slope = float(getattr(ds, "RescaleSlope", 1.0) or 1.0)
    intercept = float(getattr(ds, "RescaleIntercept", 0.0) or 0.0)
    if slope != 1.0 or intercept != 0.0:
        # Modality LUT: stored values -> real-world pixel values.
        arr = arr.astype(np.float64) * slope + intercept

    spacing: dict[str, float] | None = None
    ps = getattr(ds, "PixelSpacing", None)
    if ps is not None and len(ps) == 2:
        row_sp, col_sp = float(ps[0]), float(ps[1])
        if frames > 1:
            dz = getattr(ds, "SpacingBetweenSlices", None) or getattr(ds, "SliceThickness", None)
            spacing = {"y": row_sp, "x": col_sp}
            if dz is not None:
                spacing["z"] = float(dz)
        else:
            spacing = {"z": row_sp, "x": col_sp}
    return arr, spacing
