"""Adopting an account: the live account in, the text of a spec that states it as it is
out. Pure (``reconciler import`` reads the account and writes the file).

The spec written is the account *as it is*, so that planning it right away reports no
changes; a team then edits the lifecycles it wants to change, in a pull request.

- Every manageable service that is still there gets an entry with its current
  lifecycle: ``renew`` (automatic renewal), ``renew`` with ``mode: manual`` (renewed
  by hand: stating it as plain ``renew`` would make the next apply switch it to
  automatic renewal, a billing change nobody asked for), or ``terminate_at_expiry``;
  and its renewal ``period`` when the API gives one a spec can state.
- A comment above each entry says what the service is: its type, its expiry or
  termination date, how it renews, the services linked to it, an unpaid bill.
- Services that share a name (a domain and the web hosting named after it) get a label
  as key, ``name:`` and ``type:``, so the spec says which one each entry means.
- What is not adopted is listed in comments at the end, each with the reason:
  telecom, Microsoft and MX Plan services (managed from their own interfaces), services
  already gone (expired, terminated), and the rare service a spec cannot name (a name
  holding a space or an invisible character; two live services sharing name and type).
- Entries are sorted by name, then type, then id; the text is deterministic.

Each entry is built from the live service with the spec's own rules
(``check_values``), and the text is read back before it is handed out
(``Adoption.spec``): an import never writes a spec that ``reconciler validate`` would
refuse, nor one that reads as other entries than those checked.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from marked_yaml import invisible_characters
from reconciler.core.catalog import product_of
from reconciler.core.lifecycle import CommitmentEnd, Lifecycle, LiveLifecycle, RenewMode
from reconciler.core.live import LiveAccount, LiveService
from reconciler.core.periods import InvalidPeriod, parse_period
from reconciler.core.rules import cancel_deadline, has_passed
from reconciler.core.spec import (
    MAX_NAME_LENGTH,
    InvalidValues,
    ServiceSpec,
    Spec,
    UnmanagedPolicy,
    check_values,
    parse_spec,
)
from reconciler.errors import ReconcilerError, SpecError
from reconciler.times import shown_day, utc, utc_text

__all__ = ["Adoption", "Skipped", "adopt"]


# Why a family cannot be adopted: the control panel manages it from its own interface,
# not from /services (docs/user-guide.md, "The lifecycle rules": unmanageable-service).
def _unmanageable_why(service: LiveService) -> str:
    product = product_of(service.type)
    return f"{product.described}: manage it from {product.managed_from}"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A live service the spec does not state, and why (a comment of the spec)."""

    service: LiveService
    reason: str


@dataclass(frozen=True, slots=True)
class Adoption:
    """The spec that adopts an account: its text, the spec it reads as, and what was
    left out."""

    text: str
    spec: Spec
    adopted: tuple[LiveService, ...]
    unmanageable: tuple[Skipped, ...]
    gone: tuple[Skipped, ...]
    unstatable: tuple[Skipped, ...]

    def summary(self) -> str:
        """``11 services adopted; 5 managed from their own interface, 1 already gone``."""
        parts = [f"{len(self.adopted):,} service{'s' * (len(self.adopted) != 1)} adopted"]
        left = []
        if self.unmanageable:
            left.append(f"{len(self.unmanageable):,} managed from their own interface")
        if self.gone:
            left.append(f"{len(self.gone):,} already gone")
        if self.unstatable:
            left.append(f"{len(self.unstatable):,} that a spec cannot name")
        if left:
            parts.append("left out, in comments: " + ", ".join(left))
        return "; ".join(parts)


