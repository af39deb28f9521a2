"""Fixtures of the conformance tests: OVH's published schemas, or a plain skip."""

from __future__ import annotations

import pytest

from conformance.locate import missing_reason, schema_folder
from conformance.operations import ApiSchemas, load_regions


@pytest.fixture(scope="session")
def published() -> dict[str, ApiSchemas]:
    """Every region of the copy of OVH's schemas; skips when there is no copy."""
    folder = schema_folder()
    if folder is None:
        pytest.skip(missing_reason())
    return load_regions(folder)


@pytest.fixture(scope="session")
def eu(published: dict[str, ApiSchemas]) -> ApiSchemas:
    """OVH Europe's operations and models (the sandbox speaks as OVH Europe does)."""
    if "eu" not in published:
        pytest.skip(f"no eu-*.json in the copy of OVH's schemas ({missing_reason()})")
    return published["eu"]
