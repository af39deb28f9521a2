"""OVH's behaviours the control panel relies on, seen through the official ``ovh`` client
against the served sandbox (``docs/sandbox.md``, "Behaviours", gives each one's source):
commitments and their end rules.

Each test loads its own small seed (the demo account stays as the quickstart needs it)
and moves the sandbox clock through the dates that matter; every answer is judged by
OVH's published schemas on the way (``tests/conformance``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import ovh
import pytest
from ovh import exceptions as ovh_errors

from reconciler.sandbox.testing import SANDBOX_EPOCH, SandboxServer

COMMITMENTS = """\
services:
  - {name: ns1000001.ip-42-42-42.eu, route: /dedicated/server, id: 140000001,
     expires_in: 20d, renew: {mode: automatic, period: P1M}, engagement_ends_in: 50d,
     engagement_strategies: [CANCEL_SERVICE, REACTIVATE_ENGAGEMENT,
                             STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE, STOP_ENGAGEMENT_KEEP_PRICE],
     price: 50.0, default_price: 70.0}
  - {name: ns1000002.ip-42-42-42.eu, route: /dedicated/server, id: 140000002,
     expires_in: 20d, renew: {mode: automatic, period: P1M}, engagement_ends_in: 50d,
     engagement_strategy: CANCEL_SERVICE, engagement_strategies: [CANCEL_SERVICE]}
  - {name: ns1000003.ip-42-42-42.eu, route: /dedicated/server, id: 140000003,
     expires_in: 20d, renew: {mode: automatic, period: P1M}, engagement_ends_in: 50d,
     engagement_duration: P24M}
  - {name: example.com, route: /domain, id: 140000004, expires_in: 200d}
