"""The sandbox's OVH account: state in SQLite, behaviour of the real API, no HTTP.

``Backend`` is one account (services, credentials, e-mails, termination tokens) and its
clock: it runs each operation the routes need as one transaction of the ``store`` (SQLite
access only), asks the models (``credentials``, ``mail``, ``clock``) what changes, and
answers plain JSON-able values built by ``responses`` (OVH's wire shapes) or an
``errors.ApiError`` carrying OVH's status and body. The app (``app.py``) only parses
requests and serialises answers.

Time
    The sandbox clock is stored in the database as an anchor: either *stopped* at an
    instant, or *ticking* from an instant along the injected wall clock. A fresh
    sandbox ticks from the wall clock's now. Setting the clock stops it there unless
    asked to tick (tests need a clock that stands still; a stopped clock also makes a
    rehearsal reproducible). Every operation first *settles* the account up to now, so
    moving the clock by two years renews a monthly service 24 times at once:

    - at expiry, a service set to terminate at expiry is terminated (lifecycle
      ``terminated``, resource ``deleted``) and leaves every route (404);
    - at expiry, an automatic renewal renews by the period, as many periods as needed;
    - at expiry, a manual renewal (or an unpaid service) expires: lifecycle
      ``unrenewed``, resource ``suspended``; calls changing it answer 460. The
      ``terminateAtExpirationDate`` a manual service carries (the control panel's
      marking of manual renewal) does not make it terminate: manual wins;
    - at its engagement end, a service set to ``terminateAtEngagementDate`` goes, and
      otherwise the commitment's end rule applies (``_end_engagement``).

    Terminating a service terminates its linked (child) services with it.

Rules enforced server-side
    Cancelling a termination less than 24 hours before the expiry is refused with 409
    (exactly 24 hours before is refused too); immediate termination only where the
    product allows it (web hosting); a termination token is single-use and valid for
    ``TOKEN_TTL``; periods must be among the service's ``renewPeriodCapacities``.

The whole class is guarded by one lock and every operation is one SQLite transaction,
so a backend can be shared by threads and its file by processes.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.sandbox import credentials, errors, mail, responses
from reconciler.sandbox.auth import CredentialView, SignedRequest, authenticate
from reconciler.sandbox.catalog import (
    PRODUCTS,
    TERMINATE,
    TERMINATE_AT_ENGAGEMENT,
    TERMINATE_AT_EXPIRY,
    Product,
)
from reconciler.sandbox.clock import (
    ClockAnchor,
    ClockState,
    SystemWallClock,
    WallClock,
    add_months,
    aware,
    from_epoch,
    local_day,
    period_months,
    render_date,
    render_datetime,
    render_utc,
)
from reconciler.sandbox.credentials import IssuedDeltas
from reconciler.sandbox.seed import (
    DEFAULT_END_STRATEGY,
    DEFAULT_ENGAGEMENT_DURATION,
    DEFAULT_POSSIBLE_STRATEGIES,
    END_STRATEGIES,
    Seed,
    ServiceSeed,
    seed_from_mapping,
)
from reconciler.sandbox.store import Store

TOKEN_TTL = timedelta(hours=72)  # how long an e-mailed termination token stays valid
CANCEL_WINDOW = timedelta(hours=24)  # no cancelling a termination closer to expiry
# Iceberg page sizes: 1000 when none is asked (``ovh-api-notes``, from the control
# panel); the panel itself asks up to 50,000 on some listings (``X-Pagination-Size:
# 50000`` in ``ovh/manager``'s PCI AI and e-mail account lists), so that is the cap here:
# no larger size is known to be accepted (inferred, no published bound).
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 50_000
MAX_CACHED_PAGES = 256  # cached Iceberg answers kept at once (seeded lag only)

# OVH's enums for confirmTermination.
TERMINATION_REASONS = (
    "FEATURES_DONT_SUIT_ME",
    "LACK_OF_PERFORMANCES",
    "MIGRATED_TO_ANOTHER_OVH_PRODUCT",
    "MIGRATED_TO_COMPETITOR",
    "NOT_ENOUGH_RECOGNITION",
    "NOT_NEEDED_ANYMORE",
    "NOT_RELIABLE",
    "NO_ANSWER",
    "OTHER",
    "PRODUCT_DIMENSION_DONT_SUIT_ME",
    "PRODUCT_TOOLS_DONT_SUIT_ME",
    "TOO_EXPENSIVE",
    "TOO_HARD_TO_USE",
    "UNSATIFIED_BY_CUSTOMER_SUPPORT",
)
FUTURE_USES = (
    "NOT_REPLACING_SERVICE",
    "OTHER",
    "SUBSCRIBE_AN_OTHER_SERVICE",
    "SUBSCRIBE_OTHER_KIND_OF_SERVICE_WITH_COMPETITOR",
    "SUBSCRIBE_SIMILAR_SERVICE_WITH_COMPETITOR",
)
CANCEL_SERVICE = "CANCEL_SERVICE"
REACTIVATE_ENGAGEMENT = "REACTIVATE_ENGAGEMENT"
FALLBACK_DEFAULT_PRICE = "STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE"
TERMINATION_POLICIES = ("empty", "terminateAtEngagementDate", "terminateAtExpirationDate")


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    next_cursor: str | None = None


@dataclass(slots=True)
class _Listing:
    """One listing's total and, by position, the id just before it (where the page
    that starts there starts): a cache, valid for one generation of the services."""

    total: int | None = None
    last_before: dict[int, int] = field(default_factory=dict)


class _Listings:
    """The listings remembered for the current generation (a few: one per filter)."""

    LIMIT = 32

    def __init__(self) -> None:
        self.generation = -1
        self.by_key: dict[tuple[Any, ...], _Listing] = {}

    def get(self, generation: int, key: tuple[Any, ...]) -> _Listing:
        if generation != self.generation:
            self.generation, self.by_key = generation, {}
        if key not in self.by_key and len(self.by_key) >= self.LIMIT:
            self.by_key.clear()
        return self.by_key.setdefault(key, _Listing())


class Backend:
    """One sandbox account in a SQLite file. See the module docstring."""

    def __init__(
        self,
        path: Path | str,
        *,
        wall: WallClock | None = None,
        real_time: Callable[[], float] = time.time,
    ) -> None:
        self.path = str(path)
        self.wall = wall or SystemWallClock()
        # Clients sign with real clocks: the timestamp check needs real time even when
        # the wall clock is a manual one (tests inject both).
        self.real_time = real_time
        self._lock = threading.RLock()
        self._listings = _Listings()
        # Iceberg answers as first given, by request, with the sandbox time they were
        # built: served again while younger than the seed's lag (``iceberg_lag``).
        self._cached_pages: dict[tuple[Any, ...], tuple[int, Page]] = {}
        self._store = Store(self.path)

    @property
    def _db(self) -> sqlite3.Connection:
        """The SQLite connection (tests count its steps and reach under the rules)."""
        return self._store.db

    # --- life of the state ----------------------------------------------------------

    @property
    def seeded(self) -> bool:
        return self._store.meta("seed") is not None

    @property
    def seed_digest(self) -> str | None:
        return self._store.meta("seed_digest")

    @property
    def seed_source(self) -> str | None:
        return self._store.meta("seed_source")

    def close(self) -> None:
        with self._lock:
            self._store.close()

    def load_seed(self, seed: Seed, *, now: datetime | None = None) -> None:
        """Wipe the account and load ``seed``; ``reset`` will come back to it.

        The clock is set (and stopped) to ``now`` or the seed's ``clock`` when given,
        else kept as it is; relative dates are resolved against it."""
        with self._op(settle=False):
            self._load_seed(seed, now)

    def ensure_seeded(self, seed: Seed) -> bool:
        """Load ``seed`` if nothing was ever loaded (atomically: two processes opening a
        new state at once seed it once). True when it loaded it."""
        with self._op(settle=False):
            if self._store.meta("seed") is not None:
                return False
            self._load_seed(seed, None)
            return True

    def _load_seed(self, seed: Seed, now: datetime | None) -> None:
        when = now or seed.clock
        if when is not None:
            self._write_clock(aware(when).timestamp(), ticking=False)
        self._store.set_meta("seed", json.dumps(seed.to_mapping()))
        self._store.set_meta("seed_digest", seed.digest)
        self._store.set_meta("seed_source", seed.source)
        self._populate(seed)
        self._settle()

    def reset(self, *, now: datetime | None = None) -> None:
        """Back to the seed last loaded (relative dates against the clock now)."""
        stored = self._store.meta("seed")
        if stored is None:
            raise errors.StateError(f"{self.path}: no seed was ever loaded; nothing to reset to")
        seed = seed_from_mapping(json.loads(stored), self._store.meta("seed_source") or "<seed>")
        self.load_seed(seed, now=now)

    # --- the clock ------------------------------------------------------------------

    def now_seconds(self) -> float:
        return self._read_clock().now(self.wall.now().timestamp())

    def now(self) -> datetime:
        return from_epoch(self.now_seconds())

    def clock(self) -> ClockState:
        with self._lock:
            return ClockState(now=self.now(), ticking=self._read_clock().ticking)

    def set_clock(self, when: datetime, *, ticking: bool = False) -> ClockState:
        """Set the sandbox clock; it then stands still, unless ``ticking``. Moving it
        backwards is allowed but undoes nothing that already happened."""
        with self._op(settle=False):
            self._write_clock(aware(when).timestamp(), ticking=ticking)
            self._settle()
        return self.clock()

    def advance_clock(self, delta: timedelta, *, ticking: bool = False) -> ClockState:
        """Move the clock by ``delta``; like ``set_clock``, it then stands still unless
        ``ticking``."""
        with self._lock:
            return self.set_clock(self.now() + delta, ticking=ticking)

    def _read_clock(self) -> ClockAnchor:
        raw = self._store.meta("clock")
        if raw is None:  # a fresh sandbox ticks from the wall clock's now
            anchor = ClockAnchor.starting(self.wall.now().timestamp())
            self._store.set_meta("clock", anchor.to_text())
            return anchor
        return ClockAnchor.from_text(raw)

    def _write_clock(self, seconds: float, *, ticking: bool) -> None:
        anchor = ClockAnchor(seconds, self.wall.now().timestamp(), ticking)
        self._store.set_meta("clock", anchor.to_text())

    # --- authentication -------------------------------------------------------------

    def _issued_deltas(self, real_now: float) -> list[float]:
        """The clock deltas handed out by /auth/time lately, and the current one (see
        ``auth.timestamp_ok``)."""
        given = IssuedDeltas.from_text(self._store.meta("issued_deltas"))
        return [*given.recent(real_now), self.now_seconds() - real_now]

    def api_time(self) -> int:
        """``GET /auth/time``: the sandbox clock in Unix seconds. Remembers the delta it
        gives away, so that clients signing with it stay valid when the clock moves."""
        with self._op(settle=False):
            now = int(self.now_seconds())
            real_now = self.real_time()
            given = IssuedDeltas.from_text(self._store.meta("issued_deltas"))
            given = given.with_given(float(now - int(real_now)), real_now)
            self._store.set_meta("issued_deltas", given.to_text())
            return now

    def authenticate(self, request: SignedRequest, *, check_rules: bool = True) -> CredentialView:
        with self._op() as now:
            secret = None
            if request.application_key:
                secret = self._store.application_secret(request.application_key)
            credential = None
            if request.consumer_key:
                credential = self._credential_view(request.consumer_key)
            real_now = self.real_time()
            view = authenticate(
                request,
                application_secret=secret,
                credential=credential,
                now=now,
                real_now=real_now,
                deltas=self._issued_deltas(real_now),
                check_rules=check_rules,
            )
            self._store.update_credential(view.credential_id, {"last_use": now})
            return view

    def _credential_view(self, consumer_key: str) -> CredentialView | None:
        row = self._store.credential(consumer_key=consumer_key)
        return None if row is None else credentials.view(row, self._nic())

    def request_credential(
        self, application_key: str | None, body: Any, *, validation_root: str
    ) -> dict[str, Any]:
        """``POST /auth/credential``: a new consumer key, pending validation."""
        with self._op() as now:
            if not application_key or self._store.application_secret(application_key) is None:
                raise errors.invalid_key()
            asked = credentials.CredentialRequest.from_body(body)
            consumer_key = credentials.random_key(32)
            token = credentials.random_key(64)
            self._store.insert_credential(
                {
                    "credential_id": self._store.next_id(
                        "credentials", "credential_id", credentials.FIRST_CREDENTIAL_ID
                    ),
                    "consumer_key": consumer_key,
                    "app_key": application_key,
                    "rules": json.dumps(list(asked.rules)),
                    "state": "pendingValidation",
                    "created": now,
                    "validation_token": token,
                    "redirection": asked.redirection,
                    "allowed_ips": (
                        json.dumps(asked.allowed_ips) if asked.allowed_ips is not None else None
                    ),
                }
            )
            return responses.pending_credential(consumer_key, token, validation_root)

    def validate_credential(
        self,
        *,
        token: str | None = None,
        consumer_key: str | None = None,
        validity: timedelta | None = None,
    ) -> dict[str, Any]:
        """What a user does on the validation page: the key becomes ``validated``
        (valid for ``validity``, or until revoked). By token (the validation URL) or by
        consumer key (the admin route)."""
        with self._op() as now:
            row = self._find_credential(token=token, consumer_key=consumer_key)
            expires = now + int(validity.total_seconds()) if validity else None
            self._store.update_credential(
                row["credential_id"],
                {"state": "validated", "expires": expires, "validation_token": None},
            )
            return {
                "consumerKey": row["consumer_key"],
                "state": "validated",
                "redirection": row["redirection"],
            }

    def set_credential_state(self, consumer_key: str, state: str) -> None:
        """Admin: force a key's state (``expired``, ``refused``...) to rehearse failures."""
        credentials.check_state(state)
        with self._op():
            row = self._find_credential(consumer_key=consumer_key)
            self._store.update_credential(row["credential_id"], {"state": state})

    def _find_credential(
        self, *, token: str | None = None, consumer_key: str | None = None
    ) -> sqlite3.Row:
        row = self._store.credential(token=token, consumer_key=consumer_key)
        if row is None:
            raise errors.not_found("This credential does not exist (or is already validated)")
        return row

    def current_credential(self, credential: CredentialView) -> dict[str, Any]:
        with self._op():
            row = self._store.credential(consumer_key=credential.consumer_key)
            return responses.current_credential(row)

    def account(self, credential: CredentialView | None = None) -> dict[str, Any]:
        """``GET /me`` (a few fields: enough for a client to say whose account it is):
        the account the key logs in as (``credentials[].nichandle`` in the seed), by
        default the seed's."""
        with self._op():
            seed = json.loads(self._store.meta("seed") or "{}")
            account = seed.get("account", {})
            nic = account_nic = account.get("nichandle", "ab12345-ovh")
            email = account.get("email", "admin@example.com")
            if credential is not None and credential.nichandle not in (None, nic):
                row = self._store.credential(consumer_key=credential.consumer_key)
                nic = credential.nichandle
                email = (row["email"] if row else None) or f"{nic.split('-')[0]}@example.com"
            return {
                "nichandle": nic,
                "email": email,
                "firstname": account.get("firstname", "") if nic == account_nic else "",
                "name": account.get("name", "") if nic == account_nic else "",
                "country": account.get("country", "FR"),
                "ovhSubsidiary": account.get("country", "FR"),
                "currency": {"code": account.get("currency", "EUR"), "symbol": "EURO"},
                "state": "complete",
            }

    # --- /services ------------------------------------------------------------------

    def service_ids(
        self, *, resource_name: str | None = None, routes: Sequence[str] = ()
    ) -> list[int]:
        """``GET /services``: ids of the account's services (not the terminated ones)."""
        with self._op():
            sql, args = "SELECT id FROM services WHERE gone = 0", []
            if resource_name is not None:
                sql += " AND name = ?"
                args.append(resource_name)
            if routes:
                sql += f" AND route IN ({','.join('?' * len(routes))})"
                args.extend(_route_prefix(r) for r in routes)
            return [row[0] for row in self._db.execute(sql + " ORDER BY id", args)]

    def services_page(
        self,
        *,
        size: int,
        number: int = 1,
        offset: int | None = None,
        resource_name: str | None = None,
        routes: Sequence[str] = (),
        filters: Sequence[tuple[str, str, str]] = (),
        sort: str | None = None,
        descending: bool = False,
        fresh: bool = True,
    ) -> Page:
        """Iceberg: expanded services a page at a time, and the total.

        ``offset`` (cursor mode) wins over ``number`` (1-based pages). Without filters
        or sort the page is read straight from SQLite, so big accounts stay cheap.
        With a seeded ``iceberg_lag``, a request not ``fresh`` (no ``Pragma:
        no-cache``) gets the answer the same request got last, while it is younger than
        the lag on the sandbox clock, as OVH's cached lists lag behind a change."""
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise errors.bad_request(f"X-Pagination-Size must be between 1 and {MAX_PAGE_SIZE}")
        if number < 1:
            raise errors.bad_request("X-Pagination-Number starts at 1")
        start = offset if offset is not None else (number - 1) * size
        request = (size, start, resource_name, *routes, "|", *filters, sort, descending)
        with self._op() as now:
            lag = int(self._store.meta("iceberg_lag") or 0)
            cached = self._cached_pages.get(request) if lag else None
            if not fresh and cached is not None and now - cached[0] < lag:
                return cached[1]
            page = self._page(now, size, start, resource_name, routes, filters, sort, descending)
            if lag:  # a fresh read refreshes the cached list too
                if len(self._cached_pages) >= MAX_CACHED_PAGES:
                    self._cached_pages.clear()
                self._cached_pages[request] = (now, page)
            return page

    def _page(
        self,
        now: int,
        size: int,
        start: int,
        resource_name: str | None,
        routes: Sequence[str],
        filters: Sequence[tuple[str, str, str]],
        sort: str | None,
        descending: bool,
    ) -> Page:
        """One Iceberg page as the account is now (``services_page`` without a cache)."""
        where, args = "gone = 0", []
        if resource_name is not None:
            where += " AND name = ?"
            args.append(resource_name)
        if routes:
            where += f" AND route IN ({','.join('?' * len(routes))})"
            args.extend(_route_prefix(r) for r in routes)
        nic = self._nic()
        if not filters and sort is None:
            listing = self._listing(where, args)
            if listing.total is None:
                listing.total = self._db.execute(
                    f"SELECT COUNT(*) FROM services WHERE {where}", args
                ).fetchone()[0]
            total = listing.total
            rows = self._page_rows(listing, where, args, start, size)
            items = [_expanded(row, now, nic) for row in rows]
        else:
            rows = self._db.execute(
                f"SELECT * FROM services WHERE {where} ORDER BY id", args
            ).fetchall()
            every = [_expanded(row, now, nic) for row in rows]
            every = [s for s in every if all(_filter_matches(s, *f) for f in filters)]
            if sort is not None:
                every.sort(key=lambda s: _sort_key(_dotted(s, sort)), reverse=descending)
            total = len(every)
            items = every[start : start + size]
        following = start + len(items)
        return Page(
            items=items, total=total, next_cursor=str(following) if following < total else None
        )

    def _listing(self, where: str, args: Sequence[Any]) -> _Listing:
        """What is remembered of one listing (its filter), while no service changed."""
        generation = self._db.execute("SELECT generation FROM listing").fetchone()[0]
        return self._listings.get(generation, (where, *args))

    def _page_rows(
        self, listing: _Listing, where: str, args: Sequence[Any], start: int, size: int
    ) -> list[sqlite3.Row]:
        """``size`` rows in id order from the ``start``-th on, in time that does not grow
        with ``start``. A reader going page after page (reconciler, the panel) starts
        each page after the last id of the one before (keyset, remembered while nothing
        changed); a page asked out of order finds its first id on the covering index
        (``services_listed``) alone. Either way the skipped rows are never read, nor all
        the rows sorted."""
        select = f"SELECT * FROM services INDEXED BY services_listed WHERE {where}"
        after = 0 if start == 0 else listing.last_before.get(start)
        if after is not None:
            rows = self._db.execute(
                f"{select} AND id > ? ORDER BY id LIMIT ?", (*args, after, size)
            ).fetchall()
        else:
            first = self._db.execute(
                f"SELECT id FROM services INDEXED BY services_listed WHERE {where}"
                " ORDER BY id LIMIT 1 OFFSET ?",
                (*args, start),
            ).fetchone()
            if first is None:
                return []
            rows = self._db.execute(
                f"{select} AND id >= ? ORDER BY id LIMIT ?", (*args, first[0], size)
            ).fetchall()
        if rows:
            listing.last_before[start + len(rows)] = int(rows[-1]["id"])
        return rows

    def service(self, service_id: int) -> dict[str, Any]:
        with self._op() as now:
            return _expanded(self._visible(service_id), now, self._nic())

    def service_options(self, service_id: int) -> list[dict[str, Any]]:
        """``GET /services/{id}/options``: the expanded linked (child) services."""
        with self._op() as now:
            self._visible(service_id)
            nic = self._nic()
            rows = self._db.execute(
                "SELECT * FROM services WHERE parent_id = ? AND gone = 0 ORDER BY id",
                (service_id,),
            ).fetchall()
            return [_expanded(row, now, nic) for row in rows]

    def renew_period_capacities(self, service_id: int) -> list[str]:
        with self._op():
            return list(json.loads(self._visible(service_id)["periods"]))

    def update_service(self, service_id: int, body: Any) -> None:
        """``PUT /services/{id}``: ``displayName``, ``renew {mode, period}``,
        ``terminationPolicy``. Everything is validated before anything changes."""
        if not isinstance(body, dict) or not body:
            raise errors.bad_request(
                "Invalid body: expected displayName, renew or terminationPolicy"
            )
        unknown = set(body) - {"displayName", "renew", "terminationPolicy"}
        if unknown:
            raise errors.bad_request(f"Invalid parameter(s): {', '.join(sorted(unknown))}")
        with self._op() as now:
            row = self._visible(service_id)
            self._check_changeable(row)
            changes: dict[str, Any] = {}
            if "displayName" in body:
                name = body["displayName"]
                if not isinstance(name, str) or not name.strip() or len(name) > 255:
                    raise errors.bad_request("Invalid displayName: 1 to 255 characters")
                changes["display_name"] = name
            if "terminationPolicy" in body:
                policy = body["terminationPolicy"]
                if policy not in TERMINATION_POLICIES:
                    expected = ", ".join(TERMINATION_POLICIES)
                    raise errors.bad_request(f"Invalid terminationPolicy: expected {expected}")
                changes.update(self._termination_changes(row, policy, now))
            if "renew" in body:  # after the policy: a mode said in the same body wins
                changes.update(self._renew_changes(row, body["renew"]))
            self._update(service_id, changes)

    def engagement(self, service_id: int) -> dict[str, Any]:
        """``GET /services/{id}/billing/engagement``: the commitment's current period and
        end rule (``services.billing.engagement.Engagement``); 404 without one."""
        with self._op():
            row = self._engaged(self._visible(service_id))
            months = int(row["engagement_months"] or period_months(DEFAULT_ENGAGEMENT_DURATION))
            end = int(row["engagement_end"])
            return {
                "currentPeriod": {
                    "startDate": render_date(add_months(end, -months)),
                    "endDate": render_date(end),
                },
                "endRule": _end_rule(row),
            }

    def update_end_rule(self, service_id: int, body: Any) -> None:
        """``PUT /services/{id}/billing/engagement/endRule {"strategy"}``: what happens
        when the commitment ends; one of its ``possibleStrategies``."""
        if not isinstance(body, dict):
            raise errors.bad_request("Invalid body: expected {strategy}")
        unknown = set(body) - {"strategy"}
        if unknown:
            raise errors.bad_request(f"Invalid parameter(s): {', '.join(sorted(unknown))}")
        strategy = body.get("strategy")
        if strategy is None:
            raise errors.bad_request("Missing parameter: strategy")
        if strategy not in END_STRATEGIES:
            raise errors.bad_request(
                f"Invalid value for strategy: {strategy!r} (expected one of "
                f"{', '.join(END_STRATEGIES)})"
            )
        with self._op():
            row = self._engaged(self._visible(service_id))
            self._check_changeable(row)
            possible = _end_rule(row)["possibleStrategies"]
            if strategy not in possible:
                raise errors.bad_request(
                    f"Strategy {strategy} is not available for this engagement",
                    possibleStrategies=possible,
                )
            self._update(service_id, {"end_strategy": strategy})

    def _engaged(self, row: sqlite3.Row) -> sqlite3.Row:
        if row["engagement_end"] is None:
            raise errors.not_found(
                f"The service {row['id']} has no engagement (or its engagement has ended)"
            )
        return row

    def _renew_changes(self, row: sqlite3.Row, renew: Any) -> dict[str, Any]:
        if not isinstance(renew, dict) or not renew or set(renew) - {"mode", "period"}:
            raise errors.bad_request("Invalid renew: expected {mode, period}")
        changes: dict[str, Any] = {}
        if "mode" in renew:
            modes = _renew_modes(row)
            if renew["mode"] not in modes:
                raise errors.bad_request(
                    f"Invalid renew mode {renew['mode']!r}: this service renews {', '.join(modes)}"
                )
            changes["renew_mode"] = renew["mode"]
        if "period" in renew and renew["period"] is not None:
            periods = json.loads(row["periods"])
            if renew["period"] not in periods:
                raise errors.bad_request(
                    f"Period {renew['period']!r} is not available for this service",
                    availablePeriods=periods,
                )
            changes["renew_period"] = renew["period"]
        return changes

    def _termination_changes(self, row: sqlite3.Row, policy: str, now: int) -> dict[str, Any]:
        actions = _actions(row, now)
        if policy == "empty":
            if row["refuses_empty"]:
                raise errors.bad_request(
                    "The termination policy empty is not available for this service"
                )
            # OVH also switches the renewal back to automatic here ("The renewal mode
            # will then switch back to automatic", the panel's words). Not modelled yet:
            # reconciler still sends empty to services it keeps manual.
            changes: dict[str, Any] = {}
            if row["termination"] != "none":
                self._check_cancel_window(row, now)
                changes.update({"termination": "none", "terminate_at": None})
            return changes
        if policy == "terminateAtExpirationDate":
            if TERMINATE_AT_EXPIRY not in actions:
                raise errors.bad_request(
                    "Action terminateAtExpirationDate is not available for this service "
                    "(it is managed from its own interface)"
                )
            return {"termination": "at_expiry", "terminate_at": row["expiration"]}
        if TERMINATE_AT_ENGAGEMENT not in actions:
            raise errors.bad_request("This service has no engagement to terminate at")
        return {"termination": "at_engagement", "terminate_at": row["engagement_end"]}

    def _check_cancel_window(self, row: sqlite3.Row, now: int) -> None:
        """The control panel's rule, enforced by the API: no cancelling a termination
        24 hours or less before it happens."""
        when = row["terminate_at"]
        if when - now <= CANCEL_WINDOW.total_seconds():
            raise errors.conflict(
                f"The termination of this service can no longer be cancelled: it is "
                f"terminated on {render_datetime(when)}, and a termination can only be "
                f"cancelled until 24 hours before"
            )

    def _check_changeable(self, row: sqlite3.Row) -> None:
        if row["lifecycle"] == "terminated":  # listed during its retention period only
            raise errors.service_terminated(int(row["id"]))
        if row["lifecycle"] == "unrenewed":
            raise errors.service_expired()
        if row["unpaid"]:
            raise errors.conflict(
                "This service has unpaid bills: pay them before changing or terminating it"
            )

    def request_termination(self, service_id: int) -> str:
        """``POST /services/{id}/terminate`` (and the legacy ``/terminate``): e-mails a
        confirmation link with a single-use token; nothing is deleted yet."""
        with self._op() as now:
            row = self._visible(service_id)
            self._check_changeable(row)
            if TERMINATE not in _actions(row, now):
                raise errors.bad_request(
                    "This service cannot be terminated immediately; use terminationPolicy "
                    "terminateAtExpirationDate to terminate it at its expiration date"
                )
            token = credentials.random_key(40)
            expires = now + int(TOKEN_TTL.total_seconds())
            self._store.insert_token(token, service_id, now, expires)
            admin = self._contact(row, "admin")
            self._send(
                mail.termination_request(
                    email_id=self._next_email_id(),
                    now=now,
                    recipient=admin,
                    service_id=service_id,
                    name=row["name"],
                    description=_product(row).description,
                    token=token,
                    expires=expires,
                )
            )
            # The token goes to the administrator contact only (the schema's words for
            # confirmTermination: "sent by mail to the admin contact").
            return (
                f"A confirmation e-mail has been sent to the administrator contact ({admin}); "
                "follow its instructions to confirm the termination"
            )

    def confirm_termination(self, service_id: int, body: Any) -> str:
        """``POST .../confirmTermination`` or ``/services/{id}/terminate/confirm``:
        with a valid token, the service (and its linked services) are deleted at once."""
        if not isinstance(body, dict):
            raise errors.bad_request("Invalid body: expected {token}")
        unknown = set(body) - {"token", "reason", "commentary", "futureUse"}
        if unknown:
            raise errors.bad_request(f"Invalid parameter(s): {', '.join(sorted(unknown))}")
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise errors.bad_request("Missing parameter: token")
        if body.get("reason") is not None and body["reason"] not in TERMINATION_REASONS:
            raise errors.bad_request(f"Invalid value for reason: {body['reason']!r}")
        if body.get("futureUse") is not None and body["futureUse"] not in FUTURE_USES:
            raise errors.bad_request(f"Invalid value for futureUse: {body['futureUse']!r}")
        if body.get("commentary") is not None and not isinstance(body["commentary"], str):
            raise errors.bad_request("Invalid value for commentary: expected text")
        with self._op() as now:
            # A gone service answers 404 first, whatever the token: a confirmation retried
            # after its answer was lost reads "already gone", as for any gone service.
            row = self._visible(service_id)
            if row["lifecycle"] == "terminated":  # in its retention period: already done
                raise errors.service_terminated(service_id)
            found = self._store.token(token, service_id)
            if found is not None and found["used_at"] is not None:
                raise errors.bad_request("This termination token has already been used")
            if found is None:
                raise errors.bad_request("Invalid termination token for this service")
            if found["expires"] <= now:
                raise errors.bad_request(
                    "This termination token has expired; request the termination again"
                )
            self._check_changeable(row)
            self._store.use_token(token, now)
            self._terminate(row, now, reason="its termination was confirmed")
            return f"The service {row['name']} has been terminated"

    # --- legacy per-product routes ---------------------------------------------------

    def legacy_names(self, route: str) -> list[str]:
        """``GET /{route}``: the names of the product's services."""
        with self._op():
            return [
                r[0]
                for r in self._db.execute(
                    "SELECT name FROM services WHERE route = ? AND gone = 0 ORDER BY name",
                    (route,),
                )
            ]

    def legacy_service_id(self, route: str, name: str, organization: str | None = None) -> int:
        with self._op():
            return int(self._legacy_row(route, name, organization)["id"])

    def service_infos(
        self, route: str, name: str, organization: str | None = None
    ) -> dict[str, Any]:
        """``GET /{route}/{name}/serviceInfos``."""
        with self._op() as now:
            row = self._legacy_row(route, name, organization)
            months = period_months(row["renew_period"])
            status = "ok"
            terminated = row["lifecycle"] == "terminated"  # during its retention period
            if row["lifecycle"] == "unrenewed" or terminated:
                status = "expired"
            elif row["unpaid"]:
                status = "unPaid"
            nic = self._nic()
            automatic = row["renew_mode"] == "automatic"
            return {
                "serviceId": row["id"],
                "domain": row["name"],
                "creation": render_date(row["created"]),
                "expiration": render_date(row["expiration"]),
                "engagedUpTo": render_date(row["engagement_end"]),
                "status": status,
                "renewalType": "automaticV2016" if automatic else "manual",
                "canDeleteAtExpiration": TERMINATE_AT_EXPIRY in _actions(row, now),
                "possibleRenewPeriod": [period_months(p) for p in json.loads(row["periods"])],
                "contactAdmin": _contact(row, "admin", nic),
                "contactBilling": _contact(row, "billing", nic),
                "contactTech": _contact(row, "tech", nic),
                "renew": {
                    "automatic": automatic,
                    "deleteAtExpiration": row["termination"] == "at_expiry" or terminated,
                    "forced": False,
                    "manualPayment": not automatic,
                    "period": months,
                },
            }

    def update_service_infos(
        self, route: str, name: str, body: Any, organization: str | None = None
    ) -> None:
        """``PUT /{route}/{name}/serviceInfos``: only ``renew`` is writable (the other
        fields of the object are accepted and ignored, as OVH does)."""
        if not isinstance(body, dict):
            raise errors.bad_request("Invalid body: expected a serviceInfos object")
        renew = body.get("renew")
        if renew is None:
            return None
        if not isinstance(renew, dict):
            raise errors.bad_request("Invalid renew: expected an object")
        mode = _legacy_mode(renew)
        delete = renew.get("deleteAtExpiration")
        if delete is not None and not isinstance(delete, bool):
            raise errors.bad_request("Invalid renew.deleteAtExpiration: expected a boolean")
        months = renew.get("period")
        if months is not None and (isinstance(months, bool) or not isinstance(months, int)):
            raise errors.bad_request("Invalid renew.period: expected a number of months")
        with self._op() as now:
            row = self._legacy_row(route, name, organization)
            self._check_changeable(row)
            changes: dict[str, Any] = {}
            if mode is not None:
                changes.update(self._renew_changes(row, {"mode": mode}))
            if months is not None:
                changes.update(self._renew_changes(row, {"period": f"P{months}M"}))
            # deleteAtExpiration is the flag alone: false keeps a manual service manual
            # (unlike terminationPolicy empty on /services, which switches it back).
            if delete is True and row["termination"] != "at_expiry":
                changes.update(self._termination_changes(row, TERMINATE_AT_EXPIRY, now))
            elif delete is False and row["termination"] == "at_expiry":
                self._check_cancel_window(row, now)
                changes.update({"termination": "none", "terminate_at": None})
            self._update(int(row["id"]), changes)
        return None

    def _legacy_row(self, route: str, name: str, organization: str | None) -> sqlite3.Row:
        row: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM services WHERE route = ? AND name = ? AND gone = 0", (route, name)
        ).fetchone()
        if row is None or (
            organization is not None and (row["organization"] or row["name"]) != organization
        ):
            raise errors.legacy_service_not_found()
        return row

    # --- e-mails ---------------------------------------------------------------------

    def email_ids(self, nichandle: str | None = None) -> list[int]:
        """``GET /me/notification/email/history``: the ids of the e-mails sent to the
        account ``nichandle`` (None: every e-mail, for the sandbox's own views)."""
        with self._op():
            return [e.id for e in self._emails() if nichandle in (None, e.sent_to(self._nic()))]

    def email(self, email_id: int, nichandle: str | None = None) -> dict[str, Any]:
        """One e-mail of the account ``nichandle``: another account's is not there (404)."""
        with self._op():
            row = self._store.email(email_id)
            found = None if row is None else mail.Email.from_row(row)
            if found is None or nichandle not in (None, found.sent_to(self._nic())):
                raise errors.not_found(f"The requested object (id = {email_id}) does not exist")
            return responses.email(found)

    def emails(self) -> list[dict[str, Any]]:
        """Every e-mail, with the account it was sent to (``to``), for tests and users."""
        with self._op():
            nic = self._nic()
            return [{**responses.email(e), "to": e.sent_to(nic)} for e in self._emails()]

    def _emails(self) -> list[mail.Email]:
        return [mail.Email.from_row(row) for row in self._store.emails()]

    def _next_email_id(self) -> int:
        return self._store.next_id("emails", "id", mail.FIRST_EMAIL_ID)

    def _send(self, email: mail.Email) -> None:
        self._store.insert_email(email.to_row())

    def _contact(self, row: sqlite3.Row | Mapping[str, Any], kind: str) -> str:
        """The NIC handle of a service's ``admin``, ``tech`` or ``billing`` contact."""
        return _contact(row, kind, self._nic())

    # --- admin views -----------------------------------------------------------------

    def internal_services(self) -> list[dict[str, Any]]:
        """Every service including terminated ones, in the sandbox's own words (for tests
        and for users checking what a rehearsal did)."""
        with self._op():
            return [
                {
                    "serviceId": r["id"],
                    "name": r["name"],
                    "route": r["route"],
                    "lifecycle": "terminated" if r["gone"] else r["lifecycle"],
                    "resourceState": r["resource_state"],
                    "expiration": render_utc(r["expiration"]),
                    "renew": {"mode": r["renew_mode"], "period": r["renew_period"]},
                    "termination": r["termination"],
                    "terminatedAt": render_utc(r["terminated_at"]) if r["terminated_at"] else None,
                    "unpaid": bool(r["unpaid"]),
                    "parentServiceId": r["parent_id"],
                }
                for r in self._db.execute("SELECT * FROM services ORDER BY id")
            ]

    def summary(self) -> dict[str, Any]:
        with self._op():
            count = self._store.count_services("gone = 0")
            return {
                "seed": self._store.meta("seed_source"),
                "seed_digest": self._store.meta("seed_digest"),
                "services": count,
                "clock": self.clock().to_json(),
            }

    # --- internals -------------------------------------------------------------------

    @contextmanager
    def _op(self, *, settle: bool = True) -> Iterator[int]:
        """One operation: the lock, one transaction, the account settled up to now."""
        with self._lock, self._store.transaction():
            now = int(self.now_seconds())
            if settle:
                self._settle()
            yield now

    def _nic(self) -> str:
        cached = getattr(self, "_nic_cache", None)
        if cached is None:
            seed = json.loads(self._store.meta("seed") or "{}")
            cached = str(seed.get("account", {}).get("nichandle", "ab12345-ovh"))
            self._nic_cache = cached
        return cached

    def _visible(self, service_id: int) -> sqlite3.Row:
        row = self._store.service(service_id)
        if row is None:
            raise errors.service_not_found(service_id)
        return row

    def _update(self, service_id: int, changes: Mapping[str, Any]) -> None:
        self._store.update_service(service_id, changes)

    def _settle(self) -> None:
        """Apply everything that is due up to the clock's now, in date order."""
        now = int(self.now_seconds())
        while True:
            due = self._store.due_services(now)
            if not due:
                break
            for row in due:
                self._settle_one(row, now)
        # The retention period is over: the terminated service leaves every route.
        self._store.purge(now)

    def _settle_one(self, row: sqlite3.Row, now: int) -> None:
        """The earliest event of one service that is due: its termination, the end of
        its commitment, or its expiry (the others wait for the next round, so that each
        happens in date order)."""
        current = self._store.service(int(row["id"]), listed_only=False)
        assert current is not None  # due: listed a moment ago, in this same transaction
        if current["gone"] or current["lifecycle"] != "active":
            return  # taken along by its parent in this same settlement
        terminate_at = current["terminate_at"]
        engaged_until = current["engagement_end"]
        expiration = current["expiration"]
        events = [when for when in (terminate_at, engaged_until, expiration) if when is not None]
        first = min(events)
        if first > now:
            return  # listed twice, already settled
        # A manual service's terminateAtExpirationDate is the panel's marking of manual
        # renewal, not a termination: at expiry it expires unless paid (manual wins).
        marking = current["termination"] == "at_expiry" and current["renew_mode"] == "manual"
        if terminate_at is not None and terminate_at == first and not marking:
            self._terminate(current, terminate_at, reason="it reached its termination date")
            return
        if engaged_until is not None and engaged_until == first:
            self._end_engagement(current)
            return
        if current["renew_mode"] == "automatic" and not current["unpaid"]:
            # Renew up to now, but not past another event due meanwhile (it goes first).
            later = [when for when in (terminate_at, engaged_until) if when is not None]
            limit = min([now, *later])
            months = period_months(current["renew_period"])
            while expiration <= limit:
                expiration = add_months(expiration, months, day=current["anniversary_day"])
            self._update(current["id"], {"expiration": expiration})
            return
        self._update(current["id"], {"lifecycle": "unrenewed", "resource_state": "suspended"})

    def _end_engagement(self, row: sqlite3.Row) -> None:
        """A commitment reaches its end: its end rule applies. ``CANCEL_SERVICE``
        terminates the service; ``REACTIVATE_ENGAGEMENT`` commits it again for the same
        length; the ``STOP_ENGAGEMENT_*`` rules end it (``billing.engagement`` null),
        keeping the price or falling back to the default one."""
        end = int(row["engagement_end"])
        strategy = row["end_strategy"] or DEFAULT_END_STRATEGY
        if strategy == CANCEL_SERVICE:
            self._terminate(row, end, reason="its commitment ended (end rule CANCEL_SERVICE)")
            return
        if strategy == REACTIVATE_ENGAGEMENT:
            months = int(row["engagement_months"] or period_months(DEFAULT_ENGAGEMENT_DURATION))
            self._update(row["id"], {"engagement_end": add_months(end, months)})
            return
        changes: dict[str, Any] = {"engagement_end": None}
        if strategy == FALLBACK_DEFAULT_PRICE and row["default_price"] is not None:
            changes["price"] = row["default_price"]
        self._update(row["id"], changes)

    def _terminate(self, row: sqlite3.Row, when: int, *, reason: str) -> None:
        """The service and its linked services are terminated: lifecycle
        ``terminated``. Each stays listed for its retention period (resource state
        ``toDelete`` or ``deleted``, by product), then leaves every route (``_settle``);
        without one it leaves them at once."""
        doomed = [row]
        index = 0
        while index < len(doomed):
            doomed.extend(
                self._db.execute(
                    "SELECT * FROM services WHERE parent_id = ? AND gone = 0",
                    (doomed[index]["id"],),
                ).fetchall()
            )
            index += 1
        for victim in doomed:
            retention = int(victim["retention"] or 0)
            self._update(
                victim["id"],
                {
                    "gone": 0 if retention else 1,
                    "lifecycle": "terminated",
                    "resource_state": _product(victim).retention_state if retention else "deleted",
                    "terminated_at": when,
                    "purge_at": when + retention if retention else None,
                    "termination": "none",
                    "terminate_at": None,
                },
            )
        self._send(
            mail.terminated(
                email_id=self._next_email_id(),
                when=when,
                recipient=self._contact(row, "admin"),
                service_id=int(row["id"]),
                name=row["name"],
                reason=reason,
                linked=[v["name"] for v in doomed[1:]],
            )
        )

    def _populate(self, seed: Seed) -> None:
        self._store.wipe()
        self._nic_cache = seed.account.nichandle
        self._cached_pages.clear()
        lag = seed.iceberg_lag
        self._store.set_meta("iceberg_lag", str(int(lag.total_seconds()) if lag else 0))
        now = int(self.now_seconds())
        now_dt = from_epoch(now)
        app_ids: dict[str, int] = {}
        for credential in seed.credentials:
            if credential.application_key not in app_ids:
                app_ids[credential.application_key] = credentials.FIRST_APPLICATION_ID + len(
                    app_ids
                )
                self._store.insert_application(
                    credential.application_key,
                    credential.application_secret,
                    app_ids[credential.application_key],
                )
            if credential.consumer_key is None:
                continue
            expires = credential.expires.resolve(now_dt) if credential.expires else None
            self._store.insert_credential(
                {
                    "credential_id": self._store.next_id(
                        "credentials", "credential_id", credentials.FIRST_CREDENTIAL_ID
                    ),
                    "consumer_key": credential.consumer_key,
                    "app_key": credential.application_key,
                    "rules": json.dumps([rule.to_json() for rule in credential.rules]),
                    "state": credential.state,
                    "created": now - 86400 * 30,
                    "expires": int(expires.timestamp()) if expires else None,
                    "nichandle": credential.nichandle,
                    "email": credential.email,
                    "iam_actions": (
                        None
                        if credential.iam_actions is None
                        else json.dumps(credential.iam_actions)
                    ),
                }
            )
        ids = _assign_ids(seed.services)
        by_key = {(s.route, s.name): ids[i] for i, s in enumerate(seed.services)}
        by_name: dict[str, list[int]] = {}
        for (_, name), service_id in by_key.items():
            by_name.setdefault(name, []).append(service_id)
        rows = [
            _service_row(
                service,
                ids[i],
                _parent_id(service, by_key, by_name),
                now_dt,
                refuses_empty=bool(seed.product(service.route).refuses_empty),
                renew_modes=_offered_modes(seed, service.route),
                retention=int(seed.retention_for(service.route).total_seconds()),
            )
            for i, service in enumerate(seed.services)
        ]
        self._store.insert_services(rows)


