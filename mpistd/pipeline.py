"""The validation pipeline for one dataset, and the public :func:`validate`.

    path ──load──▶ document ──schema──▶ MPI001–MPI003 ──references──▶ MPI004
         ──model──▶ Dataset ──quantities──▶ DatasetQuantities ──rules──▶ hits
         ──profile, config, suppressions, baseline, locations──▶ DatasetResult

Each stage only looks forward. A document that fails the schema or its references is not
quantified: its findings say what to fix first.
"""
from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from mpistd.config import Options
from mpistd.findings import DatasetResult, Finding, Report, Severity, Suppressed, sort_findings
from mpistd.load.documents import (
    Document,
    DocumentError,
    DocumentTooLarge,
    document_from_mapping,
    escape_pointer_token,
    pointer_parts,
    read_document,
    sha256_file,
)

INLINE_KEY = "x-mpistd-ignore"


class Emitter:
    """Turns (rule, pointer, message) into located findings, applying the options.

    The only place where severities are re-levelled and findings silenced, so every
    renderer sees the same verdict.
    """

    def __init__(self, doc: Document | None, options: Options, file: str, dataset_path: Path | None,
                 *, like: "Emitter | None" = None):
        """``like``: an emitter for the same document, options and file, whose reading of the
        document (its inline suppressions) this one shares instead of repeating it."""
        self.doc = doc
        self.options = options
        self.file = file
        self.dataset_path = dataset_path
        self.findings: list[Finding] = []
        self.suppressed: list[Suppressed] = []
        self._inline: dict[str, list[tuple[str, str]]]
        if like is not None:
            self._inline = like._inline
        else:
            # a document that never mentions the key has no inline suppressions: skip the walk
            has_inline = doc is not None and (doc.kind == "mapping" or INLINE_KEY in doc.text)
            self._inline = _inline_suppressions(doc.data) if doc is not None and has_inline else {}
        self._anywhere: dict[str, tuple[str, tuple[str, str] | None]] = {}

    def fresh(self) -> "Emitter":
        """A new emitter (no findings) for the same document, options and file."""
        return Emitter(self.doc, self.options, self.file, self.dataset_path, like=self)

    def disposition_anywhere(self, rule_id: str) -> tuple[str, tuple[str, str] | None] | None:
        """What :meth:`emit` would make of a finding of ``rule_id`` (at its default severity)
        wherever in this document it were raised: (severity value, (source, reason) when it
        would be suppressed by the options, else None). None when the answer depends on the
        pointer (the document has inline suppressions, or the options a baseline): then emit."""
        if self._inline or self.options.baseline:
            return None
        known = self._anywhere.get(rule_id)
        if known is None:
            from mpistd.rules.registry import get_rule

            default = get_rule(rule_id).severity
            level, source, reason = self.options.resolve(rule_id, default, self.dataset_path)
            known = self._anywhere[rule_id] = ((level or default).value,
                                               (source, reason) if level is None else None)
        return known

    def emit(self, rule_id: str, pointer: str, message: str, severity: Severity | None = None,
             line: int | None = None, column: int | None = None, metric: str | None = None) -> None:
        from mpistd.rules.registry import get_rule

        rule = get_rule(rule_id)
        default = severity or rule.severity
        if line is None and self.doc is not None:
            line, column = self.doc.locate(pointer)
        level, source, reason = self.options.resolve(rule_id, default, self.dataset_path)
        finding = Finding(
            rule=rule_id,
            severity=level or default,
            message=message,
            pointer=pointer,
            file=self.file,
            line=line,
            column=column,
            rationale=rule.rationale,
            remedy=rule.remedy,
            metric=metric,
        )
        if level is None:
            self.suppressed.append(Suppressed(finding, source, reason))
            return
        if rule.suppressible:
            inline = self._inline_reason(rule_id, pointer)
            if inline is not None:
                self.suppressed.append(Suppressed(finding, "inline", inline))
                return
            if _in_baseline(finding.fingerprint, self.options.baseline):
                self.suppressed.append(Suppressed(finding, "baseline", "present in the baseline"))
                return
        self.findings.append(finding)

    def _inline_reason(self, rule_id: str, pointer: str) -> str | None:
        if not self._inline:
            return None
        parts = pointer_parts(pointer)
        prefix = ""
        candidates = [""]
        for part in parts:
            prefix = f"{prefix}/{part.replace('~', '~0').replace('/', '~1')}"
            candidates.append(prefix)
        for p in candidates:
            for rid, reason in self._inline.get(p, ()):
                if rid == rule_id:
                    return reason
        return None


