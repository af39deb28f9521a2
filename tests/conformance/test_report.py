"""The IAM report: every operation reconciler or the sandbox uses, with OVH's IAM
actions for it, read from the product and the sandbox (not from a list)."""

from __future__ import annotations

import json

import pytest

from conformance import report
from conformance.operations import ApiSchemas


def test_the_operations_used_and_their_iam_actions(eu: ApiSchemas) -> None:
    used, unknown, outside = report.used_operations(eu)
    assert unknown == []
    # Only the renewal objects of products whose API the copy lacks are left unjudged.
    assert all(line.endswith("/serviceInfos") for line in outside)
    by_key = {u.operation.key: u for u in used}
    edit = by_key["PUT /services/{serviceId}"]
    assert edit.by == ("reconciler", "sandbox")
    assert [a.name for a in edit.operation.iam_actions] == ["account:apiovh:services/edit"]
    assert by_key["POST /hosting/web/{serviceName}/terminate"].by == ("reconciler", "sandbox")
    assert by_key["GET /hosting/web/{serviceName}/serviceInfos"].by == ("sandbox",)
    assert "no authentication" in by_key["GET /auth/time"].line()


def test_the_command(eu: ApiSchemas, capsys: pytest.CaptureFixture[str]) -> None:
    assert report.main(["--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    confirm = next(
        o
        for o in document["operations"]
        if o["operation"] == "POST /services/{serviceId}/terminate/confirm"
    )
    assert confirm["iamActions"] == [
        {"name": "account:apiovh:services/terminate/confirm", "required": True}
    ]
    assert report.main([]) == 0
    text = capsys.readouterr().out
    assert "account:apiovh:services/get" in text
    assert report.main(["--region", "asia"]) == 1