# --- pure helpers ------------------------------------------------------------------


def _product(row: sqlite3.Row | Mapping[str, Any]) -> Product:
    return PRODUCTS[row["route"]]


def _actions(row: sqlite3.Row | Mapping[str, Any], now: int) -> list[str]:
    """``billing.lifecycle.capacities.actions`` of a service as it stands."""
    if row["gone"] or row["lifecycle"] != "active":
        return []
    engaged = row["engagement_end"] is not None and row["engagement_end"] > now
    return [
        action for action in _product(row).actions if action != TERMINATE_AT_ENGAGEMENT or engaged
    ]


def _renew_modes(row: sqlite3.Row | Mapping[str, Any]) -> tuple[str, ...]:
    """``billing.renew.capacities.mode`` of a service (a state from before they were
    stored: the catalogue's)."""
    if row["renew_modes"]:
        return tuple(json.loads(row["renew_modes"]))
    return _product(row).renew_modes


def _offered_modes(seed: Seed, route: str) -> tuple[str, ...]:
    """The renew modes a product offers on the seed's account: the catalogue's or the
    seed's, without ``manual`` on ovh-us, where the control panel offers none."""
    modes = seed.product(route).modes()
    if seed.account.endpoint == "ovh-us":
        modes = tuple(m for m in modes if m != "manual") or ("automatic",)
    return modes


