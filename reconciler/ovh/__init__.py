"""The OVH API client: the only package of reconciler that imports httpx.

- ``credentials``: where the credentials come from (``OVH_*``, ovh.conf), hidden from reprs;
- ``auth``: OVH request signing and OAuth2, as ``httpx.Auth`` subclasses;
- ``responses``: answers into values or into ``reconciler.errors`` (both body styles);
- ``client``: ``OvhClient`` — bounded concurrency, the single retry loop, the API's
  clock, Iceberg reads with a per-id fallback;
- ``embedded``: the in-process ``sandbox`` endpoint.
"""

from reconciler.ovh.client import OvhClient, ReadStrategy, RetryPolicy
from reconciler.ovh.credentials import (
    Credentials,
    OAuth2Credentials,
    SignatureCredentials,
    resolve_credentials,
)

__all__ = [
    "Credentials",
    "OAuth2Credentials",
    "OvhClient",
    "ReadStrategy",
    "RetryPolicy",
    "SignatureCredentials",
    "resolve_credentials",
]
