"""Seeding: a ``Seed`` resolved into the rows the store keeps, and written in.

A seed says what an account holds in the seed's words (relative dates, names of parents,
the catalogue's defaults left out); the store keeps services, applications and keys as
they stand at one instant. ``write`` resolves the seed at ``now`` (the sandbox clock's,
set by the caller) and replaces the account's contents with it, keeping the seed itself
in the store's meta so that a reset can come back to it (``stored``). The backend calls
it inside one of its operations (the lock, one transaction, then the account settled).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from reconciler.sandbox import credentials
from reconciler.sandbox.catalog import PRODUCTS
from reconciler.sandbox.clock import add_months, from_epoch, local_day, period_months
from reconciler.sandbox.seed import (
    DEFAULT_END_STRATEGY,
    DEFAULT_ENGAGEMENT_DURATION,
    DEFAULT_POSSIBLE_STRATEGIES,
    Seed,
    ServiceSeed,
    seed_from_mapping,
)
from reconciler.sandbox.services import Service
from reconciler.sandbox.store import Store


def write(store: Store, seed: Seed, now: int) -> None:
    """Replace the account's services, applications, keys, e-mails and tokens with the
    seed's, as they stand at ``now``; the seed is kept for ``stored``."""
    store.set_meta("seed", json.dumps(seed.to_mapping()))
    store.set_meta("seed_digest", seed.digest)
    store.set_meta("seed_source", seed.source)
    store.wipe()
    lag = seed.iceberg_lag
    store.set_meta("iceberg_lag", str(int(lag.total_seconds()) if lag else 0))
    applications, keys = _credentials(seed, now)
    for application in applications:
        store.insert_application(*application)
    for key in keys:
        store.insert_credential(key)
    store.insert_services(_services(seed, from_epoch(now)))


def stored(store: Store) -> Seed | None:
    """The seed last written, or None when the state was never seeded."""
    text = store.meta("seed")
    if text is None:
        return None
    return seed_from_mapping(json.loads(text), store.meta("seed_source") or "<seed>")


def _credentials(seed: Seed, now: int) -> tuple[list[tuple[str, str, int]], list[dict[str, Any]]]:
    """The seed's applications (key, secret, id) and consumer keys as the store keeps
    them, at ``now`` (relative expiries resolved; each key made a month ago)."""
    app_ids: dict[str, int] = {}
    applications: list[tuple[str, str, int]] = []
    keys: list[dict[str, Any]] = []
    for credential in seed.credentials:
        if credential.application_key not in app_ids:
            app_ids[credential.application_key] = credentials.FIRST_APPLICATION_ID + len(app_ids)
            applications.append(
                (
                    credential.application_key,
                    credential.application_secret,
                    app_ids[credential.application_key],
                )
            )
        if credential.consumer_key is None:
            continue
        expires = credential.expires.resolve(from_epoch(now)) if credential.expires else None
        keys.append(
            {
                "credential_id": credentials.FIRST_CREDENTIAL_ID + len(keys),
                "consumer_key": credential.consumer_key,
                "app_key": credential.application_key,
                "rules": json.dumps([rule.to_json() for rule in credential.rules]),
                "state": credential.state,
                "created": now - 86400 * 30,
                "expires": int(expires.timestamp()) if expires else None,
                "nichandle": credential.nichandle,
                "email": credential.email,
                "iam_actions": (
                    None if credential.iam_actions is None else json.dumps(credential.iam_actions)
                ),
            }
        )
    return applications, keys


def _services(seed: Seed, now: datetime) -> list[Service]:
    """The seed's services as they stand at ``now`` (relative dates resolved)."""
    ids = _assign_ids(seed.services)
    by_key = {(s.route, s.name): ids[i] for i, s in enumerate(seed.services)}
    by_name: dict[str, list[int]] = {}
    for (_, name), service_id in by_key.items():
        by_name.setdefault(name, []).append(service_id)
    return [
        _seeded(
            service,
            ids[i],
            _parent_id(service, by_key, by_name),
            now,
            refuses_empty=bool(seed.product(service.route).refuses_empty),
            renew_modes=_offered_modes(seed, service.route),
            retention=int(seed.retention_for(service.route).total_seconds()),
        )
        for i, service in enumerate(seed.services)
    ]


def _offered_modes(seed: Seed, route: str) -> tuple[str, ...]:
    """The renew modes a product offers on the seed's account: the catalogue's or the
    seed's, without ``manual`` on ovh-us, where the control panel offers none."""
    modes = seed.product(route).modes()
    if seed.account.endpoint == "ovh-us":
        modes = tuple(m for m in modes if m != "manual") or ("automatic",)
    return modes


