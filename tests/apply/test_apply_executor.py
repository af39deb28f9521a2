"""The executor against the in-process sandbox, with faults aimed at single calls, a
manual clock and a fake sleep: every transition, idempotence, ambiguous failures
(5xx, dropped connections, timeouts) settled by re-reading, bounded resends, races with
another process, an action expiring between the read and the call, failure isolation,
bounded concurrency."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from apply_helpers import FaultTransport, Rig, make_rig

from reconciler.apply import ActionStatus
from reconciler.core.diff import Essence, EssenceLifecycle
from reconciler.core.plan import ActionKind
from reconciler.errors import JournalError
from reconciler.journal import Outcome, Phase
from reconciler.sandbox.seed import seed_from_mapping
from reconciler.sandbox.testing import InProcessSandbox

EVERY_TRANSITION = """\
version: 1
unmanaged: ignore
services:
  example.net:
    type: domain
    lifecycle: terminate_at_expiry
  old-brand.fr:
    type: domain
    lifecycle: renew
  old-shop.example.org:
    type: hosting/web
    lifecycle: delete_now
  vps-1a2b3c4d.vps.ovh.net:
    type: vps
    lifecycle: renew
    period: P12M
  ns3012345.ip-51-75-10.eu:
    type: dedicated/server
    lifecycle: renew
"""

ONE_TERMINATION = """\
version: 1
unmanaged: ignore
services:
  example.net:
    type: domain
    lifecycle: terminate_at_expiry
