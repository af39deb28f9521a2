"""``reconciler sandbox``: run the local OVH API sandbox, and rehearse on the embedded one.

    reconciler sandbox serve [--seed FILE] [--port N] [--state FILE] [--latency-ms N]
    reconciler sandbox reset [--seed FILE] [--keep-clock] [--endpoint URL]
    reconciler sandbox clock [--set ISO | --advance 2d] [--tick | --stop] [--endpoint URL]
    reconciler sandbox emails [--last N] [--endpoint URL]

``serve`` prints exactly one line on stdout once it accepts connections,
``sandbox: serving http://127.0.0.1:PORT/1.0``, so scripts can read the port; anything
else goes to stderr, the account's keys among it (an ``export OVH_...`` block). The
embedded sandbox (``endpoint: sandbox``) lives in ``$RECONCILER_STATE_DIR/sandbox.db``
(default ``.reconciler/sandbox.db``); ``reset``, ``clock`` and ``emails`` act on it, or,
given ``--endpoint URL`` (the URL ``serve`` printed), on that served sandbox through its
admin routes (``/sandbox/...``, ``reconciler.sandbox.admin``). The clock is UTC.

Sandbox errors become ``ConfigError`` / ``UsageError`` here, so they print as one line.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from reconciler.cli.options import DurationType
from reconciler.endpoints import ENDPOINTS, SANDBOX, is_loopback, resolve_endpoint
from reconciler.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from reconciler.sandbox.admin import SandboxAdmin
    from reconciler.sandbox.backend import Backend
    from reconciler.sandbox.clock import WallClock
    from reconciler.sandbox.seed import CredentialSeed

F = TypeVar("F", bound=Callable[..., Any])

SEED_HINT = "fix the seed file; docs/sandbox.md describes the seed format"
DEFAULT_PORT = 8080
API_VERSION_PATH = "/1.0"
SERVED_HINT = (
    "give the URL `reconciler sandbox serve` printed, e.g. --endpoint http://127.0.0.1:8080/1.0"
)


def _endpoint_before_command() -> str | None:
    """``reconciler --endpoint URL sandbox clock``: the global option is this one's default."""
    from reconciler.cli import root_option

    value = root_option("endpoint")
    return value if isinstance(value, str) else None


def served_endpoint_option(command: F) -> F:
    """``--endpoint`` of the commands that act on the embedded or a served sandbox.

    Only the option (or the global one) chooses a served sandbox: ``OVH_ENDPOINT`` and
    ovh.conf name the account a user works on, often OVH's own, never a sandbox to move
    the clock of."""
    return click.option(
        "--endpoint",
        metavar="URL",
        default=_endpoint_before_command,
        help="A sandbox `reconciler sandbox serve` runs (the URL it printed); "
        "default: the embedded sandbox.",
    )(command)


def served_root(option: str | None) -> str | None:
    """The root URL of the served sandbox ``option`` names (its admin routes live under
    ``/sandbox``, its API under ``/1.0``), or None for the embedded sandbox.

    Accepts the URL ``serve`` prints (``.../1.0``) or its root, with or without a
    trailing slash; a name of OVH's endpoints is refused: they have no sandbox routes."""
    if option is None or not option.strip() or option.strip() == SANDBOX:
        return None
    endpoint = resolve_endpoint(option)
    if endpoint.name in ENDPOINTS:
        raise UsageError(
            f"--endpoint {endpoint.name} is OVH's API, not a sandbox: the sandbox commands "
            "act on the embedded sandbox or on a served one",
            hint=SERVED_HINT,
        )
    base = endpoint.base_url.rstrip("/")
    return base[: -len(API_VERSION_PATH)] if base.endswith(API_VERSION_PATH) else base


@contextmanager
def _served(root: str) -> Iterator[SandboxAdmin]:
    """The admin client of the sandbox at ``root``; its failures as one-line errors."""
    from reconciler.sandbox.admin import AdminError, SandboxAdmin

    try:
        yield SandboxAdmin(root, timeout=30.0)
    except AdminError as exc:
        if exc.status == 404:
            raise ConfigError(
                f"{root} answers, but not as a reconciler sandbox (no /sandbox admin routes)",
                hint=SERVED_HINT,
            ) from None
        raise ConfigError(f"sandbox at {root}: {exc.message}", hint=SEED_HINT) from None
    except ValueError:  # an answer that is not JSON: some other server
        raise ConfigError(
            f"{root} answers, but not as a reconciler sandbox", hint=SERVED_HINT
        ) from None
    except OSError as exc:  # refused, unreachable, timed out (URLError is an OSError)
        reason = getattr(exc, "reason", None) or exc.strerror or exc
        raise ConfigError(
            f"cannot reach a sandbox at {root}: {reason}",
            hint="start one with `reconciler sandbox serve`, or check --endpoint: the URL "
            "it printed, e.g. http://127.0.0.1:8080/1.0",
        ) from None


