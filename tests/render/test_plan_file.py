"""load_plan: a Plan, or one clear PlanFileError — whatever the file holds."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import plan_factory as f
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from reconciler.core import planfile
from reconciler.core.plan import Plan, Unmanaged
from reconciler.errors import PlanFileError

VALID = planfile.dump_plan(f.full_plan())


def document() -> dict[str, Any]:
    data = json.loads(VALID)
    assert isinstance(data, dict)
    return data


def write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "plan.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def load_error(path: Path) -> PlanFileError:
    with pytest.raises(PlanFileError) as caught:
        planfile.load_plan(path)
    error = caught.value
    assert "\n" not in str(error), "one line"
    assert str(path) in str(error), "names the file"
    assert error.hint
    assert error.exit_code == 1
    return error


def with_action(**changes: Any) -> dict[str, Any]:
    data = document()
    data["actions"][0] = {**data["actions"][0], **changes}
    return data


def test_a_saved_plan_loads_back(tmp_path: Path) -> None:
    assert planfile.load_plan(write(tmp_path, VALID)) == f.full_plan()


def test_a_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    assert planfile.load_plan(write(tmp_path, b"\xef\xbb\xbf" + VALID.encode())) == f.full_plan()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "it is empty"),
        ("   \n", "it is empty"),
        ("plan: yes\n", "not valid JSON (line 1 column 1"),
        (VALID[: len(VALID) // 2], "truncated JSON"),
        (VALID[:-3], "truncated JSON"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        ("[1, 2]", "it holds a JSON array, not an object"),
        ('"plan"', "it holds a JSON string, not an object"),
        ("null", "it holds a JSON null, not an object"),
        ("{}", "it has no format_version"),
        (json.dumps({**document(), "format_version": "2"}), 'format_version "2"; reconciler'),
        (json.dumps({**document(), "format_version": 1}), "format_version 1; reconciler"),
        (json.dumps({**document(), "surprise": True}), "surprise: unknown field"),
        (json.dumps(with_action(colour="red")), "actions[0].colour: unknown field"),
        (json.dumps({k: v for k, v in document().items() if k != "endpoint"}), "endpoint: field"),
        (json.dumps(with_action(service_id="1001")), "actions[0].service_id: Input should be"),
        (json.dumps(with_action(service_id=1001.0)), "actions[0].service_id: Input should be"),
        (json.dumps(with_action(irreversible=0)), "actions[0].irreversible: Input should be"),
        (json.dumps(with_action(action="explode")), "actions[0].action: Input should be"),
        (
            json.dumps(with_action(before={"lifecycle": "exploded", "period": None})),
            "actions[0].before: Value error, an essence's lifecycle is one of renew, manual_renew",
        ),
        (
            json.dumps(with_action(after={"lifecycle": "renew", "period": 12})),
            "actions[0].after: Value error, an essence's period is a text or null",
        ),
        (
            json.dumps(with_action(after={"lifecycle": "renew", "colour": "red"})),
            "actions[0].after: Value error, an essence has no field 'colour'",
        ),
        (json.dumps({**document(), "created_at": 5}), "created_at: Input should be"),
        (json.dumps({**document(), "created_at": "yesterday"}), "created_at: Input should be"),
        (json.dumps({**document(), "actions": {}}), "actions: Input should be"),
        (
            json.dumps({**document(), "created_at": "2027-01-15T12:00:00"}),
            "created_at: a datetime without a timezone",
        ),
        (
            json.dumps(with_action(expires_at="2027-03-01T00:00:00")),
            "actions[0].expires_at: a datetime without a timezone",
        ),
        ('{"format_version": "1", "format_version": "1"}', '"format_version" appears twice'),
        ('{"format_version": "1", "x": NaN}', "NaN is not a JSON number"),
        ("[" * 100_000, "nested too deeply"),
        ('{"format_version": "1", "x": 1' + "0" * 5000 + "}", "not a plan file"),
        (
            json.dumps({**document(), "summary": {**document()["summary"], "delete_now": 0}}),
            "summary.delete_now is 0 but the plan holds 1 (the file was edited)",
        ),
        (
            json.dumps({**document(), "summary": {"explosions": 1}}),
            "summary.explosions: unknown count",
        ),
        (
            json.dumps(
                with_action(
                    calls=[{"method": "POST", "path": "/x", "body": {"token": "0123456789abcdef"}}]
                )
            ),
            "must be",
        ),
    ],
    ids=lambda value: None if isinstance(value, str) and len(value) < 60 else "...",
)
def test_bad_plan_files_give_one_clear_error(
    tmp_path: Path, content: str | bytes, expected: str
) -> None:
    error = load_error(write(tmp_path, content))
    assert expected in str(error)
    assert "0123456789abcdef" not in str(error)


def test_more_problems_are_counted(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, json.dumps(with_action(service_id="x", irreversible=0))))
    assert "(and 1 more problem)" in str(error)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert "No such file" in str(load_error(tmp_path / "absent.json"))
    assert "it is a directory" in str(load_error(tmp_path))


# --- property tests: whatever the bytes, a Plan or a PlanFileError ------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def outcome(raw: str | bytes) -> Plan | PlanFileError:
    try:
        return planfile.parse_plan(raw, source="fuzz.json")
    except PlanFileError as error:
        assert "\n" not in str(error)
        return error


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_arbitrary_json_is_a_plan_or_a_plan_file_error(value: Any) -> None:
    outcome(json.dumps(value))


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


ALL_PATHS = paths(document())[1:]


def replaced(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {**data, head: replaced(data[head], rest, value)}
    copy = list(data)
    copy[head] = replaced(copy[head], rest, value)
    return copy


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ALL_PATHS), json_values)
def test_a_valid_plan_with_any_field_replaced_is_a_plan_or_a_plan_file_error(
    path: tuple[Any, ...], value: Any
) -> None:
    result = outcome(json.dumps(replaced(document(), path, value)))
    if isinstance(result, Plan):  # whatever loads must dump to a valid plan again
        assert planfile.parse_plan(planfile.dump_plan(result)) == result


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.integers(0, len(VALID)).map(lambda n: VALID[:n]))
def test_arbitrary_bytes_and_truncations_are_a_plan_or_a_plan_file_error(
    raw: bytes | str,
) -> None:
    outcome(raw)


# --- instants: the models hold them in UTC (plan.UtcDatetime) ---------------------------


def at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def where(path: tuple[Any, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)[1:]


INSTANT_PATHS = [
    path
    for path in ALL_PATHS
    if isinstance(at(document(), path), str)
    and re.match(planfile.UTC_DATETIME_PATTERN, at(document(), path))
]


@pytest.mark.parametrize("path", INSTANT_PATHS, ids=where)
def test_a_naive_datetime_is_refused_at_load_with_its_place(tmp_path: Path, path: Any) -> None:
    naive = at(document(), path).removesuffix("Z")
    error = load_error(write(tmp_path, json.dumps(replaced(document(), path, naive))))
    assert str(error).endswith(
        f"is not a valid plan: {where(path)}: a datetime without a timezone "
        "(write it in UTC, e.g. ...Z)"
    )


def test_an_offset_datetime_is_read_in_utc_and_written_with_z(tmp_path: Path) -> None:
    assert len(INSTANT_PATHS) > 10  # created_at, the actions', the unmanaged service's
    shifted = document()
    for number, path in enumerate(INSTANT_PATHS):
        zone = timezone(timedelta(hours=number % 5 - 2))  # -02:00 to +02:00
        when = datetime.fromisoformat(at(shifted, path)).astimezone(zone)
        shifted = replaced(shifted, path, when.isoformat())
    assert "+02:00" in json.dumps(shifted) and "-02:00" in json.dumps(shifted)
    loaded = planfile.load_plan(write(tmp_path, json.dumps(shifted)))
    assert loaded.created_at.tzinfo is UTC and loaded.actions[0].expires_at.tzinfo is UTC
    assert planfile.dump_plan(loaded) == VALID  # byte for byte the file written in UTC


def test_a_plan_refuses_a_naive_datetime_and_holds_an_aware_one_in_utc() -> None:
    made = dict(f.full_plan())
    paris = datetime(2027, 1, 15, 13, tzinfo=timezone(timedelta(hours=1)))
    assert Plan.model_validate({**made, "created_at": paris}).created_at.tzinfo is UTC
    with pytest.raises(ValidationError, match=r"created_at\n  a datetime without a timezone"):
        Plan.model_validate({**made, "created_at": datetime(2027, 1, 15, 12)})
    # At datetime's limits, east of UTC in year 1: the nearest instant UTC can write.
    year_one = datetime.min.replace(tzinfo=timezone(timedelta(hours=5)))
    edge = Unmanaged.model_validate({**dict(f.unmanaged()), "expiration": year_one})
    assert edge.expiration == datetime.min.replace(tzinfo=UTC)