def _legacy_mode(renew: Mapping[str, Any]) -> str | None:
    """The renew mode a serviceInfos ``renew`` (``service.RenewType``) asks for:
    ``automatic`` and ``manualPayment`` say it twice, and must agree when both given."""
    for key in ("automatic", "manualPayment", "forced"):
        if key in renew and not isinstance(renew[key], bool):
            raise errors.bad_request(f"Invalid renew.{key}: expected a boolean")
    automatic, manual = renew.get("automatic"), renew.get("manualPayment")
    if automatic is not None and manual is not None and automatic == manual:
        raise errors.bad_request(
            f"Invalid renew: automatic and manualPayment cannot both be {str(automatic).lower()}"
        )
    if automatic is not None:
        return "automatic" if automatic else "manual"
    if manual is not None:
        return "manual" if manual else "automatic"
    return None


def _route_prefix(route: str) -> str:
    return route.split("/{", 1)[0].rstrip("/")


def _assign_ids(services: Sequence[ServiceSeed]) -> list[int]:
    """Service ids: the seed's, else a stable 9-digit id derived from route and name
    (so editing a seed does not renumber the other services)."""
    taken = {s.id for s in services if s.id is not None}
    ids = []
    for service in services:
        if service.id is not None:
            ids.append(service.id)
            continue
        digest = hashlib.sha256(f"{service.route}|{service.name}".encode()).hexdigest()
        candidate = 100_000_000 + int(digest[:12], 16) % 100_000_000
        while candidate in taken:
            candidate += 1
        taken.add(candidate)
        ids.append(candidate)
    return ids


