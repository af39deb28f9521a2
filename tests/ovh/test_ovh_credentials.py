"""Credentials resolved like the official client: OVH_* first, then ./ovh.conf,
~/.ovh.conf, /etc/ovh.conf; OAuth2; and never a secret in a repr or a message."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.endpoints import resolve_endpoint
from reconciler.errors import ConfigError
from reconciler.ovh.credentials import (
    OAuth2Credentials,
    SignatureCredentials,
    configured_endpoint,
    default_search_paths,
    resolve_credentials,
)

EU = resolve_endpoint("ovh-eu")
SECRETS = ("sekret-as-value", "sekret-ck-value", "sekret-client-secret")


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Three config files standing for ./ovh.conf, ~/.ovh.conf and /etc/ovh.conf."""
    (tmp_path / "cwd").mkdir()
    (tmp_path / "home").mkdir()
    (tmp_path / "etc").mkdir()
    return (
        tmp_path / "cwd" / "ovh.conf",
        tmp_path / "home" / ".ovh.conf",
        tmp_path / "etc" / "ovh.conf",
    )


def signature_keys(files: tuple[Path, Path, Path], **environ: str) -> tuple[str, str, str | None]:
    """The application key, secret and consumer key resolved for the EU endpoint."""
    creds = resolve_credentials(EU, environ=environ, search_paths=files)
    assert isinstance(creds, SignatureCredentials)
    return (creds.application_key, creds.application_secret, creds.consumer_key)


def test_environment_variables() -> None:
    environ = {
        "OVH_APPLICATION_KEY": "ak-env",
        "OVH_APPLICATION_SECRET": "as-env",
        "OVH_CONSUMER_KEY": "ck-env",
    }
    creds = resolve_credentials(EU, environ=environ, search_paths=())
    assert creds == SignatureCredentials("ak-env", "as-env", "ck-env", source="environment")


def test_ini_file_section_of_the_endpoint(files: tuple[Path, Path, Path]) -> None:
    cwd, home, etc = files
    home.write_text(
        "[default]\nendpoint=ovh-ca\n\n[ovh-eu]\napplication_key=ak-eu\n"
        "application_secret=as-eu\nconsumer_key=ck-eu\n\n[ovh-ca]\napplication_key=ak-ca\n"
        "application_secret=as-ca\nconsumer_key=ck-ca\n"
    )
    assert signature_keys(files) == ("ak-eu", "as-eu", "ck-eu")
    assert str(home) in resolve_credentials(EU, environ={}, search_paths=files).source
    assert configured_endpoint({}, files) == ("ovh-ca", f"{home} [default] endpoint")


def test_precedence_env_then_cwd_then_home_then_etc(files: tuple[Path, Path, Path]) -> None:
    cwd, home, etc = files
    etc.write_text(
        "[ovh-eu]\napplication_key=ak-etc\napplication_secret=as-etc\nconsumer_key=ck-etc\n"
    )
    home.write_text("[ovh-eu]\napplication_secret=as-home\nconsumer_key=ck-home\n")
    cwd.write_text("[ovh-eu]\nconsumer_key=ck-cwd\n")
    assert signature_keys(files) == ("ak-etc", "as-home", "ck-cwd")
    assert signature_keys(files, OVH_CONSUMER_KEY="ck-env")[2] == "ck-env"


def test_endpoint_precedence_env_over_files(files: tuple[Path, Path, Path]) -> None:
    cwd, home, etc = files
    etc.write_text("[default]\nendpoint=ovh-us\n")
    cwd.write_text("[default]\nendpoint=ovh-ca\n")
    assert configured_endpoint({}, files) == ("ovh-ca", f"{cwd} [default] endpoint")
    assert configured_endpoint({"OVH_ENDPOINT": "ovh-eu"}, files) == ("ovh-eu", "OVH_ENDPOINT")
    assert configured_endpoint({}, ()) is None


def test_default_search_paths_order(tmp_path: Path) -> None:
    assert default_search_paths(tmp_path / "w", tmp_path / "h") == (
        tmp_path / "w" / "ovh.conf",
        tmp_path / "h" / ".ovh.conf",
        Path("/etc/ovh.conf"),
    )


def test_oauth2_client_credentials() -> None:
    environ = {"OVH_CLIENT_ID": "id-1", "OVH_CLIENT_SECRET": "sekret-client-secret"}
    creds = resolve_credentials(EU, environ=environ, search_paths=())
    assert creds == OAuth2Credentials(
        "id-1", "sekret-client-secret", "https://www.ovh.com/auth/oauth2/token", "environment"
    )
    ca = resolve_credentials(resolve_endpoint("ovh-ca"), environ=environ, search_paths=())
    assert (
        isinstance(ca, OAuth2Credentials) and ca.token_url == "https://ca.ovh.com/auth/oauth2/token"
    )


