"""``reconciler validate SPEC...``: check specs offline (no credentials, no network).

Text output: ``FILE: ok (N services)`` on stdout for each valid spec, and every problem
of an invalid one on its own line on stderr (``error: file:line:col: message — fix``).
With one file, an invalid spec is raised as the ``SpecError`` it is, and
``reconciler.cli.main`` prints it like every other error. ``--format json`` prints one
JSON document on stdout instead (see ``report``). Exit 0 when every spec is valid, 1
otherwise.
"""

from __future__ import annotations

import json
from typing import Any

import click

from reconciler.cli.options import format_option
from reconciler.cli.show import refuse_plan_files
from reconciler.cli.specfiles import read_spec, spec_files, spec_name
from reconciler.core.spec import Spec
from reconciler.errors import SpecError

JSON_FORMAT_VERSION = "1"
_HINT = "fix the spec and run `reconciler validate` again"


@click.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@format_option(
    "text",
    "json",
    help="text for people; json for machines (every problem with file, line, column).",
)
def validate(specs: tuple[str, ...], output_format: str) -> None:
    """Check spec files offline: structure, values, and the rules a spec alone can break.

    Needs no credentials and no network. Give '-' to read a spec from standard input.
    Exits 0 when every spec is valid, 1 otherwise.
    """
    specs = tuple(spec_files(specs, note=lambda line: click.echo(line, err=True)))
    refuse_plan_files(specs, "validate")
    results = [(path, check(path)) for path in specs]
    failed = [path for path, outcome in results if isinstance(outcome, SpecError)]
    if output_format == "json":
        click.echo(json.dumps(report(results), indent=2, ensure_ascii=False))
    elif len(results) == 1 and failed:
        outcome = results[0][1]
        assert isinstance(outcome, SpecError)
        raise outcome  # printed by reconciler.cli.main, one line per problem
    else:
        from reconciler.cli import report_error

        for path, outcome in results:
            if isinstance(outcome, SpecError):
                report_error(outcome, with_hint=False)
            else:
                click.echo(ok_line(spec_name(path), outcome))
        if failed:
            click.echo(f"{len(failed)} of {len(results)} specs are invalid", err=True)
            click.echo(f"hint: {_HINT}", err=True)
    if failed:
        raise click.exceptions.Exit(1)


def check(path: str) -> Spec | SpecError:
    """The spec at ``path`` (``-``: standard input), or the error saying why it is not one."""
    try:
        return read_spec(path)
    except SpecError as error:
        return error


def ok_line(name: str, spec: Spec) -> str:
    count = len(spec.services)
    return f"{name}: ok ({count} service{'' if count == 1 else 's'})"


def report(results: list[tuple[str, Spec | SpecError]]) -> dict[str, Any]:
    """The JSON report: ``format_version``, ``valid``, and one entry per spec with
    ``file``, ``valid``, and either ``services``/``endpoint``/``digest`` or ``problems``
    (each ``file``, ``line``, ``column``, ``message``, ``fix``)."""
    entries: list[dict[str, Any]] = []
    for path, outcome in results:
        name = spec_name(path)
        if isinstance(outcome, SpecError):
            entries.append(
                {
                    "file": name,
                    "valid": False,
                    "problems": [
                        {
                            "file": problem.file,
                            "line": problem.line,
                            "column": problem.column,
                            "message": problem.message,
                            "fix": problem.fix,
                        }
                        for problem in outcome.problems
                    ],
                }
            )
        else:
            entries.append(
                {
                    "file": name,
                    "valid": True,
                    "services": len(outcome.services),
                    "endpoint": outcome.endpoint,
                    "digest": outcome.digest,
                    "problems": [],
                }
            )
    return {
        "format_version": JSON_FORMAT_VERSION,
        "valid": all(entry["valid"] for entry in entries),
        "specs": entries,
    }