"""
ENGAGED, CANCELLING, REACTIVATING, UNENGAGED = 140000001, 140000002, 140000003, 140000004


@pytest.fixture
def commitments(sandbox_server: SandboxServer) -> SandboxServer:
    sandbox_server.load_seed(COMMITMENTS, now=SANDBOX_EPOCH)
    return sandbox_server


def billing(client: ovh.Client, service_id: int) -> dict[str, Any]:
    return client.get(f"/services/{service_id}")["billing"]  # type: ignore[no-any-return]


def day(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- the end rule as seeded, and as changed ------------------------------------------------


def test_the_end_rule_is_seeded_per_service(
    ovh_client: ovh.Client, commitments: SandboxServer
) -> None:
    engaged = billing(ovh_client, ENGAGED)["engagement"]
    assert engaged["endRule"] == {
        "strategy": "REACTIVATE_ENGAGEMENT",
        "possibleStrategies": [
            "CANCEL_SERVICE",
            "REACTIVATE_ENGAGEMENT",
            "STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE",
            "STOP_ENGAGEMENT_KEEP_PRICE",
        ],
    }
    cancelling = billing(ovh_client, CANCELLING)["engagement"]["endRule"]
    assert cancelling == {"strategy": "CANCEL_SERVICE", "possibleStrategies": ["CANCEL_SERVICE"]}
    assert billing(ovh_client, UNENGAGED)["engagement"] is None
    detail = ovh_client.get(f"/services/{ENGAGED}/billing/engagement")
    assert detail["endRule"] == engaged["endRule"]
    end = day(engaged["endDate"])
    assert detail["currentPeriod"]["endDate"] == end.date().isoformat()
    assert detail["currentPeriod"]["startDate"] == end.replace(year=end.year - 1).date().isoformat()
    with pytest.raises(ovh_errors.ResourceNotFoundError, match="no engagement"):
        ovh_client.get(f"/services/{UNENGAGED}/billing/engagement")


def test_putting_the_end_rule_changes_it(
    ovh_client: ovh.Client, commitments: SandboxServer
) -> None:
    path = f"/services/{ENGAGED}/billing/engagement/endRule"
    assert ovh_client.put(path, strategy="STOP_ENGAGEMENT_KEEP_PRICE") is None
    rule = billing(ovh_client, ENGAGED)["engagement"]["endRule"]
    assert rule["strategy"] == "STOP_ENGAGEMENT_KEEP_PRICE"


def test_a_strategy_the_engagement_does_not_offer_is_refused(
    ovh_client: ovh.Client, commitments: SandboxServer
) -> None:
    path = f"/services/{REACTIVATING}/billing/engagement/endRule"  # the default strategies
    with pytest.raises(ovh_errors.BadParametersError, match="CANCEL_SERVICE") as caught:
        ovh_client.put(path, strategy="CANCEL_SERVICE")
    assert caught.value.response.json()["class"] == "Client::BadRequest"
    assert "CANCEL_SERVICE" not in caught.value.response.json()["details"]["possibleStrategies"]
    with pytest.raises(ovh_errors.BadParametersError, match="strategy"):
        ovh_client.put(path, strategy="NOT_A_STRATEGY")
    rule = billing(ovh_client, REACTIVATING)["engagement"]["endRule"]
    assert rule["strategy"] == "REACTIVATE_ENGAGEMENT"
    with pytest.raises(ovh_errors.ResourceNotFoundError):
        ovh_client.put(
            f"/services/{UNENGAGED}/billing/engagement/endRule", strategy="CANCEL_SERVICE"
        )


# --- what the end of a commitment does, by strategy ------------------------------------


def test_cancel_service_shows_the_termination_date_and_terminates_then(
    ovh_client: ovh.Client, commitments: SandboxServer
) -> None:
    ovh_client.put(f"/services/{ENGAGED}/billing/engagement/endRule", strategy="CANCEL_SERVICE")
    for service_id in (ENGAGED, CANCELLING):
        shown = billing(ovh_client, service_id)
        end = shown["engagement"]["endDate"]
        assert shown["lifecycle"]["current"]["terminationDate"] == end
        assert day(end) > day(shown["expirationDate"]), "the commitment outlives the expiry"
    end = day(billing(ovh_client, CANCELLING)["engagement"]["endDate"])
    commitments.set_clock(end - timedelta(seconds=1))
    assert {ENGAGED, CANCELLING} <= set(ovh_client.get("/services"))
    commitments.set_clock(end)
    assert not {ENGAGED, CANCELLING} & set(ovh_client.get("/services"))
    with pytest.raises(ovh_errors.ResourceNotFoundError):
        ovh_client.get(f"/services/{CANCELLING}")
    mail = commitments.emails()[-1]
    assert "has been terminated" in mail["subject"] and "CANCEL_SERVICE" in mail["body"]


def test_reactivate_renews_the_commitment_for_its_length(
    ovh_client: ovh.Client, commitments: SandboxServer
) -> None:
    before = {
        s: day(billing(ovh_client, s)["engagement"]["endDate"]) for s in (ENGAGED, REACTIVATING)
    }
    assert before[ENGAGED] == before[REACTIVATING]
    commitments.set_clock(before[ENGAGED] + timedelta(days=1))
    yearly = billing(ovh_client, ENGAGED)
    assert day(yearly["engagement"]["endDate"]) == before[ENGAGED].replace(
        year=before[ENGAGED].year + 1
    )
    assert yearly["engagement"]["endRule"]["strategy"] == "REACTIVATE_ENGAGEMENT"
    assert yearly["lifecycle"]["current"]["terminationDate"] is None
    two_years = day(billing(ovh_client, REACTIVATING)["engagement"]["endDate"])
    assert two_years == before[REACTIVATING].replace(year=before[REACTIVATING].year + 2)


def test_stop_engagement_ends_it_with_the_fallback_or_the_same_price(
    ovh_client: ovh.Client, commitments: SandboxServer
) -> None:
    path = f"/services/{ENGAGED}/billing/engagement/endRule"
    ovh_client.put(path, strategy="STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE")
    ovh_client.put(
        f"/services/{REACTIVATING}/billing/engagement/endRule",
        strategy="STOP_ENGAGEMENT_KEEP_PRICE",
    )
    assert billing(ovh_client, ENGAGED)["pricing"]["price"]["value"] == 50.0
    kept = billing(ovh_client, REACTIVATING)["pricing"]["price"]["value"]
    end = day(billing(ovh_client, ENGAGED)["engagement"]["endDate"])
    commitments.set_clock(end + timedelta(hours=1))
    fallen_back = billing(ovh_client, ENGAGED)
    assert fallen_back["engagement"] is None
    assert fallen_back["pricing"]["price"]["value"] == 70.0
    assert fallen_back["lifecycle"]["current"]["state"] == "active"
    assert "terminateAtEngagementDate" not in fallen_back["lifecycle"]["capacities"]["actions"]
    same = billing(ovh_client, REACTIVATING)
    assert same["engagement"] is None and same["pricing"]["price"]["value"] == kept
    with pytest.raises(ovh_errors.ResourceNotFoundError):
        ovh_client.put(path, strategy="REACTIVATE_ENGAGEMENT")


def test_terminate_at_engagement_date_sets_the_pending_action(
    ovh_client: ovh.Client, commitments: SandboxServer
) -> None:
    shown = billing(ovh_client, REACTIVATING)
    assert "terminateAtEngagementDate" in shown["lifecycle"]["capacities"]["actions"]
    ovh_client.put(f"/services/{REACTIVATING}", terminationPolicy="terminateAtEngagementDate")
    current = billing(ovh_client, REACTIVATING)["lifecycle"]["current"]
    assert current["pendingActions"] == ["terminateAtEngagementDate"]
    assert current["terminationDate"] == shown["engagement"]["endDate"]
    with pytest.raises(ovh_errors.BadParametersError, match="no engagement"):
        ovh_client.put(f"/services/{UNENGAGED}", terminationPolicy="terminateAtEngagementDate")
    commitments.set_clock(day(shown["engagement"]["endDate"]))
    assert REACTIVATING not in ovh_client.get("/services")


# --- manual renewal as the control panel sets it -------------------------------------------

RENEWALS = """\
products:
  /vps: {refuses_empty: true}
