"""Every error a user of reconciler can meet, in one tree (docs/architecture.md,
"Errors: `reconciler.errors`", draws the tree and says what each class means).

The contract every error keeps:

- ``str(err)`` is one line (what happened, where, and the OVH query id when the API
  gave one) and ``err.hint`` says what to do; the CLI prints both, and nothing else
  unless ``--debug`` is given;
- ``retryable`` tells the one retry decision (``reconciler.ovh.retry``) whether trying
  again can help; a ``TransportError`` also says whether the request may have been sent;
- ``exit_code`` is what the CLI exits with: 3 for refused changes, 130 when
  interrupted, else 1;
- no error holds a secret: messages are built from methods, paths, status codes and the
  API's own words, and since an API may echo a secret, every error passes through
  ``reconciler.redaction.Secrets`` before it is shown or journalled.

A parser of one value (a duration, a renewal period) raises an ``InvalidValue`` (a
message and a fix) that its caller words as the error of where the value was written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self


class ReconcilerError(Exception):
    """Base of every error shown to users: a one-line message and a hint at the fix."""

    exit_code: ClassVar[int] = 1
    retryable: bool = False  # a class default; a TransportError may say otherwise

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def reworded(self, message: str, hint: str | None = None) -> Self:
        """A copy of this error with another message (and hint, when given): the same
        class and fields, so that callers still tell errors apart by type."""
        # Not copy.copy: an exception is copied by calling its class with ``args``, and
        # most of ours take keyword-only fields.
        other = type(self).__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.message = message
        other.args = (message,)
        if hint is not None:
            other.hint = hint
        return other

    def with_note(self, note: str) -> Self:
        """A copy whose message ends with `` (note)``: ``(gave up after 6 attempts)``."""
        return self.reworded(f"{self.message} ({note})")


class UsageError(ReconcilerError):
    """A command line that cannot work: unknown format, malformed --token, ..."""


@dataclass(frozen=True, slots=True)
class SpecProblem:
    """One problem in a spec file, located precisely."""

    file: str
    line: int  # 1-based
    column: int  # 1-based
    message: str
    fix: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.message}" + (f" — {self.fix}" if self.fix else "")


class SpecError(ReconcilerError):
    """A spec file is invalid. Every problem found in the file is reported at once."""

    def __init__(self, problems: Sequence[SpecProblem], *, hint: str | None = None) -> None:
        if not problems:
            raise ValueError("SpecError needs at least one problem")
        self.problems: tuple[SpecProblem, ...] = tuple(problems)
        first = self.problems[0]
        more = len(self.problems) - 1
        message = str(first) + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")
        super().__init__(message, hint=hint or "fix the spec and run `reconciler validate` again")

    def lines(self) -> list[str]:
        """Every problem, one line each, for display."""
        return [str(problem) for problem in self.problems]


class ConfigError(ReconcilerError):
    """The endpoint or the credentials cannot be resolved."""


class PlanFileError(ReconcilerError):
    """A saved plan cannot be read, is from another format version, or was altered."""


class StalePlanError(PlanFileError):
    """The live account no longer matches what the saved plan was computed from."""


class RefusedError(ReconcilerError):
    """The spec asks for changes that the lifecycle rules refuse; nothing was applied."""

    exit_code = 3


class ApplyError(ReconcilerError):
    """An apply ended with at least one failed action (the others were still applied)."""


class JournalError(ReconcilerError):
    """The apply journal cannot be opened or written (nothing is applied without it), or
    a line of it that is not the last one is corrupt (its line number is in the message)."""


class LockedError(ReconcilerError):
    """Another ``reconciler apply`` holds the lock of the same journal: two applies
    sharing a journal never run at once (the message names the holder)."""


class Interrupted(ReconcilerError):
    """The user interrupted the command (Ctrl-C): the message says how far it went."""

    exit_code = 130


class ApiError(ReconcilerError):
    """The OVH API could not be reached, or answered with an error. ``query_id`` is the
    answer's ``X-Ovh-Queryid`` when there was an answer: the message ends with it."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        method: str | None = None,
        path: str | None = None,
        query_id: str | None = None,
    ) -> None:
        # A query id is a header of the answer: from outside, like the API's words.
        query_id = one_line(query_id, WORD_LIMIT) if query_id else None
        super().__init__(message + _query_id_note(query_id), hint=hint)
        self.method = method
        self.path = path
        self.query_id = query_id

    def with_query_id(self, query_id: str | None) -> Self:
        """This error naming the query id of the answer it came from (a malformed
        object of a page, found by a parser that never saw the answer's headers); itself
        when it names one already or there is none."""
        if not query_id or self.query_id:
            return self
        query_id = one_line(query_id, WORD_LIMIT)
        other = self.reworded(self.message + _query_id_note(query_id))
        other.query_id = query_id
        return other


