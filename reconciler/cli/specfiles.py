"""Which of the files named on a command line are specs.

Pulumi keeps its stack settings beside the specs (``stackConfigDir: stacks``), named
``Pulumi.<stack>.yaml``; ``reconciler plan stacks/*.yaml`` must plan the specs there, not
fail on Pulumi's files. They are skipped with a note; naming only Pulumi files is a
usage error.

``-`` is standard input for every command that reads a spec, read here alone
(``read_spec``), so that ``plan -``, ``validate -`` and ``apply - --auto-approve`` read
it alike and its problems all name ``<stdin>:line:col``. Offline (``validate`` imports
it).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING

from reconciler.errors import SpecError, SpecProblem, UsageError

if TYPE_CHECKING:
    from reconciler.core.spec import Spec

PULUMI_STACK_FILE = re.compile(r"^Pulumi\.[^/\\]+\.ya?ml$")
STDIN = "-"  # the spec is read from standard input
STDIN_NAME = "<stdin>"  # its name in messages and in Spec.source


def is_pulumi_stack_file(path: str) -> bool:
    return bool(PULUMI_STACK_FILE.match(PurePath(path).name))


def spec_files(paths: Sequence[str], note: Callable[[str], None]) -> list[str]:
    """``paths`` without Pulumi's stack settings files (each skipped with a note)."""
    if sum(1 for path in paths if path == STDIN) > 1:
        # Standard input is read once: a second '-' would be an empty spec.
        raise UsageError(
            "'-' is given more than once: standard input holds one spec",
            hint="give '-' once; name the other specs by their files",
        )
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


def is_stdin(path: str | os.PathLike[str]) -> bool:
    return os.fspath(path) == STDIN


def spec_name(path: str | os.PathLike[str]) -> str:
    """How messages name the spec at ``path``: ``<stdin>`` for ``-``, as its problems
    and ``Spec.source`` do."""
    return STDIN_NAME if is_stdin(path) else os.fspath(path)


def is_stdin_name(source: str) -> bool:
    """Whether a spec's ``source`` (a plan's ``spec_source``) is standard input."""
    return source == STDIN_NAME


def read_spec(path: str | os.PathLike[str]) -> Spec:
    """The spec at ``path``, or at ``-`` the one on standard input (named ``<stdin>``).
    Raises ``SpecError``, as ``load_spec`` does for a file."""
    # Imported here: the spec's models are most of the start-up (``plan`` loads them in
    # a thread while its first reads are on their way).
    from reconciler.core.spec import MAX_SPEC_BYTES, load_spec, parse_spec

    if not is_stdin(path):
        return load_spec(path)
    try:
        # One byte over the limit is enough for parse_spec to refuse it; never read more.
        data = sys.stdin.buffer.read(MAX_SPEC_BYTES + 1)
    except (OSError, ValueError, AttributeError) as error:  # closed or absent stdin
        reason = getattr(error, "strerror", None) or "standard input is not readable"
        raise SpecError(
            [
                SpecProblem(
                    STDIN_NAME,
                    1,
                    1,
                    f"cannot read the spec: {reason}",
                    "pipe a spec into the command, or give the spec file's path",
                )
            ],
            hint="check what is piped into the command",
        ) from None
    return parse_spec(data, STDIN_NAME)