def adopt(
    account: LiveAccount,
    *,
    endpoint: str,
    now: datetime,
    source: str = "reconciler import",
    unmanaged: UnmanagedPolicy = UnmanagedPolicy.REPORT,
    periods: bool = True,
) -> Adoption:
    """The spec stating ``account`` as it is at ``now`` (the API's clock), for
    ``endpoint`` (written as the spec's ``endpoint:``). ``periods=False`` leaves the
    renewal periods out (the spec then does not manage them). Raises
    ``ReconcilerError`` only on a bug: the text always reads back."""
    ordered = sorted(account.services, key=_order)
    unmanageable: list[Skipped] = []
    gone: list[Skipped] = []
    unstatable: list[Skipped] = []
    candidates: list[LiveService] = []
    for service in ordered:
        if service.gone:
            gone.append(Skipped(service, _gone_reason(service)))
        elif not service.manageable:
            unmanageable.append(Skipped(service, _unmanageable_why(service)))
        elif (problem := _name_problem(service.name)) is not None:
            unstatable.append(Skipped(service, problem))
        elif service.lifecycle is LiveLifecycle.NOT_UNDERSTOOD:
            # Fail closed: a state reconciler cannot read is not written down as anything.
            unstatable.append(
                Skipped(
                    service,
                    f"its state is not understood ({service.not_understood}); look at it in "
                    "the control panel and import again once it settles",
                )
            )
        else:
            candidates.append(service)

    # Live (not gone) services by name: a name borne by several needs `type:` to say
    # which one an entry means; two with the same name *and* type cannot be told apart.
    alive_by_name = Counter(s.name for s in account.services if not s.gone)
    same_name_and_type = Counter((s.name, s.type) for s in account.services if not s.gone)
    adopted: list[LiveService] = []
    for service in candidates:
        if same_name_and_type[(service.name, service.type)] > 1:
            unstatable.append(
                Skipped(
                    service,
                    f"another live service has the same name and type ({service.type}): a "
                    "spec cannot tell them apart; manage them from the control panel",
                )
            )
        else:
            adopted.append(service)

    # Each entry is checked with the spec's own rules before it is written: one they
    # refuse (a type written in a way a spec does not accept...) is left out with their
    # words, rather than failing the import.
    stated: list[tuple[LiveService, ServiceSpec]] = []
    for service in adopted:
        values = _wanted(service, shared=alive_by_name[service.name] > 1, periods=periods)
        try:
            stated.append((service, check_values(ServiceSpec, values)))
        except InvalidValues as invalid:
            reason = f"the spec loader refuses its entry: {invalid.problems[0].message}"
            unstatable.append(Skipped(service, reason))
    text = _document(
        [_entry(wanted, service, account, now) for service, wanted in stated],
        endpoint=endpoint,
        now=now,
        unmanaged=unmanaged,
        unmanageable=unmanageable,
        gone=gone,
        unstatable=unstatable,
        total=len(account.services),
    )
    # The text is what a team commits: it must read back as exactly what was checked.
    try:
        spec = parse_spec(text.encode("utf-8"), source)
    except SpecError as error:
        raise ReconcilerError(
            f"internal error: the imported spec does not read back ({error.problems[0]})",
            hint="run again with --debug and report it (the message names no secret)",
        ) from None
    read_back = [entry.model_copy(update={"location": None}) for entry in spec.services]
    if read_back != [wanted for _service, wanted in stated]:
        raise ReconcilerError(
            "internal error: the imported spec reads back with other entries",
            hint="run again with --debug and report it",
        )
    adopted = [service for service, _wanted in stated]
    return Adoption(
        text=text,
        spec=spec,
        adopted=tuple(adopted),
        unmanageable=tuple(unmanageable),
        gone=tuple(gone),
        unstatable=tuple(unstatable),
    )


# --- one entry -------------------------------------------------------------------------


def _wanted(service: LiveService, *, shared: bool, periods: bool) -> dict[str, object]:
    """The entry that states ``service`` as it is. A name borne by several live services
    gets a label as key, with ``name`` and ``type``."""
    values: dict[str, object] = {"key": service.name, "name": service.name}
    if shared:
        label = f"{service.name} ({service.type})"
        if len(label) > MAX_NAME_LENGTH:
            label = f"service {service.service_id} ({service.type})"
        values |= {"key": label, "type": service.type}
    if service.lifecycle is LiveLifecycle.TERMINATE_AT_EXPIRY:
        return values | {"lifecycle": Lifecycle.TERMINATE_AT_EXPIRY}
    if service.lifecycle is LiveLifecycle.TERMINATE_AT_COMMITMENT_END:
        return values | {"lifecycle": Lifecycle.TERMINATE_AT_COMMITMENT_END}
    values["lifecycle"] = Lifecycle.RENEW
    if service.lifecycle is LiveLifecycle.MANUAL_RENEW:
        values["mode"] = RenewMode.MANUAL
    if periods:
        values["period"] = _statable_period(service.renew_period)
    # The end rule as it is, so that the imported spec keeps it (a commitment without a
    # rule a spec can state, or none, leaves it unmanaged).
    commitment = service.commitment
    if commitment is not None and commitment.strategy is not None:
        end = CommitmentEnd.of_strategy(commitment.strategy.value)
        if end is not None:
            values["commitment_end"] = end
    return values


