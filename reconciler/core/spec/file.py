"""The spec file: read into a ``Spec`` with every problem located, and written back.

The YAML is read by ``marked_yaml`` (plain data and the marks of every node); the values
are checked by the models' rules, whose problems are shown at the marks of the keys and
values they are about. What only a file can get wrong is checked here: unknown and
misspelt keys, keys that look like credentials, the shapes of the mappings, a name
used twice. Every problem of a file is reported at once, in file order.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from marked_yaml import (
    DEFAULT_LIMITS,
    Code,
    CollectionKey,
    Kind,
    Limits,
    Mark,
    Marks,
    Node,
    Path,
    Problem,
    Refused,
    compose,
    shown,
)
from reconciler.core.lifecycle import Lifecycle, RenewMode
from reconciler.core.spec.checks import At, Invalid, Seen, Source, closest, describe_node, listed
from reconciler.core.spec.checks import problems_of as validation_problems
from reconciler.core.spec.models import (
    CREDENTIALS_FIX,
    SERVICE_KEYS,
    TOP_KEYS,
    ServiceSpec,
    Spec,
    is_other_version,
)
from reconciler.errors import SpecError, SpecProblem

MAX_SPEC_BYTES = 5 * 1024 * 1024  # a 10,000-service spec is about 0.6 MB

# The reader's fixes where a spec can say more than a YAML document in general.
_SPEC_FIXES = {
    Code.DEPTH: "a spec needs three levels: version/services, the service, its fields",
    Code.NODES: "a spec this large is not supported; manage the account with a few smaller "
    "specs, each with `unmanaged: ignore`",
}
_READ_FIX = "give the path of a readable spec file (YAML)"
_new = tuple.__new__
_NULL = Kind.NULL  # bound once: a look-up of ~0.2 us on Python 3.11, here twice a service


def load_spec(path: str | os.PathLike[str], *, limits: Limits = DEFAULT_LIMITS) -> Spec:
    """Read the spec file at ``path``. Raises ``SpecError`` listing every problem of the
    file (an unreadable or oversized file is one problem at line 1, column 1)."""
    filename = os.fspath(path)
    try:
        with open(filename, "rb") as file:
            if os.fstat(file.fileno()).st_size > MAX_SPEC_BYTES:
                raise SpecError([_too_big(filename)])
            # Read one byte more than allowed: a pipe or a device has no size to check.
            data = file.read(MAX_SPEC_BYTES + 1)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SpecError(
            [SpecProblem(filename, 1, 1, f"cannot read the spec: {reason}", _READ_FIX)],
            hint="check the path of the spec file",
        ) from None
    return parse_spec(data, filename, limits=limits)


def parse_spec(data: bytes, filename: str, *, limits: Limits = DEFAULT_LIMITS) -> Spec:
    """The ``Spec`` in ``data``, the bytes of the file ``filename`` (used in messages and
    kept as ``Spec.source``). Raises ``SpecError`` with every problem found, in file
    order. Pure: no I/O."""
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError([_too_big(filename)])
    document = compose(data, limits=limits, noun="spec")
    problems = [_located(filename, problem) for problem in document.problems]
    spec: Spec | None = None
    if document.complete:
        reader = _Reader(filename, document.marks, limits)
        spec = reader.read(document.data, digest="sha256:" + hashlib.sha256(data).hexdigest())
        problems.extend(reader.problems)
    if problems or spec is None:
        raise SpecError(_ordered(problems, limits) or [_empty(filename)])
    return spec


def _located(filename: str, problem: Problem) -> SpecProblem:
    fix = _SPEC_FIXES.get(problem.code, problem.fix)
    return SpecProblem(filename, problem.line, problem.column, problem.message, fix)


def _too_big(filename: str) -> SpecProblem:
    return SpecProblem(
        filename,
        1,
        1,
        f"the spec is larger than {MAX_SPEC_BYTES // (1024 * 1024)} MB",
        "a spec this large is not supported: is it the right file?",
    )


def _empty(filename: str) -> SpecProblem:
    return SpecProblem(
        filename,
        1,
        1,
        "the spec is empty",
        "start it with `version: 1` and a `services:` mapping",
    )


def _ordered(problems: list[SpecProblem], limits: Limits) -> list[SpecProblem]:
    """Problems in file order, each once, at most ``limits.max_problems`` of them (each
    source of problems keeps one more than that, so a cut is always noticed)."""
    unique = sorted(dict.fromkeys(problems), key=lambda p: (p.line, p.column))
    if len(unique) <= limits.max_problems:
        return unique
    kept = unique[: limits.max_problems]
    last = kept[-1]
    return [
        *kept,
        SpecProblem(
            last.file,
            last.line,
            last.column,
            f"too many problems: only the first {limits.max_problems} are shown",
            "fix these first and run `reconciler validate` again",
        ),
    ]


# --- reading ----------------------------------------------------------------------------


class _Reader:
    """Turns a document's data into a ``Spec``, collecting every problem at its mark."""

    def __init__(self, filename: str, marks: Marks, limits: Limits) -> None:
        self.filename = filename
        self.marks = marks
        self.limits = limits
        self.problems: list[SpecProblem] = []

    def problem(self, mark: Mark, message: str, fix: str | None) -> None:
        # Bounded: a hostile file cannot make the list grow past one more than is shown.
        if len(self.problems) <= self.limits.max_problems:
            self.problems.append(SpecProblem(self.filename, mark.line, mark.column, message, fix))

    def invalid(self, path: Path, problem: Invalid) -> None:
        """A rule's problem about the value at ``path``: at its key or value, or where
        its mapping is named when the file does not write it."""
        found = self.marks.nearest(path)
        if found is None:
            self.problem(Mark(1, 1), problem.message, problem.fix)
            return
        at, node = found
        if node.kind is Kind.REFUSED:
            return  # the reader refused it and said why
        named = problem.at is At.KEY or at != path
        self.problem(
            node.key.mark if named and node.key else node.mark, problem.message, problem.fix
        )

    def key_mark(self, path: Path) -> Mark:
        node = self.marks[path]
        return node.key.mark if node.key is not None else node.mark

    def check(
        self,
        model: type[BaseModel],
        values: dict[str, Any],
        path: Path,
        meant: set[str],
        written: Mapping[str, Node] | None = None,
    ) -> Any:
        """``model`` from ``values``, the fields of the mapping at ``path`` (``written``:
        the nodes of its keys, if at hand), or None with its problems reported (but the
        absence of a key that a misspelt one meant)."""
        source = _new(Source, (self.marks, path, written))  # once per service: C's constructor
        try:
            return _validator(model)(values, context=source)
        except ValidationError as error:
            for loc, problem in validation_problems(error):
                if not (problem.absent and loc and loc[0] in meant):
                    self.invalid((*path, *loc), problem)
            return None

    # -- the document ---------------------------------------------------------------------

    def read(self, data: Any, *, digest: str) -> Spec | None:
        root = self.marks.get(())
        if data is None:
            self.problems.append(_empty(self.filename))
            return None
        if not isinstance(data, dict) or root is None:
            self.problem(
                root.mark if root else Mark(1, 1),
                "the spec must be a mapping (version, endpoint, unmanaged, services), not "
                + (describe_node(root) if root else "a value"),
                "start the file with `version: 1` and a `services:` mapping",
            )
            return None
        credentials = self._credentials(data)
        top, meant, _ = self._fields(data, (), TOP_KEYS)
        if "version" not in top and "version" not in meant:
            self.problem(
                root.mark, "the spec has no `version`", "add `version: 1` as the first line"
            )
        if "version" in top and is_other_version(
            Seen("version", top["version"], self.marks[("version",)])
        ):
            # Another format: the rest cannot be judged against this one.
            self.check(Spec, {"version": top["version"]}, (), meant)
            return None
        services = self._services(top, root.mark, meant, credentials)
        values = {k: v for k, v in top.items() if k != "services"}
        spec = self.check(
            Spec,
            {**values, "services": services or (), "source": self.filename, "digest": digest},
            (),
            meant,
        )
        if spec is None or services is None or self.problems:
            return None
        assert isinstance(spec, Spec)
        return spec

    def _fields(
        self,
        mapping: dict[Any, Any],
        path: Path,
        known: tuple[str, ...],
        service: str | None = None,
    ) -> tuple[dict[str, Any], set[str], dict[str, Node]]:
        """The known keys of a mapping (the top level's, or ``service``'s), the known keys
        its other keys may have meant (a typo, a merge key), and the node of each key's
        value: a problem for every unknown key. A key whose value the reader refused (an
        alias) counts as written: it is not reported again."""
        fields: dict[str, Any] = {}
        meant: set[str] = set()
        written: dict[str, Node] = {}
        for key, value in mapping.items():
            if isinstance(key, Refused):
                continue  # refused where it stands
            node = self.marks[(*path, key)]
            if isinstance(key, str):
                written[key] = node
                if key in known and not isinstance(value, Refused):
                    fields[key] = value  # nearly every key of a spec
                    continue
            key_node = node.key
            assert key_node is not None
            if isinstance(key, CollectionKey):
                self.problem(
                    key_node.mark,
                    f"a key must be a plain name, not {describe_node(key_node)}",
                    f"use one of {listed(known)}",
                )
            elif key in known:
                if isinstance(value, Refused):
                    meant.add(key)
                else:
                    fields[key] = value
            elif credential_variable(key) is not None:
                continue  # reported by _credentials, without its value
            elif key == "<<" and key_node.plain:
                meant.update(known)
                self.problem(
                    key_node.mark,
                    "YAML merge key '<<' is not allowed in a spec",
                    "write each field out in full (anchors, aliases and merges are refused)",
                )
            else:
                close = closest(key, known)
                if close:
                    meant.add(close)
                    fix = f"did you mean `{close}`?"
                elif service is None and _looks_like_a_service(key, value):
                    fix = "services are listed under `services:`; indent this entry under it"
                else:
                    fix = f"the keys allowed here are {listed(known)}"
                where = (
                    "at the top level of the spec"
                    if service is None
                    else f"in service {shown(service)}"
                )
                self.problem(key_node.mark, f"unknown key {shown(key)} {where}", fix)
        return fields, meant, written

    def _credentials(self, data: dict[Any, Any]) -> set[str]:
        """Refuse credential-like keys anywhere (service names excepted), never showing
        their values; the service keys refused so. Every mapping in file order (an
        iterative walk: a key's problem is found before those of the mappings under it)."""
        refused: set[str] = set()
        pending: list[tuple[Path, Any]] = [((), data)]
        while pending:
            path, value = pending.pop()
            inner: list[tuple[Path, Any]] = []
            if not isinstance(value, dict):
                inner = [
                    ((*path, i), item)
                    for i, item in enumerate(value)
                    if isinstance(item, _COLLECTIONS)
                ]
                pending.extend(reversed(inner))
                continue
            is_services = path == ("services",)
            for key, item in value.items():
                if isinstance(item, _COLLECTIONS):
                    inner.append(((*path, key), item))
                if not isinstance(key, str) or key in _SETTING_KEYS:
                    continue  # (a setting's name is never a credential's: the common case)
                if is_services and (isinstance(item, _SERVICE_VALUES) or "." in key):
                    continue  # a service's name (token.example.com), not a setting
                variable = credential_variable(key)
                if variable is None:
                    continue
                if is_services:
                    refused.add(key)
                self.problem(
                    self.key_mark((*path, key)),
                    f"{shown(key)} looks like a credential: secrets never go in a spec",
                    f"remove it and set {variable} in the environment (or in ovh.conf)"
                    if variable
                    else f"remove it and {CREDENTIALS_FIX}",
                )
            pending.extend(reversed(inner))
        return refused

    # -- services -------------------------------------------------------------------------

    def _services(
        self, top: dict[str, Any], root: Mark, meant: set[str], credentials: set[str]
    ) -> tuple[ServiceSpec, ...] | None:
        if "services" not in top:
            if "services" not in meant:
                self.problem(
                    root,
                    "the spec has no `services`",
                    "add `services:` with one entry per service (or `services: {}`)",
                )
            return None
        value = top["services"]
        if value is None:
            return ()  # `services:` with nothing under it: no service is managed
        node = self.marks[("services",)]
        if not isinstance(value, dict):
            self.problem(
                node.mark,
                f"`services` must be a mapping of service names, not {describe_node(node)}",
                "write each service as `name:` followed by its indented `lifecycle:`",
            )
            return None
        before = len(self.problems)
        services = [
            service
            for key, entry in value.items()
            if key not in credentials and (service := self._service(key, entry)) is not None
        ]
        for service, problem in duplicate_names(services):
            location = service.location
            assert location is not None
            self.problem(Mark(location.line, location.column), problem.message, problem.fix)
        return tuple(services) if len(self.problems) == before else None

    def _service(self, key: Any, entry: Any) -> ServiceSpec | None:
        if isinstance(key, Refused) or isinstance(entry, Refused):
            return None  # refused where it stands
        path = ("services", key)
        node = self.marks[path]
        key_node = node.key
        assert key_node is not None
        if isinstance(key, CollectionKey) or key_node.kind is _NULL:
            self.problem(
                key_node.mark,
                f"a service key must be the service's name, not {describe_node(key_node)}",
                "write the service's name (resource.name on the API) as the key",
            )
            return None
        if node.kind is _NULL:
            entry = {}  # a name with nothing under it: the rules say what it lacks
        if node.text in LIFECYCLE_WORDS and node.kind is Kind.STR:
            self.problem(
                node.mark,
                f"service {shown(key)} must be a mapping, not a bare lifecycle",
                f"write `lifecycle: {node.text}` on its own line, indented under the name",
            )
            return None
        if not isinstance(entry, dict):
            self.problem(
                node.mark,
                f"service {shown(key)} must be a mapping, not {describe_node(node)}",
                f"give it an indented `lifecycle:` (and optionally {', '.join(SERVICE_KEYS[1:])})",
            )
            return None
        fields, meant, written = self._fields(entry, path, SERVICE_KEYS, key)
        # The model builds the SourceLocation from its fields (cheaper than one made here).
        location = {
            "file": self.filename,
            "line": key_node.mark.line,
            "column": key_node.mark.column,
        }
        service = self.check(
            ServiceSpec, {"key": key, **fields, "location": location}, path, meant, written
        )
        assert service is None or isinstance(service, ServiceSpec)
        return service


