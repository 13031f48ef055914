"""MDF v2 (2.0 to 2.1) reconstruction files read as the specification lays them out.

Every file is written here with h5py directly from the tables of MDF.tex
(MagneticParticleImaging/MDF, ``specification/MDF.tex``): "Data (group: /)" (``/version``
String, ``/uuid``, ``/time``), "Tracer Parameters (group: /tracer/)" (name, batch, vendor,
volume [L], concentration [mol(solute)/L], solute; dimension A) and "Reconstruction Results
(group: /reconstruction/)" (``data`` Number Q × P × S; ``fieldOfView`` Float64 3 [m];
``size`` Integer 3, optional; ``order`` String, default xyz; ``positions`` Float64 P × 3 [m],
optional; ``isOverscanRegion`` Int8 P, optional), and complex data as a last dimension of
size 2 (section "Datatypes"). Voxel p is (ix, iy, iz) with p = ix + Nx·(iy + Ny·iz): x
fastest (the specification's calibration section, order "xyz"). Expected arrays and metrics
are computed here from the closed-form values written, not by mpistd's reader.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mpistd.config import Options
from mpistd.load.images import ImageError, ReadRequest, load_image
from mpistd.pipeline import validate_file

ROOT = Path(__file__).resolve().parents[2]
CLEAN = ROOT / "reference_data" / "conformance" / "clean.mpical.json"


def write_mdf(path, vox=None, *, size=(6, 1, 4), frames=1, channels=1, version="2.1.0", fov=None, positions=None,
              order=None, overscan=None, tracer=None, data=None, write_size=True):
    """An MDF v2 reconstruction file. ``vox``: the P voxel values of frame 0, channel 0;
    other frames/channels hold −(1 + 10·frame + channel) so a wrong pick shows."""
    import h5py

    nx, ny, nz = size
    p = nx * ny * nz
    if data is None:
        data = np.empty((frames, p, channels))
        for q in range(frames):
            for s in range(channels):
                data[q, :, s] = -(1 + 10 * q + s)
        data[0, :, 0] = vox if vox is not None else np.arange(p, dtype=float)
    with h5py.File(path, "w") as f:
        if version is not None:
            f["/version"] = version
        f["/uuid"] = "3170fdf8-f8e1-4cbf-ac73-41520b41f6ee"
        f["/time"] = "2025-01-01T12:00:00.000"
        f["/reconstruction/data"] = data
        if write_size:
            f["/reconstruction/size"] = np.array(size, dtype=np.int64)
        if fov is not None:
            f["/reconstruction/fieldOfView"] = np.array(fov, dtype=np.float64)
        if positions is not None:
            f["/reconstruction/positions"] = np.asarray(positions, dtype=np.float64)
        if order is not None:
            f["/reconstruction/order"] = order
        if overscan is not None:
            f["/reconstruction/isOverscanRegion"] = np.asarray(overscan, dtype=np.int8)
        for k, v in (tracer or {}).items():
            f[f"/tracer/{k}"] = v
    return path


def voxel_index(nx, ny, nz):
    """(ix, iy, iz) of every voxel p, x fastest (MDF order "xyz")."""
    p = np.arange(nx * ny * nz)
    return p % nx, (p // nx) % ny, p // (nx * ny)


def grid_positions(nx, ny, nz, step_m, origin=(0.0, 0.0, 0.0)):
    ix, iy, iz = voxel_index(nx, ny, nz)
    return np.stack([origin[0] + ix * step_m[0], origin[1] + iy * step_m[1], origin[2] + iz * step_m[2]], axis=1)


def _err(kind, *a, **k) -> ImageError:
    with pytest.raises(ImageError) as ei:
        load_image(*a, **k)
    assert ei.value.kind == kind, str(ei.value)
    assert len(str(ei.value)) < 600
    return ei.value


# ------------------------------------------------------------------------------------ /version


@pytest.mark.parametrize("version", ["2.0.0", "2.1.0", "2.1"])
def test_version_2_0_to_2_1_is_read(tmp_path, version):
    write_mdf(tmp_path / "a.mdf", version=version)
    assert load_image(tmp_path, "a.mdf", "mdf").array.shape == (4, 6)


def test_version_1_is_refused_with_the_reason(tmp_path):
    write_mdf(tmp_path / "a.mdf", version="1.0.5")
    e = _err("format", tmp_path, "a.mdf", "mdf")
    assert "1.0.5" in str(e) and "MDF 1.x" in str(e) and "not backward compatible" in str(e)


@pytest.mark.parametrize("version", ["3.0.0", "0.1", "banana"])
def test_unknown_version_is_refused(tmp_path, version):
    write_mdf(tmp_path / "a.mdf", version=version)
    assert version in str(_err("format", tmp_path, "a.mdf", "mdf"))


def test_version_as_an_attribute_is_not_the_specifications_dataset(tmp_path):
    import h5py

    write_mdf(tmp_path / "a.mdf", version=None)
    with h5py.File(tmp_path / "a.mdf", "a") as f:
        f.attrs["version"] = "2.0"
    e = _err("format", tmp_path, "a.mdf", "mdf")
    assert "/version" in str(e) and "attribute" in str(e)


# ------------------------------------------------------------------------------------ the grid


def test_2d_x_z_plane_from_size_and_field_of_view(tmp_path):
    nx, ny, nz = 6, 1, 4
    ix, iy, iz = voxel_index(nx, ny, nz)
    write_mdf(tmp_path / "a.mdf", 10 * iz + ix, size=(nx, ny, nz), fov=(0.012, 0.001, 0.012))
    got = load_image(tmp_path, "a.mdf", "mdf")
    np.testing.assert_array_equal(got.array, np.fromfunction(lambda z, x: 10 * z + x, (nz, nx)))
    assert got.spacing_mm == pytest.approx({"z": 3.0, "x": 2.0})  # 12 mm / 4, 12 mm / 6
    assert "fieldOfView" in got.spacing_source


def test_2d_x_y_plane_rows_are_y_columns_x(tmp_path):
    """Issue 12: an x–y reconstruction (Nz = 1) was refused; rows are y, columns x
    (docs/decisions.md, MDF layouts), named by the file's axes (LoadedImage.axes)."""
    nx, ny, nz = 5, 3, 1
    ix, iy, iz = voxel_index(nx, ny, nz)
    write_mdf(tmp_path / "a.mdf", 100 * iy + ix, size=(nx, ny, nz), fov=(0.005, 0.006, 0.002))
    got = load_image(tmp_path, "a.mdf", "mdf")
    np.testing.assert_array_equal(got.array, np.fromfunction(lambda y, x: 100 * y + x, (ny, nx)))
    assert got.spacing_mm == pytest.approx({"y": 2.0, "x": 1.0})  # rows: y (6 mm / 3), columns: x (5 mm / 5)
    assert got.axes == ("y", "x")


