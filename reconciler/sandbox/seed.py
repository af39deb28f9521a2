"""Seed files: the account a sandbox starts from, read and validated.

A seed is YAML (JSON is YAML too) with ``credentials``, ``services`` and optionally
``account`` and ``clock``; ``docs/sandbox.md`` documents every field. ``load_seed(path)``
and ``parse_seed(text, filename)`` return an immutable ``Seed`` or raise ``SeedError``
naming the file, the line and column, and the problem — the first problem found, since a
seed is usually fixed one line at a time. ``seed_from_mapping`` does the same for data
that arrives as JSON on the admin route (errors then name the field's path).

Dates may be absolute (``expires: 2027-03-01T00:00:00Z``) or relative to the sandbox
clock at the moment the seed is loaded (``expires_in: 30d``, ``-3d`` for the past), so a
seed describes "a service expiring in 12 hours" whenever it is loaded. Nothing here reads
the clock: relative dates stay ``When`` values until the backend resolves them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from marked_yaml import NO_MARKS, YAML11_BOOLEANS, Code, CollectionKey, Limits, Marks, compose
from reconciler.sandbox.catalog import PRODUCTS, TERMINATE_AT_EXPIRY, product_for
from reconciler.sandbox.clock import parse_duration, parse_instant, period_months, render_utc
from reconciler.sandbox.errors import SeedError

METHODS = ("GET", "PUT", "POST", "DELETE")
CREDENTIAL_STATES = ("validated", "pendingValidation", "expired", "refused")
SERVICE_STATES = ("active", "expired", "suspended", "terminated")
TERMINATIONS = ("none", "at_expiry", "at_engagement")
# services.billing.engagement.EndStrategyEnum, OVH's words for what a commitment's end does.
END_STRATEGIES = (
    "CANCEL_SERVICE",
    "REACTIVATE_ENGAGEMENT",
    "STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE",
    "STOP_ENGAGEMENT_KEEP_PRICE",
)
# What an engaged service offers when its seed does not say (the sandbox's choice: what it
# always answered before strategies could be seeded).
DEFAULT_END_STRATEGY = "REACTIVATE_ENGAGEMENT"
DEFAULT_POSSIBLE_STRATEGIES = (
    "REACTIVATE_ENGAGEMENT",
    "STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE",
    "STOP_ENGAGEMENT_KEEP_PRICE",
)
DEFAULT_ENGAGEMENT_DURATION = "P12M"
# order.CurrencyCodeEnum: the currencies a price may be in.
CURRENCIES = (
    "AUD", "CAD", "CZK", "EUR", "GBP", "INR", "LTL", "MAD", "N/A", "PLN", "SGD", "TND", "USD",
    "XOF", "points",
)  # fmt: skip
# services.billing.engagement.TypeEnum: a commitment paid at once or period by period.
ENGAGEMENT_TYPES = ("periodic", "upfront")
PRICING_ABSENT = "absent"  # `pricing: absent`: OVH gives no price (billing.pricing null)
ENDPOINTS = ("ovh-eu", "ovh-ca", "ovh-us")
FULL_ACCESS: tuple[tuple[str, str], ...] = tuple((m, "/*") for m in METHODS)
MAX_GENERATED = 100_000


@dataclass(frozen=True, slots=True)
class When:
    """A moment given absolutely, or relative to the sandbox clock when seeded."""

    absolute: datetime | None = None
    relative: timedelta | None = None

    def resolve(self, now: datetime) -> datetime:
        if self.absolute is not None:
            return self.absolute
        assert self.relative is not None
        return now + self.relative

    def to_json(self, stem: str) -> dict[str, str]:
        if self.absolute is not None:
            return {stem: render_utc(self.absolute.timestamp())}
        assert self.relative is not None
        return {f"{stem}_in": _render_duration(self.relative)}


@dataclass(frozen=True, slots=True)
class AccessRule:
    method: str
    path: str

    def to_json(self) -> dict[str, str]:
        return {"method": self.method, "path": self.path}


@dataclass(frozen=True, slots=True)
class CredentialSeed:
    application_key: str
    application_secret: str
    consumer_key: str | None = None  # None: an application with no consumer key yet
    rules: tuple[AccessRule, ...] = tuple(AccessRule(m, p) for m, p in FULL_ACCESS)
    state: str = "validated"
    expires: When | None = None
    # The OVH account (NIC handle) the key logs in as: GET /me, and whose e-mail history
    # it reads. None: the seed's account. Another handle is, say, a technical contact's
    # own account, which never receives the administrator's e-mails.
    nichandle: str | None = None
    email: str | None = None  # that account's e-mail address (None: derived from it)
    # The actions the key's IAM policy allows (``*`` wildcards); None: not governed by
    # IAM, its access rules alone decide (``iam.py``).
    iam_actions: tuple[str, ...] | None = None

    def __repr__(self) -> str:  # never show the secret
        return f"CredentialSeed(application_key={self.application_key!r}, state={self.state!r})"


@dataclass(frozen=True, slots=True)
class ParentRef:
    name: str
    route: str | None = None


@dataclass(frozen=True, slots=True)
class EngagementConfigSeed:
    """``services.billing.Pricing.EngagementConfiguration``: the commitment a pricing
    brings (its length, how it is paid, and what its end does by default)."""

    duration: str = DEFAULT_ENGAGEMENT_DURATION
    type: str = "upfront"
    default_end_action: str = DEFAULT_END_STRATEGY

    def to_json(self) -> dict[str, Any]:
        return {
            "duration": self.duration,
            "type": self.type,
            "default_end_action": self.default_end_action,
        }


@dataclass(frozen=True, slots=True)
class PricingSeed:
    """What ``billing.pricing`` of ``GET /services/{id}`` says, as the seed states it.
    Each field left None is derived as before (the product's monthly EUR price times the
    renewal period); ``absent`` says OVH gives no price at all."""

    absent: bool = False
    value: float | None = None  # the price of one renewal of ``duration``
    currency: str | None = None  # order.CurrencyCodeEnum; None: EUR
    text: str | None = None  # the text OVH shows; None: derived from value and currency
    duration: str | None = None  # None: the renewal period
    interval: int | None = None  # None: 1, one renewal per duration
    mode: str | None = None  # pricingMode; None: "default"
    engagement: EngagementConfigSeed | None = None  # engagementConfiguration; None: null

    def to_json(self) -> str | dict[str, Any]:
        if self.absent:
            return PRICING_ABSENT
        data: dict[str, Any] = {
            "price": self.value,
            "currency": self.currency,
            "text": self.text,
            "duration": self.duration,
            "interval": self.interval,
            "mode": self.mode,
            "engagement": self.engagement.to_json() if self.engagement else None,
        }
        return {k: v for k, v in data.items() if v is not None}


@dataclass(frozen=True, slots=True)
class ServiceSeed:
    name: str
    route: str
    expires: When
    id: int | None = None
    display_name: str | None = None
    renew_mode: str = "automatic"
    renew_period: str | None = None  # None: the product's default period
    periods: tuple[str, ...] | None = None  # None: the product's periods
    termination: str = "none"
    state: str = "active"
    unpaid: bool = False
    parent: ParentRef | None = None
    plan: str | None = None
    description: str | None = None
    price: float | None = None
    created: When | None = None
    engagement_ends: When | None = None
    # The commitment's end rule (None: the defaults above) and its length in months,
    # which a REACTIVATE_ENGAGEMENT end renews it by.
    engagement_strategy: str | None = None
    engagement_strategies: tuple[str, ...] | None = None
    engagement_duration: str | None = None
    default_price: float | None = None  # EUR per month once a commitment stops (fallback)
    organization: str | None = None  # Exchange: the organisation of the service
    refuses_empty: bool = False  # terminationPolicy "empty" is refused (users report it)
    # customer.contacts (and serviceInfos contactAdmin/Tech/Billing): NIC handles; None
    # is the seed's account. The termination e-mail goes to the administrator's history.
    contact_admin: str | None = None
    contact_tech: str | None = None
    contact_billing: str | None = None
    pricing: PricingSeed | None = None  # None: derived from ``price`` and the product


def default_termination(route: str, renew_mode: str) -> str:
    """What a seed that says no ``termination`` means: none. A manual service as the
    control panel sets it carries ``terminateAtExpirationDate`` too
    (``web-domains.ts``): a seed says ``termination: at_expiry`` for that (the default
    stays unmarked while reconciler's own tests seed bare manual services)."""
    return "none"


@dataclass(frozen=True, slots=True)
class ProductSeed:
    """What a seed changes of a product of the catalogue, for every service of it."""

    route: str
    refuses_empty: bool | None = None  # None: as the catalogue says
    renew_modes: tuple[str, ...] | None = None  # billing.renew.capacities.mode; None: catalogue
    retention: timedelta | None = None  # how long a terminated service stays listed

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.retention is not None:
            data["retention"] = _render_duration(self.retention)
        if self.refuses_empty is not None:
            data["refuses_empty"] = self.refuses_empty
        if self.renew_modes is not None:
            data["renew_modes"] = list(self.renew_modes)
        return data

    def modes(self) -> tuple[str, ...]:
        return self.renew_modes or PRODUCTS[self.route].renew_modes


@dataclass(frozen=True, slots=True)
class AccountSeed:
    nichandle: str = "ab12345-ovh"
    email: str = "admin@example.com"
    firstname: str = "Camille"
    name: str = "Martin"
    country: str = "FR"
    currency: str = "EUR"
    # The API the account lives on: ovh-us offers no manual renewal (the control panel
    # has none there, ``autoRenew/actions/update/update.service.js``).
    endpoint: str = "ovh-eu"


@dataclass(frozen=True, slots=True)
class Seed:
    services: tuple[ServiceSeed, ...] = ()
    credentials: tuple[CredentialSeed, ...] = ()
    account: AccountSeed = field(default_factory=AccountSeed)
    clock: datetime | None = None  # when set, loading the seed sets (and stops) the clock
    source: str = "<memory>"
    products: tuple[ProductSeed, ...] = ()
    # How long a terminated service stays listed (lifecycle terminated) before it leaves
    # every route; a product's own ``retention`` wins. None: it leaves at once.
    retention: timedelta | None = None
    # How long an Iceberg listing answers as it was when first asked (OVH caches them;
    # ``Pragma: no-cache`` reads fresh). None: never cached, every page is fresh.
    iceberg_lag: timedelta | None = None

    def product(self, route: str) -> ProductSeed:
        return next((p for p in self.products if p.route == route), ProductSeed(route))

    def retention_for(self, route: str) -> timedelta:
        own = self.product(route).retention
        if own is not None:
            return own
        return self.retention or timedelta(0)

    def to_mapping(self) -> dict[str, Any]:
        """The seed as JSON-able data in the seed format itself (``seed_from_mapping``
        reads it back): how the state database remembers what ``reset`` goes back to."""
        data: dict[str, Any] = {
            "account": {
                k: getattr(self.account, k)
                for k in AccountSeed.__slots__
                if k != "endpoint" or self.account.endpoint != "ovh-eu"
            },
            "credentials": [_credential_json(c) for c in self.credentials],
            "services": [_service_json(s) for s in self.services],
        }
        if self.clock is not None:
            data["clock"] = render_utc(self.clock.timestamp())
        if self.products:
            data["products"] = {p.route: p.to_json() for p in self.products}
        if self.retention is not None:
            data["retention"] = _render_duration(self.retention)
        if self.iceberg_lag is not None:
            data["iceberg_lag"] = _render_duration(self.iceberg_lag)
        return data

    @property
    def digest(self) -> str:
        canonical = json.dumps(self.to_mapping(), sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def load_seed(path: Path | str) -> Seed:
    """Read and validate a seed file; ``SeedError`` names the file, line and problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SeedError(str(path), "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedError(str(path), f"cannot be read: {exc}") from None
    return parse_seed(text, str(path))


def parse_seed(text: str, filename: str = "<seed>") -> Seed:
    data, marks = _compose(text, filename)
    return _Reader(filename, marks).seed(data)


def seed_from_mapping(data: Any, source: str = "<seed>") -> Seed:
    """A seed from already-parsed data (JSON from the admin route, or ``to_mapping``)."""
    return _Reader(source, NO_MARKS).seed(data)


# --- YAML with positions -------------------------------------------------------------

Path_ = tuple[str | int, ...]
_T = TypeVar("_T")


# A seed states each service in full unless it uses ``count:``: a 50,000-service seed is
# about 350,000 nodes, more than a spec may hold. The depth bound stays the reader's own.
_SEED_LIMITS = Limits(max_nodes=10_000_000)


def _compose(text: str, filename: str) -> tuple[Any, Marks]:
    """The seed's data and marks, read as the spec is read (YAML 1.2, one document, no
    anchors, aliases or tags); the first problem of the text is the seed's error."""
    document = compose(text, limits=_SEED_LIMITS, noun="seed")
    if not document.problems:
        return document.data, document.marks
    problem = document.problems[0]
    duplicate = _DUPLICATE.fullmatch(problem.message)
    if problem.code is Code.DUPLICATE_KEY and duplicate:
        message = f"duplicate key {duplicate['key']} (first given on line {duplicate['line']})"
    else:
        message = f"invalid YAML: {problem.message.removeprefix(_SYNTAX)}; {problem.fix}"
    raise SeedError(filename, message, line=problem.line, column=problem.column)


# How marked_yaml words a duplicate key, and a syntax error's prefix (the seed's own
# messages say "invalid YAML" first).
_DUPLICATE = re.compile(r"duplicate key (?P<key>.+) \(first at line (?P<line>\d+), column \d+\)")
_SYNTAX = "YAML syntax error: "


# --- validation ------------------------------------------------------------------------

_SERVICE_KEYS = {
    "name",
    "route",
    "id",
    "display_name",
    "expires",
    "expires_in",
    "created",
    "created_in",
    "renew",
    "periods",
    "termination",
    "state",
    "unpaid",
    "parent",
    "plan",
    "description",
    "price",
    "engagement_ends",
    "engagement_ends_in",
    "engagement_strategy",
    "engagement_strategies",
    "engagement_duration",
    "default_price",
    "organization",
    "refuses_empty",
    "contacts",
    "pricing",
}
_PRICING_KEYS = {"price", "currency", "text", "duration", "interval", "mode", "engagement"}
_ENGAGEMENT_CONFIG_KEYS = {"duration", "type", "default_end_action"}
CONTACT_KEYS = ("admin", "tech", "billing")
_GENERATOR_KEYS = (_SERVICE_KEYS - {"id", "parent"}) | {"count"}
_CREDENTIAL_KEYS = {
    "application_key",
    "application_secret",
    "consumer_key",
    "rules",
    "state",
    "expires",
    "expires_in",
    "nichandle",
    "email",
    "iam_actions",
}


class _Reader:
    """Turns parsed seed data into a ``Seed``, locating every error in the file."""

    def __init__(self, file: str, marks: Marks) -> None:
        self.file = file
        self.marks = marks
        self.quirks: dict[str, ProductSeed] = {}  # the seed's `products:`, once read

    # errors

    def fail(self, path: Path_, problem: str, *, at_key: bool = False) -> SeedError:
        where = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path)
        where = where.replace(".[", "[")
        written = self.marks.get(path) if at_key and path else None
        if written is not None and written.key is not None:
            line, column = written.key.mark
            return SeedError(self.file, f"{where}: {problem}", line=line, column=column)
        nearest = self.marks.nearest(path)
        if nearest is not None:
            line, column = nearest[1].mark
            return SeedError(self.file, f"{where or 'seed'}: {problem}", line=line, column=column)
        return SeedError(self.file, f"{where or 'seed'}: {problem}")

    # typed accessors

    def mapping(self, value: Any, path: Path_, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {_kind(value)}")
        for key in value:
            if not isinstance(key, str):
                # YAML allows a list or a mapping as a key; marked_yaml marks it as such.
                got = f"a {key.kind.value}" if isinstance(key, CollectionKey) else repr(key)
                raise self.fail(path, f"keys must be text, got {got}")
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.fail((*path, key), f"unknown key (known keys: {known})", at_key=True)
        return value

    def require(self, entry: Mapping[str, Any], path: Path_, keys: Sequence[str]) -> None:
        for key in keys:
            if key not in entry:
                raise self.fail(path, f"missing {key}")

    def sequence(self, value: Any, path: Path_) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list, got {_kind(value)}")
        return value

    def text(self, value: Any, path: Path_) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(path, f"expected text, got {_kind(value)}")
        text = str(value)
        if not text.strip():
            raise self.fail(path, "must not be empty")
        return text

    def choice(self, value: Any, path: Path_, choices: Sequence[str]) -> str:
        text = self.text(value, path)
        if text not in choices:
            raise self.fail(path, f"{text!r} is not one of: {', '.join(choices)}")
        return text

    def choices(
        self, value: Any, path: Path_, choices: Sequence[str], *, empty: str
    ) -> tuple[str, ...]:
        """A non-empty list of ``choices``; ``empty`` says why an empty one is refused."""
        items = self.sequence(value, path)
        if not items:
            raise self.fail(path, empty)
        return tuple(self.choice(item, (*path, i), choices) for i, item in enumerate(items))

    def boolean(self, value: Any, path: Path_) -> bool:
        if not isinstance(value, bool):
            # YAML 1.1 read a bare yes/no/on/off as a boolean; YAML 1.2 (the seed's) as text.
            word = isinstance(value, str) and value in YAML11_BOOLEANS
            hint = "; write true or false" if word else ""
            raise self.fail(path, f"expected true or false, got {_kind(value)}{hint}")
        return value

    def parsed(self, parse: Callable[[Any], _T], value: Any, path: Path_) -> _T:
        """``parse(value)``, its ``ValueError`` reported at ``path`` in the parser's words."""
        try:
            return parse(value)
        except ValueError as exc:
            raise self.fail(path, str(exc)) from None

    def instant(self, value: Any, path: Path_) -> datetime:
        if not isinstance(value, str | datetime | date):
            raise self.fail(path, f"expected an ISO 8601 date-time, got {_kind(value)}")
        return self.parsed(parse_instant, value, path)

    def duration(self, value: Any, path: Path_) -> timedelta:
        if isinstance(value, bool) or not isinstance(value, str):
            raise self.fail(path, f"expected a duration such as 30d or 12h, got {_kind(value)}")
        return self.parsed(parse_duration, value, path)

    def period(self, value: Any, path: Path_) -> str:
        text = self.text(value, path)
        self.parsed(period_months, text, path)
        return text

    def when(
        self, entry: Mapping[str, Any], path: Path_, stem: str, *, required: bool
    ) -> When | None:
        absolute, relative = entry.get(stem), entry.get(f"{stem}_in")
        if absolute is not None and relative is not None:
            raise self.fail(
                (*path, f"{stem}_in"), f"give {stem} or {stem}_in, not both", at_key=True
            )
        if absolute is not None:
            return When(absolute=self.instant(absolute, (*path, stem)))
        if relative is not None:
            return When(relative=self.duration(relative, (*path, f"{stem}_in")))
        if required:
            raise self.fail(
                path, f"missing {stem} (an ISO date-time) or {stem}_in (e.g. 30d, 12h, -3d)"
            )
        return None

    # the seed

    def seed(self, data: Any) -> Seed:
        if data is None:
            raise self.fail((), "the seed is empty; it needs at least `services:`")
        top = self.mapping(
            data,
            (),
            {"credentials", "services", "account", "clock", "products", "retention", "iceberg_lag"},
        )
        credentials = self.credentials(top.get("credentials"), ("credentials",))
        products = self.products(top.get("products"), ("products",))
        services = self.services(top.get("services"), ("services",))
        account = self.account(top.get("account"), ("account",))
        clock = self.instant(top["clock"], ("clock",)) if top.get("clock") is not None else None
        retention = None
        if top.get("retention") is not None:
            retention = self.retention(top["retention"], ("retention",))
        lag = None
        if top.get("iceberg_lag") is not None:
            lag = self.duration(top["iceberg_lag"], ("iceberg_lag",))
            if lag < timedelta(0):
                raise self.fail(("iceberg_lag",), "a lag is 0 or more (e.g. 5m)")
        return Seed(
            retention=retention,
            iceberg_lag=lag,
            services=services,
            credentials=credentials,
            account=account,
            clock=clock,
            source=self.file,
            products=products,
        )

    def products(self, value: Any, path: Path_) -> tuple[ProductSeed, ...]:
        """``products: {/vps: {refuses_empty: true}}``: product quirks."""
        if value is None:
            return ()
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping of routes, got {_kind(value)}")
        found = []
        for key, item in value.items():
            where = (*path, str(key))
            route = self.route(key, where)
            entry = self.mapping(item, where, {"refuses_empty", "renew_modes", "retention"})
            refuses = None
            if entry.get("refuses_empty") is not None:
                refuses = self.boolean(entry["refuses_empty"], (*where, "refuses_empty"))
            modes = None
            if entry.get("renew_modes") is not None:
                modes = self.choices(
                    entry["renew_modes"],
                    (*where, "renew_modes"),
                    ("automatic", "manual"),
                    empty="must offer at least one renew mode",
                )
            retention = None
            if entry.get("retention") is not None:
                retention = self.retention(entry["retention"], (*where, "retention"))
            found.append(
                ProductSeed(
                    route=route, refuses_empty=refuses, renew_modes=modes, retention=retention
                )
            )
        self.quirks = {p.route: p for p in found}
        return tuple(found)

    def retention(self, value: Any, path: Path_) -> timedelta:
        found = self.duration(value, path)
        if found < timedelta(0):
            raise self.fail(path, "a retention period is 0 or more (e.g. 30d)")
        return found

    def account(self, value: Any, path: Path_) -> AccountSeed:
        if value is None:
            return AccountSeed()
        entry = self.mapping(value, path, set(AccountSeed.__slots__))
        fields = {k: self.text(v, (*path, k)) for k, v in entry.items()}
        if "endpoint" in fields:
            fields["endpoint"] = self.choice(fields["endpoint"], (*path, "endpoint"), ENDPOINTS)
        return AccountSeed(**fields)

    def credentials(self, value: Any, path: Path_) -> tuple[CredentialSeed, ...]:
        if value is None:  # no credentials: the demo ones, so short test seeds work
            from reconciler.sandbox.demo import DEMO_CREDENTIAL_SEED

            return (DEMO_CREDENTIAL_SEED,)
        found: list[CredentialSeed] = []
        secrets: dict[str, str] = {}
        consumer_keys: set[str] = set()
        for index, item in enumerate(self.sequence(value, path)):
            where = (*path, index)
            entry = self.mapping(item, where, _CREDENTIAL_KEYS)
            self.require(entry, where, ("application_key", "application_secret"))
            app_key = self.text(entry["application_key"], (*where, "application_key"))
            secret = self.text(entry["application_secret"], (*where, "application_secret"))
            if secrets.setdefault(app_key, secret) != secret:
                raise self.fail(
                    (*where, "application_secret"),
                    f"application {app_key!r} is given two different secrets",
                )
            consumer_key = None
            if entry.get("consumer_key") is not None:
                consumer_key = self.text(entry["consumer_key"], (*where, "consumer_key"))
                if consumer_key in consumer_keys:
                    raise self.fail((*where, "consumer_key"), "duplicate consumer key")
                consumer_keys.add(consumer_key)
            rules = self.rules(entry.get("rules"), (*where, "rules"))
            state = self.choice(
                entry.get("state", "validated"), (*where, "state"), CREDENTIAL_STATES
            )
            found.append(
                CredentialSeed(
                    application_key=app_key,
                    application_secret=secret,
                    consumer_key=consumer_key,
                    rules=rules,
                    state=state,
                    expires=self.when(entry, where, "expires", required=False),
                    nichandle=self.optional_nic(entry, where, "nichandle"),
                    email=self.optional_text(entry, where, "email"),
                    iam_actions=self.iam_actions(entry, where),
                )
            )
        return tuple(found)

    def iam_actions(self, entry: Mapping[str, Any], where: Path_) -> tuple[str, ...] | None:
        """``iam_actions: [account:apiovh:services/get, "webHosting:apiovh:*"]``."""
        if entry.get("iam_actions") is None:
            return None
        path = (*where, "iam_actions")
        actions = []
        for index, item in enumerate(self.sequence(entry["iam_actions"], path)):
            action = self.text(item, (*path, index))
            if action != "*" and action.count(":") != 2:
                raise self.fail(
                    (*path, index),
                    f"{action!r} is not an IAM action (e.g. account:apiovh:services/get)",
                )
            actions.append(action)
        return tuple(actions)

    def rules(self, value: Any, path: Path_) -> tuple[AccessRule, ...]:
        if value is None:
            return tuple(AccessRule(m, p) for m, p in FULL_ACCESS)
        rules = []
        for index, item in enumerate(self.sequence(value, path)):
            where = (*path, index)
            entry = self.mapping(item, where, {"method", "path"})
            if "method" not in entry or "path" not in entry:
                raise self.fail(where, "an access rule needs a method and a path")
            method = self.choice(entry["method"], (*where, "method"), METHODS)
            rule_path = self.text(entry["path"], (*where, "path"))
            if not rule_path.startswith("/"):
                raise self.fail((*where, "path"), "an access rule path starts with '/'")
            rules.append(AccessRule(method, rule_path))
        return tuple(rules)

    def services(self, value: Any, path: Path_) -> tuple[ServiceSeed, ...]:
        if value is None:
            raise self.fail(path, "missing `services:` (a list, possibly empty: [])")
        found: list[ServiceSeed] = []
        where_of: dict[tuple[str, str], Path_] = {}
        for index, item in enumerate(self.sequence(value, path)):
            where = (*path, index)
            if isinstance(item, dict) and "count" in item:
                batch = list(self.generated(item, where))
            else:
                batch = [self.service(item, where)]
            for service in batch:
                key = (service.route, service.name)
                if key in where_of:
                    raise self.fail(
                        (*where, "name"),
                        f"{service.route} {service.name!r} is already defined "
                        f"(at {self.describe(where_of[key])})",
                    )
                where_of[key] = where
                found.append(service)
        self.check_links(found, where_of)
        return tuple(found)

    def describe(self, path: Path_) -> str:
        node = self.marks.get(path)
        return f"line {node.mark.line}" if node else ".".join(map(str, path))

    def service(self, item: Any, where: Path_) -> ServiceSeed:
        entry = self.mapping(item, where, _SERVICE_KEYS)
        self.require(entry, where, ("name", "route"))
        route = self.route(entry["route"], (*where, "route"))
        name = self.text(entry["name"], (*where, "name"))
        product = PRODUCTS[route]
        problem = product.check_name(name)
        if problem:
            raise self.fail((*where, "name"), problem)
        return self.service_fields(entry, where, name=name, route=route)

    def route(self, value: Any, path: Path_) -> str:
        text = self.text(value, path)
        product = product_for(text)
        if product is None:
            known = ", ".join(sorted(PRODUCTS))
            raise self.fail(path, f"unknown route {text!r} (known routes: {known})")
        return product.route

    def service_fields(
        self,
        entry: Mapping[str, Any],
        where: Path_,
        *,
        name: str,
        route: str,
        expires: When | None = None,
    ) -> ServiceSeed:
        product = PRODUCTS[route]
        periods = None
        if entry.get("periods") is not None:
            items = self.sequence(entry["periods"], (*where, "periods"))
            if not items:
                raise self.fail((*where, "periods"), "must offer at least one period")
            periods = tuple(self.period(p, (*where, "periods", i)) for i, p in enumerate(items))
        mode, period = "automatic", None
        if entry.get("renew") is not None:
            renew = self.mapping(entry["renew"], (*where, "renew"), {"mode", "period"})
            mode = self.choice(
                renew.get("mode", "automatic"), (*where, "renew", "mode"), ("automatic", "manual")
            )
            modes = self.quirks.get(route, ProductSeed(route)).modes()
            if mode not in modes:
                raise self.fail(
                    (*where, "renew", "mode"), f"{route} services renew only {', '.join(modes)}"
                )
            if renew.get("period") is not None:
                period = self.period(renew["period"], (*where, "renew", "period"))
        pricing = self.pricing(entry, where)
        if pricing is not None and pricing.duration is not None:
            # The pricing's duration is the renewal period OVH bills: one period, said once
            # (or twice alike).
            if period is not None and period != pricing.duration:
                raise self.fail(
                    (*where, "pricing", "duration"),
                    f"{pricing.duration} is not the renewal period ({period}); "
                    "say the period once, in either place",
                )
            period = pricing.duration
        if pricing is not None and pricing.value is not None and entry.get("price") is not None:
            raise self.fail(
                (*where, "price"),
                "the price is said twice: keep `price` (EUR per month) or `pricing.price`",
                at_key=True,
            )
        offered = periods or product.periods
        if period is not None and period not in offered:
            raise self.fail(
                (*where, "renew", "period"),
                f"{period} is not among the periods offered ({', '.join(offered)}); "
                "add it to `periods:`",
            )
        termination = self.choice(
            entry.get("termination", default_termination(route, mode)),
            (*where, "termination"),
            TERMINATIONS,
        )
        if termination == "at_expiry" and TERMINATE_AT_EXPIRY not in product.actions:
            raise self.fail(
                (*where, "termination"),
                f"{route} services cannot be set to terminate at expiry from the API "
                "(they are managed from their own interface)",
            )
        engagement = self.when(entry, where, "engagement_ends", required=False)
        if termination == "at_engagement" and engagement is None:
            raise self.fail((*where, "termination"), "at_engagement needs engagement_ends(_in)")
        parent = None
        if entry.get("parent") is not None:
            parent = self.parent(entry["parent"], (*where, "parent"))
        service_id = None
        if entry.get("id") is not None:
            raw = entry["id"]
            if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 2**53:
                raise self.fail((*where, "id"), "a service id is a positive integer")
            service_id = raw
        price = self.price(entry, where, "price")
        default_price = self.price(entry, where, "default_price")
        strategy, strategies, duration = self.end_rule(entry, where, engaged=engagement is not None)
        organization = None
        if entry.get("organization") is not None:
            organization = self.text(entry["organization"], (*where, "organization"))
        return ServiceSeed(
            name=name,
            route=route,
            expires=expires or self.when(entry, where, "expires", required=True) or When(),
            id=service_id,
            display_name=(
                self.text(entry["display_name"], (*where, "display_name"))
                if entry.get("display_name") is not None
                else None
            ),
            renew_mode=mode,
            renew_period=period,
            periods=periods,
            termination=termination,
            state=self.choice(entry.get("state", "active"), (*where, "state"), SERVICE_STATES),
            unpaid=self.boolean(entry.get("unpaid", False), (*where, "unpaid")),
            parent=parent,
            plan=self.text(entry["plan"], (*where, "plan")) if entry.get("plan") else None,
            description=(
                self.text(entry["description"], (*where, "description"))
                if entry.get("description")
                else None
            ),
            price=price,
            created=self.when(entry, where, "created", required=False),
            engagement_ends=engagement,
            engagement_strategy=strategy,
            engagement_strategies=strategies,
            engagement_duration=duration,
            default_price=default_price,
            organization=organization,
            refuses_empty=self.boolean(
                entry.get("refuses_empty", False), (*where, "refuses_empty")
            ),
            **self.contacts(entry, where),
            pricing=pricing,
        )

    def optional_text(self, entry: Mapping[str, Any], where: Path_, key: str) -> str | None:
        if entry.get(key) is None:
            return None
        return self.text(entry[key], (*where, key))

    def optional_nic(self, entry: Mapping[str, Any], where: Path_, key: str) -> str | None:
        """A NIC handle (``ab12345-ovh``): text without spaces or slashes."""
        nic = self.optional_text(entry, where, key)
        if nic is not None and (nic != nic.strip() or " " in nic or "/" in nic):
            raise self.fail((*where, key), f"{nic!r} is not a NIC handle (e.g. ab12345-ovh)")
        return nic

    def contacts(self, entry: Mapping[str, Any], where: Path_) -> dict[str, str | None]:
        """``contacts: {admin, tech, billing}``: NIC handles, each optional."""
        if entry.get("contacts") is None:
            return {}
        path = (*where, "contacts")
        given = self.mapping(entry["contacts"], path, set(CONTACT_KEYS))
        return {f"contact_{k}": self.optional_nic(given, path, k) for k in CONTACT_KEYS}

    def price(self, entry: Mapping[str, Any], where: Path_, key: str) -> float | None:
        raw = entry.get(key)
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
            raise self.fail((*where, key), "a price is a positive number (EUR per month)")
        return float(raw)

    def pricing(self, entry: Mapping[str, Any], where: Path_) -> PricingSeed | None:
        """``pricing:`` the renewal price as OVH states it (``services.billing.Pricing``),
        or ``absent`` when OVH gives none."""
        raw = entry.get("pricing")
        if raw is None:
            return None
        path = (*where, "pricing")
        if raw == PRICING_ABSENT:
            return PricingSeed(absent=True)
        if isinstance(raw, str):
            raise self.fail(path, f"expected a mapping or `{PRICING_ABSENT}`, got {raw!r}")
        given = self.mapping(raw, path, _PRICING_KEYS)
        value = None
        if given.get("price") is not None:
            amount = given["price"]
            if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
                raise self.fail((*path, "price"), "a price is a positive number")
            value = float(amount)
        interval = None
        if given.get("interval") is not None:
            interval = given["interval"]
            if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
                raise self.fail((*path, "interval"), "an interval is a positive integer")
        engagement = None
        if given.get("engagement") is not None:
            epath = (*path, "engagement")
            config = self.mapping(given["engagement"], epath, _ENGAGEMENT_CONFIG_KEYS)
            engagement = EngagementConfigSeed(
                duration=self.period(
                    config.get("duration", DEFAULT_ENGAGEMENT_DURATION), (*epath, "duration")
                ),
                type=self.choice(config.get("type", "upfront"), (*epath, "type"), ENGAGEMENT_TYPES),
                default_end_action=self.choice(
                    config.get("default_end_action", DEFAULT_END_STRATEGY),
                    (*epath, "default_end_action"),
                    END_STRATEGIES,
                ),
            )
        return PricingSeed(
            value=value,
            currency=(
                self.choice(given["currency"], (*path, "currency"), CURRENCIES)
                if given.get("currency") is not None
                else None
            ),
            text=self.optional_text(given, path, "text"),
            duration=(
                self.period(given["duration"], (*path, "duration"))
                if given.get("duration") is not None
                else None
            ),
            interval=interval,
            mode=self.optional_text(given, path, "mode"),
            engagement=engagement,
        )

    def end_rule(
        self, entry: Mapping[str, Any], where: Path_, *, engaged: bool
    ) -> tuple[str | None, tuple[str, ...] | None, str | None]:
        """``engagement_strategy``, ``engagement_strategies`` and ``engagement_duration``:
        only with a commitment, and the strategy among the possible ones."""
        keys = ("engagement_strategy", "engagement_strategies", "engagement_duration")
        for key in keys:
            if entry.get(key) is not None and not engaged:
                raise self.fail((*where, key), f"{key} needs engagement_ends(_in)", at_key=True)
        strategies = None
        if entry.get("engagement_strategies") is not None:
            strategies = self.choices(
                entry["engagement_strategies"],
                (*where, "engagement_strategies"),
                END_STRATEGIES,
                empty="must offer at least one strategy",
            )
        strategy = None
        if entry.get("engagement_strategy") is not None:
            path = (*where, "engagement_strategy")
            strategy = self.choice(entry["engagement_strategy"], path, END_STRATEGIES)
            offered = strategies or DEFAULT_POSSIBLE_STRATEGIES
            if strategy not in offered:
                raise self.fail(
                    path,
                    f"{strategy} is not among the possible strategies ({', '.join(offered)}); "
                    "add it to `engagement_strategies:`",
                )
        elif strategies is not None and DEFAULT_END_STRATEGY not in strategies:
            raise self.fail(
                (*where, "engagement_strategies"),
                f"without {DEFAULT_END_STRATEGY} among them, say which applies "
                "with `engagement_strategy:`",
            )
        duration = None
        if entry.get("engagement_duration") is not None:
            duration = self.period(entry["engagement_duration"], (*where, "engagement_duration"))
        return strategy, strategies, duration

    def parent(self, value: Any, path: Path_) -> ParentRef:
        if isinstance(value, dict):
            entry = self.mapping(value, path, {"name", "route"})
            self.require(entry, path, ("name",))
            route = self.route(entry["route"], (*path, "route")) if entry.get("route") else None
            return ParentRef(self.text(entry["name"], (*path, "name")), route)
        return ParentRef(self.text(value, path))

    def generated(self, item: dict[str, Any], where: Path_) -> Iterator[ServiceSeed]:
        """``count: N`` entries: N services from one template (benchmarks, big accounts).
        ``name`` holds ``{n}`` (1..N, Python format spec allowed: ``{n:05d}``), and
        ``expires_in`` may be a range ``[1d, 365d]`` spread evenly over the N services."""
        entry = self.mapping(item, where, _GENERATOR_KEYS)
        count = entry["count"]
        if isinstance(count, bool) or not isinstance(count, int) or not 0 < count <= MAX_GENERATED:
            raise self.fail((*where, "count"), f"count is an integer from 1 to {MAX_GENERATED}")
        self.require(entry, where, ("name", "route"))
        template = self.text(entry["name"], (*where, "name"))
        if "{n" not in template:
            raise self.fail(
                (*where, "name"), "a generated name holds {n}, e.g. site-{n:05d}.example.com"
            )
        route = self.route(entry["route"], (*where, "route"))
        spread: Callable[[int], When] | None = None
        raw = entry.get("expires_in")
        if isinstance(raw, list):
            if len(raw) != 2:
                raise self.fail((*where, "expires_in"), "a range is [from, to], e.g. [1d, 365d]")
            low = self.duration(raw[0], (*where, "expires_in", 0))
            high = self.duration(raw[1], (*where, "expires_in", 1))
            step = (high - low) / max(count - 1, 1)
            spread = lambda n: When(relative=low + step * (n - 1))  # noqa: E731
            entry = {k: v for k, v in entry.items() if k != "expires_in"}
        base = self.service_fields(
            entry,
            where,
            name="placeholder.example.com",
            route=route,
            expires=spread(1) if spread else None,
        )
        product = PRODUCTS[route]
        for n in range(1, count + 1):
            try:
                name = template.format(n=n)
            except (ValueError, KeyError, IndexError) as exc:
                raise self.fail((*where, "name"), f"bad name template: {exc}") from None
            problem = product.check_name(name)
            if problem:
                raise self.fail((*where, "name"), problem)
            yield replace(base, name=name, expires=spread(n) if spread else base.expires)

    def check_links(
        self, services: list[ServiceSeed], where_of: dict[tuple[str, str], Path_]
    ) -> None:
        by_name: dict[str, list[ServiceSeed]] = {}
        ids: dict[int, Path_] = {}
        for service in services:
            by_name.setdefault(service.name, []).append(service)
            if service.id is not None:
                where = where_of[(service.route, service.name)]
                if service.id in ids:
                    raise self.fail((*where, "id"), f"id {service.id} is already used")
                ids[service.id] = where
        parents: dict[tuple[str, str], tuple[str, str]] = {}
        for service in services:
            if service.parent is None:
                continue
            where = (*where_of[(service.route, service.name)], "parent")
            candidates = [
                s
                for s in by_name.get(service.parent.name, [])
                if service.parent.route in (None, s.route)
            ]
            if not candidates:
                raise self.fail(where, f"no service named {service.parent.name!r} in this seed")
            if len(candidates) > 1:
                routes = ", ".join(s.route for s in candidates)
                raise self.fail(
                    where,
                    f"{service.parent.name!r} names several services ({routes}); "
                    "write parent: {name: ..., route: ...}",
                )
            target = candidates[0]
            if (target.route, target.name) == (service.route, service.name):
                raise self.fail(where, "a service cannot be its own parent")
            parents[(service.route, service.name)] = (target.route, target.name)
        for start in parents:
            seen = {start}
            node = parents.get(start)
            while node is not None:
                if node in seen:
                    raise self.fail((*where_of[start], "parent"), "parents form a cycle")
                seen.add(node)
                node = parents.get(node)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", bool: "true/false", str: "text"}.get(
        type(value), type(value).__name__
    )


