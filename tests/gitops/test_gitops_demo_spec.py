"""The shared demo spec (``tests/demo_spec.py``) is what its docstring says: on the demo
account, each of the five services plans a change, every kind apply makes, none refused,
so the tests built on it keep their intent if the demo account changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from demo_spec import FIVE_SERVICES, demo_spec
from gitops_helpers import isolated
from sandbox_env import cli

__all__ = ["isolated"]  # the fixture, imported for pytest


def test_the_demo_spec_plans_every_kind_of_change_and_no_refusal(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("spec.yaml").write_text(demo_spec(endpoint="sandbox"), encoding="utf-8")
    result = cli(capsys, "plan", "spec.yaml", "--format", "json")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert plan["refused"] == []
    kinds = {a["service"]: a["action"] for a in plan["actions"]}
    assert list(kinds) == sorted(FIVE_SERVICES)
    assert kinds["example.net"] == "terminate_at_expiry"
    assert kinds["old-brand.fr"] == "cancel_termination"
    assert kinds["old-shop.example.org"] == "delete_now"
    assert kinds["vps-1a2b3c4d.vps.ovh.net"] == kinds["ns3012345.ip-51-75-10.eu"] == "set_renew"


def test_extra_lines_go_under_their_service_and_more_at_the_end() -> None:
    text = demo_spec(("old-brand.fr",), extra={"old-brand.fr": ("mode: manual",)}, more="  x:\n")
    assert text.endswith(
        "  old-brand.fr:\n    type: domain\n    lifecycle: renew\n    mode: manual\n  x:\n"
    )
    assert "endpoint:" not in text
