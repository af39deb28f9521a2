"""``reconciler credentials``: least-privilege OVH consumer keys for each job.

- ``credentials request --role plan|apply``: asks OVH for a consumer key holding exactly
  the access rules the role needs (``reconciler.core.access``): ``POST /auth/credential``,
  unsigned, with the application key. Prints the key once, on stdout, and the URL where
  the account's owner validates it; never logs it.
- ``credentials check [--role plan|apply]``: describes the key in use (``GET
  /auth/currentCredential``: its state, expiry and rules) and says whether it grants
  what each role needs, and what it holds beyond that.
- ``credentials rules --role plan|apply``: the rules, offline (for keys created another
  way: the API console...); ``--format iam``: the IAM policy an OAuth2 service account
  needs instead (``reconciler.core.access.iam_policy``: the actions OVH's schemas give
  for exactly the role's calls). ``credentials request`` with only OAuth2 client
  credentials configured prints that policy too: a service account has no consumer key.

A consumer key is stored as the CI secret ``OVH_PLAN_CONSUMER_KEY`` or
``OVH_APPLY_CONSUMER_KEY`` (``access.secret_name``), which each job passes to reconciler
as ``OVH_CONSUMER_KEY``: the names of every guide and recipe.

The application key and secret come from the environment or ovh.conf as for every
command (``OVH_APPLICATION_KEY``, ``OVH_APPLICATION_SECRET``); the endpoint from
``--endpoint``, ``OVH_ENDPOINT`` or ovh.conf. A consumer key is a secret: it is written
to stdout only, once, with a warning on stderr, and appears in no message or log.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from reconciler.cli.common import (
    Target,
    build_client,
    endpoint_option,
    resolve_target,
    run,
)
from reconciler.cli.options import format_option
from reconciler.core.access import (
    ACCOUNT_PLACEHOLDER,
    CLIENT_ID_PLACEHOLDER,
    GRANTS,
    HOSTING_PLACEHOLDER,
    UNRULED_CALLS,
    AccessRule,
    Coverage,
    Role,
    coverage,
    credential_request,
    grants_for,
    iam_policy,
    parse_rules,
    rules_for,
    secret_name,
)
from reconciler.errors import ApiError, ConfigError, UsageError
from reconciler.ovh.client import OvhClient
from reconciler.ovh.credentials import (
    OAuth2Credentials,
    default_search_paths,
    resolve_credentials,
)

CREDENTIAL_PATH = "/auth/credential"
CURRENT_CREDENTIAL_PATH = "/auth/currentCredential"

# What the unsigned request is built with instead of a consumer key: the client needs
# one to exist, and this command makes unsigned calls only (GET /auth/time, POST
# /auth/credential), so it is never sent.
_NO_CONSUMER_KEY_YET = "none-requested-yet"

_ROLE_CHOICE = click.Choice([role.value for role in Role])


@click.group()
def credentials() -> None:
    """Least-privilege OVH consumer keys: request one per job, check the one in use."""


# --- request ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestedKey:
    """What ``POST /auth/credential`` answered. The consumer key is a secret."""

    role: Role
    consumer_key: str
    validation_url: str
    state: str

    def __repr__(self) -> str:
        return f"RequestedKey(role={self.role.value!r}, state={self.state!r}, <key hidden>)"


@credentials.command()
@click.option(
    "--role",
    type=_ROLE_CHOICE,
    required=True,
    help="plan: read-only (plan, services, import). apply: what apply reads and writes.",
)
@click.option(
    "--redirect",
    "redirection",
    metavar="URL",
    help="Where OVH's validation page sends the user once the key is validated.",
)
@format_option(
    "text", "json", help="json: {role, consumerKey, validationUrl, state, accessRules} for scripts."
)
@endpoint_option
def request(role: str, redirection: str | None, output_format: str, endpoint: str | None) -> None:
    """Ask OVH for a consumer key with exactly the access rules ROLE needs.

    Prints the consumer key (once: store it in your CI's secret store as
    OVH_PLAN_CONSUMER_KEY or OVH_APPLY_CONSUMER_KEY, which the job passes to reconciler
    as OVH_CONSUMER_KEY) and the URL where the account's owner validates it. With only
    OAuth2 client credentials configured, prints the IAM policy the service account
    needs instead (a service account has no consumer key).
    """
    wanted = Role(role)
    if redirection is not None:
        _check_redirection(redirection)
    target = resolve_target(endpoint)
    if target.endpoint.embedded:
        raise UsageError(
            "the embedded sandbox's keys cannot be validated in a browser (its demo keys "
            "already hold every right)",
            hint="to rehearse a key request, run `reconciler sandbox serve` and pass "
            "--endpoint http://127.0.0.1:PORT; for OVH, pass --endpoint ovh-eu (or "
            "ovh-ca, ovh-us) or set OVH_ENDPOINT",
        )
    oauth2 = _oauth2_client_id(target)
    if oauth2 is not None:
        policy = iam_policy(wanted, endpoint=target.name, client_id=oauth2 or None)
        if output_format == "json":
            click.echo(json.dumps(policy, indent=2))
        else:
            click.echo(policy_text(wanted, policy))
        return
    key = run(request_key(target, wanted, redirection=redirection))
    if output_format == "json":
        click.echo(
            json.dumps(
                {
                    "role": wanted.value,
                    "consumerKey": key.consumer_key,
                    "validationUrl": key.validation_url,
                    "state": key.state,
                    "accessRules": [rule.as_json() for rule in rules_for(wanted)],
                },
                indent=2,
            )
        )
    else:
        click.echo(request_text(key, target))
    click.echo(
        "warning: the consumer key printed above is a secret: store it in your CI's "
        f"secret store ({secret_name(wanted)}) now; it is not shown again and not logged",
        err=True,
    )


def _oauth2_client_id(target: Target) -> str | None:
    """The OAuth2 client id when only OAuth2 client credentials are configured ("" when
    it cannot be shown), else None (an application key: a consumer key is requested)."""
    try:
        found = resolve_credentials(
            target.endpoint,
            environ=os.environ,
            search_paths=default_search_paths(),
            require_consumer_key=False,
        )
    except ConfigError:
        return None  # request_key says what is missing
    if isinstance(found, OAuth2Credentials):
        return found.client_id or ""
    return None


def policy_text(role: Role, policy: Mapping[str, Any]) -> str:
    """What ``request`` and ``rules --format iam`` say of an OAuth2 service account's
    policy: the actions, then the policy to paste, its placeholders named."""
    actions = [entry["action"] for entry in policy["permissions"]["allow"]]
    holders = [
        holder
        for holder in (ACCOUNT_PLACEHOLDER, CLIENT_ID_PLACEHOLDER, HOSTING_PLACEHOLDER)
        if holder in json.dumps(policy)
    ]
    replace_them = (
        f"Replace {', '.join(holders)} (the account's NIC handle, the service account's "
        "client id, each web hosting a spec deletes now) before pasting.\n"
        if holders
        else ""
    )
    return (
        f"An OAuth2 service account has no consumer key: an IAM policy gives it role "
        f"{role.value}'s rights. The IAM actions of exactly the calls role {role.value} "
        f"makes (from OVH's published schemas):\n"
        + "".join(f"  {action}\n" for action in actions)
        + "\nThe policy (paste it in the control panel's IAM policy JSON editor, or send it "
        "with POST /v2/iam/policy):\n" + replace_them + json.dumps(policy, indent=2)
    )


async def request_key(
    target: Target,
    role: Role,
    *,
    redirection: str | None = None,
    environ: Mapping[str, str] | None = None,
    search_paths: tuple[Path, ...] | None = None,
) -> RequestedKey:
    """``POST /auth/credential`` for ``role`` with the configured application key."""
    environ = os.environ if environ is None else environ
    paths = default_search_paths() if search_paths is None else search_paths
    found = resolve_credentials(
        target.endpoint, environ=environ, search_paths=paths, require_consumer_key=False
    )
    if isinstance(found, OAuth2Credentials):
        raise ConfigError(
            "a consumer key is requested with an application key, and only OAuth2 client "
            f"credentials are configured for {target.name}",
            hint="set OVH_APPLICATION_KEY and OVH_APPLICATION_SECRET (create an application "
            "at https://eu.api.ovh.com/createApp/); OAuth2 service accounts get their rights "
            "from IAM policies instead (`reconciler credentials rules --format iam`)",
        )
    unsigned_only = replace(found, consumer_key=_NO_CONSUMER_KEY_YET)
    async with OvhClient(target.endpoint, unsigned_only, concurrency=1) as client:
        answer = await client.request(
            "POST",
            CREDENTIAL_PATH,
            body=credential_request(role, redirection=redirection),
            need_auth=False,
        )
    return _requested(answer, role)


def _requested(answer: Any, role: Role) -> RequestedKey:
    if (
        not isinstance(answer, dict)
        or not isinstance(answer.get("consumerKey"), str)
        or not answer["consumerKey"]
        or not isinstance(answer.get("validationUrl"), str)
    ):
        raise ApiError(
            f"OVH API POST {CREDENTIAL_PATH} answered an unexpected shape (a consumerKey and "
            "a validationUrl were expected)",
            hint="check that the endpoint is an OVH API; run with --debug and report it",
            method="POST",
            path=CREDENTIAL_PATH,
        )
    return RequestedKey(
        role=role,
        consumer_key=answer["consumerKey"],
        validation_url=answer["validationUrl"],
        state=str(answer.get("state") or "pendingValidation"),
    )


def request_text(key: RequestedKey, target: Target) -> str:
    """What ``credentials request`` prints (the key once, on its own line)."""
    width = max(len(str(grant.rule)) for grant in grants_for(key.role))
    rules = "\n".join(
        f"  {str(grant.rule):<{width}}  {grant.why}" for grant in grants_for(key.role)
    )
    return (
        f"Requested a consumer key for role {key.role.value} on {target.name} "
        f"(state: {key.state}).\n"
        "\n"
        f"Consumer key (secret: store it as {secret_name(key.role)} in your CI's secret "
        "store; the job passes it to reconciler as OVH_CONSUMER_KEY):\n"
        f"  {key.consumer_key}\n"
        "\n"
        "It works once validated: open this URL, log in as the account's owner and choose "
        "a validity\n(Unlimited for a CI key, then revoke it from the control panel when "
        "it is no longer used):\n"
        f"  {key.validation_url}\n"
        "\n"
        f"Access rules ({key.role.value}):\n{rules}\n"
        "\n"
        "Check it once validated: reconciler credentials check --role "
        f"{key.role.value}{_same_endpoint(target)}"
    )


def _same_endpoint(target: Target) -> str:
    """`` --endpoint NAME`` when the user chose the endpoint with the option: the command
    printed for them to run next must reach the same account."""
    return f" --endpoint {shlex.quote(target.name)}" if target.source == "--endpoint" else ""


def _check_redirection(url: str) -> None:
    """OVH sends the user's browser there: an http(s) URL with a host, nothing else."""
    try:
        parts = urlsplit(url.strip())
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid:
        raise UsageError(
            f"--redirect {url[:80]!r} is not an http(s) URL",
            hint="give the page to show once the key is validated, e.g. "
            "https://github.com/ORG/REPO/settings/secrets/actions, or leave it out",
        )


