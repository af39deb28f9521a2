"""OVH's wire shapes: the JSON the API answers, built from the sandbox's values.

Pure: each function takes what the store holds (or a model) and returns the object OVH
sends, field for field as its published schemas type it (the conformance tests check
every answer against them). Nothing here decides anything.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.sandbox.clock import render_datetime
from reconciler.sandbox.mail import Email


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
