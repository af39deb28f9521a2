"""The live account as typed, immutable values.

``LiveService`` is what the rest of reconciler knows of a service on the account. It is
built by pure functions from the JSON of ``GET /services/{id}`` (``parse_service``) and
never from anything else, so every odd shape the API answers is handled in one place and
tested on recorded fixtures (``tests/live/fixtures/``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from reconciler.core.catalog import ProductFamily, family_of, product_of, type_of_route
from reconciler.core.periods import InvalidPeriod, normalise_period
from reconciler.errors import ApiError


class LiveLifecycle(StrEnum):
    """Where a service stands, derived from its lifecycle, renew and resource states."""

    RENEW = "renew"  # automatic renewal, no termination pending
    MANUAL_RENEW = "manual_renew"  # renewal by hand: it expires unless paid
    TERMINATE_AT_EXPIRY = "terminate_at_expiry"  # terminated (data deleted) at expiry
    EXPIRED = "expired"  # expired, not renewed (lifecycle state ``unrenewed``)
    TERMINATED = "terminated"  # terminated or its resource deleted: gone


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
    # route.url, e.g. "/hosting/web/www.example.com": the product's own API path, for the
    # legacy per-product calls (serviceInfos, terminate) and for display.
    route_url: str | None = None

    @property
    def manageable(self) -> bool:
        """False for telecom, Microsoft and MX Plan services: they are managed elsewhere."""
        return product_of(self.type).manageable

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


# -- parsing the API's JSON (pure) -------------------------------------------------------

_TERMINATE_AT_EXPIRY_ACTION = "terminateAtExpirationDate"


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
    raises one ``ApiError`` naming the service and the field, never a traceback.
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
    if not isinstance(data, dict):
        raise MalformedService("the service", f"an object was expected, got {_kind(data)}")
    root = _Json(data, "")
    service_id = root.required_int("serviceId")
    resource = root.block("resource")
    billing = root.block("billing")
    lifecycle_block = billing.block("lifecycle")
    current = lifecycle_block.block("current")
    renew = billing.block("renew").block("current")
    product = resource.block("product")
    route = root.block("route")

    name = resource.required_str("name")
    route_path = route.optional_str("path")
    service_type = type_of_route(route_path) if route_path else "unknown"
    lifecycle_state = current.optional_str("state") or "active"
    resource_state = resource.optional_str("state") or "active"
    termination_date = current.optional_datetime("terminationDate")
    pending = current.str_list("pendingActions")
    renew_mode = renew.optional_str("mode")
    renew_period = renew.optional_str("period")
    if renew_period is not None:
        try:
            renew_period = normalise_period(renew_period)
        except InvalidPeriod:
            pass  # keep what the API says: it compares unequal to any spec period
    return LiveService(
        service_id=service_id,
        name=name,
        display_name=resource.optional_str("displayName") or name,
        type=service_type,
        family=family_of(service_type),
        lifecycle=derive_lifecycle(
            lifecycle_state=lifecycle_state,
            resource_state=resource_state,
            termination_date=termination_date,
            pending_actions=pending,
            renew_mode=renew_mode,
        ),
        plan_code=billing.block("plan").optional_str("code"),
        product=product.optional_str("description") or product.optional_str("name"),
        resource_state=resource_state,
        lifecycle_state=lifecycle_state,
        expiration=billing.optional_datetime("expirationDate"),
        renew_mode=renew_mode,
        renew_period=renew_period,
        termination_date=termination_date,
        pending_actions=pending,
        allowed_actions=lifecycle_block.block("capacities").str_list("actions"),
        parent_id=root.optional_int("parentServiceId"),
        unpaid=lifecycle_state == "unpaid",
        route_url=route.optional_str("url"),
    )


def derive_lifecycle(
    *,
    lifecycle_state: str,
    resource_state: str,
    termination_date: datetime | None,
    pending_actions: Sequence[str],
    renew_mode: str | None,
) -> LiveLifecycle:
    """Where a service stands. Order matters: gone beats expired beats a pending
    termination beats manual renewal. A termination date *or* the pending action
    ``terminateAtExpirationDate`` means terminate at expiry (OVH shows either, and the
    renew mode is often switched to manual alongside)."""
    if lifecycle_state == "terminated" or resource_state == "deleted":
        return LiveLifecycle.TERMINATED
    if lifecycle_state == "unrenewed":
        return LiveLifecycle.EXPIRED
    if termination_date is not None or _TERMINATE_AT_EXPIRY_ACTION in pending_actions:
        return LiveLifecycle.TERMINATE_AT_EXPIRY
    if renew_mode == "manual":
        return LiveLifecycle.MANUAL_RENEW
    return LiveLifecycle.RENEW


class _Json:
    """A JSON object being read, with the path to it for messages. Missing or null
    optional blocks read as empty objects."""

    __slots__ = ("_data", "_where")

    def __init__(self, data: Any, where: str) -> None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise MalformedService(
                where or "the service", f"an object was expected, got {_kind(data)}"
            )
        self._data: dict[str, Any] = data
        self._where = where

    def _path(self, key: str) -> str:
        return f"{self._where}.{key}" if self._where else key

    def block(self, key: str) -> _Json:
        return _Json(self._data.get(key), self._path(key))

    def required_int(self, key: str) -> int:
        value = self.optional_int(key)
        if value is None:
            raise MalformedService(self._path(key), "missing")
        return value

    def optional_int(self, key: str) -> int | None:
        value = self._data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise MalformedService(self._path(key), f"an integer was expected, got {_kind(value)}")
        return value

    def required_str(self, key: str) -> str:
        value = self.optional_str(key)
        if not value:
            raise MalformedService(self._path(key), "missing or empty")
        return value

    def optional_str(self, key: str) -> str | None:
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise MalformedService(self._path(key), f"a string was expected, got {_kind(value)}")
        return value

    def str_list(self, key: str) -> tuple[str, ...]:
        value = self._data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise MalformedService(self._path(key), "a list of strings was expected")
        return tuple(value)

    def optional_datetime(self, key: str) -> datetime | None:
        text = self.optional_str(key)
        if text is None or not text.strip():
            return None
        try:
            when = datetime.fromisoformat(text.strip())
        except ValueError:
            raise MalformedService(
                self._path(key), f"not an ISO 8601 date: {text[:40]!r}"
            ) from None
        if when.tzinfo is None or when.utcoffset() is None:
            # Guessing a timezone could move a deadline (the 24-hour rule) by hours.
            raise MalformedService(self._path(key), f"a date without a timezone: {text[:40]!r}")
        return when


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
