"""The ``ServiceLifecycle`` provider's methods called directly, as Pulumi's provider host
calls them, against the real sandbox server; every outcome read back with the official
``ovh`` client, and compared with what ``reconciler plan`` / ``apply`` do."""

from __future__ import annotations

import base64
import json
import pickle
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dill
import pytest
import yaml
from conftest import SandboxServer
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.rpc import UNKNOWN
from pulumi_helpers import (
    DEMO_SECRETS,
    EXAMPLE_COM_DOMAIN,
    EXAMPLE_NET,
    OLD_BRAND,
    OLD_SHOP,
    VPS,
    Stack,
    clean_environment,
    configured,
    live,
    stack,
    stack_config,
    termination_pending,
)

from reconciler.cli import main
from reconciler.core.lifecycle import LiveLifecycle
from reconciler.core.live import LiveAccount, LiveService, ProductFamily
from reconciler.core.spec import parse_spec
from reconciler.errors import (
    ApplyError,
    ConfigError,
    JournalError,
    RefusedError,
    SpecError,
    StalePlanError,
)
from reconciler.journal import Outcome, Phase
from reconciler.pulumi.inputs import check_properties
from reconciler.pulumi.operations import AccountView, SharedReads, periods_missing
from reconciler.pulumi.provider import ServiceLifecycleProvider
from reconciler.pulumi.settings import Settings

__all__ = ["clean_environment", "stack"]  # fixtures, imported to be found


# --- check ------------------------------------------------------------------------------


def test_check_normalises_a_valid_entry(stack: Stack) -> None:
    inputs = stack.checked("vps-1a2b3c4d.vps.ovh.net", lifecycle="renew", period="P12M")
    assert inputs == {
        "service": "vps-1a2b3c4d.vps.ovh.net",
        "name": "vps-1a2b3c4d.vps.ovh.net",
        "lifecycle": "renew",
        "mode": "automatic",
        "period": "P12M",
        "commitment_end": None,  # the end rule left as it is
        "type": None,
        "protect": False,
        "endpoint": stack.server.url,
        "keep": [],
    }
    # Checking what check returned changes nothing (Pulumi checks stored inputs again).
    assert stack.provider.check({}, dict(inputs)).inputs == inputs


BAD_ENTRIES: list[tuple[dict[str, Any], str]] = [
    # properties, the property the failure names
    ({"lifecycle": "renw"}, "lifecycle"),
    ({"lifecycle": "renew", "period": "P1Y"}, "period"),
    ({"lifecycle": "renew", "period": 12}, "period"),
    ({"lifecycle": "renew", "protect": "yes"}, "protect"),
    ({"lifecycle": "delete_now", "type": "domain"}, "type"),
    ({"lifecycle": "terminate_at_expiry", "mode": "manual"}, "mode"),
    ({"lifecycle": "renew", "type": "hostng/web"}, "type"),
]


@pytest.mark.parametrize(("properties", "where"), BAD_ENTRIES, ids=lambda v: str(v))
def test_check_gives_the_spec_readers_own_messages(
    stack: Stack, properties: dict[str, Any], where: str
) -> None:
    """Same errors as `reconciler validate`: the failure is the spec reader's message and
    fix for the same entry written in a spec file, pinned to its property."""
    result = stack.provider.check({}, stack.props("www.example.com", **properties))
    document = yaml.safe_dump({"version": 1, "services": {"www.example.com": properties}})
    with pytest.raises(SpecError) as raised:
        parse_spec(document.encode(), "spec.yaml")
    expected = [f"{p.message} — {p.fix}" for p in raised.value.problems]
    assert [(f.property, f.reason) for f in result.failures] == [(where, r) for r in expected]


def test_check_names_unknown_properties_and_outputs_set_by_hand(stack: Stack) -> None:
    result = stack.provider.check(
        {}, stack.props("x.example.com", lifecycle="renew", lifecylce="renew", service_id=3.0)
    )
    assert {f.property for f in result.failures} == {"lifecylce", "service_id"}


