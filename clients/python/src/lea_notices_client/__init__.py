"""A small typed client for lea.notices.v1, synchronous or on asyncio (grpc.aio).

    from lea_notices_client import connect, pages, error_details
    from lea.notices.v1 import notice_pb2

    with connect("localhost:50051", token) as client:
        request = notice_pb2.ListNoticesRequest(parent="authorities/850")
        for notice in pages(client.notices.ListNotices, request, lambda r: r.notices):
            ...

    async with connect_async("localhost:50051", token) as client:
        async for notice in pages_async(client.notices.ListNotices, request,
                                        lambda r: r.notices):
            ...

A client has one attribute per lea.notices.v1 service (`SERVICES`). Every call
carries the bearer token and, unless the caller gives one, the default deadline.
UNAVAILABLE is retried by gRPC itself (a service config retry policy):
lea-notices mutations are idempotent by request id, so a retried call never
applies twice.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, Union, overload

import grpc
import grpc.aio
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from lea.notices.v1 import (
    attendance_pb2_grpc,
    audit_pb2_grpc,
    events_pb2_grpc,
    measures_pb2_grpc,
    notice_pb2_grpc,
    payment_pb2_grpc,
    policy_pb2_grpc,
    report_pb2_grpc,
    school_pb2_grpc,
    worklist_pb2_grpc,
)

if TYPE_CHECKING:
    from grpc import _CallFuture, _CallIterator

__all__ = [
    "DEFAULT_DEADLINE_SECONDS",
    "SERVICES",
    "AsyncClient",
    "Client",
    "ErrorDetails",
    "Token",
    "AsyncToken",
    "connect",
    "connect_async",
    "error_details",
    "pages",
    "pages_async",
    "retry_service_config",
]

DEFAULT_DEADLINE_SECONDS = 30.0

# Each client attribute and the lea.notices.v1 service it calls. A test holds
# this against the services the generated modules describe, so a new service
# in proto/ fails the tests until it is here (and on both clients).
SERVICES: dict[str, str] = {
    "policy": "lea.notices.v1.PolicyService",
    "notices": "lea.notices.v1.NoticeService",
    "payments": "lea.notices.v1.PaymentService",
    "attendance": "lea.notices.v1.AttendanceService",
    "reports": "lea.notices.v1.ReportService",
    "audit": "lea.notices.v1.AuditService",
    "schools": "lea.notices.v1.SchoolService",
    "worklist": "lea.notices.v1.WorklistService",
    "events": "lea.notices.v1.EventService",
    "measures": "lea.notices.v1.MeasureService",
}

Token = Union[str, Callable[[], str]]
"""A bearer token, or a function giving the current one (called per call)."""
AsyncToken = Union[str, Callable[[], str], Callable[[], Awaitable[str]]]
"""For the asyncio client the function may also be a coroutine function."""

_Request = TypeVar("_Request")
_Response = TypeVar("_Response")
_Item = TypeVar("_Item")


def retry_service_config(max_attempts: int = 5, initial_backoff: float = 0.2,
                         max_backoff: float = 5.0) -> str:
    """A gRPC service config retrying UNAVAILABLE on every lea.notices.v1 method."""
    return json.dumps({
        "methodConfig": [{
            "name": [{"service": s} for s in SERVICES.values()],
            "retryPolicy": {
                "maxAttempts": max_attempts,
                "initialBackoff": f"{initial_backoff}s",
                "maxBackoff": f"{max_backoff}s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }]
    })


def _channel_options(retry: bool) -> list[tuple[str, Any]]:
    options: list[tuple[str, Any]] = [("grpc.enable_retries", 1 if retry else 0)]
    if retry:
        options.append(("grpc.service_config", retry_service_config()))
    return options


# --- synchronous ----------------------------------------------------------


@dataclass(frozen=True)
class _CallDetails(grpc.ClientCallDetails):
    method: str
    timeout: float | None
    metadata: Any
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: grpc.Compression | None


class _BearerAndDeadline(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                         grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds `authorization: Bearer ...` and the default deadline to every call."""

    def __init__(self, token: Token, deadline: float | None):
        self._token: Callable[[], str] = token if callable(token) else (lambda: token)
        self._deadline = deadline

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = [(k, v) for k, v in (details.metadata or []) if k != "authorization"]
        metadata.append(("authorization", f"Bearer {self._token()}"))
        timeout = details.timeout if details.timeout is not None else self._deadline
        return _CallDetails(details.method, timeout, metadata, details.credentials,
                            details.wait_for_ready, details.compression)

    def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, _Request], _CallFuture[_Response]],
        client_call_details: grpc.ClientCallDetails,
        request: _Request,
    ) -> _CallFuture[_Response]:
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(
        self,
        continuation: Callable[[grpc.ClientCallDetails, _Request], _CallIterator[_Response]],
        client_call_details: grpc.ClientCallDetails,
        request: _Request,
    ) -> _CallIterator[_Response]:
        return continuation(self._details(client_call_details), request)

    def intercept_stream_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Iterator[_Request]], _CallFuture[_Response]],
        client_call_details: grpc.ClientCallDetails,
        request_iterator: Iterator[_Request],
    ) -> _CallFuture[_Response]:
        return continuation(self._details(client_call_details), request_iterator)

    def intercept_stream_stream(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Iterator[_Request]], _CallIterator[_Response]],
        client_call_details: grpc.ClientCallDetails,
        request_iterator: Iterator[_Request],
    ) -> _CallIterator[_Response]:
        return continuation(self._details(client_call_details), request_iterator)


