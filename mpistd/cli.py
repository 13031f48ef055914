"""The `mpistd` command: a thin layer over the Python API.

Exit codes (STANDARD.md, "Findings"): 0 no finding at the failing level; 1 findings at the
failing level; 2 usage error, a path that does not exist or an empty selection; 3 internal
error (a bug: one line asking to report it; the traceback only with --debug). Over many
files the highest code wins.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable

import click

from mpistd import SCHEMA_VERSION, __version__

OUTPUT_FORMATS = ("text", "json", "sarif", "junit")
ISSUES_URL = "https://github.com/mpistd/mpistd/issues"


class InternalError(click.ClickException):
    exit_code = 3


def _guard(debug: bool, func: Callable[[], int]) -> int:
    """Run a command body: usage problems exit 2, bugs exit 3 with one line."""
    from mpistd._environment import (
        EnvironmentProblem,
        is_missing_pdf_library,
        missing_extra,
        pdf_library_message,
    )
    from mpistd._atomic import OutputError
    from mpistd._text import clean
    from mpistd.collect import SelectionError
    from mpistd.config import ConfigError

    try:
        return func()
    except (SelectionError, ConfigError, EnvironmentProblem, OutputError) as exc:
        click.echo(f"mpistd: {clean(str(exc))}", err=True)
        return 2
    except ImportError as exc:
        problem = missing_extra(exc)
        if problem is None:
            return _internal_error(debug, exc)
        click.echo(f"mpistd: {problem}", err=True)
        return 2
    except OSError as exc:
        if is_missing_pdf_library(exc):
            click.echo(f"mpistd: {pdf_library_message(str(exc).strip().splitlines()[0][:200] if str(exc).strip() else '')}",
                       err=True)
            return 2
        return _internal_error(debug, exc)
    except click.exceptions.Exit:
        raise
    except click.ClickException:
        raise
    except KeyboardInterrupt:
        click.echo("mpistd: interrupted", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        return _internal_error(debug, exc)


def _internal_error(debug: bool, exc: BaseException) -> int:
    if debug:
        import traceback

        traceback.print_exception(exc)
    from mpistd._text import clean

    click.echo(
        f"mpistd: internal error ({type(exc).__name__}: {clean(str(exc)[:200])}). This is a bug in mpistd "
        f"{__version__}: please report it at {ISSUES_URL} (rerun with --debug for the traceback).",
        err=True,
    )
    return 3


def _require(*modules: str) -> None:
    """Import the optional modules a command needs before it starts: a missing one is a MissingExtra
    (exit 2, naming ``pip install 'mpistd[EXTRA]'``) before any work is done."""
    import importlib

    from mpistd._environment import missing_extra

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise (missing_extra(exc) or exc) from None


def _parse_shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        i, n = (int(x) for x in value.split("/"))
    except ValueError:
        raise click.BadParameter("use I/N, e.g. 2/4", param_hint="--shard") from None
    if not (n >= 1 and 1 <= i <= n):
        raise click.BadParameter(f"{value}: need 1 <= I <= N", param_hint="--shard")
    return (i, n)


def _parse_outputs(values: tuple[str, ...], formats: tuple[str, ...] = OUTPUT_FORMATS) -> list[tuple[str, Path]]:
    out = []
    for v in values:
        fmt, sep, path = v.partition(":")
        if not sep or fmt not in formats or not path:
            raise click.BadParameter(f"{v!r}: use FORMAT:PATH with FORMAT one of {', '.join(formats)}",
                                     param_hint="--output")
        out.append((fmt, Path(path)))
    return out


def _split_rules(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(r.strip().upper() for v in values for r in v.split(",") if r.strip())


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", message=f"mpistd %(version)s (standard {SCHEMA_VERSION})")
def cli() -> None:
    """mpistd: conformance and validation of MPI calibration datasets."""


# ------------------------------------------------------------------------------------- validate
def _common_options(func: Callable) -> Callable:
    opts = [
        click.option("--profile", type=click.Choice(["default", "publication"]), default=None,
                     help="Severity profile (publication makes reporting gaps errors)."),
        click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Configuration file (default: nearest mpistd.toml or pyproject.toml [tool.mpistd])."),
        click.option("--strict", is_flag=True, default=False, help="Warnings fail too (exit 1)."),
        click.option("--select", multiple=True, help="Only these rules (ids or prefixes, comma-separated)."),
        click.option("--ignore", multiple=True, help="Silence these rules (ids or prefixes, comma-separated)."),
        click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Baseline file: findings in it are listed as suppressed, only new ones fail."),
        click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
                     help="Worker processes (default: the CPU count)."),
        click.option("--shard", default=None, metavar="I/N", help="Validate only the I-th of N slices of the datasets."),
        click.option("--isolated", is_flag=True, default=False,
                     help="Ignore configuration files found beside the data (mpistd.toml, pyproject.toml): "
                          "for validating third-party datasets (only --config applies)."),
        click.option("--follow-symlinks", "follow_symlinks", is_flag=True, default=False,
                     help="In folder scans, also follow symbolic links that lead out of the scanned folder."),
        click.option("--debug", is_flag=True, default=False, help="Show tracebacks of internal errors."),
    ]
    for o in reversed(opts):
        func = o(func)
    return func


def _base_options(profile: str | None, strict: bool, select: tuple[str, ...], ignore: tuple[str, ...],
                  baseline: Path | None) -> Any:
    from mpistd.config import Options, load_baseline

    opts = Options()
    changes: dict[str, Any] = {}
    if profile:
        changes["profile"] = profile
    if strict:
        changes["strict"] = True
    if select:
        changes["select"] = _split_rules(select)
    if ignore:
        changes["ignore"] = _split_rules(ignore)
    if baseline is not None:
        changes["baseline"] = load_baseline(baseline)
    _check_rule_ids(changes.get("select", ()) + changes.get("ignore", ()))
    return opts.with_(**changes)


def _check_rule_ids(ids: tuple[str, ...]) -> None:
    from mpistd.rules.registry import known_rule_ids

    known = known_rule_ids()
    for r in ids:
        if not any(k.startswith(r) for k in known):
            raise click.BadParameter(f"{r!r} matches no rule (see 'mpistd rules')", param_hint="--select/--ignore")


def run_validation(paths: tuple[Path, ...], config: Path | None, base: Any, jobs: int | None,
                   shard: tuple[int, int] | None, keep_quantities: bool, reproducible: bool = False, *,
                   isolated: bool = False, follow_symlinks: bool = False, selected: list[Any] | None = None,
                   store: bool = False, with_repository: bool = True) -> Any:
    """Collect datasets and validate them (mpistd.pipeline.run, shared with the Python API); returns a Report.

    A dataset mpistd fails on is that dataset's internal-error result; the others are judged
    in full (the report's exit code is then 3). ``store``: the results are kept on disk
    (mpistd/store.py), ``with_repository`` read back with their repository blocks."""
    from mpistd.collect import collect
    from mpistd.pipeline import run

    if selected is None:
        selected = collect(list(paths), base, config, shard, isolated=isolated, follow_symlinks=follow_symlinks)
    if not selected:
        from mpistd.collect import SelectionError

        raise SelectionError("this shard selects no datasets")
    return run(selected, base, config=config, shard=shard, jobs=jobs, keep_quantities=keep_quantities,
               reproducible=reproducible, store=store, with_repository=with_repository,
               own_process=_OWN_PROCESS)


def use_colour(stream: Any = None) -> bool:
    """Colour on a terminal; ``NO_COLOR`` (non-empty) turns it off, ``FORCE_COLOR`` (non-empty) on
    where there is no terminal (CI logs). NO_COLOR wins when both are set (no-color.org, force-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    stream = stream if stream is not None else sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def render_report(report: Any, fmt: str, colour: bool = False, srcroot: Path | None = None,
                  sarif_category: str | None = None, terminal: bool = False, debug: bool = False) -> str:
    if fmt == "json":
        from mpistd.render.json import render_json

        return render_json(report)
    if fmt == "sarif":
        from mpistd.render.sarif import render_sarif
        from mpistd.rules.registry import all_rules

        return render_sarif(report, all_rules(), srcroot=srcroot, category=sarif_category)
    if fmt == "junit":
        from mpistd.render.junit import render_junit
        from mpistd.rules.registry import all_rules

        return render_junit(report, all_rules())
    from mpistd.render.text import render_text, summary_table

    text = render_text(report, colour=colour, debug=debug)
    if len(report.results) > 1:
        # paths are cut (from the left) only to fit a terminal, never in logs and files
        text = summary_table(report, colour=colour, max_width=70 if terminal else None) + "\n" + text
    return text


def render_pieces(report: Any, fmt: str, **kwargs: Any) -> Any:
    """:func:`render_report`'s text in pieces: the JSON result one dataset at a time (a run over
    many datasets never holds the whole text), the other formats in one piece."""
    if fmt == "json":
        from mpistd.render.json import iter_json

        return iter_json(report)
    return iter([render_report(report, fmt, **kwargs)])


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="text", help="Output on stdout.")
@click.option("--output", "-o", "outputs", multiple=True, metavar="FORMAT:PATH",
              help="Also write FORMAT (text, json, sarif, junit) to PATH; repeatable. Missing folders are "
                   "created; an existing PATH must be a regular file.")
@click.option("--reproducible", is_flag=True, default=False, help="Omit the time, so equal inputs give equal bytes.")
@click.option("--srcroot", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="SARIF: folder the file URIs are relative to (default: git's top level, else the current folder).")
@click.option("--sarif-category", default=None, metavar="CATEGORY",
              help="SARIF: write runs[0].automationDetails.id = CATEGORY/ (one per matrix job in code scanning).")
@_common_options
def validate(paths: tuple[Path, ...], fmt: str, outputs: tuple[str, ...], reproducible: bool, srcroot: Path | None,
             sarif_category: str | None, profile: str | None, config: Path | None, strict: bool,
             select: tuple[str, ...], ignore: tuple[str, ...], baseline: Path | None, jobs: int | None,
             shard: str | None, isolated: bool, follow_symlinks: bool, debug: bool,
             summaries: tuple[str, ...] = (), previous: Path | None = None) -> None:
    """Validate dataset files, or folders searched for *.mpical.json / *.mpical.yaml / *.mpical.yml."""
    targets = _parse_outputs(outputs)
    shard_t = _parse_shard(shard)
    summary_targets = _parse_summaries(summaries, previous, shard_t)

    def body() -> int:
        from mpistd._atomic import check_target, write_atomic

        for _, target in targets:  # before any work: a run must not fail after it is done
            check_target(target)
        base = _base_options(profile, strict, select, ignore, baseline)
        keep = fmt == "json" or any(f == "json" for f, _ in targets)
        # the results are kept on disk; their repository blocks are read back for the JSON and the summary
        report = run_validation(paths, config, base, jobs, shard_t, keep, reproducible, isolated=isolated,
                                follow_symlinks=follow_symlinks, store=True,
                                with_repository=keep or bool(summary_targets))
        colour = use_colour()
        if not any(path is None for _, path in summary_targets):  # a summary on stdout replaces the report
            for piece in render_pieces(report, fmt, colour=colour, srcroot=srcroot, sarif_category=sarif_category,
                                       terminal=sys.stdout.isatty(), debug=debug):
                click.echo(piece, nl=False, color=colour)
        for f, target in targets:
            write_atomic(target, render_pieces(report, f, srcroot=srcroot, sarif_category=sarif_category,
                                               debug=debug))
        _write_summaries(report, summary_targets, previous)
        _report_internal_errors(report, debug)
        return int(report.exit_code)

    sys.exit(_guard(debug, body))


def _report_internal_errors(report: Any, debug: bool) -> None:
    """One line on stderr per dataset mpistd failed on (its traceback first with --debug)."""
    from mpistd._text import clean

    for r in report.internal_errors:
        if debug and r.traceback:
            click.echo(r.traceback.rstrip("\n"), err=True)
        err = r.error or {}
        click.echo(
            f"mpistd: internal error in {clean(r.path)} ({clean(err.get('type', ''))}: "
            f"{clean(err.get('message', '')[:200])}). This is a bug in mpistd {__version__}: please report it at "
            f"{ISSUES_URL} (rerun with --debug for the traceback). The other datasets are reported in full.",
            err=True,
        )


# ------------------------------------------------------------------------------------- baseline
@cli.group()
def baseline() -> None:
    """Adopt mpistd on an existing repository: record today's findings, fail only on new ones."""


@baseline.command("write")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("mpistd-baseline.json"), show_default=True, help="Where to write the baseline.")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Configuration file (default: nearest mpistd.toml or pyproject.toml [tool.mpistd]).")
@click.option("--profile", type=click.Choice(["default", "publication"]), default=None,
              help="Severity profile (publication makes reporting gaps errors).")
