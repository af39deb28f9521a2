"""Where the OVH credentials come from, resolved like the official python client.

For each value the ``OVH_*`` environment variable wins; otherwise the INI files are
read, the endpoint's section first::

    [default]
    endpoint=ovh-eu

    [ovh-eu]
    application_key=...
    application_secret=...
    consumer_key=...
    ; or, for OAuth2 service accounts:
    ; client_id=...
    ; client_secret=...

The files are ``./ovh.conf``, ``~/.ovh.conf`` and ``/etc/ovh.conf``, in that order of
precedence (the official client reads them with the opposite, increasing, priority; the
result is the same). Environment and search paths are injected so that tests never read
the real home directory.

The embedded ``sandbox`` endpoint ignores the ``OVH_*`` variables (they name a real
account, which the embedded sandbox cannot know): it uses its ``[sandbox]`` section of
ovh.conf when there is one, else the demo account's credentials.

Credential values never appear in a ``repr``, a message or a log: only where they came
from does.
"""

from __future__ import annotations

import configparser
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from reconciler.endpoints import ENDPOINTS, Endpoint, is_loopback
from reconciler.errors import ConfigError

ENV_PREFIX = "OVH_"
API_VERSION_PATH = "/1.0"  # the path an endpoint URL written without one gets
KEYS = ("application_key", "application_secret", "consumer_key", "client_id", "client_secret")
CREDENTIALS_HINT = (
    "set OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET and OVH_CONSUMER_KEY (or OAuth2's "
    "OVH_CLIENT_ID and OVH_CLIENT_SECRET), or write them in the endpoint's section of "
    "./ovh.conf or ~/.ovh.conf"
)


def default_search_paths(cwd: Path | None = None, home: Path | None = None) -> tuple[Path, ...]:
    """The INI files to read, highest precedence first (as the official client)."""
    cwd = cwd if cwd is not None else Path.cwd()
    home = home if home is not None else Path.home()
    return (cwd / "ovh.conf", home / ".ovh.conf", Path("/etc/ovh.conf"))


@dataclass(frozen=True, slots=True)
class SignatureCredentials:
    """An application key and secret, and the consumer key that signs calls for a user."""

    application_key: str = field(repr=False)
    application_secret: str = field(repr=False)
    consumer_key: str | None = field(repr=False)
    source: str = "explicit"  # where they came from, for messages ("environment", a file)

    def __repr__(self) -> str:
        ck = "with" if self.consumer_key else "without"
        return f"SignatureCredentials(<hidden>, {ck} consumer key, source={self.source!r})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class OAuth2Credentials:
    """An OAuth2 service account (client credentials flow, scope ``all``)."""

    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    token_url: str
    source: str = "explicit"

    def __repr__(self) -> str:
        return f"OAuth2Credentials(<hidden>, token_url={self.token_url!r}, source={self.source!r})"

    __str__ = __repr__


Credentials = SignatureCredentials | OAuth2Credentials


_DEFAULT_PORTS = {"http": 80, "https": 443}


def section_key(name: str) -> str:
    """What an ovh.conf section and an endpoint are matched by.

    A name (``ovh-eu``, ``sandbox``, ``default``) is itself. A URL is normalised as the
    endpoint resolver reads it, so that ``[http://127.0.0.1:41211]`` serves the URL
    ``sandbox serve`` prints, ``http://127.0.0.1:41211/1.0``: scheme and host in lower
    case, the scheme's default port dropped, trailing slashes dropped, no path meaning
    ``/1.0``. The URL of a named endpoint is that name (``[ovh-eu]`` serves
    ``https://eu.api.ovh.com/1.0``): one account, one section, however it is written."""
    text = name.strip()
    if "://" not in text:
        return text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:  # not a URL after all (a bad port): matched as written
        return text
    if not parts.hostname:
        return text
    scheme = parts.scheme.lower()
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    url = f"{scheme}://{netloc}{parts.path.rstrip('/') or API_VERSION_PATH}"
    return next((known for known, base in ENDPOINTS.items() if base == url), url)


