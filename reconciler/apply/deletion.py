"""``delete_now`` of a web hosting: the termination request and its e-mailed token.

The flow (as the OVH Terraform provider does it, made resumable):

1. record the highest id of ``/me/notification/email/history`` — only e-mails above it
   can be the answer to *this* request (the id goes in the journal: ``email_after``);
2. ``POST /hosting/web/{name}/terminate`` (a 404 or a 460 means the service is already
   gone: done). After an ambiguous failure, the request took effect if its e-mail is
   there (or the service is gone); otherwise it is sent again (bounded);
3. poll the history (backoff from ``poll_first`` to ``poll_max`` seconds, on the
   injected clock and sleep) for the newest e-mail above that id naming the service and
   holding its ``confirmTerminate`` link, for at most ``token_timeout`` (30 minutes);
4. ``POST /hosting/web/{name}/confirmTermination {"token": ...}``. After an ambiguous
   failure the service is re-read: gone means done; otherwise the same token is sent
   again (it is single-use: had the first call taken effect, the service would be gone).

``--token NAME=TOKEN`` skips 1–3: the given token is confirmed directly, and a token the
API refuses fails the action (no new request is made behind the user's back).

Resuming, and a lost e-mail (docs/journal.md, "Deletions, tokens and resuming"): the
journal keeps each request's ``email_after`` and whether the API accepted it, never the
token (only ``token_sha256``), and the next run looks for that request's e-mail before
asking OVH for anything. Why it is careful: every request e-mails the account, so a
request whose e-mail never came is made again only past ``token_lifetime`` or on the
user's word (``--request-again``), never twice within the lifetime on apply's account.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from reconciler.apply.mailbox import Confirmation, Mailbox
from reconciler.apply.results import ActionResult, ActionStatus
from reconciler.apply.session import CallRejected, Session, StepFailed
from reconciler.core.plan import Action
from reconciler.core.steps import (
    ConfirmTermination,
    RequestTermination,
    Step,
    StepKind,
    deletion_done,
    fallbacks_of,
)
from reconciler.errors import ApiError, BadRequest, RouteNotFound, Unauthorized
from reconciler.journal import REDACTED, Outcome, Phase, Record, token_digest
from reconciler.times import when_text


@dataclass(frozen=True, slots=True)
class PriorRequest:
    """A termination request an earlier run made, as the journal remembers it."""

    run: str
    time: datetime
    email_after: int
    accepted: bool  # the API answered it; False: sent (or about to be) with no answer seen
    waited: bool = False  # a run waited for its e-mail the whole --token-timeout in vain


class TerminationHistory:
    """The last termination request of each service, from the journal's records."""

    def __init__(self, requests: dict[int, PriorRequest] | None = None) -> None:
        self._requests = dict(requests or {})

    @classmethod
    def from_records(cls, records: Iterable[Record], *, endpoint: str) -> TerminationHistory:
        last: dict[int, PriorRequest] = {}
        for record in records:
            if record.endpoint != endpoint or record.service_id is None:
                continue
            step = record.detail.get("step")
            service_id = record.service_id
            if record.phase == Phase.CALL and step == StepKind.REQUEST_TERMINATION.value:
                after = record.detail.get("email_after")
                if not isinstance(after, int) or isinstance(after, bool):
                    continue
                if record.outcome == Outcome.SENDING:
                    last[service_id] = PriorRequest(record.run, record.time, after, False)
                elif record.outcome in (Outcome.OK, Outcome.EFFECT_SHOWN):
                    last[service_id] = PriorRequest(record.run, record.time, after, True)
            elif record.phase == Phase.CHECK and step == StepKind.REQUEST_TERMINATION.value:
                after = record.detail.get("email_after")
                if record.outcome == Outcome.EFFECT_SHOWN and isinstance(after, int):
                    last[service_id] = PriorRequest(record.run, record.time, after, True)
            elif (
                record.phase == Phase.CALL
                and step == StepKind.CONFIRM_TERMINATION.value
                and record.outcome in (Outcome.OK, Outcome.GONE)
            ):
                last.pop(service_id, None)  # that request was used up
            elif record.phase == Phase.TOKEN and service_id in last:
                prior = last[service_id]
                if record.detail.get("email_after") != prior.email_after:
                    continue  # about an older request
                if record.outcome == Outcome.TIMEOUT:
                    last[service_id] = replace(prior, waited=True)
                elif record.outcome == Outcome.ABANDONED:
                    last.pop(service_id)  # given up: the next run requests anew
        return cls(last)

    def last(self, service_id: int | None) -> PriorRequest | None:
        return None if service_id is None else self._requests.get(service_id)


