"""Plans for the renderer tests, made by the real planner: each maker plans services of
one row of ``CASES`` (a spec entry and the live service it meets) with ``make_plan`` and
returns what the planner emitted for them, so that a renderer test fails when the
planner's actions, refusals, drift or unmanaged services change shape. Keyword
arguments replace fields afterwards, for the few tests that need a value no account
gives (a hostile reason, an expiry at Paris midnight, a plan file's bare call)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

from planner.planner_helpers import DEFAULT_EXPIRY, live_account, spec_of
from pydantic import BaseModel

from reconciler.core.plan import (
    Action,
    ActionKind,
    DoneBefore,
    Drift,
    Plan,
    Refusal,
    Unmanaged,
)
from reconciler.core.planner import make_plan
from reconciler.core.spec import ServiceSpec

NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
EXPIRY = DEFAULT_EXPIRY


@dataclass(frozen=True)
class Case:
    """What a maker plans by default: a service, what the spec asks of it (None: it is
    not in the spec) and its live fields (``planner_helpers.live_service``'s; None: it
    has left the account after a deletion the journal saw done)."""

    name: str
    service_id: int
    spec: dict[str, Any] | None
    live: dict[str, Any] | None


CASES = {
    "terminate": Case("old-shop.example.com", 1001, {"lifecycle": "terminate_at_expiry"}, {}),
    "terminate_at_commitment_end": Case(
        "ns-old.example.com",
        1010,
        {"lifecycle": "terminate_at_commitment_end"},
        {"type": "dedicated/server", "period": "P1M", "commitment": {"end": "2027-08-01"}},
    ),
    "cancel": Case(
        "keep.example.com",
        1002,
        {"lifecycle": "renew"},
        {"type": "domain", "lifecycle": "terminate_at_expiry"},
    ),
    "delete": Case("legacy.example.net", 1003, {"lifecycle": "delete_now"}, {"period": "P1M"}),
    "set_renew": Case(
        "www.example.com",
        1004,
        {"lifecycle": "renew", "period": "P12M"},
        {"lifecycle": "manual_renew", "period": "P1M"},
    ),
    "no_op": Case("static.example.com", 1005, {"lifecycle": "renew"}, {"type": "domain"}),
    # An MX Plan cannot be terminated from here: the planner refuses it.
    "refusal": Case(
        "mail.example.com", 2001, {"lifecycle": "terminate_at_expiry"}, {"type": "email/mxplan"}
    ),
    "unmanaged": Case("forgotten.example.org", 3001, None, {"type": "domain"}),
    "gone": Case("old-shop.example.com", 1001, {"lifecycle": "delete_now"}, None),
}
GONE = DoneBefore(ActionKind.DELETE_NOW, "the journal saw it deleted")


@cache
def _entry(kind: str) -> ServiceSpec:
    """The spec entry of a case, checked by the spec's own rules under a stand-in name."""
    wanted = CASES[kind].spec
    assert wanted is not None, f"{kind} is not in the spec"
    (entry,) = spec_of({"services": {"stand-in.example": wanted}}).services
    return entry


def planned(rows: Iterable[tuple[str, str, int]]) -> Plan:
    """The planner's plan for services given as (case, name, id), in one account.

    The spec refuses names no DNS name has (a space, a newline, 300 characters); an
    account may still hold them and a renderer must survive them, so each entry is
    checked under a stand-in name and then given its own."""
    entries: list[ServiceSpec] = []
    live: list[dict[str, Any]] = []
    done: dict[str, DoneBefore] = {}
    for kind, name, service_id in rows:
        case = CASES[kind]
        if case.spec is not None:
            entries.append(_entry(kind).model_copy(update={"key": name, "name": name}))
        if case.live is None:
            done[name] = GONE
        else:
            live.append({**case.live, "id": service_id, "name": name})
    spec = spec_of({"unmanaged": "report"}).model_copy(update={"services": tuple(entries)})
    return make_plan(spec, live_account(live), now=NOW, endpoint="ovh-eu", done_before=done)


