"""What every reliability campaign shares: its size, its figures, generated accounts with
the state each service must end in, and the sandbox-side checks on what was sent.

Size. Each campaign runs a modest number of cases by default (the whole suite stays
fast); ``RECONCILER_RELIABILITY_RUNS=N`` makes every campaign run N cases instead (the
figures of docs/reliability.md come from ``N=500``).

Figures. ``RECONCILER_RELIABILITY_FIGURES=PATH`` appends one JSON line per campaign to
PATH: its name and its counts (runs, faults injected, crashes survived, inputs tried...).

No conftest.py here on purpose: other areas import ``conftest`` by name, and a second
one would shadow the shared fixtures of ``tests/conftest.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.ovh.credentials import SignatureCredentials

RUNS_ENV = "RECONCILER_RELIABILITY_RUNS"
FIGURES_ENV = "RECONCILER_RELIABILITY_FIGURES"
RECONCILER_AGENT = "reconciler/"  # how the request log tells our calls from others'


def campaign_size(default: int) -> int:
    """How many cases a campaign runs: ``RECONCILER_RELIABILITY_RUNS`` or ``default``."""
    raw = os.environ.get(RUNS_ENV, "").strip()
    if not raw:
        return default
    value = int(raw)
    if value < 1:
        raise ValueError(f"{RUNS_ENV} must be at least 1")
    return value


def record_figures(campaign: str, **figures: Any) -> dict[str, Any]:
    """Keep a campaign's counts (appended to ``RECONCILER_RELIABILITY_FIGURES``)."""
    line = {"campaign": campaign, **figures}
    target = os.environ.get(FIGURES_ENV, "").strip()
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps(line, sort_keys=True) + "\n")
    return line


# --- generated accounts -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expected:
    """The state a service must end in, in the words of ``GET /sandbox/services``."""

    gone: bool = False
    terminating: bool | None = None  # termination at expiry pending (None: not checked)
    mode: str | None = None  # renew mode (None: not checked)
    period: str | None = None  # renew period (None: not checked)
    states_period: bool = False  # the spec states the period (else it only keeps it)

    @property
    def kept(self) -> bool:
        """A service the spec keeps: it must never be terminated nor deleted."""
        return not self.gone and self.terminating is False


@dataclass(frozen=True, slots=True)
class Scenario:
    seed: Mapping[str, Any]  # a sandbox seed (``services`` only: the demo keys)
    spec: str  # the spec's YAML text
    expected: Mapping[str, Expected]  # by service name
    changes: int  # how many services the spec changes

    @property
    def kept(self) -> frozenset[str]:
        return frozenset(name for name, wanted in self.expected.items() if wanted.kept)

    @property
    def deleted(self) -> frozenset[str]:
        return frozenset(name for name, wanted in self.expected.items() if wanted.gone)


_PERIODS = {"/domain": ["P12M", "P24M"], "/hosting/web": ["P1M", "P12M"], "/vps": ["P1M", "P12M"]}


def _name(route: str, prefix: str, index: int) -> str:
    """A name of the product's own format (the sandbox checks it)."""
    if route == "/vps":
        digest = hashlib.sha256(f"{prefix}-{index}".encode()).hexdigest()[:8]
        return f"vps-{digest}.vps.ovh.net"
    if route == "/hosting/web":
        return f"{prefix}-{index:03d}-site.example.org"
    return f"{prefix}-{index:03d}.example.com"


