"""Image paths are confined to the dataset's folder, symlinks resolved, and what lies outside is
never opened: proven in-process with an audit hook that sees every ``open()`` / ``os.open()``.

(The CLI cases in ``test_corpus`` prove the same from outside, by the canary's access time.)
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from corpus import base_document, npy_bytes, phantom
from mpistd.config import Options
from mpistd.load.images import ImageError, load_image, resolve_image_path
from mpistd.pipeline import validate_file

_OPENED: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if _OPENED is not None and event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        try:
            _OPENED.append(os.path.realpath(os.fsdecode(args[0])))
        except (TypeError, ValueError):  # pragma: no cover - a file descriptor
            pass


sys.addaudithook(_audit)  # audit hooks cannot be removed: this one records only while a test asks


class _Recording:
    def __enter__(self) -> list[str]:
        global _OPENED
        _OPENED = []
        return _OPENED

    def __exit__(self, *exc: object) -> None:
        global _OPENED
        _OPENED = None


FORMATS = {"npy": "canary.npy", "tiff": "canary.tif", "dicom": "canary.dcm", "mdf": "canary.mdf"}


@pytest.fixture()
def layout(tmp_path: Path) -> dict[str, Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in FORMATS.values():
        (outside / name).write_bytes(npy_bytes(phantom()))
    dataset = tmp_path / "lab" / "dataset"
    (dataset / "images").mkdir(parents=True)
    return {"outside": outside, "dataset": dataset}


def _validate_with_image(dataset: Path, ref: dict) -> list[tuple[str, str]]:
    doc = base_document()
    doc["quantifications"][0]["image"] = ref
    path = dataset / "d.mpical.json"
    path.write_text(json.dumps(doc, indent=2))
    result = validate_file(path, Options())
    return [(f.rule, f.pointer) for f in result.findings]


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("how", ["file-link", "relative-link", "dir-link", "dotdot", "absolute"])
def test_nothing_outside_the_folder_is_opened(layout: dict[str, Path], fmt: str, how: str) -> None:
    outside, dataset = layout["outside"], layout["dataset"]
    target = outside / FORMATS[fmt]
    if how == "file-link":
        os.symlink(target, dataset / "images" / "img")
        rel = "images/img"
    elif how == "relative-link":
        os.symlink(os.path.relpath(target, dataset / "images"), dataset / "images" / "img")
        rel = "images/img"
    elif how == "dir-link":
        os.symlink(outside, dataset / "linked")
        rel = f"linked/{target.name}"
    elif how == "dotdot":
        rel = f"../../outside/{target.name}"
    else:
        rel = str(target)
    with _Recording() as opened:
        findings = _validate_with_image(dataset, {"path": rel, "format": fmt})
    assert findings == [("MPI014", "/quantifications/0/image/path")]
    touched = [p for p in opened if p.startswith(str(outside.resolve()))]
    assert touched == [], f"opened outside the dataset's folder: {touched}"


def test_the_audit_hook_does_see_image_reads(layout: dict[str, Path]) -> None:
    """Control: a link that stays inside is followed, and the hook records that read."""
    dataset = layout["dataset"]
    real = dataset / "images" / "real.npy"
    real.write_bytes(npy_bytes(phantom()))
    os.symlink("real.npy", dataset / "images" / "link.npy")
    with _Recording() as opened:
        findings = _validate_with_image(dataset, {"path": "images/link.npy", "format": "npy"})
    assert findings == []
    assert str(real.resolve()) in opened


@pytest.mark.parametrize("rel", [
    "../x.npy", "a/../../x.npy", "a/..", "..", "/etc/passwd", "//server/share/x.npy", "C:/x.npy", "C:x.npy",
    "a\\..\\x.npy", "images\\x.npy", "x\x00.npy", "", "\\\\server\\share",
])
def test_lexical_escapes_are_refused_before_any_syscall(tmp_path: Path, rel: str, monkeypatch) -> None:
    """Refused from the string alone: not even a stat or a realpath is made."""
    def forbidden(*a, **k):
        raise AssertionError("the file system was consulted")

    monkeypatch.setattr(os.path, "realpath", forbidden)
    monkeypatch.setattr(os, "stat", forbidden)
    with pytest.raises(ImageError) as info:
        resolve_image_path(tmp_path, rel)
    assert info.value.kind == "escape"


def test_a_path_that_is_not_a_string_is_refused(tmp_path: Path) -> None:
    for bad in (None, 3, ["a"], b"x.npy"):
        with pytest.raises(ImageError):
            resolve_image_path(tmp_path, bad)  # type: ignore[arg-type]


def test_a_link_retargeted_after_the_check_does_not_redirect_the_read(layout: dict[str, Path], monkeypatch) -> None:
    """load_image opens the resolved real path it checked, never the link's name again: a link
    pointed outside between the check and the read does not redirect the read."""
    import mpistd.load.images as images_mod

    dataset, outside = layout["dataset"], layout["outside"]
    real = dataset / "images" / "real.npy"
    real.write_bytes(npy_bytes(phantom()))
    link = dataset / "images" / "link.npy"
    os.symlink("real.npy", link)
    check = images_mod.resolve_image_path

    def check_then_retarget(base: Path, rel: str) -> Path:
        resolved = check(base, rel)
        link.unlink()
        os.symlink(outside / "canary.npy", link)
        return resolved

    monkeypatch.setattr(images_mod, "resolve_image_path", check_then_retarget)
    with _Recording() as opened:
        img = load_image(dataset, "images/link.npy", "npy")
    assert img.array.shape == (40, 24)
    assert str(real.resolve()) in opened
    assert not [p for p in opened if p.startswith(str(outside.resolve()))]
