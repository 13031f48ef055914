"""MDF v2 (HDF5) reconstruction reader: MDF.tex v2.0–v2.1 (MagneticParticleImaging/MDF,
``specification/MDF.tex``, sections "Data (group: /)", "Tracer Parameters" and
"Reconstruction Results").

Confinement (SECURITY.md, "MDF / HDF5"). HDF5 resolves links and external storage inside
its C library, below Python's ``open`` and its audit hooks, so the reader never lets the
library do it:

- every object is reached by walking its path one link at a time with
  ``getlink=True``: hard links are followed, soft links are re-walked the same way from
  the root (at most 8 of them), external links and user-defined links are refused
  (``escape``) before anything is opened through them;
- before any data of a dataset is read its creation property list is checked: external
  storage (``H5Pget_external_count`` > 0) and the VIRTUAL layout are refused
  (``escape``), a chunk that would decode to more than the limit is refused
  (``too_large``), and only the filters HDF5 and h5py build in are allowed (deflate,
  shuffle, fletcher32, szip, n-bit, scale-offset, lzf), so no filter plugin is loaded;
- every auxiliary dataset (``/version``, ``size``, ``fieldOfView``, ``order``,
  ``positions``, ``isOverscanRegion``, ``/tracer/*``) is checked for shape and type before
  it is read, so a ``size`` declared as 1 GiB of fill value is refused from its header;
  a string is at most one element (``/tracer/*``: at most 64), variable-length strings are
  bounded by the file's size, which is bounded by the image limit;
- a message carries at most a short excerpt (``_excerpt``) of anything the file holds.

Layout read (MDF.tex, Reconstruction Results): ``/reconstruction/data`` is Q × P × S
(frames × voxels × channels; h5py lists dimensions slowest first, as the specification
does), or Q × P × S × 2 for complex data (the specification's "Datatypes": real and
imaginary part in a last dimension of size 2), or a complex HDF5 type. One frame and
one channel are read: ``request.frame`` / ``request.channel`` (the image reference's
``frame`` and ``channel``), default 0. Complex data is refused unless the reference sets
``magnitude``, and then |z| is read.

Grid: ``/reconstruction/size`` (Nx, Ny, Nz), or — size being optional — the regular grid
that ``/reconstruction/positions`` (P × 3, metres, (x, y, z) triples) describes; with
both they must agree. Voxels are ordered x fastest, then y, then z (``order`` "xyz", its
default; the calibration section: "ordered with respect to their x position first,
second ... y and last ... z"), so the voxel vector reshapes C-order to (Nz, Ny, Nx).
Other ``order`` values are refused rather than guessed. A grid with three axes of more
than one voxel is a 3D (z, y, x) image; with two it is a 2D image in the plane of those
two axes, rows the slower axis and columns the faster, keeping the file's axis names
(``LoadedImage.axes``, as for a DICOM slice; docs/decisions.md, "MDF layouts"): x–z plane
→ (z, x); x–y plane → (y, x); y–z plane → (z, y).

Spacing: from ``positions`` (their step, m → mm) when given, else ``fieldOfView`` (m) /
size. It goes through the shared :func:`check_spacing` (``load_image``): a spacing that is
not finite and positive, or whose area or volume overflows (a field of view of 1e306 m),
becomes ``spacing_error`` naming the field of view's value (MPI014, or MPI017 when the
dataset declares the pixel size).

``/version`` (mandatory, a String) must be 2.x: MDF 1.x is not backward compatible
(MDF.tex, Changelog v2.0.0) and is refused with that reason, as is any other major.
``isOverscanRegion`` (Int8, P) marks voxels to exclude: they come back as NaN and
``LoadedImage.mask`` is False there. ``/tracer`` (name, batch, vendor, solute, volume,
concentration, one entry per tracer A) is read into ``LoadedImage.tracers``; a field
whose shape or type is not the specification's is left out (None), never guessed.
"""
from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from mpistd.load.images._contract import ImageError, LoadedImage, ReadRequest, TracerInfo

