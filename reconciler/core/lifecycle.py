"""The lifecycle vocabulary, said once: what a spec asks of a service, where a live
service stands, and what the diff compares.

Three roles, three enums, one module: ``Lifecycle`` is the spec's ``lifecycle:`` (what
should become of a service; for ``renew``, a ``RenewMode``); ``LiveLifecycle`` is where a
live service stands, derived as the control panel derives it (it has states no spec can
ask for: expired, being deleted, not understood); ``EssenceLifecycle`` is what both come
down to for the comparison, so that equal means in sync (``core.diff``; a wanted
``delete_now`` and an observed ``terminated`` are both ``deleted``). The renderers word
them (``render.wording``); ``docs/user-guide.md`` has the table of lifecycles and
``docs/control-panel.md`` the derivation.
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


class LiveLifecycle(StrEnum):
    """Where a service stands, derived as the control panel derives it
    (``derive_lifecycle``; docs/control-panel.md has the decision table)."""

    RENEW = "renew"  # automatic renewal, no termination pending
    MANUAL_RENEW = "manual_renew"  # renewal by hand: it expires unless paid
    TERMINATE_AT_EXPIRY = "terminate_at_expiry"  # terminated (data deleted) at expiry
    # Terminated at the end of its commitment: end rule CANCEL_SERVICE, or the policy
    # terminateAtEngagementDate; on ``lifecycle.current.terminationDate``.
    TERMINATE_AT_COMMITMENT_END = "terminate_at_commitment_end"
    EXPIRED = "expired"  # expired, not renewed (lifecycle state ``unrenewed``)
    BEING_DELETED = "being_deleted"  # resource toDelete: going (a retention period)
    TERMINATED = "terminated"  # terminated or its resource deleted: gone
    # A state reconciler does not recognise (``LiveService.not_understood`` says why):
    # never "in sync", every change refused (``state-not-understood``).
    NOT_UNDERSTOOD = "not_understood"


class EssenceLifecycle(StrEnum):
    """What the diff compares (``core.diff.Essence``): a wanted ``Lifecycle`` and an
    observed ``LiveLifecycle`` both come down to one of these, so that equal means in sync."""

    RENEW = "renew"
    MANUAL_RENEW = "manual_renew"  # a spec asks it with `lifecycle: renew` + `mode: manual`
    TERMINATE_AT_EXPIRY = "terminate_at_expiry"
    TERMINATE_AT_COMMITMENT_END = "terminate_at_commitment_end"
    DELETED = "deleted"
    # A live state reconciler does not understand: it equals no wanted essence, so a spec
    # entry naming such a service is always a change, refused (``state-not-understood``).
    NOT_UNDERSTOOD = "not_understood"


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