def _render_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds % 86400 == 0:
        return f"{sign}{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{sign}{seconds // 3600}h"
    return f"{sign}{seconds}s"


def _credential_json(credential: CredentialSeed) -> dict[str, Any]:
    data: dict[str, Any] = {
        "application_key": credential.application_key,
        "application_secret": credential.application_secret,
        "rules": [rule.to_json() for rule in credential.rules],
        "state": credential.state,
    }
    if credential.consumer_key is not None:
        data["consumer_key"] = credential.consumer_key
    if credential.expires is not None:
        data.update(credential.expires.to_json("expires"))
    if credential.nichandle is not None:
        data["nichandle"] = credential.nichandle
    if credential.email is not None:
        data["email"] = credential.email
    if credential.iam_actions is not None:
        data["iam_actions"] = list(credential.iam_actions)
    return data


def _service_json(service: ServiceSeed) -> dict[str, Any]:
    data: dict[str, Any] = {"name": service.name, "route": service.route}
    data.update(service.expires.to_json("expires"))
    renew: dict[str, Any] = {"mode": service.renew_mode}
    if service.renew_period is not None:
        renew["period"] = service.renew_period
    data["renew"] = renew
    optional: dict[str, Any] = {
        "id": service.id,
        "display_name": service.display_name,
        "periods": list(service.periods) if service.periods is not None else None,
        "plan": service.plan,
        "description": service.description,
        "price": service.price,
        "default_price": service.default_price,
        "engagement_strategy": service.engagement_strategy,
        "engagement_strategies": (
            list(service.engagement_strategies) if service.engagement_strategies else None
        ),
        "engagement_duration": service.engagement_duration,
        "organization": service.organization,
        "pricing": service.pricing.to_json() if service.pricing else None,
    }
    data.update({k: v for k, v in optional.items() if v is not None})
    if service.termination != default_termination(service.route, service.renew_mode):
        data["termination"] = service.termination
    if service.refuses_empty:
        data["refuses_empty"] = True
    contacts = {k: getattr(service, f"contact_{k}") for k in CONTACT_KEYS}
    if any(contacts.values()):
        data["contacts"] = {k: v for k, v in contacts.items() if v is not None}
    if service.state != "active":
        data["state"] = service.state
    if service.unpaid:
        data["unpaid"] = True
    if service.parent is not None:
        data["parent"] = (
            {"name": service.parent.name, "route": service.parent.route}
            if service.parent.route
            else service.parent.name
        )
    if service.created is not None:
        data.update(service.created.to_json("created"))
    if service.engagement_ends is not None:
        data.update(service.engagement_ends.to_json("engagement_ends"))
    return data
