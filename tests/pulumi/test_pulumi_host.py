"""The real provider host, ``python -m pulumi.dynamic``, driven over gRPC exactly as the
Pulumi engine drives it (the CLI cannot be installed here), against the sandbox server.

The engine starts the host, reads the port it prints, calls ``Configure`` with the
stack's configuration, then ``Check``/``Diff``/``Create``/``Update``/``Read``/``Delete``
with property bags as protobuf ``Struct``s — so every number arrives as a float — each
carrying ``__provider``: the dill-pickled, base64 provider the program serialized. The
host unpickles it once, configures it, and calls its methods.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import ovh.exceptions
import pytest
from conftest import SandboxServer
from google.protobuf import empty_pb2, struct_pb2
from google.protobuf.json_format import MessageToDict
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc
from pulumi_helpers import (
    EXAMPLE_NET,
    OLD_SHOP,
    live,
    termination_pending,
)

from reconciler.journal import Outcome, Phase, read_journal
from reconciler.pulumi.provider import ServiceLifecycleProvider
from reconciler.sandbox import demo_seed
from reconciler.sandbox.testing import SANDBOX_EPOCH

TYPE = "pulumi-python:dynamic/reconciler:ServiceLifecycle"


def urn(name: str) -> str:
    return f"urn:pulumi:dev::reconciler::{TYPE}::{name}"


def struct(values: dict[str, Any]) -> struct_pb2.Struct:
    """A property bag as the engine sends it: JSON-like, numbers as doubles."""
    message = struct_pb2.Struct()
    message.update(values)
    return message


def plain(message: struct_pb2.Struct) -> dict[str, Any]:
    return MessageToDict(message)


@dataclass
class Host:
    """A running provider host and its gRPC stub."""

    process: subprocess.Popen[bytes]
    stub: provider_pb2_grpc.ResourceProviderStub
    provider: str  # the serialized provider, as the program puts it in __provider
    server: SandboxServer
    journal: Path

    def props(self, service: str, **fields: Any) -> dict[str, Any]:
        return {
            "service": service,
            "endpoint": self.server.url,
            **fields,
            "__provider": self.provider,
        }

    def check(self, name: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        return self.stub.Check(
            provider_pb2.CheckRequest(urn=urn(name), olds=struct(olds), news=struct(news))
        )

    def checked(self, name: str, **fields: Any) -> dict[str, Any]:
        response = self.check(name, {}, self.props(name, **fields))
        assert list(response.failures) == []
        return plain(response.inputs)


@pytest.fixture
def host(sandbox_server: SandboxServer, tmp_path: Path) -> Iterator[Host]:
    with started_host(sandbox_server, tmp_path) as started:
        yield started


@contextmanager
def started_host(sandbox_server: SandboxServer, tmp_path: Path, **config: str) -> Iterator[Host]:
    """The host started and configured as the engine does; ``config`` adds
    ``reconciler:*`` keys to the stack's configuration."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OVH_", "RECONCILER_", "PULUMI_"))
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "pulumi.dynamic"],
        stdout=subprocess.PIPE,
        cwd=tmp_path,
        env=environment,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().decode().strip())  # the host prints its port
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        stub = provider_pb2_grpc.ResourceProviderStub(channel)
        journal = tmp_path / "journal.jsonl"
        # The engine passes the whole stack configuration, namespaces kept, secrets in
        # clear (the dynamic provider does not accept secrets).
        stub.Configure(
            provider_pb2.ConfigureRequest(
                args=struct(
                    {
                        "reconciler:applicationKey": sandbox_server.application_key,
                        "reconciler:applicationSecret": sandbox_server.application_secret,
                        "reconciler:consumerKey": sandbox_server.consumer_key,
                        "reconciler:journal": str(journal),
                        "reconciler:spec": "stacks/dev.yaml",
                        **{f"reconciler:{key}": value for key, value in config.items()},
                    }
                ),
                acceptSecrets=True,
                acceptResources=True,
            )
        )
        yield Host(
            process, stub, serialize_provider(ServiceLifecycleProvider()), sandbox_server, journal
        )
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def test_the_engine_cycle_create_diff_update_read_delete(host: Host, ovh_client: Any) -> None:
    info = host.stub.GetPluginInfo(empty_pb2.Empty())
    assert info.version

    # `pulumi up` of a new resource: Check, then Create with the checked inputs.
    inputs = host.checked("example.net", type="domain", lifecycle="renew")
    assert inputs["mode"] == "automatic" and inputs["__provider"] == host.provider
    created = host.stub.Create(
        provider_pb2.CreateRequest(urn=urn("example.net"), properties=struct(inputs))
    )
    assert created.id == str(EXAMPLE_NET)
    outputs = plain(created.properties)
    assert outputs["service_id"] == float(EXAMPLE_NET)  # a float, as the engine stores it
    assert outputs["live_lifecycle"] == "renew" and outputs["__provider"] == host.provider

    # The next preview: nothing changed.
    diff = host.stub.Diff(
        provider_pb2.DiffRequest(
            id=created.id, urn=urn("example.net"), olds=struct(outputs), news=struct(inputs)
        )
    )
    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE

    # The spec now says terminate_at_expiry: an update, applied and journalled.
    going = host.checked("example.net", type="domain", lifecycle="terminate_at_expiry")
    diff = host.stub.Diff(
        provider_pb2.DiffRequest(
            id=created.id, urn=urn("example.net"), olds=struct(outputs), news=struct(going)
        )
    )
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME and list(diff.replaces) == []
    updated = host.stub.Update(
        provider_pb2.UpdateRequest(
            id=created.id, urn=urn("example.net"), olds=struct(outputs), news=struct(going)
        )
    )
    outputs = plain(updated.properties)
    assert outputs["live_lifecycle"] == "terminate_at_expiry"
    assert termination_pending(ovh_client, EXAMPLE_NET)
    records = read_journal(host.journal).records
    assert [
        r.detail["source"] for r in records if r.phase == Phase.RUN and r.outcome == Outcome.STARTED
    ] == ["pulumi ServiceLifecycle example.net"]

    # `pulumi refresh`: Read, from prior outputs whose numbers are floats.
    ovh_client.put(f"/services/{EXAMPLE_NET}", terminationPolicy="empty")
    read = host.stub.Read(
        provider_pb2.ReadRequest(
            id=created.id, urn=urn("example.net"), properties=struct(outputs), inputs=struct(going)
        )
    )
    assert read.id == created.id
    assert plain(read.properties)["live_lifecycle"] == "renew"

    # Removed from the program: Delete. The service is left exactly as it is.
    before = live(ovh_client, EXAMPLE_NET)
    host.stub.Delete(
        provider_pb2.DeleteRequest(
            id=created.id, urn=urn("example.net"), properties=struct(outputs)
        )
    )
    assert live(ovh_client, EXAMPLE_NET) == before
    assert len(read_journal(host.journal).records) == len(records)