def _in_baseline(fp: tuple[str, str, str, str | None], baseline: frozenset[tuple[str, str, str, str | None]]) -> bool:
    """A v2 baseline entry matches rule, file, pointer and metric; a v1 entry (metric None) any metric."""
    return bool(baseline) and (fp in baseline or fp[:3] + (None,) in baseline)


def _inline_suppressions(data: Any) -> dict[str, list[tuple[str, str]]]:
    """Map object pointer -> [(rule, reason)] from every `x-mpistd-ignore` in the document."""
    out: dict[str, list[tuple[str, str]]] = {}
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        pointer, node = stack.pop()
        if isinstance(node, dict):
            entries = node.get(INLINE_KEY)
            if isinstance(entries, list):
                for e in entries:
                    if isinstance(e, dict) and isinstance(e.get("rule"), str):
                        out.setdefault(pointer, []).append((e["rule"], str(e.get("reason", ""))))
            for k, v in node.items():
                if isinstance(v, (dict, list)):
                    stack.append((f"{pointer}/{k.replace('~', '~0').replace('/', '~1')}", v))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                if isinstance(v, (dict, list)):
                    stack.append((f"{pointer}/{i}", v))
    return out


# ----------------------------------------------------------------------------------------------


def validate_file(path: Path, options: Options, display: str | None = None, *, keep_quantities: bool = True,
                  refusal: str | None = None) -> DatasetResult:
    """Validate one dataset file (any name: a file named on the command line is read).

    Never raises for one dataset's sake: an unexpected exception (a bug in mpistd) becomes this
    dataset's own result with ``status = "internal_error"``, so the other datasets of a run
    are still judged and reported (the run then exits 3). ``refusal`` (from a folder scan: a
    FIFO, a link out of the scanned folder, a link loop) is reported as MPI001 without
    opening the path.
    """
    from mpistd._text import display_name

    started = time.perf_counter()
    display = display or display_name(path)
    try:
        return _validate_file(path, options, display, keep_quantities, refusal, started)
    except Exception as exc:  # noqa: BLE001 - one dataset's bug must not end the run
        return internal_error_result(display, exc, time.perf_counter() - started)


def internal_error_result(display: str, exc: BaseException, seconds: float | None = None) -> DatasetResult:
    """The result of a dataset that mpistd failed on: the error's type and message, the
    traceback kept for --debug."""
    import traceback

    message = str(exc)[:2000] or type(exc).__name__
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return DatasetResult(path=display, status="internal_error", seconds=seconds,
                         error={"type": type(exc).__name__, "message": message}, traceback=tb)


def _validate_file(path: Path, options: Options, display: str, keep_quantities: bool, refusal: str | None,
                   started: float) -> DatasetResult:
    result = DatasetResult(path=display)
    emitter = Emitter(None, options, display, path)
    if refusal is not None:
        emitter.emit("MPI001", "", refusal, line=1, column=1)
        result.findings = sort_findings(emitter.findings)
        result.seconds = time.perf_counter() - started
        return result
    try:
        doc = read_document(path, max_bytes=options.max_document_bytes)
    except DocumentTooLarge as exc:
        emitter.emit("MPI005", "", f"{exc}; raise [limits] document_mib if this is intended", line=1, column=1)
    except DocumentError as exc:
        emitter.emit("MPI001", "", exc.message, line=exc.line, column=exc.column)
    except OSError as exc:
        emitter.emit("MPI001", "", f"cannot read the file: {exc.strerror or exc}", line=1, column=1)
    else:
        result.sha256 = doc.sha256
        _validate_document(doc, path.parent, options, result, display, path, keep_quantities)
        result.seconds = time.perf_counter() - started
        return result
    result.findings = sort_findings(emitter.findings)
    result.suppressed = emitter.suppressed
    if result.sha256 is None:
        result.sha256 = sha256_file(path, options.max_document_bytes)
    result.seconds = time.perf_counter() - started
    return result


