"""The sandbox's SQLite store: the schema, its upgrades, transactions and rows; no rules.

Everything the account holds lives in one SQLite file so that it survives restarts and
is shared by every process on the same state (the served sandbox, the admin command
line). This module only reads and writes it: what the rows mean, and what may change
them, is the models' (``services``, ``credentials``, ``mail``, ``clock``), and the
order of operations is ``backend.Backend``'s.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from reconciler.sandbox import errors
from reconciler.sandbox.services import COLUMNS, Service

SCHEMA_VERSION = "1"
_SERVICE = ", ".join(COLUMNS)  # a service's columns, in ``Service.from_row``'s order

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS applications (
    app_key TEXT PRIMARY KEY, app_secret TEXT NOT NULL, app_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS credentials (
    credential_id INTEGER PRIMARY KEY,
    consumer_key TEXT NOT NULL UNIQUE,
    app_key TEXT NOT NULL,
    rules TEXT NOT NULL,
    state TEXT NOT NULL,
    created INTEGER NOT NULL,
    expires INTEGER,
    last_use INTEGER,
    validation_token TEXT UNIQUE,
    redirection TEXT,
    allowed_ips TEXT,
    nichandle TEXT,
    email TEXT,
    iam_actions TEXT);
CREATE TABLE IF NOT EXISTS services (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    route TEXT NOT NULL,
    organization TEXT,
    display_name TEXT NOT NULL,
    parent_id INTEGER,
    plan_code TEXT NOT NULL,
    description TEXT NOT NULL,
    price REAL NOT NULL,
    created INTEGER NOT NULL,
    expiration INTEGER NOT NULL,
    anniversary_day INTEGER NOT NULL,
    renew_mode TEXT NOT NULL,
    renew_period TEXT NOT NULL,
    periods TEXT NOT NULL,
    termination TEXT NOT NULL,
    terminate_at INTEGER,
    engagement_end INTEGER,
    end_strategy TEXT,
    end_strategies TEXT,
    engagement_months INTEGER,
    default_price REAL,
    refuses_empty INTEGER,
    renew_modes TEXT,
    contact_admin TEXT,
    contact_tech TEXT,
    contact_billing TEXT,
    retention INTEGER,
    purge_at INTEGER,
    pricing TEXT,
    lifecycle TEXT NOT NULL,
    resource_state TEXT NOT NULL,
    unpaid INTEGER NOT NULL,
    terminated_at INTEGER,
    gone INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS services_expiring ON services (gone, lifecycle, expiration);
CREATE INDEX IF NOT EXISTS services_terminating ON services (terminate_at)
    WHERE terminate_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS services_engaged ON services (engagement_end)
    WHERE engagement_end IS NOT NULL;
CREATE INDEX IF NOT EXISTS services_purging ON services (purge_at)
    WHERE purge_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS services_by_name ON services (name, route);
CREATE INDEX IF NOT EXISTS services_by_parent ON services (parent_id);
-- Iceberg pages in id order: skipping to page N walks this index alone (route and name,
-- the listing's own filters, are in it), never the rows, nor a sort of them all.
CREATE INDEX IF NOT EXISTS services_listed ON services (gone, id, route, name);
-- Bumped by every change of what a listing holds or its order (whoever writes: the
-- served sandbox, the admin CLI on the same file), so a page's remembered boundaries and
-- totals are used only while they are true. Services are inserted and deleted only by
-- loading a seed, which bumps it once (a trigger per row would slow seeding by a fifth);
-- updates go through the trigger.
CREATE TABLE IF NOT EXISTS listing (generation INTEGER NOT NULL);
INSERT INTO listing (generation) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM listing);
DROP TRIGGER IF EXISTS services_listing_inserted;
DROP TRIGGER IF EXISTS services_listing_deleted;
CREATE TRIGGER IF NOT EXISTS services_listing_updated AFTER UPDATE OF id, gone, route, name
    ON services BEGIN UPDATE listing SET generation = generation + 1; END;
CREATE TABLE IF NOT EXISTS emails (
    id INTEGER PRIMARY KEY, date INTEGER NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,
    service_id INTEGER, recipient TEXT);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY, service_id INTEGER NOT NULL, created INTEGER NOT NULL,
    expires INTEGER NOT NULL, used_at INTEGER);
"""

# Columns added after the first release (see ``_add_new_columns``): table, column, type.
# Empty in an older state: NULL contacts, recipient and key account are the seed's account.
_ADDED_COLUMNS = (
    ("services", "end_strategy", "TEXT"),
    ("services", "end_strategies", "TEXT"),
    ("services", "engagement_months", "INTEGER"),
    ("services", "default_price", "REAL"),
    ("services", "refuses_empty", "INTEGER"),
    ("services", "renew_modes", "TEXT"),
    ("services", "contact_admin", "TEXT"),
    ("services", "contact_tech", "TEXT"),
    ("services", "contact_billing", "TEXT"),
    ("services", "retention", "INTEGER"),
    ("services", "purge_at", "INTEGER"),
    ("services", "pricing", "TEXT"),
    ("credentials", "nichandle", "TEXT"),
    ("credentials", "email", "TEXT"),
    ("credentials", "iam_actions", "TEXT"),
    ("emails", "recipient", "TEXT"),
)


