"""Iceberg pages of a big account: every service once, in id order, whatever the depth,
and a deep page costs what the first one costs.

The cost is counted, not timed: SQLite calls a progress handler every few virtual-machine
instructions, so the count of calls is the work a request did, the same on every run and
every machine. Reading a page by ``OFFSET`` over the rows (sorting them all first) made
the last page of 3,000 services cost thirty times the first one; the covering index and
the keyset read keep them alike.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.sandbox import open_state, parse_seed
from reconciler.sandbox.backend import Backend
from reconciler.sandbox.testing import SANDBOX_EPOCH

SERVICES, SIZE = 3000, 100
BIG_ACCOUNT = f"""\
services:
  - {{count: {SERVICES // 2}, name: 'site-{{n:05d}}.example.com', route: /hosting/web,
     expires_in: [1d, 365d]}}
  - {{count: {SERVICES // 2}, name: 'shop-{{n:05d}}.example.com', route: /domain,
     expires_in: [1d, 365d]}}
"""


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    folder = tmp_path_factory.mktemp("pages")
    backend = open_state(Path(folder) / "sandbox.db", seed=parse_seed(BIG_ACCOUNT, "big.yaml"))
    backend.set_clock(SANDBOX_EPOCH)
    yield backend
    backend.close()


def work(backend: Backend, **page: int) -> int:
    """How much SQLite work ``services_page`` does (progress-handler calls)."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0  # go on

    backend._db.set_progress_handler(count, 100)
    try:
        backend.services_page(size=SIZE, **page)
    finally:
        backend._db.set_progress_handler(None, 100)
    return steps


def test_every_page_holds_its_services_in_id_order(big: Backend) -> None:
    every = big.service_ids()
    pages = [big.services_page(size=SIZE, number=n) for n in range(1, SERVICES // SIZE + 2)]
    seen = [s["serviceId"] for page in pages for s in page.items]
    assert seen == every and len(seen) == SERVICES
    assert pages[-1].items == [] and all(p.total == SERVICES for p in pages)
    # A route's listing pages through its own services only, deep pages too.
    hostings = big.service_ids(routes=["/hosting/web"])
    deep = big.services_page(size=SIZE, number=12, routes=["/hosting/web"])
    assert [s["serviceId"] for s in deep.items] == hostings[11 * SIZE : 12 * SIZE]
    assert big.services_page(size=SIZE, offset=2950).next_cursor is None


def forget_listings(backend: Backend) -> None:
    """A change of a listed field (even to the same value) makes every listing new."""
    backend._db.execute("UPDATE services SET name = name WHERE id = ?", (backend.service_ids()[0],))


def test_a_deep_page_costs_what_the_first_costs(big: Backend) -> None:
    # Page after page, as reconciler and the panel read: each starts after the last id
    # of the one before, and the total is counted once.
    forget_listings(big)
    costs = [work(big, number=n) for n in range(1, SERVICES // SIZE + 1)]
    assert costs[0] > 0
    assert max(costs) < costs[0] * 1.25, costs
    # A change that no listing shows keeps what is remembered.
    big.update_service(big.service_ids()[0], {"displayName": "not a listing change"})
    assert work(big, number=SERVICES // SIZE) < costs[0] * 1.25
    # A page asked out of order, with nothing remembered, walks the covering index once
    # more than the first page does (to count), never the rows.
    forget_listings(big)
    cold_first = work(big, number=1)
    forget_listings(big)
    cold_last = work(big, number=SERVICES // SIZE)
    assert cold_last < cold_first * 2, (cold_first, cold_last)


def test_a_change_between_pages_is_seen_by_the_next_page(tmp_path: Path) -> None:
    """The remembered page boundaries hold only while no service comes, goes or moves,
    whoever writes the state (here, another connection to the same file)."""
    seed = (
        "services:\n  - {count: 30, name: 's{n:02d}.example.com', route: /domain, expires_in: 9d}\n"
    )
    backend = open_state(tmp_path / "sandbox.db", seed=parse_seed(seed, "small.yaml"))
    try:
        ids = backend.service_ids()
        assert [s["serviceId"] for s in backend.services_page(size=10).items] == ids[:10]
        other = sqlite3.connect(tmp_path / "sandbox.db")
        with other:
            other.execute("UPDATE services SET gone = 1 WHERE id = ?", (ids[3],))
        other.close()
        second = backend.services_page(size=10, number=2)
        assert [s["serviceId"] for s in second.items] == ids[11:21]
        assert second.total == 29
    finally:
        backend.close()


def test_a_new_seed_between_pages_is_seen_by_the_next_page(tmp_path: Path) -> None:
    seed = (
        "services:\n  - {count: 30, name: 's{n:02d}.example.com', route: /domain, expires_in: 9d}\n"
    )
    backend = open_state(tmp_path / "sandbox.db", seed=parse_seed(seed, "small.yaml"))
    try:
        assert backend.services_page(size=10).total == 30
        backend.load_seed(parse_seed(seed.replace("count: 30", "count: 12"), "smaller.yaml"))
        second = backend.services_page(size=10, number=2)
        assert second.total == 12 and len(second.items) == 2
        assert [s["serviceId"] for s in second.items] == backend.service_ids()[10:]
    finally:
        backend.close()
