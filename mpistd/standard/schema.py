"""The normative JSON Schemas: registry, validators and the structural check (MPI002, MPI003).

The schema files under ``schemas/<version>/`` are the standard's normative form. This module
loads them, resolves their cross-file ``$ref``s offline (a ``$ref`` that names no local file
is an error, never a download), and turns validation errors into human findings.

Two validators, one verdict: ``jsonschema_rs`` (compiled once per process) answers "valid?"
quickly for the common, clean case; only an invalid document goes through the Python
``jsonschema`` validator, whose errors carry the paths and context the messages need. The
tests keep the two in agreement.

Heavy imports (jsonschema, referencing, jsonschema_rs) happen on first use, not on import.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from mpistd.resources import schema_dir

if TYPE_CHECKING:  # pragma: no cover
    import referencing
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

__all__ = [
    "SUPPORTED_VERSIONS",
    "LATEST_VERSION",
    "SchemaProblem",
    "schema_uri",
    "load_schemas",
    "registry",
    "validator",
    "fast_is_valid",
    "version_of",
    "check_document",
    "json_pointer",
    "DocumentOrder",
]

SUPPORTED_VERSIONS: tuple[str, ...] = ("1.0", "1.1")
LATEST_VERSION = SUPPORTED_VERSIONS[-1]
SCHEMA_BASE_URI = "https://mpistd.org/schema/"
ENTRY_SCHEMA = "dataset.schema.json"

_VALUE_WIDTH = 80  # values quoted in messages are cut to about this many characters

_Found = tuple[tuple[str | int, ...], str, str | None]  # (path, message, the key it is about)


@dataclass(frozen=True)
class SchemaProblem:
    """One structural finding: MPI002 (schema violation) or MPI003 (unknown schema_version)."""

    rule: Literal["MPI002", "MPI003"]
    pointer: str
    message: str


# --------------------------------------------------------------------------- schemas and registry
def _require_supported(version: str) -> None:
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"unsupported schema version {version!r} (supported: {', '.join(SUPPORTED_VERSIONS)})")


def schema_uri(version: str = LATEST_VERSION, name: str = ENTRY_SCHEMA) -> str:
    """The stable ``$id`` of one schema file, e.g. ``https://mpistd.org/schema/1.0/dataset.schema.json``."""
    return f"{SCHEMA_BASE_URI}{version}/{name}"


@cache
def load_schemas(version: str = LATEST_VERSION) -> dict[str, dict[str, Any]]:
    """Every schema file of ``version``, keyed by its ``$id`` (cached: do not mutate the result)."""
    _require_supported(version)
    folder = schema_dir(version)
    schemas: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        expected = schema_uri(version, path.name)
        if schema.get("$id") != expected:
            raise RuntimeError(f"{path}: $id is {schema.get('$id')!r}, expected {expected!r}")
        schemas[expected] = schema
    if schema_uri(version) not in schemas:
        raise RuntimeError(f"{folder}: the entry schema {ENTRY_SCHEMA} is missing")
    return schemas


def _refuse_retrieval(uri: str):
    """Schemas are resolved from the local files only: any other URI is an error, never a download."""
    from referencing.exceptions import NoSuchResource

    raise NoSuchResource(ref=uri)


@cache
def registry(version: str = LATEST_VERSION) -> referencing.Registry:
    """An offline ``referencing.Registry`` holding every schema file of ``version``."""
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    resources = [(uri, DRAFT202012.create_resource(schema)) for uri, schema in load_schemas(version).items()]
    return Registry(retrieve=_refuse_retrieval).with_resources(resources).crawl()


