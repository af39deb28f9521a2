"""``reconciler plan SPEC...``: what apply would do, shown and optionally saved
(docs/user-guide.md: "Reading a plan" for the options and outputs, "Commands and exit
codes" for the exit codes).

For each spec file: load it, choose its endpoint (``--endpoint``, else the spec's own
``endpoint:``, never ``OVH_ENDPOINT``: a spec says which account it describes), read
the account once per endpoint (specs sharing an endpoint share one read), plan with
the API's clock, render. It decides nothing itself: ``reconciler.core.planner`` plans,
``reconciler.render`` shows. The first reads of the first spec's endpoint leave before
the specs are parsed and overlap that parsing (``plan_files``); the parsed specs
decide everything else, and reads for an endpoint they do not name are dropped.

Output: the rendering on stdout, notes and errors on stderr; ``--out`` saves the JSON
plan (one file per spec). Exit codes: without ``--detailed-exitcode``, 0 whenever a
plan was made (refusals included: a quickstart or a look at a plan is no failure);
with it, 0 in sync, 2 changes, 3 refused; 1 any error, and with several specs the most
severe wins.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

from reconciler.cli import command_secrets
from reconciler.cli.common import (
    Target,
    build_client,
    concurrency_option,
    journal_for,
    keep_endpoint,
    resolve_target,
    run,
    spec_endpoint_option,
    target_for_spec,
    use_color,
)
from reconciler.cli.display import tz_option, zone_of
from reconciler.cli.files import cannot_write, write_whole
from reconciler.cli.options import OneLineUsageCommand, format_option, journal_option
from reconciler.cli.show import refuse_plan_files, render
from reconciler.cli.specfiles import is_stdin, is_stdin_name, read_spec, spec_files
from reconciler.endpoints import ENDPOINTS, SANDBOX, is_loopback
from reconciler.errors import ConfigError, RefusedError, SpecError, UsageError

# What a step needs is imported by that step (docs/performance.md): `plan --help` loads
# no spec models, and a plan loads the planner, the journal and its renderer only once
# its first request is out.
if TYPE_CHECKING:
    from datetime import tzinfo

    from reconciler.core.live import LiveAccount
    from reconciler.core.plan import Plan
    from reconciler.core.spec import Spec
    from reconciler.ovh.client import OvhClient
    from reconciler.redaction import Secrets

EXIT_CHANGES = 2
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


# Terraform's warning, in our words: a partial plan is for exceptional cases.
TARGET_WARNING = (
    "warning: resource targeting is in effect (--target): the plan covers only the "
    "entries named, and may not be everything the spec asks for; the other entries and "
    "services were not compared. --target is for exceptional cases, such as recovering "
    "from a mistake or an error, not for routine use."
)


def target_option(verb: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """``--target NAME``, repeatable, for ``plan`` and ``apply`` (``verb``)."""
    return click.option(
        "--target",
        "targets",
        multiple=True,
        metavar="NAME",
        help=f"{verb} only the spec entry NAME (its key in the spec), as Terraform's "
        "-target; the others are not compared and not touched. Repeatable.",
    )


@click.command(cls=OneLineUsageCommand)
@click.argument(
    "specs", nargs=-1, required=True, metavar="SPEC...", type=click.Path(dir_okay=False)
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="Save the JSON plan to FILE (several specs: FILE-stem.SPEC-stem.json each), for "
    "`reconciler apply FILE`.",
)
@format_option(
    "text",
    "markdown",
    "json",
    help="text for terminals and CD logs; markdown for a pull-request comment; json for "
    "scripts (docs/plan-format.md).",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 in sync, 2 with changes, 3 when a change is refused (1: error). Without "
    "it, 0 whenever a plan was made.",
)
@journal_option(
    "The apply journal whose record of terminations and deletions done makes an "
    'entry for a service the account no longer lists "already done" (as apply\'s '
    "--journal)."
)
@target_option("Plan")
@tz_option
@spec_endpoint_option
@concurrency_option
def plan(
    specs: tuple[str, ...],
    out: Path | None,
    output_format: str,
    detailed_exitcode: bool,
    journal: Path | None,
    targets: tuple[str, ...],
    tz: str | None,
    endpoint: str | None,
    concurrency: int,
) -> None:
    """Show what `reconciler apply` would do to bring the account to SPEC.

    Reads the account, changes nothing. Several SPEC files are planned each on its own
    and shown as labelled sections. Give '-' to read a spec from standard input.
    """
    zone = zone_of(tz)  # a mistyped zone is refused before any file or account is read
    paths = spec_files(specs, note=lambda line: click.echo(line, err=True))
    refuse_plan_files(paths, "plan")
    with collector_paused():
        plans, outputs = run(
            plan_files(
                paths,
                out=out,
                journal=journal,
                targets=targets,
                endpoint=endpoint,
                concurrency=concurrency,
            )
        )
        secrets = command_secrets()
        color = use_color()
        # color=: click strips ANSI codes from output that is not a terminal; --color
        # asks for them there too (a CI log that renders them).
        # Its hints keep the user's --endpoint; the zone changes the words, never the JSON.
        shown = render(plans, output_format, color=color, zone=zone)
    shown = shown if output_format == "json" else keep_endpoint(shown, endpoint)
    click.echo(secrets.redact(shown), nl=False, color=color)
    for path, made in zip(outputs or (), plans if outputs else (), strict=True):
        save(path, made, secrets)
        click.echo(_saved_line(path, made), err=True)
    _append_step_summary(plans, zone)
    _exit(plans, detailed=detailed_exitcode)


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection while the account is read, the specs parsed and the plan
    made and rendered; the collector is left as it was found (in-process callers).

    Those steps only build: the decoded pages, the services, the spec, the plan, all
    alive until the output is written, and next to no cycle becomes garbage. Every
    collection then walks objects it cannot free: at 50,000 services that was
    1.2-2 s of the CPU (docs/benchmarks.md, "What was optimised"), with the same peak
    memory as without it. The process ends without a final collection either
    (``reconciler.cli._leave``)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # What was built meanwhile is all in the youngest generation, and the first
        # collection once enabled would walk all of it: freezing and unfreezing moves
        # it to the oldest generation in one step instead, where a later full
        # collection (an in-process caller's) still frees what became garbage. Only
        # when nothing else was frozen: unfreezing would release that too.
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()


async def plan_files(
    paths: Sequence[str],
    *,
    out: Path | None,
    journal: Path | None,
    targets: Sequence[str],
    endpoint: str | None,
    concurrency: int,
) -> tuple[list[Plan], list[Path] | None]:
    """The plans of the spec files ``paths``, and where to save them (``--out``).

    The account's first reads leave before the specs are parsed (``EarlyRead``): the
    spec's models and YAML reader are most of the start-up, and they load and run while
    ``GET /auth/time`` and the first page of ``GET /services`` are on their way. Only
    reads go out early. Every check of the specs and options still comes first: an
    invalid spec, an unknown ``--target`` or a clash of ``--out`` files stops the command
    with the same error as before, the early reads are dropped unanswered, and nothing
    that changes anything was sent (``plan`` never sends one)."""
    early = EarlyRead.start(
        _early_target(paths, endpoint), concurrency, deletes=_deletes_guess(paths)
    )
    try:
        if early is not None:
            await early.sent()
            # In a thread, so that the event loop goes on sending and receiving.
            loaded = await asyncio.to_thread(load_specs, paths)
        else:
            loaded = load_specs(paths)
        chosen = targets_of(targets, loaded)
        outputs = out_paths(out, loaded) if out is not None else None
        if journal is not None and not journal.exists():
            # Not an error (apply creates it), but a typo here would turn "already done"
            # into unknown-service refusals: say which file was read.
            click.echo(
                f"note: --journal {journal} does not exist: no apply is recorded there",
                err=True,
            )
        jobs = [
            Job(spec, target_for_spec(spec, endpoint), journal=journal, targets=named)
            for spec, named in zip(loaded, chosen, strict=True)
        ]
        if targets:
            click.echo(TARGET_WARNING, err=True)
        _note_ignored_endpoint(jobs, endpoint)
        if early is not None and early.key not in {_account_key(job.target) for job in jobs}:
            await early.drop()  # a wrong guess: stop its reads before making the right ones
            early = None
        if early is None:
            return await plan_all(jobs, concurrency), outputs
        return await plan_all(jobs, concurrency, early=early), outputs
    finally:
        if early is not None:
            await early.drop()


# --- the early read ----------------------------------------------------------------------

# A top-level ``endpoint:`` line with a plain or quoted scalar: enough to guess the
# endpoint before the YAML reader is loaded. A guess only: the parsed spec decides, and
# reads made for a wrong guess are dropped.
_ENDPOINT_LINE = re.compile(
    r"""^endpoint[ \t]*:[ \t]*(?:"([^"\\\n]*)"|'([^'\n]*)'|([^\s#'"][^\s#]*))"""
    r"""[ \t]*(?:#.*)?$""",
    re.MULTILINE,
)
# Larger files are left to the spec reader, which refuses them.
_GUESS_MAX_BYTES = 16 * 1024 * 1024