class Client:
    """The lea.notices.v1 stubs on one channel; close it (or use `with`)."""

    def __init__(self, channel: grpc.Channel):
        self.channel = channel
        self.policy = policy_pb2_grpc.PolicyServiceStub(channel)
        self.notices = notice_pb2_grpc.NoticeServiceStub(channel)
        self.payments = payment_pb2_grpc.PaymentServiceStub(channel)
        self.attendance = attendance_pb2_grpc.AttendanceServiceStub(channel)
        self.reports = report_pb2_grpc.ReportServiceStub(channel)
        self.audit = audit_pb2_grpc.AuditServiceStub(channel)
        self.schools = school_pb2_grpc.SchoolServiceStub(channel)
        self.worklist = worklist_pb2_grpc.WorklistServiceStub(channel)
        self.events = events_pb2_grpc.EventServiceStub(channel)
        self.measures = measures_pb2_grpc.MeasureServiceStub(channel)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def connect(target: str, token: Token, *,
            credentials: grpc.ChannelCredentials | None = None,
            deadline: float | None = DEFAULT_DEADLINE_SECONDS,
            retry: bool = True) -> Client:
    """A client for `target` (`host:port`): plaintext unless `credentials` are given
    (`grpc.ssl_channel_credentials(...)`). `token` is the bearer token, or a function
    returning the current one (called per call, so it can be refreshed). `deadline`
    (seconds) applies to every call that gives no `timeout` of its own."""
    options = _channel_options(retry)
    channel = (grpc.secure_channel(target, credentials, options) if credentials
               else grpc.insecure_channel(target, options))
    return Client(grpc.intercept_channel(channel, _BearerAndDeadline(token, deadline)))


class _Page(Protocol):
    @property
    def next_page_token(self) -> str: ...


_PageT = TypeVar("_PageT", bound=_Page)
_PageT_co = TypeVar("_PageT_co", bound=_Page, covariant=True)
_MessageT = TypeVar("_MessageT", bound=Message)


class _ListCall(Protocol[_PageT_co]):
    """A List method (`client.notices.ListNotices`), or a function like it."""

    def __call__(self, request: Any, /, *, timeout: float | None = ...) -> _PageT_co: ...


class _AsyncListCall(Protocol[_PageT_co]):
    """An asyncio client's List method, or a function like it."""

    def __call__(self, request: Any, /, *,
                 timeout: float | None = ...) -> Awaitable[_PageT_co]: ...


def _first_page(request: _MessageT) -> _MessageT:
    copy = type(request)()
    copy.CopyFrom(request)
    return copy


def _items(response: Any, items: str | Callable[[Any], Iterable[Any]]) -> Iterable[Any]:
    return getattr(response, items) if isinstance(items, str) else items(response)


