"""Every OVH operation reconciler or the sandbox uses, with the IAM actions OVH lists for
it — what an OAuth2 key's IAM policy must allow.

    python -m tests.conformance.report [--region eu] [--json]

One line per operation: who uses it (``reconciler``: a call the product makes, read
from its own code as ``product_calls`` does; ``sandbox``: a route the sandbox serves),
the operation, and its ``iamActions`` (``(optional)`` after one not required;
``no authentication`` for the public ones). Reads the copy of OVH's schemas the tests
read (``OVH_API_SCHEMAS``, ``docs/conformance.md``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ == "tests.conformance":  # run as a script: its siblings are `conformance.*`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance.locate import missing_reason, schema_folder  # noqa: E402
from conformance.operations import ApiSchemas, Operation, load_regions  # noqa: E402
from conformance.product_calls import observed_calls, planned_calls  # noqa: E402
from conformance.sandbox_routes import served_routes  # noqa: E402


@dataclass(frozen=True, slots=True)
class Used:
    operation: Operation
    by: tuple[str, ...]  # reconciler, sandbox

    def to_json(self) -> dict[str, object]:
        return {
            "operation": self.operation.key,
            "usedBy": list(self.by),
            "noAuthentication": self.operation.no_authentication,
            "iamActions": [
                {"name": a.name, "required": a.required} for a in self.operation.iam_actions
            ],
        }

    def line(self) -> str:
        actions = ", ".join(
            a.name + ("" if a.required else " (optional)") for a in self.operation.iam_actions
        )
        if self.operation.no_authentication:
            actions = "no authentication" + (f"; {actions}" if actions else "")
        return f"{'+'.join(self.by):<19} {self.operation.key:<58} {actions or '-'}"


def used_operations(schemas: ApiSchemas) -> tuple[list[Used], list[str], list[str]]:
    """The operations used, in template order; what the schemas do not describe; and the
    calls into APIs the copy holds no file of (a product's ``serviceInfos``: ``/vps``,
    ``/dedicated/server``...), which it cannot judge."""
    users: dict[str, set[str]] = {}
    by_key: dict[str, Operation] = {}
    unknown: list[str] = []
    outside: list[str] = []
    for call in [*planned_calls(), *observed_calls()]:
        match = schemas.match(call.method, call.path)
        if match is None:
            shown = f"reconciler: {call.method} {call.path}"
            (unknown if schemas.covers(call.path) else outside).append(shown)
            continue
        by_key[match.operation.key] = match.operation
        users.setdefault(match.operation.key, set()).add("reconciler")
    for route in served_routes():
        op = schemas.find(route.method, route.template)
        if op is None:
            if schemas.covers(route.template.split("{", 1)[0].rstrip("/")):
                unknown.append(f"sandbox: {route.key}")
            continue
        by_key[op.key] = op
        users.setdefault(op.key, set()).add("sandbox")
    ordered = sorted(by_key.values(), key=lambda op: (op.template, op.method))
    used = [Used(op, tuple(sorted(users[op.key]))) for op in ordered]
    return used, sorted(set(unknown)), sorted(set(outside))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.conformance.report",
        description="The OVH operations reconciler and the sandbox use, with their IAM actions.",
    )
    parser.add_argument("--region", default="eu", help="eu (default), ca or us")
    parser.add_argument("--json", action="store_true", help="one JSON document")
    options = parser.parse_args(argv)
    folder = schema_folder()
    if folder is None:
        print(f"error: {missing_reason()}", file=sys.stderr)
        return 1
    regions = load_regions(folder)
    if options.region not in regions:
        print(f"error: no {options.region}-*.json in {folder}", file=sys.stderr)
        return 1
    used, unknown, outside = used_operations(regions[options.region])
    if options.json:
        document = {"region": options.region, "operations": [u.to_json() for u in used],
                    "notInTheSchemas": unknown, "notJudged": outside}  # fmt: skip
        print(json.dumps(document, indent=2))
        return 0
    print(f"{'used by':<19} {'operation':<58} IAM actions")
    for entry in used:
        print(entry.line())
    for line in unknown:
        print(f"not in OVH's schemas: {line}")
    for line in outside:
        print(f"not judged (no schema file of its API in the copy): {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
