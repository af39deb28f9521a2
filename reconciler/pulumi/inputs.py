"""A ``ServiceLifecycle``'s properties: checked with the spec's own reader, turned into a
spec entry, and the outputs shown back. Pure: no Pulumi, no I/O.

Inputs (what a spec entry says, plus where it lives):

``service``
    The entry's key in the spec (a label; the Pulumi resource name by default).
``name``, ``lifecycle``, ``mode``, ``period``, ``commitment_end``, ``type``, ``protect``
    As in a spec (``docs/user-guide.md``); ``name`` defaults to ``service``.
    ``commitment_end`` (``recommit``, ``keep_price``, ``default_price``; ``renew`` only)
    is checked by the spec model's own rule, so OVH's strategy names and a termination
    written as an end rule get ``reconciler validate``'s messages and fixes.
``endpoint``
    The spec's ``endpoint`` (``sandbox`` by default: never a real account by accident).
``keep``
    The services the same spec keeps renewing, ``[{"name": ..., "type": ...}]``: the
    ``linked-service-conflict`` rule needs them (terminating a domain whose web hosting
    the spec keeps is refused). The program fills it in; it is context, not a change.

The inputs are checked as a spec entry is: ``check_values`` builds the ``ServiceSpec``
(and the ``Spec`` for ``endpoint``) from the values with the models' own rules, so a
``ServiceLifecycle`` gets exactly the messages and fixes ``reconciler validate`` gives,
each on the property it is about.

Pulumi hands numbers back as floats (gRPC carries JSON numbers as doubles):
``as_int`` turns ``120000201.0`` back into the service id it was.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, TypeVar

from pydantic import BaseModel

from reconciler.core.lifecycle import CommitmentEnd, Lifecycle
from reconciler.core.live import LiveService
from reconciler.core.spec import (
    InvalidValues,
    ServiceSpec,
    Spec,
    UnmanagedPolicy,
    check_values,
    duplicate_names,
)
from reconciler.times import iso_utc, utc

# Input properties, in the order failures are listed (a spec entry's order).
SERVICE: Final = "service"
NAME: Final = "name"
LIFECYCLE: Final = "lifecycle"
MODE: Final = "mode"
PERIOD: Final = "period"
COMMITMENT_END: Final = "commitment_end"
TYPE: Final = "type"
PROTECT: Final = "protect"
ENDPOINT: Final = "endpoint"
KEEP: Final = "keep"
INPUTS: Final = (
    SERVICE, NAME, LIFECYCLE, MODE, PERIOD, COMMITMENT_END, TYPE, PROTECT, ENDPOINT, KEEP,
)  # fmt: skip
# A spec entry's fields.
ENTRY_FIELDS: Final = (NAME, LIFECYCLE, MODE, PERIOD, COMMITMENT_END, TYPE, PROTECT)
# What the resource wants of its service: a change to any of these is an update.
DESIRED: Final = (SERVICE, NAME, LIFECYCLE, MODE, PERIOD, COMMITMENT_END, TYPE, PROTECT, ENDPOINT)

# Output properties, read from the live account.
SERVICE_ID: Final = "service_id"
SERVICE_TYPE: Final = "service_type"
EXPIRY: Final = "expiry"
LIVE_LIFECYCLE: Final = "live_lifecycle"
LIVE_PERIOD: Final = "live_period"
LIVE_RENEW_MODE: Final = "live_renew_mode"
LIVE_COMMITMENT_END: Final = "live_commitment_end"
COMMITMENT_ENDS: Final = "commitment_ends"
JOURNAL_RUN: Final = "journal_run"
OUTPUTS: Final = (
    SERVICE_ID,
    SERVICE_TYPE,
    EXPIRY,
    LIVE_LIFECYCLE,
    LIVE_PERIOD,
    LIVE_RENEW_MODE,
    LIVE_COMMITMENT_END,
    COMMITMENT_ENDS,
    JOURNAL_RUN,
)

PROVIDER_KEY: Final = "__provider"  # the pickled provider, Pulumi's own property
ABSENT: Final = "absent"  # live_lifecycle of a service that is not on the account
ABSENT_ID_PREFIX: Final = "absent:"  # the id of a resource whose service was already gone
DEFAULT_ENDPOINT: Final = "sandbox"
KEEP_LABEL: Final = "keep[{index}]"

M = TypeVar("M", bound=BaseModel)


# --- values ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Kept:
    """A service the same spec keeps renewing (for the linked-service rule)."""

    name: str
    type: str | None = None

    def as_property(self) -> dict[str, str]:
        return {"name": self.name} | ({"type": self.type} if self.type else {})


@dataclass(frozen=True, slots=True)
class Entry:
    """One ``ServiceLifecycle``'s wanted state, valid: its spec entry, the endpoint of
    its account, and the services its spec keeps."""

    wanted: ServiceSpec
    endpoint: str = DEFAULT_ENDPOINT
    keep: tuple[Kept, ...] = ()

    @property
    def key(self) -> str:
        return self.wanted.key

    @property
    def source(self) -> str:
        """How plans and the journal name where this entry comes from."""
        return f"pulumi ServiceLifecycle {self.wanted.key}"

    def spec(self, *, with_keep: bool = False) -> Spec:
        """The entry as a spec of its own (``unmanaged: ignore``: a resource manages one
        service, never the rest of the account). ``with_keep`` adds the kept services as
        ``renew`` entries, so that the planner judges ``linked-service-conflict`` as it
        does for the whole spec; only this entry's action and refusals are then used."""
        entries = [self.wanted]
        if with_keep:
            entries.extend(
                ServiceSpec(
                    key=KEEP_LABEL.format(index=index),
                    name=kept.name,
                    type=kept.type,
                    lifecycle=Lifecycle.RENEW,
                )
                for index, kept in enumerate(self.keep)
            )
        return Spec(
            endpoint=self.endpoint,
            unmanaged=UnmanagedPolicy.IGNORE,
            services=tuple(entries),
            source=self.source,
            digest=self.digest(),
        )

    def digest(self) -> str:
        """``sha256:`` of the entry's canonical JSON: what a spec's digest is to a file."""
        canonical = {
            "endpoint": self.endpoint,
            "entry": self.wanted.model_dump(mode="json", exclude={"location"}),
        }
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

    def inputs(self) -> dict[str, Any]:
        """The checked inputs, normalised (defaults filled in), as Pulumi stores them."""
        wanted = self.wanted
        return {
            SERVICE: wanted.key,
            NAME: wanted.name,
            LIFECYCLE: wanted.lifecycle.value,
            MODE: wanted.mode.value if wanted.mode is not None else None,
            PERIOD: wanted.period,
            COMMITMENT_END: (
                wanted.commitment_end.value if wanted.commitment_end is not None else None
            ),
            TYPE: wanted.type,
            PROTECT: wanted.protect,
            ENDPOINT: self.endpoint,
            KEEP: [kept.as_property() for kept in self.keep],
        }