def _parent_id(
    service: ServiceSeed, by_key: Mapping[tuple[str, str], int], by_name: Mapping[str, list[int]]
) -> int | None:
    if service.parent is None:
        return None
    if service.parent.route is not None:
        return by_key[(service.parent.route, service.parent.name)]
    return by_name[service.parent.name][0]  # the seed reader checked it is unambiguous


def _service_row(
    service: ServiceSeed,
    service_id: int,
    parent_id: int | None,
    now: datetime,
    *,
    refuses_empty: bool = False,
    renew_modes: Sequence[str] | None = None,
    retention: int = 0,
) -> dict[str, Any]:
    product = PRODUCTS[service.route]
    period = service.renew_period or (
        product.default_period
        if product.default_period in (service.periods or product.periods)
        else (service.periods or product.periods)[0]
    )
    expiration = int(service.expires.resolve(now).timestamp())
    now_s = int(now.timestamp())
    if service.created is not None:
        created = int(service.created.resolve(now).timestamp())
    else:
        created = min(add_months(expiration, -period_months(period)), now_s - 86400)
    engagement = (
        int(service.engagement_ends.resolve(now).timestamp()) if service.engagement_ends else None
    )
    terminate_at = {"none": None, "at_expiry": expiration, "at_engagement": engagement}[
        service.termination
    ]
    lifecycle, resource, gone = {
        "active": ("active", "active", 0),
        "suspended": ("active", "suspended", 0),
        "expired": ("unrenewed", "suspended", 0),
        "terminated": ("terminated", "deleted", 1),
    }[service.state]
    purge_at = None
    if service.state == "terminated" and retention and expiration + retention > now_s:
        # terminated at its expiry, and still within its retention period: listed
        gone, resource, purge_at = 0, product.retention_state, expiration + retention
    return {
        "id": service_id,
        "name": service.name,
        "route": service.route,
        "organization": service.organization,
        "display_name": service.display_name or service.name,
        "parent_id": parent_id,
        "plan_code": service.plan or product.plan_code,
        "description": service.description or product.description,
        "price": _monthly_price(service, period),
        "created": created,
        "expiration": expiration,
        "anniversary_day": local_day(expiration),
        "renew_mode": service.renew_mode,
        "renew_period": period,
        "periods": json.dumps(list(service.periods or product.periods)),
        "termination": service.termination if service.state != "terminated" else "none",
        "terminate_at": terminate_at if service.state != "terminated" else None,
        "engagement_end": engagement,
        "end_strategy": (service.engagement_strategy or DEFAULT_END_STRATEGY)
        if engagement is not None
        else None,
        "end_strategies": json.dumps(
            list(service.engagement_strategies or DEFAULT_POSSIBLE_STRATEGIES)
        )
        if engagement is not None
        else None,
        "engagement_months": period_months(
            service.engagement_duration or DEFAULT_ENGAGEMENT_DURATION
        )
        if engagement is not None
        else None,
        "default_price": service.default_price,
        "refuses_empty": int(refuses_empty or service.refuses_empty),
        "renew_modes": json.dumps(list(renew_modes or product.renew_modes)),
        "contact_admin": service.contact_admin,
        "contact_tech": service.contact_tech,
        "contact_billing": service.contact_billing,
        "lifecycle": lifecycle,
        "resource_state": resource,
        "unpaid": int(service.unpaid),
        "terminated_at": expiration if service.state == "terminated" else None,
        "retention": retention,
        "purge_at": purge_at,
        "pricing": json.dumps(service.pricing.to_json()) if service.pricing else None,
        "gone": gone,
    }