services:
  - {name: auto.example.com, route: /domain, id: 150000001, expires_in: 60d}
  - {name: manual.example.com, route: /domain, id: 150000002, expires_in: 60d,
     renew: {mode: manual}, termination: at_expiry}
  - {name: bare-manual.example.com, route: /domain, id: 150000003, expires_in: 60d,
     renew: {mode: manual}}
  - {name: vps-0a0b0c0d.vps.ovh.net, route: /vps, id: 150000004, expires_in: 9d,
     renew: {mode: manual, period: P1M}, termination: at_expiry}
  - {name: example.com, route: /domain/zone, id: 150000005, expires_in: 100d,
     termination: at_expiry, refuses_empty: true}
  - {name: leaving.example.com, route: /domain, id: 150000006, expires_in: 60d,
     termination: at_expiry}
  - {name: ns1000004.ip-42-42-42.eu, route: /dedicated/server, id: 150000007,
     expires_in: 20d, renew: {mode: automatic, period: P1M}, engagement_ends_in: 200d}
  - {name: lapsed.example.net, route: /domain, id: 150000008, expires_in: -5d,
     renew: {mode: manual}, termination: at_expiry, state: expired}
"""
AUTO, MANUAL, BARE_MANUAL, VPS, ZONE, LEAVING, SERVER, LAPSED = range(150000001, 150000009)


@pytest.fixture
def renewals(sandbox_server: SandboxServer) -> SandboxServer:
    sandbox_server.load_seed(RENEWALS, now=SANDBOX_EPOCH)
    return sandbox_server


def renewal_of(client: ovh.Client, service_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    shown = billing(client, service_id)
    return shown["lifecycle"]["current"], shown["renew"]["current"]


def test_manual_renewal_set_as_the_panel_does_looks_like_a_seeded_manual_service(
    ovh_client: ovh.Client, renewals: SandboxServer
) -> None:
    ovh_client.put(
        f"/services/{AUTO}",
        renew={"mode": "manual"},
        terminationPolicy="terminateAtExpirationDate",
    )
    lifecycle, renew = renewal_of(ovh_client, AUTO)
    assert renew["mode"] == "manual" and renew["nextDate"] is None
    assert lifecycle["pendingActions"] == ["terminateAtExpirationDate"]
    assert lifecycle["terminationDate"] == billing(ovh_client, AUTO)["expirationDate"]
    assert renewal_of(ovh_client, MANUAL) == (lifecycle, renew)
    bare_lifecycle, bare_renew = renewal_of(ovh_client, BARE_MANUAL)  # seeded unmarked
    assert bare_renew["mode"] == "manual" and bare_lifecycle["pendingActions"] == []


def test_a_manual_service_expires_at_its_date_it_is_not_terminated(
    ovh_client: ovh.Client, renewals: SandboxServer
) -> None:
    renewals.set_clock(day(billing(ovh_client, MANUAL)["expirationDate"]))
    assert MANUAL in ovh_client.get("/services")
    assert billing(ovh_client, MANUAL)["lifecycle"]["current"]["state"] == "unrenewed"
    assert LEAVING not in ovh_client.get("/services"), "a termination asked does terminate"
    with pytest.raises(ovh_errors.ResourceExpiredError, match="This service is expired"):
        ovh_client.put(f"/services/{MANUAL}", terminationPolicy="empty")


def test_termination_policy_empty_lifts_the_marking(
    ovh_client: ovh.Client, renewals: SandboxServer
) -> None:
    for service_id in (MANUAL, LEAVING):
        ovh_client.put(f"/services/{service_id}", terminationPolicy="empty")
        lifecycle = renewal_of(ovh_client, service_id)[0]
        assert lifecycle["pendingActions"] == [] and lifecycle["terminationDate"] is None
    renewals.set_clock(day(billing(ovh_client, LEAVING)["expirationDate"]))
    assert LEAVING in ovh_client.get("/services")


def test_a_product_or_a_service_seeded_to_refuse_empty_refuses_it(
    ovh_client: ovh.Client, renewals: SandboxServer
) -> None:
    for service_id in (VPS, ZONE):
        before = billing(ovh_client, service_id)
        with pytest.raises(ovh_errors.BadParametersError, match="empty") as caught:
            ovh_client.put(f"/services/{service_id}", terminationPolicy="empty")
        assert caught.value.response.json()["class"] == "Client::BadRequest"
        assert billing(ovh_client, service_id) == before
    # Automatic renewal is still reachable the other way.
    ovh_client.put(f"/services/{VPS}", renew={"mode": "automatic"})
    assert renewal_of(ovh_client, VPS)[1]["mode"] == "automatic"


def months(period: str) -> int:
    return int(period.removeprefix("P").removesuffix("M"))


def assert_service_infos_agree(client: ovh.Client, service_id: int) -> None:
    """serviceInfos says what /services says (``service.RenewType``)."""
    service = client.get(f"/services/{service_id}")
    infos = client.get(f"{service['route']['url']}/serviceInfos")
    shown = service["billing"]
    mode = shown["renew"]["current"]["mode"]
    pending = shown["lifecycle"]["current"]["pendingActions"]
    assert infos["renew"]["automatic"] is (mode == "automatic")
    assert infos["renew"]["manualPayment"] is (mode == "manual")
    assert infos["renew"]["deleteAtExpiration"] is ("terminateAtExpirationDate" in pending)
    assert infos["renew"]["period"] == months(shown["renew"]["current"]["period"])
    assert infos["renewalType"] == ("automaticV2016" if mode == "automatic" else "manual")
    assert infos["expiration"] == shown["expirationDate"][:10]
    engagement = shown["engagement"]
    assert infos["engagedUpTo"] == (engagement["endDate"][:10] if engagement else None)
    expired = shown["lifecycle"]["current"]["state"] == "unrenewed"
    assert infos["status"] == ("expired" if expired else "ok")


def test_service_infos_agree_with_services_in_every_state(
    ovh_client: ovh.Client, renewals: SandboxServer
) -> None:
    for service_id in (AUTO, MANUAL, BARE_MANUAL, LEAVING, SERVER, LAPSED, ZONE):
        assert_service_infos_agree(ovh_client, service_id)


def test_renewal_set_on_service_infos_shows_on_services(
    ovh_client: ovh.Client, renewals: SandboxServer
) -> None:
    path = "/domain/auto.example.com/serviceInfos"
    ovh_client.put(path, renew={"manualPayment": True, "deleteAtExpiration": True})
    assert renewal_of(ovh_client, AUTO) == renewal_of(ovh_client, MANUAL)
    assert_service_infos_agree(ovh_client, AUTO)
    # deleteAtExpiration false lifts the marking alone: the service stays manual.
    ovh_client.put(path, renew={"deleteAtExpiration": False})
    lifecycle, renew = renewal_of(ovh_client, AUTO)
    assert renew["mode"] == "manual" and lifecycle["pendingActions"] == []
    assert_service_infos_agree(ovh_client, AUTO)
    ovh_client.put(path, renew={"manualPayment": False, "period": 12})
    assert renewal_of(ovh_client, AUTO)[1]["mode"] == "automatic"
    assert_service_infos_agree(ovh_client, AUTO)
    with pytest.raises(ovh_errors.BadParametersError, match="manualPayment"):
        ovh_client.put(path, renew={"automatic": True, "manualPayment": True})
    with pytest.raises(ovh_errors.BadParametersError, match="manualPayment"):
        ovh_client.put(path, renew={"manualPayment": "yes"})
    # The whole object, read then written back unchanged, changes nothing.
    for service_id in (MANUAL, LEAVING, SERVER):
        service = ovh_client.get(f"/services/{service_id}")
        infos_path = f"{service['route']['url']}/serviceInfos"
        ovh_client.put(infos_path, **ovh_client.get(infos_path))
        assert ovh_client.get(f"/services/{service_id}") == service


# --- renew capacities: per product, per endpoint --------------------------------------------


def test_a_product_seeded_without_manual_renewal_refuses_it(
    ovh_client: ovh.Client, sandbox_server: SandboxServer
) -> None:
    sandbox_server.load_seed(
        "products:\n  /domain: {renew_modes: [automatic]}\nservices:\n"
        "  - {name: example.com, route: /domain, id: 160000001, expires_in: 60d}\n"
        "  - {name: vps-0a0b0c0d.vps.ovh.net, route: /vps, id: 160000002, expires_in: 9d}\n",
        now=SANDBOX_EPOCH,
    )
    assert billing(ovh_client, 160000001)["renew"]["capacities"]["mode"] == ["automatic"]
    assert billing(ovh_client, 160000002)["renew"]["capacities"]["mode"] == [
        "automatic",
        "manual",
    ]
    with pytest.raises(ovh_errors.BadParametersError, match="renews automatic"):
        ovh_client.put(
            "/services/160000001",
            renew={"mode": "manual"},
            terminationPolicy="terminateAtExpirationDate",
        )
    with pytest.raises(ovh_errors.BadParametersError, match="renews automatic"):
        ovh_client.put("/domain/example.com/serviceInfos", renew={"manualPayment": True})
    lifecycle, renew = renewal_of(ovh_client, 160000001)
    assert renew["mode"] == "automatic" and lifecycle["pendingActions"] == []
    ovh_client.put("/services/160000002", renew={"mode": "manual"})
    assert renewal_of(ovh_client, 160000002)[1]["mode"] == "manual"


def test_the_demo_on_ovh_us_offers_no_manual_renewal(
    ovh_client: ovh.Client, sandbox_server: SandboxServer
) -> None:
    from reconciler.sandbox import demo_seed

    seed = demo_seed().to_mapping()
    seed["account"]["endpoint"] = "ovh-us"
    sandbox_server.reset(seed, now=SANDBOX_EPOCH)
    for service_id in ovh_client.get("/services"):
        assert "manual" not in billing(ovh_client, service_id)["renew"]["capacities"]["mode"]
    with pytest.raises(ovh_errors.BadParametersError, match="renews automatic"):
        ovh_client.put("/services/120000101", renew={"mode": "manual"})
    # A service already manual keeps its mode; once automatic, it cannot go back.
    assert renewal_of(ovh_client, 120000401)[1]["mode"] == "manual"
    ovh_client.put("/services/120000401", renew={"mode": "automatic"})
    with pytest.raises(ovh_errors.BadParametersError, match="renews automatic"):
        ovh_client.put("/services/120000401", renew={"mode": "manual"})
    # The same demo on ovh-eu offers both.
    sandbox_server.reset(demo_seed().to_mapping(), now=SANDBOX_EPOCH)
    assert billing(ovh_client, 120000101)["renew"]["capacities"]["mode"] == [
        "automatic",
        "manual",
    ]


# --- contacts: customer.contacts, GET /me, and whose history the e-mail reaches -----------

CONTACTS = """\
account: {nichandle: ab12345-ovh, email: owner@example.com}
credentials:
  - {application_key: demo-ak, application_secret: demo-as, consumer_key: demo-ck}
  - {application_key: demo-ak, application_secret: demo-as, consumer_key: tech-ck,
     nichandle: cd67890-ovh, email: tech@example.net}
