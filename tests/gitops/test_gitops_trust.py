"""The trust chain of a saved plan: ``reconciler apply PLAN`` applies it only against the
spec at hand and on the endpoint that spec names, and refuses every tampering before a
single request leaves.

End to end on the sandbox server, whose request log (``reconciler.sandbox.calls``) is
read from the server's side: a plan made from another spec under the reviewed spec's
name (its own digest, or the reviewed one's written in), the spec missing, the digest
edited, the endpoint edited (to another host, to a loopback impostor), ids swapped —
each is one clear error, exit 1, and the sandbox saw no request at all. A recording
transport under the client proves that no credential went anywhere either. Then the
pure check (``reconciler.core.trust``) case by case, and ``--spec``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_runs import error_lines
from fakes import Sent, record_real_transports
from gitops_helpers import DEMO, isolated, use_key
from sandbox_env import Result, cli

from reconciler.core.planfile import load_plan
from reconciler.core.spec import UnmanagedPolicy, load_spec
from reconciler.core.trust import (
    Distrust,
    EndpointAtHand,
    SpecAtHand,
    check_trust,
    spec_differences,
)
from reconciler.endpoints import resolve_endpoint
from reconciler.errors import PlanFileError
from reconciler.sandbox.testing import SandboxServer

__all__ = ["isolated"]  # the fixture, imported for pytest

NET, BRAND, SHOP = 120000102, 120000103, 120000202


def account_spec(brand: str, shop: str) -> str:
    """A spec of the account at ``{url}``: example.net goes at expiry, old-brand.fr and
    the web hosting have the lifecycles given (the hosting's with its further lines)."""
    return (
        "version: 1\nendpoint: {url}\nunmanaged: ignore\nservices:\n"
        "  example.net:\n    lifecycle: terminate_at_expiry\n"
        f"  old-brand.fr:\n    lifecycle: {brand}\n"
        f"  old-shop.example.org:\n    type: hosting/web\n    lifecycle: {shop}\n"
    )


# The reviewed spec: old-brand.fr is kept (its pending termination cancelled), the web
# hosting is protected.
REVIEWED = account_spec("renew", "renew\n    protect: true")
# What an attacker would rather have applied: old-brand.fr left to terminate, the
# protected hosting deleted now.
EVIL = account_spec("terminate_at_expiry", "delete_now")


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[Sent]:
    """Every request any OVH client of this test sends, with the credentials it carries;
    loopback only (no test touches the internet)."""
    return record_real_transports(monkeypatch)


@pytest.fixture
def server(sandbox_server: SandboxServer, isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    use_key(monkeypatch, DEMO.consumer_key)
    Path("spec.yaml").write_text(REVIEWED.format(url=sandbox_server.url), encoding="utf-8")
    return sandbox_server


def save(capsys: pytest.CaptureFixture[str], spec: str = "spec.yaml") -> dict[str, Any]:
    made = cli(capsys, "plan", spec, "--out", "plan.json")
    assert made.code == 0, made.err
    found: dict[str, Any] = json.loads(Path("plan.json").read_text(encoding="utf-8"))
    return found


def write(plan: dict[str, Any]) -> None:
    Path("plan.json").write_text(json.dumps(plan, indent=2), encoding="utf-8")


def action(plan: dict[str, Any], key: str) -> dict[str, Any]:
    found: dict[str, Any] = next(a for a in plan["actions"] if a["service"] == key)
    return found


def apply_saved(
    server: SandboxServer, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[Result, list[dict[str, Any]]]:
    """``reconciler apply plan.json --auto-approve``, and every request the sandbox saw
    meanwhile (from its own log)."""
    mark = server.admin.requests()[-1]["seq"] if server.admin.requests() else 0
    result = cli(capsys, "apply", "plan.json", "--auto-approve", *extra)
    return result, server.admin.requests(since=mark)


# --- every tampering: refused before any request ---------------------------------------


def plan_of_another_spec(server: SandboxServer, capsys: pytest.CaptureFixture[str]) -> None:
    """The plan of EVIL, renamed as if it were the reviewed spec's (its own digest)."""
    Path("evil.yaml").write_text(EVIL.format(url=server.url), encoding="utf-8")
    plan = save(capsys, "evil.yaml")
    assert action(plan, "old-shop.example.org")["action"] == "delete_now"
    plan["spec_source"] = "spec.yaml"
    write(plan)


def plan_of_another_spec_with_the_reviewed_digest(
    server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    reviewed_digest = save(capsys)["spec_digest"]
    plan_of_another_spec(server, capsys)
    plan = json.loads(Path("plan.json").read_text(encoding="utf-8"))
    plan["spec_digest"] = reviewed_digest
    write(plan)


def the_spec_missing(server: SandboxServer, capsys: pytest.CaptureFixture[str]) -> None:
    save(capsys)
    Path("spec.yaml").unlink()


def the_plan_naming_a_missing_spec(
    server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_of_another_spec(server, capsys)
    plan = json.loads(Path("plan.json").read_text(encoding="utf-8"))
    plan["spec_source"] = "stacks/gone.yaml"
    write(plan)


def edited(key: str, value: str) -> Callable[[SandboxServer, pytest.CaptureFixture[str]], None]:
    """The reviewed plan with one of its top-level fields written over."""

    def tamper(server: SandboxServer, capsys: pytest.CaptureFixture[str]) -> None:
        plan = save(capsys)
        plan[key] = value
        write(plan)

    return tamper


def the_ids_swapped(server: SandboxServer, capsys: pytest.CaptureFixture[str]) -> None:
    """example.net's termination aimed at old-brand.fr's id, and back."""
    plan = save(capsys)
    net, brand = action(plan, "example.net"), action(plan, "old-brand.fr")
    net["service_id"], brand["service_id"] = brand["service_id"], net["service_id"]
    write(plan)


TAMPERINGS: list[tuple[str, Callable[[SandboxServer, pytest.CaptureFixture[str]], None], str]] = [
    (
        "spec swapped",
        plan_of_another_spec,
        "error: spec.yaml is not the spec plan.json was made from (old-brand.fr: lifecycle "
        "renew in the spec, terminate_at_expiry in the plan)",
    ),
    (
        "spec swapped, the reviewed digest written in",
        plan_of_another_spec_with_the_reviewed_digest,
        "error: plan.json carries the digest of spec.yaml but embeds another spec "
        "(old-brand.fr: lifecycle renew in the spec, terminate_at_expiry in the plan)",
    ),
    (
        "spec missing",
        the_spec_missing,
        "error: plan.json was made from spec.yaml, and there is no such file here",
    ),
    (
        "spec_source naming a missing spec",
        the_plan_naming_a_missing_spec,
        "error: plan.json was made from stacks/gone.yaml, and there is no such file here",
    ),
    (
        "digest edited",
        edited("spec_digest", "sha256:" + "0" * 64),
        "error: spec.yaml is not the spec plan.json was made from (its text differs, its "
        "entries do not)",
    ),
    (
        "endpoint edited to another host",
        edited("endpoint", "ovh-eu"),
        "error: plan.json was made for endpoint 'ovh-eu', and spec.yaml endpoint names 'http://",
    ),
    (
        "endpoint edited to a loopback impostor",
        edited("endpoint", "http://127.0.0.1:9/1.0"),
        "error: plan.json was made for endpoint 'http://127.0.0.1:9/1.0', and spec.yaml "
        "endpoint names 'http://",
    ),
    (
        "ids swapped",
        the_ids_swapped,
        "error: plan.json contradicts itself: its action for 'example.net' (#120000103) calls "
        "/services/120000102, another service",
    ),
]


@pytest.mark.parametrize(
    ("tamper", "error"), [t[1:] for t in TAMPERINGS], ids=[t[0] for t in TAMPERINGS]
)
def test_every_tampering_is_refused_before_any_request_leaves(
    tamper: Callable[[SandboxServer, pytest.CaptureFixture[str]], None],
    error: str,
    server: SandboxServer,
    recorded: list[Sent],
    capsys: pytest.CaptureFixture[str],
) -> None:
    tamper(server, capsys)
    before = server.services()
    recorded.clear()
    result, requests = apply_saved(server, capsys)
    assert result.code == 1, result.err
    (line,) = error_lines(result)
    assert line.startswith(error), line
    assert line.endswith("nothing was sent") or "nothing was sent (and" in line
    assert requests == []  # the sandbox saw nothing, reads included
    assert recorded == []  # and nothing went anywhere else
    assert server.services() == before
    assert not (Path("state") / "journal.jsonl").exists()


def test_the_untampered_plan_goes_to_the_spec_endpoint_only_with_the_keys(
    server: SandboxServer, recorded: list[Sent], capsys: pytest.CaptureFixture[str]
) -> None:
    """The control of the test above: the recorder and the request log do see an apply."""
    save(capsys)
    recorded.clear()
    result, requests = apply_saved(server, capsys)
    assert result.code == 0, result.err
    changed = {(e["method"], e["service_id"]) for e in requests if e["method"] != "GET"}
    assert changed == {("PUT", NET), ("PUT", BRAND)}
    assert recorded and {sent.url.split("/1.0")[0] for sent in recorded} == {
        server.url.removesuffix("/1.0")
    }
    signed = [sent for sent in recorded if sent.consumer_key]
    assert signed and {(s.application_key, s.consumer_key) for s in signed} == {
        (DEMO.application_key, DEMO.consumer_key)
    }


def test_ids_swapped_with_their_calls_are_refused_before_any_change(
    server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A swap made consistent (the calls aimed along with the ids) is the plan of
    another account: only the account read again shows it. Apply reads the spec's own
    endpoint, sees it, and changes nothing."""
    plan = save(capsys)
    net, brand = action(plan, "example.net"), action(plan, "old-brand.fr")
    net["service_id"], brand["service_id"] = BRAND, NET
    net["calls"][0]["path"], brand["calls"][0]["path"] = f"/services/{BRAND}", f"/services/{NET}"
    write(plan)
    before = server.services()
    result, requests = apply_saved(server, capsys)
    assert result.code == 1
    (line,) = error_lines(result)
    assert line.startswith("error: plan.json cannot be applied: the action for example.net")
    assert {e["method"] for e in requests} == {"GET"}
    assert server.services() == before


def test_endpoint_option_names_the_endpoint_and_must_be_the_plans(
    server: SandboxServer, recorded: list[Sent], capsys: pytest.CaptureFixture[str]
) -> None:
    save(capsys)
    recorded.clear()
    other = cli(capsys, "apply", "plan.json", "--auto-approve", "--endpoint", "ovh-ca")
    assert error_lines(other) == [
        "error: plan.json was made for endpoint "
        f"'{server.url}', and --endpoint names 'ovh-ca'; nothing was sent"
    ]
    assert recorded == []
    same = cli(capsys, "apply", "plan.json", "--auto-approve", "--endpoint", server.url)
    assert same.code == 0, same.err


# --- --spec ------------------------------------------------------------------------------


def test_spec_option_holds_the_plan_to_the_spec_named(
    server: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A plan applied from elsewhere (a CD job's artifact directory) names its spec with
    --spec; a --spec that is not the reviewed spec is refused like a swapped one."""
    save(capsys)
    Path("elsewhere").mkdir()
    Path("plan.json").rename("elsewhere/plan.json")
    Path("evil.yaml").write_text(EVIL.format(url=server.url), encoding="utf-8")
    missing = cli(capsys, "apply", "elsewhere/plan.json", "--auto-approve", "--spec", "no.yaml")
    assert error_lines(missing)[0].startswith(
        "error: elsewhere/plan.json was made from no.yaml, and there is no such file here"
    )
    assert "hint: give the path of the spec the plan was made from with --spec" in missing.err
    swapped = cli(capsys, "apply", "elsewhere/plan.json", "--auto-approve", "--spec", "evil.yaml")
    assert swapped.code == 1
    assert error_lines(swapped)[0].startswith(
        "error: evil.yaml is not the spec elsewhere/plan.json"
    )
    done = cli(capsys, "apply", "elsewhere/plan.json", "--auto-approve", "--spec", "spec.yaml")
    assert done.code == 0, done.err
    assert "Apply complete: 2 done" in done.out


def test_spec_option_is_for_saved_plans_only(
    server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "apply", "spec.yaml", "--auto-approve", "--spec", "spec.yaml")
    assert result.code == 1
    assert error_lines(result) == [
        "error: --spec spec.yaml is for applying a saved plan; spec.yaml is a spec, planned now"
    ]


# --- the pure check ----------------------------------------------------------------------


def test_the_pure_check_names_each_problem(
    server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    save(capsys)
    plan = load_plan("plan.json")
    spec = load_spec("spec.yaml")
    here = EndpointAtHand(resolve_endpoint(server.url), "spec.yaml endpoint")

    def codes(**changes: Any) -> list[Distrust]:
        tampered = plan.model_copy(update=changes)
        verdict = check_trust(tampered, "plan.json", SpecAtHand("spec.yaml", spec), here)
        return [problem.code for problem in verdict.problems]

    assert check_trust(plan, "plan.json", SpecAtHand("spec.yaml", spec), here).trusted
    assert codes(endpoint="ovh-eu") == [Distrust.ENDPOINT_MISMATCH]
    assert codes(endpoint="not an endpoint") == [Distrust.ENDPOINT_MISMATCH]
    assert codes(spec_digest="sha256:00") == [Distrust.SPEC_CHANGED]
    assert codes(unmanaged_policy=UnmanagedPolicy.REPORT) == [Distrust.SPEC_MISMATCH]
    assert codes(spec=plan.spec[1:]) == [Distrust.SPEC_MISMATCH, Distrust.PLAN_INCONSISTENT]
    assert codes(spec=tuple(reversed(plan.spec))) == [Distrust.SPEC_MISMATCH]
    renamed = plan.actions[0].model_copy(update={"name": "other.example"})
    assert codes(actions=(renamed, *plan.actions[1:])) == [Distrust.PLAN_INCONSISTENT]
    doubled = (*plan.actions, plan.actions[0])
    assert codes(actions=doubled) == [Distrust.PLAN_INCONSISTENT]
    missing = check_trust(plan, "plan.json", SpecAtHand("spec.yaml", None), None)
    assert [p.code for p in missing.problems] == [Distrust.SPEC_MISSING]
    with pytest.raises(PlanFileError) as raised:
        check_trust(
            plan.model_copy(update={"endpoint": "ovh-eu", "spec_digest": "sha256:00"}),
            "plan.json",
            SpecAtHand("spec.yaml", spec),
            here,
        ).raise_if_refused()
    assert str(raised.value.message).endswith("nothing was sent (and 1 more problem)")


def test_spec_differences_say_what_differs_entry_by_entry(
    server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    save(capsys)
    plan = load_plan("plan.json")
    Path("spec.yaml").write_text(
        REVIEWED.format(url=server.url)
        .replace("unmanaged: ignore", "unmanaged: report")
        .replace("    protect: true\n", "")
        + "  example.org:\n    lifecycle: renew\n",
        encoding="utf-8",
    )
    assert spec_differences(plan, load_spec("spec.yaml")) == (
        "unmanaged: report in the spec, ignore in the plan",
        "old-shop.example.org: protect false in the spec, true in the plan",
        "example.org is in the spec, not in the plan",
    )
