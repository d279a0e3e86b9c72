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

class PolicySource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POLICY_SOURCE_UNSPECIFIED: _ClassVar[PolicySource]
    POLICY_SOURCE_NATIONAL: _ClassVar[PolicySource]
    POLICY_SOURCE_AUTHORITY: _ClassVar[PolicySource]

class EvidenceRule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVIDENCE_RULE_UNSPECIFIED: _ClassVar[EvidenceRule]
    EVIDENCE_RULE_REGISTER_REQUIRED: _ClassVar[EvidenceRule]
    EVIDENCE_RULE_CLAIMS_ALLOWED: _ClassVar[EvidenceRule]

class SchoolRequests(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCHOOL_REQUESTS_UNSPECIFIED: _ClassVar[SchoolRequests]
    SCHOOL_REQUESTS_ACCEPTED: _ClassVar[SchoolRequests]
    SCHOOL_REQUESTS_NOT_ACCEPTED: _ClassVar[SchoolRequests]
POLICY_SOURCE_UNSPECIFIED: PolicySource
POLICY_SOURCE_NATIONAL: PolicySource
POLICY_SOURCE_AUTHORITY: PolicySource
EVIDENCE_RULE_UNSPECIFIED: EvidenceRule
EVIDENCE_RULE_REGISTER_REQUIRED: EvidenceRule
EVIDENCE_RULE_CLAIMS_ALLOWED: EvidenceRule
SCHOOL_REQUESTS_UNSPECIFIED: SchoolRequests
SCHOOL_REQUESTS_ACCEPTED: SchoolRequests
SCHOOL_REQUESTS_NOT_ACCEPTED: SchoolRequests

class PolicyVersion(_message.Message):
    __slots__ = ("name", "source", "effective_from", "lower_amount_pence", "lower_period_days", "higher_amount_pence", "higher_period_days", "second_notice_amount_pence", "threshold", "max_notices_per_parent_per_child", "notice_limit_period_years", "notice_to_improve_min_school_weeks", "notice_to_improve_max_school_weeks", "notice_to_improve_required_for", "permitted_issuers", "request_deadline_school_days", "part_payments_accepted", "create_time", "creator", "evidence_rule", "school_requests", "lower_rate_warning_days")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    LOWER_AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    LOWER_PERIOD_DAYS_FIELD_NUMBER: _ClassVar[int]
    HIGHER_AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    HIGHER_PERIOD_DAYS_FIELD_NUMBER: _ClassVar[int]
    SECOND_NOTICE_AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    MAX_NOTICES_PER_PARENT_PER_CHILD_FIELD_NUMBER: _ClassVar[int]
    NOTICE_LIMIT_PERIOD_YEARS_FIELD_NUMBER: _ClassVar[int]
    NOTICE_TO_IMPROVE_MIN_SCHOOL_WEEKS_FIELD_NUMBER: _ClassVar[int]
    NOTICE_TO_IMPROVE_MAX_SCHOOL_WEEKS_FIELD_NUMBER: _ClassVar[int]
    NOTICE_TO_IMPROVE_REQUIRED_FOR_FIELD_NUMBER: _ClassVar[int]
    PERMITTED_ISSUERS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_DEADLINE_SCHOOL_DAYS_FIELD_NUMBER: _ClassVar[int]
    PART_PAYMENTS_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_RULE_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    LOWER_RATE_WARNING_DAYS_FIELD_NUMBER: _ClassVar[int]
    name: str
    source: PolicySource
    effective_from: _date_pb2.Date
    lower_amount_pence: int
    lower_period_days: int
    higher_amount_pence: int
    higher_period_days: int
    second_notice_amount_pence: int
    threshold: Threshold
    max_notices_per_parent_per_child: int
    notice_limit_period_years: int
    notice_to_improve_min_school_weeks: int
    notice_to_improve_max_school_weeks: int
    notice_to_improve_required_for: _containers.RepeatedScalarFieldContainer[_common_pb2.OffenceReason]
    permitted_issuers: _containers.RepeatedScalarFieldContainer[_common_pb2.IssuerRole]
    request_deadline_school_days: int
    part_payments_accepted: bool
    create_time: _timestamp_pb2.Timestamp
    creator: _common_pb2.Actor
    evidence_rule: EvidenceRule
    school_requests: SchoolRequests
    lower_rate_warning_days: int
    def __init__(self, name: _Optional[str] = ..., source: _Optional[_Union[PolicySource, str]] = ..., effective_from: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., lower_amount_pence: _Optional[int] = ..., lower_period_days: _Optional[int] = ..., higher_amount_pence: _Optional[int] = ..., higher_period_days: _Optional[int] = ..., second_notice_amount_pence: _Optional[int] = ..., threshold: _Optional[_Union[Threshold, _Mapping]] = ..., max_notices_per_parent_per_child: _Optional[int] = ..., notice_limit_period_years: _Optional[int] = ..., notice_to_improve_min_school_weeks: _Optional[int] = ..., notice_to_improve_max_school_weeks: _Optional[int] = ..., notice_to_improve_required_for: _Optional[_Iterable[_Union[_common_pb2.OffenceReason, str]]] = ..., permitted_issuers: _Optional[_Iterable[_Union[_common_pb2.IssuerRole, str]]] = ..., request_deadline_school_days: _Optional[int] = ..., part_payments_accepted: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., creator: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ..., evidence_rule: _Optional[_Union[EvidenceRule, str]] = ..., school_requests: _Optional[_Union[SchoolRequests, str]] = ..., lower_rate_warning_days: _Optional[int] = ...) -> None: ...

class Threshold(_message.Message):
    __slots__ = ("sessions", "window_school_weeks", "qualifying_codes")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_SCHOOL_WEEKS_FIELD_NUMBER: _ClassVar[int]
    QUALIFYING_CODES_FIELD_NUMBER: _ClassVar[int]
    sessions: int
    window_school_weeks: int
    qualifying_codes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, sessions: _Optional[int] = ..., window_school_weeks: _Optional[int] = ..., qualifying_codes: _Optional[_Iterable[str]] = ...) -> None: ...

