"""What the provider is configured with: the stack's ``reconciler:*`` configuration
(docs/pulumi.md: "Configuration" lists the keys and their defaults, "Credentials" their
precedence, "Deletion tokens" how that secret is given).

Pulumi hands a dynamic provider the whole stack configuration when it starts it
(``ResourceProvider.configure``), secrets decrypted. The provider keeps only what it
needs, here, in the provider host process: it is never pickled (the provider pickles
nothing of itself) and its secrets never show in a ``repr``.

The contract: every key is optional, and an empty value (``Pulumi.yaml``'s default for
most) is a key not set; credentials set here replace the ``OVH_*`` ones, never mix with
them; durations take the grammar of every option (``reconciler.durations``); relative
paths (the journal, ``$RECONCILER_STATE_DIR`` and so the embedded sandbox's state) are
the project directory's (``project_dir``), never the working directory's: Pulumi runs
the program and the provider's host in the directory of ``Pulumi.yaml``'s ``main``,
which a project may put anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from reconciler.apply.results import DEFAULT_TOKEN_TIMEOUT
from reconciler.durations import InvalidDuration
from reconciler.durations import parse_duration as parse_any_duration
from reconciler.errors import ConfigError
from reconciler.journal import JOURNAL_FILE
from reconciler.ovh import embedded

NAMESPACE: Final = "reconciler"
# Pulumi config key -> the environment variable it stands for.
CREDENTIAL_KEYS: Final = {
    "applicationKey": "OVH_APPLICATION_KEY",
    "applicationSecret": "OVH_APPLICATION_SECRET",
    "consumerKey": "OVH_CONSUMER_KEY",
    "clientId": "OVH_CLIENT_ID",
    "clientSecret": "OVH_CLIENT_SECRET",
}
TOKENS_KEY: Final = "deletionTokens"
JOURNAL_KEY: Final = "journal"
TOKEN_TIMEOUT_KEY: Final = "tokenTimeout"
READ_CACHE_KEY: Final = "readCacheSeconds"
DEFAULT_READ_CACHE_SECONDS: Final = 30.0
# What a deletion token can be: printable ASCII, no blank, no '=' (the e-mail's link
# carries it as a query value); lenient, as OVH publishes no format.
_TOKEN = re.compile(r"[\x21-\x3c\x3e-\x7e]{1,1024}")
_TOKENS_FIX = (
    f"give `KEY=TOKEN` pairs: `pulumi config set --secret {NAMESPACE}:{TOKENS_KEY} < FILE`, "
    "FILE holding one `old-shop.example.org=TOKEN` a line (the token= value of the "
    "e-mail's confirmTerminate link)"
)
# The files Pulumi recognises as a project, looked for upwards as the CLI looks for them.
PROJECT_FILES: Final = ("Pulumi.yaml", "Pulumi.yml", "Pulumi.json")


def project_dir(start: Path) -> Path:
    """The project directory seen from ``start``: the nearest directory, ``start`` or
    above, holding a Pulumi project file — the one the Pulumi CLI found. ``start``
    itself (made absolute) when there is none: a program run outside any project."""
    start = start.absolute()
    for directory in (start, *start.parents):
        if any((directory / name).is_file() for name in PROJECT_FILES):
            return directory
    return start


@dataclass(frozen=True, slots=True)
class Settings:
    """The provider's configuration (see the module docstring)."""

    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)  # OVH_* -> value
    tokens: Mapping[str, str] = field(default_factory=dict, repr=False)  # service -> token
    journal: Path | None = None
    token_timeout: timedelta = DEFAULT_TOKEN_TIMEOUT
    read_cache_seconds: float = DEFAULT_READ_CACHE_SECONDS

    def __repr__(self) -> str:
        given = ", ".join(sorted(self.credentials)) or "none"
        return (
            f"Settings(credentials from config: {given}, deletion tokens: {len(self.tokens)}, "
            f"journal={self.journal!r}, "
            f"token_timeout={self.token_timeout}, read_cache_seconds={self.read_cache_seconds})"
        )

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> Settings:
        """From the stack configuration as Pulumi passes it (``"reconciler:journal"``
        keys; values are strings, secrets already decrypted)."""

        def get(key: str) -> str | None:
            value = raw.get(f"{NAMESPACE}:{key}")
            if value is None:
                return None
            if isinstance(value, int | float) and not isinstance(value, bool):
                value = f"{value:g}"  # a number written unquoted in the stack's YAML
            if not isinstance(value, str):
                raise ConfigError(
                    f"config {NAMESPACE}:{key} must be a string",
                    hint=f"set it with `pulumi config set {NAMESPACE}:{key} VALUE`",
                )
            return value.strip() or None

        credentials = {
            variable: value
            for key, variable in CREDENTIAL_KEYS.items()
            if (value := get(key)) is not None
        }
        tokens = get(TOKENS_KEY)
        journal = get(JOURNAL_KEY)
        timeout = get(TOKEN_TIMEOUT_KEY)
        cache = get(READ_CACHE_KEY)
        return cls(
            credentials=credentials,
            tokens=parse_tokens(tokens) if tokens else {},
            journal=Path(journal) if journal else None,
            token_timeout=parse_duration(timeout) if timeout else DEFAULT_TOKEN_TIMEOUT,
            read_cache_seconds=_seconds(cache) if cache else DEFAULT_READ_CACHE_SECONDS,
        )

    def environ(self, base: Mapping[str, str]) -> dict[str, str]:
        """The environment the client resolves credentials from: ``base`` with the
        configured credentials in place of every ``OVH_*`` credential variable (never a
        mix of the two: the stack's configuration names the account)."""
        if not self.credentials:
            return dict(base)
        kept = {k: v for k, v in base.items() if k not in CREDENTIAL_KEYS.values()}
        return kept | dict(self.credentials)

    def journal_path(self, environ: Mapping[str, str], root: Path) -> Path:
        """The journal: the configured one, else the one ``reconciler apply`` uses when
        run in ``root`` (the project directory); a relative path is ``root``'s."""
        if self.journal is not None:
            return self.journal if self.journal.is_absolute() else root / self.journal
        return state_dir(environ, root) / JOURNAL_FILE


