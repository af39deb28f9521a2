"""``reconciler services``: the account's services, as the control panel shows them."""

from __future__ import annotations

import difflib
import shutil
import sys
from datetime import datetime

import click

from reconciler.cli.common import (
    Target,
    build_client,
    concurrency_option,
    endpoint_option,
    resolve_target,
    run,
    use_color,
)
from reconciler.cli.display import tz_option, zone_of
from reconciler.cli.options import WINDOW, format_option
from reconciler.core.catalog import KNOWN_TYPES, ProductFamily
from reconciler.core.live import LiveAccount
from reconciler.durations import Duration
from reconciler.errors import UsageError
from reconciler.observe import read_account
from reconciler.render.calendar import render_ics
from reconciler.render.services import (
    CommitmentFilter,
    OutputFormat,
    ServiceListing,
    ServiceQuery,
    SortKey,
    render,
    select,
)
from reconciler.render.wording import clean

# The calendar is not a listing format (it shows deadlines, not rows): it is rendered by
# reconciler.render.calendar, beside the formats of reconciler.render.services.
ICS = "ics"


def parse_window(text: str) -> Duration:
    """``--expiring-within``: the one duration grammar (``reconciler.durations``):
    ``30d``, ``12h``, ``2w``, ``1mo`` (a calendar month), ``P1M``; ``m`` is refused as
    ambiguous (a month to OVH, a minute to Unix)."""
    found: Duration = WINDOW.parse(text, "--expiring-within")
    return found


def check_type(wanted: str, account: LiveAccount) -> None:
    """A ``--type`` that can match nothing is a typo, not an empty answer: refused with
    the nearest known types (``hostng`` → ``hosting/web``...)."""
    value = wanted.strip().strip("/").casefold()
    known = {t.casefold(): t for t in (*KNOWN_TYPES, *(s.type for s in account.services))}
    families = {family.value for family in ProductFamily}
    if value in families or any(t == value or t.startswith(value + "/") for t in known):
        return
    prefixes = {t.split("/")[0] for t in known}
    near = difflib.get_close_matches(value, [*known, *prefixes, *families], n=4, cutoff=0.6)
    shown = [known.get(name, name) for name in near]
    raise UsageError(
        f"--type {wanted!r} is no service type",
        hint=(f"did you mean {', '.join(shown)}? " if shown else "")
        + "a type (hosting/web, domain, vps...), its first part (hosting), or a family ("
        + ", ".join(sorted(families))
        + ")",
    )


@click.command()
@click.option("--search", metavar="TEXT", help="Only services whose name contains TEXT.")
@click.option(
    "--type",
    "service_type",
    metavar="TYPE",
    help="Only this type (hosting/web, domain...), a prefix of it, or a family (web_hosting).",
)
@click.option(
    "--sort",
    type=click.Choice([k.value for k in SortKey]),
    default=SortKey.NAME.value,
    show_default=True,
    help="Sort order (linked services stay under their parent).",
)
@click.option("--reverse", is_flag=True, help="Reverse the sort order.")
@click.option(
    "--expiring-within",
    type=WINDOW,
    metavar="DURATION",
    help="Only services that expire or renew within DURATION (30d, 2w, 1mo, P1M; `m` is "
    "refused: write 30min or 1mo). Already expired ones only with --include-expired.",
)
@click.option(
    "--include-expired",
    is_flag=True,
    help="With --expiring-within: list the services already past their date too.",
)
@click.option(
    "--commitment",
    type=click.Choice([c.value for c in CommitmentFilter]),
    help="Only services under a commitment (any), under none, or whose commitment ends so "
    "(recommit, keep_price, default_price, terminate_at_commitment_end).",
)
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Show N rows at most.")
@format_option(
    *(f.value for f in OutputFormat),  # table first: the default
    ICS,
    help="table for people; json and csv are stable formats for scripts; ics an "
    "iCalendar feed of the expiries and of the last moments to cancel a termination.",
)
@tz_option
@endpoint_option
@concurrency_option
def services(
    search: str | None,
    service_type: str | None,
    sort: str,
    reverse: bool,
    expiring_within: Duration | None,
    include_expired: bool,
    commitment: str | None,
    limit: int | None,
    output_format: str,
    tz: str | None,
    endpoint: str | None,
    concurrency: int,
) -> None:
    """List the account's services: name, service id, type, renewal or expiry date,
    renewal frequency and lifecycle, linked services under their parent."""
    query = ServiceQuery(
        search=search,
        type=service_type,
        sort=SortKey(sort),
        reverse=reverse,
        expiring_within=expiring_within,
        include_expired=include_expired,
        limit=limit,
        commitment=CommitmentFilter(commitment) if commitment else None,
    )
    if include_expired and expiring_within is None:
        raise UsageError(
            "--include-expired goes with --expiring-within",
            hint="without --expiring-within every service is listed, expired or not",
        )
    zone = zone_of(tz)  # refused before the account is read
    target = resolve_target(endpoint)
    account, now = run(_read(target, concurrency))
    if service_type:
        check_type(service_type, account)
    listing = select(account, query, now=now, endpoint=target.name)
    if search:
        _note_display_matches(listing, search)
    if output_format == ICS:
        # Bytes, so that the CRLF line ends RFC 5545 requires reach the file unchanged.
        # DTSTAMP is the API clock's reading, the instant the account was read.
        click.echo(render_ics(listing, stamp=now).encode("utf-8"), nl=False)
        return
    fmt = OutputFormat(output_format)
    # A terminal's width (COLUMNS, else the terminal's); output that is not a terminal
    # (a pipe, a file) is never wrapped, so that each row stays one line for grep.
    width = shutil.get_terminal_size((80, 24)).columns if sys.stdout.isatty() else None
    color = use_color(None)  # a terminal, without NO_COLOR or TERM=dumb
    # The zone changes the days people read (table, markdown); JSON and CSV stay UTC.
    shown = render(listing, fmt, width=width, color=color, zone=zone)
    click.echo(shown, nl=False, color=color)


def _note_display_matches(listing: ServiceListing, search: str) -> None:
    """``--search`` also looks in display names, which the table does not show: say which
    rows matched that way, so a row without the text in sight is not a mystery."""
    needle = search.casefold()
    for row in listing.rows:
        service = row.service
        if needle not in service.name.casefold() and needle in service.display_name.casefold():
            click.echo(
                f"note: {clean(service.name)} matches --search {clean(search)!r} by its "
                f"display name {clean(service.display_name)!r}",
                err=True,
            )


async def _read(target: Target, concurrency: int) -> tuple[LiveAccount, datetime]:
    async with build_client(target, concurrency=concurrency) as client:
        account = await read_account(client)
        return account, client.api_clock().now()