@overload
def pages(method: _ListCall[_PageT], request: _MessageT,
          items: Callable[[_PageT], Iterable[_Item]], **call: Any) -> Iterator[_Item]: ...
@overload
def pages(method: _ListCall[_PageT], request: _MessageT,
          items: str, **call: Any) -> Iterator[Any]: ...
def pages(method: _ListCall[_PageT], request: _MessageT,
          items: str | Callable[[_PageT], Iterable[_Item]], **call: Any) -> Iterator[Any]:
    """Every item of a List call, page after page. `items` picks the response's
    items: a function (`lambda r: r.notices`, typed) or the repeated field's name
    (`"notices"`). `call` goes to each call (`timeout=...`). The caller's request
    is left as it was."""
    request = _first_page(request)
    while True:
        response = method(request, **call)
        yield from _items(response, items)
        if not response.next_page_token:
            return
        setattr(request, "page_token", response.next_page_token)


# --- asyncio --------------------------------------------------------------


class _AsyncBearerAndDeadline:
    """The asyncio form of _BearerAndDeadline. grpc.aio files each interceptor
    under one kind only (the first it is an instance of), so each kind of call
    has its own interceptor (below), all sharing this."""

    def __init__(self, token: AsyncToken, deadline: float | None):
        self._token = token
        self._deadline = deadline

    async def details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        token = self._token() if callable(self._token) else self._token
        if inspect.isawaitable(token):
            token = await token
        metadata = grpc.aio.Metadata(*[(k, v) for k, v in (details.metadata or ())
                                       if k != "authorization"])
        metadata.add("authorization", f"Bearer {token}")
        timeout = details.timeout if details.timeout is not None else self._deadline
        return grpc.aio.ClientCallDetails(details.method, timeout, metadata,
                                          details.credentials, details.wait_for_ready)

    def interceptors(self) -> list[grpc.aio.ClientInterceptor]:
        return [_AsyncUnaryUnary(self), _AsyncUnaryStream(self), _AsyncStreamUnary(self),
                _AsyncStreamStream(self)]


class _AsyncUnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, auth: _AsyncBearerAndDeadline):
        self._auth = auth

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, _Request],
                               Awaitable[grpc.aio.UnaryUnaryCall[_Request, _Response]]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: _Request,
    ) -> _Response | grpc.aio.UnaryUnaryCall[_Request, _Response]:
        return await continuation(await self._auth.details(client_call_details), request)


class _AsyncUnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, auth: _AsyncBearerAndDeadline):
        self._auth = auth

    async def intercept_unary_stream(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, _Request],
                               Awaitable[grpc.aio.UnaryStreamCall[_Request, _Response]]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: _Request,
    ) -> AsyncIterator[_Response] | grpc.aio.UnaryStreamCall[_Request, _Response]:
        return await continuation(await self._auth.details(client_call_details), request)


class _AsyncStreamUnary(grpc.aio.StreamUnaryClientInterceptor):
    def __init__(self, auth: _AsyncBearerAndDeadline):
        self._auth = auth

    async def intercept_stream_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails,
                                AsyncIterable[_Request] | Iterable[_Request]],
                               Awaitable[grpc.aio.StreamUnaryCall[_Request, _Response]]],
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: AsyncIterable[_Request] | Iterable[_Request],
    ) -> grpc.aio.StreamUnaryCall[_Request, _Response]:
        return await continuation(await self._auth.details(client_call_details),
                                  request_iterator)


class _AsyncStreamStream(grpc.aio.StreamStreamClientInterceptor):
    def __init__(self, auth: _AsyncBearerAndDeadline):
        self._auth = auth

    async def intercept_stream_stream(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails,
                                AsyncIterable[_Request] | Iterable[_Request]],
                               Awaitable[grpc.aio.StreamStreamCall[_Request, _Response]]],
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: AsyncIterable[_Request] | Iterable[_Request],
    ) -> AsyncIterator[_Response] | grpc.aio.StreamStreamCall[_Request, _Response]:
        return await continuation(await self._auth.details(client_call_details),
                                  request_iterator)


