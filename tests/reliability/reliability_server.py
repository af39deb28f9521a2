"""A sandbox server with a tripwire: something happens when the n-th API request arrives.

``Tripwire`` wraps the sandbox's ASGI app. Armed with ``arm(n, when, action)``, on the
n-th ``/1.0`` request from then on it runs ``action`` (in the server's thread):

- ``when="before"``: before the request is processed — the request is lost (a 503 goes
  to whoever is still listening; nothing of it reached the account);
- ``when="after"``: once the request was processed, before its answer leaves — the
  change is made, the answer lost;
- ``hold(n)``: the n-th request waits, unprocessed, until ``release()``; meanwhile the
  test does what it wants on the account (the official client, the admin routes: the
  server keeps serving them). ``reached`` tells when the request is held.

With ``action=kill(process)`` this kills a CLI subprocess at a chosen point of its run —
inside an HTTP exchange, between two journal records — deterministically, without
sleeping; with ``hold`` a change made "in the control panel" lands at a chosen point of
an apply.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from starlette.types import Message, Receive, Scope, Send

from reconciler.sandbox import create_app, open_state
from reconciler.sandbox.admin import SandboxAdmin
from reconciler.sandbox.app import SandboxApp
from reconciler.sandbox.server import ServerThread
from reconciler.sandbox.testing import SandboxServer


@dataclass
class _Armed:
    at: int
    when: str  # "before" | "after" | "hold"
    action: Callable[[], None]


class Tripwire:
    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self.backend = app.backend
        self.calls = app.calls
        self._lock = threading.Lock()
        self._count = 0
        self._armed: _Armed | None = None
        self.fired = threading.Event()
        self.reached = threading.Event()
        self._released = threading.Event()

    def arm(self, at: int, when: str, action: Callable[[], None] = lambda: None) -> None:
        if at < 1 or when not in ("before", "after", "hold"):
            raise ValueError(f"cannot arm at {at} {when}")
        with self._lock:
            self._count = 0
            self._armed = _Armed(at, when, action)
        self.fired.clear()
        self.reached.clear()
        self._released.clear()

    def hold(self, at: int) -> None:
        self.arm(at, "hold")

    def release(self) -> None:
        self._released.set()

    def disarm(self) -> None:
        with self._lock:
            self._armed = None
        self._released.set()

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/1.0"):
            await self.app(scope, receive, send)
            return
        with self._lock:
            self._count += 1
            armed = self._armed
            if armed is not None and self._count == armed.at:
                self._armed = None
            else:
                armed = None
        if armed is None:
            await self.app(scope, receive, send)
        elif armed.when == "before":
            armed.action()
            self.fired.set()
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        elif armed.when == "after":

            async def send_after(message: Message) -> None:
                if message["type"] == "http.response.start" and not self.fired.is_set():
                    armed.action()
                    self.fired.set()
                await send(message)

            await self.app(scope, receive, send_after)
        else:
            self.reached.set()
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self._released.wait, 30.0)
            await self.app(scope, receive, send)


def kill(process: subprocess.Popen[str]) -> Callable[[], None]:
    """An action: SIGKILL ``process`` and wait until it is dead (so that it never reads
    the answer being sent)."""

    def action() -> None:
        try:
            os.kill(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)

    return action


def interrupt(process: subprocess.Popen[str]) -> Callable[[], None]:
    """An action: Ctrl-C (SIGINT) ``process``; it goes on to handle it on its own."""

    def action() -> None:
        try:
            os.kill(process.pid, signal.SIGINT)
        except ProcessLookupError:
            pass

    return action


@dataclass
class TripwireServer:
    server: SandboxServer
    tripwire: Tripwire


@contextmanager
def tripwire_server(state_path: os.PathLike[str] | str) -> Iterator[TripwireServer]:
    """A sandbox server (demo account, its own state file) behind a ``Tripwire``."""
    app = create_app(open_state(state_path, reseed=True))
    tripwire = Tripwire(app)
    thread = ServerThread(tripwire).start()  # type: ignore[arg-type]
    try:
        yield TripwireServer(
            SandboxServer(
                url=thread.url, root=thread.root, admin=SandboxAdmin(thread.root), app=app
            ),
            tripwire,
        )
    finally:
        tripwire.disarm()
        thread.stop()
        app.backend.close()


# --- an endpoint that answers garbage ----------------------------------------------------

GARBAGE: dict[str, tuple[int, bytes]] = {
    # name: (status, body) answered to every request, /auth/time included
    "html": (200, b"<html><head><title>Welcome</title></head><body>hi</body></html>"),
    "binary": (200, bytes(range(256)) * 4),
    "deep-json": (200, b"[" * 100_000 + b"]" * 100_000),
    "deep-error": (500, b'{"message":' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    "object": (200, b'{"unexpected": true}'),
    "proxy-502": (502, b"<html><title>502 Bad Gateway</title></html>"),
    "empty": (200, b""),
    "huge-number": (200, b"1" * 5000),
    # An error whose words would forge lines of their own, and colour the terminal.
    "forged-lines": (
        400,
        b'{"message": "refused\\nerror: all good\\nhint: \\u001b[31mrun this\\u001b[0m",'
        b' "errorCode": "X"}',
    ),
}


@contextmanager
def garbage_server(mode: str) -> Iterator[str]:
    """An HTTP server on loopback answering every request with ``GARBAGE[mode]`` (or,
    for ``close``, closing the connection without a word); yields its API URL."""
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            if mode == "close":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            status, body = GARBAGE[mode]
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up: fine

        do_GET = do_PUT = do_POST = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

        def handle(self) -> None:
            try:
                super().handle()
            except OSError:
                pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/1.0"
    finally:
        server.shutdown()
        server.server_close()
