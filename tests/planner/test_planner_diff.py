"""The essence and the diff (our own frozen Change values), and what moved in a service
between two reads (deepdiff underneath)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from planner_helpers import live_service

from reconciler.core import diff
from reconciler.core.diff import (
    GONE,
    Change,
    ChangeOp,
    Essence,
    changes,
    live_essence,
    normalise_period,
    service_moves,
    wanted_essence,
)
from reconciler.core.lifecycle import EssenceLifecycle, Lifecycle
from reconciler.core.live import Commitment
from reconciler.core.spec import ServiceSpec


def spec(lifecycle: str, period: str | None = None) -> ServiceSpec:
    return ServiceSpec(key="s", name="s", lifecycle=Lifecycle(lifecycle), period=period)


def test_equal_essences_have_no_changes() -> None:
    essence = Essence(EssenceLifecycle.RENEW, "P12M")
    assert changes(essence, Essence(EssenceLifecycle.RENEW, "P12M")) == ()


def test_changes_are_our_own_frozen_values_sorted_by_field() -> None:
    found = changes(
        Essence(EssenceLifecycle.RENEW, "P1M"), Essence(EssenceLifecycle.TERMINATE_AT_EXPIRY, None)
    )
    assert found == (
        Change(field="lifecycle", before="renew", after="terminate_at_expiry"),
        Change(field="period", before="P1M", after=None),
    )
    for change in found:
        assert type(change) is Change
        assert type(change.before) in (str, type(None)) and type(change.after) in (str, type(None))
        with pytest.raises(dataclasses.FrozenInstanceError):
            change.field = "x"  # type: ignore[misc]


def test_a_period_appearing_is_a_change_not_a_type_leak() -> None:
    (change,) = changes(
        Essence(EssenceLifecycle.RENEW, None), Essence(EssenceLifecycle.RENEW, "P1M")
    )
    assert change == Change(field="period", before=None, after="P1M", op=ChangeOp.CHANGED)


def test_no_deepdiff_object_leaves_the_module() -> None:
    """Nothing public in reconciler.core.diff returns or exposes a deepdiff type."""
    found = changes(GONE, Essence(EssenceLifecycle.RENEW, "P12M"))
    for change in found:
        for value in dataclasses.astuple(change):
            assert not type(value).__module__.startswith("deepdiff")
    assert all(isinstance(c, Change) for c in found)
    exported = {getattr(diff, name) for name in diff.__all__}
    assert not any(getattr(v, "__module__", "").startswith("deepdiff") for v in exported)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P12M", "P12M"),
        ("P1Y", "P12M"),
        ("p1m", "P1M"),
        (" P3M ", "P3M"),
        ("P1Y6M", "P18M"),
        ("", None),
        (None, None),
        ("P2W", "P2W"),  # not a whole-month period: kept, so it differs from every real one
    ],
)
def test_normalise_period(text: str | None, expected: str | None) -> None:
    assert normalise_period(text) == expected


@pytest.mark.parametrize(
    ("lifecycle", "expected"),
    [
        ("renew", Essence(EssenceLifecycle.RENEW, "P12M")),
        ("manual_renew", Essence(EssenceLifecycle.MANUAL_RENEW, "P12M")),
        ("terminate_at_expiry", Essence(EssenceLifecycle.TERMINATE_AT_EXPIRY, "P12M")),
        ("expired", GONE),
        ("terminated", GONE),
    ],
)
def test_live_essence(lifecycle: str, expected: Essence) -> None:
    service = live_service({"id": 1, "name": "a", "lifecycle": lifecycle, "period": "P1Y"})
    assert live_essence(service) == expected


def test_absent_service_is_gone() -> None:
    assert live_essence(None) == GONE and GONE.gone
    assert GONE.as_dict() == {"lifecycle": "deleted", "period": None}


def test_wanted_renew_keeps_the_live_period_unless_the_spec_gives_one() -> None:
    live = live_service({"id": 1, "name": "a", "period": "P12M"})
    assert wanted_essence(spec("renew"), live) == Essence(EssenceLifecycle.RENEW, "P12M")
    assert wanted_essence(spec("renew", "P1M"), live) == Essence(EssenceLifecycle.RENEW, "P1M")
    assert wanted_essence(spec("renew", "P1M"), None) == Essence(EssenceLifecycle.RENEW, "P1M")


def test_wanted_termination_ignores_a_period_and_is_satisfied_by_a_gone_service() -> None:
    live = live_service({"id": 1, "name": "a", "period": "P12M"})
    wanted = wanted_essence(spec("terminate_at_expiry", "P1M"), live)
    assert wanted == Essence(EssenceLifecycle.TERMINATE_AT_EXPIRY, "P12M")
    gone = live_service({"id": 1, "name": "a", "lifecycle": "terminated"})
    assert wanted_essence(spec("terminate_at_expiry"), gone) == GONE
    assert wanted_essence(spec("delete_now"), gone) == GONE
    assert wanted_essence(spec("delete_now"), live) == GONE
    assert changes(live_essence(gone), wanted_essence(spec("delete_now"), gone)) == ()


_LIFECYCLES = st.sampled_from(list(EssenceLifecycle))
_TEXTS = st.none() | st.sampled_from(["P1M", "P12M", "recommit", "other:none", ""])
_ESSENCES = st.builds(Essence, _LIFECYCLES, _TEXTS, _TEXTS)


@given(_ESSENCES, _ESSENCES)
@settings(max_examples=300, deadline=None)
def test_changes_are_what_deepdiff_finds_between_the_shown_essences(
    live: Essence, wanted: Essence
) -> None:
    """The field-by-field comparison says what deepdiff says of the two essences as the
    plan shows them: the same fields, values and operations."""
    from deepdiff import DeepDiff

    operations = {
        "values_changed": ChangeOp.CHANGED,
        "type_changes": ChangeOp.CHANGED,
        "dictionary_item_added": ChangeOp.ADDED,
        "dictionary_item_removed": ChangeOp.REMOVED,
    }
    tree = DeepDiff(live.as_dict(), wanted.as_dict(), view="tree")
    expected = sorted(
        (
            level.path(output_format="list")[0],
            None if operations[report] is ChangeOp.ADDED else level.t1,
            None if operations[report] is ChangeOp.REMOVED else level.t2,
            operations[report],
        )
        for report, levels in tree.items()
        for level in levels
    )
    found = [(c.field, c.before, c.after, c.op) for c in changes(live, wanted)]
    assert found == expected


def test_service_moves_name_every_field_that_moved_down_to_nested_values() -> None:
    before = live_service({"id": 7, "name": "www.example.com"})
    commitment = Commitment(end_date=date(2027, 6, 1), strategy=None, possible_strategies=())
    after = dataclasses.replace(
        before,
        expiration=datetime(2027, 4, 1, tzinfo=UTC),
        renew_mode="manual",
        pending_actions=("terminateAtExpirationDate",),
        commitment=commitment,
    )
    moves = service_moves(before, after)
    assert [(m.field, m.op) for m in moves] == [
        ("commitment", ChangeOp.CHANGED),
        ("expiration", ChangeOp.CHANGED),
        ("pending_actions[0]", ChangeOp.ADDED),
        ("renew_mode", ChangeOp.CHANGED),
    ]
    by_field = {m.field: m for m in moves}
    assert by_field["expiration"].before == before.expiration
    assert by_field["expiration"].after == datetime(2027, 4, 1, tzinfo=UTC)
    assert by_field["pending_actions[0]"].after == "terminateAtExpirationDate"
    assert (by_field["renew_mode"].before, by_field["renew_mode"].after) == ("automatic", "manual")
    later = dataclasses.replace(after, commitment=dataclasses.replace(commitment, end_date=None))
    assert [(m.field, m.before, m.after) for m in service_moves(after, later)] == [
        ("commitment.end_date", date(2027, 6, 1), None)
    ]
    assert service_moves(before, before) == ()
    for move in moves:  # no deepdiff value leaks out
        assert not type(move.before).__module__.startswith("deepdiff")
