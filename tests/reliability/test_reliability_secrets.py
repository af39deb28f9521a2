"""Secrets never leak, and the sandbox turns away what OVH turns away.

- Every command run with recognisable secrets (application secret, consumer key, the
  deletion tokens — e-mailed, or given with ``--token NAME=@FILE``, ``--token-file``,
  ``RECONCILER_DELETION_TOKENS`` and ``--token NAME=TOKEN``), with and without
  ``--debug``, on its happy path and on its failure paths (a wrong secret, an unknown
  consumer key, a call the key may not make): no secret in stdout, stderr, the plan, the
  imported spec, or any file of the state directory (the journal). Each secret is
  looked for as it is, URL-encoded, JSON-escaped and in base64.
- OAuth2 (its secret, and the access token it buys), in-process through a bridge to the
  sandbox: a whole plan and apply with the client's debug log on, every error, the
  journal and the reprs.
- The deletion token sources: each works, every mistake is one line without the token.
- The sandbox refuses a wrong signature, a timestamp outside the window (a captured
  request replayed later: the same bytes), a captured signature reused on another
  method, path, query or body, an unknown or foreign consumer key, an expired one, and
  a call outside the key's access rules — as OVH answers each.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import subprocess
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from apply_runs import apply_in_process
from cli_runs import reconciler, run_process
from conftest import SandboxServer
from demo_spec import demo_spec
from fakes import FakeSleep, RecordingTransport
from reliability_helpers import cli_env, record_figures
from reliability_server import tripwire_server

from reconciler.cli.tokens import TOKEN_ENV, WARNING, gather_tokens
from reconciler.core.planner import make_plan
from reconciler.core.spec import parse_spec
from reconciler.endpoints import Endpoint
from reconciler.errors import ReconcilerError, UsageError
from reconciler.observe import read_for_specs
from reconciler.ovh.auth import OvhSignatureAuth
from reconciler.ovh.client import OvhClient
from reconciler.ovh.credentials import OAuth2Credentials, SignatureCredentials
from reconciler.sandbox import create_app, demo_seed, open_state
from reconciler.sandbox.auth import signature
from reconciler.sandbox.clock import ManualWallClock
from reconciler.sandbox.testing import SANDBOX_EPOCH

AK = "ak-scan-7f3a91"
AS = "AS-SECRET-c0ffee-5e1f4a9b27d8"
CK = "CK-SECRET-deadbeef-0a9b8c7d6e5f"
READONLY_CK = "CK-SECRET-readonly-11aa22bb33cc"
WRONG_AS = "AS-SECRET-wrong-93e1b2c4d5f6"
UNKNOWN_CK = "CK-SECRET-unknown-77ee66dd55cc"
SPEC = demo_spec(("example.net", "old-shop.example.org"))


def variants(secret: str) -> set[str]:
    """How a secret could show: as it is, URL-encoded, JSON-escaped, in base64."""
    found = {
        secret,
        urllib.parse.quote(secret, safe=""),
        json.dumps(secret)[1:-1],
        base64.b64encode(secret.encode()).decode().rstrip("="),
    }
    return {text for text in found if len(text) >= 8}


def leaks(secrets: Mapping[str, str], texts: Mapping[str, str]) -> list[str]:
    """Where each secret shows: ``["journal.jsonl: consumer key", ...]``."""
    found = []
    for where, text in texts.items():
        for name, secret in secrets.items():
            if any(form in text for form in variants(secret)):
                found.append(f"{where}: {name}")
    return found


def files_under(directory: Path, *, skip: tuple[Path, ...] = ()) -> dict[str, str]:
    texts = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path not in skip:
            texts[str(path.relative_to(directory))] = path.read_bytes().decode("latin-1")
    return texts


def seed() -> dict[str, Any]:
    mapping = demo_seed().to_mapping()
    every = [{"method": m, "path": "/*"} for m in ("GET", "PUT", "POST", "DELETE")]
    mapping["credentials"] = [
        {"application_key": AK, "application_secret": AS, "consumer_key": CK, "rules": every},
        {
            "application_key": AK,
            "application_secret": AS,
            "consumer_key": READONLY_CK,
            "rules": [{"method": "GET", "path": "/*"}],
        },  # fmt: skip
        *mapping["credentials"],
    ]
    return mapping


@pytest.fixture
def scanned(sandbox_server: SandboxServer, tmp_path: Path) -> Iterator[Path]:
    sandbox_server.reset(seed(), now=SANDBOX_EPOCH)
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    yield tmp_path


def run(
    workdir: Path, server: SandboxServer, *argv: str, ck: str = CK, secret: str = AS,
    extra: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:  # fmt: skip
    env = cli_env(workdir / "home", {
        "OVH_APPLICATION_KEY": AK, "OVH_APPLICATION_SECRET": secret, "OVH_CONSUMER_KEY": ck,
    })  # fmt: skip
    env["RECONCILER_STATE_DIR"] = str(workdir / "state")
    env.update(extra or {})
    command = next(arg for arg in argv if not arg.startswith("-"))
    uses_endpoint = command not in ("validate", "journal")
    full = reconciler(*argv, *(["--endpoint", server.url] if uses_endpoint else []))
    return run_process(full, cwd=workdir, env=env, traceback="--debug" in argv)


def request_token(server: SandboxServer, workdir: Path) -> str:
    """A termination requested "by hand" for old-shop.example.org; its e-mailed token."""
    client = httpx.Client(base_url=server.url)
    path = "/hosting/web/old-shop.example.org/terminate"
    timestamp = str(int(client.get("/auth/time").json()))
    url = server.url + path
    client.post(path, headers={
        "X-Ovh-Application": AK, "X-Ovh-Consumer": CK, "X-Ovh-Timestamp": timestamp,
        "X-Ovh-Signature": signature(AS, CK, "POST", url, "", timestamp),
    }).raise_for_status()  # fmt: skip
    client.close()
    return _last_token(server)


def _last_token(server: SandboxServer) -> str:
    body = [e["body"] for e in server.emails() if "token=" in e["body"]][-1]
    return str(body.split("token=", 1)[1].split()[0])


def test_no_command_leaks_a_secret(scanned: Path, sandbox_server: SandboxServer) -> None:
    workdir, server = scanned, sandbox_server
    secrets = {
        "application secret": AS,
        "consumer key": CK,
        "read-only consumer key": READONLY_CK,
        "wrong secret": WRONG_AS,
        "unknown consumer key": UNKNOWN_CK,
    }
    outputs: dict[str, str] = {}
    runs = 0

    def note(label: str, done: subprocess.CompletedProcess[str], expect: int) -> None:
        nonlocal runs
        runs += 1
        assert done.returncode == expect, (label, done.stderr)
        assert "Traceback" not in done.stderr or "--debug" in label, done.stderr
        outputs[f"{label} (stdout)"] = done.stdout
        outputs[f"{label} (stderr)"] = done.stderr

    for debug in ((), ("--debug",)):
        tag = " ".join(debug)
        # The happy paths: read, plan, apply with the e-mailed token, journal, import.
        server.reset(seed(), now=SANDBOX_EPOCH)
        note(f"{tag} services", run(workdir, server, *debug, "services"), 0)
        note(f"{tag} validate", run(workdir, server, *debug, "validate", "spec.yaml"), 0)
        note(f"{tag} plan", run(workdir, server, *debug, "plan", "spec.yaml", "--out",
                                "plan.json", "--format", "json"), 0)  # fmt: skip
        note(f"{tag} apply", run(workdir, server, *debug, "apply", "plan.json",
                                 "--auto-approve"), 0)  # fmt: skip
        emailed = _last_token(server)
        secrets[f"e-mailed token{tag}"] = emailed
        note(f"{tag} journal", run(workdir, server, *debug, "journal", "--last"), 0)
        note(f"{tag} import", run(workdir, server, *debug, "import", "--output",
                                  f"imported{len(debug)}.yaml"), 0)  # fmt: skip
        note(f"{tag} credentials check", run(workdir, server, *debug, "credentials", "check"), 0)

        # Every way of giving a deletion token (once, with --debug: the most said).
        for way in ("@file", "token-file", "environment", "command line") if debug else ():
            server.reset(seed(), now=SANDBOX_EPOCH)
            token = request_token(server, workdir)
            secrets[f"token given by {way}{tag}"] = token
            (workdir / "token.txt").write_text(token + "\n")
            (workdir / "tokens").write_text(f"# deletions\nold-shop.example.org={token}\n")
            given, extra = {
                "@file": (["--token", "old-shop.example.org=@token.txt"], {}),
                "token-file": (["--token-file", "tokens"], {}),
                "environment": ([], {TOKEN_ENV: f"old-shop.example.org={token}"}),
                "command line": (["--token", f"old-shop.example.org={token}"], {}),
            }[way]
            done = run(workdir, server, *debug, "apply", "spec.yaml", "--auto-approve",
                       *given, extra=extra)  # fmt: skip
            note(f"{tag} apply, token by {way}", done, 0)
            assert "confirmed with the token given with --token" in done.stdout
            assert (WARNING in done.stderr) == (way == "command line")
            (workdir / "token.txt").unlink()
            (workdir / "tokens").unlink()

        # Failure paths: a wrong secret, an unknown key, a call the key may not make.
        server.reset(seed(), now=SANDBOX_EPOCH)
        note(f"{tag} wrong secret", run(workdir, server, *debug, "plan", "spec.yaml",
                                        secret=WRONG_AS), 1)  # fmt: skip
        note(f"{tag} unknown key", run(workdir, server, *debug, "services", ck=UNKNOWN_CK), 1)
        note(f"{tag} read-only key applying", run(workdir, server, *debug, "apply", "spec.yaml",
                                                  "--auto-approve", ck=READONLY_CK), 1)  # fmt: skip

    texts = dict(outputs)
    texts.update(files_under(workdir / "state"))
    for name in ("plan.json", "imported0.yaml", "imported1.yaml"):
        texts[name] = (workdir / name).read_text()
    assert leaks(secrets, texts) == []
    # The scan can see a leak: the token files held the tokens, and stderr names keys.
    given = next(value for key, value in secrets.items() if key.startswith("token given by"))
    assert leaks({"t": given}, {"f": given})
    record_figures("secrets-cli", runs=runs, secrets=len(secrets), texts_scanned=len(texts),
                   bytes_scanned=sum(len(t) for t in texts.values()), leaks=0)  # fmt: skip


# --- OAuth2 ---------------------------------------------------------------------------------

CLIENT_ID = "client-id-scan-4d5e"
CLIENT_SECRET = "OAUTH-SECRET-9f8e7d6c5b4a3210"
ACCESS_TOKEN = "ACCESS-TOKEN-SECRET-aa11bb22cc33dd44"


class Bridge(RecordingTransport):
    """OVH's OAuth2 as the API sees it: the token URL hands out ``ACCESS_TOKEN`` for the
    right client; API calls must bear it, and are passed on to the sandbox signed with
    its own keys. Every request is recorded."""

    def __init__(self, app: Any, backend: Any) -> None:
        super().__init__(httpx.ASGITransport(app=app))
        self._sign = OvhSignatureAuth(
            SignatureCredentials(AK, AS, CK), lambda: int(backend.now_seconds())
        )

    def bearers(self) -> set[str]:
        """What the API calls bore in ``Authorization`` (the token and clock calls aside)."""
        return {
            sent.authorization or ""
            for sent in self.sent
            if sent.path != "/token" and not sent.path.endswith("/auth/time")
        }

    async def answer(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            await request.aread()
            basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if request.headers.get("Authorization") != f"Basic {basic}":
                return httpx.Response(401, json={"error": "invalid_client"})
            return httpx.Response(200, json={"access_token": ACCESS_TOKEN, "expires_in": 3600})
        if not request.url.path.endswith("/auth/time"):
            if request.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
                return httpx.Response(401, json={"message": "invalid token"})
        await request.aread()
        forwarded = httpx.Request(request.method, request.url, content=request.content,
                                  headers={"Content-Type": "application/json"}
                                  if request.content else {})  # fmt: skip
        flow = self._sign.auth_flow(forwarded)
        signed = next(flow)
        response = await self.inner.handle_async_request(signed)
        await response.aread()
        return response


def test_oauth2_secrets_stay_out_of_logs_errors_journal_and_reprs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend = open_state(tmp_path / "sandbox.db", seed=_seed_object(), reseed=True,
                         wall=ManualWallClock(SANDBOX_EPOCH))  # fmt: skip
    bridge = Bridge(create_app(backend), backend)
    endpoint = Endpoint("bridge", "http://bridge.invalid/1.0", "http://bridge.invalid/token")
    good = OAuth2Credentials(CLIENT_ID, CLIENT_SECRET, token_url=endpoint.oauth2_token_url or "")
    spec = parse_spec(SPEC.encode(), "spec.yaml")
    journal = tmp_path / "state" / "journal.jsonl"
    errors: list[str] = []

    sleep = FakeSleep()

    async def plan_and_apply() -> None:
        async with OvhClient(endpoint, good, transport=bridge, sleep=sleep) as client:
            account = await read_for_specs(client, [spec])
            plan = make_plan(spec, account, now=client.api_clock().now(), endpoint="bridge")
            report = await apply_in_process(plan, client, journal, sleep=sleep)
            assert not report.failed, report.failed
            errors.append(repr(client))

    async def refused(credentials: OAuth2Credentials) -> None:
        try:
            async with OvhClient(endpoint, credentials, transport=bridge, sleep=sleep) as api:
                await api.get("/services")
        except ReconcilerError as error:
            errors.append(f"{error} {error.hint}")

    try:
        with caplog.at_level("DEBUG"):
            asyncio.run(plan_and_apply())
            asyncio.run(refused(OAuth2Credentials(CLIENT_ID, "OAUTH-SECRET-wrong-1234abcd",
                                                  token_url=good.token_url)))  # fmt: skip
        assert backend.internal_services()  # the run did reach the sandbox
        gone = [s for s in backend.internal_services() if s["name"] == "old-shop.example.org"]
        assert gone[0]["lifecycle"] == "terminated"
    finally:
        backend.close()
    assert bridge.bearers() == {f"Bearer {ACCESS_TOKEN}"}  # every call bore the token
    secrets = {
        "client secret": CLIENT_SECRET,
        "wrong client secret": "OAUTH-SECRET-wrong-1234abcd",
        "access token": ACCESS_TOKEN,
        "basic auth": base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode(),
    }
    texts = {"debug log": caplog.text, "errors": "\n".join(errors), "reprs": repr(good),
             "journal": journal.read_text()}  # fmt: skip
    assert "invalid_client" in texts["errors"]  # the refusal was seen, and worded
    assert leaks(secrets, texts) == []
    record_figures("secrets-oauth2", debug_log_lines=len(caplog.records), leaks=0)


def _seed_object() -> Any:
    from reconciler.sandbox.seed import seed_from_mapping

    return seed_from_mapping(seed(), "secrets seed")


# --- deletion token sources -------------------------------------------------------------------


def test_every_token_source_and_no_message_holds_a_token(tmp_path: Path) -> None:
    token = "TOKEN-SECRET-5a6b7c8d9e0f"
    (tmp_path / "one").write_text(f"\n  {token}  \n")
    (tmp_path / "list").write_text(f"# comment\n\na.example.org = {token}\n")
    given = gather_tokens(["x.example.org=@" + str(tmp_path / "one"), "y.example.org=LITERAL12"],
                          [tmp_path / "list"], {TOKEN_ENV: f"b.example.org={token},"
                                                           f" c.example.org={token}"})  # fmt: skip
    assert dict(given.tokens) == {
        "x.example.org": token, "y.example.org": "LITERAL12", "a.example.org": token,
        "b.example.org": token, "c.example.org": token,
    }  # fmt: skip
    assert given.on_command_line == ("y.example.org",)
    assert token not in repr(given)

    (tmp_path / "email").write_text(f"Hello,\nconfirm: https://x/?id=1&token={token}\n")
    (tmp_path / "bad-list").write_text(f"a.example.org {token}\n")
    (tmp_path / "twice").write_text(f"a.example.org={token}\n")
    (tmp_path / "binary").write_bytes(b"\xff\xfe" + token.encode())
    mistakes: list[tuple[list[str], list[Path], dict[str, str], str]] = [
        (["a.example.org=@" + str(tmp_path / "email")], [], {}, "holds 3 words"),
        (["a.example.org=@" + str(tmp_path / "missing")], [], {}, "cannot read it"),
        (["a.example.org=@" + str(tmp_path)], [], {}, "cannot read it"),
        (["a.example.org=@" + str(tmp_path / "binary")], [], {}, "not UTF-8"),
        ([], [tmp_path / "bad-list"], {}, "line 1: expected NAME=TOKEN"),
        ([f"a.example.org={token}"], [tmp_path / "twice"], {}, "given twice"),
        ([], [], {TOKEN_ENV: f"a.example.org={token} {token}"}, "(pair 2): expected NAME=TOKEN"),
        ([f"a.example.org={token} and more"], [], {}, "not a token"),
        ([f"=@{tmp_path / 'one'}"], [], {}, "expected NAME=TOKEN"),
    ]
    for options, files, environ, words in mistakes:
        with pytest.raises(UsageError) as refused:
            gather_tokens(options, files, environ)
        text = f"{refused.value} {refused.value.hint}"
        assert words in str(refused.value), text
        assert token not in text and "\n" not in str(refused.value), text


# --- the sandbox turns away what OVH turns away ---------------------------------------------


def _signed(
    server: SandboxServer,
    method: str,
    path: str,
    body: str = "",
    *,
    secret: str = AS,
    ck: str = CK,
    ak: str = AK,
    shift: int = 0,
) -> dict[str, str]:
    timestamp = str(int(httpx.get(server.url + "/auth/time").json()) + shift)
    url = server.url + path
    return {
        "X-Ovh-Application": ak, "X-Ovh-Consumer": ck, "X-Ovh-Timestamp": timestamp,
        "X-Ovh-Signature": signature(secret, ck, method, url, body, timestamp),
        **({"Content-Type": "application/json"} if body else {}),
    }  # fmt: skip


def _code(response: httpx.Response) -> tuple[int, str]:
    data = response.json() if response.content else {}
    if not isinstance(data, dict):
        data = {}
    return response.status_code, str(data.get("errorCode") or data.get("message", ""))[:40]


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[SandboxServer]:
    """A sandbox of its own: the shared one remembers the /auth/time deltas it gave
    while other tests moved its clock (each stays good for an hour, so that clients
    signing with it are not stranded), and a timestamp minutes off can match one."""
    with tripwire_server(tmp_path / "auth.db") as wired:
        wired.server.reset(seed(), now=SANDBOX_EPOCH)
        yield wired.server


def test_the_sandbox_turns_away_forged_replayed_and_ungranted_calls(
    fresh_server: SandboxServer,
) -> None:
    server = fresh_server
    base = server.url
    body = json.dumps({"terminationPolicy": "terminateAtExpirationDate"}, separators=(",", ":"))
    put = "/services/120000102"
    good = _signed(server, "PUT", put, body)
    cases = {
        "a good call": (httpx.put(base + put, content=body, headers=good), (200, "")),
        "a wrong secret": (
            httpx.put(
                base + put, content=body, headers=_signed(server, "PUT", put, body, secret=WRONG_AS)
            ),
            (400, "INVALID_SIGNATURE"),
        ),  # fmt: skip
        "replayed 4 minutes later (the same bytes)": (
            httpx.put(
                base + put, content=body, headers=_signed(server, "PUT", put, body, shift=-240)
            ),
            (400, "QUERY_TIME_OUT"),
        ),  # fmt: skip
        "stamped 4 minutes ahead": (
            httpx.put(
                base + put, content=body, headers=_signed(server, "PUT", put, body, shift=240)
            ),
            (400, "QUERY_TIME_OUT"),
        ),  # fmt: skip
        "its signature on another body": (
            httpx.put(
                base + put, content=body.replace("terminateAtExpirationDate", "empty"), headers=good
            ),
            (400, "INVALID_SIGNATURE"),
        ),  # fmt: skip
        "its signature on another service": (
            httpx.put(base + "/services/120000101", content=body, headers=good),
            (400, "INVALID_SIGNATURE"),
        ),  # fmt: skip
        "its signature on another method": (
            httpx.post(base + "/hosting/web/old-shop.example.org/terminate", headers=good),
            (400, "INVALID_SIGNATURE"),
        ),  # fmt: skip
        "its signature with a query string added": (
            httpx.put(base + put + "?x=1", content=body, headers=good),
            (400, "INVALID_SIGNATURE"),
        ),
        "an unknown consumer key": (
            httpx.get(base + "/me", headers=_signed(server, "GET", "/me", ck=UNKNOWN_CK)),
            (403, "NOT_CREDENTIAL"),
        ),  # fmt: skip
        "a consumer key of another application": (
            httpx.get(base + "/me", headers=_signed(server, "GET", "/me", ck="demo-ck")),
            (403, "NOT_CREDENTIAL"),
        ),  # fmt: skip
        "an unknown application key": (
            httpx.get(base + "/me", headers=_signed(server, "GET", "/me", ak="nobody-ak")),
            (403, "INVALID_KEY"),
        ),  # fmt: skip
        "a read-only key writing": (
            httpx.put(
                base + put, content=body, headers=_signed(server, "PUT", put, body, ck=READONLY_CK)
            ),
            (403, "NOT_GRANTED_CALL"),
        ),  # fmt: skip
        "no signature at all": (
            httpx.get(base + "/me", headers={"X-Ovh-Application": AK}),
            (401, "You must login first"),
        ),  # fmt: skip
    }
    for name, (response, expected) in cases.items():
        assert _code(response)[0] == expected[0], (name, response.text)
        assert expected[1] in _code(response)[1] or expected[1] in response.text, (
            name,
            response.text,
        )
    server.admin.set_credential_state(CK, "expired")
    expired = httpx.get(base + "/me", headers=_signed(server, "GET", "/me"))
    assert _code(expired) == (403, "INVALID_CREDENTIAL")
    # What was refused changed nothing: only the good call is in the log as applied.
    applied = [e for e in server.admin.requests() if e["method"] != "GET" and e["applied"]]
    assert [(e["method"], e["path"]) for e in applied] == [("PUT", put)]
    record_figures("sandbox-auth", refusals=len(cases) - 1 + 1, accepted=1)  # + the expired key


def test_a_replay_inside_the_window_is_accepted_as_ovh_does(sandbox_server: SandboxServer) -> None:
    """OVH signs no nonce: the same signed request sent twice within the window is
    accepted twice (two identical GETs in one second are normal). What keeps a capture
    from being useful later is the window, and what keeps it from being bent is the
    signature. Documented; kept so that the sandbox stays faithful."""
    sandbox_server.reset(seed(), now=SANDBOX_EPOCH)
    headers = _signed(sandbox_server, "GET", "/me")
    first = httpx.get(sandbox_server.url + "/me", headers=headers)
    again = httpx.get(sandbox_server.url + "/me", headers=headers)
    assert first.status_code == again.status_code == 200


def test_the_scan_would_see_a_leak() -> None:
    """The scanner itself: every form it looks for is found."""
    for form in variants(CK):
        assert leaks({"consumer key": CK}, {"somewhere": f"x {form} y"})
    assert not leaks({"consumer key": CK}, {"somewhere": hashlib.sha256(CK.encode()).hexdigest()})
