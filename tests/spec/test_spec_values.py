"""What a valid spec becomes, and the guarantees around problems (secrets, order)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from reconciler.core.lifecycle import Lifecycle
from reconciler.core.spec import ServiceSpec, Spec, UnmanagedPolicy, dump_spec, parse_spec
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
