"""From command-line paths to the datasets to validate, each with its own options.

A file named explicitly is read whatever its name; folders are searched for
`*.mpical.json`, `*.mpical.yaml` and `*.mpical.yml`. Each dataset gets the configuration
found by walking up from its folder (unless one is given), less the config's `exclude` globs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mpistd.config import ConfigError, Options, find_config, load_config
from mpistd.load.documents import is_dataset_file


class SelectionError(Exception):
    """A path that does not exist, or a selection that is empty (usage error, exit 2)."""


class PathNotFound(SelectionError, FileNotFoundError):
    """A path given to validate does not exist."""


@dataclass(frozen=True)
class Job:
    path: Path
    display: str
    options: Options


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # pragma: no cover - other drive on Windows
        return str(path)


def collect(paths: list[Path], base: Options, config: Path | None = None,
            shard: tuple[int, int] | None = None) -> list[Job]:
    if not paths:
        raise SelectionError("no paths given")
    explicit = load_config(config, base) if config is not None else None
    per_dir: dict[Path, Options] = {}

    def options_for(folder: Path) -> Options:
        if explicit is not None:
            return explicit
        folder = folder.resolve()
        if folder not in per_dir:
            found = find_config(folder)
            per_dir[folder] = load_config(found, base) if found is not None else base
        return per_dir[folder]

    jobs: list[Job] = []
    seen: set[Path] = set()
    for p in paths:
        if not p.exists():
            raise PathNotFound(f"path does not exist: {p}")
        if p.is_file():
            r = p.resolve()
            if r not in seen:
                seen.add(r)
                jobs.append(Job(p, _display(p), options_for(p.parent)))
            continue
        found_any = False
        for root, dirs, files in os.walk(p):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                f = Path(root) / name
                if not is_dataset_file(f):
                    continue
                opts = options_for(f.parent)
                if opts.is_excluded(f):
                    continue
                r = f.resolve()
                if r in seen:
                    continue
                seen.add(r)
                found_any = True
                jobs.append(Job(f, _display(f), opts))
        if not found_any and not any(j.path.is_relative_to(p) for j in jobs):
            raise SelectionError(
                f"no datasets in {p} (looked for *.mpical.json, *.mpical.yaml, *.mpical.yml"
                + (", after the configuration's exclude globs)" if any(o.exclude for o in per_dir.values()) else ")")
            )
    if shard is not None:
        index, count = shard
        jobs = [j for i, j in enumerate(jobs) if i % count == index - 1]
    return jobs


__all__ = ["collect", "Job", "SelectionError", "ConfigError"]
