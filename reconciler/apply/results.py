"""What apply is given (options), tells as it goes (``Reporter``) and returns (results).

A planned thing and an applied thing are different types: ``Action`` (reconciler.core.plan)
is what was planned; ``ActionResult`` is what became of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from reconciler.core.plan import Action, Plan

DEFAULT_TOKEN_TIMEOUT = timedelta(minutes=30)
# How long a termination token stays valid. OVH states none; its tokens are thought to
# last 72 hours (docs/journal.md). Past it, a request whose e-mail never came is
# abandoned and made again: its token, had it come, no longer works.
DEFAULT_TOKEN_LIFETIME = timedelta(hours=72)
# How old the run's read of the account may be for a reversible call to be sent on it:
# long enough for a run of hundreds of actions, short against a human's edit by hand.
DEFAULT_MAX_READ_AGE = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    """How apply behaves. ``tokens`` maps a service (its spec key or name) to a deletion
    token the user already has (``--token NAME=TOKEN``): a secret, never shown."""

    token_timeout: timedelta = DEFAULT_TOKEN_TIMEOUT  # how long to wait for the e-mail
    tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    # Where ``tokens`` came from, as the user gave them, for messages about them.
    tokens_from: str = "--token"
    token_lifetime: timedelta = DEFAULT_TOKEN_LIFETIME  # past it, a request is made again
    # Services (spec key or name) whose last termination request is abandoned once its
    # e-mail was waited for in vain (``--request-again NAME``): the lost e-mail's way out
    # within the token's lifetime.
    request_again: frozenset[str] = frozenset()
    call_attempts: int = 3  # sends of one mutating call, when the account shows no effect
    retry_delay: float = 1.0  # seconds before sending again (doubled each time)
    poll_first: float = 2.0  # seconds between looks at the e-mail history, doubling...
    poll_max: float = 30.0  # ...up to this
    # How old the account as read may be when a reversible first step is sent on it
    # (``--max-read-age``): within it, the run's one Iceberg read stands for the
    # per-service re-read; zero re-reads every service alone, as before it existed.
    max_read_age: timedelta = DEFAULT_MAX_READ_AGE

    def __post_init__(self) -> None:
        if self.call_attempts < 1:
            raise ValueError("call_attempts must be at least 1")
        if self.token_timeout < timedelta(0):
            raise ValueError("token_timeout cannot be negative")
        if self.max_read_age < timedelta(0):
            raise ValueError("max_read_age cannot be negative")
        if self.token_lifetime <= timedelta(0):
            raise ValueError("token_lifetime must be positive")

    def token_for(self, action: Action) -> str | None:
        return self.tokens.get(action.service) or self.tokens.get(action.name)

    def requests_again(self, action: Action) -> bool:
        return action.service in self.request_again or action.name in self.request_again


class ActionStatus(StrEnum):
    DONE = "done"  # the calls were made (or their effect showed after an ambiguous failure)
    SKIPPED = "skipped"  # the account already matched: no call was sent
    FAILED = "failed"  # see ``error``; the account may be partly changed (re-run: safe)


@dataclass(frozen=True, slots=True)
class ActionResult:
    action: Action
    status: ActionStatus
    summary: str  # what happened, in words
    error: str | None = None
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class ApplyReport:
    run: str
    plan_digest: str
    journal: Path
    plan: Plan  # the plan made again at apply time, whose actions were executed
    results: tuple[ActionResult, ...]
    already_done: tuple[Action, ...] = ()  # approved changes found made before this run

    def count(self, status: ActionStatus) -> int:
        return sum(1 for result in self.results if result.status is status)

    @property
    def failed(self) -> tuple[ActionResult, ...]:
        return tuple(r for r in self.results if r.status is ActionStatus.FAILED)


class Reporter(Protocol):
    """Told what happens, as it happens (the CLI draws progress with it)."""

    def action_started(self, action: Action) -> None: ...

    def action_note(self, action: Action, note: str) -> None: ...

    def action_finished(self, result: ActionResult) -> None: ...


class SilentReporter:
    def action_started(self, action: Action) -> None:
        pass

    def action_note(self, action: Action, note: str) -> None:
        pass

    def action_finished(self, result: ActionResult) -> None:
        pass