"""


@pytest.fixture
def rig(sandbox_app: InProcessSandbox, tmp_path: Path) -> Rig:
    return make_rig(sandbox_app, tmp_path)


def mutations(rig: Rig) -> list[tuple[str, str]]:
    return [sent for sent in rig.transport.sent if sent[0] in ("PUT", "POST", "DELETE")]


def test_every_transition_is_applied_then_a_second_apply_sends_nothing(rig: Rig) -> None:
    plan = rig.plan(rig.spec(EVERY_TRANSITION))
    kinds = {action.service: action.action for action in plan.changes}
    assert kinds == {
        "example.net": ActionKind.TERMINATE_AT_EXPIRY,
        "old-brand.fr": ActionKind.CANCEL_TERMINATION,
        "old-shop.example.org": ActionKind.DELETE_NOW,
        "vps-1a2b3c4d.vps.ovh.net": ActionKind.SET_RENEW,
        "ns3012345.ip-51-75-10.eu": ActionKind.SET_RENEW,
    }
    report = rig.apply(plan)
    assert [r.status for r in report.results] == [ActionStatus.DONE] * 5, report.results
    assert rig.service(120000102)["termination"] == "at_expiry"
    assert rig.service(120000103)["termination"] == "none"
    assert rig.service(120000103)["renew"]["mode"] == "automatic"
    assert rig.service(120000202)["lifecycle"] == "terminated"
    assert rig.service(120000301)["renew"] == {"mode": "automatic", "period": "P12M"}
    assert rig.service(120000401)["renew"]["mode"] == "automatic"
    assert len(rig.termination_emails("old-shop.example.org")) == 1

    sent_before = len(mutations(rig))
    again = rig.apply(plan)  # the same approved plan, applied a second time
    assert again.results == ()
    assert {a.service for a in again.already_done} == set(kinds)
    assert not rig.plan(rig.spec(EVERY_TRANSITION)).has_changes
    assert len(mutations(rig)) == sent_before


def test_journal_brackets_every_mutating_call(rig: Rig) -> None:
    report = rig.apply(rig.plan(rig.spec(EVERY_TRANSITION)))
    assert not report.failed
    records = rig.records(phase=Phase.CALL)
    sending = [r for r in records if r.outcome == Outcome.SENDING]
    answered = [r for r in records if r.outcome != Outcome.SENDING]
    assert len(sending) == len(answered) == len(mutations(rig))
    assert all(r.run == report.run and r.endpoint == "sandbox" for r in records)
    assert rig.records(phase=Phase.RUN)[-1].outcome == Outcome.FINISHED


def test_a_5xx_with_no_effect_is_sent_again(rig: Rig) -> None:
    rig.transport.add("PUT", "/services/120000102", "error", status=503)
    report = rig.apply(rig.plan(rig.spec(ONE_TERMINATION)))
    (result,) = report.results
    assert result.status is ActionStatus.DONE
    assert rig.transport.count("PUT", "/services/120000102") == 2
    outcomes = [(r.phase, r.outcome) for r in rig.records(service="example.net")]
    assert outcomes[:5] == [
        ("call", "sending"),
        ("call", "ambiguous"),
        ("check", "no-effect"),
        ("call", "sending"),
        ("call", "ok"),
    ]
    ambiguous = rig.records(outcome=Outcome.AMBIGUOUS)[0]
    assert ambiguous.status == 503 and ambiguous.query_id == "TEST.injected.1"
    assert rig.sleep.delays == [1.0]  # one wait before sending again, on the fake sleep
    assert rig.service(120000102)["termination"] == "at_expiry"


@pytest.mark.parametrize("kind", ["drop", "timeout"])
def test_a_lost_answer_whose_effect_shows_is_not_sent_again(rig: Rig, kind: str) -> None:
    rig.transport.add("PUT", "/services/120000102", kind)
    (result,) = rig.apply(rig.plan(rig.spec(ONE_TERMINATION))).results
    assert result.status is ActionStatus.DONE
    assert rig.transport.count("PUT", "/services/120000102") == 1
    assert [r.outcome for r in rig.records(phase=Phase.CHECK)] == [Outcome.EFFECT_SHOWN]
    assert rig.service(120000102)["termination"] == "at_expiry"


def test_resends_are_bounded_and_a_failure_stops_no_other_action(rig: Rig) -> None:
    rig.transport.add("PUT", "/services/120000102", "error", status=500, times=None)
    # Without the deletion (its e-mail flow is not what this test is about).
    without_deletion = EVERY_TRANSITION.replace(
        "  old-shop.example.org:\n    type: hosting/web\n    lifecycle: delete_now\n", ""
    )
    spec = rig.spec(without_deletion)
    plan = rig.plan(spec)
    report = rig.apply(plan)
    by_service = {r.action.service: r for r in report.results}
    failed = by_service["example.net"]
    assert failed.status is ActionStatus.FAILED
    assert failed.error is not None and "failed 3 times" in failed.error
    assert rig.transport.count("PUT", "/services/120000102") == 3
    others = [r for r in report.results if r.action.service != "example.net"]
    assert others and all(r.status is ActionStatus.DONE for r in others)
    assert rig.service(120000102)["termination"] == "none"


def test_when_the_reread_fails_after_an_ambiguous_call_nothing_is_sent_again(rig: Rig) -> None:
    rig.transport.add("PUT", "/services/120000102", "drop")
    plan = rig.plan(rig.spec(ONE_TERMINATION))
    # The action's own re-read works; every later one fails (the client retries reads).
    rig.transport.add("GET", "/services/120000102", "hook", hook=lambda: None)
    rig.transport.add("GET", "/services/120000102", "error", status=500, times=None)
    (result,) = rig.apply(plan).results
    assert result.status is ActionStatus.FAILED
    assert result.error is not None and "may or may not have taken effect" in result.error
    assert rig.transport.count("PUT", "/services/120000102") == 1


def test_an_action_another_apply_made_meanwhile_is_skipped(rig: Rig) -> None:
    plan = rig.plan(rig.spec(ONE_TERMINATION))
    backend = rig.sandbox.backend

    def other_apply() -> None:  # between this run's account read and the action's re-read
        backend.update_service(120000102, {"terminationPolicy": "terminateAtExpirationDate"})

    rig.transport.add("GET", "/services/120000102", "hook", hook=other_apply)
    (result,) = rig.apply(plan).results
    assert result.status is ActionStatus.SKIPPED
    assert rig.transport.count("PUT", "/services/120000102") == 0
    assert [r.outcome for r in rig.records(phase=Phase.ACTION)] == [Outcome.SKIPPED]


def test_a_service_changed_otherwise_meanwhile_is_not_touched(rig: Rig) -> None:
    plan = rig.plan(rig.spec(ONE_TERMINATION))
    backend = rig.sandbox.backend
    rig.transport.add(
        "GET",
        "/services/120000102",
        "hook",
        hook=lambda: backend.update_service(120000102, {"renew": {"mode": "manual"}}),
    )
    (result,) = rig.apply(plan).results
    assert result.status is ActionStatus.FAILED
    assert result.error is not None and "changed while this apply ran" in result.error
    assert rig.transport.count("PUT", "/services/120000102") == 0
    assert rig.service(120000102)["termination"] == "none"


def test_a_cancellation_whose_window_closes_before_its_call_is_not_sent(rig: Rig) -> None:
    # old-brand.fr expires 40 days after the epoch; its cancellation is allowed until
    # 24 hours before. Plan and approve 30 seconds before that limit...
    rig.advance(timedelta(days=39, seconds=-30))
    spec = rig.spec(
        "version: 1\nunmanaged: ignore\nservices:\n  old-brand.fr:\n    lifecycle: renew\n"
    )
    plan = rig.plan(spec)
    (action,) = plan.changes
    assert action.action is ActionKind.CANCEL_TERMINATION
    # ...and let a minute pass between the run's account read and the action's re-read.
    rig.transport.add(
        "GET", "/services/120000103", "hook", hook=lambda: rig.advance(timedelta(minutes=1))
    )
    (result,) = rig.apply(plan).results
    assert result.status is ActionStatus.FAILED
    assert result.error is not None and result.error.startswith("too late to cancel termination")
    assert rig.transport.count("PUT", "/services/120000103") == 0
    assert rig.service(120000103)["termination"] == "at_expiry"


def delete_out_of_band(rig: Rig, service_id: int) -> None:
    """Another process deletes a web hosting now (request, e-mailed token, confirm)."""
    backend = rig.sandbox.backend
    backend.request_termination(service_id)
    body = backend.emails()[-1]["body"]
    token = body.split("token=", 1)[1].split()[0]
    backend.confirm_termination(service_id, {"token": token})


def test_a_service_gone_meanwhile_is_done_for_a_termination_and_failed_for_a_renewal(
    rig: Rig,
) -> None:
    spec = rig.spec(
        "version: 1\nunmanaged: ignore\nservices:\n"
        "  old-shop.example.org:\n    lifecycle: terminate_at_expiry\n"
        "  example.com:\n    type: hosting/web\n    lifecycle: renew\n    period: P1M\n"
    )
    plan = rig.plan(spec)
    assert len(plan.changes) == 2
    for service_id in (120000202, 120000201):
        rig.transport.add(
            "GET",
            f"/services/{service_id}",
            "hook",
            hook=lambda service_id=service_id: delete_out_of_band(rig, service_id),
        )
    results = {r.action.service: r for r in rig.apply(plan).results}
    assert results["old-shop.example.org"].status is ActionStatus.DONE
    assert results["old-shop.example.org"].summary == "already gone"
    renewal = results["example.com"]
    assert renewal.status is ActionStatus.FAILED
    assert renewal.error is not None and "no longer on the account" in renewal.error
    assert mutations(rig) == []


class CountingTransport(FaultTransport):
    """Counts the requests in flight at once (each yields to the loop first)."""

    def __init__(self, inner: FaultTransport) -> None:
        super().__init__(inner)
        self.in_flight = 0
        self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0)
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1


def test_requests_in_flight_stay_within_the_client_concurrency(rig: Rig) -> None:
    """Forty actions at once, a client of concurrency 3: never more than 3 requests."""
    names = [f"svc-{n:02d}.example.com" for n in range(40)]
    rig.sandbox.backend.load_seed(
        seed_from_mapping(
            {
                "credentials": [
                    {
                        "application_key": "demo-ak",
                        "application_secret": "demo-as",
                        "consumer_key": "demo-ck",
                        "rules": [{"method": m, "path": "/*"} for m in ("GET", "PUT", "POST")],
                    }
                ],
                "services": [
                    {
                        "name": name,
                        "route": "/domain",
                        "expires_in": "100d",
                        "renew": {"mode": "automatic", "period": "P12M"},
                    }
                    for name in names
                ],
            },
            "seed.yaml",
        )
    )
    spec = rig.spec(
        "version: 1\nservices:\n"
        + "".join(f"  {name}:\n    lifecycle: terminate_at_expiry\n" for name in names)
    )
    plan = rig.plan(spec)
    counting = CountingTransport(rig.transport)
    rig.transport = counting
    report = rig.apply(plan, client_options={"concurrency": 3})
    assert [r.status for r in report.results] == [ActionStatus.DONE] * 40
    assert counting.peak == 3


def test_a_journal_that_cannot_be_written_stops_every_action(rig: Rig) -> None:
    plan = rig.plan(rig.spec(EVERY_TRANSITION))

    def disk_full(written: int) -> None:
        if written == 3:
            raise JournalError("cannot write the journal: No space left on device", hint="x")

    with pytest.raises(JournalError, match="No space left"):
        rig.apply(plan, on_journal_write=disk_full)
    # The run's start and one call's "sending" record: that call, and nothing after it.
    assert len(mutations(rig)) == 1


def test_a_new_period_on_a_manual_renewal_is_applied_and_stays_manual(rig: Rig) -> None:
    spec = rig.spec(
        "version: 1\nunmanaged: ignore\nservices:\n"
        "  ns3012345.ip-51-75-10.eu:\n    lifecycle: renew\n    mode: manual\n    period: P12M\n"
    )
    (action,) = rig.plan(spec).changes
    assert action.after == Essence(EssenceLifecycle.MANUAL_RENEW, "P12M")
    (result,) = rig.apply(rig.plan(spec)).results
    assert result.status is ActionStatus.DONE, result
    assert result.summary == "renewal set to manual every P12M"
    assert rig.service(120000401)["renew"] == {"mode": "manual", "period": "P12M"}
    assert not rig.plan(spec).has_changes


def test_a_parent_with_linked_services_is_acted_on(rig: Rig) -> None:
    """GET /services/{id} names no children: the re-read must still match the plan's
    fingerprint of a parent (the example.com domain, parent of its web hosting)."""
    spec = rig.spec(
        "version: 1\nunmanaged: ignore\nservices:\n"
        "  example.com:\n    type: domain\n    lifecycle: terminate_at_expiry\n"
    )
    (action,) = rig.plan(spec).changes
    assert action.linked  # its hosting (and the hosting's database) go along at expiry
    (result,) = rig.apply(rig.plan(spec)).results
    assert result.status is ActionStatus.DONE, result
    assert rig.service(120000101)["termination"] == "at_expiry"
