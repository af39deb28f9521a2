"""One live service built by hand, for the tests that judge a plan or a rule against a
single service of a known state (approval, the plan/apply agreement, access rules):
they used to write the same ``LiveService`` constructor each, with its derived fields
(family from the type, the termination date of a pending termination)."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.core.lifecycle import LiveLifecycle
from reconciler.core.live import LiveService, family_of

EXPIRY = datetime(2027, 3, 1, tzinfo=UTC)


def live_service(
    service_id: int,
    name: str,
    *,
    type: str = "domain",
    lifecycle: LiveLifecycle = LiveLifecycle.RENEW,
    mode: str = "automatic",
    period: str = "P12M",
    expiration: datetime = EXPIRY,
    route_url: str | None = None,
) -> LiveService:
    """``name`` as the account shows it: renewed ``mode`` every ``period`` until
    ``expiration``, terminated then when ``lifecycle`` says so."""
    pending = lifecycle is LiveLifecycle.TERMINATE_AT_EXPIRY
    return LiveService(
        service_id=service_id,
        name=name,
        display_name=name,
        type=type,
        family=family_of(type),
        lifecycle=lifecycle,
        expiration=expiration,
        renew_mode=mode,
        renew_period=period,
        termination_date=expiration if pending else None,
        route_url=route_url,
    )
