"""Vectors for MPI013–MPI017, MPI019 (and MPI005 for an image): the replicate images.

Images are small (40 × 24 pixels, 0.5 mm, axes (z, x)) and built so that their reference
metrics are known by construction, with the base document's threshold T = 5 × 2 = 10:

- row 20 is a pure Lorentzian A/(1+((x−x₀)/γ)²), x₀ at column 12, γ = 1 mm (2 pixels), so
  the maximum is A at (20, 12) and the FWHM of the profile through it is exactly 2γ = 2 mm;
  its smallest value, A/37 at column 0, stays above T for every A used here;
- rows 19 and 21 hold one constant c (T < c < A) chosen so that the ROI (rows 19–21, 72
  pixels, 18 mm²) sums to 38·S, i.e. total = mean × area = 0.25 mm² × 38·S = 9.5·S, the base
  document's total for a replicate whose maximum is S;
- every other pixel is 0 (below T).

So an image built with A = S reproduces the replicate's reported maximum and total exactly
(MPI013 quiet), and one built with A = 1.15·S but the same total differs in the maximum only.
The .npy bytes are written by hand (format 1.0 header) so that they do not depend on the
numpy version; values are rounded to 6 decimals.
"""
from __future__ import annotations

import hashlib

import numpy as np

from families.common import CAL, QUANT, vector

E, W = "error", "warning"
NZ, NX, ROW, COL = 40, 24, 20, 12
PIXEL = {"x": 0.5, "z": 0.5}
GAMMA_PX = 2.0  # γ = 1 mm


