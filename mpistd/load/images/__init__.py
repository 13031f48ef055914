"""Reading replicate images safely (STANDARD.md, "Replicate" and "Images").

The only place that opens image files. Every failure is an :class:`ImageError` with a
``kind`` the rules map to findings (MPI005 for ``too_large``, MPI014 for the others), and
a message that says what was expected and what was found; a reader library's exception
never escapes as a traceback.

Order of checks in :func:`load_image`: the path (never outside the dataset's folder,
checked before anything is opened; only a regular file), the size (``os.stat``, before
reading), the sha256, then the reader. For npy, tiff and dicom, which are read whole anyway,
the file is read once into memory (at most ``max_bytes``) through one non-blocking open
checked to be a regular file, hashed when a sha256 is declared, and those same bytes are
parsed (the reader never sees a path, so it cannot follow a reference to another file); MDF
is hashed in 1 MiB chunks and then read from disk (only one frame of it is needed). Reader
libraries (tifffile, pydicom, h5py) are imported inside the functions that need them so that
the command line starts fast; one that is not installed is ``reader_missing`` (MPI019).

Every reader returns a :class:`LoadedImage` (or the older ``(array, spacing)`` pair) and
:func:`_finish` applies the shared contract: a numeric 2D (z, x) or 3D (z, y, x) image in its
own dtype (no float64 copy; singleton axes squeezed), the voxel mask squeezed with it, and the
file's pixel size through :func:`check_spacing` (an unusable one becomes ``spacing_error``).
All-NaN images are not a load error: the metric pipeline reports them.

Format notes (each module's docstring and docs/decisions.md, "Images", have the details):

- ``npy``: header read first (dtype, shape; object arrays refused without unpickling,
  negative dimensions refused, truncated data detected from the header's size), then the
  data; no pickle ever.
- ``tiff``: the first series of one file; OME-TIFF references to other files refused; pixel
  size from OME PhysicalSize, or from the resolution tags only with ResolutionUnit inch/cm.
- ``dicom``: classic, legacy multi-frame and enhanced multi-frame images, Modality LUT
  (rescale or LUT Sequence), float pixel data, axes from ImageOrientationPatient; a slice
  series through :func:`load_slice_series`.
- ``mdf`` (MDF v2.0–2.1, MagneticParticleImaging/MDF, specification/MDF.tex): one frame
  and channel of ``/reconstruction/data`` on the grid of ``size`` or ``positions``, links,
  external storage and virtual datasets refused before any read; see
  :mod:`mpistd.load.images.mdf` for the layouts read and refused.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from mpistd.load.images._contract import (
    DEFAULT_MAX_BYTES,
    FORMATS,
    INSTALL_HINT,
    ErrorKind,
    ImageError,
    LoadedImage,
    ReadRequest,
    TracerInfo,
    _as_image,
    _why,
    check_spacing,
)
from mpistd.load.images.dicom import _read_dicom
from mpistd.load.images.mdf import _read_mdf
from mpistd.load.images.npy import _read_npy
from mpistd.load.images.tiff import _read_tiff

__all__ = ["ImageError", "LoadedImage", "ReadRequest", "TracerInfo", "resolve_image_path", "load_image",
           "load_slice_series", "check_spacing", "FORMATS", "DEFAULT_MAX_BYTES", "ErrorKind", "INSTALL_HINT"]

# --------------------------------------------------------------------------------------
# Path
# --------------------------------------------------------------------------------------

_DRIVE = re.compile(r"^[A-Za-z]:")


def resolve_image_path(base_dir: Path, relative: str, *, directory: bool = False) -> Path:
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
    if directory:
        if not stat.S_ISDIR(st.st_mode):
            raise ImageError("unreadable", f"{relative!r} is not a folder")
        return Path(real)
    if not stat.S_ISREG(st.st_mode):
        # FIFOs, devices and sockets are refused from stat alone: opening a FIFO would block
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


def _read_verified(path: Path, size: int, relative: str, expected: str | None) -> io.BytesIO:
    """Read the whole file once, check its sha256 (when declared), and return those very bytes.

    For readers that read the whole file anyway (npy, tiff, dicom): they then parse the
    bytes that were hashed, with no second read and no window in which the file could
    change between the check and the read. ``size`` is bounded by ``max_bytes``. The file
    is opened non-blocking and checked to be a regular file on the open descriptor, so a
    path swapped for a FIFO after :func:`resolve_image_path` neither hangs nor is read.
    """
    exp = _expected_digest(relative, expected) if expected is not None else None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise ImageError("unreadable", f"image {relative!r} cannot be read: {_why(exc)}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ImageError("unreadable", f"image {relative!r} is not a regular file")
        # one bytes object of the checked size (no zero-filled buffer, no copy: BytesIO shares
        # it, and the npy reader's getvalue() hands the same bytes to numpy)
        buf = os.read(fd, size)
        if len(buf) < size:  # a short read (over 2 GiB, or a file that shrank): keep reading
            parts = [buf]
            got = len(buf)
            while got < size and (chunk := os.read(fd, size - got)):
                parts.append(chunk)
                got += len(chunk)
            buf = b"".join(parts)
        extra = os.read(fd, 1)
    except OSError as exc:
        raise ImageError("unreadable", f"image {relative!r} cannot be read: {_why(exc)}") from None
    finally:
        os.close(fd)
    if len(buf) != size or extra:
        raise ImageError("unreadable", f"image {relative!r} changed while being read")
    if exp is not None:
        _compare_digest(relative, exp, hashlib.sha256(buf).hexdigest())
    out = io.BytesIO(buf)
    out.mpistd_name = os.path.basename(str(path))  # type: ignore[attr-defined]  # the file's own name (OME-TIFF)
    return out


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
    if fmt == "mdf":
        if sha256 is not None:
            _check_sha256_streamed(path, relative, sha256)
    else:
        src = _read_verified(path, size, relative, sha256)
    try:
        out = _READERS[fmt](src, size, max_bytes, what, request or ReadRequest())
    except ImageError:
        raise
    except MemoryError:
        raise ImageError("too_large", f"{what} does not fit in memory") from None
    except ImportError as exc:  # a reader library (or one it needs) is not installed: MPI019
        raise ImageError("reader_missing", f"{what} needs the Python package {(exc.name or '?')!r}, which is not "
                                           f"installed; install the image readers with: {INSTALL_HINT}") from None
    except Exception as exc:  # any reader library failure is a finding, not a traceback
        reason = str(exc).replace(str(path), relative)  # name the file as the dataset does
        raise ImageError("unreadable", f"{what} cannot be read: {type(exc).__name__}: {reason[:200]}") from None
    return _finish(out, fmt, what)


def _finish(out, fmt: str, what: str) -> LoadedImage:
    """A reader's result (a LoadedImage, or the older (array, spacing) pair) checked the same
    way for every format: a numeric 2D/3D image, the mask squeezed with it, and the file's
    pixel size through :func:`check_spacing` (an unusable one is kept as ``spacing_error``:
    the dataset's declared size may still stand in for it, see mpistd/image_metrics.py)."""
    loaded = out if isinstance(out, LoadedImage) else LoadedImage(out[0], out[1], fmt)
    raw_shape = np.shape(loaded.array)
    array = _as_image(loaded.array, what)
    mask = loaded.mask
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape == raw_shape:
            mask = np.squeeze(mask)
        if mask.shape != array.shape:
            raise ImageError("format", f"{what}: its voxel mask has shape {mask.shape}, the image {array.shape}")
    axes = loaded.axes
    if axes is not None:
        axes = tuple(axes)
        if (len(axes) != array.ndim or len(set(axes)) != array.ndim or not set(axes) <= {"x", "y", "z"}
                or list(axes) != sorted(axes, reverse=True)):
            raise ImageError("format", f"{what}: axes {axes!r} do not name the image's {array.ndim} axes "
                                       "in z, y, x order")
        if axes == (("z", "x") if array.ndim == 2 else ("z", "y", "x")):
            axes = None
    spacing, error = loaded.spacing_mm, loaded.spacing_error
    if spacing is not None:
        try:
            spacing = check_spacing(spacing, what, loaded.spacing_source or f"the {fmt} file")
        except ImageError as exc:
            spacing, error = None, exc.message
    # built directly rather than with dataclasses.replace: this runs once per image on the
    # batch's hot path (benchmarks/bench_imaging.py)
    return LoadedImage(array=array, spacing_mm=spacing, format=loaded.format,
                       spacing_source=loaded.spacing_source if spacing or error else None,
                       frames=loaded.frames, channels=loaded.channels, frame=loaded.frame, channel=loaded.channel,
                       tracers=loaded.tracers, mask=mask, spacing_error=error, axes=axes)


def load_slice_series(
    base_dir: Path,
    folder: str | None,
    slices: list,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    request: ReadRequest | None = None,
) -> LoadedImage:
    """A volume stored one slice per DICOM file (the 1.1 image reference's ``slices``).

    Every slice is confined and hashed like a single image (:func:`resolve_image_path`,
    its declared sha256) and the sum of their sizes is bounded by ``max_bytes`` before any
    is read. With ``folder`` (the reference's ``path``), every regular file in that folder
    must be listed, so that no slice is left out unnoticed. The slices are then ordered and
    checked by :func:`mpistd.load.images.dicom.assemble_series`.
    """
    from mpistd.load.images.dicom import assemble_series

    what = f"slice series of {len(slices)} DICOM files" + (f" in {folder!r}" if folder else "")
    paths = []
    total = 0
    for sl in slices:
        rel = sl.path if hasattr(sl, "path") else sl["path"]
        sha = sl.sha256 if hasattr(sl, "sha256") else sl["sha256"]
        path = resolve_image_path(base_dir, rel)
        try:
            size = os.stat(path).st_size
        except OSError as exc:
            raise ImageError("unreadable", f"slice {rel!r} cannot be read: {_why(exc)}") from None
        total += size
        if total > max_bytes:
            raise ImageError("too_large", f"{what} is over {max_bytes} bytes (the image limit) at slice {rel!r}")
        paths.append((rel, path, size, sha))
    if folder is not None:
        dir_real = resolve_image_path(base_dir, folder, directory=True)
        listed = {str(p) for _, p, _, _ in paths}
        for rel, p, _, _ in paths:
            if os.path.dirname(str(p)) != str(dir_real):
                raise ImageError("format", f"{what}: slice {rel!r} is not in the folder {folder!r}")
        try:
            names = sorted(os.listdir(dir_real))
        except OSError as exc:
            raise ImageError("unreadable", f"folder {folder!r} cannot be listed: {_why(exc)}") from None
        unlisted = []
        for name in names:
            full = os.path.join(str(dir_real), name)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and full not in listed:
                unlisted.append(name)
        if unlisted:
            more = f" and {len(unlisted) - 3} more" if len(unlisted) > 3 else ""
            raise ImageError("format", f"{what}: the folder holds files that are not listed in slices: "
                                       + ", ".join(repr(n[:60]) for n in unlisted[:3]) + more)
    datasets = []
    for rel, path, size, sha in paths:
        src = _read_verified(path, size, rel, sha)
        datasets.append((rel, src))
    try:
        out = assemble_series(datasets, max_bytes, what, request or ReadRequest())
    except ImageError:
        raise
    except MemoryError:
        raise ImageError("too_large", f"{what} does not fit in memory") from None
    except Exception as exc:
        raise ImageError("unreadable", f"{what} cannot be read: {type(exc).__name__}: {str(exc)[:200]}") from None
    return _finish(out, "dicom", what)
