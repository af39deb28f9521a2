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

Decisions (what a strict reader of an irreversible-deletion tool should do):

- ``period`` is written as OVH writes it, ``P1M`` … ``P120M``; ``P1Y`` is refused with
  the fix "write P12M" rather than normalised, so the spec reads exactly like the API.
- ``protect`` takes ``true``/``false`` (YAML 1.2). ``yes``/``no``/``on``/``off`` are
  refused as ambiguous (YAML 1.1 reads them as booleans, 1.2 as strings), and so is a
  quoted ``"true"``: a typo must never silently leave a service unprotected.
- ``version`` is the number ``1``; ``endpoint`` defaults to ``sandbox`` (it never touches
  a real account); ``unmanaged`` to ``report``; ``services`` is required but may be
  empty (``services: {}`` or ``services:``).
- ``type`` is a route prefix (``hosting/web``); one written otherwise (``/hosting/web``,
  ``Hosting/Web``, a path) or one letter away from a known prefix is refused with the
  exact fix; an unknown but well-formed prefix is accepted (OVH adds products).
- ``delete_now`` with a ``type`` other than web hosting, ``protect: true`` with
  ``delete_now``, and ``period`` or ``mode`` without ``renew`` are refused here; what
  needs the live account is the planner's.
- ``mode`` (``automatic`` or ``manual``) says how a ``renew`` service is renewed,
  ``automatic`` by default. ``manual`` states a service renewed by hand: without it,
  adopting such a service as ``renew`` would make the next apply switch it to automatic
  renewal, a billing change nobody asked for. A ``ServiceSpec`` of lifecycle ``renew``
  always carries its mode; any other lifecycle has none.
- Keys that look like credentials are refused anywhere (service names excepted), naming
  the environment variable to use and never showing the value.
- Names, keys and values hold no invisible character (zero-width, bidirectional
  controls, any format character): refused with the code point.
- The YAML itself is read by ``marked_yaml``: UTF-8 only, one document, no anchors,
  aliases, merge keys or tags, duplicate keys refused, size and depth bounded.
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
