"""A tampered saved plan is refused, and nothing is sent.

``reconciler apply plan.json`` against the sandbox server (the demo account), with the
plan file edited after it was saved: an action the rules would not allow, a changed
fingerprint, edited calls, a later ``expires_at``, refusals removed, an action added,
its embedded spec edited. Each is refused — exit 3 when a lifecycle rule refuses it,
exit 1 when the file is altered or stale — in one line, and the sandbox's request log
shows that not one mutating call was sent.

Then a seeded tamperer edits random fields of random actions (values taken from other
actions, other services, or made up) over many runs: whatever the outcome, **no call is
ever sent that the untampered plan would not have sent**, and a plan that is still
applied does exactly what the untampered plan does.

A plan file is not signed: what holds it is the spec at hand. Apply refuses a plan whose
spec file is missing or differs in any way from the spec it embeds (an edit that
rewrites the embedded spec, the actions, their calls and the summary consistently is the
plan of another spec), and re-judges the rest against the rules and the account (no
immediate deletion of a domain, no termination of a service ``protect`` holds, no
cancellation inside 24 hours...).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_runs import error_lines
from conftest import SandboxServer
from demo_spec import demo_spec
from reliability_helpers import campaign_size, ours, record_figures
from sandbox_env import Result, cli, isolate, use_sandbox_keys

from reconciler.core.plan import TOKEN_PLACEHOLDER
from reconciler.sandbox import demo_seed
from reconciler.sandbox.testing import SANDBOX_EPOCH

SPEC = demo_spec(
    ("example.net", "old-brand.fr", "old-shop.example.org"),
    more="""\
  example.com:
    type: domain
    lifecycle: renew
    protect: true
