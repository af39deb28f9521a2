"""Fingerprints: what a saved plan relied on, so that apply can refuse it when anything
changed since (docs/architecture.md, "The live account"; docs/performance.md, "CPU per
service: the fingerprints"). Pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from reconciler.core.lifecycle import LiveLifecycle
from reconciler.core.live import LiveAccount, LiveService
from reconciler.times import utc

FINGERPRINT_VERSION = 2


def fingerprint(service: LiveService, account: LiveAccount) -> str:
    """``"sha256:<hex>"`` of the live fields an action on ``service`` depends on: its
    own, and the facts of ``account`` about it (its children).

    ``service`` may be a later read of a service of ``account`` (apply re-reads each
    service before acting on it): its own fields are then the later ones, the account's
    facts those of the read the run started from — as if that one service were replaced
    in the account, without copying an account of 50,000 services per re-read.

    The canonical JSON (sorted keys, compact separators, UTF-8) of:
    ``v`` (this function's version, bumped if the field list changes), ``id``, ``name``,
    ``type``, ``lifecycle``, ``resource_state``, ``lifecycle_state``, ``expiration``,
    ``renew_mode``, ``renew_period``, ``termination_date``, ``pending`` (the pending
    actions, sorted), ``commitment`` (end date and end rule, or null), ``unpaid``,
    ``parent_id`` and ``children`` (``account.child_ids``: sorted ids); dates in UTC
    ISO 8601.

    Left out on purpose: display fields (display name, product, plan code), which an
    action does not depend on, and the offered periods, which the observe layer reads
    only for some services — including them would make a plan look stale merely because
    apply read a little more or less than plan did.
    """
    # The canonical JSON is written out directly, keys in their sorted order, rather
    # than built as a dict for ``json`` to sort and walk: the same bytes (a test holds
    # them to json.dumps of that dict) at a fraction of the cost, which counted at
    # 50,000 services (issue 19). Every value is a str, an int, a bool or None, whose
    # JSON is ``_json_string``, ``int.__repr__``, true/false and null; the fields that
    # are never None skip the None test, and a lifecycle's JSON is looked up.
    pending = service.pending_actions
    return _hashed(
        f'{{"children":[{",".join(map(int.__repr__, account.child_ids(service.service_id)))}],'
        f'"commitment":{_commitment_text(service)},'
        f'"expiration":{_iso_text(service.expiration)},'
        f'"id":{int.__repr__(service.service_id)},'
        f'"lifecycle":{_LIFECYCLE_TEXT[service.lifecycle]},'
        f'"lifecycle_state":{_json_string(service.lifecycle_state)},'
        f'"name":{_json_string(service.name)},'
        f'"parent_id":{_int_text(service.parent_id)},'
        f'"pending":[{",".join(map(_json_string, sorted(pending))) if pending else ""}],'
        f'"renew_mode":{_text(service.renew_mode)},'
        f'"renew_period":{_text(service.renew_period)},'
        f'"resource_state":{_json_string(service.resource_state)},'
        f'"termination_date":{_iso_text(service.termination_date)},'
        f'"type":{_json_string(service.type)},'
        f'"unpaid":{"true" if service.unpaid else "false"},'
        f'"v":{FINGERPRINT_VERSION}}}'
    )


def _commitment_text(service: LiveService) -> str:
    """The JSON of ``{"end": ..., "strategy": ...}``, or null without a commitment."""
    commitment = service.commitment
    if commitment is None:
        return "null"
    end = commitment.end_date.isoformat() if commitment.end_date else None
    strategy = commitment.strategy.value if commitment.strategy else None
    return f'{{"end":{_text(end)},"strategy":{_text(strategy)}}}'


# A str as JSON with non-ASCII kept, as ``json.dumps(..., ensure_ascii=False)`` writes it.
_json_string = json.encoder.encode_basestring
_LIFECYCLE_TEXT = {lifecycle: _json_string(lifecycle.value) for lifecycle in LiveLifecycle}


def _text(value: str | None) -> str:
    return "null" if value is None else _json_string(value)


def _int_text(value: int | None) -> str:
    return "null" if value is None else int.__repr__(value)


def _iso_text(when: datetime | None) -> str:
    # An ISO 8601 text is digits and ``-:+.T``: nothing in it for JSON to escape. A
    # parsed service's dates are in UTC already (``parse_service``).
    if when is None:
        return "null"
    return f'"{(when if when.tzinfo is UTC else utc(when)).isoformat()}"'


def absent_fingerprint(name: str, service_type: str | None = None) -> str:
    """The fingerprint of "no live service named ``name`` (of ``service_type``)": a plan
    that relied on a service being absent is stale once one appears."""
    return _sha256({"v": FINGERPRINT_VERSION, "absent": name, "type": service_type})


def live_fingerprint(account: LiveAccount) -> str:
    """The fingerprint of a whole account: every service's ``fingerprint``, sorted."""
    return fingerprint_of_prints(fingerprint(service, account) for service in account.services)


def fingerprint_of_prints(prints: Iterable[str]) -> str:
    """The fingerprint of several services' fingerprints (a plan's ``live_fingerprint``):
    the sha256 of them sorted, each followed by a newline, hashed as one text rather
    than with two ``update`` calls a print (20,000 calls at 10,000 services)."""
    lines = sorted(prints)
    text = "\n".join(lines) + "\n" if lines else ""
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


# One encoder for every fingerprint (json.dumps with options builds one per call).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sha256(document: Mapping[str, Any]) -> str:
    return _hashed(_CANONICAL.encode(document))


def _hashed(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


class Prints:
    """Each service's fingerprint in ``account``, computed once per plan (actions and the
    whole-account fingerprint share them).

    Keyed by service id, not by the service: a frozen ``LiveService`` hashes all its
    fields (and its commitment's and price's) at every lookup, which cost more than the
    fingerprint itself at 50,000 services (issue 19). The service is kept beside its
    print and compared by identity, so another value with the same id is never given
    a print that is not its own."""

    def __init__(self, account: LiveAccount) -> None:
        self._account = account
        self._known: dict[int, tuple[LiveService, str]] = {}

    def of(self, service: LiveService) -> str:
        known = self._known.get(service.service_id)
        if known is not None and known[0] is service:
            return known[1]
        found = fingerprint(service, self._account)
        self._known[service.service_id] = (service, found)
        return found
