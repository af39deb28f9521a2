"""The plan as JSON: the plan file format itself (``docs/plan-format.md``).

``render(plan)`` is exactly what ``reconciler plan --out`` saves (``planfile.dump_plan``):
what a script reads on stdout and what apply reads from a file never differ.
Several plans (one per spec file) are written as a JSON array of plans, in the order
the specs were given; each plan names its spec in ``spec_source``.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.core.plan import Plan
from reconciler.core.planfile import dump_plan, dump_plans


def render(plan: Plan) -> str:
    """The plan file's text: stable key order, UTC datetimes with ``Z``, final newline."""
    return dump_plan(plan)


def render_many(plans: Sequence[Plan]) -> str:
    """One plan as itself; several as a JSON array of plans."""
    if len(plans) == 1:
        return render(plans[0])
    return dump_plans(plans)