def _monthly_price(service: ServiceSeed, period: str) -> float:
    """The price per month the sandbox keeps (and scales when the period changes): a
    seeded renewal price spread over its period, else the seed's or product's price."""
    pricing = service.pricing
    if pricing is not None and pricing.value is not None:
        return pricing.value / period_months(pricing.duration or period)
    if service.price is not None:
        return service.price
    return PRODUCTS[service.route].monthly_price


# How a derived price reads, by currency; a seed states the exact text OVH shows.
_PRICE_TEXTS = {"EUR": "{:.2f} €", "USD": "${:.2f}", "GBP": "£{:.2f}", "CAD": "{:.2f} $ CAD"}


def _pricing(row: sqlite3.Row, period: str, months: int) -> dict[str, Any] | None:
    """``billing.pricing`` (``services.billing.Pricing``): the seeded pricing as stated
    while the renewal it describes holds; after a period change or a fallback to the
    default price the value follows the monthly price (and the text is derived), the
    currency and the rest stay. Null when the seed says OVH gives no price."""
    stored: str | dict[str, Any] = json.loads(row["pricing"]) if row["pricing"] else {}
    if isinstance(stored, str):  # PRICING_ABSENT, the only text the seed stores
        return None
    seeded = stored
    value = round(row["price"] * months, 2)
    currency = seeded.get("currency", "EUR")
    text = _PRICE_TEXTS.get(currency, "{:.2f} " + currency).format(value)
    # One renewal per `duration` (which already says how long it is), as the order
    # catalogue counts a yearly renewal: interval 1 of a year, not 12.
    interval = 1
    stated = seeded.get("price", value)
    if seeded.get("duration", period) == period and abs(stated - value) < 0.005:
        value = stated  # the renewal the seed describes still holds: answer it as stated
        text = seeded.get("text", text)
        interval = seeded.get("interval", interval)
    engagement = seeded.get("engagement")
    if engagement is not None and row["engagement_end"] is None and row["end_strategy"]:
        engagement = None  # the commitment stopped: the pricing no longer brings one
    # OVH names an engaged pricing by how and how long it commits ("upfront12"); the
    # sandbox's guess when the seed names none.
    default_mode = (
        f"{engagement['type']}{period_months(engagement['duration'])}" if engagement else "default"
    )
    mode = seeded.get("mode", default_mode)
    return {
        "capacities": ["renew"],
        "description": f"{period} renewal",
        "duration": period,
        "interval": interval,
        "minimumQuantity": 1,
        "maximumQuantity": None,
        "minimumRepeat": 1,
        "maximumRepeat": None,
        "price": {
            "currencyCode": currency,
            "text": text,
            "value": value,
            # order.Price.priceInUcents: the value in 10^-8 units of the currency
            "priceInUcents": round(value * 100_000_000),
        },
        "priceInUcents": round(value * 100_000_000),
        "pricingMode": mode,
        "pricingType": "rental",
        "engagementConfiguration": (
            {
                "duration": engagement["duration"],
                "type": engagement["type"],
                "defaultEndAction": engagement["default_end_action"],
            }
            if engagement
            else None
        ),
    }