def endpoint_guess(text: str) -> str | None:
    """The value of the one top-level ``endpoint:`` line of a spec's ``text``; None when
    there is none or more than one (the spec then uses its default, or is invalid)."""
    found = _ENDPOINT_LINE.findall(text)
    if len(found) != 1:
        return None
    value = "".join(found[0])  # one of the three forms matched, the others are empty
    return value or None


def _early_target(paths: Sequence[str], option: str | None) -> Target | None:
    """The target the first spec will most likely be planned on, or None when no read is
    worth starting early: the embedded sandbox (no network to wait for; its state
    directory is the spec's project's), a spec that is no regular file (standard input
    is read once, by the spec reader), or a value that is not an endpoint (the error
    comes in its usual place, after the spec's)."""
    if option and option.strip():
        value = option.strip()
    else:
        text = _first_text(paths)
        if text is None:
            return None
        value = endpoint_guess(text) or SANDBOX
        if not _trusted_guess(value):
            return None
    try:
        chosen = resolve_target(value)
    except ConfigError:
        return None
    return None if chosen.endpoint.embedded else chosen


def _first_text(paths: Sequence[str]) -> str | None:
    """The first spec's text, for a guess; None for standard input (read once, by the
    spec reader), a file that is not a regular one, or one too large to scan."""
    try:
        first = Path(paths[0])
        if is_stdin(first) or not first.is_file() or first.stat().st_size > _GUESS_MAX_BYTES:
            return None
        return first.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None


