"""Helpers of the Pulumi tests: a configured provider pointed at the sandbox server, the
official ``ovh`` client to check what the account became, and the CLI run in-process to
compare with what ``reconciler plan`` says.

No conftest.py here on purpose: other areas import ``conftest`` by name, and a second one
would shadow the shared fixtures of ``tests/conftest.py``. Fixtures are imported by the
test modules that use them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import SandboxServer
from pulumi.dynamic import Config, ConfigureRequest

from reconciler.journal import read_journal
from reconciler.pulumi.provider import ServiceLifecycleProvider

# Demo-account ids (reconciler/sandbox/demo.yaml).
EXAMPLE_COM_DOMAIN = 120000101
EXAMPLE_NET = 120000102
OLD_BRAND = 120000103
EXAMPLE_COM_HOSTING = 120000201
OLD_SHOP = 120000202
CAMPAIGN = 120000203
VPS = 120000301
DEMO_SECRETS = ("demo-as", "demo-ck")


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No OVH_* or RECONCILER_* variables from the machine, a working directory of the
    test's own (the journal and any embedded sandbox land there)."""
    for name in list(os.environ):
        if name.startswith(("OVH_", "RECONCILER_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@dataclass
class Stack:
    """A provider configured as Pulumi would configure it for a stack, and where its
    journal is."""

    provider: ServiceLifecycleProvider
    server: SandboxServer
    journal: Path

    def props(self, service: str, **fields: Any) -> dict[str, Any]:
        """Input properties of a ServiceLifecycle on the sandbox server's account."""
        return {"service": service, "endpoint": self.server.url, **fields}

    def checked(self, service: str, **fields: Any) -> dict[str, Any]:
        """The inputs Pulumi would pass on after ``check``; fails on any failure."""
        result = self.provider.check({}, self.props(service, **fields))
        assert [(f.property, f.reason) for f in result.failures] == []
        return result.inputs

    def records(self) -> list[Any]:
        return list(read_journal(self.journal, missing_ok=True).records)


def configured(raw: Mapping[str, Any]) -> ServiceLifecycleProvider:
    provider = ServiceLifecycleProvider()
    provider.configure(ConfigureRequest(Config(raw_config=dict(raw), project_name="reconciler")))
    return provider


def stack_config(server: SandboxServer, journal: Path, **more: str) -> dict[str, str]:
    return {
        "reconciler:applicationKey": server.application_key,
        "reconciler:applicationSecret": server.application_secret,
        "reconciler:consumerKey": server.consumer_key,
        "reconciler:journal": str(journal),
        **{f"reconciler:{key}": value for key, value in more.items()},
    }


@pytest.fixture
def stack(sandbox_server: SandboxServer, clean_environment: Path) -> Iterator[Stack]:
    journal = clean_environment / "journal.jsonl"
    yield Stack(configured(stack_config(sandbox_server, journal)), sandbox_server, journal)


def live(ovh_client: Any, service_id: int) -> dict[str, Any]:
    """``GET /services/{id}`` with the official client: what the account really is."""
    answer: dict[str, Any] = ovh_client.get(f"/services/{service_id}")
    return answer


def termination_pending(ovh_client: Any, service_id: int) -> bool:
    current = live(ovh_client, service_id)["billing"]["lifecycle"]["current"]
    return bool(
        current.get("terminationDate")
        or "terminateAtExpirationDate" in (current.get("pendingActions") or [])
    )