def validate_mapping(data: Mapping[str, Any], base_dir: Path | None, options: Options, display: str = "<mapping>",
                     *, keep_quantities: bool = True) -> DatasetResult:
    doc = document_from_mapping(data)
    result = DatasetResult(path=display, sha256=doc.sha256)
    _validate_document(doc, base_dir, options, result, display, None, keep_quantities)
    return result


def _validate_document(doc: Document, base_dir: Path | None, options: Options, result: DatasetResult,
                       display: str, path: Path | None, keep_quantities: bool) -> None:
    from mpistd.standard import schema

    emitter = Emitter(doc, options, display, path)
    data = doc.data
    if isinstance(data, dict):
        sv = data.get("schema_version")
        result.schema_version = sv if isinstance(sv, str) else None
        info = data.get("dataset")
        if isinstance(info, dict) and isinstance(info.get("title"), str):
            result.title = info["title"][:500]
    problems = schema.check_document(data)
    for p in problems:
        emitter.emit(p.rule, p.pointer, p.message)
    if not problems:
        from mpistd.standard.references import check_references

        for ref in check_references(data):
            emitter.emit("MPI004", ref.pointer, ref.message)
    if not emitter.findings and not any(s.finding.rule in ("MPI002", "MPI003", "MPI004") for s in emitter.suppressed):
        # a file's document holds JSON values only (the loader refuses the rest): once the schema
        # has passed, the plain typed view stands in for the pydantic model (tests/core/test_view.py);
        # an in-memory mapping (path None) may hold a NaN or a tuple, which the model refuses
        _run_rules(doc, base_dir, options, emitter, result, keep_quantities, json_values=path is not None)
    result.findings = sort_findings(emitter.findings)
    result.suppressed = emitter.suppressed


def _run_rules(doc: Document, base_dir: Path | None, options: Options, emitter: Emitter,
               result: DatasetResult, keep_quantities: bool, *, json_values: bool = False) -> None:
    from mpistd.quantities import compute_quantities
    from mpistd.rules.registry import RuleContext, checks

    if json_values:
        from mpistd.standard.view import view_dataset

        model: Any = view_dataset(doc.data)
    else:
        model = _parse_model(doc, emitter)
        if model is None:
            return
    quantities = compute_quantities(model, base_dir=base_dir, options=options)
    ctx = RuleContext(model=model, document=doc.data, quantities=quantities, options=options)
    for rule in checks():
        if rule.check is None:  # checks() only returns rules with a check; this tells the type checker
            continue
        for hit in rule.check(ctx):
            emitter.emit(rule.id, hit.pointer, hit.message, hit.severity, metric=hit.metric)
    # an image over the size limit is a structure finding (MPI005, at the image), not MPI014
    for pointer, image in quantities.images.items():
        if image.error_kind == "too_large":
            emitter.emit("MPI005", f"{pointer}/image", f"{image.error}; raise [limits] image_mib if this is intended")
    if keep_quantities:
        result.quantities = quantities.to_dict()
    # the repository view's plain data (mpistd/comparability.py), probed with a fresh emitter
    from mpistd.comparability import describe

    result.repository = describe(model, quantities, options, emitter.fresh())


def _parse_model(doc: Document, emitter: Emitter) -> Any:
    """The pydantic model of a schema-valid document, or None after MPI002 findings."""
    from pydantic import ValidationError

    from mpistd.standard.model import parse_dataset

    try:
        return parse_dataset(doc.data)
    except ValidationError as exc:
        # the schema passed what the model refuses: values no JSON file can hold (an in-memory
        # mapping's NaN, tuple, lone surrogate, int beyond a double). A finding, not a crash.
        for err in exc.errors(include_url=False, include_input=False):
            pointer = "".join(f"/{escape_pointer_token(p)}" for p in err.get("loc", ()))
            message = f"{err.get('msg', 'invalid value')} (not a JSON value the schema describes)"
            emitter.emit("MPI002", pointer, message)
        return None