@click.option("--debug", is_flag=True, default=False, help="Show the traceback of an internal error.")
def baseline_write(paths: tuple[Path, ...], output: Path, config: Path | None, profile: str | None, debug: bool) -> None:
    """Write the fingerprints (rule, file, pointer) of the current findings to a baseline file."""

    def body() -> int:
        import json

        from mpistd._atomic import write_atomic
        from mpistd.config import baseline_document

        from mpistd._atomic import check_target

        check_target(output)
        base = _base_options(profile, False, (), (), None)
        report = run_validation(paths, config, base, None, None, False)
        if report.internal_errors:  # a baseline without those datasets' findings would be wrong
            _report_internal_errors(report, debug)
            click.echo(f"mpistd: baseline not written ({len(report.internal_errors)} dataset(s) failed)", err=True)
            return 3
        doc = baseline_document(report.findings)
        write_atomic(output, json.dumps(doc, indent=2) + "\n")
        click.echo(f"wrote {len(doc['findings'])} finding fingerprints to {output}")
        return 0

    sys.exit(_guard(debug, body))


# ------------------------------------------------------------------------------------- rules
@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text")
@click.option("--verbose", "-v", is_flag=True, default=False, help="Text: add rationale and remedy.")
def rules(fmt: str, verbose: bool) -> None:
    """List the rule catalogue (id, severity, title, rationale, remedy)."""
    from mpistd.rules.registry import all_rules
    from mpistd.tools.docs import rules_json, rules_markdown, rules_text

    catalogue = all_rules()
    if fmt == "json":
        click.echo(rules_json(catalogue), nl=False)
    elif fmt == "markdown":
        click.echo(rules_markdown(catalogue), nl=False)
    else:
        click.echo(rules_text(catalogue, verbose=verbose), nl=False)