def embedded_state_path() -> Path:
    """Where the embedded sandbox keeps its state: the very file the client's
    ``endpoint: sandbox`` uses for a command without a spec run here (one definition,
    ``reconciler.ovh.embedded.working_state_dir``: the project's, from a subdirectory)."""
    from reconciler.ovh import embedded

    return embedded.working_state_dir(os.environ, Path.cwd()) / embedded.DATABASE


@contextmanager
def _embedded(seed: Path | None = None, wall: WallClock | None = None) -> Iterator[Backend]:
    """The embedded sandbox's state, closed when done; a sandbox error in opening or
    using it as a one-line error (``seed``: the seed file it may be about)."""
    from reconciler.sandbox import SandboxError, open_state

    try:
        backend = open_state(embedded_state_path(), wall=wall)
        try:
            yield backend
        finally:
            backend.close()
    except SandboxError as exc:
        raise _config_error(exc, seed) from None


def _seed_option(help: str) -> Callable[[F], F]:
    """``--seed FILE`` of ``serve`` and ``reset``: the seed file to load (``load_seed``)."""
    return click.option("--seed", type=click.Path(path_type=Path, dir_okay=False), help=help)


@click.group()
def sandbox() -> None:
    """The local OVH API sandbox: rehearse irreversible changes without an account."""


@sandbox.command()
@_seed_option("Seed file (YAML) of the account to serve; default: the demo account.")
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

        keys = account_keys(loaded.credentials if loaded is not None else None, summary)

        def ready(root: str) -> None:
            click.echo(f"sandbox: serving {root}{API_VERSION_PATH}")
            sys.stdout.flush()
            # On stderr: stdout stays the one line scripts read the port from.
            click.echo(keys_block(root + API_VERSION_PATH, keys), err=True)

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
@_seed_option("Seed file to start from; default: the seed it was made from (the demo account).")
@click.option(
    "--keep-clock",
    is_flag=True,
    help="Leave the clock where it is; default: back to real time (UTC), ticking.",
)
@served_endpoint_option
def reset(seed: Path | None, keep_clock: bool, endpoint: str | None) -> None:
    """Put the embedded sandbox (or the served one at --endpoint) back to its seed, or
    to a new one, and its clock back to real time.

    A seed with a `clock:` sets (and stops) the clock there, as loading it always does;
    --keep-clock leaves a clock moved with `sandbox clock` where it is."""
    from reconciler.sandbox import SandboxError, load_seed

    # The clock goes back to real time *before* the seed is loaded, so the seed's
    # relative dates (``expires_in: 30d``) count from today, not from a date the clock
    # was moved to; a seed's own ``clock:`` then still wins, as loading it promises.
    wall = wall_clock()
    root = served_root(endpoint)
    if root is not None:
        text = _read_seed_text(seed) if seed is not None else None
        with _served(root) as admin:
            if not keep_clock:
                admin.set_clock(wall.now(), ticking=True)
            summary = admin.reset(text)
        click.echo(reset_line(root, str(seed or summary["seed"]), summary, keep_clock))
        return
    # The seed is read before the state is opened: a seed with a mistake changes nothing.
    try:
        loaded = load_seed(seed) if seed is not None else None
    except SandboxError as exc:
        raise _config_error(exc, seed) from None
    # No seed given to open the state: the one asked for is loaded below, after the
    # clock is set, and a state made from another seed is not refused (a reset).
    with _embedded(seed, wall=wall) as backend:
        if not keep_clock:
            backend.set_clock(wall.now(), ticking=True)
        if loaded is not None:
            backend.load_seed(loaded)
        else:
            backend.reset()
        summary = backend.summary()
    click.echo(reset_line(str(embedded_state_path()), str(summary["seed"]), summary, keep_clock))


def wall_clock() -> WallClock:
    """Real time, as ``sandbox reset`` puts the clock back to it; the one place this
    module reads it, so tests inject a clock that stands still."""
    from reconciler.sandbox.clock import SystemWallClock

    return SystemWallClock()


def reset_line(where: str, seed: str, summary: Mapping[str, Any], keep_clock: bool) -> str:
    """The one line ``sandbox reset`` prints: what it reset, and where the clock is now
    and why (UTC), since a reset also moves the clock unless --keep-clock."""
    clock_state = summary["clock"]
    ticking = bool(clock_state["ticking"])
    if keep_clock:
        why = "kept"
    elif ticking:
        why = "real time"
    else:  # set to real time and ticking, then stopped: the seed's ``clock:``
        why = "the seed's clock"
    return (
        f"sandbox: {where} reset to {seed} ({summary['services']} services); clock "
        f"{clock_state['now']} (UTC, {why}, {'ticking' if ticking else 'stopped'})"
    )


