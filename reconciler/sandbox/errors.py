"""Errors of the sandbox, in one place.

    SandboxError                 base of everything the sandbox raises on purpose
    ├── ApiError                 an answer of the simulated OVH API: knows its wire format
    ├── SeedError                a seed file is invalid: names the file, line and problem
    └── StateError               a state database cannot be used (not ours, other seed...)

``ApiError`` is what the backend raises and the app serialises: an HTTP status, a body
``{"message", "errorCode"?, "httpCode"?, "class"?, "details"?}`` and extra headers (a
``Retry-After``). OVH answers with two body styles and so does the sandbox: the legacy
one (``errorCode`` + ``httpCode``: authentication errors) and the newer one (``class``:
most business errors). The constructors below are the only place messages are written,
so that every route answers the same error the same way.

Messages never hold a secret: they are built from ids, names and states only.

Where a public source shows what OVH answers, the constructor says which; the messages
no public source shows are the sandbox's own words, listed in ``docs/sandbox.md``
("Errors"). The errorCodes are those the official clients branch on
(``ovh/python-ovh``'s ``ovh/client.py``, ``Client.call``: ``NOT_GRANTED_CALL``,
``NOT_CREDENTIAL``, ``INVALID_KEY``, ``INVALID_CREDENTIAL``, ``FORBIDDEN``).
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any


class SandboxError(Exception):
    """Base of every error the sandbox raises on purpose."""


def _reason(status: int) -> str:
    if status == 460:
        return "Service Expired"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ApiError(SandboxError):
    """One error answer of the API, with everything needed to put it on the wire."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_code: str | None = None,  # legacy style: "INVALID_SIGNATURE", ...
        error_class: str | None = None,  # newer style: "Client::BadRequest", ...
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.error_code = error_code
        self.error_class = error_class
        self.details = dict(details) if details else None
        self.headers = dict(headers or {})

    def __str__(self) -> str:
        code = f" {self.error_code}" if self.error_code else ""
        return f"{self.status}{code}: {self.message}"

    def body(self) -> dict[str, Any]:
        """The JSON body OVH would send for this error."""
        body: dict[str, Any] = {}
        if self.error_class:
            body["class"] = self.error_class
        body["message"] = self.message
        if self.error_code:
            body["httpCode"] = f"{self.status} {_reason(self.status)}"
            body["errorCode"] = self.error_code
        if self.details:
            body["details"] = dict(self.details)
        return body


# --- authentication (legacy body style; messages as OVH words them) -----------------


def invalid_key() -> ApiError:
    # The message as users quote OVH's answer (e.g. the "Troubleshooting OVH" notes of
    # DNS updaters); errorCode INVALID_KEY as ovh/python-ovh branches on it.
    return ApiError(403, "This application key is invalid", error_code="INVALID_KEY")


def not_credential() -> ApiError:
    """The consumer key does not exist (or belongs to another application). The
    message as clients match it (OVH answers quoted next to "This credential is not
    valid"); errorCode NOT_CREDENTIAL from ovh/python-ovh."""
    return ApiError(403, "This credential does not exist", error_code="NOT_CREDENTIAL")


def invalid_credential() -> ApiError:
    """The consumer key exists but is not validated, was refused, or has expired.
    Body word for word as OVH sent it in ovh/php-ovh#56 and in the comments of
    UrielCh/ovh-java-sdk's ``ApiOvhCore.java``: ``{"errorCode":"INVALID_CREDENTIAL",
    "httpCode":"403 Forbidden","message":"This credential is not valid"}``."""
    return ApiError(403, "This credential is not valid", error_code="INVALID_CREDENTIAL")


def not_granted_call() -> ApiError:
    """No access rule of the key grants ``METHOD path``. The message is the one users
    quote from OVH for a key lacking a rule (``403 This call has not been granted``, in
    many public troubleshooting notes); the errorCode NOT_GRANTED_CALL is what
    ovh/python-ovh (``NotGrantedCall``) and UrielCh/ovh-java-sdk
    (``OvhErrorMessage.NOT_GRANTED_CALL``) branch on. Some captures show the newer body
    (``"class": "Client::Forbidden"``) for the same message; which style OVH sends today
    is not settled by a public source, so the sandbox keeps the legacy one the clients
    read the code from."""
    return ApiError(403, "This call has not been granted", error_code="NOT_GRANTED_CALL")