def generate_scenario(rng: random.Random, count: int, *, prefix: str = "svc") -> Scenario:
    """``count`` services of random types and states, and a spec taking each of them to
    a random lifecycle the rules allow (far from expiry: no 24-hour limit in play), plus
    a few services the spec leaves unmanaged. Every combination the apply code has a
    distinct path for shows up in a few dozen services: nothing to do, terminate at
    expiry, cancel a termination (one or two calls), another period, manual renewal,
    delete now."""
    services: list[dict[str, Any]] = []
    lines = ["version: 1", "unmanaged: ignore", "services:"]
    expected: dict[str, Expected] = {}
    changes = 0
    for index in range(count):
        route = rng.choice(["/domain", "/domain", "/hosting/web", "/vps"])
        name = _name(route, prefix, index)
        periods = _PERIODS[route]
        start_mode = rng.choice(["automatic", "automatic", "manual"])
        start_period = rng.choice(periods)
        # A service renewed by hand already carries OVH's termination marking: a pending
        # termination is seeded on automatic ones only (docs/control-panel.md, row 6).
        terminating = start_mode == "automatic" and rng.random() < 0.3
        services.append(
            {
                "name": name,
                "route": route,
                "expires_in": f"{rng.randint(30, 300)}d",
                "renew": {"mode": start_mode, "period": start_period},
                "termination": "at_expiry" if terminating else "none",
                "periods": periods,
            }
        )
        if rng.random() < 0.1:  # unmanaged: the spec does not name it, nothing may touch it
            expected[name] = Expected(terminating=terminating, mode=start_mode, period=start_period)
            continue
        wanted = rng.choice(
            ["renew", "renew", "renew-period", "renew-manual"]
            # terminating a service renewed by hand is refused (terminate-manual-service)
            + (["terminate"] if start_mode == "automatic" else [])
            + (["delete"] if route == "/hosting/web" else [])
        )
        lines.append(f"  {name}:")
        if wanted == "terminate":
            lines.append("    lifecycle: terminate_at_expiry")
            expected[name] = Expected(terminating=True)
            changes += not terminating
        elif wanted == "delete":
            lines.append("    lifecycle: delete_now")
            expected[name] = Expected(gone=True)
            changes += 1
        elif wanted == "renew-manual":
            lines += ["    lifecycle: renew", "    mode: manual"]
            expected[name] = Expected(terminating=False, mode="manual", period=start_period)
            changes += terminating or start_mode != "manual"
        elif wanted == "renew-period":
            period = rng.choice([p for p in periods if p != start_period])
            lines += ["    lifecycle: renew", f"    period: {period}"]
            expected[name] = Expected(
                terminating=False, mode="automatic", period=period, states_period=True
            )
            changes += 1
        else:
            lines.append("    lifecycle: renew")
            expected[name] = Expected(terminating=False, mode="automatic", period=start_period)
            changes += terminating or start_mode != "automatic"
    return Scenario(
        seed={"services": services},
        spec="\n".join(lines) + "\n",
        expected=expected,
        changes=changes,
    )


def end_state_problems(
    internal_services: Iterable[Mapping[str, Any]], expected: Mapping[str, Expected]
) -> list[str]:
    """How the account (``GET /sandbox/services``) differs from ``expected``: empty when
    every service is where it must be."""
    by_name = {service["name"]: service for service in internal_services}
    problems: list[str] = []
    for name, wanted in expected.items():
        service = by_name.get(name)
        if service is None:
            problems.append(f"{name}: not on the account at all")
            continue
        gone = service["lifecycle"] == "terminated" or service["resourceState"] == "deleted"
        if gone != wanted.gone:
            problems.append(f"{name}: {'gone' if gone else 'still there'}, wanted otherwise")
            continue
        if gone:
            continue
        terminating = service["termination"] != "none"
        if wanted.terminating is not None and terminating != wanted.terminating:
            problems.append(f"{name}: termination {service['termination']}")
        if wanted.mode is not None and service["renew"]["mode"] != wanted.mode:
            problems.append(f"{name}: renew mode {service['renew']['mode']}")
        if wanted.period is not None and service["renew"]["period"] != wanted.period:
            problems.append(f"{name}: period {service['renew']['period']}")
    return problems


# --- what was sent, from the sandbox's side -------------------------------------------

_REQUEST = re.compile(r"(/hosting/web/[^/]+/terminate|/services/\d+/terminate)\Z")
_CONFIRM = re.compile(r"(/hosting/web/[^/]+/confirmTermination|/services/\d+/terminate/confirm)\Z")


