"""The asyncio client (connect_async) against the real server: each test runs its
coroutine with asyncio.run, so no pytest plugin is needed."""

import asyncio
import time

import grpc
import pytest
from google.type import date_pb2

from lea.notices.v1 import attendance_pb2, common_pb2, events_pb2, notice_pb2, policy_pb2
from lea_notices_client import connect_async, error_details, pages_async

from test_client import AUTHORITY, _holiday_notices

NOTICE_ISSUED = "uk.gov.lea-notices.v1.notice.penalty_notice_issued"


def day(y, m, d):
    return date_pb2.Date(year=y, month=m, day=d)


def test_async_unary_call(server, token):
    async def run():
        async with connect_async(server["target"], token()) as client:
            response = await client.policy.GetPolicy(
                policy_pb2.GetPolicyRequest(parent=AUTHORITY, date=day(2025, 9, 1)))
            return response.policy_version
    version = asyncio.run(run())
    assert (version.lower_amount_pence, version.higher_amount_pence) == (8000, 16000)


def test_async_token_may_be_a_coroutine_function(server, token):
    asked = []

    async def current_token():
        asked.append(1)
        return token()

    async def run():
        async with connect_async(server["target"], current_token) as client:
            for _ in range(2):
                await client.policy.GetPolicy(
                    policy_pb2.GetPolicyRequest(parent=AUTHORITY, date=day(2025, 9, 1)))
    asyncio.run(run())
    assert len(asked) == 2, "asked once per call"


def test_async_call_without_a_valid_token_is_unauthenticated(server):
    async def run():
        async with connect_async(server["target"], "not-a-token") as client:
            await client.policy.GetPolicy(
                policy_pb2.GetPolicyRequest(parent=AUTHORITY, date=day(2025, 9, 1)))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        asyncio.run(run())
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_async_pages_and_the_event_feed(server, token):
    # Another authority's, so that its list holds only these notices.
    other = "authorities/851"
    request = _holiday_notices(parents=3)
    request.parent = other
    request.request_id = "pytest-async-paging-1"

    async def run():
        async with connect_async(server["target"], token(authority="851")) as client:
            issued = await client.notices.IssuePenaltyNotice(request)
            listing = notice_pb2.ListNoticesRequest(parent=other, page_size=1)
            listed = [n.name async for n in pages_async(client.notices.ListNotices, listing,
                                                        lambda r: r.notices, timeout=10)]
            by_name = [n.name async for n in pages_async(client.notices.ListNotices, listing,
                                                         "notices")]
            watch = events_pb2.WatchEventsRequest(parent=other, event_types=[NOTICE_ISSUED],
                                                  stop_when_caught_up=True)
            events = []
            async for response in client.events.WatchEvents(watch):
                events += [e.subject for e in response.events]
            return issued, listed, by_name, events, listing

    issued, listed, by_name, events, listing = asyncio.run(run())
    ours = {n.name for n in issued.notices}
    assert len(ours) == 3
    assert sorted(listed) == sorted(ours) and listed == by_name
    assert sorted(events) == sorted(ours)
    assert listing.page_token == "", "the caller's request is left alone"


def test_async_stream_of_requests_and_field_violations(server, token):
    async def marks(code):
        yield attendance_pb2.RecordMarksRequest(
            parent=AUTHORITY, request_id=f"pytest-async-marks-{code}",
            marks=[attendance_pb2.Mark(school_urn="116439", upn="B801200005001",
                                       date=day(2025, 6, 10), session=common_pb2.SESSION_AM,
                                       code=code, record_time=_timestamp())])

    async def run(code):
        async with connect_async(server["target"], token()) as client:
            return await client.attendance.RecordMarks(marks(code))

    assert asyncio.run(run("/")).inserted == 1
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        asyncio.run(run("Q9"))
    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.fields == ["marks[0]"], details
    assert details.error_info.reason == "BATCH_NOT_COMMITTED"
    assert "marks[0]" in str(details)


def test_async_default_deadline_ends_a_followed_feed(server, token):
    async def run():
        async with connect_async(server["target"], token(), deadline=1.0) as client:
            # Following (not stopping when caught up): only the deadline ends it.
            call = client.events.WatchEvents(events_pb2.WatchEventsRequest(parent=AUTHORITY))
            try:
                async for _ in call:
                    pass
            except grpc.aio.AioRpcError as e:
                assert e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, e
    started = time.monotonic()
    asyncio.run(asyncio.wait_for(run(), timeout=20))
    assert time.monotonic() - started < 8, "the server would end it after 30 s"


def _timestamp():
    from google.protobuf import timestamp_pb2
    t = timestamp_pb2.Timestamp()
    t.FromJsonString("2025-06-10T09:05:00Z")
    return t
