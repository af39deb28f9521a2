"""The plan as text, for a terminal or a CD log (Terraform-like); docs/plan-format.md,
"The text rendering", shows the layout and says what each part holds.

The contract: a pure function of the plan (no clock, no I/O); colour (ANSI) only when
``color=True``, which the CLI asks for only on a terminal and never with ``NO_COLOR``;
every name and message passed through ``wording.clean``, so that control characters
cannot forge lines; the sentences are ``reconciler.render.wording``'s, shared with the
markdown rendering so that the two never disagree. Dates are UTC, said in the header;
with a display ``zone`` (``--tz``) they are shown in that zone (a refusal's too) and the
header names it. The zone changes the words only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from reconciler.core.plan import Action, ActionKind, Plan, Refusal, Unmanaged
from reconciler.render import billing, wording
from reconciler.render.wording import clean
from reconciler.times import when_text, zone_name

# Unmanaged services are listed by name up to this many, then collapsed to counts.
UNMANAGED_LISTED = 5

_RESET = "\033[0m"
_STYLES = {
    "bold": "\033[1m",
    "red": "\033[31m",
    "bold_red": "\033[1;31m",
    "green": "\033[32m",
    "yellow": "\033[33m",
    "dim": "\033[2m",
}
_KIND_STYLE = {
    ActionKind.TERMINATE_AT_EXPIRY: "red",
    ActionKind.TERMINATE_AT_COMMITMENT_END: "red",
    ActionKind.DELETE_NOW: "bold_red",
    ActionKind.CANCEL_TERMINATION: "green",
    ActionKind.SET_RENEW: "yellow",
    ActionKind.NO_OP: "dim",
}
_LEGEND_ORDER = (
    ActionKind.TERMINATE_AT_EXPIRY,
    ActionKind.TERMINATE_AT_COMMITMENT_END,
    ActionKind.CANCEL_TERMINATION,
    ActionKind.SET_RENEW,
    ActionKind.DELETE_NOW,
)


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: str) -> str:
        return f"{_STYLES[style]}{text}{_RESET}" if self.color and text else text


def render(plan: Plan, *, color: bool = False, zone: tzinfo | None = None) -> str:
    """The plan as text, ending with its summary line and a newline; dates in UTC, or in
    the display ``zone``."""
    paint = _Painter(color)
    lines: list[str] = [*_header(plan, paint, zone), ""]
    changes = plan.changes
    if changes:
        intro = (
            "reconciler would, once the refusals below are fixed:"
            if plan.refused
            else "reconciler will:"
        )
        lines += [_legend(changes), "", intro, ""]
        money = billing.lines_by_action(plan, zone)
        for action in changes:
            lines += _action_lines(action, plan, paint, billing.line_for(money, action), zone)
        lines.append("")
    if plan.refused:
        lines += [
            paint("Refused: nothing will be applied until the spec is fixed.", "bold_red"),
            "",
        ]
        for refusal in plan.refused:
            lines += _refusal_lines(refusal, paint, zone)
        lines.append("")
    footer = _unchanged_lines(plan) + _unmanaged_lines(plan.unmanaged, zone)
    if footer:
        lines += [*footer, ""]
    money_summary = billing.summary_line(plan)
    if money_summary:
        lines.append(money_summary)
    lines.append(paint(wording.summary_line(plan), "bold"))
    return "\n".join(lines) + "\n"


def render_many(plans: Sequence[Plan], *, color: bool = False, zone: tzinfo | None = None) -> str:
    """Several plans (one per spec file), each in its own labelled section."""
    if len(plans) == 1:
        return render(plans[0], color=color, zone=zone)
    sections = []
    for plan in plans:
        rule = section_rule(plan.spec_source, color=color)
        sections.append(rule + "\n\n" + render(plan, color=color, zone=zone))
    return "\n".join(sections)


def section_rule(source: str, *, color: bool = False) -> str:
    """The label above one spec's section (``plan`` and ``apply`` of several specs)."""
    return _Painter(color)(f"── {clean(source)} " + "─" * 8, "bold")


