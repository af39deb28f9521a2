"""The IAM actions of each role, derived from OVH's published schemas (never a hand
list): the committed ``reconciler/core/iam_actions.py`` is what
``scripts/derive_iam_actions.py`` writes from ``/work/shared/ovh-api-schemas/`` (or
``$OVH_API_SCHEMAS``) for the calls of the access table; the policy a user pastes."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.core.access import (
    GRANTS,
    Role,
    grants_for,
    iam_actions_for,
    iam_policy,
    secret_name,
)
from reconciler.core.iam_actions import IAM_ACTIONS

ROOT = Path(__file__).resolve().parents[2]


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "derive_iam_actions", ROOT / "scripts" / "derive_iam_actions.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("derive_iam_actions", module)
    spec.loader.exec_module(module)
    return module


def test_the_committed_actions_are_what_the_schemas_give_for_the_access_tables_calls() -> None:
    derive = script()
    folder = derive.default_folder()
    if not (folder / "eu-services.json").is_file():
        pytest.skip(f"OVH's published schemas are not at {folder} (set OVH_API_SCHEMAS)")
    expected = derive.render(derive.derive(derive.access_calls(), folder))
    committed = (ROOT / "reconciler" / "core" / "iam_actions.py").read_text(encoding="utf-8")
    assert committed == expected, (
        "reconciler/core/iam_actions.py drifted from the schemas or the access table: run "
        "`python scripts/derive_iam_actions.py` and commit its output"
    )


def test_a_call_the_schemas_do_not_have_is_an_error(tmp_path: Path) -> None:
    derive = script()
    (tmp_path / "eu-services.json").write_text(
        json.dumps(
            {
                "apis": [
                    {
                        "path": "/services",
                        "operations": [
                            {
                                "httpMethod": "GET",
                                "iamActions": [
                                    {"name": "account:apiovh:services/get", "required": True}
                                ],
                            }
                        ],
                    }
                ]
            }
        )  # fmt: skip
    )
    assert derive.derive(["GET /services"], tmp_path) == {
        "GET /services": ("account:apiovh:services/get",)
    }
    with pytest.raises(LookupError, match="PUT /services/{id}"):
        derive.derive(["GET /services", "PUT /services/{id}"], tmp_path)


def test_every_call_of_the_access_table_has_its_actions() -> None:
    calls = {call for grant in GRANTS for call in grant.calls}
    assert calls == set(IAM_ACTIONS)
    assert all(IAM_ACTIONS[call] for call in calls)


def test_each_role_gets_the_actions_of_exactly_its_calls() -> None:
    plan, apply = iam_actions_for(Role.PLAN), iam_actions_for(Role.APPLY)
    assert plan == (
        "account:apiovh:me/get",
        "account:apiovh:services/get",
        "account:apiovh:services/renewPeriodCapacities/get",
    )
    assert set(plan) < set(apply)
    expected = {a for g in grants_for(Role.APPLY) for c in g.calls for a in IAM_ACTIONS[c]}
    assert set(apply) == expected
    assert "webHosting:apiovh:terminate" in apply
    assert not any(a.endswith(("/edit", "terminate", "confirm")) for a in plan)  # read-only


def test_the_policy_to_paste_names_the_account_the_service_account_and_each_hosting() -> None:
    policy = iam_policy(
        Role.APPLY,
        endpoint="ovh-eu",
        account="xx1111-ovh",
        client_id="0123abcd",
        hostings=("old-shop.example.org",),
    )
    assert policy["identities"] == ["urn:v1:eu:identity:credential:xx1111-ovh/oauth2-0123abcd"]
    assert policy["resources"] == [
        {"urn": "urn:v1:eu:resource:account:xx1111-ovh"},
        {"urn": "urn:v1:eu:resource:webHosting:old-shop.example.org"},
    ]
    allowed = [entry["action"] for entry in policy["permissions"]["allow"]]
    assert allowed == list(iam_actions_for(Role.APPLY))
    plan = iam_policy(Role.PLAN, endpoint="ovh-ca")
    assert plan["resources"] == [{"urn": "urn:v1:ca:resource:account:ACCOUNT"}]  # no hosting
    assert plan["identities"] == ["urn:v1:ca:identity:credential:ACCOUNT/oauth2-CLIENT_ID"]
    assert iam_policy(Role.PLAN, endpoint="ovh-us")["resources"][0]["urn"].startswith("urn:v1:us:")


def test_credentials_rules_prints_the_policy_and_request_does_for_oauth2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    for key in ("OVH_APPLICATION_KEY", "OVH_APPLICATION_SECRET", "OVH_CONSUMER_KEY"):
        monkeypatch.delenv(key, raising=False)
    runner = CliRunner()
    shown = runner.invoke(
        cli,
        ["credentials", "rules", "--format", "iam", "--role", "apply", "--endpoint", "ovh-eu",
         "--account", "xx1111-ovh", "--client-id", "c1", "--hosting", "a.example.org"],
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) == iam_policy(
        Role.APPLY, endpoint="ovh-eu", account="xx1111-ovh", client_id="c1",
        hostings=("a.example.org",),
    )  # fmt: skip
    monkeypatch.setenv("OVH_ENDPOINT", "ovh-eu")
    monkeypatch.setenv("OVH_CLIENT_ID", "svc-client-7")
    monkeypatch.setenv("OVH_CLIENT_SECRET", "svc-secret-never-shown")
    asked = runner.invoke(cli, ["credentials", "request", "--role", "plan"])
    assert asked.exit_code == 0, asked.output
    assert "account:apiovh:services/get" in asked.output
    assert "oauth2-svc-client-7" in asked.output
    assert "svc-secret-never-shown" not in asked.output
    assert "Replace ACCOUNT" in asked.output
    refused = runner.invoke(cli, ["credentials", "rules", "--format", "iam"])
    assert refused.exit_code != 0
    assert "--format iam needs --role" in str(refused.exception)


def test_one_name_for_each_roles_consumer_key() -> None:
    assert secret_name(Role.PLAN) == "OVH_PLAN_CONSUMER_KEY"
    assert secret_name(Role.APPLY) == "OVH_APPLY_CONSUMER_KEY"
    text = (ROOT / "reconciler" / "cli" / "credentials.py").read_text(encoding="utf-8")
    assert "as OVH_CONSUMER_KEY in your CI" not in text
    for recipe in (ROOT / "examples" / "ci").rglob("*.y*ml"):
        words = recipe.read_text(encoding="utf-8")
        assert "OVH_PLAN_CONSUMER_KEY" in words or "OVH_APPLY_CONSUMER_KEY" in words, recipe
