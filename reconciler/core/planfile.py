"""The saved plan file: ``dump_plan``, ``load_plan`` and the plan's JSON Schema.

The format is documented field by field in ``docs/plan-format.md``; its JSON Schema,
generated from the models of ``reconciler.core.plan`` by ``plan_json_schema()``, is committed
as ``reconciler/schema/plan-v1.json`` (a test keeps the two equal). Regenerate it with::

    python -m reconciler.core.planfile > reconciler/schema/plan-v1.json

Writing (``dump_plan``) is deterministic: keys in the models' order, two-space indent,
UTF-8 (non-ASCII characters kept as they are), every datetime in UTC (the models hold
them so: ``plan.UtcDatetime``) written as RFC 3339 with a ``Z`` suffix (fractional
seconds only when non-zero), every field present (``null`` / ``[]`` rather than
absent), a final newline. The same plan always gives the same bytes, and loading then
dumping gives the file back unchanged.

Reading (``load_plan``) trusts nothing: whatever the file holds ends in a ``Plan`` or in
one ``PlanFileError`` whose one-line message says what is wrong and where (not JSON,
truncated, not a plan, another ``format_version``, a field missing, unknown or of the
wrong type, a datetime without its timezone, a duplicated key, a summary that does not
match the actions) — never in a traceback. Types are checked strictly: ``"1"`` is not an
integer, ``0`` is not a boolean.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler import __version__
from reconciler.core.plan import FORMAT_VERSION, TOKEN_PLACEHOLDER, ActionKind, Plan
from reconciler.errors import PlanFileError

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / f"plan-v{FORMAT_VERSION}.json"
SCHEMA_ID = f"urn:reconciler:schema:plan-v{FORMAT_VERSION}"

# RFC 3339 in UTC with a Z suffix: what dump_plan writes for every datetime.
UTC_DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"

_REPLAN_HINT = "make the plan again with `reconciler plan SPEC --out FILE`"

# A 10,000-service plan is about 17 MB: four times that is no plan reconciler wrote, and
# reading it would cost ten times its size in memory before saying so.
MAX_PLAN_BYTES = 64 * 1024 * 1024


# ---------------------------------------------------------------------------------------
# Writing


def dump_plan(plan: Plan) -> str:
    """The plan file's text (see the module docstring for the guarantees).

    Raises ``ValueError`` (a programming error, never a user's) for a plan whose calls
    carry something secret-looking: a plan is posted on pull requests and kept as a CD
    artifact, so nothing secret may ever be written into one."""
    problem = secret_problem(plan)
    if problem:
        raise ValueError(f"refusing to write a plan holding a secret: {problem}")
    # The models hold every instant in UTC (``plan.UtcDatetime``), so pydantic-core
    # writes each as "...Z", keys in model order, two-space indent, UTF-8: one writer,
    # fast and lean enough at 10,000 services.
    return plan.model_dump_json(indent=2) + "\n"


def dump_plans(plans: Sequence[Plan]) -> str:
    """Several plans as one JSON array, formatted as ``dump_plan`` formats one."""
    if not plans:
        return "[]\n"
    # JSON text holds no raw newline inside a string, so indenting line by line is safe.
    bodies = [textwrap.indent(dump_plan(plan).rstrip("\n"), "  ") for plan in plans]
    return "[\n" + ",\n".join(bodies) + "\n]\n"


# ---------------------------------------------------------------------------------------
# Reading


def load_plan(path: str | Path) -> Plan:
    """The plan saved in ``path``; ``PlanFileError`` (one clear line) for anything else."""
    return parse_plan(read_plan_bytes(path), source=str(path))


def read_plan_bytes(path: str | Path) -> bytes:
    """The bytes of a plan file, read once and at most ``MAX_PLAN_BYTES`` of them (a
    larger file is refused from its size, before it is read); ``PlanFileError``."""
    where = str(path)
    try:
        with open(path, "rb") as file:
            if os.fstat(file.fileno()).st_size > MAX_PLAN_BYTES:
                raise _too_big(where)
            # One byte more than allowed: a pipe or a device has no size to check.
            raw = file.read(MAX_PLAN_BYTES + 1)
    except IsADirectoryError:
        raise PlanFileError(
            f"cannot read plan {where}: it is a directory", hint=_REPLAN_HINT
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise PlanFileError(f"cannot read plan {where}: {reason}", hint=_REPLAN_HINT) from None
    if len(raw) > MAX_PLAN_BYTES:
        raise _too_big(where)
    return raw


def _too_big(where: str) -> PlanFileError:
    return PlanFileError(
        f"{where} is not a plan reconciler wrote: it is larger than "
        f"{MAX_PLAN_BYTES // (1024 * 1024)} MB (a 10,000-service plan is about 17 MB)",
        hint=_REPLAN_HINT,
    )


def parse_plan(raw: bytes | str, *, source: str = "<plan>") -> Plan:
    """A plan from the text of a plan file (``source`` names it in errors)."""
    if len(raw) > MAX_PLAN_BYTES:
        raise _too_big(source)
    data = _decode(raw, source)
    if not isinstance(data, dict):
        raise PlanFileError(
            f"{source} is not a reconciler plan: it holds a JSON {_json_kind(data)}, not an object",
            hint=_REPLAN_HINT,
        )
    if "format_version" not in data:
        raise PlanFileError(
            f"{source} is not a reconciler plan: it has no format_version", hint=_REPLAN_HINT
        )
    version = data["format_version"]
    if version != FORMAT_VERSION:
        raise PlanFileError(
            f"{source} is a plan of format_version {json.dumps(version)[:40]}; reconciler "
            f"{__version__} reads format_version {json.dumps(FORMAT_VERSION)} only",
            hint="plan again with this version of reconciler, or apply with the version "
            "that made the plan",
        )
    text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    try:
        plan = Plan.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise PlanFileError(
            f"{source} is not a valid plan: {_first_problem(exc)}", hint=_REPLAN_HINT
        ) from None
    except RecursionError:
        raise PlanFileError(
            f"{source} is not a valid plan: nested too deeply", hint=_REPLAN_HINT
        ) from None
    problem = _summary_mismatch(plan) or secret_problem(plan)
    if problem:
        raise PlanFileError(f"{source} is not a valid plan: {problem}", hint=_REPLAN_HINT)
    return plan


def _decode(raw: bytes | str, source: str) -> Any:
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise PlanFileError(
            f"{source} is not a plan file: not UTF-8 text (byte {exc.start})", hint=_REPLAN_HINT
        ) from None
    if not text.strip():
        raise PlanFileError(f"{source} is not a plan file: it is empty", hint=_REPLAN_HINT)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        # A cut file fails at its very end, or inside a string that never closes.
        truncated = exc.pos >= len(text.rstrip()) or (
            exc.msg.startswith("Unterminated string") and '"' not in text[exc.pos + 1 :]
        )
        what = "truncated JSON" if truncated else "not valid JSON"
        raise PlanFileError(
            f"{source} is not a plan file: {what} (line {exc.lineno} column {exc.colno}: "
            f"{exc.msg})",
            hint=_REPLAN_HINT,
        ) from None
    except _InvalidJson as exc:
        raise PlanFileError(f"{source} is not a plan file: {exc}", hint=_REPLAN_HINT) from None
    except RecursionError:
        raise PlanFileError(
            f"{source} is not a plan file: JSON nested too deeply", hint=_REPLAN_HINT
        ) from None
    except ValueError as exc:  # e.g. an integer longer than Python accepts to parse
        raise PlanFileError(
            f"{source} is not a plan file: {str(exc).splitlines()[0]}", hint=_REPLAN_HINT
        ) from None


class _InvalidJson(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A key written twice is a sign of an edited file; JSON parsers disagree on which
    # one wins, so refuse rather than guess.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _InvalidJson(f"the key {json.dumps(key)[:60]} appears twice in an object")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise _InvalidJson(f"{name} is not a JSON number")


def _json_kind(value: Any) -> str:
    kinds = ((bool, "boolean"), (int, "number"), (float, "number"), (str, "string"))
    if value is None:
        return "null"
    if isinstance(value, list):
        return "array"
    return next((name for kind, name in kinds if isinstance(value, kind)), "value")


def _first_problem(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    where = _location(first["loc"])
    more = len(errors) - 1
    tail = f" (and {more} more problem{'s' * (more > 1)})" if more else ""
    message = " ".join(str(first["msg"]).split())
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "missing":
        message = "field missing"
    return f"{where}: {message}{tail}" if where else f"{message}{tail}"


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + _key(part)
    return text


def _key(key: object) -> str:
    """A key as it can be shown on one line: plain when it is a name, else quoted."""
    text = str(key)
    if text.isidentifier():
        return text
    return json.dumps(text)[:60]


def _summary_mismatch(plan: Plan) -> str | None:
    """The summary is what people read first: it must say what the actions say."""
    counted: dict[str, int] = {}
    for action in plan.actions:
        counted[action.action.value] = counted.get(action.action.value, 0) + 1
    counted["refused"] = len(plan.refused)
    for key, value in plan.summary.items():
        if key not in counted and key not in _SUMMARY_KEYS:
            return f"summary.{_key(key)}: unknown count"
        if value != counted.get(key, 0):
            return (
                f"summary.{_key(key)} is {value} but the plan holds {counted.get(key, 0)} "
                "(the file was edited)"
            )
    return None


_SUMMARY_KEYS = frozenset({*(kind.value for kind in ActionKind), "refused"})


# Keys of a call body that would carry a credential or a token. The only one a plan may
# hold is a deletion's confirmation token, and only as the placeholder.
_SECRET_KEYS = ("token", "secret", "password", "consumerkey", "consumer_key", "authorization")


def secret_problem(plan: Plan) -> str | None:
    """Where the plan's calls carry a secret-looking value, or None. The confirmation
    token of a deletion must be the placeholder ``"<token from e-mail>"``."""
    for index, action in enumerate(plan.actions):
        for number, call in enumerate(action.calls):
            where = f"actions[{index}].calls[{number}].body"
            found = _secret_in(call.body, where)
            if found:
                return found
    return None


def _secret_in(value: Any, where: str) -> str | None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            lowered = str(key).lower().replace("-", "_")
            if any(word in lowered for word in _SECRET_KEYS) and item != TOKEN_PLACEHOLDER:
                return f"{where}.{_key(key)} must be {json.dumps(TOKEN_PLACEHOLDER)}"
            found = _secret_in(item, f"{where}.{_key(key)}")
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _secret_in(item, f"{where}[{index}]")
            if found:
                return found
    return None


# ---------------------------------------------------------------------------------------
# The JSON Schema


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of the plan file, generated from the models: what ``dump_plan``
    writes. Beyond pydantic's own output it states that every field is always present,
    that datetimes are UTC with ``Z``, and describes every field."""
    schema = Plan.model_json_schema(mode="serialization")
    for name, definition in [("Plan", schema), *schema.get("$defs", {}).items()]:
        _refine(name, definition)
    schema["properties"]["format_version"] = {
        "const": FORMAT_VERSION,
        "description": _DESCRIPTIONS["Plan"]["format_version"],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def schema_text() -> str:
    return json.dumps(plan_json_schema(), indent=2, ensure_ascii=False) + "\n"


def _refine(name: str, definition: dict[str, Any]) -> None:
    properties: dict[str, Any] | None = definition.get("properties")
    if not properties:
        if name in _DESCRIPTIONS and isinstance(_DESCRIPTIONS[name], str):
            definition["description"] = _DESCRIPTIONS[name]
        return
    described = _DESCRIPTIONS.get(name, {})
    assert isinstance(described, dict)
    definition["additionalProperties"] = False
    definition["required"] = list(properties)
    for field, prop in properties.items():
        prop.pop("title", None)
        prop.pop("default", None)
        _utc_datetimes(prop)
        if field in described:
            prop["description"] = described[field]
    if "__doc__" in described:
        definition["description"] = described["__doc__"]


def _utc_datetimes(prop: dict[str, Any]) -> None:
    if prop.get("format") == "date-time":
        prop["pattern"] = UTC_DATETIME_PATTERN
    for option in prop.get("anyOf", ()):
        _utc_datetimes(option)


# What each field means, in the schema (docs/plan-format.md says the same at length).
# A test fails when a field of the models has no description here.
_DESCRIPTIONS: dict[str, Any] = {
    "Plan": {
        "__doc__": "A reconciler plan: what apply would do to the services of an OVHcloud "
        "account, and what the lifecycle rules refuse.",
        "format_version": 'Version of this format; "1". Bumped on any breaking change.',
        "created_at": "When the plan was computed, by the API's clock (UTC).",
        "endpoint": "The OVH API endpoint planned against: ovh-eu, ovh-ca, ovh-us, "
        "kimsufi-*, soyoustart-*, sandbox, or a URL.",
        "spec_source": "The spec file the plan was computed from, as given on the command line.",
        "spec_digest": "sha256:<hex> of the spec file's bytes.",
        "live_fingerprint": "sha256:<hex> of every live service the plan looked at; "
        "informational (apply judges each action's own fingerprint).",
        "summary": "Counts by action kind (terminate_at_expiry, cancel_termination, "
        "delete_now, set_renew, no_op) and of refusals (refused).",
        "actions": "One action per service of the spec that was matched, no_op included.",
        "refused": "Changes the spec asks for that the lifecycle rules refuse; while there "
        "is one, apply changes nothing.",
        "drift": "Every field where the account differs from the spec.",
        "unmanaged": "Live services the spec does not name (left as they are).",
        "spec": "The normalised spec the plan was computed from, so that apply can plan "
        "again at apply time.",
        "unmanaged_policy": "The spec's unmanaged policy (report, ignore or error), so that "
        "apply judges the plan again as the spec would.",
        "billing": "What the changes do to billing: a line per change and yearly totals "
        'per currency, from the prices OVH states (docs/plan-format.md, "Billing").',
        "targets": "With --target: the spec keys the plan covers, in spec order; only they "
        "are planned and applied, the other entries and the rest of the account were not "
        "compared (unmanaged is then empty). null: the whole spec.",
    },
    "Billing": {
        "__doc__": "What the plan's changes do to billing. Informational: apply does not read it.",
        "changes": "One line per change (no_op excluded), in the order of the actions.",
        "totals": "Per currency, the yearly price of the renewals stopped and started; "
        "currencies are never added together.",
        "not_in_totals": "Renewals stopped or started that no total holds: OVH gives no "
        "price, or no yearly figure, for them.",
    },
    "BillingChange": {
        "__doc__": "What one change does to billing, priced as OVH states it.",
        "service": "The service's key in the spec (as in its action).",
        "service_id": "The service's id on the API.",
        "action": "The kind of the action.",
        "effect": "renewal_stops, renewal_starts, period_change, mode_change, "
        "end_strategy_change or no_renewal_change.",
        "price": "The current price of one renewal (billing.pricing.price); null when OVH "
        "gives none (never guessed).",
        "period": "What that price buys (billing.pricing.duration, ISO 8601); null when "
        "OVH gives no duration.",
        "per_year": "A year of renewals at that price, price x 12 / months, as a decimal "
        "string in the price's currency; null when OVH's figures do not say it (no price, "
        "points, a duration not in months, an interval other than 1).",
        "takes_effect": "When billing changes (UTC): the expiry, or the end of the "
        "commitment; null for delete_now (at apply) or when unknown.",
        "new_period": "period_change: the period wanted; OVH gives no price for it.",
        "paid_until": "delete_now: the expiry; the time paid until then is lost (no refund).",
        "commitment_end": "The commitment's end (the start of that day, UTC), for "
        "delete_now of a service under a commitment (it may still be billed until then) and "
        "for a change that sets an end strategy; null otherwise.",
        "end_strategy": "The end strategy the change sets for the commitment's end, as OVH "
        "names it (REACTIVATE_ENGAGEMENT, STOP_ENGAGEMENT_KEEP_PRICE, "
        "STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE); null when it sets none.",
        "price_after_commitment": "The price once the commitment ends, where OVH's figures "
        "say it: the current price for STOP_ENGAGEMENT_KEEP_PRICE; null otherwise (the "
        "default price after STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE is not in the "
        "service's answer).",
    },
    "Price": {
        "__doc__": "A price as OVH states it.",
        "amount": 'A decimal string, exact (e.g. "59.99"), never a float.',
        "currency": "The currency code as OVH writes it, e.g. EUR.",
        "text": 'OVH\'s own rendering of the price, e.g. "59.99 \u20ac"; null when not given.',
    },
    "CurrencyTotal": {
        "__doc__": "The renewals a plan stops and starts, per year, in one currency.",
        "currency": "The currency code.",
        "stopped_per_year": "Sum of per_year of the renewals stopped, a decimal string.",
        "started_per_year": "Sum of per_year of the renewals started, a decimal string.",
        "stopped": "How many renewals stopped that sum holds.",
        "started": "How many renewals started that sum holds.",
    },
    "BillingEffect": "renewal_stops, renewal_starts, period_change, mode_change, "
    "end_strategy_change or no_renewal_change.",
    "Action": {
        "__doc__": "What apply does to one service.",
        "service": "The service's key in the spec.",
        "name": "The service's name on the API (resource.name).",
        "service_id": "The service's id on the API (serviceId); null when it has none.",
        "type": "The service's route prefix, e.g. hosting/web, domain; null when unknown.",
        "action": "The kind of action.",
        "before": "The live essence of the service: {lifecycle, period}.",
        "after": "The wanted essence of the service: {lifecycle, period}.",
        "irreversible": "True when applying it deletes data at once (delete_now).",
        "reason": "Why this action, in words.",
        "calls": "The API calls apply makes, in order.",
        "fingerprint": "sha256:<hex> of the live fields the action depends on.",
        "expires_at": "When the action stops being allowed (UTC), e.g. 24 hours before "
        "expiry for a cancellation; null when it does not expire.",
        "expiration": "The service's expiry date (UTC), for display; null when unknown.",
        "commitment_ends": "The day the service's commitment ends (billing.engagement."
        "endDate), for display; null when it has none or OVH gives no date.",
        "linked": "Names of linked (child) services that go along with this one.",
    },
    "Call": {
        "__doc__": "One API call of an action. The e-mailed confirmation token of a "
        'deletion appears as the placeholder "<token from e-mail>".',
        "method": "HTTP method.",
        "path": "Path under the endpoint's base URL, e.g. /services/123.",
        "body": "JSON body, or null when the call has none.",
    },
    "Refusal": {
        "__doc__": "A change the spec asks for that a lifecycle rule refuses.",
        "service": "The service's key in the spec (or its name, for unmanaged services).",
        "service_id": "The service's id on the API; null when there is no such service.",
        "rule": 'The stable code of the rule (docs/user-guide.md, "The lifecycle rules").',
        "message": "What is refused and why, in words.",
        "fix": "What to change in the spec, or do instead.",
    },
    "Drift": {
        "__doc__": "A field where the account differs from the spec.",
        "service": "The service's key in the spec.",
        "field": "The field that differs: lifecycle, period or commitment_end.",
        "spec": "The value the spec wants.",
        "live": "The value on the account.",
    },
    "Unmanaged": {
        "__doc__": "A live service the spec does not name.",
        "name": "The service's name on the API.",
        "service_id": "The service's id on the API.",
        "type": "The service's route prefix, e.g. domain.",
        "lifecycle": "Its live lifecycle: renew, manual_renew, terminate_at_expiry, "
        "expired, terminated.",
        "expiration": "Its expiry date (UTC); null when unknown.",
        "manageable": "False for telecom, Microsoft and MX Plan services, which are "
        "managed from their own interface.",
    },
    "ServiceSpec": {
        "__doc__": "One service of the spec, normalised.",
        "key": "The mapping key in the spec file.",
        "name": "The service's name on the API (defaults to the key).",
        "lifecycle": "The wanted lifecycle.",
        "period": "The wanted renewal period (ISO 8601 duration), or null to keep it.",
        "type": "Type guard: refused when the live service is of another type.",
        "protect": "True refuses any termination or deletion.",
        "location": "Where the key stands in the spec file.",
        "mode": "How a renew service is renewed: automatic (the default) or manual "
        "(renewed by hand); null for the other lifecycles.",
        "commitment_end": "What happens when a renew service's commitment ends: recommit, "
        "keep_price or default_price; null leaves the end rule as it is.",
    },
    "SourceLocation": {
        "__doc__": "A position in a spec file.",
        "file": "The file.",
        "line": "Line, 1-based.",
        "column": "Column, 1-based.",
    },
    "ActionKind": "terminate_at_expiry, terminate_at_commitment_end, cancel_termination, "
    "delete_now, set_renew or no_op.",
    "RuleCode": "The stable code of a lifecycle rule.",
    "Lifecycle": "renew, terminate_at_expiry, terminate_at_commitment_end or delete_now.",
    "RenewMode": "automatic or manual.",
    "CommitmentEnd": "recommit, keep_price or default_price.",
    "UnmanagedPolicy": "report, ignore or error.",
}


def main() -> None:
    """``python -m reconciler.core.planfile`` prints the schema (to regenerate the file)."""
    sys.stdout.write(schema_text())


if __name__ == "__main__":
    main()
