"""How long each Iceberg page of a big sandbox account takes by its depth (a script,
not a test: ``tests/sandbox/test_sandbox_pages.py`` checks the same by counting work).

    .venv/bin/python scripts/bench_sandbox_pages.py [--services 50000] [--page 1000]
        [--passes 3]

Seeds N generated web hostings in a fresh state and reads the whole account by pages
through the backend (no HTTP: the sandbox's own cost), as reconciler's plan does (no
filter, no sort), ``--passes`` times. For the first, the middle and the last page it
prints the best time over the passes and the SQLite work (virtual-machine instructions,
in thousands: the same on every run); a page built in time proportional to its size
keeps the three alike. Times on a busy machine vary; the work does not.
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
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    seed = parse_seed(
        "services:\n"
        f"  - {{count: {args.services}, name: 'site-{{n:06d}}.example.com',"
        " route: /hosting/web, expires_in: [1d, 365d]}\n",
        "bench.yaml",
    )
    pages = -(-args.services // args.page)
    best = [float("inf")] * pages
    work = [0] * pages
    totals = []
    with tempfile.TemporaryDirectory() as folder:
        backend = open_state(Path(folder) / "sandbox.db", seed=seed)
        backend.set_clock(SANDBOX_EPOCH)
        steps = 0

        def count() -> int:
            nonlocal steps
            steps += 1
            return 0

        for _ in range(args.passes):
            started = time.perf_counter()
            for number in range(1, pages + 1):
                steps = 0
                backend._db.set_progress_handler(count, 1000)
                before = time.perf_counter()
                page = backend.services_page(size=args.page, number=number)
                best[number - 1] = min(best[number - 1], time.perf_counter() - before)
                backend._db.set_progress_handler(None, 1000)
                work[number - 1] = steps
                assert len(page.items) == min(args.page, args.services - (number - 1) * args.page)
            totals.append(time.perf_counter() - started)
        backend.close()
    at = {"first": 0, "middle": pages // 2, "last": pages - 1}
    figures = ", ".join(
        f"{name} {best[i] * 1000:.0f} ms ({work[i]}k steps)" for name, i in at.items()
    )
    print(
        f"{args.services} services, {pages} pages of {args.page}: {figures};"
        f" all pages {min(totals):.1f} s (best of {args.passes})"
    )


if __name__ == "__main__":
    main()