@cache
def validator(version: str = LATEST_VERSION) -> Draft202012Validator:
    """The Python validator of the entry schema (dataset.schema.json), with formats asserted."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(
        load_schemas(version)[schema_uri(version)],
        registry=registry(version),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def _refuse_retrieval_rs(uri: str):
    raise ValueError(f"schema {uri} is not part of mpistd's local schemas (no network retrieval)")


@cache
def _fast_validator(version: str):
    import jsonschema_rs

    schemas = load_schemas(version)
    local = jsonschema_rs.Registry(list(schemas.items()), retriever=_refuse_retrieval_rs)
    return jsonschema_rs.validator_for(
        schemas[schema_uri(version)], registry=local, validate_formats=True, offline=True
    )


def version_of(document: Any) -> str:
    """The standard version a document is checked against: the ``schema_version`` it declares
    when this mpistd reads that version, else the latest (whose schema then reports the problem)."""
    declared = document.get("schema_version") if isinstance(document, dict) else None
    if isinstance(declared, str) and declared in SUPPORTED_VERSIONS:
        return declared
    if isinstance(declared, float) and repr(declared) in SUPPORTED_VERSIONS:
        return repr(declared)  # YAML's unquoted 1.0: judged by the version it names, the message says to quote it
    return LATEST_VERSION


def fast_is_valid(document: Any, version: str | None = None) -> bool:
    """True if ``document`` is valid against ``version`` (default: the version it declares;
    jsonschema_rs, compiled once per process).

    A document jsonschema_rs cannot even take in (non-string keys, integers beyond 64 bits,
    non-JSON Python objects) is reported as not valid, so the caller falls back to the
    Python validator, which gives the verdict and the messages.
    """
    try:
        return bool(_fast_validator(version or version_of(document)).is_valid(document))
    except (ValueError, TypeError, OverflowError, RecursionError):
        return False


# --------------------------------------------------------------------------- structural check
def json_pointer(path: Iterable[str | int]) -> str:
    """RFC 6901 pointer of a path: ``~`` is written ``~0`` and ``/`` is written ``~1``."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def check_document(document: Any) -> list[SchemaProblem]:
    """Structural findings of a parsed document: MPI002 for each schema violation, or one MPI003.

    - not a JSON object: one MPI002 at "";
    - ``schema_version`` a string this mpistd does not know: one MPI003 at /schema_version and
      nothing else (the document is not checked against a schema it was not written for);
    - otherwise every violation of the schema, one problem each, in document order.
    """
    if not isinstance(document, dict):
        return [SchemaProblem("MPI002", "", f"the document must be a JSON object, found {_kind(document)}")]
    declared = document.get("schema_version")
    if isinstance(declared, str) and declared not in SUPPORTED_VERSIONS:
        return [SchemaProblem(
            "MPI003", "/schema_version",
            f"unknown schema_version {_short(declared)}: this mpistd reads "
            + ", ".join(f'"{v}"' for v in SUPPORTED_VERSIONS),
        )]
    version = version_of(document)
    if fast_is_valid(document, version):
        return []
    return _python_problems(document, version)


def _python_problems(document: dict, version: str) -> list[SchemaProblem]:
    document, found = _with_string_keys(document)
    for error in validator(version).iter_errors(document):
        found.extend(_describe(error))
    # One problem per violating value: several keywords failing on the same value (a date that
    # breaks both its pattern and its format) make one message. A missing or unexpected key is
    # a problem of its own, even when several share the object's pointer.
    order = DocumentOrder(document)
    merged: dict[tuple[str, str | None], list[str]] = {}
    for path, message, key in sorted(found, key=lambda item: order.position(item[0])):
        messages = merged.setdefault((json_pointer(path), key), [])
        if message not in messages:
            messages.append(message)
    return [SchemaProblem("MPI002", pointer, "; ".join(messages)) for (pointer, _), messages in merged.items()]


def _with_string_keys(document: dict) -> tuple[dict, list[_Found]]:
    """A copy without non-string keys (YAML allows them, JSON does not), and a problem for each."""
    problems: list[_Found] = []
    stack: list[tuple[Any, tuple]] = [(document, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str):
                    stack.append((value, path + (key,)))
                else:
                    problems.append((path, f"key {_short(key)} is not a string (JSON object keys are strings)", repr(key)))
        elif isinstance(node, list):
            stack.extend((value, path + (i,)) for i, value in enumerate(node))
    if not problems:
        return document, problems
    return _drop_non_string_keys(document), problems


def _drop_non_string_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _drop_non_string_keys(v) for k, v in node.items() if isinstance(k, str)}
    if isinstance(node, list):
        return [_drop_non_string_keys(v) for v in node]
    return node


