"""One sanitiser for every string that comes from a dataset or a file name.

A dataset is untrusted, and so is every name in its folder. Anything of it that reaches a
terminal or a CI log (a message quoting a value, a JSON pointer built from a key, a remedy,
a file name, an id) goes through :func:`clean` first:

* C0 and C1 control characters (ESC, BEL, CR, LF, DEL, CSI U+009B, OSC U+009D, ...) are
  shown escaped (``\\x1b``, ``\\n``, ``\\x9b``), never emitted, so no CSI, OSC (clipboard
  writes, hyperlinks, the window title) or DCS sequence and no extra line can be formed;
* bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069), the line and
  paragraph separators and other invisible format characters are shown escaped (``\\u202e``);
* a lone surrogate (a file name that is not valid UTF-8, as Python decodes it) is shown as
  the byte it stands for (``\\xff``);
* GitHub Actions workflow commands: ``::`` at the start of a string and ``##[`` anywhere are
  defused (``\\x3a:``, ``##\\x5b``).

:func:`guard_lines` is the last pass over a whole rendered text: after it no line, past its
leading whitespace, starts with ``::`` and no line holds ``##[``, whatever the parts were.
Renderers of structured formats (JSON, XML) use :func:`guard_json` / :func:`guard_xml`, which
change only the spelling (``\\u005b``, ``&#91;``), never the parsed value.
"""
from __future__ import annotations

import re
import unicodedata

# C0, DEL, C1; bidi embeddings/overrides/isolates and marks; line/paragraph separators; BOM,
# zero-width characters; lone surrogates (undecodable bytes of a file name)
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the undecodable byte itself
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def clean(value: object) -> str:
    """``value`` as one line of plain, inert text (see the module docstring)."""
    text = value if isinstance(value, str) else str(value)
    if _UNSAFE.search(text):
        text = _UNSAFE.sub(lambda m: _escape(m.group()), text)
    if not text.isprintable():  # anything else unprintable (other Cc/Cf/Co/Cn code points)
        text = "".join(ch if ch.isprintable() or ch == " " else _other(ch) for ch in text)
    if "##[" in text:
        text = text.replace("##[", "##\\x5b")
    if text.lstrip().startswith("::"):
        i = len(text) - len(text.lstrip())
        text = text[:i] + "\\x3a" + text[i + 1:]
    return text


def _other(ch: str) -> str:
    # printable by Unicode's lights but not by Python's: spaces other than U+0020 are kept
    if unicodedata.category(ch) == "Zs":
        return ch
    return _escape(ch)


_LINE_START = re.compile(r"^([ \t]*):(?=:)", re.MULTILINE)


def guard_lines(text: str) -> str:
    """The last pass over a rendered text: no line opens a workflow command."""
    if "##[" in text:
        text = text.replace("##[", "##\\x5b")
    if "::" in text:
        text = _LINE_START.sub(lambda m: m.group(1) + "\\x3a", text)
    return text


# what JSON (with ensure_ascii=False) and XML leave raw but a terminal would act on: CR (XML
# character data only; JSON always escapes it), C1
# controls (U+009B is CSI, U+009D OSC), bidi controls, line/paragraph separators
_RAW_IN_STRUCTURED = re.compile("[\r\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def guard_json(text: str) -> str:
    """JSON text whose strings cannot act on a terminal or a CI log; the parsed value is the same.

    ``##[`` becomes ``##\\u005b`` and C1 controls, bidi controls and U+2028/U+2029 become
    ``\\uXXXX`` escapes (all of them can only occur inside JSON strings)."""
    if "##[" in text:
        text = text.replace("##[", "##\\u005b")
    return _RAW_IN_STRUCTURED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def guard_xml(text: str) -> str:
    """XML text whose character data cannot open a workflow command on any line.

    ``##[`` becomes ``##&#91;`` and a line break inside character data becomes ``&#10;``
    (inside attributes ElementTree already writes ``&#10;``), so dataset text never starts a
    line; the parsed values are unchanged.
    """
    if "##[" in text:
        text = text.replace("##[", "##&#91;")
    text = _RAW_IN_STRUCTURED.sub(lambda m: f"&#x{ord(m.group()):x};", text)
    if "::" in text:
        # a line of the serialised XML that starts (after indentation) with '::' can only be
        # character data continuing after a line break: spell that ':' as a character reference
        text = _LINE_START.sub(lambda m: m.group(1) + "&#58;", text)
    return text


def display_name(path: object) -> str:
    """A file name as text every output format can carry: undecodable bytes as ``\\xNN``.

    Python decodes a name that is not valid UTF-8 with lone surrogates (surrogateescape);
    no UTF-8 output can hold those. This keeps every other character as it is (escaping for a
    terminal is :func:`clean`'s job). Used wherever a path becomes a dataset's display name,
    so every renderer (text, JSON, SARIF, JUnit, HTML, PDF) receives encodable text.
    """
    text = path if isinstance(path, str) else str(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _SURROGATE.sub(lambda m: _escape(m.group()), text)


_SURROGATE = re.compile("[\ud800-\udfff]")
