"""The lifecycle vocabulary: what a spec asks of a service, and how it is renewed.

One set of words for the whole product: the spec states a ``Lifecycle`` (and, for
``renew``, a ``RenewMode``); the live account, the diff, the plan and the renderers
speak of the same values (``docs/user-guide.md`` has the table of lifecycles).
"""

from __future__ import annotations

from enum import StrEnum


class Lifecycle(StrEnum):
    """What should become of a service (the spec's ``lifecycle:``)."""

    RENEW = "renew"  # keep renewing, no termination pending
    TERMINATE_AT_EXPIRY = "terminate_at_expiry"  # stop renewing; terminated at expiry
    # Terminated when its commitment (OVH "engagement") ends, on the commitment's end date.
    TERMINATE_AT_COMMITMENT_END = "terminate_at_commitment_end"
    DELETE_NOW = "delete_now"  # web hosting only: deleted at once, no refund


class RenewMode(StrEnum):
    """How a service of lifecycle ``renew`` is renewed (OVH's ``renew.mode``)."""

    AUTOMATIC = "automatic"  # renewed and billed at expiry, with no one's action
    MANUAL = "manual"  # renewed by hand: it expires unless someone pays
