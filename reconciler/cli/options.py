"""Options spelt the same way by several commands, in a module that imports nothing but
click: ``validate`` loads no network code (``tests/spec/test_spec_cli.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


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
