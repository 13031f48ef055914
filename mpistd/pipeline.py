"""The validation pipeline for one dataset, and the public :func:`validate`.

    path ──load──▶ document ──schema──▶ MPI001–MPI003 ──references──▶ MPI004
         ──model──▶ Dataset ──quantities──▶ DatasetQuantities ──rules──▶ hits
         ──profile, config, suppressions, baseline, locations──▶ DatasetResult

Each stage only looks forward. A document that fails the schema or its references is not
quantified: its findings say what to fix first.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

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

    def __init__(self, doc: Document | None, options: Options, file: str, dataset_path: Path | None):
        self.doc = doc
        self.options = options
        self.file = file
        self.dataset_path = dataset_path
        self.findings: list[Finding] = []
        self.suppressed: list[Suppressed] = []
        # a document that never mentions the key has no inline suppressions: skip the walk
        has_inline = doc is not None and (doc.kind == "mapping" or INLINE_KEY in doc.text)
        self._inline = _inline_suppressions(doc.data) if doc is not None and has_inline else {}
        self._anywhere: dict[str, tuple[str, tuple[str, str] | None]] = {}

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

    result.repository = describe(model, quantities, options, Emitter(doc, options, emitter.file, emitter.dataset_path))


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
    (``report.exit_code`` is then 3); the others are judged in full.
    """
    from mpistd.collect import collect

    opts = options or Options()
    if profile is not None:
        opts = opts.with_(profile=profile)
    if strict is not None:
        opts = opts.with_(strict=strict)
    if isinstance(target, Mapping):
        if config is not None:
            from mpistd.config import load_config

            opts = load_config(Path(config), opts)
        result = validate_mapping(target, Path(base_dir) if base_dir else None, opts)
        results = [result]
    else:
        paths = [target] if isinstance(target, (str, os.PathLike)) else list(target)
        jobs = collect([Path(p) for p in paths], opts, Path(config) if config else None, isolated=isolated,
                       follow_symlinks=follow_symlinks)
        results = [validate_file(j.path, j.options, j.display, refusal=j.refusal) for j in jobs]
    return _report(results, opts, reproducible)


def _report(results: list[DatasetResult], opts: Options, reproducible: bool) -> Report:
    from datetime import datetime, timezone

    created = None if reproducible else datetime.now(timezone.utc).isoformat(timespec="seconds")
    return Report(results=results, profile=opts.profile, strict=opts.strict, created=created)