def _entry(
    wanted: ServiceSpec, service: LiveService, account: LiveAccount, now: datetime
) -> list[str]:
    """The lines of one service's entry, its comment first (indented under services)."""
    lines = [
        wrapped
        for line in _describe(service, account, now)
        for wrapped in _comment(_comment_safe(line), indent="  ")
    ]
    lines.append(f"  {_scalar(wanted.key)}:")
    if wanted.name != wanted.key:
        lines.append(f"    name: {_scalar(wanted.name)}")
    if wanted.type is not None:
        lines.append(f"    type: {_scalar(wanted.type)}")
    lines.append(f"    lifecycle: {wanted.lifecycle.value}")
    if wanted.manual:
        lines.append("    mode: manual          # renewed by hand; automatic is the default")
    if wanted.period is not None:
        lines.append(f"    period: {wanted.period}")
    if wanted.commitment_end is not None:
        lines.append(
            f"    commitment_end: {wanted.commitment_end.value}"
            f"{_END_COMMENT[wanted.commitment_end]}"
        )
    return lines


# What each end rule does, beside it in an imported spec.
_END_COMMENT = {
    CommitmentEnd.RECOMMIT: "  # at the commitment's end, commit again",
    CommitmentEnd.KEEP_PRICE: "  # at the commitment's end, stop it and keep the price",
    CommitmentEnd.DEFAULT_PRICE: "  # at the commitment's end, stop it; the default price applies",
}


def _describe(service: LiveService, account: LiveAccount, now: datetime) -> list[str]:
    """The comment of an entry: what the service is, how it stands, what is linked."""
    what = [service.type]
    if service.product:
        what.append(service.product)
    if service.display_name and service.display_name != service.name:
        what.append(f"shown as {json.dumps(service.display_name, ensure_ascii=False)}")
    what.append(f"id {service.service_id}")
    lines = [", ".join(what)]

    expiry = service.expiration or service.termination_date
    on = _day(expiry) if expiry else "an unknown date"
    every = f" every {service.renew_period}" if service.renew_period else ""
    if service.lifecycle is LiveLifecycle.TERMINATE_AT_EXPIRY:
        state = (
            f"terminated at expiry on {on}, its data deleted then ({_cancellable(service, now)})"
        )
    elif service.lifecycle is LiveLifecycle.TERMINATE_AT_COMMITMENT_END:
        ends = service.termination_date
        state = (
            f"terminated at the end of its commitment on {_day(ends) if ends else 'unknown'}"
            f", its data deleted then ({_cancellable(service, now)})"
        )
    elif service.lifecycle is LiveLifecycle.MANUAL_RENEW:
        state = f"renewed by hand{every}: expires on {on} unless paid"
    else:
        state = f"renews automatically{every}, next on {on}"
    if service.unpaid:
        state += "; UNPAID bill: nothing can be changed until it is paid"
    lines.append(state)

    parent = account.by_id(service.parent_id) if service.parent_id is not None else None
    if parent is not None:
        lines.append(f"linked to {parent.name} ({parent.type}): goes along if it is terminated")
    children = [c for c in account.children_of(service) if not c.gone]
    if children:
        listed = ", ".join(f"{c.name} ({c.type})" for c in sorted(children, key=_order))
        lines.append(f"linked services that go along if it is terminated: {listed}")
    return lines


def _cancellable(service: LiveService, now: datetime) -> str:
    """Until when the pending termination can be cancelled, as the plan's rules judge it
    (``rules.cancel_deadline``): inside the last 24 hours it no longer can, and an
    imported spec that said otherwise would send its reader to a change plan refuses."""
    deadline = cancel_deadline(service)
    if deadline is None:
        return "cancellable until 24 h before"
    if has_passed(deadline, now):
        return f"no longer cancellable: that closed 24 h before, at {_day(deadline)}"
    return f"cancellable until {_day(deadline)}, 24 h before"


# --- the document ----------------------------------------------------------------------


def _document(
    entries: Sequence[list[str]],
    *,
    endpoint: str,
    now: datetime,
    unmanaged: UnmanagedPolicy,
    unmanageable: Sequence[Skipped],
    gone: Sequence[Skipped],
    unstatable: Sequence[Skipped],
    total: int,
) -> str:
    """The text of the spec: a header, the entries, what was left out."""
    stamp = utc_text(utc(now).replace(second=0, microsecond=0))  # to the minute
    left_out = len(unmanageable) + len(gone) + len(unstatable)
    header = [
        f"# The account on {_comment_safe(endpoint)} as it was on {stamp}, written by "
        "`reconciler import`.",
        "# Planning this file reports no changes: edit a service's lifecycle to change what",
        "# becomes of it (renew | terminate_at_expiry | delete_now for web hosting), and plan",
        "# the change in a pull request. Reference: docs/user-guide.md.",
        "#",
        f"# {total:,} services on the account: {len(entries):,} stated below"
        + (f", {left_out:,} left out (listed at the end)." if left_out else "."),
        "",
        "version: 1",
        f"endpoint: {_scalar(endpoint)}",
        f"unmanaged: {unmanaged.value}",
    ]
    if not entries:
        header.append("services: {}")
    else:
        header.append("services:")
    body = [line for lines in entries for line in ("", *lines)]
    footer = _left_out(unmanageable, gone, unstatable)
    return "\n".join([*header, *body, *footer]) + "\n"


