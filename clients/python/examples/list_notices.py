"""A synchronous connector: lists an authority's penalty notices, page by page,
one line each (what a case-management system's nightly import would read).

    LEA_NOTICES_TOKEN=... python list_notices.py --server localhost:50051 --authority 850
"""

from __future__ import annotations

import argparse
import os
import sys

import grpc

from lea.notices.v1 import notice_pb2
from lea_notices_client import connect, error_details, pages


def notice_lines(server: str, token: str, authority: str) -> list[str]:
    """One line per notice: number, status, the parent named and the lower amount
    with its deadline."""
    request = notice_pb2.ListNoticesRequest(parent=f"authorities/{authority}", page_size=100)
    lines = []
    with connect(server, token) as client:
        for notice in pages(client.notices.ListNotices, request, lambda r: r.notices):
            parent = f"{notice.parent.given_name} {notice.parent.family_name}"
            status = notice_pb2.NoticeStatus.Name(notice.status).removeprefix("NOTICE_STATUS_")
            deadline = notice.lower_deadline
            lines.append(f"{notice.notice_number}\t{status}\t{parent}\t"
                         f"£{notice.lower_amount_pence / 100:.2f} by "
                         f"{deadline.year}-{deadline.month:02}-{deadline.day:02}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="List an authority's notices.")
    parser.add_argument("--server", default="localhost:50051")
    parser.add_argument("--authority", required=True)
    args = parser.parse_args(argv)
    token = os.environ.get("LEA_NOTICES_TOKEN")
    if not token:
        parser.error("set LEA_NOTICES_TOKEN")
    try:
        lines = notice_lines(args.server, token, args.authority)
    except grpc.RpcError as e:
        print(f"list_notices: {error_details(e)}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
