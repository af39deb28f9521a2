"""``reconciler apply SPEC...|PLAN``: show the plan, have it approved, apply it safely
(docs/user-guide.md, "Applying", says what the user sees; "The trust chain" why a
saved plan is held to the spec at hand).

The command's contract, each step in its own function:

- every SPEC and every option naming entries is checked before anything is read; then
  each spec is planned, shown, approved and applied in a journal run of its own before
  the next is planned, and the first spec refused, failed or cancelled stops the
  command with its exit code (``run_applies``); a saved plan is applied alone
  (``refuse_mixed``) and only after ``reconciler.core.trust`` accepts it, before any
  request;
- approval: every immediate deletion typed back then ``yes`` on a terminal,
  ``--auto-approve`` in CD, refused otherwise; nothing is sent unapproved;
- ``reconciler.apply.apply_approved`` then re-reads, judges again with the API's clock
  and executes under the journal's lock (``reconciler.journal.ApplyLock``), so that
  two applies never send the same calls;
- exit codes: 0 done or nothing to do, 3 refused (nothing applied), 130 interrupted,
  1 anything else (``--format json``: the same codes, the report on stdout).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.apply import (
    ApplyOptions,
    ApplyReport,
    Refusal,
    Reporter,
    Verdict,
    apply_approved,
)
from reconciler.apply.results import DEFAULT_MAX_READ_AGE, DEFAULT_TOKEN_TIMEOUT
from reconciler.cli import apply_report, command_secrets
from reconciler.cli.apply_report import ApplyEnd
from reconciler.cli.apply_terminal import (
    ApplyIO,
    TerminalIO,
    count_text,
    others_text,
    refusal_text,
    summary_text,
)
from reconciler.cli.common import (
    Target,
    build_client,
    concurrency_option,
    journal_command,
    journal_for,
    run,
    spec_endpoint_option,
    target_for_spec,
    use_color,
)
from reconciler.cli.display import tz_option, zone_of
from reconciler.cli.options import TIMEOUT, OneLineUsageCommand, format_option, journal_option
from reconciler.cli.plan import TARGET_WARNING, Job, plan_all, target_option, targets_of
from reconciler.cli.show import is_plan_file, read_plan_file
from reconciler.cli.specfiles import STDIN_NAME, is_stdin, read_spec, spec_files, spec_name
from reconciler.cli.tokens import TOKEN_ENV, gather_tokens
from reconciler.cli.tokens import WARNING as TOKEN_WARNING
from reconciler.core.approval import refusals_of, refused_error
from reconciler.core.plan import ActionKind, Plan
from reconciler.core.planfile import dump_plan
from reconciler.core.spec import Spec, UnmanagedPolicy
from reconciler.core.trust import EndpointAtHand, SpecAtHand, check_trust
from reconciler.errors import (
    ApplyError,
    Interrupted,
    ReconcilerError,
    UsageError,
)
from reconciler.journal import ApplyLock, ensure_writable
from reconciler.render import text as text_render
from reconciler.render.wording import clean

if TYPE_CHECKING:
    from reconciler.journal.records import Record


# --- what the command is asked ------------------------------------------


@dataclass(frozen=True, slots=True)
class ApplyRequest:
    target: Path
    auto_approve: bool = False
    tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    token_timeout: timedelta = DEFAULT_TOKEN_TIMEOUT
    request_again: frozenset[str] = frozenset()  # --request-again: a lost e-mail's way out
    journal: Path | None = None
    color: bool | None = None
    endpoint: str | None = None
    concurrency: int = 10
    lock_timeout: timedelta = timedelta(0)
    max_read_age: timedelta = DEFAULT_MAX_READ_AGE  # --max-read-age
    spec: Path | None = None  # the spec a saved plan is held to (default: its spec_source)
    targets: tuple[str, ...] = ()  # --target: the only entries of SPEC planned and applied
    # Several specs: this spec's share of --target, already checked against them all
    # (a name may be another spec's entry). None: ``targets`` is this spec's alone.
    entries: frozenset[str] | None = None
    # Several specs: the spec as read when they were all checked (standard input is
    # read once). None: read from ``target`` when it is applied.
    read: Spec | None = None
    zone: tzinfo | None = None  # --tz: the plan's dates shown there (None: UTC); words only
    output_format: str = "text"  # json: the report on stdout, the rest on stderr


# --- the command -------------------------------------------------------------------------


@click.command(cls=OneLineUsageCommand)
@click.argument(
    "files",
    nargs=-1,
    required=True,
    metavar="SPEC...|PLAN",
    type=click.Path(dir_okay=False),
)
@click.option(
    "--auto-approve",
    is_flag=True,
    help="Apply without asking (CD). Without it, apply asks on a terminal and refuses elsewhere.",
)
@click.option(
    "--token",
    "tokens",
    multiple=True,
    metavar="NAME=@FILE",
    help="Confirm the deletion of NAME with the token in FILE (from its confirmTerminate "
    "e-mail) instead of requesting one. Repeatable. NAME=TOKEN works too, but leaves the "
    "token in the command line.",
)
@click.option(
    "--token-file",
    "token_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help=f"Tokens of deletions, one NAME=TOKEN a line (# comments). Also: {TOKEN_ENV}.",
)
@click.option(
    "--token-timeout",
    default="30min",
    show_default=True,
    type=TIMEOUT,
    metavar="DURATION",
    help="How long to wait for a deletion's confirmation e-mail (e.g. 90s, 30min, 1h, 1d, PT30M).",
)
@click.option(
    "--request-again",
    "request_again",
    multiple=True,
    metavar="NAME",
    help="The confirmation e-mail of NAME's termination request was lost: request the "
    "termination again (once its e-mail was waited for; after the token's 72 h lifetime "
    "apply does so by itself). Repeatable.",
)
@journal_option("The journal to append to.")
@click.option(
    "--lock-timeout",
    default="0s",
    show_default=True,
    type=TIMEOUT,
    metavar="DURATION",
    help="How long to wait for another apply using the same journal to finish (0: fail "
    "at once, naming it).",
)
@click.option(
    "--max-read-age",
    default="10s",
    show_default=True,
    type=TIMEOUT,
    metavar="DURATION",
    help="How old the run's read of the account may be when a reversible call (a termination "
    "at expiry, a renewal, an end rule) is sent on it; older, the service is read again "
    "first. A deletion always reads it again first. 0: read every service again.",
)
@click.option(
    "--spec",
    "spec",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="With a saved PLAN: the spec it must match (default: the spec file the plan names). "
    "The endpoint is this spec's, or --endpoint; never the plan's.",
)
@format_option(
    "text",
    "json",
    help='json: a report of what was done on stdout, for CD (docs/plan-format.md, "The '
    'apply report"); the plan and progress then go to stderr. Same exit codes.',
)
@target_option("Apply")
@tz_option
@spec_endpoint_option
@concurrency_option
def apply(
    files: tuple[str, ...],
    spec: Path | None,
    targets: tuple[str, ...],
    auto_approve: bool,
    tokens: tuple[str, ...],
    token_files: tuple[Path, ...],
    token_timeout: timedelta,
    request_again: tuple[str, ...],
    journal: Path | None,
    lock_timeout: timedelta,
    max_read_age: timedelta,
    output_format: str,
    tz: str | None,
    endpoint: str | None,
    concurrency: int,
) -> None:
    """Apply SPEC (planned now) or a PLAN saved by `reconciler plan --out`.

    Re-reads the account, plans again with the API's clock, refuses a stale or refused
    plan, and applies the rest concurrently, recording every call in the journal.
    Several SPEC files are applied one after the other, in the order given, each
    approved on its own; the first that fails or is refused stops the rest.
    '-' reads a spec from standard input (with --auto-approve: the prompt reads it too).
    """
    zone = zone_of(tz)  # a mistyped zone is refused before anything is read
    paths = [Path(path) for path in spec_files(files, note=lambda line: click.echo(line, err=True))]
    refuse_mixed(paths)
    given = gather_tokens(tokens, token_files, os.environ)
    if given.on_command_line:
        click.echo(TOKEN_WARNING, err=True)
    request = ApplyRequest(
        target=paths[0],
        auto_approve=auto_approve,
        tokens=given.tokens,
        token_timeout=token_timeout,
        request_again=frozenset(request_again),
        journal=journal,
        endpoint=endpoint,
        concurrency=concurrency,
        lock_timeout=lock_timeout,
        max_read_age=max_read_age,
        spec=spec,
        targets=targets,
        zone=zone,
        output_format=output_format,
    )
    if output_format != "json":
        run_applies(request, paths, io=TerminalIO())
        return
    ends: list[ApplyEnd] = []
    try:
        run_applies(request, paths, io=TerminalIO(to_stderr=True), on_end=ends.append)
    finally:
        # Printed before the error line (on stderr) and whatever the exit code: the
        # report of a failed or refused apply matters most. None when apply stopped
        # before it had a plan (a spec error, credentials): stderr says why. Several
        # specs: an array of the reports of the specs that ran, in order (always an
        # array, so that a script reads `apply a.yaml b.yaml` one way).
        reports = [report_of(end) for end in ends]
        if len(paths) == 1:
            for shown in reports:
                click.echo(json.dumps(shown, indent=2, ensure_ascii=False))
        else:
            click.echo(json.dumps(reports, indent=2, ensure_ascii=False))


def refuse_mixed(paths: Sequence[Path]) -> None:
    """A saved plan is applied alone: it was approved as one whole, against one spec."""
    if len(paths) < 2:
        return
    saved = [str(path) for path in paths if not is_stdin(path) and is_plan_file(path)]
    if saved:
        raise UsageError(
            f"{saved[0]} is a saved plan: apply takes one saved plan alone, or spec files "
            f"({len(paths)} files given)",
            hint="apply each saved plan with its own `reconciler apply PLAN`, or name only "
            "spec files",
        )


def run_applies(
    request: ApplyRequest,
    paths: Sequence[Path],
    *,
    io: ApplyIO,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    on_end: Callable[[ApplyEnd], None] | None = None,
) -> list[ApplyReport | None]:
    """``run_apply`` for each of ``paths`` in turn: one spec (or a saved plan) as
    always; several specs each planned, shown under its label, approved and applied
    (one journal run each) before the next is planned, as Terraform applies one
    configuration after another. Every spec and every option is checked first (nothing
    is read before); the first spec that fails, is refused or is cancelled stops the
    command with its error, and the specs after it are neither planned nor applied."""
    if len(paths) == 1:
        return [run_apply(request, io=io, environ=environ, cwd=cwd, on_end=on_end)]
    turns = split_request(request, paths)
    reports: list[ApplyReport | None] = []
    for index, turn in enumerate(turns):
        if index:
            io.out("")
        label = turn.read.source if turn.read is not None else spec_name(turn.target)
        io.out(text_render.section_rule(label, color=use_color(request.color)))
        io.out("")
        try:
            reports.append(run_apply(turn, io=io, environ=environ, cwd=cwd, on_end=on_end))
        except ReconcilerError:
            rest = [spec_name(later.target) for later in turns[index + 1 :]]
            if rest:
                io.note(
                    f"note: stopped at {spec_name(turn.target)}: {', '.join(rest)} not planned nor "
                    "applied (fix it and run apply again: what was applied is not repeated)"
                )
            raise
    return reports


def split_request(request: ApplyRequest, paths: Sequence[Path]) -> list[ApplyRequest]:
    """One request per spec, after checking every spec and option: a spec error, a
    --target, --token or --request-again naming no entry of any spec stops the command
    before the first spec is planned."""
    from dataclasses import replace

    from reconciler.cli.plan import load_specs

    if request.spec is not None:
        raise UsageError(
            f"--spec {request.spec} is for applying a saved plan; spec files are planned now",
            hint="apply the specs alone, or a plan saved by `reconciler plan --out` with --spec",
        )
    for path in paths:
        refuse_stdin_without_auto_approve(path, request)
    specs = load_specs([str(path) for path in paths])
    chosen = targets_of(request.targets, specs)
    names = [{n for w in spec.services for n in (w.key, w.name)} for spec in specs]
    for option, given in (("--token", request.tokens), ("--request-again", request.request_again)):
        for name in given:
            if not any(name in held for held in names):
                shown = f"{option} {name}=..." if option == "--token" else f"{option} {name}"
                raise UsageError(
                    f"{shown}: no spec has an entry named {name!r}",
                    hint=f"{option} is for an immediate deletion of one of the specs",
                )
    return [
        replace(
            request,
            target=path,
            entries=entries if request.targets else None,
            tokens={k: v for k, v in request.tokens.items() if k in held},
            request_again=frozenset(n for n in request.request_again if n in held),
            read=spec,
        )
        for path, spec, entries, held in zip(paths, specs, chosen, names, strict=True)
    ]


def report_of(end: ApplyEnd) -> dict[str, object]:
    """The JSON report of ``end``, with the query ids the journal holds for its run."""
    records: tuple[Record, ...] = ()
    if end.report is not None:
        from reconciler.journal import read_journal

        try:
            records = read_journal(end.report.journal, missing_ok=True).records
        except ReconcilerError:
            records = ()  # a journal damaged since: the report still says what was done
    shown: dict[str, object] = command_secrets().redact_value(apply_report.document(end, records))
    return shown


def run_apply(
    request: ApplyRequest,
    *,
    io: ApplyIO,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    on_end: Callable[[ApplyEnd], None] | None = None,
) -> ApplyReport | None:
    """The command without click: returns the report (None when there was nothing to
    apply) or raises the ``ReconcilerError`` the CLI prints. Once the plan is made or
    read, ``on_end`` is told how the apply ended (``apply --format json`` reports it),
    error or not."""
    environ = os.environ if environ is None else environ
    loaded = load_target(request)
    refusals: list[Refusal] = []
    try:
        report = _run_loaded(loaded, request, io, environ, cwd, refusals)
    except ReconcilerError as caught:
        # A failed action ends the command with its ApplyError, and the run's report
        # still matters (what was done, the query ids): _Failed carries both this far.
        ran, error = (
            (caught.report, caught.error) if isinstance(caught, _Failed) else (None, caught)
        )
        if on_end is not None:
            end = ApplyEnd(
                loaded.plan,
                loaded.source,
                loaded.digest,
                report=ran,
                refusals=tuple(refusals),
                error=error,
            )
            on_end(end)
        raise error from None
    if on_end is not None:
        on_end(ApplyEnd(loaded.plan, loaded.source, loaded.digest, report=report))
    return report


class _Failed(ReconcilerError):
    """Carries a run's report along with the ``ApplyError`` of its failed actions."""

    def __init__(self, error: ApplyError, report: ApplyReport) -> None:
        super().__init__(error.message, hint=error.hint)
        self.error = error
        self.report = report


