"""Secrets, blanked from every output in one place.

A ``Secrets`` object knows every secret the process holds: the application secret and the
consumer key, the OAuth2 client secret and the access tokens it buys, the deletion
tokens a run is given or finds in an e-mail. It is fed where each is learnt (the client
when it is built and when it gets a token, apply when it learns a token) and passed
explicitly to whatever writes output; there is no process-wide registry.

Whatever reaches a user or a file goes through it, because an API may echo anything it
was sent in its own words (an error answer quoting the consumer key or the token of a
confirmation): errors (``redact_error``, by the client before it raises and by the
CLI's error printer), journal lines, debug logs (``logging_filter``), plan files and
rendered plans (``redact``). A secret is blanked as it is and in the forms in which it
travels (JSON-escaped, URL-encoded, and the ``id:secret`` pair of an HTTP basic header
in base64).

``redact_by_key`` is the other guard, for values that are secrets by their *name* (a call
body's ``token``, ``secret``, ``password``), before they are ever learnt.

Pure; no I/O. See ``docs/reliability.md`` ("Secrets" and "Hostile API").
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Final, TypeVar
from urllib.parse import quote

from reconciler.errors import HttpError, ReconcilerError

REDACTED: Final = "<redacted>"
# A shorter string would blank ordinary words of messages and files; no credential,
# token or key of OVH's is anywhere near this short.
MIN_SECRET_LENGTH: Final = 6
# How a bounded text from outside ends when it was cut (``reconciler.errors.one_line``);
# the head of a secret before it is blanked from this many characters on.
CUT: Final = "…"
MIN_CUT_HEAD: Final = 4
_SECRET_KEY_WORDS: Final = ("token", "secret", "password", "credential", "consumerkey")

E = TypeVar("E", bound=ReconcilerError)


class Secrets:
    """Every secret the process knows, and how to blank them (see the module doc).

    Learning is cheap and idempotent; ``redact`` replaces the longest forms first, so a
    secret that contains another is blanked whole."""

    __slots__ = ("_forms", "_secrets")

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: frozenset[str] = frozenset()
        self._forms: tuple[str, ...] = ()
        for secret in secrets:
            self.learn(secret)

    def __repr__(self) -> str:
        return f"Secrets(<{len(self._secrets)} hidden>)"

    def learn(self, secret: str | None) -> None:
        """Never let ``secret`` reach an output from now on. Empty and very short
        strings are ignored (see ``MIN_SECRET_LENGTH``)."""
        if not secret or len(secret) < MIN_SECRET_LENGTH or secret in self._secrets:
            return
        self._secrets = self._secrets | {secret}
        forms = set(self._forms) | _forms_of(secret)
        # Replaced atomically: a reader iterating the old tuple is never disturbed.
        self._forms = tuple(sorted(forms, key=len, reverse=True))

    def learn_basic_auth(self, user: str, secret: str) -> None:
        """An HTTP basic ``user:secret`` pair as its header carries it (base64)."""
        pair = base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")
        self.learn(pair)
        self.learn(pair.rstrip("="))

    def redact(self, text: str) -> str:
        """``text`` with every known secret, in every form, replaced by ``<redacted>``;
        and the head of a secret that a bound cut short (the API's words are cut at a
        few hundred characters, ending ``…``): an echo placed just so would otherwise
        show most of the secret, which no longer matches whole."""
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        if CUT in text:
            text = self._cut_heads(text)
        return text

    def _cut_heads(self, text: str) -> str:
        pieces = text.split(CUT)
        for index, piece in enumerate(pieces[:-1]):
            head = max(
                (
                    size
                    for form in self._forms
                    for size in range(min(len(form) - 1, len(piece)), MIN_CUT_HEAD - 1, -1)
                    if piece.endswith(form[:size])
                ),
                default=0,
            )
            if head:
                pieces[index] = piece[:-head] + REDACTED
        return CUT.join(pieces)

    def redact_value(self, value: Any) -> Any:
        """A JSON-like value with every string in it redacted (keys included)."""
        if not self._forms:
            return value
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {self.redact(str(k)): self.redact_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_value(item) for item in value]
        return value

    def redact_error(self, error: E) -> E:
        """``error`` itself when it shows no secret; else a copy of the same class whose
        message, hint and API words are redacted."""
        if not self._forms:
            return error
        message = self.redact(error.message)
        hint = self.redact(error.hint) if error.hint is not None else None
        api_words = error.api_message if isinstance(error, HttpError) else ""
        details = error.details if isinstance(error, HttpError) else {}
        clean_details = self.redact_value(details)
        if (
            message == error.message
            and hint == error.hint
            and self.redact(api_words) == api_words
            and clean_details == details
        ):
            return error
        other = error.reworded(message)
        other.hint = hint
        if isinstance(other, HttpError):
            other.api_message = self.redact(other.api_message)
            other.details = clean_details
        return other

    def logging_filter(self) -> logging.Filter:
        """A filter for a log handler: each record's final text, redacted."""
        return _RedactingFilter(self)


class _RedactingFilter(logging.Filter):
    def __init__(self, secrets: Secrets) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = self._secrets.redact(text)
        if clean != text:
            record.msg, record.args = clean, None
        return True


def _forms_of(secret: str) -> set[str]:
    """How a secret travels: as it is, JSON-escaped, URL-encoded."""
    forms = {secret, json.dumps(secret, ensure_ascii=False)[1:-1], json.dumps(secret)[1:-1]}
    forms.add(quote(secret, safe=""))
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def redact_by_key(body: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A call body with every value whose key names a secret (``token``, ``secret``,
    ``password``, ``credential``, ``consumerKey``) replaced by ``<redacted>``."""
    if body is None:
        return None
    return {str(key): _by_key(str(key), value) for key, value in body.items()}


def _by_key(key: str, value: Any) -> Any:
    lowered = key.lower().replace("_", "").replace("-", "")
    if any(word in lowered for word in _SECRET_KEY_WORDS) and value is not None:
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): _by_key(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_by_key(key, item) for item in value]
    return value
