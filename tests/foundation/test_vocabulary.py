"""The vocabulary is said once and says everything: every action kind has its symbol and
headline, every compared lifecycle its words, every period its words from one parser."""

from __future__ import annotations

import pytest

from reconciler.core.lifecycle import EssenceLifecycle
from reconciler.core.periods import Period
from reconciler.core.plan import ActionKind
from reconciler.render.wording import lifecycle_text, period_text


@pytest.mark.parametrize("kind", list(ActionKind))
def test_every_action_kind_says_its_symbol_and_headline(kind: ActionKind) -> None:
    assert len(kind.symbol) == 1
    assert kind.headline and kind.headline == kind.headline.strip()


def test_symbols_tell_the_kinds_of_change_apart() -> None:
    assert [kind.symbol for kind in ActionKind] == ["-", "-", "+", "!", "~", " "]
    assert len({kind.headline for kind in ActionKind}) == len(ActionKind)


@pytest.mark.parametrize("lifecycle", list(EssenceLifecycle))
def test_every_compared_lifecycle_has_words(lifecycle: EssenceLifecycle) -> None:
    assert lifecycle_text(lifecycle) not in ("", lifecycle.value) or lifecycle.value == "deleted"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("P1M", "every month (P1M)"),
        ("P12M", "every 12 months (P12M)"),
        ("P1Y", "every 12 months (P1Y)"),  # the API's odd spelling, read as the parser reads it
        ("P1W", "P1W"),  # no renewal period: shown as it is, never reworded
        (None, "the current period"),
    ],
)
def test_period_words_come_from_the_one_period_parser(text: str | None, words: str) -> None:
    assert period_text(text) == words


def test_a_period_says_its_words() -> None:
    assert Period(1).words == "every month"
    assert Period(3).words == "every 3 months"
