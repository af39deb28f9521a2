"""A service of the account as a value, with OVH's rules for changing it and for time.

Pure: a ``Service`` is what the store holds of one service, typed; its methods say what
a request may change (each refusal an ``errors.ApiError`` with OVH's answer) and what
time does to it, and return the changed service. Nothing here reads the store or the
clock: the backend passes ``now`` and writes what comes back.

Time
    At each instant the sandbox *settles* every service (``Service.due``): the earliest
    of its events that is due happens, then the next round looks again, so events happen
    in date order:

    - at expiry, a service set to terminate at expiry is terminated (lifecycle
      ``terminated``);
    - at expiry, an automatic renewal renews by the period, as many periods as needed;
    - at expiry, a manual renewal (or an unpaid service) expires: lifecycle
      ``unrenewed``, resource ``suspended``; calls changing it answer 460. The
      ``terminateAtExpirationDate`` a manual service carries (the control panel's
      marking of manual renewal) does not make it terminate: manual wins;
    - at its engagement end, a service set to ``terminateAtEngagementDate`` goes, and
      otherwise the commitment's end rule applies (``Service.after_engagement``).

Rules enforced server-side
    Cancelling a termination less than 24 hours before the expiry is refused with 409
    (exactly 24 hours before is refused too); immediate termination only where the
    product allows it (web hosting); periods must be among the service's
    ``renewPeriodCapacities``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from enum import Enum
from functools import lru_cache
from typing import Any

from reconciler.sandbox import errors
from reconciler.sandbox.catalog import (
    PRODUCTS,
    TERMINATE_AT_ENGAGEMENT,
    TERMINATE_AT_EXPIRY,
    Product,
)
from reconciler.sandbox.clock import add_months, period_months, render_datetime
from reconciler.sandbox.seed import (
    DEFAULT_END_STRATEGY,
    DEFAULT_ENGAGEMENT_DURATION,
    DEFAULT_POSSIBLE_STRATEGIES,
    END_STRATEGIES,
)

TOKEN_TTL = timedelta(hours=72)  # how long an e-mailed termination token stays valid
CANCEL_WINDOW = timedelta(hours=24)  # no cancelling a termination closer to expiry

# OVH's enums for confirmTermination.
TERMINATION_REASONS = (
    "FEATURES_DONT_SUIT_ME",
    "LACK_OF_PERFORMANCES",
    "MIGRATED_TO_ANOTHER_OVH_PRODUCT",
    "MIGRATED_TO_COMPETITOR",
    "NOT_ENOUGH_RECOGNITION",
    "NOT_NEEDED_ANYMORE",
    "NOT_RELIABLE",
    "NO_ANSWER",
    "OTHER",
    "PRODUCT_DIMENSION_DONT_SUIT_ME",
    "PRODUCT_TOOLS_DONT_SUIT_ME",
    "TOO_EXPENSIVE",
    "TOO_HARD_TO_USE",
    "UNSATIFIED_BY_CUSTOMER_SUPPORT",
)
FUTURE_USES = (
    "NOT_REPLACING_SERVICE",
    "OTHER",
    "SUBSCRIBE_AN_OTHER_SERVICE",
    "SUBSCRIBE_OTHER_KIND_OF_SERVICE_WITH_COMPETITOR",
    "SUBSCRIBE_SIMILAR_SERVICE_WITH_COMPETITOR",
)
CANCEL_SERVICE = "CANCEL_SERVICE"
REACTIVATE_ENGAGEMENT = "REACTIVATE_ENGAGEMENT"
FALLBACK_DEFAULT_PRICE = "STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE"
TERMINATION_POLICIES = ("empty", "terminateAtEngagementDate", "terminateAtExpirationDate")

# Columns holding JSON text in the store; the others hold the field as it is.
_JSON_FIELDS = ("periods", "end_strategies", "renew_modes", "pricing")
_BOOL_FIELDS = ("refuses_empty", "unpaid", "gone")


class Event(Enum):
    """What is due for a service when the clock reaches it (``Service.due``)."""

    TERMINATE = "terminate"
    ENGAGEMENT_END = "engagement_end"
    RENEW = "renew"
    EXPIRE = "expire"


@dataclass(frozen=True, slots=True)
class Service:
    """One service as the store keeps it; field names are the store's columns.

    ``termination`` is ``none``, ``at_expiry`` or ``at_engagement`` (the policy asked
    for), ``terminate_at`` its date; ``gone`` a service no route shows any more (purged
    after its retention period, or terminated without one)."""

    id: int
    name: str
    route: str
    organization: str | None
    display_name: str
    parent_id: int | None
    plan_code: str
    description: str
    price: float  # per month, scaled when the period changes
    created: int
    expiration: int
    anniversary_day: int
    renew_mode: str
    renew_period: str
    periods: tuple[str, ...]
    termination: str
    terminate_at: int | None
    engagement_end: int | None
    end_strategy: str | None
    end_strategies: tuple[str, ...] | None
    engagement_months: int | None
    default_price: float | None
    refuses_empty: bool
    renew_modes: tuple[str, ...] | None  # None in a state from before they were stored
    contact_admin: str | None
    contact_tech: str | None
    contact_billing: str | None
    retention: int | None
    purge_at: int | None
    pricing: dict[str, Any] | str | None  # the seed's; PRICING_ABSENT: OVH gives none
    lifecycle: str
    resource_state: str
    unpaid: bool
    terminated_at: int | None
    gone: bool

    # --- storing -------------------------------------------------------------------

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Service:
        """From the store's values in ``COLUMNS`` order (a page reads a thousand of
        these: by position, and each distinct JSON list decoded once)."""
        values = list(row)
        for index in _LIST_AT:
            if values[index] is not None:
                values[index] = _decoded_list(values[index])
        if values[_PRICING_AT] is not None:
            values[_PRICING_AT] = json.loads(values[_PRICING_AT])
        for index in _BOOL_AT:
            values[index] = bool(values[index])
        return cls(*values)

    def to_row(self) -> dict[str, Any]:
        return {column: _stored(column, getattr(self, column)) for column in COLUMNS}

    def changes_from(self, before: Service) -> dict[str, Any]:
        """The columns to write to turn ``before`` into this service."""
        return {
            column: _stored(column, getattr(self, column))
            for column in COLUMNS
            if getattr(self, column) != getattr(before, column)
        }

    # --- what it is ------------------------------------------------------------------

    @property
    def product(self) -> Product:
        return PRODUCTS[self.route]

    def actions(self, now: int) -> list[str]:
        """``billing.lifecycle.capacities.actions`` of the service as it stands."""
        if self.gone or self.lifecycle != "active":
            return []
        engaged = self.engagement_end is not None and self.engagement_end > now
        return [
            action
            for action in self.product.actions
            if action != TERMINATE_AT_ENGAGEMENT or engaged
        ]

    def offered_modes(self) -> tuple[str, ...]:
        """``billing.renew.capacities.mode`` (a state from before they were stored:
        the catalogue's)."""
        return self.renew_modes or self.product.renew_modes

    def contact(self, kind: str, account: str) -> str:
        """The ``admin``, ``tech`` or ``billing`` contact: seeded, else the account."""
        return str(getattr(self, f"contact_{kind}") or account)

    def end_rule(self) -> dict[str, Any]:
        """``services.billing.engagement.EndRule`` of an engaged service."""
        return {
            "strategy": self.end_strategy or DEFAULT_END_STRATEGY,
            "possibleStrategies": list(self.end_strategies or DEFAULT_POSSIBLE_STRATEGIES),
        }

    def commitment_months(self) -> int:
        return int(self.engagement_months or period_months(DEFAULT_ENGAGEMENT_DURATION))

    def termination_date(self) -> int | None:
        """``lifecycle.current.terminationDate``: the date of a termination asked for,
        else the end of a commitment whose end rule cancels the service (the panel reads
        the date here, not the expiry)."""
        if self.lifecycle == "terminated" and self.terminated_at is not None:
            return self.terminated_at  # listed during its retention period
        if self.termination != "none":
            return self.terminate_at
        if self.engagement_end is not None and self.end_strategy == CANCEL_SERVICE:
            return self.engagement_end
        return None

    # --- what a request may change -------------------------------------------------

    def check_changeable(self) -> None:
        if self.lifecycle == "terminated":  # listed during its retention period only
            raise errors.service_terminated(self.id)
        if self.lifecycle == "unrenewed":
            raise errors.service_expired()
        if self.unpaid:
            raise errors.conflict(
                "This service has unpaid bills: pay them before changing or terminating it"
            )

    def engaged(self) -> Service:
        """The service, if it has a commitment (404 otherwise, as OVH answers)."""
        if self.engagement_end is None:
            raise errors.not_found(
                f"The service {self.id} has no engagement (or its engagement has ended)"
            )
        return self

    def with_display_name(self, name: Any) -> Service:
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise errors.bad_request("Invalid displayName: 1 to 255 characters")
        return replace(self, display_name=name)

    def with_renew(self, renew: Any) -> Service:
        """``renew {mode, period}``: a mode among the offered ones, a period among the
        ``renewPeriodCapacities``."""
        if not isinstance(renew, dict) or not renew or set(renew) - {"mode", "period"}:
            raise errors.bad_request("Invalid renew: expected {mode, period}")
        changed = self
        if "mode" in renew:
            modes = self.offered_modes()
            if renew["mode"] not in modes:
                raise errors.bad_request(
                    f"Invalid renew mode {renew['mode']!r}: this service renews {', '.join(modes)}"
                )
            changed = replace(changed, renew_mode=renew["mode"])
        if "period" in renew and renew["period"] is not None:
            if renew["period"] not in self.periods:
                raise errors.bad_request(
                    f"Period {renew['period']!r} is not available for this service",
                    availablePeriods=list(self.periods),
                )
            changed = replace(changed, renew_period=renew["period"])
        return changed

    def with_termination_policy(self, policy: str, now: int) -> Service:
        """``terminationPolicy``: ``empty`` cancels a termination asked for (within the
        24-hour rule), the two others ask for one where the lifecycle offers it."""
        if policy not in TERMINATION_POLICIES:
            expected = ", ".join(TERMINATION_POLICIES)
            raise errors.bad_request(f"Invalid terminationPolicy: expected {expected}")
        actions = self.actions(now)
        if policy == "empty":
            if self.refuses_empty:
                raise errors.bad_request(
                    "The termination policy empty is not available for this service"
                )
            # OVH also switches the renewal back to automatic here ("The renewal mode
            # will then switch back to automatic", the panel's words). Not modelled yet:
            # reconciler still sends empty to services it keeps manual.
            return self.without_termination(now) if self.termination != "none" else self
        if policy == "terminateAtExpirationDate":
            if TERMINATE_AT_EXPIRY not in actions:
                raise errors.bad_request(
                    "Action terminateAtExpirationDate is not available for this service "
                    "(it is managed from its own interface)"
                )
            return replace(self, termination="at_expiry", terminate_at=self.expiration)
        if TERMINATE_AT_ENGAGEMENT not in actions:
            raise errors.bad_request("This service has no engagement to terminate at")
        return replace(self, termination="at_engagement", terminate_at=self.engagement_end)

    def without_termination(self, now: int) -> Service:
        """The termination asked for, cancelled: the control panel's rule, enforced by
        the API, refuses it 24 hours or less before it happens."""
        when = self.terminate_at
        assert when is not None  # a termination asked for has its date
        if when - now <= CANCEL_WINDOW.total_seconds():
            raise errors.conflict(
                f"The termination of this service can no longer be cancelled: it is "
                f"terminated on {render_datetime(when)}, and a termination can only be "
                f"cancelled until 24 hours before"
            )
        return replace(self, termination="none", terminate_at=None)

    def with_end_strategy(self, strategy: str) -> Service:
        possible = self.end_rule()["possibleStrategies"]
        if strategy not in possible:
            raise errors.bad_request(
                f"Strategy {strategy} is not available for this engagement",
                possibleStrategies=possible,
            )
        return replace(self, end_strategy=strategy)

    def with_legacy_renew(self, renew: Mapping[str, Any], now: int) -> Service:
        """A serviceInfos ``renew`` (``service.RenewType``) applied. Its
        ``deleteAtExpiration`` is the flag alone: false keeps a manual service manual
        (unlike ``terminationPolicy: empty`` on /services, which switches it back)."""
        mode = legacy_mode(renew)
        delete = renew.get("deleteAtExpiration")
        months = renew.get("period")
        changed = self
        if mode is not None:
            changed = changed.with_renew({"mode": mode})
        if months is not None:
            changed = changed.with_renew({"period": f"P{months}M"})
        if delete is True and self.termination != "at_expiry":
            changed = changed.with_termination_policy(TERMINATE_AT_EXPIRY, now)
        elif delete is False and self.termination == "at_expiry":
            changed = changed.without_termination(now)
        return changed

    # --- what time does to it ------------------------------------------------------

    def due(self, now: int) -> Event | None:
        """The earliest of its events that is due by ``now``, or None."""
        if self.gone or self.lifecycle != "active":
            return None
        events = [
            when
            for when in (self.terminate_at, self.engagement_end, self.expiration)
            if when is not None
        ]
        first = min(events)
        if first > now:
            return None
        # A manual service's terminateAtExpirationDate is the panel's marking of manual
        # renewal, not a termination: at expiry it expires unless paid (manual wins).
        marking = self.termination == "at_expiry" and self.renew_mode == "manual"
        if self.terminate_at is not None and self.terminate_at == first and not marking:
            return Event.TERMINATE
        if self.engagement_end is not None and self.engagement_end == first:
            return Event.ENGAGEMENT_END
        if self.renew_mode == "automatic" and not self.unpaid:
            return Event.RENEW
        return Event.EXPIRE

    def renewed(self, now: int) -> Service:
        """Renewed up to ``now``, but not past another event due meanwhile (it goes
        first)."""
        later = [when for when in (self.terminate_at, self.engagement_end) if when is not None]
        limit = min([now, *later])
        months = period_months(self.renew_period)
        expiration = self.expiration
        while expiration <= limit:
            expiration = add_months(expiration, months, day=self.anniversary_day)
        return replace(self, expiration=expiration)

    def expired(self) -> Service:
        return replace(self, lifecycle="unrenewed", resource_state="suspended")

    def after_engagement(self) -> Service | None:
        """The commitment reaches its end and its end rule applies; None when the rule
        terminates the service (``CANCEL_SERVICE``). ``REACTIVATE_ENGAGEMENT`` commits
        it again for the same length; the ``STOP_ENGAGEMENT_*`` rules end it
        (``billing.engagement`` null), keeping the price or falling back to the default
        one."""
        assert self.engagement_end is not None  # due: it has one
        strategy = self.end_strategy or DEFAULT_END_STRATEGY
        if strategy == CANCEL_SERVICE:
            return None
        if strategy == REACTIVATE_ENGAGEMENT:
            return replace(
                self, engagement_end=add_months(self.engagement_end, self.commitment_months())
            )
        price = self.price
        if strategy == FALLBACK_DEFAULT_PRICE and self.default_price is not None:
            price = self.default_price
        return replace(self, engagement_end=None, price=price)

    def terminated(self, when: int) -> Service:
        """Terminated at ``when``: listed for its retention period (resource state
        ``toDelete`` or ``deleted``, by product), then gone from every route; without
        one, gone at once."""
        retention = int(self.retention or 0)
        return replace(
            self,
            gone=not retention,
            lifecycle="terminated",
            resource_state=self.product.retention_state if retention else "deleted",
            terminated_at=when,
            purge_at=when + retention if retention else None,
            termination="none",
            terminate_at=None,
        )


COLUMNS = tuple(f.name for f in fields(Service))
_LIST_AT = tuple(COLUMNS.index(c) for c in ("periods", "end_strategies", "renew_modes"))
_PRICING_AT = COLUMNS.index("pricing")
_BOOL_AT = tuple(COLUMNS.index(c) for c in _BOOL_FIELDS)


@lru_cache(maxsize=1024)
def _decoded_list(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text))


