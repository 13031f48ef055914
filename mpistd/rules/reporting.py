"""How the images became numbers: MPI050–MPI052 (MPI053 lives with the fit rules).

The paper's image analysis (section 2, "ROI analysis methods", "Sample holder and tube
design") excluded everything below five times the noise SD and placed every sample at the
same holder position (position 3) for consistent ROIs. A dataset that does not say how it
thresholded, or that moves samples between positions, cannot be re-analysed or compared.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterator

from mpistd.rules._format import num
from mpistd.rules.registry import Hit, RuleContext, rule

FAMILY = "reporting"
PAPER = "Ureña Horno et al. 2025"
PAPER_K = 5.0


@rule(
    "MPI050", severity="warning", family=FAMILY, pointer="/analysis",
    title="noise SD or threshold rule not reported",
    rationale="Maximum intensity, ROI, total intensity and FWHM all depend on the threshold k·SD of the noise; "
              "the paper excluded signal below 5·SD (section 2, after Sehl et al.). Without the noise SD (or "
              "the background region it was measured in) and the threshold rule, the reported metrics cannot "
              "be reproduced or compared.",
    remedy="Report analysis.noise (method and sd, or method background_roi with the background_roi) and "
           "analysis.threshold (rule k_sd and k).",
    sources=(f"{PAPER}, section 2 (ROI analysis methods)", "Sehl et al., bioRxiv 2022 (ref. 32)"),
)
def noise_and_threshold_reported(ctx: RuleContext) -> Iterator[Hit]:
    analysis = ctx.model.analysis
    missing = []
    noise = analysis.noise if analysis is not None else None
    if noise is None:
        missing.append("no noise SD (analysis.noise is absent)")
    elif noise.sd is None and not (noise.method == "background_roi" and noise.background_roi is not None):
        how = f"method {noise.method}" if noise.method else "no method"
        missing.append(f"analysis.noise has no sd ({how}, no background_roi to measure it in)")
    if analysis is None or analysis.threshold is None:
        missing.append("no threshold rule (analysis.threshold is absent)")
    if missing:
        yield Hit("/analysis", "; ".join(missing))


@rule(
    "MPI051", severity="info", family=FAMILY, pointer="/analysis/threshold/k",
    title="threshold k differs from 5",
    rationale="The paper's ROI holds the pixels above five times the noise SD (section 2); a different k "
              "changes ROI area, total and mean intensity, so values are not comparable with the paper's or "
              "with other datasets using 5·SD.",
    remedy="Use k = 5 unless there is a reason; state the reason, and report the metrics at k = 5 as well "
           "when comparing with other work.",
    sources=(f"{PAPER}, section 2 (ROI analysis methods)",),
)
def paper_threshold(ctx: RuleContext) -> Iterator[Hit]:
    analysis = ctx.model.analysis
    th = analysis.threshold if analysis is not None else None
    if th is not None and th.k != PAPER_K:
        yield Hit("/analysis/threshold/k", f"threshold k = {num(th.k)}·SD, not the paper's {PAPER_K:g}·SD")


def _default_position(acq: Any) -> str | None:
    if acq is None or acq.sample_holder is None:
        return None
    return acq.sample_holder.position


def _listing(counts: Counter) -> str:
    return ", ".join(f"position {pos}: {n} replicate{'s' if n != 1 else ''}" for pos, n in sorted(counts.items()))


@rule(
    "MPI052", severity="warning", family=FAMILY, pointer="the calibration or quantification",
    title="samples measured at different holder positions",
    rationale="Sensitivity and the ROI vary across the field of view and neighbouring wells can contaminate "
              "the signal; the paper imaged every sample individually at the same holder position "
              "(position 3) for this reason (section 2, Sample holder and tube design).",
    remedy="Measure all replicates of a series, and the samples quantified with it, at one holder position; "
           "otherwise calibrate each position separately.",
    sources=(f"{PAPER}, section 2 (Sample holder and tube design)",),
)
def same_holder_position(ctx: RuleContext) -> Iterator[Hit]:
    acqs = ctx.model.acquisition_by_id
    single: dict[int, str] = {}  # calibration index -> its single known position
    for cq in ctx.quantities.calibrations:
        cal = ctx.model.calibrations[cq.index]
        default = _default_position(acqs.get(cal.acquisition))
        # every replicate's position, the acquisition's default where it has none (Counter counts in C)
        counts: Counter = Counter(pos if pos is not None else default
                                  for p in cq.points for pos in p.holder_positions)
        counts.pop(None, None)
        if len(counts) > 1:
            yield Hit(cq.pointer, f"replicates of '{cq.id}' were measured at {len(counts)} holder positions ("
                                  f"{_listing(counts)})")
        elif len(counts) == 1:
            single[cq.index] = next(iter(counts))
    for qq in ctx.quantities.quantifications:
        qi, ci = qq.index, qq.calibration_index
        q = ctx.model.quantifications[qi]
        if ci not in single:
            continue
        own = q.holder_position if q.holder_position is not None else _default_position(acqs.get(q.acquisition))
        if own is not None and own != single[ci]:
            yield Hit(f"/quantifications/{qi}", f"quantification '{q.id}' was measured at holder position {own}, "
                                                f"its calibration '{q.calibration}' at position {single[ci]}")
