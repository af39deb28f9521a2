"""The account's services as the control panel's "Mes services" page shows them (pure).

``select(account, query, now=..., endpoint=...)`` filters, sorts and groups the services
(linked services under their parent) into a ``ServiceListing``; ``render(listing, fmt)``
writes it as a table (a plain formatter), JSON, CSV or markdown.

The JSON and CSV formats are stable, for scripts:

- JSON (``format_version: "1"``): ``{"format_version", "endpoint", "read_at", "total",
  "matched", "shown", "services": [...]}``, services in display order (each parent
  followed by its linked services), every field always present (``null`` when unknown),
  dates in UTC as ``YYYY-MM-DDTHH:MM:SSZ``;
- CSV: a header row then one row per service, in display order, columns ``CSV_COLUMNS``,
  empty cells for unknown values, booleans ``true``/``false``, same dates as JSON.

The table and markdown show days in UTC, said in their headers, or in a display zone
(``zone``, from ``--tz``) that they name instead; JSON and CSV stay UTC whatever it is.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum
from typing import Any

from reconciler.core.lifecycle import CommitmentEnd, Lifecycle, LiveLifecycle
from reconciler.core.live import EndStrategy, LiveAccount, LiveService
from reconciler.core.periods import months_of
from reconciler.durations import Duration
from reconciler.times import iso_utc, shown_date, shown_when, zone_name

FORMAT_VERSION = "1"


class SortKey(StrEnum):
    NAME = "name"
    EXPIRY = "expiry"
    TYPE = "type"
    FREQUENCY = "frequency"


class CommitmentFilter(StrEnum):
    """``services --commitment``: services under a commitment (``any``), under none, or
    whose commitment ends as the spec would word it."""

    ANY = "any"
    NONE = "none"
    RECOMMIT = CommitmentEnd.RECOMMIT.value
    KEEP_PRICE = CommitmentEnd.KEEP_PRICE.value
    DEFAULT_PRICE = CommitmentEnd.DEFAULT_PRICE.value
    TERMINATE = Lifecycle.TERMINATE_AT_COMMITMENT_END.value  # end rule CANCEL_SERVICE


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


@dataclass(frozen=True, slots=True)
class ServiceQuery:
    """What the user asked to see."""

    search: str | None = None  # in the name or the display name, case-insensitive
    type: str | None = None  # "hosting/web", a prefix ("hosting"), or a family ("web_hosting")
    sort: SortKey = SortKey.NAME
    reverse: bool = False
    expiring_within: Duration | None = None  # expiry or renewal before now + this
    # With expiring_within: also the services whose date has already passed (expired,
    # awaiting deletion); without it they are hidden, as "expiring" reads forward.
    include_expired: bool = False
    limit: int | None = None  # rows shown at most
    commitment: CommitmentFilter | None = None


@dataclass(frozen=True, slots=True)
class Row:
    service: LiveService
    depth: int  # 0: top level; 1: linked to the row's parent above it; 2: ...
    parent: LiveService | None  # the parent service, whether shown or not
    children: tuple[int, ...] = ()  # ids linked below it (``LiveAccount.child_ids``)


@dataclass(frozen=True, slots=True)
class ServiceListing:
    rows: tuple[Row, ...]
    total: int  # services on the account
    matched: int  # services matching the query (before the limit)
    endpoint: str
    read_at: datetime  # the API's time when the account was read

    @property
    def truncated(self) -> bool:
        return len(self.rows) < self.matched


# -- selecting ----------------------------------------------------------------------------


def select(
    account: LiveAccount, query: ServiceQuery, *, now: datetime, endpoint: str
) -> ServiceListing:
    """Filter, sort, group linked services under their parent, and limit."""
    matching = [s for s in account.services if _matches(s, query, now)]
    matched_ids = {s.service_id for s in matching}
    order = _sorter(query)
    roots = [s for s in matching if s.parent_id not in matched_ids]
    rows: list[Row] = []
    placed: set[int] = set()

    def place(service: LiveService, depth: int) -> None:
        if service.service_id in placed:  # a cycle in parent links: show it once
            return
        placed.add(service.service_id)
        parent = account.by_id(service.parent_id) if service.parent_id is not None else None
        children_ids = account.child_ids(service.service_id)
        rows.append(Row(service=service, depth=depth, parent=parent, children=children_ids))
        children = [c for c in account.children_of(service) if c.service_id in matched_ids]
        for child in order(children):
            place(child, depth + 1)

    for root in order(roots):
        place(root, 0)
    for service in order([s for s in matching if s.service_id not in placed]):
        place(service, 0)  # only members of a parent cycle are left
    shown = rows if query.limit is None else rows[: query.limit]
    return ServiceListing(
        rows=tuple(shown),
        total=len(account),
        matched=len(matching),
        endpoint=endpoint,
        read_at=now,
    )


def _matches(service: LiveService, query: ServiceQuery, now: datetime) -> bool:
    if query.search:
        needle = query.search.casefold()
        if needle not in service.name.casefold() and needle not in service.display_name.casefold():
            return False
    if query.type and not type_matches(service, query.type):
        return False
    if query.expiring_within is not None:
        if service.expiration is None or service.lifecycle is LiveLifecycle.TERMINATED:
            return False
        if service.expiration > query.expiring_within.after(now):
            return False
        if service.expiration < now and not query.include_expired:
            return False
    if query.commitment is not None and not _commitment_matches(service, query.commitment):
        return False
    return True


def _commitment_matches(service: LiveService, wanted: CommitmentFilter) -> bool:
    commitment = service.commitment
    if wanted is CommitmentFilter.NONE:
        return commitment is None
    if commitment is None:
        return False
    return wanted is CommitmentFilter.ANY or commitment_word(service) == wanted.value


def commitment_word(service: LiveService) -> str | None:
    """What happens at the end of the service's commitment, in the spec's words
    (``recommit``, ``keep_price``, ``default_price``, ``terminate_at_commitment_end``
    for CANCEL_SERVICE); OVH's own word for a strategy this release does not know;
    ``no end rule`` when none is given; None without a commitment."""
    commitment = service.commitment
    if commitment is None:
        return None
    strategy = commitment.strategy
    if strategy is None:
        return "no end rule"
    if strategy is EndStrategy.CANCEL_SERVICE:
        return CommitmentFilter.TERMINATE.value
    end = CommitmentEnd.of_strategy(strategy.value)
    return end.value if end is not None else strategy.value


def commitment_text(service: LiveService) -> str | None:
    """The COMMITMENT cell: ``to 2027-08-01, then keep_price``; None without one."""
    commitment = service.commitment
    if commitment is None:
        return None
    ends = commitment.end_date.isoformat() if commitment.end_date else "an unknown date"
    return f"to {ends}, then {commitment_word(service)}"


def type_matches(service: LiveService, wanted: str) -> bool:
    """``hosting/web`` matches itself, ``hosting`` its sub-types, ``web_hosting`` a family."""
    wanted = wanted.strip().strip("/").casefold()
    service_type = service.type.casefold()
    return (
        service_type == wanted
        or service_type.startswith(wanted + "/")
        or service.family.value == wanted
    )


def _sorter(query: ServiceQuery) -> Callable[[Iterable[LiveService]], list[LiveService]]:
    """Sort by the key (ties by name, then id); unknown values (no expiry, no period)
    always come last, whatever the direction."""

    def key(service: LiveService) -> Any:
        if query.sort is SortKey.EXPIRY:
            return service.expiration
        if query.sort is SortKey.TYPE:
            return service.type.casefold()
        if query.sort is SortKey.FREQUENCY:
            return months_of(service.renew_period)
        return service.name.casefold()

    def by_name(service: LiveService) -> tuple[str, str, int]:
        return service.name.casefold(), service.name, service.service_id

    def order(services: Iterable[LiveService]) -> list[LiveService]:
        listed = sorted(services, key=by_name)
        known = [s for s in listed if key(s) is not None]
        unknown = [s for s in listed if key(s) is None]
        known.sort(key=key, reverse=query.reverse)  # stable: ties stay in name order
        return known + unknown

    return order


def frequency(period: str | None) -> str | None:
    """Words for a renewal period: ``P1M`` → ``monthly``, ``P12M`` → ``yearly``."""
    months = months_of(period)
    if months is None:
        return period  # unknown, or a period we cannot read: shown as the API says it
    if months == 1:
        return "monthly"
    if months == 12:
        return "yearly"
    if months % 12 == 0:
        return f"every {months // 12} years"
    return f"every {months} months"


# -- rendering ----------------------------------------------------------------------------


def render(
    listing: ServiceListing,
    fmt: OutputFormat,
    *,
    width: int | None = 80,
    color: bool = False,
    zone: tzinfo | None = None,
) -> str:
    """``listing`` in ``fmt``; ``zone`` changes the days people read (table, markdown),
    never the stable formats for scripts (JSON, CSV: UTC)."""
    if fmt is OutputFormat.JSON:
        return render_json(listing)
    if fmt is OutputFormat.CSV:
        return render_csv(listing)
    if fmt is OutputFormat.MARKDOWN:
        return render_markdown(listing, zone=zone)
    return render_table(listing, width=width, color=color, zone=zone)


def iso(when: datetime | None) -> str | None:
    """A datetime in UTC, ``2027-03-01T00:00:00Z``, or None."""
    return iso_utc(when) if when is not None else None


def _day(when: datetime | None, zone: tzinfo | None) -> str:
    return shown_date(when, zone) if when is not None else "—"


def service_record(row: Row) -> dict[str, Any]:
    """One service of the JSON format (keys in this order, all always present)."""
    s = row.service
    return {
        "service_id": s.service_id,
        "name": s.name,
        "display_name": s.display_name,
        "type": s.type,
        "family": s.family.value,
        "product": s.product,
        "plan_code": s.plan_code,
        "expiration": iso(s.expiration),
        "renew_mode": s.renew_mode,
        "renew_period": s.renew_period,
        "lifecycle": s.lifecycle.value,
        "lifecycle_state": s.lifecycle_state,
        "resource_state": s.resource_state,
        "termination_date": iso(s.termination_date),
        "pending_actions": list(s.pending_actions),
        "allowed_actions": list(s.allowed_actions) if s.allowed_actions is not None else None,
        "manageable": s.manageable,
        "unpaid": s.unpaid,
        "parent_id": s.parent_id,
        "parent": row.parent.name if row.parent is not None else None,
        "children": list(row.children),
        "commitment": _commitment_record(s),
    }


def _commitment_record(service: LiveService) -> dict[str, Any] | None:
    """``billing.engagement`` in the listing's JSON: null without a commitment."""
    commitment = service.commitment
    if commitment is None:
        return None
    return {
        "end_date": commitment.end_date.isoformat() if commitment.end_date else None,
        "end_rule": commitment.strategy.value if commitment.strategy else None,
        "commitment_end": commitment_word(service),
        "possible_end_rules": [strategy.value for strategy in commitment.possible_strategies],
    }


