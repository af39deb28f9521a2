"""Clocks: the rules are judged on the API's clock in UTC, whatever the local clock says
and whatever the local timezone.

The account holds a domain whose termination at expiry is pending, expiring on
2026-03-29 at 10:00 UTC — 12:00 in Paris, the day Paris moves to summer time, so that
"24 hours before" is 23 hours of Paris's wall clock: a rule computed on a local
calendar would be an hour off. Its cancellation is allowed until 2026-03-28 10:00 UTC,
and the sandbox's clock is put a minute either side of that boundary.

- Local clock skew: clients whose local clock is 12 hours behind, 3 behind, 5 ahead,
  26 ahead or 400 days ahead of the API's. Each signs with the delta it measures from
  ``GET /auth/time`` (the sandbox checks the timestamp within 3 minutes) and plans
  exactly what an exact clock plans, on both sides of the boundary. A client that signed
  with its local clock uncorrected is refused (``QUERY_TIME_OUT``): the test has teeth.
- Local timezone: ``reconciler plan`` as a process under ``TZ`` = UTC,
  Pacific/Kiritimati (UTC+14), America/Adak (UTC−10, with its own summer time) and
  Europe/Paris: the same plan, the same refusal, the same text, the same deadline in
  UTC; ``apply`` in Kiritimati a minute before cancels, in Adak a minute after is
  refused (exit 3) and changes nothing. These processes run with a local clock that
  stands still eight months away from the sandbox's (``still_local_clock``): the local
  clock is months off, too, and the API's clock the client measures reads the sandbox's
  stopped clock to the second however slow the machine (with the real clock, a process
  slower than a second printed "computed at ... 09:59:01 UTC" and the texts differed).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cli_runs import run_process
from conftest import SandboxServer
from reliability_helpers import cli_env, demo_credentials_env, record_figures
from still_local_clock import command as with_still_clock

from reconciler.clock import ManualClock
from reconciler.core.plan import Plan
from reconciler.core.planner import make_plan
from reconciler.core.spec import parse_spec
from reconciler.endpoints import resolve_endpoint
from reconciler.observe import read_for_specs
from reconciler.ovh.client import OvhClient
from reconciler.ovh.credentials import SignatureCredentials
from reconciler.sandbox.auth import signature

EXPIRY = datetime(2026, 3, 29, 10, 0, tzinfo=UTC)  # 12:00 in Paris, its first summer day
DEADLINE = EXPIRY - timedelta(hours=24)  # the last moment a cancellation is allowed
SIDES = {"before": DEADLINE - timedelta(seconds=60), "after": DEADLINE + timedelta(seconds=60)}
SEED = {
    "services": [
        {"name": "dst.example.com", "route": "/domain", "expires": "2026-03-29T10:00:00Z",
         "renew": {"mode": "automatic", "period": "P12M"}, "termination": "at_expiry"},
        {"name": "far.example.com", "route": "/domain", "expires": "2026-11-01T00:00:00Z",
         "renew": {"mode": "automatic", "period": "P12M"}, "termination": "at_expiry"},
    ]
}  # fmt: skip
SPEC = """\
version: 1
services:
  dst.example.com:
    lifecycle: renew
  far.example.com:
    lifecycle: renew
