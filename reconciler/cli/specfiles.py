"""Which of the files named on a command line are specs.

Pulumi keeps its stack settings beside the specs (``stackConfigDir: stacks``), named
``Pulumi.<stack>.yaml``; ``reconciler plan stacks/*.yaml`` must plan the specs there, not
fail on Pulumi's files. They are skipped with a note; naming only Pulumi files is a
usage error. Pure and offline (``validate`` imports it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import PurePath

from reconciler.errors import UsageError

PULUMI_STACK_FILE = re.compile(r"^Pulumi\.[^/\\]+\.ya?ml$")


def is_pulumi_stack_file(path: str) -> bool:
    return bool(PULUMI_STACK_FILE.match(PurePath(path).name))


def spec_files(paths: Sequence[str], note: Callable[[str], None]) -> list[str]:
    """``paths`` without Pulumi's stack settings files (each skipped with a note)."""
    kept = [path for path in paths if not is_pulumi_stack_file(path)]
    skipped = [path for path in paths if is_pulumi_stack_file(path)]
    if skipped:
        note(
            f"note: skipped {', '.join(skipped)}: Pulumi stack settings, not a spec "
            "(they name their spec with `reconciler:spec`)"
        )
    if not kept:
        raise UsageError(
            "no spec among the files given: only Pulumi stack settings",
            hint="name the spec files, e.g. `reconciler plan stacks/prod.yaml`",
        )
    return kept
