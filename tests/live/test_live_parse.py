"""parse_service on recorded API shapes (tests/live/fixtures/*.json: the API's answer and
the fields expected of the LiveService), the odd shapes, and malformed JSON."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from reconciler.core.catalog import type_of_route
from reconciler.core.lifecycle import LiveLifecycle
from reconciler.core.live import (
    Commitment,
    EndStrategy,
    LiveAccount,
    derive_lifecycle,
    parse_service,
)
from reconciler.errors import ApiError

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [comparable(v) for v in value]
    return value


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_recorded_shapes(path: Path) -> None:
    case = load(path)
    service = parse_service(case["response"])
    assert case["expected"], "a fixture must expect something"
    for field, expected in case["expected"].items():
        assert comparable(getattr(service, field)) == expected, field


def test_there_are_fixtures_for_the_odd_shapes() -> None:
    names = {p.stem for p in FIXTURES}
    assert {
        "dedicated_null_renew_period",
        "hosting_manual_with_termination_date",
        "domain_expired_unrenewed",
        "minimal_missing_blocks",
        "exchange_route_with_two_variables",
    } <= names


def test_dates_stay_timezone_aware() -> None:
    service = parse_service(load(FIXTURES[0])["response"])
    for path in FIXTURES:
        service = parse_service(load(path)["response"])
        for when in (service.expiration, service.termination_date):
            assert when is None or when.utcoffset() is not None


def test_values_are_immutable() -> None:
    service = parse_service(load(FIXTURES[0])["response"])
    with pytest.raises(AttributeError):
        service.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/hosting/web/{serviceName}", "hosting/web"),
        ("/email/exchange/{organizationName}/service/{exchangeService}", "email/exchange"),
        ("/dedicated/server/{serviceName}", "dedicated/server"),
        ("/domain/{serviceName}", "domain"),
        ("/cloud/project/{serviceName}", "cloud/project"),
        ("/msServices/sharepoint/{domain}", "msServices/sharepoint"),
        ("/{serviceName}", "unknown"),
    ],
)
def test_type_is_the_route_up_to_its_first_variable(path: str, expected: str) -> None:
    assert type_of_route(path) == expected


CANCEL_AT_END = Commitment(date(2027, 8, 1), EndStrategy.CANCEL_SERVICE, ())
RENEWS_AT_END = Commitment(date(2027, 8, 1), EndStrategy.REACTIVATE_ENGAGEMENT, ())


# The decision table of docs/control-panel.md, one row per line, both sides of each:
# the first row that applies wins.
@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # 1. gone
        ({"lifecycle_state": "terminated"}, LiveLifecycle.TERMINATED),
        ({"resource_state": "deleted"}, LiveLifecycle.TERMINATED),
        ({"resource_state": "deleted", "pending_actions": ["nonsense"]}, LiveLifecycle.TERMINATED),
        # 2. going: a retention period
        ({"resource_state": "toDelete"}, LiveLifecycle.BEING_DELETED),
        # 3. expired
        ({"lifecycle_state": "unrenewed", "termination_date": "x"}, LiveLifecycle.EXPIRED),
        # 4. fail closed
        ({"missing": ("billing",)}, LiveLifecycle.NOT_UNDERSTOOD),
        ({"lifecycle_state": "rupture"}, LiveLifecycle.NOT_UNDERSTOOD),
        ({"lifecycle_state": "toRenew"}, LiveLifecycle.NOT_UNDERSTOOD),
        ({"resource_state": "toSuspend"}, LiveLifecycle.NOT_UNDERSTOOD),
        ({"pending_actions": ["somethingNew"]}, LiveLifecycle.NOT_UNDERSTOOD),
        ({"pending_actions": ["terminate"]}, LiveLifecycle.NOT_UNDERSTOOD),
        ({"pending_actions": ["earlyRenewal"]}, LiveLifecycle.NOT_UNDERSTOOD),
        ({"renew_mode": None}, LiveLifecycle.NOT_UNDERSTOOD),
        ({"renew_mode": "forced"}, LiveLifecycle.NOT_UNDERSTOOD),
        ({"unknown_end_rule": "CANCEL_LATER"}, LiveLifecycle.NOT_UNDERSTOOD),
        ({"unknown_end_rule": "X", "lifecycle_state": "terminated"}, LiveLifecycle.TERMINATED),
        # 5. terminated at the end of the commitment, whatever the renew block says
        ({"commitment": CANCEL_AT_END}, LiveLifecycle.TERMINATE_AT_COMMITMENT_END),
        (
            {"commitment": CANCEL_AT_END, "renew_mode": "manual"},
            LiveLifecycle.TERMINATE_AT_COMMITMENT_END,
        ),
        (
            {"pending_actions": ["terminateAtEngagementDate"], "termination_date": "x"},
            LiveLifecycle.TERMINATE_AT_COMMITMENT_END,
        ),
        ({"commitment": RENEWS_AT_END}, LiveLifecycle.RENEW),
        # 6. manual wins over the marking the panel gives it
        ({"termination_date": "x", "renew_mode": "manual"}, LiveLifecycle.MANUAL_RENEW),
        (
            {"pending_actions": ["terminateAtExpirationDate"], "renew_mode": "manual"},
            LiveLifecycle.MANUAL_RENEW,
        ),
        ({"renew_mode": "manual"}, LiveLifecycle.MANUAL_RENEW),
        # 7. terminated at expiry
        ({"pending_actions": ["terminateAtExpirationDate"]}, LiveLifecycle.TERMINATE_AT_EXPIRY),
        ({"termination_date": "x"}, LiveLifecycle.TERMINATE_AT_EXPIRY),
        # 8. renewing
        ({"renew_mode": "automatic"}, LiveLifecycle.RENEW),
        ({"lifecycle_state": "unpaid"}, LiveLifecycle.RENEW),
        ({"resource_state": "suspended"}, LiveLifecycle.RENEW),
    ],
)
def test_derive_lifecycle(kwargs: dict[str, Any], expected: LiveLifecycle) -> None:
    args: dict[str, Any] = {
        "lifecycle_state": "active",
        "resource_state": "active",
        "termination_date": None,
        "pending_actions": (),
        "renew_mode": "automatic",
    }
    args.update(kwargs)
    if args["termination_date"] == "x":
        args["termination_date"] = datetime(2027, 1, 1, tzinfo=UTC)
    lifecycle, why = derive_lifecycle(**args)
    assert lifecycle is expected
    # A state not understood always says why, in words; any other never does.
    assert (why is not None) is (expected is LiveLifecycle.NOT_UNDERSTOOD)


def test_an_unknown_end_strategy_makes_that_service_not_understood() -> None:
    """An end rule reconciler cannot name could terminate the service: that service is
    refused (not the whole read), and a possible strategy it does not know is left out."""
    data = load(Path(__file__).parent / "fixtures" / "vps_commitment_ends_cancel_service.json")
    answer = copy.deepcopy(data["response"])
    rule = answer["billing"]["engagement"]["endRule"]
    rule["strategy"] = "CANCEL_SERVICE_SOMEDAY"
    rule["possibleStrategies"] = ["CANCEL_SERVICE", "SOMETHING_NEW"]
    service = parse_service(answer)
    assert service.lifecycle is LiveLifecycle.NOT_UNDERSTOOD
    assert service.not_understood is not None
    assert "CANCEL_SERVICE_SOMEDAY" in service.not_understood
    assert service.commitment is not None
    assert service.commitment.possible_strategies == (EndStrategy.CANCEL_SERVICE,)


def _vps() -> dict[str, Any]:
    return copy.deepcopy(
        load(Path(__file__).parent / "fixtures" / "vps_automatic_monthly.json")["response"]
    )


def _set(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    *parents, last = dotted.split(".")
    target = data
    for key in parents:
        target = target[key]
    target[last] = value
    return data


@pytest.mark.parametrize(
    ("dotted", "value", "words"),
    [
        ("serviceId", None, "serviceId: missing"),
        ("serviceId", "120000001", "serviceId: an integer was expected, got str"),
        ("serviceId", True, "an integer was expected, got bool"),
        ("resource", "vps", "resource: an object was expected, got str"),
        ("resource.name", "", "resource.name: missing or empty"),
        ("resource.name", 42, "resource.name: a string was expected, got int"),
        ("billing.expirationDate", "tomorrow", "billing.expirationDate: not an ISO 8601 date"),
        ("billing.expirationDate", "2027-01-10T09:00:00", "a date without a timezone"),
        ("billing.expirationDate", "2027-01-10", "a date without a timezone"),
        ("billing.lifecycle.current.pendingActions", "terminate", "a list of strings"),
        ("billing.lifecycle.capacities.actions", [1, 2], "a list of strings"),
        ("billing.renew", [], "billing.renew: an object was expected, got list"),
        ("parentServiceId", 1.5, "parentServiceId: an integer was expected, got float"),
    ],
)
def test_malformed_json_is_one_clear_api_error(dotted: str, value: Any, words: str) -> None:
    data = _set(_vps(), dotted, value)
    with pytest.raises(ApiError) as caught:
        parse_service(data)
    message = str(caught.value)
    assert words in message
    assert "malformed" in message and "\n" not in message
    assert caught.value.hint


@pytest.mark.parametrize("data", [None, [], "120000001", 120000001])
def test_not_an_object_is_an_api_error(data: Any) -> None:
    with pytest.raises(ApiError, match="an object was expected"):
        parse_service(data)


def test_malformed_names_the_service_id() -> None:
    data = _set(_vps(), "resource.name", None)
    with pytest.raises(ApiError, match="service 120000001"):
        parse_service(data)


def test_unknown_period_is_kept_as_the_api_says() -> None:
    data = _set(_vps(), "billing.renew.current.period", "P1D")
    assert parse_service(data).renew_period == "P1D"


def test_account_links_children_both_ways() -> None:
    domain = _set(_set(_vps(), "serviceId", 10), "resource.name", "example.com")
    hosting = _set(
        _set(_set(_vps(), "serviceId", 11), "parentServiceId", 10), "resource.name", "www"
    )
    mail = _set(_set(_set(_vps(), "serviceId", 12), "parentServiceId", 10), "resource.name", "mx")
    orphan = _set(_set(_vps(), "serviceId", 13), "parentServiceId", 99)
    account = LiveAccount.from_services(parse_service(d) for d in (mail, orphan, hosting, domain))
    parent = account.by_id(10)
    assert parent is not None and account.child_ids(10) == (11, 12)
    assert [c.name for c in account.children_of(parent)] == ["www", "mx"]
    assert [s.service_id for s in account.services] == [10, 11, 12, 13]
    assert account.by_id(13) is not None and account.child_ids(13) == ()
    assert account.child_ids(99) == (13,)  # a parent not on the account: only its id
