"""Shared fixtures: the OVH API sandbox, in-process and on a real socket.

``sandbox_server``
    The real sandbox (uvicorn on 127.0.0.1, in a thread), started once per test session
    and brought back before each test to the demo account with its clock *stopped* at
    ``SANDBOX_EPOCH`` and no faults. Yields a ``SandboxServer``: ``.url`` (ends in
    ``/1.0``), ``.root`` (admin routes), ``.credentials`` / ``.application_key`` /
    ``.application_secret`` / ``.consumer_key`` (the demo keys), and the helpers
    ``.set_clock(dt)``, ``.advance(td)``, ``.now()``, ``.set_faults(**kw)``,
    ``.clear_faults()``, ``.reset(seed=None)``, ``.load_seed(seed)``, ``.emails()``,
    ``.services()``, ``.validate_credential(ck)``, and ``.admin`` for the rest.
``ovh_client`` / ``make_ovh_client``
    The official ``ovh.Client`` pointed at ``sandbox_server`` (an extra entry
    ``sandbox-test`` in ``ovh.client.ENDPOINTS``, added with monkeypatch): the demo
    keys, or any keys with ``make_ovh_client(application_key=..., ...)``.
``state_dir``
    ``RECONCILER_STATE_DIR`` at a fresh directory of the test's: the embedded sandbox's.
``sandbox_app``
    The sandbox in-process for tests through ``httpx.ASGITransport``: ``.app``,
    ``.backend``, ``.clock`` (a ``ManualWallClock`` at ``SANDBOX_EPOCH``: the sandbox
    clock ticks with it, so ``.clock.advance(td)`` moves the account's time),
    ``.base_url`` and the demo credentials. A fresh state per test.

The handle types live in ``reconciler.sandbox.testing`` (import them for annotations).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import ManualWallClock, create_app, demo_seed, open_state
from reconciler.sandbox.admin import SandboxAdmin
from reconciler.sandbox.server import ServerThread
from reconciler.sandbox.testing import SANDBOX_EPOCH, InProcessSandbox, SandboxServer

# Every answer of these fixtures' sandboxes is judged by OVH's published schemas.
pytest_plugins = ("conformance.plugin",)

OVH_ENDPOINT_NAME = "sandbox-test"
_OVH_ENVIRONMENT = (
    "OVH_ENDPOINT",
    "OVH_APPLICATION_KEY",
    "OVH_APPLICATION_SECRET",
    "OVH_CONSUMER_KEY",
    "OVH_CLIENT_ID",
    "OVH_CLIENT_SECRET",
)


@pytest.fixture(scope="session")
def _sandbox_session(
    tmp_path_factory: pytest.TempPathFactory, sandbox_conformance: Callable[[Any], Any]
) -> Iterator[SandboxServer]:
    state = tmp_path_factory.mktemp("sandbox") / "sandbox.db"
    app = create_app(open_state(state, reseed=True))
    server = ServerThread(sandbox_conformance(app)).start()
    try:
        yield SandboxServer(
            url=server.url, root=server.root, admin=SandboxAdmin(server.root), app=app
        )
    finally:
        server.stop()
        app.backend.close()


@pytest.fixture
def sandbox_server(_sandbox_session: SandboxServer) -> SandboxServer:
    """The real sandbox server, back to the demo account, clock stopped at
    ``SANDBOX_EPOCH``, no faults."""
    _sandbox_session.clear_faults()
    _sandbox_session.reset(demo_seed().to_mapping(), now=SANDBOX_EPOCH)
    return _sandbox_session


@pytest.fixture
def make_ovh_client(
    sandbox_server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Any]:
    """Build official ``ovh.Client`` objects talking to ``sandbox_server``."""
    import ovh
    import ovh.client

    monkeypatch.setitem(ovh.client.ENDPOINTS, OVH_ENDPOINT_NAME, sandbox_server.url)
    for name in _OVH_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)

    def make(
        application_key: str | None = None,
        application_secret: str | None = None,
        consumer_key: str | None = None,
        **kwargs: Any,
    ) -> ovh.Client:
        return ovh.Client(
            endpoint=OVH_ENDPOINT_NAME,
            application_key=application_key or sandbox_server.application_key,
            application_secret=application_secret or sandbox_server.application_secret,
            consumer_key=consumer_key or sandbox_server.consumer_key,
            config_file=os.devnull,
            timeout=10,
            **kwargs,
        )

    return make


@pytest.fixture
def ovh_client(make_ovh_client: Callable[..., Any]) -> Any:
    """The official ``ovh.Client`` with the demo keys, pointed at ``sandbox_server``."""
    return make_ovh_client()


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``RECONCILER_STATE_DIR`` at a directory of this test's (not made yet): where the
    embedded sandbox of a command run in process keeps its state."""
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.fixture
def sandbox_app(
    tmp_path: Path, sandbox_conformance: Callable[[Any], Any]
) -> Iterator[InProcessSandbox]:
    """The sandbox in-process (demo account, a fresh state, a manual wall clock)."""
    clock = ManualWallClock(SANDBOX_EPOCH)
    backend = open_state(tmp_path / "sandbox.db", wall=clock)
    try:
        app = sandbox_conformance(create_app(backend))
        yield InProcessSandbox(app=app, backend=backend, clock=clock)
    finally:
        backend.close()
