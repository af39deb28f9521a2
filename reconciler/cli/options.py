"""Options spelt the same way by several commands, in a module that imports nothing but
click: ``validate`` loads no network code (``tests/spec/test_spec_cli.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

# Where a command finds the apply journal when ``--journal`` is not given: ``plan`` and
# ``apply`` as ``reconciler.cli.common.journal_for`` finds it (the journal goes with the
# demo account it records), ``journal`` as ``embedded.working_state_dir`` (docs/journal.md,
# "Where it is").
SPEC_JOURNAL_DEFAULT = (
    "Default: journal.jsonl in $RECONCILER_STATE_DIR if set; else in the .reconciler/ "
    "of the spec's project on the embedded sandbox (beside its demo account), of the "
    "working directory on OVH."
)
JOURNAL_DEFAULT = (
    "Default: journal.jsonl in $RECONCILER_STATE_DIR if set; else in the nearest "
    ".reconciler/ from the working directory up to the top of its project, else the "
    "working directory's."
)


class OneLineUsageCommand(click.Command):
    """A command whose usage errors are the project's ``UsageError`` (exit 1, one line,
    a hint naming the command's ``--help``), not click's (exit 2, a usage block).

    Exit 1 matters most for ``plan --detailed-exitcode``, where 2 means "changes present":
    a mistyped option must never read as that in CI."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            # Imported here, on the error path: this module stays click alone.
            from reconciler.errors import UsageError

            raise UsageError(
                " ".join(error.format_message().split()),
                hint=f"see `reconciler {self.name} --help`",
            ) from None


if TYPE_CHECKING:  # click 8.5 types ParamType by its value and input; 8.1 is no generic
    _ParamType = click.ParamType[Any, Any]
else:
    _ParamType = click.ParamType


class DurationType(_ParamType):
    """The one parameter type of every option that takes a duration, in the one grammar
    (``reconciler.durations``; docs/user-guide.md, "Durations"): ``--token-timeout 1d``
    works wherever ``--expiring-within 1d`` does. A timeout (``fixed``) is a
    ``timedelta`` and refuses calendar months, which have no fixed length; a window is a
    ``Duration``, months kept apart. A bad value is the project's one-line
    ``UsageError`` naming the option, with the fix as its hint (exit 1, not click's 2)."""

    name = "duration"

    def __init__(self, *, fixed: bool = False, signed: bool = False) -> None:
        self.fixed = fixed
        self.signed = signed

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from datetime import timedelta

        from reconciler.durations import Duration

        if isinstance(value, Duration | timedelta):
            return value
        option = max(param.opts, key=len) if param is not None and param.opts else "DURATION"
        return self.parse(str(value), option)

    def parse(self, text: str, option: str) -> Any:
        """``text`` as ``option``'s value (``convert`` for click, this for a caller
        holding a text)."""
        from reconciler.durations import InvalidDuration, parse_duration
        from reconciler.errors import UsageError

        try:
            duration = parse_duration(
                text, allow_calendar=not self.fixed, allow_negative=self.signed
            )
        except InvalidDuration as error:
            raise UsageError(f"{option} {error.message}", hint=error.fix) from None
        return duration.as_timedelta() if self.fixed else duration


# A length of time (a timeout, a bound): a ``timedelta``; a window: a ``Duration``.
TIMEOUT = DurationType(fixed=True)
WINDOW = DurationType()


def format_option(*choices: str, help: str) -> Callable[[F], F]:
    """``--format`` (into ``output_format``), the first of ``choices`` by default: one
    spelling of the option for every command that prints for people and for scripts."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help=help,
    )


def journal_option(
    what: str = "", *, dest: str = "journal", default: str = SPEC_JOURNAL_DEFAULT
) -> Callable[[F], F]:
    """``--journal PATH`` (into ``dest``): ``what`` the command does with the journal,
    then where it is by default (``default``: a spec's journal, for ``plan`` and
    ``apply``; ``JOURNAL_DEFAULT`` for ``journal``), worded once for the three."""
    return click.option(
        "--journal",
        dest,
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="PATH",
        help=f"{what} {default}" if what else default,
    )
