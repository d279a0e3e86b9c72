import grpc
import pytest
from google.type import date_pb2

from lea.notices.v1 import common_pb2, notice_pb2, policy_pb2, worklist_pb2
from lea_notices_client import connect, error_details, pages, retry_service_config
from lea_notices_client.mis_connector import RegisterError, record_register

AUTHORITY = "authorities/850"


def day(y, m, d):
    return date_pb2.Date(year=y, month=m, day=d)


def test_get_policy(client):
    response = client.policy.GetPolicy(
        policy_pb2.GetPolicyRequest(parent=AUTHORITY, date=day(2025, 9, 1)))
    version = response.policy_version
    assert version.lower_amount_pence == 8000
    assert version.higher_amount_pence == 16000


def test_a_call_without_a_token_is_unauthenticated(server):
    with pytest.raises(grpc.RpcError) as raised:
        with connect(server["target"], "not-a-token") as c:
            c.policy.GetPolicy(policy_pb2.GetPolicyRequest(parent=AUTHORITY, date=day(2025, 9, 1)))
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


def _address():
    return common_pb2.PostalAddress(lines=["1 High Street", "Winchester"], postcode="SO23 8UJ")


def _holiday_notices(parents: int) -> notice_pb2.IssuePenaltyNoticeRequest:
    sessions = [common_pb2.SessionMark(date=day(2025, 6, d), session=s, code="G")
                for d in range(2, 7) for s in (common_pb2.SESSION_AM, common_pb2.SESSION_PM)]
    return notice_pb2.IssuePenaltyNoticeRequest(
        parent=AUTHORITY, request_id="pytest-paging-1",
        pupil=notice_pb2.Pupil(upn="B801200005001", school_urn="116439", given_name="Sam",
                               family_name="Taylor", address=_address()),
        parents=[notice_pb2.Parent(person_id=f"p-{i}", given_name=f"Parent{i}",
                                   family_name="Taylor", address=_address(),
                                   liability=notice_pb2.Liability(
                                       basis=notice_pb2.LIABILITY_BASIS_PARENTAL_RESPONSIBILITY,
                                       relationship="parent"))
                 for i in range(1, parents + 1)],
        offence=notice_pb2.Offence(type=notice_pb2.OFFENCE_TYPE_S444_ATTENDANCE,
                                   reason=common_pb2.OFFENCE_REASON_HOLIDAY,
                                   description="Term-time holiday"),
        sessions=sessions, issue_date=day(2025, 6, 16),
        issuer=notice_pb2.Issuer(display_name="J. Jones",
                                 official_details="Attendance Enforcement Officer"),
        delivery=notice_pb2.Delivery(method=notice_pb2.DELIVERY_METHOD_POST,
                                     posting_date=day(2025, 6, 16)))


def test_paging_walks_every_page_of_list_notices(client, token, server):
    issued = client.notices.IssuePenaltyNotice(_holiday_notices(parents=5))
    assert len(issued.notices) == 5
    calls = []
    request = notice_pb2.ListNoticesRequest(parent=AUTHORITY, page_size=2)
    with connect(server["target"], token("auditor")) as auditor:
        def list_as_auditor(request, **kw):
            calls.append(request.page_token)
            return auditor.notices.ListNotices(request, **kw)
        listed = list(pages(list_as_auditor, request, "notices", timeout=10))
    assert sorted(n.notice_number for n in listed) == sorted(n.notice_number for n in issued.notices)
    assert len(calls) == 3 and calls[0] == "" and all(calls[1:]), calls
    assert request.page_token == "", "the caller's request is left alone"


def test_the_worklist_lists_a_notice_unpaid_after_its_period(client):
    request = _holiday_notices(parents=1)
    request.request_id = "pytest-worklist-1"
    request.pupil.upn = "Q801200005002"
    notice = client.notices.IssuePenaltyNotice(request).notices[0]
    listing = worklist_pb2.ListActionsRequest(
        parent=AUTHORITY, kinds=[worklist_pb2.ACTION_KIND_UNPAID_AFTER_PERIOD], page_size=1)
    actions = list(pages(client.worklist.ListActions, listing, "actions", timeout=10))
    ours = [a for a in actions if a.resource == notice.name]
    assert len(ours) == 1, actions
    # Posted 16 Jun 2025, received on the 18th: unpaid from 16 July (day 29).
    assert (ours[0].due_date.year, ours[0].due_date.month, ours[0].due_date.day) == (2025, 7, 16)
    assert "regs. 7 and 9" in ours[0].rule


def test_invalid_argument_names_the_fields(client):
    with pytest.raises(grpc.RpcError) as raised:
        client.notices.ListNotices(notice_pb2.ListNoticesRequest(parent=AUTHORITY, page_size=-1))
    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.fields == ["page_size"], details


def test_failed_precondition_names_the_rule(client):
    request = _holiday_notices(parents=1)
    request.request_id = "pytest-precondition-1"
    request.pupil.upn = "H801200005005"  # another pupil, but too few sessions:
    del request.sessions[2:]
    with pytest.raises(grpc.RpcError) as raised:
        client.notices.IssuePenaltyNotice(request)
    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.FAILED_PRECONDITION, details
    assert details.precondition_violations, details


def test_the_retry_policy_retries_unavailable():
    import json
    config = json.loads(retry_service_config())["methodConfig"][0]
    assert config["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
    assert {"service": "lea.notices.v1.AttendanceService"} in config["name"]


def test_the_mis_connector_streams_a_csv_register(client, tmp_path):
    csv = tmp_path / "register.csv"
    rows = ["school_urn,upn,date,session,code,record_time"]
    for d in range(2, 7):
        for s in ("AM", "PM"):
            rows.append(f"116439,B801200005001,2025-06-{d:02},{s},G,2025-06-{d:02}T09:05:00Z")
    csv.write_text("\n".join(rows) + "\n")
    first = record_register(client, "850", str(csv), batch_size=4)
    assert first.marks == 10
    assert (first.response.batches, first.response.inserted) == (3, 10)
    again = record_register(client, "850", str(csv), batch_size=4)
    assert (again.response.inserted, again.response.unchanged) == (0, 10), "retried batches"


def test_the_mis_connector_reports_refused_rows(client, tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("school_urn,upn,date,session,code,record_time\n"
                   "116439,B801200005001,2025-06-09,AM,Q9,2025-06-09T09:05:00Z\n")
    with pytest.raises(grpc.RpcError) as raised:
        record_register(client, "850", str(csv))
    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.fields == ["marks[0]"], details
    assert details.error_info.reason == "BATCH_NOT_COMMITTED"
    malformed = tmp_path / "malformed.csv"
    malformed.write_text("school_urn,upn,date,session,code,record_time\n116439,B801200005001,9 June,AM,/,x\n")
    with pytest.raises(RegisterError, match="line 2"):
        record_register(client, "850", str(malformed))
