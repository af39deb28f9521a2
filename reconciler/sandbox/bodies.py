"""The bodies of the admin routes, read by pydantic models; one way to refuse a bad one.

A body model (``Body``) is frozen, forbids unknown fields and takes JSON's types strictly
(``1`` is no ``true``, ``"5"`` no number). Each field says in its ``description`` what it
is (``"a number from 0 to 1"``), its validators say what is wrong in their own words, and
``Body.read`` turns the first problem of a ``ValidationError`` into one 400 answer
(``errors.bad_request``) that says it: ``faults: error_rate is a number from 0 to 1``.
The admin routes are listed in ``docs/sandbox.md`` ("Admin routes").
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from reconciler.sandbox import errors
from reconciler.sandbox.clock import parse_duration, parse_instant
from reconciler.sandbox.credentials import STATES

# A body that is no object, holds an unknown field or lacks a required one: its shape is
# wrong, and the route's usage says what it should be.
_SHAPE_ERRORS = frozenset({"model_type", "extra_forbidden", "missing"})


class Body(BaseModel):
    """The base of every admin body. ``what`` names the route in messages; ``usage``,
    when a route has one, is what a body of the wrong shape is told it should be
    (without one, the unknown fields are named and the known ones listed)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    what: ClassVar[str]
    usage: ClassVar[str | None] = None

    @classmethod
    def read(cls, data: Any) -> Self:
        """The body ``data`` (decoded JSON) as this model; ``ApiError`` 400 otherwise."""
        try:
            return cls.model_validate(data)
        except ValidationError as invalid:
            raise errors.bad_request(f"{cls.what}: {cls.problem(invalid)}") from None

    @classmethod
    def problem(cls, invalid: ValidationError) -> str:
        """The one problem a bad body is told about, in the route's words."""
        problems = invalid.errors(include_url=False, include_input=False)
        shape = [problem for problem in problems if problem["type"] in _SHAPE_ERRORS]
        if shape and cls.usage is not None:
            return f"expected {cls.usage}"
        if any(problem["type"] == "model_type" for problem in shape):
            return "expected a JSON object"
        unknown = sorted(str(p["loc"][0]) for p in shape if p["type"] == "extra_forbidden")
        if unknown:
            known = ", ".join(sorted(cls.model_fields))
            return f"unknown field(s) {', '.join(unknown)}; known: {known}"
        return cls._said(problems[0])

    @classmethod
    def _said(cls, problem: ErrorDetails) -> str:
        """A field's problem: its validator's own words (a ``ValueError``), else what the
        field is (its description); a model validator's words alone."""
        own_words = str(problem.get("ctx", {}).get("error") or problem["msg"])
        if not problem["loc"]:  # a model validator: a rule across fields
            return own_words
        name = str(problem["loc"][0])
        if problem["type"] == "value_error":
            return f"{name}: {own_words}"
        if problem["type"] == "missing":
            return f"{name} is missing"
        return f"{name} is {cls.model_fields[name].description or own_words}"


# --- the admin routes' bodies ---------------------------------------------------------


def _instant(value: Any) -> datetime:
    return parse_instant(_text(value))


def _duration(value: Any) -> timedelta:
    return parse_duration(_text(value))


def _text(value: Any) -> str:
    # What the clock's parsers read: the JSON text, or any other JSON value written as
    # JSON, so that their message quotes what was sent (``5``, ``true``).
    return value if isinstance(value, str) else json.dumps(value)


# An instant or a duration as the admin bodies write them; the parsers' ValueErrors,
# which say the accepted forms, are the messages.
Instant = Annotated[datetime, PlainValidator(_instant)]
Duration = Annotated[timedelta, PlainValidator(_duration)]


class ClockBody(Body):
    """``PUT /sandbox/clock``: set the clock (``now``) or move it (``advance``), and
    whether it then ticks (``ticking``, default: stopped)."""

    what = "clock"
    usage = '{"now": ISO datetime} or {"advance": "2d"}, and "ticking"'

    now: Instant | None = None
    advance: Duration | None = None
    ticking: bool | None = Field(default=None, description="true or false")

    @model_validator(mode="after")
    def _one_move(self) -> Self:
        if self.now is not None and self.advance is not None:
            raise ValueError("give now or advance, not both")
        if self.now is None and self.advance is None and self.ticking is None:
            raise ValueError('expected {"now": ISO datetime} or {"advance": "2d"}')
        return self


class ResetBody(Body):
    """``POST /sandbox/reset``: back to the seed, or to another one (``seed``: YAML text
    or a JSON seed object), the clock set (and stopped) at ``now`` first."""

    what = "reset"
    usage = '{"now"?: ISO datetime, "seed"?: seed}'

    now: Instant | None = None
    seed: str | dict[str, Any] | None = Field(
        default=None, description="YAML text or a JSON seed object"
    )


class ValidateBody(Body):
    """``POST /sandbox/credentials/{ck}/validate``: how long the key stays valid
    (``validity``; default: until revoked)."""

    what = "validate"

    validity: Duration | None = None


class CredentialBody(Body):
    """``PUT /sandbox/credentials/{ck}``: force a key's state (the backend says which
    states a key has, ``credentials.check_state``)."""

    what = "credential"
    usage = '{"state": "validated|expired|refused|pendingValidation"}'

    state: str = Field(description=f"one of {', '.join(STATES)}")


class SeedQuery(Body):
    """``PUT /sandbox/seed?now=ISO``: the clock set (and stopped) at ``now`` first."""

    what = "seed"

    now: Instant | None = None


class RequestsQuery(Body):
    """``GET /sandbox/requests?since=SEQ``: the log after sequence number ``SEQ``."""

    what = "requests"

    since: Annotated[str, StringConstraints(pattern=r"^[0-9]+$")] = Field(
        default="0", description="a sequence number (0 or more)"
    )
