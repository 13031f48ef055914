"""Reading replicate images safely (STANDARD.md, "Replicate" and "Images").

The only place that opens image files. Every failure is an :class:`ImageError` with a
``kind`` the rules map to findings (MPI005 for ``too_large``, MPI014 for the others), and
a message that says what was expected and what was found; a reader library's exception
never escapes as a traceback.

Order of checks in :func:`load_image`: the path (never outside the dataset's folder,
checked before anything is opened), the size (``os.stat``, before reading), the sha256,
then the reader. For npy, tiff and dicom, which are read whole anyway, the file is read
once into memory (at most ``max_bytes``), hashed, and those same bytes are parsed; MDF is
hashed in 1 MiB chunks and then read from disk (only one frame of it is needed). Reader libraries (tifffile, pydicom, h5py) are imported
inside the functions that need them so that the command line starts fast.

Arrays come back as float64 with axes (z, x) for 2D and (z, y, x) for 3D (STANDARD.md,
"Images"); singleton axes are squeezed. All-NaN images are not a load error: the metric
pipeline reports them.

Format notes:

- ``npy``: header read first (dtype, shape; object arrays refused without unpickling,
  truncated data detected from the header's size), then the data; no pickle ever.
- ``tiff``: the first series of the file; no spacing (TIFF resolution tags carry no
  reliable physical unit for MPI images): ``spacing_mm`` None.
- ``dicom``: modality LUT applied (stored × RescaleSlope + RescaleIntercept when present).
  2D: rows are z, columns x; PixelSpacing = [row spacing, column spacing] gives z, x.
  Multi-frame 3D: frames are z, rows y, columns x; PixelSpacing gives y, x and z comes
  from SpacingBetweenSlices, else SliceThickness.
- ``mdf`` (MDF v2, MagneticParticleImaging/MDF, specification/MDF.tex, section
  "Reconstruction Results"): ``/reconstruction/data`` is Q × P × S (frames × voxels ×
  channels; the specification lists dimensions slowest first, which is h5py's order);
  frame 0, channel 0 is taken. ``/reconstruction/size`` is (Nx, Ny, Nz) and voxels are
  ordered x fastest, then y, then z (``order`` default "xyz"; the specification's
  calibration section: "ordered with respect to their x position first, second ... y
  and last ... z"; the repository's julia/reco.jl reshapes column-major as
  (N[1], N[2]), x first; MPIFiles.jl's saveRecoData writes a column-major
  (channels, voxels, frames) array, which h5py sees as (frames, voxels, channels)).
  So the voxel vector reshapes C-order to (Nz, Ny, Nx) = mpistd's (z, y, x) directly. A 2D image is one with Ny = 1: (z, x). Other ``order`` values are refused.
  Spacing = fieldOfView (m, x, y, z) / size, in mm.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Literal

import numpy as np

__all__ = ["ImageError", "LoadedImage", "resolve_image_path", "load_image", "FORMATS", "DEFAULT_MAX_BYTES"]

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
class LoadedImage:
    array: np.ndarray  # float64, 2D (z, x) or 3D (z, y, x)
    spacing_mm: dict[str, float] | None  # from the file when the format carries it
    format: str


# --------------------------------------------------------------------------------------
# Path
# --------------------------------------------------------------------------------------

_DRIVE = re.compile(r"^[A-Za-z]:")


def resolve_image_path(base_dir: Path, relative: str) -> Path:
    """The image's real path, guaranteed inside ``base_dir`` (STANDARD.md: "relative to
    the dataset file, never outside its folder").

    Refused as ``escape`` before anything is opened: a non-string or empty path, NUL
    bytes, backslashes (a Windows separator, or a trick), absolute paths, drive letters
    and UNC names, any ``..`` component, and a path whose symlinks resolve outside
    ``base_dir``. A path inside that does not exist is ``missing``; a directory is
    ``unreadable``.
    """
    if not isinstance(relative, str) or relative == "":
        raise ImageError("escape", f"image path must be a non-empty relative path, got {relative!r}")
    if "\x00" in relative:
        raise ImageError("escape", f"image path {relative!r} contains a NUL byte")
    if "\\" in relative:
        raise ImageError(
            "escape", f"image path {relative!r} contains a backslash; use '/' separators, relative to the dataset"
        )
    if relative.startswith("/") or _DRIVE.match(relative) or PureWindowsPath(relative).drive:
        raise ImageError("escape", f"image path {relative!r} is absolute; it must be relative to the dataset's folder")
    parts = PurePosixPath(relative).parts
    if ".." in parts:
        raise ImageError("escape", f"image path {relative!r} has a '..' component; it must stay inside the dataset's folder")
    # os.path on strings rather than pathlib: this runs once per image and is on the hot
    # path of the batch (benchmarks/bench_imaging.py).
    try:
        base_real = os.path.realpath(os.fspath(base_dir))
        # realpath follows symlinks with lstat/readlink only: nothing is opened.
        real = os.path.realpath(os.path.join(base_real, relative))
    except (OSError, ValueError) as exc:  # symlink loops, permission on a component
        raise ImageError("escape", f"image path {relative!r} cannot be resolved: {_why(exc)}") from None
    if real != base_real and not real.startswith(base_real.rstrip(os.sep) + os.sep):
        raise ImageError(
            "escape", f"image path {relative!r} leads outside the dataset's folder (through a symbolic link)"
        )
    try:
        st = os.stat(real)
    except FileNotFoundError:
        raise ImageError("missing", f"image {relative!r} not found in the dataset's folder") from None
    except OSError as exc:
        raise ImageError("unreadable", f"image {relative!r} cannot be read: {_why(exc)}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ImageError("unreadable", f"image {relative!r} is not a regular file")
    return Path(real)


def _why(exc: Exception) -> str:
    """An OS error's reason without the absolute file name it carries: a finding names an
    image only by the dataset's own relative path (reports are often published)."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc)