# 400s that say something is wrong with the request's signature, not with the token.
_NOT_THE_TOKEN = frozenset({"INVALID_SIGNATURE", "QUERY_TIME_OUT"})


class _Confirmed(StrEnum):
    DELETED = "deleted"
    GONE = "gone"
    TOKEN_REFUSED = "token-refused"


class DeleteNow:
    """One ``delete_now`` action, through its e-mailed token (see the module docstring)."""

    def __init__(
        self,
        session: Session,
        mailbox: Mailbox,
        history: TerminationHistory,
        action: Action,
        request: RequestTermination,
        confirm: ConfirmTermination,
    ) -> None:
        self.session = session
        self.mailbox = mailbox
        self.history = history
        self.action = action
        self.request_step = request
        self.confirm_step = confirm
        self.request_fallback, self.confirm_fallback = fallbacks_of(request, confirm)
        self._refusal: str | None = None
        assert action.service_id is not None
        self.service_id: int = action.service_id

    async def run(self) -> ActionResult:
        options = self.session.options
        given = options.token_for(self.action)
        if given is not None:
            self.session.journal.add_secret(given)
            source = options.tokens_from
            outcome = await self._confirm(given, source=source)
            if outcome is _Confirmed.TOKEN_REFUSED:
                raise StepFailed(
                    f"the token given with {source} for {self.action.name} was refused: "
                    f"{self._refusal}",
                    hint="check the token (it is single-use and expires), or remove it from "
                    f"{source}: apply then requests the termination and reads the e-mailed one",
                )
            return self._result(outcome, f"the token given with {source}")

        prior = self.history.last(self.service_id)
        if prior is not None:
            found = await self.mailbox.look(
                service_id=self.service_id, name=self.action.name, after=prior.email_after
            )
            if found is None and prior.accepted:
                reason = self._abandon_reason(prior)
                if reason is None:
                    found = await self._wait(
                        prior.email_after,
                        note=f"waiting for the confirmation e-mail of the termination "
                        f"requested {when_text(prior.time)} (run {prior.run})",
                    )
                    if found is None and options.requests_again(self.action):
                        reason = "--request-again, and no e-mail within --token-timeout"
                    elif found is None:
                        raise self._no_token(prior.email_after, requested=prior.time)
                if reason is not None:
                    self._abandon(prior, reason)
            if found is not None:
                self._found(found, prior.email_after)
                outcome = await self._confirm(found.token, source=f"e-mail {found.email_id}")
                if outcome is not _Confirmed.TOKEN_REFUSED:
                    return self._result(outcome, f"the token of e-mail #{found.email_id}")
                self.session.reporter.action_note(
                    self.action,
                    f"the token of e-mail #{found.email_id} was refused ({self._refusal}); "
                    "requesting the termination again",
                )

        baseline = await self.mailbox.highest_id()
        requested_at = self.session.now()
        found_during_request: list[Confirmation] = []
        gone_during_request: list[bool] = []

        async def request_shown() -> bool:
            found = await self.mailbox.look(
                service_id=self.service_id, name=self.action.name, after=baseline
            )
            if found is not None:
                found_during_request.append(found)
                return True
            if deletion_done(await self.session.read(self.service_id)):
                gone_during_request.append(True)
                return True
            return False

        step: Step | None = self.request_step
        while step is not None:
            try:
                await self.session.make(
                    self.action, step, effect=request_shown, detail={"email_after": baseline}
                )
                break
            except CallRejected as rejected:
                # A refusal (a 404 or a 460 included) says nothing by itself: the re-read
                # settles it (docs/control-panel.md §8.24).
                if await self._settled(step, rejected.error):
                    return self._result(_Confirmed.GONE, "")
                found = await self.mailbox.look(
                    service_id=self.service_id, name=self.action.name, after=baseline
                )
                if found is not None:  # refused, yet its e-mail came: the request stands
                    found_during_request.append(found)
                    break
                fallback = self._fallback(step, self.request_step, self.request_fallback, rejected)
                if fallback is None:
                    raise StepFailed(
                        f"the termination request {step.method} {step.path} was "
                        f"refused: {rejected.error}; a re-read shows {self.action.name} "
                        "not deleted, and no e-mail came",
                        hint=rejected.error.hint,
                    ) from None
                self.session.reporter.action_note(
                    self.action,
                    f"{step.method} {step.path} was refused ({rejected.error}) and "
                    f"changed nothing: requesting through {fallback.path}",
                )
                step = fallback
        if gone_during_request:
            return self._result(_Confirmed.GONE, "")
        found = found_during_request[0] if found_during_request else await self._wait(baseline)
        if found is None:
            raise self._no_token(baseline, requested=requested_at)
        self._found(found, baseline)
        outcome = await self._confirm(found.token, source=f"e-mail {found.email_id}")
        if outcome is _Confirmed.TOKEN_REFUSED:
            raise StepFailed(
                f"the token e-mailed for {self.action.name} (e-mail #{found.email_id}) was "
                f"refused: {self._refusal}",
                hint="run apply again: it requests a new token",
            )
        return self._result(outcome, f"the token of e-mail #{found.email_id}")

    # -- steps ---------------------------------------------------------------------------

    async def _wait(self, after: int, *, note: str | None = None) -> Confirmation | None:
        """Poll the history for the confirmation above ``after`` until the timeout."""
        session = self.session
        options = session.options
        deadline = session.now() + options.token_timeout
        session.record(
            self.action,
            Phase.TOKEN,
            Outcome.WAITING,
            detail={"email_after": after, "timeout_s": options.token_timeout.total_seconds()},
        )
        delay = options.poll_first
        looks = 0
        while True:
            found = await self.mailbox.look(
                service_id=self.service_id, name=self.action.name, after=after
            )
            if found is not None:
                return found
            looks += 1
            if looks == 1:  # said once, and only when the e-mail is not there at once
                session.reporter.action_note(
                    self.action,
                    note
                    or f"waiting for the confirmation e-mail (up to "
                    f"{_duration(options.token_timeout)})",
                )
            remaining = (deadline - session.now()).total_seconds()
            if remaining <= 0:
                return None
            await session.sleep(min(delay, remaining))
            delay = min(delay * 2, options.poll_max)

    def _abandon_reason(self, prior: PriorRequest) -> str | None:
        """Why the accepted request ``prior``, whose e-mail is not there, is given up
        without waiting for it again; None: wait for it (see the module docstring)."""
        options = self.session.options
        if self.session.now() - prior.time >= options.token_lifetime:
            return f"no e-mail within the token's lifetime ({_duration(options.token_lifetime)})"
        if prior.waited and options.requests_again(self.action):
            return "--request-again, its e-mail waited for in vain"
        return None

    def _abandon(self, prior: PriorRequest, reason: str) -> None:
        """Journal ``prior`` as abandoned before the new request is made: a crash between
        the two leaves a journal whose next run requests anew, not one that waits for
        the lost e-mail again."""
        self.session.record(
            self.action,
            Phase.TOKEN,
            Outcome.ABANDONED,
            error=f"termination request of {when_text(prior.time)} abandoned: {reason}",
            detail={
                "email_after": prior.email_after,
                "requested_run": prior.run,
                "reason": reason,
            },
        )
        self.session.reporter.action_note(
            self.action,
            f"no confirmation e-mail came for the termination requested "
            f"{when_text(prior.time)} (run {prior.run}): requesting it again ({reason})",
        )

    def _found(self, found: Confirmation, after: int) -> None:
        self.session.journal.add_secret(found.token)
        self.session.record(
            self.action,
            Phase.TOKEN,
            Outcome.FOUND,
            detail={
                "email_after": after,
                "email_id": found.email_id,
                "token_sha256": token_digest(found.token),
            },
        )

    def _no_token(self, after: int, *, requested: datetime) -> StepFailed:
        timeout = self.session.options.token_timeout
        self.session.record(
            self.action,
            Phase.TOKEN,
            Outcome.TIMEOUT,
            error=f"no confirmation e-mail within {_duration(timeout)}",
            detail={"email_after": after, "timeout_s": timeout.total_seconds()},
        )
        return StepFailed(
            f"no confirmation e-mail for {self.action.name} within {_duration(timeout)} of "
            f"its termination request ({when_text(requested)}); the request stands and the "
            "service is not deleted yet",
            hint="run apply again later: it looks for that e-mail first and asks for no new "
            f"one before the token's lifetime ({_duration(self.session.options.token_lifetime)}"
            f") has passed; if the e-mail is lost, run apply with --request-again "
            f"{self.action.service} to request the termination again now; or confirm with "
            f"--token {self.action.service}=@FILE (a file holding the token of the e-mail's "
            "confirmTerminate link)",
        )

    @staticmethod
    def _fallback(
        step: Step, first: Step, fallback: Step | None, rejected: CallRejected
    ) -> Step | None:
        """The recorded fallback to send after ``step`` was refused with no effect: only
        after the first call, and never for a key refused by its rights (401, 403): the
        other route needs rights of its own, and a missing right is said, not worked
        around."""
        if step is not first or isinstance(rejected.error, Unauthorized):
            return None
        return fallback

    async def _settled(self, step: Step, error: ApiError) -> bool:
        """Whether a re-read of ``GET /services/{id}`` shows the service deleted after
        ``step`` was refused with ``error``: journalled either way (``check``/``gone``,
        or ``check``/``no-effect``: the step is not done). Only a terminated or deleted
        service, or one being deleted, settles it (docs/control-panel.md §8.24); a 404
        that is a missing route never does."""
        try:
            live = await self.session.read(self.service_id)
        except ApiError as reread:
            raise StepFailed(
                f"{step.method} {step.path} was refused ({error}), and re-reading "
                f"{self.action.name} failed: {reread}",
                hint="run apply again: it re-reads the service before sending anything",
            ) from None
        done = deletion_done(live)
        detail: dict[str, object] = {"refused_status": getattr(error, "status", None)}
        if isinstance(error, RouteNotFound):
            detail["missing_route"] = True
        if live is not None:
            detail["read"] = {
                "lifecycle_state": live.lifecycle_state,
                "resource_state": live.resource_state,
            }
        self.session.record(
            self.action,
            Phase.CHECK,
            Outcome.GONE if done else Outcome.NO_EFFECT,
            step=step,
            detail=detail,
            query_id=error.query_id,
        )
        return done

    async def _confirm(self, token: str, *, source: str) -> _Confirmed:
        session = self.session
        session.journal.add_secret(token)
        detail = {"token_sha256": token_digest(token), "token_from": source}

        async def gone() -> bool:
            return deletion_done(await session.read(self.service_id))

        step: Step | None = self.confirm_step
        while step is not None:
            try:
                await session.make(
                    self.action,
                    step,
                    effect=gone,
                    body={"token": token},
                    journal_body={"token": REDACTED},
                    detail=detail,
                )
                return _Confirmed.DELETED
            except CallRejected as rejected:
                error = rejected.error
                if await self._settled(step, error):
                    return _Confirmed.GONE
                fallback = self._fallback(step, self.confirm_step, self.confirm_fallback, rejected)
                if fallback is not None:
                    # The token the product's request e-mailed may be for the product's own
                    # confirmation (docs/control-panel.md §9 Q8): the same token there.
                    session.reporter.action_note(
                        self.action,
                        f"{step.method} {step.path} was refused ({error}) and "
                        f"changed nothing: confirming through {fallback.path}",
                    )
                    step = fallback
                    continue
                if isinstance(error, BadRequest) and error.error_code not in _NOT_THE_TOKEN:
                    self._refusal = error.api_message or str(error)
                    session.record(
                        self.action,
                        Phase.TOKEN,
                        Outcome.REFUSED,
                        error=error,
                        detail=detail,
                    )
                    return _Confirmed.TOKEN_REFUSED
                raise StepFailed(
                    f"the confirmation {step.method} {step.path} was refused: "
                    f"{error}; a re-read shows {self.action.name} not deleted",
                    hint=error.hint,
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _result(self, outcome: _Confirmed, source: str) -> ActionResult:
        if outcome is _Confirmed.GONE:
            return ActionResult(self.action, ActionStatus.DONE, "already gone")
        return ActionResult(
            self.action,
            ActionStatus.DONE,
            f"deleted now, data deleted irreversibly (confirmed with {source})",
        )


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"
