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

ErrorKind = Literal["escape", "missing", "unreadable", "sha256", "too_large", "format", "reader_missing"]
#: ``reader_missing``: the format's reader library (tifffile, pydicom, h5py) is not installed;
#: an environment problem (MPI019, exit 2), not a fault of the dataset
_KINDS = ("escape", "missing", "unreadable", "sha256", "too_large", "format", "reader_missing")
INSTALL_HINT = "pip install 'mpistd[images]'"
#: longest excerpt of file content (a header value, a referenced file name) put in a message
EXCERPT = 80


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
    # 2D (z, x) or 3D (z, y, x), in the dataset's axes, in the file's own numeric dtype; for npy
    # a read-only view of the bytes that were read (and hashed): copy it before writing to it
    array: np.ndarray
    spacing_mm: dict[str, float] | None  # pixel size the file itself states, per axis (None: it states none)
    format: str
    spacing_source: str | None = None  # where the file states it, for messages ("DICOM PixelSpacing", ...)
    frames: int = 1  # frames (MDF: Q; DICOM: temporal frames that are not slices) the file holds
    channels: int = 1  # receive channels (MDF: S) the file holds
    frame: int = 0  # the frame that was read
    channel: int = 0  # the channel that was read
    tracers: tuple[TracerInfo, ...] = ()  # what the file says was imaged (MDF /tracer)
    mask: np.ndarray | None = None  # True where a voxel counts; False e.g. for MDF isOverscanRegion voxels
    # the file states a pixel size that is not usable (0, NaN, negative, inf, overflowing):
    # the reason, with the value; spacing_mm is then None (load_image's check_spacing)
    spacing_error: str | None = None
    # the array's axis names when they are not the default (z, x) / (z, y, x): a 2D image in
    # another plane, e.g. ("y", "x") for an x–y slice (always in z, y, x order, array squeezed)
    axes: tuple[str, ...] | None = None


def _why(exc: Exception) -> str:
    """An OS error's reason without the absolute file name it carries: a finding names an
    image only by the dataset's own relative path (reports are often published)."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc)



def excerpt(value: object, limit: int = EXCERPT) -> str:
    """``repr`` of a value read from a file, cut to ``limit`` characters: a message never
    carries more than a bounded excerpt of file content."""
    try:
        text = repr(value)
    except Exception:  # pragma: no cover - a value whose repr fails
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def require(module: str, what: str):
    """Import a reader library, or an ``ImageError('reader_missing')`` naming the install
    command (issue 16: a missing extra is the environment's problem, not the dataset's)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImageError("reader_missing", f"{what} needs the Python package {module!r}, which is not installed; "
                                           f"install the image readers with: {INSTALL_HINT}") from None


def check_shape(shape, what: str, source: str = "header") -> tuple[int, ...]:
    """Dimensions a header declares: non-negative integers (a −1 or negative axis is refused
    before anything is allocated; numpy would read −1 as "whatever is there")."""
    out = []
    for d in shape:
        try:
            ok = int(d) == d and int(d) >= 0
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise ImageError("format", f"{what}: the {source} declares dimensions {excerpt(tuple(shape))}; every "
                                       "dimension must be a non-negative integer")
        out.append(int(d))
    return tuple(out)


def check_spacing(spacing: dict[str, float] | None, what: str, source: str) -> dict[str, float] | None:
    """The one sanity check every pixel size passes through, whatever its format or origin
    (DICOM PixelSpacing, MDF fieldOfView/size, TIFF resolution, OME PhysicalSize, the
    dataset's pixel_size_mm): every axis finite and > 0, and the pixel area (or voxel
    volume) finite when multiplied out. Anything else is ``ImageError('format')`` naming the
    value and where it came from (MPI014, or MPI017 when the dataset declares the size)."""
    if spacing is None:
        return None
    out: dict[str, float] = {}
    for axis, value in spacing.items():
        try:
            v = float(value)
        except (TypeError, ValueError, OverflowError):
            v = float("nan")
        if not (math.isfinite(v) and v > 0):
            raise ImageError("format", f"{what}: {source} gives a pixel size of {excerpt(value)} mm along {axis}; "
                                       "a finite number > 0 is expected")
        out[axis] = v
    cell = math.prod(out.values()) if out else 1.0
    if not (math.isfinite(cell) and cell > 0):
        raise ImageError("format", f"{what}: {source} gives pixel sizes {excerpt(out)} mm whose product "
                                   f"({cell!r}) is not a finite positive area or volume")
    return out


def _check_decoded_size(shape, dtype, max_bytes: int, what: str) -> None:
    # A compressed TIFF/HDF5 or a lying header can decode to far more than the file size.
    shape = check_shape(shape, what)
    n = math.prod(shape) * np.dtype(dtype).itemsize
    if n > max_bytes:
        raise ImageError("too_large", f"{what} decodes to {n} bytes ({tuple(shape)} {np.dtype(dtype)}), over the limit of {max_bytes}")


def _as_image(arr: np.ndarray, what: str) -> np.ndarray:
    """Numeric check, squeeze, 2D/3D check. The pixels keep their own dtype (a uint8 image
    stays one byte a pixel: the metrics never need a float64 copy of it)."""
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
    if kind == "f" and sq.dtype.itemsize < 4:
        sq = sq.astype(np.float32)  # float16: too coarse to sum, too rare to matter
    return np.ascontiguousarray(sq)


