import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import date_pb2 as _date_pb2
from lea.notices.v1 import common_pb2 as _common_pb2
from lea.notices.v1 import school_pb2 as _school_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BreachState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BREACH_STATE_UNSPECIFIED: _ClassVar[BreachState]
    BREACH_STATE_PENDING: _ClassVar[BreachState]
    BREACH_STATE_NOTICE_TO_IMPROVE_ISSUED: _ClassVar[BreachState]
    BREACH_STATE_PENALTY_NOTICE_ISSUED: _ClassVar[BreachState]
    BREACH_STATE_NO_ACTION: _ClassVar[BreachState]
    BREACH_STATE_REFERRED_TO_PROSECUTION: _ClassVar[BreachState]
    BREACH_STATE_OTHER_MEASURE: _ClassVar[BreachState]

class NoActionReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NO_ACTION_REASON_UNSPECIFIED: _ClassVar[NoActionReason]
    NO_ACTION_REASON_SUPPORT_IN_PLACE: _ClassVar[NoActionReason]
    NO_ACTION_REASON_MEDICAL: _ClassVar[NoActionReason]
    NO_ACTION_REASON_SAFEGUARDING: _ClassVar[NoActionReason]
    NO_ACTION_REASON_EXCEPTIONAL_CIRCUMSTANCES: _ClassVar[NoActionReason]
    NO_ACTION_REASON_OTHER: _ClassVar[NoActionReason]

