"""What every command that talks to the OVH API needs, in one small place: the shared
options, which endpoint to talk to, the client, running the command's coroutine.
(docs/user-guide.md, "Commands and exit codes", states the endpoint rule for users;
docs/architecture.md, "`reconciler.cli.common`", lists what is here.)

One rule picks the endpoint of every command: with a spec (``plan``, ``apply``),
``--endpoint`` > the spec's ``endpoint:`` (``target_for_spec``), because a spec states
which account it describes and an ``OVH_ENDPOINT`` left in a shell must never redirect
it; without one, ``--endpoint`` > ``OVH_ENDPOINT`` > ovh.conf ``[default] endpoint`` >
the embedded ``sandbox`` (``resolve_target``). The ``--endpoint`` given is remembered so
that ``keep_endpoint`` adds it to the commands an error's hint names.

``build_client`` resolves credentials as the official client does; a command reads
through it inside ``run(coroutine)`` and takes the API's clock from the client
(``client.api_clock().now()``). Errors are ``reconciler.errors`` values, which
``reconciler.cli.main`` prints. ``RECONCILER_READ_STRATEGY=per-id`` forces per-id reads
instead of Iceberg pages (the benchmarks compare both).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shlex
import sys
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from reconciler.endpoints import SANDBOX, Endpoint, resolve_endpoint
from reconciler.errors import ConfigError, UsageError
from reconciler.ovh.credentials import configured_endpoint, default_search_paths
from reconciler.ovh.options import DEFAULT_CONCURRENCY, ReadStrategy
from reconciler.redaction import Secrets

if TYPE_CHECKING:  # the spec's models are loaded by the commands that read a spec
    from reconciler.core.spec import Spec
    from reconciler.ovh.client import OvhClient

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

READ_STRATEGY_ENV = "RECONCILER_READ_STRATEGY"
MAX_CONCURRENCY = 100


@dataclass(frozen=True, slots=True)
class Target:
    """The endpoint a command talks to, and where that choice came from (for messages)."""

    endpoint: Endpoint
    source: str  # "--endpoint", "OVH_ENDPOINT", "./ovh.conf [default] endpoint", ...
    # The embedded sandbox's state directory found from the spec's project
    # (``embedded.spec_state_dir``) or, without a spec, from the working directory's
    # (``embedded.working_state_dir``), when it is not the working directory's own;
    # None: the usual one. ``state_of`` says whose it is, in the note that names it.
    state_dir: Path | None = None
    state_of: str = "the spec's project"

    @property
    def name(self) -> str:
        return self.endpoint.name


ENDPOINT_VALUES = "ovh-eu, ovh-ca, ovh-us, kimsufi-*, soyoustart-*, sandbox (embedded), or a URL."


def _endpoint_before_command() -> str | None:
    """``reconciler --endpoint URL COMMAND``: the group's ``--endpoint`` is the default of
    the command's own, so the option works before or after the command name."""
    from reconciler.cli import root_option

    value = root_option("endpoint")
    return value if isinstance(value, str) else None


# Where the root context keeps the --endpoint the user gave (the command's or the global
# one), so that the hints printed on the way out name it (``keep_endpoint``).
ENDPOINT_GIVEN = "endpoint_given"

# The commands a hint may name that take --endpoint (``journal``, ``show`` do not).
_COMMAND_IN_HINT = re.compile(
    r"`reconciler ((?:services|import|plan|apply|credentials (?:request|check|rules)"
    r"|sandbox (?:clock|emails|reset))(?:\s[^`]*)?)`"
)


