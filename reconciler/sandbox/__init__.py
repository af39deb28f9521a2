"""The OVH API sandbox: a faithful local OVH API v1 for tests, demos and rehearsals.

A separate product that ships with reconciler: it imports nothing of it. Starlette +
uvicorn, state in SQLite, an injected clock. ``docs/sandbox.md`` is its manual.

Public interface
    ``DEMO_CREDENTIALS``
        ``application_key`` / ``application_secret`` / ``consumer_key`` of the bundled
        demo account (``demo-ak``, ``demo-as``, ``demo-ck``; rules GET/PUT/POST/DELETE /*).
    ``embedded_app(state_path)``
        The ASGI app of the in-process ``endpoint: sandbox`` (mount it with
        ``httpx.ASGITransport``). Creates the state file and seeds the demo account on
        first use, reuses the state afterwards. Does not import uvicorn.
    ``create_app(backend, faults=None)``
        The ASGI app over a ``Backend``; ``app.backend`` and ``app.faults`` stay
        reachable (tests drive them directly).
    ``open_state(path, seed=None, reseed=False, wall=None)``
        A ``Backend`` on a state file: new → seeded (demo by default), existing →
        reused; a different seed is refused unless ``reseed``.
    ``Backend(path, wall=...)``, ``ManualWallClock``
        The pure backend and a wall clock that moves only when told (in-process tests:
        ``Backend(":memory:", wall=ManualWallClock(...))``).
    ``load_seed(path)``, ``parse_seed(text, filename)``, ``demo_seed()``
        Seeds (``SeedError`` names file, line and problem).
    ``reconciler.sandbox.server.ServerThread(app)``
        The app served by uvicorn on 127.0.0.1 in a thread (``.url``, ``.root``).
    ``reconciler.sandbox.admin.SandboxAdmin(root)``
        A stdlib client of the admin routes (clock, faults, reset, seed, e-mails).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.sandbox.clock import ManualWallClock
from reconciler.sandbox.demo import DEMO_CREDENTIALS, demo_seed
from reconciler.sandbox.errors import ApiError, SandboxError, SeedError, StateError
from reconciler.sandbox.seed import Seed, load_seed, parse_seed

if TYPE_CHECKING:
    from reconciler.sandbox.app import SandboxApp
    from reconciler.sandbox.backend import Backend
    from reconciler.sandbox.clock import WallClock
    from reconciler.sandbox.faults import FaultInjector

__all__ = [
    "DEMO_CREDENTIALS",
    "ApiError",
    "ManualWallClock",
    "SandboxError",
    "Seed",
    "SeedError",
    "StateError",
    "create_app",
    "demo_seed",
    "embedded_app",
    "load_seed",
    "open_state",
    "parse_seed",
]


def embedded_app(state_path: Path) -> SandboxApp:
    """The app of the embedded sandbox on ``state_path`` (demo account on first use)."""
    from reconciler.sandbox.app import create_app as _create_app
    from reconciler.sandbox.backend import open_state as _open_state

    return _create_app(_open_state(Path(state_path)))


def create_app(backend: Backend, *, faults: FaultInjector | None = None) -> SandboxApp:
    from reconciler.sandbox.app import create_app as _create_app

    return _create_app(backend, faults=faults)


def open_state(
    path: Path | str,
    *,
    seed: Seed | None = None,
    reseed: bool = False,
    wall: WallClock | None = None,
) -> Backend:
    from reconciler.sandbox.backend import open_state as _open_state

    return _open_state(path, seed=seed, reseed=reseed, wall=wall)
