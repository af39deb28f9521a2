"""Progress of long reads: one line on a terminal's stderr, rewritten in place, once a
read has lasted a second, with the services read and their total; nothing for a short
read, a pipe, CI, ``TERM=dumb`` or ``--debug``. Time is the injected clock, moved by the
fake API as each request is answered: no test sleeps or measures real time."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import timedelta
from typing import Any

import click
import httpx
import pytest
from fakes import FakeMonotonic, RecordingTransport
from ovh_fakes import FakeApi, make_client, service_json

from reconciler.cli.common import ProgressLine, build_client, resolve_target, terminal_progress
from reconciler.observe import read_account
from reconciler.ovh.client import OvhClient, ReadStrategy


class FakeTerminal(io.StringIO):
    """What a terminal receives, and a terminal as ``isatty`` tells."""

    def isatty(self) -> bool:
        return True


class Ticking(FakeMonotonic):
    """A monotonic clock that each answered request moves by ``per_request`` seconds."""

    def __init__(self, per_request: float) -> None:
        super().__init__()
        self.per_request = timedelta(seconds=per_request)


class Timed(RecordingTransport):
    """``api``, each of its answers moving ``clock`` on."""

    def __init__(self, api: FakeApi, clock: Ticking) -> None:
        super().__init__(api)
        self.clock = clock

    async def answer(self, request: httpx.Request) -> httpx.Response:
        answer = await super().answer(request)
        self.clock.advance(self.clock.per_request)
        return answer


def client_for(api: FakeApi, clock: Ticking, line: ProgressLine, **options: Any) -> OvhClient:
    return make_client(Timed(api, clock), read_progress=line, **options)


def observe(client: OvhClient, **options: Any) -> int:
    async def go() -> int:
        async with client:
            return len((await read_account(client, **options)).services)

    return asyncio.run(go())


def drawn(screen: str) -> list[str]:
    """Every state of the line, in order (each drawing starts with a carriage return)."""
    return [part.rstrip() for part in screen.split("\r") if part.strip()]


SERVICES = [service_json(1000 + i) for i in range(300)]


def test_a_long_per_id_read_shows_services_read_of_the_total() -> None:
    api = FakeApi(SERVICES, iceberg=False)
    clock, screen = Ticking(per_request=0.01), FakeTerminal()  # 300 ids: about 3 s
    line = ProgressLine(screen, clock)
    assert observe(client_for(api, clock, line, concurrency=1)) == 300

    states = drawn(screen.getvalue())
    assert states, "a 3-second read showed nothing"
    counts = [tuple(map(int, re.findall(r"[\d,]+", s)[0:2])) for s in states]
    assert all(re.fullmatch(r"reading services: \d+ / 300", s) for s in states), states
    # Nothing in the first second (about 100 services), then rising to the whole.
    assert 90 <= counts[0][0] <= 110
    assert [c for c, _ in counts] == sorted(c for c, _ in counts)
    assert states[-1] == "reading services: 300 / 300"
    # At most one redraw per 0.1 s of the clock (about 10 services), plus the last.
    assert len(states) <= 2 + (300 - counts[0][0]) // 10
    # And the line is blanked at the end: what the command prints next starts clean.
    assert screen.getvalue().endswith("\r" + " " * len(states[-1]) + "\r")


def test_a_short_read_draws_nothing() -> None:
    api = FakeApi(SERVICES, iceberg=False)
    clock, screen = Ticking(per_request=0.001), FakeTerminal()  # 300 ids: 0.3 s
    assert observe(client_for(api, clock, ProgressLine(screen, clock))) == 300
    assert screen.getvalue() == ""


def test_iceberg_pages_count_their_services_against_the_announced_total() -> None:
    api = FakeApi(SERVICES, max_page_size=10)
    clock, screen = Ticking(per_request=0.1), FakeTerminal()  # 30 pages: 3 s
    line = ProgressLine(screen, clock)
    assert observe(client_for(api, clock, line, concurrency=1)) == 300
    states = drawn(screen.getvalue())
    assert states and states[-1] == "reading services: 300 / 300"
    assert all(re.fullmatch(r"reading services: \d+0 / 300", s) for s in states), states


def test_the_renewal_periods_say_how_far_they_are_too() -> None:
    api = FakeApi(SERVICES)  # the listing: one page, quick
    clock, screen = Ticking(per_request=0.01), FakeTerminal()
    line = ProgressLine(screen, clock)
    wanted = [s["serviceId"] for s in SERVICES]
    assert observe(client_for(api, clock, line, concurrency=1), periods_for=wanted) == 300
    states = drawn(screen.getvalue())
    assert any(s.startswith("reading renewal periods: ") for s in states), states
    assert states[-1] == "reading renewal periods: 300 / 300"


def test_a_failed_read_still_blanks_its_line() -> None:
    api = FakeApi(SERVICES, iceberg=False)
    api.queue("GET", "/services/1250", httpx.Response(400, json={"message": "no"}))
    clock, screen = Ticking(per_request=0.01), FakeTerminal()
    with pytest.raises(Exception, match="no"):
        observe(client_for(api, clock, ProgressLine(screen, clock), concurrency=1))
    text = screen.getvalue()
    assert "reading services: " in text and text.endswith("\r")
    assert text.rsplit("\r", 2)[-2].strip() == ""


# --- where the line is drawn ---------------------------------------------------------


def test_only_a_terminal_outside_ci_gets_the_line() -> None:
    assert isinstance(terminal_progress(FakeTerminal(), {}), ProgressLine)
    assert terminal_progress(io.StringIO(), {}) is None  # a pipe, a file
    assert terminal_progress(FakeTerminal(), {"CI": "true"}) is None
    assert terminal_progress(FakeTerminal(), {"TERM": "dumb"}) is None

    class LiveDisplay(FakeTerminal):  # how rich proxies a stream it draws a live bar on
        rich_proxied_file = FakeTerminal()

    assert terminal_progress(LiveDisplay(), {}) is None


def test_the_commands_clients_draw_on_a_terminal_stderr_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = resolve_target("ovh-eu", environ={})
    environ = {"OVH_APPLICATION_KEY": "ak", "OVH_APPLICATION_SECRET": "as"}
    environ["OVH_CONSUMER_KEY"] = "ck"
    monkeypatch.setattr("sys.stderr", FakeTerminal())
    assert isinstance(build_client(target, environ=environ).read_progress, ProgressLine)
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert build_client(target, environ=environ).read_progress is None
    # Never on standard output, even a terminal's (``--format json`` is read from it).
    monkeypatch.setattr("sys.stdout", FakeTerminal())
    assert build_client(target, environ=environ).read_progress is None


def test_debug_logs_instead_of_drawing() -> None:
    """With ``--debug`` the stream carries the log of every call: no line over it."""
    with click.Context(click.Command("plan"), obj={"debug": True}):
        assert terminal_progress(FakeTerminal(), {}) is None
    with click.Context(click.Command("plan"), obj={"debug": False}):
        assert isinstance(terminal_progress(FakeTerminal(), {}), ProgressLine)


def test_a_per_id_read_forced_on_a_paged_api_shows_it_too() -> None:
    """``RECONCILER_READ_STRATEGY=per-id``: the read of the report (3,000 services, 17 s
    of nothing on the screen)."""
    api = FakeApi(SERVICES)
    clock, screen = Ticking(per_request=0.01), FakeTerminal()
    client = client_for(api, clock, ProgressLine(screen, clock), concurrency=1)
    assert observe(client, strategy=ReadStrategy.PER_ID) == 300
    assert drawn(screen.getvalue())[-1] == "reading services: 300 / 300"