LIFECYCLE_WORDS = frozenset(lifecycle.value for lifecycle in Lifecycle)


@functools.cache
def _validator(model: type[BaseModel]) -> Callable[..., Any]:
    """``model.model_validate`` without its Python frame, nor the class attribute look-up
    (half a microsecond through pydantic's metaclass): ``check`` runs once per service."""
    return model.__pydantic_validator__.validate_python


def duplicate_names(services: Sequence[ServiceSpec]) -> list[tuple[ServiceSpec, Invalid]]:
    """A name may appear on several services only with a distinct `type` on each: a
    domain and the web hosting named after it share a name, and `type` tells them
    apart; without it the spec would not say which one it means."""
    found: list[tuple[ServiceSpec, Invalid]] = []
    shared = {name for name, count in Counter(s.name for s in services).items() if count > 1}
    by_name: dict[str, list[ServiceSpec]] = {}
    for service in services:
        if service.name in shared:
            by_name.setdefault(service.name, []).append(service)
    for name, same in by_name.items():
        first_by_type: dict[str | None, ServiceSpec] = {}
        for service in same:
            first = first_by_type.get(service.type)
            if first is not None:
                typed = f" and type {service.type}" if service.type else ""
                line = f" (line {first.location.line})" if first.location else ""
                found.append(
                    (
                        service,
                        Invalid(
                            f"service {shown(service.key)} is the same service as "
                            f"{shown(first.key)}{line}: name {shown(name)}{typed}",
                            "remove one of them, or give each a distinct `type` "
                            "(e.g. hosting/web and domain)",
                        ),
                    )
                )
                continue
            first_by_type[service.type] = service
            if service.type is None:
                others = ", ".join(shown(s.key) for s in same if s is not service)
                found.append(
                    (
                        service,
                        Invalid(
                            f"name {shown(name)} is used by several services ({others} too), "
                            "and this one has no `type`",
                            "add `type:` (e.g. hosting/web or domain) so that it names one service",
                        ),
                    )
                )
    return found


