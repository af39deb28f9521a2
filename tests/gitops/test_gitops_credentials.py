"""``reconciler credentials``, end to end on the sandbox server: a key requested per role,
validated as a user would (its validation URL), checked; plan, import and apply run with
keys holding exactly the rules of their role; an apply with a plan-only key fails naming
the rule it lacks. The consumer key appears once, on stdout, and in no log."""

from __future__ import annotations

import json
import logging
import re
import urllib.request
from pathlib import Path
from typing import Any

import ovh
import pytest
from cli_runs import error_lines
from demo_spec import FOUR_SERVICES, demo_spec
from gitops_helpers import ROLE_KEYS, isolated, seed_with_keys, seed_with_role_keys, use_key
from sandbox_env import cli

from reconciler.core.access import AccessRule, Role, rule_for_call, rules_for
from reconciler.sandbox.testing import SANDBOX_EPOCH, SandboxServer

__all__ = ["isolated"]  # the fixture, imported for pytest

# One change of each kind the apply role makes (and a manual renewal), no refusal.
EVERY_ACTION = demo_spec(FOUR_SERVICES, extra={"old-brand.fr": ("mode: manual",)})


@pytest.fixture
def server(sandbox_server: SandboxServer, isolated: Path) -> SandboxServer:
    """The sandbox server holding the demo account and one key per role."""
    sandbox_server.reset(seed_with_role_keys(), now=SANDBOX_EPOCH)
    return sandbox_server


def renew_of(official: ovh.Client, service_id: int) -> dict[str, Any]:
    current: dict[str, Any] = official.get(f"/services/{service_id}")["billing"]["renew"]["current"]
    return current


# --- request, validate, check ----------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_a_requested_key_holds_exactly_the_rules_of_its_role(
    role: Role,
    server: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    use_key(monkeypatch, None)  # no consumer key yet: only the application's
    caplog.set_level(logging.DEBUG)
    result = cli(
        capsys, "--debug", "credentials", "request", "--role", role.value, "--endpoint", server.url
    )
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    key_line = lines.index(
        f"Consumer key (secret: store it as OVH_{role.value.upper()}_CONSUMER_KEY in your "
        "CI's secret store; the job passes it to reconciler as OVH_CONSUMER_KEY):"
    )
    consumer_key = lines[key_line + 1].strip()
    assert len(consumer_key) >= 32 and consumer_key.isalnum()
    assert result.out.count(consumer_key) == 1, "the key is printed once"
    assert consumer_key not in result.err and consumer_key not in caplog.text
    assert "warning: the consumer key printed above is a secret" in result.err
    url = next(line.strip() for line in lines if "/auth/?credentialToken=" in line)
    assert url.startswith(server.root + "/auth/?credentialToken=")
    for rule in rules_for(role):
        assert str(rule) in result.out

    stored = server.backend._credential_view(consumer_key)  # what the API now holds
    assert stored is not None and stored.state == "pendingValidation"
    assert [AccessRule(m, p) for m, p in stored.rules] == list(rules_for(role))  # type: ignore[arg-type]

    use_key(monkeypatch, consumer_key)
    pending = cli(capsys, "credentials", "check", "--endpoint", server.url)
    assert pending.code == 1
    assert "INVALID_CREDENTIAL" in error_lines(pending)[0]

    with urllib.request.urlopen(url, timeout=10) as page:  # the user logs in and validates
        assert page.status == 200
    checked = cli(capsys, "credentials", "check", "--role", role.value, "--endpoint", server.url)
    assert checked.code == 0, checked.err
    assert f"Role {role.value}: grants exactly what it needs (least privilege)." in checked.out
    assert consumer_key not in checked.out + checked.err


def test_request_json_output_and_redirection(
    server: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_key(monkeypatch, None)
    result = cli(
        capsys,
        "credentials",
        "request",
        "--role",
        "apply",
        "--endpoint",
        server.url,
        "--format",
        "json",
        "--redirect",
        "https://github.com/acme/infra/settings/secrets/actions",
    )
    assert result.code == 0, result.err
    answer = json.loads(result.out)
    assert answer["role"] == "apply" and answer["state"] == "pendingValidation"
    assert answer["accessRules"] == [rule.as_json() for rule in rules_for(Role.APPLY)]
    with urllib.request.urlopen(answer["validationUrl"], timeout=10) as page:
        assert "github.com/acme/infra" in page.read().decode("utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "plan", "--redirect", "javascript:alert(1)"], "is not an http(s) URL"),
        (["--role", "plan", "--endpoint", "sandbox"], "embedded sandbox's keys cannot be"),
    ],
)
def test_request_refuses_what_cannot_work(
    args: list[str], message: str, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "credentials", "request", *args)
    assert result.code == 1
    assert len(error_lines(result)) == 1 and message in error_lines(result)[0]


