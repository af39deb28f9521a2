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

import pytest
from demo_spec import demo_spec
from sandbox_env import Result, cli, isolate

from reconciler.cli.apply import LineProgress

__all__ = [
    "DELETE_OLD_SHOP",
    "IN_SYNC",
    "RENEW_CAMPAIGN",
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
# What the demo account already is: a plan of it changes nothing.
IN_SYNC = """\
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