# A spec that deletes needs whose key this is (``GET /me``, ``observe.read_for_specs``):
# a word anywhere in the first spec is enough to ask for it beside the first page
# rather than one round trip after the parsed spec. A guess only: a comment may name
# it (one read more, its answer unused), and a spec the scan misses reads it after.
_DELETES_WORD = re.compile(r"\bdelete_now\b")


def _deletes_guess(paths: Sequence[str]) -> bool:
    text = _first_text(paths)
    return text is not None and _DELETES_WORD.search(text) is not None


def _trusted_guess(value: str) -> bool:
    """Whether credentials may go to a guessed endpoint before the spec is parsed: one of
    OVH's own API endpoints by name, or a loopback URL (a local sandbox server). A guess
    is a line scan, and YAML can hide a column-0 ``endpoint:`` line inside a quoted
    scalar: a URL to any other host waits for the parsed spec, so that an invalid spec,
    or a guess the spec does not make, never sends the keys to a host it does not name."""
    if value in ENDPOINTS or value == SANDBOX:
        return True
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and is_loopback(parts.hostname or "")


class EarlyRead:
    """The account read started before the specs are parsed (``plan_files``): the client
    entered (``GET /auth/time`` in flight) and the listing under way, waiting for the
    specs to finish the read as ``observe.read_for_specs`` does. Its errors (credentials,
    the API) are raised only where the read would have been made after the specs, so that
    an invalid spec is still the error reported."""

    def __init__(self, target: Target, client: OvhClient, *, deletes: bool = False) -> None:
        self.key = _account_key(target)
        self._client = client
        self._deletes = deletes  # the specs likely delete: GET /me goes out early too
        loop = asyncio.get_running_loop()
        self._specs: asyncio.Future[list[Spec]] = loop.create_future()
        self._first_page = asyncio.Event()
        client.on_sent = self._sent
        self._task = loop.create_task(self._read())

    @classmethod
    def start(
        cls, target: Target | None, concurrency: int, *, deletes: bool = False
    ) -> EarlyRead | None:
        if target is None:
            return None
        try:
            client = build_client(target, concurrency=concurrency)
        except ConfigError:
            return None  # no credentials, say: the later read raises it in its place
        return cls(target, client, deletes=deletes)

    async def _read(self) -> tuple[LiveAccount, datetime]:
        from reconciler.observe import key_nichandle, read_account, read_for_specs

        async with self._client as client:
            listed = asyncio.ensure_future(read_account(client))
            # Should the listing end before its first page was out, the specs must not
            # wait for it.
            listed.add_done_callback(lambda _: self._first_page.set())
            # Its answer (or its error) counts only if the parsed specs do delete.
            me = asyncio.ensure_future(key_nichandle(client)) if self._deletes else None
            try:
                specs = await self._specs
                account = await read_for_specs(client, specs, listed=listed, nichandle=me)
            finally:
                started = [task for task in (listed, me) if task is not None]
                for task in started:
                    if not task.done():
                        task.cancel()
                await asyncio.gather(*started, return_exceptions=True)
            return account, client.api_clock().now()

    def _sent(self, path: str) -> None:
        from reconciler.observe import SERVICES  # loaded by then: it is reading

        if path == SERVICES:
            self._first_page.set()
            self._client.on_sent = None  # told once: the other requests are not traced

    async def sent(self) -> None:
        """Once the first page of ``GET /services`` is on the wire (``GET /auth/time``
        left before it), or the read has already ended, its error kept for later."""
        waiter = asyncio.ensure_future(self._first_page.wait())
        try:
            await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()

    async def result(self, specs: list[Spec]) -> tuple[LiveAccount, datetime]:
        """The account as ``specs`` need it, and the API's time."""
        self._specs.set_result(specs)
        return await self._task

    async def drop(self) -> None:
        """Stop the read if nobody took its result (a spec error, another endpoint); an
        error it met is not this command's then."""
        if not self._task.done():
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def _account_key(target: Target) -> tuple[str, Path | None]:
    # Two specs on the embedded sandbox of two projects are two accounts.
    return (target.endpoint.base_url, target.state_dir)