# ----------------------------------------------------------------------------------------------
# the public API


def validate(
    target: str | os.PathLike[str] | Mapping[str, Any] | Iterable[str | os.PathLike[str]],
    base_dir: str | os.PathLike[str] | None = None,
    *,
    profile: str | None = None,
    strict: bool | None = None,
    config: str | os.PathLike[str] | None = None,
    options: Options | None = None,
    reproducible: bool = False,
    isolated: bool = False,
    follow_symlinks: bool = False,
) -> Report:
    """Validate a dataset file, a folder of datasets, several paths, or an in-memory mapping.

    A mapping needs ``base_dir`` to resolve image paths (without it, images are reported as
    missing). Returns a :class:`~mpistd.findings.Report` with ``.findings``, ``.ok`` and
    ``.to_dict()``; raises FileNotFoundError for a path that does not exist and
    :class:`~mpistd.config.ConfigError` for a bad configuration. ``isolated`` ignores
    configuration files found beside the data; ``follow_symlinks`` follows links out of a
    scanned folder. A dataset mpistd fails on is a result with ``status == "internal_error"``
    (``report.exit_code`` is then 3); the others are judged in full. The run is the command
    line's (:func:`run` below): the repository rules (MPI060–MPI062) over the datasets given, and
    ``report.run`` the run record, as ``mpistd validate`` (one process: results in memory).
    """
    from mpistd.collect import collect

    opts = options or Options()
    if profile is not None:
        opts = opts.with_(profile=profile)
    if strict is not None:
        opts = opts.with_(strict=strict)
    config_path = Path(config) if config else None
    if isinstance(target, Mapping):
        from mpistd._environment import require_dependencies

        require_dependencies()
        if config_path is not None:
            from mpistd.config import load_config

            opts = load_config(config_path, opts)
        result = validate_mapping(target, Path(base_dir) if base_dir else None, opts)
        return finish_one(result, opts, config=config_path, reproducible=reproducible)
    paths = [target] if isinstance(target, (str, os.PathLike)) else list(target)
    jobs = collect([Path(p) for p in paths], opts, config_path, isolated=isolated, follow_symlinks=follow_symlinks)
    # the command line's run (run() below): the repository rules and the run record included
    return run(jobs, opts, config=config_path, jobs=1, keep_quantities=True, reproducible=reproducible)


def _report(results: Sequence[DatasetResult], opts: Options, reproducible: bool) -> Report:
    from datetime import datetime, timezone

    created = None if reproducible else datetime.now(timezone.utc).isoformat(timespec="seconds")
    return Report(results=results, profile=opts.profile, strict=opts.strict, created=created)


# ----------------------------------------------------------------------------------------------
# the run over selected datasets, shared by `mpistd validate` (and report, baseline) and
# :func:`validate`: validate every dataset (in a process pool when worthwhile), fold each
# dataset's repository record as it arrives (mpistd.repository.Fold), then the repository step
# (the repository rules over the whole run, never on a shard; the run record `mpistd merge`
# checks). The results are kept in a list, or (store=True, the command line's validate) in a
# mpistd.store.ResultStore on disk, packed by the worker that made them: the parent's memory
# does not grow with the number of datasets and the parent does little per result (it writes
# the bytes it receives and folds a small record).

_TOKENS = itertools.count()
#: per run (token): the repository groups this process has described already (dataset_record)
_KNOWN: dict[str, set[str]] = {}


