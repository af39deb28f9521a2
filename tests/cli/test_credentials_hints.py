"""What a user without keys, or with a key for one role, is told: the served sandbox's
demo keys, the ovh.conf section looked for, and commands that keep their --endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SandboxServer
from sandbox_env import cli, isolate

from reconciler.endpoints import resolve_endpoint
from reconciler.errors import ConfigError
from reconciler.ovh.credentials import resolve_credentials, section_key

SPEC = """\
version: 1
endpoint: {endpoint}
unmanaged: ignore
services:
  example.com:
    type: domain
    lifecycle: renew
"""
DEMO_KEYS = (
    "OVH_APPLICATION_KEY=demo-ak",
    "OVH_APPLICATION_SECRET=demo-as",
    "OVH_CONSUMER_KEY=demo-ck",
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No OVH_* variables, no ovh.conf from the real home."""
    return isolate(tmp_path, monkeypatch)


def test_plan_against_a_served_sandbox_without_keys_names_the_demo_keys(
    workdir: Path,
    sandbox_server: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (workdir / "spec.yaml").write_text(SPEC.format(endpoint=sandbox_server.url))
    code, out, err = cli(capsys, "plan", "spec.yaml")
    assert (code, out) == (1, "")
    assert f"no OVH credentials configured for {sandbox_server.url}" in err
    assert all(key in err for key in DEMO_KEYS), err
    # and the keys it names are the ones that work
    for key in DEMO_KEYS:
        name, _, value = key.partition("=")
        monkeypatch.setenv(name, value)
    code, _, err = cli(capsys, "plan", "spec.yaml")
    assert code == 0, err


def test_a_missing_consumer_key_for_a_served_sandbox_names_the_demo_keys(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = resolve_endpoint("http://127.0.0.1:41211/1.0")
    environ = {"OVH_APPLICATION_KEY": "demo-ak", "OVH_APPLICATION_SECRET": "demo-as"}
    with pytest.raises(ConfigError) as error:
        resolve_credentials(endpoint, environ=environ, search_paths=())
    assert "no consumer key" in error.value.message
    assert "OVH_CONSUMER_KEY=demo-ck" in (error.value.hint or "")


@pytest.mark.parametrize("value", ["ovh-eu", "https://eu.api.ovh.com/1.0", "sandbox"])
def test_no_demo_keys_are_offered_for_a_real_account(value: str) -> None:
    endpoint = resolve_endpoint(value)
    try:
        resolve_credentials(endpoint, environ={}, search_paths=())
    except ConfigError as error:
        assert "demo-ak" not in (error.hint or "")
    else:
        assert endpoint.embedded  # the embedded sandbox needs none


# --- ovh.conf sections match the endpoint however it is written ----------------------

KEYS_INI = "application_key=k\napplication_secret=s\nconsumer_key=c\n"


@pytest.mark.parametrize(
    ("section", "endpoint"),
    [
        ("http://127.0.0.1:41211", "http://127.0.0.1:41211/1.0"),  # the URL serve prints
        ("http://127.0.0.1:41211/1.0", "http://127.0.0.1:41211"),
        ("http://127.0.0.1:41211/", "http://127.0.0.1:41211/1.0/"),
        ("HTTP://LocalHost:41211/1.0", "http://localhost:41211"),
        ("https://api.example.com:443/1.0", "https://API.example.com/1.0/"),
        ("ovh-eu", "https://eu.api.ovh.com/1.0"),  # the URL of a named endpoint
        ("https://eu.api.ovh.com/1.0/", "ovh-eu"),
    ],
)
def test_an_ovh_conf_section_serves_its_endpoint_however_written(
    tmp_path: Path, section: str, endpoint: str
) -> None:
    conf = tmp_path / "ovh.conf"
    conf.write_text(f"[{section}]\n{KEYS_INI}")
    found = resolve_credentials(resolve_endpoint(endpoint), environ={}, search_paths=(conf,))
    assert getattr(found, "consumer_key", None) == "c"
    assert found.source == f"{conf} [{section}]"  # the section as the file writes it


@pytest.mark.parametrize(
    ("section", "endpoint"),
    [
        ("http://127.0.0.1:41212", "http://127.0.0.1:41211/1.0"),  # another port
        ("http://127.0.0.1:41211/2.0", "http://127.0.0.1:41211/1.0"),  # another API
        ("ovh-ca", "https://eu.api.ovh.com/1.0"),
        ("OVH-EU", "ovh-eu"),  # names are matched as the official client does: exactly
    ],
)
def test_a_section_of_another_endpoint_does_not_serve(
    tmp_path: Path, section: str, endpoint: str
) -> None:
    conf = tmp_path / "ovh.conf"
    conf.write_text(f"[{section}]\n{KEYS_INI}")
    with pytest.raises(ConfigError) as error:
        resolve_credentials(resolve_endpoint(endpoint), environ={}, search_paths=(conf,))
    # the error names the section looked for, the files, and the near miss
    assert error.value.message == f"no OVH credentials configured for {endpoint}"
    assert f"(they have [{section}])" in (error.value.hint or "")
    assert f"the section [{section_key(endpoint)}]" in (error.value.hint or "")
    assert f" in {conf}" in (error.value.hint or "")


def test_the_error_names_the_section_looked_for(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "ovh.conf").write_text(f"[http://127.0.0.1:1]\n{KEYS_INI}")
    url = "http://127.0.0.1:41211/1.0/"
    (workdir / "spec.yaml").write_text(SPEC.format(endpoint=url))
    code, _, err = cli(capsys, "plan", "spec.yaml")
    assert code == 1
    first, hint = err.splitlines()[:2]
    assert first == f"error: no OVH credentials configured for {url}"
    assert hint.startswith(
        "hint: looked for the OVH_* variables and the section "
        f"[http://127.0.0.1:41211/1.0] (that URL however written) in {workdir / 'ovh.conf'}, "
    )
    assert "(they have [http://127.0.0.1:1])" in hint


# --- hints that name a command keep the --endpoint the user gave -----------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "request one with `reconciler credentials request` and open its URL",
            "request one with `reconciler credentials request --endpoint ovh-ca` and open its URL",
        ),
        (
            "(`reconciler credentials request --role apply`); `reconciler services` lists them",
            "(`reconciler credentials request --role apply --endpoint ovh-ca`); "
            "`reconciler services --endpoint ovh-ca` lists them",
        ),
        # already there, or a command that takes no --endpoint: left as it is
        (
            "`reconciler services --endpoint ovh-eu`",
            "`reconciler services --endpoint ovh-eu`",
        ),
        ("`reconciler journal --run 3` shows it", "`reconciler journal --run 3` shows it"),
        ("see `reconciler plan --help`", "see `reconciler plan --help`"),
        ("`reconciler show plan.json`", "`reconciler show plan.json`"),
        ("`reconciler servicesx`", "`reconciler servicesx`"),
    ],
)
def test_keep_endpoint_adds_the_option_to_the_commands_named(text: str, expected: str) -> None:
    from reconciler.cli.common import keep_endpoint

    assert keep_endpoint(text, "ovh-ca") == expected
    assert keep_endpoint(text, None) == text


