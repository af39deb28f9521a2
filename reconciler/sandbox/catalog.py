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
from dataclasses import dataclass

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

PRODUCTS: dict[str, Product] = {
    p.route: p
    for p in (
        Product(
            route="/hosting/web",
            path="/hosting/web/{serviceName}",
            plan_code="pro2023",
            product_name="pro2023",
            description="Web Hosting Pro",
            invoice_name="Hébergement Pro",
            monthly_price=7.99,
            periods=("P1M", "P12M"),
            default_period="P12M",
            actions=(EARLY_RENEWAL, TERMINATE, TERMINATE_AT_EXPIRY),
            name_pattern=_DOMAIN,
            name_example="www.example.com",
            name_format="the domain name it serves",
            legacy_termination=True,
            retention_state="toDelete",
        ),
        Product(
            route="/domain",
            path="/domain/{serviceName}",
            plan_code="domain-com",
            product_name="com",
            description="Domain name .com",
            invoice_name="Nom de domaine",
            monthly_price=1.08,
            periods=("P12M", "P24M", "P36M", "P60M", "P120M"),
            default_period="P12M",
            actions=_MANAGEABLE,
            name_pattern=_DOMAIN,
            name_example="example.com",
            name_format="a domain name",
        ),
        Product(
            route="/allDom",
            path="/allDom/{serviceName}",
            plan_code="alldom-french",
            product_name="alldom-french",
            description="AllDom French pack",
            invoice_name="AllDom",
            monthly_price=2.5,
            periods=("P12M",),
            default_period="P12M",
            actions=_MANAGEABLE,
        ),
        Product(
            route="/domain/zone",
            path="/domain/zone/{zoneName}",
            plan_code="zone",
            product_name="zone",
            description="DNS zone",
            invoice_name="Zone DNS",
            monthly_price=0.0,
            periods=("P12M",),
            default_period="P12M",
            actions=_MANAGEABLE,
            name_pattern=_DOMAIN,
            name_example="example.com",
            name_format="a domain name",
        ),
        Product(
            route="/vps",
            path="/vps/{serviceName}",
            plan_code="vps-le-2-2-40",
            product_name="vps-le-2-2-40",
            description="VPS Starter 2 vCores 2 GB",
            invoice_name="VPS Starter",
            monthly_price=6.0,
            periods=_MONTHLY,
            default_period="P1M",
            actions=_MANAGEABLE,
            name_pattern=re.compile(r"^vps-[0-9a-f]{8}\.vps\.ovh\.(net|ca|us)$"),
            name_example="vps-1a2b3c4d.vps.ovh.net",
            name_format="vps-<8 hex digits>.vps.ovh.net",
        ),
        Product(
            route="/dedicated/server",
            path="/dedicated/server/{serviceName}",
            plan_code="24rise01",
            product_name="24rise01",
            description="RISE-1 - Intel Xeon-E 2386G",
            invoice_name="Rise-1",
            monthly_price=62.99,
            periods=(*_MONTHLY, "P24M"),
            default_period="P1M",
            actions=(*_MANAGEABLE, TERMINATE_AT_ENGAGEMENT),
            name_pattern=re.compile(r"^ns\d{5,8}\.ip-\d{1,3}-\d{1,3}-\d{1,3}\.(eu|net|us)$"),
            name_example="ns3012345.ip-51-75-10.eu",
            name_format="ns<digits>.ip-<a>-<b>-<c>.eu",
        ),
        Product(
            route="/hosting/privateDatabase",
            path="/hosting/privateDatabase/{serviceName}",
            plan_code="private-sql-512",
            product_name="private-sql-512",
            description="Private SQL 512 MB",
            invoice_name="CloudDB",
            monthly_price=5.0,
            periods=("P1M", "P12M"),
            default_period="P12M",
            actions=_MANAGEABLE,
            name_pattern=re.compile(r"^[a-z]{2}\d{4,6}-\d{3}$"),
            name_example="ab12345-001",
            name_format="<nic>-<3 digits>",
        ),
        Product(
            route="/cloud/project",
            path="/cloud/project/{serviceName}",
            plan_code="project.2018",
            product_name="project.2018",
            description="Public Cloud project",
            invoice_name="Public Cloud",
            monthly_price=0.0,
            periods=("P1M",),
            default_period="P1M",
            actions=_MANAGEABLE,
            renew_modes=("automatic",),
            name_pattern=re.compile(r"^[0-9a-f]{32}$"),
            name_example="5f3b1a9c0d2e4f6a8b7c9d0e1f2a3b4c",
            name_format="32 hexadecimal digits",
        ),
        Product(
            route="/dedicatedCloud",
            path="/dedicatedCloud/{serviceName}",
            plan_code="pcc-2018",
            product_name="pcc-2018",
            description="Hosted Private Cloud",
            invoice_name="Hosted Private Cloud",
            monthly_price=950.0,
            periods=("P1M",),
            default_period="P1M",
            actions=_MANAGEABLE,
        ),
        Product(
            route="/ipLoadbalancing",
            path="/ipLoadbalancing/{serviceName}",
            plan_code="iplb-lb1",
            product_name="iplb-lb1",
            description="Load Balancer LB1",
            invoice_name="Load Balancer",
            monthly_price=19.99,
            periods=_MONTHLY,
            default_period="P1M",
            actions=_MANAGEABLE,
            name_pattern=re.compile(r"^loadbalancer-[0-9a-f]{32}$"),
            name_example="loadbalancer-0123456789abcdef0123456789abcdef",
            name_format="loadbalancer-<32 hex digits>",
        ),
        # Telecom: managed from the telecom interface, not from "Gérer mes services".
        Product(
            route="/xdsl",
            path="/xdsl/{serviceName}",
            plan_code="xdsl-fibre-1g",
            product_name="fibre-1g",
            description="Fibre 1 Gbps",
            invoice_name="Accès Fibre",
            monthly_price=29.99,
            periods=("P1M",),
            default_period="P1M",
            actions=_ELSEWHERE,
            name_pattern=re.compile(r"^xdsl-[a-z]{2}\d{4,6}-\d+$"),
            name_example="xdsl-ab12345-1",
            name_format="xdsl-<nic>-<n>",
        ),
        Product(
            route="/pack/xdsl",
            path="/pack/xdsl/{packName}",
            plan_code="pack-fibre-pro",
            product_name="pack-fibre-pro",
            description="Pack Fibre Pro",
            invoice_name="Pack xDSL",
            monthly_price=39.99,
            periods=("P1M",),
            default_period="P1M",
            actions=_ELSEWHERE,
            name_pattern=re.compile(r"^pack-[a-z]{2}\d{4,6}-\d+$"),
            name_example="pack-ab12345-1",
            name_format="pack-<nic>-<n>",
        ),
        Product(
            route="/telephony",
            path="/telephony/{billingAccount}",
            plan_code="voip-billing-account",
            product_name="voip",
            description="VoIP billing account",
            invoice_name="Téléphonie",
            monthly_price=1.99,
            periods=("P1M",),
            default_period="P1M",
            actions=_ELSEWHERE,
            name_pattern=re.compile(r"^[a-z]{2}\d{4,6}-ovh-\d+$"),
            name_example="ab12345-ovh-1",
            name_format="<nic>-ovh-<n>",
        ),
        Product(
            route="/sms",
            path="/sms/{serviceName}",
            plan_code="sms-pack",
            product_name="sms",
            description="SMS account",
            invoice_name="SMS",
            monthly_price=0.0,
            periods=("P1M",),
            default_period="P1M",
            actions=_ELSEWHERE,
            name_pattern=re.compile(r"^sms-[a-z]{2}\d{4,6}-\d+$"),
            name_example="sms-ab12345-1",
            name_format="sms-<nic>-<n>",
        ),
        Product(
            route="/overTheBox",
            path="/overTheBox/{serviceName}",
            plan_code="overthebox-plus",
            product_name="overthebox-plus",
            description="OverTheBox Plus",
            invoice_name="OverTheBox",
            monthly_price=14.99,
            periods=("P1M",),
            default_period="P1M",
            actions=_ELSEWHERE,
        ),
        # Microsoft: managed from their own interfaces.
        Product(
            route="/email/exchange",
            path="/email/exchange/{organizationName}/service/{exchangeService}",
            plan_code="exchange-hosted",
            product_name="exchange-hosted",
            description="Hosted Exchange",
            invoice_name="Exchange",
            monthly_price=4.19,
            periods=("P1M", "P12M"),
            default_period="P1M",
            actions=_ELSEWHERE,
            name_pattern=re.compile(r"^(hosted|private|provider)-[a-z]{2}\d{4,6}-\d+$"),
            name_example="hosted-ab12345-1",
            name_format="hosted-<nic>-<n>",
        ),
        Product(
            route="/msServices/sharepoint",
            path="/msServices/sharepoint/{domain}",
            plan_code="sharepoint-2019",
            product_name="sharepoint",
            description="SharePoint Online",
            invoice_name="SharePoint",
            monthly_price=4.99,
            periods=("P1M",),
            default_period="P1M",
            actions=_ELSEWHERE,
        ),
        Product(
            route="/license/office",
            path="/license/office/{serviceName}",
            plan_code="office365-business",
            product_name="office365-business",
            description="Microsoft 365 Apps for business",
            invoice_name="Office 365",
            monthly_price=9.8,
            periods=("P1M",),
            default_period="P1M",
            actions=_ELSEWHERE,
        ),
        # MX Plan e-mail: managed from its own page.
        Product(
            route="/email/domain",
            path="/email/domain/{domain}",
            plan_code="mxplan-5",
            product_name="mxplan-5",
            description="MX Plan 5 accounts",
            invoice_name="MX Plan",
            monthly_price=1.19,
            periods=("P12M",),
            default_period="P12M",
            actions=_ELSEWHERE,
            name_pattern=_DOMAIN,
            name_example="example.org",
            name_format="a domain name",
        ),
    )
}


def product_for(route: str) -> Product | None:
    """The product of a route prefix, with or without the trailing ``/{var}`` template."""
    prefix = route.split("/{", 1)[0].rstrip("/")
    return PRODUCTS.get(prefix)
