"""``--tz ZONE`` (and ``RECONCILER_TZ``): the time zone dates are shown in.

Every date reconciler prints is UTC unless asked otherwise, and says so in its header. A
user comparing with the control panel (which shows local days) may ask for a display
zone instead: an IANA name (``Europe/Paris``), by ``--tz`` on the commands that print
dates (``services``, ``plan``, ``show``, ``apply``, ``journal``) or by ``RECONCILER_TZ`` for every
one of them; ``--tz`` wins. The zone is for people's eyes only: the rules, the journal,
the plan JSON and every machine format stay UTC.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import tzinfo
from typing import TypeVar

import click

from reconciler.errors import UsageError
from reconciler.times import ZONE_ENV, UnknownZone, display_zone

F = TypeVar("F", bound=Callable[..., object])


def tz_option(command: F) -> F:
    """``--tz ZONE`` for a command that prints dates for people."""
    return click.option(
        "--tz",
        "tz",
        metavar="ZONE",
        help=f"Show dates in ZONE, an IANA time zone (Europe/Paris), instead of UTC; "
        f"also ${ZONE_ENV}. Display only: the rules, the journal and JSON stay UTC.",
    )(command)


def zone_of(option: str | None, environ: Mapping[str, str] | None = None) -> tzinfo | None:
    """The display zone ``--tz`` (``option``), else ``RECONCILER_TZ``, names; None for
    UTC. An unknown name is a ``UsageError`` naming where it came from, with the
    nearest known names."""
    source = environ if environ is not None else os.environ
    if option is not None:
        name, where = option, "--tz"
    else:
        name, where = source.get(ZONE_ENV, ""), ZONE_ENV
    try:
        return display_zone(name)
    except UnknownZone as error:
        names = ", ".join(error.near[:-1]) + " or " if len(error.near) > 1 else ""
        near = f"did you mean {names}{error.near[-1]}? " if error.near else ""
        raise UsageError(
            f"{where} {error.name!r} is no time zone this system knows",
            hint=f"{near}{where} takes an IANA name (Europe/Paris, America/Montreal) or UTC",
        ) from None
