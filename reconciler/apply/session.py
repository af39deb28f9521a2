"""One apply run's edge: the API client, the journal, the API's clock, sleeping.

``Session.make`` is the one place a mutating call is sent, and it keeps the promise of
apply: **no mutating call is sent twice unless the account shows the first did not take
effect**.

- before the call: a ``call``/``sending`` record, fsynced;
- a clear answer: ``ok``, or ``failed`` (the API refused: ``CallRejected``, the caller
  decides what that means — a 404 on a termination request means "already gone");
- an ambiguous failure (5xx, a dropped connection, a timeout, a 429 the client gave up
  on: the error is ``retryable``): ``ambiguous``, then the caller's ``effect`` check
  re-reads the account — the effect shows (``check``/``effect-shown``: done), or it does
  not (``check``/``no-effect``: the call is sent again after a short wait), at most
  ``ApplyOptions.call_attempts`` sends in all. Whether and when to send again is the
  client's one retry decision (``reconciler.ovh.retry.decide``), told that the re-read
  showed the call did nothing (``Delivery.NOT_APPLIED``). When the re-read itself fails, nothing is
  sent again: the action fails with "may or may not have taken effect", and the next
  run re-reads first.

The client's own retry loop never resends a mutating call whose outcome is unknown
(``reconciler.ovh.client``): that decision is taken here, by re-reading.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reconciler.apply.results import ApplyOptions, Reporter
from reconciler.clock import Clock
from reconciler.core.live import LiveService, parse_service
from reconciler.core.plan import Action
from reconciler.core.steps import Step
from reconciler.errors import ApiError, HttpError, NotFound, RouteNotFound
from reconciler.journal import JournalCall, JournalWriter, Outcome, Phase
from reconciler.ovh.client import OvhClient
from reconciler.ovh.retry import Delivery, GiveUp, RetryPolicy, decide

Sleep = Callable[[float], Awaitable[None]]


class StepFailed(Exception):
    """An action cannot go on: a one-line reason and a hint (becomes a FAILED result)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class CallRejected(Exception):
    """The API answered a mutating call with a clear, non-retryable error."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True, slots=True)
class Sent:
    """How a call ended well: answered (``ok``) or its effect seen after an ambiguous
    failure (``effect_shown``)."""

    answer: Any = None
    effect_shown: bool = False


class Session:
    def __init__(
        self,
        client: OvhClient,
        journal: JournalWriter,
        *,
        clock: Clock,
        sleep: Sleep,
        options: ApplyOptions,
        reporter: Reporter,
    ) -> None:
        self.client = client
        self.journal = journal
        self.clock = clock
        self.sleep = sleep
        self.options = options
        self.reporter = reporter

    def now(self) -> datetime:
        return self.clock.now()

    async def read(self, service_id: int) -> LiveService | None:
        """The service as the API shows it now; ``None`` when it is not on the account.
        Only what its own answer says: the facts about the account (its children) stay
        those of the account the run read (``Executor``'s ``account``).

        A 404 "does not exist" is ``None``; a 404 "Got an invalid (or empty) URL" is a
        missing route (``RouteNotFound``, raised): never a missing service
        (docs/control-panel.md §8.24)."""
        try:
            data = await self.client.get(f"/services/{service_id}")
        except RouteNotFound:
            raise  # no such route: it says nothing of the service (§8.24)
        except NotFound:
            return None
        return parse_service(data)

    def record(
        self,
        action: Action,
        phase: Phase,
        outcome: Outcome,
        *,
        step: Step | None = None,
        body: Mapping[str, Any] | None = None,
        attempt: int | None = None,
        error: ApiError | str | None = None,
        detail: Mapping[str, Any] | None = None,
        status: int | None = None,
        query_id: str | None = None,
    ) -> None:
        if isinstance(error, HttpError):
            status, query_id = error.status, error.query_id
        extra = dict(detail or {})
        if step is not None:
            extra.setdefault("step", step.kind.value)
        self.journal.write(
            phase=phase,
            outcome=outcome,
            service=action.service,
            service_id=action.service_id,
            action=action.action.value,
            call=JournalCall(step.method, step.path, body) if step is not None else None,
            attempt=attempt,
            status=status,
            query_id=query_id,
            error=str(error) if error is not None else None,
            detail=extra,
        )

    async def make(
        self,
        action: Action,
        step: Step,
        *,
        effect: Callable[[], Awaitable[bool]],
        body: Mapping[str, Any] | None = None,
        journal_body: Mapping[str, Any] | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> Sent:
        """Send ``step``'s call (with ``body``, default the planned one), journalled, and
        settle an ambiguous failure by ``effect`` (see the module docstring).
        ``journal_body`` is what the journal shows of the body (secrets redacted)."""
        wire = dict(body) if body is not None else step.body
        shown_body = journal_body if journal_body is not None else wire
        # Sends after a re-read showed no effect: retry_delay, doubled each time (no
        # jitter: one apply's calls are few and sequential), Retry-After honoured.
        resend = RetryPolicy(
            max_attempts=self.options.call_attempts,
            base_delay=self.options.retry_delay,
            max_delay=self.options.retry_delay * 2 ** (self.options.call_attempts - 1),
        )
        last: ApiError | None = None
        attempt = 0
        while True:
            attempt += 1
            self.record(
                action, Phase.CALL, Outcome.SENDING,
                step=step, body=shown_body, attempt=attempt, detail=detail,
            )  # fmt: skip
            try:
                answer = await self.client.call(step.method, step.path, body=wire)
            except ApiError as error:
                if not error.retryable:
                    self.record(
                        action, Phase.CALL, Outcome.FAILED,
                        step=step, body=shown_body, attempt=attempt, error=error, detail=detail,
                    )  # fmt: skip
                    raise CallRejected(error) from None
                self.record(
                    action, Phase.CALL, Outcome.AMBIGUOUS,
                    step=step, body=shown_body, attempt=attempt, error=error, detail=detail,
                )  # fmt: skip
                last = error
                try:
                    shown = await effect()
                except ApiError as reread:
                    raise StepFailed(
                        f"{step.method} {step.path} may or may not have taken effect "
                        f"({str(error)}), and re-reading the account failed: {str(reread)}",
                        hint="run apply again: it re-reads the account before sending anything",
                    ) from None
                self.record(
                    action,
                    Phase.CHECK,
                    Outcome.EFFECT_SHOWN if shown else Outcome.NO_EFFECT,
                    step=step,
                    attempt=attempt,
                    detail=detail,
                )
                if shown:
                    return Sent(effect_shown=True)
                decision = decide(
                    error, attempt=attempt, mutating=True, policy=resend,
                    random=lambda: 1.0, delivery=Delivery.NOT_APPLIED,
                )  # fmt: skip
                if isinstance(decision, GiveUp):
                    break
                self.reporter.action_note(
                    action, f"{step.method} {step.path} failed ({str(error)}); "
                    "the account shows no effect: sending it again",
                )  # fmt: skip
                await self.sleep(decision.delay)
                continue
            self.record(
                action, Phase.CALL, Outcome.OK,
                step=step, body=shown_body, attempt=attempt, detail=detail,
                status=answer.status, query_id=answer.query_id,
            )  # fmt: skip
            return Sent(answer=answer.value)
        assert last is not None
        raise StepFailed(
            f"{step.method} {step.path} failed {attempt} times and the account "
            f"shows no effect: {str(last)}",
            hint=last.hint or "run apply again later: it resumes safely",
        )
