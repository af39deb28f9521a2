"""The bundled demo account (``demo.yaml``) and its credentials.

Importing this module is cheap (no YAML is read until ``demo_seed()`` is called): the
client imports ``DEMO_CREDENTIALS`` to talk to the embedded sandbox.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from reconciler.sandbox.seed import FULL_ACCESS, AccessRule, CredentialSeed

if TYPE_CHECKING:
    from reconciler.sandbox.seed import Seed

DEMO_SEED_PATH = Path(__file__).with_name("demo.yaml")

# The demo account's keys. They are not secrets: the sandbox is local and they open
# nothing but it. The consumer key may GET/PUT/POST/DELETE /*.
DEMO_CREDENTIALS = MappingProxyType(
    {
        "application_key": "demo-ak",
        "application_secret": "demo-as",
        "consumer_key": "demo-ck",
    }
)

DEMO_CREDENTIAL_SEED = CredentialSeed(
    application_key=DEMO_CREDENTIALS["application_key"],
    application_secret=DEMO_CREDENTIALS["application_secret"],
    consumer_key=DEMO_CREDENTIALS["consumer_key"],
    rules=tuple(AccessRule(method, path) for method, path in FULL_ACCESS),
)


@lru_cache(maxsize=1)
def demo_seed() -> Seed:
    """The demo account, read from the bundled ``demo.yaml`` (validated like any seed)."""
    from reconciler.sandbox.seed import load_seed

    return load_seed(DEMO_SEED_PATH)
