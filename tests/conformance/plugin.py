"""pytest plugin: every answer the sandbox gives during the test suite is judged by
OVH's published schemas, and a violation fails the test that caused it.

Registered from ``tests/conftest.py`` (``pytest_plugins``). The shared fixtures wrap
the sandbox apps they create (``sandbox_server``'s and ``sandbox_app``'s) with the
``sandbox_conformance`` fixture, which puts ``middleware.ConformanceChecked`` around
them. After each phase of a test (setup, call, teardown), the findings of its exchanges that no
known divergence (``known.py``) explains fail it, with the route, the field path and
what was expected. Without a copy of the schemas (``locate.py``) the apps are left as
they are and the summary says so in one line.

Validators are compiled once per session (each type on first use), so the cost is one
route lookup and one walk over each answer.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import replace
from typing import Any

import pytest

from conformance.known import explained
from conformance.locate import missing_reason, schema_folder
from conformance.middleware import ConformanceChecked, Exchange, Finding
from conformance.operations import ApiSchemas, load_regions

SANDBOX_REGION = "eu"  # the sandbox speaks as OVH Europe does


class Conformance:
    """The session's judge and what it found, test by test (thread-safe: the served
    sandbox answers from its own thread)."""

    def __init__(self, schemas: ApiSchemas | None, unavailable: str = "") -> None:
        self.schemas = schemas
        self.unavailable = unavailable
        self.judged = 0
        self.seconds = 0.0  # spent judging (request parsing and answer walking included)
        self.tolerated: Counter[str] = Counter()  # known divergence id -> occurrences
        self._pending: list[Finding] = []
        self._lock = threading.Lock()
        self._explained: dict[tuple[str, str, str], str | None] = {}  # the same field recurs

    def wrap(self, app: Any) -> Any:
        """``app`` judged on every ``/1.0`` exchange (as it is, without schemas)."""
        if self.schemas is None:
            return app
        return ConformanceChecked(app, self.schemas, self.report)

    def report(self, exchange: Exchange, findings: list[Finding], seconds: float) -> None:
        with self._lock:
            self.judged += 1
            self.seconds += seconds
            for finding in findings:
                unexplained = []
                for violation in finding.violations:
                    key = (finding.kind, finding.operation, violation.field)
                    if key not in self._explained:
                        divergence = explained(finding, violation)
                        self._explained[key] = divergence.id if divergence else None
                    known = self._explained[key]
                    if known is None:
                        unexplained.append(violation)
                    else:
                        self.tolerated[known] += 1
                if unexplained:
                    self._pending.append(replace(finding, violations=tuple(unexplained)))

    def take(self) -> list[Finding]:
        with self._lock:
            taken, self._pending = self._pending, []
        return taken


_KEY = pytest.StashKey[Conformance]()


def pytest_configure(config: pytest.Config) -> None:
    folder = schema_folder()
    regions = load_regions(folder) if folder is not None else {}
    schemas = regions.get(SANDBOX_REGION)
    unavailable = "" if schemas is not None else missing_reason()
    config.stash[_KEY] = Conformance(schemas, unavailable)


@pytest.fixture(scope="session")
def sandbox_conformance(pytestconfig: pytest.Config) -> Callable[[Any], Any]:
    """Wraps a sandbox app so that its answers are judged (``Conformance.wrap``)."""
    return pytestconfig.stash[_KEY].wrap


def _failure(findings: list[Finding]) -> str:
    lines = [f"the sandbox differs from OVH's published schemas ({len(findings)} answers):"]
    lines += [f"  {finding}" for finding in findings[:20]]
    if len(findings) > 20:
        lines.append(f"  and {len(findings) - 20} more")
    lines.append(
        "(docs/conformance.md; known differences are listed in tests/conformance/known.py)"
    )
    return "\n".join(lines)


def _judged_phase(item: pytest.Item, phase: str) -> Generator[None, Any, Any]:
    conformance = item.config.stash[_KEY]
    try:
        result = yield
    except BaseException:
        findings = conformance.take()
        if findings:
            item.add_report_section(phase, "conformance", _failure(findings))
        raise
    findings = conformance.take()
    if findings:
        pytest.fail(_failure(findings), pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _judged_phase(item, "setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _judged_phase(item, "call"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _judged_phase(item, "teardown"))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    conformance = config.stash.get(_KEY, None)
    if conformance is None:
        return
    if conformance.schemas is None:
        terminalreporter.write_line(f"conformance: answers not judged: {conformance.unavailable}")
        return
    tolerated = ", ".join(f"{k} x{v}" for k, v in sorted(conformance.tolerated.items()))
    terminalreporter.write_line(
        f"conformance: {conformance.judged} sandbox answers judged by OVH's schemas "
        f"in {conformance.seconds:.2f} s"
        + (f"; known divergences seen: {tolerated}" if tolerated else "")
    )
