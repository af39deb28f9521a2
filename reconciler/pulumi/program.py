"""The Pulumi program: one ``ServiceLifecycle`` per service of the stack's spec.

``Pulumi.yaml`` runs the project's ``__main__.py``, which calls ``run()``. Importing
this module does nothing: tests declare the resources under ``pulumi.runtime.set_mocks``
and other programs call ``declare(spec)`` with a spec of their own.

The stack's configuration (``stacks/Pulumi.<stack>.yaml``) names the spec. ``Pulumi.yaml``
gives every key a default, most of them empty: an empty value is a key not set.

``reconciler:spec``
    A spec file (``stacks/prod.yaml``), relative to the project directory (where
    ``Pulumi.yaml`` is, whatever directory Pulumi runs the program in) — the same file
    ``reconciler plan`` and ``reconciler validate`` read, with the same messages.
``reconciler:services``
    Or the services inline: the text of a spec's ``services:`` mapping (a YAML block),
    read by the spec's own reader. Errors are located in that block.
``reconciler:endpoint``
    The account, overriding the spec's ``endpoint:`` (inline services default to the
    embedded ``sandbox``).

Each resource is named after its spec entry's key. An entry that ends its service
(``terminate_at_expiry``, ``terminate_at_commitment_end``, ``delete_now``) is given the
services the spec keeps renewing (``keep``), so that
terminating a domain whose web hosting the spec keeps is refused, as ``reconciler plan``
refuses it (``linked-service-conflict``).

``reconciler:deletionTokens`` (a secret, like the credentials) must name ``delete_now``
entries of the spec; the provider confirms those deletions with them.

The spec's ``unmanaged`` policy is not Pulumi's business: a stack manages the services
its spec names and nothing else (``reconciler plan`` reports the rest of the account).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import pulumi

from reconciler.core.lifecycle import Lifecycle
from reconciler.core.spec import Spec, UnmanagedPolicy, load_spec, parse_spec
from reconciler.endpoints import resolve_endpoint
from reconciler.errors import ConfigError, SpecError, SpecProblem
from reconciler.pulumi.resource import ServiceLifecycle
from reconciler.pulumi.settings import NAMESPACE, TOKENS_KEY, parse_tokens, project_dir

SPEC_KEY: Final = "spec"
SERVICES_KEY: Final = "services"
ENDPOINT_KEY: Final = "endpoint"
# Credentials that must reach the stack's settings encrypted. Pulumi cannot check it for
# keys that have a default (Pulumi.yaml says why), so the program does.
SECRET_KEYS: Final = ("applicationSecret", "consumerKey", "clientSecret", TOKENS_KEY)
# Every lifecycle but renew ends the service, and its linked services with it: each is
# given what the spec keeps (a lifecycle added later is then judged without being listed).
_DESTRUCTIVE = tuple(lifecycle for lifecycle in Lifecycle if lifecycle is not Lifecycle.RENEW)


def run(*, root: Path | None = None) -> dict[str, ServiceLifecycle]:
    """The program: read the stack's spec (``root``: the project directory, default
    ``project_root()``) and declare its services. Any problem is a ``pulumi.RunError``:
    Pulumi shows its lines, without a traceback."""
    config = pulumi.Config(NAMESPACE)
    try:
        refuse_secrets_in_clear(config)
        spec = spec_from_config(config, root=project_root() if root is None else root)
        check_token_names(config, spec)
    except SpecError as error:
        raise pulumi.RunError("\n".join([*error.lines(), f"hint: {error.hint}"])) from None
    except ConfigError as error:
        shown = f"{error}\nhint: {error.hint}" if error.hint else str(error)
        raise pulumi.RunError(shown) from None
    resources = declare(spec)
    pulumi.export(
        "services",
        {
            key: {
                "service_id": resource.service_id,
                "live_lifecycle": resource.live_lifecycle,
                "expiry": resource.expiry,
            }
            for key, resource in resources.items()
        },
    )
    return resources


def project_root() -> Path:
    """The project directory: the one the Pulumi CLI names (``pulumi.get_root_directory``),
    else — an older CLI, or a program run by hand — the nearest directory holding a
    ``Pulumi.yaml``, from the working directory upwards, as the CLI finds it."""
    given = pulumi.get_root_directory()
    # The CLI passes an absolute path; the SDK's mocks a placeholder word.
    return Path(given) if given and Path(given).is_absolute() else project_dir(Path.cwd())


def refuse_secrets_in_clear(config: pulumi.Config) -> None:
    """A credential the stack's settings hold in clear is refused before anything is
    declared: it would sit readable in the stack file, and in git."""
    for key in SECRET_KEYS:
        value = _given(config, key)
        if value is not None and not pulumi.runtime.is_config_secret(f"{NAMESPACE}:{key}"):
            raise ConfigError(
                f"config {NAMESPACE}:{key} is set in clear in the stack's settings",
                hint=f"set it encrypted: `pulumi config set --secret {NAMESPACE}:{key}` "
                "(and remove the value in clear from the stack file's history)",
            )


def check_token_names(config: pulumi.Config, spec: Spec) -> None:
    """Every deletion token the stack holds names a ``delete_now`` entry of its spec (by
    key or name), as ``reconciler apply --token`` requires: a token under a misspelt name
    would wait, unused, while apply requests another one. Names only: never a token."""
    text = _given(config, TOKENS_KEY)
    if text is None:
        return
    deleted = {
        label
        for entry in spec.services
        if entry.lifecycle is Lifecycle.DELETE_NOW
        for label in (entry.key, entry.name)
    }
    stray = sorted(set(parse_tokens(text)) - deleted)
    if stray:
        raise ConfigError(
            f"config {NAMESPACE}:{TOKENS_KEY} holds a token for "
            + ", ".join(stray)
            + f", which {spec.source} does not delete now",
            hint="name the service by its spec key or name; its lifecycle must be delete_now",
        )


def _given(config: pulumi.Config, key: str) -> str | None:
    """A key's value; None when it is not set or empty (Pulumi.yaml's empty default)."""
    value = config.get(key)
    return value if value is not None and value.strip() else None


def spec_from_config(config: pulumi.Config, *, root: Path | None = None) -> Spec:
    """The spec the stack's configuration names (see the module docstring); a relative
    spec path is ``root``'s (the project directory; None: the working directory)."""
    path = _given(config, SPEC_KEY)
    inline = _given(config, SERVICES_KEY)
    endpoint = _given(config, ENDPOINT_KEY)
    if endpoint is not None:
        try:
            resolve_endpoint(endpoint)
        except ConfigError as error:
            raise ConfigError(
                f"config {NAMESPACE}:{ENDPOINT_KEY}: {error.message}", hint=error.hint
            ) from None
    if path and inline is not None:
        raise ConfigError(
            f"config {NAMESPACE}:{SPEC_KEY} and {NAMESPACE}:{SERVICES_KEY} are both set",
            hint=f"keep one: a spec file ({NAMESPACE}:{SPEC_KEY}) or the services inline",
        )
    if path:
        spec = load_spec(_relative(Path(path), root))
        return spec.model_copy(update={"endpoint": endpoint}) if endpoint else spec
    if inline is not None:
        return inline_spec(inline, endpoint=endpoint)
    raise ConfigError(
        f"the stack names no spec: set {NAMESPACE}:{SPEC_KEY} or {NAMESPACE}:{SERVICES_KEY}",
        hint=f"e.g. `pulumi config set {NAMESPACE}:{SPEC_KEY} stacks/prod.yaml` (docs/pulumi.md)",
    )


