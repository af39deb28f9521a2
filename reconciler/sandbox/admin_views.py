"""The sandbox's own views of an account, for its admin side (``admin_routes.py``), the
command line and tests: every service as the sandbox sees it (terminated ones included),
every e-mail with the account it went to, and a summary of the state.

Pure: each view is built from what the store holds; the backend runs it inside one of its
operations (the lock, one transaction, the account settled up to now), so a view shows
what time has done. These are the sandbox's words, not OVH's (``responses.py``).
"""

from __future__ import annotations

from typing import Any

from reconciler.sandbox import responses
from reconciler.sandbox.clock import ClockState, render_utc
from reconciler.sandbox.mail import Email
from reconciler.sandbox.services import Service
from reconciler.sandbox.store import Store


def services(store: Store) -> list[dict[str, Any]]:
    """``GET /sandbox/services``: every service, terminated ones included."""
    return [internal_service(service) for service in store.services()]


def internal_service(service: Service) -> dict[str, Any]:
    """A service in the sandbox's own words, terminated ones included (``GET
    /sandbox/services``: for tests and users checking what a rehearsal did)."""
    return {
        "serviceId": service.id,
        "name": service.name,
        "route": service.route,
        "lifecycle": "terminated" if service.gone else service.lifecycle,
        "resourceState": service.resource_state,
        "expiration": render_utc(service.expiration),
        "renew": {"mode": service.renew_mode, "period": service.renew_period},
        "termination": service.termination,
        "terminatedAt": render_utc(service.terminated_at) if service.terminated_at else None,
        "unpaid": service.unpaid,
        "parentServiceId": service.parent_id,
    }


def emails(sent: list[Email], nichandle: str) -> list[dict[str, Any]]:
    """``GET /sandbox/emails``: every e-mail as OVH shows it, with the account it was sent
    to (``to``)."""
    return [{**responses.email(email), "to": email.sent_to(nichandle)} for email in sent]


def summary(store: Store, clock: ClockState) -> dict[str, Any]:
    """``GET /sandbox``: the seed the state came from, its services still listed, the
    clock."""
    return {
        "seed": store.meta("seed_source"),
        "seed_digest": store.meta("seed_digest"),
        "services": store.count_services("gone = 0"),
        "clock": clock.to_json(),
    }