""",
)
DOMAIN = 120000101  # example.com: a domain, protected, left alone
NET = 120000102  # example.net: terminated at expiry


@pytest.fixture
def workdir(tmp_path: Path, sandbox_server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate(tmp_path, monkeypatch, kept=("RECONCILER_RELI",))
    use_sandbox_keys(monkeypatch, sandbox_server)
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    return tmp_path


def save_plan(server: SandboxServer, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    saved = cli(capsys, "plan", "spec.yaml", "--out", "plan.json", "--endpoint", server.url)
    assert saved.code == 0, saved.err
    data: dict[str, Any] = json.loads(Path("plan.json").read_text())
    return data


def apply_edited(
    plan: dict[str, Any], server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> tuple[Result, list[dict[str, Any]]]:
    """Write ``plan`` as plan.json and apply it, auto-approved: how that ended, and the
    calls it sent that are not reads."""
    Path("plan.json").write_text(json.dumps(plan, indent=2), encoding="utf-8")
    mark = last_seq(server)
    done = cli(capsys, "apply", "plan.json", "--auto-approve", "--endpoint", server.url)
    sent = [e for e in ours(server.admin.requests(since=mark)) if e["method"] != "GET"]
    return done, sent


def last_seq(server: SandboxServer) -> int:
    entries = server.admin.requests()
    return int(entries[-1]["seq"]) if entries else 0


def action(plan: dict[str, Any], service: str) -> dict[str, Any]:
    found: dict[str, Any] = next(a for a in plan["actions"] if a["service"] == service)
    return found


def resummarise(plan: dict[str, Any]) -> None:
    counts = Counter(a["action"] for a in plan["actions"] if isinstance(a.get("action"), str))
    plan["summary"] = {**{key: 0 for key in plan["summary"]}, **counts}
    if "refused" in plan["summary"]:
        plan["summary"]["refused"] = len(plan["refused"])


def delete_the_domain(plan: dict[str, Any]) -> None:
    domain = action(plan, "example.com")
    domain.update(
        action="delete_now",
        irreversible=True,
        after={"lifecycle": "deleted"},
        calls=[
            {"method": "POST", "path": f"/services/{DOMAIN}/terminate", "body": None},
            {"method": "POST", "path": f"/services/{DOMAIN}/terminate/confirm",
             "body": {"token": TOKEN_PLACEHOLDER}},
        ],
    )  # fmt: skip
    resummarise(plan)


def and_its_spec(plan: dict[str, Any]) -> None:
    delete_the_domain(plan)
    entry = next(e for e in plan["spec"] if e["key"] == "example.com")
    entry.update(lifecycle="delete_now", protect=False, mode=None, period=None)


def unprotect_and_terminate(plan: dict[str, Any]) -> None:
    domain = action(plan, "example.com")
    net = action(plan, "example.net")
    domain.update(action="terminate_at_expiry", after=dict(net["after"]),
                  calls=[{**net["calls"][0], "path": f"/services/{DOMAIN}"}])  # fmt: skip
    entry = next(e for e in plan["spec"] if e["key"] == "example.com")
    entry.update(lifecycle="terminate_at_expiry", protect=False, mode=None, period=None)
    resummarise(plan)


def change_fingerprint(plan: dict[str, Any]) -> None:
    action(plan, "example.net")["fingerprint"] = "sha256:" + "0" * 64


def retarget_a_call(plan: dict[str, Any]) -> None:
    action(plan, "example.net")["calls"][0]["path"] = f"/services/{DOMAIN}"


def edit_a_body(plan: dict[str, Any]) -> None:
    action(plan, "old-brand.fr")["calls"][0]["body"] = {
        "terminationPolicy": "terminateAtExpirationDate"
    }


def add_an_action(plan: dict[str, Any]) -> None:
    extra = dict(action(plan, "example.net"))
    extra.update(service="example.org", name="example.org", service_id=120000104,
                 calls=[{**extra["calls"][0], "path": "/services/120000104"}])  # fmt: skip
    plan["actions"].append(extra)
    resummarise(plan)


def remove_the_spec_entry(plan: dict[str, Any]) -> None:
    plan["spec"] = [e for e in plan["spec"] if e["key"] != "example.net"]


def bump_format(plan: dict[str, Any]) -> None:
    plan["format_version"] = "2"


def lie_in_the_summary(plan: dict[str, Any]) -> None:
    plan["summary"]["no_op"] = plan["summary"].get("no_op", 0) + 1


TAMPERS: list[tuple[str, Callable[[dict[str, Any]], None], bool, int, str]] = [
    # (name, edit, keep the spec file at hand, exit code, words of the error)
    ("delete a domain", delete_the_domain, True, 1, "was altered"),
    ("delete a domain, its embedded spec too", and_its_spec, True, 1, "was altered"),
    (
        "delete a domain, its embedded spec too, spec file gone",
        and_its_spec,
        False,
        1,
        "there is no such file here",
    ),  # fmt: skip
    ("lift protect and terminate", unprotect_and_terminate, True, 1, "was altered"),
    ("changed fingerprint", change_fingerprint, True, 1, "changed since this plan"),
    ("a call sent to another service", retarget_a_call, True, 1, "was altered"),
    ("a call's body edited", edit_a_body, True, 1, "was altered"),
    ("an action added", add_an_action, True, 1, "was altered"),
    ("its spec entry removed", remove_the_spec_entry, True, 1, "was altered"),
    ("another format version", bump_format, True, 1, "format_version"),
    ("a summary that lies", lie_in_the_summary, True, 1, "summary"),
]


@pytest.mark.parametrize("tamper", TAMPERS, ids=[t[0] for t in TAMPERS])
def test_a_tampered_plan_is_refused_and_sends_nothing(
    tamper: tuple[str, Callable[[dict[str, Any]], None], bool, int, str],
    workdir: Path,
    sandbox_server: SandboxServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, edit, keep_spec, exit_code, words = tamper
    plan = save_plan(sandbox_server, capsys)
    edit(plan)
    if not keep_spec:
        Path("spec.yaml").unlink()
    done, sent = apply_edited(plan, sandbox_server, capsys)
    assert done.code == exit_code, done.err
    assert len(error_lines(done)) == 1 and words in done.err, done.err
    assert sent == []


def test_a_plan_past_its_expires_at_is_refused_even_with_a_later_one_written_in(
    workdir: Path, sandbox_server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cancellation planned 25 hours before expiry, applied at 23 hours, with its
    ``expires_at`` pushed a week later in the file: the rules are judged again with the
    API's clock, and the sandbox would refuse it anyway."""
    old_brand = next(s for s in sandbox_server.services() if s["name"] == "old-brand.fr")
    from datetime import datetime, timedelta

    expiry = datetime.fromisoformat(old_brand["expiration"].replace("Z", "+00:00"))
    sandbox_server.set_clock(expiry - timedelta(hours=25))
    plan = save_plan(sandbox_server, capsys)
    cancel = action(plan, "old-brand.fr")
    assert cancel["action"] == "cancel_termination"
    cancel["expires_at"] = (expiry + timedelta(days=7)).isoformat().replace("+00:00", "Z")
    sandbox_server.set_clock(expiry - timedelta(hours=23))
    done, sent = apply_edited(plan, sandbox_server, capsys)
    assert done.code == 3, done.err
    assert "cancel-window-closed" in done.err
    assert sent == []


