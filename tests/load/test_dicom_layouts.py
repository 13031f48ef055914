"""DICOM layouts of PS3.3 read right (issue 12 item 1) and bad header values as findings
(issue 11 item 2).

Every file is written by tests/load/dicom_fixtures.py from the standard's attributes; the
expected arrays, spacings and metrics are computed here in closed form from the phantom
(tests/load/dicom_fixtures.lorentz_phantom, a box of integers, or arange volumes), never
by mpistd's reader. Each of these fails on the main branch before this work (which read
neither functional groups, nor the Modality LUT Sequence, nor float pixel data, nor
ImageOrientationPatient, nor slice series, and ended the run on PixelSpacing 0).
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from mpistd.config import Options
from mpistd.load.images import ImageError, load_image, load_slice_series
from mpistd.pipeline import validate_file

from dicom_fixtures import ENHANCED_CT, ENHANCED_MR, PARAMETRIC_MAP, lorentz_phantom, write

ROOT = Path(__file__).resolve().parents[2]
REP0 = "/calibrations/0/points/0/replicates/0"


def _err(kind, fn, *a, **k) -> ImageError:
    with pytest.raises(ImageError) as ei:
        fn(*a, **k)
    assert ei.value.kind == kind, str(ei.value)
    return ei.value


# ------------------------------------------------------------------ enhanced multi-frame (C.7.6.16)

def _enhanced(path, vol, positions, slopes, *, iop=(1, 0, 0, 0, 1, 0), spacing=(0.5, 0.25), sop=ENHANCED_MR):
    per_frame = [{"PlanePositionSequence": {"ImagePositionPatient": list(p)},
                  "PixelValueTransformationSequence": {"RescaleSlope": str(s), "RescaleIntercept": "-7",
                                                       "RescaleType": "US"}}
                 for p, s in zip(positions, slopes)]
    shared = {"PixelMeasuresSequence": {"PixelSpacing": list(spacing), "SliceThickness": "9"},
              "PlaneOrientationSequence": {"ImageOrientationPatient": list(iop)}}
    return write(path, vol, sop_class=sop, shared=shared, per_frame=per_frame)


def test_enhanced_mr_frames_ordered_by_position_with_per_frame_rescale(tmp_path):
    # axial (row direction +X, column direction +Y, normal +Z); frames stored out of order
    vol = np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5)
    z = [4.0, 0.0, 2.0]
    slopes = [2, 3, 5]
    _enhanced(tmp_path / "e.dcm", vol, [(10.0, 20.0, zi) for zi in z], slopes)
    got = load_image(tmp_path, "e.dcm", "dicom")
    order = np.argsort(z)  # along +Z: frames 1, 2, 0
    want = np.stack([vol[i] * float(slopes[i]) - 7.0 for i in order])  # (z, y, x) = (frame, row, col)
    np.testing.assert_array_equal(got.array, want)
    # the gap between positions (2 mm), not SliceThickness (9 mm); PixelSpacing = [rows (y), columns (x)]
    assert got.spacing_mm == {"z": 2.0, "y": 0.5, "x": 0.25}


def test_enhanced_ct_shared_rescale_and_spacing_reach_the_metrics(tmp_path):
    """The ×388 case of issue 12: a shared Pixel Value Transformation and Pixel Measures.

    Stored values S = 1 in a 3×3×3 box of a 5×6×7 volume, slope 388, intercept 0: the
    maximum is 388, the ROI the 27 voxels, ROI volume 27 × 2 × 0.5 × 0.25 mm³ = 6.75 mm³,
    total = ROI sum × voxel volume = 27 × 388 × 0.25 = 2619 (STANDARD.md, 3D)."""
    vol = np.zeros((5, 6, 7), dtype=np.uint16)
    vol[1:4, 2:5, 2:5] = 1
    shared = {"PixelMeasuresSequence": {"PixelSpacing": [0.5, 0.25]},
              "PlaneOrientationSequence": {"ImageOrientationPatient": [1, 0, 0, 0, 1, 0]},
              "PixelValueTransformationSequence": {"RescaleSlope": "388", "RescaleIntercept": "0",
                                                   "RescaleType": "HU"}}
    per_frame = [{"PlanePositionSequence": {"ImagePositionPatient": [0, 0, 2.0 * k]}} for k in range(5)]
    write(tmp_path / "ct.dcm", vol, sop_class=ENHANCED_CT, shared=shared, per_frame=per_frame)
    got = load_image(tmp_path, "ct.dcm", "dicom")
    assert got.spacing_mm == {"z": 2.0, "y": 0.5, "x": 0.25}
    from mpistd.quantify.imaging import quantify_image

    m = quantify_image(got.array, got.spacing_mm, threshold=10.0)
    assert m.max_intensity == 388.0
    assert m.roi_pixels == 27
    assert m.roi_volume_mm3 == pytest.approx(27 * 2.0 * 0.5 * 0.25)
    assert m.total_intensity == pytest.approx(27 * 388 * 0.25)


def test_enhanced_frames_at_one_position_are_temporal_frames(tmp_path):
    vol = np.stack([np.full((4, 5), 10 * (k + 1), dtype=np.uint16) for k in range(3)])
    # the z-x plane: row direction +X, column direction −Z (a coronal slice as scanners write it)
    _enhanced(tmp_path / "t.dcm", vol, [(0, 0, 0)] * 3, [1, 1, 1], iop=(1, 0, 0, 0, 0, -1))
    got = load_image(tmp_path, "t.dcm", "dicom")
    assert got.frames == 3 and got.frame == 0 and got.array.shape == (4, 5)
    assert (got.array == 10 - 7).all()
    from mpistd.load.images import ReadRequest

    got2 = load_image(tmp_path, "t.dcm", "dicom", request=ReadRequest(frame=2))
    assert got2.frame == 2 and (got2.array == 30 - 7).all()
    _err("format", load_image, tmp_path, "t.dcm", "dicom", request=ReadRequest(frame=3))


def test_irregular_or_duplicate_frame_positions_are_refused(tmp_path):
    vol = np.zeros((3, 4, 5), dtype=np.uint16)
    _enhanced(tmp_path / "irr.dcm", vol, [(0, 0, 0), (0, 0, 1.0), (0, 0, 3.0)], [1, 1, 1])
    assert "not regular" in str(_err("format", load_image, tmp_path, "irr.dcm", "dicom"))
    _enhanced(tmp_path / "dup.dcm", vol, [(0, 0, 0), (0, 0, 1.0), (0, 0, 1.0)], [1, 1, 1])
    _err("format", load_image, tmp_path, "dup.dcm", "dicom")


def test_legacy_multiframe_uses_spacing_between_slices(tmp_path):
    vol = np.arange(2 * 3 * 4, dtype=np.uint16).reshape(2, 3, 4)
    write(tmp_path / "l.dcm", vol, PixelSpacing=[0.4, 0.3], SpacingBetweenSlices="1.25", SliceThickness="3")
    got = load_image(tmp_path, "l.dcm", "dicom")
    np.testing.assert_array_equal(got.array, vol)
    assert got.spacing_mm == {"z": 1.25, "y": 0.4, "x": 0.3}


# ------------------------------------------------------------------ Modality LUT (C.11.1)

def test_modality_lut_sequence_maps_stored_values(tmp_path):
    stored = np.array([[0, 1, 2, 3], [4, 5, 100, 4000]], dtype=np.uint16)
    # LUT Descriptor: 8 entries, first stored value mapped 2, 16 bits; LUT Data 10, 20, ..., 80
    lut = {"LUTDescriptor": [8, 2, 16], "ModalityLUTType": "US", "LUTData": np.arange(10, 90, 10, dtype="<u2").tobytes()}
    write(tmp_path / "lut.dcm", stored, ModalityLUTSequence=[_item(**lut)], PixelSpacing=[1, 1])
    got = load_image(tmp_path, "lut.dcm", "dicom")
    # below the first mapped value -> the first entry; above the last -> the last (C.11.1.1.1)
    want = np.array([[10, 10, 10, 20], [30, 40, 80, 80]], dtype=np.float64)
    np.testing.assert_array_equal(got.array, want)


def _item(**kw):
    from dicom_fixtures import item

    return item(**kw)


def test_modality_lut_and_rescale_together_are_refused(tmp_path):
    lut = {"LUTDescriptor": [2, 0, 16], "ModalityLUTType": "US", "LUTData": np.array([1, 2], "<u2").tobytes()}
    write(tmp_path / "both.dcm", np.zeros((2, 2), np.uint16), ModalityLUTSequence=[_item(**lut)], RescaleSlope="2",
          RescaleIntercept="0")
    assert "C.11.1" in str(_err("format", load_image, tmp_path, "both.dcm", "dicom"))


# ------------------------------------------------------------------ Float / Double Float Pixel Data

@pytest.mark.parametrize("pixel", ["float", "double"])
def test_float_pixel_data_gives_the_closed_form_metrics(tmp_path, pixel):
    img = lorentz_phantom()
    write(tmp_path / "f.dcm", img, sop_class=PARAMETRIC_MAP, pixel=pixel, PixelSpacing=[0.5, 0.25])
    got = load_image(tmp_path, "f.dcm", "dicom")
    assert got.array.dtype == (np.float32 if pixel == "float" else np.float64)
    from mpistd.quantify.imaging import quantify_image

    m = quantify_image(got.array, got.spacing_mm, threshold=10.0)
    u = (np.arange(24) - 12) / 2.0
    row_sum = sum(651.2 / (1 + v * v) for v in u)  # by hand: the 24 pixels of row 20 are all > 10
    tol = 1e-6 if pixel == "double" else 1e-6 * 651.2
    assert m.max_intensity == pytest.approx(651.2, abs=tol)
    assert m.roi_pixels == 24 and m.roi_area_mm2 == pytest.approx(24 * 0.5 * 0.25)
    assert m.total_intensity == pytest.approx(row_sum * 0.5 * 0.25, rel=1e-6)
    assert m.fwhm_mm == pytest.approx(2 * 2.0 * 0.25, rel=1e-5)  # 2γ, γ = 2 pixels of 0.25 mm


# ------------------------------------------------------------------ orientation table

def test_coronal_column_direction_minus_z_is_flipped(tmp_path):
    stored = np.arange(12, dtype=np.uint16).reshape(3, 4)
    write(tmp_path / "c.dcm", stored, PixelSpacing=[0.5, 0.25], ImageOrientationPatient=[1, 0, 0, 0, 0, -1],
          ImagePositionPatient=[0, 0, 0])
    got = load_image(tmp_path, "c.dcm", "dicom")
    np.testing.assert_array_equal(got.array, stored[::-1, :])  # rows ran along −Z: reversed to increase z
    assert got.spacing_mm == {"z": 0.5, "x": 0.25}


def test_rows_along_x_are_transposed_to_z_x(tmp_path):
    stored = np.arange(12, dtype=np.uint16).reshape(3, 4)
    # row direction +Z (columns advance in z), column direction +X (rows advance in x)
    write(tmp_path / "t.dcm", stored, PixelSpacing=[0.5, 0.25], ImageOrientationPatient=[0, 0, 1, 1, 0, 0],
          ImagePositionPatient=[0, 0, 0])
    got = load_image(tmp_path, "t.dcm", "dicom")
    np.testing.assert_array_equal(got.array, stored.T)
    assert got.spacing_mm == {"x": 0.5, "z": 0.25}


def test_oblique_orientations_are_refused(tmp_path):
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    write(tmp_path / "o.dcm", np.zeros((3, 4), np.uint16), PixelSpacing=[1, 1],
          ImageOrientationPatient=[c, s, 0, 0, 0, -1], ImagePositionPatient=[0, 0, 0])
    assert "oblique" in str(_err("format", load_image, tmp_path, "o.dcm", "dicom"))


def test_axial_slice_is_a_y_x_image_with_its_own_metrics(tmp_path):
    """An axial slice (row direction +X, column direction +Y): axes (y, x), PixelSpacing
    [0.5 (y), 0.25 (x)]. The Lorentzian phantom's row runs along x: by hand, ROI area =
    24 × 0.5 × 0.25 mm² and FWHM = 2γ = 4 pixels × 0.25 mm = 1 mm."""
    img = lorentz_phantom()
    write(tmp_path / "ax.dcm", img, pixel="double", PixelSpacing=[0.5, 0.25],
          ImageOrientationPatient=[1, 0, 0, 0, 1, 0], ImagePositionPatient=[0, 0, 0])
    got = load_image(tmp_path, "ax.dcm", "dicom")
    assert got.axes == ("y", "x") and got.spacing_mm == {"y": 0.5, "x": 0.25}
    np.testing.assert_array_equal(got.array, img)
    from mpistd.quantify.imaging import ImageBatch

    batch = ImageBatch()
    batch.add(got.array, got.spacing_mm, 10.0, axes=got.axes)
    (m,) = batch.results()
    assert m.roi_area_mm2 == pytest.approx(24 * 0.5 * 0.25) and m.fwhm_mm == pytest.approx(1.0, rel=1e-6)
    # a sagittal slice (row +Y, column −Z): axes (z, y); rows reversed so z increases
    write(tmp_path / "sag.dcm", np.arange(12, dtype=np.uint16).reshape(3, 4), PixelSpacing=[2, 1],
          ImageOrientationPatient=[0, 1, 0, 0, 0, -1], ImagePositionPatient=[0, 0, 0])
    got = load_image(tmp_path, "sag.dcm", "dicom")
    assert got.axes == ("z", "y") and got.spacing_mm == {"z": 2.0, "y": 1.0}
    np.testing.assert_array_equal(got.array, np.arange(12).reshape(3, 4)[::-1])


# ------------------------------------------------------------------ slice series (1.1 slices)

def _series(tmp_path, zs, folder="ser", values=None):
    d = tmp_path / folder
    d.mkdir(exist_ok=True)
    slices = []
    for k, z in enumerate(zs):
        px = np.full((4, 5), (values or [10 * (k + 1)] * len(zs))[k], dtype=np.uint16)
        p = write(d / f"s{k}.dcm", px, PixelSpacing=[0.5, 0.25], ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
                  ImagePositionPatient=[1.0, 2.0, z], SliceThickness="7")
        slices.append({"path": f"{folder}/s{k}.dcm", "sha256": hashlib.sha256(p.read_bytes()).hexdigest()})
    return slices


def test_slice_series_is_one_volume_ordered_by_position(tmp_path):
    slices = _series(tmp_path, [3.0, 0.0, 1.5, 4.5])
    got = load_slice_series(tmp_path, "ser", slices)
    assert got.array.shape == (4, 4, 5)
    assert list(got.array[:, 0, 0]) == [20, 30, 10, 40]  # z = 0, 1.5, 3, 4.5
    assert got.spacing_mm == {"z": 1.5, "y": 0.5, "x": 0.25}  # from the positions, not SliceThickness


def test_slice_series_checks(tmp_path):
    slices = _series(tmp_path, [0.0, 1.0, 3.0])
    assert "not regular" in str(_err("format", load_slice_series, tmp_path, "ser", slices))
    slices = _series(tmp_path, [0.0, 1.0, 2.0], folder="ok")
    (tmp_path / "ok" / "forgotten.dcm").write_bytes(b"x")  # a file of the folder not listed
    assert "forgotten.dcm" in str(_err("format", load_slice_series, tmp_path, "ok", slices))
    (tmp_path / "ok" / "forgotten.dcm").unlink()
    assert load_slice_series(tmp_path, "ok", slices).array.shape == (3, 4, 5)
    bad = [dict(slices[0], sha256="0" * 64)] + slices[1:]
    _err("sha256", load_slice_series, tmp_path, "ok", bad)
    _err("escape", load_slice_series, tmp_path, None, [{"path": "../x.dcm", "sha256": "0" * 64}])


# ------------------------------------------------------------------ bad header values, end to end

def _base_document() -> dict:
    spec = importlib.util.spec_from_file_location("_conformance_base", ROOT / "reference_data/conformance/base.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.base()


def _dataset_with(tmp_path, image_ref: dict, acquisition_pixel_size: bool = True) -> Path:
    doc = _base_document()
    if not acquisition_pixel_size:
        for acq in doc["acquisitions"]:
            acq.pop("pixel_size_mm", None)
    doc["calibrations"][0]["points"][0]["replicates"][0]["image"] = image_ref
    path = tmp_path / "d.mpical.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("value", ["0", "NaN", "-0.5", "inf"])
def test_unusable_pixel_spacing_is_mpi014_with_the_value_not_a_crash(tmp_path, value):
    from pydicom import config

    config.settings.reading_validation_mode = config.IGNORE
    config.settings.writing_validation_mode = config.IGNORE
    try:
        write(tmp_path / "b.dcm", lorentz_phantom(), pixel="double", PixelSpacing=[value, "0.5"])
        result = validate_file(_dataset_with(tmp_path, {"path": "b.dcm", "format": "dicom"}, False), Options(), "d")
    finally:
        config.settings.reading_validation_mode = config.WARN
        config.settings.writing_validation_mode = None
    hits = [f for f in result.findings if f.rule == "MPI014"]
    assert [f.pointer for f in hits] == [f"{REP0}/image/path"]
    assert value.lower() in hits[0].message.lower() and "PixelSpacing" in hits[0].message
    # with a declared pixel size the image stays usable: the declared size stands in (MPI017)
    result = validate_file(_dataset_with(tmp_path, {"path": "b.dcm", "format": "dicom",
                                                    "pixel_size_mm": {"z": 0.5, "x": 0.5}}), Options(), "d")
    assert {f.rule for f in result.findings} & {"MPI014", "MPI017"} == {"MPI017"}


def test_negative_number_of_frames_is_mpi014(tmp_path):
    write(tmp_path / "n.dcm", np.zeros((3, 4), np.uint16), PixelSpacing=[1, 1], NumberOfFrames="-1")
    e = _err("format", load_image, tmp_path, "n.dcm", "dicom")
    assert "-1" in str(e)


def test_npy_header_with_minus_one_dimension_is_refused(tmp_path):
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 24), }"
    header += " " * (64 - (10 + len(header) + 1) % 64) + "\n"
    data = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + bytes(8 * 48)
    (tmp_path / "m.npy").write_bytes(data)
    e = _err("format", load_image, tmp_path, "m.npy", "npy")
    assert "(-1, 24)" in str(e)
    result = validate_file(_dataset_with(tmp_path, {"path": "m.npy", "format": "npy",
                                                    "pixel_size_mm": {"z": 0.5, "x": 0.5}}), Options(), "d")
    assert [(f.rule, f.pointer) for f in result.findings if f.rule == "MPI014"] == [("MPI014", f"{REP0}/image/path")]


def test_pixel_size_overflow(tmp_path):
    np.save(tmp_path / "p.npy", lorentz_phantom())
    big = {"z": 1e300, "x": 1e300}
    result = validate_file(_dataset_with(tmp_path, {"path": "p.npy", "format": "npy", "pixel_size_mm": big}),
                           Options(), "d")
    rules = {f.rule for f in result.findings}
    assert "MPI014" in rules  # the product 1e600 mm² is not a finite area: unusable, with the value
    msg = next(f.message for f in result.findings if f.rule == "MPI014")
    assert "1e+300" in msg
    # 1e154 mm pixels: the pixel area 1e308 mm² is finite, the ROI area 24 × 1e308 is not. The
    # maximum (no spacing in it) is still recomputed and matches; only area, total (and FWHM,
    # 4 × 1e154 is finite: kept) are lost: MPI016, a warning, not MPI014
    big = {"z": 1e154, "x": 1e154}
    result = validate_file(_dataset_with(tmp_path, {"path": "p.npy", "format": "npy", "pixel_size_mm": big}),
                           Options(), "d")
    keys = {(f.rule, f.pointer) for f in result.findings if f.rule in ("MPI013", "MPI014", "MPI016")}
    assert keys == {("MPI016", f"{REP0}/image")}, result.findings
    msg = next(f.message for f in result.findings if f.rule == "MPI016")
    assert "overflow" in msg


def test_dicom_declaring_more_pixels_than_the_limit_is_refused_before_decoding(tmp_path, monkeypatch):
    """Rows = Columns = 65535 and 1000 frames declare 8.6 GB of 16-bit pixels in a tiny file:
    refused from the header (too_large, MPI005), pixel_array is never called."""
    import pydicom.dataset

    write(tmp_path / "bomb.dcm", np.zeros((2, 2), np.uint16), NumberOfFrames="1000")
    import pydicom

    ds = pydicom.dcmread(tmp_path / "bomb.dcm")
    ds.Rows = ds.Columns = 65535
    ds.save_as(tmp_path / "bomb.dcm")

    def boom(self):  # pragma: no cover - would mean decoding was attempted
        raise AssertionError("pixel_array called")

    monkeypatch.setattr(pydicom.dataset.Dataset, "pixel_array", property(boom))
    e = _err("too_large", load_image, tmp_path, "bomb.dcm", "dicom")
    assert "65535" in str(e)


def test_slice_series_end_to_end_in_a_1_1_document(tmp_path):
    """Three coronal-free axial slices (row +X, column +Y) of a 3D box: 2 × 2 × 2 voxels of
    stored 100, RescaleSlope 3 -> 300; voxel 1 × 0.5 × 0.25 mm (the slice gap 1 mm from
    ImagePositionPatient). By hand: maximum 300, ROI 8 voxels, volume 8 × 0.125 = 1 mm³, total
    = ROI sum × voxel volume = 8 × 300 × 0.125 = 300 (STANDARD.md, 3D)."""
    d = tmp_path / "series"
    d.mkdir()
    slices = []
    for k, z in enumerate([2.0, 0.0, 1.0]):  # listed out of order on purpose
        px = np.zeros((4, 5), np.uint16)
        if z in (1.0, 2.0):
            px[1:3, 2:4] = 100
        p = write(d / f"s{k}.dcm", px, PixelSpacing=[0.5, 0.25], ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
                  ImagePositionPatient=[0, 0, z], RescaleSlope="3", RescaleIntercept="0")
        slices.append({"path": f"series/s{k}.dcm", "sha256": hashlib.sha256(p.read_bytes()).hexdigest()})
    doc = _base_document()
    doc["schema_version"] = "1.1"
    for acq in doc["acquisitions"]:
        acq.pop("pixel_size_mm", None)
    rep = doc["calibrations"][0]["points"][0]["replicates"][0]
    rep.update(max_intensity=300.0, total_intensity=300.0, roi_volume_mm3=1.0)
    rep["image"] = {"format": "dicom", "path": "series", "slices": slices}
    path = tmp_path / "s.mpical.json"
    path.write_text(json.dumps(doc))
    result = validate_file(path, Options(), "s")
    image_rules = {(f.rule, f.pointer) for f in result.findings if f.rule in ("MPI013", "MPI014", "MPI016", "MPI017")}
    assert not {k for k in image_rules if k[0] != "MPI016"}, result.findings
    metrics = next(r["metrics"] for r in result.quantities["images"] if r["pointer"] == REP0)
    assert metrics["max_intensity"] == 300.0 and metrics["roi_pixels"] == 8
    assert metrics["roi_volume_mm3"] == pytest.approx(1.0) and metrics["total_intensity"] == pytest.approx(300.0)
    # one slice left out of the list: the folder holds an unlisted file -> MPI014 at the slices
    rep["image"]["slices"] = slices[:2]
    path.write_text(json.dumps(doc))
    result = validate_file(path, Options(), "s")
    hits = [f for f in result.findings if f.rule == "MPI014"]
    assert len(hits) == 1 and "s2.dcm" in hits[0].message


def test_per_frame_functional_groups_must_match_the_frames(tmp_path):
    vol = np.zeros((3, 4, 5), dtype=np.uint16)
    _enhanced(tmp_path / "pf.dcm", vol, [(0, 0, 0), (0, 0, 1.0)], [1, 1])  # 2 items, 3 frames
    assert "one item per frame" in str(_err("format", load_image, tmp_path, "pf.dcm", "dicom"))