@dataclass(frozen=True, slots=True)
class OvhConfig:
    """The merged INI files: ``[default] endpoint`` and one section per endpoint, keyed
    by ``section_key`` (each value keeps its file and the section as it was written)."""

    # section key -> key -> (value, file, section as written)
    sections: Mapping[str, Mapping[str, tuple[str, Path, str]]]

    @classmethod
    def read(cls, search_paths: Sequence[Path]) -> OvhConfig:
        """Read every existing file of ``search_paths`` (highest precedence first)."""
        merged: dict[str, dict[str, tuple[str, Path, str]]] = {}
        for path in reversed(search_paths):  # lowest precedence first, later ones override
            for section, values in _read_ini(path).items():
                target = merged.setdefault(section_key(section), {})
                target.update({key: (value, path, section) for key, value in values.items()})
        return cls(sections=merged)

    def get(self, section: str, key: str) -> tuple[str, Path, str] | None:
        """``key`` of the section ``section`` names, however it is written there."""
        value = self.sections.get(section_key(section), {}).get(key)
        return value if value and value[0].strip() else None

    def written(self) -> list[str]:
        """The sections as written in the files (for messages; names, never values)."""
        return sorted({entry[2] for keys in self.sections.values() for entry in keys.values()})

    @property
    def default_endpoint(self) -> str | None:
        found = self.get("default", "endpoint")
        return found[0].strip() if found else None


def _read_ini(path: Path) -> dict[str, dict[str, str]]:
    parser = configparser.RawConfigParser()
    try:
        with path.open(encoding="utf-8") as stream:
            parser.read_file(stream)
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read {path}: {exc.__class__.__name__}",
            hint="fix the file's permissions or encoding (UTF-8), or remove it",
        ) from None
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        where = f"{path}:{line}" if line else str(path)
        # configparser's message may quote the offending line, which may hold a secret.
        raise ConfigError(
            f"{where}: not a valid INI file ({exc.__class__.__name__})",
            hint="ovh.conf holds [sections] of key=value lines, e.g. [ovh-eu] application_key=...",
        ) from None
    return {section: dict(parser.items(section)) for section in parser.sections()}


def configured_endpoint(
    environ: Mapping[str, str], search_paths: Sequence[Path]
) -> tuple[str, str] | None:
    """The endpoint named by ``OVH_ENDPOINT`` or ``[default] endpoint=``, and where from."""
    from_env = environ.get(ENV_PREFIX + "ENDPOINT", "").strip()
    if from_env:
        return from_env, "OVH_ENDPOINT"
    config = OvhConfig.read(search_paths)
    found = config.get("default", "endpoint")
    if found:
        return found[0].strip(), f"{found[1]} [default] endpoint"
    return None


def resolve_credentials(
    endpoint: Endpoint,
    *,
    environ: Mapping[str, str],
    search_paths: Sequence[Path],
    embedded_default: SignatureCredentials | None = None,
    require_consumer_key: bool = True,
) -> Credentials:
    """The credentials to use with ``endpoint``.

    ``embedded_default`` is what the embedded sandbox uses when ovh.conf has no
    ``[sandbox]`` section (its demo credentials). Raises ``ConfigError`` when nothing,
    or something incomplete or contradictory, is configured.
    """
    config = OvhConfig.read(search_paths)
    use_env = not endpoint.embedded
    values: dict[str, str] = {}
    sources: list[str] = []
    for key in KEYS:
        env_name = ENV_PREFIX + key.upper()
        env_value = environ.get(env_name, "").strip() if use_env else ""
        if env_value:
            values[key] = env_value
            sources.append(env_name)
            continue
        found = config.get(endpoint.name, key)
        if found:
            values[key] = found[0].strip()
            sources.append(f"{found[1]} [{found[2]}]")
    source = ", ".join(dict.fromkeys(_source_kind(s) for s in sources)) or "nowhere"

    if not values and endpoint.embedded and embedded_default is not None:
        return embedded_default

    has_app = "application_key" in values or "application_secret" in values
    has_oauth = "client_id" in values or "client_secret" in values
    if has_app and has_oauth:
        raise ConfigError(
            f"both an application key and an OAuth2 client are configured for {endpoint.name}",
            hint="keep either OVH_APPLICATION_KEY/SECRET (+ OVH_CONSUMER_KEY) or "
            "OVH_CLIENT_ID/SECRET, not both",
        )
    if has_oauth:
        return _oauth2(endpoint, values, source)
    if has_app:
        return _signature(endpoint, values, source, require_consumer_key=require_consumer_key)
    # The message stays one stable line (scripts and CI logs match it); where the keys
    # were looked for, which can be long, leads the hint.
    raise ConfigError(
        f"no OVH credentials configured for {endpoint.name}",
        hint=_looked_for(endpoint, config, search_paths, use_env=use_env)
        + "; "
        + CREDENTIALS_HINT
        + served_sandbox_hint(endpoint),
    )


