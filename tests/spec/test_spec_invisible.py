"""Invisible characters never reach a spec: not in a file (names, keys, values, comments,
escapes), not in values given directly (Pulumi properties, an imported account). Each
is refused with its code point and name, where it stands."""

from __future__ import annotations

import pytest

from reconciler.core.lifecycle import Lifecycle
from reconciler.core.spec import InvalidValues, ServiceSpec, check_values, parse_spec
from reconciler.errors import SpecError, SpecProblem

CASES = [
    ("\u200b", "U+200B ZERO WIDTH SPACE"),
    ("\u200c", "U+200C ZERO WIDTH NON-JOINER"),
    ("\u200d", "U+200D ZERO WIDTH JOINER"),
    ("\u2060", "U+2060 WORD JOINER"),
    ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),  # bidirectional control
    ("\u2066", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ("\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),  # a byte order mark inside the text
    ("\u00ad", "U+00AD SOFT HYPHEN"),  # other format characters (Cf)
    ("\u061c", "U+061C ARABIC LETTER MARK"),
    ("\u180e", "U+180E MONGOLIAN VOWEL SEPARATOR"),
    ("\U000e0001", "U+E0001 LANGUAGE TAG"),
    ("\u3164", "U+3164 HANGUL FILLER"),  # invisible, though a letter
]
IDS = [what for _, what in CASES]


def problems(text: str) -> list[SpecProblem]:
    with pytest.raises(SpecError) as info:
        parse_spec(text.encode("utf-8"), "s.yaml")
    return list(info.value.problems)


@pytest.mark.parametrize(("char", "what"), CASES, ids=IDS)
def test_in_a_service_key(char: str, what: str) -> None:
    [problem] = problems(f"version: 1\nservices:\n  www{char}.example.com:\n    lifecycle: renew\n")
    assert (problem.line, problem.column) == (3, 6)
    assert what in problem.message and problem.fix == "remove it"


@pytest.mark.parametrize(("char", "what"), CASES, ids=IDS)
def test_in_a_name(char: str, what: str) -> None:
    text = (
        f"version: 1\nservices:\n  shop:\n    name: shop{char}.example.com\n    lifecycle: renew\n"
    )
    [problem] = problems(text)
    assert (problem.line, problem.column) == (4, 15)
    assert what in problem.message


@pytest.mark.parametrize(("char", "what"), CASES, ids=IDS)
def test_in_a_value_written_as_an_escape(char: str, what: str) -> None:
    escape = f"\\U{ord(char):08x}"
    text = f'version: 1\nservices:\n  www.example.com:\n    lifecycle: "renew{escape}"\n'
    [problem] = problems(text)
    assert (problem.line, problem.column) == (4, 16)  # at the value, reported once
    assert what in problem.message


@pytest.mark.parametrize(("char", "what"), CASES, ids=IDS)
def test_in_a_name_given_directly(char: str, what: str) -> None:
    name = f"www{char}.example.com"
    with pytest.raises(InvalidValues) as info:
        check_values(ServiceSpec, {"key": "www", "name": name, "lifecycle": "renew"})
    [problem] = info.value.problems
    assert problem.field == "name"
    assert problem.message == f"service name {name!r} holds an invisible character, {what}"
    assert problem.fix == "remove it"


@pytest.mark.parametrize(("char", "what"), CASES, ids=IDS)
def test_in_a_key_given_directly(char: str, what: str) -> None:
    with pytest.raises(InvalidValues) as info:
        check_values(ServiceSpec, {"key": f"a{char}", "name": "a", "lifecycle": "renew"})
    assert [(p.field, what in p.message) for p in info.value.problems] == [("key", True)]


def test_visible_names_of_any_script_are_fine() -> None:
    for name in ("café.example", "пример.рф", "例子.中国", "xn--80ak6aa92e.com"):
        entry = check_values(ServiceSpec, {"key": name, "lifecycle": Lifecycle.RENEW})
        assert entry.name == name