class TransportError(ApiError):
    """No usable answer: connection refused, dropped, reset, or timed out; or an answer
    that did not arrive whole within its deadline.

    ``sent`` is False only when the request provably never left (the connection could not
    be opened): a mutating call is then safe to send again. ``retryable`` is False for
    failures that trying again cannot mend (a URL scheme httpx cannot speak)."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        method: str | None = None,
        path: str | None = None,
        sent: bool = True,
        retryable: bool = True,
    ) -> None:
        super().__init__(message, hint=hint, method=method, path=path)
        self.sent = sent
        self.retryable = retryable


class LimitExceeded(ApiError):
    """An answer past one of the client's bounds: more bytes, objects, pages or a longer
    name than any real account has (``reconciler.ovh.limits``). Trying again cannot help:
    the endpoint is not answering as the OVH API does."""

    def __init__(
        self,
        message: str,
        *,
        bound: str,
        limit: int,
        method: str,
        path: str,
        query_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(
            message,
            hint=hint
            or "no OVH account comes near this bound: check the endpoint (--endpoint, "
            "OVH_ENDPOINT) and any proxy in between; run with --debug and report it",
            method=method,
            path=path,
            query_id=query_id,
        )
        self.bound = bound
        self.limit = limit


class DeadlineExceeded(ApiError):
    """A read (every page or id of a listing) or a call with its retries did not finish
    in the time allowed; ``setting`` names the environment variable that sets it."""

    def __init__(
        self,
        message: str,
        *,
        setting: str,
        method: str | None = None,
        path: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(
            message,
            hint=hint
            or f"the API is too slow or stalled; run again later, or allow more time with "
            f"{setting}",
            method=method,
            path=path,
        )
        self.setting = setting


class HttpError(ApiError):
    """The API answered with an error status. Keeps the status, the OVH error code and
    class, and the ``X-Ovh-Queryid`` that OVH support asks for."""

    status: int
    default_hint: ClassVar[str | None] = None

    def __init__(
        self,
        api_message: str,
        *,
        status: int,
        method: str,
        path: str,
        error_code: str | None = None,
        error_class: str | None = None,
        query_id: str | None = None,
        details: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.details = dict(details or {})
        # The IAM actions OVH says are missing, as go-ovh shows them: by authentication,
        # then by IAM, each only when not empty (docs/control-panel.md §6, §8.27).
        self.missing_iam_actions: tuple[str, ...] = missing_iam_actions(self.details)
        if self.missing_iam_actions:
            api_message = (
                f"{api_message} (missing IAM permissions: {', '.join(self.missing_iam_actions)})"
            )
            if hint is None:
                hint = (
                    "the IAM policy of this key or service account does not allow it: add "
                    "these actions to its policy (`reconciler credentials rules --role apply "
                    "--format iam` prints a policy to paste)"
                )
        # The API's words, on one line: a message holding newlines would forge lines of
        # its own in a terminal or a CI log ("error: ...", "hint: ...").
        self.api_message = one_line(api_message)
        self.error_code = one_line(error_code, WORD_LIMIT) if error_code else None
        self.error_class = one_line(error_class, WORD_LIMIT) if error_class else None
        self.retry_after = retry_after
        code = f" {self.error_code}" if self.error_code else ""
        # Each of the API's words is bounded, but an error code of 100 characters beside
        # a message of 500 and a query id would still make a line longer than the 600
        # every error promises: the message gets what the rest of the line leaves it.
        frame = f"OVH API {method} {path} failed: {status}{code}: "
        room = ERROR_LIMIT - len(frame) - len(_query_id_note(query_id))
        text = one_line(self.api_message or "no message", max(room, WORD_LIMIT))
        super().__init__(
            frame + text,
            hint=hint or self._hint_for(method, path),
            method=method,
            path=path,
            query_id=query_id,
        )

    def _hint_for(self, method: str, path: str) -> str | None:
        return self.default_hint


class BadRequest(HttpError):
    default_hint = "the request was refused as malformed; run with --debug and report it"


class InvalidSignature(BadRequest):
    default_hint = (
        "the application secret does not match the application key, or the local clock "
        "is far off; check OVH_APPLICATION_SECRET"
    )


class QueryTimeOut(BadRequest):
    default_hint = (
        "the request's timestamp was out of the API's window: reconciler signs with the "
        "API's clock (GET /auth/time), so the local clock jumped during the run or a proxy "
        "answered /auth/time; check NTP and proxies, and run again"
    )


class Unauthorized(HttpError):
    default_hint = "check the credentials (OVH_APPLICATION_KEY, OVH_CONSUMER_KEY or ovh.conf)"


class InvalidKey(Unauthorized):
    default_hint = (
        "the application key is unknown to this endpoint; check OVH_APPLICATION_KEY and "
        "that the endpoint is the one the key was created on"
    )


class InvalidCredential(Unauthorized):
    default_hint = (
        "the consumer key is unknown, expired or not validated yet; request one with "
        "`reconciler credentials request` and open its validation URL"
    )


class NotCredential(Unauthorized):
    default_hint = (
        "the consumer key is missing, or unknown to this application key on this endpoint "
        "(a consumer key belongs to the application that requested it); request one with "
        "`reconciler credentials request` and set OVH_CONSUMER_KEY"
    )


class NotGrantedCall(Unauthorized):
    def _hint_for(self, method: str, path: str) -> str | None:
        return (
            f"the consumer key has no access rule for {method} {route_pattern(path)}; "
            "request a key with that rule (`reconciler credentials request --role apply`)"
        )


class Forbidden(Unauthorized):
    pass


class NotFound(HttpError):
    default_hint = "the service or route does not exist on this account"


class RouteNotFound(NotFound):
    """A 404 whose message says the URL itself is unknown ("Got an invalid (or empty)
    URL"): the endpoint has no such route. It never says a service is gone
    (docs/control-panel.md §6, §8.24)."""

    default_hint = (
        "the endpoint has no such route: the URL is not the one meant (a name that does "
        "not survive as one URL segment?) or the endpoint is not the OVH API; nothing was "
        "changed by this call"
    )


# The words of OVH's answer for a route it does not have (docs/control-panel.md §6).
MISSING_ROUTE_WORDS = "Got an invalid (or empty) URL"


class Conflict(HttpError):
    default_hint = "the service is in a state that does not allow this; plan again"


class ServiceExpired(HttpError):
    default_hint = "the service is expired; it cannot be changed any more"


class RateLimited(HttpError):
    retryable = True
    default_hint = "the API is rate limiting this key; wait and run again, or lower --concurrency"


class ServerError(HttpError):
    retryable = True
    default_hint = "the OVH API is failing; run again later (the run is safe to repeat)"


# One table from (status, errorCode) to error class; errorCode wins over status.
_BY_ERROR_CODE: dict[str, type[HttpError]] = {
    "INVALID_SIGNATURE": InvalidSignature,
    "QUERY_TIME_OUT": QueryTimeOut,
    "INVALID_KEY": InvalidKey,
    "INVALID_CREDENTIAL": InvalidCredential,
    "NOT_CREDENTIAL": NotCredential,
    "NOT_GRANTED_CALL": NotGrantedCall,
    "FORBIDDEN": Forbidden,
}
_BY_STATUS: dict[int, type[HttpError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
    460: ServiceExpired,
}


def http_error_class(status: int, error_code: str | None, message: str = "") -> type[HttpError]:
    """The error class for an API error answer (the one mapping table); a 404 is a
    missing route when its message says so (``MISSING_ROUTE_WORDS``)."""
    if error_code and error_code in _BY_ERROR_CODE:
        return _BY_ERROR_CODE[error_code]
    if status == 404 and MISSING_ROUTE_WORDS.lower() in message.lower():
        return RouteNotFound
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return HttpError


MESSAGE_LIMIT = 500  # characters of a message that comes from outside (an API's)
WORD_LIMIT = 100  # of an error code, an error class or a query id from outside
ERROR_LIMIT = 600  # characters of the line of an error that quotes an API's words
IAM_ACTIONS_LIMIT = 50  # missing IAM actions named in one error (OVH names one or two)

# ``details`` keys of a 403 naming the IAM actions a call lacks, in go-ovh's order.
IAM_DETAILS = ("unauthorizedActionsByAuthentication", "unauthorizedActionsByIAM")


def missing_iam_actions(details: Mapping[str, Any]) -> tuple[str, ...]:
    """The IAM actions an error answer's ``details`` name as missing, in go-ovh's order
    (authentication, then IAM), each once; OVH sends each as a string (``"vps:apiovh:
    reboot"``, several comma-separated), a list is read too; empty values are left out."""
    found: dict[str, None] = {}  # ordered, and linear to test: an API may send millions
    for key in IAM_DETAILS:
        value = details.get(key)
        items = value if isinstance(value, list) else [value]
        for item in items:
            if not isinstance(item, str):
                continue
            for action in item[: IAM_ACTIONS_LIMIT * 200].split(","):
                action = one_line(action, 200)
                if action:
                    found.setdefault(action, None)
                if len(found) >= IAM_ACTIONS_LIMIT:
                    return tuple(found)
    return tuple(found)


class InvalidValue(ValueError):
    """A text a parser cannot read as its value: ``message`` says what is wrong, ``fix``
    what to write instead (see the module docstring)."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(f"{message} — {fix}")
        self.message = message
        self.fix = fix


QUOTED_LIMIT = 40  # characters of a bad value echoed back in a message


def quoted(text: str) -> str:
    """``text`` as a message quotes the value it refuses: ``repr``, cut short so that a
    hostile value cannot flood the message."""
    if len(text) > QUOTED_LIMIT:
        text = text[: QUOTED_LIMIT - 1] + "…"
    return repr(text)


def _query_id_note(query_id: str | None) -> str:
    """How a message names the query id of its answer, once bounded (``one_line``)."""
    return f" (query id {one_line(query_id, WORD_LIMIT)})" if query_id else ""


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` from outside on one line: every run of whitespace (newlines included)
    becomes one space, every other character that does not print is escaped
    (``\\x1b``, ``\\u202e``), and it is cut at ``limit`` characters.

    An API's words reach a terminal and CI logs: an ANSI escape could clear the screen
    or retitle the window, a right-to-left override or a zero-width character make the
    line read as something else. Only a bounded head of ``text`` is looked at (an error
    body may be megabytes)."""
    flat = " ".join(text[: max(limit * 8, 4096)].split())
    if not flat.isprintable():
        flat = "".join(char if char.isprintable() else _escaped(char) for char in flat)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _escaped(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def route_pattern(path: str) -> str:
    """The access-rule pattern for a concrete path, for hints: ``/services/123/terminate``
    → ``/services/*/terminate``, ``/hosting/web/www.example.com`` → ``/hosting/web/*``,
    any product's ``…/serviceInfos`` → ``/*/serviceInfos``.
    Ids (digits) and service names (they hold a dot) become ``*``; query strings go."""
    path = path.split("?", 1)[0]
    if path.endswith("/serviceInfos"):  # every product's renewal object: one rule
        return "/*/serviceInfos"
    parts = ["*" if part.isdigit() or "." in part else part for part in path.split("/")]
    return "/".join(parts)
