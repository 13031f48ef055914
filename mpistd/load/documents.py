"""Reading dataset documents: JSON or YAML, untrusted, with every JSON pointer locatable.

Parsing uses the standard library's C JSON parser (fast); the map from JSON pointer to
line:column is built lazily, by a small scanner, only when a finding needs a location. YAML
is read with a safe loader that keeps JSON's types (no timestamps: dates stay strings), refuses
duplicate keys, custom tags and non-string keys, and bounds alias expansion.

Anything wrong with the bytes or the syntax raises :class:`DocumentError` with a 1-based
line and column; the caller turns it into an MPI001 finding.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

DATASET_SUFFIXES = (".mpical.json", ".mpical.yaml", ".mpical.yml")

MAX_DEPTH = 64  # a dataset is ~8 levels deep; anything past this is hostile
MAX_NUMBER_DIGITS = 400  # a float has ~17 significant digits; 5,000-digit numbers are refused
MAX_YAML_NODES = 2_000_000  # bound on the expanded YAML tree (alias bombs)


class DocumentError(Exception):
    """The document cannot be read or parsed (MPI001)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class DocumentTooLarge(Exception):
    """The document is over the size limit (MPI005)."""

    def __init__(self, size: int, limit: int):
        super().__init__(f"document is {size:,} bytes, over the limit of {limit:,} bytes")
        self.size = size
        self.limit = limit


def escape_pointer_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def join_pointer(parent: str, token: str | int) -> str:
    return f"{parent}/{escape_pointer_token(token)}"


def pointer_parts(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]


@dataclass
class Document:
    """A parsed dataset document and the means to locate any JSON pointer in it."""

    data: Any
    text: str
    kind: str  # "json" | "yaml" | "mapping"
    path: Path | None = None
    sha256: str | None = None
    _positions: dict[str, tuple[int, int]] | None = field(default=None, repr=False)
    _yaml_positions: dict[str, tuple[int, int]] | None = field(default=None, repr=False)
    # character index of every /calibrations/i and /calibrations/i/fits/j, recorded while parsing
    _elements: dict[str, int] | None = field(default=None, repr=False)

    def locate(self, pointer: str) -> tuple[int | None, int | None]:
        """1-based (line, column) of the pointer's key or value; the nearest located parent
        when the pointer names something the document lacks."""
        positions = self._position_map()
        if not positions:
            return (None, None)
        p = pointer
        while True:
            if p in positions:
                return positions[p]
            if not p:
                return (1, 1)
            p = p.rsplit("/", 1)[0]

    def locate_elements(self, pointers: Iterable[str]) -> dict[str, tuple[int, int]]:
        """1-based (line, column) of array elements (``/calibrations/0/fits/1``), as :meth:`locate`
        gives them, without building the whole position map: only the path to each is walked and
        the C scanner skips everything else (locating a conformant dataset's few lines this way
        costs a fraction of the full map). Pointers that are not array elements of a JSON
        document, or that the document lacks, are left out: :meth:`locate` answers those."""
        wanted = {p for p in pointers if p}
        if self.kind != "json" or not wanted:
            return {}
        if self._positions is not None:
            return {p: self._positions[p] for p in wanted if p in self._positions}
        found: dict[str, int] = {}
        if self._elements is not None:
            # the parse recorded every element of the paths it knows: a pointer of those paths that
            # it did not record is not in the document; any other pointer is walked to
            recorded = self._elements
            found = {p: recorded[p] for p in wanted if p in recorded}
            wanted = {p for p in wanted if p not in recorded and not _recorded_path(p)}
        if wanted:
            trie: dict[str, Any] = {}
            for pointer in wanted:
                node = trie
                for token in pointer_parts(pointer):
                    node = node.setdefault(token, {})
                node[_TARGET] = pointer
            try:
                found.update(_walk_to(self.text, trie))
            except (ValueError, IndexError):
                pass
        out: dict[str, tuple[int, int]] = {}
        line, last = 1, 0
        for pointer, index in sorted(found.items(), key=lambda kv: kv[1]):  # count newlines once, left to right
            line += self.text.count("\n", last, index)
            last = index
            out[pointer] = (line, index - (self.text.rfind("\n", 0, index) + 1) + 1)
        return out

    def _position_map(self) -> dict[str, tuple[int, int]]:
        if self.kind == "yaml":
            return self._yaml_positions or {}
        if self.kind != "json":
            return {}
        if self._positions is None:
            try:
                self._positions = _JsonScanner(self.text).positions()
            except DocumentError:  # pragma: no cover - text already parsed once
                self._positions = {}
        return self._positions


