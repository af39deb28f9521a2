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


class CommitmentEnd(StrEnum):
    """What happens when a renewed service's commitment (OVH "engagement") ends: the
    spec's ``commitment_end:``, one word per end strategy OVH offers
    (``services.billing.engagement.EndStrategyEnum``). Terminating the service then is
    not one of them: that is ``lifecycle: terminate_at_commitment_end`` (end strategy
    ``CANCEL_SERVICE``), so that one thing has one spelling."""

    RECOMMIT = "recommit"  # REACTIVATE_ENGAGEMENT: a new commitment of the same length
    KEEP_PRICE = "keep_price"  # STOP_ENGAGEMENT_KEEP_PRICE: no commitment, same price
    DEFAULT_PRICE = "default_price"  # STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE: list price

    @property
    def strategy(self) -> str:
        """The API's end strategy for this choice."""
        return _STRATEGY_OF[self]

    @classmethod
    def of_strategy(cls, strategy: str) -> CommitmentEnd | None:
        """The spec's word for an API end strategy; None for ``CANCEL_SERVICE`` (a
        lifecycle, not a ``commitment_end``) and for a strategy this release does not know."""
        return _END_OF_STRATEGY.get(strategy)


_STRATEGY_OF = {
    CommitmentEnd.RECOMMIT: "REACTIVATE_ENGAGEMENT",
    CommitmentEnd.KEEP_PRICE: "STOP_ENGAGEMENT_KEEP_PRICE",
    CommitmentEnd.DEFAULT_PRICE: "STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE",
}
_END_OF_STRATEGY = {strategy: end for end, strategy in _STRATEGY_OF.items()}
