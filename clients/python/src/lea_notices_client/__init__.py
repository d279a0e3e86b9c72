"""A small typed client for lea.notices.v1.

    from lea_notices_client import connect, pages, error_details
    from lea.notices.v1 import notice_pb2

    with connect("localhost:50051", token) as client:
        for notice in pages(client.notices.ListNotices,
                            notice_pb2.ListNoticesRequest(parent="authorities/850"), "notices"):
            ...

Every call carries the bearer token and, unless the caller gives one, the default
deadline. UNAVAILABLE is retried by gRPC itself (a service config retry policy):
lea-notices mutations are idempotent by request id, so a retried call never
applies twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from lea.notices.v1 import (
    attendance_pb2_grpc,
    notice_pb2_grpc,
    payment_pb2_grpc,
    policy_pb2_grpc,
    report_pb2_grpc,
    worklist_pb2_grpc,
)

__all__ = ["Client", "ErrorDetails", "connect", "error_details", "pages", "retry_service_config"]

DEFAULT_DEADLINE_SECONDS = 30.0


def retry_service_config(max_attempts: int = 5, initial_backoff: float = 0.2,
                         max_backoff: float = 5.0) -> str:
    """A gRPC service config retrying UNAVAILABLE on every lea.notices.v1 method."""
    services = ["PolicyService", "NoticeService", "PaymentService", "AttendanceService",
                "ReportService", "WorklistService"]
    return json.dumps({
        "methodConfig": [{
            "name": [{"service": f"lea.notices.v1.{s}"} for s in services],
            "retryPolicy": {
                "maxAttempts": max_attempts,
                "initialBackoff": f"{initial_backoff}s",
                "maxBackoff": f"{max_backoff}s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }]
    })


class _BearerAndDeadline(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                         grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds `authorization: Bearer ...` and the default deadline to every call."""

    def __init__(self, token: str | Callable[[], str], deadline: float | None):
        self._token = token if callable(token) else (lambda: token)
        self._deadline = deadline

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = [(k, v) for k, v in (details.metadata or []) if k != "authorization"]
        metadata.append(("authorization", f"Bearer {self._token()}"))
        timeout = details.timeout if details.timeout is not None else self._deadline
        return _CallDetails(details.method, timeout, metadata, details.credentials,
                            details.wait_for_ready, details.compression)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, requests):
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._details(details), requests)


@dataclass(frozen=True)
class _CallDetails(grpc.ClientCallDetails):
    method: str
    timeout: float | None
    metadata: Any
    credentials: Any
    wait_for_ready: Any
    compression: Any


class Client:
    """The lea.notices.v1 stubs on one channel; close it (or use `with`)."""

    def __init__(self, channel: grpc.Channel):
        self.channel = channel
        self.policy = policy_pb2_grpc.PolicyServiceStub(channel)
        self.notices = notice_pb2_grpc.NoticeServiceStub(channel)
        self.payments = payment_pb2_grpc.PaymentServiceStub(channel)
        self.attendance = attendance_pb2_grpc.AttendanceServiceStub(channel)
        self.reports = report_pb2_grpc.ReportServiceStub(channel)
        self.worklist = worklist_pb2_grpc.WorklistServiceStub(channel)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def connect(target: str, token: str | Callable[[], str], *,
            credentials: grpc.ChannelCredentials | None = None,
            deadline: float | None = DEFAULT_DEADLINE_SECONDS,
            retry: bool = True) -> Client:
    """A client for `target` (`host:port`): plaintext unless `credentials` are given
    (`grpc.ssl_channel_credentials(...)`). `token` is the bearer token, or a function
    returning the current one (called per call, so it can be refreshed)."""
    options = [("grpc.enable_retries", 1 if retry else 0)]
    if retry:
        options.append(("grpc.service_config", retry_service_config()))
    channel = (grpc.secure_channel(target, credentials, options) if credentials
               else grpc.insecure_channel(target, options))
    return Client(grpc.intercept_channel(channel, _BearerAndDeadline(token, deadline)))


def pages(method: Callable[..., Any], request: Any, items: str, **call: Any) -> Iterator[Any]:
    """Every item of a List call, page after page: `items` is the response's
    repeated field (`"notices"`); `call` goes to each call (`timeout=...`)."""
    request = type(request).FromString(request.SerializeToString())
    while True:
        response = method(request, **call)
        yield from getattr(response, items)
        if not response.next_page_token:
            return
        request.page_token = response.next_page_token


@dataclass
class ErrorDetails:
    """What a lea-notices error status carries (google.rpc details)."""

    code: grpc.StatusCode
    message: str
    field_violations: list[tuple[str, str]] = field(default_factory=list)
    precondition_violations: list[tuple[str, str, str]] = field(default_factory=list)
    error_info: error_details_pb2.ErrorInfo | None = None

    @property
    def fields(self) -> list[str]:
        return [f for f, _ in self.field_violations]


def error_details(error: grpc.RpcError) -> ErrorDetails:
    """Reads an error's BadRequest field violations, PreconditionFailure and ErrorInfo."""
    status = rpc_status.from_call(error)
    found = ErrorDetails(error.code(), error.details() or "")
    if status is None:
        return found
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found.field_violations += [(v.field, v.description) for v in bad.field_violations]
        elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            found.precondition_violations += [(v.type, v.subject, v.description)
                                              for v in failure.violations]
        elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            found.error_info = info
    return found
