"""What the parent keeps of a large run (issue 17, second pass): equal pieces of the repository
blocks shared, and the repository rules' dispositions found without a Finding per fit. Both
must give exactly what they replace; the expectations here are the plain definitions (JSON text
equal, key order included; emit's own answer)."""
from __future__ import annotations

import json

import pytest

from mpistd.config import Options
from mpistd.pipeline import Emitter
from mpistd.plain import SharedPlain


def _block(slope: float, severity: str = "warning") -> dict:
    return {"format": 1, "dataset_id": "d", "series": [{
        "pointer": "/calibrations/0", "tracer": {"name": "T", "vendor": None},
        "acquisition": {"gradient_T_per_m": 2.0, "drive_amplitude_mT": {"x": 12.0}},
        "fits": [{"metric": "max_intensity", "pointer": "/calibrations/0/fits/0", "slope": slope, "n": 24,
                  "line": 300, "column": 9, "rules": {"MPI060": {"severity": severity}}}]}]}


def test_shared_block_is_the_same_json_and_shares_equal_pieces() -> None:
    shared = SharedPlain()
    a, b = _block(1.5), _block(2.5)
    sa, sb = shared.share(a), shared.share(b)
    assert json.dumps(sa) == json.dumps(a) and json.dumps(sb) == json.dumps(b)
    fa, fb = sa["series"][0]["fits"][0], sb["series"][0]["fits"][0]
    assert fa is not fb  # located entries (they hold a pointer) are each dataset's own
    assert fa["rules"] is fb["rules"]  # equal dispositions kept once
    assert sa["series"][0]["tracer"] is sb["series"][0]["tracer"]
    assert sa["series"][0]["acquisition"] is sb["series"][0]["acquisition"]
    assert sa["series"] is not sb["series"]  # lists are never shared


@pytest.mark.parametrize("x, y", [(0.0, -0.0), (1, True), (1, 1.0), (None, False)])
def test_values_that_compare_equal_but_print_differently_are_not_merged(x: object, y: object) -> None:
    shared = SharedPlain()
    first, second = shared.share({"v": x}), shared.share({"v": y})
    assert json.dumps(first) == json.dumps({"v": x})
    assert json.dumps(second) == json.dumps({"v": y})


@pytest.mark.parametrize("options", [
    Options(),
    Options(profile="publication"),
    Options(ignore=("MPI061",)),
    Options(select=("MPI06",)),
    Options(select=("MPI0",), ignore=("MPI06",)),
    Options(levels={"MPI060": "off", "MPI061": "error", "MPI062": "info"}),
])
def test_disposition_anywhere_is_what_emit_does(options: Options) -> None:
    for rule_id in ("MPI060", "MPI061", "MPI062"):
        probe = Emitter(None, options, "f.mpical.json", None)
        known = probe.disposition_anywhere(rule_id)
        probe.emit(rule_id, "/calibrations/0/fits/0", "")
        if probe.findings:
            assert known == (probe.findings[0].severity.value, None)
        else:
            s = probe.suppressed[0]
            assert known == (s.finding.severity.value, (s.source, s.reason))


def test_disposition_anywhere_declines_when_the_pointer_matters() -> None:
    baseline = frozenset({("MPI060", "f.mpical.json", "/calibrations/0/fits/0", None)})
    assert Emitter(None, Options(baseline=baseline), "f.mpical.json", None).disposition_anywhere("MPI060") is None
