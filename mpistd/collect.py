"""From command-line paths to the datasets to validate, each with its own options.

A file named explicitly is read whatever its name; folders are searched for
`*.mpical.json`, `*.mpical.yaml` and `*.mpical.yml`. Each dataset gets the configuration
found by walking up from its folder (unless one is given, or ``isolated`` ignores them all),
less the config's `exclude` globs.

A folder scan treats the folder as untrusted (SECURITY.md): it takes regular files only; a
symbolic link (to a file or a folder) is followed only when its target stays inside the
scanned folder, unless ``follow_symlinks`` is given; hidden folders are skipped. A dataset-named
entry that is not taken (a FIFO, a device, a link out of the folder, a link loop, a dangling
link) is still listed, as its own dataset with one MPI001 finding saying why it was not read,
so nothing is skipped silently. A folder that cannot be listed is a usage error.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterator

from mpistd._text import display_name
from mpistd.config import ConfigError, Options, find_config, load_config
from mpistd.load.documents import file_kind as _kind
from mpistd.load.documents import is_dataset_name


class SelectionError(Exception):
    """A path that does not exist, or a selection that is empty (usage error, exit 2)."""


class PathNotFound(SelectionError, FileNotFoundError):
    """A path given to validate does not exist."""


class Job:
    """One dataset of a run: its path, how it is shown, its options, and why a scanned entry is
    not read (``refusal``, reported as MPI001; None for a dataset to read). The path is kept as
    text (a run over tens of thousands of datasets holds one Job each: a Path costs about three
    times the text) and made a Path when asked for."""

    __slots__ = ("_where", "display", "options", "refusal")

    def __init__(self, path: Path | str, display: str, options: Options, refusal: str | None = None) -> None:
        self._where = os.fspath(path)
        self.display = display
        self.options = options
        self.refusal = refusal

    @property
    def path(self) -> Path:
        return Path(self._where)

    def __repr__(self) -> str:
        return f"Job({self._where!r}, {self.display!r}, refusal={self.refusal!r})"


def _display(path: Path | str) -> str:
    try:
        text = os.path.relpath(path)
    except ValueError:  # pragma: no cover - other drive on Windows
        text = str(path)
    return display_name(text)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def _scan(root: Path, follow_symlinks: bool) -> Iterator[tuple[str, str | None]]:
    """Dataset-named entries under ``root`` in sorted order: (path, None) to read, or
    (path, reason) for one that is refused; each path as text (``os.scandir``'s own: a Path for
    every entry would cost time and, through pathlib's interning of every name, memory that
    stays for the whole run). Iterative (a generator: a scan of many thousands holds no list of
    them); every folder is entered once."""
    real_root = Path(os.path.realpath(root))
    seen_dirs: set[tuple[int, int]] = set()
    try:
        st = os.stat(root)
        seen_dirs.add((st.st_dev, st.st_ino))
    except OSError as exc:
        raise SelectionError(f"cannot read the folder {display_name(root)}: {exc.strerror or exc}") from None
    stack: list[str] = [os.fspath(root)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise SelectionError(f"cannot read the folder {display_name(folder)}: {exc.strerror or exc}") from None
        subfolders: list[str] = []
        for e in entries:
            path = e.path
            try:
                is_link = e.is_symlink()
                mode = e.stat(follow_symlinks=False).st_mode
            except OSError as exc:
                if is_dataset_name(e.name):
                    yield (path, f"cannot be examined ({exc.strerror or exc}): not read")
                continue
            if stat.S_ISDIR(mode) and not is_link:
                if not e.name.startswith("."):
                    subfolders.append(path)
                continue
            wanted = is_dataset_name(e.name)
            if is_link:
                if not wanted and (e.name.startswith(".") or not _link_is_dir(path)):
                    continue  # neither a dataset name nor a (visible) folder link
                target, reason = _link_target(path, real_root, follow_symlinks)
                if reason is not None:
                    if wanted:
                        yield (path, reason)
                    continue
                try:
                    tst = os.stat(target)
                except OSError as exc:  # pragma: no cover - removed between the two looks
                    if wanted:
                        yield (path, f"a symbolic link whose target cannot be read ({exc.strerror}): not read")
                    continue
                if stat.S_ISDIR(tst.st_mode):
                    key = (tst.st_dev, tst.st_ino)
                    if key not in seen_dirs:  # a link to a folder already scanned adds nothing
                        seen_dirs.add(key)
                        subfolders.append(path)
                    continue
                if not wanted:
                    continue
                if not stat.S_ISREG(tst.st_mode):
                    yield (path, f"a symbolic link to {_kind(tst.st_mode)}, not a regular file: not read")
                    continue
                yield (path, None)
                continue
            if not wanted:
                continue
            if not stat.S_ISREG(mode):
                yield (path, f"{_kind(mode)}, not a regular file: not read")
                continue
            yield (path, None)
        for sub in reversed(subfolders):
            if not _is_link(sub):
                try:
                    sst = os.stat(sub)
                    key = (sst.st_dev, sst.st_ino)
                    if key in seen_dirs:
                        continue
                    seen_dirs.add(key)
                except OSError:
                    pass
            stack.append(sub)


def _is_link(path: str) -> bool:
    try:
        return os.path.islink(path)
    except OSError:  # pragma: no cover
        return False


def _link_is_dir(path: str) -> bool:
    try:
        return os.path.isdir(path)
    except OSError:  # pragma: no cover - isdir reports an error as False
        return False


def _link_target(link: str, real_root: Path, follow: bool) -> tuple[str, str | None]:
    """Where a link leads, or why it is not followed."""
    try:
        target = os.path.realpath(link, strict=True)
    except OSError as exc:
        import errno

        if exc.errno == errno.ELOOP:
            return link, "a symbolic link loop: not read"
        return link, "a dangling symbolic link (its target does not exist): not read"
    except RuntimeError:  # pragma: no cover - older Pythons report loops this way
        return link, "a symbolic link loop: not read"
    if not follow and not _inside(Path(target), real_root):
        return target, ("a symbolic link to outside the scanned folder: not followed "
                        "(pass --follow-symlinks to follow links out of the folder)")
    return target, None


def _excluded(opts: Options, path: Path, refusal: str | None) -> bool:
    if refusal is None:
        return opts.is_excluded(path)
    try:  # a refused entry (a loop, a dangling link) may not resolve: then it is not excluded
        return opts.is_excluded(path)
    except (OSError, RuntimeError):
        return False


def collect(paths: list[Path], base: Options, config: Path | None = None,
            shard: tuple[int, int] | None = None, *, isolated: bool = False,
            follow_symlinks: bool = False) -> list[Job]:
    """The datasets to validate. ``isolated``: ignore configuration files found beside the data
    (only ``config``, if given, applies); ``follow_symlinks``: follow links out of a scanned
    folder too."""
    if not paths:
        raise SelectionError("no paths given")
    explicit = load_config(config, base) if config is not None else None
    per_dir: dict[Path, Options] = {}
    per_folder: dict[str, Options] = {}  # by the folder as scanned: one resolve per folder, not per file
    real_folders: dict[str, str] = {}

    def options_for(folder: Path) -> Options:
        if explicit is not None:
            return explicit
        if isolated:
            return base
        folder = folder.resolve()
        if folder not in per_dir:
            found = find_config(folder)
            per_dir[folder] = load_config(found, base) if found is not None else base
        return per_dir[folder]

    def options_of_folder(folder: str) -> Options:
        got = per_folder.get(folder)
        if got is None:
            got = per_folder[folder] = options_for(Path(folder))
        return got

    def resolved(path: str, refusal: str | None) -> str:
        """str(Path(path).resolve()) of a scanned entry (abspath of a refused one): a regular file
        (not a link) resolves as its folder's real path and its own name, the folder resolved once."""
        if refusal is not None:
            return os.path.abspath(path)
        if os.path.islink(path):
            return str(Path(path).resolve())
        folder, name = os.path.split(path)
        real = real_folders.get(folder)
        if real is None:
            real = real_folders[folder] = str(Path(folder).resolve())
        return os.path.join(real, name)

    jobs: list[Job] = []
    seen: set[str] = set()  # resolved paths, as text (a run over many thousands keeps less)
    for p in paths:
        if not os.path.lexists(p):
            raise PathNotFound(f"path does not exist: {display_name(p)}")
        if not p.exists():  # a dangling link or a loop given by name
            raise SelectionError(f"{display_name(p)}: a symbolic link that leads nowhere (dangling, or a loop)")
        if not p.is_dir():
            r = str(p.resolve())
            if r not in seen:
                seen.add(r)
                jobs.append(Job(p, _display(p), options_for(p.parent)))
            continue
        found_any = False
        for f, refusal in _scan(p, follow_symlinks):
            opts = options_of_folder(os.path.dirname(f))
            if opts.exclude and _excluded(opts, Path(f), refusal):
                continue
            r = resolved(f, refusal)
            if r in seen:
                continue
            seen.add(r)
            found_any = True
            jobs.append(Job(f, _display(f), opts, refusal))
        if not found_any and not any(j.path.is_relative_to(p) for j in jobs):
            raise SelectionError(
                f"no datasets in {display_name(p)} (looked for *.mpical.json, *.mpical.yaml, *.mpical.yml"
                + (", after the configuration's exclude globs)" if any(o.exclude for o in per_dir.values()) else ")")
            )
    if shard is not None:
        index, count = shard
        jobs = [j for i, j in enumerate(jobs) if i % count == index - 1]
    return jobs


__all__ = ["collect", "Job", "SelectionError", "ConfigError"]