def _looked_for(
    endpoint: Endpoint, config: OvhConfig, search_paths: Sequence[Path], *, use_env: bool
) -> str:
    """Where the keys were looked for: the variables, the section and the files, and
    the sections the files do have (a near miss, such as another port, is then seen)."""
    wanted = section_key(endpoint.name)
    section = f"[{wanted}]" + (" (that URL however written)" if "://" in wanted else "")
    files = ", ".join(str(path) for path in search_paths) or "no file"
    where = "looked for " + ("the OVH_* variables and " if use_env else "")
    where += f"the section {section} in {files}"
    others = [name for name in config.written() if section_key(name) != "default"]
    if others:
        where += " (they have " + ", ".join(f"[{name}]" for name in others) + ")"
    return where


def served_sandbox_hint(endpoint: Endpoint) -> str:
    """For a plain-http loopback endpoint, most likely a sandbox ``reconciler sandbox
    serve`` runs: the keys of its demo account, so a first run against it is one paste
    away. Empty for any other endpoint (OVH's keys are the user's own)."""
    parts = urlsplit(endpoint.base_url)
    if endpoint.embedded or parts.scheme != "http" or not is_loopback(parts.hostname or ""):
        return ""
    from reconciler.sandbox.demo import DEMO_CREDENTIALS

    demo = " ".join(
        f"OVH_{name.upper()}={DEMO_CREDENTIALS[name]}"
        for name in ("application_key", "application_secret", "consumer_key")
    )
    return (
        f"; a sandbox `reconciler sandbox serve` runs has the demo account's keys: {demo} "
        "(a seed's own `credentials:` replace them; serve prints the keys it has)"
    )


def _source_kind(source: str) -> str:
    return "environment" if source.startswith(ENV_PREFIX) else source


def _oauth2(endpoint: Endpoint, values: Mapping[str, str], source: str) -> OAuth2Credentials:
    missing = [k for k in ("client_id", "client_secret") if k not in values]
    if missing:
        raise ConfigError(
            f"incomplete OAuth2 credentials for {endpoint.name}: {missing[0]} is missing",
            hint="OAuth2 needs both OVH_CLIENT_ID and OVH_CLIENT_SECRET",
        )
    if endpoint.oauth2_token_url is None:
        raise ConfigError(
            f"OAuth2 credentials cannot be used with the endpoint {endpoint.name}",
            hint="OAuth2 works with ovh-eu, ovh-ca and ovh-us only; use an application key "
            "and a consumer key instead",
        )
    return OAuth2Credentials(
        client_id=values["client_id"],
        client_secret=values["client_secret"],
        token_url=endpoint.oauth2_token_url,
        source=source,
    )


def _signature(
    endpoint: Endpoint, values: Mapping[str, str], source: str, *, require_consumer_key: bool
) -> SignatureCredentials:
    for key in ("application_key", "application_secret"):
        if key not in values:
            raise ConfigError(
                f"incomplete credentials for {endpoint.name}: {key} is missing",
                hint="an application key and its secret go together: set both "
                "OVH_APPLICATION_KEY and OVH_APPLICATION_SECRET",
            )
    consumer_key = values.get("consumer_key")
    if consumer_key is None and require_consumer_key:
        raise ConfigError(
            f"no consumer key configured for {endpoint.name}",
            hint="set OVH_CONSUMER_KEY; request one with `reconciler credentials request` "
            "and open its validation URL" + served_sandbox_hint(endpoint),
        )
    return SignatureCredentials(
        application_key=values["application_key"],
        application_secret=values["application_secret"],
        consumer_key=consumer_key,
        source=source,
    )