def render_json(listing: ServiceListing) -> str:
    document = {
        "format_version": FORMAT_VERSION,
        "endpoint": listing.endpoint,
        "read_at": iso(listing.read_at),
        "total": listing.total,
        "matched": listing.matched,
        "shown": len(listing.rows),
        "services": [service_record(row) for row in listing.rows],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


CSV_COLUMNS = (
    "service_id",
    "name",
    "display_name",
    "type",
    "expiration",
    "renew_mode",
    "renew_period",
    "lifecycle",
    "manageable",
    "unpaid",
    "parent_id",
    "parent",
    # Added after the first release: last, so that scripts reading by position still work.
    "commitment_end_date",
    "commitment_end_rule",
)


def render_csv(listing: ServiceListing) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in listing.rows:
        record = service_record(row)
        commitment = record["commitment"] or {}
        record["commitment_end_date"] = commitment.get("end_date")
        record["commitment_end_rule"] = commitment.get("end_rule")
        writer.writerow(_csv_cell(record[column]) for column in CSV_COLUMNS)
    return buffer.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # A cell starting with = + - @ is a formula to spreadsheets: neutralise it.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def lifecycle_label(service: LiveService) -> str:
    """The lifecycle as a spec writes it (``terminate_at_expiry``), flagged when unpaid."""
    label = service.lifecycle.value
    return f"{label} (unpaid)" if service.unpaid else label


def lifecycle_words(service: LiveService) -> str:
    """The lifecycle in words, for a narrow table (they wrap at spaces)."""
    label = service.lifecycle.value.replace("_", " ")
    return f"{label} (unpaid)" if service.unpaid else label


def _summary(listing: ServiceListing) -> str:
    noun = "service" if listing.total == 1 else "services"
    if listing.matched == listing.total and not listing.truncated:
        return f"{listing.total} {noun} on {listing.endpoint}"
    text = f"{listing.matched} of {listing.total} {noun} on {listing.endpoint} match"
    if listing.truncated:
        text += f"; the first {len(listing.rows)} shown (--limit)"
    return text


_GAP = 2  # spaces between table columns


@dataclass(frozen=True, slots=True)
class _Cells:
    name: str
    indent: str
    service_id: str
    type: str
    expiry: str
    renewal: str
    lifecycle: str
    lifecycle_kind: LiveLifecycle
    commitment: str  # "" without a commitment


def render_table(
    listing: ServiceListing,
    *,
    width: int | None = 80,
    color: bool = False,
    zone: tzinfo | None = None,
) -> str:
    """A table for a terminal, kubectl-style (upper-case headers, no rules), linked
    services indented under their parent.

    A plain formatter: padding and, with ``color``, a few ANSI styles. (A rich table
    spent 85 % of a 10,000-service ``services`` run measuring and re-wrapping cells
    that need neither: docs/benchmarks.md.) Rows are never wrapped when ``width`` is
    None (output that is not a terminal: a pipe, a file, ``grep``). In a narrow
    terminal only TYPE, RENEWAL and LIFECYCLE wrap, at their slashes and spaces; a
    token (a name, an id, a date) is never broken: a row that still does not fit runs
    past the edge whole, rather than in pieces. EXPIRY is a day in UTC, or in the
    display ``zone``: its header says which."""
    if not listing.rows:
        return f"No services to show ({_summary(listing)}).\n"
    cells = [_cells(row, zone) for row in listing.rows]
    columns = [
        [c.indent + c.name for c in cells],
        [c.service_id for c in cells],
        [c.type for c in cells],
        [c.expiry for c in cells],
        [c.renewal for c in cells],
        [c.lifecycle for c in cells],
    ]
    # COMMITMENT only when a row is under one: most accounts have none.
    committed = any(row.service.commitment is not None for row in listing.rows)
    base = (*_HEADERS[:3], f"EXPIRY ({zone_name(zone)})", *_HEADERS[4:])
    headers = (*base, "COMMITMENT") if committed else base
    if committed:
        columns.append([c.commitment for c in cells])
    widths = [
        max(len(header), *map(len, values)) for header, values in zip(headers, columns, strict=True)
    ]
    if width is not None:
        _narrow(widths, columns, width, headers)
    paint = _Paint(color)
    out = [_line([paint(h, "bold") for h in headers], list(headers), widths)]
    for cell in cells:
        pieces = [
            [cell.name],
            [cell.service_id],
            _wrapped(cell.type, widths[2], "/"),
            [cell.expiry],
            _wrapped(cell.renewal, widths[4], " "),
            _wrapped(cell.lifecycle, widths[5], " "),
        ]
        if committed:
            pieces.append(_wrapped(cell.commitment, widths[6], " "))
        for number in range(max(map(len, pieces))):
            plain = [p[number] if number < len(p) else "" for p in pieces]
            if number == 0 and cell.indent:
                plain[0] = cell.indent + plain[0]
            shown = list(plain)
            if number == 0:
                name_style = "" if cell.indent else "bold"
                shown[0] = paint(cell.indent, "dim") + paint(cell.name, name_style)
            shown[5] = paint(plain[5], _LIFECYCLE_STYLE[cell.lifecycle_kind])
            out.append(_line(shown, plain, widths))
    notes = [
        f"{_summary(listing)} (API clock: {shown_when(listing.read_at, zone)}).",
        f"EXPIRY is the renewal date of renewing services, a day in {zone_name(zone)}.",
    ]
    if any(cell.type.endswith(" *") for cell in cells):
        notes.append("* managed from its own interface (telecom, Microsoft, MX Plan).")
    for note in notes:
        lines = [note] if width is None else _wrapped(note, width, " ")
        out.extend(paint(line, "dim") for line in lines)
    return "".join(line + "\n" for line in out)


_HEADERS = ("NAME", "ID", "TYPE", "EXPIRY (UTC)", "RENEWAL", "LIFECYCLE")
_SGR = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "bold red": "1;31"}