def npy_bytes(a: np.ndarray) -> bytes:
    """A .npy file (format 1.0, little-endian float64, C order), byte-stable across numpy versions."""
    a = np.ascontiguousarray(a, dtype="<f8")
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }" % a.shape
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * (pad % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin1") + a.tobytes()


def phantom(peak: float, total_of: float) -> np.ndarray:
    """Maximum `peak`, total intensity 9.5 × `total_of` (see the module docstring)."""
    img = np.zeros((NZ, NX))
    u = (np.arange(NX) - COL) / GAMMA_PX
    row = np.round(peak / (1.0 + u * u), 6)
    img[ROW] = row
    c = round((38.0 * total_of - float(sum(row.tolist()))) / (2 * NX), 6)
    assert 10.0 < c < peak, c
    img[ROW - 1] = c
    img[ROW + 1] = c
    return img


def _rep(doc: dict, point: int, rep: int) -> dict:
    return doc["calibrations"][0]["points"][point]["replicates"][rep]


def _max(doc_point_rep: tuple[int, int]) -> float:
    from base import base

    p, r = doc_point_rep
    return _rep(base(), p, r)["max_intensity"]


M00 = _max((0, 0))  # 651.2: the first replicate of the first level
M01 = _max((0, 1))  # 671.2


def _image(name: str, files: dict, rel: str, data: bytes, *, fmt: str = "npy", sha: str | None = "auto") -> dict:
    files[f"images/{name}/{rel}"] = data
    ref = {"path": f"images/{name}/{rel}", "format": fmt, "pixel_size_mm": dict(PIXEL)}
    if sha == "auto":
        ref["sha256"] = hashlib.sha256(data).hexdigest()
    elif sha is not None:
        ref["sha256"] = sha
    return ref


def _with_images(name: str, rule: str, fires: bool, description: str, attach, expected, **kw):
    """A vector whose change `attach(doc, files)` may add image files."""
    files: dict[str, bytes] = {}
    return vector(name, rule, fires, description, lambda d: attach(d, files), expected, files=files, **kw)


# ------------------------------------------------------------------------------------------------ MPI013

def _mpi013_fires(name):
    def attach(d, files):
        # the maximum 15 % above the reported one; the total as reported
        _rep(d, 0, 0)["image"] = _image(name, files, "FC-1_r1.npy", npy_bytes(phantom(1.15 * M00, M00)))
    return _with_images(name, "MPI013", True,
                        "The image's maximum is 15 % above the reported max_intensity (its total matches): "
                        "one MPI013 at that value.",
                        attach, [("MPI013", E, f"{CAL}/points/0/replicates/0/max_intensity")])


def _mpi013_quiet(name):
    def attach(d, files):
        rep = _rep(d, 0, 0)
        rep["image"] = _image(name, files, "FC-1_r1.npy", npy_bytes(phantom(M00, M00)))
        # every metric the image gives, as the reference method defines them
        rep["roi_area_mm2"] = 18.0  # 72 pixels × 0.25 mm²
        rep["mean_intensity"] = round(9.5 * M00 / 18.0, 4)
        rep["fwhm_mm"] = 2.0  # 2γ of the pure Lorentzian row
    return _with_images(name, "MPI013", False,
                        "An image whose maximum, total, mean, ROI area and FWHM are those reported.", attach, [])


# ------------------------------------------------------------------------------------------------ MPI014

def _mpi014_fires(name):
    def attach(d, files):
        good = npy_bytes(phantom(M00, M00))
        # 1. the file is there but its sha256 is that of other bytes
        _rep(d, 0, 0)["image"] = _image(name, files, "FC-1_r1.npy", good,
                                        sha=hashlib.sha256(b"another image").hexdigest())
        # 2. no such file
        _rep(d, 0, 1)["image"] = {"path": f"images/{name}/FC-1_r2.npy", "format": "npy",
                                  "pixel_size_mm": dict(PIXEL)}
        # 3. an .npy file declared as TIFF: unreadable as declared
        _rep(d, 0, 2)["image"] = _image(name, files, "FC-1_r3.npy", good, fmt="tiff")
    return _with_images(name, "MPI014", True,
                        "Three images that cannot be used: sha256 mismatch, missing file, wrong format.", attach,
                        [("MPI014", E, f"{CAL}/points/0/replicates/{k}/image/path") for k in range(3)])


def _mpi014_quiet(name):
    def attach(d, files):
        _rep(d, 0, 0)["image"] = _image(name, files, "FC-1_r1.npy", npy_bytes(phantom(M00, M00)))
        # sha256 is optional
        _rep(d, 0, 1)["image"] = _image(name, files, "FC-1_r2.npy", npy_bytes(phantom(M01, M01)), sha=None)
        # a quantification's image is read and checked too (its metrics are not compared)
        d["quantifications"][0]["image"] = _image(name, files, "A_r1.npy", npy_bytes(phantom(1931.0, 1931.0)))
    return _with_images(name, "MPI014", False,
                        "Readable images inside the dataset's folder, with and without sha256, also on a "
                        "quantification.", attach, [])


# ------------------------------------------------------------------------------------------------ MPI015

def _raw_acquisition(d, **rc):
    acq = d["acquisitions"][0]
    acq["saturation_level"] = rc.pop("saturation_level", 500.0)
    acq["receiver_correction"] = {"images_corrected": False, **rc}


def _mpi015_fires(name):
    def attach(d, files):
        _raw_acquisition(d, saturation_level=500.0)  # raw images, no correction method
        # maximum 651.2: pixels (20, 11), (20, 12), (20, 13) are above 500
        _rep(d, 0, 0)["image"] = _image(name, files, "FC-1_r1.npy", npy_bytes(phantom(M00, M00)))
    return _with_images(name, "MPI015", True,
                        "A raw image (images_corrected false, no correction method) with 3 pixels above the "
                        "saturation level 500.", attach, [("MPI015", E, f"{CAL}/points/0/replicates/0/image")])


def _mpi015_fires_table(name):
    def attach(d, files):
        # identity table from 5 to 1000: the 888 zero pixels lie below its range (clipped to 5,
        # still below T = 10, so no metric changes)
        _raw_acquisition(d, saturation_level=2000.0, method="lookup_table", table=[[5.0, 5.0], [1000.0, 1000.0]])
        _rep(d, 0, 0)["image"] = _image(name, files, "FC-1_r1.npy", npy_bytes(phantom(M00, M00)))
    return _with_images(name, "MPI015", True,
                        "A raw image with pixels outside the correction table's measured range.",
                        attach, [("MPI015", E, f"{CAL}/points/0/replicates/0/image")])


TABLE = [[0.0, 0.0], [400.0, 400.0], [600.0, 700.0], [1000.0, 1500.0]]  # measured → true


def _mpi015_quiet(name):
    def attach(d, files):
        _raw_acquisition(d, saturation_level=400.0, method="lookup_table", table=TABLE)
        true = phantom(M00, M00)
        t = np.asarray(TABLE)
        raw = np.round(np.interp(true, t[:, 1], t[:, 0]), 9)  # what the receiver measured
        _rep(d, 0, 0)["image"] = _image(name, files, "FC-1_r1.npy", npy_bytes(raw))
    return _with_images(name, "MPI015", False,
                        "A raw image above the saturation level (567.5 > 400) with a correction table covering "
                        "every pixel: corrected, its metrics are those reported.", attach, [])


# ------------------------------------------------------------------------------------------------ MPI016

def _mpi016_fires(name):
    def attach(d, files):
        # an image with no finite pixel: no metric at all (and so nothing to compare)
        _rep(d, 0, 0)["image"] = _image(name, files, "FC-1_r1.npy", npy_bytes(np.full((NZ, NX), np.nan)))
        # an empty holder: maximum 0, no pixel above T = 10, no peak for the Lorentzian
        d["quantifications"][0]["image"] = _image(name, files, "A_r1.npy", npy_bytes(np.zeros((NZ, NX))))
    return _with_images(name, "MPI016", True,
                        "An all-NaN replicate image and an all-zero quantification image: metrics cannot be "
                        "computed (warnings only, exit code 0).", attach,
                        [("MPI016", W, f"{CAL}/points/0/replicates/0/image"), ("MPI016", W, f"{QUANT}/image")])


def _mpi016_quiet(name):
    def attach(d, files):
        img = phantom(M00, M00)
        img[0, :4] = np.nan  # NaN pixels far from the sample: the metrics stay defined
        _rep(d, 0, 0)["image"] = _image(name, files, "FC-1_r1.npy", npy_bytes(img))
    return _with_images(name, "MPI016", False,
                        "An image with a few NaN pixels away from the sample: every metric is still computed.",
                        attach, [])


# ------------------------------------------------------------------------------------------------ MPI017

def _el(group: int, elem: int, vr: str, value: bytes) -> bytes:
    """One Explicit VR Little Endian data element (PS3.5 7.1.2), value padded to even length."""
    if len(value) % 2:
        value += b"\0" if vr in ("UI", "OB") else b" "
    head = group.to_bytes(2, "little") + elem.to_bytes(2, "little") + vr.encode()
    if vr in ("OB", "OD", "OF", "OW", "SQ", "UN", "UT"):
        return head + b"\0\0" + len(value).to_bytes(4, "little") + value
    return head + len(value).to_bytes(2, "little") + value


def dicom_bytes(a: np.ndarray, pixel_spacing: tuple[str, str]) -> bytes:
    """A single-frame DICOM file written by hand from PS3.10 (preamble, DICM, file meta) and
    PS3.3 (Image Pixel with Double Float Pixel Data 7FE0,0009; Image Plane PixelSpacing =
    [row spacing, column spacing]), byte-stable across library versions. Rows are z, columns x."""
    sop, uid = b"1.2.840.10008.5.1.4.1.1.30", b"1.2.826.0.1.3680043.8.498.17"
    us = lambda v: int(v).to_bytes(2, "little")  # noqa: E731
    meta = (_el(0x0002, 0x0001, "OB", b"\0\1") + _el(0x0002, 0x0002, "UI", sop) + _el(0x0002, 0x0003, "UI", uid)
            + _el(0x0002, 0x0010, "UI", b"1.2.840.10008.1.2.1"))
    body = (_el(0x0008, 0x0016, "UI", sop) + _el(0x0008, 0x0018, "UI", uid) + _el(0x0008, 0x0060, "CS", b"OT")
            + _el(0x0028, 0x0002, "US", us(1)) + _el(0x0028, 0x0004, "CS", b"MONOCHROME2")
            + _el(0x0028, 0x0010, "US", us(a.shape[0])) + _el(0x0028, 0x0011, "US", us(a.shape[1]))
            + _el(0x0028, 0x0030, "DS", "\\".join(pixel_spacing).encode()) + _el(0x0028, 0x0100, "US", us(64))
            + _el(0x7FE0, 0x0009, "OD", np.ascontiguousarray(a, dtype="<f8").tobytes()))
    group_length = _el(0x0002, 0x0000, "UL", len(meta).to_bytes(4, "little"))
    return b"\0" * 128 + b"DICM" + group_length + meta + body


def _dicom_attach(name, pixel_spacing):
    """An attach function: the phantom as the first replicate's DICOM image, with this PixelSpacing
    (row, column spacing in mm, as text)."""
    def attach(d, files):
        _rep(d, 0, 0)["image"] = _image(name, files, "FC-1_r1.dcm", dicom_bytes(phantom(M00, M00), pixel_spacing),
                                        fmt="dicom")
    return attach


def _mpi017_fires(name):
    # the file says 0.25 mm between columns (x), the dataset 0.5 mm: the declared size is
    # used, so every metric still matches the reported ones and only MPI017 fires
    attach = _dicom_attach(name, ("0.5", "0.25"))
    return _with_images(name, "MPI017", True,
                        "A DICOM image whose PixelSpacing (0.5, 0.25 mm) contradicts the declared pixel size "
                        "(0.5 mm in x): the declared size is used for the metrics and MPI017 fires.",
                        attach, [("MPI017", E, f"{CAL}/points/0/replicates/0/image")])


def _mpi017_fires_unusable(name):
    # PixelSpacing 0 between rows: not a pixel size; the declared 0.5 mm stands in
    attach = _dicom_attach(name, ("0", "0.5"))
    return _with_images(name, "MPI017", True,
                        "A DICOM image whose PixelSpacing is 0 along z: unusable, so the declared pixel size is "
                        "used (its metrics match) and MPI017 says so.",
                        attach, [("MPI017", E, f"{CAL}/points/0/replicates/0/image")])


def _mpi014_fires_spacing(name):
    def attach(d, files):
        # PixelSpacing NaN, and no declared pixel size to stand in: the image is unusable
        for acq in d["acquisitions"]:
            acq.pop("pixel_size_mm", None)
        ref = _image(name, files, "FC-1_r1.dcm", dicom_bytes(phantom(M00, M00), ("NaN", "0.5")), fmt="dicom")
        ref.pop("pixel_size_mm")
        _rep(d, 0, 0)["image"] = ref
    return _with_images(name, "MPI014", True,
                        "A DICOM image whose PixelSpacing is NaN and a dataset that declares no pixel size: MPI014 "
                        "(kind format) naming the value, not a crash.",
                        attach, [("MPI014", E, f"{CAL}/points/0/replicates/0/image/path")])


def _mpi017_quiet(name):
    # 0.5 and 0.504 mm: within 1 % of the declared 0.5 mm
    attach = _dicom_attach(name, ("0.5", "0.504"))
    return _with_images(name, "MPI017", False,
                        "A DICOM image whose PixelSpacing agrees with the declared pixel size within 1 %.", attach, [])


def _mpi019_fires(name):
    attach = _dicom_attach(name, ("0.5", "0.5"))
    return _with_images(name, "MPI019", True,
                        "The MPI019-quiet DICOM image, validated where pydicom is not installed (the test hides "
                        "the module, as `without_modules` says): one MPI019 at the image's path, exit 2 (the "
                        "environment's problem); the image is not judged.",
                        attach, [("MPI019", E, f"{CAL}/points/0/replicates/0/image/path")], exit_code=2,
                        without_modules=("pydicom",))


def _mpi019_quiet(name):
    attach = _dicom_attach(name, ("0.5", "0.5"))
    return _with_images(name, "MPI019", False,
                        "A DICOM image read with its reader installed: no MPI019. (MPI019 fires only when the "
                        "reader library is missing: MPI019-fires, the same image with pydicom hidden.)",
                        attach, [])


# ------------------------------------------------------------------------------------------------ MPI005

def _mpi005_fires_image(name):
    def attach(d, files):
        _rep(d, 0, 0)["image"] = _image(name, files, "FC-1_r1.npy", npy_bytes(phantom(M00, M00)))
    return _with_images(name, "MPI005", True,
                        "An image of 7808 bytes under a 1 KiB image limit: MPI005 at the image, not MPI014.",
                        attach, [("MPI005", E, f"{CAL}/points/0/replicates/0/image")],
                        options_toml="[limits]\nimage_mib = 0.001\n")



# ------------------------------------------------------------------------------------------------ MPI018
# An MDF v2 reconstruction written from MDF.tex's tables (MagneticParticleImaging/MDF,
# specification/MDF.tex): "Data (group: /)" /version, /uuid, /time (Strings) and
# "Reconstruction Results": data Number Q × P × S (frames × voxels × channels), size (Nx, Ny, Nz),
# fieldOfView in m. The phantom lies in the x–z plane (Ny = 1), voxel p = ix + Nx·iz (x fastest),
# 0.5 mm pixels: fieldOfView (24 × 0.5 mm, 0.5 mm, 40 × 0.5 mm).

def mdf_bytes(frames: list[list[np.ndarray]]) -> bytes:
    """``frames[q][s]``: the (z, x) image of frame q, channel s."""
    import io

    import h5py

    q, s = len(frames), len(frames[0])
    data = np.empty((q, NZ * NX, s))
    for i, chans in enumerate(frames):
        for j, img in enumerate(chans):
            data[i, :, j] = np.asarray(img, dtype=np.float64).reshape(-1)  # row-major (z, x): x fastest
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f["/version"] = "2.1.0"
        f["/uuid"] = "0b6c6b0e-5d0a-4c55-9d43-7b3f4f1f2a18"
        f["/time"] = "2025-01-01T00:00:00.000"
        f["/reconstruction/data"] = data
        f["/reconstruction/size"] = np.array([NX, 1, NZ], dtype=np.int64)
        f["/reconstruction/fieldOfView"] = np.array([NX * 0.0005, 0.0005, NZ * 0.0005])
    return buf.getvalue()


def _mdf_frames(good_at: tuple[int, int]) -> bytes:
    """3 frames × 2 channels; only ``good_at`` holds the replicate's phantom, the others another sample."""
    other = phantom(1.4 * M00, 1.4 * M00)
    return mdf_bytes([[phantom(M00, M00) if (q, c) == good_at else other for c in range(2)] for q in range(3)])


def _mpi018_fires(name):
    def attach(d, files):
        _rep(d, 0, 0)["image"] = _image(name, files, "FC-1_r1.mdf", _mdf_frames((0, 0)), fmt="mdf")
    return _with_images(name, "MPI018", True,
                        "An MDF reconstruction of 3 frames × 2 channels and an image reference that names neither: "
                        "frame 0, channel 0 is used (its metrics are those reported) and MPI018 warns.",
                        attach, [("MPI018", W, f"{CAL}/points/0/replicates/0/image")])


def _mpi018_quiet(name):
    def attach(d, files):
        d["schema_version"] = "1.1"
        ref = _image(name, files, "FC-1_r1.mdf", _mdf_frames((2, 1)), fmt="mdf")
        ref.update(frame=2, channel=1)  # the frame and channel the reported metrics came from
        _rep(d, 0, 0)["image"] = ref
    return _with_images(name, "MPI018", False,
                        "The same 3 × 2 MDF file with frame 2, channel 1 named (standard 1.1): that image is read "
                        "and its metrics are those reported.", attach, [])

VECTORS = [
    _mpi013_fires("MPI013-fires"),
    _mpi013_quiet("MPI013-quiet"),
    _mpi014_fires("MPI014-fires"),
    _mpi014_quiet("MPI014-quiet"),
    vector("MPI014-fires-escape", "MPI014", True,
           "Image paths that leave the dataset's folder ('..' and an absolute path): refused before "
           "anything is opened.",
           lambda d: (_rep(d, 0, 0).update(image={"path": "../../outside/secret.npy", "format": "npy"}),
                      _rep(d, 0, 1).update(image={"path": "/etc/passwd", "format": "npy"})),
           [("MPI014", E, f"{CAL}/points/0/replicates/0/image/path"),
            ("MPI014", E, f"{CAL}/points/0/replicates/1/image/path")]),
    _mpi015_fires("MPI015-fires"),
    _mpi015_fires_table("MPI015-fires-table"),
    _mpi015_quiet("MPI015-quiet"),
    _mpi016_fires("MPI016-fires"),
    _mpi016_quiet("MPI016-quiet"),
    _mpi005_fires_image("MPI005-fires-image"),
    _mpi018_fires("MPI018-fires"),
    _mpi018_quiet("MPI018-quiet"),
    _mpi017_fires("MPI017-fires"),
    _mpi017_quiet("MPI017-quiet"),
    _mpi017_fires_unusable("MPI017-fires-unusable"),
    _mpi014_fires_spacing("MPI014-fires-dicom-spacing"),
    _mpi019_fires("MPI019-fires"),
    _mpi019_quiet("MPI019-quiet"),
]