_TARGET = "\x00target"  # a trie key no JSON pointer token can be (tokens have no NUL: the schema and loader refuse it)
_SPACE = re.compile(r"[ \t\n\r]*")


def _walk_to(text: str, trie: dict[str, Any]) -> dict[str, int]:
    """Character index of every array element the trie of pointer tokens names (see
    Document.locate_elements); everything off the path is skipped by the C scanner."""
    decoder = json.JSONDecoder()
    scanstring = json.decoder.scanstring  # type: ignore[attr-defined]
    found: dict[str, int] = {}

    def ws(i: int) -> int:
        return _SPACE.match(text, i).end()  # type: ignore[union-attr]

    def value(i: int, node: dict[str, Any] | None) -> int:
        """Walk (or skip) the value at ``i`` for the trie ``node``; the index after it."""
        if node is None or text[i] not in "{[":
            return decoder.raw_decode(text, i)[1]
        closing = "}" if text[i] == "{" else "]"
        i = ws(i + 1)
        if text[i] == closing:
            return i + 1
        k = 0
        while True:
            if closing == "}":
                if text[i] != '"':
                    raise ValueError("expected a key")
                key, i = scanstring(text, i + 1)
                i = ws(i)
                if text[i] != ":":
                    raise ValueError("expected ':'")
                i = ws(i + 1)
                i = ws(value(i, node.get(key)))
            else:
                child = node.get(str(k))
                if child is not None and _TARGET in child:
                    found[child[_TARGET]] = i
                i = ws(value(i, child))
                k += 1
            if text[i] == ",":
                i = ws(i + 1)
            elif text[i] == closing:
                return i + 1
            else:
                raise ValueError(f"expected ',' or '{closing}'")

    value(ws(0), trie)
    return found


# --------------------------------------------------------------------------------------------
# entry points


def read_document(path: Path, *, max_bytes: int) -> Document:
    """Read and parse a dataset file. Raises DocumentTooLarge or DocumentError (OSError when
    the file cannot be opened)."""
    raw = read_bounded(path, max_bytes)
    kind = "yaml" if path.name.lower().endswith((".yaml", ".yml")) else "json"
    doc = parse_bytes(raw, kind=kind)
    doc.path = path
    return doc


_CHUNK = 1 << 20


