"""A termination request whose confirmation e-mail never comes (issue 18, item 4).

The e-mail is *lost*, not late: the account's history never shows it (``LostMail``
drops it from the listing, as if OVH had never sent it). Before this way out, every
re-run waited out ``--token-timeout`` and failed, for ever. Now: past the token's
lifetime apply requests the termination again by itself; within it only on
``--request-again NAME``, and only once the e-mail was waited for; the abandoned
request is journalled; never two requests of one service within the lifetime otherwise.
All on the in-process sandbox with manual clocks: nothing sleeps.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from apply_helpers import Rig, make_rig
from fakes import RecordingTransport

from reconciler.apply import ActionStatus, ApplyOptions
from reconciler.core.plan import Plan
from reconciler.journal import Outcome, Phase
from reconciler.sandbox.testing import InProcessSandbox

SHOP = 120000202
NAME = "old-shop.example.org"
REQUEST = f"/hosting/web/{NAME}/terminate"
CONFIRM = f"/services/{SHOP}/terminate/confirm"
HISTORY = "/me/notification/email/history"
DELETE_SHOP = f"version: 1\nunmanaged: ignore\nservices:\n  {NAME}:\n    lifecycle: delete_now\n"
NO_WAIT = timedelta(0)  # the wait itself is tested elsewhere; here only what follows it


class LostMail(RecordingTransport):
    """The account's e-mail history without the e-mails of the next ``losses``
    accepted termination requests (None: all): they never came. An e-mail is the
    request's when it first shows in a listing after the request was answered (apply
    lists the history just before requesting)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, losses: int | None = 1) -> None:
        super().__init__(inner)
        self.losses = losses
        self.seen: set[int] = set()
        self.lost: set[int] = set()
        self.pending = False

    async def answer(self, request: httpx.Request) -> httpx.Response:
        response = await super().answer(request)
        path = request.url.path.removeprefix("/1.0")
        if request.method == "POST" and path.endswith("/terminate") and response.is_success:
            if self.losses is None or self.losses > 0:
                self.pending = True
                self.losses = None if self.losses is None else self.losses - 1
        if request.method != "GET" or path != HISTORY:
            return response
        ids = json.loads(await response.aread())
        if self.pending:
            self.lost.update(i for i in ids if i not in self.seen)
            self.pending = False
        self.seen.update(ids)
        return httpx.Response(
            response.status_code,
            json=[i for i in ids if i not in self.lost],
            headers={"X-Ovh-Queryid": response.headers.get("X-Ovh-Queryid", "")},
        )


@pytest.fixture
def rig(sandbox_app: InProcessSandbox, tmp_path: Path) -> Rig:
    return make_rig(sandbox_app, tmp_path)


def lost_mail(rig: Rig, losses: int | None = 1) -> LostMail:
    mail = LostMail(rig.transport.inner, losses)
    rig.transport.inner = mail
    return mail


def first_request_lost(rig: Rig, losses: int | None = 1) -> tuple[LostMail, Plan]:
    """Run 1: the request is accepted, its e-mail is lost, the action fails."""
    mail = lost_mail(rig, losses)
    plan = rig.plan(rig.spec(DELETE_SHOP))
    (first,) = rig.apply(plan, options=ApplyOptions(token_timeout=NO_WAIT)).results
    assert first.status is ActionStatus.FAILED
    assert first.error is not None and first.error.startswith("no confirmation e-mail")
    assert rig.transport.count("POST", REQUEST) == 1
    assert mail.lost  # the sandbox did send it
    return mail, plan


def abandoned(rig: Rig) -> list[Any]:
    return rig.records(phase=Phase.TOKEN, outcome=Outcome.ABANDONED)


def test_the_waiting_error_names_the_way_out(rig: Rig) -> None:
    plan = rig.plan(rig.spec(DELETE_SHOP))
    rig.transport.add("GET", HISTORY, "hide-emails", times=None)
    (result,) = rig.apply(plan, options=ApplyOptions(token_timeout=NO_WAIT)).results
    assert result.status is ActionStatus.FAILED
    assert result.hint is not None
    assert f"--request-again {NAME}" in result.hint
    assert "72 h" in result.hint  # when apply requests again by itself


def test_within_the_lifetime_a_lost_e_mail_is_waited_for_never_requested_twice(
    rig: Rig,
) -> None:
    _mail, plan = first_request_lost(rig)
    for _ in range(3):
        rig.advance(timedelta(hours=20))  # 60 h after the request: within 72 h
        (again,) = rig.apply(plan, options=ApplyOptions(token_timeout=NO_WAIT)).results
        assert again.status is ActionStatus.FAILED
        assert again.hint is not None and "--request-again" in again.hint
    assert rig.transport.count("POST", REQUEST) == 1
    assert abandoned(rig) == []
    assert rig.service(SHOP)["lifecycle"] == "active"


