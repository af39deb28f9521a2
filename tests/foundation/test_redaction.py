"""``reconciler.redaction``: every secret the process knows, blanked in every form."""

from __future__ import annotations

import base64
import logging

import pytest

from reconciler.errors import ApiError, BadRequest, TransportError
from reconciler.redaction import REDACTED, Secrets, redact_by_key

SECRET = 'CK-sec/ret+"quoted"-é9'


def test_a_secret_is_blanked_as_it_is_json_escaped_and_url_encoded() -> None:
    secrets = Secrets([SECRET])
    texts = [
        f"key {SECRET} refused",
        'body {"ck":"CK-sec/ret+\\"quoted\\"-\\u00e99"}',  # JSON, ASCII-escaped
        'body {"ck":"CK-sec/ret+\\"quoted\\"-é9"}',  # JSON, as written by the journal
        "url ?ck=CK-sec%2Fret%2B%22quoted%22-%C3%A99",
    ]
    for text in texts:
        clean = secrets.redact(text)
        assert REDACTED in clean and "sec/ret" not in clean and "sec%2F" not in clean, text


def test_a_basic_auth_pair_is_blanked_in_base64() -> None:
    secrets = Secrets()
    secrets.learn_basic_auth("sa-id", "sa-secret")
    header = base64.b64encode(b"sa-id:sa-secret").decode()
    assert secrets.redact(f"Authorization: Basic {header}") == f"Authorization: Basic {REDACTED}"


def test_the_longest_form_is_blanked_first_and_short_strings_are_not_secrets() -> None:
    secrets = Secrets(["abcdef", "abcdef-long-token", "", None, "abc"])
    assert secrets.redact("abcdef-long-token abcdef abc") == f"{REDACTED} {REDACTED} abc"
    assert repr(secrets) == "Secrets(<2 hidden>)"


def test_an_error_is_redacted_into_a_copy_of_its_class() -> None:
    secrets = Secrets(["TOKEN-123456"])
    error = BadRequest(
        "token TOKEN-123456 is invalid",
        status=400,
        method="POST",
        path="/x",
        query_id="Q1",
        details={"token": "TOKEN-123456"},
    )
    clean = secrets.redact_error(error)
    assert type(clean) is BadRequest and clean is not error
    assert str(clean) == f"OVH API POST /x failed: 400: token {REDACTED} is invalid (query id Q1)"
    assert clean.api_message == f"token {REDACTED} is invalid"
    assert clean.details == {"token": REDACTED}
    assert clean.status == 400 and clean.query_id == "Q1" and clean.hint == error.hint
    assert "TOKEN-123456" in str(error)  # the original is untouched


def test_an_error_without_a_secret_is_itself() -> None:
    secrets = Secrets(["TOKEN-123456"])
    error = TransportError("dropped", sent=False)
    assert secrets.redact_error(error) is error
    hinted = ApiError("x", hint="use TOKEN-123456")
    assert secrets.redact_error(hinted).hint == f"use {REDACTED}"


def test_values_are_redacted_keys_included() -> None:
    secrets = Secrets(["TOKEN-123456"])
    value = {"a": ["TOKEN-123456", 1, None], "TOKEN-123456": {"b": "x TOKEN-123456"}}
    assert secrets.redact_value(value) == {
        "a": [REDACTED, 1, None],
        REDACTED: {"b": f"x {REDACTED}"},
    }


def test_a_log_filter_blanks_the_final_text(caplog: pytest.LogCaptureFixture) -> None:
    secrets = Secrets(["TOKEN-123456"])
    logger = logging.getLogger("test.redaction")
    handler = caplog.handler
    handler.addFilter(secrets.logging_filter())
    try:
        with caplog.at_level(logging.INFO, logger="test.redaction"):
            logger.info("sent %s to %s", "TOKEN-123456", "/x")
    finally:
        handler.removeFilter(handler.filters[-1])
    assert caplog.records[-1].getMessage() == f"sent {REDACTED} to /x"


def test_bodies_are_redacted_by_key() -> None:
    body = {"token": "t", "nested": {"client_secret": "s", "ok": 1}, "list": [{"password": 2}]}
    assert redact_by_key(body) == {
        "token": REDACTED,
        "nested": {"client_secret": REDACTED, "ok": 1},
        "list": [{"password": REDACTED}],
    }
    assert redact_by_key(None) is None
