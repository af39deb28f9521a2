"""A scripted OVH API, itself a recording transport (``tests/fakes.py``), for the
client's unit tests.

``FakeApi`` answers ``/auth/time``, ``/services`` (Iceberg pages or a list of ids),
``/services/{id}`` and ``/services/{id}/renewPeriodCapacities`` from a list of service
JSON objects; ``queue()`` scripts the next answers of one route (responses or transport
exceptions) to test errors and retries. It records every request and the highest number
of requests in flight at once (``peak``).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import httpx
from fakes import FakeSleep, RecordingTransport

from reconciler.clock import ManualClock
from reconciler.endpoints import Endpoint, resolve_endpoint
from reconciler.ovh.client import OvhClient, RetryPolicy
from reconciler.ovh.credentials import SignatureCredentials

SERVER_TIME = 1_800_000_000  # 2027-01-15T08:00:00Z
Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def service_json(
    service_id: int,
    name: str | None = None,
    *,
    route: str = "/hosting/web/{serviceName}",
    parent: int | None = None,
    expiration: str | None = "2027-03-01T00:00:00Z",
    mode: str = "automatic",
    period: str | None = "P12M",
    state: str = "active",
    termination: str | None = None,
) -> dict[str, Any]:
    name = name or f"s{service_id}.example.com"
    return {
        "serviceId": service_id,
        "parentServiceId": parent,
        "route": {"path": route, "url": route.replace("{serviceName}", name), "vars": []},
        "resource": {
            "name": name,
            "displayName": name,
            "state": "active",
            "product": {"name": "p", "description": "Product"},
        },
        "billing": {
            "expirationDate": expiration,
            "plan": {"code": "plan", "invoiceName": "Plan"},
            "lifecycle": {
                "current": {"state": state, "terminationDate": termination, "pendingActions": []},
                "capacities": {"actions": ["terminateAtExpirationDate"]},
            },
            "renew": {"current": {"mode": mode, "period": period}, "capacities": {"mode": []}},
        },
    }


class FakeApi(RecordingTransport):
    """The scripted API and its transport: every request recorded (``requests``,
    ``paths()``), ``yields`` event-loop turns per answer so that calls overlap, and
    ``peak`` the most requests in flight at once."""

    def __init__(
        self,
        services: Iterable[dict[str, Any]] = (),
        *,
        iceberg: bool = True,
        server_time: int = SERVER_TIME,
        max_page_size: int | None = None,
        yields: int = 0,
    ) -> None:
        super().__init__(self._answer, yields=yields)
        self.services = list(services)
        self.iceberg = iceberg
        self.server_time = server_time
        self.max_page_size = max_page_size
        self.periods: dict[int, list[str]] = {}
        self.scripted: dict[tuple[str, str], deque[Answer]] = defaultdict(deque)

    def transport(self) -> FakeApi:
        return self

    def queue(self, method: str, path: str, *answers: Answer) -> None:
        """The next answers of ``method path`` (path under /1.0, without query string)."""
        self.scripted[(method, path)].extend(answers)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """Records and answers ``request``: for tests whose handler wraps this API."""
        return await self.handle_async_request(request)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/1.0")
        script = self.scripted.get((request.method, path))
        if script:
            answer = script.popleft()
            if isinstance(answer, Exception):
                raise answer
            if isinstance(answer, httpx.Response):
                return answer
            return answer(request)
        if path == "/auth/time":
            return json_response(self.server_time)
        if request.method == "GET" and path == "/services":
            return self.listing(request)
        found = re.fullmatch(r"/services/(\d+)(/renewPeriodCapacities)?", path)
        if request.method == "GET" and found:
            service = self._by_id(int(found[1]))
            if service is None:
                return json_response({"message": "The requested object does not exist"}, 404)
            if found[2]:
                return json_response(self.periods.get(int(found[1]), ["P1M", "P12M"]))
            return json_response(service)
        if request.method in ("PUT", "POST", "DELETE"):
            return httpx.Response(204)
        return json_response({"message": f"Got an invalid (or empty) URL: {path}"}, 404)

    def _by_id(self, service_id: int) -> dict[str, Any] | None:
        return next((s for s in self.services if s["serviceId"] == service_id), None)

    def listing(self, request: httpx.Request) -> httpx.Response:
        mode = request.headers.get("X-Pagination-Mode")
        if not self.iceberg or mode != "CachedObjectList-Pages":
            return json_response([s["serviceId"] for s in self.services])
        size = int(request.headers["X-Pagination-Size"])
        if self.max_page_size is not None:
            size = min(size, self.max_page_size)
        number = int(request.headers["X-Pagination-Number"])
        page = self.services[(number - 1) * size : number * size]
        return json_response(
            page,
            headers={
                "X-Pagination-Elements": str(len(self.services)),
                "X-Pagination-Size": str(size),
                "X-Pagination-Number": str(number),
            },
        )


def json_response(
    data: Any, status: int = 200, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


CREDENTIALS = SignatureCredentials(
    application_key="test-ak", application_secret="test-as-secret", consumer_key="test-ck-secret"
)


def make_client(
    api: RecordingTransport,
    *,
    endpoint: Endpoint | None = None,
    sleep: FakeSleep | None = None,
    clock: ManualClock | None = None,
    retry: RetryPolicy | None = None,
    random: Callable[[], float] = lambda: 1.0,
    **options: Any,
) -> OvhClient:
    return OvhClient(
        endpoint or resolve_endpoint("ovh-eu"),
        options.pop("credentials", CREDENTIALS),
        transport=api,
        sleep=sleep or FakeSleep(),
        clock=clock or ManualClock(datetime(2027, 1, 15, 7, 59, 0, tzinfo=UTC)),
        retry=retry,
        random=random,
        **options,
    )