"""
SKEWS = {
    "12 h behind": timedelta(hours=-12),
    "3 h behind": timedelta(hours=-3),
    "5 h ahead": timedelta(hours=5),
    "26 h ahead": timedelta(hours=26),
    "400 days ahead": timedelta(days=400),
}
ZONES = ("UTC", "Pacific/Kiritimati", "America/Adak", "Europe/Paris")
# The local clock of the CLI processes: still, on a whole second, eight months on.
LOCAL_NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def essence(plan: Plan) -> dict[str, Any]:
    """What a plan decides (not when it was made)."""
    return {
        "actions": [(a.service, a.action.value, a.expires_at) for a in plan.actions],
        "refused": [(r.service, r.rule.value) for r in plan.refused],
    }


def plan_with(server: SandboxServer, local: ManualClock | None) -> Plan:
    spec = parse_spec(SPEC.encode(), "spec.yaml")
    credentials = SignatureCredentials(
        server.application_key, server.application_secret, server.consumer_key
    )

    async def run() -> Plan:
        client = OvhClient(resolve_endpoint(server.url), credentials, clock=local)
        async with client:
            account = await read_for_specs(client, [spec])
            return make_plan(spec, account, now=client.api_clock().now(), endpoint=server.url)

    return asyncio.run(run())


def test_a_skewed_local_clock_signs_right_and_judges_right(sandbox_server: SandboxServer) -> None:
    verdicts = 0
    for side, moment in SIDES.items():
        sandbox_server.reset(SEED, now=moment)
        exact = essence(plan_with(sandbox_server, None))
        dst = [a for a in exact["actions"] if a[0] == "dst.example.com"]
        if side == "before":
            assert dst == [("dst.example.com", "cancel_termination", DEADLINE)]
        else:
            assert ("dst.example.com", "cancel-window-closed") in exact["refused"]
        for name, skew in SKEWS.items():
            local = ManualClock(datetime.now(UTC) + skew)
            assert essence(plan_with(sandbox_server, local)) == exact, (side, name)
            verdicts += 1

        # Teeth: the same skew, uncorrected, is refused by the API.
        url = sandbox_server.url + "/me"
        for skew in SKEWS.values():
            stamp = str(int(time.time() + skew.total_seconds()))
            sent = httpx.get(url, headers={
                "X-Ovh-Application": sandbox_server.application_key,
                "X-Ovh-Consumer": sandbox_server.consumer_key,
                "X-Ovh-Timestamp": stamp,
                "X-Ovh-Signature": signature(sandbox_server.application_secret,
                                             sandbox_server.consumer_key, "GET", url, "", stamp),
            })  # fmt: skip
            assert sent.status_code == 400 and sent.json()["errorCode"] == "QUERY_TIME_OUT"
    record_figures("clock-skew", skews=len(SKEWS), sides=len(SIDES), verdicts_identical=verdicts)


def cli(
    workdir: Path, env: Mapping[str, str], zone: str, *argv: str
) -> subprocess.CompletedProcess[str]:
    return run_process(
        with_still_clock(LOCAL_NOW, *argv), cwd=workdir, env={**env, "TZ": zone}, timeout=60
    )


@pytest.fixture
def clockwork(sandbox_server: SandboxServer, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    env = cli_env(tmp_path / "home", demo_credentials_env(sandbox_server))
    env["RECONCILER_STATE_DIR"] = str(tmp_path / "state")
    return tmp_path, env


def test_the_24_hour_rule_is_judged_in_utc_whatever_the_timezone(
    sandbox_server: SandboxServer, clockwork: tuple[Path, dict[str, str]]
) -> None:
    workdir, env = clockwork
    url = sandbox_server.url
    runs = 0
    for side, moment in SIDES.items():
        sandbox_server.reset(SEED, now=moment)
        seen: dict[str, tuple[Any, str]] = {}
        for zone in ZONES:
            as_json = cli(workdir, env, zone, "plan", "spec.yaml", "--format", "json",
                          "--endpoint", url)  # fmt: skip
            as_text = cli(workdir, env, zone, "plan", "spec.yaml", "--endpoint", url)
            runs += 2
            assert as_json.returncode == 0 and as_text.returncode == 0, as_json.stderr
            plan = json.loads(as_json.stdout)
            decided = (
                [(a["service"], a["action"], a["expires_at"]) for a in plan["actions"]],
                [(r["service"], r["rule"]) for r in plan["refused"]],
            )
            seen[zone] = (decided, as_text.stdout)
        assert len({json.dumps(decided) for decided, _ in seen.values()}) == 1, seen
        assert len({text for _, text in seen.values()}) == 1  # the text, to the letter
        assert f"computed at {moment:%Y-%m-%d %H:%M} UTC (API clock)" in seen["UTC"][1]
        actions, refused = seen["UTC"][0]
        if side == "before":
            assert ["dst.example.com", "cancel_termination", "2026-03-28T10:00:00Z"] in [
                list(a) for a in actions
            ]
            assert "2026-03-28 10:00 UTC" in seen["UTC"][1]
        else:
            assert ["dst.example.com", "cancel-window-closed"] in [list(r) for r in refused]

    # Applied on each side, from opposite ends of the world.
    sandbox_server.reset(SEED, now=SIDES["before"])
    done = cli(workdir, env, "Pacific/Kiritimati", "apply", "spec.yaml", "--auto-approve",
               "--endpoint", url)  # fmt: skip
    assert done.returncode == 0, done.stderr
    dst = next(s for s in sandbox_server.services() if s["name"] == "dst.example.com")
    assert dst["termination"] == "none"
    sandbox_server.reset(SEED, now=SIDES["after"])
    done = cli(workdir, env, "America/Adak", "apply", "spec.yaml", "--auto-approve",
               "--endpoint", url)  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert "cancel-window-closed" in done.stdout + done.stderr
    assert [e for e in sandbox_server.admin.requests() if e["method"] != "GET"] == []
    record_figures("clock-timezones", zones=len(ZONES), sides=len(SIDES), runs=runs + 2)
