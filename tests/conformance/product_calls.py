"""Every call reconciler makes, taken from the product's own code, not written down here.

Two sources, one value (``ProductCall``):

- ``planned_calls()``: the calls of every action of every golden planner case
  (``tests/planner/cases/*.yaml``), read through ``calls_of(action)`` — the one place to
  change when actions carry typed steps instead of ``Call`` values;
- ``observed_calls()``: every request reconciler's client sends while it reads the demo
  account (Iceberg pages and per-id reads, the renewal periods), plans a spec with
  every kind of action, and applies it — the deletion flow and its e-mail reads
  included — and again with a token given on the command line. Recorded at the
  transport, so nothing the product sends escapes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fakes import FakeSleep, RecordingTransport

from conformance.operations import NO_BODY, parse_body
from reconciler.apply import ApplyOptions, apply_approved
from reconciler.clock import ManualClock
from reconciler.core.plan import Action
from reconciler.core.planner import make_plan
from reconciler.core.spec import Spec, parse_spec
from reconciler.endpoints import Endpoint
from reconciler.observe import read_for_specs
from reconciler.ovh.client import OvhClient, ReadStrategy
from reconciler.ovh.credentials import SignatureCredentials
from reconciler.sandbox import DEMO_CREDENTIALS, ManualWallClock, create_app, open_state
from reconciler.sandbox.testing import SANDBOX_EPOCH

PLANNER_CASES = Path(__file__).resolve().parents[1] / "planner"

# Every action kind on the demo account: a termination at expiry, a cancellation, a
# renewal made manual, a new period, a deletion now.
EVERY_KIND = """\
version: 1
unmanaged: ignore
services:
  example.net: {type: domain, lifecycle: terminate_at_expiry}
  old-brand.fr: {type: domain, lifecycle: renew}
  example.com: {type: domain, lifecycle: renew, mode: manual}
  example.com (hosting/web): {name: example.com, type: hosting/web, lifecycle: renew, mode: manual}
  vps-1a2b3c4d.vps.ovh.net: {type: vps, lifecycle: renew, period: P12M}
  old-shop.example.org: {type: hosting/web, lifecycle: delete_now}
"""
SHOP = "old-shop.example.org"
DELETE_SHOP = """\
version: 1
unmanaged: ignore
services:
  old-shop.example.org: {type: hosting/web, lifecycle: delete_now}
