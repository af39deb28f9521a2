"""``reconciler services``: the selection and renderings (pure, on hand-built accounts), the
command against the real sandbox server (OVH_ENDPOINT set to its URL, as a user would)
and against the embedded sandbox, and its errors as one clear line."""

from __future__ import annotations

import csv
import io
import json
import re
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import READ_ALL_KEYS, seeded_account
from conftest import SANDBOX_EPOCH, SandboxServer
from planner.planner_helpers import live_service
from sandbox_env import Result, cli, isolate, serve_seed, use_keys

from reconciler.cli.services import parse_window
from reconciler.core.lifecycle import LiveLifecycle
from reconciler.core.live import Commitment, EndStrategy, LiveAccount, LiveService
from reconciler.errors import UsageError
from reconciler.render.services import (
    CSV_COLUMNS,
    CommitmentFilter,
    OutputFormat,
    ServiceQuery,
    SortKey,
    frequency,
    md,
    render,
    select,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# -- the selection and renderings (pure) ----------------------------------------------------


def svc(
    service_id: int,
    name: str,
    *,
    expires_in: timedelta | None = timedelta(days=30),
    display: str | None = None,
    **fields: Any,
) -> LiveService:
    """A service of a hand-built account (``planner_helpers.live_service``'s fields),
    its expiry ``expires_in`` from ``NOW``: a web hosting renewed every year by default."""
    expires = NOW + expires_in if expires_in is not None else None
    return live_service(
        {"id": service_id, "name": name, "display_name": display or name, "expires": expires}
        | fields
    )


ACCOUNT = LiveAccount.from_services(
    [
        svc(1, "example.com", type="domain", period="P12M"),
        svc(2, "example.com", parent=1, expires_in=timedelta(days=200), period="P1M"),
        svc(3, "db-001", type="hosting/privateDatabase", parent=2, expires_in=timedelta(days=5)),
        svc(4, "Zeta.example.net", type="vps", display="Prod API"),
        svc(5, "alpha.example.org", expires_in=None, period=None),
        svc(6, "xdsl-1", type="xdsl", period="P3M"),
        svc(7, "gone.example.com", lifecycle=LiveLifecycle.TERMINATED, expires_in=timedelta(0)),
    ]
)


def names(query: ServiceQuery) -> list[tuple[int, int]]:
    listing = select(ACCOUNT, query, now=NOW, endpoint="sandbox")
    return [(row.service.service_id, row.depth) for row in listing.rows]


def test_linked_services_are_grouped_under_their_parent() -> None:
    assert names(ServiceQuery()) == [(5, 0), (1, 0), (2, 1), (3, 2), (7, 0), (6, 0), (4, 0)]


def test_sort_keys_and_reverse_keep_groups_and_unknowns_last() -> None:
    by_expiry = names(ServiceQuery(sort=SortKey.EXPIRY))
    assert by_expiry == [(7, 0), (1, 0), (2, 1), (3, 2), (6, 0), (4, 0), (5, 0)]
    reverse = names(ServiceQuery(sort=SortKey.EXPIRY, reverse=True))
    assert [i for i, d in reverse if d == 0] == [1, 6, 4, 7, 5]  # ties keep name order
    by_frequency = [i for i, d in names(ServiceQuery(sort=SortKey.FREQUENCY)) if d == 0]
    assert by_frequency == [6, 1, 7, 4, 5]  # P3M, then P12M by name, then unknown
    by_type = [i for i, d in names(ServiceQuery(sort=SortKey.TYPE)) if d == 0]
    assert by_type == [1, 5, 7, 4, 6]


def test_search_is_case_insensitive_on_name_and_display_name() -> None:
    assert names(ServiceQuery(search="ZETA")) == [(4, 0)]
    assert names(ServiceQuery(search="prod api")) == [(4, 0)]
    # A matching child whose parent does not match stands at the top level.
    assert names(ServiceQuery(search="db-")) == [(3, 0)]


def test_type_filter_exact_prefix_or_family() -> None:
    assert [i for i, _ in names(ServiceQuery(type="hosting/web"))] == [5, 2, 7]
    assert [i for i, _ in names(ServiceQuery(type="hosting"))] == [5, 2, 3, 7]
    assert [i for i, _ in names(ServiceQuery(type="telecom"))] == [6]
    assert names(ServiceQuery(type="/domain/")) == [(1, 0)]


def test_expiring_within_excludes_the_gone_and_the_undated() -> None:
    assert [i for i, _ in names(ServiceQuery(expiring_within=parse_window("6d")))] == [3]
    ids = {i for i, _ in names(ServiceQuery(expiring_within=parse_window("30d")))}
    assert ids == {1, 3, 4, 6}


def test_limit_counts_rows_and_says_so() -> None:
    listing = select(ACCOUNT, ServiceQuery(limit=2), now=NOW, endpoint="sandbox")
    assert len(listing.rows) == 2 and listing.matched == 7 and listing.truncated
    text = render(listing, OutputFormat.TABLE)
    flat = " ".join(text.split())
    assert "7 of 7 services on sandbox match; the first 2 shown (--limit)" in flat
    assert "(API clock: 2026-03-02 09:00 UTC)" in flat


LONG_NAMES = LiveAccount.from_services(
    [
        svc(10, "a-very-long-campaign-name-2025.shop.example.com"),
        svc(11, "vps-1a2b3c4d.vps.ovh.net", type="vps", parent=10),
        svc(12, "x" * 70, type="email/exchange"),
    ]
)
TOKENS = ("a-very-long-campaign-name-2025.shop.example.com", "└─vps-1a2b3c4d.vps.ovh.net", "x" * 70)


def table_lines(width: int | None) -> list[str]:
    listing = select(LONG_NAMES, ServiceQuery(), now=NOW, endpoint="ovh-eu")
    return render(listing, OutputFormat.TABLE, width=width).splitlines()


@pytest.mark.parametrize("width", [None, 160, 80, 40])
def test_the_table_never_breaks_a_name_an_id_or_a_date(width: int | None) -> None:
    lines = table_lines(width)
    assert lines[0].split() == ["NAME", "ID", "TYPE", "EXPIRY", "(UTC)", "RENEWAL", "LIFECYCLE"]
    assert all(line == line.rstrip() for line in lines)
    rows = [line.split() for line in lines if line.split()[:1] and line.split()[0] in TOKENS]
    assert [row[0] for row in rows] == list(TOKENS)  # each name whole, at its row's start
    assert [row[1] for row in rows] == ["10", "11", "12"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", row[3]) for row in rows[:2])
    assert "* managed from its own interface" in "\n".join(lines)
    assert "\x1b[" not in "\n".join(lines)


def test_not_a_terminal_one_line_per_service() -> None:
    lines = table_lines(None)
    assert len(lines) == 1 + 3 + 3  # the header, one line per service, the notes
    assert max(map(len, lines)) > 80  # nothing was folded to a width


def test_a_narrow_terminal_wraps_only_at_the_words_of_type_and_lifecycle() -> None:
    narrow = table_lines(90)
    assert len(narrow) > len(table_lines(None))
    cells = {word for line in narrow for word in line.split()}
    assert {"email/", "exchange"} <= cells  # TYPE wrapped at its slash, nothing cut


@pytest.mark.parametrize(
    ("period", "words"),
    [("P1M", "monthly"), ("P12M", "yearly"), ("P1Y", "yearly"), ("P3M", "every 3 months"),
     ("P24M", "every 2 years"), (None, None), ("P2W", "P2W")],
)  # fmt: skip
def test_frequency(period: str | None, words: str | None) -> None:
    assert frequency(period) == words


def test_json_document_is_stable() -> None:
    listing = select(ACCOUNT, ServiceQuery(search="example.com"), now=NOW, endpoint="sandbox")
    document = json.loads(render(listing, OutputFormat.JSON))
    assert list(document) == [
        "format_version", "endpoint", "read_at", "total", "matched", "shown", "services",
    ]  # fmt: skip
    assert document["format_version"] == "1" and document["read_at"] == "2026-03-02T09:00:00Z"
    assert (document["total"], document["matched"], document["shown"]) == (7, 3, 3)
    first = document["services"][0]
    assert list(first) == [
        "service_id", "name", "display_name", "type", "family", "product", "plan_code",
        "expiration", "renew_mode", "renew_period", "lifecycle", "lifecycle_state",
        "resource_state", "termination_date", "pending_actions", "allowed_actions",
        "manageable", "unpaid", "parent_id", "parent", "children", "commitment",
    ]  # fmt: skip
    assert first["expiration"] == "2026-04-01T09:00:00Z" and first["children"] == [2]
    assert document["services"][1]["parent"] == "example.com"


def committed(service: LiveService, strategy: EndStrategy | None) -> LiveService:
    commitment = Commitment(
        end_date=date(2026, 9, 1), strategy=strategy, possible_strategies=tuple(EndStrategy)
    )
    return replace(service, commitment=commitment)


COMMITTED = LiveAccount.from_services(
    [
        committed(svc(1, "keep.example.com"), EndStrategy.STOP_ENGAGEMENT_KEEP_PRICE),
        committed(svc(2, "again.example.com"), EndStrategy.REACTIVATE_ENGAGEMENT),
        committed(svc(3, "ends.example.com"), EndStrategy.CANCEL_SERVICE),
        committed(svc(4, "norule.example.com"), None),
        svc(5, "free.example.com"),
    ]
)


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        (CommitmentFilter.ANY, ["again", "ends", "keep", "norule"]),
        (CommitmentFilter.NONE, ["free"]),
        (CommitmentFilter.KEEP_PRICE, ["keep"]),
        (CommitmentFilter.RECOMMIT, ["again"]),
        (CommitmentFilter.DEFAULT_PRICE, []),
        (CommitmentFilter.TERMINATE, ["ends"]),
    ],
)
def test_the_commitment_filter_speaks_the_specs_words(
    wanted: CommitmentFilter, expected: list[str]
) -> None:
    listing = select(COMMITTED, ServiceQuery(commitment=wanted), now=NOW, endpoint="sandbox")
    assert [row.service.name.split(".")[0] for row in listing.rows] == expected


