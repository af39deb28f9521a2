"""``reconciler show PLAN...``: saved plans, rendered as ``reconciler plan`` renders them.

Terraform users look at a saved plan with ``terraform show plan.out``; here a plan saved
with ``reconciler plan --out`` is shown with the very renderers ``plan`` uses
(``--format text|markdown|json``), from the file alone: no spec, no credentials, no API
call. The file is read by the same reader as ``reconciler apply`` reads it
(``reconciler.core.planfile``), so a damaged, altered or other-version plan file gets the
one-line error apply gives.

This module also says what a plan file is (``is_plan_file``) and reads one
(``read_plan_file``) for ``apply`` and for ``plan``/``validate``, which refuse a plan
file given where a spec belongs; and it holds ``render``, the format switch ``plan``
prints with. It imports nothing that talks to the network.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import tzinfo

import click

from reconciler.cli import command_secrets
from reconciler.cli.display import tz_option, zone_of
from reconciler.cli.options import OneLineUsageCommand, format_option
from reconciler.errors import UsageError

if TYPE_CHECKING:  # plan's check for plan files must not load the plan file's models
    from reconciler.core.plan import Plan

FORMATS = ("text", "markdown", "json")


# --- what a plan file is -----------------------------------------------------------------


def is_plan_file(path: Path) -> bool:
    """A saved plan: a JSON object naming its ``format_version`` in its first 64 kB
    (``dump_plan`` writes it first), or any other ``.json`` file but a spec written in
    JSON (YAML's flow style: an object with ``services`` and no ``format_version``).
    Errors then come from the plan reader, which says what a plan must hold; anything
    else is read as a spec."""
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
    except OSError:
        return path.suffix.lower() == ".json"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{") and b'"format_version"' in stripped:
        return True
    if path.suffix.lower() != ".json":
        return False
    return not _json_spec(stripped)


def _json_spec(head: bytes) -> bool:
    """Whether ``head`` opens a spec written as JSON: an object whose first key is one a
    spec has at its top and a plan never has (``version``, ``endpoint``, ``unmanaged``,
    ``services``)."""
    match = _FIRST_KEY.match(head)
    return match is not None and match.group(1) in _SPEC_TOP_KEYS


_FIRST_KEY = re.compile(rb'\{\s*"([a-z_]{1,20})"\s*:')
_SPEC_TOP_KEYS = frozenset((b"version", b"endpoint", b"unmanaged", b"services"))


def read_plan_file(path: Path) -> tuple[bytes, Plan]:
    """The bytes of a plan file and the plan they hold, or the ``PlanFileError`` saying
    what is wrong. Read once: whoever digests the bytes digests the plan it applies."""
    from reconciler.core.planfile import parse_plan, read_plan_bytes

    raw = read_plan_bytes(path)
    return raw, parse_plan(raw, source=str(path))


def refuse_plan_files(paths: Sequence[str], command: str) -> None:
    """A saved plan given where a spec belongs is an easy slip (both are files beside
    each other): one line naming the file and the commands that take it beats a page of
    spec errors about it. A plan file the plan reader refuses (damaged, altered, of
    another ``format_version``) gets that reader's error, the one apply would give."""
    for name in paths:
        if name == "-":
            continue
        path = Path(name)
        if not is_plan_file(path) or not path.is_file():
            continue  # the spec loader reports missing and unreadable files itself
        read_plan_file(path)
        raise UsageError(
            f"{name} is a plan file, not a spec: use `reconciler show {name}` or "
            f"`reconciler apply {name}`",
            hint=f"`reconciler {command}` takes the spec files the plan was made from",
        )


# --- rendering ---------------------------------------------------------------------------


def render(
    plans: Sequence[Plan], output_format: str, *, color: bool, zone: tzinfo | None = None
) -> str:
    """The plans in the chosen format (renderers are imported only when used); text and
    markdown show dates in the display ``zone`` when given, JSON is UTC whatever it is."""
    if output_format == "json":
        from reconciler.render import json as json_render

        return json_render.render_many(plans)
    if output_format == "markdown":
        from reconciler.render import markdown

        return markdown.render_many(plans, zone=zone)
    from reconciler.render import text

    return text.render_many(plans, color=color, zone=zone)


# --- the command -------------------------------------------------------------------------


@click.command(cls=OneLineUsageCommand)
@click.argument(
    "plan_files",
    metavar="PLAN...",
    nargs=-1,
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
)
@format_option(
    *FORMATS,
    help="text for terminals and CD logs; markdown for a pull-request comment; json for "
    "scripts (docs/plan-format.md).",
)
@tz_option
def show(plan_files: tuple[Path, ...], output_format: str, tz: str | None) -> None:
    """Show a PLAN saved by `reconciler plan --out`, as `reconciler plan` shows it.

    Reads the files only: no spec, no credentials, no API call. The plan is as it was
    when saved; `reconciler apply PLAN` checks it against the account again. Several
    PLAN files (`plan --out` saves one per spec) are shown as `plan` shows several
    specs: a labelled section each (a JSON array of plans with --format json).
    """
    # Imported here: reconciler.cli.common brings the API client along, which validate
    # (importing this module for its plan-file check) must not load.
    from reconciler.cli.common import use_color

    zone = zone_of(tz)  # refused before the file is read: a typo is the first thing said

    plans = read_plan_files(plan_files)
    color = use_color()
    # A saved plan holds no secret (dump_plan refuses to write one); redacting costs
    # nothing and keeps every command's output under the same rule.
    text = command_secrets().redact(render(plans, output_format, color=color, zone=zone))
    click.echo(text, nl=False, color=color)


def read_plan_files(paths: Sequence[Path]) -> list[Plan]:
    """Every plan, in the order given, or the error of the last file that is none (a spec,
    a missing, damaged or other-version plan file); with several such files, the others'
    errors are printed first, so that one run names every file to fix."""
    from reconciler.errors import ReconcilerError

    plans: list[Plan] = []
    errors: list[ReconcilerError] = []
    for path in paths:
        try:
            plans.append(_read_one(path))
        except ReconcilerError as problem:
            errors.append(problem)
    from reconciler.cli import report_error

    for earlier in errors[:-1]:
        report_error(earlier, with_hint=False)
    if errors:
        raise errors[-1]
    return plans


def _read_one(path: Path) -> Plan:
    if path.is_file() and not is_plan_file(path):
        raise UsageError(
            f"{path} is not a plan file (saved by `reconciler plan --out`)",
            hint=f"if it is a spec, `reconciler plan {path}` shows its plan",
        )
    return read_plan_file(path)[1]
