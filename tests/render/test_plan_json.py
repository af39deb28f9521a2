"""The plan JSON: the committed schema, what dump_plan writes, and no secrets in it."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import plan_factory as f
import pytest

from reconciler.core import planfile
from reconciler.core.plan import TOKEN_PLACEHOLDER, Action, Call, Plan
from reconciler.render import json as json_render
from reconciler.render import markdown, text

DOC = Path(__file__).resolve().parents[2] / "docs" / "plan-format.md"


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(planfile.SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def assert_valid(document: Any) -> None:
    errors = sorted(validator().iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_committed_schema_is_what_the_models_generate() -> None:
    committed = planfile.SCHEMA_PATH.read_text(encoding="utf-8")
    assert committed == planfile.schema_text(), (
        "reconciler/schema/plan-v1.json is out of date; regenerate it with "
        "`python -m reconciler.core.planfile > reconciler/schema/plan-v1.json` — and if a "
        "field changed in a breaking way, bump format_version"
    )


def test_schema_describes_every_field_and_the_doc_names_them() -> None:
    schema = planfile.plan_json_schema()
    documented = DOC.read_text(encoding="utf-8")
    for name, definition in [("Plan", schema), *schema["$defs"].items()]:
        assert definition.get("description"), f"{name} has no description"
        for field, prop in definition.get("properties", {}).items():
            assert prop.get("description"), f"{name}.{field} has no description"
            assert f"`{field}`" in documented, f"docs/plan-format.md does not describe {field}"
        assert definition.get("required", []) == list(definition.get("properties", {}))


@pytest.mark.parametrize(
    "plan",
    [f.full_plan(), f.plan(), f.plan((f.delete(linked=("a", "b")),), spec=())],
    ids=["full", "empty", "linked"],
)
def test_rendered_plans_validate_against_the_committed_schema(plan: Plan) -> None:
    assert_valid(json.loads(json_render.render(plan)))


def test_the_schema_rejects_what_dump_plan_never_writes() -> None:
    document = json.loads(json_render.render(f.full_plan()))
    broken = [
        {**document, "format_version": "2"},
        {**document, "extra": 1},
        {k: v for k, v in document.items() if k != "drift"},
        {**document, "created_at": "2027-01-15T13:00:00+01:00"},
        {**document, "actions": [{**document["actions"][0], "service_id": "1"}]},
    ]
    for candidate in broken:
        assert list(validator().iter_errors(candidate)), candidate


def test_datetimes_are_utc_with_z() -> None:
    paris = timezone(timedelta(hours=1))
    plan = f.plan(
        (f.terminate(expiration=datetime(2027, 3, 1, 9, 30, tzinfo=paris)),),
        created_at=datetime(2027, 1, 15, 13, 0, 0, 250_000, tzinfo=paris),
    )
    data = json.loads(json_render.render(plan))
    assert data["created_at"] == "2027-01-15T12:00:00.250000Z"
    assert data["actions"][0]["expiration"] == "2027-03-01T08:30:00Z"
    assert data["actions"][0]["expires_at"] == "2027-03-01T00:00:00Z"
    dates = re.findall(r'"(\d{4}-\d\d-\d\dT[^"]*)"', json_render.render(plan))
    assert dates and all(d.endswith("Z") for d in dates)


def test_key_order_is_stable_and_the_models_order() -> None:
    rendered = json_render.render(f.full_plan())
    data = json.loads(rendered)
    assert list(data) == list(Plan.model_fields)
    assert list(data["actions"][0]) == list(Action.model_fields)
    assert rendered == json_render.render(f.full_plan())
    assert rendered.endswith("}\n")


def test_round_trip_is_byte_identical() -> None:
    plan = f.full_plan()
    dumped = planfile.dump_plan(plan)
    again = planfile.parse_plan(dumped)
    assert again == plan
    assert planfile.dump_plan(again) == dumped


def test_non_ascii_names_are_kept_readable() -> None:
    dumped = planfile.dump_plan(f.plan((f.terminate("café.example.com"),)))
    assert "café.example.com" in dumped
    assert planfile.parse_plan(dumped.encode("utf-8")).actions[0].service == "café.example.com"


def test_several_plans_are_a_json_array() -> None:
    plans = [f.plan(spec_source="a.yaml"), f.full_plan()]
    data = json.loads(json_render.render_many(plans))
    assert [item["spec_source"] for item in data] == ["a.yaml", "prod.yaml"]
    for item in data:
        assert_valid(item)
    assert json_render.render_many(plans[:1]) == json_render.render(plans[0])


# Credential-looking values: OVH application keys/secrets/consumer keys are long runs of
# letters and digits; OAuth2 tokens and headers have their own shapes.
CREDENTIAL_PATTERNS = [
    re.compile(r"(?<![0-9a-f:])[A-Za-z0-9]{32}(?![A-Za-z0-9])"),  # secret / consumer key
    re.compile(r"\$1\$[0-9a-f]{40}"),  # a request signature
    re.compile(r"(?i)bearer\s+\S+"),
    re.compile(r"(?i)x-ovh-(application|consumer|signature)"),
    re.compile(r"(?i)(application_secret|consumer_key|client_secret|password)"),
]


def test_rendered_plans_hold_nothing_credential_looking() -> None:
    plan = f.full_plan()
    for rendered in (
        json_render.render(plan),
        text.render(plan),
        text.render(plan, color=True),
        markdown.render(plan),
    ):
        without_digests = re.sub(r"sha256:[0-9a-f]{64}", "sha256:…", rendered)
        for pattern in CREDENTIAL_PATTERNS:
            assert not pattern.search(without_digests), pattern.pattern
    tokens = re.findall(r'"token":\s*"([^"]*)"', json_render.render(plan))
    assert tokens == [TOKEN_PLACEHOLDER]


@pytest.mark.parametrize(
    "body",
    [
        {"token": "a1b2c3d4e5f6"},
        {"consumerKey": "x"},
        {"nested": {"applicationSecret": "y"}},
        {"list": [{"password": "z"}]},
    ],
)
def test_a_plan_holding_a_secret_is_never_written(body: dict[str, Any]) -> None:
    leaky = f.delete(calls=(Call(method="POST", path="/x", body=body),))
    with pytest.raises(ValueError, match="secret") as caught:
        planfile.dump_plan(f.plan((leaky,)))
    assert all(str(v) not in str(caught.value) for v in ("a1b2c3d4e5f6", '"y"', '"z"'))


def test_the_documented_example_is_a_valid_plan() -> None:
    documented = DOC.read_text(encoding="utf-8")
    example = re.search(r"```json\n(.*?)\n```", documented, flags=re.S)
    assert example, "docs/plan-format.md shows an example plan"
    plan = planfile.parse_plan(example.group(1), source="docs/plan-format.md")
    assert_valid(json.loads(example.group(1)))
    assert planfile.dump_plan(plan) == example.group(1) + "\n"


@pytest.mark.parametrize(
    "plan",
    [
        f.full_plan(),
        f.plan(
            (
                f.terminate(
                    "café\u202e.example.com",
                    calls=(Call(method="PUT", path="/x", body={"x": [1, 2.5, None]}),),
                ),
            )
        ),
    ],
)
def test_the_writer_writes_what_json_dumps_writes_of_the_plans_data(plan: Plan) -> None:
    reference = json.dumps(plan.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    assert planfile.dump_plan(plan) == reference


def test_an_array_of_plans_is_formatted_like_json_dumps() -> None:
    plans = [f.full_plan(), f.plan(spec_source="b.yaml")]
    reference = json.dumps([p.model_dump(mode="json") for p in plans], indent=2, ensure_ascii=False)
    assert planfile.dump_plans(plans) == reference + "\n"
    assert planfile.dump_plans([]) == "[]\n"
