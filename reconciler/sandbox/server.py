"""Running the sandbox on a real socket with uvicorn: in the foreground (the CLI's
``reconciler sandbox serve``) or in a background thread (test fixtures, benchmarks).

Both bind the socket first (port 0 picks a free one) and report the URL only once the
server accepts connections. The server listens on loopback by default: the sandbox has
no TLS and its admin routes are unauthenticated.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from types import TracebackType

import uvicorn

from reconciler.sandbox.app import ConnectionDropped, SandboxApp


class _QuietDrops(logging.Filter):
    """Dropped connections are a fault we inject, not an error worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


_quiet_drops = _QuietDrops()


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_ready()


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening-ready socket on ``host:port`` (``port=0``: a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only then,
    # and without it every answer waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket (the API is under ``/1.0``)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _config(app: SandboxApp, log_level: str) -> uvicorn.Config:
    logging.getLogger("uvicorn.error").addFilter(_quiet_drops)
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        ws="none",
        http="h11",
        loop="asyncio",
        timeout_graceful_shutdown=2,
    )


def serve(
    app: SandboxApp,
    sock: socket.socket,
    *,
    on_ready: Callable[[str], None],
    log_level: str = "warning",
) -> None:
    """Serve ``app`` on ``sock`` in the foreground until interrupted (Ctrl-C / SIGTERM).
    ``on_ready(root_url)`` is called once connections are accepted."""
    root = base_url(sock)
    server = _Server(_config(app, log_level), on_ready=lambda: on_ready(root))
    server.run(sockets=[sock])


class ServerThread:
    """The sandbox served by uvicorn in a daemon thread, on 127.0.0.1 and a free port.

    ``with ServerThread(app) as server: server.url`` → ``http://127.0.0.1:PORT/1.0``."""

    def __init__(
        self, app: SandboxApp, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"
    ) -> None:
        self.app = app
        self._sock = bind(host, port)
        self.root = base_url(self._sock)
        self.url = self.root + "/1.0"
        self._ready = threading.Event()
        self._server = _Server(_config(app, log_level), on_ready=self._ready.set)
        self._thread = threading.Thread(target=self._run, name=f"sandbox-{self.root}", daemon=True)
        self._failure: BaseException | None = None

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # reported by start(); never lost in the thread
            self._failure = exc
        finally:
            self._ready.set()

    def start(self, timeout: float = 15.0) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(timeout) or not self._server.started:
            self.stop()
            raise RuntimeError(f"the sandbox server did not start: {self._failure!r}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
