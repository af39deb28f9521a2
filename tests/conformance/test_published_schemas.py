"""The judge reads OVH's whole published language: every operation of every file of the
copy compiles (no type it cannot judge), and the bodies generated from every body type
are judged as generated — the valid one valid, each invalid one refused."""

from __future__ import annotations

import pytest

from conformance.bodies import invalid_bodies, valid_body
from conformance.operations import ApiSchemas


def test_every_operation_of_every_region_compiles(published: dict[str, ApiSchemas]) -> None:
    for region, schemas in published.items():
        assert schemas.operations, f"{region}: no operations"
        failures = [f"{op.key} ({op.source}): {error}" for op, error in schemas.compile_all()]
        assert failures == [], f"{region}: the translator cannot judge these"


def test_the_copy_holds_what_reconciler_and_the_sandbox_need(eu: ApiSchemas) -> None:
    for api in ("/services", "/me", "/auth", "/hosting/web"):
        if eu.covers(api) != api:
            pytest.fail(f"the copy has no eu file for {api}: fetch it (docs/conformance.md)")


def test_generated_bodies_are_judged_as_generated(eu: ApiSchemas) -> None:
    checked = 0
    for op in eu.operations:
        if op.method not in ("POST", "PUT"):
            continue
        valid = valid_body(eu, op)
        assert eu.body_violations(op, valid) == [], f"{op.key}: the valid body {valid!r}"
        for case in invalid_bodies(eu, op, valid):
            assert eu.body_violations(op, case.body) != [], f"{op.key}: {case.name} passes"
            checked += 1
    assert checked > 1000