def _one(kind: str, name: str | None, service_id: int | None) -> Plan:
    case = CASES[kind]
    name = case.name if name is None else name
    return planned([(kind, name, case.service_id if service_id is None else service_id)])


Changed = TypeVar("Changed", bound=BaseModel)


def changed(model: Changed, kw: dict[str, Any]) -> Changed:
    """``model`` with the fields of ``kw`` changed, validated as the planner's values are
    (``model_copy(update=...)`` would skip validation: a UTC datetime kept in Paris)."""
    return type(model).model_validate({**dict(model), **kw})


def _action(kind: str, name: str | None, service_id: int | None, kw: dict[str, Any]) -> Action:
    made = _one(kind, name, service_id)
    assert len(made.actions) == 1, f"the planner made no {kind} action: {made.refused}"
    return changed(made.actions[0], kw)


def terminate(name: str | None = None, service_id: int | None = None, **kw: Any) -> Action:
    return _action("terminate", name, service_id, kw)


def terminate_at_commitment_end(
    name: str | None = None, service_id: int | None = None, **kw: Any
) -> Action:
    return _action("terminate_at_commitment_end", name, service_id, kw)


def cancel(name: str | None = None, service_id: int | None = None, **kw: Any) -> Action:
    return _action("cancel", name, service_id, kw)


def delete(name: str | None = None, service_id: int | None = None, **kw: Any) -> Action:
    return _action("delete", name, service_id, kw)


def set_renew(name: str | None = None, service_id: int | None = None, **kw: Any) -> Action:
    return _action("set_renew", name, service_id, kw)


def no_op(name: str | None = None, service_id: int | None = None, **kw: Any) -> Action:
    return _action("no_op", name, service_id, kw)


def gone(name: str | None = None, **kw: Any) -> Action:
    """The no-op of a spec entry whose deletion was done and that left the account."""
    return _action("gone", name, None, kw)


def refusal(name: str | None = None, **kw: Any) -> Refusal:
    (refused,) = _one("refusal", name, None).refused
    return changed(refused, kw)


def unmanaged(name: str | None = None, service_id: int | None = None, **kw: Any) -> Unmanaged:
    (found,) = _one("unmanaged", name, service_id).unmanaged
    return changed(found, kw)


def drift(name: str | None = None, **kw: Any) -> Drift:
    """The drift of a service the spec wants terminated at expiry and that renews."""
    (found,) = _one("terminate", name, None).drift
    return changed(found, kw)


def plan(
    actions: tuple[Action, ...] = (),
    refused: tuple[Refusal, ...] = (),
    *,
    drift: tuple[Drift, ...] = (),
    unmanaged: tuple[Unmanaged, ...] = (),
    **kw: Any,
) -> Plan:
    """A plan holding exactly the parts given (a renderer test picks them), its
    header as the planner writes it."""
    summary = {kind.value: sum(a.action is kind for a in actions) for kind in ActionKind}
    summary["refused"] = len(refused)
    fields: dict[str, Any] = dict(
        created_at=NOW,
        endpoint="ovh-eu",
        spec_source="prod.yaml",
        spec_digest="sha256:" + "12" * 32,
        live_fingerprint="sha256:" + "34" * 32,
        summary=summary,
        actions=actions,
        refused=refused,
        drift=drift,
        unmanaged=unmanaged,
    )
    fields.update(kw)
    return Plan(**fields)


def full_plan() -> Plan:
    """Every kind of action, a refusal, drift and unmanaged services."""
    return plan(
        (
            terminate(),
            terminate("blog.example.com", 1006),
            cancel(),
            delete(),
            set_renew(),
            no_op(),
        ),
        (refusal(),),
        drift=(drift(),),
        unmanaged=(unmanaged(),),
    )
