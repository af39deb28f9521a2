"""A read of the account builds it once (issue 12): ``LiveAccount`` indexes its
services (by id, by name, the children of each id) in one pass, and what a plan adds
after the listing — whose key it is, the offered periods of the services a spec moves
to another period — is added to that account without indexing it again.

Counted, not timed: a spy on ``AccountIndex.build`` counts the passes."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator

import pytest
from ovh_fakes import FakeApi, json_response, make_client, service_json

from reconciler.core.lifecycle import Lifecycle
from reconciler.core.live import AccountIndex, LiveAccount, LiveService
from reconciler.core.spec import ServiceSpec, Spec, UnmanagedPolicy
from reconciler.observe import read_for_specs


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[LiveService, ...]]]:
    """The services of every ``AccountIndex`` built while the test runs."""
    built: list[tuple[LiveService, ...]] = []
    real: Callable[[tuple[LiveService, ...]], AccountIndex] = AccountIndex.build

    def counting(services: tuple[LiveService, ...]) -> AccountIndex:
        built.append(services)
        return real(services)

    monkeypatch.setattr(AccountIndex, "build", staticmethod(counting))
    yield built


def spec(*entries: ServiceSpec) -> Spec:
    return Spec(unmanaged=UnmanagedPolicy.REPORT, services=entries, source="spec.yaml")


RENEW = ServiceSpec(key="a.example.com", name="a.example.com", lifecycle=Lifecycle.RENEW)
# Another period than its own (P12M): its offered periods are read after the listing.
MONTHLY = ServiceSpec(
    key="a.example.com", name="a.example.com", lifecycle=Lifecycle.RENEW, period="P1M"
)
# A deletion: whose key this is (GET /me) is read beside the listing.
DELETE = ServiceSpec(key="b.example.com", name="b.example.com", lifecycle=Lifecycle.DELETE_NOW)


def read(*entries: ServiceSpec) -> LiveAccount:
    api = FakeApi(
        [
            service_json(1, "a.example.com"),
            service_json(2, "b.example.com", parent=1),
            service_json(3, "c.example.com", parent=1),
        ]
    )
    api.queue("GET", "/me", json_response({"nichandle": "xx1234-ovh"}))

    async def go() -> LiveAccount:
        async with make_client(api) as client:
            return await read_for_specs(client, [spec(*entries)])

    return asyncio.run(go())


@pytest.mark.parametrize(
    "entries",
    [(RENEW,), (MONTHLY,), (DELETE,), (MONTHLY, DELETE)],
    ids=["listing-only", "offered-periods", "nichandle", "periods-and-nichandle"],
)
def test_a_plan_read_builds_the_account_once(
    builds: list[tuple[LiveService, ...]], entries: tuple[ServiceSpec, ...]
) -> None:
    """Before, the account was built again for the nichandle and again for the offered
    periods: 1, 2, 2 and 3 times for these four specs. Now once each."""
    account = read(*entries)
    assert len(builds) == 1
    assert builds[0] is account.services  # the index is the returned account's own
    # ...and what was added after the listing is there, on that one account
    assert account.child_ids(1) == (2, 3)
    assert (account.offered_periods(1) is not None) is (MONTHLY in entries)
    assert (account.nichandle == "xx1234-ovh") is (DELETE in entries)


def test_copies_keep_the_index_until_the_services_change(
    builds: list[tuple[LiveService, ...]],
) -> None:
    account = read(RENEW)
    assert len(builds) == 1
    with_key = account.with_nichandle("xx1234-ovh").with_offered_periods({1: ("P1M",)})
    copied = dataclasses.replace(with_key, nichandle=None)
    assert len(builds) == 1 and copied.offered_periods(1) == ("P1M",)
    # Other services: a new index, never the old one (whose children would be stale).
    (parent, first, _second) = account.services
    fewer = dataclasses.replace(copied, services=(parent, first))
    assert len(builds) == 2
    assert fewer.child_ids(1) == (2,) and fewer.by_id(3) is None


def test_offered_periods_only_of_services_on_the_account() -> None:
    """None (no periods: the service is not, or no longer, live) and ids not on the
    account add nothing; an empty tuple is a fact (it offers none)."""
    account = read(RENEW).with_offered_periods({1: (), 2: None, 99: ("P1M",)})
    assert account.offered_periods(1) == ()
    assert account.offered_periods(2) is None and account.offered_periods(99) is None
    assert dict(account.offered) == {1: ()}
