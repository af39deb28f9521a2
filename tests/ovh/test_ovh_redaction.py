"""The client blanks every secret it knows from what it raises and logs: its credentials
from the start, OAuth2 tokens as it gets them, and whatever the caller teaches it (apply
teaches it the deletion tokens; the journal shares the same ``Secrets``)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fakes import RecordingTransport
from ovh_fakes import CREDENTIALS, FakeApi, json_response, make_client

from reconciler.clock import ManualClock
from reconciler.errors import BadRequest, Unauthorized
from reconciler.journal import JournalWriter, Outcome, Phase, RunContext
from reconciler.ovh.credentials import OAuth2Credentials
from reconciler.redaction import REDACTED, Secrets


def echo(request: httpx.Request) -> httpx.Response:
    """An API quoting back the consumer key and the body it was sent."""
    words = f"refused {request.headers.get('X-Ovh-Consumer')} with {request.content.decode()}"
    return json_response({"message": words, "details": {"echo": words}}, 400)


def test_an_error_echoing_the_consumer_key_and_a_taught_token_is_redacted() -> None:
    api = FakeApi()
    api.queue("POST", "/hosting/web/x/confirmTermination", echo)

    async def go() -> None:
        async with make_client(api) as client:
            client.secrets.learn("TOKEN-taught-42")  # as apply does with a deletion token
            await client.post("/hosting/web/x/confirmTermination", {"token": "TOKEN-taught-42"})

    with pytest.raises(BadRequest) as caught:
        asyncio.run(go())
    error = caught.value
    for text in (str(error), error.api_message, str(error.details)):
        assert CREDENTIALS.consumer_key not in text and "TOKEN-taught-42" not in text
        assert REDACTED in text


def test_the_debug_log_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    api = FakeApi()
    path = f"/me/{CREDENTIALS.consumer_key}"
    api.queue("GET", path, json_response({"message": "x"}, 503), json_response({}))

    async def go() -> None:
        async with make_client(api) as client:
            await client.get(path)

    with caplog.at_level(logging.DEBUG, logger="reconciler.ovh"):
        asyncio.run(go())
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET /me/" in text and CREDENTIALS.consumer_key not in text


def test_an_oauth2_token_echoed_is_redacted() -> None:
    credentials = OAuth2Credentials(
        client_id="sa-id",
        client_secret="sekret-sa-42",
        token_url="https://www.ovh.com/auth/oauth2/token",
    )

    async def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "www.ovh.com":
            return json_response({"access_token": "bearer-token-77", "expires_in": 3600})
        if request.url.path == "/1.0/auth/time":
            return json_response(1_800_000_000)
        bearer = request.headers["Authorization"]
        return json_response({"message": f"{bearer} may not", "errorCode": "FORBIDDEN"}, 403)

    async def go() -> None:
        clock = ManualClock(datetime(2027, 1, 15, 8, 0, tzinfo=UTC))
        async with make_client(
            RecordingTransport(handle), credentials=credentials, clock=clock
        ) as client:
            await client.get("/me")

    with pytest.raises(Unauthorized) as caught:
        asyncio.run(go())
    assert "bearer-token-77" not in str(caught.value) and REDACTED in str(caught.value)


def test_the_journal_shares_the_clients_secrets(tmp_path: Path) -> None:
    secrets = Secrets()
    client = make_client(FakeApi(), secrets=secrets)
    assert client.secrets is secrets
    journal = JournalWriter(
        tmp_path / "journal.jsonl",
        RunContext(run="r", plan="sha256:0", endpoint="ovh-eu"),
        clock=ManualClock(),
        secrets=client.secrets,
    )
    with journal:
        journal.add_secret("TOKEN-taught-42")
        journal.write(
            phase=Phase.CALL,
            outcome=Outcome.FAILED,
            error=f"refused {CREDENTIALS.consumer_key} and TOKEN-taught-42",
        )
    text = (tmp_path / "journal.jsonl").read_text()
    assert CREDENTIALS.consumer_key not in text and "TOKEN-taught-42" not in text
    assert "TOKEN-taught-42" not in client.secrets.redact("TOKEN-taught-42")
