"""Properties of the planner over generated specs and accounts (hypothesis).

- it never raises, whatever the spec and the live state, and every plan is coherent;
- it is deterministic: the same inputs give byte-identical plans, whatever the order
  the account lists its services in;
- a spec derived from the live state changes nothing and refuses nothing;
- applying a plan's actions and planning again changes nothing (it converges).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.core.lifecycle import Lifecycle, LiveLifecycle
from reconciler.core.live import LiveAccount, LiveService, family_of
from reconciler.core.plan import Action, ActionKind, Plan
from reconciler.core.planner import make_plan
from reconciler.core.spec import ServiceSpec, Spec, UnmanagedPolicy

PROPERTIES = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

NAMES = ["a.example.com", "b.example.com", "example.com", "x", "vps-1.vps.ovh.net", "é.example"]
TYPES = [
    "hosting/web",
    "domain",
    "vps",
    "dedicated/server",
    "xdsl",
    "pack/xdsl/foo",
    "telephony",
    "email/exchange",
    "msServices",
    "license/office",
    "email/domain",
    "cloud/project",
    "",
]
TEXT_PERIODS = ["P1M", "P3M", "P12M", "P1Y", "p12m", "P2W", "", "garbage"]
PERIODS: list[str | None] = [None, *TEXT_PERIODS]
BASE = datetime(2027, 1, 1, tzinfo=UTC)

# the clock: any instant around the accounts' dates, at any offset
now_instants = st.builds(
    lambda minutes, offset: (BASE + timedelta(minutes=minutes)).astimezone(
        timezone(timedelta(minutes=offset))
    ),
    st.integers(-60 * 24 * 400, 60 * 24 * 400),
    st.sampled_from([0, 60, -300, 330, 840]),
)
# now and then, the extremes of datetime with odd offsets: nothing may overflow
extremes = st.datetimes(
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12, minutes=30))]
    )
)
EAST, WEST = timezone(timedelta(hours=14)), timezone(-timedelta(hours=12))
limits = st.sampled_from(
    [
        datetime.min.replace(tzinfo=UTC),
        datetime.min.replace(tzinfo=EAST),
        datetime.max.replace(tzinfo=UTC),
        datetime.max.replace(tzinfo=WEST),
    ]
)
instants = now_instants | extremes | limits
maybe_instant = st.none() | instants
names = st.sampled_from(NAMES) | st.text(max_size=4)


@st.composite
def live_services(draw: st.DrawFn, *, unique_name_type: bool = False) -> list[LiveService]:
    ids = draw(st.lists(st.integers(1, 60), max_size=12, unique=True))
    services = []
    seen: set[tuple[str, str]] = set()
    for service_id in ids:
        name = draw(names)
        service_type = draw(st.sampled_from(TYPES))
        if unique_name_type:
            if (name, service_type) in seen:
                continue
            seen.add((name, service_type))
        parent = draw(st.none() | st.sampled_from([*ids, 999]))  # self, cycles, dangling
        services.append(
            LiveService(
                service_id=service_id,
                name=name,
                display_name=name,
                type=service_type,
                family=family_of(service_type),
                lifecycle=draw(st.sampled_from(list(LiveLifecycle))),
                resource_state=draw(st.sampled_from(["active", "deleted", "suspended"])),
                lifecycle_state=draw(st.sampled_from(["active", "unpaid", "unrenewed", "x"])),
                expiration=draw(maybe_instant),
                renew_mode=draw(st.sampled_from([None, "automatic", "manual", "odd"])),
                renew_period=draw(st.sampled_from(PERIODS)),
                termination_date=draw(maybe_instant),
                pending_actions=(),
                parent_id=parent,
                unpaid=draw(st.booleans()),
            )
        )
    return services


@st.composite
def live_accounts(draw: st.DrawFn, *, unique_name_type: bool = False) -> LiveAccount:
    """An account of ``live_services``, with the offered periods of some of them."""
    account = LiveAccount.from_services(draw(live_services(unique_name_type=unique_name_type)))
    offered = st.none() | st.lists(st.sampled_from(TEXT_PERIODS), max_size=3).map(tuple)
    return account.with_offered_periods({s.service_id: draw(offered) for s in account.services})


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    keys = draw(st.lists(st.sampled_from([*NAMES, "k1", "k2", "k3"]), max_size=10, unique=True))
    entries = tuple(
        ServiceSpec(
            key=key,
            name=draw(st.just(key) | names),
            lifecycle=draw(st.sampled_from(list(Lifecycle))),
            period=draw(st.sampled_from(PERIODS)),
            type=draw(st.none() | st.sampled_from([*TYPES, "/hosting/web/", "nope"])),
            protect=draw(st.booleans()),
        )
        for key in keys
    )
    return Spec(unmanaged=draw(st.sampled_from(list(UnmanagedPolicy))), services=entries)


def check_coherent(spec: Spec, plan: Plan) -> None:
    """What holds of every plan."""
    assert plan.summary["refused"] == len(plan.refused)
    counts = {kind.value: sum(1 for a in plan.actions if a.action is kind) for kind in ActionKind}
    assert {k: v for k, v in plan.summary.items() if k != "refused"} == counts
    refused = {r.service for r in plan.refused if r.rule.value != "unmanaged-service"}
    acted = [a.service for a in plan.actions]
    assert len(acted) == len(set(acted)), "one action per spec entry"
    assert not refused & set(acted), "a refused service has no action"
    assert {e.key for e in spec.services} == refused | set(acted), "every entry is answered"
    for action in plan.actions:
        assert action.irreversible is (action.action is ActionKind.DELETE_NOW)
        assert (action.action is ActionKind.NO_OP) is (not action.calls)
        assert action.fingerprint.startswith("sha256:") and len(action.fingerprint) == 71
        for call in action.calls:
            assert "<token from e-mail>" in str(call.body) or call.method in ("PUT", "POST")
    assert list(plan.actions) == sorted(plan.actions, key=lambda a: a.service)
    assert Plan.model_validate_json(plan.model_dump_json()) == plan


@PROPERTIES
@given(spec=specs(), account=live_accounts(), now=now_instants, reverse=st.booleans())
def test_never_raises_and_is_coherent_and_deterministic(
    spec: Spec, account: LiveAccount, now: datetime, reverse: bool
) -> None:
    plan = make_plan(spec, account, now=now, endpoint="sandbox")
    check_coherent(spec, plan)
    # same inputs, services listed in another order (even without from_services)
    shuffled = LiveAccount(
        services=tuple(reversed(account.services)) if reverse else account.services,
        offered=account.offered,
    )
    again = make_plan(spec, shuffled, now=now, endpoint="sandbox")
    assert again.model_dump_json() == plan.model_dump_json()


def derived_spec(services: Iterable[LiveService], unmanaged: UnmanagedPolicy) -> Spec:
    """What `reconciler import` would write: every manageable service with its current
    lifecycle and period. A manual-renew service has no spec lifecycle (a spec's renew is
    automatic), so it is left out (unmanaged), and so is one whose state is not understood
    (import leaves it out: a spec cannot state it)."""
    entries = []
    for service in services:
        if not service.manageable or service.lifecycle in (
            LiveLifecycle.MANUAL_RENEW,
            LiveLifecycle.NOT_UNDERSTOOD,
        ):
            continue
        if service.lifecycle is LiveLifecycle.RENEW:
            lifecycle, period = Lifecycle.RENEW, service.renew_period
        elif service.lifecycle is LiveLifecycle.TERMINATE_AT_EXPIRY:
            lifecycle, period = Lifecycle.TERMINATE_AT_EXPIRY, None
        elif service.lifecycle is LiveLifecycle.TERMINATE_AT_COMMITMENT_END:
            lifecycle, period = Lifecycle.TERMINATE_AT_COMMITMENT_END, None
        elif service.type == "hosting/web":  # gone
            lifecycle, period = Lifecycle.DELETE_NOW, None
        else:
            lifecycle, period = Lifecycle.TERMINATE_AT_EXPIRY, None
        entries.append(
            ServiceSpec(
                key=f"{service.name}#{service.type}",
                name=service.name,
                type=service.type,
                lifecycle=lifecycle,
                period=period,
            )
        )
    return Spec(unmanaged=unmanaged, services=tuple(entries))


@PROPERTIES
@given(
    account=live_accounts(unique_name_type=True),
    now=now_instants,
    unmanaged=st.sampled_from([UnmanagedPolicy.REPORT, UnmanagedPolicy.IGNORE]),
)
def test_a_spec_derived_from_the_account_changes_and_refuses_nothing(
    account: LiveAccount, now: datetime, unmanaged: UnmanagedPolicy
) -> None:
    spec = derived_spec(account.services, unmanaged)
    plan = make_plan(spec, account, now=now, endpoint="sandbox")
    assert plan.refused == ()
    assert plan.changes == ()
    assert plan.drift == ()
    assert len(plan.actions) == len(spec.services)


def applied(service: LiveService, action: Action) -> LiveService:
    """What the account would say after the action (a model of OVH, for convergence)."""
    after = action.after
    if action.action is ActionKind.TERMINATE_AT_EXPIRY:
        return dataclasses.replace(service, lifecycle=LiveLifecycle.TERMINATE_AT_EXPIRY)
    if action.action is ActionKind.TERMINATE_AT_COMMITMENT_END:
        return dataclasses.replace(service, lifecycle=LiveLifecycle.TERMINATE_AT_COMMITMENT_END)
    if action.action is ActionKind.DELETE_NOW:
        return dataclasses.replace(service, lifecycle=LiveLifecycle.TERMINATED)
    if action.action in (ActionKind.CANCEL_TERMINATION, ActionKind.SET_RENEW):
        return dataclasses.replace(
            service,
            lifecycle=LiveLifecycle.RENEW,
            renew_mode="automatic",
            renew_period=after.period,
            termination_date=None,
        )
    return service


@PROPERTIES
@given(spec=specs(), account=live_accounts(), now=now_instants)
def test_applying_a_plan_converges(spec: Spec, account: LiveAccount, now: datetime) -> None:
    plan = make_plan(spec, account, now=now, endpoint="sandbox")
    by_id = {a.service_id: a for a in plan.changes}
    after = LiveAccount.from_services(
        applied(s, by_id[s.service_id]) if s.service_id in by_id else s for s in account.services
    ).with_offered_periods(account.offered)
    again = make_plan(spec, after, now=now, endpoint="sandbox")
    assert again.changes == ()
    if plan.changes:
        assert again.live_fingerprint != plan.live_fingerprint
