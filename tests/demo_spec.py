"""The demo account's spec entries, written once for every test that plans the demo.

On the demo account (``reconciler.sandbox.demo_seed``) these five entries each plan a
change, none refused: a domain let go at expiry, a domain whose pending termination is
cancelled, a web hosting deleted now, a VPS and a dedicated server whose renewal is set.
Tests used to paste that spec, each with a small variation (an endpoint line, a manual
renewal, a service fewer); they build it here now, so a change to the demo account is
made in one place (``tests/gitops/test_gitops_demo_spec.py`` holds it to the account).
"""

from __future__ import annotations

from collections.abc import Mapping

# Each entry's lines as the spec writes them under its name, in the demo's order.
DEMO_ENTRIES: Mapping[str, tuple[str, ...]] = {
    "example.net": ("type: domain", "lifecycle: terminate_at_expiry"),
    "old-brand.fr": ("type: domain", "lifecycle: renew"),
    "old-shop.example.org": ("type: hosting/web", "lifecycle: delete_now"),
    "vps-1a2b3c4d.vps.ovh.net": ("type: vps", "lifecycle: renew", "period: P12M"),
    "ns3012345.ip-51-75-10.eu": ("type: dedicated/server", "lifecycle: renew"),
}
FIVE_SERVICES = tuple(DEMO_ENTRIES)
# The first four, without the dedicated server: what several tests plan.
FOUR_SERVICES = FIVE_SERVICES[:4]


def demo_spec(
    services: tuple[str, ...] = FIVE_SERVICES,
    *,
    endpoint: str | None = None,
    extra: Mapping[str, tuple[str, ...]] | None = None,
    more: str = "",
    unmanaged: str = "ignore",
) -> str:
    """The spec text of ``services`` of the demo (``unmanaged: ignore`` unless told), with an
    ``endpoint:`` line when given, ``extra`` lines appended under a service, and ``more``
    (further entries, already indented) at the end."""
    lines = ["version: 1"]
    if endpoint is not None:
        lines.append(f"endpoint: {endpoint}")
    lines += [f"unmanaged: {unmanaged}", "services:"]
    for name in services:
        lines.append(f"  {name}:")
        lines += [f"    {line}" for line in (*DEMO_ENTRIES[name], *(extra or {}).get(name, ()))]
    return "\n".join(lines) + "\n" + more
