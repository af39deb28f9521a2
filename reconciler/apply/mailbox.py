"""The account's e-mail history, where OVH sends a deletion's confirmation token.

``POST /hosting/web/{name}/terminate`` e-mails the account a link
``https://.../billing/confirmTerminate?id=<serviceId>&token=<token>``; the e-mail also
lands in ``GET /me/notification/email/history`` (ids) and
``GET /me/notification/email/history/{id}`` (``{id, date, subject, body}``).

``confirmation_token(email, service_id=..., name=...)`` (pure) finds the token in one
e-mail: the e-mail must name the service, and hold a ``confirmTerminate`` link whose
``id`` (when it has one) is the service's. ``Mailbox`` reads the history for the
deletions of one run: each e-mail is read once (concurrent deletions share the reads),
only ids above the point a deletion started from are considered, and the newest
matching e-mail wins.
"""

from __future__ import annotations

import asyncio
import html
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from reconciler.errors import ApiError
from reconciler.ovh.client import OvhClient

HISTORY = "/me/notification/email/history"
_LINK = re.compile(r"[^\s\"'<>()]*confirmTerminate\?[^\s\"'<>()]+")
_TOKEN = re.compile(r"[A-Za-z0-9._~\-]{8,512}")


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A confirmation e-mail found for a service (the token is a secret: not in repr)."""

    email_id: int
    token: str = field(repr=False)
    date: str | None = None


def confirmation_token(email: Any, *, service_id: int, name: str) -> str | None:
    """The token of ``email`` if it is the confirmation of ``service_id`` / ``name``."""
    if not isinstance(email, dict):
        return None
    body = email.get("body")
    subject = email.get("subject")
    if not isinstance(body, str):
        return None
    text = html.unescape(body)
    if not _names(text, name) and not (isinstance(subject, str) and _names(subject, name)):
        return None
    for link in _LINK.findall(text):
        query = parse_qs(link.split("?", 1)[1].rstrip(".,;:!"))
        ids = query.get("id")
        if ids and ids[0].strip() != str(service_id):
            continue
        tokens = query.get("token")
        if tokens and _TOKEN.fullmatch(tokens[0]):
            return str(tokens[0])
    return None


def _names(text: str, name: str) -> bool:
    """Whether ``text`` names ``name`` as a whole (``shop.example.com`` does not name
    ``example.com``)."""
    pattern = r"(?<![A-Za-z0-9.\-])" + re.escape(name) + r"(?![A-Za-z0-9\-]|\.[A-Za-z0-9])"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None


class Mailbox:
    def __init__(self, client: OvhClient) -> None:
        self._client = client
        self._emails: dict[int, Any] = {}
        self._lock = asyncio.Lock()

    async def ids(self) -> list[int]:
        answer = await self._client.get(HISTORY)
        if not isinstance(answer, list) or not all(
            isinstance(item, int) and not isinstance(item, bool) for item in answer
        ):
            raise ApiError(
                f"OVH API GET {HISTORY} answered an unexpected shape: a list of ids was expected",
                hint="run with --debug and report it",
                method="GET",
                path=HISTORY,
            )
        return answer

    async def highest_id(self) -> int:
        """The newest e-mail's id (0 when there is none): a deletion looks only above it."""
        return max(await self.ids(), default=0)

    async def look(self, *, service_id: int, name: str, after: int) -> Confirmation | None:
        """One look at the history: the newest confirmation of the service above ``after``."""
        async with self._lock:
            fresh = sorted(i for i in await self.ids() if i > after and i not in self._emails)
            if fresh:
                paths = [f"{HISTORY}/{email_id}" for email_id in fresh]
                answers = await self._client.read_each(paths)
                for email_id, path in zip(fresh, paths, strict=True):
                    self._emails[email_id] = answers[path]
        for email_id in sorted((i for i in self._emails if i > after), reverse=True):
            email = self._emails[email_id]
            token = confirmation_token(email, service_id=service_id, name=name)
            if token is not None:
                date = email.get("date") if isinstance(email, dict) else None
                return Confirmation(email_id, token, date if isinstance(date, str) else None)
        return None