# --- specs and endpoints ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Job:
    spec: Spec
    target: Target
    tokens: frozenset[str] = frozenset()  # services whose deletion token apply holds
    # The apply journal read for "already done" evidence (``--journal``); None: the
    # default one of the state directory.
    journal: Path | None = None
    targets: frozenset[str] | None = None  # --target: the only entries planned


# --- --target ----------------------------------------------------------------------------


def targets_of(names: Sequence[str], specs: Sequence[Spec]) -> list[frozenset[str] | None]:
    """The ``--target`` names of each spec, in the order of ``specs``: the names among
    its keys (possibly none: that spec's plan then covers nothing), or None for each
    without ``--target`` (the whole spec). A name no spec has is a ``UsageError`` with
    the nearest keys, raised before the account read is used."""
    if not names:
        return [None] * len(specs)
    keys = {wanted.key for spec in specs for wanted in spec.services}
    for name in dict.fromkeys(names):
        if name in keys:
            continue
        from reconciler.core.matching import NearNames  # only to word this error

        near = NearNames(keys).near(name)
        labelled = [w.key for spec in specs for w in spec.services if w.name == name]
        where = specs[0].source if len(specs) == 1 else "the specs"
        hint = (
            f"did you mean {', '.join(repr(key) for key in near)}?"
            if near
            else f"--target takes an entry's key in the spec ({len(keys):,} in {where})"
        )
        if labelled:  # the service's name, where the spec keys it by a label
            hint = f"{name!r} is the name of entry {labelled[0]!r}: use --target {labelled[0]!r}"
        raise UsageError(f"--target {name}: no entry {name!r} in {where}", hint=hint)
    wanted = frozenset(names)
    return [frozenset(w.key for w in spec.services if w.key in wanted) for spec in specs]


