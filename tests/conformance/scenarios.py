"""Account states, and a drive over every route the sandbox serves in each of them, every
exchange judged by OVH's schemas (``middleware.judge_exchange``).

``drive(state, schemas)`` builds one account state in a fresh in-process sandbox — the
demo account as seeded, the demo after the changes the product makes (terminations
asked, cancelled, a renewal made manual, a commitment's end rule changed, both deletion
flows confirmed), the demo a year and more later, and a seeded account of the remaining
cases (manual renewal, commitments, a termination at the commitment's end, expired,
suspended, terminated, unpaid) — then calls every served route on every service it
applies to, and returns what was said: each ``Exchange`` with its findings.

Concrete paths come from the account itself (``GET /services/{id}``'s ``route.url``,
the e-mail ids), not from a list of names: a route is exercised wherever the account
gives it a value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from conformance.middleware import ConformanceChecked, Exchange, Finding
from conformance.operations import ApiSchemas, template_shape
from conformance.sandbox_routes import ServedRoute, served_routes
from conformance.signed import Answer, SignedApi
from reconciler.sandbox import ManualWallClock, create_app, open_state, parse_seed
from reconciler.sandbox.testing import SANDBOX_EPOCH

SEEDED_CASES = """\
account: {nichandle: cd54321-ovh, email: billing@example.com}
credentials:
  - {application_key: demo-ak, application_secret: demo-as, consumer_key: demo-ck}
services:
  - {name: manual.example.com, route: /domain, id: 130000001, expires_in: 60d,
     renew: {mode: manual, period: P12M}}
  - {name: ns1234567.ip-42-42-42.eu, route: /dedicated/server, id: 130000002,
     expires_in: 20d, renew: {mode: automatic, period: P1M}, engagement_ends_in: 200d}
  - {name: ns7654321.ip-42-42-42.eu, route: /dedicated/server, id: 130000003,
     expires_in: 20d, renew: {mode: automatic, period: P1M}, engagement_ends_in: 50d,
     termination: at_engagement}
  - {name: lapsed.example.net, route: /domain, id: 130000004, expires_in: -5d,
     renew: {mode: manual, period: P12M}, state: expired}
  - {name: paused.example.org, route: /hosting/web, id: 130000005, expires_in: 30d,
     state: suspended}
  - {name: gone.example.org, route: /hosting/web, id: 130000006, expires_in: -30d,
     state: terminated}
  - {name: vps-0a0b0c0d.vps.ovh.net, route: /vps, id: 130000007, expires_in: 9d,
     unpaid: true}
  - {name: example.com, route: /domain/zone, id: 130000008, expires_in: 100d,
     termination: at_expiry}
