"""The ``ServiceLifecycle`` dynamic provider: Pulumi's calls, translated to reconciler's
(docs/pulumi.md, "What `pulumi preview` and `pulumi up` do", says what each step does,
and "Pulumi and `reconciler plan` / `apply`" what is shared with the command line).

Pulumi pickles this provider with dill into every resource's state (``__provider``) and
unpickles it in its provider host (``python -m pulumi.dynamic``), which then calls
``check`` (the inputs read by the spec's own reader, then judged by the lifecycle rules:
a refused change fails at preview time), ``diff`` (what ``reconciler plan`` would do
now; every irreversible action a replacement), ``create`` / ``update``
(``reconciler.apply.apply_approved``, in the command line's journal), ``read`` and
``delete`` — which makes **no API call at all**: removing a resource never terminates
anything.

What travels in the pickle is the class's name and nothing else (``__getstate__``): no
HTTP client, no credentials, no settings. A client is built inside each call, from the
stack configuration Pulumi hands ``configure`` in the provider host, else from
``OVH_*`` and ovh.conf. Pulumi hands numbers back as floats: ids go through ``as_int``.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.runtime.rpc import UNKNOWN

from reconciler.clock import SystemClock
from reconciler.core.live import LiveService
from reconciler.errors import ReconcilerError, UsageError
from reconciler.ovh.client import OvhClient
from reconciler.pulumi.inputs import (
    DEFAULT_ENDPOINT,
    DESIRED,
    ENDPOINT,
    JOURNAL_RUN,
    Entry,
    check_properties,
    desired_changes,
    live_outputs,
    resource_id,
    service_id_of,
)
from reconciler.pulumi.operations import (
    AccountView,
    Judgement,
    SharedReads,
    apply,
    decide,
    judge_seen,
    nichandle_missing,
    open_client,
    periods_missing,
    read_service,
    read_view,
    refusal_property,
    refusal_text,
    refused,
    view_key,
    with_nichandle,
    with_periods,
)
from reconciler.pulumi.settings import (
    CREDENTIAL_KEYS,
    JOURNAL_KEY,
    NAMESPACE,
    READ_CACHE_KEY,
    TOKEN_TIMEOUT_KEY,
    TOKENS_KEY,
    Settings,
    project_dir,
)

T = TypeVar("T")
_READS_LOCK = threading.Lock()  # makes each provider's SharedReads once, across threads


class ServiceLifecycleProvider(ResourceProvider):
    """See the module docstring."""

    # Nothing secret is ever captured in the pickle (it holds no state at all), so the
    # serialized provider need not be a secret: a stack without secrets stays readable.
    serialize_as_secret_always = False

    # -- pickling: nothing of the instance travels ----------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        pass

    @property
    def settings(self) -> Settings:
        found = self.__dict__.get("_settings")
        return found if isinstance(found, Settings) else Settings()

    @property
    def reads(self) -> SharedReads:
        """The account reads this provider's checks and diffs share (made once)."""
        with _READS_LOCK:
            found = self.__dict__.get("_reads")
            if not isinstance(found, SharedReads):
                found = self.__dict__["_reads"] = SharedReads(self.settings.read_cache_seconds)
            return found

    def configure(self, req: ConfigureRequest) -> None:
        """Keep the stack's ``reconciler:*`` settings (called in the provider host)."""
        keys = (*CREDENTIAL_KEYS, TOKENS_KEY, JOURNAL_KEY, TOKEN_TIMEOUT_KEY, READ_CACHE_KEY)
        raw = {f"{NAMESPACE}:{key}": req.config.get(f"{NAMESPACE}:{key}") for key in keys}
        settings = Settings.from_config(raw)
        with _READS_LOCK:
            self.__dict__["_settings"] = settings
            self.__dict__["_reads"] = SharedReads(settings.read_cache_seconds)

    # -- Pulumi's calls ---------------------------------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        checked = check_properties(news, unknown_marker=UNKNOWN)
        failures = [CheckFailure(f.property, f.reason) for f in checked.failures]
        if checked.entry is not None:
            judgement = self._judge(checked.entry)
            failures += [
                CheckFailure(refusal_property(r, checked.entry), refusal_text(r))
                for r in judgement.refusals
            ]
        return CheckResult(checked.inputs, failures)

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        checked = check_properties(_news, unknown_marker=UNKNOWN)
        if checked.unknown:
            return DiffResult(changes=True)  # values a preview does not know yet
        entry = _valid(checked.entry, checked.failures, _news)
        judgement = self._judge(entry)
        if judgement.refusals:
            error = refused(entry, judgement.refusals)
            if error.hint:
                error.add_note(f"hint: {error.hint}")
            raise error
        decided = decide(
            managed_id=service_id_of(_id),
            olds=_olds,
            news=checked.inputs,
            changed=desired_changes(_olds, checked.inputs),
            judgement=judgement,
        )
        return DiffResult(
            changes=decided.changes,
            replaces=list(decided.replaces),
            delete_before_replace=decided.delete_before_replace,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        checked = check_properties(props)
        entry = _valid(checked.entry, checked.failures, props)
        journal = self._journal()

        async def created(client: OvhClient) -> CreateResult:
            applied = await apply(entry, client, settings=self.settings, journal=journal)
            identity = resource_id(applied.service_id, entry.wanted.name)
            return CreateResult(identity, _outputs(entry, applied.live, applied.run))

        try:
            return self._run(entry.endpoint, created)
        finally:
            self.reads.clear()  # what later diffs of this run judge must show this change

    def update(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> UpdateResult:
        checked = check_properties(_news)
        entry = _valid(checked.entry, checked.failures, _news)
        journal = self._journal()
        managed = service_id_of(_id)

        async def updated(client: OvhClient) -> UpdateResult:
            applied = await apply(
                entry,
                client,
                settings=self.settings,
                journal=journal,
                managed_id=managed,
                updating=True,
            )
            run = applied.run or _olds.get(JOURNAL_RUN)
            live = applied.live
            if applied.service_id is None and managed is not None:
                live = await read_service(client, managed)  # gone, or named otherwise now
            return UpdateResult(_outputs(entry, live, run))

        try:
            return self._run(entry.endpoint, updated)
        finally:
            self.reads.clear()

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        managed = service_id_of(id_)
        endpoint = props.get(ENDPOINT) or DEFAULT_ENDPOINT
        desired = {name: props.get(name) for name in DESIRED}
        kept_run = props.get(JOURNAL_RUN)
        if managed is None:  # a service already gone when the resource was created
            return ReadResult(id_, desired | live_outputs(None) | {JOURNAL_RUN: kept_run})

        async def current(client: OvhClient) -> LiveService | None:
            return await read_service(client, managed)

        live = self._run(str(endpoint), current)
        return ReadResult(id_, desired | live_outputs(live) | {JOURNAL_RUN: kept_run})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Stop managing the service. Deliberately nothing else: no client is even built,
        so no call can reach OVH (see the module docstring)."""
        return None

    # -- helpers -----------------------------------------------------------------------------

    def _judge(self, entry: Entry) -> Judgement:
        """The entry judged for a preview, on the account read shared with the other
        checks and diffs of the last ``read_cache_seconds`` (plus the offered periods
        this entry needs and, for a deletion, whose key it is: read once, shared too)."""
        key = view_key(entry)
        view = self.reads.get(key)
        if view is None:

            async def listing(client: OvhClient) -> AccountView:
                return await read_view(client)

            view = self._run(entry.endpoint, listing)
            self.reads.put(key, view)
        missing = periods_missing(entry, view)
        whose_key = nichandle_missing(entry, view)
        if missing or whose_key:
            shared = view

            async def completed(client: OvhClient) -> AccountView:
                more = await with_periods(client, shared, missing) if missing else shared
                return await with_nichandle(client, more) if whose_key else more

            view = self._run(entry.endpoint, completed)
            self.reads.put(key, view)
        return judge_seen(
            entry,
            view,
            now=view.now(SystemClock()),
            tokens=frozenset(self.settings.tokens),
            journal=self._journal(),
        )

    def _journal(self) -> Path:
        return self.settings.journal_path(os.environ, project_dir(Path.cwd()))

    def _run(self, endpoint: str, operation: Callable[[OvhClient], Awaitable[T]]) -> T:
        """Run ``operation`` with a client for ``endpoint``, opened and closed here. A
        ``ReconcilerError`` keeps its class; its hint is added as a note, which Pulumi
        shows under the message."""

        async def main() -> T:
            root = project_dir(Path.cwd())  # Pulumi starts the host in `main`'s directory
            async with open_client(endpoint, self.settings, os.environ, root) as client:
                return await operation(client)

        try:
            return asyncio.run(main())
        except ReconcilerError as error:
            if error.hint and not getattr(error, "__notes__", None):
                error.add_note(f"hint: {error.hint}")
            raise


def _valid(entry: Entry | None, failures: Any, props: Mapping[str, Any]) -> Entry:
    """The entry of properties Pulumi already checked; an error if they do not pass (a
    provider called without ``check``)."""
    if entry is not None:
        return entry
    named = props.get("service") or props.get("name") or "ServiceLifecycle"
    reasons = "; ".join(f"{f.property}: {f.reason}" for f in failures) or "not checked"
    raise UsageError(f"{named}: invalid properties: {reasons}", hint="see docs/pulumi.md")


def _outputs(entry: Entry, live: LiveService | None, run: Any) -> dict[str, Any]:
    """The resource's outputs: its wanted state (as checked) and its service as read."""
    desired = {name: value for name, value in entry.inputs().items() if name in DESIRED}
    return desired | live_outputs(live) | {JOURNAL_RUN: run}
