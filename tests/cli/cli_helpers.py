"""What the command tests of this folder share: a working directory cleared of the
user's OVH and reconciler settings (the embedded sandbox's state in it), the CLI run in
process with its exit code and output, the specs they plan on the embedded sandbox's
demo account, and the scripted terminal and standard input that apply is driven with."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from demo_spec import demo_spec
from sandbox_env import Result, cli, isolate

from reconciler.cli.apply_terminal import LineProgress

__all__ = [
    "DELETE_OLD_SHOP",
    "RENEW_CAMPAIGN",
    "READ_ALL_KEYS",
    "RENEW_EXAMPLE_COM",
    "TERMINATE_AND_DELETE",
    "TERMINATE_AND_REFUSED",
    "TERMINATE_EXAMPLE_NET",
    "Result",
    "ScriptedIO",
    "clean_workdir",
    "cli",
    "error_lines",
    "pending",
    "piped",
    "seeded_account",
]


def clean_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **files: str) -> Path:
    """``tmp_path`` as the current directory, with no ``OVH_*``/``RECONCILER_*`` setting
    of the user's, a home and a sandbox state of its own, and ``files`` written in it
    (``name_yaml="..."`` writes ``name.yaml``)."""
    isolate(tmp_path, monkeypatch)
    for key, text in files.items():
        (tmp_path / key.replace("_yaml", ".yaml")).write_text(text, encoding="utf-8")
    return tmp_path


def error_lines(result: Result) -> list[str]:
    """The ``error:`` lines of a run's standard error."""
    return [line for line in result.err.splitlines() if line.startswith("error:")]


def pending(capsys: pytest.CaptureFixture[str], spec: str = "changes.yaml") -> int:
    """How many changes ``reconciler plan SPEC`` still sees."""
    shown = cli(capsys, "plan", spec, "--format", "json")
    assert shown.code == 0, shown.err
    return sum(1 for a in json.loads(shown.out)["actions"] if a["action"] != "no_op")


def piped(monkeypatch: pytest.MonkeyPatch, text: str) -> io.BytesIO:
    """``text`` as the command's standard input; the bytes behind it, to see what was read."""
    raw = io.BytesIO(text.encode("utf-8"))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(raw, encoding="utf-8"))
    return raw


@dataclass
class ScriptedIO:
    """Apply's terminal, played by the test: ``answers`` typed in turn (then end of
    input), every question asked and every line shown kept to be read back."""

    answers: list[str]
    terminal: bool = True
    asked: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def interactive(self) -> bool:
        return self.terminal

    def ask(self, question: str) -> str | None:
        self.asked.append(question)
        return self.answers.pop(0) if self.answers else None

    def out(self, text: str) -> None:
        self.lines.append(text)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def progress(self) -> LineProgress:
        return LineProgress(self.out)


# Specs on the embedded sandbox's demo account, shared by the CLI tests.
TERMINATE_EXAMPLE_NET = demo_spec(("example.net",), endpoint="sandbox")
DELETE_OLD_SHOP = demo_spec(("old-shop.example.org",), endpoint="sandbox")
TERMINATE_AND_DELETE = demo_spec(("example.net", "old-shop.example.org"), endpoint="sandbox")
# example.com as the demo account has it: a plan of this spec changes nothing.
RENEW_EXAMPLE_COM = """\
version: 1
endpoint: sandbox
unmanaged: ignore
services:
  example.com:
    type: domain
    lifecycle: renew
    period: P12M
"""
# campaign-2025.example.com ends within 24 hours on the demo account: renewing it is
# refused (cancel-window-closed), and nothing of a plan that asks it is applied.
CAMPAIGN_ENTRY = "  campaign-2025.example.com:\n    type: hosting/web\n    lifecycle: renew\n"
RENEW_CAMPAIGN = demo_spec((), endpoint="sandbox", more=CAMPAIGN_ENTRY)
TERMINATE_AND_REFUSED = TERMINATE_EXAMPLE_NET + CAMPAIGN_ENTRY


# The services an account seeded for the ``services`` command tests may hold, by id, as
# the sandbox's seed writes them: each test's account picks its own.
SEEDED_SERVICES: dict[int, dict[str, Any]] = {
    120000101: {"name": "example.com", "route": "/domain", "id": 120000101,
                "expires": "2027-03-01T00:00:00Z",
                "renew": {"mode": "automatic", "period": "P12M"}},
    120000201: {"name": "example.com", "route": "/hosting/web", "id": 120000201,
                "expires": "2027-03-01T00:00:00Z",
                "renew": {"mode": "automatic", "period": "P12M"},
                "parent": {"name": "example.com", "route": "/domain"}},
    120000202: {"name": "old-shop.example.org", "route": "/hosting/web", "id": 120000202,
                "expires": "2026-06-01T12:00:00Z",
                "renew": {"mode": "automatic", "period": "P1M"}, "termination": "at_expiry"},
    120000301: {"name": "vps-1a2b3c4d.vps.ovh.net", "route": "/vps", "id": 120000301,
                "expires": "2026-04-01T00:00:00Z", "renew": {"mode": "manual", "period": "P1M"}},
    120000801: {"name": "ns1234567.ip-1-2-3.eu", "route": "/dedicated/server", "id": 120000801,
                "expires": "2026-04-01T00:00:00Z",
                "renew": {"mode": "automatic", "period": "P1M"},
                "engagement_ends": "2026-09-01T00:00:00Z", "termination": "at_engagement"},
    120000105: {"name": "forgotten.io", "route": "/domain", "id": 120000105,
                "expires": "2026-02-20T00:00:00Z",
                "renew": {"mode": "manual", "period": "P12M"}, "state": "expired"},
    120000601: {"name": "hosted-ab12345-1", "route": "/email/exchange", "id": 120000601,
                "organization": "hosted-ab12345-1", "expires": "2026-03-20T00:00:00Z",
                "renew": {"mode": "automatic", "period": "P1M"}},
}  # fmt: skip
# The key of a seeded account that may read everything, as (application key, application
# secret, consumer key).
READ_ALL_KEYS = ("it-ak", "it-as", "it-ck")


def seeded_account(*service_ids: int, rules: dict[str, str] | None = None) -> dict[str, Any]:
    """The seed of an account holding ``service_ids`` (of ``SEEDED_SERVICES``, in that
    order), readable with ``READ_ALL_KEYS``; ``rules`` adds a consumer key of the same
    application by name, with ``GET`` on only the path it maps to."""
    application_key, application_secret, consumer_key = READ_ALL_KEYS
    keys = {consumer_key: "/*", **(rules or {})}
    return {
        "credentials": [
            {
                "application_key": application_key,
                "application_secret": application_secret,
                "consumer_key": key,
                "rules": [{"method": "GET", "path": path}],
            }
            for key, path in keys.items()
        ],
        "services": [SEEDED_SERVICES[service_id] for service_id in service_ids],
    }
