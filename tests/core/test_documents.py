"""Loading documents: strict JSON, JSON-typed YAML, and exact line:column for every pointer."""
from __future__ import annotations

import json

import pytest

from mpistd.load.documents import DocumentError, parse_bytes, pointer_parts


def _error(text: str, kind: str = "json") -> DocumentError:
    with pytest.raises(DocumentError) as info:
        parse_bytes(text.encode("utf-8") if isinstance(text, str) else text, kind=kind)
    return info.value


def test_syntax_error_has_the_line_and_column_of_the_mistake() -> None:
    text = '{\n  "a": 1,\n  "b": [1, 2,, 3]\n}\n'
    e = _error(text)
    assert (e.line, e.column) == (3, 14)  # the second comma


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_literals_are_refused_where_they_stand(literal: str) -> None:
    e = _error('{"x": [1.0,\n  ' + literal + "]}")
    assert (e.line, e.column) == (2, 3)
    assert "not JSON" in e.message


def test_duplicate_keys_point_at_the_second_key() -> None:
    e = _error('{"a": 1,\n "b": {"c": 1, "c": 2}}')
    assert (e.line, e.column) == (2, 16)
    assert "duplicate key 'c'" in e.message


def test_huge_numbers_and_deep_nesting_are_bounded() -> None:
    assert "characters" in _error('{"a": ' + "9" * 5000 + "}").message
    assert "nesting" in _error("[" * 100_000 + "]" * 100_000).message
    assert "too large" in _error('{"a": 1e999}').message


def test_encoding_problems_are_located() -> None:
    e = _error(b'{"a": "caf\xe9"}')
    assert "UTF-8" in e.message and (e.line, e.column) == (1, 11)
    assert "UTF-16" in _error('{"a": 1}'.encode("utf-16")).message
    assert "empty" in _error(b"   \n").message
    assert "binary" in _error(b'{"a": "\x00"}').message


def test_positions_of_keys_and_array_items() -> None:
    doc = parse_bytes(b'{\n  "a": [\n    1,\n    {"b/c": 2}\n  ]\n}')
    assert doc.locate("/a") == (2, 3)
    assert doc.locate("/a/0") == (3, 5)
    assert doc.locate("/a/1/b~1c") == (4, 6)
    assert doc.locate("/a/1/missing") == (4, 5)  # nearest existing parent
    assert pointer_parts("/a/1/b~1c") == ["a", "1", "b/c"]


def test_yaml_keeps_json_types_and_positions() -> None:
    doc = parse_bytes(b"schema_version: 1.0\ncreated: 2024-01-01\nitems:\n  - a: 1\n    b: [1, 2]\n", kind="yaml")
    assert doc.data == {"schema_version": 1.0, "created": "2024-01-01", "items": [{"a": 1, "b": [1, 2]}]}
    assert doc.locate("/items/0/b/1") == (5, 12)
    assert doc.locate("/created") == (2, 1)


@pytest.mark.parametrize(
    "text, words",
    [
        ("a: !!python/object/apply:os.system ['x']", "unsupported YAML tag"),
        ("a: 1\na: 2", "duplicate key"),
        ("a: .nan", "finite"),
        ("1: x", "keys must be strings"),
        ("a: [1,", "invalid YAML"),
    ],
)
def test_hostile_yaml_is_refused_with_a_location(text: str, words: str) -> None:
    e = _error(text, kind="yaml")
    assert words in e.message
    assert e.line is not None and e.column is not None


def test_yaml_alias_bomb_is_bounded() -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    e = _error("\n".join(lines), kind="yaml")
    assert "alias bomb" in e.message


def test_valid_json_round_trips_exactly() -> None:
    data = {"x": [1, 2.5, "s", None, True], "y": {"z": -0.0}}
    assert parse_bytes(json.dumps(data).encode()).data == data


# --- the parse that records the repository view's element places in the same pass (issue 17) ---

_CALS_TEXT = (
    '{"schema_version":"1.0", "calibrations" :\t[\r\n'
    '  {"id": "a", "points": [{"x": [1, 2, {"fits": [9]}]}], "fits": [ {"metric": "m"} ,\n'
    '     {"metric": "n"}]},\n'
    '\n'
    '  {"fits": []}, 7, {"id": "c/\\u00e9", "fits": [1.5e3, null, "x"]}\n'
    '], "fits": [{"not": "recorded"}], "tail": {"calibrations": [1]}}\n'
)


