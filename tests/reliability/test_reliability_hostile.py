"""Hostile input: whatever the spec loader, the plan-file loader and the API response
parser are given ends in a valid result or in one clear error of the project's tree —
never in another exception, never in a message longer than a line — and bombs are
refused fast in bounded memory.

- Fuzzing (hypothesis): structured YAML documents and byte-level mutations of the
  example specs through ``parse_spec``; JSON-level and byte-level mutations of a real
  saved plan through ``parse_plan``; mutations of recorded services through
  ``parse_service``, random answers through ``decode_json`` / ``error_from_answer`` /
  ``parse_retry_after``, random e-mails through the token reader, random pages through
  the Iceberg reader and random OAuth2 token answers. ``tests/spec`` and
  ``tests/render`` fuzz the loaders with random bytes and single edits already; these
  generators reach deeper (valid structure, wrong content).
- The CLI, as a process: ``reconciler validate`` over a batch of mutated specs, and
  ``reconciler apply`` in-process over mutated plans: no ``Traceback``, ever.
- Bombs, measured with ``tracemalloc`` (memory, not time): billion laughs, nesting a
  million deep, a spec of half a million YAML nodes, 1 GB files (sparse: refused from
  their size), endless streams (``/dev/zero``), a plan nested ten million deep.

The number of examples scales with ``RECONCILER_RELIABILITY_RUNS`` (10 per run).
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import tracemalloc
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cli_runs import reconciler, run_process
from fakes import FakeSleep, RecordingTransport
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import campaign_size, record_figures

from reconciler.apply.mailbox import confirmation_token
from reconciler.cli import main
from reconciler.clock import ManualClock
from reconciler.core.live import LiveService, parse_service
from reconciler.core.plan import Plan
from reconciler.core.planfile import MAX_PLAN_BYTES, dump_plan, load_plan, parse_plan
from reconciler.core.planner import make_plan
from reconciler.core.spec import MAX_SPEC_BYTES, Spec, load_spec, parse_spec
from reconciler.endpoints import Endpoint
from reconciler.errors import ApiError, PlanFileError, ReconcilerError, SpecError
from reconciler.ovh.auth import OAuth2Tokens
from reconciler.ovh.client import OvhClient
from reconciler.ovh.credentials import OAuth2Credentials, SignatureCredentials
from reconciler.ovh.responses import decode_json, error_from_answer, parse_retry_after

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
FIXTURES = sorted((ROOT / "tests" / "live" / "fixtures").glob("*.json"))
EXAMPLES_PER_PROPERTY = 10 * campaign_size(10)  # 100 by default
FUZZ = settings(
    max_examples=EXAMPLES_PER_PROPERTY,
    deadline=None,
    database=None,
    # Seeded like every other campaign: a run that passes passes again (the assertions
    # that both outcomes were reached must not depend on the luck of a random seed).
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MAX_MESSAGE = 600  # characters: errors never echo a hostile input whole
ASCII = st.characters(min_codepoint=32, max_codepoint=126)  # what a header value can carry


def one_clear_line(error: ReconcilerError) -> None:
    text = str(error)
    assert "\n" not in text and "\r" not in text, repr(text[:200])
    assert 0 < len(text) <= MAX_MESSAGE, len(text)
    if isinstance(error, SpecError):
        for line in error.lines():
            assert "\n" not in line and len(line) <= MAX_MESSAGE


# --- generators -----------------------------------------------------------------------

KEYS = ["version", "endpoint", "unmanaged", "services", "lifecycle", "period", "mode",
        "type", "protect", "name", "application_secret", "&a", "<<", "?", ""]  # fmt: skip
WORDS = ["renew", "terminate_at_expiry", "delete_now", "hosting/web", "domain", "P12M", "P1Y",
         "P0M", "sandbox", "ovh-eu", "http://10.0.0.1", "report", "ignore", "error", "manual",
         "automatic", "yes", "no", "~", "null", "1e309", "0x1F", "!!python/object:os.system",
         "*a", "&a x", "é.example.com", "www.example.com", "\u202e", "\x00", "a" * 300]  # fmt: skip

scalars = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
yaml_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS + WORDS), st.text(max_size=12)), inner, max_size=5
        ),  # fmt: skip
    ),
    max_leaves=30,
)


@st.composite
def spec_documents(draw: st.DrawFn) -> bytes:
    """Spec-shaped documents: the right keys mostly, any values, any style."""
    services = draw(
        st.dictionaries(
            st.one_of(st.sampled_from(WORDS), st.from_regex(r"[a-z0-9.-]{1,30}", fullmatch=True)),
            st.one_of(
                st.fixed_dictionaries(
                    {"lifecycle": st.sampled_from(WORDS)},
                    optional={
                        k: yaml_values for k in ("period", "mode", "type", "protect", "name")
                    },  # fmt: skip
                ),
                yaml_values,
            ),
            max_size=6,
        )
    )
    document: dict[Any, Any] = {"version": draw(st.one_of(st.just(1), scalars))}
    document.update(draw(st.dictionaries(st.sampled_from(KEYS), yaml_values, max_size=3)))
    document["services"] = services
    style = draw(st.sampled_from([None, True, False]))
    text = yaml.safe_dump(document, default_flow_style=style, allow_unicode=draw(st.booleans()))
    return text.encode("utf-8")


def mutate_bytes(data: bytes, rng: random.Random, edits: int) -> bytes:
    """Insert, delete, replace or duplicate random spans."""
    out = bytearray(data)
    for _ in range(edits):
        at = rng.randrange(len(out) + 1)
        kind = rng.randrange(4)
        if kind == 0:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif kind == 1:
            del out[at : at + rng.randint(1, 16)]
        elif kind == 2 and at < len(out):
            out[at] = rng.choice(b"\x00\t\n :-[]{}&*!|>'\"#%@`,?\xff")
        else:
            out[at:at] = out[at : at + rng.randint(1, 64)]
    return bytes(out)


# --- the spec loader ----------------------------------------------------------------------


def test_the_spec_loader_takes_anything() -> None:
    outcomes: Counter[str] = Counter()
    corpus = [path.read_bytes() for path in EXAMPLES]

    @FUZZ
    @given(st.one_of(spec_documents(), st.tuples(st.sampled_from(corpus), st.randoms(),
                                                  st.integers(1, 12))))  # fmt: skip
    def check(case: bytes | tuple[bytes, random.Random, int]) -> None:
        data = case if isinstance(case, bytes) else mutate_bytes(case[0], case[1], case[2])
        try:
            result = parse_spec(data, "fuzz.yaml")
        except SpecError as error:
            one_clear_line(error)
            outcomes["spec error"] += 1
            return
        assert isinstance(result, Spec)
        outcomes["valid spec"] += 1

    check()
    assert outcomes["spec error"] and outcomes["valid spec"]
    record_figures("hostile-spec", inputs=sum(outcomes.values()), **outcomes)


# --- the plan-file loader -----------------------------------------------------------------


@pytest.fixture(scope="module")
def real_plan() -> Plan:
    """A plan made by the planner against the demo account (every kind of action)."""
    from reconciler.observe import read_for_specs
    from reconciler.sandbox import create_app, open_state
    from reconciler.sandbox.clock import ManualWallClock
    from reconciler.sandbox.testing import SANDBOX_EPOCH

    spec = parse_spec((ROOT / "examples" / "quickstart.yaml").read_bytes(), "quickstart.yaml")
    backend = open_state(":memory:", wall=ManualWallClock(SANDBOX_EPOCH))
    try:
        transport = httpx.ASGITransport(app=create_app(backend))
        endpoint = Endpoint(name="sandbox", base_url="http://sandbox.invalid/1.0")
        credentials = SignatureCredentials("demo-ak", "demo-as", "demo-ck")

        async def plan() -> Plan:
            async with OvhClient(endpoint, credentials, transport=transport) as client:
                account = await read_for_specs(client, [spec])
                return make_plan(spec, account, now=client.api_clock().now(), endpoint="sandbox")

        made = asyncio.run(plan())
    finally:
        backend.close()
    assert made.has_changes
    return made


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _set(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    *parents, last = path
    target = document
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return document


_DELETE = object()


def _get(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


def test_the_plan_loader_takes_anything(real_plan: Plan) -> None:
    text = dump_plan(real_plan)
    outcomes: Counter[str] = Counter()

    @FUZZ
    @given(st.data())
    def check(data: st.DataObject) -> None:
        if data.draw(st.booleans()):
            document = json.loads(text)
            for _ in range(data.draw(st.integers(1, 4))):
                paths = _paths(document)[1:]
                if not paths:
                    break
                where = data.draw(st.sampled_from(paths))
                value = data.draw(st.one_of(st.just(_DELETE), yaml_values,
                                            st.sampled_from(paths).map(list)))  # fmt: skip
                try:
                    document = _set(document, where, value)
                except (KeyError, IndexError, TypeError):
                    pass
            raw = json.dumps(document, allow_nan=True).encode()
        else:
            rng = data.draw(st.randoms())
            raw = mutate_bytes(text.encode(), rng, data.draw(st.integers(1, 10)))
        try:
            plan = parse_plan(raw, source="fuzz.json")
        except PlanFileError as error:
            one_clear_line(error)
            outcomes["plan file error"] += 1
            return
        assert isinstance(plan, Plan)
        assert parse_plan(dump_plan(plan)) == plan  # what loads, saves and loads the same
        outcomes["valid plan"] += 1

    check()
    assert outcomes["plan file error"] and outcomes["valid plan"]
    record_figures("hostile-plan", inputs=sum(outcomes.values()), **outcomes)


# --- the API response parser --------------------------------------------------------------


def test_the_api_response_parser_takes_anything() -> None:
    recorded = [json.loads(path.read_text())["response"] for path in FIXTURES]
    outcomes: Counter[str] = Counter()

    @FUZZ
    @given(st.data())
    def check(data: st.DataObject) -> None:
        # A recorded service with fields replaced, deleted or retyped — or, gently, a
        # field given another field's value of the same kind (dates, states, periods).
        service = json.loads(json.dumps(data.draw(st.sampled_from(recorded))))
        for _ in range(data.draw(st.integers(0, 3))):
            paths = _paths(service)[1:]
            if not paths:
                break
            where = data.draw(st.sampled_from(paths))
            leaves = [_get(service, path) for path in paths]
            same_kind = [v for v in leaves if type(v) is type(_get(service, where))]
            value = data.draw(st.one_of(st.just(_DELETE), yaml_values,
                                        st.sampled_from(same_kind or [None])))  # fmt: skip
            try:  # a copy: the value may be an ancestor of where it goes
                service = _set(service, where, copy.deepcopy(value))
            except (KeyError, IndexError, TypeError):
                pass
        try:
            parsed = parse_service(service)
        except ApiError as error:
            one_clear_line(error)
            outcomes["service: api error"] += 1
        else:
            assert isinstance(parsed, LiveService)
            outcomes["service: parsed"] += 1

        # Any body, any status, any headers.
        body = data.draw(st.one_of(st.binary(max_size=200),
                                   yaml_values.map(lambda v: json.dumps(v).encode())))  # fmt: skip
        status = data.draw(st.sampled_from([200, 204, 400, 401, 403, 404, 409, 429, 460, 500,
                                            502, 503, 599, 418]))  # fmt: skip
        headers = data.draw(st.dictionaries(
            st.sampled_from(["X-Ovh-Queryid", "Retry-After", "content-type"]),
            st.text(ASCII, max_size=40), max_size=3))  # fmt: skip
        try:
            decode_json(body, status=status, method="GET", path="/services")
            outcomes["answer: decoded"] += 1
        except ApiError as error:
            one_clear_line(error)
            outcomes["answer: api error"] += 1
        error = error_from_answer(
            status=status,
            reason="Reason",
            headers=headers,
            content=body,
            method="PUT",
            path="/services/1",
            now=ManualClock().now(),
        )
        one_clear_line(error)
        retry = parse_retry_after(headers.get("Retry-After"), ManualClock().now())
        assert retry is None or retry >= 0

        # Any e-mail, as the deletion flow reads its token.
        email = data.draw(st.one_of(yaml_values, st.fixed_dictionaries(
            {"body": st.one_of(st.text(max_size=200), st.sampled_from([
                "https://x/manager/#/billing/confirmTerminate?id=7&token=abcdefgh12",
                "confirmTerminate?id=7&token=" + "z" * 600, "www.example.com confirmTerminate?",
            ]))}, optional={"subject": st.text(max_size=40)})))  # fmt: skip
        token = confirmation_token(email, service_id=7, name="www.example.com")
        assert token is None or (8 <= len(token) <= 512 and "\n" not in token)

    check()
    assert outcomes["service: parsed"] and outcomes["service: api error"]
    cases = outcomes["service: parsed"] + outcomes["service: api error"]
    # Each case feeds four readers: a service, an answer (value and error), an e-mail.
    record_figures("hostile-api", cases=cases, inputs=4 * cases, **outcomes)


def test_the_iceberg_reader_and_the_token_endpoint_take_anything() -> None:
    outcomes: Counter[str] = Counter()
    endpoint = Endpoint(name="fuzz", base_url="http://fuzz.invalid/1.0",
                        oauth2_token_url="http://fuzz.invalid/token")  # fmt: skip

    sleep = FakeSleep()

    @FUZZ
    @given(
        pages=st.lists(
            st.one_of(st.binary(max_size=80), yaml_values.map(lambda v: json.dumps(v).encode())),
            min_size=1,
            max_size=3,
        ),  # fmt: skip
        total=st.one_of(st.none(), st.text(ASCII, max_size=6), st.integers(-5, 50).map(str)),
        size=st.one_of(st.none(), st.text(ASCII, max_size=4), st.integers(0, 5).map(str)),
        token=st.one_of(
            yaml_values,
            st.fixed_dictionaries(
                {"access_token": yaml_values},
                optional={"expires_in": yaml_values, "token_type": st.just("Bearer")},
            ),
        ).map(lambda v: json.dumps(v).encode()),
    )
    def check(pages: list[bytes], total: str | None, size: str | None, token: bytes) -> None:
        served = iter(pages * 50)

        def answer(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/auth/time"):
                return httpx.Response(200, json=1_770_000_000)
            headers = {}
            if total is not None:
                headers["X-Pagination-Elements"] = total
            if size is not None:
                headers["X-Pagination-Size"] = size
            return httpx.Response(200, content=next(served, b"[]"), headers=headers)

        async def read() -> None:
            client = OvhClient(endpoint, SignatureCredentials("ak", "as", "ck"),
                               transport=httpx.MockTransport(answer), sleep=sleep)  # fmt: skip
            async with client:
                await client.read_collection("/services", parse_service)

        try:
            asyncio.run(read())
            outcomes["pages: read"] += 1
        except ApiError as error:
            one_clear_line(error)
            outcomes["pages: api error"] += 1

        tokens = OAuth2Tokens(
            OAuth2Credentials("id", "secret", token_url="http://fuzz.invalid/token"), ManualClock()
        )
        try:
            tokens.store(token, path="/token")
            outcomes["token: stored"] += 1
        except ApiError as error:
            one_clear_line(error)
            assert "secret" not in str(error)
            outcomes["token: api error"] += 1

    check()
    assert outcomes["pages: read"] and outcomes["pages: api error"]
    cases = outcomes["pages: read"] + outcomes["pages: api error"]
    record_figures("hostile-iceberg-oauth2", cases=cases, inputs=2 * cases, **outcomes)


# --- the CLI over fuzzed files --------------------------------------------------------------


def test_the_cli_takes_fuzzed_specs_without_a_traceback(tmp_path: Path) -> None:
    rng = random.Random(4242)
    count = 10 * campaign_size(10)
    corpus = [path.read_bytes() for path in EXAMPLES]
    names = []
    for index in range(count):
        path = tmp_path / f"spec-{index:04d}.yaml"
        path.write_bytes(mutate_bytes(rng.choice(corpus), rng, rng.randint(1, 10)))
        names.append(path.name)
    done = run_process(reconciler("validate", "--format", "json", *names), cwd=tmp_path,
                       timeout=300)  # fmt: skip
    assert done.returncode in (0, 1), done.stderr[-500:]
    report = json.loads(done.stdout)
    assert sorted(json.dumps(report).count(f'"{name}"') > 0 for name in names) == [True] * count
    valid = sum(1 for name in names if f'"{name}"' in json.dumps(report) and
                _valid_in(report, name))  # fmt: skip
    record_figures("hostile-cli-specs", inputs=count, valid=valid, refused=count - valid)


def _valid_in(report: Any, name: str) -> bool:
    for entry in report.get("files", report.get("specs", [])) if isinstance(report, dict) else []:
        if isinstance(entry, dict) and name in json.dumps(entry):
            return bool(entry.get("valid", entry.get("ok")))
    return False


def test_apply_takes_fuzzed_plans_without_a_traceback(
    real_plan: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Through the command, in-process (``main``): every mutated plan file ends in exit
    0, 1 or 3 with no traceback. The plans point at the embedded sandbox in a temporary
    state directory: a mutation that still makes a valid plan is judged against it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state"))
    for name in ("OVH_ENDPOINT", "OVH_APPLICATION_KEY", "OVH_APPLICATION_SECRET",
                 "OVH_CONSUMER_KEY"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    rng = random.Random(77)
    text = dump_plan(real_plan).encode()
    codes: Counter[int] = Counter()
    count = 2 * campaign_size(10)
    for index in range(count):
        path = tmp_path / f"plan-{index:03d}.json"
        path.write_bytes(mutate_bytes(text, rng, rng.randint(1, 6)))
        with pytest.raises(SystemExit) as exited:
            main(["apply", path.name, "--auto-approve"])
        err = capsys.readouterr().err
        assert "Traceback" not in err and "internal error" not in err, err
        code = exited.value.code
        assert code in (0, 1, 3), err
        codes[int(code or 0)] += 1
    record_figures("hostile-cli-plans", inputs=count, exit_codes=dict(sorted(codes.items())))


# --- bombs, in bounded memory ----------------------------------------------------------------


def _laughs() -> bytes:
    lines = [b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        alias = ",".join([f"*{chr(96 + i)}"] * 9)
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [{alias}]".encode())
    return b"\n".join(lines) + b"\n"


def _many_nodes() -> bytes:
    head = b"version: 1\nservices:\n"
    body = b"".join(f"  s{i}.example.com: {{lifecycle: renew}}\n".encode() for i in range(140_000))
    return (head + body)[: MAX_SPEC_BYTES - 1]


def _sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as file:
        file.truncate(size)
    return path


BOMBS: list[tuple[str, Callable[[Path], object], type[ReconcilerError], float]] = [
    # (name, what to load, the error, peak memory allowed in MB)
    ("billion laughs", lambda _: parse_spec(_laughs(), "laughs.yaml"), SpecError, 4),
    (
        "spec nested a million deep",
        lambda _: parse_spec(b"[" * 1_000_000, "deep.yaml"),
        SpecError,
        16,
    ),  # fmt: skip
    ("spec of 1 GB", lambda tmp: load_spec(_sparse(tmp / "big.yaml", 10**9)), SpecError, 1),
    ("spec from an endless stream", lambda _: load_spec("/dev/zero"), SpecError, 16),
    ("plan of 1 GB", lambda tmp: load_plan(_sparse(tmp / "big.json", 10**9)), PlanFileError, 1),
    (
        "plan from an endless stream",
        lambda _: load_plan("/dev/zero"),
        PlanFileError,
        MAX_PLAN_BYTES / 1e6 + 8,
    ),  # fmt: skip
    (
        "plan nested ten million deep",
        lambda _: parse_plan(b'{"format_version":"1","a":' + b"[" * 10_000_000, source="deep.json"),
        PlanFileError,
        64,
    ),  # fmt: skip
]


# Under tracemalloc this one takes ~11 s (5 MB of YAML, the node limit reached): large
# campaigns only. tests/spec/test_spec_hostile.py checks the limit itself on every run.
if campaign_size(1) > 1:
    BOMBS.append(
        (
            "spec of half a million nodes",
            lambda _: parse_spec(_many_nodes(), "nodes.yaml"),
            SpecError,
            200,
        )  # fmt: skip
    )


@pytest.mark.parametrize("bomb", BOMBS, ids=[bomb[0] for bomb in BOMBS])
def test_bombs_are_refused_in_bounded_memory(
    bomb: tuple[str, Callable[[Path], object], type[ReconcilerError], float], tmp_path: Path
) -> None:
    name, load, error, allowed_mb = bomb
    tracemalloc.start()
    try:
        with pytest.raises(error) as refused:
            load(tmp_path)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    one_clear_line(refused.value)
    assert peak <= allowed_mb, f"{name}: {peak:.1f} MB"
    record_figures("hostile-bomb", bomb=name, peak_mb=round(peak, 2), allowed_mb=allowed_mb)


@pytest.mark.parametrize("ids", [["\x0c"], ["../me"], [".."], ["a/b"], [True], ["ok", "\n"]])
def test_ids_that_are_no_path_segment_make_a_malformed_listing(ids: list[Any]) -> None:
    """An id of ``GET /services`` becomes a path segment: one that is not a plain token
    is a malformed answer, and nothing else is read (it was an internal ``InvalidURL``,
    and ``../me`` would have read another route)."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/time"):
            return httpx.Response(200, json=1_770_000_000)
        return httpx.Response(200, json=ids)

    transport = RecordingTransport(answer)

    async def read() -> None:
        endpoint = Endpoint(name="fuzz", base_url="http://fuzz.invalid/1.0")
        client = OvhClient(endpoint, SignatureCredentials("ak", "as", "ck"),
                           transport=transport)  # fmt: skip
        async with client:
            await client.read_collection("/services", parse_service)

    with pytest.raises(ApiError, match="a list of ids was expected") as refused:
        asyncio.run(read())
    one_clear_line(refused.value)
    assert transport.paths() == ["/auth/time", "/services"]


@pytest.mark.parametrize(
    ("expires_in", "usable"),
    [(b"1e300", True), (b"100000000000000", True), (b"3600", True), (b"Infinity", False),
     (b"NaN", False), (b"-5", False), (b'"soon"', False)],
)  # fmt: skip
def test_an_oauth2_token_lifetime_out_of_range(expires_in: bytes, usable: bool) -> None:
    """A token's ``expires_in`` of 1e300 seconds is trusted for a day at most; one that is
    no positive number makes no usable token — never an internal OverflowError (found
    by fuzzing the token endpoint's answers)."""
    clock = ManualClock()
    tokens = OAuth2Tokens(
        OAuth2Credentials("id", "secret", token_url="http://fuzz.invalid/token"), clock
    )
    body = b'{"access_token": "a-token", "expires_in": ' + expires_in + b"}"
    if not usable:
        with pytest.raises(ApiError, match="without a usable access token") as refused:
            tokens.store(body, path="/token")
        one_clear_line(refused.value)
        return
    tokens.store(body, path="/token")
    assert tokens.expires_at is not None
    assert tokens.expires_at - clock.now() <= timedelta(days=1)
