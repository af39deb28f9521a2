"""OVH's wire shapes: the JSON the API answers, built from the sandbox's values.

Pure: each function takes what the store holds (or a model) and returns the object OVH
sends, field for field as its published schemas type it (the conformance tests check
every answer against them). Nothing here decides anything.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.sandbox.catalog import TERMINATE_AT_ENGAGEMENT, TERMINATE_AT_EXPIRY
from reconciler.sandbox.clock import (
    add_months,
    period_months,
    render_date,
    render_datetime,
)
from reconciler.sandbox.mail import Email
from reconciler.sandbox.services import Service


def email(sent: Email) -> dict[str, Any]:
    """``nichandle.emailNotification``: one e-mail of the account's history."""
    return {
        "id": sent.id,
        "date": render_datetime(sent.date),
        "subject": sent.subject,
        "body": sent.body,
    }


def pending_credential(consumer_key: str, token: str, validation_root: str) -> dict[str, Any]:
    """``auth.Credential``: a key just asked for, and where the user validates it."""
    return {
        "state": "pendingValidation",
        "consumerKey": consumer_key,
        "validationUrl": f"{validation_root.rstrip('/')}/auth/?credentialToken={token}",
    }


def current_credential(row: Any) -> dict[str, Any]:
    """``api.Credential``: the key a request was signed with (``GET /auth/currentCredential``)."""
    return {
        "credentialId": row["credential_id"],
        "applicationId": row["app_id"],
        "status": row["state"],
        "rules": json.loads(row["rules"]),
        "creation": render_datetime(row["created"]),
        "expiration": render_datetime(row["expires"]),
        "lastUse": render_datetime(row["last_use"]),
        "ovhSupport": False,
        "allowedIPs": json.loads(row["allowed_ips"]) if row["allowed_ips"] else None,
    }


def expanded(service: Service, now: int, account: str) -> dict[str, Any]:
    """``services.expanded.Service``: ``GET /services/{id}``, field for field."""
    product = service.product
    pending = service.termination != "none"
    active = service.lifecycle == "active"
    automatic = service.renew_mode == "automatic"
    renews = active and automatic and not pending and not service.unpaid
    period = service.renew_period
    state = service.lifecycle
    if state == "active" and service.unpaid:
        state = "unpaid"
    pending_actions = []
    if service.termination == "at_expiry":
        pending_actions = [TERMINATE_AT_EXPIRY]
    elif service.termination == "at_engagement":
        pending_actions = [TERMINATE_AT_ENGAGEMENT]
    organization = service.organization
    return {
        "serviceId": service.id,
        "parentServiceId": service.parent_id,
        "tags": [],
        "route": {
            "path": product.path,
            "url": product.route_url(service.name, organization),
            "vars": product.route_vars(service.name, organization),
        },
        "resource": {
            "name": service.name,
            "displayName": service.display_name,
            "state": service.resource_state,
            "resellingProvider": None,
            "product": {"name": service.plan_code, "description": service.description},
        },
        "billing": {
            "expirationDate": render_datetime(service.expiration),
            "nextBillingDate": render_datetime(service.expiration) if renews else None,
            "plan": {"code": service.plan_code, "invoiceName": product.invoice_name},
            "pricing": pricing(service),
            "group": None,
            "lifecycle": {
                "current": {
                    "state": state,
                    "creationDate": render_datetime(service.created),
                    "terminationDate": render_datetime(service.termination_date()),
                    "pendingActions": pending_actions,
                },
                "capacities": {"actions": service.actions(now)},
            },
            "renew": {
                "current": {
                    "mode": service.renew_mode,
                    "nextDate": render_datetime(service.expiration) if renews else None,
                    "period": period,
                },
                "capacities": {"mode": list(service.offered_modes())},
            },
            "engagement": engagement_summary(service),
            "engagementRequest": None,
        },
        "customer": {
            "contacts": [
                {"customerCode": service.contact("admin", account), "type": "administrator"},
                {"customerCode": service.contact("billing", account), "type": "billing"},
                {"customerCode": service.contact("tech", account), "type": "technical"},
            ]
        },
    }


# How a derived price reads, by currency; a seed states the exact text OVH shows.
_PRICE_TEXTS = {"EUR": "{:.2f} €", "USD": "${:.2f}", "GBP": "£{:.2f}", "CAD": "{:.2f} $ CAD"}