def test_the_commitment_column_shows_only_when_a_service_has_one() -> None:
    listing = select(COMMITTED, ServiceQuery(), now=NOW, endpoint="sandbox")
    table = render(listing, OutputFormat.TABLE, width=None)
    header = table.splitlines()[0]
    assert header.split()[-1] == "COMMITMENT"
    rows = {line.split()[0]: line for line in table.splitlines()[1:6]}
    assert rows["keep.example.com"].endswith("to 2026-09-01, then keep_price")
    assert rows["ends.example.com"].endswith("then terminate_at_commitment_end")
    assert rows["norule.example.com"].endswith("then no end rule")
    assert rows["free.example.com"].endswith("—")
    assert "| Commitment |" in render(listing, OutputFormat.MARKDOWN)
    document = json.loads(render(listing, OutputFormat.JSON))
    keep = next(s for s in document["services"] if s["name"] == "keep.example.com")
    assert keep["commitment"] == {
        "end_date": "2026-09-01",
        "end_rule": "STOP_ENGAGEMENT_KEEP_PRICE",
        "commitment_end": "keep_price",
        "possible_end_rules": [s.value for s in EndStrategy],
    }
    free = next(s for s in document["services"] if s["name"] == "free.example.com")
    assert free["commitment"] is None
    rows_csv = list(csv.DictReader(io.StringIO(render(listing, OutputFormat.CSV))))
    by_name = {row["name"]: row for row in rows_csv}
    assert by_name["keep.example.com"]["commitment_end_rule"] == "STOP_ENGAGEMENT_KEEP_PRICE"
    assert by_name["keep.example.com"]["commitment_end_date"] == "2026-09-01"
    assert by_name["free.example.com"]["commitment_end_date"] == ""
    plain = select(ACCOUNT, ServiceQuery(), now=NOW, endpoint="sandbox")
    assert "COMMITMENT" not in render(plain, OutputFormat.TABLE, width=None)
    assert "Commitment" not in render(plain, OutputFormat.MARKDOWN)