class _Paint:
    """ANSI styles when colour is on; the text as it is otherwise."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: str) -> str:
        if not self.color or not style or not text:
            return text
        return f"\x1b[{_SGR[style]}m{text}\x1b[0m"


def _line(shown: list[str], plain: list[str], widths: list[int]) -> str:
    """One line of the table: each cell padded to its column (the ID right-aligned)
    by its plain length, so that colour codes never shift a column."""
    parts = []
    for index, (text, bare, column) in enumerate(zip(shown, plain, widths, strict=True)):
        pad = " " * max(column - len(bare), 0)
        parts.append(pad + text if index == 1 else text + pad)
    return (" " * _GAP).join(parts).rstrip(" ")


def _narrow(
    widths: list[int], columns: list[list[str]], width: int, headers: tuple[str, ...]
) -> None:
    """Give up width in TYPE, LIFECYCLE, RENEWAL, then COMMITMENT when shown (in that
    order), each down to its longest word at most, until the table fits ``width``;
    never below a word."""
    separators = {2: "/", 4: " ", 5: " ", 6: " "}
    for index in (2, 5, 4, 6):
        if index >= len(widths):
            continue
        over = sum(widths) + _GAP * (len(widths) - 1) - width
        if over <= 0:
            return
        words = [w for value in columns[index] for w in _pieces(value, separators[index])]
        floor = max([len(headers[index].split()[0]), *(len(w) for w in words)])
        widths[index] = max(widths[index] - over, floor)


def _pieces(text: str, separator: str) -> list[str]:
    """``text`` cut after each ``separator`` (kept on the piece before it)."""
    if separator == " ":
        return text.split()
    return [p for p in re.split(f"(?<={re.escape(separator)})", text) if p]


def _wrapped(text: str, width: int, separator: str) -> list[str]:
    """``text`` in lines of at most ``width``, broken only between its pieces; a piece
    longer than ``width`` stands whole on its line."""
    if len(text) <= width:
        return [text]
    joiner = " " if separator == " " else ""
    lines: list[str] = []
    for piece in _pieces(text, separator):
        if lines and len(lines[-1]) + len(joiner) + len(piece) <= width:
            lines[-1] += joiner + piece
        else:
            lines.append(piece)
    return lines


def _cells(row: Row, zone: tzinfo | None) -> _Cells:
    service = row.service
    return _Cells(
        name=service.name,
        indent="  " * (row.depth - 1) + "└─" if row.depth else "",
        service_id=str(service.service_id),
        type=service.type + ("" if service.manageable else " *"),
        expiry=_day(service.expiration, zone),
        renewal=frequency(service.renew_period) or "—",
        lifecycle=lifecycle_words(service),
        lifecycle_kind=service.lifecycle,
        commitment=commitment_text(service) or "—",
    )


_LIFECYCLE_STYLE = {
    LiveLifecycle.RENEW: "green",
    LiveLifecycle.MANUAL_RENEW: "yellow",
    LiveLifecycle.TERMINATE_AT_EXPIRY: "red",
    LiveLifecycle.TERMINATE_AT_COMMITMENT_END: "red",
    LiveLifecycle.EXPIRED: "dim",
    LiveLifecycle.BEING_DELETED: "dim",
    LiveLifecycle.TERMINATED: "dim",
    LiveLifecycle.NOT_UNDERSTOOD: "bold red",
}

_MARKDOWN_SPECIAL = str.maketrans(
    {
        "|": "\\|",
        "\\": "\\\\",
        "`": "\\`",
        "*": "\\*",
        "_": "\\_",
        "[": "\\[",
        "]": "\\]",
        "<": "&lt;",
        ">": "&gt;",
        "&": "&amp;",
        "\n": " ",
        "\r": " ",
    }
)


def md(text: str) -> str:
    """Text safe in a markdown table cell: no table break, no HTML, no formatting."""
    return text.translate(_MARKDOWN_SPECIAL)


def render_markdown(listing: ServiceListing, *, zone: tzinfo | None = None) -> str:
    shown_in = md(zone_name(zone))
    lines = [
        f"**{md(_summary(listing))}**. Expiry is the renewal date of renewing services, "
        f"a day in {shown_in}.",
        "",
    ]
    if not listing.rows:
        return "\n".join([*lines, "No services to show.", ""])
    committed = any(row.service.commitment is not None for row in listing.rows)
    extra = (" Commitment |", "---|") if committed else ("", "")
    lines.append(f"| Name | ID | Type | Expiry ({shown_in}) | Renewal | Lifecycle |" + extra[0])
    lines.append("|---|---:|---|---|---|---|" + extra[1])
    for row in listing.rows:
        s = row.service
        prefix = "&nbsp;&nbsp;" * (row.depth - 1) + "↳ " if row.depth else ""
        manageable = "" if s.manageable else " (managed elsewhere)"
        cells = [
            prefix + md(s.name),
            str(s.service_id),
            md(s.type) + manageable,
            _day(s.expiration, zone),
            md(frequency(s.renew_period) or "—"),
            f"`{s.lifecycle.value}`" + (" (unpaid)" if s.unpaid else ""),
        ]
        if committed:
            cells.append(md(commitment_text(s) or "—"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
