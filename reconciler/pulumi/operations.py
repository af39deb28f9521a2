"""The provider's work, without Pulumi: judge one entry against the live account, apply it
with reconciler's own apply, read its service back, and decide what a diff shows.

Nothing here is Pulumi's: ``reconciler.pulumi.provider`` only translates Pulumi's
property bags to these calls and back. Everything a ``ServiceLifecycle`` does goes
through the same pieces as ``reconciler plan`` and ``reconciler apply``:

- ``judge``: the account read as ``reconciler plan`` reads it (``observe.read_for_specs``),
  the plan (``planner.make_plan``) of the entry as a spec of its own, and its refusals
  judged with the kept services too (the ``linked-service-conflict`` rule), with the
  API's clock; ``SharedReads`` lets the checks and diffs of one preview share one read
  of the account. As for ``reconciler plan``: an entry whose service the account no
  longer lists is judged with the apply journal's evidence (``done_before``: "already
  done", not a typo), and with the stack's deletion tokens (``tokens``: the
  ``not-admin-contact`` rule is waived for a deletion whose token the stack holds);
- ``apply``: ``reconciler.apply.apply_approved`` with that plan — re-read, planned again
  with the clock at apply time, judged, journalled in the same journal as ``reconciler
  apply``, executed; ``delete_now`` reads its e-mailed token and resumes from the
  journal exactly as there;
- ``decide``: what Pulumi's diff reports (pure).

A client is opened for each operation and closed after it: nothing long-lived, no
credentials kept anywhere but in the client of the moment.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.apply import ApplyOptions, ApplyReport, apply_approved
from reconciler.clock import Clock, SystemClock
from reconciler.core.lifecycle import Lifecycle
from reconciler.core.live import LiveAccount, LiveService, parse_service
from reconciler.core.plan import Action, ActionKind, DoneBefore, Plan, Refusal, RuleCode
from reconciler.core.planfile import dump_plan
from reconciler.core.planner import make_plan, periods_to_read
from reconciler.core.spec import Spec, UnmanagedPolicy
from reconciler.endpoints import resolve_endpoint
from reconciler.errors import (
    ApplyError,
    NotFound,
    RefusedError,
    ServiceExpired,
    StalePlanError,
)
from reconciler.journal import done_before_in, ensure_writable, needs_journal
from reconciler.observe import key_nichandle, read_account, read_for_specs, with_offered_periods
from reconciler.ovh.client import OvhClient
from reconciler.ovh.credentials import default_search_paths
from reconciler.pulumi.inputs import (
    COMMITMENT_END,
    ENDPOINT,
    LIFECYCLE,
    NAME,
    PERIOD,
    PROTECT,
    TYPE,
    Entry,
)
from reconciler.pulumi.settings import NAMESPACE, TOKENS_KEY, Settings, state_dir

# The property each rule is about, for Pulumi's "property: reason" check failures.
RULE_PROPERTY: dict[RuleCode, str] = {
    RuleCode.UNKNOWN_SERVICE: NAME,
    RuleCode.AMBIGUOUS_SERVICE: TYPE,
    RuleCode.TYPE_MISMATCH: TYPE,
    RuleCode.PROTECTED: PROTECT,
    RuleCode.PERIOD_NOT_OFFERED: PERIOD,
}


def open_client(
    endpoint: str, settings: Settings, environ: Mapping[str, str], root: Path
) -> OvhClient:
    """A client for ``endpoint`` (enter it with ``async with``), credentials resolved
    from the stack's configuration, else ``OVH_*`` and ovh.conf (``environ``); the
    embedded sandbox runs in-process as for the command line. ``root`` is the project
    directory: the ``ovh.conf`` and the sandbox's state the command line would find
    there, whatever directory Pulumi runs the provider in."""
    merged = settings.environ(environ)
    return OvhClient.from_environment(
        resolve_endpoint(endpoint),
        environ=merged,
        search_paths=default_search_paths(cwd=root),
        state_dir=state_dir(merged, root),
    )


# --- judging ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Judgement:
    """An entry judged against the account as it is now."""

    entry: Entry
    plan: Plan  # the entry's own plan: what apply is asked to carry out
    action: Action | None  # the entry's action; None when refused
    refusals: tuple[Refusal, ...]

    @property
    def service_id(self) -> int | None:
        """The service the entry resolves to (None: refused, or not on the account)."""
        return self.action.service_id if self.action is not None else None

    @property
    def changes(self) -> bool:
        return self.action is not None and self.action.action is not ActionKind.NO_OP

    @property
    def irreversible(self) -> bool:
        return self.action is not None and self.action.irreversible


@dataclass(frozen=True, slots=True)
class AccountView:
    """The account as read once, with the API's clock as an offset from the local one
    (the rules are judged with the API's clock, as ``reconciler plan`` judges them)."""

    account: LiveAccount
    endpoint: str  # the endpoint's name, as plans name it
    offset: timedelta  # API clock minus local clock, measured by the client

    def now(self, clock: Clock) -> datetime:
        return clock.now() + self.offset


async def read_view(client: OvhClient, spec: Spec | None = None) -> AccountView:
    """The account as planning ``spec`` needs it (the offered periods it judges), or
    every service without their offered periods (``spec`` None: a read to share)."""
    if spec is None:
        account = await read_account(client)
    else:
        account = await read_for_specs(client, [spec])
    offset = client.api_clock().now() - SystemClock().now()
    return AccountView(account=account, endpoint=client.endpoint.name, offset=offset)


def periods_missing(entry: Entry, view: AccountView) -> tuple[int, ...]:
    """The services whose offered periods judging ``entry`` needs and ``view`` lacks."""
    needed = periods_to_read(entry.spec(with_keep=True), view.account)
    return tuple(i for i in needed if view.account.offered_periods(i) is None)


async def with_periods(client: OvhClient, view: AccountView, ids: tuple[int, ...]) -> AccountView:
    """``view`` with the offered periods of ``ids`` read now."""
    account = await with_offered_periods(client, view.account, ids)
    return replace(view, account=account)


def nichandle_missing(entry: Entry, view: AccountView) -> bool:
    """Whether judging ``entry`` needs whose key this is and ``view`` lacks it: a
    deletion's e-mail goes to the administrator contact (``not-admin-contact``), and the
    shared read of the account (``read_view`` without a spec) does not ask ``GET /me``."""
    return entry.wanted.lifecycle is Lifecycle.DELETE_NOW and view.account.nichandle is None


async def with_nichandle(client: OvhClient, view: AccountView) -> AccountView:
    """``view`` with the account the key acts for (``GET /me``) read now."""
    account = view.account.with_nichandle(await key_nichandle(client))
    return replace(view, account=account)


def judge_view(
    entry: Entry,
    view: AccountView,
    *,
    now: datetime,
    tokens: Collection[str] = (),
    done_before: Mapping[str, DoneBefore] | None = None,
) -> Judgement:
    """Plan the entry against ``view`` at ``now`` (pure): its own plan, and its
    refusals judged with the services its spec keeps (``linked-service-conflict``).
    ``tokens`` and ``done_before`` are ``make_plan``'s: the services whose deletion token
    the stack holds, and the journal's evidence of what was done before."""

    def plan(spec: Spec) -> Plan:
        return make_plan(
            spec,
            view.account,
            now=now,
            endpoint=view.endpoint,
            done_before=done_before,
            tokens=tokens,
        )

    judged = plan(entry.spec(with_keep=True))
    own = plan(entry.spec())
    refusals = tuple(refusal for refusal in judged.refused if refusal.service == entry.key)
    action = None if refusals else next((a for a in own.actions if a.service == entry.key), None)
    return Judgement(entry=entry, plan=own, action=action, refusals=refusals)


def judge_seen(
    entry: Entry, view: AccountView, *, now: datetime, tokens: Collection[str], journal: Path
) -> Judgement:
    """``judge_view``, and when the account does not list the service an entry wants
    terminated or deleted, again with what the apply journal at ``journal`` saw done on
    this endpoint — what ``reconciler plan`` does: a service an earlier apply deleted is
    "already done", a name that never matched anything stays refused (a typo). The
    journal is read only then."""
    judgement = judge_view(entry, view, now=now, tokens=tokens)
    if not needs_journal(judgement.plan):
        return judgement
    done = done_before_in(journal, endpoint=view.endpoint)
    if not done:
        return judgement
    return judge_view(entry, view, now=now, tokens=tokens, done_before=done)


async def judge(
    entry: Entry, client: OvhClient, *, tokens: Collection[str], journal: Path
) -> Judgement:
    """Read the account now and plan the entry, with the API's clock now (and the
    journal's evidence, ``judge_seen``)."""
    view = await read_view(client, entry.spec(with_keep=True))
    return judge_seen(entry, view, now=client.api_clock().now(), tokens=tokens, journal=journal)


def view_key(entry: Entry) -> str:
    """What makes two entries' account reads the same read: the API they read."""
    return resolve_endpoint(entry.endpoint).base_url


class SharedReads:
    """Account reads shared by the ``check`` and ``diff`` of every resource of one
    preview, for ``ttl`` seconds: without it, a preview would read the whole account
    twice per resource. The offered periods an entry needs are added to the shared read
    as they are read (``with_periods``), and so is whose key it is (``with_nichandle``).
    Thread-safe (the provider host serves calls on several threads).

    Only decisions about what to show use it; what is applied never does: ``create`` and
    ``update`` read afresh (and apply reads again before every call), then clear it, so
    that later diffs of the same ``pulumi up`` see what was just changed."""

    def __init__(self, ttl: float, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._views: dict[str, tuple[float, AccountView]] = {}

    def get(self, key: str) -> AccountView | None:
        with self._lock:
            found = self._views.get(key)
            if found is None:
                return None
            read_at, view = found
            if self._monotonic() - read_at >= self._ttl:
                del self._views[key]
                return None
            return view

    def put(self, key: str, view: AccountView) -> None:
        if self._ttl <= 0:
            return
        with self._lock:
            self._views[key] = (self._monotonic(), view)

    def clear(self) -> None:
        with self._lock:
            self._views.clear()


def refusal_property(refusal: Refusal, entry: Entry) -> str:
    """The property a refusal is about, for Pulumi's "property: reason": an end rule the
    commitment does not offer is the ``commitment_end`` the entry states, else (a
    cancellation's reset to REACTIVATE_ENGAGEMENT) its ``lifecycle``."""
    if refusal.rule is RuleCode.STRATEGY_NOT_OFFERED:
        return COMMITMENT_END if entry.wanted.commitment_end is not None else LIFECYCLE
    return RULE_PROPERTY.get(refusal.rule, LIFECYCLE)


def refusal_text(refusal: Refusal) -> str:
    """A refusal in one line; a fix that gives the token to ``reconciler apply`` also
    says how a stack gives it."""
    fix = refusal.fix
    if refusal.rule is RuleCode.NOT_ADMIN_CONTACT:
        fix += (
            f"; with Pulumi, keep the token as the stack's secret: `pulumi config set "
            f"--secret {NAMESPACE}:{TOKENS_KEY} < FILE`, FILE holding "
            f"`{refusal.service}=TOKEN`"
        )
    return f"[{refusal.rule.value}] {refusal.message} — fix: {fix}"


def refused(entry: Entry, refusals: tuple[Refusal, ...]) -> RefusedError:
    """The one error for an entry the rules refuse: every rule code, reason and fix."""
    return RefusedError(
        f"{entry.key}: refused, nothing was applied: "
        + "; ".join(refusal_text(refusal) for refusal in refusals),
        hint=refusals[0].fix if len(refusals) == 1 else "each refusal says what to change",
    )


# --- applying --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying an entry did, and its service as read afterwards."""

    judgement: Judgement
    report: ApplyReport | None  # None: nothing to change
    live: LiveService | None  # the service after the apply; None: not on the account
    service_id: int | None  # the service the entry resolved to

    @property
    def run(self) -> str | None:
        return self.report.run if self.report is not None else None


async def apply(
    entry: Entry,
    client: OvhClient,
    *,
    settings: Settings,
    journal: Path,
    managed_id: int | None = None,
    updating: bool = False,
) -> Applied:
    """Bring the entry's service where the entry says, through ``apply_approved``.

    ``updating``: the resource exists and manages ``managed_id`` (None: a service that
    was already gone); apply refuses to act on any other service (the preview showed a
    replacement for that, not an update)."""
    judgement = await judge(entry, client, tokens=frozenset(settings.tokens), journal=journal)
    if judgement.refusals:
        raise refused(entry, judgement.refusals)
    service_id = judgement.service_id
    if updating and service_id is not None and service_id != managed_id:
        managed = f"#{managed_id}" if managed_id is not None else "no service"
        raise StalePlanError(
            f"{entry.key}: this resource manages {managed}, and {entry.wanted.name} is now "
            f"#{service_id}: nothing was applied",
            hint="run `pulumi preview` again: it shows the resource replaced",
        )
    report: ApplyReport | None = None
    if judgement.changes:
        ensure_writable(journal)
        plan = judgement.plan
        report = await apply_approved(
            plan,
            client,
            journal_path=journal,
            plan_digest="sha256:" + hashlib.sha256(dump_plan(plan).encode("utf-8")).hexdigest(),
            source=entry.source,
            unmanaged=UnmanagedPolicy.IGNORE,
            options=ApplyOptions(
                token_timeout=settings.token_timeout,
                tokens=settings.tokens,
                tokens_from="reconciler:deletionTokens",
            ),
        )
        if report.failed:
            failure = report.failed[0]
            raise ApplyError(
                f"{entry.key}: {failure.error}",
                hint=(failure.hint + "; " if failure.hint else "")
                + "run `pulumi up` again to resume (apply re-reads the account first); "
                f"`reconciler journal --run {report.run}` shows every call",
            )
    live = await read_service(client, service_id) if service_id is not None else None
    return Applied(judgement=judgement, report=report, live=live, service_id=service_id)


async def read_service(client: OvhClient, service_id: int) -> LiveService | None:
    """The service as the API shows it now; None when it is not on the account."""
    try:
        data = await client.get(f"/services/{service_id}")
    except (NotFound, ServiceExpired):
        return None
    return parse_service(data)


# --- what a diff shows -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    """Pulumi's diff of a ``ServiceLifecycle``: ``changes`` (an update), ``replaces``
    (the properties that force a replacement) and ``delete_before_replace``."""

    changes: bool
    replaces: tuple[str, ...] = ()
    delete_before_replace: bool = False


def decide(
    *,
    managed_id: int | None,
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
    changed: tuple[str, ...],
    judgement: Judgement,
) -> Decision:
    """What the diff reports, from the stored outputs (``olds``), the checked inputs
    (``news``), the wanted-state properties that changed, and the entry judged now.

    - Another account (``endpoint``), or a name/type that now resolves to another
      service than the one managed: a replacement — the new resource takes over the new
      service, and the old one only stops managing its own (deleting a
      ``ServiceLifecycle`` never touches its service).
    - An irreversible action (``delete_now``): shown as a replacement of ``lifecycle``,
      deleted before replaced, so that a preview cannot show it as a mere update.
    - Any other planned change, or a wanted-state property changed: an update.
    - Nothing planned and nothing changed: no change (drift the plan does not act on,
      such as a renewal moving the expiry, is left to ``pulumi refresh``).
    """
    if ENDPOINT in changed:
        return Decision(changes=True, replaces=(ENDPOINT,))
    resolved = judgement.service_id
    renamed = tuple(name for name in (NAME, TYPE) if olds.get(name) != news.get(name))
    if resolved is not None and resolved != managed_id:
        return Decision(changes=True, replaces=renamed or (NAME,))
    if resolved is None and managed_id is not None and renamed:
        return Decision(changes=True, replaces=renamed)
    if judgement.irreversible:
        return Decision(changes=True, replaces=(LIFECYCLE,), delete_before_replace=True)
    return Decision(changes=judgement.changes or bool(changed))
