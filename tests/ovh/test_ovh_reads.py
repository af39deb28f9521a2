"""Reading many services: Iceberg pages fetched concurrently, the per-id fallback, the
concurrency bound (measured: the most requests in flight at once), and the observe layer
on top of them."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from ovh_fakes import FakeApi, json_response, make_client, service_json

from reconciler.core.live import LiveAccount, LiveService, parse_service
from reconciler.errors import ApiError, NotFound, RouteNotFound, ServerError
from reconciler.observe import read_account
from reconciler.ovh.client import OvhClient, ReadStrategy, gather_all


def many(n: int, start: int = 1000) -> list[dict[str, Any]]:
    return [service_json(start + i) for i in range(n)]


def read(api: FakeApi, **options: Any) -> list[LiveService]:
    strategy = options.pop("strategy", None)

    async def go() -> list[LiveService]:
        async with make_client(api, **options) as client:
            return await client.read_collection("/services", parse_service, strategy=strategy)

    return asyncio.run(go())


def pages_asked(api: FakeApi) -> list[tuple[str, str]]:
    return [
        (r.headers["X-Pagination-Number"], r.headers["X-Pagination-Size"])
        for r in api.requests
        if r.url.path == "/1.0/services" and "X-Pagination-Mode" in r.headers
    ]


def test_iceberg_reads_every_page_in_order() -> None:
    api = FakeApi(many(2500))
    services = read(api, page_size=1000)
    assert [s.service_id for s in services] == list(range(1000, 3500))
    assert sorted(pages_asked(api)) == [("1", "1000"), ("2", "1000"), ("3", "1000")]
    assert api.paths() == ["/auth/time"] + ["/services"] * 3  # no per-id read at all
    first = next(r for r in api.requests if r.url.path == "/1.0/services")
    assert first.headers["X-Pagination-Mode"] == "CachedObjectList-Pages"


def test_iceberg_pages_after_the_first_are_fetched_concurrently() -> None:
    api = FakeApi(many(100), yields=3)
    read(api, page_size=10, concurrency=4)
    assert api.peak == 4  # 9 pages after the first, 4 at a time


def test_iceberg_exact_multiple_and_single_page_and_empty() -> None:
    api = FakeApi(many(2000))
    assert len(read(api, page_size=1000)) == 2000
    assert len(pages_asked(api)) == 2
    api = FakeApi(many(7))
    assert len(read(api)) == 7 and len(pages_asked(api)) == 1
    api = FakeApi([])
    assert read(api) == [] and len(pages_asked(api)) == 1


def test_iceberg_follows_a_page_size_capped_by_the_api() -> None:
    api = FakeApi(many(250), max_page_size=100)
    services = read(api, page_size=1000)
    assert len(services) == 250
    assert sorted(pages_asked(api)) == [("1", "1000"), ("2", "100"), ("3", "100")]


def test_without_pagination_headers_it_falls_back_to_per_id_reads() -> None:
    api = FakeApi(many(25), iceberg=False, yields=2)
    services = read(api, concurrency=5)
    assert [s.service_id for s in services] == list(range(1000, 1025))
    ids = sorted(p for p in api.paths("GET") if p.startswith("/services/"))
    assert ids == sorted(f"/services/{i}" for i in range(1000, 1025))
    assert api.paths().count("/services") == 1  # the ids list is the first answer itself
    assert api.peak == 5


def test_per_id_strategy_can_be_forced() -> None:
    api = FakeApi(many(12))
    services = read(api, strategy=ReadStrategy.PER_ID)
    assert len(services) == 12
    assert pages_asked(api) == []
    assert api.paths().count("/services") == 1
    api = FakeApi(many(3))
    assert len(read(api, read_strategy=ReadStrategy.PER_ID)) == 3 and pages_asked(api) == []


def test_per_id_skips_a_service_gone_since_the_listing() -> None:
    api = FakeApi(many(3), iceberg=False)
    api.queue("GET", "/services/1001", json_response({"message": "not found"}, 404))
    assert [s.service_id for s in read(api)] == [1000, 1002]


def test_per_id_reads_are_retried_one_by_one() -> None:
    api = FakeApi(many(3), iceberg=False)
    api.queue("GET", "/services/1002", json_response({"message": "busy"}, 503))
    assert len(read(api)) == 3
    assert api.paths().count("/services/1002") == 2


def test_a_failing_read_fails_the_whole_listing_with_its_own_error() -> None:
    api = FakeApi(many(20), iceberg=False)
    api.queue("GET", "/services/1005", *[json_response({"message": "down"}, 500)] * 10)
    with pytest.raises(ServerError, match="GET /services/1005"):
        read(api)


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (json_response({"services": []}), "a list was expected, got dict"),
        (json_response([1, "x", None]), "a list of ids was expected"),
        (
            json_response([], headers={"X-Pagination-Elements": "many"}),
            "X-Pagination-Elements is 'many'",
        ),
    ],
)
def test_malformed_listings_are_one_api_error(answer: httpx.Response, words: str) -> None:
    api = FakeApi()
    api.queue("GET", "/services", answer)
    with pytest.raises(ApiError, match=words):
        read(api)


def test_concurrency_bound_holds_for_every_call_of_a_client() -> None:
    api = FakeApi(many(60), iceberg=False, yields=5)

    async def go() -> None:
        async with make_client(api, concurrency=7) as client:
            await asyncio.gather(
                client.read_collection("/services", parse_service),
                client.read_each(
                    [f"/services/{i}/renewPeriodCapacities" for i in range(1000, 1030)]
                ),
            )

    asyncio.run(go())
    assert api.peak == 7


@pytest.mark.parametrize("concurrency", [1, 3, 10])
def test_concurrency_bound_is_reached_but_never_exceeded(concurrency: int) -> None:
    api = FakeApi(many(40), iceberg=False, yields=4)
    read(api, concurrency=concurrency)
    assert api.peak == concurrency


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError):
        make_client(FakeApi(), concurrency=0)


def test_gather_all_raises_the_error_itself_and_cancels_the_rest() -> None:
    cancelled: list[int] = []

    async def slow(i: int) -> int:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(i)
            raise
        return i

    async def fail() -> int:
        await asyncio.sleep(0)
        raise NotFound("gone", status=404, method="GET", path="/x")

    async def go() -> list[int]:
        return await gather_all([slow(1), fail(), slow(2)])

    with pytest.raises(NotFound):
        asyncio.run(go())
    assert sorted(cancelled) == [1, 2]


# -- the observe layer ---------------------------------------------------------------------


def observe(api: FakeApi, **kwargs: Any) -> LiveAccount:
    async def go() -> LiveAccount:
        client: OvhClient
        async with make_client(api) as client:
            return await read_account(client, **kwargs)

    return asyncio.run(go())


def test_read_account_links_children() -> None:
    api = FakeApi(
        [
            service_json(10, "example.com", route="/domain/{serviceName}"),
            service_json(11, "www.example.com", parent=10),
            service_json(12, "blog.example.com", parent=10),
        ]
    )
    account = observe(api)
    domain = account.by_id(10)
    assert domain is not None and domain.type == "domain"
    assert account.child_ids(10) == (11, 12)
    assert [s.name for s in account.children_of(domain)] == ["www.example.com", "blog.example.com"]


def test_read_account_reads_offered_periods_only_of_the_given_services() -> None:
    api = FakeApi(many(5))
    api.periods = {1001: ["P1M", "P12M"], 1003: ["P1Y", "P3M"]}
    account = observe(api, periods_for=[1001, "s1003.example.com", 424242])
    by_id = {s.service_id: account.offered_periods(s.service_id) for s in account.services}
    assert by_id == {
        1000: None,
        1001: ("P1M", "P12M"),
        1002: None,
        1003: ("P12M", "P3M"),
        1004: None,
    }
    asked = sorted(p for p in api.paths() if p.endswith("renewPeriodCapacities"))
    assert asked == [
        "/services/1001/renewPeriodCapacities",
        "/services/1003/renewPeriodCapacities",
        "/services/424242/renewPeriodCapacities",  # an id not on the account: a 404, ignored
    ]


def test_read_account_without_periods_makes_no_extra_call() -> None:
    api = FakeApi(many(3))
    observe(api)
    assert not any(p.endswith("renewPeriodCapacities") for p in api.paths())


def test_read_account_malformed_periods_is_an_api_error() -> None:
    api = FakeApi(many(1))
    api.queue("GET", "/services/1000/renewPeriodCapacities", json_response({"P1M": True}))
    with pytest.raises(ApiError, match="a list of periods was expected"):
        observe(api, periods_for=[1000])


def test_read_account_keeps_one_service_per_id() -> None:
    services = many(3)
    api = FakeApi(services + [services[1]])
    account = observe(api)
    assert [s.service_id for s in account.services] == [1000, 1001, 1002]


def test_read_account_with_forced_per_id_strategy() -> None:
    api = FakeApi(many(4))
    account = observe(api, strategy=ReadStrategy.PER_ID)
    assert len(account) == 4 and pages_asked(api) == []


def test_a_malformed_service_in_a_page_is_one_api_error() -> None:
    broken = service_json(1001)
    broken["billing"]["expirationDate"] = "next year"
    api = FakeApi([service_json(1000), broken])
    with pytest.raises(ApiError, match="service 1001: billing.expirationDate: not an ISO 8601"):
        observe(api)


def test_iceberg_pages_that_do_not_add_up_are_an_error() -> None:
    api = FakeApi(many(30))
    short = json_response(
        [service_json(1010 + i) for i in range(5)],
        headers={"X-Pagination-Elements": "30", "X-Pagination-Size": "10"},
    )
    api.queue("GET", "/services", api.listing)  # page 1 as is
    api.queue("GET", "/services", short)  # a short page 2
    with pytest.raises(ApiError, match="announced 30 objects .* pages held 25"):
        read(api, page_size=10, concurrency=1)


def test_offered_periods_of_an_expired_service_are_unknown() -> None:
    api = FakeApi(many(2))
    api.queue(
        "GET",
        "/services/1001/renewPeriodCapacities",
        json_response({"message": "This Service is expired"}, 460),
    )
    account = observe(api, periods_for=[1000, 1001])
    assert [account.offered_periods(s.service_id) for s in account.services] == [
        ("P1M", "P12M"),
        None,
    ]


# --- fresh reads (docs/control-panel.md §8.26) -------------------------------------------


def iceberg_requests(api: FakeApi) -> list[httpx.Request]:
    return [
        r
        for r in api.requests
        if r.url.path == "/1.0/services" and "X-Pagination-Mode" in r.headers
    ]


def test_every_iceberg_page_asks_for_fresh_data_with_an_explicit_size() -> None:
    api = FakeApi(many(25))
    read(api, page_size=10)
    pages = iceberg_requests(api)
    assert len(pages) == 3
    for request in pages:
        assert request.headers["Pragma"] == "no-cache"  # OVH caches listings server-side
        assert request.headers["X-Pagination-Size"] == "10"


def test_the_page_size_is_at_most_what_the_panel_asks() -> None:
    api = FakeApi(many(3))
    read(api, page_size=5000)
    assert [r.headers["X-Pagination-Size"] for r in iceberg_requests(api)] == ["5000"]
    with pytest.raises(ValueError, match="between 1 and 5000"):
        make_client(FakeApi(), page_size=5001)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"message": "Invalid pagination mode"}),
        (404, {"message": "Got an invalid (or empty) URL"}),
        (416, {"message": "Requested range not satisfiable"}),
    ],
)
def test_a_refused_listing_falls_back_to_per_id_reads(status: int, body: Any) -> None:
    api = FakeApi(many(4))
    api.queue("GET", "/services", json_response(body, status))
    services = read(api)
    assert [s.service_id for s in services] == [1000, 1001, 1002, 1003]
    listings = [r for r in api.requests if r.url.path == "/1.0/services"]
    assert len(listings) == 2
    assert "X-Pagination-Mode" in listings[0].headers  # refused
    assert "X-Pagination-Mode" not in listings[1].headers  # the plain list of ids
    assert sorted(p for p in api.paths() if p.startswith("/services/")) == [
        f"/services/{i}" for i in range(1000, 1004)
    ]


def test_a_listing_refused_for_the_keys_rights_is_said_not_worked_around() -> None:
    # A 403 on the paged listing is tried once as the plain list of ids (issue 14, the
    # panel's fallback); refused too, it is the error, and no id is read.
    api = FakeApi(many(4))
    refusal = json_response({"message": "not granted", "errorCode": "NOT_GRANTED_CALL"}, 403)
    api.queue("GET", "/services", refusal, refusal)
    with pytest.raises(ApiError, match="NOT_GRANTED_CALL"):
        read(api)
    assert [p for p in api.paths() if p.startswith("/services")] == ["/services", "/services"]


def test_a_missing_route_on_a_per_id_read_is_never_a_missing_service() -> None:
    api = FakeApi(many(3), iceberg=False)
    api.queue(
        "GET", "/services/1001", json_response({"message": "Got an invalid (or empty) URL"}, 404)
    )
    with pytest.raises(RouteNotFound):
        read(api)
