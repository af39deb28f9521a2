"""The plan: an immutable value saying what apply would do, and what it refuses to do.

The models here are the plan JSON format (``format_version: "1"``, documented in
``docs/plan-format.md``; its JSON Schema is generated from these models). Renderers only
display a ``Plan``; apply only executes one. The planner (``make_plan``) is pure:
spec + live account + clock in, ``Plan`` out.

A plan carries the normalised spec it was computed from (``spec``), so that applying a
saved plan can plan again against the account as it is at apply time and refuse the
saved one when anything it relied on has moved: there is no state file, the account
is the truth (docs/user-guide.md, "Concepts").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from reconciler.core.diff import Essence
from reconciler.core.lifecycle import EssenceLifecycle
from reconciler.core.spec import ServiceSpec, UnmanagedPolicy
from reconciler.times import Phrase

FORMAT_VERSION: Literal["1"] = "1"

# What a deletion's confirmation call carries instead of the e-mailed token: the real
# token exists only at apply time (read from the account's e-mail history), never in a plan.
TOKEN_PLACEHOLDER = "<token from e-mail>"

# Money in a plan file: a decimal string, exact as OVH bills it (a float would not be).
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
DecimalText = Annotated[str, StringConstraints(pattern=DECIMAL_PATTERN)]


def _in_utc(when: datetime) -> datetime:
    """A plan's instant in UTC; a naive one is refused, never guessed (whose midnight?)."""
    if when.tzinfo is UTC:  # what the planner's clock gives: nothing to do
        return when
    if when.utcoffset() is None:
        raise PydanticCustomError(
            "naive_datetime", "a datetime without a timezone (write it in UTC, e.g. ...Z)"
        )
    try:
        return when.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, year 9999 west: the nearest UTC instant
        return (datetime.min if when.year == 1 else datetime.max).replace(tzinfo=UTC)


# Every instant of a plan: aware, held in UTC from validation on, so that the plan file
# writes each as ``...Z`` (docs/plan-format.md) with pydantic's one serialiser.
UtcDatetime = Annotated[datetime, AfterValidator(_in_utc)]


# What a planned action does to a service; it says its own symbol and headline, so that
# plans, legends and apply reports use one set of words. (No docstring: the plan schema
# describes the enum by its values, docs/plan-format.md.)
class ActionKind(StrEnum):
    TERMINATE_AT_EXPIRY = "terminate_at_expiry"
    TERMINATE_AT_COMMITMENT_END = "terminate_at_commitment_end"
    CANCEL_TERMINATION = "cancel_termination"
    DELETE_NOW = "delete_now"
    SET_RENEW = "set_renew"
    NO_OP = "no_op"

    @property
    def symbol(self) -> str:
        """Terraform-like: ``-`` goes away (at expiry), ``+`` is kept (its termination
        undone), ``~`` is changed in place, ``!`` is destroyed right now."""
        return _SYMBOL_OF[self]

    @property
    def headline(self) -> str:
        """What the kind is called in headlines, legends and apply reports."""
        return _HEADLINE_OF[self]


_SYMBOL_OF: Mapping[ActionKind, str] = {
    ActionKind.TERMINATE_AT_EXPIRY: "-",
    ActionKind.TERMINATE_AT_COMMITMENT_END: "-",
    ActionKind.CANCEL_TERMINATION: "+",
    ActionKind.SET_RENEW: "~",
    ActionKind.DELETE_NOW: "!",
    ActionKind.NO_OP: " ",
}
_HEADLINE_OF: Mapping[ActionKind, str] = {
    ActionKind.TERMINATE_AT_EXPIRY: "terminate at expiry",
    ActionKind.TERMINATE_AT_COMMITMENT_END: "terminate at commitment end",
    ActionKind.CANCEL_TERMINATION: "cancel termination",
    ActionKind.SET_RENEW: "change renewal",
    ActionKind.DELETE_NOW: "delete now",
    ActionKind.NO_OP: "no change",
}


