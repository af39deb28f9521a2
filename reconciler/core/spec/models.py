"""The spec's values, and the rules a user's spec meets (``checks`` says when they run).

Adding a key to a service is a field of ``ServiceSpec`` with its rule (``choice`` for a
word from an enum), its name in ``SERVICE_KEYS`` (the order messages list keys in),
and a line in ``dump_spec``; the file reader, Pulumi and ``import`` then check it.
"""

from __future__ import annotations

import functools
import re
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from marked_yaml import (
    SCALAR_KINDS,
    YAML11_BOOLEANS,
    Kind,
    describe_character,
    invisible_characters,
    shown,
)
from reconciler.core.catalog import KNOWN_TYPES, ProductFamily, family_of
from reconciler.core.lifecycle import CommitmentEnd, Lifecycle, RenewMode
from reconciler.core.periods import InvalidPeriod, parse_period
from reconciler.core.spec.checks import (
    At,
    Invalid,
    Seen,
    Source,
    choice,
    closest,
    listed,
    rule,
    word,
)
from reconciler.endpoints import KNOWN_NAMES, SANDBOX, url_problem

SPEC_VERSION = 1
MAX_NAME_LENGTH = 255  # a DNS name is at most 253 characters

TOP_KEYS = ("version", "endpoint", "unmanaged", "services")
SERVICE_KEYS = ("lifecycle", "mode", "period", "commitment_end", "type", "protect", "name")

CREDENTIALS_FIX = (
    "set credentials in the environment (OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET, "
    "OVH_CONSUMER_KEY, or OVH_CLIENT_ID and OVH_CLIENT_SECRET) or in ovh.conf"
)


class UnmanagedPolicy(StrEnum):
    """What to do with live services that the spec does not name."""

    REPORT = "report"
    IGNORE = "ignore"
    ERROR = "error"


