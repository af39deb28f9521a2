"""Download fresh copies of OVH's published API schemas, for the conformance tests.

    python -m tests.conformance.fetch_schemas --into DIR [--region eu,ca,us] [--list]

then run the tests with ``OVH_API_SCHEMAS=DIR`` (``docs/conformance.md``). Each API
description is fetched from OVH's API console (``https://eu.api.ovh.com/1.0/services.json``
and so on) and written as ``<region>-<api path with dashes>.json``
(``eu-hosting-web.json``), the names the tests expect. A download that is not an API
description of the API asked for is refused and nothing is written for it; the others
are still written. Standard library only: it runs before anything is installed.

The files are OVH's: keep them out of the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

API_ROOTS = {
    "eu": "https://eu.api.ovh.com/1.0",
    "ca": "https://ca.api.ovh.com/1.0",
    "us": "https://api.us.ovhcloud.com/1.0",
}

# What reconciler calls (/services, /me, /auth, /hosting/web) and the products whose
# routes the sandbox serves. CA and US: the generic /services the product relies on.
EU_APIS = (
    "/services",
    "/hosting/web",
    "/domain",
    "/me",
    "/auth",
    "/allDom",
    "/vps",
    "/dedicated/server",
    "/hosting/privateDatabase",
    "/cloud",
    "/dedicatedCloud",
    "/ipLoadbalancing",
    "/xdsl",
    "/pack/xdsl",
    "/telephony",
    "/sms",
    "/overTheBox",
    "/email/exchange",
    "/email/domain",
    "/msServices",
    "/license/office",
)
APIS_BY_REGION = {"eu": EU_APIS, "ca": ("/services",), "us": ("/services",)}

Opener = Callable[[str], bytes]


@dataclass(frozen=True, slots=True)
class Download:
    region: str
    api: str  # /hosting/web

    @property
    def url(self) -> str:
        return f"{API_ROOTS[self.region]}{self.api}.json"

    @property
    def file_name(self) -> str:
        return f"{self.region}-{self.api.strip('/').replace('/', '-')}.json"


def downloads(regions: Sequence[str] = tuple(API_ROOTS)) -> list[Download]:
    """Every file to fetch for ``regions``, in a stable order."""
    unknown = [r for r in regions if r not in API_ROOTS]
    if unknown:
        raise ValueError(f"unknown region {unknown[0]!r}: expected one of {', '.join(API_ROOTS)}")
    return [Download(region, api) for region in regions for api in APIS_BY_REGION[region]]


def checked(download: Download, content: bytes) -> bytes:
    """``content`` if it is the API description asked for; ``ValueError`` otherwise."""
    try:
        document = json.loads(content)
    except ValueError:
        raise ValueError("the answer is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("apis"), list):
        raise ValueError("the answer is not an API description (no apis[])")
    if document.get("resourcePath") != download.api:
        raise ValueError(
            f"the answer describes {document.get('resourcePath')!r}, not {download.api!r}"
        )
    return content


def _urlopen(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "reconciler-conformance"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return bytes(response.read())


def fetch(
    into: Path,
    wanted: Sequence[Download],
    *,
    opener: Opener = _urlopen,
    say: Callable[[str], None] = print,
) -> int:
    """Fetch every file of ``wanted`` into ``into``; the number that failed."""
    into.mkdir(parents=True, exist_ok=True)
    failed = 0
    for download in wanted:
        try:
            content = checked(download, opener(download.url))
        except (OSError, ValueError) as error:
            failed += 1
            say(f"failed  {download.url}: {error}")
            continue
        handle, temporary = tempfile.mkstemp(dir=into, prefix=".", suffix=".part")
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.replace(temporary, into / download.file_name)
        say(f"fetched {download.url} -> {into / download.file_name}")
    return failed


def main(argv: Sequence[str] | None = None, *, opener: Opener = _urlopen) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.conformance.fetch_schemas",
        description="Download OVH's published API schemas for the conformance tests.",
    )
    parser.add_argument("--into", type=Path, required=True, help="folder to write them in")
    parser.add_argument(
        "--region", default=",".join(API_ROOTS), help="comma-separated: eu,ca,us (default all)"
    )
    parser.add_argument("--list", action="store_true", help="print what would be fetched")
    options = parser.parse_args(argv)
    try:
        wanted = downloads([r.strip() for r in options.region.split(",") if r.strip()])
    except ValueError as error:
        parser.error(str(error))
    if options.list:
        for download in wanted:
            print(f"{download.url} -> {options.into / download.file_name}")
        return 0
    failed = fetch(options.into, wanted, opener=opener)
    if failed:
        print(
            f"error: {failed} of {len(wanted)} downloads failed (files above); "
            "hint: check the network, then run again (fetched files are kept)",
            file=sys.stderr,
        )
        return 1
    print(
        f"{len(wanted)} files in {options.into}; run the tests with OVH_API_SCHEMAS={options.into}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