def _stored(column: str, value: Any) -> Any:
    if column in _JSON_FIELDS and value is not None:
        return json.dumps(list(value) if isinstance(value, tuple) else value)
    if column in _BOOL_FIELDS:
        return int(value)
    return value


def check_termination_confirmation(body: Any) -> str:
    """A ``confirmTermination`` / ``terminate/confirm`` body, checked: its token."""
    if not isinstance(body, dict):
        raise errors.bad_request("Invalid body: expected {token}")
    unknown = set(body) - {"token", "reason", "commentary", "futureUse"}
    if unknown:
        raise errors.bad_request(f"Invalid parameter(s): {', '.join(sorted(unknown))}")
    token = body.get("token")
    if not isinstance(token, str) or not token:
        raise errors.bad_request("Missing parameter: token")
    if body.get("reason") is not None and body["reason"] not in TERMINATION_REASONS:
        raise errors.bad_request(f"Invalid value for reason: {body['reason']!r}")
    if body.get("futureUse") is not None and body["futureUse"] not in FUTURE_USES:
        raise errors.bad_request(f"Invalid value for futureUse: {body['futureUse']!r}")
    if body.get("commentary") is not None and not isinstance(body["commentary"], str):
        raise errors.bad_request("Invalid value for commentary: expected text")
    return token


