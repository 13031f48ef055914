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
- ``mdf`` (MDF v2.0–2.1, MagneticParticleImaging/MDF, specification/MDF.tex): one frame
  and channel of ``/reconstruction/data`` on the grid of ``size`` or ``positions``, links,
  external storage and virtual datasets refused before any read; see
  :mod:`mpistd.load.images.mdf` for the layouts read and refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

from mpistd.load.images._contract import (
    DEFAULT_MAX_BYTES,
    FORMATS,
    ErrorKind,
    ImageError,
    LoadedImage,
    ReadRequest,
    TracerInfo,
    _as_image,
    _why,
)
from mpistd.load.images.dicom import _read_dicom
from mpistd.load.images.mdf import _read_mdf
from mpistd.load.images.npy import _read_npy
from mpistd.load.images.tiff import _read_tiff

__all__ = ["ImageError", "LoadedImage", "ReadRequest", "TracerInfo", "resolve_image_path", "load_image", "FORMATS", "DEFAULT_MAX_BYTES", "ErrorKind"]

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


_READERS = {"npy": _read_npy, "tiff": _read_tiff, "dicom": _read_dicom, "mdf": _read_mdf}


def load_image(
    base_dir: Path,
    relative: str,
    fmt: str,
    *,
    sha256: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    request: ReadRequest | None = None,
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
        out = _READERS[fmt](src, size, max_bytes, what, request or ReadRequest())
    except ImageError:
        raise
    except MemoryError:
        raise ImageError("too_large", f"{what} does not fit in memory") from None
    except Exception as exc:  # any reader library failure is a finding, not a traceback
        reason = str(exc).replace(str(path), relative)  # name the file as the dataset does
        raise ImageError("unreadable", f"{what} cannot be read: {type(exc).__name__}: {reason}") from None
    if isinstance(out, LoadedImage):  # a reader that states more than pixels and spacing (MDF)
        return dataclasses.replace(out, array=_as_image(out.array, what), format=fmt)
    arr, spacing = out
    return LoadedImage(_as_image(arr, what), spacing, fmt)
