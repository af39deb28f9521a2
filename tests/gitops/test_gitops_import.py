"""``reconciler import`` and ``reconciler.core.adopt``: the spec written states the account as
it is, so planning it right away reports no changes — on the demo account, on a large
generated one, and on any account hypothesis can think of; names that YAML would read
as something else, or that could forge lines, are written safely or left out with the
reason; an existing file is never overwritten without ``--force``."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cli_runs import error_lines
from gitops_helpers import DEMO, EMBEDDED, isolated
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox_env import cli

from reconciler.core.adopt import adopt
from reconciler.core.lifecycle import CommitmentEnd, Lifecycle, LiveLifecycle, RenewMode
from reconciler.core.live import Commitment, EndStrategy, LiveAccount, LiveService, family_of
from reconciler.core.plan import Plan
from reconciler.core.planner import make_plan
from reconciler.core.spec import UnmanagedPolicy, parse_spec
from reconciler.observe import read_account
from reconciler.ovh.client import OvhClient
from reconciler.sandbox import demo_seed
from reconciler.sandbox.testing import SANDBOX_EPOCH, InProcessSandbox, SandboxServer

__all__ = ["isolated"]

NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)


def live(
    service_id: int,
    name: str,
    *,
    type_: str = "domain",
    lifecycle: LiveLifecycle = LiveLifecycle.RENEW,
    period: str | None = "P12M",
    parent: int | None = None,
    unpaid: bool = False,
    display_name: str | None = None,
    expires: datetime | None = None,
) -> LiveService:
    expiry = expires or NOW + timedelta(days=40 + service_id % 300)
    gone = lifecycle in (LiveLifecycle.EXPIRED, LiveLifecycle.TERMINATED)
    return LiveService(
        service_id=service_id,
        name=name,
        display_name=display_name or name,
        type=type_,
        family=family_of(type_),
        lifecycle=lifecycle,
        resource_state="deleted" if lifecycle is LiveLifecycle.TERMINATED else "active",
        lifecycle_state={
            LiveLifecycle.EXPIRED: "unrenewed",
            LiveLifecycle.TERMINATED: "terminated",
        }.get(lifecycle, "unpaid" if unpaid else "active"),
        expiration=expiry,
        renew_mode="manual" if lifecycle is LiveLifecycle.MANUAL_RENEW else "automatic",
        renew_period=None if gone else period,
        termination_date=expiry if lifecycle is LiveLifecycle.TERMINATE_AT_EXPIRY else None,
        parent_id=parent,
        unpaid=unpaid,
    )


def plan_of(text: str, account: LiveAccount, *, now: datetime = NOW) -> Plan:
    return make_plan(
        parse_spec(text.encode("utf-8"), "imported.yaml"), account, now=now, endpoint="x"
    )


def assert_no_changes(plan: Plan) -> None:
    assert not plan.refused, [r.message for r in plan.refused]
    assert not plan.changes, [(a.service, a.action.value, a.reason) for a in plan.changes]
    assert not plan.drift, plan.drift


# --- the demo account --------------------------------------------------------------------


def read_demo(sandbox: InProcessSandbox) -> tuple[LiveAccount, datetime]:
    async def read() -> tuple[LiveAccount, datetime]:
        transport = httpx.ASGITransport(app=sandbox.app)
        async with OvhClient(EMBEDDED, DEMO, transport=transport) as client:
            return await read_account(client), client.api_clock().now()

    return asyncio.run(read())


def test_the_demo_account_adopted_plans_no_changes(sandbox_app: InProcessSandbox) -> None:
    account, now = read_demo(sandbox_app)
    adoption = adopt(account, endpoint="sandbox", now=now)
    plan = plan_of(adoption.text, account, now=now)
    assert_no_changes(plan)
    by_key = {s.key: s for s in adoption.spec.services}
    assert by_key["ns3012345.ip-51-75-10.eu"].mode is RenewMode.MANUAL  # renewed by hand
    assert by_key["ns3012345.ip-51-75-10.eu"].period == "P1M"
    assert by_key["old-brand.fr"].lifecycle is Lifecycle.TERMINATE_AT_EXPIRY
    assert by_key["old-brand.fr"].period is None
    assert by_key["vps-9f8e7d6c.vps.ovh.net"].lifecycle is Lifecycle.RENEW  # unpaid, as is
    # A domain and its hosting share a name: labelled, with name and type.
    assert (by_key["example.com (domain)"].name, by_key["example.com (domain)"].type) == (
        "example.com",
        "domain",
    )
    assert by_key["example.com (hosting/web)"].type == "hosting/web"
    # example.org is a domain and an MX Plan: the domain needs its type to be told apart.
    assert by_key["example.org (domain)"].type == "domain"
    # What is not adopted is in comments, with the reason.
    assert {s.service.name for s in adoption.unmanageable} == {
        "xdsl-ab12345-1",
        "ab12345-ovh-1",
        "hosted-ab12345-1",
        "office-ab12345-1",
        "sharepoint-ab12345-1",
        "example.org",
    }
    assert [s.service.name for s in adoption.gone] == ["forgotten-project.io"]
    assert "#   xdsl-ab12345-1 (xdsl, id 120000501): a telecom service" in adoption.text
    assert "#   forgotten-project.io (domain, id 120000105): expired on" in adoption.text
    assert {u.name for u in plan.unmanaged} == {s.service.name for s in adoption.unmanageable}
    # Sorted by name, then type; one comment per entry.
    keys = [s.name for s in adoption.spec.services]
    assert keys == sorted(keys)
    assert adoption.text.count("\n  # ") >= len(adoption.spec.services)
    # Strict policies hold too: what is left out is unmanageable, so never refused.
    strict = adopt(account, endpoint="sandbox", now=now, unmanaged=UnmanagedPolicy.ERROR)
    assert_no_changes(plan_of(strict.text, account, now=now))


def test_the_comment_of_an_entry_says_what_the_service_is(sandbox_app: InProcessSandbox) -> None:
    account, now = read_demo(sandbox_app)
    text = adopt(account, endpoint="sandbox", now=now).text
    block = text.split("  ns3012345.ip-51-75-10.eu:")[0].rsplit("\n\n", 1)[1]
    assert block.startswith("  # dedicated/server, ")
    assert 'shown as "db-primary", id 120000401' in block
    assert "renewed by hand every P1M: expires on" in block and "unless paid" in block
    hosting = text.split('  "example.com (hosting/web)":')[0].rsplit("\n\n", 1)[1]
    assert "linked to example.com (domain)" in hosting
    assert "ab12345-001 (hosting/privateDatabase)" in hosting
    unpaid = text.split("  vps-9f8e7d6c.vps.ovh.net:")[0].rsplit("\n\n", 1)[1]
    assert "UNPAID" in unpaid
    assert all(len(line) <= 100 for line in text.splitlines() if line.lstrip().startswith("#"))


def test_the_comment_says_whether_a_termination_can_still_be_cancelled() -> None:
    """Inside the last 24 hours before expiry a termination can no longer be cancelled:
    the comment says so, with the moment it closed, never "cancellable until 24 h
    before"; before that, it gives the moment it closes."""
    closing = live(
        1, "closing.example.com", lifecycle=LiveLifecycle.TERMINATE_AT_EXPIRY,
        expires=NOW + timedelta(hours=5),
    )  # fmt: skip
    later = live(
        2, "later.example.com", lifecycle=LiveLifecycle.TERMINATE_AT_EXPIRY,
        expires=NOW + timedelta(days=30),
    )  # fmt: skip
    text = adopt(LiveAccount.from_services([closing, later]), endpoint="sandbox", now=NOW).text
    flat = " ".join(line.strip(" #") for line in text.splitlines() if line.lstrip().startswith("#"))
    assert (
        "terminated at expiry on 2027-01-15 17:00 UTC, its data deleted then (no longer "
        "cancellable: that closed 24 h before, at 2027-01-14 17:00 UTC)"
    ) in flat
    assert "(cancellable until 2027-02-13 12:00 UTC, 24 h before)" in flat
    assert "cancellable until 24 h before" not in flat


