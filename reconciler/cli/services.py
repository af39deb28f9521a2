"""``reconciler services``: the account's services, as the control panel shows them."""

from __future__ import annotations

import re
import shutil
import sys
from datetime import datetime, timedelta

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
from reconciler.core.live import LiveAccount
from reconciler.errors import UsageError
from reconciler.observe import read_account
from reconciler.render.services import OutputFormat, ServiceQuery, SortKey, render, select

_DURATION = re.compile(r"(?P<amount>\d{1,6})\s*(?P<unit>[smhdw])", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_window(text: str) -> timedelta:
    """``30d``, ``12h``, ``2w``, ``90m``, ``45s`` as a duration."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise UsageError(
            f"--expiring-within {text!r} is not a duration",
            hint="write a number and a unit: 30d (days), 12h (hours), 2w (weeks), 90m, 45s",
        )
    unit = _UNITS[match["unit"].lower()]
    return timedelta(**{unit: int(match["amount"])})


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
    metavar="DURATION",
    help="Only services that expire or renew within DURATION (30d, 12h, 2w).",
)
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Show N rows at most.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice([f.value for f in OutputFormat]),
    default=OutputFormat.TABLE.value,
    show_default=True,
    help="table for people; json and csv are stable formats for scripts.",
)
@endpoint_option
@concurrency_option
def services(
    search: str | None,
    service_type: str | None,
    sort: str,
    reverse: bool,
    expiring_within: str | None,
    limit: int | None,
    output_format: str,
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
        expiring_within=parse_window(expiring_within) if expiring_within else None,
        limit=limit,
    )
    target = resolve_target(endpoint)
    account, now = run(_read(target, concurrency))
    listing = select(account, query, now=now, endpoint=target.name)
    fmt = OutputFormat(output_format)
    # A terminal's width (COLUMNS, else the terminal's); output that is not a terminal
    # (a pipe, a file) is never wrapped, so that each row stays one line for grep.
    width = shutil.get_terminal_size((80, 24)).columns if sys.stdout.isatty() else None
    color = use_color(None)  # a terminal, without NO_COLOR or TERM=dumb
    click.echo(render(listing, fmt, width=width, color=color), nl=False)


async def _read(target: Target, concurrency: int) -> tuple[LiveAccount, datetime]:
    async with build_client(target, concurrency=concurrency) as client:
        account = await read_account(client)
        return account, client.api_clock().now()
