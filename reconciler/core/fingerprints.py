"""Fingerprints: what a saved plan relied on, so that apply can refuse it when anything
changed since (docs/architecture.md, "The live account"; docs/performance.md, "CPU per
service: the fingerprints"). Pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from reconciler.core.live import LiveAccount, LiveService
from reconciler.core.rules import utc

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
    # JSON is ``_text``, ``int.__repr__``, true/false and null.
    return _hashed(
        f'{{"children":[{",".join(map(int.__repr__, account.child_ids(service.service_id)))}],'
        f'"commitment":{_commitment_text(service)},'
        f'"expiration":{_text(_iso(service.expiration))},'
        f'"id":{int.__repr__(service.service_id)},'
        f'"lifecycle":{_text(service.lifecycle.value)},'
        f'"lifecycle_state":{_text(service.lifecycle_state)},'
        f'"name":{_text(service.name)},'
        f'"parent_id":{_int_text(service.parent_id)},'
        f'"pending":[{",".join(map(_text, sorted(service.pending_actions)))}],'
        f'"renew_mode":{_text(service.renew_mode)},'
        f'"renew_period":{_text(service.renew_period)},'
        f'"resource_state":{_text(service.resource_state)},'
        f'"termination_date":{_text(_iso(service.termination_date))},'
        f'"type":{_text(service.type)},'
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


def _text(value: str | None) -> str:
    return "null" if value is None else _json_string(value)


def _int_text(value: int | None) -> str:
    return "null" if value is None else int.__repr__(value)


def absent_fingerprint(name: str, service_type: str | None = None) -> str:
    """The fingerprint of "no live service named ``name`` (of ``service_type``)": a plan
    that relied on a service being absent is stale once one appears."""
    return _sha256({"v": FINGERPRINT_VERSION, "absent": name, "type": service_type})


def live_fingerprint(account: LiveAccount) -> str:
    """The fingerprint of a whole account: every service's ``fingerprint``, sorted."""
    return fingerprint_of_prints(fingerprint(service, account) for service in account.services)


def fingerprint_of_prints(prints: Iterable[str]) -> str:
    """The fingerprint of several services' fingerprints (a plan's ``live_fingerprint``)."""
    digest = hashlib.sha256()
    for print_ in sorted(prints):
        digest.update(print_.encode("ascii"))
        digest.update(b"\n")
    return "sha256:" + digest.hexdigest()


# One encoder for every fingerprint (json.dumps with options builds one per call).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sha256(document: Mapping[str, Any]) -> str:
    return _hashed(_CANONICAL.encode(document))


def _hashed(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _iso(when: datetime | None) -> str | None:
    return utc(when).isoformat() if when is not None else None


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