"""


@dataclass(frozen=True, slots=True)
class ProductCall:
    method: str
    path: str  # under /1.0, decoded
    body: Any  # NO_BODY when none
    source: str  # where it comes from, for messages

    @property
    def shown(self) -> str:
        body = "" if self.body is NO_BODY else f" {json.dumps(self.body, sort_keys=True)}"
        return f"{self.method} {self.path}{body} ({self.source})"


def calls_of(action: Action) -> tuple[tuple[str, str, Any], ...]:
    """``(method, path, body)`` of each call an action makes. Today ``Action.calls``;
    when actions carry typed steps, read them here (and only here)."""
    return tuple(
        (call.method, call.path, NO_BODY if call.body is None else call.body)
        for call in action.calls
    )


def planned_calls() -> list[ProductCall]:
    """The calls of every action of every golden planner case."""
    if str(PLANNER_CASES) not in sys.path:  # as pytest itself imports that folder
        sys.path.insert(0, str(PLANNER_CASES))
    from test_planner_golden import CASES, load_case, plan_for

    found = []
    for path in CASES:
        plan = plan_for(load_case(path))
        for action in plan.actions:
            for method, call_path, body in calls_of(action):
                source = f"plan {path.stem}: {action.action.value} {action.service}"
                found.append(ProductCall(method, call_path, body, source))
    return found


class _Recorder(RecordingTransport):
    """The sandbox in-process; every request reconciler sends is kept, as a product call
    of the phase running. Each yields to the loop first, as a real exchange does."""

    def __init__(self, app: Any, phase: list[str], calls: list[ProductCall]) -> None:
        super().__init__(httpx.ASGITransport(app=app), yields=1)
        self.phase = phase  # the phase running (last), for messages
        self.product_calls = calls

    async def answer(self, request: httpx.Request) -> httpx.Response:
        body = parse_body(await request.aread())
        path = request.url.path.removeprefix("/1.0") or "/"
        self.product_calls.append(ProductCall(request.method, path, body, self.phase[-1]))
        return await super().answer(request)


def observed_calls() -> list[ProductCall]:
    """Every request reconciler sends to read, plan and apply on the demo account."""
    calls: list[ProductCall] = []
    asyncio.run(_observe(calls))
    return calls


class _Account:
    """A fresh demo account in memory, and reconciler's client on it, recorded."""

    def __init__(self, calls: list[ProductCall], phase: list[str]) -> None:
        self.wall = ManualWallClock(SANDBOX_EPOCH)
        self.backend = open_state(":memory:", wall=self.wall)
        self.recorder = _Recorder(create_app(self.backend), phase, calls)
        self.clock = ManualClock(self.wall.now())
        self.sleep = FakeSleep(self.clock, self.wall)

    def client(self, **options: Any) -> OvhClient:
        return OvhClient(
            Endpoint(name="sandbox", base_url="http://sandbox.invalid/1.0"),
            SignatureCredentials(**DEMO_CREDENTIALS),
            transport=self.recorder,
            clock=self.clock,
            sleep=self.sleep,
            random=lambda: 0.5,
            **options,
        )

    async def apply(
        self, text: str, options: ApplyOptions, journal: Path, *, endpoint: str = "sandbox"
    ) -> None:
        async with self.client() as api:
            wanted = _spec(text)
            account = await read_for_specs(api, [wanted])
            plan = make_plan(wanted, account, now=api.api_clock().now(), endpoint=endpoint)
            await apply_approved(
                plan,
                api,
                journal_path=journal,
                plan_digest="sha256:" + "0" * 64,
                source="spec.yaml",
                options=options,
                sleep=self.sleep,
            )


def _spec(text: str) -> Spec:
    return parse_spec(text.encode("utf-8"), "spec.yaml")


async def _observe(calls: list[ProductCall]) -> None:
    phase = ["observe"]
    with tempfile.TemporaryDirectory() as folder:
        journal = Path(folder) / "journal.jsonl"
        first = _Account(calls, phase)
        try:
            for strategy in (ReadStrategy.AUTO, ReadStrategy.PER_ID):
                phase.append(f"observe ({strategy.value})")
                async with first.client(read_strategy=strategy, page_size=4) as api:
                    await read_for_specs(api, [_spec(EVERY_KIND)])
            phase.append("apply (every kind of action)")
            await first.apply(EVERY_KIND, ApplyOptions(), journal)
        finally:
            first.backend.close()
        second = _Account(calls, phase)
        try:
            phase.append("apply (delete_now with --token)")
            shop = next(s for s in second.backend.internal_services() if s["name"] == SHOP)
            token = _request_token(second.backend, shop["serviceId"])
            # Planned as for ovh-us, where the shop's plan code (perso2023, outside the
            # panel's list) is confirmed on the legacy route: that call is sent too.
            await second.apply(
                DELETE_SHOP, ApplyOptions(tokens={SHOP: token}), journal, endpoint="ovh-us"
            )
        finally:
            second.backend.close()


def _request_token(backend: Any, service_id: int) -> str:
    """A token obtained out of band (as a user who asked in the control panel)."""
    backend.request_termination(service_id)
    for email in reversed(backend.emails()):
        body = str(email.get("body", ""))
        marker = f"id={service_id}&token="
        if marker in body:
            return body.split(marker, 1)[1].split()[0].rstrip(".,;\"'<>)")
    raise LookupError(f"no termination e-mail for service {service_id}")


def distinct(calls: list[ProductCall]) -> Iterator[ProductCall]:
    """One call per method, path and body (the first source seen)."""
    seen: set[str] = set()
    for call in calls:
        key = json.dumps([call.method, call.path, None if call.body is NO_BODY else call.body])
        if key not in seen:
            seen.add(key)
            yield call