# --- names, periods, what cannot be stated ---------------------------------------------

TRICKY_NAMES = [
    "true",
    "null",
    "~",
    "yes",
    "No",
    "on",
    "123",
    "0x1F",
    "0o17",
    "1e3",
    ".5",
    "1_000",
    "12:30",
    "2026-01-01",
    "2026-01-01.example.com",
    "-leading-dash",
    "*star",
    "&amp",
    "!tag",
    "%pct",
    "@at",
    "`tick`",
    "[x]",
    "{x}",
    "'quoted'",
    '"double"',
    "a,b",
    "|pipe",
    ">gt",
    "?q",
    "a:b",
    "a: b",
    "#hash",
    "a#b",
    "bücher.example.de",
    "例え.jp",
    "xn--bcher-kva.example",
    "version",
    "services",
    "lifecycle",
    "token.example.com",
    "api-key-holder.example.com",
]


def test_names_yaml_would_misread_are_written_so_they_read_back_exactly() -> None:
    services = [live(i + 1, name) for i, name in enumerate(TRICKY_NAMES)]
    account = LiveAccount.from_services(services)
    adoption = adopt(account, endpoint="ovh-eu", now=NOW)
    stated = [s.name for s in adoption.spec.services]
    expected = sorted(n for n in TRICKY_NAMES if " " not in n)
    assert stated == expected
    assert [s.service.name for s in adoption.unstatable] == ["a: b"]
    assert_no_changes(plan_of(adoption.text, account))
    assert yaml.safe_load(adoption.text)["services"]["true"] == {
        "lifecycle": "renew",
        "period": "P12M",
    }


