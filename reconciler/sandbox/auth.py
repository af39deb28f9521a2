"""Authentication exactly as OVH does it: signatures, timestamps, consumer keys, rules.

Pure functions over a ``SignedRequest`` (what arrived) and a ``CredentialView`` (what the
state knows of the key); the backend supplies the lookups. The checks run in the order
the real API appears to use, each answering OVH's status and body:

1. ``X-Ovh-Application`` missing or unknown             → 403 INVALID_KEY
2. no ``X-Ovh-Consumer`` / ``-Timestamp`` / ``-Signature`` → 401 "You must login first"
3. timestamp not an integer or out of the window         → 400 QUERY_TIME_OUT
4. consumer key unknown (or of another application)      → 403 NOT_CREDENTIAL
5. signature wrong                                       → 400 INVALID_SIGNATURE
6. key not validated, refused, or expired                → 403 INVALID_CREDENTIAL
7. no access rule grants ``METHOD path``                 → 403 NOT_GRANTED_CALL

The signature is ``"$1$" + sha1_hex(AS+"+"+CK+"+"+METHOD+"+"+URL+"+"+BODY+"+"+TS)``,
with URL the full URL *as the client sent it* (query string included) and BODY the raw
request body. Access rules are ``{method, path}`` where ``*`` matches any run of
characters, slashes included, and the whole path (without the ``/1.0`` prefix and the
query string) must match: ``/me*`` grants ``/me`` and ``/me/bill``; ``/services/*``
grants ``/services/1`` but not ``/services``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from reconciler.sandbox import errors

# How far X-Ovh-Timestamp may be from the API's clock. OVH does not publish it; clients
# that skip the /auth/time correction fail after a few minutes of skew, so the sandbox
# allows three minutes either way (inferred). The answer is OVH's: 400 QUERY_TIME_OUT.
TIMESTAMP_WINDOW_SECONDS = 180


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What authentication needs of a request (header values as sent, or None)."""

    method: str
    url: str  # scheme://host[:port]/1.0/path[?query], as the client addressed it
    path: str  # relative to /1.0, without the query string: "/services/123"
    body: str
    application_key: str | None
    consumer_key: str | None
    timestamp: str | None
    signature: str | None

    def __repr__(self) -> str:  # the signature is as good as a secret for replays
        return f"SignedRequest({self.method} {self.path})"


@dataclass(frozen=True, slots=True)
class CredentialView:
    """A consumer key as the state knows it."""

    credential_id: int
    consumer_key: str
    application_key: str
    state: str  # validated | pendingValidation | expired | refused
    expires: int | None  # epoch seconds, None: never
    rules: tuple[tuple[str, str], ...]  # (method, path pattern)
    nichandle: str | None = None  # the account the key logs in as (GET /me, its e-mails)
    iam_actions: tuple[str, ...] | None = None  # its IAM policy; None: not governed by IAM

    def __repr__(self) -> str:
        return f"CredentialView(id={self.credential_id}, state={self.state!r})"


def signature(
    application_secret: str, consumer_key: str, method: str, url: str, body: str, timestamp: str
) -> str:
    """The X-Ovh-Signature a client computes (as the official clients do)."""
    payload = "+".join((application_secret, consumer_key, method.upper(), url, body, timestamp))
    return "$1$" + hashlib.sha1(payload.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1024)
def _rule_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", pattern))
        + r"\Z"
    )


def rule_grants(rule_method: str, rule_path: str, method: str, path: str) -> bool:
    return rule_method == method.upper() and _rule_regex(rule_path).match(path) is not None


def granted(rules: Iterable[tuple[str, str]], method: str, path: str) -> bool:
    return any(rule_grants(m, p, method, path) for m, p in rules)


def timestamp_ok(timestamp: str, *, real_now: float, deltas: Sequence[float]) -> bool:
    """Whether a signed timestamp is one a well-behaved client could send now.

    A client signs with its own (real) clock plus the delta it measured once from
    ``/auth/time``. On OVH that delta never goes stale; on the sandbox the clock can be
    set, stopped or moved at will, which would strand every client that measured before.
    So the timestamp is checked against each delta the sandbox handed out recently (and
    the current one, for clients that never ask): it must be within the window of
    ``real_now + delta`` for one of them. A stale or future timestamp matches none."""
    if not timestamp.isdigit():
        return False
    value = int(timestamp)
    return any(abs(value - (real_now + delta)) <= TIMESTAMP_WINDOW_SECONDS for delta in deltas)


def url_variants(url: str) -> Sequence[str]:
    """The URL as sent, then percent-decoded: clients sign the URL they built, and some
    (requests) re-quote characters on the wire, so both forms are accepted."""
    decoded = unquote(url)
    return (url,) if decoded == url else (url, decoded)


def authenticate(
    request: SignedRequest,
    *,
    application_secret: str | None,
    credential: CredentialView | None,
    now: int,
    real_now: float,
    deltas: Sequence[float],
    check_rules: bool = True,
) -> CredentialView:
    """The credential a signed request is made with, or the ``ApiError`` OVH answers.

    ``application_secret`` is the secret of ``request.application_key`` (None when the
    key is unknown); ``credential`` the state's view of ``request.consumer_key``; ``now``
    the API's clock (credential expiry); ``real_now`` and ``deltas`` for the timestamp
    (``timestamp_ok``).
    ``check_rules=False`` is for the routes every valid key may call
    (``/auth/currentCredential``)."""
    if not request.application_key or application_secret is None:
        raise errors.invalid_key()
    if not (request.consumer_key and request.timestamp and request.signature):
        raise errors.login_required()
    if not timestamp_ok(request.timestamp, real_now=real_now, deltas=deltas):
        raise errors.query_time_out()
    if credential is None or credential.application_key != request.application_key:
        raise errors.not_credential()
    expected = [
        signature(
            application_secret,
            request.consumer_key,
            request.method,
            url,
            request.body,
            request.timestamp,
        )
        for url in url_variants(request.url)
    ]
    if not any(hmac.compare_digest(request.signature, e) for e in expected):
        raise errors.invalid_signature()
    if credential.state != "validated" or (
        credential.expires is not None and credential.expires <= now
    ):
        raise errors.invalid_credential()
    if check_rules and not granted(credential.rules, request.method, request.path):
        raise errors.not_granted_call()
    return credential