def test_an_unknown_role_is_a_usage_error(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "credentials", "request", "--role", "admin")
    assert result.code == 1
    assert "Invalid value for '--role': 'admin' is not one of 'plan', 'apply'" in result.err


def test_request_with_an_unknown_application_key_is_one_clear_error(
    server: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_key(monkeypatch, None)
    monkeypatch.setenv("OVH_APPLICATION_KEY", "no-such-application")
    result = cli(capsys, "credentials", "request", "--role", "plan", "--endpoint", server.url)
    assert result.code == 1
    (error,) = error_lines(result)
    assert "POST /auth/credential failed: 403 INVALID_KEY" in error
    assert "query id SANDBOX." in error
    assert "hint: the application key is unknown to this endpoint" in result.err


def test_request_for_an_oauth2_client_gives_the_iam_policy_it_needs(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A service account has no consumer key: its rights are an IAM policy, printed for
    the role, with the actions of exactly the role's calls (tests/foundation/
    test_iam_actions.py derives them from the schemas)."""
    monkeypatch.setenv("OVH_CLIENT_ID", "client-id")
    monkeypatch.setenv("OVH_CLIENT_SECRET", "client-secret-value")
    result = cli(capsys, "credentials", "request", "--role", "plan", "--endpoint", "ovh-eu")
    assert result.code == 0, result.err
    assert "An OAuth2 service account has no consumer key" in result.out
    assert '"urn:v1:eu:identity:credential:ACCOUNT/oauth2-client-id"' in result.out
    assert "account:apiovh:services/get" in result.out
    assert "client-secret-value" not in result.out + result.err


def test_check_of_a_plan_key_against_the_apply_role_names_what_is_missing(
    server: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_key(monkeypatch, ROLE_KEYS[Role.PLAN])
    both = cli(capsys, "credentials", "check", "--endpoint", server.url)
    assert both.code == 0
    assert "Role plan: grants exactly what it needs (least privilege)." in both.out
    writes = (
        "PUT /services/*, PUT /*/serviceInfos, POST /hosting/web/*/terminate, "
        "POST /services/*/terminate/confirm, "
        "POST /services/*/terminate, POST /hosting/web/*/confirmTermination"
    )
    emails = "GET /me/notification/email/history, GET /me/notification/email/history/*"
    assert f"Role apply: MISSING {emails}, {writes}." in both.out
    apply = cli(capsys, "credentials", "check", "--role", "apply", "--endpoint", server.url)
    assert apply.code == 1
    assert error_lines(apply) == [
        f"error: the consumer key in use lacks 8 access rules role apply needs: {emails}, {writes}"
    ]
    use_key(monkeypatch, "demo-ck")  # full access: sufficient, not least
    full = cli(capsys, "credentials", "check", "--role", "plan", "--endpoint", server.url)
    assert full.code == 0
    assert "Role plan: grants what it needs, and more: GET /*, PUT /*, POST /*" in full.out


def test_rules_offline(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = cli(capsys, "credentials", "rules")
    assert table.code == 0
    assert len(table.out.splitlines()) == len(rules_for(Role.APPLY)) + 1
    as_json = cli(capsys, "credentials", "rules", "--role", "plan", "--format", "json")
    assert json.loads(as_json.out) == [rule.as_json() for rule in rules_for(Role.PLAN)]
    both = json.loads(cli(capsys, "credentials", "rules", "--format", "json").out)
    assert both == {r.value: [x.as_json() for x in rules_for(r)] for r in Role}


# --- the commands, run with exactly the rules of their role ------------------------------


def test_plan_services_and_import_work_with_the_plan_role_key(
    server: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_key(monkeypatch, ROLE_KEYS[Role.PLAN])
    Path("spec.yaml").write_text(EVERY_ACTION, encoding="utf-8")
    planned = cli(capsys, "plan", "spec.yaml", "--endpoint", server.url, "--detailed-exitcode")
    assert planned.code == 2, planned.err
    assert "Plan: 1 to terminate at expiry, 1 to cancel, 1 to delete now" in planned.out
    per_id = "RECONCILER_READ_STRATEGY"
    monkeypatch.setenv(per_id, "per-id")
    assert cli(capsys, "plan", "spec.yaml", "--endpoint", server.url).code == 0
    monkeypatch.delenv(per_id)
    assert cli(capsys, "services", "--endpoint", server.url).code == 0
    imported = cli(capsys, "import", "--endpoint", server.url, "--output", "prod.yaml")
    assert imported.code == 0, imported.err
    again = cli(capsys, "plan", "prod.yaml", "--detailed-exitcode")
    assert again.code == 0, again.out + again.err


def test_apply_works_with_the_apply_role_key(
    server: SandboxServer,
    ovh_client: ovh.Client,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_key(monkeypatch, ROLE_KEYS[Role.APPLY])
    Path("spec.yaml").write_text(EVERY_ACTION, encoding="utf-8")
    result = cli(capsys, "apply", "spec.yaml", "--endpoint", server.url, "--auto-approve")
    assert result.code == 0, result.out + result.err
    assert "Apply complete: 4 done, 0 already as wanted, 0 failed" in result.out
    assert renew_of(ovh_client, 120000103)["mode"] == "manual"  # old-brand.fr kept, by hand
    assert renew_of(ovh_client, 120000301)["period"] == "P12M"
    assert 120000202 not in ovh_client.get("/services")  # old-shop deleted now
    again = cli(capsys, "plan", "spec.yaml", "--endpoint", server.url, "--detailed-exitcode")
    assert again.code == 0, again.out


def test_apply_with_a_plan_key_fails_naming_the_missing_rule(
    server: SandboxServer,
    ovh_client: ovh.Client,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_key(monkeypatch, ROLE_KEYS[Role.PLAN])
    Path("spec.yaml").write_text(
        "version: 1\nunmanaged: ignore\nservices:\n"
        "  example.net: {type: domain, lifecycle: terminate_at_expiry}\n",
        encoding="utf-8",
    )
    before = server.services()
    result = cli(capsys, "apply", "spec.yaml", "--endpoint", server.url, "--auto-approve")
    assert result.code == 1
    text = result.out + result.err
    assert "NOT_GRANTED_CALL" in text
    assert "the consumer key has no access rule for PUT /services/*" in text
    assert "reconciler credentials request --role apply" in text
    assert server.services() == before  # nothing changed


def test_several_actions_failing_for_one_missing_rule_still_name_it(
    server: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_key(monkeypatch, ROLE_KEYS[Role.PLAN])
    Path("spec.yaml").write_text(
        "version: 1\nunmanaged: ignore\nservices:\n"
        "  example.net: {type: domain, lifecycle: terminate_at_expiry}\n"
        "  example.com: {type: domain, lifecycle: terminate_at_expiry}\n",
        encoding="utf-8",
    )
    result = cli(capsys, "apply", "spec.yaml", "--endpoint", server.url, "--auto-approve")
    assert result.code == 1
    hint = [line for line in result.err.splitlines() if line.startswith("hint: ")]
    assert len(hint) == 1
    assert hint[0].count("the consumer key has no access rule for PUT /services/*") == 1
    assert "2 of 2 actions failed" in result.err and "and 1 more" in result.err


@pytest.mark.parametrize("missing", [str(rule) for rule in rules_for(Role.APPLY)])
def test_each_rule_of_the_apply_role_is_needed(
    missing: str,
    sandbox_server: SandboxServer,
    isolated: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Least privilege, the other way round: without any one of its rules, the apply of
    the spec above fails, and says which rule."""
    held = [rule for rule in rules_for(Role.APPLY) if str(rule) != missing]
    sandbox_server.reset(seed_with_keys({"short-ck": held}), now=SANDBOX_EPOCH)
    use_key(monkeypatch, "short-ck")
    Path("spec.yaml").write_text(EVERY_ACTION, encoding="utf-8")
    result = cli(
        capsys,
        "apply",
        "spec.yaml",
        "--endpoint",
        sandbox_server.url,
        "--auto-approve",
        "--token-timeout",
        "1s",
    )
    text = result.out + result.err
    if missing in _FALLBACK_RULES:
        # Needed only when the first deletion call is refused (a recorded fallback) or on
        # ovh-us (the legacy confirmation): this sandbox accepts the first calls.
        assert result.code == 0, text
        assert "NOT_GRANTED_CALL" not in text
        return
    assert result.code == 1
    refused = {
        str(rule_for_call(method, path))
        for method, path in re.findall(r"OVH API (\w+) (\S+) failed: 403 NOT_GRANTED_CALL", text)
    }
    assert refused == {missing}, text


_FALLBACK_RULES = ("POST /services/*/terminate", "POST /hosting/web/*/confirmTermination")