# --------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------


def _expected_digest(relative: str, expected: str) -> str:
    exp = str(expected).strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", exp):
        raise ImageError("sha256", f"declared sha256 of {relative!r} is not 64 hex digits: {expected!r}")
    return exp


def _compare_digest(relative: str, exp: str, got: str) -> None:
    if got != exp:
        raise ImageError(
            "sha256", f"sha256 of {relative!r} does not match: declared {exp[:12]}…, file has {got[:12]}…"
        )


def _check_sha256_streamed(path: Path, relative: str, expected: str, chunk: int = 1 << 20) -> None:
    """Hash in 1 MiB chunks (for MDF, whose reader then reads only one frame)."""
    exp = _expected_digest(relative, expected)
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while b := f.read(chunk):
                h.update(b)
    except OSError as exc:
        raise ImageError("unreadable", f"image {relative!r} cannot be read: {_why(exc)}") from None
    _compare_digest(relative, exp, h.hexdigest())


def _read_verified(path: Path, size: int, relative: str, expected: str) -> io.BytesIO:
    """Read the whole file once, check its sha256, and return those very bytes.

    For readers that read the whole file anyway (npy, tiff, dicom): they then parse the
    bytes that were hashed, with no second read and no window in which the file could
    change between the check and the read. ``size`` is bounded by ``max_bytes``.
    """
    exp = _expected_digest(relative, expected)
    buf = bytearray(size)
    try:
        with open(path, "rb") as f:
            got_n = f.readinto(buf)
            extra = f.read(1)
    except OSError as exc:
        raise ImageError("unreadable", f"image {relative!r} cannot be read: {_why(exc)}") from None
    if got_n != size or extra:
        raise ImageError("unreadable", f"image {relative!r} changed while being read")
    _compare_digest(relative, exp, hashlib.sha256(buf).hexdigest())
    return io.BytesIO(buf)


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


# --------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------


def _read_npy(src: Path | io.BytesIO, size: int, max_bytes: int, what: str) -> tuple[np.ndarray, None]:
    from numpy.lib import format as npf

    def header(f):
        try:
            version = npf.read_magic(f)
            if version == (1, 0):
                return npf.read_array_header_1_0(f)
            if version in ((2, 0), (3, 0)):
                return npf.read_array_header_2_0(f)
            raise ValueError(f"unsupported .npy version {version}")  # pragma: no cover
        except (ValueError, SyntaxError) as exc:
            raise ImageError("unreadable", f"{what} is not a valid .npy file: {exc}") from None

    def data(f, shape, fortran, dtype):
        if dtype.hasobject:
            raise ImageError("format", f"{what} holds Python objects (dtype {dtype}); a numeric image is expected")
        if dtype.kind not in "iufc":
            raise ImageError("format", f"{what} has dtype {dtype}; a numeric (integer or float) image is expected")
        _check_decoded_size(shape, dtype, max_bytes, what)
        count = math.prod(shape)
        need = count * dtype.itemsize
        have = size - f.tell()
        if have < need:
            raise ImageError(
                "unreadable", f"{what} is truncated: header declares {shape} {dtype} ({need} bytes), file holds {have}"
            )
        # The data follow the header: read them as numpy's read_array does, without
        # parsing the header a second time (never unpickling anything).
        if isinstance(f, io.BytesIO):
            arr = np.frombuffer(f.getbuffer(), dtype=dtype, count=count, offset=f.tell())
        else:
            arr = np.fromfile(f, dtype=dtype, count=count)
        return arr.reshape(shape[::-1]).transpose() if fortran else arr.reshape(shape)

    if isinstance(src, io.BytesIO):
        shape, fortran, dtype = header(src)
        return data(src, shape, fortran, dtype), None
    with open(src, "rb") as f:
        shape, fortran, dtype = header(f)
        return data(f, shape, fortran, dtype), None


def _read_tiff(path: Path | io.BytesIO, size: int, max_bytes: int, what: str) -> tuple[np.ndarray, None]:
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


def _read_dicom(path: Path | io.BytesIO, size: int, max_bytes: int, what: str) -> tuple[np.ndarray, dict[str, float] | None]:
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