@dataclass(frozen=True, slots=True)
class Failure:
    """A property that does not pass: Pulumi shows ``property: reason``."""

    property: str
    reason: str


@dataclass(frozen=True, slots=True)
class Checked:
    """What checking a resource's properties gave: the entry (when valid), the inputs to
    store, and the failures. ``unknown`` lists properties not known yet (a preview with
    values computed by other resources): nothing can be judged until they are."""

    inputs: dict[str, Any]
    entry: Entry | None = None
    failures: tuple[Failure, ...] = ()
    unknown: tuple[str, ...] = field(default=())


# --- checking --------------------------------------------------------------------------


def check_properties(news: Mapping[str, Any], *, unknown_marker: object = None) -> Checked:
    """Check a ``ServiceLifecycle``'s input properties (``__provider`` and the output
    placeholders are set aside). ``unknown_marker`` is the value Pulumi puts in place
    of a value a preview does not know yet."""
    failures: list[Failure] = []
    values: dict[str, Any] = {}
    for key, value in news.items():
        if key == PROVIDER_KEY:
            continue
        if key in OUTPUTS:
            if value is not None and value != unknown_marker:
                failures.append(
                    Failure(key, f"`{key}` is an output, read from the account: do not set it")
                )
            continue
        if key not in INPUTS:
            failures.append(
                Failure(
                    key,
                    f"unknown property `{key}`; a ServiceLifecycle takes " + ", ".join(INPUTS),
                )
            )
            continue
        values[key] = value
    unknown = tuple(
        key
        for key, value in values.items()
        if unknown_marker is not None and _holds(value, unknown_marker)
    )
    passed = {key: value for key, value in values.items() if value is not None}
    if unknown:
        return Checked(inputs=passed, failures=tuple(failures), unknown=unknown)
    service = values.get(SERVICE)
    if service is None:
        service = values.get(NAME)
    if not isinstance(service, str) or not service:
        failures.append(
            Failure(SERVICE, "`service` (the entry's key in the spec) must be a non-empty string")
        )
    keep = _kept(values.get(KEEP), failures)
    if failures:
        return Checked(inputs=passed, failures=tuple(failures))
    assert isinstance(service, str) and keep is not None
    entry = _entry(service, values, keep, failures)
    if entry is None:
        order = {name: index for index, name in enumerate(INPUTS)}
        failures.sort(key=lambda failure: order.get(failure.property.split("[")[0], len(order)))
        return Checked(inputs=passed, failures=tuple(failures))
    return Checked(inputs=entry.inputs(), entry=entry)


