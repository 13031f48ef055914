"""The rule registry: one place where each rule has its id, severity, rationale and remedy.

A rule is a plain function decorated with :func:`rule`; it receives a :class:`RuleContext`
and yields :class:`Hit` objects (pointer + message with the dataset's numbers). The engine
turns hits into findings, applies profiles and suppressions, and locates them in the file.
The catalogue (`mpistd rules`), the docs and SARIF rule descriptors are generated from here.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from mpistd.findings import UNSUPPRESSIBLE, Severity  # noqa: F401 (UNSUPPRESSIBLE re-exported)

# Rule families, in pipeline order; one module per family under mpistd/rules/.
FAMILIES = ("structure", "consistency", "images", "fit", "dilution", "environment", "reporting", "repository")

# UNSUPPRESSIBLE (imported above from mpistd.findings and re-exported here): the rules that
# no configuration may silence or re-level (the document must be readable)


@dataclass(frozen=True, slots=True)
class Hit:
    """What a rule function yields: where, and what (with the numbers that triggered it)."""

    pointer: str
    message: str
    severity: Severity | None = None  # only for rules whose severity depends on the case (MPI034)
    metric: str | None = None  # per-metric rules: the metric, so results on one pointer stay distinct


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    rationale: str
    remedy: str
    family: str
    pointer: str  # where it points, as the catalogue says
    check: Callable[["RuleContext"], Iterable[Hit]] | None = None
    sources: tuple[str, ...] = ()

    @property
    def suppressible(self) -> bool:
        return self.id not in UNSUPPRESSIBLE

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "severity": self.severity.value,
            "title": self.title,
            "family": self.family,
            "pointer": self.pointer,
            "rationale": self.rationale,
            "remedy": self.remedy,
            "sources": list(self.sources),
        }


@dataclass
class RuleContext:
    """What a rule may look at. Rules never compute what the numerics can."""

    model: Any  # mpistd.standard.model.Dataset, or its typed view mpistd.standard.view.Dataset (same attributes)
    document: dict  # the raw (schema-valid) document
    quantities: Any  # mpistd.quantities.DatasetQuantities
    options: Any  # mpistd.config.Options (not imported: config must not depend on rules, nor rules on config)
    extra: dict = field(default_factory=dict)


_REGISTRY: dict[str, Rule] = {}
#: the registry sorted by id, and its rules with a check: made once after the families are loaded
#: (the pipeline asks for them for every dataset), dropped when a rule is registered
_SORTED: tuple[tuple[Rule, ...], tuple[Rule, ...]] | None = None
_FAMILY_IDS: dict[str, tuple[str, ...]] = {}  # family_ids' answers, dropped with _SORTED


def rule(
    id: str,
    *,
    severity: str,
    title: str,
    rationale: str,
    remedy: str,
    pointer: str,
    family: str,
    sources: Iterable[str] = (),
) -> Callable:
    """Register a rule. Use as a decorator on its check function, or call with no function
    (structure rules MPI001–MPI005 are raised by the engine's load and schema stages)."""

    if family not in FAMILIES:
        raise ValueError(f"unknown rule family {family!r}")

    def register(func: Callable | None) -> Callable | None:
        global _SORTED
        if id in _REGISTRY:
            raise ValueError(f"rule {id} registered twice")
        _SORTED = None
        _FAMILY_IDS.clear()
        _REGISTRY[id] = Rule(
            id=id,
            severity=Severity.parse(severity),
            title=title,
            rationale=rationale,
            remedy=remedy,
            family=family,
            pointer=pointer,
            check=func,
            sources=tuple(sources),
        )
        return func

    return register


_loaded = False


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for family in FAMILIES:
        try:
            importlib.import_module(f"mpistd.rules.{family}")
        except ModuleNotFoundError as exc:  # a family not written yet
            if exc.name != f"mpistd.rules.{family}":
                raise
    _loaded = True


def _sorted() -> tuple[tuple[Rule, ...], tuple[Rule, ...]]:
    global _SORTED
    _load_all()
    if _SORTED is None:
        ordered = tuple(_REGISTRY[k] for k in sorted(_REGISTRY))
        _SORTED = ordered, tuple(r for r in ordered if r.check is not None)
    return _SORTED


def all_rules() -> list[Rule]:
    """Every registered rule, sorted by id."""
    return list(_sorted()[0])


def family_ids(family: str) -> tuple[str, ...]:
    """The ids of one family's rules, sorted."""
    ids = _FAMILY_IDS.get(family)
    if ids is None:
        ids = _FAMILY_IDS[family] = tuple(r.id for r in _sorted()[0] if r.family == family)
    return ids


def get_rule(rule_id: str) -> Rule:
    _load_all()
    try:
        return _REGISTRY[rule_id]
    except KeyError:
        raise KeyError(f"unknown rule {rule_id!r}") from None


def known_rule_ids() -> frozenset[str]:
    _load_all()
    return frozenset(_REGISTRY)


def checks() -> Iterator[Rule]:
    """The rules with a check function (everything but the engine-raised structure rules), by id."""
    return iter(_sorted()[1])
