"""The routes the sandbox serves, as OVH writes them: ``(method, template)`` pairs.

One adapter over the sandbox's route table (``reconciler.sandbox.urls.API_ROUTES``,
each route with its method and template), so that the conformance tests do not depend
on how the sandbox stores it.
"""

from __future__ import annotations

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
    from reconciler.sandbox.urls import API_ROUTES

    return tuple(sorted({ServedRoute(r.method, r.template) for r in API_ROUTES}))