def test_past_the_token_lifetime_apply_requests_again_and_journals_the_old_one(
    rig: Rig,
) -> None:
    _mail, plan = first_request_lost(rig)
    (sent,) = [
        r
        for r in rig.records(phase=Phase.CALL, outcome=Outcome.OK)
        if r.detail.get("step") == "request-termination"
    ]
    rig.advance(timedelta(hours=72))
    (result,) = rig.apply(plan).results
    assert result.status is ActionStatus.DONE, result
    assert rig.transport.count("POST", REQUEST) == 2
    assert rig.transport.count("POST", CONFIRM) == 1  # the new e-mail's token
    assert rig.service(SHOP)["lifecycle"] == "terminated"
    (gave_up,) = abandoned(rig)
    assert gave_up.detail["email_after"] == sent.detail["email_after"]
    assert gave_up.detail["requested_run"] == sent.run
    assert "lifetime (72 h)" in gave_up.detail["reason"]
    # Abandoned before the new request was sent: a crash between them requests anew.
    records = rig.records()
    second_request = [
        i
        for i, r in enumerate(records)
        if r.phase == Phase.CALL
        and r.outcome == Outcome.SENDING
        and r.detail.get("step") == "request-termination"
    ][1]
    assert records.index(gave_up) < second_request


def test_the_lifetime_is_an_option(rig: Rig) -> None:
    _mail, plan = first_request_lost(rig)
    rig.advance(timedelta(hours=2))
    options = ApplyOptions(token_timeout=NO_WAIT, token_lifetime=timedelta(hours=1))
    (result,) = rig.apply(plan, options=options).results
    assert result.status is ActionStatus.DONE, result
    assert rig.transport.count("POST", REQUEST) == 2


def test_request_again_within_the_lifetime_after_the_e_mail_was_waited_for(rig: Rig) -> None:
    _mail, plan = first_request_lost(rig)
    rig.advance(timedelta(hours=1))
    options = ApplyOptions(token_timeout=NO_WAIT, request_again=frozenset({NAME}))
    (result,) = rig.apply(plan, options=options).results
    assert result.status is ActionStatus.DONE, result
    assert rig.transport.count("POST", REQUEST) == 2
    (gave_up,) = abandoned(rig)
    assert "--request-again" in gave_up.detail["reason"]
    assert rig.service(SHOP)["lifecycle"] == "terminated"


def test_request_again_kept_on_every_run_requests_once_per_wait(rig: Rig) -> None:
    """A CI job that keeps ``--request-again`` and loses every e-mail: one request per
    run whose wait ended in vain, never two in one run nor one without a wait."""
    _mail, plan = first_request_lost(rig, losses=None)
    options = ApplyOptions(token_timeout=NO_WAIT, request_again=frozenset({NAME}))
    for run in range(2, 5):
        rig.advance(timedelta(minutes=40))
        (result,) = rig.apply(plan, options=options).results
        assert result.status is ActionStatus.FAILED
        assert rig.transport.count("POST", REQUEST) == run
    assert len(abandoned(rig)) == 3


def test_request_again_finds_the_e_mail_if_it_came_after_all(rig: Rig) -> None:
    mail, plan = first_request_lost(rig)
    mail.lost.clear()  # it was late, not lost
    options = ApplyOptions(token_timeout=NO_WAIT, request_again=frozenset({NAME}))
    (result,) = rig.apply(plan, options=options).results
    assert result.status is ActionStatus.DONE, result
    assert rig.transport.count("POST", REQUEST) == 1
    assert abandoned(rig) == []


def test_request_again_on_a_request_not_yet_waited_for_waits_first(rig: Rig) -> None:
    """The request is accepted and its run ends before its wait did (a crash, say): the
    next run with ``--request-again`` waits ``--token-timeout`` before requesting."""
    lost_mail(rig)
    plan = rig.plan(rig.spec(DELETE_SHOP))
    (first,) = rig.apply(plan, options=ApplyOptions(token_timeout=NO_WAIT)).results
    assert first.status is ActionStatus.FAILED
    # The run ends right after the request's answer (its process killed): the journal
    # keeps what was fsynced until then.
    kept = []
    for line in rig.journal.read_text(encoding="utf-8").splitlines():
        kept.append(line)
        record = json.loads(line)
        if record.get("outcome") == "ok" and record.get("detail", {}).get("step") == (
            "request-termination"
        ):
            break
    rig.journal.write_text("\n".join(kept) + "\n", encoding="utf-8")
    options = ApplyOptions(token_timeout=timedelta(minutes=30), request_again=frozenset({NAME}))
    (result,) = rig.apply(plan, options=options).results
    assert result.status is ActionStatus.DONE, result
    assert sum(rig.sleep.delays) >= 1800  # waited the whole timeout first (fake sleep)
    assert rig.transport.count("POST", REQUEST) == 2
    assert len(abandoned(rig)) == 1