def _expanded(row: sqlite3.Row, now: int, nic: str) -> dict[str, Any]:
    """``GET /services/{id}``: the expanded service, field for field as OVH shapes it."""
    product = _product(row)
    pending = row["termination"] != "none"
    active = row["lifecycle"] == "active"
    automatic = row["renew_mode"] == "automatic"
    renews = active and automatic and not pending and not row["unpaid"]
    period = row["renew_period"]
    months = period_months(period)
    state = row["lifecycle"]
    if state == "active" and row["unpaid"]:
        state = "unpaid"
    pending_actions = []
    if row["termination"] == "at_expiry":
        pending_actions = [TERMINATE_AT_EXPIRY]
    elif row["termination"] == "at_engagement":
        pending_actions = [TERMINATE_AT_ENGAGEMENT]
    organization = row["organization"]
    return {
        "serviceId": row["id"],
        "parentServiceId": row["parent_id"],
        "tags": [],
        "route": {
            "path": product.path,
            "url": product.route_url(row["name"], organization),
            "vars": product.route_vars(row["name"], organization),
        },
        "resource": {
            "name": row["name"],
            "displayName": row["display_name"],
            "state": row["resource_state"],
            "resellingProvider": None,
            "product": {"name": row["plan_code"], "description": row["description"]},
        },
        "billing": {
            "expirationDate": render_datetime(row["expiration"]),
            "nextBillingDate": render_datetime(row["expiration"]) if renews else None,
            "plan": {"code": row["plan_code"], "invoiceName": product.invoice_name},
            "pricing": _pricing(row, period, months),
            "group": None,
            "lifecycle": {
                "current": {
                    "state": state,
                    "creationDate": render_datetime(row["created"]),
                    "terminationDate": render_datetime(_termination_date(row)),
                    "pendingActions": pending_actions,
                },
                "capacities": {"actions": _actions(row, now)},
            },
            "renew": {
                "current": {
                    "mode": row["renew_mode"],
                    "nextDate": render_datetime(row["expiration"]) if renews else None,
                    "period": period,
                },
                "capacities": {"mode": list(_renew_modes(row))},
            },
            "engagement": _engagement_summary(row),
            "engagementRequest": None,
        },
        "customer": {
            "contacts": [
                {"customerCode": _contact(row, "admin", nic), "type": "administrator"},
                {"customerCode": _contact(row, "billing", nic), "type": "billing"},
                {"customerCode": _contact(row, "tech", nic), "type": "technical"},
            ]
        },
    }


