"""Reading images safely (STANDARD.md, "Replicate" image and "Images").

Every file is written here, in tmp_path, with the format's own library (numpy, tifffile,
pydicom, h5py), so the expected arrays and spacings are known independently.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import os

import numpy as np
import pytest

from mpistd.load.images import ImageError, LoadedImage, load_image, resolve_image_path
from mpistd.quantify.imaging import quantify_image


def _err(kind, fn, *a, **k) -> ImageError:
    with pytest.raises(ImageError) as ei:
        fn(*a, **k)
    assert ei.value.kind == kind, str(ei.value)
    assert str(ei.value)  # a human message
    return ei.value


# --------------------------------------------------------------------------------------
# npy
# --------------------------------------------------------------------------------------


def test_npy_round_trip_2d_3d_and_dtypes(tmp_path):
    a = np.arange(12.0).reshape(3, 4)
    np.save(tmp_path / "a.npy", a)
    got = load_image(tmp_path, "a.npy", "npy")
    assert isinstance(got, LoadedImage)
    assert got.array.dtype == np.float64 and got.format == "npy" and got.spacing_mm is None
    np.testing.assert_array_equal(got.array, a)

    v = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    (tmp_path / "sub").mkdir()
    np.save(tmp_path / "sub" / "v.npy", v)
    got = load_image(tmp_path, "sub/v.npy", "npy")
    assert got.array.dtype == np.int16 and got.array.shape == (2, 3, 4)  # its own dtype (issue 11)
    np.testing.assert_array_equal(got.array, v)

    f = np.asfortranarray(np.arange(20, dtype=np.float32).reshape(4, 5))
    np.save(tmp_path / "f.npy", f)
    np.testing.assert_array_equal(load_image(tmp_path, "./f.npy", "npy").array, f)

    s = np.arange(6.0).reshape(1, 2, 1, 3)  # singleton axes are squeezed
    np.save(tmp_path / "s.npy", s)
    assert load_image(tmp_path, "s.npy", "npy").array.shape == (2, 3)


@pytest.mark.parametrize(
    "arr, kind",
    [
        (np.array([{"a": 1}, None], dtype=object).reshape(1, 2), "format"),
        (np.ones((3, 3), dtype=np.complex128), "format"),
        (np.ones(5), "format"),  # 1D
        (np.ones((2, 2, 2, 2)), "format"),  # 4D
        (np.array(3.0), "format"),  # 0-d
        (np.ones((3, 3), dtype=bool), "format"),
        (np.zeros((2, 2), dtype=[("a", "f8"), ("b", "i4")]), "format"),
        (np.array([["a", "b"], ["c", "d"]]), "format"),
    ],
    ids=["object", "complex", "1d", "4d", "0d", "bool", "structured", "str"],
)
def test_npy_rejects_non_images(tmp_path, arr, kind):
    np.save(tmp_path / "x.npy", arr, allow_pickle=True)
    _err(kind, load_image, tmp_path, "x.npy", "npy")


def test_object_npy_is_never_unpickled(tmp_path, monkeypatch):
    np.save(tmp_path / "o.npy", np.array([[1, None]], dtype=object), allow_pickle=True)
    import pickle

    def boom(*a, **k):
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)
    _err("format", load_image, tmp_path, "o.npy", "npy")


def test_truncated_npy(tmp_path):
    np.save(tmp_path / "t.npy", np.ones((50, 40)))
    data = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(data[: len(data) - 100])
    e = _err("unreadable", load_image, tmp_path, "t.npy", "npy")
    assert "truncated" in str(e)
    (tmp_path / "h.npy").write_bytes(data[:20])  # inside the header
    _err("unreadable", load_image, tmp_path, "h.npy", "npy")
    (tmp_path / "g.npy").write_bytes(b"this is not numpy at all" * 10)
    _err("unreadable", load_image, tmp_path, "g.npy", "npy")


def test_all_nan_loads_and_the_pipeline_reports_it(tmp_path):
    np.save(tmp_path / "n.npy", np.full((6, 7), np.nan))
    img = load_image(tmp_path, "n.npy", "npy").array
    m = quantify_image(img, {"z": 1.0, "x": 1.0}, threshold=1.0)
    assert m.problems == ("all_nan",)


def test_all_zero_image_loads_and_reports_empty_roi(tmp_path):
    np.save(tmp_path / "z.npy", np.zeros((20, 30), dtype=np.uint16))
    img = load_image(tmp_path, "z.npy", "npy").array
    m = quantify_image(img, {"z": 0.5, "x": 0.5}, threshold=5.0)
    assert "empty_roi" in m.problems
    assert m.mean_intensity is None and m.total_intensity is None and m.roi_area_mm2 is None and m.fwhm_mm is None
    assert not any(isinstance(v, float) and v != v for v in m.to_dict().values())


# --------------------------------------------------------------------------------------
# Size and sha256
# --------------------------------------------------------------------------------------


def test_too_large_is_checked_before_reading(tmp_path, monkeypatch):
    np.save(tmp_path / "big.npy", np.ones((100, 100)))
    monkeypatch.setattr(np, "fromfile", lambda *a, **k: (_ for _ in ()).throw(AssertionError("read")))
    e = _err("too_large", load_image, tmp_path, "big.npy", "npy", max_bytes=1000)
    assert "1000" in str(e)


def test_sha256_match_and_mismatch(tmp_path):
    np.save(tmp_path / "a.npy", np.eye(4))
    digest = hashlib.sha256((tmp_path / "a.npy").read_bytes()).hexdigest()
    load_image(tmp_path, "a.npy", "npy", sha256=digest)
    load_image(tmp_path, "a.npy", "npy", sha256=digest.upper())
    wrong = "0" * 64
    e = _err("sha256", load_image, tmp_path, "a.npy", "npy", sha256=wrong)
    assert digest[:12] in str(e) and wrong[:12] in str(e)
    _err("sha256", load_image, tmp_path, "a.npy", "npy", sha256="abc")


def test_unknown_format(tmp_path):
    np.save(tmp_path / "a.npy", np.eye(4))
    _err("format", load_image, tmp_path, "a.npy", "png")


# --------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------


@pytest.fixture
def no_open(monkeypatch):
    """Fail the test if any file is opened or read."""

    def boom(*a, **k):
        raise AssertionError(f"file opened: {a!r}")

    monkeypatch.setattr(builtins, "open", boom)
    monkeypatch.setattr(io, "open", boom)
    monkeypatch.setattr(os, "open", boom)
    monkeypatch.setattr(np, "load", boom)
    monkeypatch.setattr(np, "fromfile", boom)


@pytest.mark.parametrize(
    "rel",
    [
        "../outside.npy",
        "sub/../../outside.npy",
        "sub/../a.npy",  # '..' is refused even when it would land inside
        "/etc/passwd",
        "C:/data/a.npy",
        "c:a.npy",
        "sub\\a.npy",
        "..\\outside.npy",
        "//server/share/a.npy",
        "a.npy\x00.txt",
        "",
    ],
)
def test_escaping_paths_are_refused_without_opening(tmp_path, rel, no_open):
    base = tmp_path / "ds"
    base.mkdir()
    (base / "sub").mkdir()
    _err("escape", resolve_image_path, base, rel)
    _err("escape", load_image, base, rel, "npy")


def test_symlink_escaping_the_folder_is_refused_without_opening(tmp_path, monkeypatch):
    outside = tmp_path / "secret.npy"
    np.save(outside, np.eye(3))
    base = tmp_path / "ds"
    base.mkdir()
    os.symlink(outside, base / "link.npy")
    os.symlink(tmp_path, base / "dirlink")
    inside = base / "real.npy"
    np.save(inside, np.eye(3))
    os.symlink(inside, base / "ok.npy")

    def boom(*a, **k):
        raise AssertionError("file opened")

    for target in (builtins, io):
        monkeypatch.setattr(target, "open", boom)
    monkeypatch.setattr(os, "open", boom)
    monkeypatch.setattr(np, "load", boom)
    monkeypatch.setattr(np, "fromfile", boom)
    _err("escape", load_image, base, "link.npy", "npy")
    _err("escape", load_image, base, "dirlink/secret.npy", "npy")
    monkeypatch.undo()
    # a symlink that stays inside is fine
    np.testing.assert_array_equal(load_image(base, "ok.npy", "npy").array, np.eye(3))


def test_missing_and_directory(tmp_path):
    (tmp_path / "d").mkdir()
    _err("missing", load_image, tmp_path, "nope.npy", "npy")
    _err("missing", resolve_image_path, tmp_path, "d/nope.npy")
    _err("unreadable", load_image, tmp_path, "d", "npy")


# --------------------------------------------------------------------------------------
# TIFF
# --------------------------------------------------------------------------------------


def test_tiff_round_trip(tmp_path):
    import tifffile

    a = np.random.default_rng(0).random((24, 12)).astype(np.float32)
    tifffile.imwrite(tmp_path / "a.tif", a)
    got = load_image(tmp_path, "a.tif", "tiff")
    assert got.array.dtype == np.float32 and got.spacing_mm is None
    np.testing.assert_array_equal(got.array, a)
    v = np.arange(2 * 5 * 6, dtype=np.uint16).reshape(2, 5, 6)
    tifffile.imwrite(tmp_path / "v.tif", v)
    np.testing.assert_array_equal(load_image(tmp_path, "v.tif", "tiff").array, v)
    (tmp_path / "bad.tif").write_bytes(b"II*\x00garbage")
    _err("unreadable", load_image, tmp_path, "bad.tif", "tiff")
    tifffile.imwrite(tmp_path / "c.tif", np.ones((4, 4), dtype=np.complex64))
    _err("format", load_image, tmp_path, "c.tif", "tiff")


# --------------------------------------------------------------------------------------
# DICOM
# --------------------------------------------------------------------------------------


def _write_dicom(path, pixels: np.ndarray, **tags):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape[-2:]
    if pixels.ndim == 3:
        ds.NumberOfFrames = pixels.shape[0]
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    for k, v in tags.items():
        setattr(ds, k, v)
    ds.PixelData = pixels.astype("<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)


def test_dicom_2d_with_spacing_and_rescale(tmp_path):
    px = np.arange(6 * 8, dtype=np.uint16).reshape(6, 8)
    _write_dicom(tmp_path / "a.dcm", px, PixelSpacing=[0.5, 0.25], RescaleSlope="2", RescaleIntercept="-3")
    got = load_image(tmp_path, "a.dcm", "dicom")
    assert got.spacing_mm == {"z": 0.5, "x": 0.25}  # rows are z, columns x
    np.testing.assert_array_equal(got.array, px * 2.0 - 3.0)
    assert got.array.dtype == np.float64


def test_dicom_3d_multiframe(tmp_path):
    px = np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5)
    _write_dicom(tmp_path / "v.dcm", px, PixelSpacing=[0.4, 0.3], SliceThickness="1.5")
    got = load_image(tmp_path, "v.dcm", "dicom")
    assert got.array.shape == (3, 4, 5)
    np.testing.assert_array_equal(got.array, px)
    assert got.spacing_mm == {"z": 1.5, "y": 0.4, "x": 0.3}


def test_dicom_without_spacing_and_non_dicom_bytes(tmp_path):
    px = np.ones((4, 4), dtype=np.uint16)
    _write_dicom(tmp_path / "n.dcm", px)
    assert load_image(tmp_path, "n.dcm", "dicom").spacing_mm is None
    (tmp_path / "fake.dcm").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 300)
    _err("unreadable", load_image, tmp_path, "fake.dcm", "dicom")
    (tmp_path / "empty.dcm").write_bytes(b"")
    _err("unreadable", load_image, tmp_path, "empty.dcm", "dicom")


# --------------------------------------------------------------------------------------
# MDF (HDF5)
# --------------------------------------------------------------------------------------


def _write_mdf(path, size_xyz, fov_m=None, value=None, frames=2, channels=2, order=None, drop=()):
    """An MDF v2 reconstruction: data Q × P × S, voxel p = ix + Nx·(iy + Ny·iz)."""
    import h5py

    nx, ny, nz = size_xyz
    P = nx * ny * nz
    data = np.zeros((frames, P, channels), dtype=np.float32)
    for p in range(P):  # the spec's voxel order, written out explicitly
        ix, rest = p % nx, p // nx
        iy, iz = rest % ny, rest // ny
        data[0, p, 0] = value(ix, iy, iz)
        data[1:, p, :] = -1.0  # other frames/channels must not be read
        data[0, p, 1:] = -2.0
    with h5py.File(path, "w") as f:
        f["/version"] = "2.0.0"
        if "/reconstruction/data" not in drop:
            f["/reconstruction/data"] = data
        if "/reconstruction/size" not in drop:
            f["/reconstruction/size"] = np.array(size_xyz, dtype=np.int64)
        if fov_m is not None:
            f["/reconstruction/fieldOfView"] = np.array(fov_m, dtype=np.float64)
        if order is not None:
            f["/reconstruction/order"] = order


def test_mdf_3d_axis_order_and_spacing(tmp_path):
    def val(ix, iy, iz):
        return 100 * iz + 10 * iy + ix

    _write_mdf(tmp_path / "v.mdf", (5, 4, 3), fov_m=(0.005, 0.008, 0.009), value=val)
    got = load_image(tmp_path, "v.mdf", "mdf")
    assert got.array.shape == (3, 4, 5)  # (z, y, x)
    for iz in range(3):
        for iy in range(4):
            for ix in range(5):
                assert got.array[iz, iy, ix] == val(ix, iy, iz)
    assert got.spacing_mm == pytest.approx({"x": 1.0, "y": 2.0, "z": 3.0})


def test_mdf_2d_is_z_x(tmp_path):
    def val(ix, iy, iz):
        return 7 * iz + ix

    # The paper's 2D field of view: 60 mm (x) × 120 mm (z), a y-projection.
    _write_mdf(tmp_path / "a.mdf", (6, 1, 12), fov_m=(0.06, 0.01, 0.12), value=val, order="xyz")
    got = load_image(tmp_path, "a.mdf", "mdf")
    assert got.array.shape == (12, 6)
    np.testing.assert_array_equal(got.array, np.fromfunction(lambda z, x: 7 * z + x, (12, 6)))
    assert got.spacing_mm == pytest.approx({"z": 10.0, "x": 10.0})


def test_mdf_problems(tmp_path):
    import h5py

    with h5py.File(tmp_path / "no_reco.mdf", "w") as f:
        f["/measurement/data"] = np.zeros((2, 2))
    e = _err("format", load_image, tmp_path, "no_reco.mdf", "mdf")
    assert "/reconstruction" in str(e)
    _write_mdf(tmp_path / "no_size.mdf", (2, 2, 2), value=lambda *a: 1.0, drop=("/reconstruction/size",))
    assert "/reconstruction/size" in str(_err("format", load_image, tmp_path, "no_size.mdf", "mdf"))
    _write_mdf(tmp_path / "no_data.mdf", (2, 2, 2), value=lambda *a: 1.0, drop=("/reconstruction/data",))
    assert "/reconstruction/data" in str(_err("format", load_image, tmp_path, "no_data.mdf", "mdf"))
    _write_mdf(tmp_path / "order.mdf", (2, 2, 2), value=lambda *a: 1.0, order="zyx")
    _err("format", load_image, tmp_path, "order.mdf", "mdf")
    _write_mdf(tmp_path / "line.mdf", (4, 1, 1), value=lambda *a: 1.0)  # a line, not an image (x–y: test_mdf.py)
    _err("format", load_image, tmp_path, "line.mdf", "mdf")
    with h5py.File(tmp_path / "mismatch.mdf", "w") as f:
        f["/reconstruction/data"] = np.zeros((1, 7, 1))
        f["/reconstruction/size"] = np.array([2, 2, 2])
    _err("format", load_image, tmp_path, "mismatch.mdf", "mdf")
    (tmp_path / "junk.mdf").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\xff" * 200)
    _err("unreadable", load_image, tmp_path, "junk.mdf", "mdf")
    _write_mdf(tmp_path / "nofov.mdf", (3, 1, 4), value=lambda *a: 2.0)
    assert load_image(tmp_path, "nofov.mdf", "mdf").spacing_mm is None


def test_sha256_verified_bytes_are_what_each_reader_parses(tmp_path):
    import tifffile

    def sha(name):
        return hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()

    a = np.arange(20.0).reshape(4, 5)
    np.save(tmp_path / "a.npy", a)
    got = load_image(tmp_path, "a.npy", "npy", sha256=sha("a.npy")).array
    np.testing.assert_array_equal(got, a)
    # the very bytes that were hashed, shared with numpy (no copy): read-only, so nothing can
    # change the pixels between the check and the metrics
    assert not got.flags.writeable
    np.save(tmp_path / "be.npy", a.astype(">f4"))  # big-endian on disk
    np.testing.assert_array_equal(load_image(tmp_path, "be.npy", "npy", sha256=sha("be.npy")).array, a)
    tifffile.imwrite(tmp_path / "a.tif", a.astype(np.float32))
    np.testing.assert_array_equal(load_image(tmp_path, "a.tif", "tiff", sha256=sha("a.tif")).array, a)
    _write_dicom(tmp_path / "a.dcm", a.astype(np.uint16), PixelSpacing=[1.0, 2.0])
    d = load_image(tmp_path, "a.dcm", "dicom", sha256=sha("a.dcm"))
    np.testing.assert_array_equal(d.array, a)
    assert d.spacing_mm == {"z": 1.0, "x": 2.0}
    _write_mdf(tmp_path / "a.mdf", (5, 1, 4), fov_m=(0.005, 0.001, 0.004), value=lambda ix, iy, iz: 5 * iz + ix)
    m = load_image(tmp_path, "a.mdf", "mdf", sha256=sha("a.mdf"))
    np.testing.assert_array_equal(m.array, a)
    _err("sha256", load_image, tmp_path, "a.mdf", "mdf", sha256="f" * 64)
    # truncation is still detected on the in-memory path
    data = (tmp_path / "a.npy").read_bytes()[:-8]
    (tmp_path / "t.npy").write_bytes(data)
    _err("unreadable", load_image, tmp_path, "t.npy", "npy", sha256=sha("t.npy"))


def test_image_error_message_and_pickling():
    import pickle

    e = ImageError("missing", "image 'a.npy' not found")
    assert str(e) == "image 'a.npy' not found" and e.kind == "missing"
    e2 = pickle.loads(pickle.dumps(e))
    assert e2.kind == "missing" and str(e2) == str(e)
    with pytest.raises(ValueError):
        ImageError("nope", "x")


def test_lying_npy_header_is_too_large_before_reading(tmp_path, monkeypatch):
    from numpy.lib import format as npf

    with open(tmp_path / "huge.npy", "wb") as f:
        npf.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (100000, 100000)})
        f.write(b"\x00" * 64)
    monkeypatch.setattr(np, "fromfile", lambda *a, **k: (_ for _ in ()).throw(AssertionError("read")))
    _err("too_large", load_image, tmp_path, "huge.npy", "npy")


@pytest.mark.parametrize("fmt, ext", [("npy", "npy"), ("tiff", "tif"), ("dicom", "dcm"), ("mdf", "mdf")])
def test_random_bytes_never_escape_as_tracebacks(tmp_path, fmt, ext):
    rng = np.random.default_rng(1)
    prefixes = {"npy": b"\x93NUMPY\x01\x00", "tiff": b"II*\x00", "dicom": b"\x00" * 128 + b"DICM", "mdf": b"\x89HDF\r\n\x1a\n"}
    for i in range(8):
        body = rng.integers(0, 256, int(rng.integers(0, 400)), dtype=np.uint8).tobytes()
        (tmp_path / f"r{i}.{ext}").write_bytes((prefixes[fmt] if i % 2 else b"") + body)
        with pytest.raises(ImageError) as ei:
            load_image(tmp_path, f"r{i}.{ext}", fmt)
        assert ei.value.kind in ("unreadable", "format")
