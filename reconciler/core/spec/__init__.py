"""The spec: what should become of each service (``docs/user-guide.md``, "The spec
reference").

Public values (immutable): ``Spec``, ``ServiceSpec``, ``UnmanagedPolicy``,
``SourceLocation``. ``load_spec(path)`` / ``parse_spec(data, filename)`` read a YAML file
and return a ``Spec`` or raise ``SpecError`` listing every problem of the file, in file
order, each with its line, column and fix. ``dump_spec(spec)`` writes the canonical
text, which reads back into an equal spec. ``check_values(ServiceSpec, values)`` builds
an entry from values given directly (Pulumi properties, an imported account) with the
same rules and messages, or raises ``InvalidValues`` naming each field. Pure but for
``load_spec`` reading its file.

A service is named by its key; two live services may share a name (a domain and the
web hosting named after it), so a spec may give ``name:`` explicitly and use the key as a
label, with ``type:`` telling which one is meant.

Why it is strict (each rule, default and refusal is in the guide's "Service fields" and
"What the loader refuses, and how it says so"): a deletion cannot be undone, so the
reader refuses with the exact fix rather than guessing. A period is written as OVH writes
it (``P12M``, never ``P1Y``) so that a spec reads like the API; ``protect`` takes the
YAML 1.2 booleans only, since a typo must never leave a service unprotected; ``mode:
manual`` is explicit, since adopting a service renewed by hand as ``renew`` would switch
its billing to automatic. What needs the live account (offered periods, the type of the
service found) is the planner's, not the loader's.
"""

from reconciler.core.catalog import KNOWN_TYPES
from reconciler.core.spec.checks import FieldProblem, InvalidValues, check_values
from reconciler.core.spec.file import (
    MAX_SPEC_BYTES,
    dump_spec,
    duplicate_names,
    load_spec,
    parse_spec,
)
from reconciler.core.spec.models import (
    MAX_NAME_LENGTH,
    SERVICE_KEYS,
    SPEC_VERSION,
    TOP_KEYS,
    ServiceSpec,
    SourceLocation,
    Spec,
    UnmanagedPolicy,
)

__all__ = [
    "KNOWN_TYPES",
    "MAX_NAME_LENGTH",
    "MAX_SPEC_BYTES",
    "SERVICE_KEYS",
    "SPEC_VERSION",
    "TOP_KEYS",
    "FieldProblem",
    "InvalidValues",
    "ServiceSpec",
    "SourceLocation",
    "Spec",
    "UnmanagedPolicy",
    "check_values",
    "dump_spec",
    "duplicate_names",
    "load_spec",
    "parse_spec",
]
