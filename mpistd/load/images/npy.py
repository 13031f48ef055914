"""NumPy ``.npy`` reader: header first, no pickle ever (see the package docstring)."""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from mpistd.load.images._contract import ImageError, ReadRequest, _check_decoded_size


def _read_npy(src: Path | io.BytesIO, size: int, max_bytes: int, what: str, request: ReadRequest) -> tuple[np.ndarray, None]:
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
            # getvalue() is the very bytes read (shared, not copied; getbuffer() would copy)
            arr = np.frombuffer(f.getvalue(), dtype=dtype, count=count, offset=f.tell())
        else:
            arr = np.fromfile(f, dtype=dtype, count=count)
        return arr.reshape(shape[::-1]).transpose() if fortran else arr.reshape(shape)

    if isinstance(src, io.BytesIO):
        shape, fortran, dtype = header(src)
        return data(src, shape, fortran, dtype), None
    with open(src, "rb") as f:
        shape, fortran, dtype = header(f)
        return data(f, shape, fortran, dtype), None
