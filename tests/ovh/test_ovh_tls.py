"""Which certificates a client trusts: the CA bundle only where some URL is https.

Loading the bundle costs 20-50 ms of start-up; a plain-http loopback endpoint (a served
sandbox) has no use for it, and gets a context that trusts no certificate at all, so
that nothing sent over https through it could go unverified."""

from __future__ import annotations

import ssl

from reconciler.endpoints import resolve_endpoint
from reconciler.ovh.client import OvhClient
from reconciler.ovh.credentials import OAuth2Credentials, SignatureCredentials

KEYS = SignatureCredentials(application_key="ak", application_secret="as", consumer_key="ck")


def tls_of(url: str, credentials: SignatureCredentials | OAuth2Credentials = KEYS) -> object:
    return OvhClient(resolve_endpoint(url), credentials)._tls()


def test_an_https_endpoint_verifies_with_the_ca_bundle() -> None:
    assert tls_of("ovh-eu") is True
    assert tls_of("https://127.0.0.1:8443/1.0") is True


def test_a_plain_http_loopback_endpoint_loads_no_bundle_and_trusts_nothing() -> None:
    context = tls_of("http://127.0.0.1:41211/1.0")
    assert isinstance(context, ssl.SSLContext)
    assert context.cert_store_stats()["x509_ca"] == 0  # no CA loaded: every chain fails
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


def test_an_https_token_url_gets_the_bundle_even_on_an_http_endpoint() -> None:
    oauth2 = OAuth2Credentials("id", "secret", token_url="https://www.ovh.com/auth/oauth2/token")
    assert tls_of("http://127.0.0.1:41211/1.0", oauth2) is True
