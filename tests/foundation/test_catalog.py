"""The product catalogue: one table every part of reconciler reads."""

from __future__ import annotations

import pytest

from reconciler.core.catalog import (
    KNOWN_TYPES,
    PRODUCTS,
    WEB_HOSTING,
    ProductFamily,
    TerminationFlow,
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
    assert WEB_HOSTING.termination_flow is TerminationFlow.SERVICES
    assert WEB_HOSTING.panel_type == "hosting_web"


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