def test_a_name_or_display_name_cannot_forge_lines_of_the_spec() -> None:
    forged = "\n  evil.example.com:\n    lifecycle: delete_now\n# "
    services = [
        live(1, "shop.example.com", type_="hosting/web", display_name="Shop" + forged),
        live(2, "evil\n  x.example.com:", type_="hosting/web"),
        live(3, "rlo\u202emoc.example", type_="hosting/web"),
        live(4, "esc\x1b[31m.example", type_="hosting/web"),
        live(5, "x" * 256, type_="hosting/web"),
    ]
    account = LiveAccount.from_services(services)
    adoption = adopt(account, endpoint="ovh-eu", now=NOW)
    assert [s.name for s in adoption.spec.services] == ["shop.example.com"]
    assert "evil.example.com" not in yaml.safe_load(adoption.text)["services"]
    forged_lines = [line for line in adoption.text.splitlines() if "delete_now" in line]
    assert forged_lines and all(line.lstrip().startswith("#") for line in forged_lines)
    reasons = {s.service.service_id: s.reason for s in adoption.unstatable}
    assert reasons[2] == "its name holds a space"
    assert reasons[3] == reasons[4] == "its name holds an invisible or control character"
    assert reasons[5].startswith("its name is 256 characters long")
    assert all(line.isprintable() for line in adoption.text.splitlines())
    assert_no_changes(plan_of(adoption.text, account))


def test_shared_names_get_labels_and_identical_name_and_type_are_left_out() -> None:
    services = [
        live(1, "example.com", type_="domain"),
        live(2, "example.com", type_="hosting/web", parent=1),
        live(3, "twin.example.com", type_="hosting/web"),
        live(4, "twin.example.com", type_="hosting/web"),
        live(5, "reused.example.com", type_="hosting/web", lifecycle=LiveLifecycle.TERMINATED),
        live(6, "reused.example.com", type_="hosting/web"),
        live(7, "mx.example.com", type_="domain"),
        live(8, "mx.example.com", type_="email/domain"),
    ]
    account = LiveAccount.from_services(services)
    adoption = adopt(account, endpoint="ovh-eu", now=NOW)
    keys = [(s.key, s.name, s.type) for s in adoption.spec.services]
    assert keys == [
        ("example.com (domain)", "example.com", "domain"),
        ("example.com (hosting/web)", "example.com", "hosting/web"),
        ("mx.example.com (domain)", "mx.example.com", "domain"),
        ("reused.example.com", "reused.example.com", None),  # the gone one is no rival
    ]
    assert {s.service.service_id for s in adoption.unstatable} == {3, 4}
    assert "same name and type" in adoption.unstatable[0].reason
    assert [s.service.service_id for s in adoption.gone] == [5]
    assert [s.service.service_id for s in adoption.unmanageable] == [8]
    assert_no_changes(plan_of(adoption.text, account))