# --- check -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CurrentKey:
    """``GET /auth/currentCredential``: what the API says of the key in use."""

    credential_id: int | None
    application_id: int | None
    status: str
    expiration: str | None
    rules: tuple[AccessRule, ...]


@credentials.command()
@click.option(
    "--role",
    type=_ROLE_CHOICE,
    help="Exit 1 unless the key grants what ROLE needs. Default: report on both roles.",
)
@endpoint_option
def check(role: str | None, endpoint: str | None) -> None:
    """Describe the consumer key in use and compare its rules with each role's."""
    target = resolve_target(endpoint)
    current = run(read_current(target))
    roles = [Role(role)] if role else list(Role)
    reports = [coverage(current.rules, wanted) for wanted in roles]
    click.echo(check_text(current, reports, target))
    if role:
        (report,) = reports
        if not report.sufficient:
            missing = ", ".join(str(rule) for rule in report.missing)
            raise ConfigError(
                f"the consumer key in use lacks {len(report.missing)} access rule"
                f"{'s' * (len(report.missing) > 1)} role {report.role.value} needs: {missing}",
                hint=f"request a key with `reconciler credentials request --role "
                f"{report.role.value}` and open its validation URL",
            )


async def read_current(target: Target) -> CurrentKey:
    async with build_client(target, concurrency=1) as client:
        answer = await client.get(CURRENT_CREDENTIAL_PATH)
    if not isinstance(answer, dict):
        raise ApiError(
            f"OVH API GET {CURRENT_CREDENTIAL_PATH} answered an unexpected shape",
            hint="check that the endpoint is an OVH API; run with --debug and report it",
            method="GET",
            path=CURRENT_CREDENTIAL_PATH,
        )
    return CurrentKey(
        credential_id=_int_or_none(answer.get("credentialId")),
        application_id=_int_or_none(answer.get("applicationId")),
        status=str(answer.get("status") or "unknown"),
        expiration=answer.get("expiration") if isinstance(answer.get("expiration"), str) else None,
        rules=parse_rules(answer.get("rules")),
    )


