"""403 answers that name the IAM actions a call lacks (docs/control-panel.md §6, §8.27):
the API's message, then "(missing IAM permissions: …)" from
``details.unauthorizedActionsByAuthentication`` and ``details.unauthorizedActionsByIAM``
(each only when not empty, in go-ovh's order), with the query id; on the command line one
error line and a hint, no traceback."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ovh_fakes import SERVER_TIME, json_response
from test_ovh_errors import QID, call

from reconciler import errors
from reconciler.cli import main
from reconciler.sandbox.server import ServerThread

FORBIDDEN = "User not granted for this request"


@pytest.mark.parametrize(
    ("details", "shown"),
    [
        (
            {
                "unauthorizedActionsByAuthentication": "",
                "unauthorizedActionsByIAM": "vps:apiovh:reboot",
            },
            "vps:apiovh:reboot",
        ),
        (
            {
                "unauthorizedActionsByAuthentication": "account:apiovh:services/get",
                "unauthorizedActionsByIAM": "account:apiovh:services/edit",
            },
            "account:apiovh:services/get, account:apiovh:services/edit",
        ),
        (
            {"unauthorizedActionsByIAM": ["account:apiovh:services/get", "account:apiovh:me/get"]},
            "account:apiovh:services/get, account:apiovh:me/get",
        ),
    ],
)
def test_a_403_names_the_missing_iam_actions_and_the_query_id(
    details: dict[str, Any], shown: str
) -> None:
    body = {"class": "Client::Forbidden", "message": FORBIDDEN, "details": details}
    error = call("GET", "/services", json_response(body, 403, headers={"X-Ovh-Queryid": QID}))
    assert isinstance(error, errors.Forbidden)
    assert str(error) == (
        f"OVH API GET /services failed: 403: {FORBIDDEN} (missing IAM permissions: {shown}) "
        f"(query id {QID})"
    )
    assert error.missing_iam_actions == tuple(shown.split(", "))
    assert error.hint is not None and "IAM policy" in error.hint


def test_a_403_without_iam_details_says_only_the_message() -> None:
    body = {"class": "Client::Forbidden", "message": FORBIDDEN, "details": {
        "unauthorizedActionsByAuthentication": "", "unauthorizedActionsByIAM": ""}}  # fmt: skip
    error = call("GET", "/services", json_response(body, 403, headers={"X-Ovh-Queryid": QID}))
    assert str(error) == f"OVH API GET /services failed: 403: {FORBIDDEN} (query id {QID})"
    assert error.missing_iam_actions == ()
    assert error.hint is not None and "IAM" not in error.hint


class _Forbidding:
    """An ASGI OVH API whose every signed call answers the IAM 403."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/1.0/auth/time":
            status, body, qid = 200, SERVER_TIME, b""
        else:
            status, qid = 403, b"EU.ext-iam.42"
            body = {
                "class": "Client::Forbidden",
                "message": FORBIDDEN,
                "details": {
                    "unauthorizedActionsByAuthentication": "",
                    "unauthorizedActionsByIAM": "account:apiovh:services/get",
                },
            }
        payload = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json")]
        if qid:
            headers.append((b"x-ovh-queryid", qid))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


@pytest.fixture
def forbidding() -> Iterator[str]:
    with ServerThread(_Forbidding()) as server:  # type: ignore[arg-type]
        yield server.url


def test_the_cli_prints_one_line_with_the_missing_actions_and_no_traceback(
    forbidding: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key in [k for k in os.environ if k.startswith("OVH_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OVH_APPLICATION_KEY", "ak")
    monkeypatch.setenv("OVH_APPLICATION_SECRET", "as-secret")
    monkeypatch.setenv("OVH_CONSUMER_KEY", "ck-secret")
    with pytest.raises(SystemExit) as exited:
        main(["services", "--endpoint", forbidding])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert lines == [
        f"error: OVH API GET /services failed: 403: {FORBIDDEN} (missing IAM permissions: "
        "account:apiovh:services/get) (query id EU.ext-iam.42)"
    ], err
    assert any(line.startswith("hint:") and "IAM policy" in line for line in err.splitlines())
