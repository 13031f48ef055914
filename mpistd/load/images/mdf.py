"""MDF v2 (HDF5) reconstruction reader (see the package docstring)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from mpistd.load.images._contract import ImageError, ReadRequest, _check_decoded_size


def _h5_get(f, name: str, what: str):
    if name not in f:
        raise ImageError("format", f"{what} is an HDF5 file without {name} (MDF v2 reconstruction data expected)")
    return f[name]


def _read_mdf(path: Path | io.BytesIO, size: int, max_bytes: int, what: str, request: ReadRequest) -> tuple[np.ndarray, dict[str, float] | None]:
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
