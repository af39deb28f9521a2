"""The executor against the in-process sandbox, with faults aimed at single calls, a
manual clock and a fake sleep: every transition, idempotence, ambiguous failures
(5xx, dropped connections, timeouts) settled by re-reading, bounded resends, races with
another process, an action expiring between the read and the call, failure isolation,
bounded concurrency."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from apply_helpers import Rig, make_rig

from reconciler.apply import ActionStatus, ApplyOptions
from reconciler.core.diff import Essence
from reconciler.core.lifecycle import EssenceLifecycle
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


# The race tests below inject the other process's change at the action's own re-read
# (``GET /services/{id}``): with no age allowed, every action makes that re-read, as
# irreversible ones always do (tests/apply/test_apply_read_age.py: the snapshot's cases).
REREAD_EACH = ApplyOptions(max_read_age=timedelta(0))
SERVICE = re.compile(r"/services/\d+")


@pytest.fixture
def rig(sandbox_app: InProcessSandbox, tmp_path: Path) -> Rig:
    return make_rig(sandbox_app, tmp_path)


def mutations(rig: Rig) -> list[tuple[str, str]]:
    return [sent for sent in rig.transport.calls() if sent[0] in ("PUT", "POST", "DELETE")]


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
    (result,) = rig.apply(plan, options=REREAD_EACH).results
    assert result.status is ActionStatus.FAILED
    assert result.error is not None and "may or may not have taken effect" in result.error
    assert rig.transport.count("PUT", "/services/120000102") == 1


def test_an_action_another_apply_made_meanwhile_is_skipped(rig: Rig) -> None:
    plan = rig.plan(rig.spec(ONE_TERMINATION))
    backend = rig.sandbox.backend

    def other_apply() -> None:  # between this run's account read and the action's re-read
        backend.update_service(120000102, {"terminationPolicy": "terminateAtExpirationDate"})

    rig.transport.add("GET", "/services/120000102", "hook", hook=other_apply)
    (result,) = rig.apply(plan, options=REREAD_EACH).results
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
    (result,) = rig.apply(plan, options=REREAD_EACH).results
    assert result.status is ActionStatus.FAILED
    assert result.error is not None and "changed while this apply ran" in result.error
    # what moved, for whoever must find out who changed it
    assert (
        "change by hand?): lifecycle renew → manual_renew, renew_mode automatic → manual; "
        "nothing sent"
    ) in result.error
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
    (result,) = rig.apply(plan, options=REREAD_EACH).results
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
    results = {r.action.service: r for r in rig.apply(plan, options=REREAD_EACH).results}
    assert results["old-shop.example.org"].status is ActionStatus.DONE
    assert results["old-shop.example.org"].summary == "already gone"
    renewal = results["example.com"]
    assert renewal.status is ActionStatus.FAILED
    assert renewal.error is not None and "no longer on the account" in renewal.error
    assert mutations(rig) == []


def seed_domains(rig: Rig, count: int) -> list[str]:
    """An account of ``count`` domains renewing automatically, far from expiry; their
    names (a spec terminating them all at expiry: ``terminating``)."""
    names = [f"svc-{n:03d}.example.com" for n in range(count)]
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
    return names


def terminating(names: list[str]) -> str:
    return "version: 1\nservices:\n" + "".join(
        f"  {name}:\n    lifecycle: terminate_at_expiry\n" for name in names
    )


def test_requests_in_flight_stay_within_the_client_concurrency(rig: Rig) -> None:
    """Forty actions at once, a client of concurrency 3: never more than 3 requests."""
    plan = rig.plan(rig.spec(terminating(seed_domains(rig, 40))))
    report = rig.apply(plan, client_options={"concurrency": 3})
    assert [r.status for r in report.results] == [ActionStatus.DONE] * 40
    assert rig.transport.peak == 3  # each request yields to the loop while in flight


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
    (result,) = rig.apply(rig.plan(spec), options=REREAD_EACH).results
    assert result.status is ActionStatus.DONE, result
    assert rig.service(120000101)["termination"] == "at_expiry"


# --- what an action is decided on: the account as read (a snapshot), or its own re-read


def service_reads(rig: Rig) -> list[str]:
    """The ``GET /services/{id}`` sent (a service re-read alone), in order."""
    sent = rig.transport.calls()
    return [path for method, path in sent if method == "GET" and SERVICE.fullmatch(path)]


def listings(rig: Rig) -> int:
    return rig.transport.count("GET", "/services")


def reads(rig: Rig) -> dict[str, dict[str, object]]:
    """What the journal says each action was decided on, by service."""
    return {
        record.service: {k: record.detail[k] for k in ("read", "read_at") if k in record.detail}
        for record in rig.records(phase=Phase.ACTION)
    }


def read_of(rig: Rig, service: str) -> dict[str, object]:
    return reads(rig)[service]


def test_within_the_bound_500_reversible_actions_re_read_no_service(rig: Rig) -> None:
    names = seed_domains(rig, 500)
    plan = rig.plan(rig.spec(terminating(names)))
    listed = listings(rig)
    report = rig.apply(plan)
    assert [r.status for r in report.results] == [ActionStatus.DONE] * 500
    assert service_reads(rig) == []  # the run's one read stood for the 500 re-reads
    assert listings(rig) - listed == 1
    assert len(mutations(rig)) == 500
    (started, *_) = rig.records(phase=Phase.RUN)
    decided = reads(rig)
    assert sorted(decided) == names
    assert {str(read["read"]) for read in decided.values()} == {"account"}
    (read_at,) = {datetime.fromisoformat(str(read["read_at"])) for read in decided.values()}
    assert read_at <= started.time  # the run's read, made before the run's journal opened
    terminations = {s["termination"] for s in rig.sandbox.backend.internal_services()}
    assert terminations == {"at_expiry"}


def test_with_no_age_allowed_every_service_is_re_read_alone(rig: Rig) -> None:
    names = seed_domains(rig, 12)
    plan = rig.plan(rig.spec(terminating(names)))
    report = rig.apply(plan, options=REREAD_EACH)
    assert [r.status for r in report.results] == [ActionStatus.DONE] * 12
    assert len(service_reads(rig)) == 12
    assert {str(read["read"]) for read in reads(rig).values()} == {"service"}


def test_an_older_snapshot_is_replaced_by_one_read_of_the_account(rig: Rig) -> None:
    """The run's read waited past the bound (a prompt, a slow plan): 40 re-reads at 3 a
    time cost 14 round trips, the account's one page one: the account is read again."""
    names = seed_domains(rig, 40)
    plan = rig.plan(rig.spec(terminating(names)))
    backend = rig.sandbox.backend
    moved = plan.changes[7]
    assert moved.service_id is not None

    def waited(_verdict: object) -> None:  # between the run's read and acting
        rig.advance(timedelta(minutes=5))
        backend.update_service(moved.service_id, {"renew": {"mode": "manual"}})

    listed = listings(rig)
    report = rig.apply(plan, client_options={"concurrency": 3}, on_verdict=waited)
    assert listings(rig) - listed == 2  # the run's read, and the one before acting
    assert service_reads(rig) == []
    by_service = {r.action.service: r for r in report.results}
    failed = by_service[moved.service]
    assert failed.status is ActionStatus.FAILED
    assert failed.error is not None and "changed while this apply ran" in failed.error
    assert rig.transport.count("PUT", f"/services/{moved.service_id}") == 0
    assert sum(r.status is ActionStatus.DONE for r in report.results) == 39
    (started, *_) = rig.records(phase=Phase.RUN)
    read_at = datetime.fromisoformat(str(read_of(rig, names[0])["read_at"]))
    assert read_at >= started.time  # the new read, not the run's