services:
  - {name: shop.example.com, route: /hosting/web, id: 150000001, expires_in: 200d,
     contacts: {admin: cd67890-ovh, tech: cd67890-ovh, billing: ef13579-ovh}}
  - {name: blog.example.com, route: /hosting/web, id: 150000002, expires_in: 200d,
     contacts: {tech: cd67890-ovh}}
  - {name: example.com, route: /domain, id: 150000003, expires_in: 200d}
"""
ADMIN_ELSEWHERE, TECH_ELSEWHERE, OWN = 150000001, 150000002, 150000003


@pytest.fixture
def contacts(sandbox_server: SandboxServer) -> SandboxServer:
    sandbox_server.load_seed(CONTACTS, now=SANDBOX_EPOCH)
    return sandbox_server


def shown_contacts(client: ovh.Client, service_id: int) -> dict[str, str]:
    contacts = client.get(f"/services/{service_id}")["customer"]["contacts"]
    return {c["type"]: c["customerCode"] for c in contacts}


def test_contacts_are_seeded_per_service_and_agree_with_service_infos(
    ovh_client: ovh.Client, contacts: SandboxServer
) -> None:
    assert shown_contacts(ovh_client, ADMIN_ELSEWHERE) == {
        "administrator": "cd67890-ovh",
        "technical": "cd67890-ovh",
        "billing": "ef13579-ovh",
    }
    assert shown_contacts(ovh_client, TECH_ELSEWHERE) == {
        "administrator": "ab12345-ovh",
        "technical": "cd67890-ovh",
        "billing": "ab12345-ovh",
    }
    assert set(shown_contacts(ovh_client, OWN).values()) == {"ab12345-ovh"}
    infos = ovh_client.get("/hosting/web/shop.example.com/serviceInfos")
    assert (infos["contactAdmin"], infos["contactTech"], infos["contactBilling"]) == (
        "cd67890-ovh",
        "cd67890-ovh",
        "ef13579-ovh",
    )


def test_get_me_names_the_account_each_key_logs_in_as(
    make_ovh_client: Any, contacts: SandboxServer
) -> None:
    owner = make_ovh_client().get("/me")
    assert (owner["nichandle"], owner["email"]) == ("ab12345-ovh", "owner@example.com")
    tech = make_ovh_client(consumer_key="tech-ck").get("/me")
    assert (tech["nichandle"], tech["email"]) == ("cd67890-ovh", "tech@example.net")


def token_mails(client: ovh.Client, service_id: int) -> list[str]:
    history = client.get("/me/notification/email/history")
    bodies = [client.get(f"/me/notification/email/history/{i}")["body"] for i in history]
    return [b for b in bodies if f"confirmTerminate?id={service_id}&" in b]


def test_the_termination_mail_goes_to_the_administrator_contact_only(
    make_ovh_client: Any, contacts: SandboxServer
) -> None:
    owner, tech = make_ovh_client(), make_ovh_client(consumer_key="tech-ck")
    answer = owner.post(f"/services/{ADMIN_ELSEWHERE}/terminate")
    assert "cd67890-ovh" in answer["message"]
    assert token_mails(owner, ADMIN_ELSEWHERE) == [], "the requester is not the admin contact"
    (mail,) = token_mails(tech, ADMIN_ELSEWHERE)
    owner.post(f"/services/{TECH_ELSEWHERE}/terminate")
    assert token_mails(tech, TECH_ELSEWHERE) == [], "a technical contact gets no token"
    assert len(token_mails(owner, TECH_ELSEWHERE)) == 1
    # another account's e-mail is not there at all, even by its id
    theirs = set(tech.get("/me/notification/email/history"))
    mine = set(owner.get("/me/notification/email/history"))
    assert theirs and mine and not theirs & mine
    with pytest.raises(ovh_errors.ResourceNotFoundError):
        owner.get(f"/me/notification/email/history/{min(theirs)}")
    # the token the admin contact received is the one that terminates
    token = mail.split("token=", 1)[1].split()[0]
    owner.post(f"/services/{ADMIN_ELSEWHERE}/terminate/confirm", token=token)
    assert ADMIN_ELSEWHERE not in owner.get("/services")
    assert [m["to"] for m in contacts.emails()][-1] == "cd67890-ovh"


# --- terminated is not vanished: a retention period, then gone; a bad route is not a gone one

RETENTION = """\
retention: 10d
products:
  /hosting/web: {retention: 30d}