def _run_loaded(
    loaded: Loaded,
    request: ApplyRequest,
    io: ApplyIO,
    environ: Mapping[str, str],
    cwd: Path | None,
    refusals: list[Refusal],
) -> ApplyReport | None:
    approved = loaded.plan
    if approved.targeted:  # from --target now, or a targeted plan saved
        io.note(TARGET_WARNING)
    shown = text_render.render(approved, color=use_color(request.color), zone=request.zone)
    io.out(shown.rstrip("\n"))
    if approved.refused:
        refusals.extend(refusals_of(approved))
        raise refused_error(refusals_of(approved), loaded.source, zone=request.zone)
    check_tokens(request.tokens, approved)
    check_tokens(dict.fromkeys(request.request_again, ""), approved, option="--request-again")
    if not approved.has_changes:
        return None
    journal = journal_for(loaded.target, request.journal, environ=environ, cwd=cwd)
    ensure_writable(journal)
    confirm(approved, request, io)

    def show_verdict(verdict: Verdict) -> None:
        refusals.extend(verdict.refusals)
        if verdict.refusals:
            io.out("")
            io.out("Refused at apply time: nothing is applied.")
            for refusal in verdict.refusals:
                io.out(refusal_text(refusal, request.zone))

    options = ApplyOptions(
        token_timeout=request.token_timeout,
        tokens=request.tokens,
        request_again=request.request_again,
        max_read_age=request.max_read_age,
    )

    async def execute(progress: Reporter) -> ApplyReport:
        async with build_client(loaded.target, concurrency=request.concurrency) as client:
            return await apply_approved(
                approved,
                client,
                journal_path=journal,
                plan_digest=loaded.digest,
                source=loaded.source,
                unmanaged=loaded.unmanaged,
                options=options,
                reporter=progress,
                on_verdict=show_verdict,
                zone=request.zone,
            )

    io.out("")
    with ApplyLock(journal, timeout=request.lock_timeout.total_seconds()):
        try:
            with io.progress() as progress:
                report = run(execute(progress))
        except KeyboardInterrupt:
            raise Interrupted(
                "apply interrupted: a call already sent may have taken effect (the journal "
                f"{journal} records each one before it is sent)",
                hint="run apply again to finish: it re-reads the account first and never "
                f"repeats what took effect; `{journal_command('--last', journal)}` shows what "
                "was sent",
            ) from None
    io.out("")
    io.out(summary_text(report))
    if report.failed:
        first = report.failed[0]
        count = len(report.failed)
        # Every distinct hint, once: several actions failing for one missing access rule
        # must still name it, and different causes each get their fix.
        hints = list(dict.fromkeys(result.hint for result in report.failed if result.hint))
        failure = ApplyError(
            f"{count} of {len(report.results)} action{'s' * (len(report.results) > 1)} failed "
            f"({first.action.service}: {first.error}"
            + (f"; and {count - 1} more" if count > 1 else "")
            + ")"
            + others_text(report),
            hint="; ".join(
                [
                    *hints,
                    "run apply again to resume (it re-reads first); "
                    f"`{journal_command(f'--run {report.run}', journal)}` shows every call",
                ]
            ),
        )
        raise _Failed(failure, report)
    return report