def plan_json(capsys: pytest.CaptureFixture[str], server: SandboxServer, spec: Path) -> Any:
    """`reconciler plan --format json` of ``spec`` on the sandbox server."""
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["plan", str(spec), "--format", "json", "--endpoint", server.url])
    return json.loads(capsys.readouterr().out)


def test_check_refuses_what_reconciler_plan_refuses_with_rule_and_fix(
    stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same rules as `reconciler plan`: for each entry the plan refuses, check fails
    with the plan's own rule code, message and fix, on the property the rule is about."""
    entries = {
        "campaign-2025.example.com": {"lifecycle": "renew", "type": "hosting/web"},
        "xdsl-ab12345-1": {"lifecycle": "terminate_at_expiry"},
        "vps-9f8e7d6c.vps.ovh.net": {"lifecycle": "terminate_at_expiry"},
        "gone.example.com": {"lifecycle": "renew"},
        "example.org": {"lifecycle": "renew"},
        "vps-1a2b3c4d.vps.ovh.net": {"lifecycle": "renew", "period": "P7M"},
        "example.net": {"lifecycle": "terminate_at_expiry", "protect": True},
    }
    spec = Path("refused.yaml")
    lines = ["version: 1", "unmanaged: ignore", "services:"]
    for key, fields in entries.items():
        lines.append(f"  {key}:")
        lines += [f"    {name}: {json.dumps(value)}" for name, value in fields.items()]
    spec.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("OVH_APPLICATION_KEY", stack.server.application_key)
    monkeypatch.setenv("OVH_APPLICATION_SECRET", stack.server.application_secret)
    monkeypatch.setenv("OVH_CONSUMER_KEY", stack.server.consumer_key)
    planned = plan_json(capsys, stack.server, spec)
    by_service: dict[str, list[str]] = {}
    for refusal in planned["refused"]:
        text = f"[{refusal['rule']}] {refusal['message']} — fix: {refusal['fix']}"
        by_service.setdefault(refusal["service"], []).append(text)
    assert set(by_service) == set(entries)  # every entry is refused by the plan

    where = {
        "campaign-2025.example.com": "lifecycle",  # cancel-window-closed
        "xdsl-ab12345-1": "lifecycle",  # unmanageable-service
        "vps-9f8e7d6c.vps.ovh.net": "lifecycle",  # unpaid-service
        "gone.example.com": "name",  # unknown-service
        "example.org": "type",  # ambiguous-service
        "vps-1a2b3c4d.vps.ovh.net": "period",  # period-not-offered
        "example.net": "protect",  # protected
    }
    for key, fields in entries.items():
        result = stack.provider.check({}, stack.props(key, **fields))
        assert [f.reason for f in result.failures] == by_service[key], key
        assert {f.property for f in result.failures} == {where[key]}, key
    assert stack.records() == []  # judging reads; it never writes a journal


def test_linked_services_the_spec_keeps_refuse_a_termination(stack: Stack) -> None:
    """`keep` is how a resource knows what the rest of its spec keeps: terminating the
    domain whose web hosting is kept is refused (linked-service-conflict)."""
    domain = {"name": "example.com", "type": "domain", "lifecycle": "terminate_at_expiry"}
    alone = stack.provider.check({}, stack.props("example.com (domain)", **domain))
    assert alone.failures == []
    kept = stack.provider.check(
        {},
        stack.props(
            "example.com (domain)",
            **domain,
            keep=[{"name": "example.com", "type": "hosting/web"}],
        ),
    )
    assert [f.property for f in kept.failures] == ["lifecycle"]
    assert kept.failures[0].reason.startswith("[linked-service-conflict] ")
    assert " — fix: " in kept.failures[0].reason


# --- diff -------------------------------------------------------------------------------


def created(stack: Stack, service: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    """Create a resource (check, then create), as `pulumi up` does for a new one."""
    result = stack.provider.create(stack.checked(service, **fields))
    assert result.outs is not None
    return result.id, result.outs


def as_pulumi_returns(outs: dict[str, Any]) -> dict[str, Any]:
    """Outputs as they come back from Pulumi's state: numbers are floats."""
    return {
        k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v
        for k, v in outs.items()
    }


def test_diff_reports_no_change_an_update_or_an_irreversible_replacement(
    stack: Stack, ovh_client: Any
) -> None:
    rid, outs = created(stack, "old-shop.example.org", type="hosting/web", lifecycle="renew")
    assert rid == str(OLD_SHOP)
    olds = as_pulumi_returns(outs)
    same = stack.checked("old-shop.example.org", type="hosting/web", lifecycle="renew")
    nothing = stack.provider.diff(rid, olds, same)
    assert (nothing.changes, nothing.replaces) == (False, [])

    going = stack.checked(
        "old-shop.example.org", type="hosting/web", lifecycle="terminate_at_expiry"
    )
    update = stack.provider.diff(rid, olds, going)
    assert (update.changes, update.replaces, update.delete_before_replace) == (True, [], False)

    delete = stack.checked("old-shop.example.org", type="hosting/web", lifecycle="delete_now")
    irreversible = stack.provider.diff(rid, olds, delete)
    assert irreversible.changes is True
    assert irreversible.replaces == ["lifecycle"]
    assert irreversible.delete_before_replace is True
    assert not termination_pending(ovh_client, OLD_SHOP)  # diffs change nothing


def test_diff_shows_drift_made_out_of_band_as_an_update(stack: Stack, ovh_client: Any) -> None:
    """No state file: the account is the truth. A termination set in the control panel
    behind Pulumi's back shows as an update that cancels it."""
    rid, outs = created(stack, "example.net", type="domain", lifecycle="renew")
    ovh_client.put(f"/services/{EXAMPLE_NET}", terminationPolicy="terminateAtExpirationDate")
    news = stack.checked("example.net", type="domain", lifecycle="renew")
    drift = stack.provider.diff(rid, as_pulumi_returns(outs), news)
    assert (drift.changes, drift.replaces) == (True, [])


def test_diff_of_a_wanted_state_change_without_api_change_is_an_update(stack: Stack) -> None:
    rid, outs = created(stack, "example.net", type="domain", lifecycle="renew")
    news = stack.checked("example.net", type="domain", lifecycle="renew", protect=True)
    result = stack.provider.diff(rid, as_pulumi_returns(outs), news)
    assert (result.changes, result.replaces) == (True, [])
    # ...and `keep` alone is context: no change.
    kept = stack.checked("example.net", type="domain", lifecycle="renew", keep=[{"name": "x.fr"}])
    assert stack.provider.diff(rid, as_pulumi_returns(outs), kept).changes is False


def test_diff_replaces_when_the_entry_now_names_another_service(stack: Stack) -> None:
    rid, outs = created(stack, "www", name="example.net", type="domain", lifecycle="renew")
    news = stack.checked("www", name="old-brand.fr", type="domain", lifecycle="terminate_at_expiry")
    result = stack.provider.diff(rid, as_pulumi_returns(outs), news)
    assert (result.changes, result.replaces, result.delete_before_replace) == (
        True,
        ["name"],
        False,
    )
    other = stack.checked(
        "www", name="example.net", type="domain", lifecycle="renew", endpoint="sandbox"
    )
    assert stack.provider.diff(rid, as_pulumi_returns(outs), other).replaces == ["endpoint"]


def test_diff_refuses_a_change_the_rules_refuse_now(
    sandbox_server: SandboxServer, clean_environment: Path
) -> None:
    """A cancellation planned 25 hours before expiry is refused at 23 hours, at diff
    time as at apply time, with the rule code and the fix. (Each diff reads afresh here:
    a preview never sees the API's clock jump between two of its checks.)"""
    journal = clean_environment / "journal.jsonl"
    config = stack_config(sandbox_server, journal, readCacheSeconds="0")
    stack = Stack(configured(config), sandbox_server, journal)
    rid, outs = created(stack, "old-brand.fr", type="domain", lifecycle="terminate_at_expiry")
    expiry = live_expiry(stack, OLD_BRAND)
    stack.server.set_clock(expiry - timedelta(hours=25))
    news = stack.checked("old-brand.fr", type="domain", lifecycle="renew")
    assert stack.provider.diff(rid, as_pulumi_returns(outs), news).changes is True
    stack.server.set_clock(expiry - timedelta(hours=23))
    with pytest.raises(RefusedError) as refused:
        stack.provider.diff(rid, as_pulumi_returns(outs), news)
    assert "[cancel-window-closed]" in str(refused.value)
    assert "fix:" in str(refused.value)
    assert any(note.startswith("hint: ") for note in refused.value.__notes__)


def live_expiry(stack: Stack, service_id: int) -> datetime:
    outs = stack.provider.read(str(service_id), {"endpoint": stack.server.url}).outs
    assert outs is not None
    return datetime.fromisoformat(outs["expiry"].replace("Z", "+00:00"))


def test_the_checks_and_diffs_of_a_preview_share_one_account_read(
    stack: Stack, ovh_client: Any
) -> None:
    """A preview reads the account once for all its resources, not twice per resource;
    what is applied is read afresh, and then the shared read is dropped."""
    rid, outs = created(stack, "example.net", type="domain", lifecycle="renew")
    news = stack.checked("example.net", type="domain", lifecycle="renew")  # reads, shares
    ovh_client.put(f"/services/{EXAMPLE_NET}", terminationPolicy="terminateAtExpirationDate")
    # Within the same preview the shared read is used: the out-of-band change is not seen.
    assert stack.provider.diff(rid, as_pulumi_returns(outs), news).changes is False
    # An apply (another resource's) reads afresh...
    going = stack.checked("old-brand.fr", type="domain", lifecycle="renew")
    stack.provider.create(going)
    # ...and drops the shared read: the next diff sees the account as it is.
    assert stack.provider.diff(rid, as_pulumi_returns(outs), news).changes is True
    fresh = configured(stack_config(stack.server, stack.journal, readCacheSeconds="0"))
    assert fresh.diff(rid, as_pulumi_returns(outs), news).changes is True


def test_shared_reads_expire_and_can_be_turned_off() -> None:
    now = [100.0]
    view = AccountView(account=LiveAccount(services=()), endpoint="sandbox", offset=timedelta())
    reads = SharedReads(30, monotonic=lambda: now[0])
    key = ("http://x/1.0", ())
    assert reads.get(key) is None
    reads.put(key, view)
    assert reads.get(key) is view and reads.get(("http://x/1.0", ("a.fr",))) is None
    now[0] += 29.9
    assert reads.get(key) is view
    now[0] += 0.1
    assert reads.get(key) is None
    reads.put(key, view)
    reads.clear()
    assert reads.get(key) is None
    never = SharedReads(0, monotonic=lambda: now[0])
    never.put(key, view)
    assert never.get(key) is None


# --- create / update -------------------------------------------------------------------------


def test_create_applies_every_transition_through_the_journal(stack: Stack, ovh_client: Any) -> None:
    """Create carries out what `reconciler apply` would, through the same apply and the
    same journal: each transition is checked on the account with the official client."""
    rid, outs = created(stack, "example.net", type="domain", lifecycle="terminate_at_expiry")
    assert (rid, outs["service_id"], outs["live_lifecycle"]) == (
        str(EXAMPLE_NET),
        EXAMPLE_NET,
        "terminate_at_expiry",
    )
    assert termination_pending(ovh_client, EXAMPLE_NET)

    rid, outs = created(stack, "old-brand.fr", type="domain", lifecycle="renew")
    assert outs["live_lifecycle"] == "renew" and not termination_pending(ovh_client, OLD_BRAND)

    rid, outs = created(stack, "vps-1a2b3c4d.vps.ovh.net", lifecycle="renew", period="P12M")
    assert outs["live_period"] == "P12M"
    assert live(ovh_client, VPS)["billing"]["renew"]["current"]["period"] == "P12M"

    rid, outs = created(stack, "old-shop.example.org", type="hosting/web", lifecycle="delete_now")
    assert rid == str(OLD_SHOP) and outs["live_lifecycle"] in ("terminated", "absent")
    assert outs["journal_run"]

    records = stack.records()
    runs = {r.run for r in records}
    assert len(runs) == 4 and outs["journal_run"] in runs
    started = [r for r in records if r.phase == Phase.RUN and r.outcome == Outcome.STARTED]
    assert {r.detail["source"] for r in started} == {
        f"pulumi ServiceLifecycle {key}"
        for key in (
            "example.net",
            "old-brand.fr",
            "vps-1a2b3c4d.vps.ovh.net",
            "old-shop.example.org",
        )
    }
    done = [r for r in records if r.phase == Phase.ACTION and r.outcome == Outcome.DONE]
    assert sorted(r.action for r in done) == sorted(
        ["terminate_at_expiry", "cancel_termination", "set_renew", "delete_now"]
    )
    token_found = [r for r in records if r.phase == Phase.TOKEN and r.outcome == Outcome.FOUND]
    assert len(token_found) == 1 and token_found[0].service_id == OLD_SHOP
    journal_text = stack.journal.read_text()
    assert not any(secret in journal_text for secret in DEMO_SECRETS)


def test_create_again_changes_nothing_and_writes_no_journal(stack: Stack) -> None:
    created(stack, "example.net", type="domain", lifecycle="terminate_at_expiry")
    before = len(stack.records())
    _, outs = created(stack, "example.net", type="domain", lifecycle="terminate_at_expiry")
    assert outs["journal_run"] is None and len(stack.records()) == before


def test_create_of_a_name_the_account_does_not_have_is_refused(stack: Stack) -> None:
    """A name that matches nothing is most often a typo: never "already done"."""
    props = stack.props("long-gone.example.com", lifecycle="terminate_at_expiry")
    result = stack.provider.check({}, props)
    reasons = " ".join(failure.reason for failure in result.failures)
    assert "unknown-service" in reasons or "no service named" in reasons, reasons
    with pytest.raises(RefusedError, match=r"\[unknown-service\]"):
        stack.provider.create(props)
    assert stack.records() == []


def test_create_refused_applies_nothing(stack: Stack, ovh_client: Any) -> None:
    props = stack.props("example.net", type="domain", lifecycle="terminate_at_expiry", protect=True)
    with pytest.raises(RefusedError, match=r"\[protected\]"):
        stack.provider.create(props)
    assert not termination_pending(ovh_client, EXAMPLE_NET)
    assert stack.records() == []


def test_update_applies_and_keeps_its_id(stack: Stack, ovh_client: Any) -> None:
    rid, outs = created(stack, "example.net", type="domain", lifecycle="renew")
    assert outs["journal_run"] is None
    news = stack.checked("example.net", type="domain", lifecycle="terminate_at_expiry")
    updated = stack.provider.update(rid, as_pulumi_returns(outs), news).outs
    assert updated is not None and updated["live_lifecycle"] == "terminate_at_expiry"
    assert updated["service_id"] == EXAMPLE_NET and updated["journal_run"]
    assert termination_pending(ovh_client, EXAMPLE_NET)
    back = stack.checked("example.net", type="domain", lifecycle="renew")
    again = stack.provider.update(rid, as_pulumi_returns(updated), back).outs
    assert again is not None and again["live_lifecycle"] == "renew"
    assert not termination_pending(ovh_client, EXAMPLE_NET)


def test_update_never_acts_on_another_service_than_its_own(stack: Stack, ovh_client: Any) -> None:
    rid, outs = created(stack, "www", name="example.net", type="domain", lifecycle="renew")
    news = stack.checked("www", name="old-brand.fr", type="domain", lifecycle="terminate_at_expiry")
    with pytest.raises(StalePlanError, match="manages #120000102"):
        stack.provider.update(rid, as_pulumi_returns(outs), news)
    assert not termination_pending(ovh_client, EXAMPLE_NET)


def test_a_failed_action_fails_with_its_reason_and_how_to_resume(
    sandbox_server: SandboxServer, clean_environment: Path, ovh_client: Any
) -> None:
    """A call the API refuses (a read-only consumer key here) fails create with the
    API's reason, the journal's run, and how to resume; nothing else is changed."""
    journal = clean_environment / "journal.jsonl"
    config = stack_config(sandbox_server, journal) | {"reconciler:consumerKey": "demo-readonly-ck"}
    stack = Stack(configured(config), sandbox_server, journal)
    props = stack.checked("example.net", type="domain", lifecycle="terminate_at_expiry")
    with pytest.raises(ApplyError) as failed:
        stack.provider.create(props)
    message = str(failed.value)
    assert message.startswith("example.net: ") and "NOT_GRANTED_CALL" in message
    hint = failed.value.hint or ""
    assert "run `pulumi up` again" in hint and "reconciler journal --run " in hint
    assert not termination_pending(ovh_client, EXAMPLE_NET)
    outcomes = [(r.phase, r.outcome) for r in stack.records()]
    assert (Phase.CALL, Outcome.FAILED) in outcomes and (Phase.ACTION, Outcome.FAILED) in outcomes


def test_an_unwritable_journal_stops_everything_before_any_call(
    sandbox_server: SandboxServer, clean_environment: Path, ovh_client: Any
) -> None:
    blocker = clean_environment / "not-a-directory"
    blocker.write_text("")
    stack = Stack(
        configured(stack_config(sandbox_server, blocker / "journal.jsonl")),
        sandbox_server,
        blocker / "journal.jsonl",
    )
    props = stack.checked("example.net", type="domain", lifecycle="terminate_at_expiry")
    with pytest.raises(JournalError):
        stack.provider.create(props)
    assert not termination_pending(ovh_client, EXAMPLE_NET)


# --- read / delete ----------------------------------------------------------------------------


def test_read_refreshes_from_the_live_account_with_float_ids(stack: Stack, ovh_client: Any) -> None:
    rid, outs = created(stack, "example.net", type="domain", lifecycle="renew")
    ovh_client.put(f"/services/{EXAMPLE_NET}", terminationPolicy="terminateAtExpirationDate")
    read = stack.provider.read(rid, as_pulumi_returns(outs))
    assert read.id == rid and read.outs is not None
    assert read.outs["live_lifecycle"] == "terminate_at_expiry"
    assert read.outs["service_id"] == EXAMPLE_NET  # an int again
    assert read.outs["lifecycle"] == "renew"  # what is wanted is not what is read
    assert stack.records() == []


def test_delete_stops_managing_and_never_touches_the_service(stack: Stack, ovh_client: Any) -> None:
    rid, outs = created(stack, "example.net", type="domain", lifecycle="terminate_at_expiry")
    before = live(ovh_client, EXAMPLE_NET)
    records = len(stack.records())
    # An endpoint nothing listens on: any call would fail. Delete makes none.
    unreachable = dict(outs, endpoint="http://127.0.0.1:9/1.0")
    assert stack.provider.delete(rid, unreachable) is None
    assert stack.provider.delete(rid, as_pulumi_returns(outs)) is None
    assert live(ovh_client, EXAMPLE_NET) == before
    assert termination_pending(ovh_client, EXAMPLE_NET)  # still as the resource left it
    assert len(stack.records()) == records
    # A resource whose service is being deleted: removing it does not stop the deletion,
    # nor start one.
    rid, outs = created(
        stack, "example.com (domain)", name="example.com", type="domain", lifecycle="renew"
    )
    stack.provider.delete(rid, outs)
    assert live(ovh_client, EXAMPLE_COM_DOMAIN)["resource"]["state"] == "active"


# --- pickling and credentials -------------------------------------------------------------------


def test_the_pickled_provider_is_its_class_name_and_holds_no_secret(stack: Stack) -> None:
    """Pulumi pickles the provider into the state with dill: only the class travels,
    even from a provider that was configured with the stack's secrets."""
    for provider in (ServiceLifecycleProvider(), stack.provider):
        encoded = serialize_provider(provider)
        raw = base64.b64decode(encoded)
        assert b"reconciler.pulumi.provider" in raw
        assert len(raw) < 400, len(raw)
        for secret in (*DEMO_SECRETS, stack.server.application_key, str(stack.journal)):
            assert secret.encode() not in raw
        assert b"httpx" not in raw and b"OvhClient" not in raw
        restored = dill.loads(raw)
        assert type(restored) is ServiceLifecycleProvider
        assert restored.settings.credentials == {}
    # The restored provider is configured by the host, then works.
    restored = dill.loads(base64.b64decode(serialize_provider(stack.provider)))
    config = Config(raw_config=stack_config(stack.server, stack.journal), project_name="x")
    restored.configure(ConfigureRequest(config))
    assert (
        restored.check({}, stack.props("example.net", lifecycle="renew", type="domain")).failures
        == []
    )
    assert "demo-as" not in repr(restored.settings)
    assert pickle.loads(pickle.dumps(restored)).settings.credentials == {}


def test_credentials_come_from_the_environment_without_stack_config(
    sandbox_server: SandboxServer, clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = ServiceLifecycleProvider()
    props = {
        "service": "example.net",
        "type": "domain",
        "lifecycle": "renew",
        "endpoint": sandbox_server.url,
    }
    with pytest.raises(Exception, match="no OVH credentials configured"):
        provider.check({}, props)
    monkeypatch.setenv("OVH_APPLICATION_KEY", sandbox_server.application_key)
    monkeypatch.setenv("OVH_APPLICATION_SECRET", sandbox_server.application_secret)
    monkeypatch.setenv("OVH_CONSUMER_KEY", sandbox_server.consumer_key)
    assert provider.check({}, props).failures == []
    # The stack's own credentials win over the environment's (never a mix).
    monkeypatch.setenv("OVH_APPLICATION_SECRET", "wrong-secret")
    journal = clean_environment / "journal.jsonl"
    assert configured(stack_config(sandbox_server, journal)).check({}, props).failures == []
    with pytest.raises(Exception, match="signature|INVALID"):
        ServiceLifecycleProvider().check({}, props)


def test_the_embedded_sandbox_endpoint_works_from_the_working_directory(
    clean_environment: Path,
) -> None:
    provider = ServiceLifecycleProvider()
    inputs = provider.check(
        {}, {"service": "example.net", "type": "domain", "lifecycle": "terminate_at_expiry"}
    )
    assert inputs.failures == [] and inputs.inputs["endpoint"] == "sandbox"
    result = provider.create(inputs.inputs)
    assert result.id == str(EXAMPLE_NET) and result.outs is not None
    assert result.outs["live_lifecycle"] == "terminate_at_expiry"
    assert (clean_environment / ".reconciler" / "sandbox.db").exists()
    assert (clean_environment / ".reconciler" / "journal.jsonl").exists()


def test_values_a_preview_does_not_know_yet_are_not_judged(
    sandbox_server: SandboxServer, clean_environment: Path
) -> None:
    """A name computed by another resource is unknown during a preview: nothing can be
    judged yet (no call is made: the endpoint here answers nothing), and the diff says
    there may be a change."""
    provider = ServiceLifecycleProvider()
    props = {
        "service": "www",
        "name": UNKNOWN,
        "lifecycle": "renew",
        "endpoint": "http://127.0.0.1:9/1.0",
    }
    result = provider.check({}, props)
    assert result.failures == [] and result.inputs["name"] == UNKNOWN
    assert provider.diff("120000102", {"service": "www"}, props).changes is True


def test_a_deletions_token_never_reaches_the_journal_nor_the_outputs(
    stack: Stack, ovh_client: Any
) -> None:
    rid, outs = created(stack, "old-shop.example.org", type="hosting/web", lifecycle="delete_now")
    tokens = [
        link.split("token=", 1)[1].split()[0].rstrip(".,;\"'<>)")
        for email in stack.server.emails()
        for link in email["body"].split()
        if "confirmTerminate" in link and "token=" in link
    ]
    assert tokens, "the sandbox e-mailed a confirmation token"
    text = stack.journal.read_text() + json.dumps(outs)
    assert not any(token in text for token in tokens)


def test_settings_from_the_stack_configuration() -> None:
    settings = Settings.from_config(
        {
            "reconciler:applicationKey": "ak",
            "reconciler:applicationSecret": "as-secret",
            "reconciler:tokenTimeout": "90s",
            "reconciler:readCacheSeconds": 0.0,  # a number written unquoted in the YAML
            "reconciler:journal": "audit/journal.jsonl",
            "other:applicationSecret": "not ours",
        }
    )
    assert settings.token_timeout == timedelta(seconds=90)
    assert settings.read_cache_seconds == 0
    assert "as-secret" not in repr(settings) and "as-secret" not in str(settings)
    environ = settings.environ(
        {"OVH_APPLICATION_SECRET": "env", "OVH_CLIENT_ID": "env-client", "HOME": "/h"}
    )
    assert environ == {
        "OVH_APPLICATION_KEY": "ak",
        "OVH_APPLICATION_SECRET": "as-secret",
        "HOME": "/h",
    }  # the configured credentials replace the environment's, never mixed with them
    assert settings.journal_path({}, Path("/project")) == Path("/project/audit/journal.jsonl")
    assert Settings().journal_path({"RECONCILER_STATE_DIR": "/state"}, Path("/p")) == Path(
        "/state/journal.jsonl"
    )
    assert Settings().environ({"OVH_CONSUMER_KEY": "ck"}) == {"OVH_CONSUMER_KEY": "ck"}
    for key, value in (("tokenTimeout", "soon"), ("readCacheSeconds", "-1"), ("journal", ["a"])):
        with pytest.raises(ConfigError, match=f"reconciler:{key}"):
            Settings.from_config({f"reconciler:{key}": value})


def test_a_shared_read_learns_the_offered_periods_each_entry_needs() -> None:
    """Only an entry asking another period than the service's own needs its offered
    periods (as `reconciler plan` reads them); once read, they stay in the shared read."""
    vps = LiveService(
        service_id=VPS,
        name="vps-1a2b3c4d.vps.ovh.net",
        display_name="vps",
        type="vps",
        family=ProductFamily.VPS,
        lifecycle=LiveLifecycle.RENEW,
        renew_mode="automatic",
        renew_period="P1M",
    )
    view = AccountView(LiveAccount.from_services([vps]), "sandbox", timedelta())
    checked = check_properties({"service": vps.name, "lifecycle": "renew", "period": "P12M"})
    same = check_properties({"service": vps.name, "lifecycle": "renew", "period": "P1M"})
    assert checked.entry is not None and same.entry is not None
    assert periods_missing(checked.entry, view) == (VPS,)
    assert periods_missing(same.entry, view) == ()
    learnt = AccountView(
        LiveAccount.from_services([vps]).with_offered_periods({VPS: ("P1M", "P12M")}),
        "sandbox",
        timedelta(),
    )
    assert periods_missing(checked.entry, learnt) == ()