def open_regular(path: Path) -> int:
    """A read-only descriptor of ``path`` when it is a regular file; DocumentError otherwise.

    Opened non-blocking, so a FIFO does not wait for a writer, and checked on the open
    descriptor (fstat), so what is read is what was checked."""
    import os
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise DocumentError(f"not a regular file ({file_kind(mode)}): not read", 1, 1)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words ("a FIFO", "a character device", ...)."""
    import stat

    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """At most ``max_bytes`` of a regular file, read in chunks (nothing is preallocated for the
    limit); DocumentTooLarge if the file is, or grows, larger."""
    import os
    import stat

    st = os.stat(path)
    if stat.S_ISREG(st.st_mode) and st.st_size > max_bytes:  # refused from its size alone: never opened
        raise DocumentTooLarge(st.st_size, max_bytes)
    fd = open_regular(path)
    with os.fdopen(fd, "rb", buffering=0) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            raise DocumentTooLarge(size, max_bytes)
        chunks: list[bytes] = []
        total = 0
        while total <= max_bytes:
            block = fh.read(min(_CHUNK, max_bytes + 1 - total))
            if not block:
                break
            chunks.append(block)
            total += len(block)
    if total > max_bytes:  # grew while we read
        raise DocumentTooLarge(total, max_bytes)
    return b"".join(chunks)


def sha256_file(path: Path, max_bytes: int) -> str | None:
    """sha256 of a regular file of at most ``max_bytes`` (None otherwise, or if unreadable)."""
    import os
    import stat

    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
            return None
        fd = open_regular(path)
    except (OSError, DocumentError):
        return None
    h = hashlib.sha256()
    with os.fdopen(fd, "rb", buffering=0) as fh:
        if os.fstat(fh.fileno()).st_size > max_bytes:
            return None
        total = 0
        while True:
            block = fh.read(_CHUNK)
            if not block:
                break
            total += len(block)
            if total > max_bytes:
                return None
            h.update(block)
    return h.hexdigest()


def parse_bytes(raw: bytes, *, kind: str = "json") -> Document:
    sha = hashlib.sha256(raw).hexdigest()
    text = _decode(raw)
    if kind == "yaml":
        data, positions = _parse_yaml(text)
        doc = Document(data=data, text=text, kind="yaml", sha256=sha, _yaml_positions=positions)
    else:
        data, elements = _parse_json_recording(text)
        doc = Document(data=data, text=text, kind="json", sha256=sha, _elements=elements)
    _refuse_surrogates(doc)
    return doc


def _decode(raw: bytes) -> str:
    if not raw.strip():
        raise DocumentError("the file is empty", 1, 1)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DocumentError("the file is UTF-16 encoded; save it as UTF-8", 1, 1)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        lines = _LINE_BREAK_BYTES.split(before)
        line = len(lines)
        column = len(lines[-1].decode("utf-8", "replace")) + 1
        raise DocumentError(
            f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save it as UTF-8",
            line,
            column,
        ) from None
    if "\x00" in text:
        i = text.index("\x00")
        line, col = _line_col(text, i)
        raise DocumentError("the file contains a NUL character: it looks binary, not a text document", line, col)
    return text


# a line ends at CR LF, LF or a lone CR (old Mac files; JSON allows all three as whitespace)
_LINE_BREAK = re.compile(r"\r\n?|\n")
_LINE_BREAK_BYTES = re.compile(rb"\r\n?|\n")


def _line_starts(text: str) -> list[int]:
    if "\r" not in text:
        starts = [0]
        find = text.find
        i = find("\n")
        while i != -1:
            starts.append(i + 1)
            i = find("\n", i + 1)
        return starts
    return [0] + [m.end() for m in _LINE_BREAK.finditer(text)]


def _line_col(text: str, index: int) -> tuple[int, int]:
    import bisect

    starts = _line_starts(text[:index])
    line = bisect.bisect_right(starts, index)
    return line, index - starts[line - 1] + 1


# --------------------------------------------------------------------------------------------
# JSON


class _Refused(Exception):
    pass


def _refuse_constant(name: str) -> Any:
    raise _Refused(name)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise _Refused(k)
        out[k] = v
    return out


def parse_json_text(text: str) -> Any:
    """Parse strict JSON: no NaN/Infinity, no duplicate keys, bounded numbers and depth."""
    # per-number Python hooks cost more than the parse itself: parse fast, then one walk checks
    # what the C parser lets through (a float overflowed to inf, an integer beyond a double,
    # nesting beyond MAX_DEPTH); the scanner then finds the exact place
    try:
        data = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_no_duplicates)
        if _out_of_bounds(data, MAX_DEPTH):
            _JsonScanner(text).positions()
            raise DocumentError("a number beyond a double, or nesting too deep", 1, 1)  # pragma: no cover
        return data
    except json.JSONDecodeError as exc:
        # the C scanner's message is terse; the scanner below gives the same place, better words
        _JsonScanner(text).positions()
        raise DocumentError(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except (_Refused, RecursionError, ValueError):
        # rerun the position scanner: it raises DocumentError at the exact place
        _JsonScanner(text).positions()
        raise DocumentError("invalid JSON", 1, 1) from None  # pragma: no cover


# The array elements whose places the repository view asks for in every dataset (comparability.py):
# the parse records them on the way, so that no second pass over the text is needed. "*" is any index.
_RECORDED: dict[str, Any] = {"calibrations": {"*": {"fits": {"*": {}}}}}


def _recorded_path(pointer: str) -> bool:
    """Whether ``pointer`` names an element of the paths _RECORDED describes (``/calibrations/3``,
    ``/calibrations/3/fits/0``), an index written as Python writes it."""
    node: dict[str, Any] | None = _RECORDED
    parts = pointer_parts(pointer)
    for depth, token in enumerate(parts):
        if node is None:
            return False
        if depth % 2:  # an array index
            if not (token.isascii() and token.isdigit() and str(int(token)) == token):
                return False
            node = node.get("*")
        else:
            node = node.get(token)
    return bool(parts) and len(parts) % 2 == 0 and node is not None


def _parse_json_recording(text: str) -> tuple[Any, dict[str, int] | None]:
    """parse_json_text(text), and the character index of every element of the _RECORDED paths.

    The containers on those paths (the top-level object, ``calibrations``, each calibration) are
    read here, key by key, recording where each element of ``calibrations`` and of each ``fits``
    starts; every other value is read by the C scanner without a Python hook per object (only
    ``_refuse_constant``, which runs for NaN/Infinity alone). One walk of the result then checks
    the bounds and counts the keys, and the count proves that no object repeats a key (see
    _keys_unrepeated). Anything but a clean parse within bounds (an error, a value out of bounds,
    a repeated key, or a count that proves nothing) is handed to parse_json_text, which raises the
    located error or returns the same data; the positions are then not recorded (None:
    Document.locate_elements walks to them)."""
    try:
        found: dict[str, int] = {}
        data, end = _read_recording(text, _WS.match(text, 0).end(), _RECORDED, "", found)  # type: ignore[union-attr]
        if _WS.match(text, end).end() != len(text):  # type: ignore[union-attr]
            raise ValueError("extra data")
        keys = _bounds_and_keys(data, MAX_DEPTH)
        if keys < 0:
            raise ValueError("out of bounds")
        if not _keys_unrepeated(text, keys):
            raise ValueError("a key may be repeated")
    except (ValueError, IndexError, StopIteration, _Refused, RecursionError):
        return parse_json_text(text), None
    return data, found


def _keys_unrepeated(text: str, keys: int) -> bool:
    """True only if no object of the JSON ``text`` repeats a key, given ``keys``, the number of
    keys of all the dicts its parse holds (False: it may, and the exact parse must decide).

    The proof. Let K be the number of key tokens in ``text``. The parse makes a new dict for each
    object of the text (it shares none), holding one entry per distinct key of the object: at
    most its number of key tokens, fewer exactly when it repeats a key. ``keys`` counts the dicts
    the result holds: all of them, unless a repeated key dropped a value (and the dicts in it).
    So ``keys`` <= K, and ``keys`` == K exactly when no object repeats a key: without a repeat
    nothing is dropped and each dict has an entry per token; with one, the outermost object
    that repeats a key is held (only a repeat in an enclosing object could drop it) and has
    fewer entries than tokens. Outside strings, the only colon JSON has is the one after each
    key, so ``text.count(":")`` (colons inside strings too) is >= K. And every key token ends
    with its closing quote, optional JSON whitespace and that colon: a match of
    ``"[ \\t\\n\\r]*:``, each match holding a single quote (its first character), so the keys'
    matches are distinct and do not overlap and the number of matches is >= K as well. If
    either bound equals ``keys``, then K <= bound = ``keys`` <= K: ``keys`` == K, no key is
    repeated. (A colon or ``":`` inside a string only makes a bound looser, never wrong.)"""
    if text.count(":") == keys:  # the cheap bound: exact unless a string holds a colon
        return True
    return len(_KEY_END.findall(text)) == keys


# a key token's end: its closing quote, optional JSON whitespace, its colon (see _keys_unrepeated)
_KEY_END = re.compile(r'"[ \t\n\r]*:')
# a key without escapes or control characters, its colon and the whitespace after it (a key the
# pattern does not take is read by scanstring, which decodes escapes and refuses what JSON refuses)
_PLAIN_KEY = re.compile(r'"([^"\\\x00-\x1f]*)"[ \t\n\r]*:[ \t\n\r]*')
_NEXT_PLAIN_KEY = re.compile(r'[ \t\n\r]*,[ \t\n\r]*"([^"\\\x00-\x1f]*)"[ \t\n\r]*:[ \t\n\r]*')
_COMMA = re.compile(r"[ \t\n\r]*,[ \t\n\r]*")
# the C scanner itself (raw_decode without its Python wrapper), with no hook per object
_SCAN = json.JSONDecoder(parse_constant=_refuse_constant).scan_once


def _read_recording(text: str, i: int, node: dict[str, Any], pointer: str,
                    found: dict[str, int]) -> tuple[Any, int]:
    """The JSON value at ``i`` (no whitespace before it) and the index after it; the containers the
    trie ``node`` names are read here (recording the places of the elements of an array whose
    node has "*"), the rest by the C scanner. An empty node is a value whose place alone is
    recorded: the C scanner reads it."""
    scan = _SCAN
    ws = _WS.match
    if text[i] == "{":
        obj: dict[str, Any] = {}
        i = ws(text, i + 1).end()  # type: ignore[union-attr]
        if text[i] == "}":
            return obj, i + 1
        next_key = _NEXT_PLAIN_KEY.match
        m = _PLAIN_KEY.match(text, i)
        while True:
            if m is not None:  # a plain key, its colon and the whitespace around them in one step
                key = m.group(1)
                i = m.end()
            else:
                if text[i] != '"':
                    raise ValueError("expected a key")
                key, i = _scanstring(text, i + 1)
                i = ws(text, i).end()  # type: ignore[union-attr]
                if text[i] != ":":
                    raise ValueError("expected ':'")
                i = ws(text, i + 1).end()  # type: ignore[union-attr]
            child = node.get(key) if key != "*" else None
            if child and text[i] in "{[":
                value, i = _read_recording(text, i, child, f"{pointer}/{key}", found)
            else:  # off the recorded paths: the C scanner reads the whole value
                value, i = scan(text, i)
            # a repeated key overwrites here: the key count (see _keys_unrepeated) refuses it
            obj[key] = value
            m = next_key(text, i)  # ", next key:" in one step
            if m is None:
                i = ws(text, i).end()  # type: ignore[union-attr]
                if text[i] == ",":  # a key the pattern does not take follows: scanstring reads it
                    i = ws(text, i + 1).end()  # type: ignore[union-attr]
                elif text[i] == "}":
                    return obj, i + 1
                else:
                    raise ValueError("expected ',' or '}'")
    if text[i] != "[":
        return scan(text, i)
    items: list[Any] = []
    i = ws(text, i + 1).end()  # type: ignore[union-attr]
    if text[i] == "]":
        return items, i + 1
    star = node.get("*")
    comma = _COMMA.match
    while True:
        if star is not None:
            found[f"{pointer}/{len(items)}"] = i
        if star and text[i] in "{[":
            value, i = _read_recording(text, i, star, f"{pointer}/{len(items)}", found)
        else:
            value, i = scan(text, i)
        items.append(value)
        m = comma(text, i)
        if m is not None:
            i = m.end()
            continue
        i = ws(text, i).end()  # type: ignore[union-attr]
        if text[i] == "]":
            return items, i + 1
        raise ValueError("expected ',' or ']'")


_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]


