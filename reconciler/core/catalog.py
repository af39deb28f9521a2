"""The OVH products reconciler knows: one table, read by every part of the product.

A service's *type* is its API route prefix (``route.path`` up to the first variable,
slashes trimmed: ``/hosting/web/{serviceName}`` → ``hosting/web``). Everything the
product says or decides about a kind of service comes from its ``Product`` here:

- its family (the rules care about web hosting, and about the families managed
  elsewhere: telecom, Microsoft, MX Plan), and the words messages use for it;
- whether "Gérer mes services" manages it at all, and where it is managed otherwise;
- whether it may be deleted now (web hosting only, as the control panel's page says);
- which termination flows (request, then confirmation: ``deletion_flows``) and which
  renewal route the control panel uses for it (docs/control-panel.md §2.6, §2.8).

A type that is not listed is a product OVH added since: ``product_of`` gives it the
``OTHER`` family and the generic defaults, never a guess at special powers (it cannot
be deleted now, and it is managed from here only through ``/services``). Spec files may
name it; one a letter away from a listed type is refused as a typo by the spec reader.

Pure data and lookups: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache


class ProductFamily(StrEnum):
    """The product families the control panel distinguishes (and the rules care about)."""

    WEB_HOSTING = "web_hosting"
    DOMAIN = "domain"
    VPS = "vps"
    DEDICATED_SERVER = "dedicated_server"
    TELECOM = "telecom"
    MICROSOFT = "microsoft"
    MX_PLAN = "mx_plan"
    OTHER = "other"


class RequestFlow(StrEnum):
    """Where an immediate termination is *requested* (OVH then e-mails a token)."""

    # POST {route.url}/terminate: the product's own route; the control panel's request for
    # a web hosting (billing/autoRenew/actions/terminateHostingWeb, docs/control-panel.md
    # §2.6).
    ROUTE = "route"
    # POST /services/{serviceId}/terminate: the panel's "terminate-service" request.
    SERVICES = "services"


class ConfirmFlow(StrEnum):
    """Where the e-mailed token *confirms* an immediate termination."""

    # POST /services/{serviceId}/terminate/confirm {"token"}: the panel's confirmation
    # when ``hasAgoraTermination`` holds (docs/control-panel.md §2.6).
    SERVICES = "services"
    # POST {route.url}/confirmTermination {"token"}: the legacy confirmation page.
    ROUTE = "route"


@dataclass(frozen=True, slots=True)
class DeletionFlows:
    """The flows of one immediate termination: the request and the confirmation, each
    with its recorded fallback (``None``: none), sent only when the first call is refused
    and a re-read shows nothing changed (docs/control-panel.md §8.22)."""

    request: RequestFlow
    confirm: ConfirmFlow
    request_fallback: RequestFlow | None = None
    confirm_fallback: ConfirmFlow | None = None


# The control panel's ``hasAgoraTermination`` (billing-components,
# cancellation-form/confirm-terminate.constants.js and billing-confirmTerminate.service.js,
# docs/control-panel.md §2.6): the plan codes, the plan-code pattern and the product types
# whose token is confirmed on /services/{id}/terminate/confirm.
AGORA_TERMINATION_PLAN_CODES: frozenset[str] = frozenset(
    (
        "backup-veeam-vcd",
        "backup-tenant",
        "vspc-tenant",
        "vrack-services",
        "okms",
        "logs-account",
        "nutanix",
        "vcd",
        "hosting-free-100m",
        "hosting-starter",
        "hosting-perso",
        "hosting-startup",
        "hosting-pro",
        "hosting-performance-1",
        "hosting-agency",
        "hosting-agency-plus",
        "hosting-agency-max",
        "cloudweb1",
        "cloudweb2",
        "cloudweb3",
        "managed-cms-10",
        "managed-cms-50",
        "managed-cms-100",
        "managed-cms-1",
        "video-center-plus",
        "video-center-pro",
    )
)
# JavaScript's /hycu-vms-*|(logs-enterprise(-hds)?$)|^backup-vault-paygo/ with ``test``:
# a search anywhere in the plan code (``re.search``), as the panel's ``RegExp.test``.
AGORA_TERMINATION_PLAN_PATTERN: re.Pattern[str] = re.compile(
    r"hycu-vms-*|(logs-enterprise(-hds)?$)|^backup-vault-paygo"
)
AGORA_TERMINATION_PANEL_TYPES: frozenset[str] = frozenset(
    ("domain", "hosting_privateDatabase", "hosting_web_cdn", "hosting_web")
)


def us_region(endpoint: str) -> bool:
    """Whether ``endpoint`` (a name of the endpoint table or a URL) is OVHcloud US, where
    the panel confirms terminations its own way (``SPECIAL_CONDITIONS_SUBSIDIARIES``)."""
    return endpoint == "ovh-us" or "api.us.ovhcloud.com" in endpoint


def has_agora_termination(plan_code: str | None, panel_type: str | None) -> bool:
    """The panel's ``hasAgoraTermination(planCode, productType)``: the plan code in the
    list or matching the pattern, or the product type in the list (``panel_type`` None:
    by plan code alone, as the US legacy page asks)."""
    code = plan_code or ""
    if code in AGORA_TERMINATION_PLAN_CODES or AGORA_TERMINATION_PLAN_PATTERN.search(code):
        return True
    return panel_type is not None and panel_type in AGORA_TERMINATION_PANEL_TYPES


def deletion_flows(product: Product, plan_code: str | None, *, endpoint: str) -> DeletionFlows:
    """The flows the control panel picks to delete ``product`` now (docs/control-panel.md
    §2.6, §8.22): the product's request route, then the confirmation on /services when
    ``hasAgoraTermination`` holds (outside the US by plan code or product type, in the US
    by plan code only), else on the product's legacy route. The fallbacks are the other
    route of each half (§9 Q8)."""
    by_type = None if us_region(endpoint) else product.panel_type
    confirm = (
        ConfirmFlow.SERVICES if has_agora_termination(plan_code, by_type) else ConfirmFlow.ROUTE
    )
    request = product.deletion_request
    return DeletionFlows(
        request=request,
        confirm=confirm,
        request_fallback=RequestFlow.SERVICES if request is RequestFlow.ROUTE else None,
        confirm_fallback=ConfirmFlow.ROUTE if confirm is ConfirmFlow.SERVICES else None,
    )


class RenewalRoute(StrEnum):
    """Where the control panel changes a service's renewal."""

    SERVICES = "services"  # PUT /services/{serviceId} {"renew": {...}}
    SERVICE_INFOS = "serviceInfos"  # PUT {route.url}/serviceInfos {"renew": {...}}