def test_recording_parse_gives_json_loads_data_and_the_places_the_full_scanner_gives() -> None:
    from mpistd.load.documents import Document

    doc = parse_bytes(_CALS_TEXT.encode())
    assert doc.data == json.loads(_CALS_TEXT)
    assert list(doc.data) == list(json.loads(_CALS_TEXT))  # key order too
    # every element of /calibrations and of each calibration's fits, nothing else
    assert sorted(doc._elements) == ["/calibrations/0", "/calibrations/0/fits/0", "/calibrations/0/fits/1",
                                     "/calibrations/1", "/calibrations/2", "/calibrations/3",
                                     "/calibrations/3/fits/0", "/calibrations/3/fits/1", "/calibrations/3/fits/2"]
    wanted = [*doc._elements, "/calibrations/9", "/calibrations/1/fits/0", "/fits/0", "/tail/calibrations/0"]
    got = doc.locate_elements(wanted)
    # the same answer as the full position scanner (a document without the recorded places)
    full = Document(data=doc.data, text=doc.text, kind="json")
    assert got == full.locate_elements(wanted)
    assert got == {p: full.locate(p) for p in doc._elements} | {"/fits/0": full.locate("/fits/0"),
                                                                "/tail/calibrations/0": full.locate("/tail/calibrations/0")}
    # by hand: the second calibration's '{' is on line 5, column 3 (after two spaces); the first
    # fit's '{' on line 2 follows 64 characters, the '[' of "fits" and one space: column 67
    assert got["/calibrations/1"] == (5, 3)
    assert got["/calibrations/0/fits/0"] == (2, 67)


@pytest.mark.parametrize("text", [
    '{"calibrations": [{"fits": [1, 2,, 3]}]}',          # a syntax error on the recorded path
    '{"calibrations": [{"fits": [], "fits": []}]}',        # a duplicate key on it
    '{"calibrations": [{"fits": [NaN]}]}',                 # a refused constant in it
    '{"calibrations": [1e400]}',                           # a number beyond a double
    '{"calibrations": []} {}',                             # extra data
])
def test_recording_parse_refuses_what_the_plain_parse_refuses(text: str) -> None:
    from mpistd.load.documents import parse_json_text

    with pytest.raises(DocumentError) as plain:
        parse_json_text(text)
    e = _error(text)
    assert (e.message, e.line, e.column) == (plain.value.message, plain.value.line, plain.value.column)


# --- duplicate keys found by counting them (issue 17): no Python hook runs per object ---

_REPEATED = [
    '{"a": 1, "a": 2}',
    '{"": 1, "": 2}',
    '{"a": "b:c", "a": 1}',                                   # a colon in a string loosens text.count(":")
    '{"a": "x\\":", "b": {"c": 1, "c": 2}}',                   # and a quote-colon in a string loosens the pattern
    '{"a" \n\t : 1, "a"\r\n:2}',                              # whitespace before the colon
    '{"k\\"": 1, "k\\"": 2}',                                 # an escaped quote in the key
    '{"\\u003a": 1, ":": 2}',                                 # the same key, escaped and plain
    '{"calibrations": [{"points": [{"x": 1, "y": {"z": [], "z": []}}]}]}',  # deep, off the recorded path
    '{"calibrations": [], "calibrations": []}',               # on the recorded path
    '{"calibrations": [{"fits": [{"m": 1, "m": 1}]}]}',       # in an element whose place is recorded
    '{"s": "::::", "a": 1, "a": 2}',                          # colons in strings only loosen the bound further
    '{"s": "\\":", "a": {"b": 1, "b": 2}}',                    # and so does a quote-colon in a string
    '{"a": {"x": 1, "x": 2}, "a": 3}',                        # a repeat inside a value a repeat drops
    '{"a": {"b": {"c": {}}}, "a": {}}',                        # the dropped value's dicts are not counted
]


@pytest.mark.parametrize("text", _REPEATED)
def test_a_repeated_key_is_refused_where_the_exact_parse_refuses_it(text: str) -> None:
    from mpistd.load.documents import parse_json_text

    with pytest.raises(DocumentError) as plain:
        parse_json_text(text)
    assert "duplicate key" in plain.value.message
    e = _error(text)
    assert (e.message, e.line, e.column) == (plain.value.message, plain.value.line, plain.value.column)


