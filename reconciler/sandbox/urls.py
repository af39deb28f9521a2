"""The sandbox's route table: every ``/1.0`` route it serves, its handler and its needs.

One ``ApiRoute`` per method and path template, as OVH's schemas write them
(``/services/{id}/terminate``), with the handler of ``app.SandboxApp`` that answers it,
how it is authenticated and the IAM actions it needs (``iam.py``). The generic routes
are listed here; each product of the catalogue adds its legacy ones (``serviceInfos``,
and ``terminate`` / ``confirmTermination`` where the product has that flow).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from reconciler.sandbox import errors, iam
from reconciler.sandbox.catalog import PRODUCTS


@dataclass(frozen=True, slots=True)
class ApiRoute:
    method: str
    pattern: re.Pattern[str]
    handler: str  # method name on SandboxApp
    auth: str = "signed"  # "public" | "signed" | "signed-any-rule"
    extra: tuple[tuple[str, str], ...] = ()  # fixed keyword arguments (route of legacy)
    iam: tuple[str, ...] = ()  # the IAM actions the operation needs (``iam.py``)

    @property
    def template(self) -> str:
        """The path as OVH's schemas write it: ``/services/{id}/options``."""
        return _template(self.pattern)


def _compile(template: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(regex + r"\Z")


# The generic routes: method, template, handler, and how the call is authenticated.
_GENERIC_ROUTES = (
    ("GET", "/auth/time", "auth_time", "public"),
    ("POST", "/auth/credential", "auth_credential", "public"),
    ("GET", "/auth/currentCredential", "current_credential", "signed-any-rule"),
    ("GET", "/me", "me", "signed"),
    ("GET", "/me/notification/email/history", "email_history", "signed"),
    ("GET", "/me/notification/email/history/{id}", "email", "signed"),
    ("GET", "/services", "services", "signed"),
    ("GET", "/services/{id}", "service", "signed"),
    ("PUT", "/services/{id}", "update_service", "signed"),
    ("GET", "/services/{id}/options", "options", "signed"),
    ("GET", "/services/{id}/renewPeriodCapacities", "periods", "signed"),
    ("GET", "/services/{id}/billing/engagement", "engagement", "signed"),
    ("PUT", "/services/{id}/billing/engagement/endRule", "end_rule", "signed"),
    ("POST", "/services/{id}/terminate", "terminate", "signed"),
    ("POST", "/services/{id}/terminate/confirm", "confirm", "signed"),
)
# A product's legacy routes below its service's path: method, what follows the path, handler;
# the termination pair only for the products that have that flow.
_LEGACY_ROUTES = (
    ("GET", "/serviceInfos", "legacy_infos"),
    ("PUT", "/serviceInfos", "legacy_update_infos"),
)
_LEGACY_TERMINATION_ROUTES = (
    ("POST", "/terminate", "legacy_terminate"),
    ("POST", "/confirmTermination", "legacy_confirm"),
)


def _api_routes() -> list[ApiRoute]:
    routes = [
        ApiRoute(method, _compile(template), handler, auth=auth)
        for method, template, handler, auth in _GENERIC_ROUTES
    ]
    for product in PRODUCTS.values():
        extra = (("route", product.route),)
        if len(product.var_names) == 1:
            routes.append(ApiRoute("GET", _compile(product.route), "legacy_list", extra=extra))
        legacy = _LEGACY_ROUTES + (_LEGACY_TERMINATION_ROUTES if product.legacy_termination else ())
        routes.extend(
            ApiRoute(method, _compile(product.path + suffix), handler, extra=extra)
            for method, suffix, handler in legacy
        )
    return [_with_iam(route) for route in routes]


def _with_iam(route: ApiRoute) -> ApiRoute:
    template = _template(route.pattern)
    extra = dict(route.extra)
    if "route" not in extra:
        return replace(route, iam=iam.GENERIC_ACTIONS.get((route.method, template), ()))
    product = PRODUCTS[extra["route"]]
    suffix = template[len(product.path) :] if template.startswith(product.path) else ""
    return replace(route, iam=iam.product_actions(route.method, product.route, suffix))


_GROUP = re.compile(r"\(\?P<(\w+)>\[\^/\]\+\)")


def _template(pattern: re.Pattern[str]) -> str:
    """The template a route was compiled from (``_compile`` read backwards)."""
    return _GROUP.sub(r"{\1}", pattern.pattern).removesuffix(r"\Z").replace("\\", "")


API_ROUTES = _api_routes()


def match(method: str, path: str) -> tuple[ApiRoute, dict[str, str]]:
    """The route serving ``method path``; OVH's 404 for a URL it does not know."""
    for route in API_ROUTES:
        if route.method != method:
            continue
        found = route.pattern.match(path)
        if found:
            return route, found.groupdict()
    raise errors.no_route()
