"""Where the sandbox's answers differ from OVH's schemas today: the to-do list.

Each ``Divergence`` names the operations and the fields (a pattern over
``Violation.field``, list positions written ``[]``) of one difference, and says what
differs. The plugin (``plugin.py``) lets the suite pass over these — and over these
only — so that one known gap does not fail every test that reads a service; every
other violation fails the test that caused it. ``test_sandbox_answers.py`` keeps each
entry honest with a ``strict`` xfail: it fails once the difference is gone, until its
entry is removed here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conformance.middleware import Finding
from conformance.model import Violation

_EXPANDED = (
    "GET /services",
    "GET /services/{serviceId}",
    "GET /services/{serviceId}/options",
)


@dataclass(frozen=True, slots=True)
class Divergence:
    id: str
    reason: str  # what differs, for the xfail and the report
    kind: str  # the Finding kind: answer | body | route | path | error
    operations: tuple[str, ...]  # "GET /services/{serviceId}" (OVH's templates)
    fields: str  # a regular expression, matched in full against Violation.field

    def explains(self, finding: Finding, violation: Violation) -> bool:
        return (
            finding.kind == self.kind
            and finding.operation in self.operations
            and re.fullmatch(self.fields, violation.field) is not None
        )


KNOWN_DIVERGENCES: tuple[Divergence, ...] = (
    Divergence(
        id="engagement-end-date",
        reason=(
            "billing.engagement.endDate is a datetime; services.expanded.EngagementSummary "
            "has a date (YYYY-MM-DD)"
        ),
        kind="answer",
        operations=_EXPANDED,
        fields=r"(\[\]\.)?billing\.engagement\.endDate",
    ),
    Divergence(
        id="me-fields",
        reason="GET /me lacks legalform and ovhCompany, which nichandle.Nichandle says "
        "cannot be null",
        kind="answer",
        operations=("GET /me",),
        fields=r"legalform|ovhCompany",
    ),
)


def explained(finding: Finding, violation: Violation) -> Divergence | None:
    """The known divergence behind one violation of a finding, if any."""
    return next((d for d in KNOWN_DIVERGENCES if d.explains(finding, violation)), None)
