#!/usr/bin/env python3
"""The long fuzz run (outside CI): mutate the valid reference documents and validate each one.

    python scripts/fuzz.py --n 2000 [--seed S] [--jobs J] [--out fuzz-crashes/] [--report-every K]
                           [--modes document,config,names,layout] [--timeout SECONDS]

Every ``*.mpical.json`` under ``reference_data/`` that mpistd reads is a seed document. Document
``i`` of a run is fully determined by (seed, i): a random reference, 1–3 random mutations
(``tests/hostile/mutate.py``: deleted keys, changed types, negative/huge/zero numbers, unicode
and lone surrogates, duplicated or dropped items, random enum strings, unknown and ``x-`` keys,
bent references, deep nesting) and a random serialization (JSON with any indentation or
escaping, NaN literals, sometimes YAML). It is written beside a copy of the reference images
and then

1. validated in-process with :func:`mpistd.pipeline.validate_file` (any exception is a crash),
2. run through the command line in-process (``mpistd validate FILE --format json``; exit 3, an
   exception, a traceback or a non-JSON report is a crash; exit codes other than 0/1 too),
3. every ``--report-every`` documents, rendered as the HTML report (any exception is a crash).

Besides documents, a run mutates what comes *with* the data (``--modes``; by default a mix):

* ``config``: an ``mpistd.toml`` or ``pyproject.toml`` beside the dataset with random keys
  (known, misspelt, unknown, at the wrong level) and hostile values (NaN, ±inf, 1e308,
  zero, negative, strings for booleans, arrays, tables, empty globs, baselines that are
  /dev/zero, a FIFO, a folder or outside the tree) — exit 0, 1 or 2, never 3;
* ``names``: the dataset's file name (and its folder's) with newlines, ``::`` workflow
  commands, ``##[``, ESC/BEL/C1/bidi control characters and bytes that are not UTF-8 — exit
  0 or 1, and the text and JSON output hold no raw control character and no line that a CI
  runner would read as a command;
* ``layout``: the scanned folder holds FIFOs, symlink loops, dangling links, links to
  /dev/zero and links out of the folder (to a document holding a canary string) — exit 0 or
  1 (2 for an ``mpistd.toml`` that is a FIFO), no hang, and the canary never appears in the
  output.

A document taking longer than ``--timeout`` seconds counts as a crash (a hang). Each crashing
input is saved to ``--out`` with a ``.txt`` beside it (seed, index, reference, mutations,
traceback); rerun it with ``mpistd validate --debug FILE``. The run prints the number of
documents and of crashes, and exits 1 if there was any.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "hostile"))

import mutate  # noqa: E402  (tests/hostile/mutate.py: the same mutations as the property tests)

_STATE: dict = {}


class Hang(BaseException):
    """A case over its time limit. A BaseException, so that no ``except Exception`` in mpistd
    (the CLI's last line of defence, the per-dataset isolation) can turn a hang into an
    ordinary internal error: it always reaches the fuzz loop and is counted as a hang."""


def _alarm(signum, frame):  # pragma: no cover - only on a hang
    raise Hang("time limit exceeded")


def _init(timeout: float) -> None:
    refs = mutate.reference_documents()
    tmp = Path(tempfile.mkdtemp(prefix="mpistd-fuzz-"))
    # removed when this process ends (pool workers run multiprocessing's finalizers, not atexit)
    from multiprocessing.util import Finalize

    Finalize(None, shutil.rmtree, args=(str(tmp), True), exitpriority=10)
    _STATE.update(refs=refs, folder_for=mutate.workspace(tmp, refs), tmp=tmp, timeout=timeout)
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _alarm)
    # warm the imports so the first document's time is its own
    from mpistd.cli import cli  # noqa: F401
    from mpistd.pipeline import validate_file  # noqa: F401


def _strict_json(text: str) -> object:
    def refuse(name: str):
        raise ValueError(f"{name} in the JSON report")

    return json.loads(text, parse_constant=refuse)


MODES = ("document", "config", "names", "layout")
#: the mix of a default run: mostly documents
MODE_WEIGHTS = {"document": 0.55, "config": 0.2, "names": 0.15, "layout": 0.1}
CANARY = "CANARY-" + "c4n4ry" * 4


def _mode(rnd: random.Random, modes: tuple[str, ...]) -> str:
    weights = [MODE_WEIGHTS[m] for m in modes]
    return rnd.choices(modes, weights=weights)[0]


def run_one(seed: str, i: int, report_every: int, modes: tuple[str, ...] = MODES) -> dict:
    """Build case i of the run and validate it; a dict describing a crash, or {"ok": ...}."""
    rnd = random.Random(f"{seed}:{i}")
    mode = _mode(rnd, modes)
    if mode == "document":
        return _run_document(seed, i, report_every, rnd)
    return _run_surroundings(seed, i, mode, rnd)


def _run_document(seed: str, i: int, report_every: int, rnd: random.Random) -> dict:
    """A mutated reference document."""
    from click.testing import CliRunner

    from mpistd.cli import cli
    from mpistd.config import Options
    from mpistd.pipeline import validate_file

    ref = rnd.choice(_STATE["refs"])
    doc = copy.deepcopy(ref.doc)
    what = mutate.mutate(doc, rnd)
    raw, suffix = mutate.serialize(doc, rnd)
    folder = _STATE["folder_for"](ref)
    path = folder / f"fuzz-{os.getpid()}{suffix}"
    for old in folder.glob(f"fuzz-{os.getpid()}.*"):
        old.unlink()
    path.write_bytes(raw)
    stage = "validate_file"
    started = time.perf_counter()
    if hasattr(signal, "alarm"):
        signal.alarm(int(_STATE["timeout"]))
    try:
        result = validate_file(path, Options())
        errors = sum(1 for f in result.findings if f.severity.value == "error")
        stage = "cli"
        run = CliRunner().invoke(cli, ["validate", str(path), "--format", "json", "--jobs", "1"])
        if run.exception is not None and not isinstance(run.exception, SystemExit):
            raise run.exception
        if run.exit_code not in (0, 1):
            raise AssertionError(f"exit code {run.exit_code}: {run.stderr.strip()[:500]}")
        if "Traceback" in run.stdout + run.stderr:
            raise AssertionError("a traceback in the output")
        _strict_json(run.stdout)
        if run.exit_code != (1 if errors else 0):
            raise AssertionError(f"exit code {run.exit_code} but {errors} error findings")
        if report_every and i % report_every == 0:
            stage = "html report"
            from mpistd.render.report import report

            page = report(path, reproducible=True)
            if not isinstance(page, str):
                raise AssertionError("the report is not a page")
        return {"ok": True, "exit": run.exit_code, "seconds": time.perf_counter() - started, "mode": "document"}
    except BaseException as exc:  # noqa: BLE001 - everything is a finding of the fuzz run
        if isinstance(exc, KeyboardInterrupt):
            raise
        return {"ok": False, "index": i, "seed": seed, "reference": ref.name, "mutations": what, "stage": stage,
                "mode": "document", "hang": isinstance(exc, Hang),
                "error": f"{type(exc).__name__}: {str(exc)[:500]}", "traceback": traceback.format_exc(),
                "suffix": suffix, "input": raw, "seconds": time.perf_counter() - started}
    finally:
        if hasattr(signal, "alarm"):
            signal.alarm(0)


# ------------------------------------------------------------------------ what comes with the data

_HOSTILE_VALUES = [float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 0, -1, 0.0, 1, 30000, 2**63,
                   "", "false", "true", "off", "nan", "/dev/zero", "../outside.json", "x" * 300, "\x1b[2J",
                   "a\n::error::x", True, False, [], [""], ["**"], [1], {}, {"a": 1}, {"MPI020": "off"}]
_CONFIG_KEYS = ["profile", "strict", "exclude", "rules", "overrides", "tolerances", "limits", "baseline",
                "check_images", "profil", "Strict", "limit", "tolerance", "document_mib", "x\n::error::k"]
_TOLERANCES = ["r_squared_min", "prediction_alpha", "limit_alpha", "min_levels", "min_replicates",
               "limits_method", "mandel_alpha", "iron_mass_relative", "r_squared_mn"]
_LIMITS = ["document_mib", "image_mib", "documnt_mib"]
_RULES = ["MPI020", "MPI024", "MPI001", "MPI999", "mpi020", ""]


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v in (float("inf"), -float("inf")):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string is JSON's string syntax for these
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(x)}" for k, x in v.items()) + "}"
    return json.dumps(str(v))


def _random_config(rnd: random.Random, folder: Path) -> tuple[str, str]:
    """(file name, TOML text) of a hostile configuration."""
    lines: list[str] = []
    for _ in range(rnd.randint(1, 4)):
        kind = rnd.random()
        if kind < 0.3:
            lines.append(f"{json.dumps(rnd.choice(_CONFIG_KEYS))} = {_toml_value(rnd.choice(_HOSTILE_VALUES))}")
        elif kind < 0.55:
            lines += ["[tolerances]", f"{rnd.choice(_TOLERANCES)} = {_toml_value(rnd.choice(_HOSTILE_VALUES))}"]
        elif kind < 0.75:
            lines += ["[limits]", f"{rnd.choice(_LIMITS)} = {_toml_value(rnd.choice(_HOSTILE_VALUES))}"]
        elif kind < 0.85:
            lines += ["[rules]", f"{json.dumps(rnd.choice(_RULES))} = {_toml_value(rnd.choice(_HOSTILE_VALUES))}"]
        elif kind < 0.93:
            lines += ["[[overrides]]", f"paths = {_toml_value(rnd.choice(_HOSTILE_VALUES))}",
                      f"rules = {_toml_value(rnd.choice(_HOSTILE_VALUES))}"]
        else:
            target = rnd.choice(["/dev/zero", "fifo.json", "folder.json", "../outside.json", "big.json"])
            if target == "fifo.json" and not (folder / target).exists():
                os.mkfifo(folder / target)
            elif target == "folder.json":
                (folder / target).mkdir(exist_ok=True)
            elif target == "big.json":
                with open(folder / target, "wb") as fh:
                    fh.truncate(65 * 2**20)
            lines.append(f"baseline = {json.dumps(target)}")
    # TOML refuses a table defined twice: keep such a text anyway sometimes (a parse error is a case too)
    text = "\n".join(lines) + "\n"
    if rnd.random() < 0.4:
        return "pyproject.toml", ("[tool.mpistd]\n" if rnd.random() < 0.8 else rnd.choice(["tool = 5\n", "[tool]\nmpistd = 5\n"])) \
            + text.replace("[tolerances]", "[tool.mpistd.tolerances]").replace("[limits]", "[tool.mpistd.limits]") \
            .replace("[rules]", "[tool.mpistd.rules]").replace("[[overrides]]", "[[tool.mpistd.overrides]]")
    return "mpistd.toml", text


_NAME_PARTS = ["\n::error file=x::Injected", "::add-mask::s", "##[error]x", "\x1b[2J", "\x1b]52;c;eA==\x07",
               "\x9b", "\u202e", "\r::warning::", "\x07", "\t", " ", "::", "\udcff", "\udce9", "\udc80"]


def _hostile_name(rnd: random.Random) -> str:
    parts = [rnd.choice(_NAME_PARTS) for _ in range(rnd.randint(1, 3))]
    stem = "".join(parts) + rnd.choice(["", "d", "::x"])
    return stem.replace("/", "_") + rnd.choice([".mpical.json", ".mpical.yaml"])


def _bad_lines(text: str) -> list[str]:
    return [ln for ln in text.split("\n") if ln.lstrip().startswith("::") or "##[" in ln]


def _raw_controls(text: str) -> list[str]:
    return sorted({repr(c) for c in text if (ord(c) < 0x20 and c not in "\n") or 0x7f <= ord(c) < 0xa0
                   or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"})


def _layout(rnd: random.Random, folder: Path) -> list[str]:
    """Hostile entries beside the dataset; returns what was made."""
    made = []
    outside = Path(_STATE["tmp"]) / "outside"
    outside.mkdir(exist_ok=True)
    secret = outside / "secret.json"
    if not secret.exists():
        secret.write_text(json.dumps({"schema_version": CANARY, "dataset": {"title": CANARY}}))
    for k in range(rnd.randint(1, 4)):
        kind = rnd.choice(["fifo", "loop", "self-loop", "dangling", "dev-zero", "link-out", "dir-link-out",
                           "dir-loop", "link-in", "fifo-config"])
        name = folder / f"{kind}-{k}.mpical.json"
        try:
            if kind == "fifo":
                os.mkfifo(name)
            elif kind == "loop":
                os.symlink(folder / f"loop-b-{k}.mpical.json", name)
                os.symlink(name, folder / f"loop-b-{k}.mpical.json")
            elif kind == "self-loop":
                os.symlink(name, name)
            elif kind == "dangling":
                os.symlink(folder / "nowhere", name)
            elif kind == "dev-zero":
                os.symlink("/dev/zero", name)
            elif kind == "link-out":
                os.symlink(secret, name)
            elif kind == "dir-link-out":
                os.symlink(outside, folder / f"out-{k}")
            elif kind == "dir-loop":
                (folder / f"sub-{k}").mkdir()
                os.symlink("..", folder / f"sub-{k}" / "up")
            elif kind == "link-in":
                os.symlink(folder / "d.mpical.json", name)
            elif kind == "fifo-config" and not (folder / "mpistd.toml").exists():
                os.mkfifo(folder / "mpistd.toml")
        except FileExistsError:
            continue
        made.append(kind)
    return made


def _run_surroundings(seed: str, i: int, mode: str, rnd: random.Random) -> dict:
    """A valid or mutated document in a fresh folder, with a hostile config, name or layout."""
    from click.testing import CliRunner

    from mpistd.cli import cli

    ref = rnd.choice(_STATE["refs"])
    doc = copy.deepcopy(ref.doc)
    what: list[str] = []
    if rnd.random() < 0.3:
        what += mutate.mutate(doc, rnd)
    ascii_only = rnd.random() < 0.5
    try:
        raw = json.dumps(doc, ensure_ascii=ascii_only).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a mutation: only an escape can spell it
        raw = json.dumps(doc, ensure_ascii=True).encode("utf-8")
    case = Path(_STATE["tmp"]) / f"case-{os.getpid()}"
    shutil.rmtree(case, ignore_errors=True)
    folder = case / "data"
    folder.mkdir(parents=True)
    name = "d.mpical.json"
    allowed = (0, 1)
    fmt = rnd.choice(["text", "json", "sarif", "junit"])
    if mode == "config":
        cname, text = _random_config(rnd, folder)
        (folder / cname).write_text(text, encoding="utf-8")
        what.append(f"{cname}: {text[:300]!r}")
        allowed = (0, 1, 2)
    elif mode == "names":
        name = _hostile_name(rnd)
        if rnd.random() < 0.3:  # the folder's name too
            sub = "".join(rnd.choice(_NAME_PARTS) for _ in range(2)).replace("/", "_") or "f"
            folder = folder / sub
            os.makedirs(os.fsencode(folder), exist_ok=True)
        what.append(f"name {name!r}")
    else:
        what += _layout(rnd, folder)
        if "fifo-config" in what:  # a configuration that is a FIFO is a usage error (exit 2)
            allowed = (0, 1, 2)
    with open(os.fsencode(folder / name), "wb") as fh:
        fh.write(raw)
    stage = "cli"
    started = time.perf_counter()
    if hasattr(signal, "alarm"):
        signal.alarm(int(_STATE["timeout"]))
    try:
        args = ["validate", str(case / "data"), "--format", fmt, "--jobs", "1"]
        run = CliRunner().invoke(cli, args)
        if run.exception is not None and not isinstance(run.exception, SystemExit):
            raise run.exception
        if run.exit_code not in allowed:
            raise AssertionError(f"exit code {run.exit_code} (allowed {allowed}): {run.stderr.strip()[:500]}")
        if "Traceback" in run.stdout + run.stderr:
            raise AssertionError("a traceback in the output")
        if CANARY in run.stdout + run.stderr:
            raise AssertionError("the canary outside the folder reached the output")
        for where, text in (("stdout", run.stdout), ("stderr", run.stderr)):
            if _bad_lines(text):
                raise AssertionError(f"a workflow-command line in {where}: {_bad_lines(text)[:2]!r}")
            if _raw_controls(text):
                raise AssertionError(f"raw control characters in {where}: {_raw_controls(text)}")
        if fmt in ("json", "sarif") and run.exit_code in (0, 1):
            _strict_json(run.stdout)
        return {"ok": True, "exit": run.exit_code, "seconds": time.perf_counter() - started, "mode": mode}
    except BaseException as exc:  # noqa: BLE001 - everything is a finding of the fuzz run
        if isinstance(exc, KeyboardInterrupt):
            raise
        return {"ok": False, "index": i, "seed": seed, "reference": ref.name, "mutations": what, "stage": stage,
                "mode": mode, "hang": isinstance(exc, Hang),
                "error": f"{type(exc).__name__}: {str(exc)[:500]}", "traceback": traceback.format_exc(),
                "suffix": ".mpical.json", "input": raw, "seconds": time.perf_counter() - started}
    finally:
        if hasattr(signal, "alarm"):
            signal.alarm(0)


def _chunk(args: tuple[str, list[int], int, tuple[str, ...]]) -> list[dict]:
    seed, indices, report_every, modes = args
    out = []
    for i in indices:
        try:
            r = run_one(seed, i, report_every, modes)
        except Exception as exc:  # noqa: BLE001 - building the case failed: record it, keep going
            r = {"ok": False, "index": i, "seed": seed, "reference": "?", "mutations": [], "stage": "setup",
                 "mode": "?", "hang": False, "error": f"fuzz setup {type(exc).__name__}: {str(exc)[:500]}",
                 "traceback": traceback.format_exc(), "suffix": ".txt", "input": b""}
        out.append(r if not r["ok"] else {"ok": True, "exit": r["exit"], "mode": r["mode"]})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="number of mutated documents (default 2000)")
    ap.add_argument("--seed", default="0", help="seed of the run (any string; default 0)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    ap.add_argument("--out", type=Path, default=Path("fuzz-crashes"), help="where crashing inputs are saved")
    ap.add_argument("--report-every", type=int, default=20, help="render the HTML report of every K-th document "
                                                                  "(0: never)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per document before it counts as a hang")
    ap.add_argument("--modes", default=",".join(MODES),
                    help=f"comma-separated subset of {', '.join(MODES)} (default: all, mixed)")
    args = ap.parse_args(argv)
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    if not modes or any(m not in MODES for m in modes):
        ap.error(f"--modes: choose from {', '.join(MODES)}")

    started = time.perf_counter()
    jobs = max(1, args.jobs)
    slices = [list(range(k, args.n, jobs)) for k in range(jobs)]
    work = [(args.seed, s, args.report_every, modes) for s in slices if s]
    if jobs == 1:
        _init(args.timeout)
        results = [r for w in work for r in _chunk(w)]
    else:
        with ProcessPoolExecutor(max_workers=jobs, initializer=_init, initargs=(args.timeout,)) as pool:
            results = [r for chunk in pool.map(_chunk, work) for r in chunk]
    crashes = [r for r in results if not r["ok"]]
    exits = {0: 0, 1: 0, 2: 0}
    by_mode: dict[str, int] = {}
    for r in results:
        by_mode[r["mode"]] = by_mode.get(r["mode"], 0) + 1
        if r["ok"]:
            exits[r["exit"]] = exits.get(r["exit"], 0) + 1
    exit3 = sum(1 for c in crashes if c["error"].startswith("AssertionError: exit code 3"))
    hangs = sum(1 for c in crashes if c.get("hang") or "Hang: time limit" in c["error"])
    if crashes:
        args.out.mkdir(parents=True, exist_ok=True)
        for c in crashes:
            stem = args.out / f"crash-{c['seed']}-{c['index']:06d}"
            Path(str(stem) + c["suffix"]).write_bytes(c["input"])
            Path(str(stem) + ".txt").write_text(
                f"seed {c['seed']} index {c['index']}\nreference {c['reference']}\nmutations {c['mutations']}\n"
                f"stage {c['stage']}\n{c['error']}\n\n{c['traceback']}", encoding="utf-8")
    seconds = time.perf_counter() - started
    print(f"mpistd fuzz: seed {args.seed}, {len(results)} cases ("
          + ", ".join(f"{by_mode.get(m, 0)} {m}" for m in modes)
          + f") from {len(mutate.reference_documents())} references in {seconds:.0f} s: exit 0 for {exits.get(0, 0)}, "
          f"exit 1 for {exits.get(1, 0)}, exit 2 for {exits.get(2, 0)}; {len(crashes)} crash"
          f"{'es' if len(crashes) != 1 else ''} ({exit3} exit 3, {hangs} hang{'s' if hangs != 1 else ''})")
    for c in crashes[:20]:
        print(f"  #{c['index']} ({c['mode']}, {c['reference']}, {c['stage']}): {c['error'][:200]}")
    if crashes:
        print(f"crashing inputs saved to {args.out}/")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
