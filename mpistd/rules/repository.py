"""The repository family, MPI060–MPI069: one dataset against the comparable datasets of a run.

These rules never run per dataset (they have no per-dataset check). They run once on a whole
run's results, after every dataset (``mpistd validate`` over a tree without ``--shard``, and
``mpistd merge`` on the merged result), on the plain data of ``mpistd/comparability.py``,
grouped and summarised by ``mpistd/repository.py``. Their default severity is info, so that a
dataset never fails because other labs added data; a configuration can raise them
(``[rules] MPI060 = "warning"``).

Each check receives the :class:`mpistd.repository.Analysis` and yields
:class:`RepositoryHit` (which dataset, where in it, and a message naming the group and its
numbers).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

from mpistd.quantify.robust import CUT_K, MAD_SCALE, MIN_GROUP
from mpistd.rules._format import num
from mpistd.rules.registry import rule

if TYPE_CHECKING:  # pragma: no cover
    from mpistd.repository import Analysis, Group, Unit

FAMILY = "repository"
PAPER = "Ureña Horno et al. 2025"
ROBUST = "Iglewicz & Hoaglin 1993, How to Detect and Handle Outliers (modified z-score > 3.5)"
MAD_SOURCE = "Rousseeuw & Croux 1993, J. Am. Stat. Assoc. 88, 1273 (MAD, consistency factor 1.4826)"


@dataclass(frozen=True, slots=True)
class RepositoryHit:
    dataset: int  # index into the run's results
    pointer: str
    message: str


#: rule id -> check over the whole run's analysis
CHECKS: dict[str, Callable[["Analysis"], Iterator[RepositoryHit]]] = {}


def _register(rule_id: str, func: Callable[["Analysis"], Iterator[RepositoryHit]]) -> None:
    CHECKS[rule_id] = func


def _units(analysis: "Analysis", status: str) -> Iterator[tuple["Group", "Unit"]]:
    """Every (group, unit) of the analysis whose status is ``status``."""
    for group in analysis.groups:
        for unit in group.units:
            if unit.status == status:
                yield group, unit


def _hits(unit: "Unit", message: str) -> Iterator[RepositoryHit]:
    for member in unit.members:
        yield RepositoryHit(unit.dataset, member.pointer, message)


rule(
    "MPI060", severity="info", family=FAMILY, pointer="the series' line (/calibrations/i/fits/j or /calibrations/i)",
    title="sensitivity is an outlier among comparable calibrations",
    rationale="Calibrations of the same tracer (vendor and product code), on the same scanner model, in the same "
              "acquisition mode and settings, analysed by the same software with the same threshold k, in the "
              "same environment and with the same metric should give the same sensitivity (signal per µg Fe) "
              "within lab-to-lab scatter; the paper calls for standardized calibration so that results are "
              "comparable across studies. A fixed-concentration solution series whose log sensitivity is more "
              f"than {CUT_K} × {MAD_SCALE} × MAD from the median of the other datasets of its group (median and "
              f"MAD leave-one-out, groups of at least {MIN_GROUP} datasets) is an outlier by the modified "
              "z-score: a wrong iron mass or stock concentration, a receiver correction applied twice or not at "
              "all, a different metric definition, or a mislabelled tracer or mode.",
    remedy="Check the iron masses (ICP), the stock concentration and dilutions, the receiver correction and the "
           "metric definition against the group's other datasets; if the difference is real (another lot, a "
           "modified scanner), say so in the dataset and, if needed, set the acquisition or tracer fields that "
           "make it a group of its own.",
    sources=(f"{PAPER}, introduction and conclusions (standardized, comparable quantification)", ROBUST, MAD_SOURCE),
)(None)


def _outliers(analysis: "Analysis") -> Iterator[RepositoryHit]:
    for group, unit in _units(analysis, "outlier"):
        loo = unit.loo
        if loo is None:
            continue
        factor = math.exp(loo.deviation)
        message = (f"{group.metric} sensitivity {num(unit.sensitivity)} {group.unit_label} is "
                   f"{num(factor)}× the median {num(math.exp(loo.median))} of the {group.judged_datasets - 1} "
                   f"other datasets of group {group.label}: |ln s − median| = {num(abs(loo.deviation))} > "
                   f"{CUT_K} × {MAD_SCALE} × MAD {num(loo.mad)} = {num(loo.limit)}")
        yield from _hits(unit, message)


_register("MPI060", _outliers)


rule(
    "MPI061", severity="info", family=FAMILY, pointer="the series' line (/calibrations/i/fits/j or /calibrations/i)",
    title="sensitivity differs from a group without scatter: reported, not judged",
    rationale="The outlier cut scales with the median absolute deviation (MAD) of the other datasets of the "
              "group. When their MAD is 0 (they share one sensitivity exactly, e.g. copies of one dataset or "
              "values rounded alike) every difference would be infinitely many MADs: mpistd reports the "
              "difference and does not judge it.",
    remedy="Look at the numbers in the message; if the other datasets are copies of one calibration, they are "
           "not independent evidence of the group's sensitivity.",
    sources=(ROBUST, MAD_SOURCE),
)(None)


def _mad_zero(analysis: "Analysis") -> Iterator[RepositoryHit]:
    for group, unit in _units(analysis, "not judged: MAD 0"):
        loo = unit.loo
        if loo is None:
            continue
        message = (f"{group.metric} sensitivity {num(unit.sensitivity)} {group.unit_label} differs from the "
                   f"median {num(math.exp(loo.median))} of the {group.judged_datasets - 1} other datasets of "
                   f"group {group.label} (ratio {num(math.exp(loo.deviation))}), whose MAD is 0: not judged")
        yield from _hits(unit, message)


_register("MPI061", _mad_zero)


rule(
    "MPI062", severity="info", family=FAMILY, pointer="the series' line (/calibrations/i/fits/j or /calibrations/i)",
    title="sensitivity not positive: reported, not compared",
    rationale="Sensitivities are compared on a log scale (a lab that is twice as sensitive is as far from the "
              "median as one that is half as sensitive); a slope of zero or below has no logarithm and no "
              "physical meaning for an MPI signal that grows with iron, so it is reported and left out of its "
              "group's median and MAD.",
    remedy="Check the series' signals and iron masses (swapped columns, a blank subtracted twice); MPI020–MPI028 "
           "judge the line itself.",
    sources=(f"{PAPER}, section 3 (signal proportional to iron mass)",),
)(None)


def _not_positive(analysis: "Analysis") -> Iterator[RepositoryHit]:
    for group, unit in _units(analysis, "not judged: slope ≤ 0"):
        message = (f"{group.metric} slope {num(unit.sensitivity)} {group.unit_label} is not positive: left out "
                   f"of group {group.label} and not compared")
        yield from _hits(unit, message)


_register("MPI062", _not_positive)

__all__ = ["CHECKS", "RepositoryHit", "FAMILY"]
