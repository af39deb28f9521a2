"""Manual renewal in the spec (``lifecycle: renew`` + ``mode: manual``), from the value
to the account: the model's defaults and contradictions, plan files written before the
field existed, and plan → apply → plan on the sandbox server, read back with the
official client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ovh
import pytest
from gitops_helpers import isolated, use_key
from pydantic import ValidationError
from sandbox_env import cli

from reconciler.core.lifecycle import Lifecycle, RenewMode
from reconciler.core.live import LiveAccount
from reconciler.core.planfile import dump_plan, parse_plan
from reconciler.core.planner import make_plan
from reconciler.core.spec import ServiceSpec, Spec, dump_spec, parse_spec
from reconciler.sandbox.testing import SANDBOX_EPOCH, SandboxServer

__all__ = ["isolated"]

VPS = 120000301  # renews automatically every month
OLD_BRAND = 120000103  # a domain set to terminate at expiry


def test_renew_defaults_to_automatic_and_other_lifecycles_have_no_mode() -> None:
    assert ServiceSpec(key="a", name="a", lifecycle=Lifecycle.RENEW).mode is RenewMode.AUTOMATIC
    assert ServiceSpec(key="a", name="a", lifecycle="renew", mode="manual").manual  # type: ignore[arg-type]
    going = ServiceSpec(key="a", name="a", lifecycle=Lifecycle.TERMINATE_AT_EXPIRY)
    assert going.mode is None and not going.manual
    with pytest.raises(ValidationError, match="mode applies to lifecycle renew only"):
        ServiceSpec(key="a", name="a", lifecycle=Lifecycle.DELETE_NOW, mode=RenewMode.MANUAL)


def test_dump_spec_writes_manual_and_leaves_the_default_out() -> None:
    spec = parse_spec(
        b"version: 1\nservices:\n  a.example.com: {lifecycle: renew, mode: manual}\n"
        b"  b.example.com: {lifecycle: renew, mode: automatic}\n",
        "spec.yaml",
    )
    text = dump_spec(spec)
    assert "a.example.com:\n    lifecycle: renew\n    mode: manual\n" in text
    assert "b.example.com:\n    lifecycle: renew\n  " not in text  # it is the last entry
    assert text.count("mode:") == 1
    assert parse_spec(text.encode(), "again.yaml").services[1].mode is RenewMode.AUTOMATIC


def test_a_plan_file_written_before_mode_existed_still_reads_as_automatic() -> None:
    spec = Spec(
        services=(ServiceSpec(key="a.example.com", name="a.example.com", lifecycle="renew"),),  # type: ignore[arg-type]
        source="spec.yaml",
        digest="sha256:" + "0" * 64,
    )
    plan = make_plan(spec, LiveAccount.from_services([]), now=SANDBOX_EPOCH, endpoint="ovh-eu")
    data = json.loads(dump_plan(plan))
    assert data["spec"][0]["mode"] == "automatic"
    del data["spec"][0]["mode"]  # as an older reconciler wrote it
    assert parse_plan(json.dumps(data)).spec[0].mode is RenewMode.AUTOMATIC


# --- on the sandbox server -----------------------------------------------------------------


@pytest.fixture
def server(
    sandbox_server: SandboxServer,
    isolated: Path,
    ovh_client: ovh.Client,  # first: its fixture clears OVH_*
    monkeypatch: pytest.MonkeyPatch,
) -> SandboxServer:
    use_key(monkeypatch, "demo-ck")
    return sandbox_server


def renew_of(official: ovh.Client, service_id: int) -> dict[str, Any]:
    found: dict[str, Any] = official.get(f"/services/{service_id}")["billing"]["renew"]["current"]
    return found


def spec(text: str) -> str:
    Path("spec.yaml").write_text("version: 1\nunmanaged: ignore\nservices:\n" + text, "utf-8")
    return "spec.yaml"


def plan_json(capsys: pytest.CaptureFixture[str], server: SandboxServer) -> dict[str, Any]:
    result = cli(capsys, "plan", "spec.yaml", "--endpoint", server.url, "--format", "json")
    assert result.code == 0, result.err
    found: dict[str, Any] = json.loads(result.out)
    return found


def apply(capsys: pytest.CaptureFixture[str], server: SandboxServer) -> None:
    result = cli(capsys, "apply", "spec.yaml", "--endpoint", server.url, "--auto-approve")
    assert result.code == 0, result.out + result.err


def test_an_automatic_service_switched_to_manual_renewal(
    server: SandboxServer, ovh_client: ovh.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    spec("  vps-1a2b3c4d.vps.ovh.net: {type: vps, lifecycle: renew, mode: manual}\n")
    (action,) = plan_json(capsys, server)["actions"]
    assert action["action"] == "set_renew"
    # As the control panel sets it: the renewal object on the product's own route.
    assert action["calls"] == [
        {
            "method": "PUT",
            "path": "/vps/vps-1a2b3c4d.vps.ovh.net/serviceInfos",
            "body": {
                "renew": {
                    "automatic": False,
                    "deleteAtExpiration": False,
                    "manualPayment": True,
                    "period": 1,
                }
            },
        }
    ]
    text = cli(capsys, "plan", "spec.yaml", "--endpoint", server.url).out
    assert "renewal changed: automatic renewal → manual renewal" in text
    apply(capsys, server)
    assert renew_of(ovh_client, VPS) == {
        **renew_of(ovh_client, VPS),
        "mode": "manual",
        "period": "P1M",
    }
    again = cli(capsys, "plan", "spec.yaml", "--endpoint", server.url, "--detailed-exitcode")
    assert again.code == 0, again.out
    (kept,) = plan_json(capsys, server)["actions"]
    assert kept["action"] == "no_op" and "renewed by hand" in kept["reason"]


def test_a_pending_termination_cancelled_with_mode_manual_stays_manual(
    server: SandboxServer, ovh_client: ovh.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    """Never `terminationPolicy: empty` for a service meant to stay manual: it would switch
    it to automatic renewal and bill it. The renewal object is set to manual instead."""
    assert renew_of(ovh_client, OLD_BRAND)["mode"] == "automatic"  # terminating, automatic
    spec("  old-brand.fr: {type: domain, lifecycle: renew, mode: manual}\n")
    (action,) = plan_json(capsys, server)["actions"]
    assert action["action"] == "cancel_termination"
    assert action["calls"] == [
        {
            "method": "PUT",
            "path": "/domain/old-brand.fr/serviceInfos",
            "body": {
                "renew": {
                    "automatic": False,
                    "deleteAtExpiration": False,
                    "manualPayment": True,
                    "period": 12,
                }
            },
        }
    ]
    assert action["after"] == {"lifecycle": "manual_renew", "period": "P12M"}
    apply(capsys, server)
    infos = ovh_client.get("/domain/old-brand.fr/serviceInfos")
    assert infos["renew"]["deleteAtExpiration"] is False
    assert infos["renew"]["automatic"] is False
    service = ovh_client.get(f"/services/{OLD_BRAND}")
    assert service["billing"]["renew"]["current"]["mode"] == "manual"
    assert (
        cli(capsys, "plan", "spec.yaml", "--endpoint", server.url, "--detailed-exitcode").code == 0
    )

    # Without `mode: manual`, keeping it means automatic renewal: a billing change, shown.
    spec("  old-brand.fr: {type: domain, lifecycle: renew}\n")
    (switch,) = plan_json(capsys, server)["actions"]
    assert switch["action"] == "set_renew"
    assert switch["calls"][0]["body"]["renew"]["automatic"] is True


def test_a_new_period_on_a_manual_renewal_is_applied(
    server: SandboxServer, ovh_client: ovh.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    spec("  ns3012345.ip-51-75-10.eu: {lifecycle: renew, mode: manual, period: P12M}\n")
    (action,) = plan_json(capsys, server)["actions"]
    assert action["action"] == "set_renew"
    apply(capsys, server)
    assert renew_of(ovh_client, 120000401) == {
        **renew_of(ovh_client, 120000401),
        "mode": "manual",
        "period": "P12M",
    }


def test_the_words_of_a_plan_follow_the_renewal_mode(
    server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    spec(
        "  ns3012345.ip-51-75-10.eu: {lifecycle: terminate_at_expiry}\n"
        "  old-brand.fr: {type: domain, lifecycle: renew, mode: manual}\n"
    )
    text = cli(capsys, "plan", "spec.yaml", "--endpoint", server.url, "--no-color").out
    # A service renewed by hand is not terminated on top of OVH's manual marking.
    assert "[terminate-manual-service]" in text or "terminate-manual-service" in text
    assert "is renewed by hand: it already ends at its expiry" in text
    assert "termination cancelled: kept, renewed by hand" in text
    markdown = cli(capsys, "plan", "spec.yaml", "--endpoint", server.url, "--format", "markdown")
    assert "renewed by hand" in markdown.out