"""

_TOKEN = re.compile(r"confirmTerminate\?id=(\d+)&token=([A-Za-z0-9._~\-]+)")


@dataclass
class Record:
    """What a drive said: every exchange with its findings, in order."""

    state: str
    exchanges: list[tuple[Exchange, list[Finding]]] = field(default_factory=list)

    def report(self, exchange: Exchange, findings: list[Finding], seconds: float) -> None:
        self.exchanges.append((exchange, findings))

    @property
    def findings(self) -> Iterator[Finding]:
        for _, findings in self.exchanges:
            yield from findings


class Account:
    """A fresh in-process sandbox (the demo account, in memory, its clock stopped at
    ``SANDBOX_EPOCH``), every exchange judged into ``record``."""

    def __init__(self, schemas: ApiSchemas, record: Record) -> None:
        self.clock = ManualWallClock(SANDBOX_EPOCH)
        self.backend = open_state(":memory:", wall=self.clock)
        self.api = SignedApi(ConformanceChecked(create_app(self.backend), schemas, record.report))

    def close(self) -> None:
        self.api.close()
        self.backend.close()

    def call(self, method: str, path: str, body: Any = None, **options: Any) -> Answer:
        return self.api.call(method, path, body, **options)

    def services(self) -> list[dict[str, Any]]:
        ids = self.call("GET", "/services").body
        return [self.call("GET", f"/services/{i}").body for i in ids]

    def service(self, name: str, route: str) -> dict[str, Any]:
        for service in self.services():
            if service["resource"]["name"] == name and service["route"]["path"].startswith(route):
                return service
        raise LookupError(f"no {route} service {name} in this state")

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        self.api.resync()

    def token_for(self, service_id: int) -> str:
        """The newest e-mailed termination token of a service."""
        for email_id in sorted(self.call("GET", "/me/notification/email/history").body)[::-1]:
            body = self.call("GET", f"/me/notification/email/history/{email_id}").body["body"]
            for found_id, token in _TOKEN.findall(body):
                if int(found_id) == service_id:
                    return str(token)
        raise LookupError(f"no termination e-mail for service {service_id}")


# --- the states -------------------------------------------------------------------------


def _demo(account: Account) -> None:
    """The demo account as it is seeded."""


def _demo_changed(account: Account) -> None:
    """The changes the product makes, through the API as a client makes them."""
    for service in account.services():
        path = f"/services/{service['serviceId']}"
        actions = service["billing"]["lifecycle"]["capacities"]["actions"]
        if (
            "terminateAtExpirationDate" in actions
            and "terminateAtExpirationDate"
            not in (service["billing"]["lifecycle"]["current"]["pendingActions"])
        ):
            account.call("PUT", path, {"terminationPolicy": "terminateAtExpirationDate"})
    old_brand = account.service("old-brand.fr", "/domain")
    account.call("PUT", f"/services/{old_brand['serviceId']}", {"terminationPolicy": "empty"})
    vps = account.service("vps-1a2b3c4d.vps.ovh.net", "/vps")
    account.call("PUT", f"/services/{vps['serviceId']}", {"terminationPolicy": "empty"})
    account.call("PUT", f"/services/{vps['serviceId']}", {"renew": {"mode": "manual"}})
    server = account.service("ns3012345.ip-51-75-10.eu", "/dedicated/server")  # engaged
    account.call(
        "PUT",
        f"/services/{server['serviceId']}/billing/engagement/endRule",
        {"strategy": "STOP_ENGAGEMENT_KEEP_PRICE"},
    )
    shop = account.service("old-shop.example.org", "/hosting/web")  # the /services flow
    account.call("POST", f"/services/{shop['serviceId']}/terminate")
    token = account.token_for(shop["serviceId"])
    account.call("POST", f"/services/{shop['serviceId']}/terminate/confirm", {"token": token})
    hosting = account.service("example.com", "/hosting/web")  # the legacy flow
    account.call("POST", f"{hosting['route']['url']}/terminate")
    token = account.token_for(hosting["serviceId"])
    account.call(
        "POST",
        f"{hosting['route']['url']}/confirmTermination",
        {"token": token, "reason": "NOT_NEEDED_ANYMORE", "futureUse": "NOT_REPLACING_SERVICE"},
    )


def _demo_later(account: Account) -> None:
    """The demo a year and a half later: renewed, expired, terminated at expiry."""
    account.advance(timedelta(days=200))
    account.advance(timedelta(days=350))


def _seeded(account: Account) -> None:
    account.backend.load_seed(parse_seed(SEEDED_CASES, "<conformance seed>"))
    account.api.resync()


STATES: dict[str, Callable[[Account], None]] = {
    "demo": _demo,
    "demo-changed": _demo_changed,
    "demo-later": _demo_later,
    "seeded": _seeded,
}


# --- every route, wherever the account gives it a value ----------------------------------

_SUFFIXES = ("", "/serviceInfos", "/terminate", "/confirmTermination")
_UNKNOWN_ID = 999999999


def concrete_paths(
    route: ServedRoute, services: list[dict[str, Any]], email_ids: list[int]
) -> list[str]:
    """The paths of ``route`` in this account (a missing id too, for its error)."""
    template = route.template
    if "{" not in template:
        return [template]
    if template.startswith("/services/{"):
        ids = [s["serviceId"] for s in services] + [_UNKNOWN_ID]
        return [re.sub(r"\{\w+\}", str(i), template, count=1) for i in ids]
    if template.startswith("/me/notification/email/history/{"):
        return [template.replace(template[template.index("{") :], str(i)) for i in email_ids]
    shape = template_shape(template)
    found = []
    for service in services:
        route_info = service.get("route") or {}
        for suffix in _SUFFIXES:
            if template_shape(str(route_info.get("path", "")) + suffix) == shape:
                found.append(str(route_info["url"]) + suffix)
    return found


def _exercise(account: Account) -> None:
    services = account.services()
    email_ids = account.call("GET", "/me/notification/email/history").body
    routes = served_routes()
    for route in routes:
        if route.method != "GET":
            continue
        for path in concrete_paths(route, services, email_ids):
            account.call("GET", path)
    for mode in ("CachedObjectList-Pages", "CachedObjectList-Cursor"):
        headers = {"X-Pagination-Mode": mode, "X-Pagination-Size": "5"}
        page = account.call("GET", "/services", headers=headers)
        cursor = page.headers.get("x-pagination-cursor-next")
        if cursor:
            account.call("GET", "/services", headers={**headers, "X-Pagination-Cursor": cursor})
        account.call("GET", "/services", headers={**headers, "X-Pagination-Number": "2"})
    for route in routes:  # writes that change nothing: a PUT of what was read
        if route.method != "PUT":
            continue
        for path in concrete_paths(route, services, email_ids):
            current = account.call("GET", path)
            if current.status == 200 and path.endswith("/serviceInfos"):
                account.call("PUT", path, current.body)
            elif current.status == 200 and isinstance(current.body, dict):
                display = (current.body.get("resource") or {}).get("displayName")
                account.call("PUT", path, {"displayName": display})
    account.api.call(
        "POST",
        "/auth/credential",
        {"accessRules": [{"method": "GET", "path": "/services/*"}], "redirection": None},
        signed=False,
    )


def drive(state: str, schemas: ApiSchemas) -> Record:
    """One state, built then exercised on every route (see the module docstring)."""
    record = Record(state)
    account = Account(schemas, record)
    try:
        STATES[state](account)
        _exercise(account)
    finally:
        account.close()
    return record