def load_specs(paths: Sequence[str]) -> list[Spec]:
    """Every spec, or a ``SpecError``: with several invalid specs, every problem of
    every spec is printed before the command stops (no read but the early ones of
    ``plan_files``, dropped then)."""
    loaded: list[Spec] = []
    errors: list[SpecError] = []
    for path in paths:
        try:
            loaded.append(read_spec(path))  # '-': standard input
        except SpecError as problem:
            errors.append(problem)
    if len(errors) > 1:
        from reconciler.cli import report_error

        for earlier in errors[:-1]:
            report_error(earlier, with_hint=False)
    if errors:
        raise errors[-1]
    return loaded


def _note_ignored_endpoint(jobs: Sequence[Job], option: str | None) -> None:
    if option:
        return
    try:
        configured = resolve_target(None)
    except ConfigError:
        return  # a bad OVH_ENDPOINT does not matter here: it is not used
    if configured.source == "the default":
        return
    for job in jobs:
        if job.target.endpoint.name != configured.endpoint.name:
            click.echo(
                f"note: {job.spec.source} is planned on its own endpoint "
                f"{job.target.name!r}, not {configured.name!r} from {configured.source}; "
                "pass --endpoint to override",
                err=True,
            )


def out_paths(out: Path, specs: Sequence[Spec]) -> list[Path]:
    """Where each plan is saved: ``out`` itself for one spec, else
    ``<out stem>.<spec stem><out suffix>`` beside it, refused when two specs would
    share a file."""
    if len(specs) == 1:
        return [out]
    suffix = out.suffix or ".json"
    paths = [out.with_name(f"{out.stem}.{Path(spec.source).stem}{suffix}") for spec in specs]
    seen: dict[Path, str] = {}
    for path, spec in zip(paths, specs, strict=True):
        if path in seen:
            raise UsageError(
                f"--out: {seen[path]} and {spec.source} would both be saved to {path}",
                hint="give spec files distinct names, or plan them one at a time",
            )
        seen[path] = spec.source
    return paths


# --- planning --------------------------------------------------------------------------


async def plan_all(
    jobs: Sequence[Job], concurrency: int, *, early: EarlyRead | None = None
) -> list[Plan]:
    """One account read per endpoint (with the offered periods every spec needs), then
    one plan per spec, in the order the specs were given. ``early``: a read already
    under way, used for the endpoint it reads."""
    by_endpoint: dict[tuple[str, Path | None], list[int]] = {}
    for index, job in enumerate(jobs):
        by_endpoint.setdefault(_account_key(job.target), []).append(index)
    plans: dict[int, Plan] = {}
    for key, indexes in by_endpoint.items():
        group = [jobs[index] for index in indexes]
        specs = [job.spec for job in group]
        if early is not None and key == early.key:
            account, now = await early.result(specs)
        else:
            account, now = await _read(group[0].target, concurrency, specs)
        for index, job in zip(indexes, group, strict=True):
            plans[index] = _plan_one(job, account, now)
    return [plans[index] for index in range(len(jobs))]


