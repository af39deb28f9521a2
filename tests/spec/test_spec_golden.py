"""Golden files: every spec under ``files/invalid`` fails with exactly the problems in its
``.expected`` file (file:line:column, message, fix); every spec under ``files/valid``
loads into exactly the values of its ``.json`` file.

After a deliberate change of wording, regenerate with
``RECONCILER_UPDATE_GOLDEN=1 .venv/bin/pytest tests/spec/test_spec_golden.py`` and read
the diff line by line before committing it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from reconciler.core.spec import Spec, dump_spec, load_spec, parse_spec
from reconciler.errors import SpecError

FILES = Path(__file__).resolve().parent / "files"
INVALID = sorted((FILES / "invalid").glob("*.yaml"))
VALID = sorted((FILES / "valid").glob("*.yaml"))
UPDATE = os.environ.get("RECONCILER_UPDATE_GOLDEN") == "1"


def problems_text(path: Path) -> str:
    with pytest.raises(SpecError) as info:
        parse_spec(path.read_bytes(), path.name)
    return "\n".join(info.value.lines()) + "\n"


def spec_values(spec: Spec) -> dict[str, Any]:
    values = spec.model_dump(mode="json")
    del values["digest"]  # checked against the bytes, not stored
    return values


def test_there_are_golden_files() -> None:
    assert len(INVALID) >= 30 and len(VALID) >= 8


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_spec_reports_exactly_these_problems(path: Path) -> None:
    expected = path.with_suffix(".expected")
    got = problems_text(path)
    if UPDATE:
        expected.write_text(got, encoding="utf-8")
    assert got == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_spec_loads_into_exactly_these_values(path: Path) -> None:
    expected = path.with_suffix(".json")
    data = path.read_bytes()
    spec = parse_spec(data, path.name)
    assert spec.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert spec.source == path.name
    got = spec_values(spec)
    if UPDATE:
        expected.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n", "utf-8")
    assert got == json.loads(expected.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_spec_round_trips_through_dump_spec(path: Path) -> None:
    spec = parse_spec(path.read_bytes(), path.name)
    again = parse_spec(dump_spec(spec).encode("utf-8"), path.name)
    assert again.model_dump(exclude={"digest"}) == spec.model_dump(exclude={"digest"}) | {
        "services": again.model_dump()["services"]
    }
    # Everything but where each key stands is kept.
    assert [s.model_copy(update={"location": None}) for s in again.services] == [
        s.model_copy(update={"location": None}) for s in spec.services
    ]
    # And the canonical text is a fixed point.
    assert dump_spec(again) == dump_spec(spec)


def test_the_example_of_the_brief_is_located_exactly() -> None:
    data = (FILES / "invalid" / "prod.yaml").read_bytes()
    with pytest.raises(SpecError) as info:
        parse_spec(data, "stacks/prod.yaml")
    assert info.value.lines() == [
        "stacks/prod.yaml:14:16: unknown lifecycle 'terminate' — expected renew, "
        "terminate_at_expiry, terminate_at_commitment_end or delete_now"
    ]


def test_load_spec_reads_the_file_like_parse_spec(tmp_path: Path) -> None:
    source = FILES / "valid" / "brief-example.yaml"
    copy = tmp_path / "prod.yaml"
    copy.write_bytes(source.read_bytes())
    loaded = load_spec(copy)
    assert loaded.source == str(copy)
    assert loaded.services == parse_spec(source.read_bytes(), str(copy)).services
    assert loaded.services[0].location is not None
    assert str(loaded.services[0].location) == f"{copy}:5:3"
