"""The sandbox's OVH account: the order of operations, behaviour of the real API, no HTTP.

``Backend`` is one account (services, credentials, e-mails, termination tokens) and its
clock. Each operation the routes need is one transaction of the ``store`` (SQLite
access only): it reads the models (``services.Service``, ``credentials``, ``mail``,
``clock.ClockAnchor``), asks them what a request or the passing of time changes (they
hold OVH's rules and refuse with OVH's ``errors.ApiError``), writes what comes back, and
answers plain JSON-able values built by ``responses`` (OVH's wire shapes) and
``iceberg`` (pages). The app (``app.py``) only parses requests and serialises answers.

Time
    The sandbox clock is stored as an anchor: either *stopped* at an instant, or
    *ticking* from an instant along the injected wall clock. A fresh sandbox ticks from
    the wall clock's now. Setting the clock stops it there unless asked to tick (tests
    need a clock that stands still; a stopped clock also makes a rehearsal
    reproducible). Every operation first *settles* the account up to now (what is due,
    in date order: ``services.py`` says what each event does), so moving the clock by two
    years renews a monthly service 24 times at once. Terminating a service terminates
    its linked (child) services with it; a termination token is single-use and valid
    for ``TOKEN_TTL``.

The whole class is guarded by one lock and every operation is one SQLite transaction,
so a backend can be shared by threads and its file by processes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.sandbox import (
    admin_views,
    credentials,
    errors,
    iceberg,
    mail,
    responses,
    seeding,
    services,
)
from reconciler.sandbox.auth import CredentialView, SignedRequest, authenticate
from reconciler.sandbox.catalog import TERMINATE
from reconciler.sandbox.clock import (
    ClockAnchor,
    ClockState,
    SystemWallClock,
    WallClock,
    aware,
    from_epoch,
)
from reconciler.sandbox.credentials import IssuedDeltas
from reconciler.sandbox.iceberg import (
    DEFAULT_PAGE_SIZE,
    FILTER_OPS,
    MAX_CACHED_PAGES,
    MAX_PAGE_SIZE,
    Page,
)
from reconciler.sandbox.seed import Seed
from reconciler.sandbox.services import CANCEL_WINDOW, TOKEN_TTL, Event, Service
from reconciler.sandbox.store import Store

# Names the routes and tests take from here.
__all__ = [
    "CANCEL_WINDOW",
    "DEFAULT_PAGE_SIZE",
    "FILTER_OPS",
    "TOKEN_TTL",
    "Backend",
    "Page",
    "open_state",
]


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
        self._listings = iceberg.Listings()
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
        self._nic_cache = seed.account.nichandle
        self._cached_pages.clear()
        seeding.write(self._store, seed, int(self.now_seconds()))
        self._settle()

    def reset(self, *, now: datetime | None = None) -> None:
        """Back to the seed last loaded (relative dates against the clock now)."""
        seed = seeding.stored(self._store)
        if seed is None:
            raise errors.StateError(f"{self.path}: no seed was ever loaded; nothing to reset to")
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
            return self._store.service_ids(*_listed(resource_name, routes))

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
        where, args = _listed(resource_name, routes)
        nic = self._nic()
        if not filters and sort is None:
            # A reader going page after page (reconciler, the panel) starts each page
            # after the last id of the one before, remembered while nothing changed.
            generation = self._store.listing_generation()
            listing = self._listings.get(generation, (where, *args))
            if listing.total is None:
                listing.total = self._store.count_services(where, args)
            total = listing.total
            after = 0 if start == 0 else listing.last_before.get(start)
            found = self._store.page(where, args, after=after, start=start, size=size)
            if found:
                listing.last_before[start + len(found)] = found[-1].id
            items = [responses.expanded(service, now, nic) for service in found]
        else:
            every = [responses.expanded(s, now, nic) for s in self._store.services(where, args)]
            every = [s for s in every if all(iceberg.filter_matches(s, *f) for f in filters)]
            if sort is not None:
                every.sort(
                    key=lambda s: iceberg.sort_key(iceberg.dotted(s, sort)), reverse=descending
                )
            total = len(every)
            items = every[start : start + size]
        following = start + len(items)
        return Page(
            items=items, total=total, next_cursor=str(following) if following < total else None
        )

    def service(self, service_id: int) -> dict[str, Any]:
        with self._op() as now:
            return responses.expanded(self._visible(service_id), now, self._nic())

    def service_options(self, service_id: int) -> list[dict[str, Any]]:
        """``GET /services/{id}/options``: the expanded linked (child) services."""
        with self._op() as now:
            self._visible(service_id)
            nic = self._nic()
            return [responses.expanded(s, now, nic) for s in self._store.children(service_id)]

    def renew_period_capacities(self, service_id: int) -> list[str]:
        with self._op():
            return list(self._visible(service_id).periods)

    def update_service(self, service_id: int, body: Any) -> None:
        """``PUT /services/{id}``: ``displayName``, ``renew {mode, period}``,
        ``terminationPolicy``. Everything is validated before anything changes."""
        asked = services.check_update(body)
        with self._op() as now:
            before = self._visible(service_id)
            before.check_changeable()
            after = before
            if "displayName" in asked:
                after = after.with_display_name(asked["displayName"])
            if "terminationPolicy" in asked:
                after = after.with_termination_policy(asked["terminationPolicy"], now)
            if "renew" in asked:  # after the policy: a mode said in the same body wins
                after = after.with_renew(asked["renew"])
            self._store.save_service(before, after)

    def engagement(self, service_id: int) -> dict[str, Any]:
        """``GET /services/{id}/billing/engagement``: the commitment's current period and
        end rule; 404 without one."""
        with self._op():
            return responses.engagement(self._visible(service_id).engaged())

    def update_end_rule(self, service_id: int, body: Any) -> None:
        """``PUT /services/{id}/billing/engagement/endRule {"strategy"}``: what happens
        when the commitment ends; one of its ``possibleStrategies``."""
        strategy = services.check_end_rule(body)
        with self._op():
            before = self._visible(service_id).engaged()
            before.check_changeable()
            self._store.save_service(before, before.with_end_strategy(strategy))

    def request_termination(self, service_id: int) -> str:
        """``POST /services/{id}/terminate`` (and the legacy ``/terminate``): e-mails a
        confirmation link with a single-use token; nothing is deleted yet."""
        with self._op() as now:
            service = self._visible(service_id)
            service.check_changeable()
            if TERMINATE not in service.actions(now):
                raise errors.bad_request(
                    "This service cannot be terminated immediately; use terminationPolicy "
                    "terminateAtExpirationDate to terminate it at its expiration date"
                )
            token = credentials.random_key(40)
            expires = now + int(TOKEN_TTL.total_seconds())
            self._store.insert_token(token, service_id, now, expires)
            admin = service.contact("admin", self._nic())
            self._send(
                mail.termination_request(
                    email_id=self._next_email_id(),
                    now=now,
                    recipient=admin,
                    service_id=service_id,
                    name=service.name,
                    description=service.product.description,
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
        token = services.check_termination_confirmation(body)
        with self._op() as now:
            # A gone service answers 404 first, whatever the token: a confirmation retried
            # after its answer was lost reads "already gone", as for any gone service.
            service = self._visible(service_id)
            if service.lifecycle == "terminated":  # in its retention period: already done
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
            service.check_changeable()
            self._store.use_token(token, now)
            self._terminate(service, now, reason="its termination was confirmed")
            return f"The service {service.name} has been terminated"

    # --- legacy per-product routes ---------------------------------------------------

    def legacy_names(self, route: str) -> list[str]:
        """``GET /{route}``: the names of the product's services."""
        with self._op():
            return self._store.names(route)

    def legacy_service_id(self, route: str, name: str, organization: str | None = None) -> int:
        with self._op():
            return self._legacy(route, name, organization).id

    def service_infos(
        self, route: str, name: str, organization: str | None = None
    ) -> dict[str, Any]:
        """``GET /{route}/{name}/serviceInfos``."""
        with self._op() as now:
            service = self._legacy(route, name, organization)
            return responses.service_infos(service, now, self._nic())

    def update_service_infos(
        self, route: str, name: str, body: Any, organization: str | None = None
    ) -> None:
        """``PUT /{route}/{name}/serviceInfos``: only ``renew`` is writable (the other
        fields of the object are accepted and ignored, as OVH does)."""
        renew = services.check_legacy_update(body)
        if renew is None:
            return None
        with self._op() as now:
            before = self._legacy(route, name, organization)
            before.check_changeable()
            self._store.save_service(before, before.with_legacy_renew(renew, now))
        return None

    def _legacy(self, route: str, name: str, organization: str | None) -> Service:
        service = self._store.by_name(route, name)
        if service is None or (
            organization is not None and (service.organization or service.name) != organization
        ):
            raise errors.legacy_service_not_found()
        return service

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
        """Every e-mail, with the account it was sent to (``admin_views.emails``)."""
        with self._op():
            return admin_views.emails(self._emails(), self._nic())

    def _emails(self) -> list[mail.Email]:
        return [mail.Email.from_row(row) for row in self._store.emails()]

    def _next_email_id(self) -> int:
        return self._store.next_id("emails", "id", mail.FIRST_EMAIL_ID)

    def _send(self, email: mail.Email) -> None:
        self._store.insert_email(email.to_row())

    # --- admin views (built in ``admin_views``; run here as operations) ---------------

    def internal_services(self) -> list[dict[str, Any]]:
        """Every service including terminated ones, in the sandbox's own words."""
        with self._op():
            return admin_views.services(self._store)

    def summary(self) -> dict[str, Any]:
        with self._op():
            return admin_views.summary(self._store, self.clock())

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

    def _visible(self, service_id: int) -> Service:
        service = self._store.service(service_id)
        if service is None:
            raise errors.service_not_found(service_id)
        return service

    def _settle(self) -> None:
        """Apply everything that is due up to the clock's now, in date order: the
        earliest event of each service due (the others wait for the next round)."""
        now = int(self.now_seconds())
        while True:
            due = self._store.due_services(now)
            if not due:
                break
            for service_id in due:
                # Read again: taken along by its parent in this same settlement, or
                # listed twice and already settled.
                current = self._store.service(service_id, listed_only=False)
                assert current is not None  # due: listed a moment ago, in this transaction
                event = current.due(now)
                if event is Event.TERMINATE:
                    assert current.terminate_at is not None
                    reason = "it reached its termination date"
                    self._terminate(current, current.terminate_at, reason=reason)
                elif event is Event.ENGAGEMENT_END:
                    after = current.after_engagement()
                    if after is None:
                        end = current.engagement_end
                        assert end is not None
                        reason = "its commitment ended (end rule CANCEL_SERVICE)"
                        self._terminate(current, end, reason=reason)
                    else:
                        self._store.save_service(current, after)
                elif event is Event.RENEW:
                    self._store.save_service(current, current.renewed(now))
                elif event is Event.EXPIRE:
                    self._store.save_service(current, current.expired())
        # The retention period is over: the terminated service leaves every route.
        self._store.purge(now)

    def _terminate(self, service: Service, when: int, *, reason: str) -> None:
        """The service and its linked services are terminated (``Service.terminated``),
        and the administrator contact is told."""
        doomed = [service]
        index = 0
        while index < len(doomed):
            doomed.extend(self._store.children(doomed[index].id))
            index += 1
        for victim in doomed:
            self._store.save_service(victim, victim.terminated(when))
        self._send(
            mail.terminated(
                email_id=self._next_email_id(),
                when=when,
                recipient=service.contact("admin", self._nic()),
                service_id=service.id,
                name=service.name,
                reason=reason,
                linked=[v.name for v in doomed[1:]],
            )
        )


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


def _listed(resource_name: str | None, routes: Sequence[str]) -> tuple[str, list[Any]]:
    """The store's condition for the listed services, by name and route prefix."""
    where, args = "gone = 0", list[Any]()
    if resource_name is not None:
        where += " AND name = ?"
        args.append(resource_name)
    if routes:
        where += f" AND route IN ({','.join('?' * len(routes))})"
        args.extend(route.split("/{", 1)[0].rstrip("/") for route in routes)
    return where, args
