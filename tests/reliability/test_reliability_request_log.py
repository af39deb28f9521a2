"""The sandbox's request log, the instrument the campaigns count with, tells the truth:
an injected error was never processed, a dropped connection was (its change made), a
second identical change changed nothing, a legacy route names its service's id, and no
entry holds a key, a secret or a signature."""

from __future__ import annotations

import json
from typing import Any

import ovh
import ovh.exceptions
import pytest
from conftest import SandboxServer
from reliability_helpers import doubled_calls

from reconciler.sandbox.calls import CallLog

HOSTING = 120000202  # old-shop.example.org in the demo account
DOMAIN = 120000102  # example.net


def test_processed_changes_and_redundant_calls_are_told_apart(
    sandbox_server: SandboxServer, ovh_client: ovh.Client
) -> None:
    ovh_client.put(f"/services/{DOMAIN}", terminationPolicy="terminateAtExpirationDate")
    ovh_client.put(f"/services/{DOMAIN}", terminationPolicy="terminateAtExpirationDate")
    ovh_client.get(f"/services/{DOMAIN}")
    first, second, read = sandbox_server.admin.requests()[-3:]
    assert (first["method"], first["path"], first["service_id"]) == (
        "PUT",
        f"/services/{DOMAIN}",
        DOMAIN,
    )
    assert first["applied"] and first["changed"] and first["fault"] is None
    policy = first["changes"]["service.billing.lifecycle.current.terminationDate"]
    assert policy[0] is None and policy[1]
    assert second["applied"] and second["changed"] is False and second["changes"] == {}
    assert read["method"] == "GET" and read["changes"] is None and read["changed"] is None
    assert first["user_agent"].startswith("python-requests")  # who sent it: not us


def test_a_legacy_route_names_its_service_and_a_deletion_shows(
    sandbox_server: SandboxServer, ovh_client: ovh.Client
) -> None:
    ovh_client.post("/hosting/web/old-shop.example.org/terminate")
    token = sandbox_server.emails()[-1]["body"].split("token=", 1)[1].split()[0]
    ovh_client.post("/hosting/web/old-shop.example.org/confirmTermination", token=token)
    with pytest.raises(ovh.exceptions.ResourceNotFoundError):
        ovh_client.post("/hosting/web/old-shop.example.org/confirmTermination", token=token)
    request, confirm, again = sandbox_server.admin.requests()[-3:]
    assert request["service_id"] == HOSTING and request["changes"]["emails"][1] == (
        request["changes"]["emails"][0] + 1
    )
    assert confirm["service_id"] == HOSTING
    assert confirm["changes"]["service.resource.state"] == ["active", None]
    assert again["status"] == 404 and not again["applied"] and again["changes"] is None
    # The gone service's name no longer resolves: no id, and never a wrong one.
    assert again["service_id"] is None
    entries = json.dumps(sandbox_server.admin.requests())
    assert token not in entries


def test_an_injected_error_was_not_processed_and_a_drop_was(
    sandbox_server: SandboxServer, ovh_client: ovh.Client
) -> None:
    ovh_client.get("/me")  # the official client reads /auth/time once, on its first call
    sandbox_server.set_faults(error_rate=1.0, error_statuses=[503])
    with pytest.raises(ovh.exceptions.APIError):
        ovh_client.put(f"/services/{DOMAIN}", terminationPolicy="terminateAtExpirationDate")
    sandbox_server.set_faults(drop_rate=1.0)
    with pytest.raises(Exception):  # noqa: B017 - the official client's own wording of a drop
        ovh_client.put(f"/services/{DOMAIN}", terminationPolicy="terminateAtExpirationDate")
    sandbox_server.clear_faults()
    refused, dropped = sandbox_server.admin.requests()[-2:]
    assert refused["fault"] == "error" and refused["status"] == 503
    assert not refused["applied"] and refused["changes"] is None
    assert dropped["fault"] == "drop" and dropped["applied"] and dropped["changed"]
    current = ovh_client.get(f"/services/{DOMAIN}")["billing"]["lifecycle"]["current"]
    assert current["terminationDate"]  # the dropped call's change was made


def test_no_entry_holds_a_credential(sandbox_server: SandboxServer, ovh_client: ovh.Client) -> None:
    ovh_client.get("/me")
    text = json.dumps(sandbox_server.admin.requests())
    for secret in (sandbox_server.application_secret, sandbox_server.consumer_key, "$1$"):
        assert secret not in text
    assert sandbox_server.admin.requests()[-1]["credential_id"] is not None


def test_reset_clears_it_and_since_reads_on(sandbox_server: SandboxServer, ovh_client: Any) -> None:
    ovh_client.get("/me")
    ovh_client.get("/me")
    last = sandbox_server.admin.requests()[-1]["seq"]
    ovh_client.get("/me")
    assert [e["seq"] for e in sandbox_server.admin.requests(since=last)] == [last + 1]
    sandbox_server.reset()
    assert sandbox_server.admin.requests() == []


def test_the_log_is_bounded() -> None:
    log = CallLog(capacity=3)
    for _ in range(5):
        log.add(method="GET", path="/me", status=200)
    assert [entry.seq for entry in log.since()] == [3, 4, 5]


def test_doubled_calls_flags_a_second_effective_send_only() -> None:
    def entry(seq: int, path: str, **fields: Any) -> dict[str, Any]:
        return {
            "seq": seq,
            "method": "POST",
            "path": path,
            "user_agent": "reconciler/0.1",
            "applied": True,
            "changed": True,
            "service_id": 7,
            **fields,
        }

    request = "/hosting/web/a.example.org/terminate"
    fine = [entry(1, request, applied=False, changed=None), entry(2, request)]
    assert doubled_calls(fine) == []
    assert doubled_calls([entry(1, request), entry(2, request)]) != []
    assert doubled_calls([entry(1, "/services/7", method="PUT", changed=False)]) != []
    theirs = entry(1, "/services/7", method="PUT", changed=False, user_agent="python-requests")
    assert doubled_calls([theirs]) == []
