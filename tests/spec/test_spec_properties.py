"""Properties of the loader, checked with hypothesis.

- Whatever the input (any bytes, YAML-ish text, a valid spec with a few characters
  changed), ``parse_spec`` returns a ``Spec`` or raises ``SpecError``, never anything
  else; every problem is one line, located inside the file, and bounded in length.
- Any spec written by ``dump_spec`` reads back equal (round trip).
- libyaml and the pure Python parser read a spec into the same data and marks.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marked_yaml import FAST_PARSER, PURE_PARSER, compose, is_invisible
from reconciler.core.lifecycle import Lifecycle
from reconciler.core.spec import (
    KNOWN_TYPES,
    ServiceSpec,
    Spec,
    UnmanagedPolicy,
    dump_spec,
    parse_spec,
)
from reconciler.errors import SpecError

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(SETTINGS, max_examples=100)  # for the slower properties

VALID = b"""\
version: 1
endpoint: ovh-eu
unmanaged: report
services:
  www.example.com:
    lifecycle: renew
    period: P12M
  old.example.com: {lifecycle: terminate_at_expiry, protect: false}
  example.com hosting:
    name: example.com
    type: hosting/web
    lifecycle: delete_now
"""

YAMLISH_TOKENS = [
    "version", "services", "lifecycle", "period", "type", "protect", "name", "endpoint",
    "unmanaged", "renew", "terminate_at_expiry", "delete_now", "P12M", "P1Y", "true", "yes",
    "1", "~", "www.example.com", "hosting/web", ":", ": ", " ", "  ", "\n", "\r\n", "\t",
    "-", "- ", "[", "]", "{", "}", ",", "?", "&a ", "*a", "<<", "!!str ", "!x ", "'", '"',
    "#", "---", "...", "|", ">", "%YAML 1.2\n", "\\u202e", "\\x00", "\u202e", "\x85", "é",
    "\ufeff", "@", "`", "%", "application_secret", "password",
]  # fmt: skip


def outcome(data: bytes) -> Spec | SpecError:
    """parse_spec's answer; any exception but SpecError fails the property."""
    try:
        return parse_spec(data, "s.yaml")
    except SpecError as error:
        return error


def check_problems_are_well_formed(data: bytes, error: SpecError) -> None:
    text = data.decode("utf-8", "replace")
    lines = max(1, text.count("\n") + text.count("\r") + 1)
    assert error.problems
    for problem in error.problems:
        assert 1 <= problem.line <= lines
        assert problem.column >= 1
        for part in (problem.message, problem.fix or ""):
            assert "\n" not in part and "\r" not in part
            assert len(part) < 400
    assert len(error.problems) <= 101


@SETTINGS
@given(st.binary(max_size=3_000))
def test_any_bytes_end_in_a_spec_or_a_spec_error(data: bytes) -> None:
    result = outcome(data)
    if isinstance(result, SpecError):
        check_problems_are_well_formed(data, result)


@SETTINGS
@given(st.lists(st.sampled_from(YAMLISH_TOKENS), max_size=80))
def test_yamlish_text_ends_in_a_spec_or_a_spec_error(tokens: list[str]) -> None:
    data = "".join(tokens).encode("utf-8")
    result = outcome(data)
    if isinstance(result, SpecError):
        check_problems_are_well_formed(data, result)


@SETTINGS
@given(st.text(max_size=400))
def test_any_text_ends_in_a_spec_or_a_spec_error(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    result = outcome(data)
    if isinstance(result, SpecError):
        check_problems_are_well_formed(data, result)


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(VALID)),
            st.integers(min_value=0, max_value=3),
            st.sampled_from(YAMLISH_TOKENS),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_a_valid_spec_with_a_few_edits_ends_in_a_spec_or_a_spec_error(
    edits: list[tuple[int, int, str]],
) -> None:
    text = VALID.decode()
    for position, removed, inserted in edits:
        at = min(position, len(text))
        text = text[:at] + inserted + text[at + removed :]
    data = text.encode("utf-8")
    result = outcome(data)
    if isinstance(result, SpecError):
        check_problems_are_well_formed(data, result)


# -- round trips ---------------------------------------------------------------------------

LABEL_CHARS = st.characters(
    blacklist_categories=["Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"], blacklist_characters="\t"
).filter(lambda char: not is_invisible(char))  # variation selectors, fillers: refused too
NAMES = st.one_of(
    st.from_regex(r"[a-z0-9][a-z0-9.-]{0,40}", fullmatch=True),
    st.text(LABEL_CHARS, min_size=1, max_size=30).filter(lambda s: not any(c.isspace() for c in s)),
)
LABELS = st.text(LABEL_CHARS, min_size=1, max_size=30).filter(lambda s: s.strip() == s)


@st.composite
def services(draw: st.DrawFn) -> ServiceSpec:
    name = draw(NAMES)
    lifecycle = draw(st.sampled_from(Lifecycle))
    if lifecycle is Lifecycle.DELETE_NOW:
        service_type = draw(st.sampled_from([None, "hosting/web"]))
    else:
        service_type = draw(st.one_of(st.none(), st.sampled_from(KNOWN_TYPES)))
    period = None
    if lifecycle is Lifecycle.RENEW:
        period = draw(st.one_of(st.none(), st.integers(1, 120).map(lambda n: f"P{n}M")))
    protect = lifecycle is not Lifecycle.DELETE_NOW and draw(st.booleans())
    key = draw(st.one_of(st.just(name), LABELS)) if service_type else name
    return ServiceSpec(
        key=key,
        name=name,
        lifecycle=lifecycle,
        period=period,
        type=service_type,
        protect=protect,
    )


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    drawn = draw(st.lists(services(), max_size=12))
    # Keys unique; a name used twice needs a distinct type on each.
    keys: set[str] = set()
    by_name: dict[str, list[ServiceSpec]] = {}
    for service in drawn:
        by_name.setdefault(service.name, []).append(service)
    kept = []
    for service in drawn:
        same = by_name[service.name]
        if service.key in keys:
            continue
        if len(same) > 1 and service is not same[0]:
            continue
        keys.add(service.key)
        kept.append(service)
    return Spec(
        endpoint=draw(st.sampled_from(["sandbox", "ovh-eu", "ovh-ca", "http://127.0.0.1:9"])),
        unmanaged=draw(st.sampled_from(UnmanagedPolicy)),
        services=tuple(kept),
    )


@FEWER
@given(specs())
def test_any_spec_round_trips_through_dump_spec(spec: Spec) -> None:
    text = dump_spec(spec)
    again = parse_spec(text.encode("utf-8"), "s.yaml")
    assert again.endpoint == spec.endpoint
    assert again.unmanaged == spec.unmanaged
    assert [s.model_copy(update={"location": None}) for s in again.services] == list(spec.services)
    assert dump_spec(again) == text


@FEWER
@given(specs(), st.sampled_from([None, "block", "flow"]))
def test_both_parsers_read_the_same_data_and_marks(spec: Spec, style: str | None) -> None:
    text = dump_spec(spec)
    if style == "flow":  # the same spec, in flow style on few lines
        import yaml

        text = yaml.safe_dump(yaml.safe_load(text), default_flow_style=True, width=60)
    data = text.encode("utf-8")
    fast = compose(data, parser=FAST_PARSER)
    pure = compose(data, parser=PURE_PARSER)
    assert fast.complete and pure.complete
    assert fast.data == pure.data and dict(fast.marks) == dict(pure.marks)
    assert fast.problems == pure.problems
