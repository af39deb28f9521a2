"""May this saved plan be applied here? The trust check of ``reconciler apply PLAN``.

A saved plan is a file anyone with write access to a CI artifact, a shared folder or a
pull request can edit, and it names things apply would otherwise obey: the spec it was
made from, the endpoint, the services by id. So a plan is never taken at its word. It is
applied only when it agrees with what the operator holds — the spec at hand (the file the
plan names, or the one given with ``--spec``) and the endpoint that spec names (or
``--endpoint``) — and every disagreement is refused before a single request is sent, so
credentials only ever travel to an endpoint the spec at hand names:

- ``spec-missing``: the spec is not there. Nothing to hold the plan to: refused.
- ``spec-changed``: the spec's bytes are not those the plan was made from (its digest
  differs): the spec was edited since the review, or the plan carries another spec's
  digest. Refused even when the entries still agree: what runs is what was reviewed.
- ``spec-mismatch``: the digest agrees but the entries, or the ``unmanaged`` policy, that
  the plan embeds are not those of the spec: the plan file was altered under the digest.
- ``endpoint-mismatch``: the plan was made for another endpoint than the one the spec at
  hand (or ``--endpoint``) names — or for no endpoint there is.
- ``plan-inconsistent``: the plan contradicts itself: an action for no entry of its own
  spec, two actions for one entry, an action naming another service than its entry, a
  call to ``/services/{id}`` of another id than its action's.

What this cannot see without the account — ids swapped consistently with their calls, an
action the rules and the account do not imply — is the judge's, after the account is
read again (``reconciler.core.approval``): apply executes only the fresh plan's actions,
never the calls read from a file.

Pure: the plan, the spec already loaded (or ``None``) and the endpoint already resolved
in; a ``Trust`` out. The command line reads the files and raises ``Trust.raise_if_refused``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.core.plan import Action, Plan, by_key
from reconciler.core.spec import ServiceSpec, Spec
from reconciler.endpoints import Endpoint, resolve_endpoint
from reconciler.errors import ConfigError, PlanFileError

_REPLAN = (
    "plan again from the spec as it is (`reconciler plan SPEC --out FILE`), have that plan "
    "reviewed, and apply it"
)
_UNCHANGED = "apply the file `reconciler plan --out` wrote, unchanged"


class Distrust(StrEnum):
    """Why a saved plan may not be applied here (module docstring)."""

    SPEC_MISSING = "spec-missing"
    SPEC_CHANGED = "spec-changed"
    SPEC_MISMATCH = "spec-mismatch"
    ENDPOINT_MISMATCH = "endpoint-mismatch"
    PLAN_INCONSISTENT = "plan-inconsistent"


@dataclass(frozen=True, slots=True)
class TrustProblem:
    code: Distrust
    message: str
    hint: str


@dataclass(frozen=True, slots=True)
class Trust:
    """The verdict: trusted when there is no problem."""

    problems: tuple[TrustProblem, ...] = ()

    @property
    def trusted(self) -> bool:
        return not self.problems

    def raise_if_refused(self) -> None:
        """One ``PlanFileError`` (exit 1): the first problem, and how many more."""
        if not self.problems:
            return
        first = self.problems[0]
        more = len(self.problems) - 1
        tail = f" (and {more} more problem{'s' * (more > 1)})" if more else ""
        raise PlanFileError(f"{first.message}; nothing was sent{tail}", hint=first.hint)


@dataclass(frozen=True, slots=True)
class SpecAtHand:
    """The spec the operator holds: where it was looked for, and what it holds (``None``
    when there is no such file)."""

    path: str
    spec: Spec | None
    given: bool = False  # named with --spec (else found from the plan's spec_source)


@dataclass(frozen=True, slots=True)
class EndpointAtHand:
    """The endpoint apply would talk to, and who named it (for messages)."""

    endpoint: Endpoint
    source: str  # "--endpoint", "stacks/prod.yaml endpoint"


def check_trust(
    plan: Plan, plan_source: str, spec: SpecAtHand, endpoint: EndpointAtHand | None
) -> Trust:
    """Whether ``plan`` (read from ``plan_source``) may be applied against ``spec`` and on
    ``endpoint`` (``None`` only when there is no spec to name one). Every problem found,
    the most telling first."""
    if spec.spec is None:
        hint = (
            "give the path of the spec the plan was made from with --spec FILE"
            if spec.given
            else "apply from the directory the plan was made in (the repository's root in CI), "
            "or give the spec with --spec FILE"
        )
        return Trust(
            (
                TrustProblem(
                    Distrust.SPEC_MISSING,
                    f"{plan_source} was made from {spec.path}, and there is no such file here: "
                    "a saved plan is applied only against the spec it was made from",
                    hint,
                ),
            )
        )
    problems: list[TrustProblem] = []
    if endpoint is not None:
        problems.extend(_endpoint_problems(plan, plan_source, endpoint))
    problems.extend(_spec_problems(plan, plan_source, spec.path, spec.spec))
    problems.extend(_consistency_problems(plan, plan_source))
    return Trust(tuple(problems))


# --- the endpoint ----------------------------------------------------------------------


def _endpoint_problems(
    plan: Plan, plan_source: str, at_hand: EndpointAtHand
) -> Iterator[TrustProblem]:
    try:
        planned = resolve_endpoint(plan.endpoint)
    except ConfigError:
        planned = None
    if planned is not None and planned.base_url == at_hand.endpoint.base_url:
        return
    yield TrustProblem(
        Distrust.ENDPOINT_MISMATCH,
        f"{plan_source} was made for endpoint {plan.endpoint!r}, and {at_hand.source} names "
        f"{at_hand.endpoint.name!r}",
        "plan again for the endpoint the spec names; a plan made with --endpoint is applied "
        "with the same --endpoint",
    )


# --- the spec --------------------------------------------------------------------------


def _spec_problems(plan: Plan, plan_source: str, path: str, spec: Spec) -> Iterator[TrustProblem]:
    differences = spec_differences(plan, spec)
    if spec.digest != plan.spec_digest:
        what = differences[0] if differences else "its text differs, its entries do not"
        yield TrustProblem(
            Distrust.SPEC_CHANGED,
            f"{path} is not the spec {plan_source} was made from ({what}): the spec changed "
            "since the plan was reviewed",
            _REPLAN,
        )
    elif differences:
        yield TrustProblem(
            Distrust.SPEC_MISMATCH,
            f"{plan_source} carries the digest of {path} but embeds another spec "
            f"({differences[0]}): the plan file was altered",
            _UNCHANGED,
        )


def spec_differences(plan: Plan, spec: Spec) -> tuple[str, ...]:
    """What differs between the spec a plan embeds and ``spec``, in words, entry by entry
    (in the spec's order, then the plan's), the ``unmanaged`` policy first."""
    found: list[str] = []
    if plan.unmanaged_policy is not spec.unmanaged:
        found.append(
            f"unmanaged: {spec.unmanaged.value} in the spec, {plan.unmanaged_policy.value} "
            "in the plan"
        )
    embedded = _by_key(plan.spec)
    wanted = _by_key(spec.services)
    if embedded is None:
        found.append("the plan embeds two entries under one key")
        return tuple(found)
    assert wanted is not None  # the spec reader refuses duplicate keys
    for key, entry in wanted.items():
        other = embedded.get(key)
        if other is None:
            found.append(f"{key} is in the spec, not in the plan")
        else:
            found.extend(_entry_differences(key, entry, other))
    found.extend(
        f"the plan has {key}, which the spec does not name" for key in embedded if key not in wanted
    )
    if not found and [e.key for e in plan.spec] != [e.key for e in spec.services]:
        found.append("the entries are in another order")
    return tuple(found)


def _entry_differences(key: str, in_spec: ServiceSpec, in_plan: ServiceSpec) -> Iterator[str]:
    mine, theirs = _essence(in_spec), _essence(in_plan)
    for field, value in mine.items():
        if theirs.get(field) != value:
            planned = _shown(theirs.get(field))
            yield f"{key}: {field} {_shown(value)} in the spec, {planned} in the plan"


def _essence(entry: ServiceSpec) -> dict[str, Any]:
    """What an entry asks, without where it stands in the file."""
    return entry.model_dump(mode="json", exclude={"location"})


def _shown(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _by_key(entries: Sequence[ServiceSpec]) -> dict[str, ServiceSpec] | None:
    return by_key(entries, lambda entry: entry.key)


# --- the plan against itself -----------------------------------------------------------


def _consistency_problems(plan: Plan, plan_source: str) -> Iterator[TrustProblem]:
    entries = _by_key(plan.spec) or {}
    seen: set[str] = set()
    for action in plan.actions:
        reason = _inconsistency(action, entries, seen)
        seen.add(action.service)
        if reason:
            yield TrustProblem(
                Distrust.PLAN_INCONSISTENT,
                f"{plan_source} contradicts itself: {reason}: the plan file was altered",
                _UNCHANGED,
            )


def _inconsistency(action: Action, entries: dict[str, ServiceSpec], seen: set[str]) -> str | None:
    entry = entries.get(action.service)
    if entry is None:
        return f"its action for {action.service!r} matches no entry of its own spec"
    if action.service in seen:
        return f"it lists two actions for {action.service!r}"
    if action.name != entry.name:
        return (
            f"its action for {action.service!r} acts on {action.name!r}, and its entry names "
            f"{entry.name!r}"
        )
    for call in action.calls:
        named = _service_id_in(call.path)
        if named is not None and named != action.service_id:
            return (
                f"its action for {action.service!r} (#{action.service_id}) calls {call.path}, "
                "another service"
            )
    return None


def _service_id_in(path: str) -> int | None:
    """The id a ``/services/{id}...`` path names (``None`` for other routes)."""
    parts = path.split("/")
    if len(parts) >= 3 and parts[0] == "" and parts[1] == "services" and parts[2].isdigit():
        return int(parts[2])
    return None