_COLLECTIONS = (dict, list)  # a tuple: `dict | list` would be a new union at each test
_SERVICE_VALUES = (dict, list, Refused)


def _looks_like_a_service(key: str, value: Any) -> bool:
    """A top-level entry that was meant to be under `services:`: a dotted name holding
    service fields."""
    return "." in key and isinstance(value, dict) and bool(set(value) & set(SERVICE_KEYS))


# Keys that hold credentials, compared without case, "_", "-" or spaces. Each known one
# names the environment variable that should hold it instead.
_CREDENTIAL_VARIABLES = {
    "applicationkey": "OVH_APPLICATION_KEY",
    "appkey": "OVH_APPLICATION_KEY",
    "applicationsecret": "OVH_APPLICATION_SECRET",
    "appsecret": "OVH_APPLICATION_SECRET",
    "consumerkey": "OVH_CONSUMER_KEY",
    "clientid": "OVH_CLIENT_ID",
    "clientsecret": "OVH_CLIENT_SECRET",
}
_CREDENTIAL_WORDS = (
    "secret",
    "password",
    "passwd",
    "passphrase",
    "token",
    "apikey",
    "privatekey",
    "accesskey",
    "credential",
    "authorization",
    "bearer",
)
_SETTING_KEYS = frozenset(TOP_KEYS + SERVICE_KEYS)
_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]")


