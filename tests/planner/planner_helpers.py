"""Tiny builders for the planner tests: a spec document and compact live fields in,
``Spec`` and ``LiveAccount`` out. Deliberately independent of the spec loader (written
in parallel): the planner is tested on the values it receives, not on YAML parsing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from reconciler.core.lifecycle import Lifecycle, LiveLifecycle
from reconciler.core.live import Commitment, EndStrategy, LiveAccount, LiveService, family_of
from reconciler.core.pricing import Pricing, parse_pricing
from reconciler.core.spec import ServiceSpec, Spec, UnmanagedPolicy

DEFAULT_EXPIRY = datetime(2027, 3, 1, tzinfo=UTC)

_LIVE_KEYS = {
    "id",
    "plan_code",
    "name",
    "type",
    "lifecycle",
    "expires",
    "period",
    "mode",
    "termination",
    "parent",
    "unpaid",
    "state",
    "resource_state",
    "display_name",
    "route",  # route.url
    "actions",  # billing.lifecycle.capacities.actions
    "modes",  # billing.renew.capacities.mode
    "pending",  # lifecycle.current.pendingActions
    "commitment",  # {end: YYYY-MM-DD, strategy: ..., possible: [...]}
    "admins",  # customer.contacts of type administrator
    "why",  # not_understood
    "price",  # billing.pricing as {value, currency, duration, interval}; absent: none given
}

_DEFAULT_STATE = {
    LiveLifecycle.RENEW: "active",
    LiveLifecycle.MANUAL_RENEW: "active",
    LiveLifecycle.TERMINATE_AT_EXPIRY: "active",
    LiveLifecycle.TERMINATE_AT_COMMITMENT_END: "active",
    LiveLifecycle.EXPIRED: "unrenewed",
    LiveLifecycle.BEING_DELETED: "active",
    LiveLifecycle.TERMINATED: "terminated",
    LiveLifecycle.NOT_UNDERSTOOD: "active",
}


def when(value: Any) -> datetime | None:
    """A datetime from YAML (PyYAML may already have parsed it) or an ISO string."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"test data: {value!r} has no timezone")
    return moment


def live_service(fields: Mapping[str, Any]) -> LiveService:
    """A ``LiveService`` from compact fields; unknown keys are a test-data error.

    Defaults: type ``hosting/web``, lifecycle ``renew``, expiry 2027-03-01, period
    ``P12M``, renew mode ``manual`` for ``manual_renew`` else ``automatic``, a
    termination date equal to the expiry when a termination at expiry is pending."""
    unknown = set(fields) - _LIVE_KEYS
    if unknown:
        raise ValueError(f"test data: unknown live keys {sorted(unknown)}")
    lifecycle = LiveLifecycle(fields.get("lifecycle", "renew"))
    service_type = str(fields.get("type", "hosting/web"))
    expires = when(fields["expires"]) if "expires" in fields else DEFAULT_EXPIRY
    mode = fields.get("mode", "manual" if lifecycle is LiveLifecycle.MANUAL_RENEW else "automatic")
    if "termination" in fields:
        termination = when(fields["termination"])
    else:
        termination = expires if lifecycle is LiveLifecycle.TERMINATE_AT_EXPIRY else None
    if lifecycle is LiveLifecycle.TERMINATE_AT_COMMITMENT_END and "termination" not in fields:
        raise ValueError("test data: a termination at the end of a commitment needs its date")
    unpaid = bool(fields.get("unpaid", False))
    gone = lifecycle is LiveLifecycle.TERMINATED
    if lifecycle is LiveLifecycle.BEING_DELETED:
        fields = {"resource_state": "toDelete", **fields}
    return LiveService(
        service_id=int(fields["id"]),
        plan_code=fields.get("plan_code"),
        name=str(fields["name"]),
        display_name=str(fields.get("display_name", fields["name"])),
        type=service_type,
        family=family_of(service_type),
        lifecycle=lifecycle,
        resource_state=str(fields.get("resource_state", "deleted" if gone else "active")),
        lifecycle_state=str(fields.get("state", "unpaid" if unpaid else _DEFAULT_STATE[lifecycle])),
        expiration=expires,
        renew_mode=mode,
        renew_period=fields.get("period", "P12M"),
        termination_date=termination,
        parent_id=fields.get("parent"),
        unpaid=unpaid,
        route_url=fields.get("route"),
        allowed_actions=_strings(fields.get("actions")),
        renew_modes=_strings(fields.get("modes")),
        pending_actions=_strings(fields.get("pending")) or (),
        commitment=_commitment(fields.get("commitment")),
        admin_contacts=_strings(fields.get("admins")),
        not_understood=fields.get("why")
        or ("test data" if lifecycle is LiveLifecycle.NOT_UNDERSTOOD else None),
        pricing=pricing_of(fields.get("price")),
    )


def _strings(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(item) for item in value)


def pricing_of(price: Mapping[str, Any] | None) -> Pricing | None:
    """The price through the client's own parser, from the fields OVH's answer has."""
    if price is None:
        return None
    return parse_pricing(
        {
            "price": {"value": price["value"], "currencyCode": price["currency"]},
            "duration": price.get("duration"),
            "interval": price.get("interval", 1),
        }
    )


def _commitment(value: Mapping[str, Any] | None) -> Commitment | None:
    if value is None:
        return None
    end = value.get("end")
    return Commitment(
        end_date=date.fromisoformat(str(end)) if end is not None else None,
        strategy=EndStrategy(value["strategy"]) if value.get("strategy") else None,
        possible_strategies=tuple(EndStrategy(s) for s in value.get("possible", ())),
    )


def live_account(services: Iterable[Mapping[str, Any]]) -> LiveAccount:
    """An account of compact live fields; ``offered`` (the renewal periods a service
    offers) is the account's fact, not the service's: ``live_service`` refuses it."""
    listed = [dict(fields) for fields in services]
    offered = {int(f["id"]): tuple(f.pop("offered")) for f in listed if "offered" in f}
    account = LiveAccount.from_services(live_service(fields) for fields in listed)
    return account.with_offered_periods(offered)


def spec_of(document: Mapping[str, Any] | None) -> Spec:
    """A ``Spec`` from a spec document as written in a spec file (a mapping of
    ``services`` keyed by name, each with ``lifecycle`` and the optional keys)."""
    document = dict(document or {})
    entries = []
    for key, body in (document.get("services") or {}).items():
        body = dict(body or {})
        entries.append(
            ServiceSpec(
                key=str(key),
                name=str(body.pop("name", key)),
                lifecycle=Lifecycle(body.pop("lifecycle")),
                period=body.pop("period", None),
                type=body.pop("type", None),
                protect=bool(body.pop("protect", False)),
                mode=body.pop("mode", None),
                commitment_end=body.pop("commitment_end", None),
            )
        )
        if body:
            raise ValueError(f"test data: unknown spec keys {sorted(body)} for {key}")
    return Spec(
        endpoint=str(document.get("endpoint", "sandbox")),
        unmanaged=UnmanagedPolicy(document.get("unmanaged", "report")),
        services=tuple(entries),
        source="spec.yaml",
        digest="sha256:" + "0" * 64,
    )
