"""The repository view: robust numerics, grouping and outliers against a generator's ground truth,
--summary and --previous, repository vectors, and `mpistd merge` of shards equal to one run."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mpistd.quantify.robust import MAD_SCALE, leave_one_out, mad, median

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "reference_data" / "conformance" / "repository"
sys.path.insert(0, str(ROOT / "reference_data" / "repository"))
import generate  # noqa: E402


def mpistd(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "mpistd", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=300)


# ------------------------------------------------------------------------------------ numerics


def test_median_and_mad_by_hand() -> None:
    # hand calculation: {1, 2, 3, 4, 100}: median 3, |x - 3| = {2, 1, 0, 1, 97}, MAD 1
    assert median([4, 1, 100, 3, 2]) == 3.0
    assert mad([4, 1, 100, 3, 2]) == 1.0
    # even count: the mean of the two middle values; {1, 2, 3, 4}: median 2.5, deviations
    # {1.5, 0.5, 0.5, 1.5}, MAD 1.0
    assert median([4, 1, 3, 2]) == 2.5 and mad([1, 2, 3, 4]) == 1.0
    with pytest.raises(ValueError):
        median([])


def test_leave_one_out_by_hand() -> None:
    # ln sensitivities 0, 0.01, -0.01, 0.02, -0.02 and 0.7: leaving 0.7 out, the others have
    # median 0 and deviations {0, .01, .01, .02, .02}: MAD 0.01, cut 3.5 * 1.4826 * 0.01 = 0.051891
    values = [0.0, 0.01, -0.01, 0.02, -0.02, 0.7]
    res = leave_one_out(values)
    last = res[-1]
    assert last.median == 0.0 and last.mad == pytest.approx(0.01) and last.limit == pytest.approx(0.051891)
    assert last.outlier and last.judged and last.scaled == pytest.approx(0.7 / (MAD_SCALE * 0.01))
    # leaving 0.02 out: others {0, .01, -.01, -.02, .7}: median 0, deviations {0,.01,.01,.02,.7}: MAD .01
    assert res[3].median == 0.0 and res[3].mad == pytest.approx(0.01) and not res[3].outlier
    assert [r.outlier for r in res] == [False] * 5 + [True]


def test_leave_one_out_with_mad_zero_is_not_judged_unless_equal() -> None:
    res = leave_one_out([1.0, 1.0, 1.0, 1.0, 1.5])
    assert [r.judged for r in res] == [True, True, True, True, False]
    assert not any(r.outlier for r in res)
    assert res[-1].mad == 0 and res[-1].scaled is None
    assert leave_one_out([1.0, 1.0, 1.0 + 1e-12], equal_within=1e-9)[-1].judged


def test_leave_one_out_equals_brute_force_numpy() -> None:
    """The O(n log n) leave-one-out against the definition, numpy's median on each n-1 subset."""
    rng = np.random.default_rng(7)
    for n in (2, 3, 4, 5, 6, 9, 10, 31, 64):
        for trial in range(20):
            values = rng.normal(0, 1, n)
            if trial % 4 == 0:
                values = np.round(values, 1)  # ties
            if trial % 5 == 0:
                values[: n // 2] = 0.25  # many equal values
            res = leave_one_out(values.tolist())
            for i, r in enumerate(res):
                others = np.delete(values, i)
                m = float(np.median(others))
                d = float(np.median(np.abs(others - m)))
                assert r.median == pytest.approx(m, abs=1e-12)
                assert r.mad == pytest.approx(d, abs=1e-12)
                assert r.outlier == bool(d > 0 and abs(values[i] - m) > 3.5 * 1.4826 * d)


# ------------------------------------------------------------------------------------ the generated repository


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("repository") / "data"
    truth = generate.write(root)
    proc = mpistd("validate", ".", "--reproducible", "--summary", "json:summary.json", "--output", "json:result.json",
                  cwd=root)
    assert proc.returncode == 0, proc.stderr
    return {"root": root, "truth": truth, "summary": json.loads((root / "summary.json").read_text()),
            "result": json.loads((root / "result.json").read_text())}


def _norm(path: str) -> str:
    return path.replace(os.sep, "/").removeprefix("./")


def test_every_series_gets_its_ground_truth_status_and_sensitivity(repo: dict) -> None:
    got = {}
    for g in repo["summary"]["groups"]:
        for m in g["members"]:
            got[(_norm(m["path"]), m["pointer"])] = (m["status"], m["sensitivity"], g)
    want = {(p, ptr): t for p, per in repo["truth"].items() for ptr, t in per.items()}
    assert set(got) == set(want)
    for key, t in want.items():
        status, sensitivity, _ = got[key]
        # fixed-volume series are reported in their group, never compared
        assert status == t["status"], key
        # the generator's closed form: 212 x factor (signals scaled exactly, rounded to 1e-6)
        assert sensitivity == pytest.approx(t["sensitivity"], rel=1e-7), key


def test_groups_fold_tracer_names_and_count_designs(repo: dict) -> None:
    groups = {g["key"]["tracer"]: g for g in repo["summary"]["groups"] if g["key"]["mode"] == "high_sensitivity"}
    # VivoTrax is named three ways without a product code: one group, by the case-folded name
    assert groups["vivotrax"]["datasets"] == 9
    promag = groups["bangs laboratories / pmc1n"]
    # 8 labs' fixed-concentration series, lab 3's fixed-volume series, the decreasing one: 10 series
    assert (promag["series"], promag["fixed_volume_share"], promag["fixed_concentration_share"]) == (10, 0.1, 0.9)
    assert groups["micromod / 104-00-501"]["judged"] is False  # 4 datasets
    # Lab 7's VivoTrax: both datasets at half of everyone's sensitivity (the issue's case)
    outliers = {(_norm(o["path"]), o["rule"]) for o in repo["summary"]["outliers"]}
    assert outliers == {("lab7/vivotrax-hs-0.mpical.json", "MPI060"), ("lab7/vivotrax-hs-repeat-0.mpical.json", "MPI060"),
                        ("lab6/promag-hs-0.mpical.json", "MPI060"), ("lab6/promag-hr-0.mpical.json", "MPI061"),
                        ("lab8/promag-hs-decreasing.mpical.json", "MPI062")}


def test_repository_findings_are_info_located_and_name_the_group(repo: dict) -> None:
    rules = Counter()
    for d in repo["result"]["datasets"]:
        for f in d["findings"]:
            if f["rule"].startswith("MPI06"):
                rules[f["rule"]] += 1
                assert f["severity"] == "info" and f["line"] and f["column"]
                text = (repo["root"] / d["path"]).read_text().splitlines()[f["line"] - 1]
                assert text.strip().startswith('"fits"') or text.strip() == "{", text
                if f["rule"] == "MPI060":
                    assert "VivoTrax" in f["message"] or "ProMag" in f["message"]
                    assert "3.5 × 1.4826 × MAD" in f["message"]
    assert rules == {"MPI060": 3, "MPI061": 1, "MPI062": 1}
    assert repo["result"]["run"]["repository_rules"] is True


def test_a_configuration_raises_the_outlier_rule_and_an_inline_ignore_silences_it(repo: dict, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "data"
    shutil.copytree(repo["root"], root)
    (root / "mpistd.toml").write_text('[rules]\nMPI060 = "error"\n')
    proc = mpistd("validate", ".", "--format", "json", cwd=root)
    assert proc.returncode == 1
    failing = {_norm(d["path"]) for d in json.loads(proc.stdout)["datasets"] if d["verdict"] == "not conformant"}
    assert failing == {"lab7/vivotrax-hs-0.mpical.json", "lab7/vivotrax-hs-repeat-0.mpical.json",
                       "lab6/promag-hs-0.mpical.json"}
    target = root / "lab6" / "promag-hs-0.mpical.json"
    doc = json.loads(target.read_text())
    doc["calibrations"][0]["x-mpistd-ignore"] = [{"rule": "MPI060", "reason": "stock re-measured, see lab book"}]
    target.write_text(json.dumps(doc, indent=2))
    data = json.loads(mpistd("validate", ".", "--format", "json", cwd=root).stdout)
    (d,) = [d for d in data["datasets"] if _norm(d["path"]) == "lab6/promag-hs-0.mpical.json"]
    assert d["verdict"] == "conformant"
    assert [(s["rule"], s["source"]) for s in d["suppressed"]] == [("MPI060", "inline")]


def test_previous_shows_new_removed_and_changed_verdicts_and_outliers(repo: dict, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "data"
    shutil.copytree(repo["root"], root)
    (root / "lab1" / "synomag-hs.mpical.json").unlink()  # removed
    shutil.copy(root / "lab2" / "promag-hs-0.mpical.json", root / "lab2" / "promag-hs-copy.mpical.json")  # new
    broken = root / "lab3" / "vivotrax-hs-0.mpical.json"  # changed: a reported slope off by 10 % (MPI022 error)
    doc = json.loads(broken.read_text())
    doc["calibrations"][0]["fits"][0]["slope"] *= 1.1
    broken.write_text(json.dumps(doc, indent=2))
    lab7 = root / "lab7" / "vivotrax-hs-repeat-0.mpical.json"  # an outlier fixed: signals doubled
    doc = json.loads(lab7.read_text())
    for p in doc["calibrations"][0]["points"]:
        for r in p["replicates"]:
            r["max_intensity"] *= 2
    for key in ("slope", "intercept"):
        doc["calibrations"][0]["fits"][0][key] *= 2
    doc["quantifications"][0]["signal"] = [2 * s for s in doc["quantifications"][0]["signal"]]
    lab7.write_text(json.dumps(doc, indent=2))
    proc = mpistd("validate", ".", "--summary", "json", "--previous", str(repo["root"] / "summary.json"), cwd=root)
    assert proc.returncode == 1, proc.stderr
    changes = json.loads(proc.stdout)["changes"]
    assert [_norm(d["path"]) for d in changes["new"]] == ["lab2/promag-hs-copy.mpical.json"]
    assert [_norm(d["path"]) for d in changes["removed"]] == ["lab1/synomag-hs.mpical.json"]
    assert [(_norm(d["path"]), d["previous"], d["verdict"]) for d in changes["changed"]] == [
        ("lab3/vivotrax-hs-0.mpical.json", "conformant", "not conformant")]
    assert [(_norm(o["path"]), o["rule"]) for o in changes["removed_outliers"]] == [
        ("lab7/vivotrax-hs-repeat-0.mpical.json", "MPI060")]
    assert changes["new_outliers"] == []
    text = mpistd("validate", ".", "--summary", "--previous", str(repo["root"] / "summary.json"), cwd=root).stdout
    assert "1 new, 1 removed, 1 changed verdicts; 0 new, 1 removed outliers" in text
    bad = tmp_path / "bad.json"
    bad.write_text('{"datasets": []}')
    proc = mpistd("validate", ".", "--summary", "--previous", str(bad), cwd=root)
    assert proc.returncode == 2 and "not an mpistd repository summary" in proc.stderr


# ------------------------------------------------------------------------------------ vectors


def _vector_dirs() -> list[Path]:
    return sorted(p.parent for p in VECTORS.glob("*/repository-expected.json"))


@pytest.mark.parametrize("folder", _vector_dirs(), ids=lambda p: p.name)
def test_repository_vector_produces_exactly_its_expected_findings(folder: Path) -> None:
    expected = json.loads((folder / "repository-expected.json").read_text())
    proc = mpistd("validate", str(folder), "--format", "json")
    data = json.loads(proc.stdout)
    got = Counter((Path(d["path"]).name, f["rule"], f["severity"], f["pointer"]) for d in data["datasets"]
                  for f in d["findings"])
    want = Counter((f["file"], f["rule"], f["severity"], f["pointer"]) for f in expected["findings"])
    assert got == want
    assert proc.returncode == expected["exit_code"]
    assert not set(expected["quiet"]) & {k[1] for k in got}


def test_every_repository_rule_has_a_firing_and_a_quiet_vector() -> None:
    from mpistd.rules.registry import all_rules

    ids = {r.id for r in all_rules() if r.family == "repository"}
    assert ids == {"MPI060", "MPI061", "MPI062"}
    fires, quiet = set(), set()
    for folder in _vector_dirs():
        e = json.loads((folder / "repository-expected.json").read_text())
        found = {f["rule"] for f in e["findings"]}
        fires |= set(e["fires"]) & found
        quiet |= set(e["quiet"]) - found
    assert ids - fires == set() and ids - quiet == set()


def test_committed_repository_vectors_match_their_generator() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "reference_data" / "conformance" / "repository_vectors.py"),
                           "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ------------------------------------------------------------------------------------ merge


def test_four_shards_merged_equal_one_run_byte_for_byte(repo: dict, tmp_path: Path) -> None:
    root = repo["root"]
    out = tmp_path
    one = mpistd("validate", ".", "--reproducible", "--output", f"json:{out / 'one.json'}", "--output",
                 f"sarif:{out / 'one.sarif'}", "--output", f"junit:{out / 'one.xml'}", "--output", f"text:{out / 'one.txt'}",
                 "--summary", f"json:{out / 'one-summary.json'}", "--summary", f"text:{out / 'one-summary.txt'}", cwd=root)
    assert one.returncode == 0, one.stderr
    for i in range(1, 5):
        shard = mpistd("validate", ".", "--shard", f"{i}/4", "--reproducible", "--output", f"json:{out / f's{i}.json'}",
                       cwd=root)
        assert shard.returncode == 0, shard.stderr
        data = json.loads((out / f"s{i}.json").read_text())
        assert data["run"]["shard"] == [i, 4] and data["run"]["repository_rules"] is False
        assert not any(f["rule"].startswith("MPI06") for d in data["datasets"] for f in d["findings"])
    shards = [str(out / f"s{i}.json") for i in (3, 1, 4, 2)]  # in any order
    merged = mpistd("merge", *shards, "--reproducible", "-o", f"json:{out / 'm.json'}", "-o", f"sarif:{out / 'm.sarif'}",
                    "-o", f"junit:{out / 'm.xml'}", "-o", f"text:{out / 'm.txt'}", "-o", f"summary:{out / 'm-summary.json'}",
                    "-o", f"summary-text:{out / 'm-summary.txt'}", cwd=root)
    assert merged.returncode == 0, merged.stderr
    for a, b in (("one.json", "m.json"), ("one.sarif", "m.sarif"), ("one.xml", "m.xml"), ("one.txt", "m.txt"),
                 ("one-summary.json", "m-summary.json"), ("one-summary.txt", "m-summary.txt")):
        assert (out / a).read_bytes() == (out / b).read_bytes(), (a, b)
    # merging a merged (unsharded) result again changes nothing: repository findings are recomputed
    again = mpistd("merge", str(out / "m.json"), "--reproducible", "-o", f"json:{out / 'mm.json'}", cwd=root)
    assert again.returncode == 0 and (out / "mm.json").read_bytes() == (out / "one.json").read_bytes()
    # the SARIF of the merged run can carry one automationDetails.id
    mpistd("merge", *shards, "--sarif-category", "mpistd", "-o", f"sarif:{out / 'c.sarif'}", cwd=root)
    assert json.loads((out / "c.sarif").read_text())["runs"][0]["automationDetails"] == {"id": "mpistd"}


def test_the_site_of_merged_shards_equals_the_report_site(tmp_path: Path) -> None:
    """The report site from merged results (and the checked-out tree) is `mpistd report`'s, byte for byte."""
    import shutil

    root = tmp_path / "data"
    shutil.copytree(VECTORS / "fires", root)
    # a hostile tracer name must come out escaped (ds4's VivoTrax becomes a group of its own)
    target = root / "ds4.mpical.json"
    doc = json.loads(target.read_text())
    doc["tracers"][1]["name"] = "VivoTrax<script>alert(1)</script>"
    target.write_text(json.dumps(doc, indent=2))
    out = tmp_path
    for i in (1, 2):
        assert mpistd("validate", ".", "--shard", f"{i}/2", "--reproducible", "-o", f"json:{out / f'h{i}.json'}",
                      cwd=root).returncode == 0
    assert mpistd("merge", str(out / "h2.json"), str(out / "h1.json"), "--reproducible", "-o",
                  f"site:{out / 'msite'}", cwd=root).returncode == 0
    assert mpistd("report", ".", "-o", f"{out / 'rsite'}/", "--reproducible", cwd=root).returncode == 0
    msite = sorted(p.relative_to(out / "msite") for p in (out / "msite").rglob("*") if p.is_file())
    assert msite == sorted(p.relative_to(out / "rsite") for p in (out / "rsite").rglob("*") if p.is_file())
    assert Path("repository/index.html") in msite and len(msite) == 8  # 6 datasets, the index, the repository page
    for rel in msite:
        assert (out / "msite" / rel).read_bytes() == (out / "rsite" / rel).read_bytes(), rel
    html = (out / "msite" / "repository" / "index.html").read_text()
    assert "<script" not in html and "&lt;script&gt;" in html
    # a forest plot per group (ProMag, VivoTrax, the renamed VivoTrax), a point per positive slope:
    # 6 ProMag (ds3's decreasing series is not drawn), 5 + 1 VivoTrax
    assert html.count('<svg class="forest"') == 3
    assert html.count("<circle") == 12 and "<path d=" not in html
    # the outlier is listed and linked; every link points at a page of the site
    assert ">outlier<" in html and 'href="../ds6.html"' in html
    links = set(re.findall(r'href="([^"]+)"', html))
    assert all((out / "msite" / "repository" / link).is_file() for link in links)
    assert "6</b>conformant" in html


def test_merge_refuses_incomplete_repeated_or_different_runs(repo: dict, tmp_path: Path) -> None:
    root = repo["root"]
    for i in (1, 2):
        mpistd("validate", ".", "--shard", f"{i}/2", "--output", f"json:{tmp_path / f'h{i}.json'}", cwd=root)
    mpistd("validate", ".", "--shard", "2/2", "--strict", "--output", f"json:{tmp_path / 'strict.json'}", cwd=root)
    mpistd("validate", ".", "--shard", "2/2", "--ignore", "MPI030", "--output", f"json:{tmp_path / 'ign.json'}", cwd=root)
    cases = {
        ("h1.json",): "shard 2/2 missing",
        ("h1.json", "h1.json"): "given twice",
        ("h1.json", "strict.json"): "--strict",
        ("h1.json", "ign.json"): "options",
    }
    for names, message in cases.items():
        proc = mpistd("merge", *(str(tmp_path / n) for n in names), cwd=root)
        assert proc.returncode == 2 and message in proc.stderr, (names, proc.stderr)
    data = json.loads((tmp_path / "h1.json").read_text())
    data["tool"]["version"] = "0.0.1"
    (tmp_path / "old.json").write_text(json.dumps(data))
    proc = mpistd("merge", str(tmp_path / "old.json"), str(tmp_path / "h2.json"))
    assert proc.returncode == 2 and "version" in proc.stderr
    (tmp_path / "junk.json").write_text("[1, 2]")
    proc = mpistd("merge", str(tmp_path / "junk.json"))
    assert proc.returncode == 2 and "not an mpistd JSON result" in proc.stderr and "Traceback" not in proc.stderr
    proc = mpistd("validate", ".", "--shard", "1/2", "--summary", cwd=root)
    assert proc.returncode == 2 and "mpistd merge" in proc.stderr


def test_a_dataset_without_a_block_is_skipped_and_an_unknown_format_listed() -> None:
    from mpistd.repository import analyse, entries_from_json, summary

    a = analyse(entries_from_json([{"path": "a", "verdict": "not conformant", "repository": None},
                                   {"path": "b", "verdict": "conformant", "repository": {"format": 99}}]))
    assert a.groups == [] and a.unsupported == [1]
    s = summary(a, tool_version="x", schema_version="1.0")
    assert s["unsupported"] == ["b"] and s["verdicts"] == {"conformant": 1, "conformant with warnings": 0,
                                                           "not conformant": 1}


# ------------------------------------------------------------------------------------ the repository page


def test_the_fast_locator_agrees_with_the_documents_position_map() -> None:
    """comparability.element_positions walks only the path to the lines; Document.locate (the full
    scanner) is the reference, on every bundled JSON dataset's calibrations and fits."""
    from mpistd.comparability import element_positions
    from mpistd.load.documents import DocumentError, read_document

    checked = 0
    for path in sorted((ROOT / "reference_data").rglob("*.mpical.json")):
        try:
            doc = read_document(path, max_bytes=50 * 2**20)
        except DocumentError:
            continue
        cals = doc.data.get("calibrations") if isinstance(doc.data, dict) else None
        if not isinstance(cals, list):
            continue
        wanted = {i: [f"/calibrations/{i}"] + [f"/calibrations/{i}/fits/{j}" for j in range(len(c.get("fits") or []))]
                  for i, c in enumerate(cals) if isinstance(c, dict)}
        got = element_positions(doc, wanted)
        for ptrs in wanted.values():
            for p in ptrs:
                assert got[p] == doc.locate(p), (path.name, p)
                checked += 1
    assert checked > 200


def test_the_api_runs_the_repository_step_of_the_command_line(repo: dict) -> None:
    """mpistd.validate() and `mpistd validate` share one run (mpistd.pipeline.run): the API's
    report has the CLI's repository findings, which are the generator's ground-truth outliers
    (reference_data/repository/generate.py: lab 7's VivoTrax at half the sensitivity, …)."""
    import mpistd

    cwd = os.getcwd()
    os.chdir(repo["root"])  # the CLI ran from the tree's root: the same display paths
    try:
        report = mpistd.validate(".", reproducible=True)
    finally:
        os.chdir(cwd)
    api = {(_norm(r.path), f.rule, f.pointer, f.message, f.line) for r in report.results for f in r.findings
           if f.rule.startswith("MPI06")}
    cli = {(_norm(d["path"]), f["rule"], f["pointer"], f["message"], f["line"]) for d in repo["result"]["datasets"]
           for f in d["findings"] if f["rule"].startswith("MPI06")}
    assert api == cli
    assert {(p, rule) for p, rule, *_ in api} == {
        ("lab7/vivotrax-hs-0.mpical.json", "MPI060"), ("lab7/vivotrax-hs-repeat-0.mpical.json", "MPI060"),
        ("lab6/promag-hs-0.mpical.json", "MPI060"), ("lab6/promag-hr-0.mpical.json", "MPI061"),
        ("lab8/promag-hs-decreasing.mpical.json", "MPI062")}
    assert report.run is not None and report.run["repository_rules"] is True
    assert report.to_dict()["datasets"] == repo["result"]["datasets"]


def test_the_fold_flags_the_units_the_full_analysis_flags(repo: dict) -> None:
    """The repository rules' fold (a few numbers per dataset) against the summary's full analysis,
    unit by unit, on the generated repository (whose flagged units are its ground truth above)."""
    from mpistd.repository import Fold, analyse, dataset_record, entries_from_json

    datasets = repo["result"]["datasets"]
    full = analyse(entries_from_json(datasets))
    fold = Fold()
    known: set[str] = set()
    for i, d in enumerate(datasets):
        fold.add(i, dataset_record(d.get("repository"), known))
    folded = fold.analysis()
    flagged = {"outlier", "not judged: MAD 0", "not judged: slope ≤ 0"}

    def units(analysis):
        return [(g.id, g.judged_datasets, u.dataset, u.status, u.sensitivity, [m.pointer for m in u.members],
                 u.loo) for g in analysis.groups for u in g.units if u.status in flagged]

    assert units(folded) == units(full) and len(units(full)) == 5
    assert [g.id for g in folded.groups] == [g.id for g in full.groups]
