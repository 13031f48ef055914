"""Findings, severities and reports: the one vocabulary every stage after `rules` speaks.

A finding is (rule, severity, message, pointer) located in a file (line, column) and carries
the rule's rationale and remedy so that every renderer can explain it. An expected-findings
file in `reference_data/` is the multiset of (rule, severity, pointer).
"""
from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence


#: the ``$schema`` of the JSON output: the report schema, ``schemas/report/`` (``mpistd schema --version report``)
REPORT_SCHEMA_ID = "https://mpistd.org/schema/report/1.0/mpistd-report.schema.json"


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]

    @classmethod
    def parse(cls, value: "str | Severity") -> "Severity":
        if isinstance(value, Severity):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            raise ValueError(f"unknown severity {value!r} (use error, warning or info)") from None


#: every severity's value, in the enum's order (the keys of the counts)
_SEVERITY_VALUES = tuple(s.value for s in Severity)

#: rules whose finding is the environment's problem, not the dataset's: the run exits 2
ENVIRONMENT_RULES = frozenset({"MPI019"})

#: rules that no configuration may silence or re-level (the document must be readable)
UNSUPPRESSIBLE = frozenset({"MPI001", "MPI002", "MPI003", "MPI004", "MPI005"})


class ExitCode(enum.IntEnum):
    OK = 0  # no finding at the failing level
    FINDINGS = 1  # findings at the failing level (any problem of the dataset's content)
    USAGE = 2  # usage error, a command-line path that does not exist, an empty selection
    INTERNAL = 3  # a bug in mpistd


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    pointer: str = ""
    file: str | None = None
    line: int | None = None
    column: int | None = None
    rationale: str = ""
    remedy: str = ""
    metric: str | None = None  # for per-metric rules (MPI023–MPI025, MPI031): which metric fired

    @property
    def fingerprint(self) -> tuple[str, str, str, str | None]:
        """What a baseline remembers: rule, file, pointer and metric, never the numbers in the message."""
        return (self.rule, self.file or "", self.pointer, self.metric)

    @property
    def key(self) -> tuple[str, str, str]:
        """What an expected-findings file compares: rule, severity, pointer."""
        return (self.rule, self.severity.value, self.pointer)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["severity"] = self.severity.value
        return d


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A finding that configuration, an inline `x-mpistd-ignore`, --ignore or a baseline silenced.

    Listed in every report so that silencing is never invisible.
    """

    finding: Finding
    source: str  # "inline" | "config" | "command-line" | "baseline"
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "reason": self.reason, **self.finding.to_dict()}


@dataclass
class DatasetResult:
    """Everything mpistd learned about one dataset document."""

    path: str
    sha256: str | None = None
    schema_version: str | None = None
    findings: list[Finding] = field(default_factory=list)
    suppressed: list[Suppressed] = field(default_factory=list)
    quantities: dict[str, Any] | None = None  # recomputed numbers, JSON-ready
    title: str | None = None
    seconds: float | None = None
    # the repository view's plain data (mpistd/comparability.py); None when not quantified
    repository: dict[str, Any] | None = None
    #: "ok", or "internal_error" when mpistd failed on this dataset (a bug; the run exits 3)
    status: str = "ok"
    error: dict[str, str] | None = None  # {"type", "message"} of the internal error
    traceback: str | None = None  # shown only with --debug; never in JSON

    @property
    def internal_error(self) -> bool:
        return self.status == "internal_error"

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(_SEVERITY_VALUES, 0)
        for f in self.findings:
            out[f.severity.value] += 1
        return out

    def fails(self, fail_level: Severity) -> bool:
        return self.internal_error or any(f.severity.rank >= fail_level.rank for f in self.findings)

    def verdict(self) -> str:
        if self.internal_error:
            return "internal error"
        c = self.counts()
        if c["error"]:
            return "not conformant"
        if c["warning"]:
            return "conformant with warnings"
        return "conformant"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "status": self.status,
            "sha256": self.sha256,
            "schema_version": self.schema_version,
            "title": self.title,
            "verdict": self.verdict(),
            "counts": self.counts(),
            "findings": [f.to_dict() for f in self.findings],
            "suppressed": [s.to_dict() for s in self.suppressed],
            "quantities": self.quantities,
            "repository": self.repository,
        }
        if self.error is not None:
            out["error"] = dict(self.error)
        return out


@dataclass
class Report:
    """The result of one run over one or more datasets."""

    results: Sequence[DatasetResult]  # a list, or a run's mpistd.store.ResultStore (results on disk)
    profile: str = "default"
    strict: bool = False
    mpistd_version: str = ""
    schema_version: str = ""
    created: str | None = None  # ISO time; None when reproducible output is asked for
    # how the run was made, for `mpistd merge` (mpistd/repository.py: run_record)
    run: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not self.mpistd_version:
            from mpistd import SCHEMA_VERSION, __version__

            self.mpistd_version = __version__
            self.schema_version = self.schema_version or SCHEMA_VERSION

    @property
    def fail_level(self) -> Severity:
        return Severity.WARNING if self.strict else Severity.ERROR

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.results for f in r.findings]

    def _store(self) -> Any:
        """The results' totals without reading them, when the results are a mpistd.store.ResultStore."""
        return self.results if getattr(self.results, "keeps_totals", False) else None

    def failing(self) -> int:
        """How many datasets fail at the fail level."""
        store = self._store()
        if store is not None:
            return int(store.failing(self.fail_level))
        return sum(1 for r in self.results if r.fails(self.fail_level))

    def suppressed_count(self) -> int:
        store = self._store()
        if store is not None:
            return int(store.suppressed_count())
        return sum(len(r.suppressed) for r in self.results)

    def rows(self) -> Iterable[tuple[str, bool, int, int, int]]:
        """(path, internal error, errors, warnings, infos) of every dataset, in order."""
        store = self._store()
        if store is not None:
            rows: Iterable[tuple[str, bool, int, int, int]] = store.rows()
            return rows
        return ((r.path, r.internal_error, *r.counts().values()) for r in self.results)  # type: ignore[misc]

    @property
    def ok(self) -> bool:
        return not self.failing()

    @property
    def internal_errors(self) -> list[DatasetResult]:
        store = self._store()
        if store is not None:
            return [store[i] for i in store.internal_indices()]
        return [r for r in self.results if r.internal_error]

    @property
    def exit_code(self) -> ExitCode:
        store = self._store()
        if (store.internal_indices() if store is not None else self.internal_errors):
            return ExitCode.INTERNAL
        # an environment problem found while checking (a reader library not installed,
        # MPI019) is exit 2, as on the command line, once every output is written
        if store.environment() if store is not None else \
                any(f.rule in ENVIRONMENT_RULES for r in self.results for f in r.findings):
            return ExitCode.USAGE
        return ExitCode.OK if self.ok else ExitCode.FINDINGS

    def counts(self) -> dict[str, int]:
        store = self._store()
        if store is not None:
            totals: dict[str, int] = store.counts()
            return totals
        out = {s.value: 0 for s in Severity}
        for r in self.results:
            for k, v in r.counts().items():
                out[k] += v
        return out

    def to_dict(self) -> dict[str, Any]:
        out = self.head_dict()
        out["datasets"] = [r.to_dict() for r in self.results]
        return out

    def head_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` with ``datasets`` empty (the key in its place): for writing the
        datasets one at a time (mpistd.render.json.iter_json)."""
        return {
            "$schema": REPORT_SCHEMA_ID,
            "tool": {"name": "mpistd", "version": self.mpistd_version},
            "schema_version": self.schema_version,
            "profile": self.profile,
            "strict": self.strict,
            "created": self.created,
            "ok": self.ok,
            "exit_code": int(self.exit_code),
            "counts": self.counts(),
            "datasets": [],
            "run": self.run,
        }


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Document order: by line, then column, then rule; findings without a line last."""
    return sorted(findings, key=lambda f: (f.line is None, f.line or 0, f.column or 0, f.rule, f.pointer))
