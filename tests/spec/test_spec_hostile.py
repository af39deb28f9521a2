"""Hostile input is refused safely, quickly and in little memory, by ``parse_spec``.

The reader's own bounds (events consumed, nesting, nodes, floods) are shown in
``tests/marked_yaml``; here, that the spec keeps them and words them for a spec.
Nothing here measures wall time (timed tests flake): the work done is bounded instead,
by the size of what is kept and by the peak of Python memory (``tracemalloc``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hostile_yaml import BILLION_LAUGHS, peak_memory

from marked_yaml import DEFAULT_LIMITS, Limits
from reconciler.core.spec import MAX_SPEC_BYTES, load_spec, parse_spec
from reconciler.errors import SpecError, SpecProblem


def spec_problems(data: bytes, limits: Limits = DEFAULT_LIMITS) -> list[SpecProblem]:
    with pytest.raises(SpecError) as info:
        parse_spec(data, "s.yaml", limits=limits)
    return list(info.value.problems)


SPEC_LAUGHS = (
    b"version: 1\n"
    + BILLION_LAUGHS
    + b"services:\n  www.example.com: {lifecycle: renew, type: *i}\n"
)


def test_billion_laughs_through_parse_spec_names_every_anchor() -> None:
    found, peak = peak_memory(lambda: spec_problems(SPEC_LAUGHS), catch=True)
    assert not isinstance(found, BaseException)
    assert peak < 2_000_000  # nothing expanded
    anchors = [(p.line, p.column) for p in found if "anchor" in p.message]
    assert anchors == [(line, 4) for line in range(2, 11)]
    assert all("\n" not in p.message for p in found)


def test_a_flood_of_aliases_costs_its_bytes_and_the_problems_are_capped() -> None:
    data = b"version: 1\nx: &x 1\nservices: [" + b"*x," * 50_000 + b"]\n"
    found = spec_problems(data)
    assert len(found) == DEFAULT_LIMITS.max_problems + 1
    assert found[-1].message.startswith("too many problems")


def test_an_oversized_spec_is_refused_before_parsing() -> None:
    # Invalid YAML too: only the size is reported, so nothing was parsed.
    data = b"[" + b" " * MAX_SPEC_BYTES
    [problem] = spec_problems(data)
    assert (problem.line, problem.column) == (1, 1)
    assert problem.message == "the spec is larger than 5 MB"


def test_a_spec_of_exactly_the_maximum_size_is_read() -> None:
    header = b"version: 1\nservices: {}\n"
    data = header + b"#" * (MAX_SPEC_BYTES - len(header) - 1) + b"\n"
    assert len(data) == MAX_SPEC_BYTES
    assert parse_spec(data, "s.yaml").services == ()


def test_load_spec_refuses_a_huge_file_from_its_size_without_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as file:
        file.truncate(8 * 1024**3)  # 8 GB, sparse: reading it would take minutes
    error, peak = peak_memory(lambda: load_spec(huge), catch=True)
    assert isinstance(error, SpecError)
    assert error.problems[0].message == "the spec is larger than 5 MB"
    assert peak < 1_000_000  # not read


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_load_spec_reads_at_most_the_limit_from_an_endless_stream() -> None:
    error, peak = peak_memory(lambda: load_spec("/dev/zero"), catch=True)
    assert isinstance(error, SpecError)
    assert error.problems[0].message == "the spec is larger than 5 MB"
    assert peak < 3 * MAX_SPEC_BYTES


def test_deep_nesting_through_parse_spec_is_one_problem_and_no_recursion_error() -> None:
    for data in (
        b"version: 1\nservices: " + b"[" * 500_000,
        b"version: 1\nservices: " + b"[" * 20 + b"{a: " * 20 + b"1",
    ):
        [problem] = spec_problems(data)
        assert "nested more than" in problem.message
        assert problem.fix == "a spec needs three levels: version/services, the service, its fields"


def test_a_huge_number_of_keys_stops_at_the_node_limit_with_the_spec_fix() -> None:
    data = b"version: 1\nservices:\n" + b"".join(
        b"  s%d.example.com: {lifecycle: renew}\n" % i for i in range(50_000)
    )
    [problem] = spec_problems(data, Limits(max_nodes=1_000))
    assert problem.message == "the spec holds more than 1,000 YAML nodes"
    assert problem.fix is not None and "unmanaged: ignore" in problem.fix


def test_the_default_node_limit_leaves_room_for_very_large_accounts() -> None:
    nodes_per_service = 7  # key, mapping, lifecycle, period, type: keys and values
    assert DEFAULT_LIMITS.max_nodes // nodes_per_service >= 50_000


def test_a_flood_of_duplicate_keys_is_capped() -> None:
    data = b"version: 1\nservices: {}\n" + b"version: 1\n" * 30_000
    found = spec_problems(data)
    assert len(found) == DEFAULT_LIMITS.max_problems + 1
    assert found[-1].message.startswith("too many problems")


def test_a_long_key_is_refused_and_not_echoed_in_full() -> None:
    name = b"a" * 1_000 + b".example.com"
    [problem] = spec_problems(b"version: 1\nservices:\n  " + name + b": {lifecycle: renew}\n")
    assert (problem.line, problem.column) == (3, 3)
    assert "1012 characters long" in problem.message
    assert len(problem.message) < 200


def test_a_key_longer_than_yaml_allows_is_one_clear_problem() -> None:
    name = b"a" * 4_000_000 + b".example.com"
    [problem] = spec_problems(b"version: 1\nservices:\n  " + name + b": {lifecycle: renew}\n")
    assert problem.line == 3
    assert problem.fix is not None and "at most 1024 characters" in problem.fix
    assert len(str(problem)) < 300


def test_very_long_values_are_never_echoed_in_full() -> None:
    junk = b"x" * 1_000_000
    data = (
        b"version: 1\nendpoint: "
        + junk
        + b"\nunmanaged: "
        + junk
        + b"\nservices:\n  www.example.com:\n    lifecycle: "
        + junk
        + b"\n    period: "
        + junk
        + b"\n    type: "
        + junk
        + b"\n"
    )
    found = spec_problems(data)
    assert len(found) == 5
    assert all(len(str(problem)) < 400 for problem in found)


def test_a_very_long_comment_line_is_fine() -> None:
    data = b"# " + b"=" * 4_000_000 + b"\nversion: 1\nservices: {}\n"
    assert parse_spec(data, "s.yaml").services == ()


def test_a_huge_integer_is_not_converted() -> None:
    # int() of 100,000 digits raises ValueError (Python's digit limit) or costs
    # quadratic time; it must be reported like any other wrong version.
    [problem] = spec_problems(b"version: " + b"9" * 100_000 + b"\nservices: {}\n")
    assert problem.message.startswith("unsupported spec version 999")
    assert len(problem.message) < 120


def test_python_tags_are_refused_and_never_constructed() -> None:
    data = b"version: 1\nservices: !!python/object/apply:os.system ['echo pwned']\n"
    found = spec_problems(data)
    assert found[0].message.startswith("YAML tag !!python/object/apply:os.system")
