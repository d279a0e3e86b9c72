"""An asyncio connector: follows an authority's event feed (WatchEvents) and
hands each CloudEvent on, resuming from the last cursor whenever the call ends
(the server's request timeout, the deadline, a restart), so no event is missed
or repeated. A real connector would keep the cursor somewhere durable; this one
prints each event's type and subject.

    LEA_NOTICES_TOKEN=... python follow_events.py --server localhost:50051 --authority 850
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import grpc

from lea.notices.v1 import events_pb2
from lea_notices_client import AsyncClient, connect_async, error_details


async def follow(client: AsyncClient, authority: str, *, start_after: int = 0,
                 event_types: list[str] | None = None, until_caught_up: bool = False,
                 ) -> int:
    """Prints each event as it commits; returns the last cursor (when caught up,
    with `until_caught_up`). Watches again from the cursor after each call."""
    cursor = start_after
    while True:
        request = events_pb2.WatchEventsRequest(
            parent=f"authorities/{authority}", start_after=cursor,
            event_types=event_types or [], stop_when_caught_up=until_caught_up)
        try:
            # Following: the call lives until the server's request timeout.
            async for response in client.events.WatchEvents(request, timeout=600):
                for event in response.events:
                    print(f"{event.sequence}\t{event.type}\t{event.subject}", flush=True)
                cursor = response.cursor
        except grpc.aio.AioRpcError as e:
            if e.code() not in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE):
                raise
            await asyncio.sleep(1)
        if until_caught_up:
            return cursor


async def run(server: str, token: str, authority: str, until_caught_up: bool) -> int:
    async with connect_async(server, token) as client:
        return await follow(client, authority, until_caught_up=until_caught_up)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Follow an authority's event feed.")
    parser.add_argument("--server", default="localhost:50051")
    parser.add_argument("--authority", required=True)
    parser.add_argument("--until-caught-up", action="store_true",
                        help="stop once every event so far is printed")
    args = parser.parse_args(argv)
    token = os.environ.get("LEA_NOTICES_TOKEN")
    if not token:
        parser.error("set LEA_NOTICES_TOKEN")
    try:
        cursor = asyncio.run(run(args.server, token, args.authority, args.until_caught_up))
    except grpc.aio.AioRpcError as e:
        print(f"follow_events: {error_details(e)}", file=sys.stderr)
        return 1
    print(f"caught up at cursor {cursor}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