services:
  - {name: shop.example.com, route: /hosting/web, id: 160000001, expires_in: 200d}
  - {name: example.com, route: /domain, id: 160000002, expires_in: 5d,
     termination: at_expiry}
  - {name: old.example.com, route: /domain, id: 160000003, expires_in: -3d, state: terminated}
  - {name: older.example.com, route: /domain, id: 160000004, expires_in: -20d,
     state: terminated}
"""
HOSTING, DOMAIN, RECENT, PURGED = 160000001, 160000002, 160000003, 160000004


@pytest.fixture
def retention(sandbox_server: SandboxServer) -> SandboxServer:
    sandbox_server.load_seed(RETENTION, now=SANDBOX_EPOCH)
    return sandbox_server


def lifecycle(client: ovh.Client, service_id: int) -> tuple[str, str, str | None]:
    shown = client.get(f"/services/{service_id}")
    current = shown["billing"]["lifecycle"]["current"]
    return current["state"], shown["resource"]["state"], current["terminationDate"]


def test_a_terminated_service_stays_listed_for_its_retention_period(
    ovh_client: ovh.Client, retention: SandboxServer
) -> None:
    listed = set(ovh_client.get("/services"))
    assert RECENT in listed and PURGED not in listed, "terminated 3 days ago, and 20 days ago"
    assert lifecycle(ovh_client, RECENT)[:2] == ("terminated", "deleted")
    with pytest.raises(ovh_errors.ResourceNotFoundError, match="serviceId = 160000004"):
        ovh_client.get(f"/services/{PURGED}")
    # terminated at expiry: listed with its state and date, then gone after the retention
    expiry = day(billing(ovh_client, DOMAIN)["expirationDate"])
    retention.set_clock(expiry + timedelta(days=1))
    state, resource, terminated_on = lifecycle(ovh_client, DOMAIN)
    assert (state, resource, day(terminated_on or "")) == ("terminated", "deleted", expiry)
    assert billing(ovh_client, DOMAIN)["lifecycle"]["capacities"]["actions"] == []
    assert ovh_client.get("/domain/example.com/serviceInfos")["status"] == "expired"
    with pytest.raises(ovh_errors.BadParametersError, match="terminated"):
        ovh_client.put(f"/services/{DOMAIN}", terminationPolicy="empty")
    retention.set_clock(expiry + timedelta(days=10))
    assert DOMAIN not in ovh_client.get("/services")
    with pytest.raises(ovh_errors.ResourceNotFoundError):
        ovh_client.get("/domain/example.com/serviceInfos")


def test_a_deleted_hosting_waits_to_be_deleted_during_its_own_retention(
    ovh_client: ovh.Client, retention: SandboxServer
) -> None:
    ovh_client.post("/hosting/web/shop.example.com/terminate")
    token = retention.emails()[-1]["body"].split("token=", 1)[1].split()[0]
    ovh_client.post("/hosting/web/shop.example.com/confirmTermination", token=token)
    state, resource, terminated_on = lifecycle(ovh_client, HOSTING)
    assert (state, resource) == ("terminated", "toDelete")
    assert day(terminated_on or "") == SANDBOX_EPOCH
    # a confirmation retried is refused with the service's state, not taken as a new one
    with pytest.raises(ovh_errors.BadParametersError, match="terminated"):
        ovh_client.post(f"/services/{HOSTING}/terminate/confirm", token=token)
    retention.set_clock(SANDBOX_EPOCH + timedelta(days=30) - timedelta(seconds=1))
    assert HOSTING in ovh_client.get("/services"), "the product's 30 days, not the seed's 10"
    retention.set_clock(SANDBOX_EPOCH + timedelta(days=30))
    assert HOSTING not in ovh_client.get("/services")
    assert [s["resourceState"] for s in retention.services() if s["serviceId"] == HOSTING] == [
        "deleted"
    ]


def test_a_route_that_does_not_exist_is_not_a_missing_service(ovh_client: ovh.Client) -> None:
    with pytest.raises(ovh_errors.ResourceNotFoundError) as no_route:
        ovh_client.get("/services/120000101/no-such-thing")
    assert no_route.value.response.json() == {
        "class": "Client::NotFound",
        "message": "Got an invalid (or empty) URL",
    }
    with pytest.raises(ovh_errors.ResourceNotFoundError) as missing:
        ovh_client.get("/services/999999999")
    assert missing.value.response.json()["message"] == (
        "The requested object (serviceId = 999999999) does not exist"
    )


# --- pricing: the renewal price as OVH states it ------------------------------------------

PRICING = """\
services:
  - {name: us.example.com, route: /domain, id: 150000001, expires_in: 200d,
     renew: {period: P12M},
     pricing: {price: 11.99, currency: USD, text: "$11.99", interval: 1}}
  - {name: ca.example.com, route: /domain, id: 150000002, expires_in: 200d,
     pricing: {price: 24.5, currency: CAD, duration: P12M, mode: default}}
  - {name: ns2000001.ip-42-42-42.eu, route: /dedicated/server, id: 150000003,
     expires_in: 20d, renew: {period: P1M}, engagement_ends_in: 50d,
     engagement_strategy: STOP_ENGAGEMENT_KEEP_PRICE,
     pricing: {price: 45.0, currency: GBP, text: "£45.00 + VAT",
               engagement: {duration: P24M, type: periodic,
                            default_end_action: STOP_ENGAGEMENT_KEEP_PRICE}}}
  - {name: free.example.com, route: /domain, id: 150000004, expires_in: 200d,
     pricing: absent}
  - {name: plain.example.com, route: /domain, id: 150000005, expires_in: 200d}