def test_2d_y_z_plane_rows_are_z_columns_y(tmp_path):
    nx, ny, nz = 1, 4, 3
    ix, iy, iz = voxel_index(nx, ny, nz)
    write_mdf(tmp_path / "a.mdf", 100 * iz + iy, size=(nx, ny, nz), fov=(0.001, 0.004, 0.009))
    got = load_image(tmp_path, "a.mdf", "mdf")
    np.testing.assert_array_equal(got.array, np.fromfunction(lambda z, y: 100 * z + y, (nz, ny)))
    assert got.spacing_mm == pytest.approx({"z": 3.0, "y": 1.0})  # 9 mm / 3, 4 mm / 4
    assert got.axes == ("z", "y")


def test_3d_is_z_y_x(tmp_path):
    nx, ny, nz = 4, 3, 2
    ix, iy, iz = voxel_index(nx, ny, nz)
    write_mdf(tmp_path / "a.mdf", 100 * iz + 10 * iy + ix, size=(nx, ny, nz), fov=(0.004, 0.006, 0.010))
    got = load_image(tmp_path, "a.mdf", "mdf")
    np.testing.assert_array_equal(got.array, np.fromfunction(lambda z, y, x: 100 * z + 10 * y + x, (nz, ny, nx)))
    assert got.spacing_mm == pytest.approx({"z": 5.0, "y": 2.0, "x": 1.0})


