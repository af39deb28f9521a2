"""The e-mails OVH sends about a service, as values: who gets them and what they say.

Pure: an ``Email`` is made here and kept by the store; the backend decides when one is
sent. OVH sends the termination token to the service's administrator contact (the
schema's words for ``confirmTermination``: "sent by mail to the admin contact"), so an
account that is not that contact never sees it in its e-mail history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox.clock import render_datetime

FIRST_EMAIL_ID = 7_340_001
CONFIRM_URL = "https://www.ovh.com/manager/#/billing/confirmTerminate?id={id}&token={token}"


@dataclass(frozen=True, slots=True)
class Email:
    """One e-mail sent. ``recipient`` is a NIC handle; None in a state from before
    e-mails had one: the account's own."""

    id: int
    date: int
    subject: str
    body: str
    service_id: int | None
    recipient: str | None

    @classmethod
    def from_row(cls, row: Any) -> Email:
        return cls(
            id=int(row["id"]),
            date=int(row["date"]),
            subject=str(row["subject"]),
            body=str(row["body"]),
            service_id=None if row["service_id"] is None else int(row["service_id"]),
            recipient=row["recipient"],
        )

    def to_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "date": self.date,
            "subject": self.subject,
            "body": self.body,
            "service_id": self.service_id,
            "recipient": self.recipient,
        }

    def sent_to(self, account: str) -> str:
        """Whose history holds it (``account``: the seed's, for a state without one)."""
        return self.recipient or account


def termination_request(
    *,
    email_id: int,
    now: int,
    recipient: str,
    service_id: int,
    name: str,
    description: str,
    token: str,
    expires: int,
) -> Email:
    """The confirmation link of an immediate termination, with its single-use token."""
    link = CONFIRM_URL.format(id=service_id, token=token)
    return Email(
        id=email_id,
        date=now,
        subject=f"[OVHcloud] Termination request for your service {name}",
        body=(
            "Hello,\n\n"
            f"We have received a request to terminate your service {name} "
            f"({description}, service id {service_id}) immediately.\n"
            "Terminating it deletes all of its data irreversibly and is not refunded.\n\n"
            "To confirm the termination, follow this link:\n"
            f"{link}\n\n"
            f"This link is valid until {render_datetime(expires)} and can be used once.\n"
            "If you did not ask for this termination, ignore this e-mail: the service "
            "stays as it is.\n\n"
            "The OVHcloud team\n"
        ),
        service_id=service_id,
        recipient=recipient,
    )


def terminated(
    *,
    email_id: int,
    when: int,
    recipient: str,
    service_id: int,
    name: str,
    reason: str,
    linked: Sequence[str] = (),
) -> Email:
    """The notice that a service (and the ``linked`` services with it) was terminated."""
    names = ", ".join(linked)
    taken = f"\nIts linked services were terminated with it: {names}.\n" if names else ""
    return Email(
        id=email_id,
        date=when,
        subject=f"[OVHcloud] Your service {name} has been terminated",
        body=(
            "Hello,\n\n"
            f"Your service {name} (service id {service_id}) has been terminated "
            f"because {reason}. Its data has been deleted.\n{taken}\n"
            "The OVHcloud team\n"
        ),
        service_id=service_id,
        recipient=recipient,
    )