"""
USD, CAD, GBP_ENGAGED, NO_PRICE, PLAIN = 150000001, 150000002, 150000003, 150000004, 150000005


@pytest.fixture
def pricing(sandbox_server: SandboxServer) -> SandboxServer:
    sandbox_server.load_seed(PRICING, now=SANDBOX_EPOCH)
    return sandbox_server


def test_a_seeded_renewal_price_is_answered_as_stated(
    ovh_client: ovh.Client, pricing: SandboxServer
) -> None:
    usd = billing(ovh_client, USD)["pricing"]
    assert usd["price"] == {
        "currencyCode": "USD",
        "text": "$11.99",
        "value": 11.99,
        "priceInUcents": 1_199_000_000,
    }
    assert (usd["duration"], usd["interval"], usd["priceInUcents"]) == ("P12M", 1, 1_199_000_000)
    assert usd["engagementConfiguration"] is None and usd["pricingMode"] == "default"
    assert usd["capacities"] == ["renew"] and usd["pricingType"] == "rental"
    # The pricing's duration is the renewal period: seeding it sets the period.
    cad = billing(ovh_client, CAD)
    assert cad["renew"]["current"]["period"] == "P12M"
    assert cad["pricing"]["duration"] == "P12M" and cad["pricing"]["interval"] == 1
    assert cad["pricing"]["price"]["currencyCode"] == "CAD"
    assert cad["pricing"]["price"]["value"] == 24.5
    plain = billing(ovh_client, PLAIN)["pricing"]
    assert plain["price"]["currencyCode"] == "EUR" and plain["price"]["text"].endswith(" €")


def test_a_seed_can_say_ovh_gives_no_price(ovh_client: ovh.Client, pricing: SandboxServer) -> None:
    assert billing(ovh_client, NO_PRICE)["pricing"] is None
    assert billing(ovh_client, PLAIN)["pricing"] is not None


def test_the_engagement_configuration_is_answered_until_the_commitment_stops(
    ovh_client: ovh.Client, pricing: SandboxServer
) -> None:
    engaged = billing(ovh_client, GBP_ENGAGED)
    assert engaged["pricing"]["engagementConfiguration"] == {
        "duration": "P24M",
        "type": "periodic",
        "defaultEndAction": "STOP_ENGAGEMENT_KEEP_PRICE",
    }
    assert engaged["pricing"]["pricingMode"] == "periodic24"
    assert engaged["pricing"]["price"]["text"] == "£45.00 + VAT"
    pricing.set_clock(day(engaged["engagement"]["endDate"]) + timedelta(hours=1))
    after = billing(ovh_client, GBP_ENGAGED)
    assert after["engagement"] is None
    assert after["pricing"]["engagementConfiguration"] is None
    assert after["pricing"]["price"]["value"] == 45.0  # KEEP_PRICE
    assert after["pricing"]["price"]["currencyCode"] == "GBP"


def test_a_period_change_scales_the_seeded_price_and_keeps_its_currency(
    ovh_client: ovh.Client, pricing: SandboxServer
) -> None:
    ovh_client.put(f"/services/{CAD}", renew={"mode": "automatic", "period": "P24M"})
    two_years = billing(ovh_client, CAD)["pricing"]
    assert two_years["duration"] == "P24M" and two_years["interval"] == 1
    assert two_years["price"]["value"] == 49.0
    assert two_years["price"]["currencyCode"] == "CAD"
    assert "49.00" in two_years["price"]["text"], "the stated text is of the yearly renewal"


# --- Iceberg as OVH serves it: default size, cap, a cached list ---------------------------

ICEBERG_LAG = """\
iceberg_lag: 10m
services:
  - {count: 1500, name: 'site{n:04d}.example.com', route: /hosting/web, expires_in: 200d}
