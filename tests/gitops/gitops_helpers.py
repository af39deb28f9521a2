"""Helpers of the GitOps tests (import, credentials, CI recipes, examples): an isolated
working directory, sandbox seeds holding keys with exactly the
rules of a role, and a client factory that records every call made to the in-process sandbox.

No conftest.py here on purpose: other areas import ``conftest`` by name, and a second
one would shadow the shared fixtures of ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from fakes import FakeSleep, RecordingTransport

from reconciler.cli import GLOBAL_FLAGS, hoist_global_flags
from reconciler.cli import cli as root_command
from reconciler.clock import ManualClock
from reconciler.core.access import AccessRule, Role, rules_for
from reconciler.endpoints import Endpoint
from reconciler.ovh.client import OvhClient, ReadStrategy
from reconciler.ovh.credentials import SignatureCredentials
from reconciler.sandbox import demo_seed
from reconciler.sandbox.testing import InProcessSandbox

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EMBEDDED = Endpoint(name="sandbox", base_url="http://sandbox.invalid/1.0")
DEMO = SignatureCredentials(
    application_key="demo-ak", application_secret="demo-as", consumer_key="demo-ck"
)
# Consumer keys seeded by `seed_with_role_keys`, one per role.
ROLE_KEYS: Mapping[Role, str] = {Role.PLAN: "plan-role-ck", Role.APPLY: "apply-role-ck"}


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory of its own: its own state directory (embedded sandbox,
    journal), no OVH_* variables, no ovh.conf from the real home, no CI variables."""
    for name in list(os.environ):
        if name.startswith(("OVH_", "GITHUB_", "CI_", "RECONCILER_")) or name == "NO_COLOR":
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def use_key(monkeypatch: pytest.MonkeyPatch, consumer_key: str | None) -> None:
    """The demo application's keys in OVH_*, with ``consumer_key`` (None: unset)."""
    monkeypatch.setenv("OVH_APPLICATION_KEY", DEMO.application_key)
    monkeypatch.setenv("OVH_APPLICATION_SECRET", DEMO.application_secret)
    if consumer_key is None:
        monkeypatch.delenv("OVH_CONSUMER_KEY", raising=False)
    else:
        monkeypatch.setenv("OVH_CONSUMER_KEY", consumer_key)


def seed_with_keys(keys: Mapping[str, Iterable[AccessRule]]) -> dict[str, Any]:
    """The demo account's seed, plus a validated key of the demo application for each
    ``consumer key -> rules``."""
    seed = demo_seed().to_mapping()
    for consumer_key, rules in keys.items():
        seed["credentials"].append(
            {
                "application_key": DEMO.application_key,
                "application_secret": DEMO.application_secret,
                "consumer_key": consumer_key,
                "rules": [rule.as_json() for rule in rules],
            }
        )
    return seed


def seed_with_role_keys() -> dict[str, Any]:
    """The demo account with one key per role holding exactly ``rules_for(role)``."""
    return seed_with_keys({ck: rules_for(role) for role, ck in ROLE_KEYS.items()})


@dataclass
class Recorder:
    """A client factory over the in-process sandbox that records every call."""

    sandbox: InProcessSandbox
    transport: RecordingTransport = field(init=False)
    clock: ManualClock = field(init=False)

    def __post_init__(self) -> None:
        self.transport = RecordingTransport(httpx.ASGITransport(app=self.sandbox.app))
        self.clock = ManualClock(self.sandbox.clock.now())

    def client(self, strategy: ReadStrategy = ReadStrategy.AUTO) -> OvhClient:
        return OvhClient(
            EMBEDDED,
            DEMO,
            transport=self.transport,
            clock=self.clock,
            sleep=FakeSleep(),
            random=lambda: 0.5,
            read_strategy=strategy,
        )

    @property
    def calls(self) -> list[tuple[str, str]]:
        return self.transport.calls()


# --- command lines in recipes and docs ---------------------------------------------------

_COMMAND = re.compile(r"(?:^|[;&|(]|\bthen\b|\bdo\b|!)\s*(reconciler\s+[^;&|)\n]*)")
_REDIRECT = re.compile(r"\s\d*>{1,2}&?\s*\S+|\s<\s*\S+")


def reconciler_commands(script: str) -> list[list[str]]:
    """Every `reconciler ...` invocation of a shell script, as its arguments (after the
    program name), redirections and what follows a pipe or `||` left out."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        if line.lstrip().startswith("#"):
            continue
        for match in _COMMAND.finditer(line):
            command = _REDIRECT.sub("", match.group(1))
            found.append(shlex.split(command, comments=True)[1:])
    return found


def parse(argv: list[str]) -> click.Context:
    """Parse ``reconciler ARGV`` as the real CLI would, without running it: every option
    and argument is checked (names, values, choices, required ones)."""
    # Global flags may stand anywhere; the group takes them first (reconciler.cli).
    args = hoist_global_flags(argv)
    context = click.Context(root_command, info_name="reconciler")
    while args and args[0] in GLOBAL_FLAGS:
        args.pop(0)
    group: click.Group = root_command
    while True:
        name = args.pop(0)
        command = group.get_command(context, name)
        assert command is not None, f"no command {name!r}"
        if isinstance(command, click.Group):
            context = click.Context(command, info_name=name, parent=context)
            group = command
            continue
        return command.make_context(name, args, parent=context)