# What each family managed elsewhere is called, and where it is managed.
_ELSEWHERE: Mapping[ProductFamily, tuple[str, str]] = {
    ProductFamily.TELECOM: ("a telecom service", "the telecom interface"),
    ProductFamily.MICROSOFT: ("a Microsoft service", "its own interface"),
    ProductFamily.MX_PLAN: ("an MX Plan e-mail service", "its own page"),
}


@dataclass(frozen=True, slots=True)
class Product:
    """One kind of OVH service, as reconciler treats it."""

    type: str  # the route prefix, e.g. "hosting/web"
    family: ProductFamily
    noun: str  # what one is called in a sentence: "web hosting", "VPS"
    listed: bool = True  # False: a type reconciler does not know (``product_of``)
    # The only kind "Supprimer immédiatement" exists for.
    immediate_deletion: bool = False
    # Where an immediate termination is requested (``deletion_flows`` adds the
    # confirmation, which depends on the plan code and the endpoint too).
    deletion_request: RequestFlow = RequestFlow.SERVICES
    renewal_route: RenewalRoute = RenewalRoute.SERVICES
    # The control panel's serviceType for it (``hosting_web``), where the panel's code
    # decides something by it.
    panel_type: str | None = None

    @property
    def manageable(self) -> bool:
        """False for telecom, Microsoft and MX Plan services: "Gérer mes services" does
        not manage them; each has its own interface."""
        return self.family not in _ELSEWHERE

    @property
    def described(self) -> str:
        """The product in a sentence: ``a web hosting``, ``a telecom service``."""
        if self.family in _ELSEWHERE:
            return _ELSEWHERE[self.family][0]
        article = "an" if self.noun[:1].lower() in "aeiou" else "a"
        return f"{article} {self.noun}"

    @property
    def managed_from(self) -> str | None:
        """Where a service managed elsewhere is managed (``None``: from here)."""
        found = _ELSEWHERE.get(self.family)
        return found[1] if found else None


_F = ProductFamily

