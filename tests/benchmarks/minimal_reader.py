"""The smallest program that reads an account as ``reconciler plan`` does: the yardstick.

    python tests/benchmarks/minimal_reader.py URL [--concurrency 10] [--page-size 1000]
        [--overlap]

Written with public libraries only (httpx, the standard library), it makes the round
trips of a read and nothing else: ``GET /auth/time`` (unsigned), then the Iceberg pages
of ``GET /services`` signed as OVH signs them — the first page gives the total, the
others are asked ``--concurrency`` at a time — and decodes every answer. ``--overlap``
asks the first page while ``/auth/time`` is in flight (signed with the local clock), the
critical path of one round trip. No spec, no rules, no plan: what reconciler costs
beyond this is its own. Prints the number of services read.

The keys come from ``OVH_APPLICATION_KEY``, ``OVH_APPLICATION_SECRET`` and
``OVH_CONSUMER_KEY``. ``bench_paths.py`` runs it as a whole process, as it runs
``reconciler plan``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
import time

# `import httpx` also imports httpx's own command-line tool (rich, click, pygments: 50 ms
# and more); reconciler keeps it out (reconciler.ovh), and so does the yardstick.
sys.modules.setdefault("httpx._main", None)  # type: ignore[assignment]

import httpx  # noqa: E402


async def read(url: str, concurrency: int, page_size: int, overlap: bool) -> int:
    key = os.environ["OVH_APPLICATION_KEY"]
    secret = os.environ["OVH_APPLICATION_SECRET"]
    consumer = os.environ["OVH_CONSUMER_KEY"]
    delta = 0

    def signed(number: int) -> dict[str, str]:
        stamp = str(int(time.time()) + delta)
        target = url + "/services"
        payload = "+".join((secret, consumer, "GET", target, "", stamp))
        return {
            "X-Ovh-Application": key,
            "X-Ovh-Consumer": consumer,
            "X-Ovh-Timestamp": stamp,
            "X-Ovh-Signature": "$1$" + hashlib.sha1(payload.encode()).hexdigest(),
            "X-Pagination-Mode": "CachedObjectList-Pages",
            "X-Pagination-Size": str(page_size),
            "X-Pagination-Number": str(number),
        }

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:

        async def clock() -> int:
            answer = await http.get(url + "/auth/time", headers={"X-Ovh-Application": key})
            return int(answer.json()) - int(time.time())

        async def page(number: int) -> httpx.Response:
            return await http.get(url + "/services", headers=signed(number))

        if overlap:
            delta, first = await asyncio.gather(clock(), page(1))
        else:
            delta = await clock()
            first = await page(1)
        first.raise_for_status()
        services = len(json.loads(first.content))
        total = int(first.headers["X-Pagination-Elements"])
        pages = -(-total // page_size)
        slots = asyncio.Semaphore(concurrency)

        async def bounded(number: int) -> int:
            async with slots:
                answer = await page(number)
            answer.raise_for_status()
            return len(json.loads(answer.content))

        services += sum(await asyncio.gather(*(bounded(n) for n in range(2, pages + 1))))
    return services


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--overlap", action="store_true")
    args = parser.parse_args(argv)
    print(asyncio.run(read(args.url.rstrip("/"), args.concurrency, args.page_size, args.overlap)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
