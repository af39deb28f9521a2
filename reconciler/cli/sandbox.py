"""``reconciler sandbox``: run the local OVH API sandbox, and rehearse on the embedded one.

    reconciler sandbox serve [--seed FILE] [--port N] [--state FILE] [--latency-ms N]
    reconciler sandbox reset [--seed FILE]                 the embedded sandbox
    reconciler sandbox clock [--set ISO | --advance 2d] [--tick | --stop]   (UTC)
    reconciler sandbox emails [--last N]

``serve`` prints exactly one line on stdout once it accepts connections,
``sandbox: serving http://127.0.0.1:PORT/1.0``, so scripts can read the port; anything
else goes to stderr. The embedded sandbox (``endpoint: sandbox``) lives in
``$RECONCILER_STATE_DIR/sandbox.db`` (default ``.reconciler/sandbox.db``).

Sandbox errors become ``ConfigError`` / ``UsageError`` here, so they print as one line.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click

from reconciler.endpoints import is_loopback
from reconciler.errors import ConfigError, UsageError

SEED_HINT = "fix the seed file; docs/sandbox.md describes the seed format"
DEFAULT_PORT = 8080


def embedded_state_path() -> Path:
    """Where the embedded sandbox keeps its state: the very file the client's
    ``endpoint: sandbox`` uses (one definition, in ``reconciler.ovh.embedded``)."""
    from reconciler.ovh import embedded

    return embedded.state_dir(os.environ, Path.cwd()) / embedded.DATABASE


@click.group()
def sandbox() -> None:
    """The local OVH API sandbox: rehearse irreversible changes without an account."""


@sandbox.command()
@click.option(
    "--seed",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Seed file (YAML) of the account to serve; default: the demo account.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port to listen on; 0 picks a free one (read it from the printed URL).",
)
@click.option(
    "--state",
    type=click.Path(path_type=Path, dir_okay=False),
    help="SQLite state file, kept between runs; default: a temporary one.",
)
@click.option(
    "--latency-ms",
    type=click.FloatRange(0, 60_000),
    default=0,
    help="Delay added to every /1.0 call (more faults: PUT /sandbox/faults).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--reset", "reseed", is_flag=True, help="Start again from the seed if --state exists."
)
def serve(
    seed: Path | None,
    port: int,
    state: Path | None,
    latency_ms: float,
    host: str,
    reseed: bool,
) -> None:
    """Serve the OVH API sandbox on HOST:PORT until interrupted."""
    from reconciler.sandbox import SandboxError, load_seed, open_state
    from reconciler.sandbox.app import create_app
    from reconciler.sandbox.faults import FaultConfig, FaultInjector
    from reconciler.sandbox.server import bind
    from reconciler.sandbox.server import serve as run_server

    with ExitStack() as stack:
        try:
            loaded = load_seed(seed) if seed is not None else None
            if state is None:
                folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="sandbox-"))
                state = Path(folder) / "sandbox.db"
            backend = open_state(state, seed=loaded, reseed=reseed)
        except SandboxError as exc:
            raise _config_error(exc, seed) from None
        stack.callback(backend.close)
        faults = FaultInjector()
        if latency_ms:
            faults.configure(FaultConfig(latency_ms=latency_ms))
        try:
            sock = bind(host, port)
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                hint="choose another --port (0 picks a free one)",
            ) from None
        stack.callback(sock.close)
        if not is_loopback(host):
            click.echo(
                f"warning: listening on {host}: the sandbox has no TLS and its /sandbox admin "
                "routes need no authentication",
                err=True,
            )
        summary = backend.summary()
        click.echo(
            f"sandbox: {summary['services']} services from {summary['seed']}, state {state}, "
            f"clock {summary['clock']['now']}",
            err=True,
        )

        def ready(root: str) -> None:
            click.echo(f"sandbox: serving {root}/1.0")
            sys.stdout.flush()

        # Ctrl-C and SIGTERM are the normal ways to stop a server: exit 0, not "Aborted".
        # uvicorn shuts down gracefully, then re-raises the signal to the handler below.
        previous = signal.signal(signal.SIGTERM, _interrupt)
        stack.callback(signal.signal, signal.SIGTERM, previous)
        try:
            run_server(create_app(backend, faults=faults), sock, on_ready=ready)
        except KeyboardInterrupt:
            pass
        click.echo("sandbox: stopped", err=True)


@sandbox.command()
@click.option(
    "--seed",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Seed file to start from; default: the seed it was made from (the demo account).",
)
def reset(seed: Path | None) -> None:
    """Put the embedded sandbox back to its seed (or to a new one)."""
    from reconciler.sandbox import SandboxError, load_seed, open_state

    path = embedded_state_path()
    try:
        loaded = load_seed(seed) if seed is not None else None
        backend = open_state(path, seed=loaded, reseed=loaded is not None)
        try:
            if loaded is None:
                backend.reset()
            summary = backend.summary()
        finally:
            backend.close()
    except SandboxError as exc:
        raise _config_error(exc, seed) from None
    click.echo(
        f"sandbox: {path} reset to {summary['seed']} ({summary['services']} services, "
        f"clock {summary['clock']['now']})"
    )


@sandbox.command()
@click.option(
    "--set",
    "set_to",
    metavar="ISO",
    help="Set the clock, in UTC unless an offset is given: 2027-01-01 (midnight UTC), "
    "2027-01-01T09:00, 2027-01-01T10:00+01:00.",
)
@click.option("--advance", metavar="DURATION", help="Move the clock, e.g. 2d, 12h, 1d12h, -1h.")
@click.option(
    "--tick/--stop",
    "ticking",
    default=None,
    help="Let the clock run from there, or stop it (default: stop when moved).",
)
def clock(set_to: str | None, advance: str | None, ticking: bool | None) -> None:
    """Show or move the embedded sandbox's clock.

    Services renew, expire and terminate as it moves; once moved it stands still
    unless --tick."""
    from reconciler.sandbox import SandboxError, open_state
    from reconciler.sandbox.clock import parse_duration

    if set_to and advance:
        raise UsageError("give --set or --advance, not both")
    try:
        backend = open_state(embedded_state_path())
        try:
            if set_to:
                state = backend.set_clock(parse_clock_instant(set_to), ticking=bool(ticking))
            elif advance:
                delta: timedelta = parse_duration(advance)
                state = backend.advance_clock(delta, ticking=bool(ticking))
            elif ticking is not None:
                state = backend.set_clock(backend.now(), ticking=ticking)
            else:
                state = backend.clock()
        finally:
            backend.close()
    except ValueError as exc:
        raise UsageError(str(exc), hint="see `reconciler sandbox clock --help`") from None
    except SandboxError as exc:
        raise _config_error(exc, None) from None
    shown = state.to_json()
    click.echo(clock_line(shown["now"], bool(shown["ticking"])))


def parse_clock_instant(text: str) -> datetime:
    """``--set``'s instant, read as the rest of the command line reads dates: in UTC.

    A bare date is midnight UTC and a date-time without an offset is UTC; an explicit
    offset (``+01:00``, ``Z``) is honoured. The sandbox's seed files date a bare day in
    Paris, as OVH does, but a user typing ``2027-01-01`` here means the day every other
    output of this UTC tool shows (Paris midnight would be ``2026-12-31T23:00:00Z``)."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 date or date-time; write e.g. 2027-01-01 or "
            "2027-01-01T09:00:00Z (UTC unless an offset is given)"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def clock_line(now: str, ticking: bool) -> str:
    """The one line ``sandbox clock`` prints; the instant is UTC and says so."""
    return f"sandbox clock: {now} (UTC, {'ticking' if ticking else 'stopped'})"


@sandbox.command()
@click.option("--last", type=click.IntRange(1), default=None, help="Only the last N e-mails.")
def emails(last: int | None) -> None:
    """Show the e-mails the embedded sandbox sent.

    Termination requests send a confirmation link with a token, as OVH does."""
    from reconciler.sandbox import SandboxError, open_state

    try:
        backend = open_state(embedded_state_path())
        try:
            sent = backend.emails()
        finally:
            backend.close()
    except SandboxError as exc:
        raise _config_error(exc, None) from None
    if last is not None:
        sent = sent[-last:]
    if not sent:
        click.echo("sandbox: no e-mail sent yet")
    for email in sent:
        click.echo(f"--- #{email['id']} {email['date']} {email['subject']}")
        click.echo(email["body"])


def _config_error(exc: Exception, seed: Path | None) -> ConfigError:
    from reconciler.sandbox import SeedError

    if isinstance(exc, SeedError):
        return ConfigError(str(exc), hint=SEED_HINT)
    return ConfigError(
        f"sandbox: {exc}",
        hint="use another --state file, or --reset to start it again from the seed",
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