class CreatePolicyVersionRequest(_message.Message):
    __slots__ = ("parent", "request_id", "policy_version")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    parent: str
    request_id: str
    policy_version: PolicyVersion
    def __init__(self, parent: _Optional[str] = ..., request_id: _Optional[str] = ..., policy_version: _Optional[_Union[PolicyVersion, _Mapping]] = ...) -> None: ...

class CreatePolicyVersionResponse(_message.Message):
    __slots__ = ("policy_version",)
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    policy_version: PolicyVersion
    def __init__(self, policy_version: _Optional[_Union[PolicyVersion, _Mapping]] = ...) -> None: ...

class GetPolicyRequest(_message.Message):
    __slots__ = ("parent", "date")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    parent: str
    date: _date_pb2.Date
    def __init__(self, parent: _Optional[str] = ..., date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class GetPolicyResponse(_message.Message):
    __slots__ = ("policy_version",)
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    policy_version: PolicyVersion
    def __init__(self, policy_version: _Optional[_Union[PolicyVersion, _Mapping]] = ...) -> None: ...

class ListPolicyVersionsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPolicyVersionsResponse(_message.Message):
    __slots__ = ("policy_versions", "next_page_token")
    POLICY_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    policy_versions: _containers.RepeatedCompositeFieldContainer[PolicyVersion]
    next_page_token: str
    def __init__(self, policy_versions: _Optional[_Iterable[_Union[PolicyVersion, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AuthoritySettings(_message.Message):
    __slots__ = ("name", "effective_from", "authority_name", "address", "payment_url", "payment_telephone", "questions_contact", "create_time", "creator")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_URL_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_TELEPHONE_FIELD_NUMBER: _ClassVar[int]
    QUESTIONS_CONTACT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    name: str
    effective_from: _date_pb2.Date
    authority_name: str
    address: _common_pb2.PostalAddress
    payment_url: str
    payment_telephone: str
    questions_contact: str
    create_time: _timestamp_pb2.Timestamp
    creator: _common_pb2.Actor
    def __init__(self, name: _Optional[str] = ..., effective_from: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., authority_name: _Optional[str] = ..., address: _Optional[_Union[_common_pb2.PostalAddress, _Mapping]] = ..., payment_url: _Optional[str] = ..., payment_telephone: _Optional[str] = ..., questions_contact: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., creator: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ...) -> None: ...

class CreateAuthoritySettingsRequest(_message.Message):
    __slots__ = ("parent", "request_id", "settings")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    parent: str
    request_id: str
    settings: AuthoritySettings
    def __init__(self, parent: _Optional[str] = ..., request_id: _Optional[str] = ..., settings: _Optional[_Union[AuthoritySettings, _Mapping]] = ...) -> None: ...

class CreateAuthoritySettingsResponse(_message.Message):
    __slots__ = ("settings",)
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    settings: AuthoritySettings
    def __init__(self, settings: _Optional[_Union[AuthoritySettings, _Mapping]] = ...) -> None: ...

class GetAuthoritySettingsRequest(_message.Message):
    __slots__ = ("parent", "date")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    parent: str
    date: _date_pb2.Date
    def __init__(self, parent: _Optional[str] = ..., date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class GetAuthoritySettingsResponse(_message.Message):
    __slots__ = ("settings",)
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    settings: AuthoritySettings
    def __init__(self, settings: _Optional[_Union[AuthoritySettings, _Mapping]] = ...) -> None: ...

class SharingAgreementVersion(_message.Message):
    __slots__ = ("name", "effective_from", "shares_with", "create_time", "creator")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    SHARES_WITH_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    name: str
    effective_from: _date_pb2.Date
    shares_with: _containers.RepeatedScalarFieldContainer[str]
    create_time: _timestamp_pb2.Timestamp
    creator: _common_pb2.Actor
    def __init__(self, name: _Optional[str] = ..., effective_from: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., shares_with: _Optional[_Iterable[str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., creator: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ...) -> None: ...

class CreateSharingAgreementVersionRequest(_message.Message):
    __slots__ = ("parent", "request_id", "sharing_agreement_version")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SHARING_AGREEMENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    parent: str
    request_id: str
    sharing_agreement_version: SharingAgreementVersion
    def __init__(self, parent: _Optional[str] = ..., request_id: _Optional[str] = ..., sharing_agreement_version: _Optional[_Union[SharingAgreementVersion, _Mapping]] = ...) -> None: ...

class CreateSharingAgreementVersionResponse(_message.Message):
    __slots__ = ("sharing_agreement_version",)
    SHARING_AGREEMENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    sharing_agreement_version: SharingAgreementVersion
    def __init__(self, sharing_agreement_version: _Optional[_Union[SharingAgreementVersion, _Mapping]] = ...) -> None: ...

class GetSharingAgreementRequest(_message.Message):
    __slots__ = ("parent", "date")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    parent: str
    date: _date_pb2.Date
    def __init__(self, parent: _Optional[str] = ..., date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class GetSharingAgreementResponse(_message.Message):
    __slots__ = ("sharing_agreement_version",)
    SHARING_AGREEMENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    sharing_agreement_version: SharingAgreementVersion
    def __init__(self, sharing_agreement_version: _Optional[_Union[SharingAgreementVersion, _Mapping]] = ...) -> None: ...