def test_positions_without_size_give_the_grid_and_spacing(tmp_path):
    """Issue 12: size is optional (MDF.tex, Reconstruction Results); positions describe the grid."""
    nx, ny, nz = 5, 1, 3
    ix, iy, iz = voxel_index(nx, ny, nz)
    pos = grid_positions(nx, ny, nz, (0.0005, 0.0, 0.00125), origin=(-0.01, 0.002, 0.03))
    write_mdf(tmp_path / "a.mdf", 10 * iz + ix, size=(nx, ny, nz), positions=pos, write_size=False)
    got = load_image(tmp_path, "a.mdf", "mdf")
    np.testing.assert_array_equal(got.array, np.fromfunction(lambda z, x: 10 * z + x, (nz, nx)))
    assert got.spacing_mm == pytest.approx({"z": 1.25, "x": 0.5})
    assert got.spacing_source == "MDF /reconstruction/positions"


def test_positions_3d_with_size_that_agrees(tmp_path):
    nx, ny, nz = 3, 4, 2
    pos = grid_positions(nx, ny, nz, (0.001, 0.002, 0.003))
    write_mdf(tmp_path / "a.mdf", size=(nx, ny, nz), positions=pos)
    got = load_image(tmp_path, "a.mdf", "mdf")
    assert got.array.shape == (2, 4, 3)
    assert got.spacing_mm == pytest.approx({"z": 3.0, "y": 2.0, "x": 1.0})


def test_irregular_positions_are_refused(tmp_path):
    nx, ny, nz = 5, 1, 3
    pos = grid_positions(nx, ny, nz, (0.001, 0.0, 0.001))
    pos[7, 0] += 0.0003  # one point off the grid
    write_mdf(tmp_path / "a.mdf", size=(nx, ny, nz), positions=pos, write_size=False)
    assert "not a regular grid" in str(_err("format", tmp_path, "a.mdf", "mdf"))


def test_positions_that_contradict_size_are_refused(tmp_path):
    pos = grid_positions(3, 1, 4, (0.001, 0.0, 0.001))
    write_mdf(tmp_path / "a.mdf", size=(4, 1, 3), positions=pos)
    assert "disagree" in str(_err("format", tmp_path, "a.mdf", "mdf"))


def test_no_size_and_no_positions_is_refused(tmp_path):
    write_mdf(tmp_path / "a.mdf", write_size=False)
    e = _err("format", tmp_path, "a.mdf", "mdf")
    assert "/reconstruction/size" in str(e) and "positions" in str(e)


def test_overflowing_field_of_view_is_a_format_error_with_the_value(tmp_path):
    """Issue 11: a fieldOfView of 1e306 m overflowed to an infinite spacing and exit 3."""
    write_mdf(tmp_path / "a.mdf", fov=(1e306, 0.001, 0.004))
    # the shared check_spacing (images-dicom) keeps it as spacing_error: MPI014 without a
    # declared pixel size, MPI017 with one (test_hostile_hdf5.py runs it end to end)
    got = load_image(tmp_path, "a.mdf", "mdf")
    assert got.spacing_mm is None
    assert "1e+306" in got.spacing_error and "fieldOfView" in got.spacing_error and len(got.spacing_error) < 600


def test_field_of_view_whose_pixel_area_overflows_is_refused_with_the_value(tmp_path):
    """Each axis finite (1e200 m / 6 and 1e200 m / 4, in mm), their product not: check_spacing's area check."""
    write_mdf(tmp_path / "a.mdf", fov=(1e200, 0.001, 1e200))
    got = load_image(tmp_path, "a.mdf", "mdf")
    assert got.spacing_mm is None and "1e+200" in got.spacing_error


# ------------------------------------------------------------------------------------ order


def _order_forms():
    import h5py

    return {
        "str-scalar": "xyz",
        "bytes-fixed-scalar": np.bytes_(b"xyz"),
        "fixed-padded": np.array(b"xyz", dtype="S8"),
        "vlen-one-element-array": np.array(["xyz"], dtype=h5py.string_dtype()),
        "fixed-one-element-array": np.array([b"xyz"], dtype="S3"),
        "vlen-bytes-array": np.array([b"xyz"], dtype=h5py.string_dtype(encoding="ascii")),
    }


@pytest.mark.parametrize("form", list(_order_forms()))
def test_order_in_any_hdf5_string_form(tmp_path, form):
    write_mdf(tmp_path / "a.mdf", order=_order_forms()[form])
    assert load_image(tmp_path, "a.mdf", "mdf").array.shape == (4, 6)


