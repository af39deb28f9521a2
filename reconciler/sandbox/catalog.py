"""The products the sandbox knows: routes, name formats, plans, periods and capacities.

One ``Product`` per route prefix. Everything a seed does not say about a service comes
from here: the plan and its description, the renewal periods offered, what the lifecycle
allows (``billing.lifecycle.capacities.actions``) and how the service's resource name
must look. Values are realistic rather than exact copies of OVH's catalogue (plan codes
and prices change often); the *shapes* are OVH's.

What each family may do follows the control panel (docs/sandbox.md, "Capacities by
family"; docs/control-panel.md §2.8): immediate termination
(``terminate``) only for web hosting; telecom, Microsoft and MX Plan services cannot be
terminated from the generic ``/services`` routes (no lifecycle action: they are managed
from their own interfaces).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

EARLY_RENEWAL = "earlyRenewal"
TERMINATE = "terminate"
TERMINATE_AT_EXPIRY = "terminateAtExpirationDate"
TERMINATE_AT_ENGAGEMENT = "terminateAtEngagementDate"

_DOMAIN = re.compile(
    r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$"
)


@dataclass(frozen=True, slots=True)
class Product:
    route: str  # the route prefix, e.g. "/hosting/web"
    path: str  # route.path of the expanded service, e.g. "/hosting/web/{serviceName}"
    plan_code: str
    product_name: str  # resource.product.name
    description: str  # resource.product.description
    invoice_name: str  # billing.plan.invoiceName
    monthly_price: float  # EUR, for billing.pricing
    periods: tuple[str, ...]  # renewPeriodCapacities offered by default
    default_period: str
    actions: tuple[str, ...]  # billing.lifecycle.capacities.actions
    renew_modes: tuple[str, ...] = ("automatic", "manual")
    name_pattern: re.Pattern[str] | None = None
    name_example: str = ""
    name_format: str = ""  # human words for the pattern, for seed errors
    legacy_termination: bool = False  # POST {path}/terminate + /confirmTermination exist
    # resource.state of a terminated service during its retention period: a web hosting
    # waits there to be deleted (the panel links "skip retention period"); the others
    # show deleted at once (inferred).
    retention_state: str = "deleted"

    @property
    def var_names(self) -> tuple[str, ...]:
        return tuple(re.findall(r"\{(\w+)\}", self.path))

    @property
    def immediate_termination(self) -> bool:
        return TERMINATE in self.actions

    def check_name(self, name: str) -> str | None:
        """Why ``name`` is not a valid resource name for this product, or None."""
        if not name or name != name.strip() or "/" in name or any(c.isspace() for c in name):
            return f"{name!r} is not a resource name (empty, spaces or slashes)"
        if self.name_pattern is not None and not self.name_pattern.match(name):
            return (
                f"{name!r} is not a {self.route} name: expected {self.name_format} "
                f"(e.g. {self.name_example})"
            )
        return None

    def route_vars(self, name: str, organization: str | None = None) -> list[dict[str, str]]:
        """``route.vars`` of a service: its name, and the organisation for Exchange."""
        names = self.var_names
        if len(names) == 1:
            return [{"key": names[0], "value": name}]
        return [{"key": names[0], "value": organization or name}, {"key": names[1], "value": name}]

    def route_url(self, name: str, organization: str | None = None) -> str:
        url = self.path
        for var in self.route_vars(name, organization):
            url = url.replace("{" + var["key"] + "}", var["value"])
        return url


_MONTHLY = ("P1M", "P3M", "P6M", "P12M")
_MANAGEABLE = (EARLY_RENEWAL, TERMINATE_AT_EXPIRY)
_ELSEWHERE: tuple[str, ...] = ()  # telecom, Microsoft, MX Plan: managed from their own pages


def _product(
    path: str,
    plan_code: str,
    product_name: str,
    description: str,
    invoice_name: str,
    monthly_price: float,
    periods: tuple[str, ...],
    default_period: str,
    actions: tuple[str, ...],
    name: tuple[re.Pattern[str] | str, str, str] | None = None,
) -> Product:
    """One row of the table below. The route prefix is the path up to its first ``/{var}``;
    ``name`` is (pattern, example, words) for the products whose resource names OVH shapes."""
    pattern, example, words = name or (None, "", "")
    return Product(
        route=path.split("/{", 1)[0],
        path=path,
        plan_code=plan_code,
        product_name=product_name,
        description=description,
        invoice_name=invoice_name,
        monthly_price=monthly_price,
        periods=periods,
        default_period=default_period,
        actions=actions,
        name_pattern=re.compile(pattern) if pattern is not None else None,
        name_example=example,
        name_format=words,
    )


# One row a product, in the order of _product's parameters: path; plan code;
# resource.product.name; its description; billing.plan.invoiceName; EUR a month; the renewal
# periods offered and the default one; the lifecycle actions; the resource-name format.
# fmt: off
_TABLE = (
    replace(
        _product("/hosting/web/{serviceName}", "pro2023", "pro2023", "Web Hosting Pro",
                 "Hébergement Pro", 7.99, ("P1M", "P12M"), "P12M",
                 (EARLY_RENEWAL, TERMINATE, TERMINATE_AT_EXPIRY),
                 (_DOMAIN, "www.example.com", "the domain name it serves")),
        legacy_termination=True, retention_state="toDelete",
    ),
    _product("/domain/{serviceName}", "domain-com", "com", "Domain name .com",
             "Nom de domaine", 1.08, ("P12M", "P24M", "P36M", "P60M", "P120M"), "P12M",
             _MANAGEABLE, (_DOMAIN, "example.com", "a domain name")),
    _product("/allDom/{serviceName}", "alldom-french", "alldom-french", "AllDom French pack",
             "AllDom", 2.5, ("P12M",), "P12M", _MANAGEABLE),
    _product("/domain/zone/{zoneName}", "zone", "zone", "DNS zone",
             "Zone DNS", 0.0, ("P12M",), "P12M",
             _MANAGEABLE, (_DOMAIN, "example.com", "a domain name")),
    _product("/vps/{serviceName}", "vps-le-2-2-40", "vps-le-2-2-40", "VPS Starter 2 vCores 2 GB",
             "VPS Starter", 6.0, _MONTHLY, "P1M", _MANAGEABLE,
             (r"^vps-[0-9a-f]{8}\.vps\.ovh\.(net|ca|us)$", "vps-1a2b3c4d.vps.ovh.net",
              "vps-<8 hex digits>.vps.ovh.net")),
    _product("/dedicated/server/{serviceName}", "24rise01", "24rise01",
             "RISE-1 - Intel Xeon-E 2386G", "Rise-1", 62.99, (*_MONTHLY, "P24M"), "P1M",
             (*_MANAGEABLE, TERMINATE_AT_ENGAGEMENT),
             (r"^ns\d{5,8}\.ip-\d{1,3}-\d{1,3}-\d{1,3}\.(eu|net|us)$",
              "ns3012345.ip-51-75-10.eu", "ns<digits>.ip-<a>-<b>-<c>.eu")),
    _product("/hosting/privateDatabase/{serviceName}", "private-sql-512", "private-sql-512",
             "Private SQL 512 MB", "CloudDB", 5.0, ("P1M", "P12M"), "P12M", _MANAGEABLE,
             (r"^[a-z]{2}\d{4,6}-\d{3}$", "ab12345-001", "<nic>-<3 digits>")),
    replace(
        _product("/cloud/project/{serviceName}", "project.2018", "project.2018",
                 "Public Cloud project", "Public Cloud", 0.0, ("P1M",), "P1M", _MANAGEABLE,
                 (r"^[0-9a-f]{32}$", "5f3b1a9c0d2e4f6a8b7c9d0e1f2a3b4c", "32 hexadecimal digits")),
        renew_modes=("automatic",),
    ),
    _product("/dedicatedCloud/{serviceName}", "pcc-2018", "pcc-2018", "Hosted Private Cloud",
             "Hosted Private Cloud", 950.0, ("P1M",), "P1M", _MANAGEABLE),
    _product("/ipLoadbalancing/{serviceName}", "iplb-lb1", "iplb-lb1", "Load Balancer LB1",
             "Load Balancer", 19.99, _MONTHLY, "P1M", _MANAGEABLE,
             (r"^loadbalancer-[0-9a-f]{32}$", "loadbalancer-0123456789abcdef0123456789abcdef",
              "loadbalancer-<32 hex digits>")),
    # Telecom: managed from the telecom interface, not from "Gérer mes services".
    _product("/xdsl/{serviceName}", "xdsl-fibre-1g", "fibre-1g", "Fibre 1 Gbps",
             "Accès Fibre", 29.99, ("P1M",), "P1M", _ELSEWHERE,
             (r"^xdsl-[a-z]{2}\d{4,6}-\d+$", "xdsl-ab12345-1", "xdsl-<nic>-<n>")),
    _product("/pack/xdsl/{packName}", "pack-fibre-pro", "pack-fibre-pro", "Pack Fibre Pro",
             "Pack xDSL", 39.99, ("P1M",), "P1M", _ELSEWHERE,
             (r"^pack-[a-z]{2}\d{4,6}-\d+$", "pack-ab12345-1", "pack-<nic>-<n>")),
    _product("/telephony/{billingAccount}", "voip-billing-account", "voip", "VoIP billing account",
             "Téléphonie", 1.99, ("P1M",), "P1M", _ELSEWHERE,
             (r"^[a-z]{2}\d{4,6}-ovh-\d+$", "ab12345-ovh-1", "<nic>-ovh-<n>")),
    _product("/sms/{serviceName}", "sms-pack", "sms", "SMS account",
             "SMS", 0.0, ("P1M",), "P1M", _ELSEWHERE,
             (r"^sms-[a-z]{2}\d{4,6}-\d+$", "sms-ab12345-1", "sms-<nic>-<n>")),
    _product("/overTheBox/{serviceName}", "overthebox-plus", "overthebox-plus", "OverTheBox Plus",
             "OverTheBox", 14.99, ("P1M",), "P1M", _ELSEWHERE),
    # Microsoft: managed from their own interfaces.
    _product("/email/exchange/{organizationName}/service/{exchangeService}", "exchange-hosted",
             "exchange-hosted", "Hosted Exchange", "Exchange", 4.19, ("P1M", "P12M"), "P1M",
             _ELSEWHERE,
             (r"^(hosted|private|provider)-[a-z]{2}\d{4,6}-\d+$", "hosted-ab12345-1",
              "hosted-<nic>-<n>")),
    _product("/msServices/sharepoint/{domain}", "sharepoint-2019", "sharepoint",
             "SharePoint Online", "SharePoint", 4.99, ("P1M",), "P1M", _ELSEWHERE),
    _product("/license/office/{serviceName}", "office365-business", "office365-business",
             "Microsoft 365 Apps for business", "Office 365", 9.8, ("P1M",), "P1M", _ELSEWHERE),
    # MX Plan e-mail: managed from its own page.
    _product("/email/domain/{domain}", "mxplan-5", "mxplan-5", "MX Plan 5 accounts",
             "MX Plan", 1.19, ("P12M",), "P12M",
             _ELSEWHERE, (_DOMAIN, "example.org", "a domain name")),
)
# fmt: on

PRODUCTS: dict[str, Product] = {product.route: product for product in _TABLE}


def product_for(route: str) -> Product | None:
    """The product of a route prefix, with or without the trailing ``/{var}`` template."""
    prefix = route.split("/{", 1)[0].rstrip("/")
    return PRODUCTS.get(prefix)
