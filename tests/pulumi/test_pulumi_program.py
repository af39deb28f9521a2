"""The Pulumi program under ``pulumi.runtime.set_mocks``: one ``ServiceLifecycle`` per
service of the stack's spec, with the right type, name and inputs; errors of the spec
and of the configuration as Pulumi shows them (``RunError``: no traceback)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
import pytest

from reconciler.core.spec import load_spec, parse_spec
from reconciler.errors import SpecError
from reconciler.pulumi.inputs import INPUTS, OUTPUTS, PROVIDER_KEY
from reconciler.pulumi.program import declare, inline_spec, run
from reconciler.pulumi.resource import TYPE_TOKEN

ROOT = Path(__file__).resolve().parents[2]


class Recorder(pulumi.runtime.Mocks):
    """The engine's side of resource registration: records what the program declares
    and answers as a provider would (outputs = inputs + what the account says)."""

    def __init__(self) -> None:
        self.declared: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.declared.append(args)
        service_id = 120000000 + sum(map(ord, args.name))  # the same for the same name
        outputs = dict(args.inputs) | {"service_id": service_id, "live_lifecycle": "renew"}
        return str(service_id), outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None

    def by_name(self) -> dict[str, dict[str, Any]]:
        return {args.name: args.inputs for args in self.declared}


@pytest.fixture(scope="session")
def pulumi_loop() -> asyncio.AbstractEventLoop:
    """One event loop for Pulumi's runtime in this process, as a Pulumi program has.

    The SDK needs a current loop in the main thread (an earlier ``asyncio.run`` there
    unsets it), and its mock monitor runs in that loop's executor threads, each of which
    makes a loop of its own and never closes it. Closing ours would end those threads and
    have their loops collected unclosed (a ResourceWarning, an error here); so this one
    loop lives as long as the process, like a program's."""
    return asyncio.new_event_loop()