class SourceLocation(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


# --- a service's rules ----------------------------------------------------------------------

_SPACE = re.compile(r"\s")
_NAME_FIX = "write the service's name as the API shows it (resource.name), e.g. www.example.com"


def _key(seen: Seen) -> str:
    key = seen.value
    if not isinstance(key, str) or not key:
        raise Invalid(
            f"a service key must be the service's name, not {seen.describe()}",
            "write the service's name (resource.name on the API) as the key",
        )
    if len(key) > MAX_NAME_LENGTH:
        raise Invalid(
            f"service key {shown(key)} is {len(key)} characters long",
            f"a service key or name has at most {MAX_NAME_LENGTH} characters",
            at=At.KEY,
        )
    _visible(key, "service key")
    return key


def _name(seen: Seen) -> str:
    key = seen.data.get("key")
    if seen.omitted:  # the key is the name
        if not isinstance(key, str):
            return str(seen.value)  # the key is refused already
        if _SPACE.search(key):
            raise Invalid(
                f"service name {shown(key)} holds a space",
                "if the key is a label, give the service's name with `name:` under it "
                "(and `type:` to tell services of the same name apart)",
                at=At.KEY,
            )
        return key
    name = word(seen, "the service's name (resource.name on the API)")
    if not name:
        raise Invalid("`name` is empty", _NAME_FIX)
    if _SPACE.search(name):
        raise Invalid(f"service name {shown(name)} holds a space", _NAME_FIX)
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid(
            f"service name {shown(name)} is {len(name)} characters long",
            f"a service name has at most {MAX_NAME_LENGTH} characters",
        )
    _visible(name, "service name")
    return name


def _visible(text: str, what: str) -> None:
    """A file's text is checked as it is read; values given directly are checked here."""
    if text.isascii() and text.isprintable():
        return  # printable ASCII holds no invisible character: nearly every name
    for _index, char in invisible_characters(text):
        raise Invalid(
            f"{what} {shown(text)} holds an invisible character, {describe_character(char)}",
            "remove it",
        )


def _lifecycle(seen: Seen) -> Lifecycle:
    if seen.value is None and seen.node is None:
        key = seen.data.get("key", "")
        raise Invalid(
            f"service {shown(key)} has no lifecycle",
            f"add `lifecycle:` under it: {listed(Lifecycle, 'or')}",
            at=At.KEY,
            absent=True,
        )
    return choice(seen, Lifecycle, "lifecycle", suggest=False)


def _renews(seen: Seen, field: str, what: str) -> None:
    """``field`` applies to lifecycle renew only."""
    lifecycle = seen.data.get("lifecycle")
    if lifecycle is not None and lifecycle is not Lifecycle.RENEW:
        raise Invalid(
            f"`{field}` applies to lifecycle renew only, not {lifecycle.value}",
            f"remove `{field}:`: a service that is not renewed has no {what}",
            at=At.KEY,
        )


# Bound once: on Python 3.11 `Lifecycle.RENEW` is a look-up of ~0.2 us, and the rules
# below run for every service of a file.
_RENEW, _DELETE_NOW, _AUTOMATIC = Lifecycle.RENEW, Lifecycle.DELETE_NOW, RenewMode.AUTOMATIC


def _mode(seen: Seen) -> RenewMode | None:
    if seen.value is None and seen.node is None:  # not written: renew renews automatically
        return _AUTOMATIC if seen.data.get("lifecycle") is _RENEW else None
    mode = choice(seen, RenewMode, "renewal mode")
    _renews(seen, "mode", "renewal mode")
    return mode


def _commitment_end(seen: Seen) -> CommitmentEnd:
    text = seen.text if seen.kind in SCALAR_KINDS else ""
    if text == "CANCEL_SERVICE" or text.lower() in ("cancel_service", "terminate", "cancel"):
        raise Invalid(
            f"`commitment_end: {text}`: terminating a service when its commitment ends is a "
            "lifecycle, not an end strategy",
            "write `lifecycle: terminate_at_commitment_end` and remove `commitment_end:`",
        )
    by_strategy = CommitmentEnd.of_strategy(text)
    if by_strategy is not None:  # OVH's own word for it: one spelling per meaning
        raise Invalid(
            f"`commitment_end: {text}` is written with OVH's end strategy name",
            f"write `commitment_end: {by_strategy.value}`",
        )
    end = choice(seen, CommitmentEnd, "commitment end")
    _renews(seen, "commitment_end", "commitment end")
    return end


def _period(seen: Seen) -> str:
    if seen.kind is Kind.INT:
        months = seen.integer
        raise Invalid(
            f"`period` must be an ISO 8601 duration, not {seen.describe()}",
            f"write P{months}M"
            if months is not None and 0 < months <= 120
            else "write a period in months, from P1M to P120M (e.g. P12M)",
        )
    text = word(seen, "an ISO 8601 duration in months, e.g. P12M")
    try:
        period = _canonical_period(text)
    except InvalidPeriod as invalid:
        raise Invalid(invalid.message, invalid.fix) from None
    _renews(seen, "period", "renewal period")
    return period


@functools.lru_cache(maxsize=256)
def _canonical_period(text: str) -> str:
    """``text`` if it is a canonical period; raises ``InvalidPeriod`` (a spec repeats the
    same few periods thousands of times, hence the cache)."""
    return str(parse_period(text, strict=True))


def _type(seen: Seen) -> str:
    text = word(seen, "a route prefix such as hosting/web or domain")
    problem = type_problem(text)
    if problem is not None:
        raise Invalid(*problem)
    lifecycle = seen.data.get("lifecycle")
    if lifecycle is _DELETE_NOW and family_of(text) is not ProductFamily.WEB_HOSTING:
        raise Invalid(
            f"delete_now is for web hosting only, and this service's type is {text} "
            "(rule delete-now-web-hosting-only)",
            "use lifecycle terminate_at_expiry for other services; only a web hosting "
            "(type hosting/web) can be deleted before its expiry",
        )
    return text


_PROTECT_FIX = "write `protect: true` or `protect: false`"


def _protect(seen: Seen) -> bool:
    if seen.kind is Kind.BOOL:
        if seen.value and seen.data.get("lifecycle") is Lifecycle.DELETE_NOW:
            raise Invalid(
                "`protect: true` contradicts lifecycle delete_now",
                "remove `protect: true` to delete this service, or choose lifecycle renew",
            )
        return bool(seen.value)
    text = seen.text
    if seen.kind is Kind.STR and seen.plain and text in YAML11_BOOLEANS:
        # A typo must never silently leave a service unprotected.
        raise Invalid(
            f"`protect: {text}` is ambiguous: YAML 1.1 reads it as a boolean, YAML 1.2 as a string",
            _PROTECT_FIX,
        )
    quoted = seen.kind is Kind.STR and text.strip().lower() in ("true", "false")
    raise Invalid(
        f"`protect` must be true or false, not {seen.describe()}",
        f"remove the quotes: `protect: {text.strip().lower()}`" if quoted else _PROTECT_FIX,
    )


# `type:` names a route prefix of the product catalogue. A type that is not listed is
# accepted (OVH adds products); one a letter away from a listed one is refused as a
# typo, since a `type` guard that matches nothing refuses the plan.
_KNOWN_TYPE_SET = frozenset(KNOWN_TYPES)
_KNOWN_TYPES_BY_LOWER = {known.lower(): known for known in KNOWN_TYPES}
_TYPE_SHAPE = re.compile(r"[a-z][A-Za-z0-9]*(?:/[a-z][A-Za-z0-9]*){0,3}", re.ASCII)
_MAX_TYPE_LENGTH = 64


def type_problem(text: str) -> tuple[str, str] | None:
    """Why ``text`` is not a service type (a route prefix such as ``hosting/web``), with
    the fix, or None when it is one."""
    example = "a route prefix such as hosting/web, domain, vps or dedicated/server"
    if len(text) > _MAX_TYPE_LENGTH:
        return f"type {shown(text)} is too long to be a route prefix", f"write {example}"
    if text in _KNOWN_TYPE_SET:
        return None
    by_lower = _KNOWN_TYPES_BY_LOWER
    stripped = text.strip().strip("/")
    if stripped != text and (_TYPE_SHAPE.fullmatch(stripped) or stripped.lower() in by_lower):
        canonical = by_lower.get(stripped.lower(), stripped)
        return (
            f"type {shown(text)} is written with slashes or spaces around it",
            f"write {canonical}",
        )
    if text.lower() in by_lower:
        return f"type {shown(text)} is not written as the API writes it", (
            f"write {by_lower[text.lower()]}"
        )
    if not _TYPE_SHAPE.fullmatch(text):
        if "{" in text or "." in text or text.count("/") > 3:
            return (
                f"type {shown(text)} is a path, not a route prefix",
                "write the product's route prefix only, e.g. hosting/web",
            )
        return f"type {shown(text)} is not a route prefix", f"write {example}"
    typo = [known for known in KNOWN_TYPES if len(text) >= 5 and _one_edit_apart(text, known)]
    if typo:
        return f"unknown type {shown(text)}", f"did you mean {typo[0]}?"
    return None


def _one_edit_apart(a: str, b: str) -> bool:
    """Whether one insertion, deletion, substitution or swap of neighbours turns ``a``
    into ``b`` (and ``a != b``)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    start = 0
    while start < len(a) and a[start] == b[start]:
        start += 1
    if len(a) == len(b):
        if a[start + 1 :] == b[start + 1 :]:
            return True  # one substitution
        swapped = start + 1 < len(a) and a[start] == b[start + 1] and a[start + 1] == b[start]
        return swapped and a[start + 2 :] == b[start + 2 :]
    return a[start:] == b[start + 1 :]  # one insertion into a


class ServiceSpec(BaseModel):
    """The wanted lifecycle of one service. Fields are checked in this order: a rule
    sees the fields before it (``period`` sees the lifecycle)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: Annotated[str, rule(_key)]  # the mapping key in the spec file
    name: Annotated[str, rule(_name)]  # resource.name on the API; defaults to the key
    lifecycle: Annotated[Lifecycle, rule(_lifecycle)]
    # ISO 8601 duration ("P1M", "P12M"); renew only
    period: Annotated[str | None, rule(_period)] = None
    # guard, e.g. "hosting/web"; refused when the live type differs
    type: Annotated[str | None, rule(_type)] = None
    protect: Annotated[bool, rule(_protect)] = False  # refuse any termination or deletion
    location: SourceLocation | None = None  # where the key stands in the file
    # renew only: automatic (the default) or manual; None for every other lifecycle.
    # Last, so that plan files written before it existed still read.
    mode: Annotated[RenewMode | None, rule(_mode)] = Field(default=None, validate_default=True)
    # renew only: what happens when the service's commitment ends (OVH's end rule);
    # None leaves the end rule as it is.
    commitment_end: Annotated[CommitmentEnd | None, rule(_commitment_end)] = None

    # Always checked from a Source, written or not: their rules say what their absence means.
    _ALWAYS_CHECKED: ClassVar[tuple[str, ...]] = ("lifecycle",)

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any, info: ValidationInfo) -> Any:
        """``name`` defaults to the key; ``renew`` without a mode renews automatically, and
        a mode with another lifecycle is a contradiction (for a Source, the rules say so
        with a fix)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "name" not in data and "key" in data:
            data["name"] = data["key"]
        if isinstance(info.context, Source):
            for name in cls._ALWAYS_CHECKED:
                data.setdefault(name, None)
            return data
        lifecycle, mode = data.get("lifecycle"), data.get("mode")
        if lifecycle in (Lifecycle.RENEW, Lifecycle.RENEW.value):
            if mode is None:
                data["mode"] = RenewMode.AUTOMATIC
        elif mode is not None:
            raise ValueError(f"mode applies to lifecycle renew only, not {lifecycle}")
        return data

    @property
    def manual(self) -> bool:
        """Renewed by hand: ``lifecycle: renew`` with ``mode: manual``."""
        return self.mode is RenewMode.MANUAL


# --- the spec's rules -----------------------------------------------------------------------


def is_other_version(seen: Seen) -> bool:
    """A version number other than this one: the rest cannot be judged against it."""
    return seen.kind is Kind.INT and seen.integer != SPEC_VERSION


def _version(seen: Seen) -> int:
    if is_other_version(seen):
        raise Invalid(
            f"unsupported spec version {shown(seen.text)[1:-1]}",
            f"this reconciler reads spec version {SPEC_VERSION}; write `version: "
            f"{SPEC_VERSION}` or use the reconciler release that wrote this spec",
        )
    if seen.kind is not Kind.INT:
        raise Invalid(
            f"`version` must be the number {SPEC_VERSION}, not {seen.describe()}",
            f"write `version: {SPEC_VERSION}`",
        )
    return SPEC_VERSION


def _endpoint(seen: Seen) -> str:
    value = word(seen, f"one of {listed(KNOWN_NAMES, 'or')}, or a URL").strip()
    if value in KNOWN_NAMES:
        return value
    problem = url_problem(value)
    if problem is None:
        return value
    if "credentials" in problem:  # never echo a URL that holds a password
        raise Invalid(
            "the endpoint URL holds credentials: secrets never go in a spec",
            f"remove them from the URL and {CREDENTIALS_FIX}",
        )
    if value.startswith("http://") and "loopback" in problem:
        fix = f"write {shown('https://' + value.removeprefix('http://'))[1:-1]}"
    else:
        close = closest(value, KNOWN_NAMES)
        fix = (f"did you mean `{close}`? " if close else "") + (
            f"use one of {listed(KNOWN_NAMES, 'or')}, or an https:// URL (http:// only on a "
            "loopback address)"
        )
    raise Invalid(f"endpoint {shown(value)}: {problem}", fix)


def _unmanaged(seen: Seen) -> UnmanagedPolicy:
    return choice(seen, UnmanagedPolicy, "`unmanaged` policy")


class Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Annotated[int, rule(_version)] = SPEC_VERSION
    endpoint: Annotated[str, rule(_endpoint)] = SANDBOX
    unmanaged: Annotated[UnmanagedPolicy, rule(_unmanaged)] = UnmanagedPolicy.REPORT
    services: tuple[ServiceSpec, ...] = ()
    source: str = "<memory>"  # file name the spec was read from
    digest: str = ""  # "sha256:<hex>" of the file's bytes