def _h5_get(f, name: str, what: str):
    if name not in f:
        raise ImageError("format", f"{what} is an HDF5 file without {name} (MDF v2 reconstruction data expected)")
    return f[name]


def _read_mdf(path: Path | io.BytesIO, size: int, max_bytes: int, what: str) -> tuple[np.ndarray, dict[str, float] | None]:
    import h5py

    with h5py.File(path, "r") as f:
        _h5_get(f, "/reconstruction", what)
        dset = _h5_get(f, "/reconstruction/data", what)
        if not isinstance(dset, h5py.Dataset):
            raise ImageError("format", f"{what}: /reconstruction/data is not a dataset")
        size_ds = _h5_get(f, "/reconstruction/size", what)
        size = np.asarray(size_ds[()]).ravel()
        if size.size != 3 or size.dtype.kind not in "iu" or (size < 1).any():
            raise ImageError("format", f"{what}: /reconstruction/size must be 3 positive integers (Nx, Ny, Nz), got {size.tolist()}")
        nx, ny, nz = (int(v) for v in size)
        if "/reconstruction/order" in f:
            order = f["/reconstruction/order"][()]
            order = order.decode() if isinstance(order, bytes) else str(order)
            if order.strip() != "xyz":
                raise ImageError("format", f"{what}: /reconstruction/order is {order!r}; only the default 'xyz' is supported")
        if dset.dtype.kind not in "iuf":
            raise ImageError("format", f"{what}: /reconstruction/data has dtype {dset.dtype}; real numbers are expected")
        if dset.ndim != 3:
            raise ImageError(
                "format",
                f"{what}: /reconstruction/data has shape {dset.shape}; MDF v2 frames × voxels × channels (3 axes) expected",
            )
        q, p, s = dset.shape
        if p != nx * ny * nz:
            raise ImageError(
                "format", f"{what}: /reconstruction/data has {p} voxels, /reconstruction/size {nx}×{ny}×{nz} = {nx * ny * nz}"
            )
        if q < 1 or s < 1:
            raise ImageError("format", f"{what}: /reconstruction/data has no frame or no channel (shape {dset.shape})")
        _check_decoded_size((p,), dset.dtype, max_bytes, what)
        vox = np.asarray(dset[0, :, 0])  # frame 0, channel 0
        spacing = None
        if "/reconstruction/fieldOfView" in f:
            fov = np.asarray(f["/reconstruction/fieldOfView"][()], dtype=np.float64).ravel()
            if fov.size == 3 and np.isfinite(fov).all() and (fov > 0).all():
                # metres -> mm, per voxel
                spacing = {a: float(fov[i]) * 1000.0 / int(size[i]) for i, a in enumerate("xyz")}

    # x fastest, then y, then z ('xyz' order): C-order reshape gives (z, y, x).
    vol = vox.reshape(nz, ny, nx)
    if ny == 1 and nz > 1 and nx > 1:
        arr = vol[:, 0, :]
        if spacing is not None:
            spacing = {"z": spacing["z"], "x": spacing["x"]}
    elif nx > 1 and ny > 1 and nz > 1:
        arr = vol
    else:
        raise ImageError(
            "format",
            f"{what}: reconstruction grid {nx}×{ny}×{nz} (x×y×z) is not a 2D (z, x) image with y = 1 "
            "nor a 3D (z, y, x) volume",
        )
    return arr, spacing


_READERS = {"npy": _read_npy, "tiff": _read_tiff, "dicom": _read_dicom, "mdf": _read_mdf}


def load_image(
    base_dir: Path,
    relative: str,
    fmt: str,
    *,
    sha256: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> LoadedImage:
    """Read a replicate's image: path check, size check, sha256 check, then the reader."""
    if fmt not in _READERS:
        raise ImageError("format", f"unknown image format {fmt!r}; expected one of {', '.join(FORMATS)}")
    path = resolve_image_path(base_dir, relative)
    what = f"image {relative!r} ({fmt})"
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise ImageError("unreadable", f"{what} cannot be read: {_why(exc)}") from None
    if size > max_bytes:
        raise ImageError("too_large", f"{what} is {size} bytes, over the limit of {max_bytes} bytes")
    src: Path | io.BytesIO = path
    if sha256 is not None:
        if fmt == "mdf":
            _check_sha256_streamed(path, relative, sha256)
        else:
            src = _read_verified(path, size, relative, sha256)
    try:
        arr, spacing = _READERS[fmt](src, size, max_bytes, what)
    except ImageError:
        raise
    except MemoryError:
        raise ImageError("too_large", f"{what} does not fit in memory") from None
    except Exception as exc:  # any reader library failure is a finding, not a traceback
        reason = str(exc).replace(str(path), relative)  # name the file as the dataset does
        raise ImageError("unreadable", f"{what} cannot be read: {type(exc).__name__}: {reason}") from None
    return LoadedImage(_as_image(arr, what), spacing, fmt)
