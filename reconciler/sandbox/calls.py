"""The sandbox's request log: every ``/1.0`` request, what became of it, and whether it
changed the account.

It answers the questions a reliability test asks of a client from the server's side,
where no client bug can hide the answer: how many times was each mutating call sent,
which of those sends *took effect*, and did any of them change nothing because the
account already showed the change (a redundant, doubled call)?

Each entry (``LoggedCall``) says:

- ``fault``: ``"error"`` when an injected fault answered *instead of* the request (it
  was never processed: nothing changed), ``"drop"`` when the request was processed and
  the connection then dropped half-way through the answer (the change *was* made, the
  client could not know), ``None`` otherwise;
- ``applied``: the request was processed and answered below 300: for a mutating call,
  it took effect;
- ``changes``: for a mutating call that was processed, what differs on the account
  after it: ``{dotted field: [before, after]}`` of the service as ``GET /services/{id}``
  shows it (``service``: ``[{...}, null]`` style leaves when it is gone) and ``emails``
  (the number sent); empty when the call changed nothing — a redundant call, the
  account already showed it; ``None`` for reads and for requests never processed;
- ``service_id``: the service the route names (``/services/{id}...``, or a legacy
  ``/{route}/{serviceName}/...`` resolved to its id), else ``None``;
- ``credential_id`` and ``user_agent``: who sent it. Never a key, a secret, a
  signature or a body: the log holds nothing a client would have to hide.

The log is in memory, bounded (the newest ``capacity`` entries), cleared by
``POST /sandbox/reset``, and read with ``GET /sandbox/requests?since=SEQ``
(``DELETE /sandbox/requests`` clears it).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

DEFAULT_CAPACITY = 100_000
_USER_AGENT_SHOWN = 80  # characters kept of a User-Agent


@dataclass(frozen=True, slots=True)
class LoggedCall:
    seq: int  # 1, 2, ... in the order the requests were answered
    method: str
    path: str  # under /1.0, without the query string
    status: int
    fault: str | None = None  # "error" | "drop" | None
    applied: bool = False
    changes: dict[str, list[Any]] | None = None
    service_id: int | None = None
    credential_id: int | None = None
    user_agent: str | None = None

    @property
    def mutating(self) -> bool:
        return self.method in ("PUT", "POST", "DELETE")

    @property
    def changed(self) -> bool | None:
        """Whether a processed mutating call changed the account (None: not one)."""
        return None if self.changes is None else bool(self.changes)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "changed": self.changed}


class CallLog:
    """A bounded, thread-safe log of API requests (see the module docstring)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._entries: deque[LoggedCall] = deque(maxlen=capacity)
        self._next = 1
        self._lock = threading.Lock()

    def add(
        self,
        *,
        method: str,
        path: str,
        status: int,
        fault: str | None = None,
        applied: bool = False,
        changes: dict[str, list[Any]] | None = None,
        service_id: int | None = None,
        credential_id: int | None = None,
        user_agent: str | None = None,
    ) -> LoggedCall:
        with self._lock:
            entry = LoggedCall(
                seq=self._next,
                method=method,
                path=path,
                status=status,
                fault=fault,
                applied=applied,
                changes=changes,
                service_id=service_id,
                credential_id=credential_id,
                user_agent=user_agent[:_USER_AGENT_SHOWN] if user_agent else None,
            )
            self._next += 1
            self._entries.append(entry)
            return entry

    def since(self, seq: int = 0) -> list[LoggedCall]:
        """The entries after ``seq`` still held, oldest first."""
        with self._lock:
            return [entry for entry in self._entries if entry.seq > seq]

    def clear(self) -> None:
        """Forget every entry (numbering goes on, so ``since`` never sees one twice)."""
        with self._lock:
            self._entries.clear()

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._next - 1
