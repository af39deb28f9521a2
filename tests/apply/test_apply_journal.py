"""The journal: records written whole and fsynced, read back strictly; a torn last line
tolerated and repaired by the next writer; a corrupt line anywhere else an error with its
line number; secrets redacted by key and scrubbed by value; writers sharing a file never
interleave; fsync before every mutating call leaves (and after its answer)."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apply_helpers import Rig, make_rig

from reconciler.clock import ManualClock
from reconciler.core.plan import ActionKind
from reconciler.errors import JournalError
from reconciler.journal import (
    REDACTED,
    JournalCall,
    JournalWriter,
    Outcome,
    Phase,
    Record,
    RunContext,
    done_before,
    ensure_writable,
    read_journal,
    runs,
    token_digest,
)
from reconciler.sandbox.testing import InProcessSandbox

WHEN = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)
CONTEXT = RunContext(run="20260302T090000Z-abc123", plan="sha256:" + "b" * 64, endpoint="ovh-eu")


def writer(path: Path, context: RunContext = CONTEXT) -> JournalWriter:
    return JournalWriter(path, context, clock=ManualClock(WHEN))


def test_records_round_trip_with_every_field(tmp_path: Path) -> None:
    path = tmp_path / "j" / "journal.jsonl"
    with writer(path) as journal:
        written = journal.write(
            phase=Phase.CALL,
            outcome=Outcome.AMBIGUOUS,
            service="www.example.com",
            service_id=42,
            action="terminate_at_expiry",
            call=JournalCall("PUT", "/services/42", {"terminationPolicy": "empty"}),
            attempt=2,
            status=503,
            query_id="EU.ext-1.abc",
            error="OVH API PUT /services/42 failed: 503",
            detail={"step": "termination-policy"},
        )
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    line = path.read_text(encoding="utf-8").splitlines()[0]
    data = json.loads(line)
    assert list(data) == [
        "v", "time", "run", "plan", "endpoint", "service", "service_id", "action", "phase",
        "call", "attempt", "outcome", "status", "query_id", "error", "detail",
    ]  # fmt: skip
    assert data["time"] == "2026-03-02T09:00:00.123Z"
    (read,) = read_journal(path).records
    assert read == Record.from_json(data)
    assert (read.service_id, read.status, read.query_id, read.attempt) == (
        42,
        503,
        "EU.ext-1.abc",
        2,
    )
    assert read.call == JournalCall("PUT", "/services/42", {"terminationPolicy": "empty"})
    assert written.phase == read.phase == "call"


def test_secrets_are_redacted_by_key_and_scrubbed_by_value(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    token = "S3cr3tT0kenValue"
    with writer(path) as journal:
        journal.add_secret(token)
        journal.write(
            phase=Phase.CALL,
            outcome=Outcome.FAILED,
            call=JournalCall("POST", "/x/confirmTermination", {"token": token, "reason": "OTHER"}),
            error=f"the API echoed {token} back",
            detail={"token_sha256": token_digest(token), "note": f"x{token}x"},
        )
    text = path.read_text(encoding="utf-8")
    assert token not in text
    (record,) = read_journal(path).records
    assert record.call is not None and record.call.body == {"token": REDACTED, "reason": "OTHER"}
    assert record.error == f"the API echoed {REDACTED} back"
    assert record.detail["token_sha256"] == token_digest(token) != token


def test_a_torn_last_line_is_tolerated_then_repaired_by_the_next_writer(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with writer(path) as journal:
        journal.write(phase=Phase.RUN, outcome=Outcome.STARTED)
        journal.write(phase=Phase.CALL, outcome=Outcome.SENDING, service="a", service_id=1)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 25])  # a crash in the middle of the 2nd write
    contents = read_journal(path)
    assert len(contents.records) == 1 and contents.torn == (2,)

    with writer(path) as journal:  # the next run
        journal.write(phase=Phase.RUN, outcome=Outcome.STARTED)
    contents = read_journal(path)
    assert contents.torn == (2,)
    assert [(r.phase, r.outcome) for r in contents.records] == [
        ("run", "started"),
        ("journal", "repaired"),
        ("run", "started"),
    ]
    assert contents.records[1].detail == {"torn_line": 2}
    assert path.read_bytes().startswith(whole[: len(whole) - 25])  # every byte kept


def test_a_complete_last_line_without_its_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with writer(path) as journal:
        journal.write(phase=Phase.RUN, outcome=Outcome.STARTED)
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    assert len(read_journal(path).records) == 1
    with writer(path) as journal:
        journal.write(phase=Phase.RUN, outcome=Outcome.FINISHED)
    contents = read_journal(path)
    assert [r.outcome for r in contents.records] == ["started", "finished"]
    assert contents.torn == ()


def test_a_corrupt_line_elsewhere_is_an_error_with_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with writer(path) as journal:
        for _ in range(3):
            journal.write(phase=Phase.RUN, outcome=Outcome.STARTED)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = '{"v": 1, "oops"\n'
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(JournalError) as raised:
        read_journal(path)
    assert str(raised.value).startswith(f"{path}:2: not a journal record (not JSON")
    lines[1] = json.dumps({"v": 1}) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(JournalError, match=r":2: not a journal record \(missing time"):
        read_journal(path)


def test_a_missing_journal(tmp_path: Path) -> None:
    assert read_journal(tmp_path / "none.jsonl", missing_ok=True).records == ()
    with pytest.raises(JournalError, match="no journal at"):
        read_journal(tmp_path / "none.jsonl")


def test_an_unwritable_journal_is_refused_before_anything(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(JournalError) as raised:
        ensure_writable(blocker / "journal.jsonl")
    assert "cannot write the journal" in str(raised.value)
    assert raised.value.hint is not None and "nothing is applied" in raised.value.hint


def test_writers_sharing_a_file_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    big = "x" * 70_000  # larger than one write() of a pipe: interleaving would show

    def run(number: int) -> None:
        context = RunContext(run=f"run-{number}", plan="sha256:p", endpoint="ovh-eu")
        with writer(path, context) as journal:
            for index in range(20):
                journal.write(phase=Phase.CHECK, outcome=Outcome.OK, detail={"i": index, "b": big})

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = read_journal(path).records
    assert len(records) == 80
    assert {r.run for r in records} == {f"run-{n}" for n in range(4)}
    assert [s.run for s in runs(records)] == sorted(
        {r.run for r in records}, key=[r.run for r in records].index
    )


@pytest.fixture
def rig(sandbox_app: InProcessSandbox, tmp_path: Path) -> Rig:
    return make_rig(sandbox_app, tmp_path)


def test_every_mutating_call_leaves_after_an_fsynced_record_and_its_answer_is_fsynced(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order of events, as the disk and the network see them."""
    events: list[str] = []
    real_fsync = os.fsync
    monkeypatch.setattr(
        "reconciler.journal.writer.os.fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1]
    )
    inner = rig.transport.handle_async_request

    async def watched(request):  # type: ignore[no-untyped-def]
        if request.method in ("PUT", "POST"):
            events.append(f"send {request.method}")
        response = await inner(request)
        if request.method in ("PUT", "POST"):
            events.append("answer")
        return response

    rig.transport.handle_async_request = watched  # type: ignore[method-assign]
    spec = rig.spec(
        "version: 1\nunmanaged: ignore\nservices:\n"
        "  example.net:\n    lifecycle: terminate_at_expiry\n"
        "  old-shop.example.org:\n    lifecycle: delete_now\n"
    )
    report = rig.apply(rig.plan(spec))
    assert not report.failed
    sends = [i for i, e in enumerate(events) if e.startswith("send")]
    assert len(sends) == 3  # a PUT, a termination request, its confirmation
    for index in sends:
        assert events[index - 1] == "fsync"  # the "sending" record is on disk first
        assert events[index + 1 : index + 3] == ["answer", "fsync"]  # then the answer's


