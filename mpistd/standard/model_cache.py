"""The dataset model's compiled validator, kept between runs (start-up, issue 17).

Building the pydantic validator of :class:`mpistd.standard.model.Dataset` (its core schema, then
pydantic-core's validator) takes about 30 ms of CPU, a tenth of a one-file ``mpistd validate``.
The compiled validator is the same on every run as long as the model's source, pydantic,
pydantic-core, Python and mpistd are: it is written once to a per-user cache and read back
(about 1 ms) on the next run, keyed by all five.

The file is a pickle, so it is only ever read from a place only this user can write: a regular
file (not a link) owned by the user and not writable by group or others, in a folder of the same
kind. Anything else, any error, a stale key or ``MPISTD_NO_CACHE=1`` simply builds the model as
pydantic would (``defer_build``: on first use). Nothing about a dataset is cached.

Location: ``$MPISTD_CACHE_DIR``, else ``$XDG_CACHE_HOME/mpistd``, else ``~/.cache/mpistd``.
"""
from __future__ import annotations

import hashlib
import os
import stat
import sys
from pathlib import Path
from typing import Any

_READY = False
_MAX_BYTES = 4 << 20
# where this process's Dataset validator came from: "cache", "built" (and cached), or None
# (left to pydantic: no cache folder, a cache that could not be used, or already complete)
source: str | None = None


def cache_dir() -> Path | None:
    if os.environ.get("MPISTD_NO_CACHE"):
        return None
    explicit = os.environ.get("MPISTD_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "mpistd"
    try:
        return Path.home() / ".cache" / "mpistd"
    except (RuntimeError, KeyError):  # no home directory
        return None


def _key(model: Any) -> str:
    import pydantic
    import pydantic_core

    from mpistd import __version__

    h = hashlib.sha256()
    h.update(Path(model.__file__).read_bytes())
    for part in (pydantic.VERSION, pydantic_core.__version__, sys.version, __version__):
        h.update(b"\0" + str(part).encode())
    return h.hexdigest()[:32]


def _private(st: os.stat_result, kind: int) -> bool:
    """Of this kind (regular file or folder), owned by this user, writable by nobody else."""
    own = not hasattr(os, "getuid") or st.st_uid == os.getuid()
    return stat.S_IFMT(st.st_mode) == kind and own and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(path: Path) -> bytes | None:
    try:
        if not _private(os.lstat(path.parent), stat.S_IFDIR):
            return None
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not _private(st, stat.S_IFREG) or st.st_size > _MAX_BYTES:
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(_MAX_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(os.lstat(path.parent), stat.S_IFDIR):
            return
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError:
        pass  # a read-only or missing home: the model is simply built on each run


def ensure_validator() -> None:
    """Give ``Dataset`` its compiled validator: from the cache if a fresh one is there, else
    built now (and cached for the next run). Idempotent and cheap after the first call."""
    global _READY, source
    if _READY:
        return
    _READY = True
    from mpistd.standard import model

    cls = model.Dataset
    if getattr(cls, "__pydantic_complete__", False):
        return  # already built (by pydantic or an earlier call)
    folder = cache_dir()
    if folder is None:
        return
    import pickle

    try:
        path = folder / f"dataset-validator-{_key(model)}.pickle"
    except OSError:
        return
    data = _read(path)
    if data is not None:
        try:
            validator = pickle.loads(data)
            from pydantic_core import SchemaValidator

            if isinstance(validator, SchemaValidator):
                cls.__pydantic_validator__ = validator
                source = "cache"
                return
        except Exception:  # noqa: BLE001 - a damaged cache is rebuilt, never trusted
            pass
    try:
        cls.model_rebuild()
        blob = pickle.dumps(cls.__pydantic_validator__, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - pydantic builds it on first use as usual
        return
    source = "built"
    _write(path, blob)
