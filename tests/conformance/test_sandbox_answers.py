"""The sandbox judged by OVH's published schemas: every ``/1.0`` route it serves exists
there, and every answer it gives, on every route, in several account states
(``scenarios.STATES``), is of the operation's response type — field names, types,
nullability, enums, date vs datetime.

Known differences (``known.py``) are tested apart, each a strict xfail: the day the
sandbox answers as OVH does, its test fails until the entry is removed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.known import KNOWN_DIVERGENCES, Divergence, explained
from conformance.middleware import Finding
from conformance.operations import ApiSchemas
from conformance.sandbox_routes import API_PREFIX, ServedRoute, served_routes
from conformance.scenarios import STATES, Record, drive

ROUTES = served_routes()


@pytest.fixture(scope="module")
def records(eu: ApiSchemas) -> dict[str, Record]:
    return {state: drive(state, eu) for state in STATES}


def _prefix(template: str) -> str:
    return template.split("{", 1)[0].rstrip("/") or template


@pytest.mark.parametrize("route", ROUTES, ids=[r.key for r in ROUTES])
def test_every_served_route_exists_in_the_schemas(eu: ApiSchemas, route: ServedRoute) -> None:
    if eu.covers(_prefix(route.template)) is None:
        pytest.skip(
            f"no file of the copy of OVH's schemas describes {route.template} "
            "(python -m tests.conformance.fetch_schemas fetches them all)"
        )
    operation = eu.find(route.method, route.template)
    assert operation is not None, (
        f"the sandbox serves {route.key} under {API_PREFIX}, which OVH does not publish"
    )


def test_the_route_table_is_read_as_ovh_templates() -> None:
    keys = {route.key for route in ROUTES}
    assert "POST /services/{id}/terminate/confirm" in keys
    assert "GET /hosting/web/{serviceName}/serviceInfos" in keys
    assert "GET /email/exchange/{organizationName}/service/{exchangeService}/serviceInfos" in keys
    assert all(route.template.startswith("/") for route in ROUTES)
    assert not any(route.template.startswith(("/sandbox", API_PREFIX)) for route in ROUTES)


def _unexplained(findings: Iterator[Finding]) -> list[str]:
    shown = []
    for finding in findings:
        left = [v for v in finding.violations if explained(finding, v) is None]
        if left:
            shown.append(f"{finding.kind}: {finding.method} {finding.path}: {left[0]}")
    return shown


def test_every_served_route_is_exercised(eu: ApiSchemas, records: dict[str, Record]) -> None:
    """The scenarios drive each route the schemas describe to a successful answer (so
    the other tests judge something on every one of them)."""
    answered = set()
    for record in records.values():
        for exchange, _ in record.exchanges:
            match = eu.match(exchange.method, exchange.path)
            if match is not None and exchange.status < 300:
                answered.add((exchange.method, match.operation.template))
    missing = [
        route.key
        for route in ROUTES
        if (operation := eu.find(route.method, route.template)) is not None
        and (operation.method, operation.template) not in answered
    ]
    assert missing == []


@pytest.mark.parametrize("state", list(STATES))
def test_every_answer_conforms(state: str, records: dict[str, Record]) -> None:
    record = records[state]
    assert len(record.exchanges) > 50, "the drive called the routes"
    problems = _unexplained(record.findings)
    assert problems == [], "\n".join(problems[:20])


@pytest.mark.parametrize(
    "divergence",
    [
        pytest.param(d, marks=pytest.mark.xfail(strict=True, reason=d.reason))
        for d in KNOWN_DIVERGENCES
    ],
    ids=[d.id for d in KNOWN_DIVERGENCES],
)
def test_known_divergence_is_gone(divergence: Divergence, records: dict[str, Record]) -> None:
    """Fails while the sandbox still answers this way (an expected failure); passes,
    and so fails strictly, once it answers as OVH does: then drop the entry."""
    seen = [
        f"{record.state}: {finding.method} {finding.path}: {violation}"
        for record in records.values()
        for finding in record.findings
        for violation in finding.violations
        if divergence.explains(finding, violation)
    ]
    assert seen == [], f"{len(seen)} answers still differ, e.g. {seen[0]}"
