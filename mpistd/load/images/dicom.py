"""DICOM reader (PS3.3; see docs/decisions.md, "Which DICOM layouts are read").

Layouts read:

- **classic single frame** (one image per file, CT/MR/SC ... Image IODs): Rows × Columns.
- **legacy multi-frame** (NumberOfFrames > 1, one set of top-level attributes for every
  frame, e.g. NM or old MR): the frames are slices, spaced by SpacingBetweenSlices, else
  SliceThickness (C.7.6.2 has no per-frame position here).
- **enhanced multi-frame** (C.7.6.16 Multi-frame Functional Groups): every attribute below
  is looked up in the frame's PerFrameFunctionalGroupsSequence item first, then in
  SharedFunctionalGroupsSequence, then at the top level:
  Pixel Measures (0028,9110: PixelSpacing, SliceThickness, SpacingBetweenSlices),
  Pixel Value Transformation (0028,9145: RescaleSlope, RescaleIntercept),
  Plane Position (Patient) (0020,9113: ImagePositionPatient),
  Plane Orientation (Patient) (0020,9116: ImageOrientationPatient).
  Frames at distinct positions along the slice normal are slices (ordered by position,
  spacing checked regular); frames all at one position are temporal frames, of which
  the image reference's ``frame`` (default 0) is read.
- **a slice series** (the 1.1 ``slices``): single-frame files of one plane orientation and
  one grid, ordered by ImagePositionPatient along the normal, spacing checked regular.

Pixel data: Pixel Data (7FE0,0010) through pydicom's decoders; Float Pixel Data
(7FE0,0008) and Double Float Pixel Data (7FE0,0009) as float32/float64. The decoded
size is bounded from Rows × Columns × frames × BitsAllocated before decoding.

Modality LUT (C.11.1): Rescale Slope/Intercept (stored × slope + intercept), or the
Modality LUT Sequence (0028,3000; LUT Descriptor = [entries (0 means 65536), first
stored value mapped, bits]; a stored value below the first mapped one takes the first
entry, above the last the last entry). Both at once is refused as ambiguous. Float pixel
data are already real-world values (no modality LUT).

Axes (C.7.6.2.1.1: ImageOrientationPatient = the row direction (along a row, increasing
column) then the column direction (down a column, increasing row), in the patient's
L-P-S coordinates). The table mapping them to the dataset's axes:

    patient +X (towards the patient's left)      -> dataset x
    patient +Y (towards the patient's posterior) -> dataset y
    patient +Z (towards the patient's head)      -> dataset z

A direction cosine of −1 flips that axis (the array is reversed so the dataset's axis
increases). An orientation whose cosines are not 0 or ±1 (within 1e-4) is oblique: no
dataset axis follows it, and it is refused. A 2D slice may lie in any of the three planes;
its axes are named in z, y, x order ((z, x), (z, y) or (y, x)), so the FWHM axis and the
pixel sizes keep their meaning. Without ImageOrientationPatient a 2D image's rows are z and
its columns x, and a multi-frame image's frames are z, rows y, columns x.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mpistd.load.images._contract import (
    ImageError,
    LoadedImage,
    ReadRequest,
    _check_decoded_size,
    check_shape,
    excerpt,
    require,
)

_PATIENT_TO_DATASET = {0: "x", 1: "y", 2: "z"}  # the table of the module docstring
_AXIS_TOL = 1e-4
#: slices are regular when every gap is within this fraction of the mean gap
SLICE_REGULARITY = 0.01


def _float(value, name: str, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise ImageError("format", f"{what}: {name} is {excerpt(str(value))}, not a number") from None


def _floats(value, n: int, name: str, what: str) -> list[float]:
    try:
        seq = list(value) if not isinstance(value, (str, bytes)) else [value]
    except TypeError:
        seq = [value]
    if len(seq) != n:
        raise ImageError("format", f"{what}: {name} has {len(seq)} values ({excerpt(seq)}); {n} expected")
    return [_float(v, name, what) for v in seq]


class _Lookup:
    """An attribute of frame i: PerFrame item, then Shared item, then the top level (C.7.6.16)."""

    def __init__(self, ds, what: str):
        self.ds = ds
        self.what = what
        shared = ds.get("SharedFunctionalGroupsSequence")
        self.shared = shared[0] if shared is not None and len(shared) else None
        self.per_frame = ds.get("PerFrameFunctionalGroupsSequence")
        self.enhanced = self.shared is not None or self.per_frame is not None

    def get(self, i: int, macro: str | None, name: str, top_level: bool = True):
        if macro is not None:
            items = []
            if self.per_frame is not None and i < len(self.per_frame):
                items.append(self.per_frame[i])
            if self.shared is not None:
                items.append(self.shared)
            for item in items:
                seq = item.get(macro)
                if seq is not None and len(seq) and name in seq[0]:
                    return seq[0].get(name)
        return self.ds.get(name) if top_level else None


@dataclass
class _Frames:
    """Decoded frames of one file (or one slice of a series), before orientation."""

    pixels: np.ndarray  # (n, rows, cols) real-world values
    positions: list[list[float] | None]  # ImagePositionPatient per frame
    orientation: list[float] | None  # ImageOrientationPatient (6 cosines), common to every frame
    pixel_spacing: list[float] | None  # [row spacing, column spacing] mm
    slice_gap: float | None  # SpacingBetweenSlices, else SliceThickness (legacy multi-frame)
    source: str


def _decode(ds, what: str, max_bytes: int) -> np.ndarray:
    """Pixels as (frames, rows, cols) stored values (or float values), size bounded first."""
    has = [k for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData") if k in ds]
    if not has:
        raise ImageError("format", f"{what} is a DICOM file without pixel data (no Pixel Data, Float Pixel Data "
                                   "or Double Float Pixel Data)")
    if len(has) > 1:
        raise ImageError("format", f"{what} holds more than one pixel data element ({', '.join(has)})")
    spp = ds.get("SamplesPerPixel", 1)
    if _float(spp if spp is not None else 1, "SamplesPerPixel", what) != 1:
        raise ImageError("format", f"{what} has {excerpt(spp)} samples per pixel; a grey-level image is expected")
    frames = ds.get("NumberOfFrames", 1) or 1
    rows, cols = ds.get("Rows"), ds.get("Columns")
    if rows is None or cols is None:
        raise ImageError("format", f"{what}: Rows or Columns is missing")
    try:
        frames = int(frames)
    except (TypeError, ValueError):
        raise ImageError("format", f"{what}: NumberOfFrames is {excerpt(str(frames))}, not an integer") from None
    shape = check_shape((frames, rows, cols), what, "DICOM header (NumberOfFrames, Rows, Columns)")
    if 0 in shape:
        raise ImageError("format", f"{what}: NumberOfFrames × Rows × Columns is {shape}: no pixels")
    bits_value = {"FloatPixelData": 32, "DoubleFloatPixelData": 64}.get(has[0]) or ds.get("BitsAllocated", 16) or 16
    bits = int(_float(bits_value, "BitsAllocated", what))
    if bits not in (1, 8, 16, 32, 64):
        raise ImageError("format", f"{what}: BitsAllocated is {excerpt(bits_value)}; 1, 8, 16, 32 or 64 expected")
    _check_decoded_size(shape, np.dtype(f"u{max(1, bits // 8)}"), max_bytes, what)
    arr = np.asarray(ds.pixel_array)
    if arr.dtype.kind not in "iuf":
        raise ImageError("format", f"{what}: pixel data decode to {arr.dtype}; numeric values expected")
    return arr.reshape(shape)


def _modality(ds, look: _Lookup, arr: np.ndarray, float_data: bool, what: str) -> tuple[np.ndarray, str]:
    """Stored values -> real-world values (C.11.1), frame by frame for enhanced images."""
    lut_seq = ds.get("ModalityLUTSequence")
    n = arr.shape[0]
    slopes, intercepts = [], []
    for i in range(n):
        s = look.get(i, "PixelValueTransformationSequence", "RescaleSlope")
        b = look.get(i, "PixelValueTransformationSequence", "RescaleIntercept")
        slopes.append(1.0 if s is None or s == "" else _float(s, "RescaleSlope", what))
        intercepts.append(0.0 if b is None or b == "" else _float(b, "RescaleIntercept", what))
    rescaled = any(s != 1.0 for s in slopes) or any(b != 0.0 for b in intercepts)
    for name, values in (("RescaleSlope", slopes), ("RescaleIntercept", intercepts)):
        bad = next((v for v in values if not math.isfinite(v)), None)
        if bad is not None:
            raise ImageError("format", f"{what}: {name} is {bad!r}; a finite number is expected")
    if float_data:
        return arr, "float pixel data (no modality LUT)"
    if lut_seq is not None and len(lut_seq):
        if rescaled:
            raise ImageError("format", f"{what} has both a Modality LUT Sequence and RescaleSlope/Intercept; "
                                       "PS3.3 C.11.1 allows one of them")
        item = lut_seq[0]
        desc = item.get("LUTDescriptor")
        data = item.get("LUTData")
        if desc is None or data is None or len(desc) != 3:
            raise ImageError("format", f"{what}: its Modality LUT Sequence lacks a 3-value LUTDescriptor or LUTData")
        entries, first, _bits = (int(v) for v in desc)
        entries = entries or 65536
        if isinstance(data, (bytes, bytearray)):
            table = np.frombuffer(bytes(data), dtype="<u2" if _bits > 8 else "u1")
        else:
            table = np.asarray(list(data) if not isinstance(data, int) else [data], dtype=np.float64)
        if table.size != entries:
            raise ImageError("format", f"{what}: Modality LUT Descriptor declares {entries} entries, LUTData "
                                       f"holds {table.size}")
        if first >= 32768 and arr.dtype.kind == "i":
            first -= 65536  # the descriptor's second value is signed when the pixels are (C.11.1.1)
        idx = np.clip(arr.astype(np.int64) - first, 0, entries - 1)
        return np.asarray(table, dtype=np.float64)[idx], "Modality LUT Sequence"
    if not rescaled:
        return arr, "stored values (identity modality LUT)"
    out = arr.astype(np.float64)
    for i in range(n):
        if slopes[i] != 1.0:
            out[i] *= slopes[i]
        if intercepts[i] != 0.0:
            out[i] += intercepts[i]
    return out, "RescaleSlope/RescaleIntercept"


#: top-level data elements mpistd lets pydicom parse (an enhanced MR has a few hundred)
MAX_ELEMENTS = 20_000
#: sequence items mpistd parses: this many, plus ITEMS_PER_FRAME per frame the pixel data can hold
ITEMS_BASE, ITEMS_PER_FRAME = 10_000, 64
_ITEM_TAG = b"\xfe\xff\x00\xe0"  # (FFFE,E000) Item, little endian (PS3.5 7.5)


def _bound_items(ds, raw: bytes, what: str) -> None:
    """Refuse a file with more sequence items than its frames can need, before pydicom parses
    any sequence (it parses them lazily, about 50 µs and 1 KB an item: an 8-byte empty item
    repeated over 256 MiB would take hours and tens of GB). The budget is ITEMS_BASE plus
    ITEMS_PER_FRAME per frame, frames counted as the fewer of NumberOfFrames and 16 × what
    the file's size can hold uncompressed. Counting the item tag's bytes over the whole file
    over-counts (pixel values may match it), never under-counts."""
    items = raw.count(_ITEM_TAG)
    if items <= ITEMS_BASE:
        return
    try:
        declared = int(ds.get("NumberOfFrames", 1) or 1)
        per_frame = int(ds.get("Rows", 1) or 1) * int(ds.get("Columns", 1) or 1) * max(1, int(ds.get("BitsAllocated", 8) or 8) // 8)
    except (TypeError, ValueError):
        declared, per_frame = 1, 1
    frames = max(1, min(declared, 16 * len(raw) // max(1, per_frame)))
    budget = ITEMS_BASE + ITEMS_PER_FRAME * frames
    if items > budget:
        raise ImageError("format", f"{what} holds {items} sequence items for {frames} frame(s), over the {budget} "
                                   "mpistd parses (a sequence bomb, or a file that is not one image)")


def _frames_of(src, what: str, max_bytes: int) -> _Frames:
    pydicom = require("pydicom", what)
    from pydicom.errors import InvalidDicomError

    from pydicom.filereader import read_partial

    count = [0]

    def bounded(tag, vr, length) -> bool:  # called by pydicom for every top-level element
        count[0] += 1
        if count[0] > MAX_ELEMENTS:
            raise ImageError("format", f"{what} has more than {MAX_ELEMENTS} top-level data elements; not one "
                                       "image mpistd reads (pydicom would parse them all, ~10 µs and 100 B each)")
        return False

    try:
        # dcmread's own path (read_partial), with every top-level element counted: a file of
        # millions of empty elements would otherwise take minutes and gigabytes
        ds = read_partial(src, bounded)
    except InvalidDicomError as exc:
        raise ImageError("unreadable", f"{what} is not a DICOM file: {str(exc)[:120]}") from None
    if isinstance(src, io.BytesIO):
        _bound_items(ds, src.getvalue(), what)  # before any sequence is parsed
    look = _Lookup(ds, what)
    float_data = "FloatPixelData" in ds or "DoubleFloatPixelData" in ds
    stored = _decode(ds, what, max_bytes)
    if look.per_frame is not None and len(look.per_frame) != stored.shape[0]:
        raise ImageError("format", f"{what}: PerFrameFunctionalGroupsSequence has {len(look.per_frame)} items for "
                                   f"{stored.shape[0]} frames; PS3.3 C.7.6.16 asks for one item per frame")
    pixels, lut = _modality(ds, look, stored, float_data, what)
    n = pixels.shape[0]

    def common(macro: str, name: str, count: int) -> list[float] | None:
        values = []
        for i in range(n):
            v = look.get(i, macro, name)
            values.append(None if v is None or v == "" else tuple(_floats(v, count, name, what)))
        present = [v for v in values if v is not None]
        if not present:
            return None
        if len(present) != n or any(not np.allclose(v, present[0], rtol=1e-6, atol=1e-9, equal_nan=True) for v in present):
            raise ImageError("format", f"{what}: {name} differs between frames ({excerpt(values[:3])}…); one "
                                       "grid for every frame is expected")
        return list(present[0])

    orientation = common("PlaneOrientationSequence", "ImageOrientationPatient", 6)
    spacing = common("PixelMeasuresSequence", "PixelSpacing", 2)
    positions: list[list[float] | None] = [None] * n
    if look.enhanced or n == 1:
        # enhanced: the Plane Position (Patient) functional group only (a top-level
        # ImagePositionPatient is not a frame's position); legacy multi-frame: none (its one
        # top-level position is the first frame's only)
        for i in range(n):
            p = look.get(i, "PlanePositionSequence", "ImagePositionPatient", top_level=not look.enhanced)
            positions[i] = None if p is None or p == "" else _floats(p, 3, "ImagePositionPatient", what)
    gap = None
    for name in ("SpacingBetweenSlices", "SliceThickness"):
        v = look.get(0, "PixelMeasuresSequence", name)
        if v is not None and v != "":
            gap = _float(v, name, what)
            break
    src_name = "DICOM PixelSpacing" + (" (Pixel Measures functional group)" if look.enhanced else "")
    return _Frames(pixels, positions, orientation, spacing, gap, src_name)


def _axis_of(cosines, what: str, name: str) -> tuple[str, int]:
    """('x'|'y'|'z', +1|−1) for a direction parallel to a patient axis; oblique refused."""
    v = np.asarray(cosines, dtype=np.float64)
    k = int(np.argmax(np.abs(v)))
    others = np.delete(np.abs(v), k)
    if not (abs(abs(v[k]) - 1.0) <= _AXIS_TOL and (others <= _AXIS_TOL).all()):
        raise ImageError("format", f"{what}: ImageOrientationPatient {excerpt([round(c, 6) for c in cosines])} is "
                                   f"oblique ({name} {excerpt([round(float(c), 4) for c in v])} is not along a "
                                   "patient axis); mpistd maps only patient-axis-aligned images onto the dataset's "
                                   "x, y, z (see docs/decisions.md)")
    return _PATIENT_TO_DATASET[k], 1 if v[k] > 0 else -1


def _orient(fr: _Frames, what: str, request: ReadRequest) -> LoadedImage:
    """(frames, rows, cols) -> the dataset's (z, x) or (z, y, x), with spacing."""
    pix = fr.pixels
    n = pix.shape[0]
    known = [p for p in fr.positions if p is not None]
    slices = n > 1
    frames_total, frame_read = 1, 0
    normal = None
    if fr.orientation is not None:
        row_dir, col_dir = np.asarray(fr.orientation[:3]), np.asarray(fr.orientation[3:])
        normal = np.cross(row_dir, col_dir)
    order = np.arange(n)
    gap = fr.slice_gap
    if n > 1 and known:
        if len(known) != n:
            raise ImageError("format", f"{what}: ImagePositionPatient is given for {len(known)} of {n} frames")
        pos = np.asarray(fr.positions, dtype=np.float64)
        if normal is None:
            raise ImageError("format", f"{what}: frames have positions but no ImageOrientationPatient")
        along = pos @ normal
        if np.ptp(pos, axis=0).max() <= 1e-6:
            slices = False  # every frame at one place: temporal frames, not slices
        else:
            order = np.argsort(along, kind="stable")
            steps = np.diff(along[order])
            mean = float(steps.mean())
            if mean <= 0 or np.any(steps <= 0):
                raise ImageError("format", f"{what}: two frames share the position {excerpt(float(along[order][0]))} "
                                           "mm along the slice normal")
            if np.abs(steps - mean).max() > SLICE_REGULARITY * mean:
                raise ImageError("format", f"{what}: slice spacing is not regular: gaps from {steps.min():.6g} to "
                                           f"{steps.max():.6g} mm along the normal (more than "
                                           f"{SLICE_REGULARITY:.0%} apart)")
            # positions off the normal must not drift (a sheared stack)
            inplane = pos[order] - np.outer(along[order], normal)
            if np.ptp(inplane, axis=0).max() > SLICE_REGULARITY * mean + 1e-6:
                raise ImageError("format", f"{what}: the slices' positions drift within the plane (a sheared "
                                           "stack); not a regular volume")
            gap = mean
    if not slices and n > 1:
        frames_total = n
        frame_read = request.frame if request.frame is not None else 0
        if frame_read >= n:
            raise ImageError("format", f"{what} holds {n} frames (0 to {n - 1}); frame {frame_read} was asked for")
        pix = pix[frame_read:frame_read + 1]
        n = 1
        order = np.arange(1)
    elif request.frame is not None and slices:
        raise ImageError("format", f"{what}: its {n} frames are slices of one volume; `frame` selects a temporal "
                                   "frame and cannot be used here")
    pix = pix[order]

    ps = fr.pixel_spacing  # [between rows, between columns]
    row_sp = ps[0] if ps else None
    col_sp = ps[1] if ps else None
    spacing: dict[str, float] = {}
    if fr.orientation is None:
        if n == 1:
            arr = pix[0]
            axes = ("z", "x")  # rows z, columns x (the historical convention)
            sp = (row_sp, col_sp)
        else:
            arr = pix
            axes = ("z", "y", "x")
            sp = (gap, row_sp, col_sp)
        spacing = {a: s for a, s in zip(axes, sp) if s is not None}
        return LoadedImage(arr, spacing or None, "dicom", spacing_source=fr.source if spacing else None,
                           frames=frames_total, frame=frame_read)
    col_axis, col_sign = _axis_of(fr.orientation[:3], what, "the row direction")  # along a row: the columns' axis
    row_axis, row_sign = _axis_of(fr.orientation[3:], what, "the column direction")
    if col_axis == row_axis:
        raise ImageError("format", f"{what}: ImageOrientationPatient {excerpt(fr.orientation)} has parallel row and "
                                   "column directions")
    if n == 1:
        arr = pix[0]  # rows along row_axis, columns along col_axis
        if row_sign < 0:
            arr = arr[::-1, :]
        if col_sign < 0:
            arr = arr[:, ::-1]
        axes = tuple(a for a in ("z", "y", "x") if a in (row_axis, col_axis))  # the dataset's order
        if axes[0] != row_axis:
            arr = arr.T
        spacing = {row_axis: row_sp, col_axis: col_sp} if ps else {}
        return LoadedImage(np.ascontiguousarray(arr), spacing or None, "dicom",
                           spacing_source=fr.source if spacing else None, frames=frames_total, frame=frame_read,
                           axes=axes)
    slice_axis, slice_sign = _axis_of(normal, what, "the slice normal")
    arr = pix  # (slice, row, col)
    if slice_sign < 0:
        arr = arr[::-1]  # frames were ordered along +normal; the dataset's axis increases
    if row_sign < 0:
        arr = arr[:, ::-1, :]
    if col_sign < 0:
        arr = arr[:, :, ::-1]
    src_axes = (slice_axis, row_axis, col_axis)
    arr = np.transpose(arr, [src_axes.index(a) for a in ("z", "y", "x")])
    spacing = {a: s for a, s in ((slice_axis, gap), (row_axis, row_sp), (col_axis, col_sp)) if s is not None}
    return LoadedImage(np.ascontiguousarray(arr), spacing or None, "dicom",
                       spacing_source=fr.source if spacing else None, frames=frames_total, frame=frame_read)


