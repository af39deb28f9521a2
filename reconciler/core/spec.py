"""The spec: what should become of each service (DESIGN §2, "Spec format (version 1)").

Public values (immutable): ``Spec``, ``ServiceSpec``, ``Lifecycle``, ``RenewMode``,
``UnmanagedPolicy``, ``SourceLocation``. ``load_spec(path)`` / ``parse_spec(data,
filename)`` read a YAML file and return a ``Spec`` or raise ``SpecError`` listing every
problem of the file, in file order, each with its line, column and fix.
``dump_spec(spec)`` writes the canonical text, which reads back into an equal spec. Pure
but for ``load_spec`` reading its file.

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
- ``mode`` (``automatic`` or ``manual``) says how a ``renew`` service is renewed;
  ``automatic`` by default, as DESIGN's ``renew`` means. ``manual`` states a service
  renewed by hand (a domain paid by hand): without it, adopting such a service as
  ``renew`` would make the next apply switch it to automatic renewal, a billing change
  nobody asked for. A ``ServiceSpec`` of lifecycle ``renew`` always carries its mode
  (``automatic`` when not written); any other lifecycle has none.
- Keys that look like credentials are refused anywhere (service names excepted), naming
  the environment variable to use and never showing the value.
- The YAML itself is read by ``reconciler.core.specyaml``: UTF-8 only, one document, no
  anchors, aliases, merge keys or tags, duplicate keys refused, size and depth bounded.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from reconciler.core.catalog import KNOWN_TYPES, ProductFamily, family_of
from reconciler.core.lifecycle import Lifecycle, RenewMode
from reconciler.core.periods import InvalidPeriod, parse_period
from reconciler.core.specyaml import (
    DEFAULT_LIMITS,
    AliasNode,
    Limits,
    MappingNode,
    Mark,
    Node,
    Resolved,
    ScalarKind,
    ScalarNode,
    SequenceNode,
    iter_mappings,
    read_yaml,
    resolve_scalar,
    shown,
)
from reconciler.endpoints import KNOWN_NAMES, SANDBOX, url_problem
from reconciler.errors import SpecError, SpecProblem


class UnmanagedPolicy(StrEnum):
    """What to do with live services that the spec does not name."""

    REPORT = "report"
    IGNORE = "ignore"
    ERROR = "error"


class SourceLocation(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class ServiceSpec(BaseModel):
    """The wanted lifecycle of one service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str  # the mapping key in the spec file
    name: str  # resource.name on the API; defaults to the key
    lifecycle: Lifecycle
    period: str | None = None  # ISO 8601 duration ("P1M", "P12M"); renew only
    type: str | None = None  # guard, e.g. "hosting/web"; refused when the live type differs
    protect: bool = False  # refuse any termination or deletion
    location: SourceLocation | None = None  # where the key stands in the file
    # renew only: automatic (the default) or manual; None for every other lifecycle.
    # Last, so that values built positionally and plan files without it still read.
    mode: RenewMode | None = None

    @model_validator(mode="before")
    @classmethod
    def _renew_mode(cls, data: Any) -> Any:
        """``renew`` without a mode renews automatically (DESIGN); a mode with any other
        lifecycle is a contradiction (the spec loader reports it with its position)."""
        if not isinstance(data, dict):
            return data
        lifecycle, mode = data.get("lifecycle"), data.get("mode")
        if lifecycle in (Lifecycle.RENEW, Lifecycle.RENEW.value):
            if mode is None:
                return {**data, "mode": RenewMode.AUTOMATIC}
        elif mode is not None:
            raise ValueError(f"mode applies to lifecycle renew only, not {lifecycle}")
        return data

    @property
    def manual(self) -> bool:
        """Renewed by hand: ``lifecycle: renew`` with ``mode: manual``."""
        return self.mode is RenewMode.MANUAL


class Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    endpoint: str = "sandbox"
    unmanaged: UnmanagedPolicy = UnmanagedPolicy.REPORT
    services: tuple[ServiceSpec, ...] = ()
    source: str = "<memory>"  # file name the spec was read from
    digest: str = ""  # "sha256:<hex>" of the file's bytes


# --- reading a spec ---------------------------------------------------------------------

SPEC_VERSION = 1
MAX_SPEC_BYTES = 5 * 1024 * 1024  # a 10,000-service spec is about 0.6 MB
MAX_NAME_LENGTH = 255  # a DNS name is at most 253 characters

