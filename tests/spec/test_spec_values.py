"""What a valid spec becomes, and the guarantees around problems (secrets, order)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from reconciler.core.lifecycle import Lifecycle, RenewMode
from reconciler.core.spec import (
    InvalidValues,
    ServiceSpec,
    Spec,
    UnmanagedPolicy,
    check_values,
    dump_spec,
    parse_spec,
)
from reconciler.errors import SpecError

FILES = Path(__file__).resolve().parent / "files"


def spec_of(text: str) -> Spec:
    return parse_spec(text.encode("utf-8"), "s.yaml")


def error_of(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        parse_spec(text.encode("utf-8"), "s.yaml")
    return info.value


def test_defaults_are_the_safe_ones() -> None:
    spec = spec_of("version: 1\nservices:\n  www.example.com: {lifecycle: renew}\n")
    assert spec.endpoint == "sandbox"  # never touches a real account unless told to
    assert spec.unmanaged is UnmanagedPolicy.REPORT
    [service] = spec.services
    assert service == ServiceSpec(
        key="www.example.com",
        name="www.example.com",
        lifecycle=Lifecycle.RENEW,
        location=service.location,
    )
    assert service.protect is False and service.period is None and service.type is None


def test_source_digest_and_locations() -> None:
    data = b"version: 1\nservices:\n\n  # a comment\n  www.example.com:\n    lifecycle: renew\n"
    spec = parse_spec(data, "stacks/prod.yaml")
    assert spec.source == "stacks/prod.yaml"
    assert spec.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    location = spec.services[0].location
    assert location is not None
    assert (location.file, location.line, location.column) == ("stacks/prod.yaml", 5, 3)


def test_the_digest_is_of_the_bytes_so_any_change_changes_it() -> None:
    one = spec_of("version: 1\nservices: {}\n")
    other = spec_of("version: 1\nservices: {}  # same spec, another text\n")
    assert one.services == other.services
    assert one.digest != other.digest


def test_a_label_key_names_a_service_through_name_and_type() -> None:
    spec = spec_of(
        "version: 1\nservices:\n"
        "  example.com: {type: domain, lifecycle: renew}\n"
        "  example.com hosting: {name: example.com, type: hosting/web, lifecycle: delete_now}\n"
    )
    assert [(s.key, s.name, s.type, s.lifecycle) for s in spec.services] == [
        ("example.com", "example.com", "domain", Lifecycle.RENEW),
        ("example.com hosting", "example.com", "hosting/web", Lifecycle.DELETE_NOW),
    ]


def test_values_are_immutable() -> None:
    spec = spec_of("version: 1\nservices:\n  www.example.com: {lifecycle: renew}\n")
    with pytest.raises(ValueError):
        spec.services[0].lifecycle = Lifecycle.DELETE_NOW  # type: ignore[misc]


def test_credential_values_are_never_shown() -> None:
    text = (FILES / "invalid" / "credentials.yaml").read_text(encoding="utf-8")
    text += "endpoint: https://user:pw-do-not-echo@eu.api.ovh.com\n"
    error = error_of(text.replace("endpoint: ovh-eu\n", ""))
    shown = "\n".join([str(error), *error.lines(), error.hint or ""])
    assert "do-not-echo" not in shown
    assert len(error.problems) == 8
    assert "OVH_APPLICATION_SECRET" in shown and "OVH_CONSUMER_KEY" in shown


def test_service_names_that_contain_credential_words_are_names() -> None:
    spec = spec_of(
        "version: 1\nservices:\n  token.example.com: {lifecycle: renew}\n"
        "  secret-shop.example.com: {lifecycle: renew}\n"
    )
    assert [s.name for s in spec.services] == ["token.example.com", "secret-shop.example.com"]


def test_problems_come_in_file_order_whatever_finds_them() -> None:
    error = error_of(
        "version: 1\nservices:\n"
        "  b.example.com: {lifecycle: renew, lifecycle: renew}\n"  # found while reading
        "  a.example.com: {lifecycle: nope}\n"  # found while validating
        "  a.example.com: {lifecycle: renew}\n"  # found while reading
    )
    assert [(p.line, p.column) for p in error.problems] == [(3, 37), (4, 30), (5, 3)]
    assert str(error).endswith("(and 2 more problems)")
    assert error.hint == "fix the spec and run `reconciler validate` again"


def test_dump_spec_writes_the_canonical_layout() -> None:
    spec = spec_of(
        "{version: 1, endpoint: ovh-eu, services: {"
        "example.com hosting: {lifecycle: renew, type: hosting/web, name: example.com,"
        " protect: true, period: P1M}, b.example.com: {lifecycle: delete_now}}}"
    )
    assert dump_spec(spec) == (
        "version: 1\n"
        "endpoint: ovh-eu\n"
        "unmanaged: report\n"
        "services:\n"
        "  example.com hosting:\n"
        "    name: example.com\n"
        "    type: hosting/web\n"
        "    lifecycle: renew\n"
        "    period: P1M\n"
        "    protect: true\n"
        "  b.example.com:\n"
        "    lifecycle: delete_now\n"
    )


@pytest.mark.parametrize("key", ["yes", "null", "123", "true", "~x", "a: b", "- x", "#x"])
def test_dump_spec_quotes_keys_that_yaml_would_misread(key: str) -> None:
    spec = Spec(
        services=(
            ServiceSpec(
                key=key,
                name="www.example.com",
                lifecycle=Lifecycle.RENEW,
                type="hosting/web",
            ),
        )
    )
    again = parse_spec(dump_spec(spec).encode("utf-8"), "s.yaml")
    assert again.services[0].key == key


# --- values given directly (Pulumi properties, an imported account) ----------------------

SAME_AS_A_FILE = [
    ({"lifecycle": "renw"}, "    lifecycle: renw\n"),
    ({"lifecycle": "renew", "period": 12.0}, "    lifecycle: renew\n    period: 12\n"),
    ({"lifecycle": "renew", "protect": "true"}, '    lifecycle: renew\n    protect: "true"\n'),
    ({"lifecycle": "renew", "mode": True}, "    lifecycle: renew\n    mode: true\n"),
    (
        {"lifecycle": "renew", "type": "Hosting/Web"},
        "    lifecycle: renew\n    type: Hosting/Web\n",
    ),
    (
        {"lifecycle": "delete_now", "protect": True},
        "    lifecycle: delete_now\n    protect: true\n",
    ),
    ({"lifecycle": ["renew"]}, "    lifecycle: [renew]\n"),
    ({"period": "P1M"}, "    period: P1M\n"),
    ({"lifecycle": "renew", "name": "a b"}, "    lifecycle: renew\n    name: a b\n"),
]


@pytest.mark.parametrize(("values", "written"), SAME_AS_A_FILE, ids=lambda v: repr(v))
def test_values_given_directly_get_the_messages_of_the_same_entry_in_a_file(
    values: dict[str, object], written: str
) -> None:
    error = error_of(f"version: 1\nservices:\n  x.example.com:\n{written}")
    with pytest.raises(InvalidValues) as info:
        check_values(ServiceSpec, {"key": "x.example.com", **values})
    assert [(p.message, p.fix) for p in info.value.problems] == [
        (p.message, p.fix) for p in error.problems
    ]


def test_values_given_directly_name_their_field_and_none_is_not_given() -> None:
    with pytest.raises(InvalidValues) as info:
        check_values(ServiceSpec, {"key": "x", "lifecycle": None, "period": "P1Y", "type": None})
    assert [p.field for p in info.value.problems] == ["lifecycle", "period"]
    entry = check_values(ServiceSpec, {"key": "x", "lifecycle": "renew", "period": None})
    assert (entry.name, entry.mode, entry.period) == ("x", RenewMode.AUTOMATIC, None)


def test_a_value_built_by_the_code_is_typed_not_judged() -> None:
    # The planner and plan files build entries the spec's rules would word differently;
    # they are typed values. What a user writes meets the rules.
    built = ServiceSpec(key="a", name="a", lifecycle=Lifecycle.RENEW, type="Hosting/Web")
    assert built.type == "Hosting/Web"
    with pytest.raises(InvalidValues):
        check_values(ServiceSpec, built.model_dump())