@pytest.fixture
def mocked(
    pulumi_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> Iterator[Recorder]:
    asyncio.set_event_loop(pulumi_loop)
    recorder = Recorder()
    logger = logging.getLogger("pulumi-program-test")
    pulumi.runtime.set_mocks(
        recorder, project="reconciler", stack="dev", preview=False, logger=logger
    )
    caplog.set_level(logging.INFO, logger="pulumi-program-test")
    try:
        yield recorder
    finally:
        pulumi.runtime.set_all_config({})
        asyncio.set_event_loop(None)


def configure(**values: str) -> None:
    pulumi.runtime.set_all_config({f"reconciler:{key}": value for key, value in values.items()})


@pulumi.runtime.test
def declared_with(**config: str) -> Any:
    """The program run on ``config`` in Pulumi's test runtime (the mocks record it)."""
    configure(**config)
    return pulumi.Output.all(*(r.urn for r in run().values()))


def test_the_program_declares_one_resource_per_service_of_the_stacks_spec(
    mocked: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    spec = load_spec(ROOT / "stacks" / "dev.yaml")
    declared_with(spec=str(ROOT / "stacks" / "dev.yaml"))
    assert [args.typ for args in mocked.declared] == [TYPE_TOKEN] * len(spec.services)
    assert TYPE_TOKEN == "pulumi-python:dynamic/reconciler:ServiceLifecycle"
    by_name = mocked.by_name()
    # Pulumi registers resources concurrently: the order they reach the engine varies.
    assert sorted(by_name) == sorted(entry.key for entry in spec.services)
    for entry in spec.services:
        inputs = by_name[entry.key]
        assert set(inputs) <= {*INPUTS, *OUTPUTS, PROVIDER_KEY}
        assert inputs["service"] == entry.key
        assert inputs["name"] == entry.name
        assert inputs["lifecycle"] == entry.lifecycle.value
        assert inputs.get("mode") == (entry.mode.value if entry.mode else None)
        assert inputs.get("period") == entry.period
        assert inputs.get("type") == entry.type
        assert inputs["protect"] is entry.protect
        assert inputs["endpoint"] == spec.endpoint == "sandbox"
        assert (
            isinstance(inputs[PROVIDER_KEY], str) and inputs[PROVIDER_KEY]
        )  # the pickled provider
    # The destructive entries know what the spec keeps (linked-service-conflict).
    renewing = [
        {"name": e.name} | ({"type": e.type} if e.type else {})
        for e in spec.services
        if e.lifecycle.value == "renew"
    ]
    assert by_name["example.net"]["keep"] == renewing
    assert by_name["old-shop.example.org"]["keep"] == renewing
    assert not by_name["example.com (domain)"].get("keep")
    # delete_now is called out at every preview.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "old-shop.example.org: lifecycle delete_now: `pulumi up` deletes old-shop.example.org "
        "at once if it still exists — its data irreversibly, with no refund"
    ]


def test_the_prod_stack_declares_its_real_account(mocked: Recorder) -> None:
    declared_with(spec=str(ROOT / "stacks" / "prod.yaml"))
    spec = load_spec(ROOT / "stacks" / "prod.yaml")
    assert {args.inputs["endpoint"] for args in mocked.declared} == {"ovh-eu"}
    assert len(mocked.declared) == len(spec.services)


def test_outputs_resolve_from_what_the_provider_returns(mocked: Recorder, tmp_path: Path) -> None:
    captured: list[Any] = []

    @pulumi.runtime.test
    def scenario() -> Any:
        spec = parse_spec(
            b"version: 1\nservices:\n  example.net:\n    lifecycle: renew\n", "s.yaml"
        )
        (resource,) = declare(spec).values()
        return pulumi.Output.all(
            resource.service_id, resource.live_lifecycle, resource.lifecycle
        ).apply(captured.append)

    scenario()
    assert captured == [[120000000 + sum(map(ord, "example.net")), "renew", "renew"]]


def test_the_endpoint_config_overrides_the_specs(mocked: Recorder) -> None:
    declared_with(spec=str(ROOT / "stacks" / "dev.yaml"), endpoint="http://127.0.0.1:8080")
    assert {args.inputs["endpoint"] for args in mocked.declared} == {"http://127.0.0.1:8080"}


def test_inline_services_are_read_by_the_specs_reader(mocked: Recorder) -> None:
    text = (
        "example.net:\n  type: domain\n  lifecycle: terminate_at_expiry\n"
        "old-brand.fr:\n  lifecycle: renew\n"
    )

    declared_with(services=text, endpoint="ovh-eu")
    declared = sorted(
        (a.name, a.inputs["lifecycle"], a.inputs["endpoint"]) for a in mocked.declared
    )
    assert declared == [
        ("example.net", "terminate_at_expiry", "ovh-eu"),
        ("old-brand.fr", "renew", "ovh-eu"),
    ]
    assert mocked.by_name()["example.net"]["keep"] == [{"name": "old-brand.fr"}]


def test_inline_services_errors_are_located_in_the_block() -> None:
    with pytest.raises(SpecError) as raised:
        inline_spec("example.net:\n  lifecycle: renew\nold.fr:\n  lifecycle: renw\n", endpoint=None)
    (problem,) = raised.value.problems
    assert (problem.file, problem.line, problem.column) == ("config reconciler:services", 4, 14)
    assert problem.message == "unknown lifecycle 'renw'"


def run_error(**config: str) -> str:
    """The message Pulumi would show for a program that cannot run."""
    configure(**config)
    with pytest.raises(pulumi.RunError) as raised:
        run()
    return str(raised.value)


def test_spec_errors_are_those_of_reconciler_validate(mocked: Recorder, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nservices:\n  example.net:\n    lifecycle: renw\n    period: P1Y\n")
    message = run_error(spec=str(bad))
    with pytest.raises(SpecError) as expected:
        load_spec(bad)
    assert message.splitlines() == [*expected.value.lines(), f"hint: {expected.value.hint}"]
    assert mocked.declared == []


def test_configuration_errors_say_what_to_set(mocked: Recorder, tmp_path: Path) -> None:
    assert "set reconciler:spec or reconciler:services" in run_error()
    assert "are both set" in run_error(
        spec="stacks/dev.yaml", services="x.fr:\n  lifecycle: renew\n"
    )
    assert "config reconciler:endpoint" in run_error(
        spec=str(ROOT / "stacks/dev.yaml"), endpoint="ovh-ue"
    )
    missing = run_error(spec=str(tmp_path / "missing.yaml"))
    assert "cannot read the spec" in missing
    assert mocked.declared == []


def test_keys_pulumi_cannot_name_are_refused(mocked: Recorder) -> None:
    spec = parse_spec(
        b"version: 1\nservices:\n  a::b:\n    name: a.example.com\n    lifecycle: renew\n", "s.yaml"
    )
    with pytest.raises(pulumi.RunError, match="holds '::'"):
        declare(spec)


def test_importing_the_program_and_its_main_declares_nothing(mocked: Recorder) -> None:
    import importlib
    import runpy

    importlib.import_module("reconciler.pulumi.program")
    # The project's entry point, run under another name than __main__, as an import is.
    runpy.run_path(str(ROOT / "__main__.py"), run_name="imported")
    assert mocked.declared == []


@pytest.mark.parametrize("main", ["__main__.py", "program/__main__.py"])
def test_the_program_run_as_pulumi_runs_it_resolves_paths_against_the_project(
    mocked: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, main: str
) -> None:
    """The committed project and its `dev` stack, copied, run as the Pulumi CLI runs
    them: the configuration merged and validated by Pulumi's rules, the program run in
    the directory of `main` (the committed one, and one in a subdirectory), with the
    stack's relative spec path; the provider then works from that directory too."""
    import runpy
    import shutil

    from pulumi_rules import (
        load_project,
        load_stack,
        merged_config,
        program_directory,
        program_file,
        stack_file,
    )

    from reconciler.pulumi.provider import ServiceLifecycleProvider

    for name in list(os.environ):
        if name.startswith(("OVH_", "RECONCILER_")):
            monkeypatch.delenv(name)
    root = tmp_path / "project"
    shutil.copytree(ROOT / "stacks", root / "stacks")
    (root / main).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "__main__.py", root / main)
    text = (ROOT / "Pulumi.yaml").read_text(encoding="utf-8")
    (root / "Pulumi.yaml").write_text(text.replace("main: __main__.py", f"main: {main}"))
    project = load_project(root / "Pulumi.yaml")
    merged = merged_config(project, "dev", load_stack(project, stack_file(project, "dev")))
    config = {key: value.text for key, value in merged.items()}
    pulumi.runtime.set_all_config(config, [k for k, v in merged.items() if v.secure])
    pwd, entry = program_directory(project)
    assert pwd == (root / main).parent
    monkeypatch.chdir(pwd)

    @pulumi.runtime.test
    def program() -> Any:
        runpy.run_path(str(program_file(pwd, entry)), run_name="__main__")
        return pulumi.Output.from_input(None)

    program()
    declared = mocked.by_name()
    assert sorted(declared) == sorted(e.key for e in load_spec(ROOT / "stacks/dev.yaml").services)
    # The provider's host runs in the same directory, configured with the same settings.
    provider = ServiceLifecycleProvider()
    from pulumi.dynamic import Config, ConfigureRequest

    provider.configure(ConfigureRequest(Config(raw_config=config, project_name="reconciler")))
    result = provider.check({}, dict(declared["example.net"]))
    assert [(f.property, f.reason) for f in result.failures] == []
    assert (root / ".reconciler").is_dir()
    if pwd != root:
        assert not (pwd / ".reconciler").exists()


def test_secrets_in_clear_are_refused_before_anything_is_declared(mocked: Recorder) -> None:
    spec = str(ROOT / "stacks/dev.yaml")
    for key in ("consumerKey", "deletionTokens"):
        configure(spec=spec, **{key: "old-shop.example.org=s3cr3t"})
        with pytest.raises(pulumi.RunError) as raised:
            run()
        assert f"config reconciler:{key} is set in clear" in str(raised.value)
        assert f"pulumi config set --secret reconciler:{key}" in str(raised.value)
        assert "s3cr3t" not in str(raised.value)
    assert mocked.declared == []


def secret_config(**values: str) -> None:
    """The stack's configuration with every value encrypted (``--secret``)."""
    config = {f"reconciler:{key}": value for key, value in values.items()}
    pulumi.runtime.set_all_config(config, [key for key in config if not key.endswith(":spec")])


@pulumi.runtime.test
def declared_with_tokens() -> Any:
    secret_config(
        spec=str(ROOT / "stacks/dev.yaml"),
        deletionTokens="# from the agency\nold-shop.example.org=s3cr3t\n",
    )
    resources = run()
    return pulumi.Output.all(*(r.urn for r in resources.values()))


def test_deletion_tokens_name_the_specs_deletions_and_reach_no_resource(
    mocked: Recorder,
) -> None:
    declared_with_tokens()
    assert "old-shop.example.org" in mocked.by_name()
    assert "s3cr3t" not in repr([args.inputs for args in mocked.declared])
    # A token for a service the spec does not delete now: refused, by name only.
    secret_config(spec=str(ROOT / "stacks/dev.yaml"), deletionTokens="example.net=s3cr3t")
    with pytest.raises(pulumi.RunError) as raised:
        run()
    message = str(raised.value)
    assert "reconciler:deletionTokens holds a token for example.net" in message
    assert "does not delete now" in message and "s3cr3t" not in message
    secret_config(spec=str(ROOT / "stacks/dev.yaml"), deletionTokens="example.net")
    with pytest.raises(pulumi.RunError, match="pair 1: expected KEY=TOKEN"):
        run()


def test_every_lifecycle_that_ends_a_service_knows_what_the_spec_keeps(mocked: Recorder) -> None:
    """A commitment's termination takes the linked services along as any other: the
    entry is given `keep` (linked-service-conflict), as `reconciler plan` judges it."""
    text = (
        "ns3012345.ip-51-75-10.eu:\n  lifecycle: terminate_at_commitment_end\n"
        "example.net:\n  lifecycle: terminate_at_expiry\n"
        "old-brand.fr:\n  lifecycle: renew\n"
    )

    declared_with(services=text)
    by_name = mocked.by_name()
    assert by_name["ns3012345.ip-51-75-10.eu"]["keep"] == [{"name": "old-brand.fr"}]
    assert by_name["example.net"]["keep"] == [{"name": "old-brand.fr"}]
    assert not by_name["old-brand.fr"].get("keep")


def test_the_program_passes_each_entrys_commitment_end_on(mocked: Recorder) -> None:
    text = (
        "ns3012345.ip-51-75-10.eu:\n  lifecycle: renew\n  commitment_end: keep_price\n"
        "old-brand.fr:\n  lifecycle: renew\n"
    )

    declared_with(services=text)
    by_name = mocked.by_name()
    assert by_name["ns3012345.ip-51-75-10.eu"]["commitment_end"] == "keep_price"
    assert by_name["old-brand.fr"].get("commitment_end") is None
    # A value the spec's rule refuses stops the program with reconciler validate's words.
    wrong = run_error(
        services="x.example.com:\n  lifecycle: renew\n  commitment_end: CANCEL_SERVICE\n"
    )
    assert "terminate_at_commitment_end" in wrong