def check_text(current: CurrentKey, reports: list[Coverage], target: Target) -> str:
    ids = []
    if current.credential_id is not None:
        ids.append(f"credential {current.credential_id}")
    if current.application_id is not None:
        ids.append(f"application {current.application_id}")
    which = f" ({', '.join(ids)})" if ids else ""
    expires = f", expires {current.expiration}" if current.expiration else ", never expires"
    lines = [f"Consumer key in use on {target.name}{which}: {current.status}{expires}."]
    lines.append("Rules: " + (", ".join(str(r) for r in current.rules) or "none"))
    for report in reports:
        if report.sufficient and report.least:
            verdict = "grants exactly what it needs (least privilege)"
        elif report.sufficient:
            beyond = ", ".join(str(rule) for rule in report.beyond)
            verdict = f"grants what it needs, and more: {beyond}"
        else:
            missing = ", ".join(str(rule) for rule in report.missing)
            verdict = f"MISSING {missing}"
        lines.append(f"Role {report.role.value}: {verdict}.")
    return "\n".join(lines)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- rules -----------------------------------------------------------------------------


@credentials.command()
@click.option("--role", type=_ROLE_CHOICE, help="Only this role's rules. Default: the table.")
@format_option(
    "text",
    "json",
    "iam",
    help="json: the accessRules array POST /auth/credential takes (with --role). iam: the "
    "IAM policy an OAuth2 service account needs (with --role).",
)
@click.option("--account", metavar="NIC", help="iam: the account's NIC handle (xx1111-ovh).")
@click.option("--client-id", metavar="ID", help="iam: the service account's OAuth2 client id.")
@click.option(
    "--hosting",
    "hostings",
    metavar="NAME",
    multiple=True,
    help="iam, role apply: a web hosting a spec deletes now (repeatable).",
)
@endpoint_option
def rules(
    role: str | None,
    output_format: str,
    account: str | None,
    client_id: str | None,
    hostings: tuple[str, ...],
    endpoint: str | None,
) -> None:
    """The access rules each role needs (offline), or the IAM policy (--format iam)."""
    if output_format == "iam":
        if role is None:
            raise UsageError(
                "--format iam needs --role: one policy per service account",
                hint="reconciler credentials rules --format iam --role plan (or apply)",
            )
        target = resolve_target(endpoint)
        policy = iam_policy(
            Role(role),
            endpoint=target.name,
            account=account,
            client_id=client_id or os.environ.get("OVH_CLIENT_ID") or None,
            hostings=hostings,
        )
        click.echo(json.dumps(policy, indent=2))
        return
    if output_format == "json":
        if role is None:
            table = {
                wanted.value: [rule.as_json() for rule in rules_for(wanted)] for wanted in Role
            }
            click.echo(json.dumps(table, indent=2))
        else:
            click.echo(json.dumps([rule.as_json() for rule in rules_for(Role(role))], indent=2))
        return
    grants = grants_for(Role(role)) if role else GRANTS
    width = max(len(str(grant.rule)) for grant in grants)
    for grant in grants:
        roles = ", ".join(r.value for r in Role if r in grant.roles)
        click.echo(f"{str(grant.rule):<{width}}  [{roles}]  {grant.why}")
    click.echo(f"(no rule needed: {', '.join(UNRULED_CALLS)})")
