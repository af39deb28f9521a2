"""The command line: parses arguments, calls the engine, renders. It decides nothing.

Subcommands live in their own modules and are imported only when invoked, so that
``reconciler plan`` does not pay for Pulumi, the sandbox server or rich at start-up.

Options that concern every command (``--debug``, ``--color/--no-color``) are global: they
are accepted before or after the command name (``reconciler plan spec.yaml --debug``), as
Terraform users expect; ``LazyGroup.parse_args`` moves them to the group, which keeps
them in the root context for every command (``debug_enabled``, ``color_choice``).
``--endpoint`` before the command (``reconciler --endpoint URL services``) is the default
of the command's own ``--endpoint`` (``reconciler.cli.common``), so it works on either side
for the commands that talk to an endpoint.

Errors are turned into output in one place (``main``): a ``ReconcilerError`` prints one
line and its hint on stderr and exits with its ``exit_code``; anything else is an
internal error, printed the same way. Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from reconciler import __version__
from reconciler.errors import ReconcilerError, SpecError
from reconciler.redaction import Secrets

# A command builds a big heap of small objects in one go (the JSON of every service, their
# values, a plan) and exits. At Python's default (700, 10, 10) the cyclic collector walked
# that whole growing heap over and over: 0.3-0.4 s of the 1.4 s of CPU a 10,000-service
# plan takes (docs/benchmarks.md). Collections are rarer, not off: cycles are still freed.
# Set only when ``main`` runs as the program (console script, ``python -m reconciler``).
GC_THRESHOLDS = (50_000, 10, 10)

# name -> "module:attribute" of the click command; imported on first use.
COMMANDS: dict[str, str] = {
    "services": "reconciler.cli.services:services",
    "validate": "reconciler.cli.validate:validate",
    "plan": "reconciler.cli.plan:plan",
    "apply": "reconciler.cli.apply:apply",
    "show": "reconciler.cli.show:show",
    "journal": "reconciler.cli.journal:journal",
    "import": "reconciler.cli.adopt:import_",
    "credentials": "reconciler.cli.credentials:credentials",
    "sandbox": "reconciler.cli.sandbox:sandbox",
}


# Flags that mean the same to every command, accepted anywhere before a `--`.
GLOBAL_FLAGS = ("--debug", "--color", "--no-color")


def hoist_global_flags(args: Sequence[str]) -> list[str]:
    """``args`` with the global flags moved to the front, where the group parses them:
    ``plan spec.yaml --debug`` becomes ``--debug plan spec.yaml``. Nothing after ``--``
    moves (there, ``--debug`` is a file's name)."""
    args = list(args)
    end = args.index("--") if "--" in args else len(args)
    flags = [arg for arg in args[:end] if arg in GLOBAL_FLAGS]
    rest = [arg for arg in args[:end] if arg not in GLOBAL_FLAGS]
    return flags + rest + args[end:]


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when one is run (or listed)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.parent is None:  # the root: global flags may be anywhere
            args = hoist_global_flags(args)
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._load(name) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # not written yet: the command does not exist
                return None
            raise
        command = getattr(module, attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
@click.option(
    "--debug",
    is_flag=True,
    envvar="RECONCILER_DEBUG",
    help="Show tracebacks and log every API call (anywhere on the line).",
)
@click.option(
    "--color/--no-color",
    default=None,
    help="Colour the output or not (anywhere on the line). Default: only on a terminal, "
    "never with NO_COLOR set.",
)
@click.option(
    "--endpoint",
    metavar="NAME|URL",
    help="The endpoint of the command that follows, as its own --endpoint.",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, color: bool | None, endpoint: str | None) -> None:
    """Lifecycle-as-code for OVHcloud services.

    State in git what should become of every service of an OVHcloud account (keep
    renewing, terminate at expiry, delete now), see the plan, apply it safely.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["color"] = color
    ctx.obj["endpoint"] = endpoint


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the CLI and turns every error into one clear line.

    When the process is the CLI (``argv`` is None: the console script, ``python -m
    reconciler``), it also ends the process itself (``_leave``); in-process callers get
    ``SystemExit`` as from any click program."""
    if argv is not None:  # in-process callers keep their collector and their interpreter
        _main(argv)
        return
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        _main(None)
    except SystemExit as done:
        _leave(done.code)
    _leave(0)


def _leave(code: str | int | None) -> NoReturn:
    """End the CLI process once its work is done and written, without tearing the heap
    down object by object.

    At exit the interpreter runs full collections over everything still alive and then
    frees it module by module: for a 10,000-service plan that is a heap of a few
    hundred thousand objects (the plan, the account, the exception that carried exit
    code 2 still holds their frames), 0.1-0.3 s spent on memory the operating system
    reclaims at once anyway (docs/benchmarks.md). What must happen at exit still
    does, in this order: the atexit handlers (logging's flush, weakref finalizers such
    as temporary directories, coverage tools), then both standard streams flushed; the
    journal is fsynced record by record as it is written and holds nothing back. Only
    then ``os._exit``, with ``sys.exit``'s meaning of the code: None is 0, an integer
    is itself, anything else is printed on stderr and is 1."""
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        sys.exit(code)  # a thread still runs: the interpreter's own exit waits for it
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: nothing more can reach it
                status = status or 1
    os._exit(status)


def _main(argv: list[str] | None) -> None:
    debug = _debug_requested(argv)
    # Every secret the command learns (build_client feeds it): blanked from what it prints.
    secrets = Secrets()
    obj: dict[str, Any] = {"secrets": secrets}
    try:
        code = cli.main(args=argv, prog_name="reconciler", standalone_mode=False, obj=obj)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # click's word for Ctrl-C
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        # Exit 1, not click's 2: with --detailed-exitcode, 2 means "changes present",
        # and a typo in a CI job must never read as that. One line and a hint, as every
        # other error (click's own is three: usage, "Try ...", then the error).
        command = exc.ctx.command_path if exc.ctx is not None else "reconciler"
        click.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
        click.echo(f"hint: see `{command} --help`", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ReconcilerError as exc:
        if debug:
            traceback.print_exc()
        report_error(exc, secrets, endpoint=obj.get("endpoint_given"))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:  # an internal error: still one line, unless --debug
        if debug:
            traceback.print_exc()
        words = secrets.redact(f"{type(exc).__name__}: {exc}")
        click.echo(f"error: internal error: {words}", err=True)
        click.echo("hint: run again with --debug and report the traceback", err=True)
        sys.exit(1)
    # Without standalone mode, click *returns* the code of a `click.exceptions.Exit`
    # raised by a command (validate's 1, plan's 2) instead of raising it: honour it.
    sys.exit(code if isinstance(code, int) and not isinstance(code, bool) else 0)


def report_error(
    exc: ReconcilerError,
    secrets: Secrets | None = None,
    *,
    endpoint: str | None = None,
    with_hint: bool = True,
) -> None:
    """Print an error as users see it: one line (a spec error: one line per problem).
    Whatever a message quotes from outside (an API's words, a file's name, a value of a
    spec) cannot break that line nor reach the terminal as a control sequence: control
    characters are shown escaped (``\x1b``); nor show a secret the command knows. The
    commands the hint names keep the ``--endpoint`` the user gave (``endpoint``).
    Without ``with_hint``: the error alone (one of several files' errors, before the
    last one, whose hint is said once)."""
    from reconciler.render.wording import clean

    if secrets is not None:
        exc = secrets.redact_error(exc)
    if isinstance(exc, SpecError):
        for line in exc.lines():
            click.echo(f"error: {clean(line)}", err=True)
    else:
        click.echo(f"error: {clean(exc)}", err=True)
    if exc.hint and with_hint:
        hint = exc.hint
        if endpoint:  # only then: an error without one loads no command-line module more
            from reconciler.cli.common import keep_endpoint

            hint = keep_endpoint(hint, endpoint)
        click.echo(f"hint: {clean(hint)}", err=True)


def _debug_requested(argv: list[str] | None) -> bool:
    args = sys.argv[1:] if argv is None else argv
    return "--debug" in _before_dashes(args) or os.environ.get("RECONCILER_DEBUG", "") not in (
        "",
        "0",
    )


def _before_dashes(args: Sequence[str]) -> list[str]:
    return list(args[: args.index("--")]) if "--" in args else list(args)


def root_option(name: str, ctx: click.Context | None = None) -> Any:
    """A global option's value (``debug``, ``color``, ``endpoint``), or None outside the
    ``reconciler`` group."""
    ctx = ctx or click.get_current_context(silent=True)
    root: Any = ctx.find_root().obj if ctx else None
    return root.get(name) if isinstance(root, dict) else None


def command_secrets(ctx: click.Context | None = None) -> Secrets:
    """The secrets of this command (``main`` creates them; a fresh, unshared set when
    the CLI is invoked some other way)."""
    ctx = ctx or click.get_current_context(silent=True)
    root: Any = ctx.find_root().obj if ctx else None
    found = root.get("secrets") if isinstance(root, dict) else None
    return found if isinstance(found, Secrets) else Secrets()


def debug_enabled(ctx: click.Context | None = None) -> bool:
    """Whether --debug was given (for commands that log more with it)."""
    ctx = ctx or click.get_current_context(silent=True)
    root: Any = ctx.find_root().obj if ctx else None
    return bool(root and root.get("debug"))