def test_order_other_than_xyz_is_refused_not_guessed(tmp_path):
    write_mdf(tmp_path / "a.mdf", order=np.array(["zyx"], dtype="S3"))
    assert "'zyx'" in str(_err("format", tmp_path, "a.mdf", "mdf"))


# ------------------------------------------------------------------------------------ frames, channels


def test_frame_and_channel_are_selected_and_counted(tmp_path):
    write_mdf(tmp_path / "a.mdf", frames=3, channels=2)
    got = load_image(tmp_path, "a.mdf", "mdf")
    assert (got.frames, got.channels, got.frame, got.channel) == (3, 2, 0, 0)
    np.testing.assert_array_equal(got.array.ravel(), np.arange(24.0))
    got = load_image(tmp_path, "a.mdf", "mdf", request=ReadRequest(frame=2, channel=1))
    assert (got.frame, got.channel) == (2, 1)
    assert (got.array == -(1 + 10 * 2 + 1)).all()


@pytest.mark.parametrize("request_, counts", [(ReadRequest(frame=3), "3 frames"), (ReadRequest(channel=2), "2 channels")])
def test_frame_or_channel_out_of_range_is_refused_with_the_counts(tmp_path, request_, counts):
    write_mdf(tmp_path / "a.mdf", frames=3, channels=2)
    assert counts in str(_err("format", tmp_path, "a.mdf", "mdf", request=request_))


# ------------------------------------------------------------------------------------ complex


def _complex_data(split: bool):
    re_, im = np.full(24, 3.0), np.full(24, 4.0)  # |z| = 5 everywhere
    re_[5], im[5] = 6.0, 8.0  # |z| = 10 at one voxel
    if split:  # MDF.tex, Datatypes: real and imaginary part in a last dimension of size 2
        return np.stack([re_, im], axis=-1).reshape(1, 24, 1, 2)
    return (re_ + 1j * im).reshape(1, 24, 1)


@pytest.mark.parametrize("split", [True, False], ids=["last-dimension-2", "complex-type"])
def test_complex_is_refused_naming_the_field_then_read_as_magnitude(tmp_path, split):
    write_mdf(tmp_path / "a.mdf", data=_complex_data(split))
    e = _err("format", tmp_path, "a.mdf", "mdf")
    assert "complex" in str(e) and '"magnitude": true' in str(e)
    got = load_image(tmp_path, "a.mdf", "mdf", request=ReadRequest(magnitude=True))
    expected = np.full(24, 5.0)
    expected[5] = 10.0
    np.testing.assert_allclose(got.array.ravel(), expected)


# ------------------------------------------------------------------------------------ overscan


def test_overscan_voxels_are_masked_out(tmp_path):
    nx, ny, nz = 6, 1, 4
    ix, iy, iz = voxel_index(nx, ny, nz)
    vox = (10 * iz + ix).astype(float)
    over = (iz == 0).astype(np.int8)
    vox[iz == 0] = 1e6  # an artefact in the overscan border
    write_mdf(tmp_path / "a.mdf", vox, size=(nx, ny, nz), overscan=over)
    got = load_image(tmp_path, "a.mdf", "mdf")
    assert got.mask is not None and got.mask.shape == (4, 6)
    assert not got.mask[0].any() and got.mask[1:].all()
    assert np.isnan(got.array[0]).all()
    np.testing.assert_array_equal(got.array[1:], np.fromfunction(lambda z, x: 10 * (z + 1) + x, (3, 6)))


# ------------------------------------------------------------------------------------ tracer


def test_tracer_group_is_read(tmp_path):
    import h5py

    s = h5py.string_dtype()
    write_mdf(tmp_path / "a.mdf", tracer={
        "name": np.array(["perimag", "synomag"], dtype=s), "vendor": np.array(["micromod", "micromod"], dtype=s),
        "batch": np.array(["b1", "b2"], dtype=s), "solute": np.array(["Fe", "Fe"], dtype=s),
        "concentration": np.array([0.152, 0.5]), "volume": np.array([1e-4, 2e-4])})
    got = load_image(tmp_path, "a.mdf", "mdf")
    assert [t.name for t in got.tracers] == ["perimag", "synomag"]
    t = got.tracers[0]
    assert (t.vendor, t.batch, t.solute, t.concentration_mol_per_L, t.volume_L) == ("micromod", "b1", "Fe", 0.152, 1e-4)