def _contact(row: sqlite3.Row | Mapping[str, Any], kind: str, account: str) -> str:
    """A service's ``admin``, ``tech`` or ``billing`` contact: seeded, else the account."""
    return str(row[f"contact_{kind}"] or account)


def _end_rule(row: sqlite3.Row | Mapping[str, Any]) -> dict[str, Any]:
    """``services.billing.engagement.EndRule`` of an engaged service."""
    return {
        "strategy": row["end_strategy"] or DEFAULT_END_STRATEGY,
        "possibleStrategies": list(
            json.loads(row["end_strategies"])
            if row["end_strategies"]
            else DEFAULT_POSSIBLE_STRATEGIES
        ),
    }


def _engagement_summary(row: sqlite3.Row | Mapping[str, Any]) -> dict[str, Any] | None:
    """``billing.engagement`` (``services.expanded.EngagementSummary``), or null when the
    service has no commitment (never had one, or it stopped)."""
    if row["engagement_end"] is None:
        return None
    return {"endDate": render_datetime(row["engagement_end"]), "endRule": _end_rule(row)}


def _termination_date(row: sqlite3.Row | Mapping[str, Any]) -> int | None:
    """``lifecycle.current.terminationDate``: the date of a termination asked for, else
    the end of a commitment whose end rule cancels the service (the panel reads the
    date here, not the expiry)."""
    if row["lifecycle"] == "terminated" and row["terminated_at"] is not None:
        return int(row["terminated_at"])  # listed during its retention period
    if row["termination"] != "none":
        return int(row["terminate_at"])
    if row["engagement_end"] is not None and row["end_strategy"] == CANCEL_SERVICE:
        return int(row["engagement_end"])
    return None


