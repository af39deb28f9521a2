"""Seed files: a good one loads; a bad one gets one clear error naming file, line and
problem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.sandbox import SeedError, demo_seed, load_seed, parse_seed
from reconciler.sandbox.seed import seed_from_mapping


def error(text: str) -> SeedError:
    with pytest.raises(SeedError) as caught:
        parse_seed(text, "accounts/team.yaml")
    return caught.value


# (seed text, line of the problem, words the message must hold)
BAD_SEEDS = {
    "yaml-syntax": ("services:\n  - name: [unclosed\n", 3, "invalid YAML"),
    "duplicate-key": (
        "services:\n  - name: a.example.com\n    name: b.example.com\n",
        3,
        "duplicate key 'name'",
    ),
    "unknown-top-key": ("servces: []\n", 1, "unknown key"),
    "unknown-service-key": (
        "services:\n  - name: a.example.com\n    route: /domain\n    expires_in: 3d\n"
        "    renw: {mode: manual}\n",
        5,
        "unknown key",
    ),
    "unknown-route": (
        "services:\n  - {name: a.example.com, route: /hosting/wbe, expires_in: 3d}\n",
        2,
        "unknown route '/hosting/wbe'",
    ),
    "bad-vps-name": (
        "services:\n  - {name: my-vps, route: /vps, expires_in: 3d}\n",
        2,
        "vps-<8 hex digits>.vps.ovh.net",
    ),
    "missing-expiry": (
        "services:\n  - name: a.example.com\n    route: /domain\n",
        2,
        "missing expires",
    ),
    "both-expiries": (
        "services:\n  - name: a.example.com\n    route: /domain\n"
        "    expires: 2027-01-01T00:00:00Z\n    expires_in: 3d\n",
        5,
        "not both",
    ),
    "bad-duration": (
        "services:\n  - {name: a.example.com, route: /domain, expires_in: soon}\n",
        2,
        "not a duration",
    ),
    "naive-date": (
        "services:\n  - {name: a.example.com, route: /domain, expires: '2027-01-01T00:00:00'}\n",
        2,
        "no timezone",
    ),
    "period-in-years": (
        "services:\n  - name: a.example.com\n    route: /domain\n    expires_in: 3d\n"
        "    renew: {period: P1Y}\n",
        5,
        "P12M",
    ),
    "period-not-offered": (
        "services:\n  - name: a.example.com\n    route: /domain\n    expires_in: 3d\n"
        "    renew: {period: P1M}\n",
        5,
        "not among the periods offered",
    ),
    "unknown-parent": (
        "services:\n"
        "  - {name: a.example.com, route: /domain, expires_in: 3d, parent: b.example.com}\n",
        2,
        "no service named 'b.example.com'",
    ),
    "ambiguous-parent": (
        "services:\n"
        "  - {name: a.example.com, route: /domain, expires_in: 3d}\n"
        "  - {name: a.example.com, route: /hosting/web, expires_in: 3d}\n"
        "  - {name: b.example.com, route: /hosting/web, expires_in: 3d, parent: a.example.com}\n",
        4,
        "write parent: {name: ..., route: ...}",
    ),
    "parent-cycle": (
        "services:\n"
        "  - {name: a.example.com, route: /domain, expires_in: 3d, parent: b.example.com}\n"
        "  - {name: b.example.com, route: /domain, expires_in: 3d, parent: a.example.com}\n",
        2,
        "cycle",
    ),
    "duplicate-service": (
        "services:\n"
        "  - {name: a.example.com, route: /domain, expires_in: 3d}\n"
        "  - {name: a.example.com, route: /domain, expires_in: 9d}\n",
        3,
        "already defined (at line 2)",
    ),
    "telecom-at-expiry": (
        "services:\n"
        "  - {name: xdsl-ab12345-1, route: /xdsl, expires_in: 3d, termination: at_expiry}\n",
        2,
        "own interface",
    ),
    "bad-rule-method": (
        "credentials:\n  - application_key: k\n    application_secret: s\n    consumer_key: c\n"
        "    rules: [{method: PATCH, path: /*}]\nservices: []\n",
        5,
        "'PATCH' is not one of: GET, PUT, POST, DELETE",
    ),
    "two-secrets": (
        "credentials:\n  - {application_key: k, application_secret: s, consumer_key: c1}\n"
        "  - {application_key: k, application_secret: t, consumer_key: c2}\n"
        "services: []\n",
        3,
        "two different secrets",
    ),
    "generated-without-n": (
        "services:\n  - {count: 3, name: site.example.com, route: /hosting/web, expires_in: 3d}\n",
        2,
        "{n}",
    ),
    "strategy-without-engagement": (
        "services:\n  - name: ns1000001.ip-42-42-42.eu\n    route: /dedicated/server\n"
        "    expires_in: 3d\n    engagement_strategy: CANCEL_SERVICE\n",
        5,
        "engagement_strategy needs engagement_ends",
    ),
    "strategy-not-offered": (
        "services:\n  - {name: ns1000001.ip-42-42-42.eu, route: /dedicated/server,"
        " expires_in: 3d,\n     engagement_ends_in: 9d, engagement_strategy: CANCEL_SERVICE}\n",
        3,
        "not among the possible strategies",
    ),
    "unknown-strategy": (
        "services:\n  - {name: ns1000001.ip-42-42-42.eu, route: /dedicated/server,"
        " expires_in: 3d, engagement_ends_in: 9d,\n     engagement_strategies: [RENEW]}\n",
        3,
        "'RENEW' is not one of: CANCEL_SERVICE",
    ),
    "strategies-without-the-default": (
        "services:\n  - {name: ns1000001.ip-42-42-42.eu, route: /dedicated/server,"
        " expires_in: 3d, engagement_ends_in: 9d,\n     engagement_strategies: [CANCEL_SERVICE]}\n",
        3,
        "say which applies",
    ),
    "unknown-product": (
        "products:\n  /vpss: {refuses_empty: true}\nservices: []\n",
        2,
        "unknown route '/vpss'",
    ),
    "bad-product-key": (
        "products:\n  /vps: {refuse_empty: true}\nservices: []\n",
        2,
        "unknown key",
    ),
    "manual-not-offered": (
        "products:\n  /domain: {renew_modes: [automatic]}\nservices:\n"
        "  - {name: a.example.com, route: /domain, expires_in: 3d, renew: {mode: manual}}\n",
        4,
        "/domain services renew only automatic",
    ),
    "unknown-endpoint": (
        "account: {endpoint: ovh-de}\nservices: []\n",
        1,
        "'ovh-de' is not one of: ovh-eu, ovh-ca, ovh-us",
    ),
    "unknown-contact": (
        "services:\n  - {name: a.example.com, route: /domain, expires_in: 3d,\n"
        "     contacts: {administrator: cd67890-ovh}}\n",
        3,
        "unknown key",
    ),
    "bad-nichandle": (
        "services:\n  - {name: a.example.com, route: /domain, expires_in: 3d,\n"
        "     contacts: {tech: 'cd67890 ovh'}}\n",
        3,
        "is not a NIC handle",
    ),
    "pricing-currency": (
        "services:\n  - {name: a.example.com, route: /domain, expires_in: 3d,\n"
        "     pricing: {price: 5, currency: YEN}}\n",
        3,
        "'YEN' is not one of",
    ),
    "pricing-word": (
        "services:\n  - {name: a.example.com, route: /domain, expires_in: 3d,\n"
        "     pricing: none}\n",
        3,
        "expected a mapping or `absent`",
    ),
    "pricing-price-twice": (
        "services:\n  - {name: a.example.com, route: /domain, expires_in: 3d,\n"
        "     price: 1.0, pricing: {price: 12}}\n",
        3,
        "the price is said twice",
    ),
    "pricing-period-twice": (
        "services:\n  - {name: a.example.com, route: /domain, expires_in: 3d,\n"
        "     renew: {period: P12M}, pricing: {duration: P24M}}\n",
        3,
        "is not the renewal period",
    ),
    "pricing-engagement-type": (
        "services:\n  - {name: a.example.com, route: /domain, expires_in: 3d,\n"
        "     pricing: {engagement: {type: monthly}}}\n",
        3,
        "'monthly' is not one of: periodic, upfront",
    ),
    "empty": ("", None, "the seed is empty"),
    "not-a-mapping": ("- just\n- a list\n", 1, "expected a mapping"),
}


@pytest.mark.parametrize(("text", "line", "words"), BAD_SEEDS.values(), ids=BAD_SEEDS.keys())
def test_a_bad_seed_gets_one_clear_error(text: str, line: int | None, words: str) -> None:
    problem = error(text)
    message = str(problem)
    assert "\n" not in message
    assert message.startswith("accounts/team.yaml")
    assert words in message
    assert problem.line == line
    if line is not None:
        assert message.startswith(f"accounts/team.yaml:{line}:")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match=r"nowhere\.yaml: no such file"):
        load_seed(tmp_path / "nowhere.yaml")


def test_errors_of_json_seeds_name_the_field() -> None:
    with pytest.raises(SeedError, match=r"services\[0\]\.renew\.mode: 'sometimes' is not one of"):
        seed_from_mapping(
            {
                "services": [
                    {
                        "name": "a.example.com",
                        "route": "/domain",
                        "expires_in": "1d",
                        "renew": {"mode": "sometimes"},
                    }
                ]
            },
            "<admin seed>",
        )


def test_a_good_seed() -> None:
    seed = parse_seed(
        """
        account: {nichandle: zz999-ovh}
        clock: 2027-01-01T00:00:00Z
        credentials:
          - {application_key: k, application_secret: s, consumer_key: c,
             rules: [{method: GET, path: "/services*"}], state: pendingValidation}
        services:
          - name: www.example.com
            route: /hosting/web
            expires: 2027-03-01T00:00:00Z
            renew: {mode: automatic, period: P1M}
            periods: [P1M, P3M]
            parent: example.com
          - {name: example.com, route: /domain, expires_in: 30d, termination: at_expiry}
        """,
        "good.yaml",
    )
    assert seed.clock == datetime(2027, 1, 1, tzinfo=UTC)
    assert seed.account.nichandle == "zz999-ovh"
    web, domain = seed.services
    assert web.periods == ("P1M", "P3M") and web.renew_period == "P1M"
    assert web.parent is not None and web.parent.name == "example.com"
    assert domain.expires.resolve(datetime(2027, 1, 1, tzinfo=UTC)) == datetime(
        2027, 1, 31, tzinfo=UTC
    )
    credential = seed.credentials[0]
    assert credential.state == "pendingValidation"
    assert "s" not in repr(credential).replace("state", "").replace("application_key", "")


def test_a_seed_without_credentials_gets_the_demo_keys() -> None:
    seed = parse_seed("services: []")
    assert [(c.application_key, c.consumer_key) for c in seed.credentials] == [
        ("demo-ak", "demo-ck")
    ]


def test_generated_services_spread_their_expiries() -> None:
    seed = parse_seed(
        "services:\n  - {count: 5, name: 'site-{n:03d}.example.com', route: /hosting/web,"
        " expires_in: [1d, 5d]}\n"
    )
    assert [s.name for s in seed.services][:2] == ["site-001.example.com", "site-002.example.com"]
    assert [s.expires.relative for s in seed.services] == [timedelta(days=d) for d in range(1, 6)]


def test_the_mapping_form_round_trips() -> None:
    seed = demo_seed()
    again = seed_from_mapping(seed.to_mapping(), seed.source)
    assert again.digest == seed.digest
    assert again.services == seed.services


def test_the_seed_keys_of_the_behaviours_round_trip() -> None:
    """What ``reset`` goes back to keeps every key a behaviour is seeded with."""
    from test_sandbox_behaviours import COMMITMENTS

    seed = parse_seed(COMMITMENTS, "commitments.yaml")
    again = seed_from_mapping(seed.to_mapping(), seed.source)
    assert again.services == seed.services and again.digest == seed.digest
    engaged = seed.services[0]
    assert engaged.engagement_strategy is None and engaged.default_price == 70.0
    assert engaged.engagement_strategies is not None and len(engaged.engagement_strategies) == 4
    assert seed.services[2].engagement_duration == "P24M"


def test_pricing_seed_keys_round_trip() -> None:
    from test_sandbox_behaviours import PRICING

    seed = parse_seed(PRICING, "pricing.yaml")
    again = seed_from_mapping(seed.to_mapping(), seed.source)
    assert again.services == seed.services and again.digest == seed.digest
    usd, cad, engaged, absent, plain = seed.services
    assert usd.pricing is not None and usd.pricing.currency == "USD"
    assert usd.pricing.value == 11.99 and usd.pricing.interval == 1
    assert cad.renew_period == "P12M", "the pricing's duration sets the renewal period"
    assert engaged.pricing is not None and engaged.pricing.engagement is not None
    assert engaged.pricing.engagement.type == "periodic"
    assert absent.pricing is not None and absent.pricing.absent
    assert plain.pricing is None


def test_contact_seed_keys_round_trip() -> None:
    from test_sandbox_behaviours import CONTACTS

    seed = parse_seed(CONTACTS, "contacts.yaml")
    again = seed_from_mapping(seed.to_mapping(), seed.source)
    assert again.services == seed.services and again.credentials == seed.credentials
    assert again.digest == seed.digest
    assert seed.credentials[1].nichandle == "cd67890-ovh"
    assert seed.services[1].contact_tech == "cd67890-ovh" and seed.services[1].contact_admin is None


def test_retention_seed_keys_round_trip() -> None:
    from test_sandbox_behaviours import RETENTION

    seed = parse_seed(RETENTION, "retention.yaml")
    again = seed_from_mapping(seed.to_mapping(), seed.source)
    assert again.digest == seed.digest and again.products == seed.products
    assert seed.retention_for("/hosting/web") == timedelta(days=30)
    assert seed.retention_for("/domain") == timedelta(days=10)
    assert parse_seed("services: []\n").retention_for("/domain") == timedelta(0)
    assert "0 or more" in error("retention: -1d\nservices: []\n").problem


def test_renewal_seed_keys_round_trip() -> None:
    from test_sandbox_behaviours import RENEWALS

    seed = parse_seed(RENEWALS, "renewals.yaml")
    again = seed_from_mapping(seed.to_mapping(), seed.source)
    assert again.services == seed.services and again.products == seed.products
    assert again.digest == seed.digest
    by_name = {s.name: s for s in seed.services}
    assert by_name["manual.example.com"].termination == "at_expiry"  # the panel's marking
    assert by_name["bare-manual.example.com"].termination == "none"
    assert by_name["auto.example.com"].termination == "none"
    assert seed.product("/vps").refuses_empty is True
    assert seed.product("/domain").refuses_empty is None
    us = parse_seed("account: {endpoint: ovh-us}\nproducts: {/vps: {renew_modes: [automatic]}}\n"
                    "services: []\n", "us.yaml")  # fmt: skip
    again_us = seed_from_mapping(us.to_mapping(), us.source)
    assert again_us.account.endpoint == "ovh-us" and again_us.products == us.products
    assert "endpoint" not in seed.to_mapping()["account"], "ovh-eu, the default, is not written"


def test_the_demo_account_covers_every_family_and_situation() -> None:
    services = demo_seed().services
    routes = {s.route for s in services}
    assert {
        "/hosting/web",
        "/domain",
        "/vps",
        "/dedicated/server",
        "/xdsl",
        "/telephony",
        "/email/exchange",
        "/license/office",
        "/msServices/sharepoint",
        "/email/domain",
    } <= routes
    assert all(s.expires.relative is not None for s in services), "demo dates are relative"
    near = [
        s
        for s in services
        if s.termination == "at_expiry"
        and s.expires.relative is not None
        and s.expires.relative < timedelta(hours=24)
    ]
    far = [
        s
        for s in services
        if s.termination == "at_expiry"
        and s.expires.relative is not None
        and s.expires.relative > timedelta(days=2)
    ]
    assert near and far
    assert any(s.renew_mode == "manual" and s.state == "active" for s in services)
    assert any(s.unpaid for s in services)
    hosting_with_domain = [
        s
        for s in services
        if s.route == "/hosting/web" and s.parent and s.parent.route == "/domain"
    ]
    assert hosting_with_domain


def test_the_design_s_example_seed_loads() -> None:
    seed = parse_seed(
        """