#: HDF5 filter ids that are built into HDF5 or registered by h5py (no plugin is ever loaded)
_FILTERS = {1: "deflate", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset", 32000: "lzf"}
_MAX_SOFT_LINKS = 8
_MAX_TRACERS = 64
_AUX_CHUNK_BYTES = 1 << 20  # an auxiliary dataset's chunk: at most 1 MiB decoded
_EXCERPT = 60
_MAX_STRING_BYTES = 1 << 16  # one fixed-length String element


def _excerpt(value: Any) -> str:
    """A bounded, printable excerpt of something the file holds."""
    text = repr(value)
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "…"


class _File:
    """Path walking and dataset checks on an open ``h5py.File`` (see the module docstring)."""

    def __init__(self, f: Any, what: str, max_bytes: int):
        import h5py

        self.h5py = h5py
        self.f = f
        self.what = what
        self.max_bytes = max_bytes

    def get(self, path: str, _hops: int = 0) -> Any:
        """The object at ``path`` (absolute), or None when absent; links checked one by one."""
        h5py = self.h5py
        node = self.f
        parts = [p for p in path.split("/") if p]
        for i, name in enumerate(parts):
            if not isinstance(node, h5py.Group):
                return None
            here = "/" + "/".join(parts[: i + 1])
            try:
                link = node.get(name, getlink=True)
            except (KeyError, ValueError, TypeError):
                link = None
            if link is None:
                return None
            if isinstance(link, h5py.HardLink):
                node = node[name]
            elif isinstance(link, h5py.SoftLink):
                if _hops >= _MAX_SOFT_LINKS:
                    raise ImageError("format", f"{self.what}: {here} is a chain of more than {_MAX_SOFT_LINKS} soft links")
                target = str(link.path)
                if not target.startswith("/"):  # relative to the group holding the link
                    target = "/" + "/".join(parts[:i] + [target])
                rest = "/".join(parts[i + 1:])
                return self.get(target + ("/" + rest if rest else ""), _hops + 1)
            elif isinstance(link, h5py.ExternalLink):
                # the link's target is not named: it is a path on someone's machine
                raise ImageError("escape", f"{self.what}: {here} is an HDF5 external link to another file; only "
                                           "the image file itself is read")
            else:
                raise ImageError("escape", f"{self.what}: {here} is a user-defined HDF5 link; not followed")
        return node

    def dataset(self, path: str, *, required: bool = False) -> Any:
        obj = self.get(path)
        if obj is None:
            if required:
                raise ImageError("format", f"{self.what} is an HDF5 file without {path} (MDF v2 reconstruction data "
                                           "expected, MDF.tex: Reconstruction Results)")
            return None
        if not isinstance(obj, self.h5py.Dataset):
            raise ImageError("format", f"{self.what}: {path} is not a dataset")
        return obj

    def check_storage(self, ds: Any, path: str, chunk_limit: int) -> None:
        """Refuse, before any read, data stored outside the file or decoding past the limit."""
        h5d = self.h5py.h5d
        dcpl = ds.id.get_create_plist()
        if dcpl.get_external_count() > 0:
            raise ImageError("escape", f"{self.what}: {path} keeps its data in another file (HDF5 external "
                                       "storage); only the image file itself is read")
        layout = dcpl.get_layout()
        if layout == getattr(h5d, "VIRTUAL", -1):
            raise ImageError("escape", f"{self.what}: {path} is an HDF5 virtual dataset (its data live in other "
                                       "files); only the image file itself is read")
        if layout == h5d.CHUNKED:
            chunk = dcpl.get_chunk()
            n = math.prod(int(c) for c in chunk) * ds.dtype.itemsize
            if n > chunk_limit:
                raise ImageError("too_large", f"{self.what}: {path} is stored in chunks of {tuple(int(c) for c in chunk)} "
                                              f"{ds.dtype} ({n} bytes decoded each), over the limit of {chunk_limit} "
                                              "bytes")
            for i in range(dcpl.get_nfilters()):
                fid = int(dcpl.get_filter(i)[0])
                if fid not in _FILTERS:
                    raise ImageError("format", f"{self.what}: {path} uses HDF5 filter {fid}, not one mpistd reads "
                                               f"({', '.join(sorted(_FILTERS.values()))})")

    def check_global_heap(self, ds: Any, path: str, count: int) -> None:
        """Variable-length strings live in a global heap collection (HDF5 File Format
        Specification, III.E "Global Heap"). A collection whose objects do not tile it exactly
        can make the HDF5 library loop for ever while parsing it (found by fuzzing), so each
        collection a contiguous dataset's strings point to is walked here first, in Python,
        with every step bounded. Compact and chunked string datasets are left to HDF5."""
        import struct

        dcpl = ds.id.get_create_plist()
        offset = ds.id.get_offset() if dcpl.get_layout() == self.h5py.h5d.CONTIGUOUS else None
        if offset is None:
            return
        fcpl = self.f.id.get_create_plist()
        size_addr, size_len = fcpl.get_sizes()
        base = int(fcpl.get_userblock())  # file addresses count from the end of the user block
        ref = 4 + size_addr + 4  # sequence length, collection address, object index
        bad = ImageError("format", f"{self.what}: {path} points into a malformed HDF5 global heap (variable-length "
                                   "string storage); not read")
        fmt = {4: "<I", 8: "<Q"}
        if size_addr not in fmt or size_len not in fmt:
            raise bad
        with open(self.f.filename, "rb") as raw:
            end_of_file = raw.seek(0, 2)
            raw.seek(offset)
            refs = raw.read(ref * count)
            if len(refs) != ref * count:
                raise bad
            seen = set()
            for k in range(count):
                (address,) = struct.unpack_from(fmt[size_addr], refs, k * ref + 4)
                if address == 0 or address in seen:
                    continue  # an empty string points nowhere
                seen.add(address)
                address += base
                raw.seek(address)
                head = raw.read(8 + size_len)
                if len(head) != 8 + size_len or head[:4] != b"GCOL" or head[4] != 1:
                    raise bad
                (total,) = struct.unpack_from(fmt[size_len], head, 8)
                if not 8 + size_len + 8 + size_len <= total <= end_of_file - address:
                    raise bad
                body = head + raw.read(total - len(head))
                p, obj = len(head), 8 + size_len  # object header: index, refcount, reserved, size
                while p < total:
                    if p + obj > total:
                        break  # too small for an object: free space (as HDF5 reads it)
                    index = struct.unpack_from("<H", body, p)[0]
                    (n,) = struct.unpack_from(fmt[size_len], body, p + 8)
                    need = obj + (n + 7) // 8 * 8 if index > 0 else n
                    if need < obj or p + need > total:
                        raise bad
                    p += need

    def aux(self, path: str, shapes: tuple, kinds: str, *, max_items: int | None = None) -> Any:
        """An auxiliary numeric dataset: shape and type checked first, then read (None: absent)."""
        ds = self.dataset(path)
        if ds is None:
            return None
        shape = tuple(int(s) for s in ds.shape) if ds.shape is not None else None
        if shape is None or not any(_shape_ok(shape, s) for s in shapes):
            raise ImageError("format", f"{self.what}: {path} has shape {_excerpt(shape)}; "
                                       f"{' or '.join(_shape_text(s) for s in shapes)} expected (MDF.tex)")
        if ds.dtype.kind not in kinds:
            raise ImageError("format", f"{self.what}: {path} has type {_excerpt(str(ds.dtype))}; "
                                       f"{_kind_text(kinds)} expected (MDF.tex)")
        if max_items is not None and math.prod(shape) > max_items:
            raise ImageError("format", f"{self.what}: {path} has {math.prod(shape)} values, more than the "
                                       f"{max_items} mpistd reads")
        n = math.prod(shape) * ds.dtype.itemsize
        if n > self.max_bytes:
            raise ImageError("too_large", f"{self.what}: {path} is {n} bytes, over the limit of {self.max_bytes}")
        self.check_storage(ds, path, max(_AUX_CHUNK_BYTES, n))
        return np.asarray(ds[()])

    def string(self, path: str, *, max_items: int = 1) -> list[str] | None:
        """A String dataset (fixed or variable length, bytes or str, scalar or a 1-D array of
        at most ``max_items``): its values, NUL padding removed. None when absent."""
        ds = self.dataset(path)
        if ds is None:
            return None
        h5py = self.h5py
        info = h5py.check_string_dtype(ds.dtype)
        if info is None:
            raise ImageError("format", f"{self.what}: {path} has type {_excerpt(str(ds.dtype))}; a String "
                                       "(MDF.tex, Datatypes) expected")
        shape = tuple(int(s) for s in ds.shape) if ds.shape is not None else None
        if shape is None or not (shape == () or (len(shape) == 1 and 1 <= shape[0] <= max_items)):
            raise ImageError("format", f"{self.what}: {path} has shape {_excerpt(shape)}; "
                                       f"{'one string' if max_items == 1 else f'at most {max_items} strings'} expected")
        if info.length is not None and info.length > _MAX_STRING_BYTES:
            raise ImageError("format", f"{self.what}: {path} is a string of {info.length} bytes, more than the "
                                       f"{_MAX_STRING_BYTES} mpistd reads")
        # fixed length: bounded by shape × itemsize; variable length: by the file's size (≤ the limit)
        self.check_storage(ds, path, max(_AUX_CHUNK_BYTES, math.prod(shape or (1,)) * ds.dtype.itemsize))
        if info.length is None:
            self.check_global_heap(ds, path, math.prod(shape or (1,)))
        raw = ds[()]
        values = [raw] if shape == () else list(raw)
        out = []
        for v in values:
            if isinstance(v, bytes):
                v = v.decode("utf-8", errors="replace")
            out.append(str(v).split("\x00", 1)[0].strip())
        return out


def _shape_ok(shape: tuple, want: tuple) -> bool:
    return len(shape) == len(want) and all(w is None or s == w for s, w in zip(shape, want))


def _shape_text(want: tuple) -> str:
    return "(" + ", ".join("n" if w is None else str(w) for w in want) + ("," if len(want) == 1 else "") + ")"


def _kind_text(kinds: str) -> str:
    return {"iu": "integers", "f": "Float64", "iuf": "numbers", "iub": "Int8 flags"}.get(kinds, kinds)


_VERSION = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+.].*)?")