def run(selected: list[Any], base: Any, *, config: Path | None = None, shard: tuple[int, int] | None = None,
        jobs: int | None = 1, keep_quantities: bool = True, reproducible: bool = False, store: bool = False,
        with_repository: bool = True, own_process: bool = False) -> Report:
    """Validate the collected datasets ``selected`` (mpistd.collect) and return the run's Report.

    ``base``: the options before any configuration file (the command line's, or the API's);
    ``jobs``: worker processes (None: the CPU count); ``store``: keep the results on disk
    (``with_repository``: read their repository blocks back with them, for the JSON result and
    the summary); ``own_process``: this process is mpistd's own (the command line), so its
    garbage collector may be tuned (:func:`_own_process_gc`), never a library caller's. A dataset
    mpistd fails on is that dataset's internal-error result; the others are judged in full (the
    report's exit code is then 3)."""
    from functools import partial

    from mpistd._environment import require_dependencies
    from mpistd.repository import Fold
    from mpistd.store import ResultStore

    require_dependencies()  # a broken installation is exit 2 naming the package, not a bug per dataset
    token = f"{os.getpid()}-{next(_TOKENS)}"
    fold = Fold()
    results: Any = ResultStore(with_repository=with_repository) if store else []

    def accept(item: Any) -> None:
        i = len(results)
        if store:
            results.append_packed(item, selected[i].display)
            fold.add(i, item.record)
        else:
            result, record = item
            results.append(result)
            fold.add(i, record)

    packed = with_repository if store else None  # None: not packed; else pack with or without the blocks
    work = partial(_work, keep_quantities=keep_quantities, reproducible=reproducible, token=token, packed=packed)
    failed = partial(_prepared, reproducible=reproducible, token=token, packed=packed)
    try:
        _validate_jobs(selected, jobs, work, accept, lambda: len(results), failed, own_process=own_process)
    finally:
        _KNOWN.pop(token, None)
    # the report's profile/strict: the command line's, else the (single) configuration's
    profiles = {j.options.profile for j in selected}
    stricts = {j.options.strict for j in selected}
    opts = base.with_(profile=profiles.pop() if len(profiles) == 1 else base.profile,
                      strict=stricts.pop() if len(stricts) == 1 else base.strict)
    return finish(results, fold, opts, base, config=config, shard=shard, reproducible=reproducible)


def finish(results: Any, fold: Any, opts: Any, base: Any, *, config: Path | None, shard: tuple[int, int] | None,
           reproducible: bool) -> Report:
    """The Report of a run's results, after the repository step."""
    from mpistd.repository import apply_rules, run_record

    report = _report(results, opts, reproducible)
    if shard is None:  # a fresh run's results hold no repository findings yet
        apply_rules(results, fold, drop_previous=False)
    report.run = run_record(shard=shard, options=run_options_record(base, config), repository_rules=shard is None)
    return report


def finish_one(result: DatasetResult, opts: Any, *, config: Path | None, reproducible: bool) -> Report:
    """The Report of one dataset validated in memory (an API mapping), with the repository step."""
    from mpistd.repository import Fold

    result, record = _prepared(result, reproducible=reproducible, token=None, packed=None)
    fold = Fold()
    fold.add(0, record)
    return finish([result], fold, opts, opts, config=config, shard=None, reproducible=reproducible)


def run_options_record(base: Any, config: Path | None) -> dict[str, Any]:
    """What `mpistd merge` requires to be equal across shards (hashed into the report's run record)."""
    import hashlib

    config_sha = None
    if config is not None:
        try:
            config_sha = hashlib.sha256(Path(config).read_bytes()).hexdigest()
        except OSError:
            config_sha = "unreadable"
    return {"profile": base.profile, "strict": base.strict, "select": list(base.select or []) or None,
            "ignore": list(base.ignore), "baseline": sorted(map(list, base.baseline)), "config": config_sha}


# ------------------------------------------------------------------------------------ one dataset


def _work(job: Any, *, keep_quantities: bool, reproducible: bool, token: str, packed: bool | None) -> Any:
    """Validate one dataset (in a worker, or in the parent) and prepare what goes to the parent."""
    result = validate_file(job.path, job.options, job.display, keep_quantities=keep_quantities, refusal=job.refusal)
    return _prepared(result, reproducible=reproducible, token=token, packed=packed)