def _dotted(item: Mapping[str, Any], key: str) -> Any:
    value: Any = item
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool | int | float):
        return (1, value)
    return (2, str(value))


def _filter_matches(item: Mapping[str, Any], key: str, op: str, wanted: str) -> bool:
    """An Iceberg filter ``key:op=value`` on an expanded object (ops: eq ne lt gt le ge
    like nlike in; ``like`` takes SQL wildcards ``%`` and ``_``)."""
    value = _dotted(item, key)
    text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    if op == "eq":
        return text == wanted
    if op in ("ne", "nq"):
        return text != wanted
    if op == "in":
        return text in wanted.split(",")
    if op in ("like", "nlike"):
        pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in wanted)
        found = re.fullmatch(pattern, text, flags=re.IGNORECASE) is not None
        return found if op == "like" else not found
    if value is None:
        return False
    left: Any = value
    right: Any = wanted
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            right = float(wanted)
        except ValueError:
            return False
    else:
        left = text
    comparisons: dict[str, bool] = {
        "lt": left < right,
        "gt": left > right,
        "le": left <= right,
        "ge": left >= right,
    }
    return comparisons[op]


FILTER_OPS = ("eq", "ne", "nq", "lt", "gt", "le", "ge", "like", "nlike", "in")


def open_state(
    path: Path | str,
    *,
    seed: Seed | None = None,
    reseed: bool = False,
    wall: WallClock | None = None,
    real_time: Callable[[], float] = time.time,
) -> Backend:
    """A backend on the state file ``path`` (created with its directory if needed).

    A new state is seeded with ``seed`` (the demo account when None). An existing one is
    reused as it is — its clock, terminations and e-mails included — unless ``reseed``;
    given a ``seed`` that differs from the one it was made from, it is refused rather
    than silently mixed (``StateError``)."""
    try:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise errors.StateError(f"{path}: cannot create its directory ({exc.strerror})") from None
    backend = Backend(path, wall=wall, real_time=real_time)
    try:
        if reseed:
            backend.load_seed(seed or _demo())
        elif not backend.ensure_seeded(seed or _demo()) and seed is not None:
            if backend.seed_digest != seed.digest:
                raise errors.StateError(
                    f"{path} holds a sandbox seeded from {backend.seed_source}, not from "
                    f"{seed.source}; reset it to start again from {seed.source}"
                )
    except sqlite3.Error as exc:  # a full disk while seeding, a file gone bad meanwhile
        backend.close()
        raise errors.StateError(f"{path}: cannot use the sandbox state ({exc})") from None
    except BaseException:
        backend.close()
        raise
    return backend


def _demo() -> Seed:
    from reconciler.sandbox.demo import demo_seed

    return demo_seed()
