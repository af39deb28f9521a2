"""The routes the sandbox serves, as OVH writes them: ``(method, template)`` pairs.

One adapter over the sandbox's route table, so that the conformance tests do not depend
on how the sandbox stores it. Today the table is ``reconciler.sandbox.app.API_ROUTES``,
whose routes hold compiled patterns; the template is read back from each pattern. When
the table moves to ``reconciler.sandbox.urls.API_ROUTES`` (routes with ``.method`` and
``.template``), ``served_routes`` becomes the one line noted in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

API_PREFIX = "/1.0"


@dataclass(frozen=True, slots=True, order=True)
class ServedRoute:
    method: str
    template: str  # relative to /1.0, variables in braces: /services/{id}/terminate

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


def served_routes() -> tuple[ServedRoute, ...]:
    """Every ``/1.0`` route and method the sandbox serves (admin routes are not API)."""
    from reconciler.sandbox.app import API_ROUTES

    # Once the table is reconciler.sandbox.urls.API_ROUTES:
    #   return tuple(sorted({ServedRoute(r.method, r.template) for r in API_ROUTES}))
    return tuple(sorted({ServedRoute(r.method, template_of(r.pattern)) for r in API_ROUTES}))


_GROUP = re.compile(r"\(\?P<(\w+)>\[\^/\]\+\)")


def template_of(pattern: re.Pattern[str]) -> str:
    """``/services/(?P<id>[^/]+)/options\\Z`` -> ``/services/{id}/options``."""
    text = _GROUP.sub(lambda found: "{" + found.group(1) + "}", pattern.pattern)
    text = text.removesuffix(r"\Z").removesuffix("$")
    template = re.sub(r"\\(.)", r"\1", text)
    if not re.fullmatch(r"(/[\w.\-]+|/\{\w+\})+", template):
        raise ValueError(f"cannot read a template back from the pattern {pattern.pattern!r}")
    return template