_INT_BEYOND_DOUBLE_BITS = 1024  # 2**1024 overflows a double


def _out_of_bounds(data: Any, limit: int) -> bool:
    """Containers nested deeper than ``limit``, a non-finite float, or an integer no double
    can hold (iterative: no recursion)."""
    return _bounds_and_keys(data, limit) < 0


def _bounds_and_keys(data: Any, limit: int) -> int:
    """-1 if ``data`` has containers nested deeper than ``limit``, a non-finite float, or an
    integer no double can hold; else the number of keys of all its dicts. Level by level (no
    recursion; a level's depth is known without keeping one per container)."""
    if not isinstance(data, (dict, list)):
        return -1 if isinstance(data, float) and not math.isfinite(data) else 0
    isfinite = math.isfinite
    keys = 0
    level = [data]
    depth = 1
    while level:
        if depth > limit:
            return -1
        below: list[Any] = []
        push = below.append
        for node in level:
            if type(node) is dict:
                keys += len(node)
                node = node.values()
            for c in node:
                t = type(c)
                if t is float:  # the commonest value of a dataset first
                    if not isfinite(c):
                        return -1
                elif t is dict or t is list:
                    push(c)
                elif t is int and c.bit_length() >= _INT_BEYOND_DOUBLE_BITS:
                    return -1
        level = below
        depth += 1
    return keys