def test_a_refused_change_fails_check_with_rule_and_fix(host: Host, ovh_client: Any) -> None:
    response = host.check(
        "xdsl-ab12345-1", {}, host.props("xdsl-ab12345-1", lifecycle="terminate_at_expiry")
    )
    failures = [(f.property, f.reason) for f in response.failures]
    assert len(failures) == 1 and failures[0][0] == "lifecycle"
    assert failures[0][1].startswith("[unmanageable-service] ") and " — fix: " in failures[0][1]
    spec_error = host.check("x", {}, host.props("x.example.com", lifecycle="renw"))
    assert [(f.property, f.reason) for f in spec_error.failures] == [
        (
            "lifecycle",
            "unknown lifecycle 'renw' — expected renew, terminate_at_expiry, "
            "terminate_at_commitment_end or delete_now",
        )
    ]


def test_delete_now_is_a_replacement_deleted_first_then_applied_by_create(
    host: Host, ovh_client: Any
) -> None:
    name = "old-shop.example.org"
    inputs = host.checked(name, type="hosting/web", lifecycle="renew")
    created = host.stub.Create(provider_pb2.CreateRequest(urn=urn(name), properties=struct(inputs)))
    outputs = plain(created.properties)
    deleting = host.checked(name, type="hosting/web", lifecycle="delete_now")
    diff = host.stub.Diff(
        provider_pb2.DiffRequest(
            id=created.id, urn=urn(name), olds=struct(outputs), news=struct(deleting)
        )
    )
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(diff.replaces) == ["lifecycle"] and diff.deleteBeforeReplace
    # What the engine then does: Delete the old resource (no call), Create the new one.
    host.stub.Delete(
        provider_pb2.DeleteRequest(id=created.id, urn=urn(name), properties=struct(outputs))
    )
    assert live(ovh_client, OLD_SHOP)["resource"]["state"] == "active"
    replaced = host.stub.Create(
        provider_pb2.CreateRequest(urn=urn(name), properties=struct(deleting))
    )
    assert replaced.id == created.id
    assert plain(replaced.properties)["live_lifecycle"] in ("terminated", "absent")
    records = read_journal(host.journal).records
    assert [r.outcome for r in records if r.phase == Phase.TOKEN] == [
        Outcome.WAITING,
        Outcome.FOUND,
    ]
    assert [r.action for r in records if r.phase == Phase.ACTION and r.outcome == Outcome.DONE] == [
        "delete_now"
    ]


