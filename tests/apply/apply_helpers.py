"""Helpers of the apply tests: the in-process sandbox behind a transport that injects
precise faults, a client whose clock and sleep are manual, and short-cuts to plan and
apply against it. Nothing here sleeps: time moves only when a test (or the fake sleep
the client and apply are given) moves it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from apply_runs import apply_in_process
from fakes import FakeSleep, RecordingTransport

from reconciler.apply import ApplyOptions, ApplyReport
from reconciler.clock import ManualClock
from reconciler.core.plan import Plan
from reconciler.core.planner import make_plan
from reconciler.core.spec import Spec, parse_spec
from reconciler.endpoints import Endpoint
from reconciler.journal import read_journal
from reconciler.observe import read_for_specs
from reconciler.ovh.client import OvhClient
from reconciler.ovh.credentials import SignatureCredentials
from reconciler.sandbox.testing import InProcessSandbox

ENDPOINT = Endpoint(name="sandbox", base_url="http://sandbox.invalid/1.0")
DEMO = SignatureCredentials(
    application_key="demo-ak", application_secret="demo-as", consumer_key="demo-ck"
)
SECRETS = ("demo-as", "demo-ck")


@dataclass
class Fault:
    method: str
    path: str  # under /1.0, exact
    kind: str  # error | answer | drop | timeout | hook | hide-emails
    times: int | None = 1  # None: always
    status: int = 503
    hook: Callable[[], None] | None = None
    body: Any = None  # answer: the JSON answered instead of the request


class FaultTransport(RecordingTransport):
    """The sandbox in-process, every request recorded, with faults aimed at one route at
    a time:

    - ``error``: an error answer *instead of* the request (nothing changes);
    - ``answer``: ``body`` with ``status`` instead of the request (nothing changes);
    - ``drop``: the request is processed, then the connection drops (the change *is* made);
    - ``timeout``: the same, as a read timeout;
    - ``hook``: runs ``hook()`` before the request is processed (another process acting);
    - ``hide-emails``: the e-mail history answers ``[]`` (the mail has not arrived).
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        # The in-process app never suspends; a real exchange does: yield to the loop, so
        # that concurrent actions interleave (and can be cancelled) as they would.
        super().__init__(inner, yields=1)
        self.faults: list[Fault] = []

    def add(self, method: str, path: str, kind: str, **options: Any) -> Fault:
        fault = Fault(method, path, kind, **options)
        self.faults.append(fault)
        return fault

    async def answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/1.0")
        fault = next(
            (
                f
                for f in self.faults
                if f.method == request.method and f.path == path and (f.times is None or f.times)
            ),
            None,
        )
        if fault is None:
            return await self.inner.handle_async_request(request)
        if fault.times is not None:
            fault.times -= 1
        if fault.kind == "error":
            return httpx.Response(
                fault.status,
                json={"message": "injected failure", "class": "Server::InternalServerError"},
                headers={"X-Ovh-Queryid": "TEST.injected.1"},
            )
        if fault.kind == "answer":
            return httpx.Response(
                fault.status, json=fault.body, headers={"X-Ovh-Queryid": "TEST.answer.1"}
            )
        if fault.kind == "hook":
            assert fault.hook is not None
            fault.hook()
            return await self.inner.handle_async_request(request)
        response = await self.inner.handle_async_request(request)
        await response.aread()
        if fault.kind == "drop":
            raise httpx.RemoteProtocolError("injected: connection dropped mid-response")
        if fault.kind == "timeout":
            raise httpx.ReadTimeout("injected: read timed out")
        if fault.kind == "hide-emails":
            return httpx.Response(200, json=[], headers={"X-Ovh-Queryid": "TEST.hidden"})
        raise AssertionError(f"unknown fault kind {fault.kind}")


@dataclass
class Rig:
    """One in-process sandbox, a faulty transport over it, manual clocks, a journal."""

    sandbox: InProcessSandbox
    journal: Path
    transport: FaultTransport = field(init=False)
    clock: ManualClock = field(init=False)
    sleep: FakeSleep = field(init=False)

    def __post_init__(self) -> None:
        self.transport = FaultTransport(httpx.ASGITransport(app=self.sandbox.app))
        self.clock = ManualClock(self.sandbox.clock.now())
        self.sleep = FakeSleep(self.clock, self.sandbox.clock, limit=10_000)

    def client(self, **options: Any) -> OvhClient:
        return OvhClient(
            ENDPOINT,
            DEMO,
            transport=self.transport,
            clock=self.clock,
            sleep=self.sleep,
            random=lambda: 0.5,
            **options,
        )

    def advance(self, delta: timedelta) -> None:
        """Time passes for the account and for the client alike."""
        self.clock.advance(delta)
        self.sandbox.clock.advance(delta)

    def spec(self, text: str) -> Spec:
        return parse_spec(text.encode("utf-8"), "spec.yaml")

    def plan(self, spec: Spec) -> Plan:
        async def planned() -> Plan:
            async with self.client() as client:
                account = await read_for_specs(client, [spec])
                return make_plan(spec, account, now=client.api_clock().now(), endpoint="sandbox")

        return asyncio.run(planned())

    def apply(
        self,
        plan: Plan,
        *,
        options: ApplyOptions | None = None,
        client_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> ApplyReport:
        async def applied() -> ApplyReport:
            async with self.client(**(client_options or {})) as client:
                return await apply_in_process(
                    plan,
                    client,
                    self.journal,
                    sleep=self.sleep,
                    options=options,
                    **kwargs,
                )

        return asyncio.run(applied())

    def service(self, service_id: int) -> dict[str, Any]:
        """The service in the sandbox's own words (terminated ones included)."""
        for service in self.sandbox.backend.internal_services():
            if service["serviceId"] == service_id:
                return service
        raise KeyError(service_id)

    def termination_emails(self, name: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.sandbox.backend.emails()
            if "Termination request" in e["subject"] and name in e["subject"]
        ]

    def journal_text(self) -> str:
        return self.journal.read_text(encoding="utf-8") if self.journal.exists() else ""

    def records(self, **match: Any) -> list[Any]:
        found = []
        for record in read_journal(self.journal, missing_ok=True).records:
            if all(getattr(record, k) == v for k, v in match.items()):
                found.append(record)
        return found


def make_rig(sandbox: InProcessSandbox, tmp_path: Path) -> Rig:
    """The demo account in-process, its clock standing at the sandbox epoch until a test
    (or a fake sleep) moves it, and a fresh journal."""
    return Rig(sandbox=sandbox, journal=tmp_path / "state" / "journal.jsonl")
