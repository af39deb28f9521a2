"""The live account as typed, immutable values.

``LiveService`` is what the rest of reconciler knows of a service on the account. It is
built by pure functions from the JSON of ``GET /services/{id}`` (``parse_service``) and
never from anything else, so every odd shape the API answers is handled in one place and
tested on recorded fixtures (``tests/live/fixtures/``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum


class ProductFamily(StrEnum):
    """The product families the control panel distinguishes (and the rules care about)."""

    WEB_HOSTING = "web_hosting"
    DOMAIN = "domain"
    VPS = "vps"
    DEDICATED_SERVER = "dedicated_server"
    TELECOM = "telecom"
    MICROSOFT = "microsoft"
    MX_PLAN = "mx_plan"
    OTHER = "other"


class LiveLifecycle(StrEnum):
    """Where a service stands, derived from its lifecycle, renew and resource states."""

    RENEW = "renew"  # automatic renewal, no termination pending
    MANUAL_RENEW = "manual_renew"  # renewal by hand: it expires unless paid
    TERMINATE_AT_EXPIRY = "terminate_at_expiry"  # terminated (data deleted) at expiry
    EXPIRED = "expired"  # expired, not renewed (lifecycle state ``unrenewed``)
    TERMINATED = "terminated"  # terminated or its resource deleted: gone


# Route prefixes (``type``) of each family; the longest matching prefix wins.
FAMILY_BY_TYPE: Mapping[str, ProductFamily] = {
    "hosting/web": ProductFamily.WEB_HOSTING,
    "domain": ProductFamily.DOMAIN,
    "allDom": ProductFamily.DOMAIN,
    "vps": ProductFamily.VPS,
    "dedicated/server": ProductFamily.DEDICATED_SERVER,
    "xdsl": ProductFamily.TELECOM,
    "pack/xdsl": ProductFamily.TELECOM,
    "telephony": ProductFamily.TELECOM,
    "sms": ProductFamily.TELECOM,
    "overTheBox": ProductFamily.TELECOM,
    "email/exchange": ProductFamily.MICROSOFT,
    "msServices": ProductFamily.MICROSOFT,
    "license/office": ProductFamily.MICROSOFT,
    "email/domain": ProductFamily.MX_PLAN,
}

UNMANAGEABLE_FAMILIES: frozenset[ProductFamily] = frozenset(
    {ProductFamily.TELECOM, ProductFamily.MICROSOFT, ProductFamily.MX_PLAN}
)


@dataclass(frozen=True, slots=True)
class LiveService:
    """One service of the account, as the API shows it now."""

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
    expiration: datetime | None = None  # billing.expirationDate, timezone-aware
    renew_mode: str | None = None  # "automatic" | "manual" | None
    renew_period: str | None = None  # ISO 8601 duration, "P1M", "P12M"; None when unknown
    termination_date: datetime | None = None
    pending_actions: tuple[str, ...] = ()
    allowed_actions: tuple[str, ...] = ()  # billing.lifecycle.capacities.actions
    parent_id: int | None = None
    children: tuple[int, ...] = ()  # ids of linked child services (filled by LiveAccount)
    unpaid: bool = False  # unpaid debt: no termination or change allowed
    # GET /services/{id}/renewPeriodCapacities; None when not read (it costs a call per
    # service, so the observe layer reads it only for services whose spec sets a period).
    offered_periods: tuple[str, ...] | None = None

    @property
    def manageable(self) -> bool:
        """False for telecom, Microsoft and MX Plan services: they are managed elsewhere."""
        return self.family not in UNMANAGEABLE_FAMILIES

    @property
    def gone(self) -> bool:
        return self.lifecycle in (LiveLifecycle.TERMINATED, LiveLifecycle.EXPIRED)


@dataclass(frozen=True, slots=True)
class LiveAccount:
    """Every service of the account, with parent/child links resolved both ways."""

    services: tuple[LiveService, ...]
    _by_id: Mapping[int, LiveService] = field(init=False, repr=False, compare=False)
    _by_name: Mapping[str, tuple[LiveService, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id = {service.service_id: service for service in self.services}
        by_name: dict[str, list[LiveService]] = {}
        for service in self.services:
            by_name.setdefault(service.name, []).append(service)
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_by_name", {k: tuple(v) for k, v in by_name.items()})

    @classmethod
    def from_services(cls, services: Iterable[LiveService]) -> LiveAccount:
        """Build an account, filling each service's ``children`` from the others'
        ``parent_id`` (sorted by id) so that one read of the account is enough."""
        listed = sorted(services, key=lambda s: s.service_id)
        children: dict[int, list[int]] = {}
        for service in listed:
            if service.parent_id is not None:
                children.setdefault(service.parent_id, []).append(service.service_id)
        linked = tuple(
            _with_children(service, tuple(children.get(service.service_id, ())))
            for service in listed
        )
        return cls(services=linked)

    def by_id(self, service_id: int) -> LiveService | None:
        return self._by_id.get(service_id)

    def named(self, name: str) -> tuple[LiveService, ...]:
        """Every service with that name (a domain and its web hosting may share one)."""
        return self._by_name.get(name, ())

    def children_of(self, service: LiveService) -> tuple[LiveService, ...]:
        return tuple(self._by_id[i] for i in service.children if i in self._by_id)

    def __len__(self) -> int:
        return len(self.services)


def _with_children(service: LiveService, children: tuple[int, ...]) -> LiveService:
    return service if service.children == children else replace(service, children=children)


def family_of(service_type: str) -> ProductFamily:
    """The family of a route prefix such as ``hosting/web`` or ``email/exchange``."""
    matches = [
        (len(prefix), family)
        for prefix, family in FAMILY_BY_TYPE.items()
        if service_type == prefix or service_type.startswith(prefix + "/")
    ]
    return max(matches)[1] if matches else ProductFamily.OTHER
