"""Request bodies, judged by OVH's schemas, per operation the sandbox serves: the valid
body generated from the operation's body type is accepted, and each body the schema
refuses (``bodies.invalid_bodies``: an unknown field, a wrong type, a value outside an
enum, a null, a missing required field...) is refused as OVH refuses it — 400 with
OVH's error shape — and changes nothing.

Bodies the sandbox accepts are judged on every exchange as well (``middleware``): the
scenarios and the whole suite fail on an accepted body the schema refuses.

Each operation has a ``Target``: the account state and the path where its valid body
succeeds, and the values the schema cannot know (a real token, the body just read).
A served operation with a body and no target fails ``test_every_operation_has_a_target``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance.bodies import invalid_bodies, valid_body
from conformance.locate import schema_folder
from conformance.operations import NO_BODY, ApiSchemas, Operation, load_regions, template_shape
from conformance.sandbox_routes import served_routes
from conformance.scenarios import SEEDED_CASES, Account, Record
from conformance.signed import Answer
from reconciler.sandbox import parse_seed


@dataclass(frozen=True, slots=True)
class Prepared:
    path: str
    hints: Mapping[str, Any] = field(default_factory=dict)
    signed: bool = True
    service_id: int | None = None  # the service whose state must not move


Prepare = Callable[[Account], Prepared]


def _service(account: Account, name: str, route: str) -> dict[str, Any]:
    return account.service(name, route)


def _put_service(account: Account) -> Prepared:
    domain = _service(account, "example.com", "/domain")
    return Prepared(f"/services/{domain['serviceId']}", {"displayName": "conformance"},
                    service_id=domain["serviceId"])  # fmt: skip


def _end_rule(account: Account) -> Prepared:
    server = _service(account, "ns3012345.ip-51-75-10.eu", "/dedicated/server")  # engaged
    return Prepared(f"/services/{server['serviceId']}/billing/engagement/endRule",
                    {"strategy": "STOP_ENGAGEMENT_KEEP_PRICE"},
                    service_id=server["serviceId"])  # fmt: skip


def _termination(*, legacy: bool, confirmed: bool) -> Prepare:
    """The termination of an ordinary hosting on /services or on its legacy route: its
    request, or (``confirmed``) its confirmation with the token the request e-mailed."""

    def prepare(account: Account) -> Prepared:
        shop = _service(account, "old-shop.example.org", "/hosting/web")
        base = shop["route"]["url"] if legacy else f"/services/{shop['serviceId']}"
        request = f"{base}/terminate"
        if not confirmed:
            return Prepared(request, service_id=shop["serviceId"])
        account.call("POST", request)
        token = account.token_for(shop["serviceId"])
        confirm = f"{base}/confirmTermination" if legacy else f"{request}/confirm"
        return Prepared(confirm, {"token": token}, service_id=shop["serviceId"])

    return prepare


def _service_infos(template: str) -> Prepare:
    """A PUT of the object just read (what clients do), on an active service of the
    route: the demo account's, or the seeded cases' when the demo has none."""

    def prepare(account: Account) -> Prepared:
        for attempt in range(2):
            for service in account.services():
                route = service.get("route") or {}
                state = service["billing"]["lifecycle"]["current"]["state"]
                shape = template_shape(str(route.get("path", "")) + "/serviceInfos")
                if shape == template_shape(template) and state == "active":
                    path = f"{route['url']}/serviceInfos"
                    current = account.call("GET", path).body
                    return Prepared(path, {"": current}, service_id=service["serviceId"])
            if attempt == 0:
                account.backend.load_seed(parse_seed(SEEDED_CASES, "<conformance seed>"))
                account.api.resync()
        raise LookupError(f"no active service for {template} in the demo or the seeded cases")

    return prepare


def _credential(account: Account) -> Prepared:
    rules = [{"method": "GET", "path": "/services/*"}]
    return Prepared("/auth/credential", {"accessRules": rules}, signed=False)


TARGETS: dict[str, Prepare] = {
    "PUT /services/{serviceId}": _put_service,
    "PUT /services/{serviceId}/billing/engagement/endRule": _end_rule,
    "POST /services/{serviceId}/terminate": _termination(legacy=False, confirmed=False),
    "POST /services/{serviceId}/terminate/confirm": _termination(legacy=False, confirmed=True),
    "POST /hosting/web/{serviceName}/terminate": _termination(legacy=True, confirmed=False),
    "POST /hosting/web/{serviceName}/confirmTermination": _termination(legacy=True, confirmed=True),
    "POST /auth/credential": _credential,
}


def _operations(eu: ApiSchemas) -> list[Operation]:
    """The served operations that take a body (or refuse one: every POST and PUT)."""
    found = []
    for route in served_routes():
        op = eu.find(route.method, route.template)
        if op is not None and op.method in ("POST", "PUT"):
            found.append(op)
    return found


def _target(op: Operation) -> Prepare | None:
    if op.key in TARGETS:
        return TARGETS[op.key]
    if op.method == "PUT" and op.template.endswith("/serviceInfos"):
        return _service_infos(op.template)
    return None


@dataclass(frozen=True, slots=True)
class AcceptedToday:
    """Cases where the sandbox accepts a body OVH's schema refuses, today: each case
    whose id (``<operation> <case>``) both patterns match in full is a strict xfail —
    the day the sandbox refuses it, the case fails until the pattern stops matching."""

    operations: str
    cases: str
    reason: str

    def covers(self, op: Operation, case: str) -> bool:
        return bool(re.fullmatch(self.operations, op.key) and re.fullmatch(self.cases, case))


_SERVICE_INFOS = r"PUT /(hosting/web|domain|domain/zone)/\{\w+\}/serviceInfos"
ACCEPTED_TODAY = (
    AcceptedToday(
        _SERVICE_INFOS,
        r"(\(body\)|renew): unknown",
        "the sandbox ignores fields services.Service does not have; OVH refuses them",
    ),
    AcceptedToday(
        _SERVICE_INFOS,
        r"(canDeleteAtExpiration|contact(Admin|Billing|Tech)|creation|domain|engagedUpTo"
        r"|expiration|possibleRenewPeriod(\[\])?|renewalType|serviceId|status): .*",
        "the sandbox ignores the read-only fields of a PUT serviceInfos whatever their "
        "type; services.Service types each of them",
    ),
    AcceptedToday(
        r"POST /auth/credential",
        r"accessRules\[\]: unknown|allowedIPs(\[\])?: type",
        "the sandbox stores allowedIPs unchecked and ignores unknown fields of an access "
        "rule; auth.ApiCredentialRequestParams has ipBlock[] and auth.AccessRuleRequest "
        "only method and path",
    ),
    AcceptedToday(
        r"POST /(services/\{serviceId\}|hosting/web/\{serviceName\})/terminate",
        r"\(no body expected\): unknown",
        "the sandbox ignores a body on terminate; the operation takes none",
    ),
)


def _load() -> ApiSchemas | None:
    folder = schema_folder()
    return load_regions(folder).get("eu") if folder is not None else None


_EU = _load()
_OPERATIONS = _operations(_EU) if _EU is not None else []
_NO_SCHEMAS = pytest.mark.skip(reason="OVH's published schemas not found (see the eu fixture)")


def _invalid_params() -> Iterator[Any]:
    if _EU is None:
        yield pytest.param(None, None, marks=_NO_SCHEMAS, id="no-schemas")
        return
    for op in _OPERATIONS:
        for case in invalid_bodies(_EU, op, valid_body(_EU, op)):
            case_id = f"{op.key} {case.name}"
            marks = [
                pytest.mark.xfail(strict=True, reason=accepted.reason)
                for accepted in ACCEPTED_TODAY
                if accepted.covers(op, case.name)
            ][:1]
            yield pytest.param(op, case.name, marks=marks, id=case_id)


def _call(account: Account, op: Operation, prepared: Prepared, body: Any) -> Answer:
    raw = None if body is NO_BODY else body
    return account.api.call(op.method, prepared.path, raw, signed=prepared.signed)


def _footprint(account: Account, prepared: Prepared) -> Any:
    """What a call could change: the account's services as the sandbox keeps them, the
    target as the API shows it, and the e-mails sent."""
    shown = None
    if prepared.service_id is not None:
        shown = account.call("GET", f"/services/{prepared.service_id}").body
    return (account.backend.internal_services(), shown, account.backend.email_ids())


@pytest.fixture
def account(eu: ApiSchemas) -> Iterator[Account]:
    opened = Account(eu, Record("bodies"))
    try:
        yield opened
    finally:
        opened.close()


def test_every_operation_has_a_target(eu: ApiSchemas) -> None:
    missing = [op.key for op in _operations(eu) if _target(op) is None]
    assert missing == [], "served operations whose bodies are not tested: add a target"


@pytest.mark.parametrize(
    "op",
    [pytest.param(op, id=op.key) for op in _OPERATIONS] or [pytest.param(None, marks=_NO_SCHEMAS)],
)
def test_the_valid_body_is_accepted(eu: ApiSchemas, account: Account, op: Operation) -> None:
    target = _target(op)
    assert target is not None
    prepared = target(account)
    body = valid_body(eu, op, prepared.hints)
    assert eu.body_violations(op, body) == [], "the generated body is valid"
    answer = _call(account, op, prepared, body)
    assert answer.status < 300, f"{op.key} refused a valid body: {answer.status} {answer.body}"


@pytest.mark.parametrize(("op", "name"), list(_invalid_params()))
def test_a_body_the_schema_refuses_is_refused(
    eu: ApiSchemas, account: Account, op: Operation, name: str
) -> None:
    target = _target(op)
    assert target is not None
    prepared = target(account)
    valid = valid_body(eu, op, prepared.hints)
    case = {c.name: c for c in invalid_bodies(eu, op, valid)}[name]
    assert eu.body_violations(op, case.body) != [], "the generated body is invalid"
    before = _footprint(account, prepared)
    answer = _call(account, op, prepared, case.body)
    after = _footprint(account, prepared)
    assert answer.status == 400, f"{op.key} answered {answer.status} to {name}: {answer.body}"
    assert isinstance(answer.body, dict) and isinstance(answer.body.get("message"), str)
    assert answer.body["message"].strip(), "OVH's error says what is wrong"
    assert str(answer.body.get("class", "Client::BadRequest")).startswith("Client::")
    assert after == before, "a refused body changes nothing"


def test_every_rule_of_accepted_today_marks_a_case(eu: ApiSchemas) -> None:
    """A rule that matches no generated case is stale: remove it."""
    cases = [
        (op, case.name)
        for op in _operations(eu)
        for case in invalid_bodies(eu, op, valid_body(eu, op))
    ]
    stale = [r.reason for r in ACCEPTED_TODAY if not any(r.covers(op, n) for op, n in cases)]
    assert stale == []
