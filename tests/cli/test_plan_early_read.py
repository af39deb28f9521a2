"""``plan`` sends its first reads before it parses its specs (``plan_files``): the spec's
reader and models load while ``GET /auth/time`` and the first page of ``GET /services``
are on their way. Checked on the order of events with an injected transport (the
embedded sandbox's, recorded), never on time.

- the first requests leave before the spec is parsed, and the first page is answered
  only after it was parsed: the two overlap, and the plan is the spec's;
- an invalid spec is still the error, and only reads were sent;
- a read started for another endpoint than the spec's is dropped, and the spec's
  endpoint is read;
- a spec that says ``delete_now`` has ``GET /me`` asked beside the first page, once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.cli import plan as plan_command
from reconciler.cli.common import Target, resolve_target
from reconciler.core.plan import Plan
from reconciler.errors import SpecError
from reconciler.ovh import embedded
from reconciler.ovh.client import OvhClient

URL = "http://127.0.0.1:9/1.0"  # never connected to: the transport is injected
OTHER_URL = "http://127.0.0.2:9/1.0"

SPEC = f"""\
version: 1
endpoint: {URL}   # the account planned
unmanaged: ignore
services: {{}}
"""

# Liveness guard only (a broken ordering would otherwise hang the test): never reached
# when the code is right, and not a measurement.
DEADLOCK_GUARD_S = 60.0


class Recorder(httpx.AsyncBaseTransport):
    """The embedded sandbox's transport, noting each request with whether the spec had
    started being parsed when it arrived; the first page of ``GET /services`` is
    answered only once the spec is parsed."""

    def __init__(self, inner: httpx.AsyncBaseTransport, parsing: threading.Event,
                 parsed: threading.Event) -> None:  # fmt: skip
        self.inner = inner
        self.parsing = parsing
        self.parsed = parsed
        self.seen: list[tuple[str, str, str, bool]] = []
        self.first_page_waited: bool | None = None
        self.hold_host: str | None = None  # its GET /services is never answered

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/1.0")
        self.seen.append((request.method, request.url.host, path, self.parsing.is_set()))
        if path == "/services" and request.url.host == self.hold_host:
            try:
                await asyncio.Event().wait()
            finally:  # only a cancellation ends it
                self.seen.append(("dropped", request.url.host, path, True))
        if path == "/services" and self.first_page_waited is None:
            self.first_page_waited = await asyncio.to_thread(self.parsed.wait, DEADLOCK_GUARD_S)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    parsing, parsed = threading.Event(), threading.Event()
    transport = Recorder(embedded.transport(tmp_path / "state"), parsing, parsed)
    real_load_specs = plan_command.load_specs

    def load_specs(paths: Sequence[str]) -> list[Any]:
        parsing.set()
        try:
            return real_load_specs(paths)
        finally:
            parsed.set()

    def build_client(target: Target, *, concurrency: int) -> OvhClient:
        return OvhClient(
            target.endpoint,
            embedded.demo_credentials(),
            transport=transport,
            concurrency=concurrency,
            early_reads=True,
        )

    monkeypatch.setattr(plan_command, "load_specs", load_specs)
    monkeypatch.setattr(plan_command, "build_client", build_client)
    return transport


def plan_files(spec: Path) -> list[Plan]:
    plans, outputs = asyncio.run(
        plan_command.plan_files(
            [str(spec)], out=None, journal=None, targets=(), endpoint=None, concurrency=10
        )
    )
    assert outputs is None
    return plans


def test_the_first_reads_leave_before_the_spec_is_parsed_and_overlap_it(
    tmp_path: Path, recorder: Recorder
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)

    (made,) = plan_files(spec)

    early = [(method, path) for method, _, path, parsing in recorder.seen if not parsing]
    # GET /auth/time and the first page both left before the spec's parsing began...
    assert ("GET", "/auth/time") in early and ("GET", "/services") in early
    # ...and the first page was answered after it ended: the network waited beside it.
    assert recorder.first_page_waited is True
    assert made.spec_source == str(spec)
    assert made.endpoint == URL
    assert {host for _, host, _, _ in recorder.seen} == {"127.0.0.1"}


def test_an_invalid_spec_is_still_the_error_and_only_reads_were_sent(
    tmp_path: Path, recorder: Recorder
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace("unmanaged: ignore", "unmanaged: ignore\nlifecyle: renew"))

    with pytest.raises(SpecError) as raised:
        plan_files(spec)

    assert "lifecyle" in str(raised.value)
    early = [(method, path) for method, _, path, parsing in recorder.seen if not parsing]
    assert ("GET", "/services") in early, "no read went out early: this would prove nothing"
    assert {method for method, _, _, _ in recorder.seen} == {"GET"}


def test_a_read_started_for_another_endpoint_is_dropped(
    tmp_path: Path, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    # A wrong guess (the spec is the judge): the early read goes to OTHER_URL.
    monkeypatch.setattr(
        plan_command, "_early_target", lambda paths, option: resolve_target(OTHER_URL)
    )

    recorder.hold_host = "127.0.0.2"

    (made,) = plan_files(spec)

    assert made.endpoint == URL
    seen = [(method, host, path) for method, host, path, _ in recorder.seen]
    assert seen[0][1] == "127.0.0.2"  # the early read went out first...
    # ...and was stopped before the spec's own read began.
    dropped = seen.index(("dropped", "127.0.0.2", "/services"))
    assert all(host == "127.0.0.2" for _, host, _ in seen[:dropped])
    assert ("GET", "127.0.0.1", "/services") in seen[dropped:]


@pytest.mark.parametrize(
    ("services", "deletes"),
    [
        ("\n  gone.example.com: {lifecycle: delete_now}\n", True),
        ("{}  # no delete_now here: the guess is wrong, harmlessly\n", False),
    ],
)
def test_a_spec_that_may_delete_asks_whose_key_this_is_beside_the_first_page(
    tmp_path: Path, recorder: Recorder, services: str, deletes: bool
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace("services: {}\n", f"services: {services}"))

    (made,) = plan_files(spec)

    early = [(method, path) for method, _, path, parsing in recorder.seen if not parsing]
    assert ("GET", "/me") in early and ("GET", "/services") in early
    # Asked once either way: a spec that deletes uses that answer, not a second call.
    assert [path for _, _, path, _ in recorder.seen].count("/me") == 1
    assert made.spec_source == str(spec)
    # The plan is the spec's: the entry to delete is in it, planned with that answer.
    assert any(entry.name == "gone.example.com" for entry in made.spec) is deletes


def test_a_spec_that_never_says_delete_now_does_not_ask_whose_key_this_is(
    tmp_path: Path, recorder: Recorder
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)

    plan_files(spec)

    assert "/me" not in [path for _, _, path, _ in recorder.seen]


@pytest.mark.parametrize(
    ("text", "guess"),
    [
        (SPEC, URL),
        ("version: 1\nendpoint: ovh-eu\n", "ovh-eu"),
        ('endpoint: "ovh-ca"  # quoted\n', "ovh-ca"),
        ("endpoint: 'ovh-us'\n", "ovh-us"),
        ("version: 1\nservices: {}\n", None),  # the spec's default applies
        ("services:\n  a:\n    endpoint: ovh-eu\n", None),  # not top-level
        ("endpoint: ovh-eu\nendpoint: ovh-ca\n", None),  # the spec reader refuses it
        ("{version: 1, endpoint: ovh-eu}\n", None),  # flow style: left to the reader
    ],
)
def test_the_endpoint_guess_reads_only_one_plain_top_level_line(
    text: str, guess: str | None
) -> None:
    assert plan_command.endpoint_guess(text) == guess


def test_no_early_read_for_the_embedded_sandbox_or_standard_input(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\nservices: {}\n")
    assert plan_command._early_target([str(spec)], None) is None  # sandbox by default
    assert plan_command._early_target(["-"], None) is None
    assert plan_command._early_target([str(spec)], "not an endpoint") is None
    chosen = plan_command._early_target(["-"], URL)
    assert chosen is not None and chosen.endpoint.base_url == URL


def test_a_guess_naming_a_host_that_is_not_ovh_waits_for_the_parsed_spec(
    tmp_path: Path,
) -> None:
    """YAML can hide a column-0 ``endpoint:`` line inside a quoted scalar that the spec
    reader takes as part of a name: the line scan would guess it. Keys go early only to
    OVH's named endpoints or a loopback server; any other host waits for the parsed spec
    (which, here, names no endpoint and is refused anyway)."""
    hidden = tmp_path / "spec.yaml"
    hidden.write_text(
        'version: 1\nservices:\n  a.example: {type: domain, name: "a.example\n\n'
        'endpoint: https://api.attacker.example\n"}\n'
    )
    assert plan_command.endpoint_guess(hidden.read_text()) == "https://api.attacker.example"
    assert plan_command._early_target([str(hidden)], None) is None
    named = tmp_path / "named.yaml"
    named.write_text("version: 1\nendpoint: ovh-eu\nservices: {}\n")
    chosen = plan_command._early_target([str(named)], None)
    assert chosen is not None and chosen.endpoint.name == "ovh-eu"
    # --endpoint is the user's own word: trusted as given.
    given = plan_command._early_target([str(hidden)], "https://api.example.net")
    assert given is not None and given.endpoint.base_url == "https://api.example.net/1.0"
