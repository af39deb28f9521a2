"""End to end on the served sandbox, the account checked afterwards with the official
``ovh`` client, for what the control panel does and reconciler must do the same way:
a deletion only from the administrator contact's key, a commitment ending on
CANCEL_SERVICE reset before its termination is cancelled, and manual renewal never
switched to automatic unless the spec asks."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import ovh
import ovh.exceptions
import pytest
from conftest import SandboxServer
from sandbox_env import cli
from test_apply_e2e import DELETE_SHOP, SHOP, journal_text, server, write

from reconciler.sandbox import demo_seed
from reconciler.sandbox.testing import SANDBOX_EPOCH

__all__ = ["server"]  # the fixture, shared with test_apply_e2e

SERVER = 120000401  # ns3012345.ip-51-75-10.eu: manual, under a commitment


def reseed(sandbox: SandboxServer, change: Any) -> None:
    """The demo account with ``change(services)`` applied to its services."""
    seed = copy.deepcopy(demo_seed().to_mapping())
    change({s["name"]: s for s in seed["services"]})
    sandbox.reset(seed, now=SANDBOX_EPOCH)


def delete_shop_administered_by(sandbox: SandboxServer, nic: str) -> str:
    """The demo account with ``nic`` as old-shop.example.org's administrator contact;
    the spec that deletes the shop, written."""

    def admin_contact(services: dict[str, dict[str, Any]]) -> None:
        services["old-shop.example.org"]["contacts"] = {"admin": nic}

    reseed(sandbox, admin_contact)
    return write("spec.yaml", DELETE_SHOP)


def renew_server(more: str = "", *, name: str = "spec.yaml") -> str:
    """Write the spec that renews the dedicated server, with ``more`` keys in its entry."""
    entry = f"  ns3012345.ip-51-75-10.eu: {{type: dedicated/server, lifecycle: renew{more}}}\n"
    return write(name, "version: 1\nunmanaged: ignore\nservices:\n" + entry)


def lifecycle(official: ovh.Client, service_id: int) -> dict[str, Any]:
    service: dict[str, Any] = official.get(f"/services/{service_id}")
    return service


def test_a_deletion_from_a_key_that_is_not_the_admin_contact_is_refused_before_any_call(
    server: SandboxServer, ovh_client: ovh.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = delete_shop_administered_by(server, "cd67890-ovh")  # an agency's account
    planned = cli(capsys, "plan", spec, "--endpoint", server.url, "--detailed-exitcode")
    assert planned.code == 3, planned.out + planned.err
    assert "[not-admin-contact]" in planned.out
    assert "cd67890-ovh" in planned.out and "--token old-shop.example.org=@FILE" in planned.out
    applied = cli(capsys, "apply", spec, "--endpoint", server.url, "--auto-approve")
    assert applied.code == 3, applied.out + applied.err
    assert "not-admin-contact" in applied.err + applied.out
    # Nothing was sent: the hosting is as it was, and no apply call is in the journal.
    shop = lifecycle(ovh_client, SHOP)
    assert shop["resource"]["state"] == "active"
    assert shop["billing"]["lifecycle"]["current"]["state"] == "active"
    assert '"phase":"call"' not in journal_text().replace(" ", "")


def test_the_admin_contacts_key_deletes(
    server: SandboxServer, ovh_client: ovh.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same spec from the administrator's key (the demo key's account is the shop's
    administrator contact here): deleted, and the account shows it gone."""
    spec = delete_shop_administered_by(server, "ab12345-ovh")  # the demo key's account
    applied = cli(capsys, "apply", spec, "--endpoint", server.url, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    with pytest.raises(ovh.exceptions.ResourceNotFoundError):  # no retention seeded: gone
        lifecycle(ovh_client, SHOP)
    assert "Apply complete: 1 done" in applied.out


def test_cancelling_a_commitment_end_termination_resets_the_end_rule_first(
    server: SandboxServer, ovh_client: ovh.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    def ends_on_cancel(services: dict[str, dict[str, Any]]) -> None:
        server_seed = services["ns3012345.ip-51-75-10.eu"]
        server_seed["renew"] = {"mode": "automatic", "period": "P1M"}
        server_seed["engagement_strategy"] = "CANCEL_SERVICE"
        server_seed["engagement_strategies"] = ["CANCEL_SERVICE", "REACTIVATE_ENGAGEMENT"]

    reseed(server, ends_on_cancel)
    before = lifecycle(ovh_client, SERVER)
    assert before["billing"]["engagement"]["endRule"]["strategy"] == "CANCEL_SERVICE"
    spec = renew_server()
    planned = cli(capsys, "plan", spec, "--endpoint", server.url, "--format", "json")
    assert '"cancel_termination"' in planned.out, planned.out + planned.err
    assert "REACTIVATE_ENGAGEMENT" in planned.out
    applied = cli(capsys, "apply", spec, "--endpoint", server.url, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    after = lifecycle(ovh_client, SERVER)
    assert after["billing"]["engagement"]["endRule"]["strategy"] == "REACTIVATE_ENGAGEMENT"
    assert after["billing"]["renew"]["current"]["mode"] == "automatic"
    assert not after["billing"]["lifecycle"]["current"]["terminationDate"]
    assert cli(capsys, "plan", spec, "--endpoint", server.url, "--detailed-exitcode").code == 0


def test_a_manual_service_marked_as_the_panel_marks_it_stays_manual(
    server: SandboxServer, ovh_client: ovh.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    """Manual renewal carries the panel's terminateAtExpirationDate marking: a spec that
    keeps it manual plans no change and sends nothing; import writes it as manual."""

    def marked(services: dict[str, dict[str, Any]]) -> None:
        services["ns3012345.ip-51-75-10.eu"]["termination"] = "at_expiry"

    reseed(server, marked)
    seen = lifecycle(ovh_client, SERVER)
    assert seen["billing"]["renew"]["current"]["mode"] == "manual"
    spec = renew_server(", mode: manual")
    assert cli(capsys, "plan", spec, "--endpoint", server.url, "--detailed-exitcode").code == 0
    applied = cli(capsys, "apply", spec, "--endpoint", server.url, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    after = lifecycle(ovh_client, SERVER)
    assert after["billing"]["renew"]["current"]["mode"] == "manual"
    imported = cli(capsys, "import", "--endpoint", server.url, "--output", "imported.yaml")
    assert imported.code == 0, imported.out + imported.err
    text = Path("imported.yaml").read_text(encoding="utf-8")
    block = text[text.index("ns3012345.ip-51-75-10.eu") :].split("\n\n")[0]
    assert "mode: manual" in block and "terminate_at_expiry" not in block


def test_a_commitment_end_rule_stated_in_the_spec_is_set_and_then_in_sync(
    server: SandboxServer, ovh_client: ovh.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    """`commitment_end: keep_price` on a server committed with REACTIVATE_ENGAGEMENT: the
    plan shows the end rule change and nothing else, apply sets it through
    `/billing/engagement/endRule` (the official client sees it), and the next plan is in
    sync; a strategy the commitment does not offer is refused and nothing is sent."""

    def committed(services: dict[str, dict[str, Any]]) -> None:
        server_seed = services["ns3012345.ip-51-75-10.eu"]
        server_seed["renew"] = {"mode": "automatic", "period": "P1M"}
        server_seed["engagement_strategy"] = "REACTIVATE_ENGAGEMENT"
        server_seed["engagement_strategies"] = [
            "REACTIVATE_ENGAGEMENT",
            "STOP_ENGAGEMENT_KEEP_PRICE",
        ]

    reseed(server, committed)
    refused = renew_server(", commitment_end: default_price", name="refused.yaml")
    planned = cli(capsys, "apply", refused, "--endpoint", server.url, "--auto-approve")
    assert planned.code == 3, planned.out + planned.err
    assert "strategy-not-offered" in planned.out + planned.err
    engagement = ovh_client.get(f"/services/{SERVER}/billing/engagement")
    assert engagement["endRule"]["strategy"] == "REACTIVATE_ENGAGEMENT"

    spec = renew_server(", commitment_end: keep_price")
    planned = cli(capsys, "plan", spec, "--endpoint", server.url, "--format", "json")
    assert '"set_renew"' in planned.out, planned.out + planned.err
    assert "/billing/engagement/endRule" in planned.out
    assert "serviceInfos" not in planned.out  # the renewal itself is left alone
    applied = cli(capsys, "apply", spec, "--endpoint", server.url, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    engagement = ovh_client.get(f"/services/{SERVER}/billing/engagement")
    assert engagement["endRule"]["strategy"] == "STOP_ENGAGEMENT_KEEP_PRICE"
    after = lifecycle(ovh_client, SERVER)
    assert after["billing"]["renew"]["current"]["mode"] == "automatic"
    assert cli(capsys, "plan", spec, "--endpoint", server.url, "--detailed-exitcode").code == 0
