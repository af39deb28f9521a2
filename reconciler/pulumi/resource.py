"""``ServiceLifecycle``: one OVHcloud service's lifecycle as a Pulumi resource.

Its inputs are a spec entry's fields (``reconciler.pulumi.inputs``); its type is
``pulumi-python:dynamic/reconciler:ServiceLifecycle``. Declared by the program for each
service of a spec (``reconciler.pulumi.program``), or directly::

    from reconciler.pulumi.resource import ServiceLifecycle

    ServiceLifecycle("old-shop.example.org", lifecycle="delete_now", type="hosting/web",
                     endpoint="ovh-eu")

Deleting the resource stops managing the service; it never terminates it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi.dynamic

from reconciler.pulumi.inputs import (
    COMMITMENT_END,
    ENDPOINT,
    KEEP,
    LIFECYCLE,
    MODE,
    NAME,
    OUTPUTS,
    PERIOD,
    PROTECT,
    SERVICE,
    TYPE,
)
from reconciler.pulumi.provider import ServiceLifecycleProvider

TYPE_TOKEN = "pulumi-python:dynamic/reconciler:ServiceLifecycle"


class ServiceLifecycle(pulumi.dynamic.Resource, module="reconciler", name="ServiceLifecycle"):
    """What should become of one service: ``renew``, ``terminate_at_expiry``,
    ``terminate_at_commitment_end`` or ``delete_now`` (web hosting only), judged by
    reconciler's lifecycle rules."""

    # Inputs, as checked (defaults filled in).
    service: pulumi.Output[str]
    name: pulumi.Output[str]
    lifecycle: pulumi.Output[str]
    mode: pulumi.Output[str | None]
    period: pulumi.Output[str | None]
    commitment_end: pulumi.Output[str | None]  # recommit, keep_price, default_price
    type: pulumi.Output[str | None]
    protect: pulumi.Output[bool]
    endpoint: pulumi.Output[str]
    # Outputs, read from the account.
    service_id: pulumi.Output[int | None]
    service_type: pulumi.Output[str | None]
    expiry: pulumi.Output[str | None]  # UTC, "2027-03-01T00:00:00Z"
    live_lifecycle: pulumi.Output[str]  # renew, manual_renew, terminate_at_expiry... absent
    live_period: pulumi.Output[str | None]
    live_renew_mode: pulumi.Output[str | None]
    live_commitment_end: pulumi.Output[str | None]  # the end rule, in the spec's words
    commitment_ends: pulumi.Output[str | None]  # the commitment's end day, "2026-07-20"
    journal_run: pulumi.Output[str | None]  # the apply run that last changed the service

    def __init__(
        self,
        resource_name: str,
        *,
        lifecycle: pulumi.Input[str],
        name: pulumi.Input[str] | None = None,
        service: pulumi.Input[str] | None = None,
        mode: pulumi.Input[str] | None = None,
        period: pulumi.Input[str] | None = None,
        commitment_end: pulumi.Input[str] | None = None,
        type: pulumi.Input[str] | None = None,  # noqa: A002 - the spec's own word
        protect: pulumi.Input[bool] | None = None,
        endpoint: pulumi.Input[str] | None = None,
        keep: Sequence[Mapping[str, str]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``resource_name`` is the entry's key (``service``) unless given, and its
        service's ``name`` unless given, as in a spec. ``endpoint`` defaults to the
        embedded ``sandbox``: a real account is only ever named explicitly. ``keep``
        lists the services the same spec keeps renewing (``[{"name", "type"}]``), for
        the ``linked-service-conflict`` rule."""
        props: dict[str, Any] = {
            SERVICE: service if service is not None else resource_name,
            NAME: name,
            LIFECYCLE: lifecycle,
            MODE: mode,
            PERIOD: period,
            COMMITMENT_END: commitment_end,
            TYPE: type,
            PROTECT: protect,
            ENDPOINT: endpoint,
            KEEP: [dict(item) for item in keep] if keep is not None else None,
        }
        props.update(dict.fromkeys(OUTPUTS))  # resolved from what the provider returns
        super().__init__(ServiceLifecycleProvider(), resource_name, props, opts)
