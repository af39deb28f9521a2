"""The live account as typed, immutable values.

``LiveService`` is what one service's own answer says (``GET /services/{id}``): it is
built by pure functions from that JSON (``parse_service``) and never from anything else,
so every odd shape the API answers is handled in one place and tested on recorded
fixtures (``tests/live/fixtures/``). ``LiveAccount`` owns the facts about the whole
account: the links between services (a child names its parent, never the other way),
the renewal periods offered, whose key it is (docs/architecture.md, "The live account").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from reconciler.core.catalog import ProductFamily, family_of, product_of, type_of_route
from reconciler.core.lifecycle import LiveLifecycle
from reconciler.core.periods import InvalidPeriod, normalise_period
from reconciler.core.pricing import Pricing, parse_pricing
from reconciler.errors import ApiError
from reconciler.times import ImplausibleInstant, plausible


class EndStrategy(StrEnum):
    """What happens at the end of a commitment (``services.billing.engagement.EndStrategyEnum``)."""

    CANCEL_SERVICE = "CANCEL_SERVICE"
    REACTIVATE_ENGAGEMENT = "REACTIVATE_ENGAGEMENT"
    STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE = "STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE"
    STOP_ENGAGEMENT_KEEP_PRICE = "STOP_ENGAGEMENT_KEEP_PRICE"


@dataclass(frozen=True, slots=True)
class Commitment:
    """``billing.engagement``: the commitment a service is under."""

    end_date: date | None  # billing.engagement.endDate (a day, as the schema types it)
    strategy: EndStrategy | None  # endRule.strategy; None when no end rule is given
    possible_strategies: tuple[EndStrategy, ...] = ()


# The lifecycle actions OVH offers (``billing.lifecycle.capacities.actions``).
TERMINATE_ACTION = "terminate"  # immediate termination (a request, then a confirmation)
TERMINATE_AT_EXPIRY_ACTION = "terminateAtExpirationDate"
TERMINATE_AT_ENGAGEMENT_ACTION = "terminateAtEngagementDate"
EARLY_RENEWAL_ACTION = "earlyRenewal"
KNOWN_ACTIONS = frozenset(
    (
        TERMINATE_ACTION,
        TERMINATE_AT_EXPIRY_ACTION,
        TERMINATE_AT_ENGAGEMENT_ACTION,
        EARLY_RENEWAL_ACTION,
    )
)
RENEW_MODES = ("automatic", "manual")  # services.expanded.Renew.ModeEnum


@dataclass(frozen=True, slots=True)
class LiveService:
    """One service of the account, as its own answer shows it now: nothing here depends
    on the other services (its children, the periods it offers: ``LiveAccount``)."""

    service_id: int
    name: str  # resource.name: what a spec names the service by
    display_name: str
    type: str  # the route prefix without slashes, e.g. "hosting/web", "email/exchange"
    family: ProductFamily
    lifecycle: LiveLifecycle
    plan_code: str | None = None
    product: str | None = None  # resource.product.description, for display
    resource_state: str = "active"  # active deleted suspended toActivate toDelete toSuspend
    lifecycle_state: str = "active"  # active error rupture terminated toRenew unpaid unrenewed
    expiration: datetime | None = None  # billing.expirationDate, in UTC (parse_service)
    renew_mode: str | None = None  # "automatic" | "manual" | None
    renew_period: str | None = None  # ISO 8601 duration, "P1M", "P12M"; None when unknown
    termination_date: datetime | None = None
    pending_actions: tuple[str, ...] = ()
    # billing.lifecycle.capacities.actions: what OVH offers now; None when not given
    # (a service built by hand, in tests), which leaves the capacity rules silent.
    allowed_actions: tuple[str, ...] | None = None
    renew_modes: tuple[str, ...] | None = None  # billing.renew.capacities.mode
    commitment: Commitment | None = None  # billing.engagement
    # customer.contacts of type administrator: who receives the termination e-mail.
    admin_contacts: tuple[str, ...] | None = None
    # Why the state is not understood (lifecycle NOT_UNDERSTOOD), in words.
    not_understood: str | None = None
    parent_id: int | None = None  # parentServiceId (its children: LiveAccount.child_ids)
    unpaid: bool = False  # unpaid debt: no termination or change allowed
    # route.url, e.g. "/hosting/web/www.example.com": the product's own API path, for the
    # legacy per-product calls (serviceInfos, terminate) and for display.
    route_url: str | None = None
    # billing.pricing: the price of one renewal; None when OVH gives none (never guessed).
    pricing: Pricing | None = None

    @property
    def manageable(self) -> bool:
        """False for telecom, Microsoft and MX Plan services: they are managed elsewhere."""
        return product_of(self.type).manageable

    @property
    def gone(self) -> bool:
        return self.lifecycle in _GONE

    @property
    def terminates_at(self) -> datetime | None:
        """When a pending termination takes effect: ``lifecycle.current.terminationDate``
        (the end of the commitment, for a commitment's termination), else the expiry.
        A termination at the end of a commitment without a termination date takes the
        earlier of the expiry and the first instant of the commitment's end day anywhere
        on earth (UTC+14): the 24-hour rule must never be judged on a later date than the
        real one."""
        if self.termination_date is not None:
            return self.termination_date
        commitment = self.commitment
        if (
            self.lifecycle is LiveLifecycle.TERMINATE_AT_COMMITMENT_END
            and commitment is not None
            and commitment.end_date is not None
        ):
            day_starts = datetime.combine(commitment.end_date, time(0), tzinfo=_EARLIEST_ZONE)
            return day_starts if self.expiration is None else min(day_starts, self.expiration)
        return self.expiration


_EARLIEST_ZONE = timezone(timedelta(hours=14))  # the first to start any day
_GONE = frozenset((LiveLifecycle.TERMINATED, LiveLifecycle.EXPIRED, LiveLifecycle.BEING_DELETED))


@dataclass(frozen=True, slots=True, eq=False)
class AccountIndex:
    """The lookups of one tuple of services, made in one pass over it: by id, by name,
    and the children of each id (the services naming it as ``parent_id``, sorted by id).

    Building it is what "building the account" costs (linear in the services), so an
    account made from another with the same services (another ``nichandle``, more
    offered periods) keeps its index instead of making a new one."""

    services: tuple[LiveService, ...]  # what it indexes, compared by identity
    by_id: Mapping[int, LiveService]
    by_name: Mapping[str, tuple[LiveService, ...]]
    children: Mapping[int, tuple[int, ...]]

    @classmethod
    def build(cls, services: tuple[LiveService, ...]) -> AccountIndex:
        by_id: dict[int, LiveService] = {}
        by_name: dict[str, list[LiveService]] = {}
        children: dict[int, list[int]] = {}
        for service in services:
            by_id[service.service_id] = service
            by_name.setdefault(service.name, []).append(service)
            if service.parent_id is not None:
                children.setdefault(service.parent_id, []).append(service.service_id)
        return cls(
            services=services,
            by_id=by_id,
            by_name={name: tuple(named) for name, named in by_name.items()},
            children={parent: tuple(sorted(ids)) for parent, ids in children.items()},
        )


def _no_periods() -> Mapping[int, tuple[str, ...]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class LiveAccount:
    """Every service of the account, and the facts about the account as a whole: which
    services are linked to which (from each one's ``parent_id``), the renewal periods
    offered by the services whose periods were read, and whose key reads it.

    Built once per read (``observe.read_account``); ``with_nichandle`` and
    ``with_offered_periods`` add what a plan needs without indexing the services again
    (docs/architecture.md, "The live account")."""

    services: tuple[LiveService, ...]
    # GET /me nichandle: the account the key acts for, when read (it is, for a spec that
    # deletes: the confirmation e-mail goes to the service's administrator contact).
    nichandle: str | None = None
    # GET /services/{id}/renewPeriodCapacities, by service id: read only for the services
    # a spec moves to another period (a call per service), so most have none here.
    offered: Mapping[int, tuple[str, ...]] = field(default_factory=_no_periods, hash=False)
    # Carried over by ``dataclasses.replace`` so that a copy with the same services is
    # not indexed again; made anew whenever the services are not the ones it indexes.
    _index: AccountIndex | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = self._index
        if index is None or index.services is not self.services:
            object.__setattr__(self, "_index", AccountIndex.build(self.services))
        if not isinstance(self.offered, MappingProxyType):
            object.__setattr__(self, "offered", MappingProxyType(dict(self.offered)))

    @classmethod
    def from_services(
        cls, services: Iterable[LiveService], *, nichandle: str | None = None
    ) -> LiveAccount:
        """An account of ``services``, sorted by id (so that its order, and the order of
        everything listed from it, does not depend on the order they were read in)."""
        return cls(
            services=tuple(sorted(services, key=lambda s: s.service_id)), nichandle=nichandle
        )

    @property
    def index(self) -> AccountIndex:
        index = self._index
        assert index is not None  # set by __post_init__
        return index

    def by_id(self, service_id: int) -> LiveService | None:
        return self.index.by_id.get(service_id)

    def named(self, name: str) -> tuple[LiveService, ...]:
        """Every service with that name (a domain and its web hosting may share one)."""
        return self.index.by_name.get(name, ())

    def child_ids(self, service_id: int) -> tuple[int, ...]:
        """Ids of the services linked below ``service_id`` (they name it as their parent),
        sorted. ``GET /services/{id}`` names a parent only: this is the account's fact."""
        return self.index.children.get(service_id, ())

    def children_of(self, service: LiveService) -> tuple[LiveService, ...]:
        """The services linked below ``service``, sorted by id."""
        by_id = self.index.by_id
        return tuple(by_id[i] for i in self.child_ids(service.service_id))

    def offered_periods(self, service_id: int) -> tuple[str, ...] | None:
        """The renewal periods the service offers, or None when they were not read."""
        return self.offered.get(service_id)

    def with_offered_periods(self, offered: Mapping[int, tuple[str, ...] | None]) -> LiveAccount:
        """This account with more offered periods (same services, same index). A None
        (no periods: the service is not, or no longer, live) and ids not on the
        account leave what is known as it is."""
        found = {
            service_id: periods
            for service_id, periods in offered.items()
            if periods is not None and service_id in self.index.by_id
        }
        if not found:
            return self
        return replace(self, offered=MappingProxyType({**self.offered, **found}))

    def with_nichandle(self, nichandle: str | None) -> LiveAccount:
        """This account, read with the key of ``nichandle`` (same services, same index)."""
        return replace(self, nichandle=nichandle)

    def __len__(self) -> int:
        return len(self.services)


# -- parsing the API's JSON (pure) -------------------------------------------------------

# Longest service name taken from the API: far above any real one (a DNS name has at
# most 253 characters), far below what would flood a plan (docs/reliability.md).
MAX_NAME_LENGTH = 1_000


class MalformedService(ValueError):
    """A service object that does not have the shape of ``GET /services/{id}``: where in
    the object, and what is wrong. ``parse_service`` turns it into an ``ApiError``."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


def parse_service(data: Any) -> LiveService:
    """A ``LiveService`` from the JSON of ``GET /services/{id}`` (or an Iceberg item).

    Optional blocks may be missing or null (``route``, ``billing.renew``, ``lifecycle``,
    ``plan``...); what must be there is the id and the resource name. Anything malformed
    raises one ``ApiError`` naming the service and the field, never a traceback. Dates
    are the instants the API gives, in UTC.
    """
    try:
        return _parse_service(data)
    except MalformedService as exc:
        service_id = data.get("serviceId") if isinstance(data, dict) else None
        which = f"service {service_id}" if isinstance(service_id, int) else "service"
        raise ApiError(
            f"the OVH API answered a malformed {which}: {exc.where}: {exc.problem}",
            hint="run with --debug and report it with the service's JSON (it holds no secret)",
            method="GET",
            path="/services",
        ) from None


def _parse_service(data: Any) -> LiveService:
    # Every block is read as the plain dict the decoder made, with the path to it for
    # messages written once, as a constant: no wrapper object per block, no path built
    # unless something is wrong (issue 19: some twenty wrappers per service were a
    # quarter of the parse at 10,000 services). The reads happen in a fixed order, so the
    # first thing wrong is the one reported.
    if not isinstance(data, dict):
        raise MalformedService("the service", f"an object was expected, got {_kind(data)}")
    service_id = _required_int(data, "serviceId", "")
    resource = _block(data, "resource", "resource")
    billing = _block(data, "billing", "billing")
    lifecycle_block = _block(billing, "lifecycle", "billing.lifecycle")
    current = _block(lifecycle_block, "current", "billing.lifecycle.current")
    renew_block = _block(billing, "renew", "billing.renew")
    renew = _block(renew_block, "current", "billing.renew.current")
    product = _block(resource, "product", "resource.product")
    route = _block(data, "route", "route")

    name = _required_str(resource, "name", "resource")
    if len(name) > MAX_NAME_LENGTH:
        raise MalformedService(
            "resource.name", f"{len(name):,} characters, more than {MAX_NAME_LENGTH:,}"
        )
    route_path = _optional_str(route, "path", "route")
    service_type, family = _type_and_family(route_path) if route_path else _UNKNOWN_TYPE
    lifecycle_state = _optional_str(current, "state", "billing.lifecycle.current") or "active"
    resource_state = _optional_str(resource, "state", "resource") or "active"
    termination_date = _optional_datetime(current, "terminationDate", "billing.lifecycle.current")
    pending = _str_list(current, "pendingActions", "billing.lifecycle.current")
    renew_mode = _optional_str(renew, "mode", "billing.renew.current")
    renew_period = _optional_str(renew, "period", "billing.renew.current")
    commitment, unknown_end_rule = _commitment(_block(billing, "engagement", "billing.engagement"))
    allowed = _str_list(
        _block(lifecycle_block, "capacities", "billing.lifecycle.capacities"),
        "actions",
        "billing.lifecycle.capacities",
    )
    missing = ("billing",) if not billing else ("billing.lifecycle",) if not lifecycle_block else ()
    if renew_period is not None:
        renew_period = _api_period(renew_period)
    lifecycle, why = derive_lifecycle(
        lifecycle_state=lifecycle_state,
        resource_state=resource_state,
        termination_date=termination_date,
        pending_actions=pending,
        renew_mode=renew_mode,
        commitment=commitment,
        missing=missing,
        unknown_end_rule=unknown_end_rule,
    )
    contacts = _optional_list(_block(data, "customer", "customer"), "contacts", "customer")
    return LiveService(
        service_id=service_id,
        name=name,
        display_name=_optional_str(resource, "displayName", "resource") or name,
        type=service_type,
        family=family,
        lifecycle=lifecycle,
        plan_code=_optional_str(_block(billing, "plan", "billing.plan"), "code", "billing.plan"),
        product=_optional_str(product, "description", "resource.product")
        or _optional_str(product, "name", "resource.product"),
        resource_state=resource_state,
        lifecycle_state=lifecycle_state,
        expiration=_optional_datetime(billing, "expirationDate", "billing"),
        renew_mode=renew_mode,
        renew_period=renew_period,
        termination_date=termination_date,
        pending_actions=pending,
        allowed_actions=None if not lifecycle_block else allowed,
        renew_modes=None
        if not renew_block
        else _str_list(
            _block(renew_block, "capacities", "billing.renew.capacities"),
            "mode",
            "billing.renew.capacities",
        ),
        commitment=commitment,
        admin_contacts=None if contacts is None else _admin_contacts(contacts),
        not_understood=why,
        parent_id=_optional_int(data, "parentServiceId", ""),
        unpaid=lifecycle_state == "unpaid",
        route_url=_optional_str(route, "url", "route"),
        pricing=parse_pricing(billing.get("pricing")),
    )


_UNKNOWN_TYPE = ("unknown", family_of("unknown"))


@lru_cache(maxsize=512)
def _type_and_family(route_path: str) -> tuple[str, ProductFamily]:
    # A handful of distinct routes per account: each is read once, not once a service.
    service_type = type_of_route(route_path)
    return service_type, family_of(service_type)


@lru_cache(maxsize=512)
def _api_period(period: str) -> str:
    """The canonical text of a period the API gives (``P1Y`` → ``P12M``), or the text
    as the API wrote it when it is none: it compares unequal to any spec period.
    Memoised: an account has a handful of distinct periods."""
    try:
        return normalise_period(period)
    except InvalidPeriod:
        return period


_UNDERSTOOD_STATES = frozenset(("active", "unpaid", "unrenewed", "terminated"))
_UNDERSTOOD_RESOURCES = frozenset(("active", "suspended", "deleted", "toDelete"))


def derive_lifecycle(
    *,
    lifecycle_state: str,
    resource_state: str,
    termination_date: datetime | None,
    pending_actions: Sequence[str],
    renew_mode: str | None,
    commitment: Commitment | None = None,
    missing: Sequence[str] = (),
    unknown_end_rule: str | None = None,
) -> tuple[LiveLifecycle, str | None]:
    """Where a service stands, and why when it is ``NOT_UNDERSTOOD``: the decision table
    of docs/control-panel.md, first row that applies wins.

    1. lifecycle ``terminated`` or resource ``deleted``: TERMINATED (gone);
    2. resource ``toDelete``: BEING_DELETED (going: a retention period);
    3. lifecycle ``unrenewed``: EXPIRED;
    4. a billing or lifecycle block that is null, a lifecycle or resource state, a pending
       action, a renew mode or a commitment end rule reconciler does not know (the
       strategy as the API wrote it: ``unknown_end_rule``), a termination requested and
       waiting for its confirmation (``terminate``), an early renewal pending: NOT_UNDERSTOOD
       (fail closed: never read as in sync);
    5. a commitment ending on CANCEL_SERVICE, or the pending action
       ``terminateAtEngagementDate``: TERMINATE_AT_COMMITMENT_END;
    6. renew mode ``manual``: MANUAL_RENEW, whatever termination signal it carries — the
       panel marks manual renewal with ``terminateAtExpirationDate`` (manual wins);
    7. a termination date or the pending action ``terminateAtExpirationDate``:
       TERMINATE_AT_EXPIRY;
    8. renew mode ``automatic``: RENEW; no renew mode at all: NOT_UNDERSTOOD.
    """
    if lifecycle_state == "terminated" or resource_state == "deleted":
        return LiveLifecycle.TERMINATED, None
    if resource_state == "toDelete":
        return LiveLifecycle.BEING_DELETED, None
    if lifecycle_state == "unrenewed":
        return LiveLifecycle.EXPIRED, None
    why = _not_understood(lifecycle_state, resource_state, pending_actions, renew_mode, missing)
    if why is None and unknown_end_rule is not None:
        why = f"its commitment ends on a rule reconciler does not know ({_shown(unknown_end_rule)})"
    if why is not None:
        return LiveLifecycle.NOT_UNDERSTOOD, why
    if (
        commitment is not None and commitment.strategy is EndStrategy.CANCEL_SERVICE
    ) or TERMINATE_AT_ENGAGEMENT_ACTION in pending_actions:
        return LiveLifecycle.TERMINATE_AT_COMMITMENT_END, None
    if renew_mode == "manual":
        return LiveLifecycle.MANUAL_RENEW, None
    if termination_date is not None or TERMINATE_AT_EXPIRY_ACTION in pending_actions:
        return LiveLifecycle.TERMINATE_AT_EXPIRY, None
    return LiveLifecycle.RENEW, None


def _not_understood(
    lifecycle_state: str,
    resource_state: str,
    pending_actions: Sequence[str],
    renew_mode: str | None,
    missing: Sequence[str],
) -> str | None:
    if missing:
        return f"the API gave no {' and no '.join(missing)} block"
    if lifecycle_state not in _UNDERSTOOD_STATES:
        return f"its lifecycle state is {_shown(lifecycle_state)}"
    if resource_state not in _UNDERSTOOD_RESOURCES:
        return f"its resource state is {_shown(resource_state)}"
    if pending_actions and not KNOWN_ACTIONS.issuperset(pending_actions):
        unknown = sorted(set(pending_actions) - KNOWN_ACTIONS)
        return (
            f"it has a pending action reconciler does not know ({', '.join(map(_shown, unknown))})"
        )
    if TERMINATE_ACTION in pending_actions:
        return "a termination was requested and waits for its confirmation (the e-mailed token)"
    if EARLY_RENEWAL_ACTION in pending_actions:
        return "an early renewal is pending"
    if renew_mode is None:
        return "the API gives no renewal mode"
    if renew_mode not in RENEW_MODES:
        return f"its renewal mode is {_shown(renew_mode)}"
    return None


def _shown(text: str) -> str:
    """An API value in a message: quoted, and cut (it comes from an API we do not trust)."""
    return repr(text[:40])


def _commitment(engagement: Mapping[str, Any]) -> tuple[Commitment | None, str | None]:
    """The commitment, and the end strategy as the API wrote it when reconciler does not
    know it: an end rule we cannot name could terminate the service, so that service is
    ``NOT_UNDERSTOOD`` (the rest of the account is still read). A possible strategy we do
    not know is left out: it is only ever compared with the one the spec asks for."""
    if not engagement:
        return None, None
    rule = _block(engagement, "endRule", "billing.engagement.endRule")
    written = _optional_str(rule, "strategy", "billing.engagement.endRule")
    strategy = _strategy(written)
    return (
        Commitment(
            end_date=_optional_date(engagement, "endDate", "billing.engagement"),
            strategy=strategy,
            possible_strategies=tuple(
                s
                for s in map(
                    _strategy,
                    _str_list(rule, "possibleStrategies", "billing.engagement.endRule"),
                )
                if s is not None
            ),
        ),
        written if written is not None and strategy is None else None,
    )


def _strategy(value: str | None) -> EndStrategy | None:
    if value is None:
        return None
    try:
        return EndStrategy(value)
    except ValueError:
        return None


def _admin_contacts(contacts: list[Any]) -> tuple[str, ...]:
    found: set[str] = set()
    for index, contact in enumerate(contacts):
        where = f"customer.contacts[{index}]"
        entry = _object(contact, where)
        if _optional_str(entry, "type", where) == "administrator":
            code = _optional_str(entry, "customerCode", where)
            if code:
                found.add(code)
    return tuple(sorted(found))


# -- reading JSON objects -----------------------------------------------------------------
# Each reader takes an object as the decoder made it and ``where`` it is in the service
# (``billing.renew.current``; ``""`` for the service itself), used only in the message
# of a ``MalformedService``. A missing or null object reads as empty.

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return _EMPTY
    if isinstance(value, dict):
        return value
    raise MalformedService(where or "the service", f"an object was expected, got {_kind(value)}")


def _block(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    """The object under ``key`` of ``parent``, which is at ``where`` itself."""
    return _object(parent.get(key), where)


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _required_int(data: Mapping[str, Any], key: str, where: str) -> int:
    value = _optional_int(data, key, where)
    if value is None:
        raise MalformedService(_path(where, key), "missing")
    return value


def _optional_int(data: Mapping[str, Any], key: str, where: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedService(_path(where, key), f"an integer was expected, got {_kind(value)}")
    return value


def _required_str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = _optional_str(data, key, where)
    if not value:
        raise MalformedService(_path(where, key), "missing or empty")
    return value


def _optional_str(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise MalformedService(_path(where, key), f"a string was expected, got {_kind(value)}")


def _str_list(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MalformedService(_path(where, key), "a list of strings was expected")
    return tuple(value)


def _optional_list(data: Mapping[str, Any], key: str, where: str) -> list[Any] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise MalformedService(_path(where, key), f"a list was expected, got {_kind(value)}")
    return value


def _optional_date(data: Mapping[str, Any], key: str, where: str) -> date | None:
    """A day (the schema's ``date``): ``YYYY-MM-DD``, or a datetime's day."""
    text = _optional_str(data, key, where)
    if text is None or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise MalformedService(_path(where, key), f"not an ISO 8601 date: {text[:40]!r}") from None


def _optional_datetime(data: Mapping[str, Any], key: str, where: str) -> datetime | None:
    text = _optional_str(data, key, where)
    if text is None:
        return None
    stripped = text.strip()
    if not stripped:
        return None
    try:
        when = datetime.fromisoformat(stripped)
    except ValueError:
        raise MalformedService(_path(where, key), f"not an ISO 8601 date: {text[:40]!r}") from None
    if when.tzinfo is None or when.utcoffset() is None:
        # Guessing a timezone could move a deadline (the 24-hour rule) by hours.
        raise MalformedService(_path(where, key), f"a date without a timezone: {text[:40]!r}")
    try:
        # In UTC, as everything downstream reads it (rules, fingerprints, renderings:
        # the same instant), so that it is converted once here, not at every use; and
        # year 1 at +14:00, which would overflow later in the rules, is refused here.
        return plausible(when)
    except ImplausibleInstant as exc:
        raise MalformedService(_path(where, key), str(exc)) from None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