def _check_version(h: _File) -> str:
    what = h.what
    values = h.string("/version")
    if values is None:
        obj = h.f.attrs.get("version") if "version" in h.f.attrs else None
        hint = " (the file has a 'version' attribute; MDF stores parameters as datasets, not attributes)" if obj is not None else ""
        raise ImageError("format", f"{what} has no /version dataset{hint}; MDF v2 files state their version there "
                                   "(MDF.tex, Data (group: /), mandatory)")
    text = values[0]
    m = _VERSION.fullmatch(text)
    if not m:
        raise ImageError("format", f"{what}: /version is {_excerpt(text)}, not a version number (MDF v2: e.g. 2.1.0)")
    major = int(m.group(1))
    if major == 1:
        raise ImageError("format", f"{what}: /version {_excerpt(text)} is MDF 1.x, whose layout differs from v2 and is "
                                   "not read (MDF.tex, Changelog v2.0.0: not backward compatible); convert it to MDF "
                                   "v2 (e.g. MPIFiles.jl converts v1 to v2)")
    if major != 2:
        raise ImageError("format", f"{what}: /version {_excerpt(text)} is an MDF major version mpistd does not know "
                                   "(it reads MDF v2.0 to v2.1)")
    return text


def _grid_from_positions(pos: np.ndarray, what: str) -> tuple[tuple[int, int, int], dict[str, float]]:
    """(Nx, Ny, Nz) and the step (mm) of each axis with more than one voxel, from P × 3
    positions in metres that must form a regular grid ordered x fastest, then y, then z."""
    pos = np.asarray(pos, dtype=np.float64)
    p = pos.shape[0]
    if not np.isfinite(pos).all():
        raise ImageError("format", f"{what}: /reconstruction/positions holds non-finite values")
    extent = float(np.max(np.ptp(pos, axis=0))) if p > 1 else 0.0
    tol = 1e-6 * extent if extent > 0 else 1e-300
    d = np.abs(pos - pos[0])
    # nx: leading run of voxels with the first voxel's y and z; ny: the same for z, in steps of nx
    off_yz = np.flatnonzero((d[:, 1] > tol) | (d[:, 2] > tol))
    nx = int(off_yz[0]) if off_yz.size else p
    off_z = np.flatnonzero(d[::nx, 2] > tol) if nx else np.array([])
    ny = int(off_z[0]) if off_z.size else -(-p // nx)
    if nx < 1 or ny < 1 or p % (nx * ny):
        raise ImageError("format", f"{what}: /reconstruction/positions ({p} points) is not a regular grid ordered "
                                   "x fastest, then y, then z (MDF order 'xyz')")
    nz = p // (nx * ny)
    n = (nx, ny, nz)
    steps, origin = [], pos[0]
    strides = (1, nx, nx * ny)
    for axis in range(3):
        if n[axis] > 1:
            step = (pos[strides[axis] * (n[axis] - 1), axis] - origin[axis]) / (n[axis] - 1)
        else:
            step = 0.0
        steps.append(step)
    if any(n[a] > 1 and not steps[a] > 0 for a in range(3)):
        raise ImageError("format", f"{what}: /reconstruction/positions does not increase along every axis of the grid "
                                   f"{nx}×{ny}×{nz}; only increasing regular grids are read")
    iz, iy, ix = np.unravel_index(np.arange(p), (nz, ny, nx))
    ideal = origin + np.stack([ix * steps[0], iy * steps[1], iz * steps[2]], axis=1)
    if float(np.max(np.abs(pos - ideal))) > tol:
        raise ImageError("format", f"{what}: /reconstruction/positions is not a regular grid (points off the "
                                   f"{nx}×{ny}×{nz} grid of their first steps); irregular grids are not read")
    spacing = {a: steps[i] * 1000.0 for i, a in enumerate("xyz") if n[i] > 1}
    return n, spacing


def _tracers(h: _File) -> tuple[TracerInfo, ...]:
    grp = h.get("/tracer")
    if grp is None or not isinstance(grp, h.h5py.Group):
        return ()

    def strings(name):
        try:
            return h.string(f"/tracer/{name}", max_items=_MAX_TRACERS)
        except ImageError as exc:
            if exc.kind == "format":
                return None  # not the specification's form: left out, never guessed
            raise

    def floats(name):
        try:
            v = h.aux(f"/tracer/{name}", ((None,), ()), "iuf", max_items=_MAX_TRACERS)
        except ImageError as exc:
            if exc.kind == "format":
                return None
            raise
        if v is None:
            return None
        v = np.atleast_1d(np.asarray(v, dtype=np.float64))
        return [float(x) if math.isfinite(float(x)) else None for x in v[:_MAX_TRACERS]]

    fields = {k: strings(k) for k in ("name", "vendor", "batch", "solute")}
    fields.update({"concentration_mol_per_L": floats("concentration"), "volume_L": floats("volume")})
    count = max((len(v) for v in fields.values() if v is not None), default=0)
    out = []
    for a in range(min(count, _MAX_TRACERS)):
        def at(key, a=a):
            v = fields[key]
            if v is None or len(v) != count:
                return None  # a field of another length than the others is not matched by index
            x = v[a]
            return x[:200] if isinstance(x, str) else x
        out.append(TracerInfo(name=at("name"), vendor=at("vendor"), batch=at("batch"), solute=at("solute"),
                              concentration_mol_per_L=at("concentration_mol_per_L"), volume_L=at("volume_L")))
    return tuple(out)


def _read_mdf(path: Path | io.BytesIO, size: int, max_bytes: int, what: str, request: ReadRequest) -> LoadedImage:
    import h5py

    with h5py.File(path, "r") as f:
        h = _File(f, what, max_bytes)
        if h.get("/reconstruction") is None:
            raise ImageError("format", f"{what} is an HDF5 file without /reconstruction (MDF v2 reconstruction data "
                                       "expected, MDF.tex: Reconstruction Results)")
        _check_version(h)
        dset = h.dataset("/reconstruction/data", required=True)
        arr, frames, channels, frame, channel, p = _one_frame(h, dset, request)
        # the grid
        sz = h.aux("/reconstruction/size", ((3,),), "iu")
        n_size = None
        if sz is not None:
            if (sz < 1).any():
                raise ImageError("format", f"{what}: /reconstruction/size must be 3 positive integers (Nx, Ny, Nz), "
                                           f"got {_excerpt(sz.tolist())}")
            n_size = tuple(int(v) for v in sz)
        pos = h.aux("/reconstruction/positions", ((p, 3),), "iuf")
        pos_spacing = None
        if pos is not None:
            n_pos, pos_spacing = _grid_from_positions(pos, what)
            if n_size is not None and n_size != n_pos:
                raise ImageError("format", f"{what}: /reconstruction/size {n_size} and the grid of /reconstruction/"
                                           f"positions {n_pos} disagree")
            n_size = n_pos
        if n_size is None:
            raise ImageError("format", f"{what}: neither /reconstruction/size nor /reconstruction/positions is given; "
                                       "the voxel grid is unknown")
        nx, ny, nz = n_size
        if p != nx * ny * nz:
            raise ImageError("format", f"{what}: /reconstruction/data has {p} voxels, /reconstruction/size "
                                       f"{nx}×{ny}×{nz} = {nx * ny * nz}")
        order = h.string("/reconstruction/order")
        if order is not None and order[0] != "xyz":
            raise ImageError("format", f"{what}: /reconstruction/order is {_excerpt(order[0])}; only the default 'xyz' "
                                       "(x fastest) is read")
        spacing, source = None, None
        if pos_spacing is not None:
            spacing, source = dict(pos_spacing), "MDF /reconstruction/positions"
        fov = h.aux("/reconstruction/fieldOfView", ((3,),), "iuf")
        if fov is not None and spacing is None:
            fov = fov.astype(np.float64)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                sp = {a: float(fov[i]) * 1000.0 / n_size[i] for i, a in enumerate("xyz") if n_size[i] > 1}
            # checked by the shared check_spacing (load_image's _finish); an unusable one is
            # reported with the field of view it came from
            ok = all(math.isfinite(v) and v > 0 for v in sp.values()) and math.isfinite(math.prod(sp.values()))
            spacing, source = sp, ("MDF /reconstruction/fieldOfView ÷ size" if ok else
                                   f"MDF /reconstruction/fieldOfView {_excerpt(fov.tolist())} m ÷ size "
                                   f"{_excerpt(list(n_size))}")
        overscan = h.aux("/reconstruction/isOverscanRegion", ((p,),), "iub")
        tracers = _tracers(h)

    vol = arr.reshape(nz, ny, nx)
    keep = tuple(i for i, n in enumerate((nz, ny, nx)) if n > 1)  # axes of vol with more than one voxel
    names = ("z", "y", "x")
    if len(keep) == 3:
        image = vol
    elif len(keep) == 2:  # rows: the slower file axis, columns: the faster (module docstring)
        image = vol.reshape(tuple((nz, ny, nx)[i] for i in keep))
    else:
        raise ImageError("format", f"{what}: reconstruction grid {nx}×{ny}×{nz} (x×y×z) has fewer than two axes of "
                                   "more than one voxel: not a 2D or 3D image")
    file_axes = tuple(names[i] for i in keep)
    if spacing is not None:
        spacing = {ax: spacing[ax] for ax in file_axes if ax in spacing}
    mask = None
    if overscan is not None and np.any(overscan):
        mask = ~np.asarray(overscan, dtype=bool).reshape(image.shape)
        image = np.array(image, dtype=np.float64)
        image[~mask] = np.nan  # also out of the noise box and the saturation count
    return LoadedImage(image, spacing or None, "mdf", spacing_source=source if spacing else None, frames=frames,
                       channels=channels, frame=frame, channel=channel, tracers=tracers, mask=mask,
                       axes=file_axes)


def _one_frame(h: _File, dset: Any, request: ReadRequest) -> tuple[np.ndarray, int, int, int, int, int]:
    """The voxels of one frame and channel (checks first, then one bounded read)."""
    what = h.what
    shape = tuple(int(s) for s in dset.shape) if dset.shape is not None else ()
    dt = dset.dtype
    split_complex = len(shape) == 4 and shape[3] == 2 and dt.kind in "iuf"
    is_complex = dt.kind == "c" or split_complex or (dt.names is not None and set(dt.names) == {"r", "i"})
    if not is_complex and dt.kind not in "iuf":
        raise ImageError("format", f"{what}: /reconstruction/data has type {_excerpt(str(dt))}; numbers are expected")
    if len(shape) != (4 if split_complex else 3):
        raise ImageError("format", f"{what}: /reconstruction/data has shape {_excerpt(shape)}; MDF v2 frames × voxels × "
                                   "channels (Q × P × S, or Q × P × S × 2 for complex data) expected")
    q, p, s = shape[:3]
    if q < 1 or p < 1 or s < 1:
        raise ImageError("format", f"{what}: /reconstruction/data has no frame, voxel or channel (shape {shape})")
    if is_complex and not request.magnitude:
        raise ImageError("format", f"{what}: /reconstruction/data holds complex values; set \"magnitude\": true on the "
                                   "image reference to quantify their magnitude |z| (standard 1.1), or store real data")
    frame = 0 if request.frame is None else int(request.frame)
    channel = 0 if request.channel is None else int(request.channel)
    if not 0 <= frame < q:
        raise ImageError("format", f"{what}: frame {frame} asked for, the file holds {q} frame{'s' if q != 1 else ''} "
                                   f"(0 to {q - 1})")
    if not 0 <= channel < s:
        raise ImageError("format", f"{what}: channel {channel} asked for, the file holds {s} channel"
                                   f"{'s' if s != 1 else ''} (0 to {s - 1})")
    item = dt.itemsize * (2 if split_complex else 1)
    need = p * max(item, 8)  # the voxels as read, and their float64 copy
    if need > h.max_bytes:
        raise ImageError("too_large", f"{what}: one frame of /reconstruction/data is {p} voxels ({need} bytes as "
                                      f"float64), over the limit of {h.max_bytes} bytes")
    h.check_storage(dset, "/reconstruction/data", h.max_bytes)
    if split_complex:
        ri = np.asarray(dset[frame, :, channel, :], dtype=np.float64)
        vox = np.hypot(ri[:, 0], ri[:, 1])
    else:
        raw = np.asarray(dset[frame, :, channel])
        if raw.dtype.names is not None:
            vox = np.hypot(raw["r"].astype(np.float64), raw["i"].astype(np.float64))
        elif raw.dtype.kind == "c":
            vox = np.abs(raw).astype(np.float64)
        else:
            vox = raw
    return np.asarray(vox), q, s, frame, channel, p