def credential_variable(key: str) -> str | None:
    """The environment variable for a credential-like key, "" for another credential-like
    key, None for a key that does not look like a credential."""
    if key in _SETTING_KEYS:
        return None
    squashed = _NOT_ALPHANUMERIC.sub("", key.lower())
    if squashed in _CREDENTIAL_VARIABLES:
        return _CREDENTIAL_VARIABLES[squashed]
    if any(word in squashed for word in _CREDENTIAL_WORDS):
        return ""
    return None


# --- writing ------------------------------------------------------------------------------


def dump_spec(spec: Spec) -> str:
    """The YAML text of ``spec``, in the canonical layout; ``parse_spec`` reads it back
    into an equal spec (but for ``source``, ``digest`` and the locations)."""
    services: dict[str, dict[str, object]] = {}
    for service in spec.services:
        entry: dict[str, object] = {}
        if service.name != service.key:
            entry["name"] = service.name
        if service.type is not None:
            entry["type"] = service.type
        entry["lifecycle"] = service.lifecycle.value
        if service.mode is RenewMode.MANUAL:  # automatic is the default: not written
            entry["mode"] = service.mode.value
        if service.period is not None:
            entry["period"] = service.period
        if service.commitment_end is not None:
            entry["commitment_end"] = service.commitment_end.value
        if service.protect:
            entry["protect"] = True
        services[service.key] = entry
    document: Mapping[str, object] = {
        "version": spec.version,
        "endpoint": spec.endpoint,
        "unmanaged": spec.unmanaged.value,
        "services": services,
    }
    return yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True, width=1_000_000, default_flow_style=False
    )
