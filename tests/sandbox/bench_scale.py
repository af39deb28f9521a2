"""How the sandbox holds up with a big account (a script, not a test).

    .venv/bin/python tests/sandbox/bench_scale.py [--services 10000] [--page 1000]

Seeds N generated services, serves them with uvicorn on 127.0.0.1, and measures over
real HTTP: one Iceberg page, the whole account by Iceberg pages, ``GET /services``
(ids), single ``GET /services/{id}``, and the time a clock jump of a year takes to
settle N renewals. Prints one line per measure.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

from reconciler.sandbox import create_app, open_state, parse_seed
from reconciler.sandbox.server import ServerThread
from reconciler.sandbox.testing import SANDBOX_EPOCH


def signed(client: httpx.Client, url: str, path: str, headers: dict[str, str]) -> httpx.Response:
    import hashlib

    server = int(client.get(url + "/auth/time").text)
    full = url + path
    payload = "+".join(["demo-as", "demo-ck", "GET", full, "", str(server)])
    auth = {
        "X-Ovh-Application": "demo-ak",
        "X-Ovh-Consumer": "demo-ck",
        "X-Ovh-Timestamp": str(server),
        "X-Ovh-Signature": "$1$" + hashlib.sha1(payload.encode()).hexdigest(),
    }
    return client.get(full, headers={**auth, **headers})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--page", type=int, default=1000)
    args = parser.parse_args()
    seed = parse_seed(
        f"services:\n  - {{count: {args.services}, name: 'site-{{n:06d}}.example.com',"
        " route: /hosting/web, expires_in: [1h, 700d], renew: {period: P1M}}\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder) / "big.db"
        started = time.perf_counter()
        backend = open_state(state, seed=seed)
        backend.set_clock(SANDBOX_EPOCH)
        backend.reset()
        print(f"seed {args.services} services: {time.perf_counter() - started:.2f} s")
        app = create_app(backend)
        with ServerThread(app) as server, httpx.Client(timeout=60) as client:
            pages = {"X-Pagination-Mode": "CachedObjectList-Pages"}
            times = []
            for _ in range(5):
                started = time.perf_counter()
                response = signed(
                    client,
                    server.url,
                    "/services",
                    {**pages, "X-Pagination-Size": str(args.page), "X-Pagination-Number": "2"},
                )
                times.append(time.perf_counter() - started)
                assert len(response.json()) == min(args.page, max(args.services - args.page, 0))
            print(
                f"one page of {args.page}: median {statistics.median(times) * 1000:.0f} ms, "
                f"{len(response.content) / 1e6:.1f} MB"
            )
            started = time.perf_counter()
            number, seen = 1, 0
            while True:
                response = signed(
                    client,
                    server.url,
                    "/services",
                    {**pages, "X-Pagination-Size": "5000", "X-Pagination-Number": str(number)},
                )
                items = response.json()
                seen += len(items)
                if len(items) < 5000:
                    break
                number += 1
            assert seen == args.services
            print(f"whole account by pages of 5000: {time.perf_counter() - started:.2f} s")
            started = time.perf_counter()
            ids = signed(client, server.url, "/services", {}).json()
            print(
                f"GET /services ({len(ids)} ids): {(time.perf_counter() - started) * 1000:.0f} ms"
            )
            times = []
            for service_id in ids[:: max(1, len(ids) // 50)]:
                started = time.perf_counter()
                signed(client, server.url, f"/services/{service_id}", {})
                times.append(time.perf_counter() - started)
            print(
                f"GET /services/{{id}} (with its /auth/time): median "
                f"{statistics.median(times) * 1000:.1f} ms"
            )
        started = time.perf_counter()
        backend.advance_clock(timedelta(days=365))
        print(
            f"a year later, {args.services} services settled: {time.perf_counter() - started:.2f} s"
        )
        print(f"state file: {state.stat().st_size / 1e6:.1f} MB")
        backend.close()


if __name__ == "__main__":
    main()
