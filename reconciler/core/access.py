"""The OVH access rules each role of reconciler needs: one table, least privilege. Pure.
(docs/user-guide.md, "Credentials and least privilege", lists every rule and why.)

An OVH consumer key carries access rules ``{method, path}``; ``*`` in a path matches
any run of characters, slashes included, and a rule must match the whole path (after
``/1.0``, without the query string). A key that holds more than a job needs is a risk
a platform team should not have to take, so ``reconciler credentials request`` asks
for exactly what one of two roles uses: ``plan`` (the reads of ``plan``, ``services``
and ``import``: nothing a leaked key could change) and ``apply`` (those reads, the
re-reads and the e-mail history of a deletion, and exactly the write calls the
planner's typed steps are made of, with their recorded fallbacks,
``reconciler.core.steps.fallbacks_of``).

The table is ``GRANTS``; ``rules_for(role)`` derives a role's rules from it, and the
tests check it both ways: every call the product makes is granted, and every rule is
needed by a call. An OAuth2 service account has no access rules: ``iam_actions_for``
gives the IAM actions of exactly a role's calls, as OVH's published schemas name them
(``reconciler.core.iam_actions``, derived by a script, never written by hand), and
``iam_policy`` a policy to paste.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache
from typing import Any, Literal

from reconciler.core.catalog import PRODUCTS
from reconciler.core.iam_actions import IAM_ACTIONS

Method = Literal["GET", "PUT", "POST", "DELETE"]


class Role(StrEnum):
    PLAN = "plan"  # read-only: plan, services, import
    APPLY = "apply"  # the reads of plan, the e-mail history, and the executor's writes


@dataclass(frozen=True, slots=True, order=True)
class AccessRule:
    """One OVH access rule, as ``POST /auth/credential`` takes it."""

    method: Method
    path: str  # a pattern: "*" matches any run of characters, slashes included

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def as_json(self) -> dict[str, str]:
        return {"method": self.method, "path": self.path}

    def grants(self, method: str, path: str) -> bool:
        """Whether this rule allows ``method path`` (path without ``/1.0`` and query)."""
        return method.upper() == self.method and _pattern(self.path).match(path) is not None


@dataclass(frozen=True, slots=True)
class Grant:
    """A line of the table: a rule, the roles that need it, and the calls it is for."""

    rule: AccessRule
    roles: frozenset[Role]
    calls: tuple[str, ...]  # the concrete calls it grants, as the code makes them
    why: str  # who makes those calls, for the docs and `credentials request`


_BOTH = frozenset({Role.PLAN, Role.APPLY})
_APPLY = frozenset({Role.APPLY})
# The route of the one kind "Supprimer immédiatement" exists for (the catalogue's
# ``immediate_deletion``): where delete_now requests and, on its legacy flow, confirms.
(_DELETABLE,) = (f"/{product.type}" for product in PRODUCTS if product.immediate_deletion)

# The one table. Keep it in the order a reader meets the calls: reads, then writes.
GRANTS: tuple[Grant, ...] = (
    Grant(
        AccessRule("GET", "/services"),
        _BOTH,
        ("GET /services",),
        "list the account's services (Iceberg pages, or the list of ids)",
    ),
    Grant(
        AccessRule("GET", "/services/*"),
        _BOTH,
        ("GET /services/{id}", "GET /services/{id}/renewPeriodCapacities"),
        "read each service (per-id reads; apply re-reads a service before acting on it) "
        "and the renewal periods it offers (specs that set a period)",
    ),
    Grant(
        AccessRule("GET", "/me"),
        _BOTH,
        ("GET /me",),
        "delete_now: whose key this is (nichandle), checked against the service's "
        "administrator contact, who alone receives the confirmation e-mail",
    ),
    Grant(
        AccessRule("GET", "/me/notification/email/history"),
        _APPLY,
        ("GET /me/notification/email/history",),
        "delete_now: the ids of the account's e-mails, to find the confirmation e-mail",
    ),
    Grant(
        AccessRule("GET", "/me/notification/email/history/*"),
        _APPLY,
        ("GET /me/notification/email/history/{id}",),
        "delete_now: read the confirmation e-mail, which holds the token",
    ),
    Grant(
        AccessRule("PUT", "/services/*"),
        _APPLY,
        ("PUT /services/{id}", "PUT /services/{id}/billing/engagement/endRule"),
        "terminate_at_expiry, terminate_at_commitment_end and cancel_termination "
        "(terminationPolicy; a commitment's end rule reset as the control panel does), "
        "set_renew's commitment_end (the end rule), and set_renew where a service has no "
        "route of its own",
    ),
    Grant(
        AccessRule("PUT", "/*/serviceInfos"),
        _APPLY,
        ("PUT /hosting/web/{name}/serviceInfos", "PUT /domain/{name}/serviceInfos"),
        "set_renew and cancel_termination: the renewal object (automatic or by hand, the "
        "period), on each product's own route (route.url), as the control panel changes "
        "it; for OAuth2 keys, products other than web hosting and domains need their own "
        "serviceInfos/edit IAM action, which the schemas at hand do not list",
    ),
    Grant(
        AccessRule("POST", f"{_DELETABLE}/*/terminate"),
        _APPLY,
        (f"POST {_DELETABLE}/{{name}}/terminate",),
        "delete_now (web hosting only): request the deletion; OVH e-mails a token",
    ),
    Grant(
        AccessRule("POST", "/services/*/terminate/confirm"),
        _APPLY,
        ("POST /services/{id}/terminate/confirm",),
        "delete_now: confirm the deletion with the e-mailed token (the control panel's "
        "confirmation for web hosting)",
    ),
    Grant(
        AccessRule("POST", "/services/*/terminate"),
        _APPLY,
        ("POST /services/{id}/terminate",),
        "delete_now: the recorded fallback of the request, sent only when the hosting's "
        "own route refuses it and nothing changed",
    ),
    Grant(
        AccessRule("POST", f"{_DELETABLE}/*/confirmTermination"),
        _APPLY,
        (f"POST {_DELETABLE}/{{name}}/confirmTermination",),
        "delete_now: the legacy confirmation (ovh-us plan codes outside the panel's list), "
        "and the recorded fallback of the /services one",
    ),
)

# Calls every key may make without a rule (OVH does not check rules on them).
UNRULED_CALLS: tuple[str, ...] = ("GET /auth/time", "GET /auth/currentCredential")


def grants_for(role: Role) -> tuple[Grant, ...]:
    return tuple(grant for grant in GRANTS if role in grant.roles)


def rules_for(role: Role) -> tuple[AccessRule, ...]:
    """The access rules a consumer key for ``role`` is requested with, in table order."""
    return tuple(grant.rule for grant in grants_for(role))


def credential_request(role: Role, *, redirection: str | None = None) -> dict[str, Any]:
    """The body of ``POST /auth/credential`` for ``role`` (``redirection``: where OVH's
    validation page sends the user afterwards, or None)."""
    return {
        "accessRules": [rule.as_json() for rule in rules_for(role)],
        "redirection": redirection,
    }


def granted(rules: Iterable[AccessRule], method: str, path: str) -> bool:
    """Whether any of ``rules`` allows ``method path``."""
    bare = path.split("?", 1)[0]
    return any(rule.grants(method, bare) for rule in rules)


def rule_for_call(method: str, path: str) -> AccessRule | None:
    """The rule of the table that grants ``method path`` (the first, in table order), or
    None when reconciler never makes that call."""
    bare = path.split("?", 1)[0]
    return next((g.rule for g in GRANTS if g.rule.grants(method, bare)), None)


def roles_granting(method: str, path: str) -> frozenset[Role]:
    """The roles whose rules allow ``method path``."""
    bare = path.split("?", 1)[0]
    found: set[Role] = set()
    for grant in GRANTS:
        if grant.rule.grants(method, bare):
            found |= grant.roles
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class Coverage:
    """How a key's rules compare with what a role needs."""

    role: Role
    missing: tuple[AccessRule, ...]  # needed by the role, not granted by the key
    beyond: tuple[AccessRule, ...]  # held by the key and not needed by the role

    @property
    def sufficient(self) -> bool:
        return not self.missing

    @property
    def least(self) -> bool:
        return not self.beyond


