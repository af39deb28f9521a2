"""The one retry decision (``reconciler.ovh.retry.decide``), rule by rule: it is pure,
so each rule is shown on its own, as the client and apply's session ask it."""

from __future__ import annotations

import pytest

from reconciler import errors
from reconciler.ovh.retry import Delivery, GiveUp, Retry, RetryPolicy, decide, delivery_of

POLICY = RetryPolicy(max_attempts=4, connect_attempts=2, base_delay=1.0, max_delay=8.0)


def server_error(retry_after: float | None = None) -> errors.ServerError:
    return errors.ServerError(
        "busy", status=503, method="GET", path="/me", query_id="Q1", retry_after=retry_after
    )


def rate_limited(retry_after: float | None = None) -> errors.RateLimited:
    return errors.RateLimited(
        "slow down", status=429, method="PUT", path="/services/1", retry_after=retry_after
    )


def dropped(*, sent: bool = True) -> errors.TransportError:
    return errors.TransportError("dropped", method="PUT", path="/services/1", sent=sent)


def ask(error: errors.ApiError, attempt: int = 1, *, mutating: bool = False, **kw: object):  # type: ignore[no-untyped-def]
    return decide(error, attempt=attempt, mutating=mutating, policy=POLICY,
                  random=lambda: 1.0, **kw)  # type: ignore[arg-type]  # fmt: skip


def test_what_an_error_says_of_its_request() -> None:
    assert delivery_of(dropped(sent=False)) is Delivery.NOT_SENT
    assert delivery_of(rate_limited()) is Delivery.NOT_APPLIED
    assert delivery_of(server_error()) is Delivery.UNKNOWN
    assert delivery_of(dropped()) is Delivery.UNKNOWN


def test_an_error_trying_again_cannot_mend_is_given_up_as_it_is() -> None:
    error = errors.NotFound("gone", status=404, method="GET", path="/services/1")
    decision = ask(error)
    assert isinstance(decision, GiveUp) and decision.error is error
    scheme = errors.TransportError("bad scheme", retryable=False)
    assert isinstance(ask(scheme), GiveUp)


def test_a_read_is_retried_with_capped_exponential_backoff() -> None:
    delays = [ask(server_error(), attempt) for attempt in (1, 2, 3)]
    assert delays == [Retry(1.0), Retry(2.0), Retry(4.0)]


def test_attempts_are_bounded_and_the_error_says_so() -> None:
    decision = ask(server_error(), 4)
    assert isinstance(decision, GiveUp)
    assert str(decision.error).endswith("(query id Q1) (gave up after 4 attempts)")
    assert isinstance(decision.error, errors.ServerError)  # still told apart by type


def test_a_connection_never_opened_has_fewer_attempts() -> None:
    assert ask(dropped(sent=False), 1, mutating=True) == Retry(1.0)
    assert isinstance(ask(dropped(sent=False), 2, mutating=True), GiveUp)


def test_a_mutating_call_whose_outcome_is_unknown_is_never_resent_blindly() -> None:
    for error in (server_error(), dropped()):
        decision = ask(error, mutating=True)
        assert isinstance(decision, GiveUp) and decision.error is error


def test_a_mutating_call_that_provably_did_nothing_is_resent() -> None:
    assert ask(rate_limited(), mutating=True) == Retry(1.0)
    # Apply's session, once its re-read shows the call had no effect:
    assert ask(server_error(), 2, mutating=True, delivery=Delivery.NOT_APPLIED) == Retry(2.0)


def test_retry_after_is_honoured_and_a_very_long_one_given_up() -> None:
    assert ask(rate_limited(retry_after=7.0), mutating=True) == Retry(7.0)
    assert ask(server_error(retry_after=0.0)) == Retry(1.0)  # never shorter than the backoff
    decision = ask(rate_limited(retry_after=3600.0))
    assert isinstance(decision, GiveUp) and decision.error.retry_after == 3600.0  # type: ignore[attr-defined]


def test_a_wait_past_the_deadline_is_given_up() -> None:
    assert ask(server_error(), 1, time_left=1.5) == Retry(1.0)
    decision = ask(server_error(), 2, time_left=1.5)
    assert isinstance(decision, GiveUp)
    assert "gave up after 2 attempts: no time left for another" in str(decision.error)


def test_policies_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay=-1.0)
