"""Authentication as pure functions: rules, timestamps, signatures, check order."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from reconciler.sandbox import ApiError
from reconciler.sandbox.auth import (
    TIMESTAMP_WINDOW_SECONDS,
    CredentialView,
    SignedRequest,
    authenticate,
    granted,
    rule_grants,
    signature,
    timestamp_ok,
)

GRANTS = [
    # (rule method, rule path, method, path, granted)
    ("GET", "/*", "GET", "/services/1", True),
    ("GET", "/*", "GET", "/", True),
    ("GET", "/*", "PUT", "/services/1", False),
    ("GET", "/services", "GET", "/services", True),
    ("GET", "/services", "GET", "/services/1", False),
    ("GET", "/services/*", "GET", "/services/1", True),
    ("GET", "/services/*", "GET", "/services/1/options", True),  # * crosses slashes
    ("GET", "/services/*", "GET", "/services", False),
    ("GET", "/me*", "GET", "/me", True),
    ("GET", "/me*", "GET", "/me/notification/email/history", True),
    ("GET", "/me*", "GET", "/mex", True),
    ("POST", "/services/*/terminate", "POST", "/services/12/terminate", True),
    ("POST", "/services/*/terminate", "POST", "/services/12/terminate/confirm", False),
    ("PUT", "/hosting/web/*/serviceInfos", "PUT", "/hosting/web/a.example.com/serviceInfos", True),
    ("GET", "/services.json", "GET", "/servicesXjson", False),  # a dot is a dot
    ("get", "/*", "GET", "/x", False),  # methods are upper case, as OVH stores them
]


@pytest.mark.parametrize(("rule_method", "rule_path", "method", "path", "expected"), GRANTS)
def test_access_rules_match_as_ovh_does(
    rule_method: str, rule_path: str, method: str, path: str, expected: bool
) -> None:
    assert rule_grants(rule_method, rule_path, method, path) is expected


def test_any_rule_may_grant() -> None:
    rules = (("GET", "/services"), ("PUT", "/services/*"))
    assert granted(rules, "PUT", "/services/3")
    assert not granted(rules, "POST", "/services/3/terminate")


def test_the_timestamp_window() -> None:
    real = 1_700_000_000.0
    delta = 100_000_000.0  # the sandbox clock runs far ahead of the real one
    now = int(real + delta)
    assert timestamp_ok(str(now), real_now=real, deltas=[delta])
    assert timestamp_ok(str(now - TIMESTAMP_WINDOW_SECONDS), real_now=real, deltas=[delta])
    assert not timestamp_ok(str(now - TIMESTAMP_WINDOW_SECONDS - 1), real_now=real, deltas=[delta])
    assert not timestamp_ok(str(now + TIMESTAMP_WINDOW_SECONDS + 1), real_now=real, deltas=[delta])
    for junk in ("", "12.5", "-3", "abc"):
        assert not timestamp_ok(junk, real_now=real, deltas=[delta])


def test_a_delta_given_before_the_clock_moved_stays_good() -> None:
    real = 1_700_000_000.0
    before, after = 0.0, 86_400.0 * 3
    assert timestamp_ok(str(int(real)), real_now=real, deltas=[before, after])
    assert timestamp_ok(str(int(real + after)), real_now=real, deltas=[before, after])
    assert not timestamp_ok(str(int(real + 86_400)), real_now=real, deltas=[before, after])


def test_the_signature_is_ovh_s() -> None:
    expected = (
        "$1$"
        + hashlib.sha1(
            b"AS+CK+GET+https://eu.api.ovh.com/1.0/services?resourceName=x++1700000000"
        ).hexdigest()
    )
    assert (
        signature(
            "AS",
            "CK",
            "get",
            "https://eu.api.ovh.com/1.0/services?resourceName=x",
            "",
            "1700000000",
        )
        == expected
    )


NOW = 1_800_000_000
CLOCKS: dict[str, Any] = {"now": NOW, "real_now": float(NOW), "deltas": [0.0]}
CREDENTIAL = CredentialView(
    credential_id=1,
    consumer_key="CK",
    application_key="AK",
    state="validated",
    expires=None,
    rules=(("GET", "/services*"),),
)


def request(**changes: str | None) -> SignedRequest:
    fields: dict[str, str | None] = {
        "method": "GET",
        "url": "http://h/1.0/services",
        "path": "/services",
        "body": "",
        "application_key": "AK",
        "consumer_key": "CK",
        "timestamp": str(NOW),
    }
    fields.update(changes)
    sign = signature(
        "AS",
        str(fields["consumer_key"]),
        str(fields["method"]),
        str(fields["url"]),
        str(fields["body"]),
        str(fields["timestamp"]),
    )
    fields.setdefault("signature", sign)
    if "signature" not in changes:
        fields["signature"] = sign
    return SignedRequest(**fields)  # type: ignore[arg-type]


def code_of(
    req: SignedRequest, *, secret: str | None = "AS", credential: CredentialView | None = CREDENTIAL
) -> tuple[int, str | None]:
    with pytest.raises(ApiError) as caught:
        authenticate(req, application_secret=secret, credential=credential, **CLOCKS)
    return caught.value.status, caught.value.error_code


def test_a_good_request_authenticates() -> None:
    assert (
        authenticate(request(), application_secret="AS", credential=CREDENTIAL, **CLOCKS)
        is CREDENTIAL
    )


def test_each_failure_answers_ovh_s_code_in_order() -> None:
    assert code_of(request(application_key=None)) == (403, "INVALID_KEY")
    assert code_of(request(), secret=None) == (403, "INVALID_KEY")
    assert code_of(request(signature=None)) == (401, "NOT_CREDENTIAL")
    assert code_of(request(timestamp=str(NOW - 3600))) == (400, "QUERY_TIME_OUT")
    assert code_of(request(), credential=None) == (403, "NOT_CREDENTIAL")
    other_app = CredentialView(2, "CK", "OTHER", "validated", None, (("GET", "/*"),))
    assert code_of(request(), credential=other_app) == (403, "NOT_CREDENTIAL")
    assert code_of(request(), secret="wrong") == (400, "INVALID_SIGNATURE")
    assert code_of(request(signature="$1$" + "0" * 40)) == (400, "INVALID_SIGNATURE")
    for state in ("pendingValidation", "expired", "refused"):
        pending = CredentialView(1, "CK", "AK", state, None, CREDENTIAL.rules)
        assert code_of(request(), credential=pending) == (403, "INVALID_CREDENTIAL")
    lapsed = CredentialView(1, "CK", "AK", "validated", NOW, CREDENTIAL.rules)
    assert code_of(request(), credential=lapsed) == (403, "INVALID_CREDENTIAL")
    assert code_of(request(method="PUT")) == (403, "NOT_GRANTED_CALL")
    assert code_of(request(path="/me", url="http://h/1.0/me")) == (403, "NOT_GRANTED_CALL")


def test_the_body_and_the_query_string_are_signed() -> None:
    signed = request(body='{"a":1}')
    tampered = SignedRequest(**{**_fields(signed), "body": '{"a":2}'})
    assert code_of(tampered) == (400, "INVALID_SIGNATURE")
    signed = request(url="http://h/1.0/services?resourceName=a")
    tampered = SignedRequest(**{**_fields(signed), "url": "http://h/1.0/services?resourceName=b"})
    assert code_of(tampered) == (400, "INVALID_SIGNATURE")


def test_a_client_signing_the_unquoted_url_is_accepted() -> None:
    signed_as_built = request(url="http://h/1.0/services?routes=/hosting/web")
    on_the_wire = SignedRequest(
        **{**_fields(signed_as_built), "url": "http://h/1.0/services?routes=%2Fhosting%2Fweb"}
    )
    assert (
        authenticate(on_the_wire, application_secret="AS", credential=CREDENTIAL, **CLOCKS)
        is CREDENTIAL
    )


def test_secrets_stay_out_of_reprs() -> None:
    req = request()
    assert req.signature is not None and req.signature not in repr(req)
    assert "CK" not in repr(CREDENTIAL)


def _fields(req: SignedRequest) -> dict[str, str | None]:
    return {name: getattr(req, name) for name in SignedRequest.__slots__}