def test_tracer_field_of_the_wrong_shape_is_left_out(tmp_path):
    write_mdf(tmp_path / "a.mdf", tracer={"name": np.array([b"perimag"]), "concentration": np.zeros((2, 2))})
    got = load_image(tmp_path, "a.mdf", "mdf")
    assert len(got.tracers) == 1 and got.tracers[0].name == "perimag"
    assert got.tracers[0].concentration_mol_per_L is None


# ------------------------------------------------------------------------------------ end to end
# The images family's closed-form phantom (reference_data/conformance/families/images.py):
# 40 × 24 pixels of 0.5 mm, row 20 a Lorentzian A/(1+((x−12)/2)²), rows 19 and 21 a constant c
# chosen so that the ROI above T = 10 sums to 38·A; so maximum A and total 9.5·A, the base
# document's replicate 0 (maximum 651.2).

A = 651.2
NZ, NX = 40, 24


def phantom() -> np.ndarray:
    img = np.zeros((NZ, NX))
    row = np.round(A / (1.0 + ((np.arange(NX) - 12) / 2.0) ** 2), 6)
    img[20] = row
    c = round((38.0 * A - float(row.sum())) / (2 * NX), 6)
    img[19] = img[21] = c
    return img


def _validate(dataset: Path, ref: dict) -> list:
    doc = json.loads(CLEAN.read_text(encoding="utf-8"))
    doc["calibrations"][0]["points"][0]["replicates"][0]["image"] = ref
    path = dataset / "d.mpical.json"
    path.write_text(json.dumps(doc))
    return validate_file(path, Options()).findings


@pytest.mark.parametrize("plane", ["x-z", "x-y"])
def test_overscan_artefact_is_excluded_from_every_metric(tmp_path, plane):
    """Issue 12: an artefact in the overscan border became the maximum."""
    img = phantom()
    img[0:2, :] = 1.0e4  # artefact, far above the phantom, in rows 0-1
    over = np.zeros((NZ, NX), dtype=np.int8)
    over[0:2, :] = 1
    size = (NX, 1, NZ) if plane == "x-z" else (NX, NZ, 1)
    fov = (NX * 0.0005, 0.0005, NZ * 0.0005) if plane == "x-z" else (NX * 0.0005, NZ * 0.0005, 0.0005)
    # the (rows, columns) image written x fastest: voxel p = column + NX·row in both planes
    write_mdf(tmp_path / "over.mdf", img.ravel(), size=size, fov=fov, overscan=over.ravel())
    findings = _validate(tmp_path, {"path": "over.mdf", "format": "mdf"})
    assert [(f.rule, f.pointer) for f in findings] == []
    # control: without isOverscanRegion the artefact is the maximum and MPI013 fires
    write_mdf(tmp_path / "plain.mdf", img.ravel(), size=size, fov=fov)
    findings = _validate(tmp_path, {"path": "plain.mdf", "format": "mdf"})
    assert ("MPI013", "/calibrations/0/points/0/replicates/0/max_intensity") in [(f.rule, f.pointer) for f in findings]


def test_y_z_plane_is_named_z_y_so_the_default_fwhm_axis_x_is_not_one_of_its_axes(tmp_path):
    """A 1 × Ny × Nz grid is a (z, y) image (LoadedImage.axes, as a DICOM slice in the y–z
    plane): the phantom's profile runs along file y, so with the default fwhm.axis "x" the
    image is refused naming the axis (MPI014), and with "y" it reproduces the clean dataset."""
    img = phantom()  # rows z, columns (here) y
    write_mdf(tmp_path / "yz.mdf", img.ravel(), size=(1, NX, NZ), fov=(0.0005, NX * 0.0005, NZ * 0.0005))
    findings = _validate(tmp_path, {"path": "yz.mdf", "format": "mdf"})
    assert [(f.rule, f.pointer) for f in findings] == [("MPI014", "/calibrations/0/points/0/replicates/0/image/path")]
    assert "FWHM axis 'x'" in findings[0].message and "('z', 'y')" in findings[0].message
    doc = json.loads(CLEAN.read_text(encoding="utf-8"))
    doc["calibrations"][0]["points"][0]["replicates"][0]["image"] = {"path": "yz.mdf", "format": "mdf"}
    doc.setdefault("analysis", {}).setdefault("fwhm", {})["axis"] = "y"
    path = tmp_path / "d.mpical.json"
    path.write_text(json.dumps(doc))
    assert [(f.rule, f.pointer) for f in validate_file(path, Options()).findings] == []