def test_an_entry_the_loader_would_refuse_is_left_out_with_its_words() -> None:
    services = [
        live(1, "example.com", type_="domain"),
        live(2, "example.com", type_="Hosting/Web"),  # not how the loader accepts a type
    ]
    account = LiveAccount.from_services(services)
    adoption = adopt(account, endpoint="ovh-eu", now=NOW)
    assert [(s.key, s.type) for s in adoption.spec.services] == [("example.com (domain)", "domain")]
    (left,) = adoption.unstatable
    assert left.service.service_id == 2
    assert left.reason.startswith("the spec loader refuses its entry: type 'Hosting/Web'")
    assert "#   example.com (Hosting/Web, id 2): the spec loader refuses" in adoption.text
    assert_no_changes(plan_of(adoption.text, account))


def test_periods_are_stated_when_a_spec_can_state_them() -> None:
    services = [
        live(1, "yearly.example.com", period="P12M"),
        live(2, "unknown.example.com", period=None),
        live(3, "daily.example.com", period="P1D"),
        live(4, "manual.example.com", lifecycle=LiveLifecycle.MANUAL_RENEW, period=None),
        live(5, "going.example.com", lifecycle=LiveLifecycle.TERMINATE_AT_EXPIRY),
    ]
    account = LiveAccount.from_services(services)
    adoption = adopt(account, endpoint="ovh-eu", now=NOW)
    periods = {s.name: (s.lifecycle.value, s.mode, s.period) for s in adoption.spec.services}
    assert periods == {
        "daily.example.com": ("renew", RenewMode.AUTOMATIC, None),
        "going.example.com": ("terminate_at_expiry", None, None),
        "manual.example.com": ("renew", RenewMode.MANUAL, None),
        "unknown.example.com": ("renew", RenewMode.AUTOMATIC, None),
        "yearly.example.com": ("renew", RenewMode.AUTOMATIC, "P12M"),
    }
    assert_no_changes(plan_of(adoption.text, account))
    without = adopt(account, endpoint="ovh-eu", now=NOW, periods=False)
    assert "period:" not in without.text
    assert_no_changes(plan_of(without.text, account))


def test_each_end_rule_a_spec_can_state_is_written_and_plans_no_changes() -> None:
    def committed(service_id: int, name: str, strategy: EndStrategy | None) -> LiveService:
        commitment = Commitment(
            end_date=date(2027, 8, 1), strategy=strategy, possible_strategies=tuple(EndStrategy)
        )
        return replace(live(service_id, name, type_="vps"), commitment=commitment)

    account = LiveAccount.from_services(
        [
            committed(1, "recommit.example.com", EndStrategy.REACTIVATE_ENGAGEMENT),
            committed(2, "keep.example.com", EndStrategy.STOP_ENGAGEMENT_KEEP_PRICE),
            committed(3, "default.example.com", EndStrategy.STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE),
            committed(4, "norule.example.com", None),
            live(5, "free.example.com", type_="vps"),
        ]
    )
    adoption = adopt(account, endpoint="ovh-eu", now=NOW)
    ends = {s.name: s.commitment_end for s in adoption.spec.services}
    assert ends == {
        "recommit.example.com": CommitmentEnd.RECOMMIT,
        "keep.example.com": CommitmentEnd.KEEP_PRICE,
        "default.example.com": CommitmentEnd.DEFAULT_PRICE,
        "norule.example.com": None,
        "free.example.com": None,
    }
    assert "commitment_end: keep_price  # at the commitment's end" in adoption.text
    assert_no_changes(plan_of(adoption.text, account))