# ------------------------------------------------------------------------------------- docs
@cli.command()
@click.option("--output", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("docs"),
              show_default=True)
@click.option("--check", is_flag=True, default=False, help="Write nothing; exit 1 if the docs are stale.")
def docs(out_dir: Path, check: bool) -> None:
    """Write the human-readable standard (field tables, rule catalogue) generated from the schemas."""
    from mpistd.tools.docs import write_docs

    stale = write_docs(out_dir, check=check)
    if check:
        if stale:
            click.echo("stale generated docs (run 'mpistd docs'): " + ", ".join(stale), err=True)
            sys.exit(1)
        click.echo("docs are up to date")
    else:
        click.echo(f"wrote {len(stale)} changed file(s) to {out_dir}" if stale else f"{out_dir} already up to date")


# ------------------------------------------------------------------------------------- init / import
@cli.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, default=False, help="Overwrite an existing file.")
def init(path: Path | None, force: bool) -> None:
    """Write a commented template dataset (YAML) to fill in."""
    from mpistd._atomic import write_atomic
    from mpistd.tools.template import TEMPLATE_NAME, template_yaml

    target = path or Path(TEMPLATE_NAME)
    if target.exists() and not force:
        click.echo(f"mpistd: {target} exists; use --force to overwrite", err=True)
        sys.exit(2)
    write_atomic(target, template_yaml())
    click.echo(f"wrote {target}: fill it in, then run 'mpistd validate {target}'")