def test_keep_endpoint_quotes_for_the_shell() -> None:
    from reconciler.cli.common import keep_endpoint

    assert keep_endpoint("`reconciler import`", "http://[::1]:8080/1.0") == (
        "`reconciler import --endpoint 'http://[::1]:8080/1.0'`"
    )


@pytest.mark.parametrize("before", [False, True])
def test_an_error_hint_keeps_the_endpoint_given(
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    before: bool,
) -> None:
    # An application key but no consumer key: the hint says to request one, on the
    # endpoint the user is working on, not on OVH_ENDPOINT's or the embedded sandbox.
    monkeypatch.setenv("OVH_APPLICATION_KEY", "demo-ak")
    monkeypatch.setenv("OVH_APPLICATION_SECRET", "demo-as")
    url = "http://127.0.0.1:41211/1.0"
    args = ["--endpoint", url, "services"] if before else ["services", "--endpoint", url]
    code, _, err = cli(capsys, *args)
    assert code == 1
    assert err.splitlines()[0] == f"error: no consumer key configured for {url}"
    assert f"`reconciler credentials request --endpoint {url}`" in err.splitlines()[1]


def test_an_error_hint_without_endpoint_option_is_unchanged(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OVH_ENDPOINT", "http://127.0.0.1:41211/1.0")  # found again as is
    monkeypatch.setenv("OVH_APPLICATION_KEY", "demo-ak")
    monkeypatch.setenv("OVH_APPLICATION_SECRET", "demo-as")
    code, _, err = cli(capsys, "services")
    assert code == 1
    assert "`reconciler credentials request` and open" in err and "--endpoint" not in err


def test_plan_text_names_services_with_the_endpoint_given(
    workdir: Path,
    sandbox_server: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key in DEMO_KEYS:
        name, _, value = key.partition("=")
        monkeypatch.setenv(name, value)
    spec = SPEC.format(endpoint="sandbox").replace("unmanaged: ignore", "unmanaged: report")
    (workdir / "spec.yaml").write_text(spec)
    code, out, err = cli(capsys, "plan", "spec.yaml", "--endpoint", sandbox_server.url)
    assert code == 0, err
    assert f"`reconciler services --endpoint {sandbox_server.url}` lists them" in out
    code, out, _ = cli(
        capsys, "plan", "spec.yaml", "--endpoint", sandbox_server.url, "--format", "json"
    )
    assert "--endpoint" not in out  # the plan file's words are not touched


def test_credentials_request_names_the_secrets_as_the_guides_do() -> None:
    """The consumer key is stored as OVH_PLAN_/OVH_APPLY_CONSUMER_KEY and passed as
    OVH_CONSUMER_KEY: the code's output, the user guide's example and the recipes agree."""
    from reconciler.cli.common import Target
    from reconciler.cli.credentials import RequestedKey, request_text
    from reconciler.core.access import Role

    target = Target(endpoint=resolve_endpoint("ovh-eu"), source="--endpoint")
    key = RequestedKey(
        Role.PLAN, "<the key>", "https://eu.api.ovh.com/auth/?t=1", "pendingValidation"
    )
    text = request_text(key, target)
    guide = (Path(__file__).resolve().parents[2] / "docs" / "user-guide.md").read_text()
    consumer_line = next(line for line in text.splitlines() if line.startswith("Consumer key"))
    assert "store it as OVH_PLAN_CONSUMER_KEY" in consumer_line
    assert "passes it to reconciler as OVH_CONSUMER_KEY" in consumer_line
    assert consumer_line in guide  # the guide shows what the command prints
    # the command printed to run next reaches the same account
    assert text.splitlines()[-1] == (
        "Check it once validated: reconciler credentials check --role plan --endpoint ovh-eu"
    )
    recipes = Path(__file__).resolve().parents[2] / "examples" / "ci"
    for recipe in recipes.rglob("*.yml"):
        words = recipe.read_text()
        if "OVH_CONSUMER_KEY" in words:
            assert "OVH_PLAN_CONSUMER_KEY" in words or "OVH_APPLY_CONSUMER_KEY" in words, recipe