def _remember_endpoint(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        root = ctx.find_root().obj
        if isinstance(root, dict):
            root[ENDPOINT_GIVEN] = value.strip()
    return value


def keep_endpoint(text: str, endpoint: str | None) -> str:
    """``text`` with ``--endpoint ENDPOINT`` added to every command it names in
    backticks that takes the option and does not give it already.

    A hint such as "request one with `reconciler credentials request`" is followed as
    written; without the endpoint the user gave, the command would go to another account
    (``OVH_ENDPOINT``, ovh.conf's default or the embedded sandbox)."""
    if not endpoint:
        return text

    def add(match: re.Match[str]) -> str:
        command = match.group(1)
        if "--endpoint" in command or "--help" in command:  # given, or no call made
            return match.group(0)
        return f"`reconciler {command.rstrip()} --endpoint {shlex.quote(endpoint)}`"

    return _COMMAND_IN_HINT.sub(add, text)


def _endpoint_option(default: str) -> Callable[[F], F]:
    """``--endpoint NAME|URL``, defaulting to the global option; ``default`` says what
    the command uses without either."""
    return click.option(
        "--endpoint",
        metavar="NAME|URL",
        default=_endpoint_before_command,
        callback=_remember_endpoint,
        help=f"{ENDPOINT_VALUES} Default: {default}",
    )


def endpoint_option(command: F) -> F:
    """``--endpoint`` for commands without a spec."""
    return _endpoint_option("OVH_ENDPOINT, ovh.conf [default] endpoint, sandbox.")(command)


def spec_endpoint_option(command: F) -> F:
    """``--endpoint`` for commands with a spec: it overrides the spec's ``endpoint:``."""
    return _endpoint_option(
        "the spec's `endpoint:` (itself sandbox by default); "
        "OVH_ENDPOINT and ovh.conf never override a spec."
    )(command)


def concurrency_option(command: F) -> F:
    return click.option(
        "--concurrency",
        type=click.IntRange(1, MAX_CONCURRENCY),
        default=DEFAULT_CONCURRENCY,
        show_default=True,
        help="API calls in flight at once.",
    )(command)


def resolve_target(
    option: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    search_paths: Sequence[Path] | None = None,
    cwd: Path | None = None,
) -> Target:
    """The endpoint of a command without a spec: ``--endpoint`` > ``OVH_ENDPOINT`` >
    ovh.conf ``[default] endpoint`` > ``sandbox``. Raises ``ConfigError`` for a bad
    value, saying where it came from. On the embedded sandbox, its state is the working
    directory's project's (``embedded.working_state_dir``): run in a subdirectory, the
    command meets the account the project's commands use."""
    environ = os.environ if environ is None else environ
    target = _chosen_target(option, environ, search_paths)
    if not target.endpoint.embedded:
        return target
    from reconciler.ovh import embedded

    here = cwd or Path.cwd()
    found = embedded.working_state_dir(environ, here)
    if found == embedded.state_dir(environ, here):
        return target
    return replace(target, state_dir=found, state_of="the working directory's project")


def _chosen_target(
    option: str | None, environ: Mapping[str, str], search_paths: Sequence[Path] | None
) -> Target:
    """The endpoint ``option``, the environment or ovh.conf choose, and where from."""
    paths = default_search_paths() if search_paths is None else search_paths
    value: str | None = None
    source = ""
    if option and option.strip():
        value, source = option.strip(), "--endpoint"
    else:
        configured = configured_endpoint(environ, paths)
        if configured is not None:
            value, source = configured
        else:
            value, source = SANDBOX, "the default"
    try:
        endpoint = resolve_endpoint(value)
    except ConfigError as exc:
        raise ConfigError(f"{exc.message} (from {source})", hint=exc.hint) from None
    return Target(endpoint=endpoint, source=source)


def target_for_spec(
    spec: Spec,
    option: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Target:
    """The endpoint of a command with a spec: ``--endpoint``, else the spec's own. On the
    embedded sandbox, its state is the spec's project's (``embedded.spec_state_dir``):
    a plan saved in one directory and applied from another meets the same account."""
    if option and option.strip():
        # Not ``resolve_target``: the spec's project, not the working directory's, holds
        # the state.
        target = _chosen_target(option, os.environ if environ is None else environ, None)
    else:
        try:
            endpoint = resolve_endpoint(spec.endpoint)
        except ConfigError as error:
            raise ConfigError(f"{error.message} (from {spec.source})", hint=error.hint) from None
        target = Target(endpoint=endpoint, source=f"{spec.source} endpoint")
    spec_file = Path(spec.source)
    if not target.endpoint.embedded or not spec_file.is_file():  # not a file: standard input
        return target
    from reconciler.ovh import embedded

    found = embedded.spec_state_dir(
        os.environ if environ is None else environ, cwd or Path.cwd(), spec_file
    )
    return replace(target, state_dir=found) if found is not None else target


def build_client(
    target: Target | Endpoint,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    environ: Mapping[str, str] | None = None,
    search_paths: Sequence[Path] | None = None,
    state_dir: Path | None = None,
    read_strategy: ReadStrategy | None = None,
    secrets: Secrets | None = None,
) -> OvhClient:
    """A client for ``target`` (enter it with ``async with``). Credentials, the read
    strategy and the timeouts come from ``environ`` (default ``os.environ``) and the
    ovh.conf files. Its secrets are the command's (``reconciler.cli.command_secrets``),
    so that the error printer blanks them too."""
    from reconciler.cli import command_secrets
    from reconciler.ovh.client import OvhClient  # the HTTP stack: only to send

    environ = os.environ if environ is None else environ
    endpoint = target.endpoint if isinstance(target, Target) else target
    strategy = read_strategy or _read_strategy(environ)
    if state_dir is None and isinstance(target, Target) and target.state_dir is not None:
        state_dir = target.state_dir
        _note_state_dir(state_dir, target.state_of)
    return OvhClient.from_environment(
        endpoint,
        environ=environ,
        search_paths=search_paths,
        state_dir=state_dir,
        concurrency=concurrency,
        read_strategy=strategy,
        secrets=secrets if secrets is not None else command_secrets(),
        # The first page goes out beside GET /auth/time: one round trip, not two.
        early_reads=True,
        read_progress=terminal_progress(sys.stderr, environ),
    )


# --- progress of long reads ------------------------------------------------------------

# A read shorter than this says nothing; then the line is redrawn at most this often.
PROGRESS_AFTER = 1.0
PROGRESS_EVERY = 0.1


def terminal_progress(
    stream: TextIO,
    environ: Mapping[str, str],
    clock: Callable[[], float] = time.monotonic,
) -> ProgressLine | None:
    """The one progress line of long reads on ``stream``, or None where it does not
    belong: not a terminal (a pipe, a file: the line is for eyes, never for a parser),
    a CI runner (``CI`` set: some give a pseudo-terminal whose log keeps every redraw),
    ``TERM=dumb`` (no carriage return drawn in place), ``--debug`` (its log lines share
    the stream), or a live display already drawing there (apply's bar, through which
    rich proxies stderr)."""
    from reconciler.cli import debug_enabled

    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):  # closed, or no file behind it
        return None
    if not terminal or environ.get("CI", "") or environ.get("TERM", "") == "dumb":
        return None
    if hasattr(stream, "rich_proxied_file") or debug_enabled():
        return None
    return ProgressLine(stream, clock)


class ProgressLine:
    """One line on a terminal, rewritten in place: ``reading services: 1,200 / 3,000``.

    Called with a label, it is the client's ``read_progress``: each read it starts
    draws once it has lasted ``after`` seconds on ``clock`` (a short read draws
    nothing), at most every ``every`` seconds, and when complete; its end blanks the
    line, so that what the command prints next starts on a clean one. Concurrent reads
    share the line: it shows the one heard from last."""

    def __init__(
        self,
        stream: TextIO,
        clock: Callable[[], float],
        *,
        after: float = PROGRESS_AFTER,
        every: float = PROGRESS_EVERY,
    ) -> None:
        self._stream = stream
        self._clock = clock
        self._after = after
        self._every = every
        self._shown: _LineRead | None = None
        self._width = 0
        self._drawn_at = 0.0

    def __call__(self, label: str) -> _LineRead:
        return _LineRead(self, label, self._clock())

    def _update(self, read: _LineRead) -> None:
        now = self._clock()
        if now - read.started < self._after:
            return
        complete = read.expected is not None and read.count >= read.expected
        if self._shown is not None and now - self._drawn_at < self._every and not complete:
            return
        text = f"reading {read.label}: {read.count:,}"
        if read.expected is not None:
            text += f" / {read.expected:,}"
        # Padded over what was drawn before: no escape code, which a terminal may not have.
        self._write("\r" + text.ljust(self._width))
        self._shown, self._width, self._drawn_at = read, len(text), now

    def _end(self, read: _LineRead) -> None:
        if self._shown is read:
            self._write("\r" + " " * self._width + "\r")
            self._shown, self._width = None, 0

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()


@dataclass(slots=True)
class _LineRead:
    """One read drawn on a ``ProgressLine`` (the client's ``ReadProgress``)."""

    line: ProgressLine
    label: str
    started: float
    count: int = 0
    expected: int | None = None

    def total(self, count: int) -> None:
        self.expected = count
        self.line._update(self)

    def advance(self, count: int = 1) -> None:
        self.count += count
        self.line._update(self)

    def finish(self) -> None:
        self.line._end(self)


def journal_for(
    target: Target,
    given: Path | None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Path:
    """The apply journal of a command with a spec (``plan`` reads it, ``apply`` appends
    to it): ``--journal``; else, when the embedded sandbox's state is the spec's
    project's (``Target.state_dir``), the journal beside it — the record of what was
    applied to that account goes with the account, so that a plan made there sees the
    deletions an apply from elsewhere did; else ``$RECONCILER_STATE_DIR/journal.jsonl``
    or ``./.reconciler/journal.jsonl``."""
    from reconciler.journal import JOURNAL_FILE
    from reconciler.ovh import embedded

    if given is not None:
        return given
    if target.state_dir is not None:
        return target.state_dir / JOURNAL_FILE
    environ = os.environ if environ is None else environ
    return embedded.state_dir(environ, cwd or Path.cwd()) / JOURNAL_FILE


def journal_command(
    arguments: str, journal: Path, *, environ: Mapping[str, str] | None = None
) -> str:
    """``reconciler journal ARGUMENTS`` as a hint names it: with ``--journal PATH`` when
    ``journal`` is not the one that command reads by default, so that it shows the
    journal this command wrote."""
    from reconciler.journal import JOURNAL_FILE
    from reconciler.ovh import embedded

    environ = os.environ if environ is None else environ
    default = embedded.working_state_dir(environ, Path.cwd()) / JOURNAL_FILE
    if os.path.abspath(journal) == os.path.abspath(default):
        return f"reconciler journal {arguments}"
    return f"reconciler journal {arguments} --journal {shlex.quote(str(journal))}"


def _note_state_dir(directory: Path, whose: str) -> None:
    """Say which state directory the embedded sandbox uses when it is not the working
    directory's, but only where that helps: when a fresh demo account is about to be
    created there (a user expecting the account of ``./.reconciler`` learns where it
    is), and always with ``--debug``. An account found where the last command left it
    needs no word. ``whose``: the project it was found from (``Target.state_of``)."""
    from reconciler.cli import debug_enabled
    from reconciler.ovh import embedded

    if not embedded.has_account(directory):
        click.echo(
            f"note: a fresh demo account is created in {directory}, the embedded "
            f"sandbox's state of {whose} (set {embedded.STATE_DIR_ENV} to choose another)",
            err=True,
        )
    elif debug_enabled():
        click.echo(f"note: the embedded sandbox's state of {whose}: {directory}", err=True)


def _read_strategy(environ: Mapping[str, str]) -> ReadStrategy:
    value = environ.get(READ_STRATEGY_ENV, "").strip().lower()
    if not value:
        return ReadStrategy.AUTO
    try:
        return ReadStrategy(value)
    except ValueError:
        choices = ", ".join(s.value for s in ReadStrategy)
        raise UsageError(
            f"{READ_STRATEGY_ENV}={value!r} is not a read strategy",
            hint=f"use one of {choices}, or unset it",
        ) from None


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; with ``--debug``, log every API call on stderr."""
    from reconciler.cli import command_secrets, debug_enabled

    if debug_enabled():
        logging.basicConfig(format="%(name)s: %(message)s")
        logging.getLogger("reconciler").setLevel(logging.DEBUG)
        # On the handlers, not the logger: a logger's filter never sees its children's
        # records ("reconciler.ovh"), a handler's sees every record it writes.
        blank = command_secrets().logging_filter()
        for handler in logging.getLogger().handlers:
            handler.addFilter(blank)
    # The main task returns nothing; its result travels beside it. On the way out,
    # asyncio.run restores the SIGINT handler, and the signal module formats the handler
    # it replaces (``signal.getsignal``: a partial holding the finished main task) into
    # an error message it then discards; a task's repr holds its result. With a 10,000
    # service plan as the result that was two full reprs of the plan: 0.3 s of a 2 s run.
    outcome: list[T] = []

    async def main() -> None:
        outcome.append(await coroutine)

    asyncio.run(main())
    return outcome[0]


def use_color(asked: bool | None = None) -> bool:
    """``asked`` if given, else the global ``--color/--no-color`` if given; else colour
    only when stdout is a terminal, never with ``NO_COLOR`` set (https://no-color.org:
    any non-empty value) or ``TERM=dumb``."""
    from reconciler.cli import root_option

    if asked is None:
        asked = root_option("color")
    if isinstance(asked, bool):
        return asked
    if os.environ.get("NO_COLOR", ""):
        return False
    import sys

    return sys.stdout.isatty() and os.environ.get("TERM", "") != "dumb"