def test_a_plan_with_its_refusals_removed_is_still_refused(
    workdir: Path, sandbox_server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # No type guard (the spec loader would refuse that one itself): the planner does.
    let_go = "    type: domain\n    lifecycle: terminate_at_expiry"  # example.net's, first
    untyped = SPEC.replace(let_go, "    lifecycle: delete_now", 1)
    Path("spec.yaml").write_text(untyped, encoding="utf-8")
    plan = save_plan(sandbox_server, capsys)
    assert plan["refused"]
    plan["refused"] = []
    resummarise(plan)
    done, sent = apply_edited(plan, sandbox_server, capsys)
    assert done.code == 3, done.err
    assert "delete-now-web-hosting-only" in done.err
    assert sent == []


def _calls(plan: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["method"], c["path"]) for a in plan["actions"] for c in a["calls"]}


def test_no_tampering_ever_sends_a_call_the_plan_would_not(
    workdir: Path, sandbox_server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    trials = 3 * campaign_size(10)
    rng = random.Random(31337)
    outcomes: Counter[str] = Counter()
    original = save_plan(sandbox_server, capsys)
    allowed = _calls(original)
    pool: list[Any] = [
        value
        for a in original["actions"]
        for value in (a["service"], a["service_id"], a["action"], a["fingerprint"],
                      a["calls"], a["before"], a["after"], a["expires_at"], a["name"])
    ] + [None, 0, -1, "", 120000101, "delete_now", "sandbox", {"lifecycle": "deleted"}]  # fmt: skip
    for _ in range(trials):
        sandbox_server.reset(demo_seed().to_mapping(), now=SANDBOX_EPOCH)
        plan = json.loads(json.dumps(original))
        for _ in range(rng.randint(1, 3)):
            target = rng.choice(plan["actions"] + plan["spec"])
            key = rng.choice(sorted(target))
            target[key] = json.loads(json.dumps(rng.choice(pool)))
        if rng.random() < 0.5:
            resummarise(plan)
        done, calls = apply_edited(plan, sandbox_server, capsys)
        code, err = done.code, done.err
        assert "internal error" not in err, err
        sent = {(e["method"], e["path"]) for e in calls}
        assert sent <= allowed, (sent - allowed, plan)
        if code == 0:
            # Still the same plan in what matters: it did all of it.
            assert sent == allowed, err
        else:
            assert code in (1, 3), err
            assert sent == set(), err  # refused before anything was sent
        outcomes[{0: "applied as saved", 1: "refused: altered or stale",
                  3: "refused by a rule"}[code]] += 1  # fmt: skip
    record_figures("tampered-plans", trials=trials, **outcomes)