def iam_refused(actions: tuple[str, ...]) -> ApiError:
    """A key's IAM policy lacks the operation's actions (``iam.py``): the newer error
    style, the missing actions named in ``details`` as strings. Body as OVH's IAM guides
    show it (ovh/docs, "unauthorizedActionsByIAM": "vps:apiovh:reboot") and as
    ovh/go-ovh's ``error_test.go`` formats it."""
    return ApiError(
        403,
        "User not granted for this request",
        error_class="Client::Forbidden",
        details={
            "unauthorizedActionsByAuthentication": "",
            "unauthorizedActionsByIAM": ",".join(actions),
        },
    )


def invalid_signature() -> ApiError:
    # The legacy body of the API notes ("Errors"), quoted by users the same way.
    return ApiError(400, "Invalid signature", error_code="INVALID_SIGNATURE")


def query_time_out() -> ApiError:
    """The X-Ovh-Timestamp is too far from the API's clock. errorCode QUERY_TIME_OUT
    as UrielCh/ovh-java-sdk retries on it; the message has no public source."""
    return ApiError(400, "Query out of time", error_code="QUERY_TIME_OUT")


def login_required() -> ApiError:
    """A signed route called without X-Ovh-Consumer / X-Ovh-Signature / timestamp.
    The status and message are OVH's (ovh/go-ovh#70: "a 401: You must login first");
    the errorCode is inferred."""
    return ApiError(401, "You must login first", error_code="NOT_CREDENTIAL")


# --- routing and parameters (newer body style) -----------------------------------


def no_route() -> ApiError:
    # ``Client::NotFound: "Got an invalid (or empty) URL"``: the API notes, and the
    # answer Terraform provider users quote for a route an endpoint lacks.
    return ApiError(404, "Got an invalid (or empty) URL", error_class="Client::NotFound")


def bad_request(message: str, **details: Any) -> ApiError:
    return ApiError(400, message, error_class="Client::BadRequest", details=details or None)


def not_found(message: str) -> ApiError:
    return ApiError(404, message, error_class="Client::NotFound")


def service_not_found(service_id: int) -> ApiError:
    # OVH's pattern "The requested object (id = 10884320) does not exist", as
    # UrielCh/ovh-java-sdk's ApiOvhCore.java matches it; the key named is the route's.
    return not_found(f"The requested object (serviceId = {service_id}) does not exist")


def legacy_service_not_found() -> ApiError:
    # Word for word as UrielCh/ovh-java-sdk's ApiOvhCore.java matches OVH's answer.
    return ApiError(404, "This service does not exist", error_class="Client::NotFound")


def service_terminated(service_id: int) -> ApiError:
    """A change to a terminated service still listed in its retention period (the
    status and words are the sandbox's: OVH does not document them)."""
    return ApiError(
        400, f"The service {service_id} is terminated", error_class="Client::BadRequest"
    )


def conflict(message: str) -> ApiError:
    return ApiError(409, message, error_class="Client::Conflict")


def forbidden(message: str) -> ApiError:
    return ApiError(403, message, error_class="Client::Forbidden")


def service_expired() -> ApiError:
    """460: the answer OVH gives to calls on an expired service. The message word for
    word as clients match it: UrielCh/ovh-java-sdk's ApiOvhCore.java
    (``"This service is expired".equals(message)``); the 460 status is ovh/python-ovh's
    ``ResourceExpiredError``."""
    return ApiError(460, "This service is expired")


# --- injected faults --------------------------------------------------------------

_FAULT_BODIES: dict[int, tuple[str, str]] = {
    429: ("Client::TooManyRequests", "Too many requests, slow down"),
    500: ("Server::InternalServerError", "Internal server error"),
    502: ("Server::BadGateway", "Bad gateway"),
    503: ("Server::ServiceUnavailable", "Service temporarily unavailable"),
    504: ("Server::GatewayTimeout", "Gateway timeout"),
}


def injected_fault(status: int, *, retry_after: int | None = None) -> ApiError:
    error_class, message = _FAULT_BODIES.get(status, ("Server::Error", _reason(status)))
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return ApiError(status, message, error_class=error_class, headers=headers)


# --- files and state ------------------------------------------------------------


class SeedError(SandboxError):
    """A seed is invalid. ``str(err)`` is one line: ``file:line:column: problem``."""

    def __init__(
        self, file: str, problem: str, *, line: int | None = None, column: int | None = None
    ) -> None:
        self.file = file
        self.problem = problem
        self.line = line
        self.column = column
        where = file
        if line is not None:
            where += f":{line}" + (f":{column}" if column is not None else "")
        super().__init__(f"{where}: {problem}")


class StateError(SandboxError):
    """A sandbox state database cannot be used as asked."""
