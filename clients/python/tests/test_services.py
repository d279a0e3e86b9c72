"""Every service the generated modules describe is on both clients, under the
attribute SERVICES names, as that service's stub, and under the retry policy."""

import asyncio
import importlib
import importlib.metadata
import json
import os
import pathlib
import pkgutil

import grpc
import pytest

import lea.notices.v1
from lea_notices_client import SERVICES, AsyncClient, Client, retry_service_config


def _described_services() -> dict[str, type]:
    """Each service's full name and its generated stub class."""
    found = {}
    for module in pkgutil.iter_modules(lea.notices.v1.__path__):
        if not module.name.endswith("_pb2"):
            continue
        messages = importlib.import_module(f"lea.notices.v1.{module.name}")
        for service in messages.DESCRIPTOR.services_by_name.values():
            stubs = importlib.import_module(f"lea.notices.v1.{module.name}_grpc")
            found[service.full_name] = getattr(stubs, f"{service.name}Stub")
    return found


def test_services_names_every_service_in_the_protos():
    described = _described_services()
    assert len(described) >= 9, described
    assert sorted(SERVICES.values()) == sorted(described)


def test_the_sync_client_has_every_service():
    described = _described_services()
    with Client(grpc.insecure_channel("127.0.0.1:1")) as client:
        for attribute, service in SERVICES.items():
            assert isinstance(getattr(client, attribute), described[service]), attribute


def test_the_async_client_has_every_service():
    described = _described_services()

    async def check():
        async with AsyncClient(grpc.aio.insecure_channel("127.0.0.1:1")) as client:
            for attribute, service in SERVICES.items():
                assert isinstance(getattr(client, attribute), described[service]), attribute
    asyncio.run(check())


def test_the_retry_policy_covers_every_service():
    config = json.loads(retry_service_config())["methodConfig"][0]
    assert sorted(n["service"] for n in config["name"]) == sorted(_described_services())


@pytest.mark.skipif(not os.environ.get("LEA_NOTICES_CLIENT_WHEEL"),
                    reason="CI's check that the built wheel is what is tested")
def test_what_is_tested_is_the_installed_wheel():
    import lea_notices_client
    source = pathlib.Path(__file__).resolve().parents[1] / "src"
    for package in (lea_notices_client, lea.notices.v1):
        assert source not in pathlib.Path(package.__file__).resolve().parents, package.__file__
    dist = importlib.metadata.distribution("lea-notices-client")
    files = {str(f) for f in dist.files or []}
    assert {"lea/py.typed", "lea_notices_client/py.typed",
            "lea/notices/v1/events_pb2_grpc.pyi"} <= files, files
    wheel = pathlib.Path(os.environ["LEA_NOTICES_CLIENT_WHEEL"]).name
    assert wheel.startswith(f"lea_notices_client-{dist.version}-"), (wheel, dist.version)
