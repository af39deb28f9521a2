"""``reconciler apply`` end to end against the real sandbox server, its clock moved
through the admin route, every outcome read back with the **official** ``ovh`` client:
every lifecycle transition, a second apply that does nothing, a saved plan refused after
an out-of-band change, a cancellation refused across the 24-hour boundary, ``delete_now``
through the e-mailed token and through ``--token``, and the token that never comes
followed by its resume."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import ovh
import ovh.exceptions
import pytest
from apply_helpers import DEMO, FaultTransport
from apply_runs import apply_in_process
from conftest import SandboxServer
from demo_spec import demo_spec
from fakes import FakeSleep
from sandbox_env import cli, isolate, use_sandbox_keys

from reconciler.apply import ActionStatus, ApplyOptions
from reconciler.clock import ManualClock
from reconciler.core.planner import make_plan
from reconciler.core.spec import load_spec
from reconciler.endpoints import resolve_endpoint
from reconciler.journal import Outcome, Phase, read_journal
from reconciler.observe import read_account
from reconciler.ovh.client import OvhClient
from reconciler.sandbox.testing import SANDBOX_EPOCH

EVERY_TRANSITION = demo_spec()
KEEP_OLD_BRAND = """\
version: 1
unmanaged: ignore
services:
  old-brand.fr:
    type: domain
    lifecycle: renew
"""
DELETE_SHOP = """\
version: 1
unmanaged: ignore
services:
  old-shop.example.org:
    type: hosting/web
    lifecycle: delete_now