# JSON's \u escapes (and YAML's \u, \U) can spell half of a UTF-16 surrogate pair, which is no
# Unicode character: the model refuses such a string and no UTF-8 output can carry it
_SURROGATE_ESCAPE = re.compile(r"\\(?:u|U0000)[dD][89a-fA-F]")


def _first_surrogate(data: Any) -> str | None:
    """The pointer of the first key or string holding a lone surrogate, in document order."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        pointer, node = stack.pop()
        if isinstance(node, str):
            if not _utf8(node):
                return pointer
        elif isinstance(node, dict):
            items: list[tuple[str, Any]] = []
            for k, v in node.items():
                child = join_pointer(pointer, k)
                items += [(child, k), (child, v)]
            stack.extend(reversed(items))
        elif isinstance(node, list):
            stack.extend(reversed([(join_pointer(pointer, i), v) for i, v in enumerate(node)]))
    return None


def _utf8(s: str) -> bool:
    if s.isascii():
        return True
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse_surrogates(doc: "Document") -> None:
    # every escape starts with a backslash: most documents have none, and finding that out is a
    # memchr, several times faster than the search
    if "\\" not in doc.text or _SURROGATE_ESCAPE.search(doc.text) is None:
        return
    pointer = _first_surrogate(doc.data)
    if pointer is not None:
        line, column = doc.locate(pointer)
        # the pointer itself may hold the surrogate: the message names the place by line:column
        raise DocumentError("a string holds an unpaired UTF-16 surrogate escape (\\ud800–\\udfff), which is "
                            "not a Unicode character", line or 1, column or 1)


_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# possessive quantifiers: a run of plain characters is one step and nothing is kept for
# backtracking (the plain form took ~120 bytes of regex stack per character of a long string)
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]++|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*+"')
_LITERALS = ("true", "false", "null")


class _JsonScanner:
    """An iterative JSON scanner that records where every pointer's key or value starts.

    It also reports, with exact positions, what the fast parser refuses: NaN/Infinity,
    duplicate keys, over-long numbers, excessive nesting, and plain syntax errors.
    """

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self._line_starts: list[int] | None = None

    def _lc(self, index: int) -> tuple[int, int]:
        if self._line_starts is None:
            self._line_starts = _line_starts(self.text)
        import bisect

        line = bisect.bisect_right(self._line_starts, index)
        return line, index - self._line_starts[line - 1] + 1

    def _fail(self, message: str, index: int | None = None) -> None:
        line, col = self._lc(self.pos if index is None else index)
        raise DocumentError(message, line, col)

    def _ws(self) -> None:
        self.pos = _WS.match(self.text, self.pos).end()

    def positions(self) -> dict[str, tuple[int, int]]:
        text = self.text
        out: dict[str, tuple[int, int]] = {}
        self._ws()
        # stack frames: [kind, pointer, index_or_keys, state]
        stack: list[list[Any]] = []
        pointer = ""
        expect_value = True
        out[""] = self._lc(self.pos) if self.pos < len(text) else (1, 1)
        while True:
            self._ws()
            if expect_value:
                if self.pos >= len(text):
                    self._fail("unexpected end of file: a value is missing")
                ch = text[self.pos]
                if ch == "{" or ch == "[":
                    if len(stack) >= MAX_DEPTH:
                        self._fail(f"nesting deeper than {MAX_DEPTH} levels")
                    self.pos += 1
                    self._ws()
                    if ch == "{":
                        stack.append(["obj", pointer, set(), None])
                        if self.pos < len(text) and text[self.pos] == "}":
                            self.pos += 1
                            stack.pop()
                            expect_value = False
                        else:
                            pointer = self._key(stack[-1], out)
                            expect_value = True
                            continue
                    else:
                        stack.append(["arr", pointer, 0, None])
                        if self.pos < len(text) and text[self.pos] == "]":
                            self.pos += 1
                            stack.pop()
                            expect_value = False
                        else:
                            pointer = f"{stack[-1][1]}/0"
                            out[pointer] = self._lc(self.pos)
                            continue
                elif ch == '"':
                    m = _STRING.match(text, self.pos)
                    if not m:
                        self._fail("unterminated string or invalid escape/control character in string")
                    self.pos = m.end()
                elif ch == "-" or ch.isdigit():
                    if text.startswith("-Infinity", self.pos) or text.startswith("-NaN", self.pos):
                        self._fail("-Infinity is not JSON: write a finite number or leave the field out")
                    m = _NUMBER.match(text, self.pos)
                    if not m:
                        self._fail("invalid number")
                    digits = m.end() - m.start()
                    if digits > MAX_NUMBER_DIGITS:
                        self._fail(f"a number with {digits:,} characters is not a measurement (limit {MAX_NUMBER_DIGITS})")
                    if math.isinf(float(m.group())):
                        self._fail(f"the number {m.group()[:30]} is too large to represent")
                    self.pos = m.end()
                else:
                    for lit in _LITERALS:
                        if text.startswith(lit, self.pos):
                            self.pos += len(lit)
                            break
                    else:
                        for bad in ("NaN", "Infinity"):
                            if text.startswith(bad, self.pos):
                                self._fail(f"{bad} is not JSON: write a finite number or leave the field out")
                        self._fail(f"unexpected character {ch!r}: a value was expected")
                expect_value = False
                continue
            # after a value
            if not stack:
                self._ws()
                if self.pos != len(text):
                    self._fail("extra data after the end of the document")
                return out
            frame = stack[-1]
            self._ws()
            if self.pos >= len(text):
                self._fail("unexpected end of file: a closing bracket is missing")
            ch = text[self.pos]
            if frame[0] == "obj":
                if ch == ",":
                    comma = self.pos
                    self.pos += 1
                    self._ws()
                    if self.pos < len(text) and text[self.pos] == "}":
                        self._fail("trailing comma before '}': JSON allows none, remove it", comma)
                    pointer = self._key(frame, out)
                    expect_value = True
                elif ch == "}":
                    self.pos += 1
                    stack.pop()
                    pointer = frame[1]
                else:
                    self._fail("expected ',' or '}' after an object member")
            else:
                if ch == ",":
                    comma = self.pos
                    self.pos += 1
                    self._ws()
                    if self.pos < len(text) and text[self.pos] == "]":
                        self._fail("trailing comma before ']': JSON allows none, remove it", comma)
                    frame[2] += 1
                    pointer = f"{frame[1]}/{frame[2]}"
                    out[pointer] = self._lc(self.pos)
                    expect_value = True
                elif ch == "]":
                    self.pos += 1
                    stack.pop()
                    pointer = frame[1]
                else:
                    self._fail("expected ',' or ']' after an array element")

    def _key(self, frame: list[Any], out: dict[str, tuple[int, int]]) -> str:
        text = self.text
        if self.pos >= len(text) or text[self.pos] != '"':
            self._fail("expected a key in double quotes")
        start = self.pos
        m = _STRING.match(text, self.pos)
        if not m:
            self._fail("unterminated key string")
        key = json.loads(m.group())
        if key in frame[2]:
            self._fail(f"duplicate key {key!r}: JSON objects must not repeat a key", start)
        frame[2].add(key)
        self.pos = m.end()
        self._ws()
        if self.pos >= len(text) or text[self.pos] != ":":
            self._fail("expected ':' after a key")
        self.pos += 1
        pointer = join_pointer(frame[1], key)
        out[pointer] = self._lc(start)
        return pointer


# --------------------------------------------------------------------------------------------
# YAML


def _parse_yaml(text: str) -> tuple[Any, dict[str, tuple[int, int]]]:
    """Build the JSON tree from the YAML event stream, without recursion.

    libyaml's event parser (PyYAML's pure-Python one where libyaml is missing) is iterative;
    the composers of both recurse once per nesting level, which is slow in Python and crashes
    libyaml on hostile depth. Composing here stops at MAX_DEPTH before any deep structure
    exists, bounds alias expansion, and records every pointer's line:column.
    """
    import yaml

    loader = _json_types_loader()(text)
    try:
        return _compose_events(loader, text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise DocumentError(f"invalid YAML: {exc.problem or exc}", line, col) from None
    except yaml.YAMLError as exc:
        raise DocumentError(f"invalid YAML: {exc}", 1, 1) from None
    finally:
        loader.dispose()


def _compose_events(loader: Any, text: str) -> tuple[Any, dict[str, tuple[int, int]]]:
    import yaml

    positions: dict[str, tuple[int, int]] = {}
    anchors: dict[str, tuple[Any, int]] = {}  # anchor -> (value, number of values it expands to)
    # without aliases every value costs at least a character of text; far more values than
    # characters means aliases are multiplying the tree (a "billion laughs" bomb)
    budget = min(MAX_YAML_NODES, len(text) + 10_000)
    used = 0
    # frames: [container, pointer, pending key (mappings) or None, anchor, values inside, is_mapping]
    stack: list[list[Any]] = []
    root: Any = None
    have_root = False
    documents = 0

    def where(mark: Any) -> tuple[int, int]:
        return (mark.line + 1, mark.column + 1)

    def attach(value: Any, mark: Any, count: int) -> None:
        nonlocal root, have_root
        if not stack:
            root, have_root = value, True
            positions.setdefault("", where(mark))
            return
        frame = stack[-1]
        container = frame[0]
        frame[4] += count
        if frame[5]:
            key = frame[2]
            if key is None:  # this value is a key
                if not isinstance(value, str):
                    raise DocumentError(f"keys must be strings; found {type(value).__name__} {value!r} (quote it)",
                                        *where(mark))
                if value in container:
                    raise DocumentError(f"duplicate key {value!r}: a mapping must not repeat a key", *where(mark))
                frame[2] = value
                positions[join_pointer(frame[1], value)] = where(mark)
            else:
                container[key] = value
                frame[2] = None
        else:
            pointer = join_pointer(frame[1], len(container))
            positions.setdefault(pointer, where(mark))
            container.append(value)

    def child_pointer() -> str:
        if not stack:
            return ""
        frame = stack[-1]
        if frame[5]:
            return join_pointer(frame[1], frame[2]) if frame[2] is not None else frame[1]
        return join_pointer(frame[1], len(frame[0]))

    while loader.check_event():
        event = loader.get_event()
        kind = type(event)
        if kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise DocumentError("expected a single YAML document, found another", *where(event.start_mark))
            continue
        if kind in (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent):
            continue
        if kind in (yaml.MappingStartEvent, yaml.SequenceStartEvent):
            is_map = kind is yaml.MappingStartEvent
            standard = "tag:yaml.org,2002:map" if is_map else "tag:yaml.org,2002:seq"
            if event.tag not in (None, "!", standard):
                raise DocumentError(f"unsupported YAML tag {event.tag!r}: datasets are plain data",
                                    *where(event.start_mark))
            if stack and stack[-1][5] and stack[-1][2] is None:
                raise DocumentError("keys must be plain strings", *where(event.start_mark))
            if len(stack) >= MAX_DEPTH:
                raise DocumentError(f"nesting deeper than {MAX_DEPTH} levels", *where(event.start_mark))
            used += 1
            if used > budget:
                raise DocumentError(f"the YAML expands to more than {budget:,} values (an alias bomb?)",
                                    *where(event.start_mark))
            pointer = child_pointer()
            positions.setdefault(pointer, where(event.start_mark))
            stack.append([{} if is_map else [], pointer, None, event.anchor, 1, is_map, event.start_mark])
            continue
        if kind in (yaml.MappingEndEvent, yaml.SequenceEndEvent):
            container, _pointer, _key, anchor, count, _is_map, mark = stack.pop()
            if anchor is not None:
                anchors[anchor] = (container, count)
            attach(container, mark, count)
            continue
        if kind is yaml.ScalarEvent:
            used += 1
            if used > budget:
                raise DocumentError(f"the YAML expands to more than {budget:,} values (an alias bomb?)",
                                    *where(event.start_mark))
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
            value = _yaml_scalar(tag, event.value, where(event.start_mark))
            if event.anchor is not None:
                anchors[event.anchor] = (value, 1)
            attach(value, event.start_mark, 1)
            continue
        if kind is yaml.AliasEvent:
            if event.anchor not in anchors:
                raise DocumentError(f"unknown alias *{event.anchor}", *where(event.start_mark))
            value, count = anchors[event.anchor]
            used += count
            if used > budget:
                raise DocumentError(f"the YAML expands to more than {budget:,} values (an alias bomb?)",
                                    *where(event.start_mark))
            attach(value, event.start_mark, count)
            continue
    if not have_root:
        raise DocumentError("the YAML document is empty", 1, 1)
    return root, positions


def _yaml_scalar(tag: str, value: str, where: tuple[int, int]) -> Any:
    """A scalar's JSON value from its (resolved) tag; anything but JSON's types is refused."""
    if tag == "tag:yaml.org,2002:str":
        return value
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return value.lower() in ("true", "yes", "on")
    if tag == "tag:yaml.org,2002:int":
        digits = value.replace("_", "")
        if len(digits) > MAX_NUMBER_DIGITS:
            raise DocumentError(f"a number with {len(digits):,} characters is not a measurement", *where)
        try:
            number = int(digits, 0) if digits.lstrip("+-")[:2].lower() in ("0x", "0o", "0b") else int(digits)
        except ValueError:
            return value
        try:
            float(number)
        except OverflowError:
            raise DocumentError(f"the number {value[:30]}… is too large to represent", *where) from None
        return number
    if tag == "tag:yaml.org,2002:float":
        digits = value.replace("_", "")
        if len(digits) > MAX_NUMBER_DIGITS:
            raise DocumentError(f"a number with {len(digits):,} characters is not a measurement", *where)
        try:
            number = float(digits)
        except ValueError:
            raise DocumentError(f"{value!r} is not a finite number", *where) from None
        if not math.isfinite(number):
            raise DocumentError(f"{value} is not a finite number: write a number or leave the field out", *where)
        return number
    raise DocumentError(f"unsupported YAML tag {tag!r}: datasets are plain data", *where)


_LOADER: Any = None


def _json_types_loader() -> Any:
    """A safe event parser whose implicit types are JSON's (no timestamps, no sets)."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml

    # libyaml's event parser when PyYAML was built with it (about 5x faster), else pure Python
    base = getattr(yaml, "CSafeLoader", None) if getattr(yaml, "__with_libyaml__", False) else None
    base = base or yaml.SafeLoader

    class JsonTypesLoader(base):  # type: ignore[misc, valid-type]
        pass

    # drop the timestamp (and YAML 1.1 '=' value) resolvers so dates stay strings
    JsonTypesLoader.yaml_implicit_resolvers = {
        ch: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value")]
        for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _LOADER = JsonTypesLoader
    return _LOADER


def document_from_mapping(data: Any) -> Document:
    """Wrap an in-memory mapping (Python API); no positions are available."""
    text = json.dumps(data, allow_nan=True, default=str)
    try:
        positions = _JsonScanner(json.dumps(data, allow_nan=False, default=str, indent=1)).positions()
        text = json.dumps(data, allow_nan=False, default=str, indent=1)
    except (ValueError, DocumentError):
        positions = {}
    doc = Document(data=data, text=text, kind="json", sha256=hashlib.sha256(text.encode()).hexdigest())
    doc._positions = positions
    return doc


def is_dataset_name(name: str) -> bool:
    """Whether a file name is a dataset's (``*.mpical.json``, ``*.mpical.yaml``, ``*.mpical.yml``,
    in any case)."""
    return name.lower().endswith(DATASET_SUFFIXES)


def is_dataset_file(path: Path) -> bool:
    return is_dataset_name(path.name)