def test_oauth2_refused_where_ovh_has_no_token_url() -> None:
    environ = {"OVH_CLIENT_ID": "id-1", "OVH_CLIENT_SECRET": "x"}
    with pytest.raises(ConfigError, match="cannot be used with the endpoint kimsufi-eu"):
        resolve_credentials(resolve_endpoint("kimsufi-eu"), environ=environ, search_paths=())


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({}, "no OVH credentials configured for ovh-eu"),
        ({"OVH_APPLICATION_KEY": "ak"}, "application_secret is missing"),
        ({"OVH_APPLICATION_SECRET": "as"}, "application_key is missing"),
        ({"OVH_APPLICATION_KEY": "ak", "OVH_APPLICATION_SECRET": "as"}, "no consumer key"),
        ({"OVH_CLIENT_ID": "id"}, "client_secret is missing"),
        (
            {"OVH_CLIENT_ID": "id", "OVH_CLIENT_SECRET": "s", "OVH_APPLICATION_KEY": "ak"},
            "both an application key and an OAuth2 client",
        ),
    ],
)
def test_incomplete_or_contradictory(environ: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_credentials(EU, environ=environ, search_paths=())
    assert words in str(caught.value)
    assert caught.value.hint


def test_blank_values_count_as_missing() -> None:
    environ = {"OVH_APPLICATION_KEY": "  ", "OVH_APPLICATION_SECRET": ""}
    with pytest.raises(ConfigError, match="no OVH credentials"):
        resolve_credentials(EU, environ=environ, search_paths=())


def test_consumer_key_may_be_optional() -> None:
    environ = {"OVH_APPLICATION_KEY": "ak", "OVH_APPLICATION_SECRET": "as"}
    creds = resolve_credentials(EU, environ=environ, search_paths=(), require_consumer_key=False)
    assert isinstance(creds, SignatureCredentials) and creds.consumer_key is None


def test_embedded_sandbox_ignores_env_and_uses_its_section_or_the_demo(
    files: tuple[Path, Path, Path],
) -> None:
    sandbox = resolve_endpoint("sandbox")
    demo = SignatureCredentials("demo-ak", "demo-as", "demo-ck", source="demo")
    real_env = {
        "OVH_APPLICATION_KEY": "real",
        "OVH_APPLICATION_SECRET": "real",
        "OVH_CONSUMER_KEY": "r",
    }
    assert (
        resolve_credentials(sandbox, environ=real_env, search_paths=files, embedded_default=demo)
        is demo
    )
    files[0].write_text("[sandbox]\napplication_key=k\napplication_secret=s\nconsumer_key=c\n")
    creds = resolve_credentials(
        sandbox, environ=real_env, search_paths=files, embedded_default=demo
    )
    assert isinstance(creds, SignatureCredentials) and creds.application_key == "k"


def test_url_endpoint_reads_env_and_its_own_section(files: tuple[Path, Path, Path]) -> None:
    url = resolve_endpoint("http://127.0.0.1:8080/1.0")
    files[1].write_text(
        "[http://127.0.0.1:8080/1.0]\napplication_key=k\napplication_secret=s\nconsumer_key=c\n"
    )
    creds = resolve_credentials(url, environ={}, search_paths=files)
    assert isinstance(creds, SignatureCredentials) and creds.consumer_key == "c"


def test_malformed_ini_is_one_clear_error_without_its_content(
    files: tuple[Path, Path, Path],
) -> None:
    files[0].write_text("application_secret=sekret-as-value\n[ovh-eu\n")
    with pytest.raises(ConfigError) as caught:
        resolve_credentials(EU, environ={}, search_paths=files)
    assert str(files[0]) in str(caught.value)
    assert "sekret" not in str(caught.value) and "sekret" not in (caught.value.hint or "")


def test_unreadable_file_is_a_config_error(files: tuple[Path, Path, Path]) -> None:
    files[0].write_bytes(b"[ovh-eu]\napplication_key=\xff\xfe\n")
    with pytest.raises(ConfigError, match="cannot read"):
        resolve_credentials(EU, environ={}, search_paths=files)


def test_secrets_never_appear_in_repr_or_str() -> None:
    signature = SignatureCredentials("sekret-ak", "sekret-as-value", "sekret-ck-value", "env")
    oauth = OAuth2Credentials("sekret-id", "sekret-client-secret", "https://t", "env")
    for creds in (signature, oauth):
        for text in (repr(creds), str(creds), f"{creds}", repr([creds]), repr({"c": creds})):
            assert "sekret" not in text
    assert "with consumer key" in repr(signature)


def test_errors_never_hold_a_secret() -> None:
    environ = {
        "OVH_APPLICATION_KEY": "sekret-ak",
        "OVH_APPLICATION_SECRET": "sekret-as-value",
        "OVH_CLIENT_ID": "sekret-id",
    }
    with pytest.raises(ConfigError) as caught:
        resolve_credentials(EU, environ=environ, search_paths=())
    assert "sekret" not in str(caught.value) + (caught.value.hint or "")