def _entry(
    service: str, values: Mapping[str, Any], keep: Sequence[Kept], failures: list[Failure]
) -> Entry | None:
    """The entry the values state, checked as a spec entry is (None: ``failures`` say
    why, each on its property)."""
    fields = {name: values[name] for name in ENTRY_FIELDS if values.get(name) is not None}
    wanted = _checked(ServiceSpec, {"key": service, **fields}, failures, SERVICE)
    kept = [
        _checked(
            ServiceSpec,
            {
                "key": KEEP_LABEL.format(index=index),
                "name": item.name,
                "type": item.type,
                "lifecycle": Lifecycle.RENEW,
            },
            failures,
            KEEP_LABEL.format(index=index),
        )
        for index, item in enumerate(keep)
    ]
    endpoint = values.get(ENDPOINT)
    spec = _checked(
        Spec,
        {"endpoint": DEFAULT_ENDPOINT if endpoint is None else endpoint},
        failures,
        ENDPOINT,
    )
    if wanted is None or spec is None or None in kept:
        return None
    labels = {wanted.key: SERVICE} | {item.key: item.key for item in kept if item is not None}
    for duplicate, problem in duplicate_names([wanted, *(item for item in kept if item)]):
        failures.append(Failure(labels[duplicate.key], f"{problem.message} — {problem.fix}"))
    if failures:
        return None
    return Entry(wanted=wanted, endpoint=spec.endpoint, keep=tuple(keep))


def _checked(
    model: type[M], values: Mapping[str, Any], failures: list[Failure], where: str
) -> M | None:
    """``model`` from ``values``, or None with a failure per problem: on the property the
    problem is about (``where`` for the service's key, and for a kept service)."""
    try:
        return check_values(model, values)
    except InvalidValues as invalid:
        for problem in invalid.problems:
            own_field = where == SERVICE and problem.field != "key"
            failures.append(Failure(problem.field if own_field else where, str(problem)))
        return None


def _holds(value: Any, marker: object) -> bool:
    if value == marker:
        return True
    if isinstance(value, Mapping):
        return any(_holds(item, marker) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_holds(item, marker) for item in value)
    return False


