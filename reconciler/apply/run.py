"""One apply run, start to end: re-read, plan again, judge, journal, execute.

``apply_approved(approved, client, ...)`` is the whole of ``reconciler apply`` but the
command line: it is given the plan a human approved (shown and confirmed on a terminal,
or ``--auto-approve``) or a saved plan file, and

1. refuses it at once when it holds refusals (no API call at all: exit 3);
2. reads the account again and plans again from the plan's *own embedded spec*, with
   the API's clock at apply time;
3. judges the approved plan against that fresh plan (``approval.judge``): refused
   (exit 3), stale (``StalePlanError``), altered (``PlanFileError``), or approved;
4. opens the journal (nothing is sent without it), and executes the fresh plan's
   actions (``executor.Executor``), recording the run's start and end.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo
from functools import partial
from pathlib import Path

from reconciler import __version__
from reconciler.apply.deletion import TerminationHistory
from reconciler.apply.executor import Executor
from reconciler.apply.mailbox import Mailbox
from reconciler.apply.results import (
    ActionStatus,
    ApplyOptions,
    ApplyReport,
    Reporter,
    SilentReporter,
)
from reconciler.apply.session import Session
from reconciler.core.approval import Verdict, judge, refusals_of, refused_error
from reconciler.core.plan import ActionKind, DoneBefore, Plan
from reconciler.core.planner import make_plan
from reconciler.core.spec import Spec, UnmanagedPolicy
from reconciler.journal import (
    JournalWriter,
    Outcome,
    Phase,
    RunContext,
    done_before_in,
    needs_journal,
    read_journal,
)
from reconciler.observe import read_for_specs
from reconciler.ovh.client import OvhClient


def spec_of_plan(plan: Plan, unmanaged: UnmanagedPolicy | None = None) -> Spec:
    """The spec a plan was made from, as the plan carries it (entries and ``unmanaged``
    policy); ``unmanaged`` overrides the policy (the Pulumi adapter ignores it)."""
    return Spec(
        endpoint=plan.endpoint,
        unmanaged=unmanaged if unmanaged is not None else plan.unmanaged_policy,
        services=plan.spec,
        source=plan.spec_source,
        digest=plan.spec_digest,
    )


def new_run_id(now: datetime) -> str:
    """``20260302T090000Z-3f9a1c``: sortable by start time, unique across machines."""
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


async def apply_approved(
    approved: Plan,
    client: OvhClient,
    *,
    journal_path: Path,
    plan_digest: str,
    source: str,
    unmanaged: UnmanagedPolicy | None = None,
    options: ApplyOptions | None = None,
    reporter: Reporter | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    run_id: str | None = None,
    on_journal_write: Callable[[int], None] | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
    zone: tzinfo | None = None,
) -> ApplyReport:
    """Apply ``approved`` through ``client`` (entered already); see the module docstring.
    ``source`` names the plan in messages (the spec or plan file), ``zone`` the display
    zone of their dates (``--tz``)."""
    options = options or ApplyOptions()
    reporter = reporter or SilentReporter()
    sleep = sleep or asyncio.sleep
    saved_refusals = refusals_of(approved)
    if saved_refusals:
        raise refused_error(saved_refusals, source, zone=zone)

    spec = spec_of_plan(approved, unmanaged)
    account = await read_for_specs(client, [spec])
    clock = client.api_clock()
    now = clock.now()
    tokens = frozenset(options.tokens)
    # A targeted plan (--target) is judged and applied on its targets only: the fresh
    # plan covers the same entries, so the others are neither compared nor touched.
    targets = approved.targets
    fresh = make_plan(
        spec, account, now=now, endpoint=approved.endpoint, tokens=tokens, targets=targets
    )
    if needs_journal(fresh):  # entries the account does not list: done by an earlier run?
        done = {
            **seen_in_review(approved),
            **done_before_in(journal_path, endpoint=approved.endpoint),
        }
        if done:
            fresh = make_plan(
                spec,
                account,
                now=now,
                endpoint=approved.endpoint,
                done_before=done,
                tokens=tokens,
                targets=targets,
            )
    verdict = judge(approved, fresh, now=now)
    if on_verdict is not None:
        on_verdict(verdict)
    verdict.raise_if_not_approved(source, zone=zone)

    run = run_id or new_run_id(now)
    # The report of this run, once its results are known (none: nothing left to run).
    report_of = partial(
        ApplyReport,
        run=run,
        plan_digest=plan_digest,
        journal=journal_path,
        plan=fresh,
        already_done=verdict.already_done,
    )
    if not verdict.to_run:
        return report_of(results=())
    history = TerminationHistory()
    if any(action.action is ActionKind.DELETE_NOW for action in verdict.to_run):
        contents = read_journal(journal_path, missing_ok=True)
        history = TerminationHistory.from_records(contents.records, endpoint=approved.endpoint)

    context = RunContext(run=run, plan=plan_digest, endpoint=approved.endpoint)
    # The client's secrets: a token learnt here is blanked from the API's errors too.
    writer = JournalWriter(
        journal_path, context, clock=clock, secrets=client.secrets, on_write=on_journal_write
    )
    with writer as journal:
        for token in options.tokens.values():
            journal.add_secret(token)
        journal.write(
            phase=Phase.RUN,
            outcome=Outcome.STARTED,
            detail={
                "source": source,
                "actions": len(verdict.to_run),
                "already_done": len(verdict.already_done),
                "reconciler": __version__,
            },
        )
        session = Session(
            client,
            journal,
            clock=clock,
            sleep=sleep,
            options=options,
            reporter=reporter,
        )
        # The account's age counts from ``now``, taken once its read ended: its pages were
        # answered during that read, a round trip or a few earlier (docs/reliability.md).
        executor = Executor(session, Mailbox(client), history, account, read_at=now)
        report = report_of(results=await executor.run(verdict.to_run))
        journal.write(
            phase=Phase.RUN,
            outcome=Outcome.FINISHED,
            detail={status.value: report.count(status) for status in ActionStatus},
        )
    return report


_ENDING = frozenset(
    {ActionKind.DELETE_NOW, ActionKind.TERMINATE_AT_EXPIRY, ActionKind.TERMINATE_AT_COMMITMENT_END}
)


def seen_in_review(approved: Plan) -> dict[str, DoneBefore]:
    """The terminations and deletions the reviewed plan made of services it saw (by id):
    when such a service has left the account since (another apply, the control panel),
    the change is already done — unlike a name no plan ever saw, which is a typo."""
    return {
        action.service: DoneBefore(
            action.action,
            f"the reviewed plan had it as #{action.service_id}: it has left the account since",
        )
        for action in approved.actions
        if action.service_id is not None and action.action in _ENDING
    }
