"""Hand-built plans for the renderer tests (the planner is tested on its own)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.core.plan import (
    Action,
    ActionKind,
    Call,
    Drift,
    Plan,
    Refusal,
    RuleCode,
    Unmanaged,
)

NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
EXPIRY = datetime(2027, 3, 1, tzinfo=UTC)
FINGERPRINT = "sha256:" + "ab" * 32


def terminate(name: str = "old-shop.example.com", service_id: int = 1001, **kw: Any) -> Action:
    fields: dict[str, Any] = dict(
        service=name,
        name=name,
        service_id=service_id,
        type="hosting/web",
        action=ActionKind.TERMINATE_AT_EXPIRY,
        before={"lifecycle": "renew", "period": "P12M"},
        after={"lifecycle": "terminate_at_expiry", "period": "P12M"},
        irreversible=False,
        reason="the spec asks to terminate at expiry; it renews automatically",
        calls=(
            Call(
                method="PUT",
                path=f"/services/{service_id}",
                body={"terminationPolicy": "terminateAtExpirationDate"},
            ),
        ),
        fingerprint=FINGERPRINT,
        expires_at=EXPIRY,
        expiration=EXPIRY,
    )
    fields.update(kw)
    return Action(**fields)


def terminate_at_commitment_end(
    name: str = "ns-old.example.com", service_id: int = 1010, **kw: Any
) -> Action:
    fields: dict[str, Any] = dict(
        service=name,
        name=name,
        service_id=service_id,
        type="dedicated/server",
        action=ActionKind.TERMINATE_AT_COMMITMENT_END,
        before={"lifecycle": "renew", "period": "P1M"},
        after={"lifecycle": "terminate_at_commitment_end", "period": "P1M"},
        irreversible=False,
        reason="terminated at the end of its commitment on 2027-08-01",
        calls=(
            Call(
                method="PUT",
                path=f"/services/{service_id}",
                body={"terminationPolicy": "terminateAtEngagementDate"},
            ),
        ),
        fingerprint=FINGERPRINT,
        expires_at=EXPIRY,
        expiration=EXPIRY,
    )
    fields.update(kw)
    return Action(**fields)


def cancel(name: str = "keep.example.com", service_id: int = 1002, **kw: Any) -> Action:
    fields: dict[str, Any] = dict(
        service=name,
        name=name,
        service_id=service_id,
        type="domain",
        action=ActionKind.CANCEL_TERMINATION,
        before={"lifecycle": "terminate_at_expiry", "period": None},
        after={"lifecycle": "renew", "period": "P12M"},
        irreversible=False,
        reason="the spec asks to keep renewing; a termination is pending",
        calls=(
            Call(method="PUT", path=f"/services/{service_id}", body={"terminationPolicy": "empty"}),
        ),
        fingerprint=FINGERPRINT,
        expires_at=EXPIRY - timedelta(hours=24),
        expiration=EXPIRY,
    )
    fields.update(kw)
    return Action(**fields)


def delete(name: str = "legacy.example.net", service_id: int = 1003, **kw: Any) -> Action:
    fields: dict[str, Any] = dict(
        service=name,
        name=name,
        service_id=service_id,
        type="hosting/web",
        action=ActionKind.DELETE_NOW,
        before={"lifecycle": "renew", "period": "P1M"},
        after={"lifecycle": "deleted", "period": None},
        irreversible=True,
        reason="the spec asks to delete it now",
        calls=(
            Call(method="POST", path=f"/hosting/web/{name}/terminate"),
            Call(
                method="POST",
                path=f"/hosting/web/{name}/confirmTermination",
                body={"token": "<token from e-mail>"},
            ),
        ),
        fingerprint=FINGERPRINT,
        expires_at=None,
        expiration=EXPIRY,
    )
    fields.update(kw)
    return Action(**fields)


def set_renew(name: str = "www.example.com", service_id: int = 1004, **kw: Any) -> Action:
    fields: dict[str, Any] = dict(
        service=name,
        name=name,
        service_id=service_id,
        type="hosting/web",
        action=ActionKind.SET_RENEW,
        before={"lifecycle": "manual_renew", "period": "P1M"},
        after={"lifecycle": "renew", "period": "P12M"},
        irreversible=False,
        reason="the spec asks for automatic renewal every 12 months",
        calls=(
            Call(
                method="PUT",
                path=f"/services/{service_id}",
                body={"renew": {"mode": "automatic", "period": "P12M"}},
            ),
        ),
        fingerprint=FINGERPRINT,
        expiration=EXPIRY,
    )
    fields.update(kw)
    return Action(**fields)


def no_op(name: str = "static.example.com", service_id: int = 1005, **kw: Any) -> Action:
    fields: dict[str, Any] = dict(
        service=name,
        name=name,
        service_id=service_id,
        type="domain",
        action=ActionKind.NO_OP,
        before={"lifecycle": "renew", "period": "P12M"},
        after={"lifecycle": "renew", "period": "P12M"},
        irreversible=False,
        reason="already renews automatically",
        fingerprint=FINGERPRINT,
        expiration=EXPIRY,
    )
    fields.update(kw)
    return Action(**fields)


def refusal(name: str = "mail.example.com", **kw: Any) -> Refusal:
    fields: dict[str, Any] = dict(
        service=name,
        service_id=2001,
        rule=RuleCode.UNMANAGEABLE_SERVICE,
        message=f"{name} is an MX Plan e-mail service; reconciler cannot terminate it",
        fix="manage it from its own interface, or remove it from the spec",
    )
    fields.update(kw)
    return Refusal(**fields)


def unmanaged(name: str = "forgotten.example.org", service_id: int = 3001, **kw: Any) -> Unmanaged:
    fields: dict[str, Any] = dict(
        name=name,
        service_id=service_id,
        type="domain",
        lifecycle="renew",
        expiration=EXPIRY,
    )
    fields.update(kw)
    return Unmanaged(**fields)


def drift(name: str = "old-shop.example.com", **kw: Any) -> Drift:
    fields: dict[str, Any] = dict(
        service=name, field="lifecycle", spec="terminate_at_expiry", live="renew"
    )
    fields.update(kw)
    return Drift(**fields)


def plan(
    actions: tuple[Action, ...] = (),
    refused: tuple[Refusal, ...] = (),
    *,
    drift: tuple[Drift, ...] = (),
    unmanaged: tuple[Unmanaged, ...] = (),
    **kw: Any,
) -> Plan:
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