def check_update(body: Any) -> dict[str, Any]:
    """A ``PUT /services/{id}`` body, checked for its shape before anything changes."""
    if not isinstance(body, dict) or not body:
        raise errors.bad_request("Invalid body: expected displayName, renew or terminationPolicy")
    unknown = set(body) - {"displayName", "renew", "terminationPolicy"}
    if unknown:
        raise errors.bad_request(f"Invalid parameter(s): {', '.join(sorted(unknown))}")
    return body


def check_end_rule(body: Any) -> str:
    """A ``PUT .../billing/engagement/endRule`` body, checked: its strategy."""
    if not isinstance(body, dict):
        raise errors.bad_request("Invalid body: expected {strategy}")
    unknown = set(body) - {"strategy"}
    if unknown:
        raise errors.bad_request(f"Invalid parameter(s): {', '.join(sorted(unknown))}")
    strategy = body.get("strategy")
    if strategy is None:
        raise errors.bad_request("Missing parameter: strategy")
    if strategy not in END_STRATEGIES:
        raise errors.bad_request(
            f"Invalid value for strategy: {strategy!r} (expected one of "
            f"{', '.join(END_STRATEGIES)})"
        )
    return str(strategy)


def check_legacy_update(body: Any) -> Mapping[str, Any] | None:
    """A ``PUT {route}/serviceInfos`` body: its ``renew`` (None: nothing to change; the
    other fields are accepted and ignored, as OVH does)."""
    if not isinstance(body, dict):
        raise errors.bad_request("Invalid body: expected a serviceInfos object")
    renew = body.get("renew")
    if renew is None:
        return None
    if not isinstance(renew, dict):
        raise errors.bad_request("Invalid renew: expected an object")
    legacy_mode(renew)
    delete = renew.get("deleteAtExpiration")
    if delete is not None and not isinstance(delete, bool):
        raise errors.bad_request("Invalid renew.deleteAtExpiration: expected a boolean")
    months = renew.get("period")
    if months is not None and (isinstance(months, bool) or not isinstance(months, int)):
        raise errors.bad_request("Invalid renew.period: expected a number of months")
    return renew


def legacy_mode(renew: Mapping[str, Any]) -> str | None:
    """The renew mode a serviceInfos ``renew`` (``service.RenewType``) asks for:
    ``automatic`` and ``manualPayment`` say it twice, and must agree when both given."""
    for key in ("automatic", "manualPayment", "forced"):
        if key in renew and not isinstance(renew[key], bool):
            raise errors.bad_request(f"Invalid renew.{key}: expected a boolean")
    automatic, manual = renew.get("automatic"), renew.get("manualPayment")
    if automatic is not None and manual is not None and automatic == manual:
        raise errors.bad_request(
            f"Invalid renew: automatic and manualPayment cannot both be {str(automatic).lower()}"
        )
    if automatic is not None:
        return "automatic" if automatic else "manual"
    if manual is not None:
        return "manual" if manual else "automatic"
    return None