# --- loading and approving ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Loaded:
    plan: Plan
    target: Target
    source: str
    digest: str  # of the plan applied: the file's bytes, or the plan made from the spec
    unmanaged: UnmanagedPolicy


def refuse_stdin_without_auto_approve(path: Path, request: ApplyRequest) -> None:
    if is_stdin(path) and not request.auto_approve:
        # The questions are answered on standard input: it cannot hold the spec too.
        raise UsageError(
            "apply -: standard input is where the confirmation is typed, so it cannot "
            "also hold the spec; nothing was read or applied",
            hint="give the spec file's path, or pipe the spec with --auto-approve "
            "(`... | reconciler apply - --auto-approve`) after reviewing `reconciler plan -`",
        )


def load_target(request: ApplyRequest) -> Loaded:
    path = request.target
    refuse_stdin_without_auto_approve(path, request)
    if request.spec is not None and is_stdin(request.spec) and not request.auto_approve:
        # As for `apply -`: the confirmation is typed on standard input.
        raise UsageError(
            "--spec -: standard input is where the confirmation is typed, so it cannot "
            "also hold the spec; nothing was read or applied",
            hint="give the spec's path with --spec FILE, or pipe it with --auto-approve "
            f"(`... | reconciler apply {path} --spec - --auto-approve`)",
        )
    if not is_stdin(path) and is_plan_file(path):
        # Read once: the plan applied and the digest the journal names are of the same
        # bytes, whatever happens to the file meanwhile.
        if request.targets:
            raise UsageError(
                f"--target is for planning; {path} is a saved plan, applied as it was made",
                hint="make a targeted plan with `reconciler plan SPEC --target NAME --out "
                "FILE`, or apply the spec with --target",
            )
        raw, plan = read_plan_file(path)
        target = trusted_target(plan, str(path), request)
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        return Loaded(plan, target, str(path), digest, plan.unmanaged_policy)
    if request.spec is not None:
        raise UsageError(
            f"--spec {request.spec} is for applying a saved plan; {path} is a spec, planned now",
            hint="apply the spec alone, or a plan saved by `reconciler plan --out` with --spec",
        )
    spec = request.read if request.read is not None else read_spec(path)  # '-': stdin
    target = target_for_spec(spec, request.endpoint)
    # The journal apply appends to is the one whose evidence the plan is made with.
    (chosen,) = (
        targets_of(request.targets, [spec]) if request.entries is None else [request.entries]
    )
    job = Job(
        spec, target, tokens=frozenset(request.tokens), journal=request.journal, targets=chosen
    )
    (plan,) = run(plan_all([job], request.concurrency))
    digest = "sha256:" + hashlib.sha256(dump_plan(plan).encode("utf-8")).hexdigest()
    return Loaded(plan, target, spec.source, digest, spec.unmanaged)