# The API's top-level product routes. Order is irrelevant: lookups go by longest prefix.
PRODUCTS: tuple[Product, ...] = (
    Product(
        "hosting/web",
        _F.WEB_HOSTING,
        "web hosting",
        immediate_deletion=True,
        deletion_request=RequestFlow.ROUTE,
        panel_type="hosting_web",
    ),
    Product(
        "hosting/privateDatabase",
        _F.OTHER,
        "private database",
        panel_type="hosting_privateDatabase",
    ),
    Product("domain", _F.DOMAIN, "domain", panel_type="domain"),
    Product("allDom", _F.DOMAIN, "AllDom domain pack"),
    Product("domain/zone", _F.DOMAIN, "DNS zone"),
    Product("vps", _F.VPS, "VPS"),
    Product("dedicated/server", _F.DEDICATED_SERVER, "dedicated server"),
    Product("dedicated/housing", _F.DEDICATED_SERVER, "housing bay"),
    Product("dedicated/ceph", _F.OTHER, "Cloud Disk Array"),
    Product("dedicated/nasha", _F.OTHER, "NAS-HA"),
    Product("dedicatedCloud", _F.OTHER, "Hosted Private Cloud"),
    Product("cloud/project", _F.OTHER, "Public Cloud project"),
    Product("caas/registry", _F.OTHER, "managed private registry"),
    Product("cdn/dedicated", _F.OTHER, "CDN"),
    Product("dbaas/logs", _F.OTHER, "Logs Data Platform"),
    Product("email/pro", _F.OTHER, "Email Pro service"),
    Product("horizonView", _F.OTHER, "Horizon View"),
    Product("ip", _F.OTHER, "IP block"),
    Product("ipLoadbalancing", _F.OTHER, "load balancer"),
    Product("license/cloudLinux", _F.OTHER, "CloudLinux licence"),
    Product("license/cpanel", _F.OTHER, "cPanel licence"),
    Product("license/directadmin", _F.OTHER, "DirectAdmin licence"),
    Product("license/plesk", _F.OTHER, "Plesk licence"),
    Product("license/redhat", _F.OTHER, "Red Hat licence"),
    Product("license/sqlserver", _F.OTHER, "SQL Server licence"),
    Product("license/virtuozzo", _F.OTHER, "Virtuozzo licence"),
    Product("license/windows", _F.OTHER, "Windows licence"),
    Product("license/worklight", _F.OTHER, "WorkLight licence"),
    Product("metrics", _F.OTHER, "Metrics Data Platform"),
    Product("nutanix", _F.OTHER, "Nutanix cluster"),
    Product("ssl", _F.OTHER, "SSL certificate"),
    Product("sslGateway", _F.OTHER, "SSL Gateway"),
    Product("storage/netapp", _F.OTHER, "NetApp storage"),
    Product("veeam/veeamEnterprise", _F.OTHER, "Veeam Enterprise"),
    Product("veeamCloudConnect", _F.OTHER, "Veeam Cloud Connect"),
    Product("vrack", _F.OTHER, "vRack"),
    # Managed elsewhere (the control panel's page refuses them).
    Product("xdsl", _F.TELECOM, "xDSL access"),
    Product("pack/xdsl", _F.TELECOM, "xDSL pack"),
    Product("telephony", _F.TELECOM, "telephony account"),
    Product("sms", _F.TELECOM, "SMS account"),
    Product("overTheBox", _F.TELECOM, "OverTheBox"),
    Product("freefax", _F.TELECOM, "Freefax"),
    Product("email/exchange", _F.MICROSOFT, "Exchange service"),
    Product("msServices", _F.MICROSOFT, "SharePoint service"),
    Product("license/office", _F.MICROSOFT, "Office 365 licence"),
    Product("email/domain", _F.MX_PLAN, "MX Plan"),
    Product("email/mxplan", _F.MX_PLAN, "MX Plan"),
)

BY_TYPE: Mapping[str, Product] = {product.type: product for product in PRODUCTS}
KNOWN_TYPES: tuple[str, ...] = tuple(sorted(BY_TYPE, key=str.lower))
WEB_HOSTING: Product = BY_TYPE["hosting/web"]


@lru_cache(maxsize=512)
def product_of(service_type: str) -> Product:
    """The product of a type such as ``hosting/web`` or ``email/exchange``: the listed
    product with the longest prefix (``email/exchange/x`` is an Exchange service), else
    an unlisted product of family ``OTHER`` with the generic defaults. Surrounding
    slashes are ignored (``/hosting/web`` is ``hosting/web``)."""
    wanted = service_type.strip("/")
    found = BY_TYPE.get(wanted)
    if found is not None:
        return found
    best: Product | None = None
    for product in PRODUCTS:
        if wanted.startswith(product.type + "/") and (
            best is None or len(product.type) > len(best.type)
        ):
            best = product
    if best is not None:
        return best
    return Product(type=wanted, family=ProductFamily.OTHER, noun="service", listed=False)


def family_of(service_type: str) -> ProductFamily:
    """The family of a type (``product_of(service_type).family``)."""
    return product_of(service_type).family


def type_of_route(route_path: str) -> str:
    """A service's type from its ``route.path``: up to the first variable, slashes
    trimmed (``/email/exchange/{organizationName}/service/{exchangeService}`` →
    ``email/exchange``); ``unknown`` when nothing is left."""
    return route_path.split("{", 1)[0].strip("/") or "unknown"