def test_an_empty_account_is_a_valid_spec() -> None:
    adoption = adopt(LiveAccount.from_services([]), endpoint="ovh-ca", now=NOW)
    assert adoption.spec.services == () and adoption.spec.endpoint == "ovh-ca"
    assert "services: {}" in adoption.text


_TYPES = ["domain", "hosting/web", "vps", "dedicated/server", "xdsl", "email/domain", "unknown"]
_LIFECYCLES = list(LiveLifecycle)


@st.composite
def accounts(draw: st.DrawFn) -> LiveAccount:
    count = draw(st.integers(0, 25))
    names = draw(
        st.lists(
            st.sampled_from(["a.example.com", "b.example.com", "c.example", "true", "x y", "1"]),
            min_size=count,
            max_size=count,
        )
    )
    services = []
    for index, name in enumerate(names, start=1):
        parent = draw(st.one_of(st.none(), st.integers(1, max(count, 1))))
        services.append(
            live(
                index,
                name,
                type_=draw(st.sampled_from(_TYPES)),
                lifecycle=draw(st.sampled_from(_LIFECYCLES)),
                period=draw(st.sampled_from([None, "P1M", "P12M", "P1D", "P999M"])),
                parent=parent if parent != index else None,
                unpaid=draw(st.booleans()),
                expires=draw(st.sampled_from([NOW + timedelta(hours=3), NOW + timedelta(days=90)])),
            )
        )
    return LiveAccount.from_services(services)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accounts())
def test_any_account_adopted_plans_no_changes(account: LiveAccount) -> None:
    adoption = adopt(account, endpoint="ovh-eu", now=NOW)
    assert_no_changes(plan_of(adoption.text, account))
    left_out = adoption.unmanageable + adoption.gone + adoption.unstatable
    assert len(adoption.adopted) + len(left_out) == len(account.services)


# --- the command ---------------------------------------------------------------------------


def test_import_writes_a_file_that_plans_no_changes(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "import", "--output", "stacks.yaml")
    assert result.code == 0, result.err
    assert result.out == ""
    assert "Wrote stacks.yaml: the account on sandbox; 11 services adopted" in result.err
    text = Path("stacks.yaml").read_text(encoding="utf-8")
    assert "\nendpoint: sandbox\n" in text
    assert cli(capsys, "validate", "stacks.yaml").code == 0
    planned = cli(capsys, "plan", "stacks.yaml", "--detailed-exitcode")
    assert planned.code == 0, planned.out + planned.err
    assert "No changes. The account matches the spec." in planned.out


