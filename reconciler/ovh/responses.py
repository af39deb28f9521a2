"""Turning API answers into values or into errors of ``reconciler.errors`` (pure).

Both error body styles are read: the legacy ``{"message", "httpCode", "errorCode"}`` and
the newer ``{"class", "message", "details"}``; a body that is not JSON (a proxy's HTML
502) still gives a clear error. The ``X-Ovh-Queryid`` header is kept in every error:
OVH support asks for it. Nothing from the request's headers ever enters a message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from reconciler.errors import ApiError, HttpError, http_error_class

QUERY_ID_HEADER = "X-Ovh-Queryid"
# Longest excerpt of a non-JSON error body kept in a message (a proxy's page title).
_EXCERPT = 80


def decode_json(
    content: bytes, *, status: int, method: str, path: str, query_id: str | None = None
) -> Any:
    """The JSON of a successful answer; None for 204 / an empty body. ``NaN`` and
    ``Infinity`` are not JSON (Python's reader would take them): refused, like any
    other body that is not JSON."""
    if status == 204 or not content.strip():
        return None
    try:
        return json.loads(content, parse_constant=_no_constant)
    except _NotJsonConstant as exc:
        problem = f"a body that is not JSON ({exc} is no JSON number)"
    except (ValueError, UnicodeDecodeError):
        problem = "a body that is not JSON"
    except RecursionError:  # "[[[[..." a hundred thousand deep: not an answer of OVH's
        problem = "JSON nested too deeply to be an answer of the OVH API"
    raise ApiError(
        f"OVH API {method} {path} answered {status} with {problem}",
        hint="check that the endpoint is an OVH API (--endpoint, OVH_ENDPOINT)",
        method=method,
        path=path,
        query_id=query_id,
    )


class _NotJsonConstant(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _NotJsonConstant(name)


def error_from_answer(
    *,
    status: int,
    reason: str,
    headers: Mapping[str, str],
    content: bytes,
    method: str,
    path: str,
    now: datetime,
) -> HttpError:
    """The error for an HTTP error answer (status >= 400)."""
    body = _json_or_none(content)
    message: str
    error_code: str | None = None
    error_class: str | None = None
    details: Mapping[str, Any] | None = None
    if isinstance(body, dict):
        message = _text(body.get("message")) or reason
        error_code = _text(body.get("errorCode")) or None
        error_class = _text(body.get("class")) or None
        raw_details = body.get("details")
        details = raw_details if isinstance(raw_details, dict) else None
    elif isinstance(body, str):
        message = body
    else:
        message = _non_json_message(status, reason, headers, content)
    query_id = headers.get(QUERY_ID_HEADER) or headers.get(QUERY_ID_HEADER.lower()) or None
    cls = http_error_class(status, error_code, message)
    hint = None
    if cls is HttpError:  # a status the table does not know: no better hint than this
        hint = "an unexpected answer of the OVH API; run with --debug and report it"
    return cls(
        message,
        status=status,
        method=method,
        path=path,
        error_code=error_code,
        error_class=error_class,
        query_id=query_id,
        details=details,
        retry_after=parse_retry_after(headers.get("Retry-After"), now),
        hint=hint,
    )


def _json_or_none(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _non_json_message(status: int, reason: str, headers: Mapping[str, str], content: bytes) -> str:
    """A proxy's HTML error page: say so, with its <title> when it has one."""
    if not content.strip():
        return reason or "error"
    kind = headers.get("content-type", "").split(";")[0].strip() or "no content type"
    text = content.decode("utf-8", errors="replace")
    title = ""
    lowered = text.lower()
    start = lowered.find("<title>")
    if start >= 0:
        end = lowered.find("</title>", start)
        if end > start:
            title = " ".join(text[start + 7 : end].split())[:_EXCERPT]
    what = f"{reason or 'error'} (a non-JSON answer, {kind}"
    return what + (f": {title!r})" if title else ")")


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000": RFC 9110 dates are GMT anyway
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)
