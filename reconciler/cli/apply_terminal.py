"""How ``apply`` talks to the person (or the CI log) in front of it: the I/O protocol the
command and its tests drive, the real terminal, the progress views, and the lines it
prints (docs/user-guide.md, "Applying", shows them). No decision is taken here."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from datetime import tzinfo
from typing import Protocol

import click

from reconciler.apply import ActionResult, ActionStatus, ApplyReport, Refusal, Reporter
from reconciler.core.plan import Action
from reconciler.render.wording import clean, refusal_words


class ApplyIO(Protocol):
    """Everything the command says and asks (tests drive it)."""

    def interactive(self) -> bool:
        """Whether a human can answer questions (stdin and stdout are a terminal)."""
        ...

    def ask(self, question: str) -> str | None:
        """The answer typed, or None at end of input."""
        ...

    def out(self, text: str) -> None: ...

    def note(self, text: str) -> None:
        """A line on stderr."""
        ...

    def progress(self) -> ProgressView: ...


class ProgressView(Reporter, Protocol):
    def __enter__(self) -> ProgressView: ...

    def __exit__(self, *exc: object) -> None: ...


class TerminalIO:
    """The real terminal (or pipes): click for output, stdin for answers. With
    ``to_stderr`` (``--format json``: stdout holds the report alone) the plan, the
    questions and the progress go to stderr, and the terminal asked about is stderr's."""

    def __init__(self, *, to_stderr: bool = False) -> None:
        self.to_stderr = to_stderr

    def interactive(self) -> bool:
        shown = sys.stderr if self.to_stderr else sys.stdout
        return sys.stdin.isatty() and shown.isatty()

    def ask(self, question: str) -> str | None:
        click.echo(question, nl=False, err=self.to_stderr)
        line = sys.stdin.readline()
        return None if not line else line.rstrip("\r\n")

    def out(self, text: str) -> None:
        # ANSI codes are in the text only when colour was chosen (use_color): keep them,
        # where click would strip them from anything but a terminal.
        click.echo(text, color=True, err=self.to_stderr)

    def note(self, text: str) -> None:
        click.echo(text, err=True)

    def progress(self) -> ProgressView:
        if not self.to_stderr and sys.stdout.isatty() and os.environ.get("TERM", "") != "dumb":
            return RichProgress()
        return LineProgress(self.out)


def others_text(report: ApplyReport) -> str:
    """What became of the actions that did not fail, for the failure's one line: nothing
    when every action failed (none was applied to speak of)."""
    done, already = report.count(ActionStatus.DONE), report.count(ActionStatus.SKIPPED)
    if not done + already:
        return ""
    was = "were" if done + already > 1 else "was"
    other = "others" if done + already > 1 else "other"
    if done and already:
        return f"; the {other} {was} applied or already as wanted"
    return f"; the {other} {was} " + ("applied" if done else "already as wanted")


def count_text(changes: Sequence[Action]) -> str:
    return f"{len(changes)} change{'s' * (len(changes) != 1)}"


def outcome_line(result: ActionResult) -> str:
    action = result.action
    where = f" (#{action.service_id})" if action.service_id is not None else ""
    what = action.action.headline
    tail = result.error if result.status is ActionStatus.FAILED else result.summary
    label = {
        ActionStatus.DONE: "done",
        ActionStatus.SKIPPED: "skipped",
        ActionStatus.FAILED: "FAILED",
    }[result.status]
    return f"{label:<7} {clean(action.service)}{where}: {what}: {clean(tail or '')}"


def refusal_text(refusal: Refusal, zone: tzinfo | None = None) -> str:
    """A refusal met at apply time, its dates in the display ``zone`` (``--tz``)."""
    where = f" (#{refusal.service_id})" if refusal.service_id is not None else ""
    message, fix = refusal_words(refusal, zone)
    return (
        f"  x {clean(refusal.service)}{where} [{refusal.rule}]\n"
        f"      {clean(message)}\n"
        f"      fix: {clean(fix)}"
    )


def summary_text(report: ApplyReport) -> str:
    done = report.count(ActionStatus.DONE)
    skipped = report.count(ActionStatus.SKIPPED) + len(report.already_done)
    failed = report.count(ActionStatus.FAILED)
    head = "Apply complete" if not failed else "Apply finished with failures"
    if not report.results:
        return (
            f"Nothing left to apply: {skipped} change{'s' * (skipped != 1)} already made. "
            "The account matches the plan."
        )
    return (
        f"{head}: {done} done, {skipped} already as wanted, {failed} failed "
        f"(run {report.run}; journal {report.journal})."
    )


class LineProgress:
    """CI logs: one line per action with its outcome (and a line per wait)."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self._echo = echo

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def action_started(self, action: Action) -> None:
        pass

    def action_note(self, action: Action, note: str) -> None:
        self._echo(f"...     {clean(action.service)}: {clean(note)}")

    def action_finished(self, result: ActionResult) -> None:
        self._echo(outcome_line(result))


class RichProgress:
    """A terminal: a live bar of the actions, each outcome printed above it."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(highlight=False),
            transient=True,
        )
        self._task = self._progress.add_task("applying", total=0)
        self._total = 0

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def action_started(self, action: Action) -> None:
        self._total += 1
        self._progress.update(self._task, total=self._total)

    def action_note(self, action: Action, note: str) -> None:
        self._progress.update(self._task, description=f"{clean(action.service)}: {clean(note)}")

    def action_finished(self, result: ActionResult) -> None:
        self._progress.console.print(outcome_line(result), markup=False)
        self._progress.update(self._task, advance=1, description="applying")