TOP_KEYS = ("version", "endpoint", "unmanaged", "services")
SERVICE_KEYS = ("lifecycle", "mode", "period", "type", "protect", "name")
LIFECYCLES = tuple(lifecycle.value for lifecycle in Lifecycle)
RENEW_MODES = tuple(mode.value for mode in RenewMode)
UNMANAGED_POLICIES = tuple(policy.value for policy in UnmanagedPolicy)

# `type:` names a route prefix of the product catalogue. A type that is not listed is
# accepted (OVH adds products); one a letter away from a listed one is refused as a
# typo, since a `type` guard that matches nothing refuses the plan.
_KNOWN_TYPE_SET = frozenset(KNOWN_TYPES)
_KNOWN_TYPES_BY_LOWER = {known.lower(): known for known in KNOWN_TYPES}
_TYPE_SHAPE = re.compile(r"[a-z][A-Za-z0-9]*(?:/[a-z][A-Za-z0-9]*){0,3}", re.ASCII)
_MAX_TYPE_LENGTH = 64
_SPACE = re.compile(r"\s")
_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]")
_SETTING_KEYS = frozenset(TOP_KEYS + SERVICE_KEYS)

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
_CREDENTIALS_FIX = (
    "set credentials in the environment (OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET, "
    "OVH_CONSUMER_KEY, or OVH_CLIENT_ID and OVH_CLIENT_SECRET) or in ovh.conf"
)


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


_READ_FIX = "give the path of a readable spec file (YAML)"


def parse_spec(data: bytes, filename: str, *, limits: Limits = DEFAULT_LIMITS) -> Spec:
    """The ``Spec`` in ``data``, the bytes of the file ``filename`` (used in messages and
    kept as ``Spec.source``). Raises ``SpecError`` with every problem found, in file
    order. Pure: no I/O."""
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError([_too_big(filename)])
    document = read_yaml(data, filename, limits)
    problems = list(document.problems)
    spec: Spec | None = None
    if document.complete:
        reader = _SpecReader(filename, limits)
        spec = reader.read(document.root, digest="sha256:" + hashlib.sha256(data).hexdigest())
        problems.extend(reader.problems)
    if problems or spec is None:
        raise SpecError(_ordered(problems, limits) or [_empty(filename, Mark(1, 1))])
    return spec


def _too_big(filename: str) -> SpecProblem:
    return SpecProblem(
        filename,
        1,
        1,
        f"the spec is larger than {MAX_SPEC_BYTES // (1024 * 1024)} MB",
        "a spec this large is not supported: is it the right file?",
    )