class AsyncClient:
    """The lea.notices.v1 stubs on one grpc.aio channel: every method returns an
    awaitable call (unary responses) or an async iterator (streams). Close it
    (`await client.close()`) or use `async with`."""

    def __init__(self, channel: grpc.aio.Channel):
        self.channel = channel
        self.policy = policy_pb2_grpc.PolicyServiceStub(channel)
        self.notices = notice_pb2_grpc.NoticeServiceStub(channel)
        self.payments = payment_pb2_grpc.PaymentServiceStub(channel)
        self.attendance = attendance_pb2_grpc.AttendanceServiceStub(channel)
        self.reports = report_pb2_grpc.ReportServiceStub(channel)
        self.audit = audit_pb2_grpc.AuditServiceStub(channel)
        self.schools = school_pb2_grpc.SchoolServiceStub(channel)
        self.worklist = worklist_pb2_grpc.WorklistServiceStub(channel)
        self.events = events_pb2_grpc.EventServiceStub(channel)
        self.measures = measures_pb2_grpc.MeasureServiceStub(channel)

    async def close(self, grace: float | None = None) -> None:
        await self.channel.close(grace)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


def connect_async(target: str, token: AsyncToken, *,
                  credentials: grpc.ChannelCredentials | None = None,
                  deadline: float | None = DEFAULT_DEADLINE_SECONDS,
                  retry: bool = True) -> AsyncClient:
    """`connect` for asyncio: the same token, deadline and retry policy on a
    grpc.aio channel. Call it with the event loop running (inside a coroutine);
    `token` may also be a coroutine function."""
    options = _channel_options(retry)
    interceptors = _AsyncBearerAndDeadline(token, deadline).interceptors()
    channel = (grpc.aio.secure_channel(target, credentials, options, interceptors=interceptors)
               if credentials else
               grpc.aio.insecure_channel(target, options, interceptors=interceptors))
    return AsyncClient(channel)


@overload
def pages_async(method: _AsyncListCall[_PageT], request: _MessageT,
                items: Callable[[_PageT], Iterable[_Item]], **call: Any) -> AsyncIterator[_Item]: ...
@overload
def pages_async(method: _AsyncListCall[_PageT], request: _MessageT,
                items: str, **call: Any) -> AsyncIterator[Any]: ...
async def pages_async(method: _AsyncListCall[_PageT], request: _MessageT,
                      items: str | Callable[[_PageT], Iterable[_Item]],
                      **call: Any) -> AsyncIterator[Any]:
    """`pages` for the asyncio client: `async for item in pages_async(...)`."""
    request = _first_page(request)
    while True:
        response = await method(request, **call)
        for item in _items(response, items):
            yield item
        if not response.next_page_token:
            return
        setattr(request, "page_token", response.next_page_token)


# --- errors ---------------------------------------------------------------

_DETAILS_KEY = "grpc-status-details-bin"


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

    def __str__(self) -> str:
        """One line: the code, the message and what the details name."""
        text = f"{self.code.name}: {self.message}"
        named = [f"{name}: {description}" for name, description in self.field_violations]
        named += [f"{kind} {subject}: {description}"
                  for kind, subject, description in self.precondition_violations]
        for violation in named:
            if violation not in self.message:  # the message often says it already
                text += f"; {violation}"
        if self.error_info is not None and self.error_info.reason:
            text += f" [{self.error_info.reason}]"
        return " ".join(text.split())


def _call_status(error: BaseException) -> tuple[grpc.StatusCode, str, Sequence[tuple[str, Any]]]:
    if isinstance(error, grpc.aio.AioRpcError):
        return error.code(), error.details() or "", list(error.trailing_metadata() or ())
    if isinstance(error, grpc.Call):  # a synchronous call's error is its call
        return error.code(), error.details() or "", list(error.trailing_metadata() or ())
    return grpc.StatusCode.UNKNOWN, str(error), []


def error_details(error: BaseException) -> ErrorDetails:
    """Reads an error's (sync or asyncio) BadRequest field violations,
    PreconditionFailure and ErrorInfo from its google.rpc.Status details."""
    code, message, trailers = _call_status(error)
    found = ErrorDetails(code, message)
    status = next((status_pb2.Status.FromString(v) for k, v in trailers if k == _DETAILS_KEY),
                  None)
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
