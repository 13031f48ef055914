"""TIFF and OME-TIFF reader (see docs/decisions.md, "Which TIFF layouts are read").

Read: the first series of a single file, one sample per pixel, any numeric dtype. Axes as
stored: a 2D image's rows are z and its columns x; a 3D stack's pages are z, rows y,
columns x.

An OME-TIFF with more than one channel (SizeC) or time point (SizeT) is refused: read as
plain pages they would pass for z slices.

Never followed: an OME-TIFF's references to other files (``<TiffData><UUID
FileName="...">`` and the bare ``FileName`` attribute). tifffile would open them relative
to the file's folder (or the working directory, for bytes in memory), i.e. anywhere;
mpistd opens the file with ``is_ome=False`` so tifffile never reads the OME-XML's
references, and refuses an OME-TIFF that names any file other than itself (a finding, the
name cut to a bounded excerpt), or a binary-only one (``BinaryOnly MetadataFile``). The
bytes are parsed from memory, so tifffile has no folder to search for Micro-Manager or
NDTiff companion files (their series are disabled too). Nothing but the file is opened.

Pixel size, only where the file states a physical unit:

- OME-XML ``Pixels`` ``PhysicalSizeX/Y/Z`` with ``PhysicalSize*Unit`` (default µm, the
  OME schema's default); X → x, Y → the rows' axis (z in 2D, y in 3D), Z → z in 3D.
- Baseline TIFF ``XResolution``/``YResolution`` only when ``ResolutionUnit`` is 2 (inch)
  or 3 (centimetre) (TIFF 6.0, section 8): pixel size = 25.4 mm or 10 mm / resolution.
  ResolutionUnit 1 ("no absolute unit", the default many writers leave) gives no size.
"""
from __future__ import annotations

import io
import math
import re
from pathlib import Path

import numpy as np

from mpistd.load.images._contract import (
    ImageError,
    LoadedImage,
    ReadRequest,
    _check_decoded_size,
    excerpt,
    require,
)

_OME_UNITS_MM = {"m": 1e3, "dm": 1e2, "cm": 10.0, "mm": 1.0, "µm": 1e-3, "um": 1e-3, "\u03bcm": 1e-3,
                 "nm": 1e-6, "pm": 1e-9, "in": 25.4, "ft": 304.8}
_MAX_XML = 4 << 20  # an OME-XML description longer than 4 MiB is not parsed


def _ome(description: str, own_name: str | None, what: str) -> dict[str, float]:
    """Refuse references to other files; the Pixels element's physical sizes, in mm."""
    import xml.etree.ElementTree as ET

    if len(description) > _MAX_XML:
        raise ImageError("format", f"{what}: its OME-XML description is {len(description)} characters, over "
                                   f"{_MAX_XML}; not parsed")
    if "<!DOCTYPE" in description or "<!ENTITY" in description:
        raise ImageError("format", f"{what}: its OME-XML declares a DOCTYPE or entities; refused")
    try:
        root = ET.fromstring(description)
    except ET.ParseError as exc:
        raise ImageError("format", f"{what}: its OME-XML description is not well-formed XML ({exc})") from None
    for el in root.iter():
        companion = el.attrib.get("MetadataFile")  # <BinaryOnly MetadataFile=...>: a companion file
        if companion is not None:
            raise ImageError("format", f"{what} is a binary-only OME-TIFF whose metadata lives in the file "
                                       f"{excerpt(companion)}; mpistd never opens files an image refers to")
        name = el.attrib.get("FileName")
        if name is not None and name != own_name:
            raise ImageError("format", f"{what} is a multi-file OME-TIFF: it refers to the file {excerpt(name)}; "
                                       "mpistd reads a single file and never opens files an image refers to. "
                                       "Save the image as one OME-TIFF (or npy) and reference that file")
        if el.tag.rsplit("}", 1)[-1] == "UUID" and name is None and _is_other_uuid(el, root):
            raise ImageError("format", f"{what} is a multi-file OME-TIFF: a TiffData block refers to another "
                                       f"file by UUID {excerpt(el.text.strip())}; not followed")
    sizes: dict[str, float] = {}
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] != "Pixels":
            continue
        for dim in ("SizeC", "SizeT"):
            try:
                count = int(el.attrib.get(dim, "1"))
            except ValueError:
                count = -1
            if count != 1:
                kind = "channels" if dim == "SizeC" else "time points"
                raise ImageError("format", f"{what}: its OME-XML declares {dim}={excerpt(el.attrib.get(dim))} "
                                           f"({kind}); mpistd reads one plane or one z-stack, and would otherwise "
                                           f"take the {kind} for z slices. Save one channel and time point per file")
        for axis in "XYZ":
            value = el.attrib.get(f"PhysicalSize{axis}")
            if value is None:
                continue
            unit = el.attrib.get(f"PhysicalSize{axis}Unit", "µm")
            if unit not in _OME_UNITS_MM:
                raise ImageError("format", f"{what}: OME PhysicalSize{axis}Unit {excerpt(unit)} is not a length "
                                           "unit mpistd knows")
            try:
                sizes[axis] = float(value) * _OME_UNITS_MM[unit]
            except ValueError:
                sizes[axis] = float("nan")  # check_spacing names it
        break  # the first image's Pixels: the first series
    return sizes


def _is_other_uuid(el, root) -> bool:
    """A UUID without FileName that differs from the file's own (root ``UUID`` attribute)."""
    own = root.attrib.get("UUID")
    return own is not None and (el.text or "").strip() != own.strip()


