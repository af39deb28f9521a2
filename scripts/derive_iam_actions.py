"""Derive the IAM actions of reconciler's calls from OVH's published schemas.

    python scripts/derive_iam_actions.py [SCHEMAS_FOLDER]

For every call the access table names (``reconciler.core.access.GRANTS``: the calls each
role makes), finds the operation of OVH's published schemas (``eu-*.json``, Swagger 1.2
style: ``apis[].operations[].iamActions``) with the same method and path (path variables
compared by position, not by name: ``/services/{id}`` is ``/services/{serviceId}``), and
writes the actions it requires to ``reconciler/core/iam_actions.py``. Only that derived
list is committed, never the schemas (``docs/control-panel.md``, "How to read this page").

``SCHEMAS_FOLDER`` defaults to ``$OVH_API_SCHEMAS``, else ``../shared/ovh-api-schemas``
next to the repository. ``tests/foundation/test_iam_actions.py`` derives the table again
and fails when the committed one drifts (a call added to the access table, or a schema
that changed): run this script and commit its output then.

A call the schemas do not have, or an operation without ``iamActions``, is an error: the
table would be incomplete, and an OAuth2 key given its policy would be refused a call.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "reconciler" / "core" / "iam_actions.py"
_VARIABLE = re.compile(r"\{[^}]*\}")


def default_folder() -> Path:
    configured = os.environ.get("OVH_API_SCHEMAS", "").strip()
    return Path(configured) if configured else ROOT.parent / "shared" / "ovh-api-schemas"


def shape(path: str) -> str:
    """A path with its variables unnamed: ``/services/{id}`` → ``/services/{}``."""
    return _VARIABLE.sub("{}", path)


def operations(folder: Path) -> dict[str, list[str]]:
    """``"METHOD /path/{}"`` → the required IAM actions, from every ``eu-*.json``."""
    found: dict[str, list[str]] = {}
    for schema in sorted(folder.glob("eu-*.json")):
        data = json.loads(schema.read_text(encoding="utf-8"))
        for api in data.get("apis", []):
            for operation in api.get("operations", []):
                key = f"{operation['httpMethod']} {shape(api['path'])}"
                actions = operation.get("iamActions")
                if actions is None and operation.get("noAuthentication"):
                    actions = []
                if actions is None:
                    continue
                names = [a["name"] for a in actions if a.get("required", True)]
                found.setdefault(key, names)
    return found


def derive(calls: Iterable[str], folder: Path) -> dict[str, tuple[str, ...]]:
    """``call`` (``"GET /services/{id}"``) → its IAM actions, for each of ``calls``."""
    known = operations(folder)
    table: dict[str, tuple[str, ...]] = {}
    missing: list[str] = []
    for call in calls:
        method, path = call.split(" ", 1)
        actions = known.get(f"{method} {shape(path)}")
        if actions is None:
            missing.append(call)
            continue
        table[call] = tuple(actions)
    if missing:
        raise LookupError(
            f"no published operation with iamActions for: {', '.join(missing)} (in {folder})"
        )
    return dict(sorted(table.items()))


def render(table: Mapping[str, tuple[str, ...]]) -> str:
    """The Python module holding ``table`` (what ``TARGET`` must contain)."""
    lines = [
        '"""The IAM actions of each call reconciler makes, derived from OVH\'s published',
        "schemas by ``scripts/derive_iam_actions.py``: do not edit, run the script. Pure data.",
        "",
        "``IAM_ACTIONS[call]`` are the actions an OAuth2 service account's IAM policy must",
        "allow for ``call`` (as ``reconciler.core.access.GRANTS`` names it).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from collections.abc import Mapping",
        "",
        "_DERIVED: dict[str, list[str]] = {",
    ]
    for call, actions in table.items():  # one action a line: as ruff formats it
        lines.append(f"    {json.dumps(call)}: [")
        lines.extend(f"        {json.dumps(action)}," for action in actions)
        lines.append("    ],")
    lines += [
        "}",
        "",
        "IAM_ACTIONS: Mapping[str, tuple[str, ...]] = {",
        "    call: tuple(actions) for call, actions in _DERIVED.items()",
        "}",
    ]
    return "\n".join(lines) + "\n"


def access_calls() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from reconciler.core.access import GRANTS

    return sorted({call for grant in GRANTS for call in grant.calls})


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else default_folder()
    if not folder.is_dir():
        print(f"error: no schemas folder at {folder} (pass one, or set OVH_API_SCHEMAS)")
        return 1
    table = derive(access_calls(), folder)
    TARGET.write_text(render(table), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)} ({len(table)} calls) from {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
