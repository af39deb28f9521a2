"""A key governed by IAM: the operation's actions, and OVH's 403 when its policy lacks
them (``reconciler/sandbox/iam.py``), seen through the official ``ovh`` client; and the
actions the sandbox names, judged by OVH's published schemas when a copy is there."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import ovh
import pytest
from conformance.locate import missing_reason, schema_folder
from ovh import exceptions as ovh_errors

from reconciler.sandbox import SeedError, parse_seed
from reconciler.sandbox.app import API_ROUTES, _template
from reconciler.sandbox.testing import SANDBOX_EPOCH, SandboxServer

IAM_KEYS = """\
credentials:
  - {application_key: demo-ak, application_secret: demo-as, consumer_key: demo-ck}
  - {application_key: demo-ak, application_secret: demo-as, consumer_key: reader-ck,
     iam_actions: [account:apiovh:services/get, "account:apiovh:me/*",
                   "webHosting:apiovh:serviceInfos/*"]}
services:
  - {name: shop.example.com, route: /hosting/web, id: 160000001, expires_in: 200d}
  - {name: example.com, route: /domain, id: 160000002, expires_in: 200d}
"""


@pytest.fixture
def reader(sandbox_server: SandboxServer, make_ovh_client: Callable[..., Any]) -> ovh.Client:
    sandbox_server.load_seed(IAM_KEYS, now=SANDBOX_EPOCH)
    return make_ovh_client(consumer_key="reader-ck")  # type: ignore[no-any-return]


def refusal(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ovh_errors.APIError) as caught:
        call()
    response = caught.value.response
    assert response is not None and response.status_code == 403
    return response.json()  # type: ignore[no-any-return]


def test_a_policy_without_the_action_is_refused_with_the_missing_action(
    reader: ovh.Client, ovh_client: ovh.Client
) -> None:
    assert reader.get("/services/160000001")["serviceId"] == 160000001
    assert reader.get("/me/notification/email/history") == []
    body = refusal(lambda: reader.put("/services/160000001", displayName="Shop"))
    assert body == {
        "class": "Client::Forbidden",
        "message": "User not granted for this request",
        "details": {
            "unauthorizedActionsByAuthentication": "",
            "unauthorizedActionsByIAM": "account:apiovh:services/edit",
        },
    }
    assert ovh_client.get("/services/160000001")["resource"]["displayName"] != "Shop"
    # Product routes name their own actions; a wildcard allows a family of them.
    assert reader.get("/hosting/web/shop.example.com/serviceInfos")["serviceId"] == 160000001
    domain = refusal(lambda: reader.get("/domain/example.com/serviceInfos"))
    assert domain["details"]["unauthorizedActionsByIAM"] == "domain:apiovh:serviceInfos/get"
    terminate = refusal(lambda: reader.post("/services/160000001/terminate"))
    assert terminate["details"]["unauthorizedActionsByIAM"] == "account:apiovh:services/terminate"
    # A key without a policy is judged by its access rules alone, as before.
    ovh_client.put("/services/160000002", displayName="Example")


def test_an_iam_action_in_a_seed_is_checked() -> None:
    with pytest.raises(SeedError, match="is not an IAM action"):
        parse_seed(
            "credentials:\n  - {application_key: a, application_secret: b, consumer_key: c,\n"
            "     iam_actions: [services/get]}\nservices: []\n"
        )
    seed = parse_seed(IAM_KEYS)
    assert seed.credentials[1].iam_actions is not None
    assert seed.credentials[0].iam_actions is None


def schema_actions() -> dict[tuple[str, str], tuple[str, ...]]:
    folder = schema_folder()
    if folder is None:
        pytest.skip(missing_reason())
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for path in sorted(folder.glob("eu-*.json")):
        for api in json.loads(path.read_text(encoding="utf-8")).get("apis", []):
            for operation in api["operations"]:
                key = (operation["httpMethod"], re.sub(r"\{\w+\}", "{}", api["path"]))
                found[key] = tuple(a["name"] for a in operation.get("iamActions") or ())
    return found


def test_the_actions_named_are_the_schemas_where_they_say() -> None:
    published = schema_actions()
    compared = 0
    for route in API_ROUTES:
        key = (route.method, re.sub(r"\{\w+\}", "{}", _template(route.pattern)))
        if key in published:
            assert route.iam == published[key], key
            compared += 1
    assert compared >= 20  # the generic routes, /hosting/web, /domain, /domain/zone