def coverage(held: Sequence[AccessRule], role: Role) -> Coverage:
    """Compare the rules of a key (``held``) with what ``role`` needs.

    A needed rule counts as held when one of the key's rules grants every call it
    stands for (``GET /*`` holds ``GET /services/*``); a held rule is beyond the role
    when it grants anything none of the role's rules grants (judged on the calls the
    rule's own pattern matches: a rule identical to, or narrower than, a needed one
    is not beyond)."""
    needed = rules_for(role)
    missing = tuple(rule for rule in needed if not any(_covers(h, rule) for h in held))
    beyond = tuple(rule for rule in held if not any(_covers(n, rule) for n in needed))
    return Coverage(role=role, missing=missing, beyond=beyond)


def parse_rules(data: Any) -> tuple[AccessRule, ...]:
    """Access rules from the API's JSON (``GET /auth/currentCredential``'s ``rules``);
    rules of other shapes are skipped (they cannot be compared)."""
    found: list[AccessRule] = []
    if isinstance(data, list):
        for item in data:
            if isinstance(item, Mapping):
                method, path = item.get("method"), item.get("path")
                if method in ("GET", "PUT", "POST", "DELETE") and isinstance(path, str):
                    found.append(AccessRule(method, path))
    return tuple(found)


def _covers(wide: AccessRule, narrow: AccessRule) -> bool:
    """Whether ``wide`` grants every path ``narrow``'s pattern can match. Decided on
    the pattern itself: ``narrow``'s ``*`` stand for any text, so ``wide`` must match
    ``narrow``'s pattern with each ``*`` read as a run of characters that ``wide``'s
    own ``*`` can absorb (a ``*`` of ``wide`` at the same place, or later)."""
    if wide.method != narrow.method:
        return False
    return _pattern_covers(wide.path, narrow.path)


