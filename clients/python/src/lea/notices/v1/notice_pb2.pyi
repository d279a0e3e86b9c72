import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import date_pb2 as _date_pb2
from lea.notices.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PenaltyNoticeRequestState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PENALTY_NOTICE_REQUEST_STATE_UNSPECIFIED: _ClassVar[PenaltyNoticeRequestState]
    PENALTY_NOTICE_REQUEST_STATE_PENDING: _ClassVar[PenaltyNoticeRequestState]
    PENALTY_NOTICE_REQUEST_STATE_ISSUED: _ClassVar[PenaltyNoticeRequestState]
    PENALTY_NOTICE_REQUEST_STATE_DECLINED: _ClassVar[PenaltyNoticeRequestState]

class NoticeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOTICE_KIND_UNSPECIFIED: _ClassVar[NoticeKind]
    NOTICE_KIND_NOTICE_TO_IMPROVE: _ClassVar[NoticeKind]
    NOTICE_KIND_PENALTY_NOTICE: _ClassVar[NoticeKind]

class OffenceType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OFFENCE_TYPE_UNSPECIFIED: _ClassVar[OffenceType]
    OFFENCE_TYPE_S444_ATTENDANCE: _ClassVar[OffenceType]
    OFFENCE_TYPE_S103_EXCLUDED_IN_PUBLIC: _ClassVar[OffenceType]

class DeliveryMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_METHOD_UNSPECIFIED: _ClassVar[DeliveryMethod]
    DELIVERY_METHOD_HAND: _ClassVar[DeliveryMethod]
    DELIVERY_METHOD_POST: _ClassVar[DeliveryMethod]

class NoticeStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOTICE_STATUS_UNSPECIFIED: _ClassVar[NoticeStatus]
    NOTICE_STATUS_ISSUED: _ClassVar[NoticeStatus]
    NOTICE_STATUS_PAID: _ClassVar[NoticeStatus]
    NOTICE_STATUS_UNPAID: _ClassVar[NoticeStatus]
    NOTICE_STATUS_PROSECUTED: _ClassVar[NoticeStatus]
    NOTICE_STATUS_WITHDRAWN: _ClassVar[NoticeStatus]
    NOTICE_STATUS_IMPROVEMENT_PERIOD_ENDED: _ClassVar[NoticeStatus]

