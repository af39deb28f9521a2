"""The app through httpx's ASGI transport: wire formats, auth, Iceberg, legacy routes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sandbox_helpers import AsgiApi

from reconciler.sandbox import parse_seed
from reconciler.sandbox.app import ConnectionDropped
from reconciler.sandbox.faults import FaultConfig
from reconciler.sandbox.testing import InProcessSandbox

QUERY_ID = re.compile(r"^SANDBOX\.ext-1\.[0-9a-f]{8}\.\d+\.[0-9a-f-]{36}$")


@pytest.fixture
def api(sandbox_app: InProcessSandbox) -> Iterator[AsgiApi]:
    with AsgiApi(sandbox_app.app) as client:
        yield client


def body_of(response: Any) -> Any:
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert QUERY_ID.match(response.headers["x-ovh-queryid"]), response.headers
    return response.json()


# --- authentication on the wire ---------------------------------------------------------


def test_auth_time_is_a_bare_integer_from_the_sandbox_clock(
    api: AsgiApi, sandbox_app: InProcessSandbox
) -> None:
    response = api.raw("GET", "/auth/time")
    assert response.status_code == 200 and response.text.isdigit()
    assert int(body_of(response)) == int(sandbox_app.clock.now().timestamp())
    sandbox_app.clock.advance(timedelta(days=3))
    assert int(api.raw("GET", "/auth/time").text) == int(sandbox_app.clock.now().timestamp())


def test_a_signed_call_succeeds(api: AsgiApi) -> None:
    response = api.get("/services")
    assert response.status_code == 200
    assert 120000101 in body_of(response)


@pytest.mark.parametrize(
    ("signing", "status", "code", "message"),
    [
        ({"application_key": "nobody"}, 403, "INVALID_KEY", "This application key is invalid"),
        ({"application_secret": "wrong"}, 400, "INVALID_SIGNATURE", "Invalid signature"),
        ({"consumer_key": "unknown-ck"}, 403, "NOT_CREDENTIAL", "This credential does not exist"),
        ({"timestamp": "1000000000"}, 400, "QUERY_TIME_OUT", "Query out of time"),
        (
            {"consumer_key": "demo-readonly-ck"},
            403,
            "NOT_GRANTED_CALL",
            "This call has not been granted",
        ),
    ],
    ids=["unknown-key", "wrong-secret", "unknown-consumer-key", "stale-timestamp", "not-granted"],
)
def test_auth_failures_answer_ovh_s_status_and_body(
    api: AsgiApi, signing: dict[str, str], status: int, code: str, message: str
) -> None:
    response = api.put("/services/120000101", {"displayName": "x"}, **signing)
    assert response.status_code == status
    assert body_of(response) == {
        "message": message,
        "httpCode": f"{status} {'Forbidden' if status == 403 else 'Bad Request'}",
        "errorCode": code,
    }


def test_an_unsigned_call_must_log_in(api: AsgiApi) -> None:
    response = api.raw("GET", "/services", headers={"X-Ovh-Application": "demo-ak"})
    assert response.status_code == 401
    assert body_of(response)["message"] == "You must login first"


def test_the_read_only_key_reads(api: AsgiApi) -> None:
    assert api.get("/services/120000101", consumer_key="demo-readonly-ck").status_code == 200


def test_a_consumer_key_request_validation_and_use(
    api: AsgiApi, sandbox_app: InProcessSandbox
) -> None:
    requested = api.raw(
        "POST",
        "/auth/credential",
        body={"accessRules": [{"method": "GET", "path": "/services*"}], "redirection": None},
        headers={"X-Ovh-Application": "demo-ak", "Content-Type": "application/json"},
    )
    answer = body_of(requested)
    assert answer["state"] == "pendingValidation"
    assert re.fullmatch(r"[A-Za-z0-9]{32}", answer["consumerKey"])
    url = answer["validationUrl"]
    assert url.startswith("http://sandbox.invalid/auth/?credentialToken=")
    key = answer["consumerKey"]
    not_yet = api.get("/services", consumer_key=key)
    assert (not_yet.status_code, not_yet.json()["errorCode"]) == (403, "INVALID_CREDENTIAL")

    page = api.loop.run_until_complete(api.client.get(url))
    assert page.status_code == 200 and "validated" in page.text

    assert api.get("/services", consumer_key=key).status_code == 200
    outside = api.put("/services/120000101", {"displayName": "x"}, consumer_key=key)
    assert outside.json()["errorCode"] == "NOT_GRANTED_CALL"
    current = body_of(api.get("/auth/currentCredential", consumer_key=key))
    assert current["status"] == "validated"
    assert current["rules"] == [{"method": "GET", "path": "/services*"}]
    assert current["applicationId"] > 0 and current["lastUse"] is not None
    # The token of the page is spent: opening it again validates nothing.
    assert api.loop.run_until_complete(api.client.get(url)).status_code == 404


ALL_GET = {"method": "GET", "path": "/*"}


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"X-Ovh-Application": "nobody"}, {"accessRules": [ALL_GET]}, 403),
        ({}, {"accessRules": [ALL_GET]}, 403),
        ({"X-Ovh-Application": "demo-ak"}, {"accessRules": []}, 400),
        (
            {"X-Ovh-Application": "demo-ak"},
            {"accessRules": [{"method": "PATCH", "path": "/*"}]},
            400,
        ),
        ({"X-Ovh-Application": "demo-ak"}, {"accessRules": [{"method": "GET", "path": "x"}]}, 400),
    ],
    ids=["unknown-app", "no-app", "no-rules", "bad-method", "bad-path"],
)
def test_bad_consumer_key_requests(
    api: AsgiApi, headers: dict[str, str], body: Any, status: int
) -> None:
    assert api.raw("POST", "/auth/credential", body=body, headers=headers).status_code == status


def test_an_expired_key_is_invalid(api: AsgiApi, sandbox_app: InProcessSandbox) -> None:
    sandbox_app.backend.set_credential_state("demo-readonly-ck", "expired")
    response = api.get("/services", consumer_key="demo-readonly-ck")
    assert response.json()["errorCode"] == "INVALID_CREDENTIAL"


# --- errors of the API ----------------------------------------------------------------


def test_unknown_routes_and_services(api: AsgiApi) -> None:
    assert api.get("/nowhere").status_code == 404
    assert api.raw("DELETE", "/services/120000101").status_code == 404
    missing = api.get("/services/999999999")
    assert missing.status_code == 404
    assert body_of(missing) == {
        "class": "Client::NotFound",
        "message": "The requested object (serviceId = 999999999) does not exist",
    }
    assert api.get("/services/abc").status_code == 400


def test_invalid_json_is_400(api: AsgiApi) -> None:
    url = api.base_url + "/services/120000101"
    headers = api.signed_headers("PUT", url, "{not json")
    response = api.raw("PUT", "/services/120000101", content="{not json", headers=headers)
    assert response.status_code == 400 and body_of(response)["message"] == "Invalid JSON received"


def test_an_expired_service_answers_460(api: AsgiApi) -> None:
    response = api.put("/services/120000105", {"terminationPolicy": "terminateAtExpirationDate"})
    assert response.status_code == 460
    assert body_of(response) == {"message": "This service is expired"}


def test_cancelling_too_late_is_refused_with_an_explanation(api: AsgiApi) -> None:
    response = api.put("/services/120000203", {"terminationPolicy": "empty"})
    assert response.status_code == 409
    assert "24 hours" in body_of(response)["message"]
    assert api.put("/services/120000103", {"terminationPolicy": "empty"}).status_code == 200


def test_a_put_answers_null(api: AsgiApi) -> None:
    response = api.put("/services/120000101", {"displayName": "main domain"})
    assert (response.status_code, response.text) == (200, "null")
    service = body_of(api.get("/services/120000101"))
    assert service["resource"]["displayName"] == "main domain"


# --- /services ------------------------------------------------------------------------


def test_services_filters(api: AsgiApi) -> None:
    both = body_of(api.get("/services?resourceName=example.com"))
    assert both == [120000101, 120000201]
    assert body_of(api.get("/services?routes=/hosting/web")) == [120000201, 120000202, 120000203]
    assert body_of(api.get("/services?routes=%2Fvps%2F%7BserviceName%7D")) == [120000301, 120000302]


def test_options_are_the_linked_services(api: AsgiApi) -> None:
    children = body_of(api.get("/services/120000201/options"))
    assert [c["serviceId"] for c in children] == [120000204]
    assert children[0]["parentServiceId"] == 120000201
    assert body_of(api.get("/services/120000101/options"))[0]["serviceId"] == 120000201


def test_the_expanded_service_has_every_field(api: AsgiApi) -> None:
    service = body_of(api.get("/services/120000401"))
    assert set(service) == {
        "serviceId",
        "parentServiceId",
        "tags",
        "route",
        "resource",
        "billing",
        "customer",
    }
    assert service["route"] == {
        "path": "/dedicated/server/{serviceName}",
        "url": "/dedicated/server/ns3012345.ip-51-75-10.eu",
        "vars": [{"key": "serviceName", "value": "ns3012345.ip-51-75-10.eu"}],
    }
    billing = service["billing"]
    assert set(billing) >= {
        "expirationDate",
        "nextBillingDate",
        "plan",
        "lifecycle",
        "renew",
        "engagement",
        "pricing",
    }
    assert billing["renew"]["current"] == {"mode": "manual", "nextDate": None, "period": "P1M"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00", billing["expirationDate"])
    assert billing["engagement"]["endDate"]
    assert "terminateAtEngagementDate" in billing["lifecycle"]["capacities"]["actions"]
    exchange = body_of(api.get("/services/120000601"))
    assert exchange["route"]["url"] == "/email/exchange/hosted-ab12345-1/service/hosted-ab12345-1"


# --- Iceberg ----------------------------------------------------------------------------

BIG = (
    "services:\n  - {count: 2500, name: 'site-{n:05d}.example.com', route: /hosting/web,\n"
    "     expires_in: [1d, 700d]}\n"
)


def page(api: AsgiApi, number: int, size: int, **extra: str) -> Any:
    headers = {
        "X-Pagination-Mode": "CachedObjectList-Pages",
        "X-Pagination-Size": str(size),
        "X-Pagination-Number": str(number),
        **extra,
    }
    return api.get("/services", headers=headers)


def test_iceberg_pages(api: AsgiApi, sandbox_app: InProcessSandbox) -> None:
    sandbox_app.backend.load_seed(parse_seed(BIG))
    seen: list[int] = []
    for number, expected in ((1, 1000), (2, 1000), (3, 500), (4, 0)):
        response = page(api, number, 1000)
        items = body_of(response)
        assert len(items) == expected
        assert response.headers["x-pagination-elements"] == "2500"
        assert response.headers["x-pagination-number"] == str(number)
        assert response.headers["x-pagination-size"] == "1000"
        assert response.headers["x-pagination-mode"] == "CachedObjectList-Pages"
        seen += [item["serviceId"] for item in items]
    assert seen == sorted(set(seen)) == body_of(api.get("/services"))
    one = body_of(page(api, 2, 1000))[0]
    assert one == body_of(api.get(f"/services/{one['serviceId']}"))


def test_iceberg_cursor_mode(api: AsgiApi, sandbox_app: InProcessSandbox) -> None:
    sandbox_app.backend.load_seed(parse_seed(BIG))
    cursor, seen = None, []
    while True:
        headers = {"X-Pagination-Mode": "CachedObjectList-Cursor", "X-Pagination-Size": "900"}
        if cursor:
            headers["X-Pagination-Cursor"] = cursor
        response = api.get("/services", headers=headers)
        seen += [item["serviceId"] for item in body_of(response)]
        cursor = response.headers.get("x-pagination-cursor-next")
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 2500


def test_iceberg_filters_and_sorts(api: AsgiApi) -> None:
    response = page(
        api,
        1,
        50,
        **{
            "X-Pagination-Filter": "route.path:eq=/hosting/web/%7BserviceName%7D",
            "X-Pagination-Sort": "billing.expirationDate",
            "X-Pagination-Sort-Order": "DESC",
        },
    )
    items = body_of(response)
    assert response.headers["x-pagination-elements"] == "3"
    expiries = [i["billing"]["expirationDate"] for i in items]
    assert expiries == sorted(expiries, reverse=True)
    liked = body_of(page(api, 1, 50, **{"X-Pagination-Filter": "resource.name:like=%25shop%25"}))
    assert [i["resource"]["name"] for i in liked] == ["old-shop.example.org"]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Pagination-Mode": "CachedObjectList-Pages", "X-Pagination-Size": "0"},
        {"X-Pagination-Mode": "CachedObjectList-Pages", "X-Pagination-Size": "50001"},
        {"X-Pagination-Mode": "CachedObjectList-Pages", "X-Pagination-Number": "0"},
        {"X-Pagination-Mode": "CachedObjectList-Pages", "X-Pagination-Size": "ten"},
        {"X-Pagination-Mode": "Everything"},
        {"X-Pagination-Mode": "CachedObjectList-Pages", "X-Pagination-Filter": "name:sounds=x"},
    ],
    ids=["size-0", "size-50001", "number-0", "size-text", "mode", "filter-op"],
)
def test_bad_iceberg_requests_are_400(api: AsgiApi, headers: dict[str, str]) -> None:
    assert api.get("/services", headers=headers).status_code == 400


# --- legacy routes ----------------------------------------------------------------------


def test_legacy_and_generic_routes_share_the_state(api: AsgiApi) -> None:
    assert body_of(api.get("/hosting/web")) == [
        "campaign-2025.example.com",
        "example.com",
        "old-shop.example.org",
    ]
    infos = body_of(api.get("/hosting/web/old-shop.example.org/serviceInfos"))
    assert infos["serviceId"] == 120000202
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", infos["expiration"])
    assert infos["renew"] == {
        "automatic": True,
        "deleteAtExpiration": False,
        "forced": False,
        "manualPayment": False,
        "period": 12,
    }
    infos["renew"]["deleteAtExpiration"] = True
    assert api.put("/hosting/web/old-shop.example.org/serviceInfos", infos).status_code == 200
    generic = body_of(api.get("/services/120000202"))["billing"]["lifecycle"]["current"]
    assert generic["pendingActions"] == ["terminateAtExpirationDate"]
    api.put("/services/120000202", {"terminationPolicy": "empty", "renew": {"period": "P1M"}})
    again = body_of(api.get("/hosting/web/old-shop.example.org/serviceInfos"))
    assert again["renew"]["deleteAtExpiration"] is False and again["renew"]["period"] == 1


def test_legacy_period_and_mode(api: AsgiApi) -> None:
    path = "/vps/vps-1a2b3c4d.vps.ovh.net/serviceInfos"
    assert api.put(path, {"renew": {"period": 12, "automatic": False}}).status_code == 200
    current = body_of(api.get("/services/120000301"))["billing"]["renew"]["current"]
    assert (current["mode"], current["period"]) == ("manual", "P12M")
    assert api.put(path, {"renew": {"period": 5}}).status_code == 400


def test_legacy_exchange_route_needs_its_organisation(api: AsgiApi) -> None:
    good = "/email/exchange/hosted-ab12345-1/service/hosted-ab12345-1/serviceInfos"
    assert body_of(api.get(good))["serviceId"] == 120000601
    bad = "/email/exchange/other-org/service/hosted-ab12345-1/serviceInfos"
    assert body_of(api.get(bad)) == {
        "class": "Client::NotFound",
        "message": "This service does not exist",
    }


def test_legacy_termination_by_e_mail(api: AsgiApi) -> None:
    before = body_of(api.get("/me/notification/email/history"))
    answer = api.post("/hosting/web/old-shop.example.org/terminate")
    assert answer.status_code == 200 and isinstance(body_of(answer), str)
    ids = body_of(api.get("/me/notification/email/history"))
    new = [i for i in ids if i not in before]
    assert len(new) == 1
    email = body_of(api.get(f"/me/notification/email/history/{new[0]}"))
    assert set(email) == {"id", "date", "subject", "body"}
    assert "old-shop.example.org" in email["body"]
    found = re.search(
        r"https://www\.ovh\.com/manager/#/billing/confirmTerminate\?id=120000202&token=([A-Za-z0-9]+)",
        email["body"],
    )
    assert found
    confirm = api.post(
        "/hosting/web/old-shop.example.org/confirmTermination",
        {
            "token": found.group(1),
            "reason": "NOT_NEEDED_ANYMORE",
            "futureUse": "NOT_REPLACING_SERVICE",
            "commentary": "closing the shop",
        },
    )
    assert confirm.status_code == 200 and isinstance(body_of(confirm), str)
    assert api.get("/services/120000202").status_code == 404
    assert api.get("/hosting/web/old-shop.example.org/serviceInfos").status_code == 404
    assert api.post("/hosting/web/old-shop.example.org/terminate").status_code == 404


def test_generic_termination_by_e_mail(api: AsgiApi, sandbox_app: InProcessSandbox) -> None:
    answer = body_of(api.post("/services/120000202/terminate"))
    assert set(answer) == {"message"}
    token = re.search(r"token=(\w+)", sandbox_app.backend.emails()[-1]["body"])
    assert token
    confirm = api.post("/services/120000202/terminate/confirm", {"token": token.group(1)})
    assert set(body_of(confirm)) == {"message"}
    assert 120000202 not in body_of(api.get("/services"))
    refused = api.post("/services/120000101/terminate")  # a domain: not immediately
    assert refused.status_code == 400


def test_me_names_the_account(api: AsgiApi) -> None:
    me = body_of(api.get("/me"))
    assert me["nichandle"] == "ab12345-ovh" and me["ovhSubsidiary"] == "FR"


# --- time, through the API --------------------------------------------------------------


def test_the_near_expiry_termination_happens_when_the_clock_passes(
    api: AsgiApi, sandbox_app: InProcessSandbox
) -> None:
    assert 120000203 in body_of(api.get("/services"))
    sandbox_app.clock.advance(timedelta(hours=18))
    assert 120000203 not in body_of(api.get("/services"))
    assert api.get("/services/120000203").status_code == 404


# --- faults in-process ----------------------------------------------------------------


def test_injected_errors_replace_the_answer(api: AsgiApi, sandbox_app: InProcessSandbox) -> None:
    api.server_time()  # measured before the faults, as a client does once
    sandbox_app.app.faults.configure(FaultConfig(error_rate=1.0, error_statuses=(429,), seed=3))
    response = api.put("/services/120000101", {"displayName": "never"})
    assert response.status_code == 429 and response.headers["retry-after"] == "1"
    assert QUERY_ID.match(response.headers["x-ovh-queryid"])
    sandbox_app.app.faults.configure(FaultConfig())
    assert body_of(api.get("/services/120000101"))["resource"]["displayName"] == "example.com"


def test_a_drop_is_a_connection_error_after_the_change(
    api: AsgiApi, sandbox_app: InProcessSandbox
) -> None:
    api.server_time()
    sandbox_app.app.faults.configure(FaultConfig(drop_rate=1.0, seed=3))
    with pytest.raises(ConnectionDropped):
        api.put("/services/120000101", {"displayName": "made it"})
    assert isinstance(ConnectionDropped(), OSError)
    sandbox_app.app.faults.configure(FaultConfig())
    assert body_of(api.get("/services/120000101"))["resource"]["displayName"] == "made it"


# --- the admin side -----------------------------------------------------------------------


def test_admin_clock_route(api: AsgiApi, sandbox_app: InProcessSandbox) -> None:
    def admin(method: str, path: str, body: Any = None) -> Any:
        request = api.client.request(method, "http://sandbox.invalid" + path, json=body)
        return api.loop.run_until_complete(request)

    shown = admin("PUT", "/sandbox/clock", {"now": "2027-01-01T00:00:00+01:00"})
    assert shown.json() == {"now": "2026-12-31T23:00:00Z", "ticking": False}
    assert QUERY_ID.match(shown.headers["x-ovh-queryid"])
    sandbox_app.clock.advance(timedelta(hours=5))
    assert admin("GET", "/sandbox/clock").json()["now"] == "2026-12-31T23:00:00Z"
    assert (
        admin("PUT", "/sandbox/clock", {"advance": "1d12h"}).json()["now"] == "2027-01-02T11:00:00Z"
    )
    assert admin("PUT", "/sandbox/clock", {"now": "yesterday"}).status_code == 400
    assert admin("PUT", "/sandbox/faults", {"error_rate": 2}).status_code == 400
    assert admin("PUT", "/sandbox/faults", {"latencyms": 2}).status_code == 400
    bad_seed = admin("POST", "/sandbox/reset", {"seed": "services: [{name: x}]"})
    assert bad_seed.status_code == 400 and "<admin seed>:1" in bad_seed.json()["message"]


def test_a_client_s_delta_survives_the_clock_being_moved(
    api: AsgiApi, sandbox_app: InProcessSandbox
) -> None:
    assert api.get("/services").status_code == 200  # delta measured now
    sandbox_app.backend.set_clock(sandbox_app.backend.now() + timedelta(days=40))
    assert api.get("/services").status_code == 200  # the old delta still signs
    fresh = AsgiApi(sandbox_app.app)
    try:
        assert fresh.get("/services").status_code == 200  # and so does the new one
        halfway = str(int(fresh.server_time()) - 20 * 86400)  # matches no delta given
        assert fresh.get("/services", timestamp=halfway).json()["errorCode"] == "QUERY_TIME_OUT"
    finally:
        fresh.close()


def test_absurd_ids_are_not_found(api: AsgiApi) -> None:
    assert api.get("/services/" + "9" * 30).status_code == 404
    assert api.get("/me/notification/email/history/" + "9" * 30).status_code == 404


def test_the_validation_page_escapes_the_redirection(api: AsgiApi) -> None:
    requested = api.raw(
        "POST",
        "/auth/credential",
        body={"accessRules": [ALL_GET], "redirection": 'https://x.example/"><script>'},
        headers={"X-Ovh-Application": "demo-ak", "Content-Type": "application/json"},
    ).json()
    page = api.loop.run_until_complete(api.client.get(requested["validationUrl"]))
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
