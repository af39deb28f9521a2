"""API error answers become errors of reconciler.errors: both body styles, non-JSON
bodies, the query id kept, hints that say what to do, no header in any message."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from ovh_fakes import FakeApi, json_response, make_client

from reconciler import errors
from reconciler.ovh.responses import error_from_answer, parse_retry_after

QID = "EU.ext-2.64415cf2.40437.b4d78937-363f-44a4-aa8c-ba3793266eec"
NOW = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


def call(method: str, path: str, answer: httpx.Response | Exception) -> errors.ApiError:
    api = FakeApi()
    api.queue(method, path, answer)

    async def go() -> None:
        async with make_client(api) as client:
            await client.request(method, path, body={"x": 1} if method != "GET" else None)

    with pytest.raises(errors.ApiError) as caught:
        asyncio.run(go())
    return caught.value


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (400, {"message": "Invalid signature", "httpCode": "400 Bad Request",
               "errorCode": "INVALID_SIGNATURE"}, errors.InvalidSignature),
        (400, {"class": "Client::BadRequest", "message": "Invalid period"}, errors.BadRequest),
        (403, {"message": "This credential does not exist", "errorCode": "INVALID_CREDENTIAL"},
         errors.InvalidCredential),
        (403, {"message": "Invalid application key", "errorCode": "INVALID_KEY"},
         errors.InvalidKey),
        (403, {"message": "This call has not been granted", "errorCode": "NOT_GRANTED_CALL"},
         errors.NotGrantedCall),
        (403, {"message": "You must login first", "errorCode": "NOT_CREDENTIAL"},
         errors.NotCredential),
        (403, {"class": "Client::Forbidden", "message": "nope"}, errors.Forbidden),
        (404, {"class": "Client::NotFound::ServiceNotFound", "message": "Service not found",
               "details": {"serviceId": "3"}}, errors.NotFound),
        (404, {"class": "Client::NotFound", "message": "Got an invalid (or empty) URL"},
         errors.RouteNotFound),
        (404, {"class": "Client::NotFound", "message": "This service does not exist"},
         errors.NotFound),
        (409, {"message": "A termination is already pending"}, errors.Conflict),
        (460, {"message": "This Service is expired"}, errors.ServiceExpired),
        (418, {"message": "teapot"}, errors.HttpError),
    ],
)  # fmt: skip
def test_status_and_error_code_map_to_one_class(status: int, body: Any, cls: type) -> None:
    error = call("GET", "/services/3", json_response(body, status, headers={"X-Ovh-Queryid": QID}))
    assert type(error) is cls
    assert isinstance(error, errors.HttpError)
    assert error.status == status
    assert error.query_id == QID
    assert str(error) == (
        f"OVH API GET /services/3 failed: {status}"
        + (f" {body['errorCode']}" if "errorCode" in body else "")
        + f": {body['message']} (query id {QID})"
    )
    assert error.error_class == body.get("class")
    assert error.details == body.get("details", {})
    assert error.hint


def test_not_granted_hint_names_the_access_rule() -> None:
    body = {"message": "This call has not been granted", "errorCode": "NOT_GRANTED_CALL"}
    error = call("PUT", "/services/120000001", json_response(body, 403))
    assert isinstance(error, errors.NotGrantedCall)
    assert error.hint is not None and "PUT /services/*" in error.hint


def test_proxy_html_502_is_clear() -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    answer = httpx.Response(502, content=page, headers={"Content-Type": "text/html"})
    error = error_from_answer(
        status=502, reason="Bad Gateway", headers=answer.headers, content=page,
        method="GET", path="/services", now=NOW,
    )  # fmt: skip
    assert isinstance(error, errors.ServerError) and error.retryable
    assert str(error) == (
        "OVH API GET /services failed: 502: Bad Gateway (a non-JSON answer, text/html: "
        "'502 Bad Gateway')"
    )


def test_empty_error_body_uses_the_reason_phrase() -> None:
    error = call("GET", "/services/1", httpx.Response(404))
    assert str(error) == "OVH API GET /services/1 failed: 404: Not Found"


def test_a_json_string_body_is_its_message() -> None:
    error = call("GET", "/services/1", json_response("Service is locked", 409))
    assert isinstance(error, errors.Conflict) and "Service is locked" in str(error)


def test_success_with_a_non_json_body_is_an_api_error() -> None:
    error = call("GET", "/services/1", httpx.Response(200, content=b"<html>login</html>"))
    assert type(error) is errors.ApiError
    assert "not JSON" in str(error) and error.hint


def test_messages_hold_no_header_nor_query_string() -> None:
    api = FakeApi()
    api.queue("GET", "/services", json_response({"message": "bad"}, 400))

    async def go() -> None:
        async with make_client(api) as client:
            await client.get("/services", params={"resourceName": "secret-looking"})

    with pytest.raises(errors.BadRequest) as caught:
        asyncio.run(go())
    text = str(caught.value) + (caught.value.hint or "")
    for leak in ("secret-looking", "test-as-secret", "test-ck-secret", "$1$", "test-ak"):
        assert leak not in text
    assert caught.value.method == "GET" and caught.value.path == "/services"


def test_no_content_is_none() -> None:
    api = FakeApi()

    async def go() -> Any:
        async with make_client(api) as client:
            return await client.put("/services/1", {"terminationPolicy": "empty"})

    assert asyncio.run(go()) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("Fri, 15 Jan 2027 08:00:30 GMT", 30.0),
        ("Fri, 15 Jan 2027 07:59:00 GMT", 0.0),
        ("Fri, 15 Jan 2027 08:01:00 -0000", 60.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_debug_log_names_calls_never_credentials(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    api = FakeApi()
    api.queue("GET", "/me", json_response({"message": "busy"}, 503), json_response({}))
    with caplog.at_level(logging.DEBUG, logger="reconciler"):

        async def go() -> None:
            async with make_client(api) as client:
                await client.get("/me", params={"q": "x"})
                await client.put("/services/1", {"displayName": "x"})

        asyncio.run(go())
    text = caplog.text
    assert "GET /me -> 503" in text and "GET /me -> 200" in text and "PUT /services/1" in text
    for leak in ("test-as-secret", "test-ck-secret", "test-ak", "$1$", "X-Ovh"):
        assert leak not in text


def test_a_redirect_is_not_followed_and_says_to_check_the_endpoint() -> None:
    answer = httpx.Response(301, headers={"Location": "https://eu.api.ovh.com/1.0/me"})
    error = call("GET", "/me", answer)
    assert type(error) is errors.ApiError
    assert str(error) == "OVH API GET /me answered 301, a redirect to https://eu.api.ovh.com/1.0/me"
    assert error.hint and "/1.0" in error.hint


def test_messages_name_the_route_without_a_query_string_in_the_path() -> None:
    api = FakeApi()
    api.queue("GET", "/services", json_response({"message": "no"}, 400))

    async def go() -> None:
        async with make_client(api) as client:
            await client.get("/services?resourceName=hidden")

    with pytest.raises(errors.BadRequest) as caught:
        asyncio.run(go())
    assert "hidden" not in str(caught.value) and caught.value.path == "/services"
    assert api.requests[-1].url.query == b"resourceName=hidden"
