from __future__ import annotations

import pytest

from reconciler.endpoints import ENDPOINTS, resolve_endpoint
from reconciler.errors import ConfigError


def test_names_match_the_official_client() -> None:
    import ovh.client

    assert ENDPOINTS == ovh.client.ENDPOINTS


@pytest.mark.parametrize(
    ("value", "base"),
    [
        ("ovh-eu", "https://eu.api.ovh.com/1.0"),
        ("sandbox", "http://sandbox.invalid/1.0"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/1.0"),
        ("http://localhost:8080/1.0/", "http://localhost:8080/1.0"),
        ("http://[::1]:9000/1.0", "http://[::1]:9000/1.0"),
        ("https://api.example.net/1.0", "https://api.example.net/1.0"),
    ],
)
def test_resolves(value: str, base: str) -> None:
    assert resolve_endpoint(value).base_url == base


@pytest.mark.parametrize(
    "value",
    ["http://api.example.net", "ftp://x", "ovh-moon", "https://user:pw@h.example", "https://"],
)
def test_refuses_with_a_hint(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_endpoint(value)
    assert info.value.hint and "ovh-eu" in info.value.hint
