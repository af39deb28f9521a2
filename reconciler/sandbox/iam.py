"""IAM: the action each operation needs, and a key's policy that allows or refuses it.

OVH names an action per API operation (``iamActions`` in its published schemas:
``account:apiovh:services/edit`` for ``PUT /services/{serviceId}``). A key governed by
IAM (a seed's ``iam_actions``, the actions its policy allows, ``*`` matching any run of
characters) calling an operation whose actions it lacks is answered as OVH answers it
(the IAM documentation's example, and ``ovh/go-ovh``'s reading of it in
``ovh/error.go``)::

    403 {"class": "Client::Forbidden", "message": "User not granted for this request",
         "details": {"unauthorizedActionsByAuthentication": "",
                     "unauthorizedActionsByIAM": "account:apiovh:services/edit"}}

The generic routes' actions and those of ``/hosting/web``, ``/domain`` and
``/domain/zone`` are the schemas' (``tests/sandbox/test_sandbox_iam.py`` checks them
against a copy when there is one); the other products' resource types are inferred from
the same pattern (``<type>:apiovh:serviceInfos/get``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

# (method, path template as the sandbox serves it): the account action OVH's schemas name,
# after its ``account:apiovh:`` prefix.
_GENERIC_OPERATIONS: dict[tuple[str, str], str] = {
    ("GET", "/me"): "me/get",
    ("GET", "/me/notification/email/history"): "me/notification/email/history/get",
    ("GET", "/me/notification/email/history/{id}"): "me/notification/email/history/get",
    ("GET", "/services"): "services/get",
    ("GET", "/services/{id}"): "services/get",
    ("PUT", "/services/{id}"): "services/edit",
    ("GET", "/services/{id}/options"): "services/options/get",
    ("GET", "/services/{id}/renewPeriodCapacities"): "services/renewPeriodCapacities/get",
    ("GET", "/services/{id}/billing/engagement"): "services/billing/engagement/get",
    ("PUT", "/services/{id}/billing/engagement/endRule"): "services/billing/engagement/endRule",
    ("POST", "/services/{id}/terminate"): "services/terminate",
    ("POST", "/services/{id}/terminate/confirm"): "services/terminate/confirm",
}
GENERIC_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    route: (f"account:apiovh:{operation}",) for route, operation in _GENERIC_OPERATIONS.items()
}

# A product's IAM resource type. webHosting, domain and dnsZone are the schemas'; the
# others are inferred (OVH's product names in camel case).
RESOURCE_TYPES: dict[str, str] = {
    "/hosting/web": "webHosting",
    "/domain": "domain",
    "/domain/zone": "dnsZone",
    "/allDom": "allDom",
    "/vps": "vps",
    "/dedicated/server": "dedicatedServer",
    "/hosting/privateDatabase": "webHostingPrivateDatabase",
    "/cloud/project": "publicCloudProject",
    "/dedicatedCloud": "dedicatedCloud",
    "/ipLoadbalancing": "ipLoadbalancing",
    "/xdsl": "xdsl",
    "/pack/xdsl": "packXdsl",
    "/telephony": "telephony",
    "/sms": "sms",
    "/overTheBox": "overTheBox",
    "/email/exchange": "emailExchange",
    "/msServices/sharepoint": "msServicesSharepoint",
    "/license/office": "licenseOffice",
    "/email/domain": "emailDomain",
}

# What follows a product's path, by method: the action's name after the resource type.
_PRODUCT_OPERATIONS = {
    ("GET", ""): "get",  # the list of a product (its route itself)
    ("GET", "/serviceInfos"): "serviceInfos/get",
    ("PUT", "/serviceInfos"): "serviceInfos/edit",
    ("POST", "/terminate"): "terminate",
    ("POST", "/confirmTermination"): "confirmTermination",
}


def product_actions(method: str, route: str, suffix: str) -> tuple[str, ...]:
    """The action of a product's route: ``suffix`` is what follows the service's path
    (``/serviceInfos``), or ``""`` for the product's list."""
    operation = _PRODUCT_OPERATIONS.get((method, suffix))
    if operation is None or route not in RESOURCE_TYPES:
        return ()
    return (f"{RESOURCE_TYPES[route]}:apiovh:{operation}",)


@lru_cache(maxsize=256)
def _pattern(allowed: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in allowed.split("*")) + r"\Z")


def refused(policy: Iterable[str], needed: Sequence[str]) -> tuple[str, ...]:
    """The actions of ``needed`` that no entry of ``policy`` allows."""
    allowed = tuple(policy)
    return tuple(action for action in needed if not any(_pattern(p).match(action) for p in allowed))