def test_errors_come_back_as_one_message_with_the_hint(host: Host) -> None:
    """A call that fails aborts with the host's traceback; its last lines are ours: the
    error's one line, then its hint."""
    props = host.props(
        "example.net", type="domain", lifecycle="renew", endpoint="http://127.0.0.1:9/1.0"
    )
    with pytest.raises(grpc.RpcError) as failed:
        host.check("example.net", {}, props)
    details = failed.value.details()  # type: ignore[attr-defined]
    tail = details.strip().splitlines()[-2:]
    assert tail[0].startswith("reconciler.errors.TransportError: ")
    assert tail[1].startswith("hint: ")


def test_the_stacks_deletion_token_reaches_the_provider_host(
    sandbox_server: SandboxServer, tmp_path: Path, ovh_client: Any
) -> None:
    """`reconciler:deletionTokens`, decrypted by the engine into `Configure`: the deletion
    whose e-mail goes to another account (`not-admin-contact`) passes the check and is
    confirmed with that token, with no second request."""
    name = "old-shop.example.org"
    seed = copy.deepcopy(demo_seed().to_mapping())
    for service in seed["services"]:
        if service["name"] == name:
            service["contacts"] = {"admin": "cd67890-ovh"}
    sandbox_server.reset(seed, now=SANDBOX_EPOCH)
    (tmp_path / "blind").mkdir()
    with started_host(sandbox_server, tmp_path / "blind") as blind:
        refused = blind.check(
            name, {}, blind.props(name, type="hosting/web", lifecycle="delete_now")
        )
        assert "[not-admin-contact]" in refused.failures[0].reason
    ovh_client.post(f"/hosting/web/{name}/terminate")  # the administrator's request
    (email,) = [e for e in sandbox_server.emails() if "Termination request" in e["subject"]]
    found = re.search(r"token=([A-Za-z0-9]+)", email["body"])
    assert found is not None
    with started_host(sandbox_server, tmp_path, deletionTokens=f"{name}={found[1]}") as holding:
        inputs = holding.checked(name, type="hosting/web", lifecycle="delete_now")
        created = holding.stub.Create(
            provider_pb2.CreateRequest(urn=urn(name), properties=struct(inputs))
        )
        assert created.id == str(OLD_SHOP)
        assert found[1] not in holding.journal.read_text(encoding="utf-8")
    with pytest.raises(ovh.exceptions.ResourceNotFoundError):
        live(ovh_client, OLD_SHOP)
    assert len([e for e in sandbox_server.emails() if "Termination request" in e["subject"]]) == 1
