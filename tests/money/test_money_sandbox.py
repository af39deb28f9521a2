"""End to end on the sandbox (issue 15): a seed states prices in two currencies and one
service without any; `reconciler plan` reads them through the API and its plan file
and text say what the changes do to billing. The official client reads the same
prices from the account."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import SandboxServer
from sandbox_env import isolate, use_sandbox_keys

from reconciler.cli import main
from reconciler.core import planfile
from reconciler.sandbox import demo_seed
from reconciler.sandbox.testing import SANDBOX_EPOCH

SPEC = """\
version: 1
endpoint: sandbox
unmanaged: ignore
services:
  shop-eu.example.com:
    lifecycle: terminate_at_expiry
  shop-ca.example.com:
    lifecycle: terminate_at_expiry
  shop-free.example.com:
    lifecycle: terminate_at_expiry
"""


def domain(service_id: int, name: str, period: str, pricing: Any, **more: Any) -> dict[str, Any]:
    """A seeded domain renewing automatically in 100 days, priced as ``pricing`` says."""
    return {
        "id": service_id,
        "name": name,
        "route": "/domain",
        "expires_in": "100d",
        "renew": {"mode": "automatic", "period": period},
        "pricing": pricing,
        **more,
    }


def priced_seed() -> dict[str, Any]:
    seed = demo_seed().to_mapping()
    seed["services"] = [
        domain(
            120000901,
            "shop-eu.example.com",
            "P12M",
            {"price": 12.99, "currency": "EUR", "duration": "P12M", "interval": 1},
        ),
        domain(
            120000902,
            "shop-ca.example.com",
            "P1M",
            {"price": 2.5, "currency": "CAD", "duration": "P1M", "interval": 1},
            periods=["P1M", "P12M"],
        ),
        domain(120000903, "shop-free.example.com", "P12M", "absent"),
    ]
    return seed


@pytest.fixture
def priced(
    sandbox_server: SandboxServer,
    ovh_client: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> SandboxServer:
    # After ovh_client, which clears the OVH_* variables for the official client.
    isolate(tmp_path, monkeypatch, cleared=("OVH_",))
    use_sandbox_keys(monkeypatch, sandbox_server)
    sandbox_server.reset(priced_seed(), now=SANDBOX_EPOCH)
    (tmp_path / "shops.yaml").write_text(SPEC, encoding="utf-8")
    return sandbox_server


def plan(capsys: pytest.CaptureFixture[str], server: SandboxServer, *args: str) -> str:
    with pytest.raises(SystemExit) as exited:
        main(["plan", "shops.yaml", "--endpoint", server.url, *args])
    captured = capsys.readouterr()
    assert exited.value.code == 0, captured.err
    return captured.out


def test_the_plan_prices_each_change_from_the_account(
    priced: SandboxServer, capsys: pytest.CaptureFixture[str], ovh_client: Any
) -> None:
    document = json.loads(plan(capsys, priced, "--format", "json"))
    changes = {change["service"]: change for change in document["billing"]["changes"]}
    eu, ca, free = (changes[f"shop-{k}.example.com"] for k in ("eu", "ca", "free"))
    assert eu["effect"] == ca["effect"] == free["effect"] == "renewal_stops"
    assert (eu["price"]["amount"], eu["price"]["currency"], eu["per_year"]) == (
        "12.99",
        "EUR",
        "12.99",
    )
    assert (ca["price"]["amount"], ca["price"]["currency"], ca["per_year"]) == (
        "2.50",
        "CAD",
        "30.00",
    )
    assert free["price"] is None and free["per_year"] is None
    totals = {t["currency"]: t["stopped_per_year"] for t in document["billing"]["totals"]}
    assert totals == {"CAD": "30.00", "EUR": "12.99"}
    assert document["billing"]["not_in_totals"] == 1
    planfile.parse_plan(json.dumps(document))  # a valid plan file

    # The official client sees the prices the plan used.
    seen = {
        ovh_client.get(f"/services/{service_id}")["billing"]["pricing"] is None
        for service_id in (120000901, 120000902, 120000903)
    }
    assert seen == {False, True}
    eu_pricing = ovh_client.get("/services/120000901")["billing"]["pricing"]
    assert (eu_pricing["price"]["value"], eu_pricing["price"]["currencyCode"]) == (12.99, "EUR")

    text = plan(capsys, priced)
    assert "billing: renewal stops from" in text
    assert ": 2.50 CAD every month (P1M), 30.00 CAD a year" in text
    assert "OVH gives no price" in text
    assert (
        "Billing per year: CAD renewals stopped 30.00 (1 service); EUR renewals stopped "
        "12.99 (1 service); 1 renewal in no total" in text
    )
