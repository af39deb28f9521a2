"""``delete_now`` on the control panel's flows (docs/control-panel.md §8.22, §8.24): the
request on the hosting's route and the confirmation on ``/services``, each recorded
fallback sent only after a refusal that a re-read shows changed nothing, and every 404 or
460 settled by re-reading ``GET /services/{id}`` — only a deleted service is done, and a
404 "Got an invalid (or empty) URL" is a missing route, never a missing service.

On the in-process sandbox (which accepts both flows and either token route), with the
refusals injected in front of it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from apply_helpers import Rig, make_rig

from reconciler.apply import ActionStatus
from reconciler.journal import Outcome, Phase
from reconciler.sandbox.testing import InProcessSandbox

SHOP = 120000202
NAME = "old-shop.example.org"
REQUEST = f"/hosting/web/{NAME}/terminate"
REQUEST_FALLBACK = f"/services/{SHOP}/terminate"
CONFIRM = f"/services/{SHOP}/terminate/confirm"
CONFIRM_FALLBACK = f"/hosting/web/{NAME}/confirmTermination"
DELETE_SHOP = f"version: 1\nunmanaged: ignore\nservices:\n  {NAME}:\n    lifecycle: delete_now\n"
MISSING_ROUTE = {"class": "Client::NotFound", "message": "Got an invalid (or empty) URL"}
NO_SUCH_SERVICE = {"class": "Client::NotFound", "message": "This service does not exist"}
EXPIRED = {"class": "Client::ServiceExpired", "message": "This service is expired"}


@pytest.fixture
def rig(sandbox_app: InProcessSandbox, tmp_path: Path) -> Rig:
    return make_rig(sandbox_app, tmp_path)


def checks(rig: Rig, outcome: Outcome) -> list[Any]:
    return rig.records(phase=Phase.CHECK, outcome=outcome)


def test_the_plan_requests_on_the_hostings_route_and_confirms_on_services(rig: Rig) -> None:
    plan = rig.plan(rig.spec(DELETE_SHOP))
    (action,) = plan.changes
    assert [(c.method, c.path) for c in action.calls] == [("POST", REQUEST), ("POST", CONFIRM)]
    (result,) = rig.apply(plan).results
    assert result.status is ActionStatus.DONE, result
    assert rig.service(SHOP)["lifecycle"] == "terminated"
    assert rig.transport.count("POST", REQUEST) == 1
    assert rig.transport.count("POST", CONFIRM) == 1
    assert rig.transport.count("POST", REQUEST_FALLBACK) == 0
    assert rig.transport.count("POST", CONFIRM_FALLBACK) == 0


def test_a_missing_request_route_falls_back_to_services_terminate(rig: Rig) -> None:
    rig.transport.add("POST", REQUEST, "answer", status=404, body=MISSING_ROUTE)
    (result,) = rig.apply(rig.plan(rig.spec(DELETE_SHOP))).results
    assert result.status is ActionStatus.DONE, result
    assert rig.service(SHOP)["lifecycle"] == "terminated"
    assert rig.transport.count("POST", REQUEST_FALLBACK) == 1
    assert rig.transport.count("POST", CONFIRM) == 1
    (refused,) = checks(rig, Outcome.NO_EFFECT)
    assert refused.call.path == REQUEST
    assert refused.detail["missing_route"] is True
    assert refused.query_id == "TEST.answer.1"
    assert refused.detail["read"] == {"lifecycle_state": "active", "resource_state": "active"}


def test_a_refused_confirmation_falls_back_to_the_legacy_route_with_the_same_token(
    rig: Rig,
) -> None:
    rig.transport.add(
        "POST", CONFIRM, "answer", status=400, body={"message": "Invalid termination token"}
    )
    (result,) = rig.apply(rig.plan(rig.spec(DELETE_SHOP))).results
    assert result.status is ActionStatus.DONE, result
    assert rig.service(SHOP)["lifecycle"] == "terminated"
    assert rig.transport.count("POST", CONFIRM) == 1
    assert rig.transport.count("POST", CONFIRM_FALLBACK) == 1
    assert len(rig.termination_emails(NAME)) == 1  # one request, one token, used once
    sent = [r for r in rig.records(phase=Phase.CALL, outcome=Outcome.OK) if r.call]
    assert [r.call.path for r in sent] == [REQUEST, CONFIRM_FALLBACK]
    assert all(r.call.body == {"token": "<redacted>"} for r in sent[1:])


def deletion_refused_at(rig: Rig, paths: tuple[str, ...], status: int, body: dict[str, str]) -> str:
    """Apply DELETE_SHOP with ``paths`` (a step and its fallback) answering ``status``:
    the action fails, the shop is not deleted, each refusal was re-read and journalled as
    not done and nothing says done. The action's error."""
    for path in paths:
        rig.transport.add("POST", path, "answer", status=status, body=body)
    (result,) = rig.apply(rig.plan(rig.spec(DELETE_SHOP))).results
    assert result.status is ActionStatus.FAILED, result
    assert result.error is not None and "query id TEST.answer.1" in result.error
    assert "not deleted" in result.error
    assert rig.service(SHOP)["lifecycle"] != "terminated"
    assert [r.call.path for r in checks(rig, Outcome.NO_EFFECT)] == list(paths)
    assert not rig.records(phase=Phase.ACTION, outcome=Outcome.DONE)
    return result.error