def test_an_older_snapshot_costing_more_than_the_re_reads_is_not_read_again(rig: Rig) -> None:
    """One action: its re-read is one round trip, as the account's is: it re-reads alone
    and still sees a change made by hand while the run's read aged."""
    plan = rig.plan(rig.spec(ONE_TERMINATION))
    backend = rig.sandbox.backend

    def waited(_verdict: object) -> None:
        rig.advance(timedelta(seconds=11))
        backend.update_service(120000102, {"renew": {"mode": "manual"}})

    listed = listings(rig)
    (result,) = rig.apply(plan, on_verdict=waited).results
    assert listings(rig) - listed == 1
    assert service_reads(rig) == ["/services/120000102"]
    assert result.status is ActionStatus.FAILED
    assert result.error is not None and "changed while this apply ran" in result.error
    assert rig.transport.count("PUT", "/services/120000102") == 0
    assert read_of(rig, "example.net") == {"read": "service"}


def test_the_age_is_checked_when_each_call_is_handed_over(rig: Rig) -> None:
    """The snapshot is young when acting starts and ages past the bound while the first
    call is answered; a change by hand made then is seen by the next action's re-read."""
    names = seed_domains(rig, 3)
    plan = rig.plan(rig.spec(terminating(names)))
    first, _, last = plan.changes
    assert first.service_id is not None and last.service_id is not None
    backend = rig.sandbox.backend

    def slow_answer() -> None:
        rig.advance(timedelta(seconds=10))
        backend.update_service(last.service_id, {"renew": {"mode": "manual"}})

    rig.transport.add("PUT", f"/services/{first.service_id}", "hook", hook=slow_answer)
    report = rig.apply(plan, client_options={"concurrency": 1})
    statuses = [r.status for r in report.results]
    assert statuses == [ActionStatus.DONE, ActionStatus.DONE, ActionStatus.FAILED]
    assert rig.transport.count("PUT", f"/services/{last.service_id}") == 0
    assert read_of(rig, first.service)["read"] == "account"
    assert read_of(rig, last.service) == {"read": "service"}
    assert len(service_reads(rig)) == 2


