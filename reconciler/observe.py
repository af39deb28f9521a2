"""Reading the live account: the API calls of the observe layer (the parsing is pure, in
``reconciler.core.live``).

``read_account`` reads every service of the account — with Iceberg pages when the API
offers them, else the list of ids and one concurrent ``GET /services/{id}`` each — and,
concurrently, the renewal periods offered by the services that need them (a spec that
sets a ``period``), since that costs one call per service.

Both long reads — the listing, one page or one id at a time, and the periods — tell the
client's ``read_progress`` (a terminal's one line, ``reconciler.cli.common``) how far
they are; without one they say nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Collection
from typing import TYPE_CHECKING, Any

from reconciler.core.lifecycle import Lifecycle
from reconciler.core.live import LiveAccount, LiveService, parse_service
from reconciler.core.periods import InvalidPeriod, normalise_period
from reconciler.errors import ApiError, NotFound, ServiceExpired
from reconciler.ovh.client import OvhClient, ReadStrategy, gather_all, gather_pair

if TYPE_CHECKING:
    from reconciler.core.spec import Spec

SERVICES = "/services"


async def read_account(
    client: OvhClient,
    *,
    periods_for: Collection[int | str] = (),
    strategy: ReadStrategy | None = None,
) -> LiveAccount:
    """Every service of the account, as one ``LiveAccount`` (built once).

    ``periods_for`` names the services whose offered periods to read
    (``GET /services/{id}/renewPeriodCapacities``): service ids are read concurrently
    with the listing; names (what a spec knows) as soon as the listing has given their
    ids. Services not on the account are ignored. ``strategy`` overrides the client's
    (``ReadStrategy.PER_ID`` forces per-id reads).
    """
    ids = {item for item in periods_for if isinstance(item, int) and not isinstance(item, bool)}
    names = {item for item in periods_for if isinstance(item, str)}

    async def listing() -> list[LiveService]:
        return await client.read_collection(SERVICES, parse_service, strategy=strategy)

    async def periods_by_id() -> dict[int, tuple[str, ...] | None]:
        return await _offered_periods(client, ids)

    services, offered = await gather_pair(listing(), periods_by_id())
    account = LiveAccount.from_services(_unique(services))
    if names:
        more = {s.service_id for s in account.services if s.name in names} - offered.keys()
        offered.update(await _offered_periods(client, more))
    return account.with_offered_periods(offered)


async def read_for_specs(
    client: OvhClient,
    specs: Collection[Spec],
    *,
    listed: Awaitable[LiveAccount] | None = None,
    nichandle: Awaitable[str] | None = None,
) -> LiveAccount:
    """The account as planning ``specs`` needs it (``plan`` and ``apply`` both read it so):
    every service, then the offered periods of the services whose spec asks another
    period than their own (``planner.periods_to_read``). A spec that states every
    service's own period (one written by ``reconciler import``) costs no call per service,
    and the periods are read after the listing either way, so this adds no round trip.
    ``listed``: the listing (``read_account(client)``) when it is already under way
    (``plan`` starts it before its specs are parsed); ``nichandle``: ``key_nichandle``
    already under way, used only if a spec deletes."""
    listing = listed if listed is not None else read_account(client)
    deletes = any(
        wanted.lifecycle is Lifecycle.DELETE_NOW for spec in specs for wanted in spec.services
    )
    if deletes:  # whose key this is, beside the listing: the rules compare it with admins
        whose = nichandle if nichandle is not None else key_nichandle(client)
        account, handle = await gather_pair(listing, whose)
        account = account.with_nichandle(handle)
    else:
        account = await listing
    # The planner (and deepdiff under it) is loaded once the account is read, not
    # before the first request (docs/performance.md).
    from reconciler.core.planner import periods_to_read

    ids = sorted({i for spec in specs for i in periods_to_read(spec, account)})
    return await with_offered_periods(client, account, ids)


ME = "/me"


async def key_nichandle(client: OvhClient) -> str:
    """``GET /me`` ``nichandle``: the account the key acts for. A deletion's e-mail goes
    to the service's administrator contact, so a spec that deletes needs to know it."""
    me = await client.get(ME)
    nichandle = me.get("nichandle") if isinstance(me, dict) else None
    if not isinstance(nichandle, str) or not nichandle:
        raise ApiError(f"GET {ME}: the answer has no nichandle; cannot tell whose key this is")
    return nichandle


async def with_offered_periods(
    client: OvhClient, account: LiveAccount, ids: Collection[int]
) -> LiveAccount:
    """``account`` with the ``offered_periods`` of the services ``ids`` read
    (``GET /services/{id}/renewPeriodCapacities``, concurrently): for callers that know
    which services need them only once the account is read (``planner.periods_to_read``).
    Ids not on the account, or no longer, are left as they are."""
    wanted = {i for i in ids if account.by_id(i) is not None}
    if not wanted:
        return account
    return account.with_offered_periods(await _offered_periods(client, wanted))


def _unique(services: list[LiveService]) -> list[LiveService]:
    """One service per id (pages of a list that moved while it was read may overlap)."""
    seen: dict[int, LiveService] = {}
    for service in services:
        seen.setdefault(service.service_id, service)
    return list(seen.values())


async def _offered_periods(
    client: OvhClient, ids: Collection[int]
) -> dict[int, tuple[str, ...] | None]:
    # One call per service: on a large account the longest read after the listing, so it
    # says how far it is where the client is asked to (a terminal).
    progress = client.read_progress("renewal periods") if client.read_progress and ids else None

    async def one(service_id: int) -> tuple[str, ...] | None:
        path = f"{SERVICES}/{service_id}/renewPeriodCapacities"
        try:
            answer = await client.get(path)
        except (NotFound, ServiceExpired):  # not (or no longer) a live service: no periods
            return None
        finally:
            if progress is not None:
                progress.advance()
        return _parse_periods(answer, path)

    ordered = sorted(ids)
    if progress is not None:
        progress.total(len(ordered))
    try:
        found = await gather_all(one(service_id) for service_id in ordered)
    finally:
        if progress is not None:
            progress.finish()
    return dict(zip(ordered, found, strict=True))


def _parse_periods(answer: Any, path: str) -> tuple[str, ...]:
    if not isinstance(answer, list) or not all(isinstance(p, str) for p in answer):
        raise ApiError(
            f"OVH API GET {path} answered an unexpected shape: a list of periods was expected",
            hint="run with --debug and report it",
            method="GET",
            path=path,
        )
    periods: list[str] = []
    for text in answer:
        try:
            periods.append(normalise_period(text))
        except InvalidPeriod:
            periods.append(text)  # kept as the API says; no spec period can equal it
    return tuple(dict.fromkeys(periods))
