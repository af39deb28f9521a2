"""A replaying OVH API for the benchmarks: recorded answers, injected latency, no work.

    python tests/benchmarks/replay_server.py ITEMS.json [--latency-ms 50] [--events FILE]

Not a test module, and not the sandbox: it checks no signature and keeps no state. It
answers, from ``ITEMS.json`` (a JSON list of expanded ``/services/{id}`` objects, as the
sandbox answers them), exactly the calls a read of the account makes:

- ``GET /1.0/auth/time``: this machine's unix time;
- ``GET /1.0/me``: the demo account's nichandle (read beside the listing when a spec deletes);
- ``GET /1.0/services`` with ``X-Pagination-Mode``: the Iceberg page asked
  (``X-Pagination-Size``, ``X-Pagination-Number``), the total in ``X-Pagination-Elements``;
  without it, the list of ids;
- ``GET /1.0/services/{id}``: that object; ``GET /1.0/services/{id}/options``: ``[]``.

Every answer waits ``--latency-ms`` first, without blocking the loop (concurrent calls
wait together, as on a network). Each answer's body is serialised once, at start-up, so
the server costs next to nothing per call: what the benchmark measures against it is the
client, not the test double (the sandbox building deep pages is measured apart).

``--events FILE``: one line per request received, ``<CLOCK_MONOTONIC seconds> <method>
<path>``, flushed at once: the benchmark reads when a client's first request arrived
(the monotonic clock is the machine's, shared by every process). Prints
``replay: serving http://127.0.0.1:PORT/1.0`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
from pathlib import Path
from typing import IO

MAX_HEADER_BYTES = 64 * 1024


class Replay:
    def __init__(self, items: list[dict[str, object]], latency_s: float, events: IO[str] | None):
        self.latency_s = latency_s
        self.events = events
        self.items = items
        self.by_id = {int(str(item["serviceId"])): json.dumps(item).encode() for item in items}
        self.ids = json.dumps([int(str(item["serviceId"])) for item in items]).encode()
        self._pages: dict[tuple[int, int], bytes] = {}

    def page(self, size: int, number: int) -> bytes:
        key = (size, number)
        if key not in self._pages:
            start = (number - 1) * size
            self._pages[key] = json.dumps(self.items[start : start + size]).encode()
        return self._pages[key]

    def answer(
        self, method: str, path: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        path = path.split("?", 1)[0]
        if method == "GET" and path == "/1.0/auth/time":
            return 200, {}, str(int(time.time())).encode()
        if method == "GET" and path == "/1.0/me":  # a spec that deletes: whose key this is
            return 200, {}, b'{"nichandle": "ab12345-ovh"}'
        if method == "GET" and path == "/1.0/services":
            if "x-pagination-mode" not in headers:
                return 200, {}, self.ids
            size = int(headers.get("x-pagination-size", "1000"))
            number = int(headers.get("x-pagination-number", "1"))
            extra = {"X-Pagination-Elements": str(len(self.items)), "X-Pagination-Size": str(size)}
            return 200, extra, self.page(size, number)
        parts = path.split("/")
        if method == "GET" and len(parts) >= 4 and parts[2] == "services" and parts[3].isdigit():
            body = self.by_id.get(int(parts[3]))
            if body is None:
                return 404, {}, b'{"message": "This service does not exist"}'
            if len(parts) == 5 and parts[4] == "options":
                return 200, {}, b"[]"
            if len(parts) == 4:
                return 200, {}, body
        return 404, {}, b'{"message": "Got an invalid (or empty) URL"}'

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Without it every answer waits for the client's delayed ACK (~40 ms).
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if len(head) > MAX_HEADER_BYTES:
                    break
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                if length:
                    await reader.readexactly(length)
                if self.events is not None:
                    self.events.write(f"{time.monotonic():.6f} {method} {target}\n")
                    self.events.flush()
                if self.latency_s:
                    await asyncio.sleep(self.latency_s)
                status, extra, body = self.answer(method, target, headers)
                reason = {200: "OK", 204: "No Content", 404: "Not Found"}.get(status, "OK")
                response = [f"HTTP/1.1 {status} {reason}", "Content-Type: application/json"]
                response += [f"{name}: {value}" for name, value in extra.items()]
                response.append(f"Content-Length: {len(body)}")
                writer.write(("\r\n".join(response) + "\r\n\r\n").encode("latin-1") + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


async def serve(replay: Replay) -> None:
    server = await asyncio.start_server(replay.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"replay: serving http://127.0.0.1:{port}/1.0", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("items", type=Path)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--events", type=Path)
    args = parser.parse_args(argv)
    items = json.loads(args.items.read_text())
    events = open(args.events, "a", encoding="utf-8") if args.events else None  # noqa: SIM115
    try:
        asyncio.run(serve(Replay(items, args.latency_ms / 1000, events)))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
