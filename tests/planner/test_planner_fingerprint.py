"""The fingerprint is written out by hand for speed; its bytes are those of the canonical
JSON its docstring defines (sorted keys, compact, UTF-8), so that plan files saved
before stay valid. Checked here against that definition over generated services —
names, states and pending actions of any text, any dates, ids, links, commitments. The
children are the account's fact (the services naming the service as their parent), so
a service is fingerprinted in an account."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from planner_helpers import live_service

from reconciler.core.fingerprints import FINGERPRINT_VERSION, Prints, fingerprint, live_fingerprint
from reconciler.core.lifecycle import LiveLifecycle
from reconciler.core.live import EndStrategy, LiveAccount, LiveService
from reconciler.times import utc


def reference(service: LiveService, account: LiveAccount) -> str:
    """The fingerprint as its docstring defines it: json.dumps of the document, the
    children being every service of ``account`` that names ``service`` as its parent."""

    def iso(when: datetime | None) -> str | None:
        return utc(when).isoformat() if when is not None else None

    commitment: dict[str, Any] | None = None
    if service.commitment is not None:
        end = service.commitment.end_date
        strategy = service.commitment.strategy
        commitment = {
            "end": end.isoformat() if end else None,
            "strategy": strategy.value if strategy else None,
        }
    document = {
        "v": FINGERPRINT_VERSION,
        "id": service.service_id,
        "name": service.name,
        "type": service.type,
        "lifecycle": service.lifecycle.value,
        "resource_state": service.resource_state,
        "lifecycle_state": service.lifecycle_state,
        "expiration": iso(service.expiration),
        "renew_mode": service.renew_mode,
        "renew_period": service.renew_period,
        "termination_date": iso(service.termination_date),
        "pending": sorted(service.pending_actions),
        "commitment": commitment,
        "unpaid": service.unpaid,
        "parent_id": service.parent_id,
        "children": sorted(
            s.service_id for s in account.services if s.parent_id == service.service_id
        ),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


# Any text: quotes, backslashes, control characters, non-ASCII (not lone surrogates,
# which no JSON answer decodes to and UTF-8 cannot encode).
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
maybe_text = st.none() | texts
instants = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(9998, 12, 30),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=9))]),
)
ids = st.integers(-(2**63), 2**63)
commitments = st.none() | st.fixed_dictionaries(
    {
        "end": st.none() | st.dates(min_value=date(1, 1, 1)).map(date.isoformat),
        "strategy": st.none() | st.sampled_from([s.value for s in EndStrategy]),
    }
)


@st.composite
def services(draw: st.DrawFn) -> LiveService:
    """Any service, built by the planner tests' own builder with every field drawn (a
    drawn None stands: the builder's defaults apply only to keys left out)."""
    return live_service(
        {
            "id": draw(ids),
            "name": draw(texts),
            "display_name": draw(texts),
            "type": draw(st.sampled_from(["domain", "hosting/web", "vps", "", "é/x"]) | texts),
            "lifecycle": draw(st.sampled_from([lifecycle.value for lifecycle in LiveLifecycle])),
            "resource_state": draw(texts),
            "state": draw(texts),
            "expires": draw(st.none() | instants),
            "mode": draw(maybe_text),
            "period": draw(maybe_text),
            "termination": draw(st.none() | instants),
            "pending": draw(st.lists(texts, max_size=4)),
            "commitment": draw(commitments),
            "parent": draw(st.none() | ids),
            "unpaid": draw(st.booleans()),
        }
    )


def linked(service_id: int, parent: int | None) -> LiveService:
    return live_service(
        {"id": service_id, "name": f"s{service_id}", "type": "domain", "parent": parent}
    )


@st.composite
def accounts(draw: st.DrawFn) -> tuple[LiveService, LiveAccount]:
    """A service in an account: with children (some of whose ids it may hold itself:
    then it is its own parent), others linked elsewhere, and offered periods, which no
    fingerprint covers."""
    service = draw(services())
    others = draw(st.lists(ids.filter(lambda i: i != service.service_id), max_size=5, unique=True))
    links = draw(st.lists(st.sampled_from([service.service_id, None, 7]), min_size=len(others)))
    account = LiveAccount.from_services(
        [service, *(linked(i, parent) for i, parent in zip(others, links, strict=False))]
    )
    offered = draw(st.none() | st.lists(texts, max_size=2).map(tuple))
    return service, account.with_offered_periods({service.service_id: offered})


@settings(max_examples=200, deadline=None, database=None)
@given(found=accounts())
def test_fingerprint_is_the_canonical_json_of_its_docstring(
    found: tuple[LiveService, LiveAccount],
) -> None:
    service, account = found
    assert fingerprint(service, account) == reference(service, account)
    # The offered periods are left out on purpose (docstring): apply may read more.
    assert fingerprint(service, replace(account, offered={})) == fingerprint(service, account)


def test_a_known_service_keeps_its_known_fingerprint() -> None:
    """A fixed value, so that a change of the canonical form cannot pass unnoticed
    (both functions above changed together would)."""
    service = live_service(
        {
            "id": 42,
            "name": 'shop "é".example',
            "display_name": "Shop",
            "expires": datetime(2027, 3, 1, 12, tzinfo=timezone(timedelta(hours=2))),
            "period": "P1Y",
            "pending": ["terminateAtExpirationDate", "earlyRenewal"],
            "commitment": {"end": "2027-06-30"},
            "parent": 7,
        }
    )
    account = LiveAccount.from_services([service, linked(9, 42), linked(3, 42), linked(5, 7)])
    text = (
        '{"children":[3,9],"commitment":{"end":"2027-06-30","strategy":null},'
        '"expiration":"2027-03-01T10:00:00+00:00","id":42,"lifecycle":"renew",'
        '"lifecycle_state":"active","name":"shop \\"é\\".example","parent_id":7,'
        '"pending":["earlyRenewal","terminateAtExpirationDate"],"renew_mode":"automatic",'
        '"renew_period":"P1Y","resource_state":"active","termination_date":null,'
        '"type":"hosting/web","unpaid":false,"v":2}'
    )
    assert fingerprint(service, account) == "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def test_prints_are_kept_per_service_value_not_only_per_id() -> None:
    """The plan's cache of prints is keyed by id; a different value with the same id
    (an account read again) gets its own print, the same value its cached one."""
    service = live_service({"id": 1, "name": "a.example", "type": "domain"})
    moved = replace(service, lifecycle=LiveLifecycle.TERMINATE_AT_EXPIRY)
    account = LiveAccount.from_services([service])
    prints = Prints(account)
    assert prints.of(service) == fingerprint(service, account)
    assert prints.of(moved) == fingerprint(moved, account) != fingerprint(service, account)
    assert prints.of(service) == fingerprint(service, account)
    assert live_fingerprint(account) != live_fingerprint(LiveAccount.from_services([moved]))


def test_a_service_read_again_is_fingerprinted_with_the_accounts_children() -> None:
    """Apply re-reads one service (whose answer names no children) and fingerprints it
    in the account the run read: the same print as the plan's when nothing moved, a
    different one when the service itself moved."""
    parent = linked(1, None)
    account = LiveAccount.from_services([parent, linked(2, 1), linked(3, 1)])
    planned = fingerprint(parent, account)
    reread = replace(parent)  # another value, as a fresh parse is
    assert reread is not parent and fingerprint(reread, account) == planned
    assert fingerprint(parent, LiveAccount.from_services([parent])) != planned  # no children
    moved = replace(parent, renew_mode="manual")
    assert fingerprint(moved, account) != planned