def test_import_to_stdout(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = cli(capsys, "import", "--unmanaged", "ignore", "--no-periods")
    assert result.code == 0
    assert "\nunmanaged: ignore\n" in result.out and "period:" not in result.out
    assert "Imported from sandbox: 11 services adopted" in result.err
    Path("spec.yaml").write_text(result.out, encoding="utf-8")
    assert cli(capsys, "plan", "spec.yaml", "--detailed-exitcode").code == 0


def test_import_never_overwrites_a_file_without_force(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("prod.yaml").write_text("# hand-written, precious\n", encoding="utf-8")
    refused = cli(capsys, "import", "-o", "prod.yaml")
    assert refused.code == 1
    assert error_lines(refused) == ["error: prod.yaml exists; not overwriting it"]
    assert Path("prod.yaml").read_text(encoding="utf-8") == "# hand-written, precious\n"
    forced = cli(capsys, "import", "-o", "prod.yaml", "--force")
    assert forced.code == 0
    assert Path("prod.yaml").read_text(encoding="utf-8").startswith("# The account on sandbox")
    assert not list(Path().glob(".prod.yaml.*.tmp"))
    missing = cli(capsys, "import", "-o", "no/such/dir/prod.yaml")
    assert missing.code == 1
    assert error_lines(missing)[0].startswith(
        "error: cannot write the spec to no/such/dir/prod.yaml"
    )


def test_import_endpoint_comes_from_the_option_or_ovh_endpoint(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OVH_ENDPOINT", "ovh-eu")
    no_keys = cli(capsys, "import")
    assert no_keys.code == 1
    assert error_lines(no_keys) == ["error: no OVH credentials configured for ovh-eu"]
    assert cli(capsys, "import", "--endpoint", "sandbox").code == 0


# --- a large generated account, on the sandbox server ------------------------------------


def _entry(
    name: str,
    route: str,
    service_id: int,
    expires_in: str,
    renew: dict[str, str],
    domain: str | None = None,
) -> dict[str, Any]:
    """A seeded service, under ``domain`` when it is that domain's option."""
    entry: dict[str, Any] = {
        "name": name,
        "route": route,
        "id": service_id,
        "expires_in": expires_in,
        "renew": dict(renew),  # its own: the seed is a tree, not a graph
    }
    if domain is not None:
        entry["parent"] = {"name": domain, "route": "/domain"}
    return entry


def large_seed(count: int, *, seed: int = 7) -> dict[str, Any]:
    """The demo keys and ``count`` services of every kind: shared names (a domain and its
    hosting), linked options, manual renewals, pending terminations, unpaid bills,
    expired services, products managed elsewhere."""
    rng = random.Random(seed)
    data = demo_seed().to_mapping()
    services: list[dict[str, Any]] = []
    next_id = 130000001
    while len(services) < count:
        group = len(services)
        domain = f"shop{group}.example.com"
        renew = {
            "mode": "manual" if rng.random() < 0.2 else "automatic",
            "period": rng.choice(["P12M", "P24M"]),
        }
        entry: dict[str, Any] = {
            "name": domain,
            "route": "/domain",
            "id": next_id,
            "expires_in": f"{rng.randint(3, 700)}d",
            "renew": renew,
        }
        roll = rng.random()
        if roll < 0.1:
            entry["termination"] = "at_expiry"
        elif roll < 0.13:
            entry.update(expires_in=f"-{rng.randint(1, 30)}d", state="expired")
            entry["renew"] = {"mode": "manual", "period": "P12M"}
        elif roll < 0.15:
            entry["unpaid"] = True
        services.append(entry)
        next_id += 1
        kind = rng.random()
        yearly = {"mode": "automatic", "period": "P12M"}
        if kind < 0.4:  # its web hosting, named after it
            services.append(
                _entry(domain, "/hosting/web", next_id, f"{rng.randint(3, 700)}d", yearly, domain)
            )
        elif kind < 0.55:
            vps, expires_in = f"vps-{next_id:08x}.vps.ovh.net", f"{rng.randint(3, 60)}d"
            monthly = {"mode": rng.choice(["automatic", "manual"]), "period": "P1M"}
            services.append(_entry(vps, "/vps", next_id, expires_in, monthly))
        elif kind < 0.62:  # its MX Plan: managed elsewhere
            services.append(_entry(domain, "/email/domain", next_id, "300d", yearly, domain))
        elif kind < 0.66:
            line = f"xdsl-gn{group % 100000:05d}-{next_id % 1000}"
            services.append(
                _entry(line, "/xdsl", next_id, "25d", {"mode": "automatic", "period": "P1M"})
            )
        next_id += 1
    data["services"] = services[:count]
    return data


@pytest.mark.slow
def test_a_large_generated_account_imported_plans_no_changes(
    sandbox_server: SandboxServer,
    isolated: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox_server.reset(large_seed(2000), now=SANDBOX_EPOCH)
    monkeypatch.setenv("OVH_APPLICATION_KEY", "demo-ak")
    monkeypatch.setenv("OVH_APPLICATION_SECRET", "demo-as")
    monkeypatch.setenv("OVH_CONSUMER_KEY", "demo-ck")
    imported = cli(capsys, "import", "--endpoint", sandbox_server.url, "-o", "big.yaml")
    assert imported.code == 0, imported.err
    assert "adopted" in imported.err and "managed from their own interface" in imported.err
    planned = cli(capsys, "plan", "big.yaml", "--detailed-exitcode", "--format", "json")
    assert planned.code == 0, planned.err
    plan = json.loads(planned.out)
    assert plan["summary"]["no_op"] > 1000
    assert plan["refused"] == [] and plan["drift"] == []
    assert {k: v for k, v in plan["summary"].items() if k != "no_op"} == {
        "terminate_at_expiry": 0,
        "terminate_at_commitment_end": 0,
        "cancel_termination": 0,
        "delete_now": 0,
        "set_renew": 0,
        "refused": 0,
    }
    text = Path("big.yaml").read_text(encoding="utf-8")
    assert "mode: manual" in text and "lifecycle: terminate_at_expiry" in text
    assert '(hosting/web)":' in text  # shared names labelled


def test_large_seed_has_every_kind() -> None:
    seed = large_seed(300)
    routes = {s["route"] for s in seed["services"]}
    assert routes >= {"/domain", "/hosting/web", "/vps", "/email/domain", "/xdsl"}
    assert any(s.get("state") == "expired" for s in seed["services"])
    assert any(s.get("termination") == "at_expiry" for s in seed["services"])
    assert any(s.get("unpaid") for s in seed["services"])
    assert len(seed["services"]) == 300


def test_unmanaged_error_with_services_a_spec_cannot_name_is_warned(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from reconciler.cli.adopt import _warn_if_refused

    twins = LiveAccount.from_services(
        [live(1, "twin.example.com", type_="vps"), live(2, "twin.example.com", type_="vps")]
    )
    adoption = adopt(twins, endpoint="ovh-eu", now=NOW, unmanaged=UnmanagedPolicy.ERROR)
    plan = plan_of(adoption.text, twins)
    assert {r.rule.value for r in plan.refused} == {"unmanaged-service"}  # what is warned of
    _warn_if_refused(adoption, UnmanagedPolicy.ERROR)
    assert "warning: 2 manageable services cannot be named in a spec" in capsys.readouterr().err
    _warn_if_refused(adoption, UnmanagedPolicy.REPORT)
    assert capsys.readouterr().err == ""


def test_planning_an_imported_spec_reads_no_renewal_periods(
    sandbox_app: InProcessSandbox,
) -> None:
    """A stated period equal to the service's own needs no check (period-not-offered
    judges a change of period only): plan reads the offered periods of none of the
    services of an imported spec, and of exactly the ones whose period a spec changes."""
    from reconciler.core.planner import periods_to_read

    account, now = read_demo(sandbox_app)
    adoption = adopt(account, endpoint="sandbox", now=now)
    assert sum(1 for entry in adoption.spec.services if entry.period) == 9  # periods stated
    assert periods_to_read(adoption.spec, account) == ()
    changed = parse_spec(
        adoption.text.replace(
            "  vps-1a2b3c4d.vps.ovh.net:\n    lifecycle: renew\n    period: P1M",
            "  vps-1a2b3c4d.vps.ovh.net:\n    lifecycle: renew\n    period: P12M",
        ).encode(),
        "changed.yaml",
    )
    assert periods_to_read(changed, account) == (120000301,)


def test_a_period_the_service_does_not_offer_is_still_refused(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("spec.yaml").write_text(
        "version: 1\nunmanaged: ignore\nservices:\n"
        "  vps-1a2b3c4d.vps.ovh.net: {lifecycle: renew, period: P7M}\n"
        "  example.com: {type: domain, lifecycle: renew, period: P12M}\n",
        encoding="utf-8",
    )
    result = cli(capsys, "plan", "spec.yaml", "--format", "json")
    plan = json.loads(result.out)
    assert [(r["service"], r["rule"]) for r in plan["refused"]] == [
        ("vps-1a2b3c4d.vps.ovh.net", "period-not-offered")
    ]
    assert "offered: P1M" in plan["refused"][0]["message"]