def _plan_one(job: Job, account: LiveAccount, now: datetime) -> Plan:
    """The plan of one spec. When it names services the account does not list, to
    terminate or delete them, the apply journal (``job.journal``, else
    ``$RECONCILER_STATE_DIR/journal.jsonl``, else ``.reconciler/journal.jsonl``) says
    which of them an earlier apply saw done."""
    from reconciler.core.planner import make_plan
    from reconciler.journal import needs_journal

    endpoint, tokens, targets = job.target.name, job.tokens, job.targets
    made = make_plan(job.spec, account, now=now, endpoint=endpoint, tokens=tokens, targets=targets)
    if not needs_journal(made):
        return made
    from reconciler.journal import done_before_in

    journal = journal_for(job.target, job.journal)
    done = done_before_in(journal, endpoint=endpoint)
    if not done:
        return made
    return make_plan(
        job.spec,
        account,
        now=now,
        endpoint=endpoint,
        done_before=done,
        tokens=tokens,
        targets=targets,
    )


async def _read(
    target: Target, concurrency: int, specs: Sequence[Spec]
) -> tuple[LiveAccount, datetime]:
    """The account as the specs need it (``observe.read_for_specs``), and the API's time."""
    from reconciler.observe import read_for_specs

    async with build_client(target, concurrency=concurrency) as client:
        account = await read_for_specs(client, specs)
        return account, client.api_clock().now()


# --- output ----------------------------------------------------------------------------


def save(path: Path, made: Plan, secrets: Secrets | None = None) -> None:
    """Write the plan file whole or not at all (``reconciler.cli.files``), so a crash
    never leaves a truncated plan for apply to find; with no secret the command knows
    in it, whatever the API echoed into the plan."""
    from reconciler.core.planfile import dump_plan

    text = dump_plan(made)
    try:
        write_whole(path, secrets.redact(text) if secrets is not None else text)
    except OSError as exc:
        raise cannot_write(f"save the plan to {path}", exc) from None


def _saved_line(path: Path, made: Plan) -> str:
    if made.has_refusals:
        return f"Saved the plan to {path}; it cannot be applied while changes are refused."
    if not made.has_changes:
        return f"Saved the plan to {path}; there is nothing to apply."
    if is_stdin_name(made.spec_source):
        # No file to hold the plan to: apply reads the spec again, as it was piped here.
        return (
            f"Saved the plan to {path}; apply it with the same spec piped in: "
            f"`reconciler apply {path} --spec - --auto-approve`."
        )
    return f"Saved the plan to {path}; apply it with `reconciler apply {path}`."


def _append_step_summary(plans: Sequence[Plan], zone: tzinfo | None = None) -> None:
    """On GitHub Actions, the markdown plan goes to the job's summary page too."""
    target = os.environ.get(STEP_SUMMARY_ENV, "").strip()
    if not target:
        return
    from reconciler.render import markdown

    try:
        with open(target, "a", encoding="utf-8") as summary:
            summary.write(markdown.render_many(plans, zone=zone) + "\n")
    except OSError as exc:
        # The plan itself was shown: a summary that cannot be written is worth a
        # warning, not a failed job.
        click.echo(
            f"warning: cannot append the plan to {STEP_SUMMARY_ENV} ({target}): "
            f"{exc.strerror or exc}",
            err=True,
        )


def _exit(plans: Sequence[Plan], *, detailed: bool) -> None:
    refused = [made for made in plans if made.has_refusals]
    if refused and not detailed:
        count = sum(len(made.refused) for made in refused)
        click.echo(
            f"note: {count} refused change{'s' * (count > 1)}: apply would refuse this plan "
            "(exit code 3 with --detailed-exitcode)",
            err=True,
        )
        return
    if refused:
        count = sum(len(made.refused) for made in refused)
        where = ", ".join(made.spec_source for made in refused)
        raise RefusedError(
            f"{where}: the spec asks for {count} change{'s' * (count > 1)} the lifecycle "
            "rules refuse; nothing would be applied",
            hint="each refusal above says what to change in the spec",
        )
    if detailed and any(made.has_changes for made in plans):
        raise click.exceptions.Exit(EXIT_CHANGES)
