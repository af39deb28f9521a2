"""How long each Iceberg page takes by its depth (a script, not a test).

    .venv/bin/python tests/sandbox/bench_pages.py [--services 50000] [--page 1000]

Seeds N generated web hostings in a fresh state and reads the whole account by pages
through the backend (no HTTP: the sandbox's own cost), as reconciler's plan does (no
filter, no sort). Prints the first, the middle and the last page's time, and the total;
a page built in time proportional to its size keeps the three alike.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from reconciler.sandbox import open_state, parse_seed
from reconciler.sandbox.testing import SANDBOX_EPOCH


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=50_000)
    parser.add_argument("--page", type=int, default=1000)
    args = parser.parse_args()
    seed = parse_seed(
        "services:\n"
        f"  - {{count: {args.services}, name: 'site-{{n:06d}}.example.com',"
        " route: /hosting/web, expires_in: [1d, 365d]}\n",
        "bench.yaml",
    )
    with tempfile.TemporaryDirectory() as folder:
        backend = open_state(Path(folder) / "sandbox.db", seed=seed)
        backend.set_clock(SANDBOX_EPOCH)
        pages = -(-args.services // args.page)
        times = []
        started = time.perf_counter()
        for number in range(1, pages + 1):
            before = time.perf_counter()
            page = backend.services_page(size=args.page, number=number)
            times.append(time.perf_counter() - before)
            assert len(page.items) == min(args.page, args.services - (number - 1) * args.page)
        total = time.perf_counter() - started
        backend.close()
    print(
        f"{args.services} services, {pages} pages of {args.page}: first {times[0] * 1000:.0f} ms,"
        f" middle {times[pages // 2] * 1000:.0f} ms, last {times[-1] * 1000:.0f} ms,"
        f" all {total:.1f} s"
    )


if __name__ == "__main__":
    main()
