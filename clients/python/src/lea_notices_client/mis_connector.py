"""An example MIS connector: streams a CSV register to AttendanceService.RecordMarks.

The CSV is what `lea-notices import-marks` reads: a header, then the columns
school_urn, upn, date (YYYY-MM-DD), session (AM/PM), code, record_time (RFC 3339).
Each batch's request id is a hash of its contents, so running the same file again
changes nothing. A malformed row stops the run before anything is sent, naming
its line.

    LEA_NOTICES_TOKEN=... lea-notices-mis-connector register.csv \\
        --server localhost:50051 --authority 850
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from google.protobuf import timestamp_pb2
from google.type import date_pb2

from lea.notices.v1 import attendance_pb2, common_pb2

from . import Client, connect

COLUMNS = ["school_urn", "upn", "date", "session", "code", "record_time"]
SESSIONS = {"AM": common_pb2.SESSION_AM, "PM": common_pb2.SESSION_PM}


class RegisterError(ValueError):
    """A malformed register file; the message names the line."""


def read_register(path: str) -> list[attendance_pb2.Mark]:
    """Every mark of the file, checked (shape only: the server checks the rules)."""
    marks = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = csv.reader(f)
        header = [h.strip() for h in next(rows, [])]
        if header != COLUMNS:
            raise RegisterError(f"line 1: the header must be {','.join(COLUMNS)}")
        for line, row in enumerate(rows, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(COLUMNS):
                raise RegisterError(f"line {line}: {len(row)} columns, not {len(COLUMNS)}")
            marks.append(_mark(line, dict(zip(COLUMNS, (c.strip() for c in row)))))
    return marks


def _mark(line: int, row: dict[str, str]) -> attendance_pb2.Mark:
    try:
        day = dt.date.fromisoformat(row["date"])
    except ValueError:
        raise RegisterError(f"line {line}: date {row['date']!r} is not YYYY-MM-DD") from None
    session = SESSIONS.get(row["session"].upper())
    if session is None:
        raise RegisterError(f"line {line}: session must be AM or PM")
    try:
        recorded = dt.datetime.fromisoformat(row["record_time"].replace("Z", "+00:00"))
    except ValueError:
        raise RegisterError(f"line {line}: record_time is not RFC 3339") from None
    if recorded.tzinfo is None:
        raise RegisterError(f"line {line}: record_time needs an offset (Z or +01:00)")
    record_time = timestamp_pb2.Timestamp()
    record_time.FromDatetime(recorded.astimezone(dt.timezone.utc))
    return attendance_pb2.Mark(
        school_urn=row["school_urn"], upn=row["upn"],
        date=date_pb2.Date(year=day.year, month=day.month, day=day.day),
        session=session, code=row["code"], record_time=record_time)


def batches(authority: str, marks: list[attendance_pb2.Mark],
            batch_size: int = 1000) -> Iterator[attendance_pb2.RecordMarksRequest]:
    """RecordMarks requests of at most `batch_size` marks (the server takes 5,000)."""
    for start in range(0, len(marks), batch_size):
        chunk = marks[start:start + batch_size]
        digest = hashlib.sha256(authority.encode())
        for mark in chunk:
            digest.update(mark.SerializeToString(deterministic=True))
        yield attendance_pb2.RecordMarksRequest(
            parent=f"authorities/{authority}", request_id=f"mis-{digest.hexdigest()[:32]}",
            marks=chunk)


@dataclass
class Outcome:
    response: attendance_pb2.RecordMarksResponse
    marks: int


def record_register(client: Client, authority: str, path: str, *,
                    batch_size: int = 1000, timeout: float | None = None) -> Outcome:
    """Streams the file's marks in batches over one RecordMarks call."""
    marks = read_register(path)
    response = client.attendance.RecordMarks(batches(authority, marks, batch_size),
                                             timeout=timeout)
    return Outcome(response, len(marks))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--server", default="localhost:50051")
    parser.add_argument("--authority", required=True)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args(argv)
    token = os.environ.get("LEA_NOTICES_TOKEN")
    if not token:
        parser.error("set LEA_NOTICES_TOKEN")
    with connect(args.server, token) as client:
        try:
            outcome = record_register(client, args.authority, args.file,
                                      batch_size=args.batch_size)
        except RegisterError as e:
            print(f"{args.file}: {e}", file=sys.stderr)
            return 2
    r = outcome.response
    print(f"{outcome.marks} marks in {r.batches} batches: {r.inserted} inserted, "
          f"{r.replaced} replaced, {r.unchanged} unchanged, {r.outdated} outdated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