def _ending(
    service: str, outcome: Outcome, *, phase: Phase = Phase.ACTION, **extra: object
) -> Record:
    fields: dict[str, object] = {
        "time": WHEN,
        "run": CONTEXT.run,
        "plan": CONTEXT.plan,
        "endpoint": "ovh-eu",
        "phase": phase.value,
        "outcome": outcome.value,
        "service": service,
        "service_id": 7,
        "action": "delete_now",
    }
    fields.update(extra)
    return Record(**fields)  # type: ignore[arg-type]


def test_the_journal_says_which_terminations_and_deletions_were_done() -> None:
    """What lets a plan call an entry whose service left the account "already done",
    rather than a name that matches nothing: only a done action (or a confirmed
    deletion whose run was killed before its end was written), on the same endpoint."""
    records = [
        _ending("done.example.com", Outcome.DONE),
        _ending("failed.example.com", Outcome.FAILED),
        _ending("elsewhere.example.com", Outcome.DONE, endpoint="ovh-ca"),
        _ending("renewed.example.com", Outcome.DONE, action="set_renew"),
        _ending(
            "confirmed.example.com",
            Outcome.OK,
            phase=Phase.CALL,
            detail={"step": "confirm-termination"},
        ),
        _ending("requested.example.com", Outcome.OK, phase=Phase.CALL, detail={"step": "x"}),
        _ending(
            "cut.example.com",
            Outcome.SENDING,
            phase=Phase.CALL,
            detail={"step": "confirm-termination"},
        ),
        _ending("expiring.example.com", Outcome.DONE, action="terminate_at_expiry"),
    ]
    done = done_before(records, endpoint="ovh-eu")
    assert sorted(done) == [
        "confirmed.example.com",
        "cut.example.com",
        "done.example.com",
        "expiring.example.com",
    ]
    assert "sent the call that ends it" in done["cut.example.com"].evidence
    assert done["done.example.com"].action is ActionKind.DELETE_NOW
    assert "deleted by apply run 20260302T090000Z-abc123" in done["done.example.com"].evidence
    assert "set to terminate" in done["expiring.example.com"].evidence