def test_a_deletion_re_reads_its_service_first_whatever_the_bound(rig: Rig) -> None:
    spec = rig.spec(
        "version: 1\nunmanaged: ignore\nservices:\n"
        "  old-shop.example.org:\n    lifecycle: delete_now\n"
        "  example.net:\n    lifecycle: terminate_at_expiry\n"
    )
    plan = rig.plan(spec)
    backend = rig.sandbox.backend
    # Changed by hand after the run's read, well within the bound: the reversible
    # action is sent on the run's read; the deletion re-reads and sees the change.
    changed = {"renew": {"mode": "manual"}}
    report = rig.apply(
        plan,
        options=ApplyOptions(max_read_age=timedelta(hours=1)),
        on_verdict=lambda _verdict: backend.update_service(120000202, changed),
    )
    by_service = {r.action.service: r for r in report.results}
    deletion = by_service["old-shop.example.org"]
    assert deletion.status is ActionStatus.FAILED
    assert deletion.error is not None and "changed while this apply ran" in deletion.error
    about_it = [sent for sent in rig.transport.calls() if "120000202" in sent[1]]
    assert about_it == [("GET", "/services/120000202")]  # read, then nothing sent
    assert read_of(rig, "old-shop.example.org") == {"read": "service"}
    assert by_service["example.net"].status is ActionStatus.DONE
    assert read_of(rig, "example.net")["read"] == "account"
    assert service_reads(rig) == ["/services/120000202"]


@pytest.mark.parametrize("token", [None, "a-token-from-an-e-mail"], ids=["request", "confirm"])
def test_a_deletion_within_the_bound_re_reads_before_its_first_call(
    rig: Rig, token: str | None
) -> None:
    """Whether the deletion's first call is its request or, with a token given, its
    confirmation, the service is re-read alone before it, within a generous bound."""
    spec = rig.spec(
        "version: 1\nunmanaged: ignore\nservices:\n"
        "  old-shop.example.org:\n    lifecycle: delete_now\n"
    )
    tokens = {"old-shop.example.org": token} if token else {}
    options = ApplyOptions(max_read_age=timedelta(hours=1), tokens=tokens)
    rig.apply(rig.plan(spec), options=options)
    about_it = [s for s in rig.transport.calls() if "120000202" in s[1] or "old-shop" in s[1]]
    first_post = next(i for i, sent in enumerate(about_it) if sent[0] == "POST")
    assert about_it[:first_post] == [("GET", "/services/120000202")]
    assert about_it[first_post][1].endswith("/confirm" if token else "/terminate")
    assert read_of(rig, "old-shop.example.org") == {"read": "service"}


def test_a_negative_read_age_is_refused() -> None:
    with pytest.raises(ValueError, match="max_read_age"):
        ApplyOptions(max_read_age=timedelta(seconds=-1))