def ours(entries: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The request-log entries sent by reconciler (its User-Agent), in order."""
    return [e for e in entries if str(e.get("user_agent") or "").startswith(RECONCILER_AGENT)]


@dataclass
class CallCounts:
    """Mutating calls as the sandbox saw them (one campaign run, or many summed)."""

    requests: int = 0  # every API request
    mutating: int = 0  # PUT/POST/DELETE sent
    applied: int = 0  # of those, processed (took effect)
    injected_errors: int = 0  # answered by an injected fault instead (never processed)
    dropped: int = 0  # processed, then the connection dropped (the answer was lost)
    redundant: int = 0  # applied and changed nothing: the account already showed it
    faults_by_kind: Counter[str] = field(default_factory=Counter)

    def add(self, other: CallCounts) -> None:
        for name in ("requests", "mutating", "applied", "injected_errors", "dropped", "redundant"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.faults_by_kind.update(other.faults_by_kind)


def count_calls(entries: Sequence[Mapping[str, Any]]) -> CallCounts:
    counts = CallCounts(requests=len(entries))
    for entry in entries:
        if entry["fault"] == "error":
            counts.injected_errors += 1
            counts.faults_by_kind[str(entry["status"])] += 1
        elif entry["fault"] == "drop":
            counts.dropped += 1
            counts.faults_by_kind["drop"] += 1
        if entry["method"] not in ("PUT", "POST", "DELETE"):
            continue
        counts.mutating += 1
        counts.applied += bool(entry["applied"])
        counts.redundant += bool(entry["applied"] and entry["changed"] is False)
    return counts


def doubled_entries(
    entries: Sequence[Mapping[str, Any]],
) -> list[tuple[Mapping[str, Any], str]]:
    """Every mutating call of reconciler's that was sent again although an earlier send
    had taken effect, as the sandbox saw it, with the reason:

    - an applied call that changed nothing (the account already showed its effect: a
      second ``PUT`` of the same change);
    - a second applied termination request for one service (a second e-mail);
    - a second applied confirmation for one service.

    Sends answered by an injected error were never processed: sending them again is
    what a careful client must do, and is not counted."""
    found: list[tuple[Mapping[str, Any], str]] = []
    requests: Counter[int] = Counter()
    confirms: Counter[int] = Counter()
    for entry in ours(entries):
        if entry["method"] not in ("PUT", "POST", "DELETE") or not entry["applied"]:
            continue
        where = f"#{entry['seq']} {entry['method']} {entry['path']}"
        if entry["changed"] is False:
            found.append((entry, f"{where}: applied, and the account already showed it"))
        service = entry["service_id"]
        if _REQUEST.search(entry["path"]):
            requests[service] += 1
            if requests[service] > 1:
                found.append((entry, f"{where}: a second termination request for #{service}"))
        if _CONFIRM.search(entry["path"]):
            confirms[service] += 1
            if confirms[service] > 1:
                found.append((entry, f"{where}: a second confirmation for #{service}"))
    return found


def doubled_calls(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """``doubled_entries``, in words: empty when no action was doubled."""
    return [reason for _, reason in doubled_entries(entries)]


def termination_emails(emails: Iterable[Mapping[str, Any]]) -> Counter[str]:
    """Termination-request e-mails per service name (from ``GET /sandbox/emails``)."""
    found: Counter[str] = Counter()
    for email in emails:
        subject = str(email.get("subject", ""))
        marker = "Termination request for your service "
        if marker in subject:
            found[subject.split(marker, 1)[1].strip()] += 1
    return found


def converged_account(server: Any, scenario: Scenario) -> list[dict[str, Any]]:
    """Check that the sandbox account ended as ``scenario`` expects, with no action
    doubled, one termination e-mail per deleted service and none for any other; the
    request log, for further checks."""
    assert end_state_problems(server.services(), scenario.expected) == []
    log: list[dict[str, Any]] = server.admin.requests()
    assert doubled_calls(log) == []
    assert dict(termination_emails(server.emails())) == dict.fromkeys(scenario.deleted, 1)
    return log


def server_credentials(server: Any) -> SignatureCredentials:
    """The signature keys a sandbox server was seeded with, for an in-process client."""
    return SignatureCredentials(
        application_key=server.application_key,
        application_secret=server.application_secret,
        consumer_key=server.consumer_key,
    )


def cli_env(home: Path, credentials: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for a CLI subprocess: no OVH_/RECONCILER_/CI variables of the
    machine, its own HOME (no ~/.ovh.conf), and the given credentials."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OVH_", "RECONCILER_", "GITHUB_", "CI_")) and key != "NO_COLOR"
    }
    env["HOME"] = str(home)
    for key, value in (credentials or {}).items():
        env[key] = value
    return env


def demo_credentials_env(server: Any) -> dict[str, str]:
    return {
        "OVH_APPLICATION_KEY": server.application_key,
        "OVH_APPLICATION_SECRET": server.application_secret,
        "OVH_CONSUMER_KEY": server.consumer_key,
    }