def _left_out(
    unmanageable: Sequence[Skipped], gone: Sequence[Skipped], unstatable: Sequence[Skipped]
) -> list[str]:
    sections = [
        (
            unmanageable,
            "Managed from their own interface (reconciler refuses to change them):",
        ),
        (gone, "Already gone: nothing left to manage."),
        (unstatable, "Not stated: a spec cannot name them."),
    ]
    lines: list[str] = []
    for skipped, title in sections:
        if not skipped:
            continue
        lines.extend(["", f"# {title}"])
        for item in skipped:
            service = item.service
            text = f"{service.name} ({service.type}, id {service.service_id}): {item.reason}"
            lines.extend(_comment(_comment_safe(text), indent="", first="#   "))
    return lines


def _gone_reason(service: LiveService) -> str:
    ended = service.termination_date or service.expiration
    since = f" on {_day(ended)}" if ended else ""
    if service.lifecycle is LiveLifecycle.EXPIRED:
        return f"expired{since}, not renewed"
    if service.lifecycle is LiveLifecycle.BEING_DELETED:
        return "being deleted (its resource is toDelete: a retention period)"
    return f"terminated{since}"


# --- text helpers ----------------------------------------------------------------------

# A plain YAML scalar that reads back as the same string under YAML 1.1 and 1.2: letters,
# digits and the punctuation of service names, not starting with a YAML indicator, and
# not a word or a number either reader would turn into something else.
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]*", re.ASCII)
_NOT_A_STRING = re.compile(
    r"(?i:y|n|yes|no|on|off|true|false|null|~)"
    r"|[-+]?(?:[0-9][0-9_]*|0x[0-9a-f_]+|0o?[0-7_]+)"
    r"|[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:e[-+]?[0-9]+)?|[-+]?[0-9][0-9_]*e[-+]?[0-9]+"
    r"|[-+]?\.(?:inf|nan)|[0-9]+(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*",
    re.ASCII | re.IGNORECASE,
)


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain when that is unambiguous, else double-quoted
    (a JSON string is a valid YAML double-quoted scalar)."""
    if _PLAIN.fullmatch(text) and not _NOT_A_STRING.fullmatch(text):
        return text
    return json.dumps(text, ensure_ascii=False)


COMMENT_WIDTH = 96


def _comment(text: str, *, indent: str, first: str = "# ") -> list[str]:
    """``text`` as comment lines of at most ``COMMENT_WIDTH`` characters (a long word,
    such as a long name, stays whole), continuation lines indented a little more."""
    return textwrap.wrap(
        text,
        width=COMMENT_WIDTH,
        initial_indent=indent + first,
        subsequent_indent=indent + first + "  ",
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent + first.rstrip()]


def _comment_safe(text: str) -> str:
    """A comment's text on one line: any control or invisible character escaped, so a
    name from the API can never end the comment and write YAML of its own."""
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() else json.dumps(char, ensure_ascii=True)[1:-1] for char in text
    )


def _name_problem(name: str) -> str | None:
    """Why a service name cannot be written as a spec key, or None."""
    if len(name) > MAX_NAME_LENGTH:
        return f"its name is {len(name)} characters long (a spec allows {MAX_NAME_LENGTH})"
    if any(char.isspace() for char in name):
        return "its name holds a space"
    if not name.isprintable() or next(invisible_characters(name), None) is not None:
        return "its name holds an invisible or control character"
    return None


def _statable_period(period: str | None) -> str | None:
    """The period as a spec writes it (``P12M``), or None when a spec cannot state it
    (unknown, or not a whole number of months from P1M to P120M)."""
    if not period:
        return None
    try:
        return str(parse_period(period, strict=True))
    except InvalidPeriod:
        return None


def _day(when: datetime) -> str:
    # To the minute: a comment beside an entry, not a record.
    return shown_day(utc(when).replace(second=0, microsecond=0))


def _order(service: LiveService) -> tuple[str, str, int]:
    return (service.name, service.type, service.service_id)
