"""Operations on hand-written schema files: loading by region, route matching (a literal
segment beats a variable), which API a path belongs to, and bodies judged by their
parameters (a whole-body type, named fields, or none)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.model import SchemaError
from conformance.operations import (
    NO_BODY,
    ApiSchemas,
    load_regions,
    parse_body,
    read_schema_file,
    template_shape,
)


def operation(method: str, response: str, *parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "httpMethod": method,
        "responseType": response,
        "parameters": list(parameters),
        "iamActions": [{"name": f"account:apiovh:{method.lower()}", "required": True}],
        "noAuthentication": False,
        "apiStatus": {"value": "PRODUCTION"},
    }


def path_param(name: str, type_text: str = "long") -> dict[str, Any]:
    return {"name": name, "paramType": "path", "dataType": type_text, "required": True}


def body(type_text: str, name: str | None = None, required: bool = True) -> dict[str, Any]:
    found = {
        "paramType": "body",
        "dataType": type_text,
        "fullType": type_text,
        "required": required,
    }
    return found | ({"name": name} if name else {})


def prop(type_text: str, *, required: bool = False, null: bool = False) -> dict[str, Any]:
    return {"type": type_text, "canBeNull": null, "readOnly": False, "required": required}


SERVICES = {
    "resourcePath": "/services",
    "apis": [
        {"path": "/services", "operations": [operation("GET", "long[]")]},
        {
            "path": "/services/{serviceId}",
            "operations": [
                operation("GET", "services.Service", path_param("serviceId")),
                operation("PUT", "void", path_param("serviceId"), body("services.Update")),
            ],
        },
        {
            "path": "/services/{serviceId}/terminate",
            "operations": [operation("POST", "services.Answer", path_param("serviceId"))],
        },
        {
            "path": "/services/{serviceId}/terminate/confirm",
            "operations": [
                operation(
                    "POST", "services.Answer", path_param("serviceId"), body("services.Confirm")
                )
            ],
        },
        {
            "path": "/services/{serviceId}/{anything}/confirm",
            "operations": [
                operation("POST", "void", path_param("serviceId"), path_param("anything", "string"))
            ],
        },
    ],
    "models": {
        "services.Service": {"properties": {"serviceId": prop("long"), "name": prop("string")}},
        "services.Update": {"properties": {"displayName": prop("string", null=True)}},
        "services.Confirm": {"properties": {"token": prop("password", required=True)}},
        "services.Answer": {"properties": {"message": prop("string")}},
    },
}
HOSTING = {
    "resourcePath": "/hosting/web",
    "apis": [
        {"path": "/hosting/web", "operations": [operation("GET", "string[]")]},
        {
            "path": "/hosting/web/{serviceName}/confirmTermination",
            "operations": [
                operation(
                    "POST",
                    "string",
                    path_param("serviceName", "string"),
                    body("string", "token"),
                    body("service.Reason", "reason", required=False),
                )
            ],
        },
        {"path": "/hosting/web/offerCapabilities", "operations": [operation("GET", "string")]},
        {
            "path": "/hosting/web/{serviceName}",
            "operations": [
                operation("GET", "services.Service", path_param("serviceName", "string"))
            ],
        },
    ],
    "models": {"service.Reason": {"enum": ["OTHER", "TOO_EXPENSIVE"], "enumType": "string"}},
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, document in (
        ("eu-services.json", SERVICES),
        ("eu-hosting-web.json", HOSTING),
        ("ca-services.json", SERVICES),
    ):
        (tmp_path / name).write_text(json.dumps(document), encoding="utf-8")
    return tmp_path


@pytest.fixture
def eu(folder: Path) -> ApiSchemas:
    return load_regions(folder)["eu"]


def test_files_are_grouped_by_region(folder: Path) -> None:
    regions = load_regions(folder)
    assert sorted(regions) == ["ca", "eu"]
    assert [f.name for f in regions["ca"].files] == ["ca-services.json"]
    assert {op.source for op in regions["eu"].operations} == {
        "eu-services.json",
        "eu-hosting-web.json",
    }


def test_a_file_that_is_not_an_api_description_is_refused(tmp_path: Path) -> None:
    (tmp_path / "eu-x.json").write_text('{"models": {}}', encoding="utf-8")
    with pytest.raises(SchemaError, match="no apis"):
        read_schema_file(tmp_path / "eu-x.json")


def test_a_concrete_path_finds_its_operation_and_variables(eu: ApiSchemas) -> None:
    found = eu.match("GET", "/hosting/web/www.example.com")
    assert found is not None
    assert found.operation.template == "/hosting/web/{serviceName}"
    assert found.variables == (("serviceName", "www.example.com"),)
    assert eu.match("put", "/services/12") is not None  # methods in any case
    assert eu.match("DELETE", "/services/12") is None  # no such method
    assert eu.match("GET", "/services/12/nothing") is None  # no such route
    assert eu.match("POST", "/services//terminate") is None  # an empty variable is no value
    trailing = eu.match("GET", "/services/")  # OVH answers a trailing slash as without
    assert trailing is not None and trailing.operation.template == "/services"


def test_a_literal_segment_wins_over_a_variable(eu: ApiSchemas) -> None:
    confirm = eu.match("POST", "/services/12/terminate/confirm")
    assert confirm is not None
    assert confirm.operation.template == "/services/{serviceId}/terminate/confirm"
    other = eu.match("POST", "/services/12/options/confirm")
    assert other is not None
    assert other.operation.template == "/services/{serviceId}/{anything}/confirm"
    capabilities = eu.match("GET", "/hosting/web/offerCapabilities")
    assert capabilities is not None
    assert capabilities.operation.template == "/hosting/web/offerCapabilities"


def test_which_api_of_the_copy_describes_a_path(eu: ApiSchemas) -> None:
    assert eu.covers("/services/12") == "/services"
    assert eu.covers("/services") == "/services"
    assert eu.covers("/hosting/web/www.example.com/serviceInfos") == "/hosting/web"
    assert eu.covers("/hosting/privateDatabase/x") is None  # not /hosting/web
    assert eu.covers("/servicesX") is None
    assert eu.covers("/vps/vps-1.vps.ovh.net") is None


def test_find_by_template_ignores_variable_names(eu: ApiSchemas) -> None:
    op = eu.find("POST", "/services/{id}/terminate")
    assert op is not None and op.template == "/services/{serviceId}/terminate"
    assert eu.find("GET", "/services/{id}/terminate") is None
    assert template_shape("/email/{a}/service/{b}") == "/email/{}/service/{}"


def test_a_whole_body_type(eu: ApiSchemas) -> None:
    confirm = eu.find("POST", "/services/{serviceId}/terminate/confirm")
    assert confirm is not None
    assert eu.body_violations(confirm, {"token": "t"}) == []
    assert [str(v) for v in eu.body_violations(confirm, {"token": "t", "reason": "OTHER"})] == [
        "reason: expected no such field (not in services.Confirm), got one"
    ]
    assert [str(v) for v in eu.body_violations(confirm, NO_BODY)] == [
        "the value: expected an object services.Confirm (a required body), got no body"
    ]
    update = eu.find("PUT", "/services/{serviceId}")
    assert update is not None
    assert eu.body_violations(update, {}) == []
    assert eu.body_violations(update, {"displayName": None}) == []


def test_named_body_parameters(eu: ApiSchemas) -> None:
    confirm = eu.find("POST", "/hosting/web/{serviceName}/confirmTermination")
    assert confirm is not None
    assert eu.body_violations(confirm, {"token": "t"}) == []
    assert eu.body_violations(confirm, {"token": "t", "reason": "OTHER"}) == []
    found = [str(v) for v in eu.body_violations(confirm, {"reason": "NOPE", "extra": 1})]
    assert found == [
        "extra: expected no such parameter (the operation takes reason, token), got one",
        "token: expected a string (a required parameter), got no such field",
        'reason: expected one of service.Reason (OTHER, TOO_EXPENSIVE), got "NOPE"',
    ]
    assert eu.body_violations(confirm, ["t"]) != []


def test_no_body_parameters(eu: ApiSchemas) -> None:
    terminate = eu.find("POST", "/services/{serviceId}/terminate")
    assert terminate is not None
    assert eu.body_violations(terminate, NO_BODY) == []
    assert eu.body_violations(terminate, {}) == []  # what clients send for "no data"
    assert [str(v) for v in eu.body_violations(terminate, {"token": "t"})] == [
        "token: expected no such parameter (the operation takes no body), got one"
    ]


def test_path_variables_against_their_types(eu: ApiSchemas) -> None:
    good = eu.match("GET", "/services/12")
    bad = eu.match("GET", "/services/abc")
    assert good is not None and bad is not None
    assert eu.path_violations(good) == []
    assert [str(v) for v in eu.path_violations(bad)] == [
        '{serviceId}: expected an integer (long), got "abc"'
    ]


def test_answers_and_iceberg_pages(eu: ApiSchemas) -> None:
    listing = eu.find("GET", "/services")
    one = eu.find("GET", "/services/{serviceId}")
    assert listing is not None and one is not None
    assert eu.answer_violations(listing, [1, 2]) == []
    assert eu.answer_violations(listing, [{"serviceId": 1, "name": "x"}]) != []
    assert eu.iceberg_item_operation(listing) == one
    assert eu.iceberg_violations(listing, [{"serviceId": 1, "name": "x"}]) == []
    assert [str(v) for v in eu.iceberg_violations(listing, [{"serviceId": "1", "name": "x"}])] == [
        '[0].serviceId: expected an integer (long), got "1"'
    ]
    assert eu.iceberg_item_operation(one) is None


def test_request_bodies_parse_as_json_or_nothing() -> None:
    assert parse_body(b"") is NO_BODY
    assert parse_body(b"  ") is NO_BODY
    assert parse_body(b"null") is None
    assert parse_body(b'{"a":1}') == {"a": 1}
    with pytest.raises(ValueError):
        parse_body(b"{")