def trusted_target(plan: Plan, plan_source: str, request: ApplyRequest) -> Target:
    """Where a saved plan is applied: the endpoint the spec at hand names (or
    ``--endpoint``), never the plan's own — once the spec at hand (the plan's
    ``spec_source``, or ``--spec``) and that endpoint hold the plan
    (``reconciler.core.trust``). Refused (``PlanFileError``) before any request."""
    path = request.spec if request.spec is not None else Path(plan.spec_source)
    piped = request.spec is not None and is_stdin(path)  # --spec -: standard input
    spec = read_spec(path) if piped or path.is_file() else None
    target = target_for_spec(spec, request.endpoint) if spec is not None else None
    check_trust(
        plan,
        plan_source,
        SpecAtHand(STDIN_NAME if piped else str(path), spec, given=request.spec is not None),
        EndpointAtHand(target.endpoint, target.source) if target is not None else None,
    ).raise_if_refused()
    assert target is not None  # no spec at hand is a refusal
    return target


def check_tokens(tokens: Mapping[str, str], plan: Plan, *, option: str = "--token") -> None:
    deletions = {
        name
        for action in plan.changes
        if action.action is ActionKind.DELETE_NOW
        for name in (action.service, action.name)
    }
    for name in tokens:
        if name not in deletions:
            listed = ", ".join(sorted(deletions)) or "none"
            shown = f"{option} {name}=..." if option == "--token" else f"{option} {name}"
            raise UsageError(
                f"{shown}: the plan deletes no service named {name!r}",
                hint=f"{option} is for the plan's immediate deletions ({listed})",
            )