@cli.command("import")
@click.argument("table", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("metadata", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the dataset (default: TABLE's name with .mpical.json).")
@click.option("--sheet", default=None, help="XLSX sheet name (default: the first).")
@click.option("--debug", is_flag=True, default=False, help="Show the traceback of an internal error.")
def import_(table: Path, metadata: Path, output: Path | None, sheet: str | None, debug: bool) -> None:
    """Turn a spreadsheet (CSV/XLSX, one row per replicate) plus a metadata file into a dataset."""

    def body() -> int:
        import json

        from mpistd._atomic import write_atomic
        from mpistd.tools.importer import TableImportError, import_table

        _require("pandas", "pint", *(("openpyxl",) if table.suffix.lower() in (".xlsx", ".xlsm") else ()))
        try:
            doc = import_table(table, metadata, sheet=sheet)
        except TableImportError as exc:
            click.echo(f"mpistd import: {exc}", err=True)
            return 2
        target = output or table.with_name(table.name.split(".")[0] + ".mpical.json")
        write_atomic(target, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        click.echo(f"wrote {target}; now run 'mpistd validate {target}'")
        return 0

    sys.exit(_guard(debug, body))


# ------------------------------------------------------------------------------------- schema
@cli.command()
@click.option("--version", "version", default=SCHEMA_VERSION, show_default=True,
              help="Standard version, or 'report' for the schema of the JSON output (its $schema).")
@click.option("--output", "-o", "output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write every schema file into this folder instead of printing the entry schema.")
def schema(version: str, output: Path | None) -> None:
    """Print the standard's JSON Schema (or write all its files with -o DIR).

    `--version report` prints the schema of `mpistd validate --format json`, the URI in its `$schema`.
    """
    from mpistd.resources import schema_dir, schemas_root

    folder = schema_dir(version)
    entry = "mpistd-report.schema.json" if version == "report" else "dataset.schema.json"
    if version in ("", ".", "..") or "/" in version or "\\" in version or not (folder / entry).is_file():
        known = sorted(p.name for p in schemas_root().iterdir() if p.is_dir())
        raise click.BadParameter(f"unknown standard version {version!r} (known: {', '.join(known)})",
                                 param_hint="--version")
    files = sorted(folder.glob("*.schema.json"))
    if output is None:
        click.echo((folder / entry).read_text(encoding="utf-8"), nl=False)
        return
    from mpistd._atomic import write_atomic

    for f in files:
        write_atomic(output / f.name, f.read_bytes())
    click.echo(f"wrote {len(files)} schema files to {output}")


# ------------------------------------------------------------------------------------- report
# The standardized calibration report (HTML, PDF, or a folder with one page per dataset and an
# index). Everything heavy (jinja2, matplotlib, WeasyPrint) is imported inside the body.
@cli.command("report")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--output", "-o", "output", required=True, metavar="PATH",
              help="report.html, report.pdf, or a folder (site/: one page per dataset + index.html); "
                   "'-' writes one dataset's HTML to stdout.")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default=None,
              help="Output format (default: from the suffix; a folder gets HTML).")
@click.option("--reproducible", is_flag=True, default=False, help="Omit the time, so equal inputs give equal bytes.")
@_common_options
def report_command(paths: tuple[Path, ...], output: str, fmt: str | None, reproducible: bool, profile: str | None,
                   config: Path | None, strict: bool, select: tuple[str, ...], ignore: tuple[str, ...],
                   baseline: Path | None, jobs: int | None, shard: str | None, isolated: bool, follow_symlinks: bool,
                   debug: bool) -> None:
    """Validate datasets and write the standardized calibration report (exit codes as validate)."""
    shard_t = _parse_shard(shard)

    def body() -> int:
        from mpistd.collect import collect
        from mpistd.render.report import ReportTargetError, resolve_target, sources_from_jobs, write_report
        from mpistd.render.text import summary_line

        to_stdout = output == "-"
        try:
            kind, resolved = resolve_target(None if to_stdout else output, fmt)
        except ReportTargetError as exc:
            raise click.BadParameter(str(exc), param_hint="--output") from None
        if to_stdout and resolved != "html":
            raise click.BadParameter("'-' (stdout) takes HTML only", param_hint="--output")
        _require("jinja2", "markupsafe", "matplotlib")
        if not to_stdout:
            from mpistd._atomic import check_target

            check_target(output, folder=kind == "site")
        base = _base_options(profile, strict, select, ignore, baseline)
        selected = collect(list(paths), base, config, shard_t, isolated=isolated, follow_symlinks=follow_symlinks)
        if kind != "site" and len(selected) > 1:
            raise click.BadParameter(f"{len(selected)} datasets do not fit in one file: give a folder "
                                     f"(e.g. -o site/) for one page each plus index.html", param_hint="--output")
        if not selected:
            from mpistd.collect import SelectionError

            raise SelectionError("this shard selects no datasets")
        if kind != "site" and selected[0].refusal is None:  # a refused dataset is never read
            from mpistd.render import page_helper
            from mpistd.render.report import page_source

            # imports and figures while this process validates; forked before anything GLib
            if page_helper.start_helper(page_source):
                page_helper.prefetch(selected[0].path, selected[0].options)
        if resolved == "pdf":
            from mpistd._environment import check_weasyprint
            from mpistd.render.pdf import start_helper

            check_weasyprint()  # missing extra or Pango: exit 2 naming the fix, before validation
            start_helper()  # imports WeasyPrint in a forked helper while this process validates
        report = run_validation(paths, config, base, jobs, shard_t, True, reproducible, selected=selected)
        sources = sources_from_jobs(report, selected)
        written = write_report(report, sources, None if to_stdout else output, fmt, jobs=jobs)
        if to_stdout:
            click.echo(written, nl=False)
        click.echo(summary_line(report), err=True)
        if not to_stdout:
            click.echo(f"report written to {written}", err=True)
        _report_internal_errors(report, debug)
        return int(report.exit_code)

    def guarded() -> int:
        try:
            return body()
        finally:
            from mpistd.render import page_helper
            from mpistd.render.pdf import stop_helper

            page_helper.stop_helper()
            stop_helper()

    sys.exit(_guard(debug, guarded))


# ------------------------------------------------------------------------------------- simulate
@cli.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--masses", default="3.1,6.2,9.3,12.4,15.5,18.6", show_default=True,
              help="Iron mass of each level in µg, comma-separated.")
@click.option("--volume", "volume_uL", type=click.FloatRange(min=0, min_open=True), default=12.0, show_default=True,
              help="Volume (µL) of the largest level; every level has its concentration.")
@click.option("--replicates", type=click.IntRange(min=1), default=3, show_default=True,
              help="Replicate images per level.")
@click.option("--psf-fwhm", "psf_fwhm_mm", type=click.FloatRange(min=0, min_open=True), default=3.0, show_default=True,
              help="FWHM of the point-spread function in mm.")
@click.option("--psf", type=click.Choice(["gaussian", "lorentzian"]), default="gaussian", show_default=True,
              help="Shape of the point-spread function.")
@click.option("--noise-sd", type=click.FloatRange(min=0), default=2.0, show_default=True, help="Noise SD (pixel units).")
@click.option("--receiver", "compressive_receiver", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Simulate a compressive receiver s·tanh(x/s) with this s; the dataset declares its correction table.")
@click.option("--format", "image_format", type=click.Choice(["npy", "tiff", "mdf"]), default="npy", show_default=True,
              help="Image file format (tiff needs the images extra: tifffile; mdf needs h5py).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the noise (equal seeds, equal files).")
@click.option("--name", default=None, help="Dataset name (default: from the parameters).")
@click.option("--debug", is_flag=True, default=False, help="Show the traceback of an internal error.")
def simulate(out_dir: Path, masses: str, volume_uL: float, replicates: int, psf_fwhm_mm: float, psf: str,
             noise_sd: float, compressive_receiver: float | None, image_format: str, seed: int, name: str | None,
             debug: bool) -> None:
    """Write a simulated phantom calibration (tube samples, blurred, noisy) as a dataset with images.

    The reported metrics come from a separate plain implementation of the reference method, so the
    dataset validates; the ground truth of every image is stored under x-truth.
    """
    try:
        masses_ug = tuple(float(m) for m in masses.split(",") if m.strip())
    except ValueError:
        raise click.BadParameter(f"{masses!r}: give numbers separated by commas", param_hint="--masses") from None

    def body() -> int:
        from mpistd.tools.simulate import simulate_dataset

        _require(*{"tiff": ("tifffile",), "mdf": ("h5py",)}.get(image_format, ()))
        try:
            path = simulate_dataset(out_dir, masses_ug=masses_ug, volume_uL=volume_uL, replicates=replicates,
                                    psf_fwhm_mm=psf_fwhm_mm, psf=psf, noise_sd=noise_sd,
                                    compressive_receiver=compressive_receiver, image_format=image_format,
                                    seed=seed, name=name)
        except ValueError as exc:
            click.echo(f"mpistd simulate: {exc}", err=True)
            return 2
        click.echo(f"wrote {path}; now run 'mpistd validate {path}'")
        return 0

    sys.exit(_guard(debug, body))


# ------------------------------------------------------------------------------------- repository
# The repository view (issue 18): repository rules after a whole run, --summary/--previous, and
# `mpistd merge` of sharded runs. Everything reads the plain per-dataset data of
# mpistd/comparability.py through mpistd/repository.py.
SUMMARY_FORMATS = ("text", "json")


def _summary_options(func: Callable) -> Callable:
    func = click.option("--previous", "previous", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help="An earlier summary (JSON): add what changed (new, removed, changed verdicts; "
                             "new and removed outliers). Needs --summary.")(func)
    return click.option("--summary", "summaries", multiple=True, is_flag=False, flag_value="text",
                        metavar="FORMAT[:PATH]",
                        help="Repository summary (comparable groups, sensitivities, outliers, verdicts) as text "
                             "or json, to PATH or, without one, on stdout instead of the report; repeatable.")(func)


def _parse_summaries(values: tuple[str, ...], previous: Path | None,
                     shard: tuple[int, int] | None) -> list[tuple[str, Path | None]]:
    out: list[tuple[str, Path | None]] = []
    for v in values:
        fmt, sep, path = v.partition(":")
        if fmt not in SUMMARY_FORMATS or (sep and not path):
            raise click.BadParameter(f"{v!r}: use text, json, text:PATH or json:PATH", param_hint="--summary")
        out.append((fmt, Path(path) if sep else None))
    if sum(1 for _, p in out if p is None) > 1:
        raise click.BadParameter("only one summary can go to stdout", param_hint="--summary")
    if previous is not None and not out:
        raise click.BadParameter("--previous needs --summary", param_hint="--previous")
    if out and shard is not None:
        raise click.BadParameter("a shard sees part of the repository: write each shard's JSON result, then "
                                 "'mpistd merge RESULT.json... -o summary:PATH'", param_hint="--summary")
    return out


def _summary_texts(report: Any, summary_targets: list[tuple[str, Path | None]], previous: Path | None) -> list[str]:
    from mpistd.repository import (SummaryError, analyse, changes_text, compare, entries_from_results,
                                   load_summary, summary, summary_json, summary_text)

    data = summary(analyse(entries_from_results(report.results)), tool_version=report.mpistd_version,
                   schema_version=report.schema_version)
    changes = None
    if previous is not None:
        try:
            text = previous.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise click.BadParameter(f"{previous}: cannot read ({exc})", param_hint="--previous") from None
        try:
            changes = compare(load_summary(text, str(previous)), data)
        except SummaryError as exc:
            raise click.BadParameter(str(exc), param_hint="--previous") from None
    out = []
    for fmt, _ in summary_targets:
        if fmt == "json":
            out.append(summary_json({**data, "changes": changes} if changes is not None else data))
        else:
            out.append(summary_text(data) + (("\n" + changes_text(changes)) if changes is not None else ""))
    return out


def _write_summaries(report: Any, summary_targets: list[tuple[str, Path | None]], previous: Path | None) -> None:
    if not summary_targets:
        return
    from mpistd._atomic import write_atomic

    for (fmt, path), text in zip(summary_targets, _summary_texts(report, summary_targets, previous)):
        if path is None:
            click.echo(text, nl=False)
        else:
            write_atomic(path, text)


_summary_options(validate)  # --summary and --previous, added to the validate command defined above


MERGE_FORMATS = ("text", "json", "sarif", "junit", "summary", "summary-text", "site")


@cli.command("merge")
@click.argument("results", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--output", "-o", "outputs", multiple=True, metavar="FORMAT:PATH",
              help="Write FORMAT (text, json, sarif, junit, summary = the JSON summary, summary-text, site = the "
                   "report folder) to PATH; repeatable.")
@click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="text", help="Output on stdout.")
@click.option("--previous", "previous", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="An earlier summary (JSON): the summaries written add what changed.")
@click.option("--sarif-category", default=None, metavar="ID",
              help="Write runs[0].automationDetails.id = ID into the merged SARIF (one category for the merged run).")
@click.option("--reproducible", is_flag=True, default=False, help="Omit the time, so equal inputs give equal bytes.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, help="Worker processes for the report site.")
@click.option("--debug", is_flag=True, default=False, help="Show tracebacks of internal errors.")
def merge_command(results: tuple[Path, ...], outputs: tuple[str, ...], fmt: str, previous: Path | None,
                  sarif_category: str | None, reproducible: bool, jobs: int, debug: bool) -> None:
    """Combine the JSON results of sharded runs (--shard I/N --output json:PATH) into one result.

    The repository rules run on the merged result; every output equals that of one unsharded run
    (byte for byte with --reproducible on both). The report site re-reads the datasets from the
    paths recorded in the results (run it from the same folder, on the same checkout).
    """
    targets = _parse_outputs(outputs, MERGE_FORMATS)

    def body() -> int:
        from mpistd._atomic import write_atomic
        from mpistd.merge import MergeError, merge_files

        try:
            report = merge_files(list(results), reproducible=reproducible)
        except MergeError as exc:
            click.echo(f"mpistd merge: {exc}", err=True)
            return 2
        wanted = [("json" if f == "summary" else "text", p) for f, p in targets if f in ("summary", "summary-text")]
        texts = iter(_summary_texts(report, wanted, previous)) if wanted else iter(())
        click.echo(_merged_output(report, fmt, sarif_category), nl=False)
        for f, path in targets:
            if f in ("summary", "summary-text"):
                write_atomic(path, next(texts))
            elif f == "site":
                from mpistd.render.report import sources_from_jobs, write_site

                write_site(report, sources_from_jobs(report, []), path, "html", jobs)
            else:
                write_atomic(path, _merged_output(report, f, sarif_category))
        return int(report.exit_code)

    sys.exit(_guard(debug, body))


def _merged_output(report: Any, fmt: str, sarif_category: str | None) -> str:
    text = render_report(report, fmt)
    if fmt == "sarif" and sarif_category:
        import json

        log = json.loads(text)
        log["runs"][0]["automationDetails"] = {"id": sarif_category}
        text = json.dumps(log, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return text


#: the thread-pool sizes of the BLAS libraries numpy and scipy may load (OpenBLAS, MKL, OpenMP)
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def single_threaded_blas() -> None:
    """One BLAS thread for this process and its workers, unless the user has set a size.

    mpistd's linear algebra is small (the lines of a calibration, an image at a time) and it runs
    datasets in parallel itself (--jobs): a BLAS thread pool only competes with that and costs
    start-up time (numpy's import starts it). And a threaded OpenBLAS splits a dot product of
    more than 10,000 values between its threads, so the sum's rounding depends on the machine's
    core count: one thread gives the same numbers on every machine. Must run before numpy loads.
    """
    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")


#: True when the process is mpistd's own (started through main(), the console entry point), not a
#: caller's that invokes the click command (a test's CliRunner): only then is the collector tuned
_OWN_PROCESS = False


def main() -> None:
    """Console-script entry point."""
    global _OWN_PROCESS
    _OWN_PROCESS = True
    single_threaded_blas()
    try:
        cli.main(prog_name="mpistd", standalone_mode=True)
    except SystemExit:
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
