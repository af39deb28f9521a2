"""What a ``ServiceLifecycle`` judges with, as ``reconciler plan`` does: the apply
journal's evidence for a service the account no longer lists (``done_before``), and the
deletion tokens the stack holds (``reconciler:deletionTokens``, waiving
``not-admin-contact``). Against the real sandbox server; the account read back with the
official ``ovh`` client."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import ovh.exceptions
import pytest
from conftest import SandboxServer
from pulumi_helpers import (
    OLD_SHOP,
    Stack,
    clean_environment,
    configured,
    live,
    stack,
    stack_config,
)

from reconciler.errors import ApplyError, ConfigError, RefusedError
from reconciler.pulumi.settings import Settings, parse_tokens
from reconciler.sandbox import demo_seed
from reconciler.sandbox.testing import SANDBOX_EPOCH

__all__ = ["clean_environment", "stack"]  # fixtures, imported to be found

SHOP = "old-shop.example.org"
AGENCY = "cd67890-ovh"  # another account than the demo key's (ab12345-ovh)


def failures(stack: Stack, service: str, **fields: Any) -> list[tuple[str, str]]:
    result = stack.provider.check({}, stack.props(service, **fields))
    return [(failure.property, failure.reason) for failure in result.failures]


def delete_shop(stack: Stack) -> tuple[str, dict[str, Any]]:
    result = stack.provider.create(stack.checked(SHOP, type="hosting/web", lifecycle="delete_now"))
    assert result.outs is not None
    return result.id, result.outs


# --- the journal's evidence --------------------------------------------------------------


def test_a_service_an_earlier_apply_deleted_is_already_done_a_typo_stays_refused(
    stack: Stack, ovh_client: Any, tmp_path: Path
) -> None:
    delete_shop(stack)  # an earlier `pulumi up` (or `reconciler apply`) deleted it
    with pytest.raises(ovh.exceptions.ResourceNotFoundError):
        live(ovh_client, OLD_SHOP)
    # The stack again, from scratch (a new stack, or state lost): same journal.
    again = configured(stack_config(stack.server, stack.journal))
    fresh = Stack(again, stack.server, stack.journal)
    assert failures(fresh, SHOP, type="hosting/web", lifecycle="delete_now") == []
    inputs = fresh.checked(SHOP, type="hosting/web", lifecycle="delete_now")
    assert again.diff(f"absent:{SHOP}", inputs, inputs).changes is False
    before = len(fresh.records())
    created = again.create(inputs)
    assert created.id == f"absent:{SHOP}" and created.outs is not None
    assert created.outs["live_lifecycle"] == "absent" and created.outs["journal_run"] is None
    assert len(fresh.records()) == before  # nothing applied, nothing journalled
    # A name that never matched anything is still a typo, journal or not.
    typo = failures(fresh, SHOP + "g", type="hosting/web", lifecycle="delete_now")
    assert [prop for prop, _ in typo] == ["name"] and "[unknown-service]" in typo[0][1]
    # Without that journal's evidence, the same entry is refused as unknown.
    elsewhere = configured(stack_config(stack.server, tmp_path / "other-journal.jsonl"))
    blind = Stack(elsewhere, stack.server, tmp_path / "other-journal.jsonl")
    refused = failures(blind, SHOP, type="hosting/web", lifecycle="delete_now")
    assert [prop for prop, _ in refused] == ["name"] and "[unknown-service]" in refused[0][1]
    with pytest.raises(RefusedError, match="unknown-service"):
        elsewhere.create(inputs)


def test_the_evidence_is_the_endpoints_own(stack: Stack, tmp_path: Path) -> None:
    """A deletion journalled on another account is no evidence on this one."""
    delete_shop(stack)
    text = stack.journal.read_text(encoding="utf-8")
    moved = tmp_path / "moved.jsonl"
    moved.write_text(
        "".join(
            json.dumps(json.loads(line) | {"endpoint": "ovh-ca"}) + "\n"
            for line in text.splitlines()
            if line.strip()
        ),
        encoding="utf-8",
    )
    other = Stack(configured(stack_config(stack.server, moved)), stack.server, moved)
    refused = failures(other, SHOP, type="hosting/web", lifecycle="delete_now")
    assert "[unknown-service]" in refused[0][1]


# --- deletion tokens ---------------------------------------------------------------------


@pytest.fixture
def agency_admin(sandbox_server: SandboxServer) -> SandboxServer:
    """The demo account with the shop's administrator contact another account's."""
    seed = copy.deepcopy(demo_seed().to_mapping())
    for service in seed["services"]:
        if service["name"] == SHOP:
            service["contacts"] = {"admin": AGENCY}
    sandbox_server.reset(seed, now=SANDBOX_EPOCH)
    return sandbox_server


def requests(server: SandboxServer) -> list[dict[str, Any]]:
    """The termination requests' e-mails about the shop."""
    return [
        e for e in server.emails() if SHOP in e["body"] and "Termination request" in e["subject"]
    ]


