"""An example MIS connector: streams a CSV register to AttendanceService.RecordMarks.

The CSV is what `lea-notices import-marks` reads: a header, then the columns
school_urn, upn, date (YYYY-MM-DD), session (AM/PM), code, record_time (RFC 3339).
The file must be UTF-8 (with or without a byte-order mark; Excel's "CSV UTF-8").
Each batch's request id is a hash of its contents, so running the same file again
changes nothing. A malformed row, or a file in another encoding, stops the run
before anything is sent, naming its line; a mark the server refuses is named by
its line too. Every error is one line on stderr and exit code 2.

    LEA_NOTICES_TOKEN=... lea-notices-mis-connector register.csv \\
        --server localhost:50051 --authority 850
"""

from __future__ import annotations

import argparse
import codecs
import csv
import datetime as dt
import hashlib
import io
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc

from google.protobuf import timestamp_pb2
from google.type import date_pb2

from lea.notices.v1 import attendance_pb2, common_pb2

from . import Client, connect, error_details

COLUMNS = ["school_urn", "upn", "date", "session", "code", "record_time"]
SESSIONS = {"AM": common_pb2.SESSION_AM, "PM": common_pb2.SESSION_PM}


class RegisterError(ValueError):
    """A malformed register file; the message names the line."""


_UTF16_32 = [(codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
             (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16")]
_SAVE_AS = "save it as UTF-8 (Excel: CSV UTF-8)"


@dataclass
class Register:
    """A register file's marks, each with the line of the file it came from."""

    marks: list[attendance_pb2.Mark] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def _text(path: str) -> str:
    """The file as text, if it is UTF-8; else a RegisterError naming the line
    and the encoding to save it in."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise RegisterError("no such file") from None
    except IsADirectoryError:
        raise RegisterError("is a directory, not a file") from None
    except OSError as e:
        raise RegisterError(f"cannot read it: {e.strerror or e}") from None
    for bom, encoding in _UTF16_32:
        if data.startswith(bom):
            raise RegisterError(f"line 1: the file is {encoding} (its byte-order mark "
                                f"says so), not UTF-8: {_SAVE_AS}")
    first_line = data.split(b"\n", 1)[0]
    if b"\x00" in first_line:
        raise RegisterError(f"line 1: the file has NUL bytes, as UTF-16 without a "
                            f"byte-order mark has, not UTF-8: {_SAVE_AS}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise RegisterError(f"line {line}: byte 0x{data[e.start]:02X} at column {column} is "
                            f"not UTF-8 (the file looks like Windows-1252 or Latin-1, as "
                            f"Excel's plain CSV saves it): {_SAVE_AS}") from None


def load_register(path: str) -> Register:
    """Every mark of the file with its line, checked (shape only: the server
    checks the rules). Line numbers are the file's own, whatever its line
    endings (LF or CRLF) and quoted line breaks."""
    register = Register()
    rows = csv.reader(io.StringIO(_text(path), newline=""))
    try:
        header = [h.strip() for h in next(rows, [])]
        if header != COLUMNS:
            raise RegisterError(f"line 1: the header must be {','.join(COLUMNS)}")
        first = rows.line_num + 1
        for row in rows:
            if not any(cell.strip() for cell in row):
                first = rows.line_num + 1
                continue
            line = first  # where the row starts (a quoted cell may span lines)
            if len(row) != len(COLUMNS):
                raise RegisterError(f"line {line}: {len(row)} columns, not {len(COLUMNS)}")
            register.marks.append(_mark(line, dict(zip(COLUMNS, (c.strip() for c in row)))))
            register.lines.append(line)
            first = rows.line_num + 1
    except csv.Error as e:
        raise RegisterError(f"line {rows.line_num}: {e}") from None
    return register


def read_register(path: str) -> list[attendance_pb2.Mark]:
    """Every mark of the file, checked (shape only: the server checks the rules)."""
    return load_register(path).marks


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


def send_register(client: Client, authority: str, register: Register, *,
                  batch_size: int = 1000, timeout: float | None = None) -> Outcome:
    """Streams the marks in batches over one RecordMarks call."""
    response = client.attendance.RecordMarks(batches(authority, register.marks, batch_size),
                                             timeout=timeout)
    return Outcome(response, len(register.marks))


def record_register(client: Client, authority: str, path: str, *,
                    batch_size: int = 1000, timeout: float | None = None) -> Outcome:
    """Reads the file and streams its marks in batches over one RecordMarks call."""
    return send_register(client, authority, load_register(path), batch_size=batch_size,
                         timeout=timeout)


_MARK_FIELD = re.compile(r"^marks\[(\d+)\]")


def describe_refusal(error: grpc.RpcError, register: Register, batch_size: int) -> str:
    """One line for a failed call: the line of the first mark it names (the
    batch refused is the one after those committed), the status code, the
    message and the field violations."""
    details = error_details(error)
    text = str(details)
    info = details.error_info
    committed = info.metadata.get("committed_batches") if info is not None else None
    if committed is None or not committed.isdigit():
        return text
    for name, _ in details.field_violations:
        match = _MARK_FIELD.match(name)
        index = int(committed) * batch_size + int(match.group(1)) if match else -1
        if 0 <= index < len(register.lines):
            text = f"line {register.lines[index]}: {text}"
            break
    recorded = min(int(committed) * batch_size, len(register.marks))
    return f"{text} (marks recorded before its batch: {recorded})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--server", default="localhost:50051")
    parser.add_argument("--authority", required=True)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args(argv)
    token = os.environ.get("LEA_NOTICES_TOKEN")
    if not token:
        parser.error("set LEA_NOTICES_TOKEN")
    try:
        register = load_register(args.file)
    except RegisterError as e:
        print(f"{args.file}: {e}", file=sys.stderr)
        return 2
    with connect(args.server, token) as client:
        try:
            outcome = send_register(client, args.authority, register,
                                    batch_size=args.batch_size)
        except grpc.RpcError as e:
            print(f"{args.file}: {describe_refusal(e, register, args.batch_size)}",
                  file=sys.stderr)
            return 2
    r = outcome.response
    print(f"{outcome.marks} marks in {r.batches} batches: {r.inserted} inserted, "
          f"{r.replaced} replaced, {r.unchanged} unchanged, {r.outdated} outdated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
