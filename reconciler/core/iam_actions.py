"""The IAM actions of each call reconciler makes, derived from OVH's published
schemas by ``scripts/derive_iam_actions.py``: do not edit, run the script. Pure data.

``IAM_ACTIONS[call]`` are the actions an OAuth2 service account's IAM policy must
allow for ``call`` (as ``reconciler.core.access.GRANTS`` names it).
"""

from __future__ import annotations

from collections.abc import Mapping

_DERIVED: dict[str, list[str]] = {
    "GET /me": [
        "account:apiovh:me/get",
    ],
    "GET /me/notification/email/history": [
        "account:apiovh:me/notification/email/history/get",
    ],
    "GET /me/notification/email/history/{id}": [
        "account:apiovh:me/notification/email/history/get",
    ],
    "GET /services": [
        "account:apiovh:services/get",
    ],
    "GET /services/{id}": [
        "account:apiovh:services/get",
    ],
    "GET /services/{id}/renewPeriodCapacities": [
        "account:apiovh:services/renewPeriodCapacities/get",
    ],
    "POST /hosting/web/{name}/confirmTermination": [
        "webHosting:apiovh:confirmTermination",
    ],
    "POST /hosting/web/{name}/terminate": [
        "webHosting:apiovh:terminate",
    ],
    "POST /services/{id}/terminate": [
        "account:apiovh:services/terminate",
    ],
    "POST /services/{id}/terminate/confirm": [
        "account:apiovh:services/terminate/confirm",
    ],
    "PUT /domain/{name}/serviceInfos": [
        "domain:apiovh:serviceInfos/edit",
    ],
    "PUT /hosting/web/{name}/serviceInfos": [
        "webHosting:apiovh:serviceInfos/edit",
    ],
    "PUT /services/{id}": [
        "account:apiovh:services/edit",
    ],
    "PUT /services/{id}/billing/engagement/endRule": [
        "account:apiovh:services/billing/engagement/endRule",
    ],
}

IAM_ACTIONS: Mapping[str, tuple[str, ...]] = {
    call: tuple(actions) for call, actions in _DERIVED.items()
}