@lru_cache(maxsize=256)
def _pattern_covers(wide: str, narrow: str) -> bool:
    # Classic glob containment for patterns whose only wildcard is "*": walk both,
    # a "*" of `wide` may absorb any part of `narrow` (its "*" included); a "*" of
    # `narrow` must be absorbed by a "*" of `wide`.
    @cache
    def walk(i: int, j: int) -> bool:
        if i == len(wide):
            return j == len(narrow)
        if wide[i] == "*":
            return any(walk(i + 1, k) for k in range(j, len(narrow) + 1))
        if j == len(narrow) or narrow[j] == "*":
            return False
        return wide[i] == narrow[j] and walk(i + 1, j + 1)

    return walk(0, 0)


@lru_cache(maxsize=256)
def _pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\*)", path)
    return re.compile("".join(".*" if part == "*" else re.escape(part) for part in parts) + r"\Z")


def secret_name(role: Role) -> str:
    """The name of the CI secret holding ``role``'s consumer key, in every guide and
    recipe: ``OVH_PLAN_CONSUMER_KEY``, ``OVH_APPLY_CONSUMER_KEY``. A job passes it to
    reconciler as ``OVH_CONSUMER_KEY`` (the one variable the client reads)."""
    return f"OVH_{role.value.upper()}_CONSUMER_KEY"


# --- IAM (OAuth2 service accounts) ------------------------------------------------------

# What stands in a pasted policy for what only the user knows.
ACCOUNT_PLACEHOLDER = "ACCOUNT"  # the account's NIC handle, e.g. xx1111-ovh
CLIENT_ID_PLACEHOLDER = "CLIENT_ID"  # the service account's OAuth2 client id
HOSTING_PLACEHOLDER = "HOSTING_NAME"  # a web hosting a spec deletes now


def iam_actions_for(role: Role) -> tuple[str, ...]:
    """The IAM actions an OAuth2 service account needs for ``role``: those OVH's schemas
    give for exactly the calls of the role's grants (``iam_actions.IAM_ACTIONS``, derived
    by ``scripts/derive_iam_actions.py``), sorted, each once. A call of the table with no
    derived actions is a ``KeyError``: the derived list is stale (the tests say so)."""
    found = {
        action for grant in grants_for(role) for call in grant.calls for action in IAM_ACTIONS[call]
    }
    return tuple(sorted(found))


def iam_plate(endpoint: str) -> str:
    """The region of OVH's IAM URNs (``urn:v1:<plate>:...``) for an endpoint name or URL:
    ``ca`` and ``us`` for those APIs, else ``eu``."""
    if endpoint.endswith("-ca") or "ca.api." in endpoint:
        return "ca"
    if endpoint == "ovh-us" or "api.us." in endpoint:
        return "us"
    return "eu"


def iam_policy(
    role: Role,
    *,
    endpoint: str,
    account: str | None = None,
    client_id: str | None = None,
    hostings: Sequence[str] = (),
) -> dict[str, Any]:
    """An IAM policy to paste (``POST /iam/policy`` of API v2, or the control panel's
    JSON editor) giving an OAuth2 service account exactly ``role``'s actions: the account
    actions on the account, the web hosting actions (apply's ``delete_now``) on each
    hosting named in ``hostings`` (a placeholder when none is). What is not known is a
    placeholder in capitals, to replace before pasting."""
    plate = iam_plate(endpoint)
    nic = account or ACCOUNT_PLACEHOLDER
    actions = iam_actions_for(role)
    resources = [{"urn": f"urn:v1:{plate}:resource:account:{nic}"}]
    if any(action.startswith("webHosting:") for action in actions):
        names = list(hostings) or [HOSTING_PLACEHOLDER]
        resources += [{"urn": f"urn:v1:{plate}:resource:webHosting:{name}"} for name in names]
    return {
        "name": f"reconciler-{role.value}",
        "description": f"reconciler {role.value}: the calls `reconciler {role.value}` makes",
        "identities": [
            f"urn:v1:{plate}:identity:credential:{nic}/oauth2-{client_id or CLIENT_ID_PLACEHOLDER}"
        ],
        "resources": resources,
        "permissions": {"allow": [{"action": action} for action in actions]},
    }
