"""A run's results kept on disk, so that a run over many datasets holds a few bytes per dataset.

:class:`ResultStore` is the sequence of a run's :class:`~mpistd.findings.DatasetResult` in
dataset order, as a list would be, but each result lives pickled in an unnamed temporary file
(deleted by the system when the store is closed or the process ends) and is read back when it
is asked for. What the report needs of every dataset without reading it (its counts, whether it
fails, was suppressed, is an internal error, its path) is kept in small arrays: the
:class:`~mpistd.findings.Report`'s totals, exit code and the text summary come from them.

A result is packed where it is made (in a worker: :func:`pack`), so the parent writes the bytes
it receives without unpickling them. The repository block is pickled apart from the rest: it
is read back only when an output writes it (``with_repository``, the JSON result) or for the
datasets a repository rule fires on (:meth:`ResultStore.repository_of`).
"""
from __future__ import annotations

import pickle
from array import array
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from mpistd.findings import ENVIRONMENT_RULES, DatasetResult, Severity

_INTERNAL, _ENVIRONMENT = 1, 2


@dataclass(frozen=True, slots=True)
class Packed:
    """One result as it crosses to the parent: pickled, with its tally and repository record."""

    path: str
    result: bytes  # the DatasetResult without its repository block
    block: bytes  # the repository block
    tally: tuple[int, int, int, int, int]  # errors, warnings, infos, suppressed, flags
    record: Any  # mpistd.repository.dataset_record


def tally(result: DatasetResult) -> tuple[int, int, int, int, int]:
    c = result.counts()
    flags = (_INTERNAL if result.internal_error else 0) | \
        (_ENVIRONMENT if any(f.rule in ENVIRONMENT_RULES for f in result.findings) else 0)
    return (c["error"], c["warning"], c["info"], len(result.suppressed), flags)


def pack(result: DatasetResult, record: Any = None, *, with_repository: bool = True) -> Packed:
    """``with_repository`` False: of the repository block only what the repository rules read
    back (mpistd.repository.rule_entries), as no output writes it."""
    block, result.repository = result.repository, None
    try:
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        result.repository = block
    if not with_repository:
        from mpistd.repository import rule_entries

        block = rule_entries(block)
    return Packed(result.path, data, pickle.dumps(block, protocol=pickle.HIGHEST_PROTOCOL), tally(result), record)


def _no_spool(exc: OSError) -> Exception:
    """The results' temporary file cannot be made or written: the environment's problem (exit 2)."""
    from mpistd._environment import EnvironmentProblem

    return EnvironmentProblem(f"cannot keep the run's results in a temporary file ({exc.strerror or exc}); "
                              "set TMPDIR to a writable folder with free space")


class ResultStore(Sequence[DatasetResult]):
    """The results of a run, in order, spooled to a temporary file (see the module)."""

    keeps_totals = True  # Report and the text output ask the totals of it instead of reading every result

    def __init__(self, *, with_repository: bool = True) -> None:
        import tempfile

        self.with_repository = with_repository
        try:
            self._file = tempfile.TemporaryFile(prefix="mpistd-results-")
        except OSError as exc:
            raise _no_spool(exc) from None
        self._end = 0
        self._where = array("q")  # offset, result size, block size: three per dataset
        self._counts = array("l")  # errors, warnings, infos, suppressed: four per dataset
        self._flags = bytearray()
        self._paths: list[str] = []

    # ---------------------------------------------------------------- writing
    def _write(self, data: bytes) -> int:
        try:
            self._file.seek(self._end)
            self._file.write(data)
        except OSError as exc:  # the temporary folder is full
            raise _no_spool(exc) from None
        start, self._end = self._end, self._end + len(data)
        return start

    def _put(self, i: int | None, packed: Packed, path: str | None = None) -> None:
        start = self._write(packed.result + packed.block)
        where = (start, len(packed.result), len(packed.block))
        e, w, n, s, flags = packed.tally
        if i is None:
            self._where.extend(where)
            self._counts.extend((e, w, n, s))
            self._flags.append(flags)
            self._paths.append(path if path == packed.path else packed.path)
        else:
            self._where[3 * i:3 * i + 3] = array("q", where)
            self._counts[4 * i:4 * i + 4] = array("l", (e, w, n, s))
            self._flags[i] = flags
            self._paths[i] = packed.path

    def append_packed(self, packed: Packed, path: str | None = None) -> None:
        """``path``: an equal string to keep instead of the packed one (the job's display path)."""
        self._put(None, packed, path)

    def append(self, result: DatasetResult) -> None:
        self._put(None, pack(result, with_repository=self.with_repository))

    def __setitem__(self, i: int, result: DatasetResult) -> None:
        """Write a changed result back (its repository block stays the stored one when it has none)."""
        i = range(len(self))[i]
        if result.repository is None:
            result.repository = self.repository_of(i)
            try:
                packed = pack(result)
            finally:
                if not self.with_repository:
                    result.repository = None
        else:
            packed = pack(result, with_repository=self.with_repository)
        self._put(i, packed)

    # ---------------------------------------------------------------- reading
    def __len__(self) -> int:
        return len(self._flags)

    def _read(self, start: int, size: int) -> Any:
        self._file.seek(start)
        return pickle.loads(self._file.read(size))

    def repository_of(self, i: int) -> Any:
        start, size, block = self._where[3 * i:3 * i + 3]
        return self._read(start + size, block)

    def path_of(self, i: int) -> str:
        return self._paths[i]

    def _get(self, i: int) -> DatasetResult:
        start, size, _ = self._where[3 * i:3 * i + 3]
        result: DatasetResult = self._read(start, size)
        if self.with_repository:
            result.repository = self.repository_of(i)
        return result

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self._get(k) for k in range(len(self))[i]]
        return self._get(range(len(self))[i])

    def __iter__(self) -> Iterator[DatasetResult]:
        for i in range(len(self)):
            yield self._get(i)

    def close(self) -> None:
        self._file.close()

    # ---------------------------------------------------------------- the totals, without reading
    def counts(self) -> dict[str, int]:
        c = self._counts
        return {"error": sum(c[0::4]), "warning": sum(c[1::4]), "info": sum(c[2::4])}

    def suppressed_count(self) -> int:
        return sum(self._counts[3::4])

    def failing(self, fail_level: Severity) -> int:
        """How many datasets fail at ``fail_level`` (as DatasetResult.fails)."""
        c, flags = self._counts, self._flags
        warn = fail_level.rank <= Severity.WARNING.rank
        info = fail_level.rank <= Severity.INFO.rank
        return sum(1 for i in range(len(flags))
                   if flags[i] & _INTERNAL or c[4 * i] or (warn and c[4 * i + 1]) or (info and c[4 * i + 2]))

    def internal_indices(self) -> list[int]:
        return [i for i, f in enumerate(self._flags) if f & _INTERNAL]

    def environment(self) -> bool:
        return any(f & _ENVIRONMENT for f in self._flags)

    def rows(self) -> Iterator[tuple[str, bool, int, int, int]]:
        """(path, internal error, errors, warnings, infos) of every dataset, in order."""
        c = self._counts
        for i, path in enumerate(self._paths):
            yield path, bool(self._flags[i] & _INTERNAL), c[4 * i], c[4 * i + 1], c[4 * i + 2]

    def needs_text(self, i: int) -> bool:
        """Whether the text output lists this dataset (findings, suppressed or an internal error)."""
        c = self._counts
        return bool(self._flags[i] & _INTERNAL or c[4 * i] or c[4 * i + 1] or c[4 * i + 2] or c[4 * i + 3])


__all__ = ["ResultStore", "Packed", "pack", "tally"]