def _empty(filename: str, mark: Mark) -> SpecProblem:
    return SpecProblem(
        filename,
        mark.line,
        mark.column,
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


@dataclass(frozen=True, slots=True)
class _Field:
    key: ScalarNode
    value: Node


class _SpecReader:
    """Turns a positioned YAML tree into a ``Spec``, collecting every problem."""

    def __init__(self, filename: str, limits: Limits) -> None:
        self.filename = filename
        self.limits = limits
        self.problems: list[SpecProblem] = []
        self._credential_keys: set[int] = set()  # ids of key nodes already reported

    def problem(self, mark: Mark, message: str, fix: str | None) -> None:
        # Bounded: a hostile file cannot make the list grow past one more than is shown.
        if len(self.problems) <= self.limits.max_problems:
            self.problems.append(SpecProblem(self.filename, mark.line, mark.column, message, fix))

    # -- the document ---------------------------------------------------------------------

    def read(self, root: Node | None, *, digest: str) -> Spec | None:
        if root is None or _is_null(root):
            self.problems.append(_empty(self.filename, Mark(1, 1)))
            return None
        if not isinstance(root, MappingNode):
            self.problem(
                root.mark,
                f"the spec must be a mapping (version, endpoint, unmanaged, services), "
                f"not {_describe(root)}",
                "start the file with `version: 1` and a `services:` mapping",
            )
            return None
        fields, meant = self._fields(root, TOP_KEYS, "at the top level of the spec", top=True)
        services_node = fields["services"].value if "services" in fields else None
        self._credentials(root, services_node)

        version = self._version(fields.get("version"), root.mark, reported="version" in meant)
        if version is not None and version != SPEC_VERSION:
            return None  # another format: the rest cannot be judged against version 1
        endpoint = self._endpoint(fields.get("endpoint"))
        unmanaged = self._unmanaged(fields.get("unmanaged"))
        services = self._services(fields.get("services"), root.mark, reported="services" in meant)
        if self.problems or endpoint is None or unmanaged is None or services is None:
            return None
        return Spec(
            version=SPEC_VERSION,
            endpoint=endpoint,
            unmanaged=unmanaged,
            services=services,
            source=self.filename,
            digest=digest,
        )

    def _fields(
        self, mapping: MappingNode, known: tuple[str, ...], where: str, *, top: bool = False
    ) -> tuple[dict[str, _Field], set[str]]:
        """The known keys of a mapping, and the known keys that its unknown keys may have
        meant (a typo, a merge key): a problem for every unknown key."""
        fields: dict[str, _Field] = {}
        meant: set[str] = set()
        for key, value in mapping.pairs:
            if not isinstance(key, ScalarNode):
                self.problem(
                    _mark_of(key),
                    f"a key must be a plain name, not {_describe(key)}",
                    f"use one of {_listed(known)}",
                )
                continue
            if key.value in known:
                fields[key.value] = _Field(key, value)
            elif _credential_variable(key.value) is not None:
                continue  # reported by _credentials, without its value
            elif key.value == "<<" and key.plain:
                meant.update(known)
                self.problem(
                    key.mark,
                    "YAML merge key '<<' is not allowed in a spec",
                    "write each field out in full (anchors, aliases and merges are refused)",
                )
            else:
                close = _closest(key.value, known)
                if close:
                    meant.add(close)
                    fix = f"did you mean `{close}`?"
                elif top and _looks_like_a_service(key.value, value):
                    fix = "services are listed under `services:`; indent this entry under it"
                else:
                    fix = f"the keys allowed here are {_listed(known)}"
                self.problem(key.mark, f"unknown key {shown(key.value)} {where}", fix)
        return fields, meant

    def _credentials(self, root: Node, services: Node | None) -> None:
        """Refuse credential-like keys anywhere (service names excepted), never showing
        their values."""
        for mapping in iter_mappings(root):
            for key, value in mapping.pairs:
                if not isinstance(key, ScalarNode):
                    continue
                if mapping is services and (not isinstance(value, ScalarNode) or "." in key.value):
                    continue  # a service's name (token.example.com), not a setting
                variable = _credential_variable(key.value)
                if variable is None:
                    continue
                self._credential_keys.add(id(key))
                self.problem(
                    key.mark,
                    f"{shown(key.value)} looks like a credential: secrets never go in a spec",
                    f"remove it and set {variable} in the environment (or in ovh.conf)"
                    if variable
                    else f"remove it and {_CREDENTIALS_FIX}",
                )

    def _version(self, field: _Field | None, root: Mark, *, reported: bool) -> int | None:
        if field is None:
            if reported:  # a misspelt `version` key was reported with the fix
                return None
            self.problem(
                root,
                "the spec has no `version`",
                "add `version: 1` as the first line",
            )
            return None
        value = field.value
        resolved = _resolved(value)
        if resolved is not None and resolved.kind is ScalarKind.INT:
            number = resolved.value
            if number == SPEC_VERSION:
                return SPEC_VERSION
            self.problem(
                _mark_of(value),
                f"unsupported spec version {shown(_text(value))[1:-1]}",
                f"this reconciler reads spec version {SPEC_VERSION}; write `version: "
                f"{SPEC_VERSION}` or use the reconciler release that wrote this spec",
            )
            return -1
        self.problem(
            _mark_of(value),
            f"`version` must be the number {SPEC_VERSION}, not {_describe(value)}",
            f"write `version: {SPEC_VERSION}`",
        )
        return None

    def _endpoint(self, field: _Field | None) -> str | None:
        if field is None:
            return SANDBOX
        text = self._text_value(field, "endpoint", f"one of {_listed(KNOWN_NAMES, 'or')}, or a URL")
        if text is None:
            return None
        value = text.strip()
        if value in KNOWN_NAMES:
            return value
        problem = url_problem(value)
        if problem is None:
            return value
        mark = _mark_of(field.value)
        if "credentials" in problem:  # never echo a URL that holds a password
            self.problem(
                mark,
                "the endpoint URL holds credentials: secrets never go in a spec",
                f"remove them from the URL and {_CREDENTIALS_FIX}",
            )
            return None
        if value.startswith("http://") and "loopback" in problem:
            fix = f"write {shown('https://' + value.removeprefix('http://'))[1:-1]}"
        else:
            close = _closest(value, KNOWN_NAMES)
            fix = (f"did you mean `{close}`? " if close else "") + (
                f"use one of {_listed(KNOWN_NAMES, 'or')}, or an https:// URL (http:// only "
                "on a loopback address)"
            )
        self.problem(mark, f"endpoint {shown(value)}: {problem}", fix)
        return None

    def _unmanaged(self, field: _Field | None) -> UnmanagedPolicy | None:
        if field is None:
            return UnmanagedPolicy.REPORT
        expected = _listed(UNMANAGED_POLICIES, "or")
        text = self._text_value(field, "unmanaged", expected)
        if text is None:
            return None
        if text in UNMANAGED_POLICIES:
            return UnmanagedPolicy(text)
        close = _closest(text, UNMANAGED_POLICIES)
        self.problem(
            _mark_of(field.value),
            f"unknown `unmanaged` policy {shown(text)}",
            (f"did you mean {close}? " if close else "") + f"expected {expected}",
        )
        return None

    # -- services -------------------------------------------------------------------------

    def _services(
        self, field: _Field | None, root: Mark, *, reported: bool
    ) -> tuple[ServiceSpec, ...] | None:
        if field is None:
            if reported:  # a misspelt `services` key was reported with the fix
                return None
            self.problem(
                root,
                "the spec has no `services`",
                "add `services:` with one entry per service (or `services: {}`)",
            )
            return None
        node = field.value
        if _is_null(node):
            return ()  # `services:` with nothing under it: no service is managed
        if not isinstance(node, MappingNode):
            self.problem(
                _mark_of(node),
                f"`services` must be a mapping of service names, not {_describe(node)}",
                "write each service as `name:` followed by its indented `lifecycle:`",
            )
            return None
        services: list[ServiceSpec] = []
        for key, value in node.pairs:
            service = self._service(key, value)
            if service is not None:
                services.append(service)
        self._unique_names(services)
        return tuple(services)

    def _service(self, key: Node, value: Node) -> ServiceSpec | None:
        if not isinstance(key, ScalarNode) or _is_null(key):
            self.problem(
                _mark_of(key),
                f"a service key must be the service's name, not {_describe(key)}",
                "write the service's name (resource.name on the API) as the key",
            )
            return None
        label = key.value
        if id(key) in self._credential_keys:
            return None
        if isinstance(value, ScalarNode) and not _is_null(value) and value.value in LIFECYCLES:
            self.problem(
                value.mark,
                f"service {shown(label)} must be a mapping, not a bare lifecycle",
                f"write `lifecycle: {value.value}` on its own line, indented under the name",
            )
            return None
        if isinstance(value, AliasNode):
            return None  # refused where it stands
        if _is_null(value):
            self.problem(
                key.mark,
                f"service {shown(label)} has no lifecycle",
                f"add `lifecycle:` under it: {_listed(LIFECYCLES, 'or')}",
            )
            return None
        if not isinstance(value, MappingNode):
            self.problem(
                _mark_of(value),
                f"service {shown(label)} must be a mapping, not {_describe(value)}",
                "give it an indented `lifecycle:` (and optionally mode, period, type, protect, "
                "name)",
            )
            return None
        fields, meant = self._fields(value, SERVICE_KEYS, f"in service {shown(label)}")
        before = len(self.problems)
        name = self._name(key, fields.get("name"))
        lifecycle = self._lifecycle(key, fields.get("lifecycle"), reported="lifecycle" in meant)
        mode = self._mode(fields.get("mode"), lifecycle)
        period = self._period(fields.get("period"), lifecycle)
        service_type = self._type(fields.get("type"), lifecycle)
        protect = self._protect(fields.get("protect"), lifecycle)
        if len(self.problems) > before or name is None or lifecycle is None:
            return None
        return ServiceSpec(
            key=label,
            name=name,
            lifecycle=lifecycle,
            period=period,
            type=service_type,
            protect=protect,
            location=SourceLocation(file=self.filename, line=key.mark.line, column=key.mark.column),
            mode=mode,
        )

    def _name(self, key: ScalarNode, field: _Field | None) -> str | None:
        if len(key.value) > MAX_NAME_LENGTH:
            self.problem(
                key.mark,
                f"service key {shown(key.value)} is {len(key.value)} characters long",
                f"a service key or name has at most {MAX_NAME_LENGTH} characters",
            )
            return None
        if field is None:
            if _SPACE.search(key.value):
                self.problem(
                    key.mark,
                    f"service name {shown(key.value)} holds a space",
                    "if the key is a label, give the service's name with `name:` under it "
                    "(and `type:` to tell services of the same name apart)",
                )
                return None
            return key.value
        name = self._text_value(field, "name", "the service's name (resource.name on the API)")
        if name is None:
            return None
        mark = _mark_of(field.value)
        if not name:
            self.problem(
                mark,
                "`name` is empty",
                "write the service's name as the API shows it (resource.name), e.g. "
                "www.example.com",
            )
            return None
        if _SPACE.search(name):
            self.problem(
                mark,
                f"service name {shown(name)} holds a space",
                "write the service's name as the API shows it (resource.name), e.g. "
                "www.example.com",
            )
            return None
        if len(name) > MAX_NAME_LENGTH:
            self.problem(
                mark,
                f"service name {shown(name)} is {len(name)} characters long",
                f"a service name has at most {MAX_NAME_LENGTH} characters",
            )
            return None
        return name

    def _lifecycle(
        self, key: ScalarNode, field: _Field | None, *, reported: bool
    ) -> Lifecycle | None:
        if field is None:
            if reported:  # a misspelt `lifecycle` key was reported with the fix
                return None
            self.problem(
                key.mark,
                f"service {shown(key.value)} has no lifecycle",
                f"add `lifecycle:` under it: {_listed(LIFECYCLES, 'or')}",
            )
            return None
        text = self._text_value(field, "lifecycle", _LIFECYCLES_LISTED)
        if text is None:
            return None
        if text in LIFECYCLES:
            return Lifecycle(text)
        self.problem(
            _mark_of(field.value),
            f"unknown lifecycle {shown(text)}",
            f"expected {_LIFECYCLES_LISTED}",
        )
        return None

    def _mode(self, field: _Field | None, lifecycle: Lifecycle | None) -> RenewMode | None:
        """``automatic`` or ``manual``, for lifecycle renew only (None: not written)."""
        if field is None:
            return None
        text = self._text_value(field, "mode", _MODES_LISTED)
        if text is None:
            return None
        if text not in RENEW_MODES:
            close = _closest(text, RENEW_MODES)
            self.problem(
                _mark_of(field.value),
                f"unknown renewal mode {shown(text)}",
                (f"did you mean {close}? " if close else "") + f"expected {_MODES_LISTED}",
            )
            return None
        if lifecycle is not None and lifecycle is not Lifecycle.RENEW:
            self.problem(
                field.key.mark,
                f"`mode` applies to lifecycle renew only, not {lifecycle.value}",
                "remove `mode:`: a service that is not renewed has no renewal mode",
            )
            return None
        return RenewMode(text)

    def _period(self, field: _Field | None, lifecycle: Lifecycle | None) -> str | None:
        if field is None:
            return None
        resolved = _resolved(field.value)
        if resolved is not None and resolved.kind is ScalarKind.INT:
            months = resolved.value
            fix = f"write P{months}M" if isinstance(months, int) and 0 < months <= 120 else None
            self.problem(
                _mark_of(field.value),
                f"`period` must be an ISO 8601 duration, not {_describe(field.value)}",
                fix or "write a period in months, from P1M to P120M (e.g. P12M)",
            )
            return None
        text = self._text_value(field, "period", "an ISO 8601 duration in months, e.g. P12M")
        if text is None:
            return None
        try:
            period = _canonical_period(text)
        except InvalidPeriod as invalid:
            self.problem(_mark_of(field.value), invalid.message, invalid.fix)
            return None
        if lifecycle is not None and lifecycle is not Lifecycle.RENEW:
            self.problem(
                field.key.mark,
                f"`period` applies to lifecycle renew only, not {lifecycle.value}",
                "remove `period:`: a service that is not renewed has no renewal period",
            )
            return None
        return period

    def _type(self, field: _Field | None, lifecycle: Lifecycle | None) -> str | None:
        if field is None:
            return None
        text = self._text_value(field, "type", "a route prefix such as hosting/web or domain")
        if text is None:
            return None
        mark = _mark_of(field.value)
        problem = _type_problem(text)
        if problem is not None:
            self.problem(mark, *problem)
            return None
        if lifecycle is Lifecycle.DELETE_NOW and family_of(text) is not ProductFamily.WEB_HOSTING:
            self.problem(
                mark,
                f"delete_now is for web hosting only, and this service's type is {text} "
                "(rule delete-now-web-hosting-only)",
                "use lifecycle terminate_at_expiry for other services; only a web hosting "
                "(type hosting/web) can be deleted before its expiry",
            )
            return None
        return text

    def _protect(self, field: _Field | None, lifecycle: Lifecycle | None) -> bool:
        if field is None:
            return False
        value = field.value
        resolved = _resolved(value)
        if resolved is not None and resolved.kind is ScalarKind.BOOL:
            protect = bool(resolved.value)
            if protect and lifecycle is Lifecycle.DELETE_NOW:
                self.problem(
                    _mark_of(value),
                    "`protect: true` contradicts lifecycle delete_now",
                    "remove `protect: true` to delete this service, or choose lifecycle renew",
                )
            return protect
        if resolved is not None and resolved.kind is ScalarKind.YAML11_BOOL:
            self.problem(
                _mark_of(value),
                f"`protect: {_text(value)}` is ambiguous: YAML 1.1 reads it as a boolean, "
                "YAML 1.2 as a string",
                "write `protect: true` or `protect: false`",
            )
        elif resolved is not None and resolved.kind is ScalarKind.STR and not _is_plain(value):
            self.problem(
                _mark_of(value),
                f"`protect` must be true or false, not {_describe(value)}",
                f"remove the quotes: `protect: {_text(value).strip().lower()}`"
                if _text(value).strip().lower() in ("true", "false")
                else "write `protect: true` or `protect: false`",
            )
        else:
            self.problem(
                _mark_of(value),
                f"`protect` must be true or false, not {_describe(value)}",
                "write `protect: true` or `protect: false`",
            )
        return False

    def _text_value(self, field: _Field, name: str, expected: str) -> str | None:
        """The text of a field that holds a word (any non-empty scalar), or a problem."""
        value = field.value
        if isinstance(value, ScalarNode) and not _is_null(value):
            return value.value
        if isinstance(value, AliasNode):
            return None  # already refused where it stands
        empty = _is_null(value)
        self.problem(
            field.key.mark if empty else _mark_of(value),
            f"`{name}` is empty" if empty else f"`{name}` must be a value, not {_describe(value)}",
            f"write {expected}",
        )
        return None

    def _unique_names(self, services: list[ServiceSpec]) -> None:
        """A name may appear on several services only with a distinct `type` on each: a
        domain and the web hosting named after it share a name, and `type` tells them
        apart; without it the spec would not say which one it means."""
        by_name: dict[str, list[ServiceSpec]] = {}
        for service in services:
            by_name.setdefault(service.name, []).append(service)
        for name, same in by_name.items():
            if len(same) < 2:
                continue
            first_by_type: dict[str | None, ServiceSpec] = {}
            for service in same:
                location = service.location or SourceLocation(file=self.filename, line=1, column=1)
                mark = Mark(location.line, location.column)
                first = first_by_type.get(service.type)
                if first is not None:
                    typed = f" and type {service.type}" if service.type else ""
                    self.problem(
                        mark,
                        f"service {shown(service.key)} is the same service as "
                        f"{shown(first.key)} (line {_line(first)}): name {shown(name)}{typed}",
                        "remove one of them, or give each a distinct `type` "
                        "(e.g. hosting/web and domain)",
                    )
                    continue
                first_by_type[service.type] = service
                if service.type is None:
                    others = ", ".join(shown(s.key) for s in same if s is not service)
                    self.problem(
                        mark,
                        f"name {shown(name)} is used by several services ({others} too), "
                        "and this one has no `type`",
                        "add `type:` (e.g. hosting/web or domain) so that it names one service",
                    )


# --- helpers ------------------------------------------------------------------------------


def _resolved(node: Node) -> Resolved | None:
    return resolve_scalar(node) if isinstance(node, ScalarNode) else None


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and resolve_scalar(node).kind is ScalarKind.NULL


def _is_plain(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.plain


def _text(node: Node) -> str:
    return node.value if isinstance(node, ScalarNode) else ""


def _mark_of(node: Node) -> Mark:
    return node.mark


def _line(service: ServiceSpec) -> int:
    return service.location.line if service.location else 1


def _describe(node: Node) -> str:
    """What a node is, in a user's words: "a list", "the string 'yes'", "the number 2"."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, AliasNode):
        return "an alias"
    resolved = resolve_scalar(node)
    if resolved.kind is ScalarKind.NULL:
        return "an empty value"
    if resolved.kind is ScalarKind.STR:
        return f"the string {shown(node.value)}"
    if resolved.kind in (ScalarKind.INT, ScalarKind.FLOAT):
        return f"the number {shown(node.value)[1:-1]}"
    return f"the {resolved.kind.value} {shown(node.value)[1:-1]}"


def _listed(choices: Iterable[str], last: str = "and") -> str:
    items = list(choices)
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


_LIFECYCLES_LISTED = _listed(LIFECYCLES, "or")
_MODES_LISTED = _listed(RENEW_MODES, "or")


def _closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` was most likely meant to be (a typo, another case), if any."""
    if len(word) > 100:
        return None
    by_lower = {choice.lower(): choice for choice in choices}
    if word.lower() in by_lower:
        return by_lower[word.lower()]
    found = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.75)
    return by_lower[found[0]] if found else None


@functools.lru_cache(maxsize=256)
def _canonical_period(text: str) -> str:
    """``text`` if it is a canonical period; raises ``InvalidPeriod`` (a spec repeats the
    same few periods thousands of times, hence the cache)."""
    return str(parse_period(text, strict=True))


def _looks_like_a_service(key: str, value: Node) -> bool:
    """A top-level entry that was meant to be under `services:`: a dotted name holding
    service fields."""
    if "." not in key or not isinstance(value, MappingNode):
        return False
    inner = {k.value for k, _ in value.pairs if isinstance(k, ScalarNode)}
    return bool(inner & set(SERVICE_KEYS))


def _credential_variable(key: str) -> str | None:
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


def _type_problem(text: str) -> tuple[str, str] | None:
    """Why ``text`` is not a service type (a route prefix such as ``hosting/web``), with
    the fix, or None when it is one."""
    example = "a route prefix such as hosting/web, domain, vps or dedicated/server"
    if len(text) > _MAX_TYPE_LENGTH:
        return f"type {shown(text)} is too long to be a route prefix", f"write {example}"
    if text in _KNOWN_TYPE_SET:
        return None
    by_lower = _KNOWN_TYPES_BY_LOWER
    stripped = text.strip().strip("/")
    if stripped != text and (_TYPE_SHAPE.fullmatch(stripped) or stripped.lower() in by_lower):
        canonical = by_lower.get(stripped.lower(), stripped)
        return (
            f"type {shown(text)} is written with slashes or spaces around it",
            f"write {canonical}",
        )
    if text.lower() in by_lower:
        return f"type {shown(text)} is not written as the API writes it", (
            f"write {by_lower[text.lower()]}"
        )
    if not _TYPE_SHAPE.fullmatch(text):
        if "{" in text or "." in text or text.count("/") > 3:
            return (
                f"type {shown(text)} is a path, not a route prefix",
                "write the product's route prefix only, e.g. hosting/web",
            )
        return f"type {shown(text)} is not a route prefix", f"write {example}"
    typo = [known for known in KNOWN_TYPES if len(text) >= 5 and _one_edit_apart(text, known)]
    if typo:
        return f"unknown type {shown(text)}", f"did you mean {typo[0]}?"
    return None


def _one_edit_apart(a: str, b: str) -> bool:
    """Whether one insertion, deletion, substitution or swap of neighbours turns ``a``
    into ``b`` (and ``a != b``)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    start = 0
    while start < len(a) and a[start] == b[start]:
        start += 1
    if len(a) == len(b):
        if a[start + 1 :] == b[start + 1 :]:
            return True  # one substitution
        swapped = start + 1 < len(a) and a[start] == b[start + 1] and a[start + 1] == b[start]
        return swapped and a[start + 2 :] == b[start + 2 :]
    return a[start:] == b[start + 1 :]  # one insertion into a


# --- writing a spec -----------------------------------------------------------------------


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
        if service.protect:
            entry["protect"] = True
        services[service.key] = entry
    document = {
        "version": spec.version,
        "endpoint": spec.endpoint,
        "unmanaged": spec.unmanaged.value,
        "services": services,
    }
    return yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True, width=1_000_000, default_flow_style=False
    )