def _resolution_mm(page) -> tuple[float | None, float | None]:
    tags = page.tags
    unit = tags.get("ResolutionUnit")
    unit = int(unit.value) if unit is not None else 2  # TIFF 6.0 default: inch
    if "ResolutionUnit" not in tags or unit not in (2, 3):
        # no unit tag: many writers leave the default without meaning it; 1: no absolute unit
        return None, None
    per = 25.4 if unit == 2 else 10.0
    out = []
    for name in ("XResolution", "YResolution"):
        tag = tags.get(name)
        if tag is None:
            out.append(None)
            continue
        num, den = tag.value if isinstance(tag.value, tuple) else (tag.value, 1)
        try:
            res = float(num) / float(den)
        except ZeroDivisionError:
            res = 0.0
        # pixels per unit -> mm per pixel; a zero or non-finite resolution stays invalid
        out.append(per / res if res and math.isfinite(res) else float("nan"))
    return out[0], out[1]


#: pages (IFDs) mpistd reads in one TIFF: tifffile's series detection is quadratic in the
#: pages of a non-uniform file (20,000 one-pixel pages of 4.8 MB took 92 s; 4096 take ~3 s)
MAX_PAGES = 4096


def _count_pages(raw: bytes, cap: int) -> int:
    """IFDs in the chain of a classic or BigTIFF file, counted up to ``cap + 1`` without
    parsing them (TIFF 6.0 section 2; BigTIFF: 8-byte offsets). A cycle counts as over the cap."""
    import struct

    if len(raw) < 8 or raw[:2] not in (b"II", b"MM"):
        return 0  # not a TIFF: tifffile's error says so
    e = "<" if raw[:2] == b"II" else ">"
    version = struct.unpack(e + "H", raw[2:4])[0]
    if version == 42:
        off, count_fmt, count_size, entry, next_fmt, next_size = struct.unpack(e + "I", raw[4:8])[0], "H", 2, 12, "I", 4
    elif version == 43 and len(raw) >= 16:
        off, count_fmt, count_size, entry, next_fmt, next_size = struct.unpack(e + "Q", raw[8:16])[0], "Q", 8, 20, "Q", 8
    else:
        return 0
    seen = set()
    n = 0
    while off and n <= cap:
        if off in seen or off + count_size > len(raw):
            return n if off not in seen else cap + 1
        seen.add(off)
        entries = struct.unpack(e + count_fmt, raw[off:off + count_size])[0]
        at = off + count_size + entries * entry
        if at + next_size > len(raw):
            return n + 1
        off = struct.unpack(e + next_fmt, raw[at:at + next_size])[0]
        n += 1
    return n


def _read_tiff(path: Path | io.BytesIO, size: int, max_bytes: int, what: str, request: ReadRequest) -> LoadedImage:
    tifffile = require("tifffile", what)
    own_name = path.name if isinstance(path, Path) else getattr(path, "mpistd_name", None)
    if isinstance(path, io.BytesIO):
        pages = _count_pages(path.getvalue(), MAX_PAGES)
        if pages > MAX_PAGES:
            raise ImageError("format", f"{what} has more than {MAX_PAGES} pages (IFDs), or a cycle in its IFD "
                                       "chain; mpistd reads at most that many")

    # is_ome=False: tifffile never parses the OME-XML's references to other files; the bytes
    # come from memory (load_image reads the file once), so tifffile has no folder in which to
    # look for the other files of a Micro-Manager or NDTiff set either (and those are off too)
    with tifffile.TiffFile(path, is_ome=False, is_mmstack=False, is_ndtiff=False) as tif:
        if not tif.pages:
            raise ImageError("unreadable", f"{what} holds no readable image (no TIFF page)")
        page0 = tif.pages.first if hasattr(tif.pages, "first") else tif.pages[0]
        description = page0.description if hasattr(page0, "description") else ""
        ome: dict[str, float] | None = None
        if description and re.match(r"\s*(<\?xml[^>]*>\s*)?<(\w+:)?OME[\s>]", description[:4096]):
            ome = _ome(description, own_name, what)
            if own_name is None and "FileName" in description:
                # bytes in memory: the file's own name is not known to compare against
                for m in re.finditer(r'FileName="([^"]*)"', description):
                    raise ImageError("format", f"{what} is an OME-TIFF that refers to the file "
                                               f"{excerpt(m.group(1))}; references to files are not followed")
        if not tif.series:
            raise ImageError("unreadable", f"{what} holds no readable image (no TIFF series)")
        series = tif.series[0]
        axes = getattr(series, "axes", "")
        if "S" in axes and series.shape[axes.index("S")] > 1:
            raise ImageError("format", f"{what} is a colour image (axes {axes}); one sample per pixel is expected")
        _check_decoded_size(series.shape, series.dtype, max_bytes, what)
        arr = series.asarray()
        xres, yres = _resolution_mm(page0)
    squeezed = np.squeeze(arr)
    spacing: dict[str, float] | None = None
    source = None
    if ome:
        if squeezed.ndim == 2:
            spacing = {k: v for k, v in (("z", ome.get("Y")), ("x", ome.get("X"))) if v is not None}
        elif squeezed.ndim == 3:
            spacing = {k: v for k, v in (("z", ome.get("Z")), ("y", ome.get("Y")), ("x", ome.get("X")))
                       if v is not None}
        source = "OME-XML PhysicalSize"
    elif xres is not None or yres is not None:
        rows_axis = "z" if squeezed.ndim == 2 else "y"
        spacing = {k: v for k, v in ((rows_axis, yres), ("x", xres)) if v is not None}
        source = "TIFF XResolution/YResolution (ResolutionUnit inch or cm)"
    return LoadedImage(arr, spacing or None, "tiff", spacing_source=source if spacing else None)
