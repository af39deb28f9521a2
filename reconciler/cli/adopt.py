"""``reconciler import``: write a spec that adopts the live account as it is.

Reads the account once (as ``reconciler services`` does: read-only, a ``plan`` key is
enough), turns it into a spec with ``reconciler.core.adopt`` and writes it to ``--output``
(refusing to overwrite a file without ``--force``; written whole or not at all) or to
stdout. Planning that spec right away reports no changes.

The spec's ``endpoint:`` is the endpoint read (``--endpoint`` > ``OVH_ENDPOINT`` >
ovh.conf ``[default] endpoint`` > ``sandbox``), so the file says which account it
describes.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from reconciler.cli.common import (
    Target,
    build_client,
    concurrency_option,
    endpoint_option,
    resolve_target,
    run,
)
from reconciler.cli.files import cannot_write
from reconciler.cli.files import write_whole as write_file
from reconciler.core.adopt import Adoption, adopt
from reconciler.core.live import LiveAccount
from reconciler.core.spec import UnmanagedPolicy
from reconciler.errors import UsageError
from reconciler.observe import read_account


@click.command(name="import")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the spec to FILE (e.g. stacks/prod.yaml). Default: stdout.",
)
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@click.option(
    "--unmanaged",
    type=click.Choice([policy.value for policy in UnmanagedPolicy]),
    default=UnmanagedPolicy.REPORT.value,
    show_default=True,
    help="The spec's policy for services it does not name (e.g. ones created later).",
)
@click.option(
    "--periods/--no-periods",
    default=True,
    show_default=True,
    help="State each service's renewal period (pinning it: a change made in the control "
    "panel then shows as drift). --no-periods leaves the periods unmanaged.",
)
@endpoint_option
@concurrency_option
def import_(
    output: Path | None,
    force: bool,
    unmanaged: str,
    periods: bool,
    endpoint: str | None,
    concurrency: int,
) -> None:
    """Write a spec that adopts the live account as it is.

    Every manageable service gets its current lifecycle and period, with a comment; the
    others are listed in comments with the reason. `reconciler plan` of the file
    reports no changes: edit it to state what should change.
    """
    if output is not None and output.exists() and not force:
        raise UsageError(
            f"{output} exists; not overwriting it",
            hint="pass --force to replace it, or choose another --output",
        )
    target = resolve_target(endpoint)
    account, now = run(_read(target, concurrency))
    adoption = adopt(
        account,
        endpoint=target.name,
        now=now,
        source=str(output) if output is not None else "<stdout>",
        unmanaged=UnmanagedPolicy(unmanaged),
        periods=periods,
    )
    _warn_if_refused(adoption, UnmanagedPolicy(unmanaged))
    if output is None:
        click.echo(adoption.text, nl=False)
        click.echo(f"Imported from {target.name}: {adoption.summary()}.", err=True)
        return
    write_whole(output, adoption.text, force=force)
    click.echo(_written(output, adoption, target), err=True)


async def _read(target: Target, concurrency: int) -> tuple[LiveAccount, datetime]:
    async with build_client(target, concurrency=concurrency) as client:
        account = await read_account(client)
        return account, client.api_clock().now()


def write_whole(path: Path, text: str, *, force: bool) -> None:
    """Write ``text`` to ``path`` whole or not at all (``reconciler.cli.files``).
    Without ``force``, a file that appeared meanwhile is not replaced."""
    try:
        write_file(path, text, replace=force)
    except FileExistsError:
        raise UsageError(
            f"{path} exists; not overwriting it",
            hint="pass --force to replace it, or choose another --output",
        ) from None
    except OSError as exc:
        raise cannot_write(f"write the spec to {path}", exc) from None


def _warn_if_refused(adoption: Adoption, policy: UnmanagedPolicy) -> None:
    """With `unmanaged: error`, a manageable service the spec cannot name is refused by
    every plan (`unmanaged-service`): say so now, not at the first plan."""
    if policy is UnmanagedPolicy.ERROR and adoption.unstatable:
        count = len(adoption.unstatable)
        click.echo(
            f"warning: {count} manageable service{'s' * (count > 1)} cannot be named in a "
            "spec (listed in its comments); with --unmanaged error, plan refuses "
            f"{'them' if count > 1 else 'it'}: use --unmanaged report",
            err=True,
        )


def _written(path: Path, adoption: Adoption, target: Target) -> str:
    return (
        f"Wrote {path}: the account on {target.name}; {adoption.summary()}.\n"
        f"Check it: reconciler plan {path}   (reports no changes until you edit it)"
    )