class Store:
    """One state file opened: the connection and the few queries the backend needs.

    Not thread-safe on its own: the backend holds a lock around each transaction."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self.db = sqlite3.connect(
                path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self.db.row_factory = sqlite3.Row
            # Closed when the store is collected even if nobody calls close() (the
            # embedded app lives as long as the client that mounted it).
            weakref.finalize(self, self.db.close)
            if path != ":memory:":
                self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master")}
        except sqlite3.OperationalError as exc:  # I/O error, full disk, locked, no access
            raise errors.StateError(f"{path}: cannot use the sandbox state ({exc})") from None
        except sqlite3.DatabaseError as exc:
            raise errors.StateError(f"{path}: not a sandbox state database ({exc})") from None
        if tables and "meta" not in tables:
            raise errors.StateError(f"{path}: not a sandbox state database")
        self._add_new_columns()
        self.db.executescript(_SCHEMA)
        version = self.meta("schema_version")
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            raise errors.StateError(
                f"{path}: sandbox state of schema {version}, this sandbox reads "
                f"{SCHEMA_VERSION}; start from a new state file"
            )

    def _add_new_columns(self) -> None:
        """A state file made by an earlier sandbox lacks the columns added since: add
        them (empty), so a user's rehearsal state survives an upgrade."""
        for table, column, kind in _ADDED_COLUMNS:
            present = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            if present and column not in present:  # none: a new file, created whole below
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction, taken at once (``IMMEDIATE``): two processes on the
        same file never interleave one operation's reads and writes."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    # --- meta: the seed, the clock, settings -----------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def next_id(self, table: str, column: str, first: int) -> int:
        row = self.db.execute(f"SELECT MAX({column}) FROM {table}").fetchone()
        return first if row[0] is None else int(row[0]) + 1

    def wipe(self) -> None:
        """Everything of the account but its meta (a seed is being loaded)."""
        for table in ("services", "credentials", "applications", "emails", "tokens"):
            self.db.execute(f"DELETE FROM {table}")
        self.db.execute("UPDATE listing SET generation = generation + 1")  # all new

    # --- applications and credentials ------------------------------------------------

    def application_secret(self, app_key: str) -> str | None:
        row = self.db.execute(
            "SELECT app_secret FROM applications WHERE app_key = ?", (app_key,)
        ).fetchone()
        return None if row is None else str(row["app_secret"])

    def insert_application(self, app_key: str, app_secret: str, app_id: int) -> None:
        self.db.execute(
            "INSERT INTO applications (app_key, app_secret, app_id) VALUES (?, ?, ?)",
            (app_key, app_secret, app_id),
        )

    def credential(
        self, *, consumer_key: str | None = None, token: str | None = None
    ) -> sqlite3.Row | None:
        """A credential by consumer key or by validation token, with its application's id."""
        column, value = (
            ("validation_token", token)
            if token is not None
            else (
                "consumer_key",
                consumer_key,
            )
        )
        row: sqlite3.Row | None = self.db.execute(
            "SELECT c.*, a.app_id FROM credentials c LEFT JOIN applications a"
            f" ON a.app_key = c.app_key WHERE c.{column} = ?",
            (value,),
        ).fetchone()
        return row

    def insert_credential(self, values: Mapping[str, Any]) -> None:
        self._insert("credentials", [values])

    def update_credential(self, credential_id: int, changes: Mapping[str, Any]) -> None:
        self._set("credentials", "credential_id", credential_id, changes)

    # --- services ----------------------------------------------------------------------

    def service(self, service_id: int, *, listed_only: bool = True) -> Service | None:
        """One service; a purged one (``gone``) only when not ``listed_only``."""
        where = "id = ? AND gone = 0" if listed_only else "id = ?"
        row = self.db.execute(
            f"SELECT {_SERVICE} FROM services WHERE {where}", (service_id,)
        ).fetchone()
        return None if row is None else Service.from_row(row)

    def services(self, where: str = "1", args: Sequence[Any] = ()) -> list[Service]:
        """Services in id order, by a condition of ``listed``."""
        rows = self.db.execute(f"SELECT {_SERVICE} FROM services WHERE {where} ORDER BY id", args)
        return [Service.from_row(row) for row in rows]

    def service_ids(self, where: str, args: Sequence[Any] = ()) -> list[int]:
        rows = self.db.execute(f"SELECT id FROM services WHERE {where} ORDER BY id", args)
        return [int(row[0]) for row in rows]

    def children(self, parent_id: int) -> list[Service]:
        """The listed services linked to ``parent_id`` (its options)."""
        return self.services("parent_id = ? AND gone = 0", (parent_id,))

    def by_name(self, route: str, name: str) -> Service | None:
        """The listed service of a product by its resource name (legacy routes)."""
        row = self.db.execute(
            f"SELECT {_SERVICE} FROM services WHERE route = ? AND name = ? AND gone = 0",
            (route, name),
        ).fetchone()
        return None if row is None else Service.from_row(row)

    def names(self, route: str) -> list[str]:
        """The resource names of a product's listed services, in name order."""
        rows = self.db.execute(
            "SELECT name FROM services WHERE route = ? AND gone = 0 ORDER BY name", (route,)
        )
        return [str(row[0]) for row in rows]

    def count_services(self, where: str, args: Sequence[Any] = ()) -> int:
        row = self.db.execute(f"SELECT COUNT(*) FROM services WHERE {where}", args).fetchone()
        return int(row[0])

    def page(
        self, where: str, args: Sequence[Any], *, after: int | None, start: int, size: int
    ) -> list[Service]:
        """``size`` services in id order from the ``start``-th on, in time that does not
        grow with ``start``: after the id ``after`` when it is known (keyset: the last
        id of the page before), else from the first id found on the covering index
        (``services_listed``) alone. Either way the skipped rows are never read, nor all
        the rows sorted."""
        select = f"SELECT {_SERVICE} FROM services INDEXED BY services_listed WHERE {where}"
        if after is not None:
            rows = self.db.execute(
                f"{select} AND id > ? ORDER BY id LIMIT ?", (*args, after, size)
            ).fetchall()
        else:
            first = self.db.execute(
                f"SELECT id FROM services INDEXED BY services_listed WHERE {where}"
                " ORDER BY id LIMIT 1 OFFSET ?",
                (*args, start),
            ).fetchone()
            if first is None:
                return []
            rows = self.db.execute(
                f"{select} AND id >= ? ORDER BY id LIMIT ?", (*args, first[0], size)
            ).fetchall()
        return [Service.from_row(row) for row in rows]

    def insert_services(self, services: Sequence[Service]) -> None:
        self._insert("services", [service.to_row() for service in services])

    def save_service(self, before: Service, after: Service) -> None:
        """Write what changed from ``before`` to ``after`` (nothing when nothing did)."""
        self._set("services", "id", before.id, after.changes_from(before))

    def listing_generation(self) -> int:
        """Bumped by every change of what a listing holds or of its order (see the
        schema's trigger), whoever wrote it."""
        return int(self.db.execute("SELECT generation FROM listing").fetchone()[0])

    def due_services(self, now: int, limit: int = 500) -> list[int]:
        """Active services with an event due by ``now`` (expiry, a termination asked
        for, a commitment's end), earliest first."""
        # Indexed searches rather than one OR (which scans every service).
        rows = self.db.execute(
            "SELECT id, expiration AS due_at FROM services"
            " WHERE gone = 0 AND lifecycle = 'active' AND expiration <= ?"
            " UNION SELECT id, terminate_at AS due_at FROM services"
            " WHERE terminate_at <= ? AND +gone = 0 AND +lifecycle = 'active'"
            " UNION SELECT id, engagement_end AS due_at FROM services"
            " WHERE engagement_end <= ? AND +gone = 0 AND +lifecycle = 'active'"
            " ORDER BY due_at, id LIMIT ?",
            (now, now, now, limit),
        )
        return [int(row["id"]) for row in rows]

    def purge(self, now: int) -> None:
        """Services past their retention period leave every route."""
        self.db.execute(
            "UPDATE services SET gone = 1, resource_state = 'deleted'"
            " WHERE purge_at <= ? AND +gone = 0",  # by purge_at's index, not every row
            (now,),
        )

    # --- e-mails and termination tokens ------------------------------------------------

    def insert_email(self, values: Mapping[str, Any]) -> None:
        self._insert("emails", [values])

    def emails(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM emails ORDER BY id").fetchall()

    def email(self, email_id: int) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(
            "SELECT * FROM emails WHERE id = ?", (email_id,)
        ).fetchone()
        return row

    def insert_token(self, token: str, service_id: int, created: int, expires: int) -> None:
        self.db.execute(
            "INSERT INTO tokens (token, service_id, created, expires) VALUES (?, ?, ?, ?)",
            (token, service_id, created, expires),
        )

    def token(self, token: str, service_id: int) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(
            "SELECT * FROM tokens WHERE token = ? AND service_id = ?", (token, service_id)
        ).fetchone()
        return row

    def use_token(self, token: str, when: int) -> None:
        self.db.execute("UPDATE tokens SET used_at = ? WHERE token = ?", (when, token))

    # --- writing -----------------------------------------------------------------------

    def _insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        columns = list(rows[0])
        self.db.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [tuple(row[c] for c in columns) for row in rows],
        )

    def _set(self, table: str, key: str, value: int, changes: Mapping[str, Any]) -> None:
        if not changes:
            return
        columns = ", ".join(f"{column} = ?" for column in changes)
        self.db.execute(f"UPDATE {table} SET {columns} WHERE {key} = ?", (*changes.values(), value))
