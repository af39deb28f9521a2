"""The middleware and the plugin: a sandbox answer that breaks OVH's schemas fails the
test that caused it, with the route, the field path and what was expected; a known
divergence does not; what is not the API passes through untouched."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.locate import REPOSITORY_ROOT
from conformance.middleware import ConformanceChecked, Exchange, Finding, judge_exchange
from conformance.operations import ApiSchemas

SERVICE_ID = 120000201


class FakeSandbox:
    """An ASGI app answering fixed JSON per path, with an attribute to reach through."""

    def __init__(self, answers: dict[str, tuple[int, Any]], *, drop: bool = False) -> None:
        self.answers = answers
        self.drop = drop
        self.backend = "the backend"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        status, body = self.answers.get(scope["path"], (404, {"message": "no route"}))
        payload = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status, "headers": []})
        if self.drop:
            await send({"type": "http.response.body", "body": payload[:3], "more_body": True})
            raise ConnectionResetError("dropped")
        await send({"type": "http.response.body", "body": payload})


def exchange(app: Any, method: str, path: str, body: Any = None, **headers: str) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return await client.request(method, path, json=body, headers=headers)

    return asyncio.run(run())


def test_a_bad_answer_is_reported_before_it_is_sent(eu: ApiSchemas) -> None:
    seen: list[tuple[Exchange, list[Finding]]] = []
    inner = FakeSandbox({f"/1.0/services/{SERVICE_ID}/renewPeriodCapacities": (200, ["1M"])})
    app = ConformanceChecked(inner, eu, lambda e, f, s: seen.append((e, f)))
    answer = exchange(app, "GET", f"/1.0/services/{SERVICE_ID}/renewPeriodCapacities")
    assert answer.json() == ["1M"]  # the answer itself is untouched
    [(judged, findings)] = seen
    assert judged.path == f"/services/{SERVICE_ID}/renewPeriodCapacities"
    assert [str(f) for f in findings] == [
        f"GET /services/{SERVICE_ID}/renewPeriodCapacities "
        "(/services/{serviceId}/renewPeriodCapacities) answered 200: answer: "
        '[0]: expected an ISO 8601 duration such as P1M, got "1M"'
    ]
    assert app.backend == "the backend"  # the wrapped app stays reachable


def test_what_is_not_the_api_is_not_judged(eu: ApiSchemas) -> None:
    seen: list[Any] = []
    app = ConformanceChecked(FakeSandbox({"/sandbox/clock": (200, {"x": 1})}), eu,
                             lambda e, f, s: seen.append(f))  # fmt: skip
    assert exchange(app, "GET", "/sandbox/clock").json() == {"x": 1}
    assert seen == []


def test_a_dropped_connection_is_still_dropped(eu: ApiSchemas) -> None:
    inner = FakeSandbox({"/1.0/services": (200, [1])}, drop=True)
    app = ConformanceChecked(inner, eu, lambda e, f, s: None)
    with pytest.raises(ConnectionResetError):
        exchange(app, "GET", "/1.0/services")


def judged(
    eu: ApiSchemas, method: str, path: str, status: int, answer: Any, **kw: Any
) -> list[str]:
    found = judge_exchange(
        eu,
        Exchange(
            method=method,
            path=path,
            request_headers=kw.get("headers", {}),
            request_body=json.dumps(kw["body"]).encode() if "body" in kw else b"",
            status=status,
            response_body=json.dumps(answer).encode(),
        ),
    )
    return [f"{f.kind}: {f.violations[0]}" for f in found]


def test_the_kinds_of_findings(eu: ApiSchemas) -> None:
    assert judged(eu, "GET", "/services", 200, [1, 2]) == []
    assert judged(eu, "DELETE", "/services/1", 200, None) == [
        "route: the value: expected an operation OVH publishes (OVH answers 404: no such "
        "route), got DELETE /services/1"
    ]
    assert judged(eu, "DELETE", "/services/1", 404, {"message": "Got an invalid URL"}) == []
    assert judged(eu, "GET", "/services/1", 404, "gone") == [
        'error: the value: expected OVH\'s error {message, ...}, got "gone"'
    ]
    assert judged(eu, "GET", "/services/abc/options", 200, []) == [
        'path: {serviceId}: expected an integer (long), got "abc"'
    ]
    assert judged(
        eu,
        "POST",
        "/services/1/terminate/confirm",
        200,
        {"message": "ok"},
        body={"token": "t", "reason": "OTHER"},
    ) == [  # fmt: skip
        "body: reason: expected no such field (not in "
        "services.terminate.ConfirmServiceTerminationRequest), got one"
    ]
    page = judged(eu, "GET", "/services", 200, [1], headers={"x-pagination-mode": "x"})
    assert page == ["answer: [0]: expected an object services.expanded.Service, got 1"]
    assert judged(eu, "GET", "/vps/vps-1.vps.ovh.net/serviceInfos", 200, "anything") == []


PLUGIN_TEST = """
import asyncio, json
import httpx

class Fake:
    def __init__(self, answers):
        self.answers = answers
    async def __call__(self, scope, receive, send):
        await receive()
        status, body = self.answers[scope["path"]]
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})

def call(app, path):
    async def run():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
            return await client.get(path)
    return asyncio.run(run())

def test_breaks_the_schemas(sandbox_conformance):
    app = sandbox_conformance(Fake({"/1.0/services/7/renewPeriodCapacities": (200, ["1M"])}))
    assert call(app, "/1.0/services/7/renewPeriodCapacities").status_code == 200

def test_only_a_known_divergence(sandbox_conformance):
    me = {"nichandle": "ab12345-ovh", "email": "a@example.com", "country": "FR",
          "currency": {"code": "EUR", "symbol": "EURO"}, "ovhSubsidiary": "FR",
          "state": "complete"}
    app = sandbox_conformance(Fake({"/1.0/me": (200, me)}))
    assert call(app, "/1.0/me").status_code == 200

def test_conforms(sandbox_conformance):
    app = sandbox_conformance(Fake({"/1.0/services": (200, [1, 2])}))
    assert call(app, "/1.0/services").status_code == 200
"""


def test_the_plugin_fails_the_test_that_caused_a_violation(eu: ApiSchemas, tmp_path: Path) -> None:
    (tmp_path / "test_uses_the_sandbox.py").write_text(textwrap.dedent(PLUGIN_TEST))
    environ = {**os.environ, "PYTHONPATH": str(REPOSITORY_ROOT / "tests")}  # the same copy
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conformance.plugin", "-q", "-p", "no:cacheprovider",
         "-o", "addopts=", "-W", "ignore", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, env=environ, timeout=300, check=False,
    )  # fmt: skip
    out = result.stdout
    assert result.returncode == 1, out
    assert "1 failed, 2 passed" in out, out
    assert "FAILED test_uses_the_sandbox.py::test_breaks_the_schemas" in out
    assert (
        "GET /services/7/renewPeriodCapacities (/services/{serviceId}/renewPeriodCapacities) "
        'answered 200: answer: [0]: expected an ISO 8601 duration such as P1M, got "1M"'
    ) in out
    assert "known divergences seen: me-fields" in out