class PaidRate(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAID_RATE_UNSPECIFIED: _ClassVar[PaidRate]
    PAID_RATE_LOWER: _ClassVar[PaidRate]
    PAID_RATE_HIGHER: _ClassVar[PaidRate]
    PAID_RATE_SECOND_NOTICE_FLAT: _ClassVar[PaidRate]

class WithdrawalGround(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WITHDRAWAL_GROUND_UNSPECIFIED: _ClassVar[WithdrawalGround]
    WITHDRAWAL_GROUND_OUGHT_NOT_TO_HAVE_BEEN_ISSUED: _ClassVar[WithdrawalGround]
    WITHDRAWAL_GROUND_ISSUED_TO_WRONG_PERSON: _ClassVar[WithdrawalGround]
    WITHDRAWAL_GROUND_MATERIAL_ERRORS: _ClassVar[WithdrawalGround]
    WITHDRAWAL_GROUND_OUTSIDE_CODE_OF_CONDUCT: _ClassVar[WithdrawalGround]

class ProsecutionResult(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROSECUTION_RESULT_UNSPECIFIED: _ClassVar[ProsecutionResult]
    PROSECUTION_RESULT_CONVICTED: _ClassVar[ProsecutionResult]
    PROSECUTION_RESULT_ACQUITTED: _ClassVar[ProsecutionResult]
    PROSECUTION_RESULT_WITHDRAWN: _ClassVar[ProsecutionResult]

class LiabilityBasis(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LIABILITY_BASIS_UNSPECIFIED: _ClassVar[LiabilityBasis]
    LIABILITY_BASIS_PARENTAL_RESPONSIBILITY: _ClassVar[LiabilityBasis]
    LIABILITY_BASIS_CARE_OF_CHILD: _ClassVar[LiabilityBasis]
PENALTY_NOTICE_REQUEST_STATE_UNSPECIFIED: PenaltyNoticeRequestState
PENALTY_NOTICE_REQUEST_STATE_PENDING: PenaltyNoticeRequestState
PENALTY_NOTICE_REQUEST_STATE_ISSUED: PenaltyNoticeRequestState
PENALTY_NOTICE_REQUEST_STATE_DECLINED: PenaltyNoticeRequestState
NOTICE_KIND_UNSPECIFIED: NoticeKind
NOTICE_KIND_NOTICE_TO_IMPROVE: NoticeKind
NOTICE_KIND_PENALTY_NOTICE: NoticeKind
OFFENCE_TYPE_UNSPECIFIED: OffenceType
OFFENCE_TYPE_S444_ATTENDANCE: OffenceType
OFFENCE_TYPE_S103_EXCLUDED_IN_PUBLIC: OffenceType
DELIVERY_METHOD_UNSPECIFIED: DeliveryMethod
DELIVERY_METHOD_HAND: DeliveryMethod
DELIVERY_METHOD_POST: DeliveryMethod
NOTICE_STATUS_UNSPECIFIED: NoticeStatus
NOTICE_STATUS_ISSUED: NoticeStatus
NOTICE_STATUS_PAID: NoticeStatus
NOTICE_STATUS_UNPAID: NoticeStatus
NOTICE_STATUS_PROSECUTED: NoticeStatus
NOTICE_STATUS_WITHDRAWN: NoticeStatus
NOTICE_STATUS_IMPROVEMENT_PERIOD_ENDED: NoticeStatus
PAID_RATE_UNSPECIFIED: PaidRate
PAID_RATE_LOWER: PaidRate
PAID_RATE_HIGHER: PaidRate
PAID_RATE_SECOND_NOTICE_FLAT: PaidRate
WITHDRAWAL_GROUND_UNSPECIFIED: WithdrawalGround
WITHDRAWAL_GROUND_OUGHT_NOT_TO_HAVE_BEEN_ISSUED: WithdrawalGround
WITHDRAWAL_GROUND_ISSUED_TO_WRONG_PERSON: WithdrawalGround
WITHDRAWAL_GROUND_MATERIAL_ERRORS: WithdrawalGround
WITHDRAWAL_GROUND_OUTSIDE_CODE_OF_CONDUCT: WithdrawalGround
PROSECUTION_RESULT_UNSPECIFIED: ProsecutionResult
PROSECUTION_RESULT_CONVICTED: ProsecutionResult
PROSECUTION_RESULT_ACQUITTED: ProsecutionResult
PROSECUTION_RESULT_WITHDRAWN: ProsecutionResult
LIABILITY_BASIS_UNSPECIFIED: LiabilityBasis
LIABILITY_BASIS_PARENTAL_RESPONSIBILITY: LiabilityBasis
LIABILITY_BASIS_CARE_OF_CHILD: LiabilityBasis

class PenaltyNoticeRequest(_message.Message):
    __slots__ = ("name", "upn", "school_urn", "parent_person_ids", "sessions", "support_offered", "state", "requested_by", "request_time", "school_days_elapsed", "deadline_school_days", "decline_reason", "notice_numbers")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UPN_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_URN_FIELD_NUMBER: _ClassVar[int]
    PARENT_PERSON_IDS_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    SUPPORT_OFFERED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_TIME_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_DAYS_ELAPSED_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_SCHOOL_DAYS_FIELD_NUMBER: _ClassVar[int]
    DECLINE_REASON_FIELD_NUMBER: _ClassVar[int]
    NOTICE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    upn: str
    school_urn: str
    parent_person_ids: _containers.RepeatedScalarFieldContainer[str]
    sessions: _containers.RepeatedCompositeFieldContainer[_common_pb2.SessionMark]
    support_offered: str
    state: PenaltyNoticeRequestState
    requested_by: str
    request_time: _timestamp_pb2.Timestamp
    school_days_elapsed: int
    deadline_school_days: int
    decline_reason: str
    notice_numbers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., upn: _Optional[str] = ..., school_urn: _Optional[str] = ..., parent_person_ids: _Optional[_Iterable[str]] = ..., sessions: _Optional[_Iterable[_Union[_common_pb2.SessionMark, _Mapping]]] = ..., support_offered: _Optional[str] = ..., state: _Optional[_Union[PenaltyNoticeRequestState, str]] = ..., requested_by: _Optional[str] = ..., request_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., school_days_elapsed: _Optional[int] = ..., deadline_school_days: _Optional[int] = ..., decline_reason: _Optional[str] = ..., notice_numbers: _Optional[_Iterable[str]] = ...) -> None: ...

class RequestPenaltyNoticeRequest(_message.Message):
    __slots__ = ("parent", "request_id", "upn", "school_urn", "parent_person_ids", "sessions", "support_offered")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    UPN_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_URN_FIELD_NUMBER: _ClassVar[int]
    PARENT_PERSON_IDS_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    SUPPORT_OFFERED_FIELD_NUMBER: _ClassVar[int]
    parent: str
    request_id: str
    upn: str
    school_urn: str
    parent_person_ids: _containers.RepeatedScalarFieldContainer[str]
    sessions: _containers.RepeatedCompositeFieldContainer[_common_pb2.SessionMark]
    support_offered: str
    def __init__(self, parent: _Optional[str] = ..., request_id: _Optional[str] = ..., upn: _Optional[str] = ..., school_urn: _Optional[str] = ..., parent_person_ids: _Optional[_Iterable[str]] = ..., sessions: _Optional[_Iterable[_Union[_common_pb2.SessionMark, _Mapping]]] = ..., support_offered: _Optional[str] = ...) -> None: ...

class RequestPenaltyNoticeResponse(_message.Message):
    __slots__ = ("penalty_notice_request",)
    PENALTY_NOTICE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    penalty_notice_request: PenaltyNoticeRequest
    def __init__(self, penalty_notice_request: _Optional[_Union[PenaltyNoticeRequest, _Mapping]] = ...) -> None: ...

class ListPenaltyNoticeRequestsRequest(_message.Message):
    __slots__ = ("parent", "state", "school_urn", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_URN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    state: PenaltyNoticeRequestState
    school_urn: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., state: _Optional[_Union[PenaltyNoticeRequestState, str]] = ..., school_urn: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPenaltyNoticeRequestsResponse(_message.Message):
    __slots__ = ("penalty_notice_requests", "next_page_token")
    PENALTY_NOTICE_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    penalty_notice_requests: _containers.RepeatedCompositeFieldContainer[PenaltyNoticeRequest]
    next_page_token: str
    def __init__(self, penalty_notice_requests: _Optional[_Iterable[_Union[PenaltyNoticeRequest, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeclinePenaltyNoticeRequestRequest(_message.Message):
    __slots__ = ("name", "request_id", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    request_id: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., request_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DeclinePenaltyNoticeRequestResponse(_message.Message):
    __slots__ = ("penalty_notice_request",)
    PENALTY_NOTICE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    penalty_notice_request: PenaltyNoticeRequest
    def __init__(self, penalty_notice_request: _Optional[_Union[PenaltyNoticeRequest, _Mapping]] = ...) -> None: ...

class Pupil(_message.Message):
    __slots__ = ("upn", "school_urn", "given_name", "family_name", "address")
    UPN_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_URN_FIELD_NUMBER: _ClassVar[int]
    GIVEN_NAME_FIELD_NUMBER: _ClassVar[int]
    FAMILY_NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    upn: str
    school_urn: str
    given_name: str
    family_name: str
    address: _common_pb2.PostalAddress
    def __init__(self, upn: _Optional[str] = ..., school_urn: _Optional[str] = ..., given_name: _Optional[str] = ..., family_name: _Optional[str] = ..., address: _Optional[_Union[_common_pb2.PostalAddress, _Mapping]] = ...) -> None: ...

class Parent(_message.Message):
    __slots__ = ("person_id", "given_name", "family_name", "address", "liability")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    GIVEN_NAME_FIELD_NUMBER: _ClassVar[int]
    FAMILY_NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    LIABILITY_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    given_name: str
    family_name: str
    address: _common_pb2.PostalAddress
    liability: Liability
    def __init__(self, person_id: _Optional[str] = ..., given_name: _Optional[str] = ..., family_name: _Optional[str] = ..., address: _Optional[_Union[_common_pb2.PostalAddress, _Mapping]] = ..., liability: _Optional[_Union[Liability, _Mapping]] = ...) -> None: ...

class Liability(_message.Message):
    __slots__ = ("basis", "relationship")
    BASIS_FIELD_NUMBER: _ClassVar[int]
    RELATIONSHIP_FIELD_NUMBER: _ClassVar[int]
    basis: LiabilityBasis
    relationship: str
    def __init__(self, basis: _Optional[_Union[LiabilityBasis, str]] = ..., relationship: _Optional[str] = ...) -> None: ...

class Issuer(_message.Message):
    __slots__ = ("role", "display_name", "official_details", "subject")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    OFFICIAL_DETAILS_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    role: _common_pb2.IssuerRole
    display_name: str
    official_details: str
    subject: str
    def __init__(self, role: _Optional[_Union[_common_pb2.IssuerRole, str]] = ..., display_name: _Optional[str] = ..., official_details: _Optional[str] = ..., subject: _Optional[str] = ...) -> None: ...

class Offence(_message.Message):
    __slots__ = ("type", "reason", "description")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    type: OffenceType
    reason: _common_pb2.OffenceReason
    description: str
    def __init__(self, type: _Optional[_Union[OffenceType, str]] = ..., reason: _Optional[_Union[_common_pb2.OffenceReason, str]] = ..., description: _Optional[str] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("method", "posting_date")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    POSTING_DATE_FIELD_NUMBER: _ClassVar[int]
    method: DeliveryMethod
    posting_date: _date_pb2.Date
    def __init__(self, method: _Optional[_Union[DeliveryMethod, str]] = ..., posting_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class ImprovementPeriod(_message.Message):
    __slots__ = ("start_date", "school_weeks", "end_date", "reason")
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_WEEKS_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    start_date: _date_pb2.Date
    school_weeks: int
    end_date: _date_pb2.Date
    reason: str
    def __init__(self, start_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., school_weeks: _Optional[int] = ..., end_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class Withdrawal(_message.Message):
    __slots__ = ("ground", "reason", "withdrawal_date")
    GROUND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWAL_DATE_FIELD_NUMBER: _ClassVar[int]
    ground: WithdrawalGround
    reason: str
    withdrawal_date: _date_pb2.Date
    def __init__(self, ground: _Optional[_Union[WithdrawalGround, str]] = ..., reason: _Optional[str] = ..., withdrawal_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class ProsecutionOutcome(_message.Message):
    __slots__ = ("hearing_date", "court", "result", "fine_pence", "costs_pence")
    HEARING_DATE_FIELD_NUMBER: _ClassVar[int]
    COURT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    FINE_PENCE_FIELD_NUMBER: _ClassVar[int]
    COSTS_PENCE_FIELD_NUMBER: _ClassVar[int]
    hearing_date: _date_pb2.Date
    court: str
    result: ProsecutionResult
    fine_pence: int
    costs_pence: int
    def __init__(self, hearing_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., court: _Optional[str] = ..., result: _Optional[_Union[ProsecutionResult, str]] = ..., fine_pence: _Optional[int] = ..., costs_pence: _Optional[int] = ...) -> None: ...

class NoticeBalance(_message.Message):
    __slots__ = ("amount_due_pence", "allocated_pence", "applied_pence", "refund_due_pence", "refunded_pence")
    AMOUNT_DUE_PENCE_FIELD_NUMBER: _ClassVar[int]
    ALLOCATED_PENCE_FIELD_NUMBER: _ClassVar[int]
    APPLIED_PENCE_FIELD_NUMBER: _ClassVar[int]
    REFUND_DUE_PENCE_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_PENCE_FIELD_NUMBER: _ClassVar[int]
    amount_due_pence: int
    allocated_pence: int
    applied_pence: int
    refund_due_pence: int
    refunded_pence: int
    def __init__(self, amount_due_pence: _Optional[int] = ..., allocated_pence: _Optional[int] = ..., applied_pence: _Optional[int] = ..., refund_due_pence: _Optional[int] = ..., refunded_pence: _Optional[int] = ...) -> None: ...

class Notice(_message.Message):
    __slots__ = ("name", "notice_number", "kind", "pupil", "parent", "related_notices", "offence", "sessions", "issue_date", "issuer", "delivery", "receipt_date", "policy_version", "second_notice", "lower_amount_pence", "lower_deadline", "higher_amount_pence", "higher_deadline", "improvement_period", "status", "paid_rate", "withdrawal", "prosecution_outcome", "balance", "create_time", "session_evidence", "evidence_corrections", "other_authority_notices")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NOTICE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PUPIL_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    RELATED_NOTICES_FIELD_NUMBER: _ClassVar[int]
    OFFENCE_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    ISSUE_DATE_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_DATE_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    SECOND_NOTICE_FIELD_NUMBER: _ClassVar[int]
    LOWER_AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    LOWER_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    HIGHER_AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    HIGHER_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    IMPROVEMENT_PERIOD_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAID_RATE_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWAL_FIELD_NUMBER: _ClassVar[int]
    PROSECUTION_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SESSION_EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_CORRECTIONS_FIELD_NUMBER: _ClassVar[int]
    OTHER_AUTHORITY_NOTICES_FIELD_NUMBER: _ClassVar[int]
    name: str
    notice_number: str
    kind: NoticeKind
    pupil: Pupil
    parent: Parent
    related_notices: _containers.RepeatedScalarFieldContainer[str]
    offence: Offence
    sessions: _containers.RepeatedCompositeFieldContainer[_common_pb2.SessionMark]
    issue_date: _date_pb2.Date
    issuer: Issuer
    delivery: Delivery
    receipt_date: _date_pb2.Date
    policy_version: str
    second_notice: bool
    lower_amount_pence: int
    lower_deadline: _date_pb2.Date
    higher_amount_pence: int
    higher_deadline: _date_pb2.Date
    improvement_period: ImprovementPeriod
    status: NoticeStatus
    paid_rate: PaidRate
    withdrawal: Withdrawal
    prosecution_outcome: ProsecutionOutcome
    balance: NoticeBalance
    create_time: _timestamp_pb2.Timestamp
    session_evidence: _containers.RepeatedCompositeFieldContainer[SessionEvidence]
    evidence_corrections: _containers.RepeatedCompositeFieldContainer[EvidenceCorrection]
    other_authority_notices: _containers.RepeatedCompositeFieldContainer[OtherAuthorityNotice]
    def __init__(self, name: _Optional[str] = ..., notice_number: _Optional[str] = ..., kind: _Optional[_Union[NoticeKind, str]] = ..., pupil: _Optional[_Union[Pupil, _Mapping]] = ..., parent: _Optional[_Union[Parent, _Mapping]] = ..., related_notices: _Optional[_Iterable[str]] = ..., offence: _Optional[_Union[Offence, _Mapping]] = ..., sessions: _Optional[_Iterable[_Union[_common_pb2.SessionMark, _Mapping]]] = ..., issue_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., issuer: _Optional[_Union[Issuer, _Mapping]] = ..., delivery: _Optional[_Union[Delivery, _Mapping]] = ..., receipt_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., policy_version: _Optional[str] = ..., second_notice: _Optional[bool] = ..., lower_amount_pence: _Optional[int] = ..., lower_deadline: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., higher_amount_pence: _Optional[int] = ..., higher_deadline: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., improvement_period: _Optional[_Union[ImprovementPeriod, _Mapping]] = ..., status: _Optional[_Union[NoticeStatus, str]] = ..., paid_rate: _Optional[_Union[PaidRate, str]] = ..., withdrawal: _Optional[_Union[Withdrawal, _Mapping]] = ..., prosecution_outcome: _Optional[_Union[ProsecutionOutcome, _Mapping]] = ..., balance: _Optional[_Union[NoticeBalance, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., session_evidence: _Optional[_Iterable[_Union[SessionEvidence, _Mapping]]] = ..., evidence_corrections: _Optional[_Iterable[_Union[EvidenceCorrection, _Mapping]]] = ..., other_authority_notices: _Optional[_Iterable[_Union[OtherAuthorityNotice, _Mapping]]] = ...) -> None: ...

class OtherAuthorityNotice(_message.Message):
    __slots__ = ("la_code", "issue_date", "counted")
    LA_CODE_FIELD_NUMBER: _ClassVar[int]
    ISSUE_DATE_FIELD_NUMBER: _ClassVar[int]
    COUNTED_FIELD_NUMBER: _ClassVar[int]
    la_code: str
    issue_date: _date_pb2.Date
    counted: bool
    def __init__(self, la_code: _Optional[str] = ..., issue_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., counted: _Optional[bool] = ...) -> None: ...

class SessionEvidence(_message.Message):
    __slots__ = ("date", "session", "claimed_code", "matched", "held_code", "source_school_urn")
    DATE_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    CLAIMED_CODE_FIELD_NUMBER: _ClassVar[int]
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    HELD_CODE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SCHOOL_URN_FIELD_NUMBER: _ClassVar[int]
    date: _date_pb2.Date
    session: _common_pb2.Session
    claimed_code: str
    matched: bool
    held_code: str
    source_school_urn: str
    def __init__(self, date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., session: _Optional[_Union[_common_pb2.Session, str]] = ..., claimed_code: _Optional[str] = ..., matched: _Optional[bool] = ..., held_code: _Optional[str] = ..., source_school_urn: _Optional[str] = ...) -> None: ...

class EvidenceCorrection(_message.Message):
    __slots__ = ("date", "session", "school_urn", "previous_code", "new_code", "record_time", "request_id")
    DATE_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_URN_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CODE_FIELD_NUMBER: _ClassVar[int]
    NEW_CODE_FIELD_NUMBER: _ClassVar[int]
    RECORD_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    date: _date_pb2.Date
    session: _common_pb2.Session
    school_urn: str
    previous_code: str
    new_code: str
    record_time: _timestamp_pb2.Timestamp
    request_id: str
    def __init__(self, date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., session: _Optional[_Union[_common_pb2.Session, str]] = ..., school_urn: _Optional[str] = ..., previous_code: _Optional[str] = ..., new_code: _Optional[str] = ..., record_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class BreachReference(_message.Message):
    __slots__ = ("upn", "as_of_date")
    UPN_FIELD_NUMBER: _ClassVar[int]
    AS_OF_DATE_FIELD_NUMBER: _ClassVar[int]
    upn: str
    as_of_date: _date_pb2.Date
    def __init__(self, upn: _Optional[str] = ..., as_of_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class IssueNoticeToImproveRequest(_message.Message):
    __slots__ = ("parent", "request_id", "pupil", "parents", "issue_date", "issuer", "improvement_period", "delivery", "breach")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PUPIL_FIELD_NUMBER: _ClassVar[int]
    PARENTS_FIELD_NUMBER: _ClassVar[int]
    ISSUE_DATE_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    IMPROVEMENT_PERIOD_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    BREACH_FIELD_NUMBER: _ClassVar[int]
    parent: str
    request_id: str
    pupil: Pupil
    parents: _containers.RepeatedCompositeFieldContainer[Parent]
    issue_date: _date_pb2.Date
    issuer: Issuer
    improvement_period: ImprovementPeriod
    delivery: Delivery
    breach: BreachReference
    def __init__(self, parent: _Optional[str] = ..., request_id: _Optional[str] = ..., pupil: _Optional[_Union[Pupil, _Mapping]] = ..., parents: _Optional[_Iterable[_Union[Parent, _Mapping]]] = ..., issue_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., issuer: _Optional[_Union[Issuer, _Mapping]] = ..., improvement_period: _Optional[_Union[ImprovementPeriod, _Mapping]] = ..., delivery: _Optional[_Union[Delivery, _Mapping]] = ..., breach: _Optional[_Union[BreachReference, _Mapping]] = ...) -> None: ...

class IssueNoticeToImproveResponse(_message.Message):
    __slots__ = ("notices",)
    NOTICES_FIELD_NUMBER: _ClassVar[int]
    notices: _containers.RepeatedCompositeFieldContainer[Notice]
    def __init__(self, notices: _Optional[_Iterable[_Union[Notice, _Mapping]]] = ...) -> None: ...

class IssuePenaltyNoticeRequest(_message.Message):
    __slots__ = ("parent", "request_id", "pupil", "parents", "offence", "sessions", "issue_date", "issuer", "delivery", "breach", "penalty_notice_request")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PUPIL_FIELD_NUMBER: _ClassVar[int]
    PARENTS_FIELD_NUMBER: _ClassVar[int]
    OFFENCE_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    ISSUE_DATE_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    BREACH_FIELD_NUMBER: _ClassVar[int]
    PENALTY_NOTICE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    parent: str
    request_id: str
    pupil: Pupil
    parents: _containers.RepeatedCompositeFieldContainer[Parent]
    offence: Offence
    sessions: _containers.RepeatedCompositeFieldContainer[_common_pb2.SessionMark]
    issue_date: _date_pb2.Date
    issuer: Issuer
    delivery: Delivery
    breach: BreachReference
    penalty_notice_request: str
    def __init__(self, parent: _Optional[str] = ..., request_id: _Optional[str] = ..., pupil: _Optional[_Union[Pupil, _Mapping]] = ..., parents: _Optional[_Iterable[_Union[Parent, _Mapping]]] = ..., offence: _Optional[_Union[Offence, _Mapping]] = ..., sessions: _Optional[_Iterable[_Union[_common_pb2.SessionMark, _Mapping]]] = ..., issue_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., issuer: _Optional[_Union[Issuer, _Mapping]] = ..., delivery: _Optional[_Union[Delivery, _Mapping]] = ..., breach: _Optional[_Union[BreachReference, _Mapping]] = ..., penalty_notice_request: _Optional[str] = ...) -> None: ...

class IssuePenaltyNoticeResponse(_message.Message):
    __slots__ = ("notices",)
    NOTICES_FIELD_NUMBER: _ClassVar[int]
    notices: _containers.RepeatedCompositeFieldContainer[Notice]
    def __init__(self, notices: _Optional[_Iterable[_Union[Notice, _Mapping]]] = ...) -> None: ...

class GetNoticeRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetNoticeResponse(_message.Message):
    __slots__ = ("notice",)
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    notice: Notice
    def __init__(self, notice: _Optional[_Union[Notice, _Mapping]] = ...) -> None: ...

class ListNoticesRequest(_message.Message):
    __slots__ = ("parent", "school_urn", "upn", "parent_person_id", "status", "kind", "issued_from", "issued_to", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_URN_FIELD_NUMBER: _ClassVar[int]
    UPN_FIELD_NUMBER: _ClassVar[int]
    PARENT_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ISSUED_FROM_FIELD_NUMBER: _ClassVar[int]
    ISSUED_TO_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    school_urn: str
    upn: str
    parent_person_id: str
    status: NoticeStatus
    kind: NoticeKind
    issued_from: _date_pb2.Date
    issued_to: _date_pb2.Date
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., school_urn: _Optional[str] = ..., upn: _Optional[str] = ..., parent_person_id: _Optional[str] = ..., status: _Optional[_Union[NoticeStatus, str]] = ..., kind: _Optional[_Union[NoticeKind, str]] = ..., issued_from: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., issued_to: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListNoticesResponse(_message.Message):
    __slots__ = ("notices", "next_page_token")
    NOTICES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    notices: _containers.RepeatedCompositeFieldContainer[Notice]
    next_page_token: str
    def __init__(self, notices: _Optional[_Iterable[_Union[Notice, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WithdrawNoticeRequest(_message.Message):
    __slots__ = ("name", "request_id", "withdrawal")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    request_id: str
    withdrawal: Withdrawal
    def __init__(self, name: _Optional[str] = ..., request_id: _Optional[str] = ..., withdrawal: _Optional[_Union[Withdrawal, _Mapping]] = ...) -> None: ...

class WithdrawNoticeResponse(_message.Message):
    __slots__ = ("notice",)
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    notice: Notice
    def __init__(self, notice: _Optional[_Union[Notice, _Mapping]] = ...) -> None: ...

class RecordProsecutionOutcomeRequest(_message.Message):
    __slots__ = ("name", "request_id", "prosecution_outcome")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PROSECUTION_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    name: str
    request_id: str
    prosecution_outcome: ProsecutionOutcome
    def __init__(self, name: _Optional[str] = ..., request_id: _Optional[str] = ..., prosecution_outcome: _Optional[_Union[ProsecutionOutcome, _Mapping]] = ...) -> None: ...

class RecordProsecutionOutcomeResponse(_message.Message):
    __slots__ = ("notice",)
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    notice: Notice
    def __init__(self, notice: _Optional[_Union[Notice, _Mapping]] = ...) -> None: ...

class NoticeEvent(_message.Message):
    __slots__ = ("event_id", "event_time", "actor", "action", "request_id", "details_json")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DETAILS_JSON_FIELD_NUMBER: _ClassVar[int]
    event_id: int
    event_time: _timestamp_pb2.Timestamp
    actor: _common_pb2.Actor
    action: str
    request_id: str
    details_json: str
    def __init__(self, event_id: _Optional[int] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ..., action: _Optional[str] = ..., request_id: _Optional[str] = ..., details_json: _Optional[str] = ...) -> None: ...

class ListNoticeEventsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListNoticeEventsResponse(_message.Message):
    __slots__ = ("notice_events", "next_page_token")
    NOTICE_EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    notice_events: _containers.RepeatedCompositeFieldContainer[NoticeEvent]
    next_page_token: str
    def __init__(self, notice_events: _Optional[_Iterable[_Union[NoticeEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RenderNoticeRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RenderNoticeResponse(_message.Message):
    __slots__ = ("content", "content_type", "page_count")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    content_type: str
    page_count: int
    def __init__(self, content: _Optional[bytes] = ..., content_type: _Optional[str] = ..., page_count: _Optional[int] = ...) -> None: ...