def _header(plan: Plan, paint: _Painter, zone: tzinfo | None) -> list[str]:
    title = f"Plan for {clean(plan.spec_source)} on endpoint {clean(plan.endpoint)}"
    targeted = wording.targeted_line(plan)
    return [
        paint(title, "bold"),
        f"  spec {clean(wording.short_digest(plan.spec_digest))}, computed at "
        f"{when_text(plan.created_at, zone)} (API clock); {dates_words(zone)}",
        *([paint(targeted, "yellow")] if targeted else []),
    ]


def dates_words(zone: tzinfo | None) -> str:
    """What the header says of the plan's dates: ``dates in UTC``, or the display zone
    and that the rules still judge in UTC (a deadline is the same instant either way)."""
    if zone is None:
        return "dates in UTC"
    return f"dates in {zone_name(zone)} (--tz; the rules judge in UTC)"


def _legend(changes: Sequence[Action]) -> str:
    present = {action.action for action in changes}
    symbols = [
        f"{kind.symbol} {kind.headline}"
        + (" (irreversible)" if kind is ActionKind.DELETE_NOW else "")
        for kind in _LEGEND_ORDER
        if kind in present
    ]
    return "Symbols: " + ", ".join(symbols)


def _action_lines(
    action: Action,
    plan: Plan,
    paint: _Painter,
    money: str | None = None,
    zone: tzinfo | None = None,
) -> list[str]:
    style = _KIND_STYLE[action.action]
    symbol = paint(action.action.symbol, style)
    headline = action.action.headline
    if action.action is ActionKind.DELETE_NOW:
        headline = "DELETE NOW (irreversible, no refund)"
    who = clean(action.service)
    identity = clean(wording.identity(action))
    first = f"  {symbol} {paint(who, 'bold')}" + (f" ({identity})" if identity else "")
    lines = [f"{first}: {paint(headline, style)}"]
    lines.append(f"      {clean(wording.consequence(action, now=plan.created_at, zone=zone))}")
    if money is not None:
        lines.append(f"      billing: {money}")
    lines += [f"      {clean(wording.call_text(call))}" for call in action.calls]
    return lines


def _refusal_lines(refusal: Refusal, paint: _Painter, zone: tzinfo | None) -> list[str]:
    symbol = paint(wording.REFUSED_SYMBOL, "bold_red")
    where = f" (#{refusal.service_id})" if refusal.service_id is not None else ""
    message, fix = wording.refusal_words(refusal, zone)
    return [
        f"  {symbol} {paint(clean(refusal.service), 'bold')}{where} [{refusal.rule.value}]",
        f"      {clean(message)}",
        f"      fix: {clean(fix)}",
    ]


def _unchanged_lines(plan: Plan) -> list[str]:
    unchanged = [action for action in plan.actions if action.action is ActionKind.NO_OP]
    if not unchanged:
        return []
    count = len(unchanged)
    noun = "service already matches" if count == 1 else "services already match"
    lines = [f"Unchanged: {count:,} {noun} the spec."]
    # An entry whose service left the account is a no-op only with evidence (the journal,
    # the reviewed plan: the action's reason says which); name them, they are not listed.
    absent = [action for action in unchanged if action.service_id is None]
    if absent:
        names = ", ".join(clean(action.service) for action in absent[:UNMANAGED_LISTED])
        more = len(absent) - UNMANAGED_LISTED
        names += f" and {more:,} more" if more > 0 else ""
        lines.append(f"  Already done, no longer on the account: {names}")
    return lines


def _unmanaged_lines(unmanaged: Sequence[Unmanaged], zone: tzinfo | None) -> list[str]:
    if not unmanaged:
        return []
    total = len(unmanaged)
    noun = "service" if total == 1 else "services"
    head = f"Not in the spec (left as they are): {total:,} {noun}"
    if total > UNMANAGED_LISTED:
        types = wording.by_type(clean(service.type) for service in unmanaged)
        return [f"{head} ({types}); `reconciler services` lists them."]
    lines = [f"{head}:"]
    for service in unmanaged:
        details = [clean(service.type), f"#{service.service_id}", clean(service.lifecycle)]
        if service.expiration is not None:
            details.append(f"expires {wording.day_text(service.expiration, zone)}")
        if not service.manageable:
            details.append("managed from its own interface")
        lines.append(f"    {clean(service.name)} ({', '.join(details)})")
    return lines