def test_overscan_is_named_in_the_message_not_nan(tmp_path):
    img = phantom() * 1.15  # maximum 15 % above the reported one: MPI013 fires and says what was applied
    over = np.zeros((NZ, NX), dtype=np.int8)
    over[0, :] = 1
    write_mdf(tmp_path / "a.mdf", img.ravel(), size=(NX, 1, NZ), fov=(NX * 0.0005, 0.0005, NZ * 0.0005),
              overscan=over.ravel())
    msgs = [f.message for f in _validate(tmp_path, {"path": "a.mdf", "format": "mdf"}) if f.rule == "MPI013"]
    assert msgs and all("overscan voxels excluded" in m and "NaN" not in m for m in msgs)


def test_mpi018_says_which_frame_and_channel_were_used(tmp_path):
    """Issue 12: frame 0 and channel 0 were taken silently."""
    img = phantom()
    data = np.full((3, NZ * NX, 2), -5.0)
    data[0, :, 0] = img.ravel()
    write_mdf(tmp_path / "a.mdf", data=data, size=(NX, 1, NZ), fov=(NX * 0.0005, 0.0005, NZ * 0.0005))
    found = [f for f in _validate(tmp_path, {"path": "a.mdf", "format": "mdf"}) if f.rule == "MPI018"]
    assert [(f.pointer, f.severity.value) for f in found] == [("/calibrations/0/points/0/replicates/0/image", "warning")]
    assert "3 frames (frame 0 was used)" in found[0].message and "2 channels (channel 0 was used)" in found[0].message


def test_variable_length_strings_behind_a_user_block_are_read(tmp_path):
    """HDF5 addresses count from the end of a user block (HDF5 File Format Specification,
    base address): the global-heap check must not refuse such a file."""
    import h5py

    with h5py.File(tmp_path / "a.mdf", "w", userblock_size=512) as f:
        f["/version"] = "2.1.0"
        f["/reconstruction/order"] = "xyz"
        f["/reconstruction/data"] = np.arange(12.0).reshape(1, 12, 1)
        f["/reconstruction/size"] = np.array([4, 1, 3])
    np.testing.assert_array_equal(load_image(tmp_path, "a.mdf", "mdf").array, np.arange(12.0).reshape(3, 4))


# ------------------------------------------------------------------ /tracer against the dataset, end to end


def _dataset_with_mdf_image(tmp_path, tracer_conc_mol_per_L):
    """The clean conformance dataset with one replicate imaged by an MDF file (written above from
    MDF.tex's fields) whose /tracer names the dataset's tracer, at the given concentration."""
    import h5py

    from mpistd.config import Options
    from mpistd.pipeline import validate_file

    doc = json.loads(CLEAN.read_text(encoding="utf-8"))
    doc["schema_version"] = "1.1"
    cal = doc["calibrations"][0]
    tracer = next(t for t in doc["tracers"] if t["id"] == cal["tracer"])
    point = cal["points"][0]
    point["concentration_ug_per_uL"] = 0.5
    s = h5py.string_dtype()
    write_mdf(tmp_path / "img.mdf", size=(6, 1, 4), tracer={
        "name": np.array([tracer["name"]], dtype=s), "solute": np.array(["Fe"], dtype=s),
        "concentration": np.array([tracer_conc_mol_per_L])})
    point["replicates"][0]["image"] = {"path": "img.mdf", "format": "mdf"}
    path = tmp_path / "d.mpical.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return [f for f in validate_file(path, Options()).findings if f.rule == "MPI017"]


def test_mpi017_fires_end_to_end_on_an_mdf_tracer_concentration(tmp_path):
    """0.5 µg Fe/µL = 0.5 mg Fe/mL = 0.5/55.845 mol/L = 8.953 mmol/L (Fe: 55.845 g/mol). The file
    says twice that: MPI017 with both values; the file's own value passes."""
    hits = _dataset_with_mdf_image(tmp_path, 2 * 0.5 / 55.845)
    assert len(hits) == 1, hits
    assert "mol/L of Fe" in hits[0].message and "0.5 µg/µL" in hits[0].message
    assert _dataset_with_mdf_image(tmp_path, 0.5 / 55.845) == []