credentials:
  - application_key: demo-ak
    application_secret: demo-as
    consumer_key: demo-ck
    rules: [{method: GET, path: "/*"}, {method: PUT, path: "/*"}, {method: POST, path: "/*"}]
services:
  - name: www.example.com
    route: /hosting/web          # product route prefix
    expires: 2027-03-01T00:00:00Z # or expires_in: 30d (relative to the sandbox clock)
    renew: {mode: automatic, period: P12M}
    termination: none            # none | at_expiry
    state: active
    parent: example.com          # optional: linked to that service
    periods: [P1M, P12M]         # optional: renewPeriodCapacities
  - {name: example.com, route: /domain, expires_in: 30d}
""",
        "design.yaml",
    )
    web = seed.services[0]
    assert web.expires.absolute == datetime(2027, 3, 1, tzinfo=UTC)
    assert [r.method for r in seed.credentials[0].rules] == ["GET", "PUT", "POST"]


def test_the_iceberg_lag_seed_key_round_trips() -> None:
    from test_sandbox_behaviours import ICEBERG_LAG

    seed = parse_seed(ICEBERG_LAG, "lag.yaml")
    assert seed.iceberg_lag == timedelta(minutes=10)
    again = seed_from_mapping(seed.to_mapping(), seed.source)
    assert again.iceberg_lag == seed.iceberg_lag and again.digest == seed.digest
    assert parse_seed("services: []\n").iceberg_lag is None
    assert "0 or more" in error("iceberg_lag: -1m\nservices: []\n").problem


# Where each kind of position points, to the column: the key itself (unknown key, a value
# given twice), the value (wrong type, not among the choices, inside a list or a nested
# mapping), the mapping that lacks a key, and the YAML reader's own problems.
# (seed text, line, column, the whole problem)
POSITIONED = {
    "duplicate-key": (
        "services:\n  - name: a.example.com\n    name: b.example.com\n",
        (3, 5),
        "duplicate key 'name' (first given on line 2)",
    ),
    "unknown-key": (
        "products:\n  /vps: {refuse_empty: true}\nservices: []\n",
        (2, 10),
        "products./vps.refuse_empty: unknown key (known keys: refuses_empty, renew_modes,"
        " retention)",
    ),
    "missing-key": (
        "services:\n  - name: a.example.com\n    expires_in: 3d\n",
        (2, 5),
        "services[0]: missing route",
    ),
    "both-expiries": (
        "services:\n  - name: a.example.com\n    route: /domain\n"
        "    expires: 2027-01-01T00:00:00Z\n    expires_in: 3d\n",
        (5, 5),
        "services[0].expires_in: give expires or expires_in, not both",
    ),
    "wrong-type": (
        "services:\n  - {name: a.example.com, route: /domain, expires_in: 3d, unpaid: 3}\n",
        (2, 67),
        "services[0].unpaid: expected true or false, got int",
    ),
    "yaml-1.1-boolean": (
        "services:\n  - {name: a.example.com, route: /domain, expires_in: 3d, unpaid: yes}\n",
        (2, 67),
        "services[0].unpaid: expected true or false, got text; write true or false",
    ),
    "unquoted-naive-date": (
        "services:\n  - {name: a.example.com, route: /domain, expires: 2027-01-01T00:00:00}\n",
        (2, 52),
        "services[0].expires: 2027-01-01T00:00:00 has no timezone; add one, e.g. 'Z' or '+01:00'",
    ),
    "choice-in-a-list": (
        "credentials:\n  - application_key: k\n    application_secret: s\n    consumer_key: c\n"
        "    rules: [{method: PATCH, path: /*}]\nservices: []\n",
        (5, 22),
        "credentials[0].rules[0].method: 'PATCH' is not one of: GET, PUT, POST, DELETE",
    ),
    "nested-choice": (
        "services:\n  - {name: a.example.com, route: /domain, expires_in: 3d,\n"
        "     pricing: {engagement: {type: monthly}}}\n",
        (3, 35),
        "services[0].pricing.engagement.type: 'monthly' is not one of: periodic, upfront",
    ),
    "empty-list-of-choices": (
        "products:\n  /domain: {renew_modes: []}\nservices: []\n",
        (2, 26),
        "products./domain.renew_modes: must offer at least one renew mode",
    ),
    "not-a-list": ("services: {a: 1}\n", (1, 11), "services: expected a list, got a mapping"),
    "duplicate-service": (
        "services:\n  - {name: a.example.com, route: /domain, expires_in: 3d}\n"
        "  - {name: a.example.com, route: /domain, expires_in: 9d}\n",
        (3, 12),
        "services[1].name: /domain 'a.example.com' is already defined (at line 2)",
    ),
    "list-as-key": ("? [a]\n: 1\n", (1, 1), "seed: keys must be text, got a list"),
    "anchor": (
        "services: &all []\n",
        (1, 11),
        "invalid YAML: YAML anchor &all is not allowed in a seed; remove the anchor and write"
        " each value out in full",
    ),
    "tab-indentation": (
        "services:\n\t- a\n",
        (2, 1),
        "invalid YAML: tab used for indentation; indent with spaces: YAML does not allow tabs"
        " in indentation",
    ),
}


@pytest.mark.parametrize(("text", "at", "problem"), POSITIONED.values(), ids=POSITIONED.keys())
def test_a_seed_error_points_at_the_line_and_column(
    text: str, at: tuple[int, int], problem: str
) -> None:
    found = error(text)
    assert (found.line, found.column) == at
    assert found.problem == problem
    assert str(found) == f"accounts/team.yaml:{at[0]}:{at[1]}: {problem}"