"""
PAGES = {"X-Pagination-Mode": "CachedObjectList-Pages"}


def listing(client: ovh.Client, **headers: str) -> tuple[list[dict[str, Any]], Mapping[str, str]]:
    response = client.raw_call("GET", "/services", headers={**PAGES, **headers})
    assert response.status_code == 200, response.text
    return response.json(), response.headers  # case-insensitive


def test_a_page_is_1000_services_when_no_size_is_asked_and_50000_at_most(
    ovh_client: ovh.Client, sandbox_server: SandboxServer
) -> None:
    sandbox_server.load_seed(ICEBERG_LAG.replace("iceberg_lag: 10m\n", ""), now=SANDBOX_EPOCH)
    first, headers = listing(ovh_client)
    assert len(first) == 1000 and headers["X-Pagination-Size"] == "1000"
    assert headers["X-Pagination-Elements"] == "1500"
    second, _ = listing(ovh_client, **{"X-Pagination-Number": "2"})
    assert len(second) == 500
    every, _ = listing(ovh_client, **{"X-Pagination-Size": "50000"})  # as the panel asks
    assert len(every) == 1500
    too_big = ovh_client.raw_call(
        "GET", "/services", headers={**PAGES, "X-Pagination-Size": "50001"}
    )
    assert too_big.status_code == 400 and "between 1 and 50000" in too_big.json()["message"]


def test_a_cached_listing_lags_behind_a_change_unless_no_cache_is_asked(
    ovh_client: ovh.Client, sandbox_server: SandboxServer
) -> None:
    sandbox_server.load_seed(ICEBERG_LAG, now=SANDBOX_EPOCH)
    before, _ = listing(ovh_client)
    target = before[0]["serviceId"]
    ovh_client.put(f"/services/{target}", displayName="Renamed")
    assert ovh_client.get(f"/services/{target}")["resource"]["displayName"] == "Renamed"
    stale, _ = listing(ovh_client)
    assert stale[0]["resource"]["displayName"] == before[0]["resource"]["displayName"]
    fresh, _ = listing(ovh_client, Pragma="no-cache")
    assert fresh[0]["resource"]["displayName"] == "Renamed"
    # The fresh read refreshed the cached list; a later change lags again until the
    # lag has passed on the sandbox clock.
    ovh_client.put(f"/services/{target}", displayName="Renamed again")
    assert listing(ovh_client)[0][0]["resource"]["displayName"] == "Renamed"
    sandbox_server.advance(timedelta(minutes=10))
    assert listing(ovh_client)[0][0]["resource"]["displayName"] == "Renamed again"


def test_without_a_seeded_lag_every_listing_is_fresh(
    ovh_client: ovh.Client, sandbox_server: SandboxServer
) -> None:
    sandbox_server.load_seed(ICEBERG_LAG.replace("iceberg_lag: 10m\n", ""), now=SANDBOX_EPOCH)
    target = listing(ovh_client)[0][0]["serviceId"]
    ovh_client.put(f"/services/{target}", displayName="Renamed")
    assert listing(ovh_client)[0][0]["resource"]["displayName"] == "Renamed"
