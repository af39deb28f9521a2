"""The product catalogue: one table every part of reconciler reads."""

from __future__ import annotations

import pytest

from reconciler.core.catalog import (
    KNOWN_TYPES,
    PRODUCTS,
    WEB_HOSTING,
    ConfirmFlow,
    ProductFamily,
    RequestFlow,
    deletion_flows,
    family_of,
    product_of,
    type_of_route,
)


def test_each_type_is_listed_once() -> None:
    types = [product.type for product in PRODUCTS]
    assert len(types) == len(set(types))
    assert sorted(types, key=str.lower) == list(KNOWN_TYPES)


def test_only_web_hosting_may_be_deleted_now_and_through_the_panels_flow() -> None:
    assert [p.type for p in PRODUCTS if p.immediate_deletion] == ["hosting/web"]
    assert WEB_HOSTING.deletion_request is RequestFlow.ROUTE
    assert WEB_HOSTING.panel_type == "hosting_web"


@pytest.mark.parametrize(
    ("plan_code", "endpoint", "confirm"),
    [
        # Outside the US the product type hosting_web decides, whatever the plan code.
        ("hosting-perso", "ovh-eu", ConfirmFlow.SERVICES),
        ("perso2014", "ovh-eu", ConfirmFlow.SERVICES),
        (None, "ovh-ca", ConfirmFlow.SERVICES),
        ("perso2014", "sandbox", ConfirmFlow.SERVICES),
        # In the US only the plan code does: the panel's list and pattern, else legacy.
        ("hosting-perso", "ovh-us", ConfirmFlow.SERVICES),
        ("hosting-pro", "https://api.us.ovhcloud.com/1.0", ConfirmFlow.SERVICES),
        ("perso2014", "ovh-us", ConfirmFlow.ROUTE),
        (None, "ovh-us", ConfirmFlow.ROUTE),
        ("hosting-perso-2", "ovh-us", ConfirmFlow.ROUTE),  # the list is exact
        ("backup-vault-paygo-eu", "ovh-us", ConfirmFlow.SERVICES),  # ^backup-vault-paygo
        ("x-backup-vault-paygo", "ovh-us", ConfirmFlow.ROUTE),
        ("logs-enterprise-hds", "ovh-us", ConfirmFlow.SERVICES),  # (logs-enterprise(-hds)?$)
        ("logs-enterprise-hds-2", "ovh-us", ConfirmFlow.ROUTE),
        ("a-hycu-vms-10", "ovh-us", ConfirmFlow.SERVICES),  # hycu-vms-*, anywhere
    ],
)
def test_a_web_hostings_deletion_is_requested_on_its_route_and_confirmed_as_the_panel_does(
    plan_code: str | None, endpoint: str, confirm: ConfirmFlow
) -> None:
    flows = deletion_flows(WEB_HOSTING, plan_code, endpoint=endpoint)
    assert flows.request is RequestFlow.ROUTE
    assert flows.request_fallback is RequestFlow.SERVICES
    assert flows.confirm is confirm
    # The recorded fallback of a /services confirmation is the product's route; the
    # legacy confirmation has none.
    expected = ConfirmFlow.ROUTE if confirm is ConfirmFlow.SERVICES else None
    assert flows.confirm_fallback is expected


@pytest.mark.parametrize(
    ("service_type", "family", "manageable"),
    [
        ("hosting/web", ProductFamily.WEB_HOSTING, True),
        ("/hosting/web/", ProductFamily.WEB_HOSTING, True),
        ("domain", ProductFamily.DOMAIN, True),
        ("xdsl", ProductFamily.TELECOM, False),
        ("pack/xdsl", ProductFamily.TELECOM, False),
        ("telephony", ProductFamily.TELECOM, False),
        ("email/exchange", ProductFamily.MICROSOFT, False),
        ("email/exchange/org/service", ProductFamily.MICROSOFT, False),
        ("msServices", ProductFamily.MICROSOFT, False),
        ("license/office", ProductFamily.MICROSOFT, False),
        ("license/windows", ProductFamily.OTHER, True),
        ("email/domain", ProductFamily.MX_PLAN, False),
        ("brandNewProduct", ProductFamily.OTHER, True),
    ],
)
def test_families_and_who_manages_them(
    service_type: str, family: ProductFamily, manageable: bool
) -> None:
    product = product_of(service_type)
    assert product.family is family
    assert family_of(service_type) is family
    assert product.manageable is manageable
    assert (product.managed_from is None) is manageable


def test_an_unlisted_type_gets_no_special_power() -> None:
    product = product_of("brandNewProduct")
    assert not product.listed
    assert not product.immediate_deletion
    assert product.described == "a service"


def test_words_for_a_product() -> None:
    assert WEB_HOSTING.described == "a web hosting"
    assert product_of("ip").described == "an IP block"
    assert product_of("xdsl").described == "a telecom service"
    assert product_of("email/domain").described == "an MX Plan e-mail service"
    assert product_of("xdsl").managed_from == "the telecom interface"


def test_a_type_from_a_route() -> None:
    assert type_of_route("/hosting/web/{serviceName}") == "hosting/web"
    assert type_of_route("/email/exchange/{organizationName}/service/{exchangeService}") == (
        "email/exchange"
    )
    assert type_of_route("/{x}") == "unknown"