@sandbox.command()
@click.option(
    "--set",
    "set_to",
    metavar="ISO",
    help="Set the clock, in UTC unless an offset is given: 2027-01-01 (midnight UTC), "
    "2027-01-01T09:00, 2027-01-01T10:00+01:00.",
)
@click.option(
    "--advance",
    type=DurationType(fixed=True, signed=True),
    metavar="DURATION",
    help="Move the clock, e.g. 2d, 12h, 1d12h, -1h.",
)
@click.option(
    "--tick/--stop",
    "ticking",
    default=None,
    help="Let the clock run from there, or stop it (default: stop when moved).",
)
@served_endpoint_option
def clock(
    set_to: str | None,
    advance: timedelta | None,
    ticking: bool | None,
    endpoint: str | None,
) -> None:
    """Show or move the sandbox's clock (UTC): the embedded sandbox's, or the served
    one's at --endpoint.

    Services renew, expire and terminate as it moves; once moved it stands still
    unless --tick."""
    if set_to and advance is not None:
        raise UsageError("give --set or --advance, not both")
    # The values are read before anything is opened or called, so a typo changes nothing.
    try:
        when = parse_clock_instant(set_to) if set_to else None
    except ValueError as exc:
        raise UsageError(str(exc), hint="see `reconciler sandbox clock --help`") from None
    root = served_root(endpoint)
    if root is not None:
        with _served(root) as admin:
            if when is not None:
                shown = admin.set_clock(when, ticking=bool(ticking))
            elif advance is not None:
                shown = admin.advance(advance, ticking=bool(ticking))
            elif ticking is not None:
                shown = admin.request("PUT", "/sandbox/clock", {"ticking": ticking})
            else:
                shown = admin.clock()
        click.echo(clock_line(str(shown["now"]), bool(shown["ticking"])))
        return
    with _embedded() as backend:
        if when is not None:
            state = backend.set_clock(when, ticking=bool(ticking))
        elif advance is not None:
            state = backend.advance_clock(advance, ticking=bool(ticking))
        elif ticking is not None:
            state = backend.set_clock(backend.now(), ticking=ticking)
        else:
            state = backend.clock()
    json_state = state.to_json()
    click.echo(clock_line(json_state["now"], bool(json_state["ticking"])))


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
@served_endpoint_option
def emails(last: int | None, endpoint: str | None) -> None:
    """Show the e-mails the embedded sandbox (or the served one at --endpoint) sent.

    Termination requests send a confirmation link with a token, as OVH does."""
    root = served_root(endpoint)
    sent: list[dict[str, Any]]
    if root is not None:
        with _served(root) as admin:
            sent = admin.emails()
    else:
        with _embedded() as backend:
            sent = backend.emails()
    if last is not None:
        sent = sent[-last:]
    if not sent:
        click.echo("sandbox: no e-mail sent yet")
    for email in sent:
        click.echo(f"--- #{email['id']} {email['date']} {email['subject']}")
        click.echo(email["body"])


def account_keys(
    credentials: Sequence[CredentialSeed] | None, summary: Mapping[str, Any]
) -> dict[str, str] | None:
    """The keys a user signs with on the served account: the seed's first validated
    consumer key, or the demo account's. None when they cannot be known here: a state
    reused without its seed file holds the keys of a seed this process has not read."""
    from reconciler.sandbox import demo_seed

    if credentials is None:
        demo = demo_seed()
        if summary.get("seed_digest") not in (None, demo.digest):
            return None
        credentials = demo.credentials
    for credential in credentials:
        if credential.consumer_key and credential.state == "validated":
            return {
                "OVH_APPLICATION_KEY": credential.application_key,
                "OVH_APPLICATION_SECRET": credential.application_secret,
                "OVH_CONSUMER_KEY": credential.consumer_key,
            }
    return None


def keys_block(url: str, keys: Mapping[str, str] | None) -> str:
    """What ``serve`` says after its URL: the account's keys as a block to paste.

    The names are the ``OVH_*`` variables every command and the official client read;
    the values are not secrets (they open this local sandbox only)."""
    if keys is None:
        return (
            "sandbox: its keys are those of the seed the state was made from (its "
            "`credentials:`); give --seed to have them printed"
        )
    lines = [
        "sandbox: its account's keys (local only, not secrets); paste to use them:",
        f"  export OVH_ENDPOINT={shlex.quote(url)}",
        *(f"  export {name}={shlex.quote(value)}" for name, value in keys.items()),
        f"sandbox: a spec reaches it with `endpoint: {url}` or `--endpoint {url}`",
    ]
    return "\n".join(lines)


def _read_seed_text(seed: Path) -> str:
    try:
        return seed.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the seed {seed}: {exc}", hint=SEED_HINT) from None


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