class DocumentOrder:
    """Sort key of a path: the position of each step among its siblings, as the document has them.

    Findings sorted by it come in document order; a path through a missing key sorts last
    among its siblings.
    """

    def __init__(self, document: Any) -> None:
        self._document = document
        self._key_index: dict[int, dict[str, int]] = {}

    def position(self, path: Sequence[str | int]) -> tuple[int, ...]:
        node, position = self._document, []
        for step in path:
            if isinstance(node, dict) and step in node:
                index = self._key_index.get(id(node))
                if index is None:
                    index = self._key_index[id(node)] = {k: i for i, k in enumerate(node)}
                position.append(index[step])
                node = node[step]
            elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
                position.append(step)
                node = node[step]
            else:
                position.append(1 << 62)
                break
        return tuple(position)


# --------------------------------------------------------------------------- messages
_TYPE_NAMES = {
    "object": "an object", "array": "a list", "string": "a string", "number": "a number",
    "integer": "an integer", "boolean": "true or false", "null": "null",
}
_COMPARISONS = {
    "minimum": "at least", "exclusiveMinimum": "greater than",
    "maximum": "at most", "exclusiveMaximum": "less than",
}


def _describe(error: ValidationError) -> Iterator[_Found]:
    """(path, message, key) for one jsonschema error; a few kinds of error expand or collapse.

    ``key`` names the missing or unexpected key a problem is about (None for a bad value).
    """
    path = tuple(error.absolute_path)
    keyword = error.validator
    instance = error.instance

    if keyword in ("anyOf", "oneOf") and error.context:
        alternatives = _required_alternatives(error)
        if alternatives:
            names = ", ".join(repr(k) for k in alternatives)
            yield path, f"{_subject(path)} needs at least one of {names}", None
            return
        from jsonschema.exceptions import best_match

        yield from _describe(best_match(error.context))
        return

    if keyword == "additionalProperties" and isinstance(instance, dict):
        for key in _unexpected_keys(instance, error.schema):
            yield path + (key,), f"unexpected key {_short(key)} (lab-specific fields must start with 'x-')", key
        return

    if keyword == "required" and isinstance(instance, dict):
        because = _condition(error)
        for key in error.validator_value:
            if key not in instance:
                yield path, f"required key {key!r} is missing{because}", key
        return

    if keyword == "format" and _fails_own_pattern(instance, error.schema):
        return  # the pattern's error already says what form is expected
    yield path, _message(error, path) + _condition(error), None


def _fails_own_pattern(instance: Any, schema: Any) -> bool:
    pattern = schema.get("pattern") if isinstance(schema, Mapping) else None
    return isinstance(instance, str) and isinstance(pattern, str) and not re.search(pattern, instance)