def test_csv_has_the_documented_columns_and_neutralises_formulas() -> None:
    hostile = LiveAccount.from_services([svc(1, "=cmd|' /C calc'!A0", display="+1")])
    listing = select(hostile, ServiceQuery(), now=NOW, endpoint="sandbox")
    rows = list(csv.reader(io.StringIO(render(listing, OutputFormat.CSV))))
    assert tuple(rows[0]) == CSV_COLUMNS
    record = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    assert record["name"].startswith("'=") and record["display_name"] == "'+1"
    assert record["manageable"] == "true" and record["parent_id"] == ""


def test_markdown_escapes_names() -> None:
    hostile = LiveAccount.from_services([svc(1, "a|b<script>`x`_*")])
    listing = select(hostile, ServiceQuery(), now=NOW, endpoint="sandbox")
    text = render(listing, OutputFormat.MARKDOWN)
    row = text.splitlines()[-1]
    assert "<script>" not in text and row.count(" | ") == 5
    assert md("a|b") == "a\\|b"


@pytest.mark.parametrize(
    ("text", "delta"),
    [("30d", timedelta(days=30)), ("12h", timedelta(hours=12)), ("2w", timedelta(weeks=2)),
     ("90min", timedelta(minutes=90)), (" 45S ", timedelta(seconds=45)), ("0d", timedelta(0)),
     ("PT30M", timedelta(minutes=30)), ("P30D", timedelta(days=30)), ("1.5d", timedelta(hours=36))],
)  # fmt: skip
def test_parse_window(text: str, delta: timedelta) -> None:
    assert parse_window(text).as_timedelta() == delta