def _assign_ids(services: Sequence[ServiceSeed]) -> list[int]:
    """Service ids: the seed's, else a stable 9-digit id derived from route and name
    (so editing a seed does not renumber the other services)."""
    taken = {s.id for s in services if s.id is not None}
    ids = []
    for service in services:
        if service.id is not None:
            ids.append(service.id)
            continue
        digest = hashlib.sha256(f"{service.route}|{service.name}".encode()).hexdigest()
        candidate = 100_000_000 + int(digest[:12], 16) % 100_000_000
        while candidate in taken:
            candidate += 1
        taken.add(candidate)
        ids.append(candidate)
    return ids


def _parent_id(
    service: ServiceSeed, by_key: Mapping[tuple[str, str], int], by_name: Mapping[str, list[int]]
) -> int | None:
    if service.parent is None:
        return None
    if service.parent.route is not None:
        return by_key[(service.parent.route, service.parent.name)]
    return by_name[service.parent.name][0]  # the seed reader checked it is unambiguous


def _seeded(
    service: ServiceSeed,
    service_id: int,
    parent_id: int | None,
    now: datetime,
    *,
    refuses_empty: bool,
    renew_modes: Sequence[str],
    retention: int,
) -> Service:
    product = PRODUCTS[service.route]
    periods = tuple(service.periods or product.periods)
    period = service.renew_period or (
        product.default_period if product.default_period in periods else periods[0]
    )
    expiration = int(service.expires.resolve(now).timestamp())
    now_s = int(now.timestamp())
    if service.created is not None:
        created = int(service.created.resolve(now).timestamp())
    else:
        created = min(add_months(expiration, -period_months(period)), now_s - 86400)
    engagement = (
        int(service.engagement_ends.resolve(now).timestamp()) if service.engagement_ends else None
    )
    terminate_at = {"none": None, "at_expiry": expiration, "at_engagement": engagement}[
        service.termination
    ]
    lifecycle, resource, gone = {
        "active": ("active", "active", False),
        "suspended": ("active", "suspended", False),
        "expired": ("unrenewed", "suspended", False),
        "terminated": ("terminated", "deleted", True),
    }[service.state]
    purge_at = None
    if service.state == "terminated" and retention and expiration + retention > now_s:
        # terminated at its expiry, and still within its retention period: listed
        gone, resource, purge_at = False, product.retention_state, expiration + retention
    terminated = service.state == "terminated"
    engaged = engagement is not None
    return Service(
        id=service_id,
        name=service.name,
        route=service.route,
        organization=service.organization,
        display_name=service.display_name or service.name,
        parent_id=parent_id,
        plan_code=service.plan or product.plan_code,
        description=service.description or product.description,
        price=_monthly_price(service, period),
        created=created,
        expiration=expiration,
        anniversary_day=local_day(expiration),
        renew_mode=service.renew_mode,
        renew_period=period,
        periods=periods,
        termination=service.termination if not terminated else "none",
        terminate_at=terminate_at if not terminated else None,
        engagement_end=engagement,
        end_strategy=(service.engagement_strategy or DEFAULT_END_STRATEGY) if engaged else None,
        end_strategies=(
            tuple(service.engagement_strategies or DEFAULT_POSSIBLE_STRATEGIES) if engaged else None
        ),
        engagement_months=(
            period_months(service.engagement_duration or DEFAULT_ENGAGEMENT_DURATION)
            if engaged
            else None
        ),
        default_price=service.default_price,
        refuses_empty=refuses_empty or service.refuses_empty,
        renew_modes=tuple(renew_modes or product.renew_modes),
        contact_admin=service.contact_admin,
        contact_tech=service.contact_tech,
        contact_billing=service.contact_billing,
        retention=retention,
        purge_at=purge_at,
        pricing=service.pricing.to_json() if service.pricing else None,
        lifecycle=lifecycle,
        resource_state=resource,
        unpaid=service.unpaid,
        terminated_at=expiration if terminated else None,
        gone=gone,
    )


def _monthly_price(service: ServiceSeed, period: str) -> float:
    """The price per month the sandbox keeps (and scales when the period changes): a
    seeded renewal price spread over its period, else the seed's or product's price."""
    pricing = service.pricing
    if pricing is not None and pricing.value is not None:
        return pricing.value / period_months(pricing.duration or period)
    if service.price is not None:
        return service.price
    return PRODUCTS[service.route].monthly_price