def agency_token(server: SandboxServer, ovh_client: Any) -> str:
    """The administrator requests the deletion; the e-mail goes to it, not to the key's
    account: the token is what the administrator passes on."""
    ovh_client.post(f"/hosting/web/{SHOP}/terminate")
    (email,) = requests(server)
    found = re.search(r"token=([A-Za-z0-9]+)", email["body"])
    assert found is not None
    return found[1]


def test_a_deletion_whose_email_goes_to_another_account_is_refused_without_a_token(
    agency_admin: SandboxServer, stack: Stack, ovh_client: Any
) -> None:
    refused = failures(stack, SHOP, type="hosting/web", lifecycle="delete_now")
    assert len(refused) == 1 and "[not-admin-contact]" in refused[0][1]
    assert AGENCY in refused[0][1]
    assert "pulumi config set --secret reconciler:deletionTokens < FILE" in refused[0][1]
    assert f"{SHOP}=TOKEN" in refused[0][1]
    assert live(ovh_client, OLD_SHOP)["resource"]["state"] == "active"


def test_the_stacks_token_confirms_that_deletion(
    agency_admin: SandboxServer, stack: Stack, ovh_client: Any
) -> None:
    token = agency_token(agency_admin, ovh_client)
    provider = configured(
        stack_config(
            agency_admin, stack.journal, deletionTokens=f"# from the agency\n{SHOP}={token}\n"
        )
    )
    holding = Stack(provider, agency_admin, stack.journal)
    assert failures(holding, SHOP, type="hosting/web", lifecycle="delete_now") == []
    result = provider.create(holding.checked(SHOP, type="hosting/web", lifecycle="delete_now"))
    assert result.id == str(OLD_SHOP) and result.outs is not None
    with pytest.raises(ovh.exceptions.ResourceNotFoundError):
        live(ovh_client, OLD_SHOP)
    # One request (the agency's): the token confirmed it, apply requested nothing.
    assert len(requests(agency_admin)) == 1
    text = stack.journal.read_text(encoding="utf-8") + json.dumps(result.outs)
    assert token not in text and token not in repr(provider.settings)


def test_a_token_under_another_name_waives_nothing(
    agency_admin: SandboxServer, stack: Stack, ovh_client: Any
) -> None:
    token = agency_token(agency_admin, ovh_client)
    provider = configured(
        stack_config(agency_admin, stack.journal, deletionTokens=f"example.net={token}")
    )
    refused = failures(
        Stack(provider, agency_admin, stack.journal),
        SHOP,
        type="hosting/web",
        lifecycle="delete_now",
    )
    assert "[not-admin-contact]" in refused[0][1] and token not in refused[0][1]


def test_deletion_tokens_are_read_as_key_token_pairs_never_shown() -> None:
    assert parse_tokens("a.example.org=t0k, b.example.org=T-1\n# c=x\n\n d=e ") == {
        "a.example.org": "t0k",
        "b.example.org": "T-1",
        "d": "e",
    }
    settings = Settings.from_config({"reconciler:deletionTokens": "shop=s3cr3t"})
    assert settings.tokens == {"shop": "s3cr3t"}
    assert "s3cr3t" not in repr(settings) and "deletion tokens: 1" in repr(settings)
    assert Settings.from_config({"reconciler:deletionTokens": ""}).tokens == {}
    for text, words in (
        ("s3cr3t", "pair 1: expected KEY=TOKEN"),
        ("a=ok b=", "pair 2: expected KEY=TOKEN"),
        ("a=s3cr3t a=other", "token of a is given twice"),
        ("a=s3cr3\u00e9t", "pair 1 (a): that is not a token"),
    ):
        with pytest.raises(ConfigError, match=re.escape(words)) as raised:
            parse_tokens(text)
        assert "s3cr3" not in str(raised.value) and "s3cr3" not in str(raised.value.hint)


def test_a_refused_stack_token_names_the_setting_it_came_from(
    agency_admin: SandboxServer, stack: Stack, ovh_client: Any
) -> None:
    """The error is about the stack's setting, not the CLI's ``--token``."""
    provider = configured(
        stack_config(agency_admin, stack.journal, deletionTokens=f"{SHOP}=not-the-token")
    )
    holding = Stack(provider, agency_admin, stack.journal)
    with pytest.raises(ApplyError) as refused:
        provider.create(holding.checked(SHOP, type="hosting/web", lifecycle="delete_now"))
    message = str(refused.value)
    assert "the token given with reconciler:deletionTokens" in message, message
    assert "--token" not in message and "not-the-token" not in message
    live(ovh_client, OLD_SHOP)  # still there
