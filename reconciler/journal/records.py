"""The journal's records: what one line says, as a typed value (``docs/journal.md``).

``Record`` and ``JournalCall`` are validated by pydantic wherever they are built: by the
writer from what apply tells it, and by ``Record.from_json`` from a line of the file.
A line that is not a record gives a ``ValueError`` saying what is wrong with it (the
reader adds the line number).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import field, fields
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, Strict, StrictInt, StrictStr, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from reconciler.redaction import REDACTED, redact_by_key
from reconciler.times import as_utc, iso_utc_millis

JOURNAL_VERSION: Final = 1

__all__ = [
    "JOURNAL_VERSION",
    "REDACTED",
    "JournalCall",
    "Outcome",
    "Phase",
    "Record",
    "redact_body",
    "time_text",
    "token_digest",
]


class Phase(StrEnum):
    """What a record is about."""

    RUN = "run"  # a run starts or ends
    ACTION = "action"  # one planned action starts or ends
    CALL = "call"  # a mutating API call: before it is sent, and its answer
    CHECK = "check"  # a re-read of the account that decided something
    TOKEN = "token"  # the e-mailed confirmation token of a deletion
    JOURNAL = "journal"  # the journal itself (a torn line repaired)


class Outcome(StrEnum):
    STARTED = "started"
    FINISHED = "finished"
    SENDING = "sending"  # written (and fsynced) before the call leaves
    OK = "ok"  # the API accepted the call
    AMBIGUOUS = "ambiguous"  # 5xx, dropped connection, timeout: it may have taken effect
    FAILED = "failed"
    GONE = "gone"  # the service is not (or no longer) on the account
    EFFECT_SHOWN = "effect-shown"  # a re-read shows the change is made
    NO_EFFECT = "no-effect"  # a re-read shows the change is not made
    SKIPPED = "skipped"  # the account already matched: nothing sent
    DONE = "done"
    REFUSED = "refused"
    WAITING = "waiting"
    FOUND = "found"
    TIMEOUT = "timeout"
    ABANDONED = "abandoned"  # a termination request given up: its e-mail never came
    REPAIRED = "repaired"


def _instant(value: Any) -> Any:
    """A record's time: an aware datetime, or its ISO 8601 text as the file holds it."""
    if isinstance(value, datetime):
        return as_utc(value)
    if not isinstance(value, str):
        raise ValueError("not a string")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value[:40]!r} is not ISO 8601") from None
    if when.tzinfo is None:
        raise ValueError("it has no timezone")
    return as_utc(when)


Instant = Annotated[datetime, BeforeValidator(_instant)]
JsonObject = Annotated[Mapping[str, Any], Strict()]


@dataclass(frozen=True, slots=True)
class JournalCall:
    """A mutating call as the journal shows it; the body is redacted by key on output."""

    method: StrictStr
    path: StrictStr
    body: JsonObject | None = None

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "body": redact_body(self.body)}


@dataclass(frozen=True, slots=True)
class Record:
    """One line of the journal (see ``docs/journal.md`` for each field)."""

    time: Instant
    run: StrictStr
    plan: StrictStr
    endpoint: StrictStr
    phase: StrictStr
    outcome: StrictStr
    service: StrictStr | None = None
    service_id: StrictInt | None = None
    action: StrictStr | None = None
    call: JournalCall | None = None
    attempt: StrictInt | None = None
    status: StrictInt | None = None
    query_id: StrictStr | None = None
    error: StrictStr | None = None
    detail: JsonObject = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The record as its line holds it, every field in the documented order."""
        return {
            "v": JOURNAL_VERSION,
            "time": time_text(self.time),
            "run": self.run,
            "plan": self.plan,
            "endpoint": self.endpoint,
            "service": self.service,
            "service_id": self.service_id,
            "action": self.action,
            "phase": self.phase,
            "call": self.call.to_json() if self.call is not None else None,
            "attempt": self.attempt,
            "outcome": self.outcome,
            "status": self.status,
            "query_id": self.query_id,
            "error": self.error,
            "detail": dict(self.detail),
        }

    @classmethod
    def from_json(cls, data: Any) -> Record:
        """A record from a parsed line; ``ValueError`` saying what is wrong. Every field
        must be present (``null`` when it does not apply), as the writer writes them."""
        # The key and version checks stay here, before the model, on purpose: they are
        # facts of the line, not of a record. The writer builds records with defaults and
        # no ``v``, so in ``Record`` they would need a field every record carries or a
        # validator told which of the two it reads; an all-required model of the line
        # would describe each field a second time. Here they name every missing key at
        # once (``missing time, run``), which pydantic's first error would not.
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        missing = [key for key in _WIRE_KEYS if key not in data]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        if data["v"] != JOURNAL_VERSION:
            raise ValueError(f"journal format v{str(data['v'])[:10]!r}; this reconciler reads v1")
        try:
            return _RECORDS.validate_python({key: data[key] for key in _FIELDS})
        except ValidationError as invalid:
            raise ValueError(_problem(invalid)) from None


_FIELDS: Final = tuple(item.name for item in fields(Record))
_WIRE_KEYS: Final = ("v", *_FIELDS)
_RECORDS: Final = TypeAdapter(Record)
_WORDS: Final = {
    "string_type": "is not a string",
    "int_type": "is not an integer",
    "dict_type": "is not an object",
    "dataclass_type": "is not {method, path, body}",
    "missing": "is missing",
}


def _problem(invalid: ValidationError) -> str:
    """The first problem of a validation, in the reader's words: ``call.path is not a
    string``, ``time '...' is not ISO 8601``."""
    first = invalid.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    words = _WORDS.get(first["type"])
    if words is None:
        words = str(first.get("ctx", {}).get("error") or first["msg"])
        return f"{where}: {words}"
    return f"{where} {words}"


def time_text(when: datetime) -> str:
    """``2026-03-02T09:00:00.123Z``: how a record writes its time (UTC, milliseconds)."""
    return iso_utc_millis(when)


def token_digest(token: str) -> str:
    """How the journal names a token without holding it: 16 hex digits of its SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]


def redact_body(body: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A call body with every secret-looking value replaced by ``"<redacted>"``."""
    return redact_by_key(body)