def _prepared(result: DatasetResult, *, reproducible: bool, token: str | None, packed: bool | None) -> Any:
    """The result with its repository record (mpistd.repository.dataset_record): packed for the
    store (``packed``: True with its repository block, False with only what the repository rules
    read back) or, ``packed`` None, as (result, record)."""
    from mpistd.repository import dataset_record

    if reproducible:  # --reproducible: no timings either (JUnit's time), as a merged result has none
        result.seconds = None
    record = dataset_record(result.repository, _KNOWN.setdefault(token, set()) if token is not None else None)
    if packed is not None:
        from mpistd.store import pack

        return pack(result, record, with_repository=packed)
    return result, record


# ------------------------------------------------------------------------------------ the loop


def _validate_jobs(selected: list[Any], jobs: int | None, work: Callable[[Any], Any], accept: Callable[[Any], None],
                   done: Callable[[], int], failed: Callable[[DatasetResult], Any], *,
                   own_process: bool = False) -> None:
    """Validate ``selected`` in order, passing each prepared result to ``accept`` as it arrives
    (``own_process``: see :func:`run`; workers are always mpistd's own)."""
    n = jobs or os.cpu_count() or 1
    show_progress = sys.stderr.isatty() and len(selected) > 5
    if n <= 1 or len(selected) < 4:
        if own_process:
            _warm_up()
            _own_process_gc()
        _with_progress(map(work, selected), len(selected), show_progress, accept)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    _warm_up()
    if own_process:  # the parent too: it unpickles and keeps every result
        _own_process_gc()
    chunk = max(1, min(32, len(selected) // (n * 4)))
    # fork (where available) so that workers inherit the warmed-up modules and compiled schema
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(max_workers=min(n, len(selected)), mp_context=context,
                             initializer=_worker_start) as pool:
        try:
            _with_progress(pool.map(work, selected, chunksize=chunk), len(selected), show_progress, accept)
        except BrokenProcessPool as exc:
            # a worker died (killed, out of memory): what it and the pool had not finished is
            # reported as internal errors; everything that did finish is kept
            for j in selected[done():]:
                accept(failed(internal_error_result(j.display, exc)))


def _worker_start() -> None:
    """In each worker (a process of mpistd's own): :func:`_own_process_gc`; the inherited pages
    then also stay shared with the parent."""
    _own_process_gc()


#: the youngest generation's collection threshold in mpistd's own processes (Python's default: 700)
GC_YOUNG_THRESHOLD = 5000


def _own_process_gc() -> None:
    """The garbage collector of a process that is mpistd's own (a worker, the command line's
    single process), after the warm-up: what was imported and compiled lives as long as the
    process, so it is moved out of the collector's generations (``gc.freeze``) and the full
    collections no longer walk it; and the youngest generation is collected after 5,000 new
    containers instead of 700 (a dataset makes a few thousand short-lived ones, nearly all freed
    by reference counting, so most of those collections freed nothing). On the 1,000-dataset
    bench tree the collector's time went from 0.25 s to 0.02 s. Never in a library caller's
    process: its objects and its collector's settings are its own."""
    import gc

    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def _warm_up() -> None:
    """Import the pipeline's modules and compile the schema once, before workers fork."""
    import mpistd.comparability  # noqa: F401
    import mpistd.quantities  # noqa: F401
    import mpistd.repository  # noqa: F401
    import mpistd.rules.registry as registry
    import mpistd.store  # noqa: F401
    from mpistd.quantify import _stats
    from mpistd.standard import schema, view  # noqa: F401  (files are read through the view, not pydantic)

    registry.all_rules()
    _stats.t_quantile(0.975, 10)
    for version in schema.SUPPORTED_VERSIONS:
        schema.fast_is_valid({}, version)


def _with_progress(iterator: Iterable[Any], total: int, show: bool, accept: Callable[[Any], None]) -> None:
    if not show:
        for item in iterator:  # results arrive in order; on an exception the finished ones are accepted
            accept(item)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("validating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True) as progress:
        task = progress.add_task("validate", total=total)
        for item in iterator:
            accept(item)
            progress.advance(task)
