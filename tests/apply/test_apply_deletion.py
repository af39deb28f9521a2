"""``delete_now`` through the e-mailed token, in-process: the e-mail flow, ``--token``,
a refused token, the token that never comes and the resume that needs no second e-mail,
an expired token, ambiguous failures of the request and of the confirmation, a service
gone meanwhile; and the parsing of confirmation e-mails."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from apply_helpers import SECRETS, Rig, make_rig

from reconciler.apply import ActionStatus, ApplyOptions
from reconciler.apply.mailbox import confirmation_token
from reconciler.journal import Outcome, Phase, token_digest
from reconciler.sandbox.testing import InProcessSandbox

SHOP = 120000202
NAME = "old-shop.example.org"
REQUEST = f"/hosting/web/{NAME}/terminate"
CONFIRM = f"/services/{SHOP}/terminate/confirm"  # the panel's confirmation for hosting_web
LEGACY_CONFIRM = f"/hosting/web/{NAME}/confirmTermination"
HISTORY = "/me/notification/email/history"
DELETE_SHOP = f"version: 1\nunmanaged: ignore\nservices:\n  {NAME}:\n    lifecycle: delete_now\n"


@pytest.fixture
def rig(sandbox_app: InProcessSandbox, tmp_path: Path) -> Rig:
    return make_rig(sandbox_app, tmp_path)


def tokens_sent(rig: Rig) -> list[str]:
    found = []
    for email in rig.sandbox.backend.emails():
        match = re.search(r"token=([A-Za-z0-9]+)", email["body"])
        if match:
            found.append(match[1])
    return found


def assert_no_secret_in_journal(rig: Rig, *more: str) -> None:
    text = rig.journal_text()
    assert text
    for secret in (*SECRETS, *tokens_sent(rig), *more):
        assert secret not in text


def test_deleted_through_the_e_mailed_token(rig: Rig) -> None:
    (result,) = rig.apply(rig.plan(rig.spec(DELETE_SHOP))).results
    assert result.status is ActionStatus.DONE, result
    assert "e-mail" in result.summary
    assert rig.service(SHOP)["lifecycle"] == "terminated"
    assert rig.transport.count("POST", REQUEST) == 1
    assert rig.transport.count("POST", CONFIRM) == 1
    (token,) = tokens_sent(rig)
    (found,) = rig.records(phase=Phase.TOKEN, outcome=Outcome.FOUND)
    assert found.detail["token_sha256"] == token_digest(token)
    (baseline,) = [
        r
        for r in rig.records(phase=Phase.CALL, outcome=Outcome.SENDING)
        if r.detail.get("step") == "request-termination"
    ]
    assert isinstance(baseline.detail["email_after"], int)
    confirm = [r for r in rig.records(phase=Phase.CALL) if r.call and r.call.path == CONFIRM]
    assert confirm and all(r.call.body == {"token": "<redacted>"} for r in confirm if r.call)
    assert_no_secret_in_journal(rig)


def test_an_older_e_mail_of_another_service_is_never_taken(rig: Rig) -> None:
    # A confirmation e-mail from before this run (another hosting): below the baseline.
    rig.sandbox.backend.request_termination(120000201)
    (result,) = rig.apply(rig.plan(rig.spec(DELETE_SHOP))).results
    assert result.status is ActionStatus.DONE
    assert rig.service(120000201)["lifecycle"] != "terminated"


def out_of_band_token(rig: Rig) -> str:
    rig.sandbox.backend.request_termination(SHOP)
    return tokens_sent(rig)[-1]


def test_deleted_with_a_token_given_on_the_command_line(rig: Rig) -> None:
    plan = rig.plan(rig.spec(DELETE_SHOP))
    token = out_of_band_token(rig)
    (result,) = rig.apply(plan, options=ApplyOptions(tokens={NAME: token})).results
    assert result.status is ActionStatus.DONE and "--token" in result.summary
    assert rig.service(SHOP)["lifecycle"] == "terminated"
    assert rig.transport.count("POST", REQUEST) == 0
    assert len(rig.termination_emails(NAME)) == 1
    assert_no_secret_in_journal(rig, token)


def test_a_refused_token_from_the_command_line_fails_without_a_new_request(rig: Rig) -> None:
    plan = rig.plan(rig.spec(DELETE_SHOP))
    (result,) = rig.apply(plan, options=ApplyOptions(tokens={NAME: "wrong-token-123"})).results
    assert result.status is ActionStatus.FAILED
    assert result.error is not None and "--token" in result.error and "refused" in result.error
    assert rig.transport.count("POST", REQUEST) == 0
    assert rig.service(SHOP)["lifecycle"] == "active"
    assert "wrong-token-123" not in rig.journal_text()


def test_the_token_that_never_comes_then_the_resume_with_the_same_e_mail(rig: Rig) -> None:
    plan = rig.plan(rig.spec(DELETE_SHOP))
    rig.transport.add("GET", HISTORY, "hide-emails", times=None)
    options = ApplyOptions(token_timeout=timedelta(minutes=30))
    (result,) = rig.apply(plan, options=options).results
    assert result.status is ActionStatus.FAILED
    assert result.error is not None
    assert result.error.startswith(f"no confirmation e-mail for {NAME} within 30 min")
    assert result.hint is not None and "--token" in result.hint
    # Polled with backoff on the fake sleep: 2, 4, 8, 16, then every 30 s, 30 min in all.
    assert rig.sleep.delays[:5] == [2, 4, 8, 16, 30]
    assert max(rig.sleep.delays) == 30 and sum(rig.sleep.delays) == pytest.approx(1800)
    assert [r.outcome for r in rig.records(phase=Phase.TOKEN)] == [Outcome.WAITING, Outcome.TIMEOUT]
    assert rig.service(SHOP)["lifecycle"] == "active"

    rig.transport.faults.clear()  # the e-mail arrives, late
    (resumed,) = rig.apply(plan, options=options).results
    assert resumed.status is ActionStatus.DONE, resumed
    assert rig.transport.count("POST", REQUEST) == 1  # no second request...
    assert len(rig.termination_emails(NAME)) == 1  # ...so no second e-mail
    assert rig.service(SHOP)["lifecycle"] == "terminated"
    assert_no_secret_in_journal(rig)


def test_a_resume_whose_token_expired_requests_a_new_one(rig: Rig) -> None:
    plan = rig.plan(rig.spec(DELETE_SHOP))
    rig.transport.add("GET", HISTORY, "hide-emails", times=None)
    (first,) = rig.apply(plan, options=ApplyOptions(token_timeout=timedelta(0))).results
    assert first.status is ActionStatus.FAILED
    rig.transport.faults.clear()
    rig.advance(timedelta(hours=73))  # the sandbox's tokens live 72 hours
    (resumed,) = rig.apply(plan).results
    assert resumed.status is ActionStatus.DONE, resumed
    assert rig.transport.count("POST", REQUEST) == 2
    assert rig.transport.count("POST", CONFIRM) == 2  # the expired token, then the new one
    assert [r.outcome for r in rig.records(phase=Phase.TOKEN) if r.outcome == "refused"] == [
        Outcome.REFUSED
    ]
    assert rig.service(SHOP)["lifecycle"] == "terminated"


def test_a_request_whose_answer_is_lost_is_not_sent_again(rig: Rig) -> None:
    rig.transport.add("POST", REQUEST, "drop")
    (result,) = rig.apply(rig.plan(rig.spec(DELETE_SHOP))).results
    assert result.status is ActionStatus.DONE
    assert rig.transport.count("POST", REQUEST) == 1
    assert len(rig.termination_emails(NAME)) == 1


def test_a_request_that_failed_before_taking_effect_is_sent_again(rig: Rig) -> None:
    rig.transport.add("POST", REQUEST, "error", status=502)
    (result,) = rig.apply(rig.plan(rig.spec(DELETE_SHOP))).results
    assert result.status is ActionStatus.DONE
    assert rig.transport.count("POST", REQUEST) == 2
    assert len(rig.termination_emails(NAME)) == 1


def test_a_confirmation_whose_answer_is_lost_is_done(rig: Rig) -> None:
    rig.transport.add("POST", CONFIRM, "drop")
    (result,) = rig.apply(rig.plan(rig.spec(DELETE_SHOP))).results
    assert result.status is ActionStatus.DONE
    assert rig.transport.count("POST", CONFIRM) == 1
    assert rig.service(SHOP)["lifecycle"] == "terminated"


def test_a_confirmation_that_failed_before_taking_effect_is_sent_again(rig: Rig) -> None:
    rig.transport.add("POST", CONFIRM, "error", status=500)
    (result,) = rig.apply(rig.plan(rig.spec(DELETE_SHOP))).results
    assert result.status is ActionStatus.DONE
    assert rig.transport.count("POST", CONFIRM) == 2
    sending = [
        r
        for r in rig.records(phase=Phase.CALL, outcome=Outcome.SENDING)
        if r.detail.get("step") == "confirm-termination"
    ]
    assert len({r.detail["token_sha256"] for r in sending}) == 1  # the same token twice


def test_a_hosting_deleted_by_someone_else_meanwhile_is_done(rig: Rig) -> None:
    plan = rig.plan(rig.spec(DELETE_SHOP))

    def someone_else() -> None:
        token = out_of_band_token(rig)
        rig.sandbox.backend.confirm_termination(SHOP, {"token": token})

    rig.transport.add("POST", REQUEST, "hook", hook=someone_else)
    (result,) = rig.apply(plan).results
    assert result.status is ActionStatus.DONE and result.summary == "already gone"
    assert rig.transport.count("POST", CONFIRM) == 0


# --- the e-mails -----------------------------------------------------------------------

LINK = "https://www.ovh.com/manager/#/billing/confirmTerminate?id={id}&token={token}"


def email(body: str, subject: str = "Termination request") -> dict[str, object]:
    return {"id": 7, "date": "2026-03-02T10:00:00+01:00", "subject": subject, "body": body}


def test_the_token_is_read_from_the_link_of_the_e_mail_naming_the_service() -> None:
    body = f"Terminate {NAME}? Follow:\n{LINK.format(id=SHOP, token='Ab12Cd34Ef56')}\n"
    assert confirmation_token(email(body), service_id=SHOP, name=NAME) == "Ab12Cd34Ef56"


def test_an_html_e_mail_and_a_link_ending_a_sentence() -> None:
    link = LINK.format(id=SHOP, token="Ab12Cd34Ef56").replace("&", "&amp;")
    body = f'<p>Service <b>{NAME}</b>: <a href="{link}">confirm</a> or see {link}.</p>'
    assert confirmation_token(email(body), service_id=SHOP, name=NAME) == "Ab12Cd34Ef56"


@pytest.mark.parametrize(
    ("name", "service_id"),
    [
        ("example.org", SHOP),  # old-shop.example.org does not name example.org
        ("shop.example.org", SHOP),
        (NAME, SHOP + 1),  # the link is another service's
    ],
)
def test_an_e_mail_about_another_service_gives_no_token(name: str, service_id: int) -> None:
    body = f"Terminate {NAME}: {LINK.format(id=SHOP, token='Ab12Cd34Ef56')}"
    assert confirmation_token(email(body), service_id=service_id, name=name) is None


def test_an_e_mail_without_a_confirmation_link_gives_no_token() -> None:
    body = f"Your service {NAME} has been terminated. Its data has been deleted."
    assert confirmation_token(email(body), service_id=SHOP, name=NAME) is None
    assert confirmation_token("not an e-mail", service_id=SHOP, name=NAME) is None