"""
SHOP = 120000202
SECRETS = ("demo-as", "demo-ck")


@pytest.fixture
def server(
    tmp_path: Path,
    sandbox_server: SandboxServer,
    ovh_client: ovh.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> SandboxServer:
    """The sandbox server, the demo keys in OVH_*, an isolated working directory."""
    isolate(tmp_path, monkeypatch, cleared=("OVH_",))
    use_sandbox_keys(monkeypatch, sandbox_server)
    return sandbox_server


def write(name: str, text: str) -> str:
    Path(name).write_text(text, encoding="utf-8")
    return name


def journal_text() -> str:
    path = Path("state/journal.jsonl")
    return path.read_text(encoding="utf-8") if path.exists() else ""


def current(official: ovh.Client, service_id: int) -> dict[str, Any]:
    service: dict[str, Any] = official.get(f"/services/{service_id}")
    return service


def terminating(service: dict[str, Any]) -> bool:
    now = service["billing"]["lifecycle"]["current"]
    return bool(now["terminationDate"]) or "terminateAtExpirationDate" in (
        now["pendingActions"] or []
    )


def request_emails(official: ovh.Client, name: str) -> list[dict[str, Any]]:
    emails = [
        official.get(f"/me/notification/email/history/{i}")
        for i in official.get("/me/notification/email/history")
    ]
    return [e for e in emails if "Termination request" in e["subject"] and name in e["subject"]]


def test_every_transition_then_a_second_apply_is_a_no_op(
    server: SandboxServer, ovh_client: ovh.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write("spec.yaml", EVERY_TRANSITION)
    result = cli(capsys, "apply", spec, "--endpoint", server.url, "--auto-approve")
    assert result.code == 0, result.err
    assert (
        result.out.rstrip()
        .splitlines()[-1]
        .startswith("Apply complete: 5 done, 0 already as wanted, 0 failed")
    )
    assert len([line for line in result.out.splitlines() if line.startswith("done ")]) == 5

    assert terminating(current(ovh_client, 120000102))
    old_brand = current(ovh_client, 120000103)
    assert not terminating(old_brand)
    assert old_brand["billing"]["renew"]["current"]["mode"] == "automatic"
    vps = current(ovh_client, 120000301)["billing"]["renew"]["current"]
    assert (vps["mode"], vps["period"]) == ("automatic", "P12M")
    server_renew = current(ovh_client, 120000401)["billing"]["renew"]["current"]
    assert server_renew["mode"] == "automatic"
    with pytest.raises(ovh.exceptions.ResourceNotFoundError):
        ovh_client.get(f"/services/{SHOP}")
    assert SHOP not in ovh_client.get("/services")
    assert len(request_emails(ovh_client, "old-shop.example.org")) == 1

    journal = journal_text()
    tokens = re.findall(r"token=([A-Za-z0-9]+)", str(server.emails()))
    assert tokens and journal
    for secret in (*SECRETS, *tokens):
        assert secret not in journal and secret not in result.out + result.err
    # Every call that succeeded is journalled with its status and OVH query id: what
    # OVH support asks for when a change is disputed.
    sent_ok = [
        r
        for r in read_journal(Path("state/journal.jsonl")).records
        if r.phase == Phase.CALL and r.outcome == Outcome.OK
    ]
    assert len(sent_ok) >= 6
    for record in sent_ok:
        assert record.status is not None and 200 <= record.status < 300
        assert record.query_id and record.query_id.startswith("SANDBOX.")

    again = cli(capsys, "apply", spec, "--endpoint", server.url, "--auto-approve")
    assert again.code == 0, again.err
    assert again.out.rstrip().endswith("No changes. The account matches the spec.")
    assert journal_text() == journal  # nothing done, nothing recorded


def test_a_saved_plan_is_refused_after_an_out_of_band_change(
    server: SandboxServer, ovh_client: ovh.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write("spec.yaml", EVERY_TRANSITION)
    saved = cli(capsys, "plan", spec, "--endpoint", server.url, "--out", "plan.json")
    assert saved.code == 0, saved.err
    before = server.services()
    ovh_client.put("/services/120000102", renew={"period": "P24M"})  # by hand, elsewhere
    changed = server.services()

    result = cli(capsys, "apply", "plan.json", "--endpoint", server.url, "--auto-approve")
    assert result.code == 1
    error = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert error == [
        "error: the account changed since this plan was made — plan again "
        "(example.net (#120000102) changed since the plan read it)"
    ]
    assert server.services() == changed != before  # nothing applied
    assert not terminating(current(ovh_client, 120000102))
    assert journal_text() == ""


def test_a_cancellation_is_refused_across_the_24_hour_boundary(
    server: SandboxServer, ovh_client: ovh.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    # old-brand.fr expires 40 days after the epoch: plan 25 hours before, apply at 23.
    server.set_clock(SANDBOX_EPOCH + timedelta(days=40, hours=-25))
    spec = write("keep.yaml", KEEP_OLD_BRAND)
    saved = cli(capsys, "plan", spec, "--endpoint", server.url, "--out", "plan.json")
    assert saved.code == 0 and "cancel termination" in saved.out
    server.advance(timedelta(hours=2))
    result = cli(capsys, "apply", "plan.json", "--endpoint", server.url, "--auto-approve")
    assert result.code == 3, result.err
    assert "[cancel-window-closed]" in result.out
    assert "nothing was applied" in result.err
    assert terminating(current(ovh_client, 120000103))
    # Applying the spec itself is refused the same way, by the rules at plan time.
    direct = cli(capsys, "apply", spec, "--endpoint", server.url, "--auto-approve")
    assert direct.code == 3 and "[cancel-window-closed]" in direct.out


def test_a_saved_plan_applied_in_time_cancels_the_termination(
    server: SandboxServer, ovh_client: ovh.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    server.set_clock(SANDBOX_EPOCH + timedelta(days=40, hours=-26))
    spec = write("keep.yaml", KEEP_OLD_BRAND)
    assert cli(capsys, "plan", spec, "--endpoint", server.url, "--out", "plan.json").code == 0
    server.advance(timedelta(hours=1, minutes=30))  # 24 h 30 min before expiry: still open
    result = cli(capsys, "apply", "plan.json", "--endpoint", server.url, "--auto-approve")
    assert result.code == 0, result.err
    assert not terminating(current(ovh_client, 120000103))
    again = cli(
        capsys, "apply", "plan.json", "--endpoint", server.url, "--auto-approve"
    )  # the same file, again
    assert again.code == 0 and "Nothing left to apply: 1 change already made" in again.out


def test_delete_now_with_a_token_given_on_the_command_line(
    server: SandboxServer, ovh_client: ovh.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    ovh_client.post("/hosting/web/old-shop.example.org/terminate")
    (email,) = request_emails(ovh_client, "old-shop.example.org")
    token = re.search(r"token=([A-Za-z0-9]+)", email["body"])[1]  # type: ignore[index]
    spec = write("delete.yaml", DELETE_SHOP)
    result = cli(
        capsys,
        "apply", spec, "--endpoint", server.url, "--auto-approve",
        "--token", f"old-shop.example.org={token}",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "confirmed with the token given with --token" in result.out
    with pytest.raises(ovh.exceptions.ResourceNotFoundError):
        ovh_client.get(f"/services/{SHOP}")
    assert len(request_emails(ovh_client, "old-shop.example.org")) == 1  # no second request
    for text in (journal_text(), result.out, result.err):
        assert token not in text and "demo-as" not in text


def test_the_token_that_never_comes_then_the_resume(
    server: SandboxServer, ovh_client: ovh.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    """First run: the e-mail history shows nothing for two minutes (a fake sleep moves a
    manual clock; the server's clock stands still). The second run, through the CLI,
    finds the e-mail of the first request and deletes with it: one e-mail in all."""
    spec = write("delete.yaml", DELETE_SHOP)
    loaded = load_spec(spec)
    clock = ManualClock(datetime.now(UTC))
    transport = FaultTransport(httpx.AsyncHTTPTransport())
    transport.add("GET", "/me/notification/email/history", "hide-emails", times=None)
    sleep = FakeSleep(clock, limit=10_000)

    async def first_run() -> Any:
        endpoint = resolve_endpoint(server.url)
        async with OvhClient(
            endpoint, DEMO, transport=transport, clock=clock, sleep=sleep
        ) as client:
            account = await read_account(client)
            approved = make_plan(loaded, account, now=client.api_clock().now(), endpoint=server.url)
            return await apply_in_process(
                approved,
                client,
                Path("state/journal.jsonl"),
                sleep=sleep,
                options=ApplyOptions(token_timeout=timedelta(minutes=2)),
                source=spec,
            )

    (result,) = asyncio.run(first_run()).results
    assert result.status is ActionStatus.FAILED
    assert result.error.startswith("no confirmation e-mail for old-shop.example.org within 2 min")
    assert sum(sleep.delays) == pytest.approx(120)
    assert current(ovh_client, SHOP)["resource"]["state"] == "active"
    records = read_journal(Path("state/journal.jsonl")).records
    assert [r.outcome for r in records if r.phase == Phase.TOKEN] == [
        Outcome.WAITING,
        Outcome.TIMEOUT,
    ]

    resumed = cli(capsys, "apply", spec, "--endpoint", server.url, "--auto-approve")
    assert resumed.code == 0, resumed.err
    with pytest.raises(ovh.exceptions.ResourceNotFoundError):
        ovh_client.get(f"/services/{SHOP}")
    assert len(request_emails(ovh_client, "old-shop.example.org")) == 1
    requests = [
        r
        for r in read_journal(Path("state/journal.jsonl")).records
        if r.phase == Phase.CALL
        and r.outcome == Outcome.SENDING
        and r.detail.get("step") == "request-termination"
    ]
    assert len(requests) == 1