class RuleCode(StrEnum):
    """Stable codes of the lifecycle rules, shown in plans and listed in docs/user-guide.md
    ("The lifecycle rules"): renaming one breaks the scripts that match on it."""

    CANCEL_WINDOW_CLOSED = "cancel-window-closed"
    DELETE_NOW_WEB_HOSTING_ONLY = "delete-now-web-hosting-only"
    UNMANAGEABLE_SERVICE = "unmanageable-service"
    ALREADY_TERMINATED = "already-terminated"
    UNKNOWN_SERVICE = "unknown-service"
    AMBIGUOUS_SERVICE = "ambiguous-service"
    PROTECTED = "protected"
    LINKED_SERVICE_CONFLICT = "linked-service-conflict"
    TYPE_MISMATCH = "type-mismatch"
    PERIOD_NOT_OFFERED = "period-not-offered"
    UNPAID_SERVICE = "unpaid-service"
    UNMANAGED_SERVICE = "unmanaged-service"  # `unmanaged: error` and a live service not in the spec
    # Reading and acting as the control panel does (docs/control-panel.md):
    STATE_NOT_UNDERSTOOD = "state-not-understood"  # fail closed on a state we do not know
    ACTION_NOT_OFFERED = "action-not-offered"  # billing.lifecycle.capacities.actions
    MODE_NOT_OFFERED = "mode-not-offered"  # billing.renew.capacities.mode; ovh-us: no manual
    STRATEGY_NOT_OFFERED = "strategy-not-offered"  # endRule.possibleStrategies
    COMMITTED_RENEWAL = "committed-renewal"  # manual renewal under a commitment ending
    TERMINATE_MANUAL_SERVICE = "terminate-manual-service"  # /services cannot show it
    UNSAFE_NAME = "unsafe-name"  # a name that is no single URL path segment
    NOT_ADMIN_CONTACT = "not-admin-contact"  # a deletion's e-mail goes to another account
    # A change whose moment has passed (the expiry it relies on): plan and apply agree.
    ACTION_EXPIRED = "action-expired"


@dataclass(frozen=True, slots=True)
class DoneBefore:
    """Evidence that a spec entry's termination or deletion was made, for a service the
    account no longer lists: the apply journal saw it done, or the reviewed plan being
    applied had the service (by id) and it has left the account since. Only with one of
    these is such an entry "already done"; otherwise it is a name that matches nothing
    (``unknown-service``), most often a typo."""

    action: ActionKind
    evidence: str  # completes "already done: no service named X on the account, and ..."


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Call(_Frozen):
    """One API call an action makes, as the plan file writes it. Bodies never hold
    secrets; the e-mailed token of a deletion appears as the placeholder
    ``"<token from e-mail>"``. The planner makes typed steps (``reconciler.core.steps``),
    which are calls; a plan read from a file holds plain calls."""

    method: Literal["GET", "PUT", "POST", "DELETE"]
    path: str
    body: dict[str, Any] | None = None

    # A call is what it sends: a typed step the planner made in this run
    # (``reconciler.core.steps``) equals the call a plan file recorded for it, which is
    # how a reviewed plan is compared with the plan made again at apply time.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Call):
            return NotImplemented
        return (self.method, self.path, self.body) == (other.method, other.path, other.body)

    def __hash__(self) -> int:
        return hash((self.method, self.path, self.text()))

    def text(self) -> str:
        """``PUT /services/1 {"terminationPolicy":"empty"}``: compact and exact, the
        call's one line in every rendering of a plan."""
        if self.body is None:
            return f"{self.method} {self.path}"
        body = json.dumps(self.body, separators=(",", ":"), ensure_ascii=False, default=str)
        return f"{self.method} {self.path} {body}"


