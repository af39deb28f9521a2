"""The judge judged: OVH's model language on small hand-written schema snippets, each
construct with a value it accepts and values it refuses (and where it says so)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.model import (
    Direction,
    Judge,
    ListOf,
    MapOf,
    Named,
    Scalar,
    SchemaError,
    parse_type,
)

ANSWER, REQUEST = Direction.ANSWER, Direction.REQUEST


def prop(type_text: str, *, null: bool = False, required: bool = False) -> dict[str, Any]:
    return {
        "type": type_text,
        "fullType": type_text,
        "canBeNull": null,
        "readOnly": False,
        "required": required,
    }


MODELS: dict[str, Any] = {
    "demo.State": {"enum": ["active", "expired"], "enumType": "string"},
    "demo.Size": {"enum": [1, 2, 4], "enumType": "long"},
    "demo.Price": {"properties": {"value": prop("double"), "text": prop("string")}},
    "demo.Service": {
        "properties": {
            "id": prop("long"),
            "name": prop("string"),
            "state": prop("demo.State"),
            "expires": prop("datetime", null=True),
            "price": prop("demo.Price", null=True),
            "tags": prop("string[]"),
        }
    },
    "demo.Update": {
        "properties": {
            "token": prop("password", required=True),
            "mode": prop("demo.State"),
            "note": prop("string", null=True),
        }
    },
    "demo.Node": {  # a model that refers to itself
        "properties": {"name": prop("string"), "children": prop("demo.Node[]")}
    },
    "complexType.UnitAndValue<T>": {
        "generics": ["T"],
        "properties": {"unit": prop("string"), "value": prop("T")},
    },
    "demo.Owner": {"properties": {"account": prop("coreTypes.AccountId:string")}},
    "demo.Broken": {"properties": {"value": prop("T")}},  # T bound by nothing
    "demo.Dangling": {"properties": {"other": prop("demo.Nowhere")}},
}
OTHER_FILE: dict[str, Any] = {
    "other.Contact": {"properties": {"customerCode": prop("string")}},
    "demo.Price": {"properties": {"cents": prop("long")}},  # shadowed by the own file's
}


def violations(type_text: str, value: Any, direction: Direction = ANSWER) -> list[str]:
    judge = Judge([MODELS, OTHER_FILE])
    return [str(v) for v in judge.compile(type_text, direction).violations(value)]


# --- scalars ------------------------------------------------------------------------------

SCALAR_CASES = [
    ("string", "x", [1, True, None, ["x"]]),
    ("text", "long\ntext", [1]),
    ("password", "s3cret", [123]),
    ("phoneNumber", "+33.123456789", [33123456789]),
    ("long", 120000201, ["120000201", 1.0, 1.5, True]),
    ("double", 6.0, ["6.0", False]),
    ("double", 6, [None]),
    ("boolean", False, [0, "false", None]),
    ("date", "2026-03-02", ["2026-03-02T09:00:00+01:00", "2026-02-30", "2026-3-2", "02/03/2026"]),
    (
        "datetime",
        "2026-03-02T09:00:00+01:00",
        ["2026-03-02", "2026-03-02T09:00:00", "2026-03-02 09:00:00+01:00", "2026-13-02T09:00:00Z"],
    ),
    ("datetime", "2026-03-02T08:00:00Z", [1772438400]),
    ("datetime", "2026-03-02T08:00:00.123+00:00", ["2026-03-02T08:00:00.123"]),
    ("duration", "P1M", ["1M", "P", "PT", "P1.5M", "one month", 1]),
    ("duration", "P12M", ["p12m"]),
    ("duration", "PT1H30M", ["PT1H30"]),
    ("duration", "P1Y2M3DT4H5M6S", ["P1Y2M3DT"]),
    ("uuid", "0b5e6e1c-3f0c-4a8e-9d43-0b4c2a9f1e11", ["0b5e6e1c3f0c4a8e9d430b4c2a9f1e11", "x"]),
    ("ip", "192.0.2.1", ["192.0.2.256", "example.com"]),
    ("ip", "2001:db8::1", ["2001:db8::g"]),
    ("ipv4", "192.0.2.1", ["2001:db8::1"]),
    ("ipv6", "2001:db8::1", ["192.0.2.1"]),
    ("ipBlock", "192.0.2.0/24", ["192.0.2.0/33", "any"]),
    ("ipv4Block", "192.0.2.0/24", ["2001:db8::/64"]),
    ("ipv6Block", "2001:db8::/64", ["192.0.2.0/24"]),
]


@pytest.mark.parametrize(
    ("type_text", "good", "bad"), SCALAR_CASES, ids=[f"{c[0]}-{c[1]}" for c in SCALAR_CASES]
)
def test_scalars_accept_their_values_and_refuse_others(
    type_text: str, good: Any, bad: list[Any]
) -> None:
    assert violations(type_text, good) == []
    for value in bad:
        found = violations(type_text, value)
        assert len(found) == 1, (type_text, value)
        assert found[0].startswith("the value: expected")


def test_void_is_null_only() -> None:
    assert violations("void", None) == []
    assert violations("void", {}) != []
    assert violations("void", "") != []


def test_a_top_level_null_is_refused_unless_void() -> None:
    assert violations("long", None) == ["the value: expected an integer (long), got null"]
    assert violations("demo.Service", None) != []


# --- enums -----------------------------------------------------------------------------


def test_enums_accept_their_values_only() -> None:
    assert violations("demo.State", "expired") == []
    assert violations("demo.State", "terminated") == [
        'the value: expected one of demo.State (active, expired), got "terminated"'
    ]
    assert violations("demo.State", "ACTIVE") != []


def test_an_enum_checks_its_base_type() -> None:
    assert violations("demo.Size", 4) == []
    assert violations("demo.Size", "4") != []
    assert violations("demo.Size", 3) != []
    assert violations("demo.Size", True) != []


# --- models ----------------------------------------------------------------------------

SERVICE = {
    "id": 1,
    "name": "www.example.com",
    "state": "active",
    "expires": "2027-01-10T09:00:00+01:00",
    "price": {"value": 7.99, "text": "7.99 €"},
    "tags": ["a"],
}


def test_a_model_accepts_its_own_shape() -> None:
    assert violations("demo.Service", SERVICE) == []


def test_an_unknown_field_is_refused_in_both_directions() -> None:
    assert violations("demo.Service", {**SERVICE, "extra": 1}) == [
        "extra: expected no such field (not in demo.Service), got one"
    ]
    request = {"token": "t", "extra": 1}
    assert violations("demo.Update", request, REQUEST) == [
        "extra: expected no such field (not in demo.Update), got one"
    ]


def test_an_answer_lacking_a_field_that_cannot_be_null_is_refused() -> None:
    found = violations("demo.Service", {k: v for k, v in SERVICE.items() if k != "state"})
    assert found == [
        "state: expected one of demo.State (active, expired) (the field cannot be null), "
        "got no such field"
    ]


def test_an_answer_may_leave_out_a_nullable_field() -> None:
    assert violations("demo.Service", {k: v for k, v in SERVICE.items() if k != "expires"}) == []


def test_null_only_where_the_field_can_be_null() -> None:
    assert violations("demo.Service", {**SERVICE, "expires": None, "price": None}) == []
    assert violations("demo.Service", {**SERVICE, "name": None}) == [
        "name: expected a string (not null), got null"
    ]


def test_a_request_needs_its_required_fields_only() -> None:
    assert violations("demo.Update", {"token": "t"}, REQUEST) == []
    assert violations("demo.Update", {"mode": "active"}, REQUEST) == [
        "token: expected a string (password) (a required field), got no such field"
    ]
    assert violations("demo.Update", {"token": "t", "note": None}, REQUEST) == []
    assert violations("demo.Update", {"token": None}, REQUEST) == [
        "token: expected a string (password) (not null), got null"
    ]


def test_null_in_a_request_field_that_is_not_required_means_not_given() -> None:
    """As the official client sends ``"allowedIPs": null`` (canBeNull false, not required)."""
    assert violations("demo.Update", {"token": "t", "mode": None}, REQUEST) == []
    assert violations("demo.Service", {**SERVICE, "state": None}, ANSWER) != []


def test_a_model_wants_an_object() -> None:
    for value in ([SERVICE], "www.example.com", 1):
        found = violations("demo.Service", value)
        assert len(found) == 1
        assert found[0].startswith("the value: expected an object demo.Service, got ")


def test_nested_models_are_checked_with_their_path() -> None:
    found = violations("demo.Service", {**SERVICE, "price": {"value": "7.99", "text": "7.99 €"}})
    assert found == ['price.value: expected a number (double), got "7.99"']


def test_wrong_types_in_nested_fields_each_count() -> None:
    broken = {**SERVICE, "id": "1", "expires": "2027-01-10", "tags": "a"}
    found = violations("demo.Service", broken)
    assert [f.split(":")[0] for f in found] == ["id", "expires", "tags"]


# --- lists and maps --------------------------------------------------------------------


def test_lists_check_each_item_with_its_position() -> None:
    assert violations("long[]", [1, 2, 3]) == []
    assert violations("long[]", []) == []
    assert violations("long[]", [1, "2"]) == ['[1]: expected an integer (long), got "2"']
    assert violations("long[]", [1, None]) == ["[1]: expected an integer (long), got null"]
    assert violations("long[]", {"0": 1}) != []


def test_lists_of_models() -> None:
    assert violations("demo.Service[]", [SERVICE, SERVICE]) == []
    found = violations("demo.Service[]", [SERVICE, {**SERVICE, "state": "gone"}])
    assert found == ['[1].state: expected one of demo.State (active, expired), got "gone"']


def test_maps_check_their_values_and_keys() -> None:
    assert violations("map[string]long", {"a": 1, "b": 2}) == []
    assert violations("map[string]long", {"a": "1"}) == ['a: expected an integer (long), got "1"']
    assert violations("map[string]long", [1]) != []
    assert violations("map[string][]demo.State", {"a": ["active"]}) == []
    assert violations("map[string][]demo.State", {"a": ["gone"]}) != []


# --- generics, aliases, names across files ---------------------------------------------


def test_a_generic_instance_binds_its_parameter() -> None:
    assert violations("complexType.UnitAndValue<double>", {"unit": "GB", "value": 1.5}) == []
    assert violations("complexType.UnitAndValue<double>", {"unit": "GB", "value": "1.5"}) != []
    assert violations("complexType.UnitAndValue<string>", {"unit": "GB", "value": "1.5"}) == []
    assert violations("complexType.UnitAndValue<long>[]", [{"unit": "s", "value": 2}]) == []


def test_an_alias_is_checked_as_its_base() -> None:
    assert violations("demo.Owner", {"account": "ab12345-ovh"}) == []
    assert violations("demo.Owner", {"account": 12345}) == ["account: expected a string, got 12345"]


def test_a_type_from_another_file_is_found_and_the_own_file_wins() -> None:
    assert violations("other.Contact", {"customerCode": "ab12345-ovh"}) == []
    assert violations("demo.Price", {"value": 1.0, "text": "1 €"}) == []
    assert violations("demo.Price", {"cents": 100}) != []


def test_a_model_may_refer_to_itself() -> None:
    tree = {"name": "a", "children": [{"name": "b", "children": []}]}
    assert violations("demo.Node", tree) == []
    bad = {"name": "a", "children": [{"name": 2, "children": []}]}
    assert violations("demo.Node", bad) == ["children[0].name: expected a string, got 2"]


@pytest.mark.parametrize(
    "type_text",
    [
        "demo.Nowhere",
        "demo.Dangling",
        "demo.Broken",
        "long[",
        "map[string",
        "a b",
        "demo.Nope<long>",
    ],
)
def test_what_the_judge_cannot_read_fails_closed(type_text: str) -> None:
    with pytest.raises(SchemaError):
        Judge([MODELS]).compile(type_text, ANSWER)


def test_type_expressions_parse_to_their_structure() -> None:
    assert parse_type("long[]") == ListOf(Scalar("long"))
    assert parse_type("map[string][]iam.resource.TagFilter") == MapOf(
        Scalar("string"), ListOf(Named("iam.resource.TagFilter"))
    )
    assert parse_type("complexType.ChartSerie<complexType.ChartTimestampValue>[]") == ListOf(
        Named("complexType.ChartSerie", (Named("complexType.ChartTimestampValue"),))
    )
    assert parse_type("coreTypes.ServiceId:long") == Scalar("long")


# --- parameters on the wire (text) -------------------------------------------------------


def test_path_and_query_text_against_scalar_types() -> None:
    judge = Judge([MODELS])
    assert judge.text_violations("long", "120000201", "{serviceId}") == []
    assert [str(v) for v in judge.text_violations("long", "abc", "{serviceId}")] == [
        '{serviceId}: expected an integer (long), got "abc"'
    ]
    assert judge.text_violations("boolean", "true", "q") == []
    assert judge.text_violations("boolean", "yes", "q") != []
    assert judge.text_violations("demo.State", "active", "q") == []
    assert judge.text_violations("demo.State", "gone", "q") != []
    assert judge.text_violations("string", "anything", "q") == []
