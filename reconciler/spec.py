"""The spec: what should become of each service (DESIGN §2, "Spec format (version 1)").

Public values (immutable): ``Spec``, ``ServiceSpec``, ``Lifecycle``, ``UnmanagedPolicy``,
``SourceLocation``. ``load_spec(path)`` / ``parse_spec(data, filename)`` read a YAML
file and return a ``Spec`` or raise ``SpecError`` listing every problem of the file with
its line and column.

A service is named by its key; two live services may share a name (a domain and the
web hosting named after it), so a spec may give ``name:`` explicitly and use the key as a
label, with ``type:`` telling which one is meant.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Lifecycle(StrEnum):
    RENEW = "renew"
    TERMINATE_AT_EXPIRY = "terminate_at_expiry"
    DELETE_NOW = "delete_now"


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


class Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    endpoint: str = "sandbox"
    unmanaged: UnmanagedPolicy = UnmanagedPolicy.REPORT
    services: tuple[ServiceSpec, ...] = ()
    source: str = "<memory>"  # file name the spec was read from
    digest: str = ""  # "sha256:<hex>" of the file's bytes