def test_parse_window_reads_months_as_calendar_months() -> None:
    # From 31 January, "within a month" ends on the last day of February.
    start = datetime(2027, 1, 31, 12, tzinfo=UTC)
    for text in ("1mo", "P1M"):
        assert parse_window(text).after(start) == datetime(2027, 2, 28, 12, tzinfo=UTC)


@pytest.mark.parametrize("text", ["30", "d", "-3d", "9999999d", "1m", "P", "1.5mo"])
def test_parse_window_refuses(text: str) -> None:
    with pytest.raises(UsageError):
        parse_window(text)


def test_the_ambiguous_m_is_refused_with_both_readings() -> None:
    with pytest.raises(UsageError) as refused:
        parse_window("1m")
    assert "ambiguous" in refused.value.message
    assert refused.value.hint == "write 1min for minutes or 1mo for months"


def test_expired_services_are_listed_only_when_asked() -> None:
    account = LiveAccount.from_services(
        [svc(1, "late.example.com", expires_in=-timedelta(days=2)), svc(2, "soon.example.com")]
    )

    def ids(query: ServiceQuery) -> list[int]:
        return [r.service.service_id for r in select(account, query, now=NOW, endpoint="x").rows]

    assert ids(ServiceQuery(expiring_within=parse_window("30d"))) == [2]
    assert ids(ServiceQuery(expiring_within=parse_window("30d"), include_expired=True)) == [1, 2]
    assert ids(ServiceQuery()) == [1, 2]  # without a window, every service


# -- the command --------------------------------------------------------------------------


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No OVH_* from the developer's shell, no ovh.conf of theirs, a private state dir."""
    isolate(tmp_path, monkeypatch)
    monkeypatch.setenv("COLUMNS", "80")
    return tmp_path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    return cli(capsys, "services", *args)


SEED = seeded_account(
    120000101, 120000201, 120000202, 120000301, 120000105, 120000601,
    rules={"it-me-only": "/me"},
)  # fmt: skip

EXPECTED = {  # id: (name, type, expiration, period, lifecycle, parent_id)
    120000101: ("example.com", "domain", "2027-03-01T00:00:00Z", "P12M", "renew", None),
    120000201: ("example.com", "hosting/web", "2027-03-01T00:00:00Z", "P12M", "renew", 120000101),
    120000202: ("old-shop.example.org", "hosting/web", "2026-06-01T12:00:00Z", "P1M",
                "terminate_at_expiry", None),
    120000301: ("vps-1a2b3c4d.vps.ovh.net", "vps", "2026-04-01T00:00:00Z", "P1M",
                "manual_renew", None),
    120000105: ("forgotten.io", "domain", "2026-02-20T00:00:00Z", "P12M", "expired", None),
    120000601: ("hosted-ab12345-1", "email/exchange", "2026-03-20T00:00:00Z", "P1M", "renew",
                None),
}  # fmt: skip