class AttendanceGrouping(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTENDANCE_GROUPING_UNSPECIFIED: _ClassVar[AttendanceGrouping]
    ATTENDANCE_GROUPING_PHASE: _ClassVar[AttendanceGrouping]
    ATTENDANCE_GROUPING_SCHOOL: _ClassVar[AttendanceGrouping]
BREACH_STATE_UNSPECIFIED: BreachState
BREACH_STATE_PENDING: BreachState
BREACH_STATE_NOTICE_TO_IMPROVE_ISSUED: BreachState
BREACH_STATE_PENALTY_NOTICE_ISSUED: BreachState
BREACH_STATE_NO_ACTION: BreachState
BREACH_STATE_REFERRED_TO_PROSECUTION: BreachState
BREACH_STATE_OTHER_MEASURE: BreachState
NO_ACTION_REASON_UNSPECIFIED: NoActionReason
NO_ACTION_REASON_SUPPORT_IN_PLACE: NoActionReason
NO_ACTION_REASON_MEDICAL: NoActionReason
NO_ACTION_REASON_SAFEGUARDING: NoActionReason
NO_ACTION_REASON_EXCEPTIONAL_CIRCUMSTANCES: NoActionReason
NO_ACTION_REASON_OTHER: NoActionReason
ATTENDANCE_GROUPING_UNSPECIFIED: AttendanceGrouping
ATTENDANCE_GROUPING_PHASE: AttendanceGrouping
ATTENDANCE_GROUPING_SCHOOL: AttendanceGrouping

class BreachDecision(_message.Message):
    __slots__ = ("state", "no_action_reason", "note", "notice_numbers", "decide_time", "decided_by", "decided_by_role")
    STATE_FIELD_NUMBER: _ClassVar[int]
    NO_ACTION_REASON_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    NOTICE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    DECIDE_TIME_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_ROLE_FIELD_NUMBER: _ClassVar[int]
    state: BreachState
    no_action_reason: NoActionReason
    note: str
    notice_numbers: _containers.RepeatedScalarFieldContainer[str]
    decide_time: _timestamp_pb2.Timestamp
    decided_by: str
    decided_by_role: str
    def __init__(self, state: _Optional[_Union[BreachState, str]] = ..., no_action_reason: _Optional[_Union[NoActionReason, str]] = ..., note: _Optional[str] = ..., notice_numbers: _Optional[_Iterable[str]] = ..., decide_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decided_by: _Optional[str] = ..., decided_by_role: _Optional[str] = ...) -> None: ...

class RecordBreachDecisionRequest(_message.Message):
    __slots__ = ("parent", "request_id", "upn", "as_of_date", "state", "no_action_reason", "note")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    UPN_FIELD_NUMBER: _ClassVar[int]
    AS_OF_DATE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    NO_ACTION_REASON_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    parent: str
    request_id: str
    upn: str
    as_of_date: _date_pb2.Date
    state: BreachState
    no_action_reason: NoActionReason
    note: str
    def __init__(self, parent: _Optional[str] = ..., request_id: _Optional[str] = ..., upn: _Optional[str] = ..., as_of_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., state: _Optional[_Union[BreachState, str]] = ..., no_action_reason: _Optional[_Union[NoActionReason, str]] = ..., note: _Optional[str] = ...) -> None: ...

class RecordBreachDecisionResponse(_message.Message):
    __slots__ = ("threshold_breach",)
    THRESHOLD_BREACH_FIELD_NUMBER: _ClassVar[int]
    threshold_breach: ThresholdBreach
    def __init__(self, threshold_breach: _Optional[_Union[ThresholdBreach, _Mapping]] = ...) -> None: ...

class Mark(_message.Message):
    __slots__ = ("school_urn", "upn", "date", "session", "code", "record_time")
    SCHOOL_URN_FIELD_NUMBER: _ClassVar[int]
    UPN_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    RECORD_TIME_FIELD_NUMBER: _ClassVar[int]
    school_urn: str
    upn: str
    date: _date_pb2.Date
    session: _common_pb2.Session
    code: str
    record_time: _timestamp_pb2.Timestamp
    def __init__(self, school_urn: _Optional[str] = ..., upn: _Optional[str] = ..., date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., session: _Optional[_Union[_common_pb2.Session, str]] = ..., code: _Optional[str] = ..., record_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordMarksRequest(_message.Message):
    __slots__ = ("parent", "request_id", "marks")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MARKS_FIELD_NUMBER: _ClassVar[int]
    parent: str
    request_id: str
    marks: _containers.RepeatedCompositeFieldContainer[Mark]
    def __init__(self, parent: _Optional[str] = ..., request_id: _Optional[str] = ..., marks: _Optional[_Iterable[_Union[Mark, _Mapping]]] = ...) -> None: ...

class RecordMarksResponse(_message.Message):
    __slots__ = ("inserted", "replaced", "unchanged", "batches", "outdated", "batch_results")
    INSERTED_FIELD_NUMBER: _ClassVar[int]
    REPLACED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    BATCHES_FIELD_NUMBER: _ClassVar[int]
    OUTDATED_FIELD_NUMBER: _ClassVar[int]
    BATCH_RESULTS_FIELD_NUMBER: _ClassVar[int]
    inserted: int
    replaced: int
    unchanged: int
    batches: int
    outdated: int
    batch_results: _containers.RepeatedCompositeFieldContainer[BatchResult]
    def __init__(self, inserted: _Optional[int] = ..., replaced: _Optional[int] = ..., unchanged: _Optional[int] = ..., batches: _Optional[int] = ..., outdated: _Optional[int] = ..., batch_results: _Optional[_Iterable[_Union[BatchResult, _Mapping]]] = ...) -> None: ...

class BatchResult(_message.Message):
    __slots__ = ("request_id", "inserted", "replaced", "unchanged", "outdated")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INSERTED_FIELD_NUMBER: _ClassVar[int]
    REPLACED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    OUTDATED_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    inserted: int
    replaced: int
    unchanged: int
    outdated: int
    def __init__(self, request_id: _Optional[str] = ..., inserted: _Optional[int] = ..., replaced: _Optional[int] = ..., unchanged: _Optional[int] = ..., outdated: _Optional[int] = ...) -> None: ...

class RecordMarksStreamRequest(_message.Message):
    __slots__ = ("parent", "request_id", "marks")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MARKS_FIELD_NUMBER: _ClassVar[int]
    parent: str
    request_id: str
    marks: _containers.RepeatedCompositeFieldContainer[Mark]
    def __init__(self, parent: _Optional[str] = ..., request_id: _Optional[str] = ..., marks: _Optional[_Iterable[_Union[Mark, _Mapping]]] = ...) -> None: ...

class RecordMarksStreamResponse(_message.Message):
    __slots__ = ("batch_result",)
    BATCH_RESULT_FIELD_NUMBER: _ClassVar[int]
    batch_result: BatchResult
    def __init__(self, batch_result: _Optional[_Union[BatchResult, _Mapping]] = ...) -> None: ...

class GetAttendanceSummaryRequest(_message.Message):
    __slots__ = ("parent", "school_urn", "upn", "start_date", "end_date", "group_by")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_URN_FIELD_NUMBER: _ClassVar[int]
    UPN_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    school_urn: str
    upn: str
    start_date: _date_pb2.Date
    end_date: _date_pb2.Date
    group_by: AttendanceGrouping
    def __init__(self, parent: _Optional[str] = ..., school_urn: _Optional[str] = ..., upn: _Optional[str] = ..., start_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., end_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., group_by: _Optional[_Union[AttendanceGrouping, str]] = ...) -> None: ...

class PhaseAttendance(_message.Message):
    __slots__ = ("phase", "schools", "figures", "enrolments", "persistent_absence_enrolments", "severe_absence_enrolments", "unknown_school_urns")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    SCHOOLS_FIELD_NUMBER: _ClassVar[int]
    FIGURES_FIELD_NUMBER: _ClassVar[int]
    ENROLMENTS_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_ABSENCE_ENROLMENTS_FIELD_NUMBER: _ClassVar[int]
    SEVERE_ABSENCE_ENROLMENTS_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_SCHOOL_URNS_FIELD_NUMBER: _ClassVar[int]
    phase: _school_pb2.SchoolPhase
    schools: int
    figures: AttendanceFigures
    enrolments: int
    persistent_absence_enrolments: int
    severe_absence_enrolments: int
    unknown_school_urns: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, phase: _Optional[_Union[_school_pb2.SchoolPhase, str]] = ..., schools: _Optional[int] = ..., figures: _Optional[_Union[AttendanceFigures, _Mapping]] = ..., enrolments: _Optional[int] = ..., persistent_absence_enrolments: _Optional[int] = ..., severe_absence_enrolments: _Optional[int] = ..., unknown_school_urns: _Optional[_Iterable[str]] = ...) -> None: ...

class SchoolAttendance(_message.Message):
    __slots__ = ("school_urn", "establishment_name", "phase", "figures", "enrolments", "persistent_absence_enrolments", "severe_absence_enrolments")
    SCHOOL_URN_FIELD_NUMBER: _ClassVar[int]
    ESTABLISHMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    FIGURES_FIELD_NUMBER: _ClassVar[int]
    ENROLMENTS_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_ABSENCE_ENROLMENTS_FIELD_NUMBER: _ClassVar[int]
    SEVERE_ABSENCE_ENROLMENTS_FIELD_NUMBER: _ClassVar[int]
    school_urn: str
    establishment_name: str
    phase: _school_pb2.SchoolPhase
    figures: AttendanceFigures
    enrolments: int
    persistent_absence_enrolments: int
    severe_absence_enrolments: int
    def __init__(self, school_urn: _Optional[str] = ..., establishment_name: _Optional[str] = ..., phase: _Optional[_Union[_school_pb2.SchoolPhase, str]] = ..., figures: _Optional[_Union[AttendanceFigures, _Mapping]] = ..., enrolments: _Optional[int] = ..., persistent_absence_enrolments: _Optional[int] = ..., severe_absence_enrolments: _Optional[int] = ...) -> None: ...

class AttendanceFigures(_message.Message):
    __slots__ = ("possible_sessions", "present", "approved_educational_activity", "authorised_absence", "unauthorised_absence", "overall_absence_rate", "attendance_rate")
    POSSIBLE_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    APPROVED_EDUCATIONAL_ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    AUTHORISED_ABSENCE_FIELD_NUMBER: _ClassVar[int]
    UNAUTHORISED_ABSENCE_FIELD_NUMBER: _ClassVar[int]
    OVERALL_ABSENCE_RATE_FIELD_NUMBER: _ClassVar[int]
    ATTENDANCE_RATE_FIELD_NUMBER: _ClassVar[int]
    possible_sessions: int
    present: int
    approved_educational_activity: int
    authorised_absence: int
    unauthorised_absence: int
    overall_absence_rate: float
    attendance_rate: float
    def __init__(self, possible_sessions: _Optional[int] = ..., present: _Optional[int] = ..., approved_educational_activity: _Optional[int] = ..., authorised_absence: _Optional[int] = ..., unauthorised_absence: _Optional[int] = ..., overall_absence_rate: _Optional[float] = ..., attendance_rate: _Optional[float] = ...) -> None: ...

class EnrolmentSummary(_message.Message):
    __slots__ = ("school_urn", "upn", "figures", "persistent_absence", "severe_absence")
    SCHOOL_URN_FIELD_NUMBER: _ClassVar[int]
    UPN_FIELD_NUMBER: _ClassVar[int]
    FIGURES_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_ABSENCE_FIELD_NUMBER: _ClassVar[int]
    SEVERE_ABSENCE_FIELD_NUMBER: _ClassVar[int]
    school_urn: str
    upn: str
    figures: AttendanceFigures
    persistent_absence: bool
    severe_absence: bool
    def __init__(self, school_urn: _Optional[str] = ..., upn: _Optional[str] = ..., figures: _Optional[_Union[AttendanceFigures, _Mapping]] = ..., persistent_absence: _Optional[bool] = ..., severe_absence: _Optional[bool] = ...) -> None: ...

class GetAttendanceSummaryResponse(_message.Message):
    __slots__ = ("figures", "enrolments", "persistent_absence_enrolments", "severe_absence_enrolments", "enrolment_summaries", "phase_groups", "school_groups")
    FIGURES_FIELD_NUMBER: _ClassVar[int]
    ENROLMENTS_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_ABSENCE_ENROLMENTS_FIELD_NUMBER: _ClassVar[int]
    SEVERE_ABSENCE_ENROLMENTS_FIELD_NUMBER: _ClassVar[int]
    ENROLMENT_SUMMARIES_FIELD_NUMBER: _ClassVar[int]
    PHASE_GROUPS_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_GROUPS_FIELD_NUMBER: _ClassVar[int]
    figures: AttendanceFigures
    enrolments: int
    persistent_absence_enrolments: int
    severe_absence_enrolments: int
    enrolment_summaries: _containers.RepeatedCompositeFieldContainer[EnrolmentSummary]
    phase_groups: _containers.RepeatedCompositeFieldContainer[PhaseAttendance]
    school_groups: _containers.RepeatedCompositeFieldContainer[SchoolAttendance]
    def __init__(self, figures: _Optional[_Union[AttendanceFigures, _Mapping]] = ..., enrolments: _Optional[int] = ..., persistent_absence_enrolments: _Optional[int] = ..., severe_absence_enrolments: _Optional[int] = ..., enrolment_summaries: _Optional[_Iterable[_Union[EnrolmentSummary, _Mapping]]] = ..., phase_groups: _Optional[_Iterable[_Union[PhaseAttendance, _Mapping]]] = ..., school_groups: _Optional[_Iterable[_Union[SchoolAttendance, _Mapping]]] = ...) -> None: ...

class ListThresholdBreachesRequest(_message.Message):
    __slots__ = ("parent", "as_of_date", "school_urn", "page_size", "page_token", "states")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    AS_OF_DATE_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_URN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    parent: str
    as_of_date: _date_pb2.Date
    school_urn: str
    page_size: int
    page_token: str
    states: _containers.RepeatedScalarFieldContainer[BreachState]
    def __init__(self, parent: _Optional[str] = ..., as_of_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., school_urn: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., states: _Optional[_Iterable[_Union[BreachState, str]]] = ...) -> None: ...

class GetMarkHistoryRequest(_message.Message):
    __slots__ = ("parent", "school_urn", "upn", "date", "session")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_URN_FIELD_NUMBER: _ClassVar[int]
    UPN_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    parent: str
    school_urn: str
    upn: str
    date: _date_pb2.Date
    session: _common_pb2.Session
    def __init__(self, parent: _Optional[str] = ..., school_urn: _Optional[str] = ..., upn: _Optional[str] = ..., date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., session: _Optional[_Union[_common_pb2.Session, str]] = ...) -> None: ...

class MarkRevision(_message.Message):
    __slots__ = ("code", "record_time", "current")
    CODE_FIELD_NUMBER: _ClassVar[int]
    RECORD_TIME_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    code: str
    record_time: _timestamp_pb2.Timestamp
    current: bool
    def __init__(self, code: _Optional[str] = ..., record_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., current: _Optional[bool] = ...) -> None: ...

class GetMarkHistoryResponse(_message.Message):
    __slots__ = ("revisions",)
    REVISIONS_FIELD_NUMBER: _ClassVar[int]
    revisions: _containers.RepeatedCompositeFieldContainer[MarkRevision]
    def __init__(self, revisions: _Optional[_Iterable[_Union[MarkRevision, _Mapping]]] = ...) -> None: ...

class ThresholdBreach(_message.Message):
    __slots__ = ("upn", "school_urn", "qualifying_sessions", "window_first_week", "window_last_week", "sessions", "covered_by_notice_to_improve", "covered_by_penalty_notice", "policy_version", "state", "decision", "name", "as_of_date")
    UPN_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_URN_FIELD_NUMBER: _ClassVar[int]
    QUALIFYING_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIRST_WEEK_FIELD_NUMBER: _ClassVar[int]
    WINDOW_LAST_WEEK_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    COVERED_BY_NOTICE_TO_IMPROVE_FIELD_NUMBER: _ClassVar[int]
    COVERED_BY_PENALTY_NOTICE_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    AS_OF_DATE_FIELD_NUMBER: _ClassVar[int]
    upn: str
    school_urn: str
    qualifying_sessions: int
    window_first_week: _date_pb2.Date
    window_last_week: _date_pb2.Date
    sessions: _containers.RepeatedCompositeFieldContainer[_common_pb2.SessionMark]
    covered_by_notice_to_improve: bool
    covered_by_penalty_notice: bool
    policy_version: str
    state: BreachState
    decision: BreachDecision
    name: str
    as_of_date: _date_pb2.Date
    def __init__(self, upn: _Optional[str] = ..., school_urn: _Optional[str] = ..., qualifying_sessions: _Optional[int] = ..., window_first_week: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., window_last_week: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., sessions: _Optional[_Iterable[_Union[_common_pb2.SessionMark, _Mapping]]] = ..., covered_by_notice_to_improve: _Optional[bool] = ..., covered_by_penalty_notice: _Optional[bool] = ..., policy_version: _Optional[str] = ..., state: _Optional[_Union[BreachState, str]] = ..., decision: _Optional[_Union[BreachDecision, _Mapping]] = ..., name: _Optional[str] = ..., as_of_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class ListThresholdBreachesResponse(_message.Message):
    __slots__ = ("threshold_breaches", "next_page_token")
    THRESHOLD_BREACHES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    threshold_breaches: _containers.RepeatedCompositeFieldContainer[ThresholdBreach]
    next_page_token: str
    def __init__(self, threshold_breaches: _Optional[_Iterable[_Union[ThresholdBreach, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