def state_dir(environ: Mapping[str, str], root: Path) -> Path:
    """Where the embedded sandbox keeps its account and the journal its records, for
    the project in ``root``: ``$RECONCILER_STATE_DIR`` (a relative one is ``root``'s),
    else ``root/.reconciler`` — what ``reconciler`` uses when run in ``root``."""
    directory = embedded.state_dir(environ, root)
    return directory if directory.is_absolute() else root / directory


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise ConfigError(
            f"config {NAMESPACE}:{READ_CACHE_KEY} {value!r} is not a number of seconds",
            hint="use a number from 0 (never share a read) to 3600",
        )
    return seconds


def parse_duration(value: str) -> timedelta:
    """``reconciler:tokenTimeout``: a fixed duration in the grammar of every option
    (``90s``, ``30min``, ``1h``, ``PT45M``; ``m`` alone is refused as ambiguous)."""
    try:
        return parse_any_duration(value, allow_calendar=False).as_timedelta()
    except InvalidDuration as invalid:
        raise ConfigError(
            f"config {NAMESPACE}:{TOKEN_TIMEOUT_KEY}: {invalid.message}", hint=invalid.fix
        ) from None


def parse_tokens(text: str) -> dict[str, str]:
    """``reconciler:deletionTokens``: ``KEY=TOKEN`` pairs, by service (see the module
    docstring). A ``ConfigError`` names the pair (by its number) and never shows it: what
    is malformed may be a token."""
    found: dict[str, str] = {}
    number = 0
    for line in text.splitlines():
        if line.strip().startswith("#"):
            continue
        for pair in re.split(r"[\s,]+", line.strip()):
            if not pair:
                continue
            number += 1
            name, sep, token = pair.partition("=")
            where = f"config {NAMESPACE}:{TOKENS_KEY}, pair {number}"
            if not sep or not name or not token:
                raise ConfigError(f"{where}: expected KEY=TOKEN", hint=_TOKENS_FIX)
            if not _TOKEN.fullmatch(token):
                raise ConfigError(
                    f"{where} ({name}): that is not a token (one word of letters, digits "
                    "and punctuation)",
                    hint="copy the token= value of the e-mail's confirmTerminate link, "
                    "nothing else",
                )
            if name in found:
                raise ConfigError(
                    f"{where}: the token of {name} is given twice",
                    hint="give one token for each service",
                )
            found[name] = token
    return found