def _essence_of(value: Any) -> Essence:
    """An essence as the plan file writes it (``Essence.as_dict``), read back strictly:
    a lifecycle of ``EssenceLifecycle``, the other keys texts or null, nothing else."""
    if isinstance(value, Essence):
        return value
    if not isinstance(value, dict):
        raise ValueError("an essence is an object: {lifecycle, period}")
    known = {field.name for field in fields(Essence)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ValueError(f"an essence has no field {unknown[0][:40]!r}")
    lifecycle = value.get("lifecycle")
    if not isinstance(lifecycle, str) or lifecycle not in set(EssenceLifecycle):
        allowed = ", ".join(EssenceLifecycle)
        raise ValueError(f"an essence's lifecycle is one of {allowed}")
    rest = {key: item for key, item in value.items() if key != "lifecycle"}
    for key, item in rest.items():
        if item is not None and not isinstance(item, str):
            raise ValueError(f"an essence's {key} is a text or null")
    return Essence(EssenceLifecycle(lifecycle), **rest)


def _essence_data(essence: Essence) -> dict[str, str | None]:
    return essence.as_dict()


# ``before`` / ``after``: typed in memory (``reconciler.core.diff.Essence``), written as
# the object they always were (the schema keeps it a free object).
PlannedEssence = Annotated[
    Essence,
    PlainValidator(_essence_of),
    PlainSerializer(_essence_data, return_type=dict[str, Any]),
    WithJsonSchema({"additionalProperties": True, "type": "object"}),
]


class Action(_Frozen):
    service: str  # the spec key
    name: str  # resource.name
    service_id: int | None
    type: str | None
    action: ActionKind
    before: PlannedEssence  # the live essence
    after: PlannedEssence  # the wanted essence
    irreversible: bool
    reason: str
    calls: tuple[Call, ...] = ()  # the planner's typed steps; plain calls when read back
    fingerprint: str  # "sha256:<hex>" of the live fields the action depends on
    expires_at: UtcDatetime | None = None  # when the action stops being allowed
    expiration: UtcDatetime | None = None  # the service's expiry, for display
    # billing.engagement.endDate: the day the service's commitment ends, for display (the
    # pull-request comment's timeline); a day, as OVH gives it, never a guessed instant.
    # Named as Pulumi's output of the same day; not ``commitment_end``, which in the
    # essences (before/after) is the spec's end rule.
    commitment_ends: date | None = None
    linked: tuple[str, ...] = ()  # names of linked child services it takes along


class Refusal(_Frozen):
    service: str
    service_id: int | None = None
    rule: RuleCode
    message: str
    fix: str
    # The message and the fix with their instants typed (``reconciler.times.Phrase``): a
    # renderer shows those dates in the display zone (``--tz``). Not in the plan file,
    # which holds the texts in UTC: a refusal read back has none, and equals the refusal
    # it was written from.
    message_phrase: Phrase = Field(default=(), exclude=True)
    fix_phrase: Phrase = Field(default=(), exclude=True)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Refusal):
            return NotImplemented
        return self._written() == other._written()

    def __hash__(self) -> int:
        return hash(self._written())

    def _written(self) -> tuple[object, ...]:
        return (self.service, self.service_id, self.rule, self.message, self.fix)


class Drift(_Frozen):
    """A field where the account differs from the spec."""

    service: str
    field: str  # "lifecycle" | "period" | ...
    spec: Any
    live: Any


class Unmanaged(_Frozen):
    """A live service the spec does not name."""

    name: str
    service_id: int
    type: str
    lifecycle: str
    expiration: UtcDatetime | None = None
    manageable: bool = True


class BillingEffect(StrEnum):
    """What a change does to what the account is billed (``Plan.billing``)."""

    RENEWAL_STOPS = "renewal_stops"  # a renewing service stops renewing
    RENEWAL_STARTS = "renewal_starts"  # a service whose termination is cancelled renews again
    PERIOD_CHANGE = "period_change"  # renewed for another period: a price OVH does not give
    MODE_CHANGE = "mode_change"  # automatic <-> by hand: the same price
    END_STRATEGY_CHANGE = "end_strategy_change"  # what the commitment's end does to it
    NO_RENEWAL_CHANGE = "no_renewal_change"  # e.g. deleting a service that was not renewing


class Price(_Frozen):
    """One renewal's price as OVH states it (``billing.pricing.price``)."""

    amount: DecimalText  # a decimal string, never a float: "59.99"
    currency: str  # "EUR", "USD", ...
    text: str | None = None  # OVH's own rendering, e.g. "59.99 €"


