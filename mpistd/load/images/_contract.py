"""The reader contract shared by every image format: the error type, the loaded image,
and the checks every reader applies (decoded-size bound, numeric 2D/3D image).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

FORMATS = ("npy", "tiff", "dicom", "mdf")
DEFAULT_MAX_BYTES = 256 * 2**20  # STANDARD.md: 256 MiB per image (MPI005)

ErrorKind = Literal["escape", "missing", "unreadable", "sha256", "too_large", "format"]
_KINDS = ("escape", "missing", "unreadable", "sha256", "too_large", "format")


class ImageError(Exception):
    """An image that cannot be used; ``kind`` says why (one of ``_KINDS``)."""

    def __init__(self, kind: ErrorKind, message: str):
        if kind not in _KINDS:
            raise ValueError(f"unknown ImageError kind {kind!r}")
        super().__init__(kind, message)  # both in args, so the error pickles
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"ImageError({self.kind!r}, {self.message!r})"


@dataclass(frozen=True)
class ReadRequest:
    """What the dataset's image reference asks of the reader (1.1 fields; ``None``: not named)."""

    frame: int | None = None
    channel: int | None = None
    magnitude: bool = False


@dataclass(frozen=True)
class TracerInfo:
    """One tracer the file says was imaged (MDF v2 ``/tracer``; MDF.tex, "Tracer").

    Values as the file states them, in the specification's units; ``None`` where absent.
    """

    name: str | None = None
    vendor: str | None = None
    batch: str | None = None
    solute: str | None = None  # e.g. "Fe"
    concentration_mol_per_L: float | None = None  # of the solute
    volume_L: float | None = None


@dataclass(frozen=True)
class LoadedImage:
    array: np.ndarray  # 2D (z, x) or 3D (z, y, x), in the dataset's axes
    spacing_mm: dict[str, float] | None  # pixel size the file itself states, per axis (None: it states none)
    format: str
    spacing_source: str | None = None  # where the file states it, for messages ("DICOM PixelSpacing", ...)
    frames: int = 1  # frames (MDF: Q; DICOM: temporal frames that are not slices) the file holds
    channels: int = 1  # receive channels (MDF: S) the file holds
    frame: int = 0  # the frame that was read
    channel: int = 0  # the channel that was read
    tracers: tuple[TracerInfo, ...] = ()  # what the file says was imaged (MDF /tracer)
    mask: np.ndarray | None = None  # True where a voxel counts; False e.g. for MDF isOverscanRegion voxels


def _why(exc: Exception) -> str:
    """An OS error's reason without the absolute file name it carries: a finding names an
    image only by the dataset's own relative path (reports are often published)."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc)



def _check_decoded_size(shape, dtype, max_bytes: int, what: str) -> None:
    # A compressed TIFF/HDF5 or a lying header can decode to far more than the file size.
    n = math.prod(int(s) for s in shape) * np.dtype(dtype).itemsize
    if n > max_bytes:
        raise ImageError("too_large", f"{what} decodes to {n} bytes ({tuple(shape)} {np.dtype(dtype)}), over the limit of {max_bytes}")


def _as_image(arr: np.ndarray, what: str) -> np.ndarray:
    """Numeric check, squeeze, 2D/3D check, float64."""
    arr = np.asarray(arr)
    kind = arr.dtype.kind
    if kind == "c":
        raise ImageError("format", f"{what} holds complex values ({arr.dtype}); a real pixel image is expected")
    if kind not in "iuf":
        raise ImageError("format", f"{what} has dtype {arr.dtype}; a numeric (integer or float) image is expected")
    sq = np.squeeze(arr)
    if sq.size == 0:
        raise ImageError("format", f"{what} has shape {arr.shape}: no pixels")
    if sq.ndim not in (2, 3):
        raise ImageError(
            "format",
            f"{what} has shape {arr.shape} ({sq.ndim}D after dropping singleton axes); "
            "a 2D (z, x) or 3D (z, y, x) image is expected",
        )
    return np.ascontiguousarray(sq, dtype=np.float64)