@pytest.fixture
def seeded(
    sandbox_server: SandboxServer, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> SandboxServer:
    return serve_seed(sandbox_server, monkeypatch, SEED, READ_ALL_KEYS)


@pytest.mark.parametrize("strategy", ["auto", "per-id"])
def test_json_lists_every_seeded_service(
    seeded: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    strategy: str,
) -> None:
    monkeypatch.setenv("RECONCILER_READ_STRATEGY", strategy)
    code, out, err = run_cli(capsys, "--format", "json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert document["endpoint"] == seeded.url
    read_at = datetime.fromisoformat(document["read_at"])  # the sandbox's (stopped) clock
    assert SANDBOX_EPOCH <= read_at < SANDBOX_EPOCH + timedelta(seconds=5)
    got = {
        s["service_id"]: (
            s["name"], s["type"], s["expiration"], s["renew_period"], s["lifecycle"],
            s["parent_id"],
        )
        for s in document["services"]
    }  # fmt: skip
    assert got == EXPECTED
    by_id = {s["service_id"]: s for s in document["services"]}
    assert by_id[120000101]["children"] == [120000201]
    assert by_id[120000201]["parent"] == "example.com"
    assert by_id[120000601]["manageable"] is False
    order = [s["service_id"] for s in document["services"]]
    assert order.index(120000201) == order.index(120000101) + 1  # grouped under its parent


def test_csv_and_table_against_the_server(
    seeded: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "--format", "csv", "--sort", "expiry")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    roots = [int(r["service_id"]) for r in rows if not r["parent_id"]]
    assert roots == [120000105, 120000601, 120000301, 120000202, 120000101]
    code, out, _ = run_cli(capsys, "--expiring-within", "30d")
    assert code == 0
    # forgotten-project.io expired 10 days ago: not "expiring", shown only when asked.
    assert "forgotten" not in out and "hosted-ab12345-1" in out and "old-shop" not in out
    code, out, _ = run_cli(capsys, "--expiring-within", "30d", "--include-expired")
    assert code == 0
    assert "forgotten.io" in out and "hosted-ab12345-1" in out and "old-shop" not in out
    # Captured, not a terminal: never folded to COLUMNS=80, one line per service.
    lines = out.splitlines()
    rows = lines[1 : next(i for i, line in enumerate(lines) if " services on " in line)]
    assert rows and all(row.split()[1].isdigit() for row in rows), out


@pytest.mark.parametrize(
    ("variable", "value", "first", "hint"),
    [
        ("OVH_APPLICATION_KEY", "no-such-key", "403 INVALID_KEY", "hint: "),
        ("OVH_APPLICATION_SECRET", "not-the-secret", "400 INVALID_SIGNATURE", "hint: "),
        (
            "OVH_CONSUMER_KEY",
            "it-me-only",
            "403 NOT_GRANTED_CALL",
            "hint: the consumer key has no access rule for GET /services; request a key with "
            "that rule (`reconciler credentials request --role apply`)",
        ),
    ],
    ids=["unknown-key", "wrong-secret", "missing-access-rule"],
)
def test_a_refused_key_is_one_clear_line_and_a_hint(
    seeded: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    first: str,
    hint: str,
) -> None:
    monkeypatch.setenv(variable, value)
    code, out, err = run_cli(capsys, "--format", "json")
    assert code == 1 and out == ""
    error, said = err.splitlines()
    assert error.startswith(f"error: OVH API GET /services failed: {first}")
    assert "(query id " in error
    assert said.startswith(hint)
    assert "it-as" not in err and "not-the-secret" not in err  # no secret is echoed


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield port


def test_unreachable_endpoint_is_one_clear_line(
    isolated: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    closed_port: int,
) -> None:
    use_keys(monkeypatch, "a", "b", "c")
    code, out, err = run_cli(capsys, "--endpoint", f"http://127.0.0.1:{closed_port}/1.0")
    assert code == 1 and out == ""
    first, hint = err.splitlines()
    assert first.startswith(f"error: cannot reach the OVH API at 127.0.0.1:{closed_port}")
    assert "gave up after 2 attempts" in first
    assert "--endpoint" in hint


def test_missing_credentials_is_one_clear_line(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "--endpoint", "ovh-eu")
    assert code == 1
    assert err.splitlines()[0] == "error: no OVH credentials configured for ovh-eu"


def test_bad_endpoint_names_where_it_came_from(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OVH_ENDPOINT", "http://api.example.net/1.0")
    code, _, err = run_cli(capsys)
    assert code == 1
    assert "plain http:// is allowed only on a loopback address" in err
    assert "(from OVH_ENDPOINT)" in err


def test_bad_options(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "--expiring-within", "soon")
    assert code == 1 and "error: --expiring-within 'soon' is not a duration" in err
    code, _, err = run_cli(capsys, "--sort", "price")
    assert code == 1 and "Invalid value for '--sort'" in err  # usage errors exit 1
    code, _, err = run_cli(capsys, "--concurrency", "0")
    assert code == 1 and "Invalid value for '--concurrency'" in err


def test_embedded_sandbox_needs_no_set_up(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "--format", "json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert document["endpoint"] == "sandbox"
    assert document["total"] >= 10
    assert (isolated / "state" / "sandbox.db").exists()
    families = {s["family"] for s in document["services"]}
    assert {"web_hosting", "domain", "vps", "telecom", "microsoft", "mx_plan"} <= families
    # The table too, and a second run reuses the state.
    code, out, _ = run_cli(capsys)
    assert code == 0 and out.startswith("NAME") and "on sandbox" in out


def test_the_commitment_option_on_the_demo_account(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "--commitment", "any", "--format", "csv")
    assert (code, err) == (0, ""), err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["name"] for row in rows] == ["ns3012345.ip-51-75-10.eu"]
    assert rows[0]["commitment_end_rule"] == "REACTIVATE_ENGAGEMENT"
    code, out, _ = run_cli(capsys, "--commitment", "keep_price")
    assert code == 0 and out.startswith("No services to show")
    code, _, err = run_cli(capsys, "--commitment", "cancel")
    assert code == 1 and "--commitment" in err


# -- the shared helper: which endpoint, which state directory --------------------------------


def test_endpoint_precedence(tmp_path: Path) -> None:
    from reconciler.cli.common import resolve_target

    conf = tmp_path / "ovh.conf"
    conf.write_text("[default]\nendpoint=ovh-ca\n")
    paths = (conf,)
    env = {"OVH_ENDPOINT": "ovh-us"}
    cases = [
        (("kimsufi-eu", env, paths), ("kimsufi-eu", "--endpoint")),
        ((None, env, paths), ("ovh-us", "OVH_ENDPOINT")),
        ((None, {}, paths), ("ovh-ca", f"{conf} [default] endpoint")),
        ((None, {}, ()), ("sandbox", "the default")),
        (("  ", {}, ()), ("sandbox", "the default")),
    ]
    for (option, environ, search), expected in cases:
        target = resolve_target(option, environ=environ, search_paths=search)
        assert (target.name, target.source) == expected


def test_read_strategy_from_the_environment(tmp_path: Path) -> None:
    from reconciler.cli.common import build_client, resolve_target
    from reconciler.ovh.client import ReadStrategy

    env = {"OVH_APPLICATION_KEY": "a", "OVH_APPLICATION_SECRET": "b", "OVH_CONSUMER_KEY": "c"}
    target = resolve_target("ovh-eu", environ={}, search_paths=())
    client = build_client(
        target, environ={**env, "RECONCILER_READ_STRATEGY": "per-id"}, search_paths=()
    )
    assert client.read_strategy is ReadStrategy.PER_ID
    assert build_client(target, environ=env, search_paths=()).read_strategy is ReadStrategy.AUTO
    with pytest.raises(UsageError, match="RECONCILER_READ_STRATEGY='fast'"):
        build_client(target, environ={**env, "RECONCILER_READ_STRATEGY": "fast"}, search_paths=())


def test_embedded_state_defaults_to_dot_reconciler(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RECONCILER_STATE_DIR")
    code, _, _ = run_cli(capsys, "--format", "csv", "--limit", "1")
    assert code == 0
    assert (isolated / ".reconciler" / "sandbox.db").exists()