def pricing(service: Service) -> dict[str, Any] | None:
    """``billing.pricing`` (``services.billing.Pricing``): the seeded pricing as stated
    while the renewal it describes holds; after a period change or a fallback to the
    default price the value follows the monthly price (and the text is derived), the
    currency and the rest stay. Null when the seed says OVH gives no price."""
    if isinstance(service.pricing, str):  # PRICING_ABSENT, the only text the seed stores
        return None
    seeded = service.pricing or {}
    period = service.renew_period
    value = round(service.price * period_months(period), 2)
    currency = seeded.get("currency", "EUR")
    text = _PRICE_TEXTS.get(currency, "{:.2f} " + currency).format(value)
    # One renewal per `duration` (which already says how long it is), as the order
    # catalogue counts a yearly renewal: interval 1 of a year, not 12.
    interval = 1
    stated = seeded.get("price", value)
    if seeded.get("duration", period) == period and abs(stated - value) < 0.005:
        value = stated  # the renewal the seed describes still holds: answer it as stated
        text = seeded.get("text", text)
        interval = seeded.get("interval", interval)
    engagement = seeded.get("engagement")
    if engagement is not None and service.engagement_end is None and service.end_strategy:
        engagement = None  # the commitment stopped: the pricing no longer brings one
    # OVH names an engaged pricing by how and how long it commits ("upfront12"); the
    # sandbox's guess when the seed names none.
    default_mode = (
        f"{engagement['type']}{period_months(engagement['duration'])}" if engagement else "default"
    )
    mode = seeded.get("mode", default_mode)
    return {
        "capacities": ["renew"],
        "description": f"{period} renewal",
        "duration": period,
        "interval": interval,
        "minimumQuantity": 1,
        "maximumQuantity": None,
        "minimumRepeat": 1,
        "maximumRepeat": None,
        "price": {
            "currencyCode": currency,
            "text": text,
            "value": value,
            # order.Price.priceInUcents: the value in 10^-8 units of the currency
            "priceInUcents": round(value * 100_000_000),
        },
        "priceInUcents": round(value * 100_000_000),
        "pricingMode": mode,
        "pricingType": "rental",
        "engagementConfiguration": (
            {
                "duration": engagement["duration"],
                "type": engagement["type"],
                "defaultEndAction": engagement["default_end_action"],
            }
            if engagement
            else None
        ),
    }


def engagement_summary(service: Service) -> dict[str, Any] | None:
    """``billing.engagement`` (``services.expanded.EngagementSummary``), or null when the
    service has no commitment (never had one, or it stopped)."""
    if service.engagement_end is None:
        return None
    return {"endDate": render_datetime(service.engagement_end), "endRule": service.end_rule()}


def engagement(service: Service) -> dict[str, Any]:
    """``services.billing.engagement.Engagement``: the commitment's current period and
    end rule (``GET /services/{id}/billing/engagement``)."""
    assert service.engagement_end is not None  # Service.engaged() checked it
    end = service.engagement_end
    return {
        "currentPeriod": {
            "startDate": render_date(add_months(end, -service.commitment_months())),
            "endDate": render_date(end),
        },
        "endRule": service.end_rule(),
    }


def service_infos(service: Service, now: int, account: str) -> dict[str, Any]:
    """``services.Service``: ``GET /{route}/{name}/serviceInfos``, consistent with
    ``/services`` in every state (manual, engaged, terminating, terminated)."""
    status = "ok"
    terminated = service.lifecycle == "terminated"  # during its retention period
    if service.lifecycle == "unrenewed" or terminated:
        status = "expired"
    elif service.unpaid:
        status = "unPaid"
    automatic = service.renew_mode == "automatic"
    return {
        "serviceId": service.id,
        "domain": service.name,
        "creation": render_date(service.created),
        "expiration": render_date(service.expiration),
        "engagedUpTo": render_date(service.engagement_end),
        "status": status,
        "renewalType": "automaticV2016" if automatic else "manual",
        "canDeleteAtExpiration": TERMINATE_AT_EXPIRY in service.actions(now),
        "possibleRenewPeriod": [period_months(p) for p in service.periods],
        "contactAdmin": service.contact("admin", account),
        "contactBilling": service.contact("billing", account),
        "contactTech": service.contact("tech", account),
        "renew": {
            "automatic": automatic,
            "deleteAtExpiration": service.termination == "at_expiry" or terminated,
            "forced": False,
            "manualPayment": not automatic,
            "period": period_months(service.renew_period),
        },
    }