def _read_dicom(path: Path | io.BytesIO, size: int, max_bytes: int, what: str, request: ReadRequest) -> LoadedImage:
    return _orient(_frames_of(path, what, max_bytes), what, request)


def assemble_series(files: list[tuple[str, io.BytesIO]], max_bytes: int, what: str,
                    request: ReadRequest) -> LoadedImage:
    """Single-frame files of one volume (the 1.1 ``slices``) stacked along the slice normal."""
    parts: list[_Frames] = []
    budget = max_bytes
    for rel, src in files:
        fr = _frames_of(src, f"slice {rel!r}", budget)
        budget -= fr.pixels.nbytes
        if fr.pixels.shape[0] != 1:
            raise ImageError("format", f"{what}: slice {rel!r} holds {fr.pixels.shape[0]} frames; a series is "
                                       "made of single-frame files")
        if fr.positions[0] is None or fr.orientation is None:
            raise ImageError("format", f"{what}: slice {rel!r} lacks ImagePositionPatient or "
                                       "ImageOrientationPatient, which order the slices")
        parts.append(fr)
    first = parts[0]
    for (rel, _), fr in zip(files, parts):
        if fr.pixels.shape[1:] != first.pixels.shape[1:]:
            raise ImageError("format", f"{what}: slice {rel!r} is {fr.pixels.shape[1:]} pixels, the first "
                                       f"{first.pixels.shape[1:]}")
        if not np.allclose(fr.orientation, first.orientation, atol=_AXIS_TOL):
            raise ImageError("format", f"{what}: slice {rel!r} has another ImageOrientationPatient")
        if (fr.pixel_spacing is None) != (first.pixel_spacing is None) or (
                fr.pixel_spacing is not None and not np.allclose(fr.pixel_spacing, first.pixel_spacing, rtol=1e-6)):
            raise ImageError("format", f"{what}: slice {rel!r} has another PixelSpacing")
    if len(parts) == 1:
        return _orient(first, what, request)
    dtype = np.result_type(*[p.pixels.dtype for p in parts])
    stack = np.empty((len(parts),) + first.pixels.shape[1:], dtype=dtype)
    for k, fr in enumerate(parts):
        stack[k] = fr.pixels[0]
        fr.pixels = None  # type: ignore[assignment]  # free as we go
    merged = _Frames(stack, [p.positions[0] for p in parts], first.orientation, first.pixel_spacing, None,
                     first.source.replace("DICOM PixelSpacing", "DICOM PixelSpacing of the slices"))
    return _orient(merged, what, request)
