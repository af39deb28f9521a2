"""Applications and consumer keys as values: how a key is asked for, validated and seen.

Pure: the rules of ``POST /auth/credential`` (what a request may hold), the states a key
goes through, and the clock deltas ``/auth/time`` handed out (see ``auth.timestamp_ok``).
The store keeps them; ``auth`` checks a signed request against a ``CredentialView``.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from reconciler.sandbox import errors
from reconciler.sandbox.auth import CredentialView
from reconciler.sandbox.seed import METHODS

FIRST_APPLICATION_ID = 161_001
FIRST_CREDENTIAL_ID = 5_120_001
DELTA_MEMORY = timedelta(hours=1)  # how long a delta given by /auth/time stays good
MAX_DELTAS = 64
STATES = ("validated", "pendingValidation", "expired", "refused")

_ALNUM = string.ascii_letters + string.digits


def random_key(length: int) -> str:
    """A key or token as OVH's look: letters and digits."""
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


@dataclass(frozen=True, slots=True)
class CredentialRequest:
    """A ``POST /auth/credential`` body, checked: its rules, where to go once
    validated, the addresses it may be used from."""

    rules: tuple[dict[str, str], ...]
    redirection: str | None
    allowed_ips: Any

    @classmethod
    def from_body(cls, body: Any) -> CredentialRequest:
        if not isinstance(body, dict):
            raise errors.bad_request("Invalid body: expected {accessRules, redirection}")
        unknown = set(body) - {"accessRules", "redirection", "allowedIPs"}
        if unknown:
            raise errors.bad_request(f"Invalid parameter(s): {', '.join(sorted(unknown))}")
        rules = body.get("accessRules")
        if not isinstance(rules, list) or not rules:
            raise errors.bad_request("Missing parameter: accessRules")
        clean = []
        for rule in rules:
            if (
                not isinstance(rule, dict)
                or rule.get("method") not in METHODS
                or not isinstance(rule.get("path"), str)
                or not rule["path"].startswith("/")
            ):
                raise errors.bad_request(
                    "Invalid access rule: expected {method: GET|PUT|POST|DELETE, path: /...}"
                )
            clean.append({"method": rule["method"], "path": rule["path"]})
        redirection = body.get("redirection")
        if redirection is not None and not isinstance(redirection, str):
            raise errors.bad_request("Invalid parameter: redirection must be a URL or null")
        return cls(tuple(clean), redirection, body.get("allowedIPs"))


def view(row: Any, account: str) -> CredentialView:
    """What authentication needs of a stored key (``account``: whose it is by default)."""
    return CredentialView(
        credential_id=row["credential_id"],
        consumer_key=row["consumer_key"],
        application_key=row["app_key"],
        state=row["state"],
        expires=row["expires"],
        rules=tuple((r["method"], r["path"]) for r in json.loads(row["rules"])),
        nichandle=row["nichandle"] or account,
        iam_actions=(None if row["iam_actions"] is None else tuple(json.loads(row["iam_actions"]))),
    )


def check_state(state: str) -> None:
    if state not in STATES:
        raise errors.bad_request(f"unknown credential state {state!r}")


@dataclass(frozen=True, slots=True)
class IssuedDeltas:
    """The clock deltas ``/auth/time`` handed out, each with the real time it was given:
    a client signs with one of them, so each stays good for ``DELTA_MEMORY``."""

    given: tuple[tuple[float, float], ...] = ()

    @classmethod
    def from_text(cls, text: str | None) -> IssuedDeltas:
        return cls(tuple((float(d), float(at)) for d, at in json.loads(text or "[]")))

    def to_text(self) -> str:
        return json.dumps([list(pair) for pair in self.given])

    def recent(self, real_now: float) -> list[float]:
        return [
            delta
            for delta, issued in self.given
            if real_now - issued <= DELTA_MEMORY.total_seconds()
        ]

    def with_given(self, delta: float, real_now: float) -> IssuedDeltas:
        """Remember ``delta`` given now: a delta within a second of it, or too old, is
        forgotten, and only the last ``MAX_DELTAS`` are kept."""
        kept: Sequence[tuple[float, float]] = [
            (d, issued)
            for d, issued in self.given
            if abs(d - delta) >= 1 and real_now - issued <= DELTA_MEMORY.total_seconds()
        ]
        return IssuedDeltas((*kept[-(MAX_DELTAS - 1) :], (delta, real_now)))
