"""Apply a plan in process, as ``reconciler apply`` does after its approval: the one
call the apply, GitOps and reliability tests make (they used to spell out every
argument of ``apply_approved`` each time, with a made-up digest of their own).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from reconciler.apply import ApplyOptions, ApplyReport, apply_approved
from reconciler.core.plan import Plan
from reconciler.ovh.client import OvhClient

# No plan file is saved in process: the journal records this digest for the run.
IN_PROCESS_DIGEST = "sha256:" + "0" * 64


async def apply_in_process(
    plan: Plan,
    client: OvhClient,
    journal: Path,
    *,
    sleep: Callable[[float], Awaitable[None]],
    options: ApplyOptions | None = None,
    source: str = "spec.yaml",
    **more: Any,
) -> ApplyReport:
    """Apply ``plan`` with ``client``, journalled in ``journal``; ``more`` goes on to
    ``apply_approved`` as it is (a clock, prompts)."""
    return await apply_approved(
        plan,
        client,
        journal_path=journal,
        plan_digest=IN_PROCESS_DIGEST,
        source=source,
        options=options or ApplyOptions(),
        sleep=sleep,
        **more,
    )
