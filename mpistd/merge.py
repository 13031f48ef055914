"""Combine the JSON results of sharded runs into the result of one run.

``mpistd validate TREE --shard I/N --output json:shard-I.json`` on N machines, then
``mpistd merge shard-*.json -o sarif:… -o junit:… -o summary:… -o site:…``: the merged
result holds the datasets in the order one unsharded run would have validated them (a shard
takes every N-th dataset of the sorted selection, so the order is restored by interleaving),
the repository rules run on it (never on a shard), and every output is rendered from it as
from an unsharded run: byte for byte, with ``--reproducible`` on both sides.

Refused (a usage error, exit 2): results of different mpistd or standard versions, profiles,
strictness or options (the run record's ``options_sha256``: --select, --ignore, --baseline,
--config); an incomplete or repeated set of shards; a dataset in two results; anything that is
not an mpistd JSON result. Unsharded results (of separate folders) can be merged too: their
repository findings are dropped and recomputed over the union.
"""
from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any, Mapping

from mpistd.findings import DatasetResult, Finding, Report, Severity, Suppressed

#: a JSON result larger than this is refused before it is read (10,000 datasets with every
#: recomputed number are about 0.5 GB)
MAX_RESULT_BYTES = 4 * 2**30

_FINDING_FIELDS = tuple(f.name for f in fields(Finding))


class MergeError(ValueError):
    """Results that cannot be merged (a usage error)."""


def _finding(d: Mapping[str, Any], where: str) -> Finding:
    try:
        values = {k: d[k] for k in _FINDING_FIELDS if k in d}
        values["severity"] = Severity.parse(values["severity"])
        return Finding(**values)
    except (KeyError, TypeError, ValueError) as exc:
        raise MergeError(f"{where}: not a finding ({exc})") from None


def dataset_from_dict(d: Mapping[str, Any], where: str) -> DatasetResult:
    """The DatasetResult a JSON result's dataset entry was written from."""
    try:
        result = DatasetResult(path=d["path"], sha256=d["sha256"], schema_version=d["schema_version"],
                               title=d["title"], quantities=d["quantities"], repository=d.get("repository"))
        result.findings = [_finding(f, f"{where}.findings") for f in d["findings"]]
        result.suppressed = [Suppressed(_finding(s, f"{where}.suppressed"), s["source"], s["reason"])
                             for s in d["suppressed"]]
    except (KeyError, TypeError) as exc:
        raise MergeError(f"{where}: not an mpistd dataset result (missing {exc})") from None
    if d.get("verdict") not in (None, result.verdict()):
        raise MergeError(f"{where}: its verdict {d.get('verdict')!r} does not follow from its findings")
    return result


def read_result(path: Path) -> dict[str, Any]:
    try:
        size = path.stat().st_size
        if size > MAX_RESULT_BYTES:
            raise MergeError(f"{path}: {size} bytes, more than the {MAX_RESULT_BYTES} a result may have")
        with open(path, "rb") as fh:
            data = json.loads(fh.read())
    except OSError as exc:
        raise MergeError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise MergeError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("tool"), dict) or data["tool"].get("name") != "mpistd" \
            or not isinstance(data.get("datasets"), list):
        raise MergeError(f"{path}: not an mpistd JSON result (write one with 'mpistd validate … --output json:PATH')")
    if not isinstance(data.get("run"), dict):
        raise MergeError(f"{path}: has no run record (written by an mpistd without merge, or by the Python API): "
                         "validate again with this mpistd")
    return data


def merge(results: list[tuple[str, dict[str, Any]]], *, reproducible: bool = False) -> Report:
    """One Report from the JSON results [(name, data)], with the repository rules applied."""
    from datetime import datetime, timezone

    from mpistd.repository import apply_rules

    if not results:
        raise MergeError("no results to merge")
    first_name, first = results[0]
    from mpistd import __version__

    if first["tool"].get("version") != __version__:
        raise MergeError(f"{first_name} was written by mpistd version {first['tool'].get('version')}, this is {__version__}: "
                         "merge with the mpistd that validated")
    for name, data in results[1:]:
        for what, get in (("mpistd version", lambda d: d["tool"].get("version")),
                          ("standard version", lambda d: d.get("schema_version")),
                          ("profile", lambda d: d.get("profile")),
                          ("--strict", lambda d: d.get("strict")),
                          ("options (--select, --ignore, --baseline, --config)",
                           lambda d: d["run"].get("options_sha256"))):
            if get(data) != get(first):
                raise MergeError(f"{name} and {first_name} differ in their {what} ({get(data)!r} vs {get(first)!r}): "
                                 "results of different runs cannot be merged")
    shards = [data["run"].get("shard") for _, data in results]
    ordered: list[tuple[str, dict[str, Any]]]
    if all(s is None for s in shards):
        ordered = [(f"{name}: datasets[{i}]", d) for name, data in results for i, d in enumerate(data["datasets"])]
    elif any(s is None for s in shards):
        raise MergeError("sharded and unsharded results cannot be merged together")
    else:
        counts = {s[1] for s in shards}
        if len(counts) != 1:
            raise MergeError(f"shards of different splits (N = {', '.join(map(str, sorted(counts)))})")
        n = counts.pop()
        by_index: dict[int, tuple[str, dict[str, Any]]] = {}
        for (name, data), (i, _) in zip(results, shards):
            if i in by_index:
                raise MergeError(f"shard {i}/{n} given twice ({by_index[i][0]} and {name})")
            by_index[i] = (name, data)
        missing = [i for i in range(1, n + 1) if i not in by_index]
        if missing:
            raise MergeError(f"shard{'s' if len(missing) > 1 else ''} {', '.join(f'{i}/{n}' for i in missing)} missing")
        # collect() gives shard i the datasets k with k % n == i - 1: interleave them back
        lists = [by_index[i][1]["datasets"] for i in range(1, n + 1)]
        total = sum(len(x) for x in lists)
        ordered = []
        for k in range(total):
            shard_list = lists[k % n]
            if k // n >= len(shard_list):
                raise MergeError("the shards' sizes do not fit one split of one selection")
            ordered.append((f"{by_index[k % n + 1][0]}: datasets[{k // n}]", shard_list[k // n]))
    seen: dict[str, str] = {}
    datasets = []
    for where, d in ordered:
        result = dataset_from_dict(d, where)
        if result.path in seen:
            raise MergeError(f"dataset {result.path} is in two results ({seen[result.path]} and {where})")
        seen[result.path] = where
        datasets.append(result)
    created = None if reproducible else datetime.now(timezone.utc).isoformat(timespec="seconds")
    report = Report(results=datasets, profile=first.get("profile", "default"), strict=bool(first.get("strict")),
                    mpistd_version=first["tool"]["version"], schema_version=first.get("schema_version", ""),
                    created=created)
    apply_rules(report.results)
    report.run = {"shard": None, "options_sha256": first["run"].get("options_sha256"), "repository_rules": True}
    return report


def merge_files(paths: list[Path], *, reproducible: bool = False) -> Report:
    return merge([(str(p), read_result(p)) for p in paths], reproducible=reproducible)


__all__ = ["merge", "merge_files", "read_result", "dataset_from_dict", "MergeError"]