def _kept(value: Any, failures: list[Failure]) -> tuple[Kept, ...] | None:
    """``keep``: a list of ``{"name": str, "type": str?}``."""
    if value is None:
        return ()
    shape = 'a list of {"name": ..., "type": ...} (the services the spec keeps renewing)'
    if not isinstance(value, list | tuple):
        failures.append(Failure(KEEP, f"`keep` must be {shape}"))
        return None
    kept: list[Kept] = []
    for index, item in enumerate(value):
        if (
            not isinstance(item, Mapping)
            or not isinstance(item.get("name"), str)
            or not item["name"]
            or not isinstance(item.get("type"), str | None)
            or set(item) - {"name", "type"}
        ):
            failures.append(Failure(f"{KEEP}[{index}]", f"each item of `keep` must be {shape}"))
            return None
        kept.append(Kept(name=item["name"], type=item.get("type") or None))
    return tuple(kept)


# --- numbers and outputs ----------------------------------------------------------------


def as_int(value: Any) -> int | None:
    """An integer property as Pulumi hands it back: ``120000201.0`` → ``120000201``.
    ``None`` for None; ``ValueError`` for anything that is not a whole number."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ValueError(f"expected a whole number, got {value!r}")


def resource_id(service_id: int | None, name: str) -> str:
    """A resource's id: its service's id, or ``absent:<name>`` when the service it names
    was already gone when it was created (``terminate_at_expiry``, ``delete_now``)."""
    return str(service_id) if service_id is not None else ABSENT_ID_PREFIX + name


def service_id_of(resource_id: str) -> int | None:
    """The service id a resource id designates (None for ``absent:...``)."""
    if resource_id.startswith(ABSENT_ID_PREFIX):
        return None
    return as_int(resource_id)


def live_outputs(live: LiveService | None) -> dict[str, Any]:
    """The output properties that describe the live service (``absent``: not on the
    account)."""
    if live is None:
        return {
            SERVICE_ID: None,
            SERVICE_TYPE: None,
            EXPIRY: None,
            LIVE_LIFECYCLE: ABSENT,
            LIVE_PERIOD: None,
            LIVE_RENEW_MODE: None,
            LIVE_COMMITMENT_END: None,
            COMMITMENT_ENDS: None,
        }
    return {
        SERVICE_ID: live.service_id,
        SERVICE_TYPE: live.type,
        EXPIRY: _utc_text(live.expiration),
        LIVE_LIFECYCLE: live.lifecycle.value,
        LIVE_PERIOD: live.renew_period,
        LIVE_RENEW_MODE: live.renew_mode,
        LIVE_COMMITMENT_END: _end_rule(live),
        COMMITMENT_ENDS: (
            live.commitment.end_date.isoformat()
            if live.commitment is not None and live.commitment.end_date is not None
            else None
        ),
    }


def _end_rule(live: LiveService) -> str | None:
    """The commitment's end rule in the spec's words (``recommit``, ``keep_price``,
    ``default_price``); None without a commitment, or for ``CANCEL_SERVICE``, which is a
    lifecycle (``live_lifecycle`` says ``terminate_at_commitment_end``), or for a
    strategy this release does not know (the service is then ``not_understood``)."""
    if live.commitment is None or live.commitment.strategy is None:
        return None
    end = CommitmentEnd.of_strategy(live.commitment.strategy.value)
    return end.value if end is not None else None


def _utc_text(when: datetime | None) -> str | None:
    if when is None:
        return None
    return iso_utc(utc(when))


def desired_changes(olds: Mapping[str, Any], news: Mapping[str, Any]) -> tuple[str, ...]:
    """The wanted-state properties that differ between the stored and the new inputs
    (``keep`` is context, not a change of what is wanted of the service)."""
    return tuple(name for name in DESIRED if olds.get(name) != news.get(name))