@pytest.mark.parametrize(
    ("status", "body"), [(404, NO_SUCH_SERVICE), (460, EXPIRED), (404, MISSING_ROUTE)]
)
def test_a_404_or_460_on_the_request_of_a_live_service_is_an_error_never_done(
    rig: Rig, status: int, body: dict[str, str]
) -> None:
    error = deletion_refused_at(rig, (REQUEST, REQUEST_FALLBACK), status, body)
    assert f"{status}" in error
    assert not rig.termination_emails(NAME)
    assert not checks(rig, Outcome.GONE)
    assert rig.records(phase=Phase.ACTION, outcome=Outcome.FAILED)
    assert rig.transport.count("POST", CONFIRM) == 0


@pytest.mark.parametrize(("status", "body"), [(404, NO_SUCH_SERVICE), (460, EXPIRED)])
def test_a_404_or_460_on_the_confirmation_of_a_live_service_is_an_error_never_done(
    rig: Rig, status: int, body: dict[str, str]
) -> None:
    deletion_refused_at(rig, (CONFIRM, CONFIRM_FALLBACK), status, body)


def test_a_404_on_the_confirmation_is_done_when_the_re_read_shows_the_service_deleted(
    rig: Rig,
) -> None:
    """Another process confirmed the same token first: our confirmation answers 404, and
    the re-read (``GET /services/{id}``: no such service any more) settles it as done."""

    def confirmed_elsewhere() -> None:
        body = rig.termination_emails(NAME)[-1]["body"]
        token = re.search(r"token=([A-Za-z0-9]+)", body)
        assert token is not None
        rig.sandbox.backend.confirm_termination(SHOP, {"token": token[1]})

    rig.transport.add("POST", CONFIRM, "hook", hook=confirmed_elsewhere)
    (result,) = rig.apply(rig.plan(rig.spec(DELETE_SHOP))).results
    assert result.status is ActionStatus.DONE, result
    assert rig.service(SHOP)["lifecycle"] == "terminated"
    (gone,) = checks(rig, Outcome.GONE)
    assert gone.call.path == CONFIRM
    assert rig.transport.count("POST", CONFIRM_FALLBACK) == 0  # settled: nothing more sent


def test_a_missing_route_on_the_re_read_is_never_a_missing_service(rig: Rig) -> None:
    """The confirmation answers 404 and the re-read answers the invalid-URL 404: that
    says nothing of the service, so the deletion is not reported done."""
    plan = rig.plan(rig.spec(DELETE_SHOP))
    rig.transport.add("POST", CONFIRM, "answer", status=404, body=NO_SUCH_SERVICE)
    rig.transport.add("GET", f"/services/{SHOP}", "hook", hook=lambda: None)  # apply's read
    rig.transport.add(
        "GET", f"/services/{SHOP}", "answer", status=404, body=MISSING_ROUTE, times=None
    )
    (result,) = rig.apply(plan).results
    assert result.status is ActionStatus.FAILED, result
    assert result.error is not None and "Got an invalid (or empty) URL" in result.error
    assert not checks(rig, Outcome.GONE)
    assert not rig.records(phase=Phase.ACTION, outcome=Outcome.DONE)
    assert rig.service(SHOP)["lifecycle"] != "terminated"


def test_the_re_reads_of_apply_are_per_service_never_a_listing(rig: Rig) -> None:
    """After the first change, apply reads the account only through
    ``GET /services/{id}`` (docs/control-panel.md §8.26): a cached listing could show the
    service as it was before the call."""
    spec = (
        "version: 1\nunmanaged: ignore\nservices:\n"
        f"  {NAME}: {{lifecycle: delete_now}}\n"
        "  example.net: {lifecycle: terminate_at_expiry}\n"
    )
    plan = rig.plan(rig.spec(spec))
    rig.transport.sent.clear()
    report = rig.apply(plan)
    assert [r.status for r in report.results] == [ActionStatus.DONE, ActionStatus.DONE]
    sent = rig.transport.calls()
    first_change = next(i for i, (method, _) in enumerate(sent) if method in ("PUT", "POST"))
    after = [path for method, path in sent[first_change:] if method == "GET"]
    assert after, "apply re-read nothing"
    assert "/services" not in after
    assert all(
        re.fullmatch(r"/services/\d+|/me/notification/email/history(/\d+)?", p) for p in after
    ), after