def _message(error: ValidationError, path: tuple[str | int, ...]) -> str:
    keyword, value, instance = error.validator, error.validator_value, error.instance
    subject = _subject(path)
    if path == ("schema_version",) and keyword == "const":
        found = _short(instance) if isinstance(instance, (dict, list, bool)) or instance is None \
            else f"{_kind(instance).replace('a ', 'the ', 1)} {_short(instance)}"
        if isinstance(instance, (int, float)) and not isinstance(instance, bool):
            if repr(instance) == value:  # YAML's unquoted 1.0
                return f'schema_version must be the string "{value}", found {found}: write "{value}" in quotes'
        return f'schema_version must be the string "{value}", found {found}'
    if keyword == "type":
        wanted = [value] if isinstance(value, str) else list(value)
        return f"{subject} must be {' or '.join(_TYPE_NAMES.get(t, t) for t in wanted)}, found {_kind(instance)}{_value_suffix(instance)}"
    if keyword == "enum":
        options = ", ".join(repr(v) for v in value)
        hint = ""
        if isinstance(instance, str) and len(instance) <= 100:
            import difflib  # only for a message: not on the clean path

            close = difflib.get_close_matches(instance, [v for v in value if isinstance(v, str)], n=1)
            if close:
                hint = f" (did you mean {close[0]!r}?)"
        return f"{subject} must be one of {options}; found {_short(instance)}{hint}"
    if keyword == "const":
        return f"{subject} must be {value!r}, found {_short(instance)}"
    if keyword in _COMPARISONS:
        return f"{subject} must be {_COMPARISONS[keyword]} {value}, found {_short(instance)}"
    if keyword in ("minItems", "maxItems"):
        bound = "at least" if keyword == "minItems" else "at most"
        return f"{subject} must have {bound} {value} item{'s' if value != 1 else ''}, found {len(instance)}"
    if keyword == "minLength":
        if value == 1:
            return f"{subject} must not be empty"
        return f"{subject} must be at least {value} characters long, found {len(instance)}"
    if keyword == "maxLength":
        return f"{subject} must be at most {value} characters long, found {len(instance)}"
    if keyword == "pattern":
        form = str(error.schema.get("description", "")).removesuffix(" No unit.").rstrip(".")
        return f"{subject} {_short(instance)} is not in the required form" + (f": {form}" if form else f" (pattern {value})")
    if keyword == "format":
        return f"{subject} {_short(instance)} is not a valid {value}" + (" (YYYY-MM-DD)" if value == "date" else "")
    return f"{subject}: {_truncate(error.message, 200)}"


def _condition(error: ValidationError) -> str:
    """Why a conditional requirement applies, in the words of the ``then`` that states it.

    The schemas give each requirement a ``then`` states directly (``required``, or a ``const``
    under ``properties``/``items``) a ``description`` saying why; those schemas carry no ``type``.
    Errors that reach a ``then`` through a ``$ref`` (a particle model's branch, a typed property
    schema) land on a typed schema and speak for themselves.
    """
    schema = error.schema
    if "then" not in error.relative_schema_path or not isinstance(schema, Mapping):
        return ""
    if "type" in schema or "description" not in schema:
        return ""
    return f" ({schema['description']})"


def _required_alternatives(error: ValidationError) -> list[str] | None:
    """For an anyOf/oneOf whose every branch only requires keys: the keys, in the schema's order."""
    keys: list[str] = []
    for sub in error.context:
        if sub.validator != "required" or list(sub.relative_path):
            return None
        keys.extend(k for k in sub.validator_value if k not in keys)
    return keys


def _unexpected_keys(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> Iterator[str]:
    properties = schema.get("properties", {})
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    for key in instance:
        if key not in properties and not any(p.search(key) for p in patterns):
            yield key


def _subject(path: Sequence[str | int]) -> str:
    """How a message names the value: its key, or its list and index."""
    if not path:
        return "the document"
    last = path[-1]
    if isinstance(last, int):
        trailing = _trailing_ints(path)
        owner = path[-trailing - 1] if trailing < len(path) else "item"
        return f"{owner}" + "".join(f"[{p}]" for p in path[-trailing:])
    return str(last)


def _trailing_ints(path: Sequence[str | int]) -> int:
    count = 0
    for part in reversed(path):
        if not isinstance(part, int):
            break
        count += 1
    return count


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    return f"a {type(value).__name__} (not a JSON value)"


def _value_suffix(value: Any) -> str:
    if isinstance(value, (dict, list, tuple)) or value is None:
        return ""
    return f" ({_short(value)})"


def _short(value: Any) -> str:
    """A value as a message quotes it: JSON-like, cut to about 80 characters, never a whole container."""
    if isinstance(value, dict):
        return f"an object with {len(value)} key{'s' if len(value) != 1 else ''}"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, str):
        return _truncate(repr(value), _VALUE_WIDTH)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return _truncate(repr(value), _VALUE_WIDTH)


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