class BillingChange(_Frozen):
    """What one action of the plan does to billing. Computed from the action and the live
    service (``reconciler.core.money``); prices are what OVH states, never guessed."""

    service: str  # the spec key, as in the action
    service_id: int | None
    action: ActionKind
    effect: BillingEffect
    price: Price | None  # the current price of one renewal; None: OVH gives no price
    period: str | None  # what that price buys (billing.pricing.duration), e.g. "P12M"
    per_year: DecimalText | None  # in price.currency; None: no figure
    takes_effect: UtcDatetime | None  # when billing changes: the expiry, the commitment's end, now
    new_period: str | None = None  # period_change: the period wanted (OVH gives no price)
    paid_until: UtcDatetime | None = None  # delete_now: time paid until then is lost, no refund
    commitment_end: UtcDatetime | None = None  # delete_now under a commitment: may still be billed
    # The end strategy the change sets for the commitment's end (OVH's name, e.g.
    # STOP_ENGAGEMENT_KEEP_PRICE); None when it sets none.
    end_strategy: str | None = None
    # The price once that commitment ends, where OVH's figures say it: the current one
    # for STOP_ENGAGEMENT_KEEP_PRICE; None otherwise (the default price after
    # STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE is not in the service's answer).
    price_after_commitment: Price | None = None


class CurrencyTotal(_Frozen):
    """Renewals stopped and started by the plan, per year, in one currency (never added
    to another's)."""

    currency: str
    stopped_per_year: DecimalText
    started_per_year: DecimalText
    stopped: int  # services whose renewal stops, counted in stopped_per_year
    started: int  # services whose renewal starts, counted in started_per_year


class Billing(_Frozen):
    """What the plan does to billing: a line per change, and totals per currency."""

    changes: tuple[BillingChange, ...] = ()
    totals: tuple[CurrencyTotal, ...] = ()
    # Renewals stopped or started that are in no total: OVH gives no price or no yearly
    # figure for them (a sum that leaves them out must say so).
    not_in_totals: int = 0


class Plan(_Frozen):
    format_version: Literal["1"] = FORMAT_VERSION
    created_at: UtcDatetime
    endpoint: str
    spec_source: str
    spec_digest: str
    live_fingerprint: str  # of every service the plan looked at
    summary: dict[str, int] = Field(default_factory=dict)  # counts by action, plus "refused"
    actions: tuple[Action, ...] = ()
    refused: tuple[Refusal, ...] = ()
    drift: tuple[Drift, ...] = ()
    unmanaged: tuple[Unmanaged, ...] = ()
    spec: tuple[ServiceSpec, ...] = ()  # the normalised spec, to plan again at apply time
    # The spec's `unmanaged` policy, so that a saved plan is judged again at apply time as
    # its spec would be (with `error`, a service that appeared since is refused).
    unmanaged_policy: UnmanagedPolicy = UnmanagedPolicy.REPORT
    # What the changes do to billing (reconciler.core.money); added in format 1 (additive:
    # a plan file without it reads as one that changes no billing).
    billing: Billing = Field(default_factory=Billing)
    # ``--target``: the spec keys this plan covers, the only ones planned and applied (the
    # other entries and services were not compared). None: the whole spec.
    targets: tuple[str, ...] | None = None

    @property
    def changes(self) -> tuple[Action, ...]:
        """The actions that change something (every kind but no_op)."""
        return tuple(a for a in self.actions if a.action is not ActionKind.NO_OP)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def has_refusals(self) -> bool:
        return bool(self.refused)

    @property
    def targeted(self) -> bool:
        """Made with ``--target``: a partial plan of the spec."""
        return self.targets is not None


Keyed = TypeVar("Keyed")


def by_key(items: Iterable[Keyed], key: Callable[[Keyed], str]) -> dict[str, Keyed] | None:
    """``items`` by ``key``, in their order; ``None`` when two share a key. A planner
    makes one action and embeds one entry per spec key: a plan read from a file that
    repeats one is not as a planner made it, and its callers say so."""
    found: dict[str, Keyed] = {}
    for item in items:
        name = key(item)
        if name in found:
            return None
        found[name] = item
    return found
