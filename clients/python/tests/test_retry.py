"""Both clients retry UNAVAILABLE by themselves (the service config's retry
policy), with the token and deadline on every attempt: a stand-in
PolicyService answers UNAVAILABLE twice, then a policy."""

import asyncio
from concurrent import futures

import grpc
import pytest

from lea.notices.v1 import policy_pb2, policy_pb2_grpc
from lea_notices_client import connect, connect_async


class _FlakyPolicy(policy_pb2_grpc.PolicyServiceServicer):
    def __init__(self, failures):
        self.failures = failures
        self.attempts = []

    def GetPolicy(self, request, context):
        metadata = dict(context.invocation_metadata())
        self.attempts.append((metadata.get("authorization"), context.time_remaining()))
        if len(self.attempts) <= self.failures:
            context.abort(grpc.StatusCode.UNAVAILABLE, "busy")
        return policy_pb2.GetPolicyResponse(
            policy_version=policy_pb2.PolicyVersion(lower_amount_pence=8000))


@pytest.fixture
def flaky():
    def start(failures):
        servicer = _FlakyPolicy(failures)
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        policy_pb2_grpc.add_PolicyServiceServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        started.append(server)
        return f"127.0.0.1:{port}", servicer
    started = []
    yield start
    for server in started:
        server.stop(None)


def _check(servicer):
    assert len(servicer.attempts) == 3, servicer.attempts
    assert all(auth == "Bearer t0k3n" for auth, _ in servicer.attempts), servicer.attempts
    # The default deadline (30 s; grpc-timeout may round it up a little).
    assert all(remaining is not None and 20 < remaining <= 31
               for _, remaining in servicer.attempts), servicer.attempts


def test_the_sync_client_retries_unavailable(flaky):
    target, servicer = flaky(failures=2)
    with connect(target, "t0k3n") as client:
        response = client.policy.GetPolicy(policy_pb2.GetPolicyRequest(parent="authorities/850"))
    assert response.policy_version.lower_amount_pence == 8000
    _check(servicer)


def test_the_async_client_retries_unavailable(flaky):
    target, servicer = flaky(failures=2)

    async def run():
        async with connect_async(target, "t0k3n") as client:
            return await client.policy.GetPolicy(
                policy_pb2.GetPolicyRequest(parent="authorities/850"))
    assert asyncio.run(run()).policy_version.lower_amount_pence == 8000
    _check(servicer)


def test_without_retry_unavailable_is_the_callers(flaky):
    target, servicer = flaky(failures=2)
    with connect(target, "t0k3n", retry=False) as client:
        with pytest.raises(grpc.RpcError) as raised:
            client.policy.GetPolicy(policy_pb2.GetPolicyRequest(parent="authorities/850"))
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert len(servicer.attempts) == 1
