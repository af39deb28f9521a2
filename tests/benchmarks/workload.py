"""The benchmark's account and spec: N services of mixed types, generated deterministically.

Not a test module (pytest collects ``test_*.py`` only). Pure: ``build(n)`` returns the
sandbox seed, the spec and the plan summary that planning the spec against the seeded
account must give, so a benchmark run that plans the wrong thing fails instead of
looking fast.

Services come in groups of 20, in this order (a group cut short by ``n`` keeps its
first members, so every parent exists before its children):

| slots | type | live | spec | plan |
|---|---|---|---|---|
| 0-4   | domain `shopG-D.example.com` | renews | renew (0: `type: domain`) | no-op |
| 5     | web hosting, child of domain 0 | renews | `delete_now` (1 group in 5) | delete now |
|       |                                |        | else renew                  | no-op |
| 6     | web hosting, child of domain 1 | renews | `terminate_at_expiry` | terminate |
| 7     | web hosting, child of domain 2 | terminates at expiry | renew | cancel |
| 8-12  | web hosting, children of domains 3, 4, 0, 1, 2 | renews | renew (8: `protect`) | no-op |
| 13    | VPS | renews | renew | no-op |
| 14    | VPS | terminates at expiry | `terminate_at_expiry` | no-op |
| 15    | dedicated server | renews | renew | no-op |
| 16    | private database | renews | renew | no-op |
| 17    | xDSL (telecom: unmanageable) | renews | renew | no-op (nothing to refuse) |
| 18    | public cloud project | renews | absent | unmanaged |
| 19    | MX Plan e-mail (unmanageable) | renews | absent | unmanaged |

Expiry dates spread from 2 to 700 days after the sandbox's clock at seeding time, so
no cancellation falls inside the 24-hour window. No spec entry sets a ``period``: a
period costs one ``renewPeriodCapacities`` call per service, which would change the
critical path the physical limit is computed for (docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GROUP = 20
DELETE_NOW_EVERY = 5  # groups: one web hosting deleted now in every fifth group
EXPIRY_DAYS = (2, 700)


@dataclass(frozen=True, slots=True)
class Workload:
    services: int
    seed: dict[str, Any]  # the sandbox seed (JSON-compatible; `sandbox serve --seed`)
    spec_yaml: str
    expected_summary: dict[str, int]  # the plan's `summary`
    expected_unmanaged: int
    spec_entries: int


@dataclass(frozen=True, slots=True)
class _Service:
    name: str
    route: str
    termination: str  # "none" | "at_expiry"
    parent: str | None
    spec: dict[str, Any] | None  # the spec entry, or None: absent from the spec
    outcome: str  # the plan's action for it, or "unmanaged"


def _group(g: int) -> list[_Service]:
    domains = [f"shop{g:05d}-{d}.example.com" for d in range(5)]
    members: list[_Service] = []
    for d, name in enumerate(domains):
        entry: dict[str, Any] = {"lifecycle": "renew"}
        if d == 0:
            entry["type"] = "domain"
        members.append(_Service(name, "/domain", "none", None, entry, "no_op"))
    for slot in range(5, 13):
        parent = domains[(slot - 5) % 5]
        name = f"www{slot - 5}.shop{g:05d}.example.com"
        termination, entry, outcome = "none", {"lifecycle": "renew"}, "no_op"
        if slot == 5 and g % DELETE_NOW_EVERY == 0:
            entry, outcome = {"lifecycle": "delete_now", "type": "hosting/web"}, "delete_now"
        elif slot == 6:
            entry, outcome = {"lifecycle": "terminate_at_expiry"}, "terminate_at_expiry"
        elif slot == 7:
            termination, outcome = "at_expiry", "cancel_termination"
        elif slot == 8:
            entry = {"lifecycle": "renew", "protect": True}
        members.append(_Service(name, "/hosting/web", termination, parent, entry, outcome))
    renew: dict[str, Any] = {"lifecycle": "renew"}
    members += [
        _Service(f"vps-{2 * g:08x}.vps.ovh.net", "/vps", "none", None, renew, "no_op"),
        _Service(
            f"vps-{2 * g + 1:08x}.vps.ovh.net",
            "/vps",
            "at_expiry",
            None,
            {"lifecycle": "terminate_at_expiry"},
            "no_op",
        ),
        _Service(f"ns{g:07d}.ip-51-75-10.eu", "/dedicated/server", "none", None, renew, "no_op"),
        _Service(f"bm{g:06d}-001", "/hosting/privateDatabase", "none", None, renew, "no_op"),
        _Service(f"xdsl-bm{g:06d}-1", "/xdsl", "none", None, renew, "no_op"),
        _Service(f"{g:032x}", "/cloud/project", "none", None, None, "unmanaged"),
        _Service(f"mail{g:05d}.example.org", "/email/domain", "none", None, None, "unmanaged"),
    ]
    assert len(members) == GROUP
    return members


def _services(n: int) -> list[_Service]:
    every: list[_Service] = []
    for g in range(-(-n // GROUP)):
        every.extend(_group(g))
    return every[:n]


def build(n: int) -> Workload:
    """The seed, spec and expected plan summary for ``n`` services (``n`` ≥ 1)."""
    if n < 1:
        raise ValueError("the benchmark needs at least one service")
    services = _services(n)
    low, high = EXPIRY_DAYS
    step = (high - low) / max(n - 1, 1)
    seeded: list[dict[str, Any]] = []
    for index, service in enumerate(services):
        item: dict[str, Any] = {
            "name": service.name,
            "route": service.route,
            # Whole minutes: the seed's duration units are w d h m s.
            "expires_in": f"{round((low + step * index) * 24 * 60)}m",
            "termination": service.termination,
        }
        if service.parent is not None:
            item["parent"] = {"name": service.parent, "route": "/domain"}
        seeded.append(item)
    seed = {"services": seeded}

    lines = ["version: 1", "endpoint: sandbox", "unmanaged: report", "services:"]
    for service in services:
        if service.spec is None:
            continue
        fields = ", ".join(f"{key}: {_yaml(value)}" for key, value in service.spec.items())
        lines.append(f"  {service.name}: {{{fields}}}")
    spec_yaml = "\n".join(lines) + "\n"

    kinds = (
        "terminate_at_expiry",
        "terminate_at_commitment_end",
        "cancel_termination",
        "delete_now",
        "set_renew",
        "no_op",
    )
    summary = {kind: sum(1 for s in services if s.outcome == kind) for kind in kinds}
    summary["refused"] = 0
    return Workload(
        services=n,
        seed=seed,
        spec_yaml=spec_yaml,
        expected_summary=summary,
        expected_unmanaged=sum(1 for s in services if s.outcome == "unmanaged"),
        spec_entries=sum(1 for s in services if s.spec is not None),
    )


def _yaml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