def confirm(plan: Plan, request: ApplyRequest, io: ApplyIO) -> None:
    """Approval: ``--auto-approve``, or questions on a terminal; refused otherwise."""
    changes = plan.changes
    if request.auto_approve:
        # Approved, not yet applied: apply re-reads the account and may still refuse.
        io.note(f"note: --auto-approve: {count_text(changes)} approved without confirmation")
        return
    if not io.interactive():
        raise UsageError(
            "no terminal to confirm on, and --auto-approve not given: nothing was applied",
            hint="review the plan above, then run again with --auto-approve (in CD: apply "
            "the reviewed `reconciler plan --out` file with --auto-approve)",
        )
    io.out("")
    for action in changes:
        if action.action is not ActionKind.DELETE_NOW:
            continue
        answer = io.ask(
            f"{clean(action.name)} is deleted NOW, its data irreversibly, with no refund. "
            f"Type its name to confirm: "
        )
        if answer is None or answer.strip() != action.name:
            if answer is None:  # Ctrl-D: no answer at all, not an answer "nothing"
                why = f"end of input before {action.name!r} was typed"
            elif not answer.strip():
                why = f"no name typed for {action.name!r}"
            else:
                why = f"{answer.strip()!r} is not {action.name!r}"
            raise ReconcilerError(
                f"apply cancelled: {why}; nothing was applied",
                hint="type the service's name exactly to delete it",
            )
    answer = io.ask(
        f"Apply {count_text(changes)} to endpoint {clean(plan.endpoint)}? Only 'yes' is accepted: "
    )
    if answer is None or answer.strip() != "yes":
        raise ReconcilerError("apply cancelled: nothing was applied", hint=None)