def _relative(path: Path, root: Path | None) -> Path:
    """A relative spec path is the project directory's, not the working directory's:
    Pulumi runs the program in the directory of ``main``, wherever that is."""
    return path if path.is_absolute() or root is None else root / path


INLINE_SOURCE: Final = f"config {NAMESPACE}:{SERVICES_KEY}"


def inline_spec(text: str, *, endpoint: str | None) -> Spec:
    """A spec from the text of a ``services:`` mapping, read by the spec's own reader;
    problems are located in that text (line 1 is its first line)."""
    head = [
        "version: 1",
        f"endpoint: {json.dumps(endpoint or 'sandbox')}",
        f"unmanaged: {UnmanagedPolicy.IGNORE.value}",
        "services:",
    ]
    body = [f"  {line}" if line.strip() else "" for line in text.splitlines()]
    data = ("\n".join(head + body) + "\n").encode("utf-8", "surrogatepass")
    try:
        return parse_spec(data, INLINE_SOURCE)
    except SpecError as error:
        located = [_in_block(problem, len(head)) for problem in error.problems]
        raise SpecError(located, hint=error.hint) from None


def _in_block(problem: SpecProblem, offset: int) -> SpecProblem:
    if problem.line > offset:
        line, column = problem.line - offset, max(1, problem.column - 2)
    else:  # about the header written here: the endpoint, or an empty block
        line, column = 1, 1
    return SpecProblem(INLINE_SOURCE, line, column, problem.message, problem.fix)


def declare(
    spec: Spec, *, opts: pulumi.ResourceOptions | None = None
) -> dict[str, ServiceLifecycle]:
    """One ``ServiceLifecycle`` per entry of ``spec``, named after its key."""
    for entry in spec.services:
        if "::" in entry.key:
            raise pulumi.RunError(
                f"{spec.source}: service key {entry.key!r} holds '::', which Pulumi "
                "resource names cannot hold; rename the key (it is a label: give the "
                "service's name with `name:`)"
            )
    if spec.unmanaged is UnmanagedPolicy.ERROR:
        pulumi.log.info(
            f"{spec.source}: `unmanaged: error` is enforced by `reconciler plan`; this "
            f"stack manages the {len(spec.services)} services its spec names, nothing else"
        )
    kept = [
        {"name": s.name} | ({"type": s.type} if s.type else {})
        for s in spec.services
        if s.lifecycle is Lifecycle.RENEW
    ]
    resources: dict[str, ServiceLifecycle] = {}
    for entry in spec.services:
        keep: list[dict[str, Any]] = []
        if entry.lifecycle in _DESTRUCTIVE:
            own = {"name": entry.name} | ({"type": entry.type} if entry.type else {})
            keep = [item for item in kept if item != own]
        resource = ServiceLifecycle(
            entry.key,
            service=entry.key,
            name=entry.name,
            lifecycle=entry.lifecycle.value,
            mode=entry.mode.value if entry.mode is not None else None,
            period=entry.period,
            commitment_end=(
                entry.commitment_end.value if entry.commitment_end is not None else None
            ),
            type=entry.type,
            protect=entry.protect,
            endpoint=spec.endpoint,
            keep=keep,
            opts=opts,
        )
        if entry.lifecycle is Lifecycle.DELETE_NOW:
            pulumi.log.warn(
                f"{entry.key}: lifecycle delete_now: `pulumi up` deletes {entry.name} at once "
                "if it still exists — its data irreversibly, with no refund",
                resource=resource,
            )
        resources[entry.key] = resource
    return resources
