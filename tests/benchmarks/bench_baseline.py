"""The loop a user would write without reconciler: the official ``ovh`` python client,
``GET /services`` then each ``GET /services/{id}``, one after the other.

    python tests/benchmarks/bench_baseline.py URL

``URL`` is a sandbox (``http://127.0.0.1:PORT/1.0``); the keys come from
``OVH_APPLICATION_KEY``, ``OVH_APPLICATION_SECRET`` and ``OVH_CONSUMER_KEY``. The official
client only knows endpoints by name, so the URL is registered under one (as the test
fixtures do); nothing else differs from a loop against ``ovh-eu``. Prints the number of
services read. ``bench_plan.py`` runs it as a whole process, like ``reconciler plan``.
"""

from __future__ import annotations

import os
import sys

import ovh
import ovh.client

ENDPOINT_NAME = "benchmark-sandbox"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 1
    ovh.client.ENDPOINTS[ENDPOINT_NAME] = argv[0]
    client = ovh.Client(
        endpoint=ENDPOINT_NAME,
        application_key=os.environ["OVH_APPLICATION_KEY"],
        application_secret=os.environ["OVH_APPLICATION_SECRET"],
        consumer_key=os.environ["OVH_CONSUMER_KEY"],
        config_file=os.devnull,
    )
    services = [client.get(f"/services/{service_id}") for service_id in client.get("/services")]
    print(len(services))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
