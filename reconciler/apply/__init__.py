"""Apply: the product's hands (docs/user-guide.md, "Applying"; docs/journal.md).

Apply never does what the spec and the rules do not call for, and never loses track of
what it did. The pieces:

- ``reconciler.core.approval`` (pure, re-exported here): judges the approved (or saved)
  plan against the plan made again at apply time — refused, stale, altered, or approved;
- ``reconciler.core.steps`` (pure): the planned calls as typed steps whose effect can be
  checked on the account;
- ``session``: the edge — journal before and after every mutating call, ambiguous
  failures settled by re-reading, never a blind second send;
- ``executor``: every action concurrently, each re-read just before its first call;
- ``deletion`` and ``mailbox``: ``delete_now`` through the e-mailed token, resumable;
- ``run``: one run start to end (``apply_approved``).

The journal itself is ``reconciler.journal``; the command is ``reconciler.cli.apply``.
"""

from reconciler.apply.results import (
    ActionResult,
    ActionStatus,
    ApplyOptions,
    ApplyReport,
    Reporter,
    SilentReporter,
)
from reconciler.apply.run import apply_approved, new_run_id, spec_of_plan
from reconciler.core.approval import Verdict, judge
from reconciler.core.plan import Refusal

__all__ = [
    "ActionResult",
    "ActionStatus",
    "ApplyOptions",
    "ApplyReport",
    "Refusal",
    "Reporter",
    "SilentReporter",
    "Verdict",
    "apply_approved",
    "judge",
    "new_run_id",
    "spec_of_plan",
]
