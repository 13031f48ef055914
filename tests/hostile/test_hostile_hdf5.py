"""MDF / HDF5 files that try to leave the dataset's folder or exhaust the machine (issue 11).

HDF5 resolves external links, external storage and virtual datasets inside its C library,
below Python's ``open`` and its audit hooks, so an audit hook proves nothing here. Each
confinement case is therefore shown twice in one dataset, run through the command line in
a subprocess with a timeout:

- replicate 0's file points at a FIFO outside the folder that has no writer: any open()
  of it blocks, so a reader that follows the reference hangs and the timeout fails the test;
- replicate 1's file points at a sentinel outside the folder, a real HDF5 (or raw) file
  whose values are ``SECRET`` and which holds the text ``SENTINEL``: neither may appear in
  any output (stdout, stderr, the text, JSON, SARIF and JUnit reports, the HTML report),
  which is what happened when the secret came back as a "recomputed" maximum.

Both images must be MPI014 at their path. The resource cases (1 GiB of fill value, a chunk
that inflates past the limit) are built from fill values and compressed zeros, so the files
are a few KB; they are read in-process, with a generous time bound that only catches the
old behaviour (30 s, 2.5 GB).

Files are written with h5py directly from MDF.tex (MagneticParticleImaging/MDF,
``specification/MDF.tex``: ``/version`` String; ``/reconstruction/data`` Q × P × S,
``size`` (Nx, Ny, Nz), ``fieldOfView`` in m), not with mpistd's simulator.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from corpus import base_document
from harness import run_cli
from mpistd.load.images import ImageError, load_image

NZ, NX = 40, 24
P = NZ * NX
SECRET = 4242.4242  # printed by mpistd as 4242.42
SECRET_TEXT = "SENTINEL-5f2c-outside-the-folder"
R = "/calibrations/0/points/0/replicates"
TIMEOUT = 90  # seconds: only a hang (a blocked open of the FIFO) takes this long


def _base_mdf(f) -> None:
    """The mandatory root datasets and the grid, around a /reconstruction/data given later."""
    f["/version"] = "2.1.0"
    f["/uuid"] = "3170fdf8-f8e1-4cbf-ac73-41520b41f6ee"
    f["/time"] = "2025-01-01T12:00:00.000"
    f["/reconstruction/size"] = np.array([NX, 1, NZ], dtype=np.int64)
    f["/reconstruction/fieldOfView"] = np.array([NX * 0.0005, 0.0005, NZ * 0.0005])


def _secret_h5(path: Path) -> None:
    import h5py

    with h5py.File(path, "w") as f:
        f["data"] = np.full((1, P, 1), SECRET)
        f["note"] = SECRET_TEXT


def _secret_raw(path: Path) -> None:
    path.write_bytes(np.full(P, SECRET, dtype="<f8").tobytes() + SECRET_TEXT.encode())


def _external_link(mdf: Path, target: Path) -> None:
    import h5py

    with h5py.File(mdf, "w") as f:
        _base_mdf(f)
        f["/reconstruction/data"] = h5py.ExternalLink(str(target), "/data")


def _soft_link_leaving_the_tree(mdf: Path, target: Path) -> None:
    """/reconstruction/data is a soft link whose target path runs through an external link."""
    import h5py

    with h5py.File(mdf, "w") as f:
        _base_mdf(f)
        f["/_elsewhere"] = h5py.ExternalLink(str(target), "/")
        f["/reconstruction/data"] = h5py.SoftLink("/_elsewhere/data")


def _external_storage(mdf: Path, target: Path) -> None:
    import h5py

    with h5py.File(mdf, "w") as f:
        _base_mdf(f)
        f.create_dataset("/reconstruction/data", shape=(1, P, 1), dtype="<f8", external=[(str(target), 0, P * 8)])


def _virtual_dataset(mdf: Path, target: Path) -> None:
    import h5py

    layout = h5py.VirtualLayout(shape=(1, P, 1), dtype="<f8")
    layout[...] = h5py.VirtualSource(str(target), "data", shape=(1, P, 1))
    with h5py.File(mdf, "w") as f:
        _base_mdf(f)
        f.create_virtual_dataset("/reconstruction/data", layout, fillvalue=0.0)


CASES = {
    "external-link": (_external_link, _secret_h5),
    "soft-link-leaving-the-tree": (_soft_link_leaving_the_tree, _secret_h5),
    "external-storage": (_external_storage, _secret_raw),
    "virtual-dataset": (_virtual_dataset, _secret_h5),
}


def _dataset(tmp_path: Path, build, secret) -> tuple[Path, Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    fifo, sentinel = outside / "fifo", outside / "secret"
    secret(sentinel)
    folder = tmp_path / "dataset"
    folder.mkdir()
    build(folder / "via-fifo.mdf", fifo)
    build(folder / "via-sentinel.mdf", sentinel)
    os.mkfifo(fifo)  # after building: nothing here opens it (no writer: an open() blocks)
    doc = base_document()
    reps = doc["calibrations"][0]["points"][0]["replicates"]
    reps[0]["image"] = {"path": "via-fifo.mdf", "format": "mdf"}
    reps[1]["image"] = {"path": "via-sentinel.mdf", "format": "mdf"}
    path = folder / "d.mpical.json"
    path.write_text(json.dumps(doc, indent=2))
    return path, tmp_path / "out"


@pytest.mark.parametrize("case", list(CASES))
def test_reference_to_another_file_is_refused_before_it_is_opened(tmp_path: Path, case: str) -> None:
    path, out = _dataset(tmp_path, *CASES[case])
    out.mkdir()
    outputs = {k: out / f"report.{k}" for k in ("txt", "sarif", "junit")}
    v = run_cli(["validate", str(path), "--format", "json", "-j", "1", "-o", f"text:{outputs['txt']}",
                 "-o", f"sarif:{outputs['sarif']}", "-o", f"junit:{outputs['junit']}"], cwd=tmp_path, timeout=TIMEOUT)
    assert not v.timed_out, "the reader opened the FIFO outside the dataset's folder (blocked)"
    assert v.returncode == 1, (v.returncode, v.stderr[-2000:])
    found = [(f["rule"], f["pointer"]) for d in v.report["datasets"] for f in d["findings"]]
    assert ("MPI014", f"{R}/0/image/path") in found and ("MPI014", f"{R}/1/image/path") in found, found
    msgs = [f["message"] for d in v.report["datasets"] for f in d["findings"] if f["rule"] == "MPI014"]
    assert all("only the image file itself is read" in m for m in msgs), msgs
    html = out / "report.html"
    r = run_cli(["report", str(path), "-o", str(html), "-j", "1"], cwd=tmp_path, timeout=TIMEOUT)
    assert not r.timed_out and r.returncode == 1, (r.returncode, r.stderr[-2000:])
    texts = {"stdout": v.stdout, "stderr": v.stderr + r.stderr, "html": html.read_text(encoding="utf-8")}
    texts.update({k: p.read_text(encoding="utf-8") for k, p in outputs.items()})
    for name, text in texts.items():
        assert "4242.42" not in text and SECRET_TEXT not in text, f"the sentinel's content is in the {name} output"


# ------------------------------------------------------------------------------------ resources

GiB = 2**30


def _mdf_with(path: Path, **replace) -> Path:
    """A valid small MDF whose dataset ``name`` is replaced by ``replace[name](group, name)``."""
    import h5py

    with h5py.File(path, "w") as f:
        f["/version"] = "2.1.0"
        f["/reconstruction/data"] = np.zeros((1, 12, 1))
        f["/reconstruction/size"] = np.array([4, 1, 3])
        for name, make in replace.items():
            if name in f:
                del f[name]
            make(f, name)
    return path


def _fill(shape, dtype, value=7):
    return lambda f, name: f.create_dataset(name, shape=shape, dtype=dtype, fillvalue=value)


@pytest.mark.parametrize("name, make", [
    ("/reconstruction/size", _fill((GiB // 8,), "<i8")),  # issue 11: 1 GiB of fill value, 30 s and 2.5 GB
    ("/reconstruction/fieldOfView", _fill((GiB // 8,), "<f8", 0.01)),
    ("/reconstruction/positions", _fill((GiB // 24, 3), "<f8", 0.01)),
    ("/reconstruction/isOverscanRegion", _fill((GiB,), "i1", 1)),
    ("/reconstruction/order", _fill((GiB // 4,), "S4", b"xyz")),
    ("/version", _fill((GiB // 8,), "S8", b"2.1.0")),
    ("/version", lambda f, name: f.create_dataset(name, shape=(), dtype=f"S{GiB}")),  # one string of 1 GiB
    ("/tracer/concentration", _fill((GiB // 8,), "<f8", 0.1)),
    ("/tracer/name", _fill((GiB // 8,), "S8", b"perimag")),
], ids=["size", "fieldOfView", "positions", "isOverscanRegion", "order", "version-array", "version-one-string",
        "tracer-concentration", "tracer-name"])
def test_auxiliary_dataset_declared_huge_is_bounded_before_reading(tmp_path: Path, name: str, make) -> None:
    path = _mdf_with(tmp_path / "a.mdf", **{name: make})
    assert path.stat().st_size < 64 * 1024  # fill values: nothing is stored
    started = time.perf_counter()
    try:
        got = load_image(tmp_path, "a.mdf", "mdf")
    except ImageError as exc:
        assert exc.kind in ("format", "too_large"), exc
        assert len(str(exc)) < 600, "the message embeds the file's content"
        assert name in str(exc)
    else:  # /tracer is metadata: a field not of the specification's form is left out, not read
        assert name.startswith("/tracer/") and got.tracers == ()
    assert time.perf_counter() - started < 10, "the dataset was read whole"


def test_compressed_chunk_inflating_past_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    """Issue 11: one chunk of /reconstruction/data inflated whole to read frame 0 (1.1 GB RSS)."""
    import h5py

    q, p = 64, 4096  # one frame: 32 KiB; one chunk holding every frame: 2 MiB of zeros, deflated
    with h5py.File(tmp_path / "a.mdf", "w") as f:
        f["/version"] = "2.1.0"
        f.create_dataset("/reconstruction/data", shape=(q, p, 1), dtype="<f8", chunks=(q, p, 1), compression="gzip",
                         data=np.zeros((q, p, 1)))
        f["/reconstruction/size"] = np.array([64, 1, 64])
    assert (tmp_path / "a.mdf").stat().st_size < 64 * 1024
    with pytest.raises(ImageError) as info:
        load_image(tmp_path, "a.mdf", "mdf", max_bytes=1 << 20)
    assert info.value.kind == "too_large" and "chunks" in str(info.value)


def test_auxiliary_chunk_larger_than_its_dataset_is_refused(tmp_path: Path) -> None:
    """A 3-value size stored in one deflated chunk of 128 MiB would inflate that chunk to read it."""
    def make(f, name):
        f.create_dataset(name, data=np.array([4, 1, 3]), maxshape=(None,), chunks=(2**24,), compression="gzip")

    _mdf_with(tmp_path / "a.mdf", **{"/reconstruction/size": make})
    with pytest.raises(ImageError) as info:
        load_image(tmp_path, "a.mdf", "mdf")
    assert info.value.kind == "too_large" and "/reconstruction/size" in str(info.value)


def test_filter_plugin_is_never_loaded(tmp_path: Path) -> None:
    """A dataset that names a filter HDF5 would look for as a plugin is refused from its header."""
    import h5py

    with h5py.File(tmp_path / "a.mdf", "w") as f:
        f["/version"] = "2.1.0"
        f["/reconstruction/size"] = np.array([4, 1, 3])
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((1, 12, 1))
        dcpl.set_filter(32015, h5py.h5z.FLAG_OPTIONAL)  # zstd's registered id: a plugin, not built in
        space = h5py.h5s.create_simple((1, 12, 1))
        f.require_group("reconstruction")
        h5py.h5d.create(f["reconstruction"].id, b"data", h5py.h5t.NATIVE_DOUBLE, space, dcpl=dcpl)
    with pytest.raises(ImageError) as info:
        load_image(tmp_path, "a.mdf", "mdf")
    assert info.value.kind == "format" and "filter 32015" in str(info.value)


@pytest.mark.parametrize("declared", [False, True], ids=["no-declared-size", "declared-size"])
def test_overflowing_field_of_view_is_mpi014_not_an_internal_error(tmp_path: Path, declared: bool) -> None:
    """Issue 11: an MDF fieldOfView of 1e306 gave exit 3 (an infinite spacing). Through the
    shared check_spacing (docs/decisions.md, Images): MPI014 with the value when the dataset
    declares no pixel size, MPI017 (the declared size stands in) when it does."""
    import h5py

    folder = tmp_path / "dataset"
    folder.mkdir()
    with h5py.File(folder / "big.mdf", "w") as f:
        _base_mdf(f)
        f["/reconstruction/data"] = np.zeros((1, P, 1))
        f["/reconstruction/fieldOfView"][...] = np.array([1e306, 0.0005, 0.02])
    doc = base_document()
    doc["calibrations"][0]["points"][0]["replicates"][0]["image"] = {"path": "big.mdf", "format": "mdf"}
    if not declared:
        for acq in doc["acquisitions"]:
            acq.pop("pixel_size_mm", None)
    path = folder / "d.mpical.json"
    path.write_text(json.dumps(doc))
    v = run_cli(["validate", str(path), "--format", "json", "-j", "1"], cwd=tmp_path)
    assert v.returncode == 1 and not v.has_traceback, (v.returncode, v.stderr[-2000:])
    rule, pointer = ("MPI017", f"{R}/0/image") if declared else ("MPI014", f"{R}/0/image/path")
    hits = [f for d in v.report["datasets"] for f in d["findings"] if f["rule"] == rule]
    assert [f["pointer"] for f in hits] == [pointer]
    assert "1e+306" in hits[0]["message"] and "fieldOfView" in hits[0]["message"]
    assert "a finite number > 0 is expected" in hits[0]["message"]


def test_malformed_global_heap_of_a_string_is_refused_not_parsed_by_hdf5(tmp_path: Path) -> None:
    """Found by fuzzing: a variable-length /version whose global heap collection does not tile
    exactly makes the HDF5 library loop for ever inside H5Dread. Here the free-space object is
    16 bytes short, so the collection ends in 16 zero bytes that HDF5 reads as an object of
    size 0, which it never steps past (confirmed: plain h5py hangs on this file). The
    collection (HDF5 File Format Specification, III.E Global Heap: "GCOL", version 1, size;
    objects of index, reference count, reserved, size, data padded to 8) is walked first."""
    import subprocess
    import sys

    import h5py

    from harness import ROOT, cli_env

    path = tmp_path / "a.mdf"
    with h5py.File(path, "w") as f:
        f["/version"] = "2.1.0"  # h5py writes a str as a variable-length string
        f["/reconstruction/data"] = np.zeros((1, 12, 1))
        f["/reconstruction/size"] = np.array([4, 1, 3])
    data = bytearray(path.read_bytes())
    g = data.index(b"GCOL")
    total = int.from_bytes(data[g + 8:g + 16], "little")
    p = g + 16
    while True:  # to the free-space object (index 0)
        index, size = int.from_bytes(data[p:p + 2], "little"), int.from_bytes(data[p + 8:p + 16], "little")
        if index == 0:
            break
        p += 16 + (size + 7) // 8 * 8
    assert p + size == g + total  # the intact collection tiles exactly
    data[p + 8:p + 16] = (size - 16).to_bytes(8, "little")
    path.write_bytes(bytes(data))
    code = ("import sys; from pathlib import Path; from mpistd.load.images import load_image, ImageError\n"
            "try:\n    load_image(Path(sys.argv[1]), 'a.mdf', 'mdf'); print('read')\n"
            "except ImageError as e:\n    print(e.kind, e)\n")
    try:
        r = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60,
                           cwd=ROOT, env=cli_env())
    except subprocess.TimeoutExpired:
        pytest.fail("the HDF5 library was left to parse the malformed global heap (it hung)")
    assert r.stdout.startswith("format") and "global heap" in r.stdout, (r.stdout, r.stderr[-1000:])