@pytest.mark.parametrize(("text", "keys"), [
    ('{"a": "b:c", "d": {"e": "f\\" :"}}', 3),                  # both bounds loose: the exact parse decides
    ('{"a": "b:c", "d": {"e": 1}}', 3),                          # the colon count loose, the pattern exact
    ('{"a" \r\n : 1, "\\u003a": {"\\"": 2, "e\\u0022": 3}}', 4),  # escapes and whitespace, no repeat
    ('{"calibrations": [{"fits": [{"note": "x\\":"}, 2]}, {"fits": [{"a": ":"}]}]}', 5),
    ('{"calibrations": [{"fits": [{"note": "x"}, 2]},\n {"fits": [{"a": 1}]}]}', 5),  # both bounds exact
])
def test_distinct_keys_are_read_as_json_loads_reads_them_and_located_as_ever(text: str, keys: int) -> None:
    from mpistd.load.documents import Document, _bounds_and_keys, _keys_unrepeated

    doc = parse_bytes(text.encode())
    assert doc.data == json.loads(text) and list(doc.data) == list(json.loads(text))
    assert _bounds_and_keys(doc.data, 64) == keys  # counted by hand
    # a bound that is loose proves nothing: the exact parse found no repeat, and the positions are
    # then found by the walk, not recorded; either way they are the full scanner's
    assert (doc._elements is not None) == _keys_unrepeated(text, keys)
    full = Document(data=doc.data, text=doc.text, kind="json")
    wanted = ["/calibrations/0", "/calibrations/0/fits/0", "/calibrations/0/fits/1", "/calibrations/1/fits/0"]
    present = [p for p in wanted if isinstance(doc.data, dict) and "calibrations" in doc.data]
    assert doc.locate_elements(wanted) == full.locate_elements(wanted) == {p: full.locate(p) for p in present}


def test_the_key_count_counts_every_object_of_the_parse() -> None:
    from mpistd.load.documents import _bounds_and_keys

    assert _bounds_and_keys({"a": [{"b": 1, "c": {}}, {"d": [[{"e": None}]]}], "f": {}}, 64) == 6
    assert _bounds_and_keys([], 64) == 0 and _bounds_and_keys("x", 64) == 0
    assert _bounds_and_keys({"a": float("inf")}, 64) == -1
    assert _bounds_and_keys([[[]]], 2) == -1 and _bounds_and_keys([[]], 2) == 0
    assert _bounds_and_keys({"a": 2 ** 1024}, 64) == -1 and _bounds_and_keys({"a": 2 ** 1000}, 64) == 1


def _random_json(rnd, depth: int = 0) -> str:
    """Random JSON text with keys from a small, hostile alphabet (colons, quotes, escapes, the
    recorded paths' names), random whitespace, and so frequent repeats."""
    def ws() -> str:
        return rnd.choice(["", "", " ", "\n  ", "\t", "\r\n", " \r "])

    def key() -> str:
        return rnd.choice(['"a"', '"b"', '":"', '"a:"', '"\\""', '"\\u0061"', '"x\\":"', '"calibrations"', '"fits"',
                           '""', '"\\\\"'])

    roll = rnd.random()
    if depth > 4 or roll < 0.35:
        return rnd.choice(["1", "2.5", "-0.0", "null", "true", '"s"', '"t:"', '"u\\":"', '"::"', "1e5", '"\\\\:"'])
    if roll < 0.7:
        members = [f"{ws()}{key()}{ws()}:{ws()}{_random_json(rnd, depth + 1)}{ws()}" for _ in range(rnd.randint(0, 4))]
        return "{" + ",".join(members) + "}" if members else "{" + ws() + "}"
    items = [f"{ws()}{_random_json(rnd, depth + 1)}{ws()}" for _ in range(rnd.randint(0, 4))]
    return "[" + ",".join(items) + "]" if items else "[" + ws() + "]"


def test_random_documents_are_read_or_refused_as_the_exact_parse_reads_or_refuses_them() -> None:
    """The key count against the exact parse (the hooks on every object) on random hostile texts:
    the same data, or the same error at the same place; and the same places of the elements."""
    import random

    from mpistd.load.documents import Document, parse_json_text

    rnd = random.Random(17)
    outcomes = {"read": 0, "refused": 0}
    for _ in range(3000):
        text = _random_json(rnd)
        if rnd.random() < 0.5:
            text = '{"calibrations": [' + text + ', {"fits": [' + text + "]}]}"
        try:
            expected = parse_json_text(text)
        except DocumentError as plain:
            e = _error(text)
            assert (e.message, e.line, e.column) == (plain.message, plain.line, plain.column), text
            outcomes["refused"] += 1
            continue
        doc = parse_bytes(text.encode())
        assert doc.data == expected and json.dumps(doc.data) == json.dumps(expected), text
        wanted = ["/calibrations/0", "/calibrations/1", "/calibrations/1/fits/0", "/calibrations/0/fits/0"]
        full = Document(data=doc.data, text=doc.text, kind="json")
        assert doc.locate_elements(wanted) == full.locate_elements(wanted), text
        outcomes["read"] += 1
    assert min(outcomes.values()) > 500, outcomes
