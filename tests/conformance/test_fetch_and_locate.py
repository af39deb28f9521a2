"""Where the tests look for OVH's schemas, what they say when there are none, and the
download command's pure parts (its URLs, file names and checks) through an injected
opener: nothing here touches the network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance import fetch_schemas
from conformance.fetch_schemas import Download, checked, downloads, fetch
from conformance.locate import (
    DEFAULT_FOLDER,
    REPOSITORY_ROOT,
    candidate_folder,
    missing_reason,
    schema_folder,
)
from conformance.operations import load_regions


def test_the_default_folder_is_next_to_the_repository() -> None:
    assert (REPOSITORY_ROOT / "pyproject.toml").is_file()
    assert DEFAULT_FOLDER == REPOSITORY_ROOT.parent / "shared" / "ovh-api-schemas"
    assert candidate_folder({}) == DEFAULT_FOLDER
    assert candidate_folder({"OVH_API_SCHEMAS": "  "}) == DEFAULT_FOLDER


def test_the_environment_variable_wins(tmp_path: Path) -> None:
    assert candidate_folder({"OVH_API_SCHEMAS": str(tmp_path)}) == tmp_path
    assert schema_folder({"OVH_API_SCHEMAS": str(tmp_path)}) is None  # empty folder
    (tmp_path / "eu-services.json").write_text("{}", encoding="utf-8")
    assert schema_folder({"OVH_API_SCHEMAS": str(tmp_path)}) == tmp_path


def test_the_skip_reason_says_where_it_looked_and_how_to_get_a_copy(tmp_path: Path) -> None:
    named = missing_reason({"OVH_API_SCHEMAS": str(tmp_path / "nowhere")})
    assert str(tmp_path / "nowhere") in named
    assert "OVH_API_SCHEMAS=" in named
    assert "python -m tests.conformance.fetch_schemas --into DIR" in named
    default = missing_reason({})
    assert str(DEFAULT_FOLDER) in default and "OVH_API_SCHEMAS unset" in default


def test_the_urls_are_the_api_consoles() -> None:
    by_file = {d.file_name: d.url for d in downloads()}
    assert by_file["eu-services.json"] == "https://eu.api.ovh.com/1.0/services.json"
    assert by_file["ca-services.json"] == "https://ca.api.ovh.com/1.0/services.json"
    assert by_file["us-services.json"] == "https://api.us.ovhcloud.com/1.0/services.json"
    assert by_file["eu-hosting-web.json"] == "https://eu.api.ovh.com/1.0/hosting/web.json"
    assert by_file["eu-dedicated-server.json"] == (
        "https://eu.api.ovh.com/1.0/dedicated/server.json"
    )
    for name in ("eu-domain.json", "eu-me.json", "eu-auth.json"):
        assert name in by_file
    assert len(by_file) == len(downloads())  # one file per download
    assert [d.region for d in downloads(["ca"])] == ["ca"]
    with pytest.raises(ValueError, match="unknown region 'asia'"):
        downloads(["asia"])


def description(api: str) -> bytes:
    return json.dumps({"resourcePath": api, "apis": [], "models": {}}).encode()


def test_a_download_must_be_the_description_asked_for() -> None:
    download = Download("eu", "/hosting/web")
    assert checked(download, description("/hosting/web")) == description("/hosting/web")
    with pytest.raises(ValueError, match="not JSON"):
        checked(download, b"<html>maintenance</html>")
    with pytest.raises(ValueError, match="no apis"):
        checked(download, b'{"message": "Got an invalid (or empty) URL"}')
    with pytest.raises(ValueError, match="describes '/domain'"):
        checked(download, description("/domain"))


def test_fetch_writes_what_checks_and_reports_the_rest(tmp_path: Path) -> None:
    wanted = [Download("eu", "/services"), Download("eu", "/auth"), Download("us", "/services")]
    asked: list[str] = []
    said: list[str] = []

    def opener(url: str) -> bytes:
        asked.append(url)
        if url.endswith("/auth.json"):
            raise OSError("network unreachable")
        return description("/services")

    failed = fetch(tmp_path / "copy", wanted, opener=opener, say=said.append)
    assert failed == 1
    assert asked == [d.url for d in wanted]
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == [
        "eu-services.json",
        "us-services.json",
    ]
    assert any("failed" in line and "network unreachable" in line for line in said)
    # what was written is what the tests read
    regions = load_regions(tmp_path / "copy")
    assert sorted(regions) == ["eu", "us"]


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert fetch_schemas.main(["--into", str(tmp_path), "--region", "us", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "https://api.us.ovhcloud.com/1.0/services.json" in listed
    assert not any(tmp_path.iterdir())  # --list fetches nothing

    def offline(url: str) -> bytes:
        raise OSError("no network")

    assert fetch_schemas.main(["--into", str(tmp_path), "--region", "ca"], opener=offline) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: 1 of 1 downloads failed") and "hint:" in error
    assert (
        fetch_schemas.main(
            ["--into", str(tmp_path), "--region", "ca"], opener=lambda u: description("/services")
        )
        == 0
    )
    assert (tmp_path / "ca-services.json").is_file()
