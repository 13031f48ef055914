"""Atomic file output: write to a temporary file beside the target, fsync, then rename.

A killed run leaves either the old file or the new one, never half of one. An existing target
that is not a regular file (a device such as /dev/null, a FIFO, a folder, a socket) is refused,
never replaced; missing parent folders are created. :func:`check_target` tells, before any
work is done, whether a target can be written (the CLI checks every requested output first).
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Iterable


class OutputError(OSError):
    """An output that cannot be written: the path and the reason (a usage error, exit 2)."""

    def __init__(self, path: str | os.PathLike, reason: str):
        from mpistd._text import clean, display_name

        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot write {clean(display_name(self.path))}: {reason}")


def _kind(mode: int) -> str:
    from mpistd.load.documents import file_kind

    return file_kind(mode)


def _refuse_non_regular(target: Path) -> None:
    try:
        mode = os.stat(target).st_mode
    except NotADirectoryError:  # a parent is a file: check_target names it
        return
    except FileNotFoundError:
        if os.path.lexists(target):
            raise OutputError(target, "it is a dangling symbolic link") from None
        return
    except OSError as exc:
        raise OutputError(target, exc.strerror or str(exc)) from None
    if not stat.S_ISREG(mode):
        raise OutputError(target, f"it exists and is {_kind(mode)}, not a regular file (it is never replaced)")


def check_target(path: str | os.PathLike, *, folder: bool = False) -> None:
    """Raise OutputError unless ``path`` can be written (as a file, or as a folder of files).

    Checks what exists (a non-regular target, a parent that is a file) and probes the nearest
    existing folder by creating and removing a temporary file in it; missing folders are
    created only when the output is written."""
    target = Path(path)
    if folder:
        if os.path.lexists(target) and not target.is_dir():
            raise OutputError(target, "it exists and is not a folder")
        start = target
    else:
        _refuse_non_regular(target)
        start = target.parent
    probe = Path(start) if str(start) else Path(".")
    while not os.path.lexists(probe):
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(target, f"{probe} is not a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".mpistd-probe.", suffix=".part", dir=probe)
    except OSError as exc:
        raise OutputError(target, f"the folder {probe} is not writable ({exc.strerror or exc})") from None
    os.close(fd)
    try:
        os.unlink(tmp)
    except OSError:  # pragma: no cover
        pass


_BLOCK = 2**20


def write_atomic(path: str | os.PathLike, data: str | bytes | Iterable[str], *, encoding: str = "utf-8") -> Path:
    """``data``: text, bytes, or text in pieces (written as they come, e.g. a JSON result one
    dataset at a time)."""
    target = Path(path)
    _refuse_non_regular(target)
    if isinstance(data, (str, bytes)):
        pieces: Iterable[str | bytes] = [data.encode(encoding) if isinstance(data, str) else data]
    else:
        pieces = data
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise OutputError(target, exc.strerror or str(exc)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            buffered: list[bytes] = []
            size = 0
            for piece in pieces:  # written in blocks of at least 1 MiB: few system calls, little memory
                buffered.append(piece.encode(encoding) if isinstance(piece, str) else piece)
                size += len(buffered[-1])
                if size >= _BLOCK:
                    fh.write(b"".join(buffered))
                    buffered, size = [], 0
            if buffered:
                fh.write(b"".join(buffered))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise OutputError(target, exc.strerror or str(exc)) from None
        raise
    return target
