"""The user guide and the troubleshooting page say what the product does: every rule code
is documented, the table of access rules is the one ``reconciler.core.access`` derives, every
``reconciler ...`` command they show parses with the real CLI, and every OVH error the
troubleshooting page describes is what the client raises in that situation (provoked on
the in-process sandbox)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes import FakeSleep
from gitops_helpers import DEMO, EMBEDDED, parse, reconciler_commands

from reconciler.clock import ManualClock
from reconciler.core.access import Role, rules_for
from reconciler.core.plan import RuleCode
from reconciler.errors import (
    Conflict,
    HttpError,
    InvalidCredential,
    InvalidKey,
    InvalidSignature,
    NotCredential,
    NotGrantedCall,
    QueryTimeOut,
    RateLimited,
    ServiceExpired,
)
from reconciler.ovh.client import OvhClient
from reconciler.ovh.credentials import SignatureCredentials
from reconciler.sandbox.testing import InProcessSandbox

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDE = DOCS / "user-guide.md"
TROUBLESHOOTING = DOCS / "troubleshooting.md"


def code_blocks(path: Path, languages: tuple[str, ...] = ("sh", "")) -> list[str]:
    """The fenced code blocks of a markdown file in one of ``languages``."""
    blocks: list[str] = []
    current: list[str] | None = None
    language = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            if current is None:
                current, language = [], line[3:].strip()
            else:
                if language in languages:
                    blocks.append("\n".join(current))
                current = None
        elif current is not None:
            current.append(line)
    assert current is None, f"{path.name}: a code block is not closed"
    return blocks


def command_lines(block: str) -> list[str]:
    """The command lines of a block: its ``$ `` lines when it shows a session with its
    output, else every line but shown errors."""
    lines = block.splitlines()
    if any(line.startswith("$ ") for line in lines):
        return [line[2:] for line in lines if line.startswith("$ ")]
    return [line for line in lines if not line.startswith(("error:", "hint:"))]


def test_every_rule_code_is_documented_with_its_fix() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    rows = {m[1]: m[0] for m in re.finditer(r"^\| `([a-z-]+)` \|.*\|.*\|$", guide, re.M)}
    assert {code.value for code in RuleCode} <= set(rows), "rules missing from the guide"


def test_the_access_rules_table_is_the_one_the_code_derives() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    table = re.findall(r"^\| `(GET|PUT|POST|DELETE) (\S+)` \|\s*(✓?)\s*\|\s*(✓?)\s*\|", guide, re.M)
    plan = [f"{m} {p}" for m, p, in_plan, _ in table if in_plan]
    apply = [f"{m} {p}" for m, p, _, in_apply in table if in_apply]
    assert plan == [str(rule) for rule in rules_for(Role.PLAN)]
    assert apply == [str(rule) for rule in rules_for(Role.APPLY)]


@pytest.mark.parametrize("path", [GUIDE, TROUBLESHOOTING], ids=lambda p: p.name)
def test_every_command_shown_parses_with_the_real_cli(path: Path) -> None:
    commands = [
        argv
        for block in code_blocks(path)
        for line in command_lines(block)
        for argv in reconciler_commands(line)
    ]
    assert len(commands) >= (12 if path == GUIDE else 3)
    for argv in commands:
        concrete = [arg.replace("<the plan key>", "k") for arg in argv]
        parse(concrete)


def test_the_guide_names_every_command() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    for command in ("services", "validate", "plan", "apply", "journal", "import", "sandbox"):
        assert f"`reconciler {command}" in guide
    for sub in ("request", "check", "rules"):
        assert f"`reconciler credentials {sub}" in guide


# --- every error of the troubleshooting page, provoked ----------------------------------


def client(
    sandbox: InProcessSandbox, credentials: SignatureCredentials = DEMO, **kw: Any
) -> OvhClient:
    options: dict[str, Any] = {"sleep": FakeSleep(), "random": lambda: 0.5, **kw}
    return OvhClient(
        EMBEDDED, credentials, transport=httpx.ASGITransport(app=sandbox.app), **options
    )


def keys(**changes: str | None) -> SignatureCredentials:
    values: dict[str, Any] = {
        "application_key": DEMO.application_key,
        "application_secret": DEMO.application_secret,
        "consumer_key": DEMO.consumer_key,
        **changes,
    }
    return SignatureCredentials(**values)


async def pending_key(sandbox: InProcessSandbox) -> str:
    async with client(sandbox) as api:
        answer = await api.request(
            "POST",
            "/auth/credential",
            body={"accessRules": [{"method": "GET", "path": "/*"}], "redirection": None},
            need_auth=False,
        )
    key: str = answer["consumerKey"]
    return key


Scenario = Callable[[InProcessSandbox], Coroutine[Any, Any, None]]


async def unknown_application(sandbox: InProcessSandbox) -> None:
    async with client(sandbox, keys(application_key="created-on-another-endpoint")) as api:
        await api.get("/services")


async def unknown_consumer_key(sandbox: InProcessSandbox) -> None:
    async with client(sandbox, keys(consumer_key="of-another-application")) as api:
        await api.get("/services")


async def not_validated(sandbox: InProcessSandbox) -> None:
    consumer_key = await pending_key(sandbox)
    async with client(sandbox, keys(consumer_key=consumer_key)) as api:
        await api.get("/services")


async def plan_key_applying(sandbox: InProcessSandbox) -> None:
    async with client(sandbox, keys(consumer_key="demo-readonly-ck")) as api:
        await api.put("/services/120000102", {"terminationPolicy": "terminateAtExpirationDate"})


async def wrong_secret(sandbox: InProcessSandbox) -> None:
    async with client(sandbox, keys(application_secret="of-another-application")) as api:
        await api.get("/services")


async def clock_jump(sandbox: InProcessSandbox) -> None:
    local = ManualClock(sandbox.clock.now())
    async with client(sandbox, clock=local) as api:
        local.advance(timedelta(hours=1))  # the laptop slept during the run
        await api.get("/services")


async def expired_service(sandbox: InProcessSandbox) -> None:
    async with client(sandbox) as api:  # forgotten-project.io expired 10 days ago
        await api.put("/services/120000105", {"renew": {"mode": "automatic"}})


async def cancel_too_late(sandbox: InProcessSandbox) -> None:
    async with client(sandbox) as api:  # campaign-2025.example.com ends in 18 hours
        await api.put("/services/120000203", {"terminationPolicy": "empty"})


async def rate_limited(sandbox: InProcessSandbox) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url="http://sandbox.invalid"
    ) as admin:
        answer = await admin.put(
            "/sandbox/faults", json={"error_rate": 1, "error_statuses": [429], "seed": 1}
        )
        assert answer.status_code == 200
    async with client(sandbox) as api:
        await api.get("/services")


SCENARIOS: list[tuple[str, Scenario, type[HttpError], str]] = [
    ("INVALID_KEY", unknown_application, InvalidKey, "403"),
    ("NOT_CREDENTIAL", unknown_consumer_key, NotCredential, "403"),
    ("INVALID_CREDENTIAL", not_validated, InvalidCredential, "403"),
    ("NOT_GRANTED_CALL", plan_key_applying, NotGrantedCall, "403"),
    ("INVALID_SIGNATURE", wrong_secret, InvalidSignature, "400"),
    ("QUERY_TIME_OUT", clock_jump, QueryTimeOut, "400"),
    ("460", expired_service, ServiceExpired, "460"),
    ("409", cancel_too_late, Conflict, "409"),
    ("429", rate_limited, RateLimited, "429"),
]


@pytest.mark.parametrize(
    ("code", "scenario", "error", "status"), SCENARIOS, ids=[s[0] for s in SCENARIOS]
)
def test_each_documented_error_is_what_users_meet_in_that_situation(
    code: str,
    scenario: Scenario,
    error: type[HttpError],
    status: str,
    sandbox_app: InProcessSandbox,
) -> None:
    page = TROUBLESHOOTING.read_text(encoding="utf-8")
    assert re.search(rf"^#+ .*`?{code}`?", page, re.M), f"no section for {code}"
    with pytest.raises(HttpError) as raised:
        asyncio.run(scenario(sandbox_app))
    assert type(raised.value) is error
    assert str(raised.value).startswith("OVH API ")
    assert f": {status}" in str(raised.value) and "(query id SANDBOX." in str(raised.value)
    assert raised.value.hint
    if error is NotGrantedCall:
        assert "no access rule for PUT /services/*" in raised.value.hint
    if error is QueryTimeOut:
        assert "clock" in raised.value.hint
    if error is RateLimited:
        assert "gave up after 6 attempts" in str(raised.value)
