"""The smallest program that makes the calls of an apply: the yardstick of ``apply``.

    python tests/benchmarks/minimal_writer.py URL CALLS.json [--concurrency 10]

``CALLS.json`` is a list of ``{"method", "path", "body"}``, the calls a saved plan says
apply makes (``actions[].calls[]``). Written with public libraries only (httpx, the
standard library), it reads ``GET /auth/time`` once, then sends every call signed as
OVH signs them, ``--concurrency`` at a time, one request per call: no re-read, no
rules, no journal. What reconciler's apply costs beyond this is its safety. Prints
the number of calls answered 2xx.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.modules.setdefault("httpx._main", None)  # type: ignore[assignment]  (as minimal_reader)

import httpx  # noqa: E402


async def write(url: str, calls: list[dict[str, Any]], concurrency: int) -> int:
    key = os.environ["OVH_APPLICATION_KEY"]
    secret = os.environ["OVH_APPLICATION_SECRET"]
    consumer = os.environ["OVH_CONSUMER_KEY"]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        answer = await http.get(url + "/auth/time", headers={"X-Ovh-Application": key})
        delta = int(answer.json()) - int(time.time())
        slots = asyncio.Semaphore(concurrency)

        async def send(call: dict[str, Any]) -> bool:
            body = (
                "" if call.get("body") is None else json.dumps(call["body"], separators=(",", ":"))
            )
            target = url + call["path"]
            stamp = str(int(time.time()) + delta)
            payload = "+".join((secret, consumer, call["method"], target, body, stamp))
            headers = {
                "X-Ovh-Application": key,
                "X-Ovh-Consumer": consumer,
                "X-Ovh-Timestamp": stamp,
                "X-Ovh-Signature": "$1$" + hashlib.sha1(payload.encode()).hexdigest(),
                "Content-Type": "application/json",
            }
            async with slots:
                done = await http.request(call["method"], target, content=body, headers=headers)
            return done.is_success

        return sum(await asyncio.gather(*(send(call) for call in calls)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("calls", type=Path)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args(argv)
    calls = json.loads(args.calls.read_text())
    answered = asyncio.run(write(args.url.rstrip("/"), calls, args.concurrency))
    print(answered)
    return 0 if answered == len(calls) else 1


if __name__ == "__main__":
    sys.exit(main())
