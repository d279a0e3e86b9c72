from google.type import date_pb2 as _date_pb2
from lea.notices.v1 import notice_pb2 as _notice_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ActionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_KIND_UNSPECIFIED: _ClassVar[ActionKind]
    ACTION_KIND_BREACH_PENDING_DECISION: _ClassVar[ActionKind]
    ACTION_KIND_PENALTY_NOTICE_REQUEST_PENDING: _ClassVar[ActionKind]
    ACTION_KIND_LOWER_RATE_ENDING: _ClassVar[ActionKind]
    ACTION_KIND_UNPAID_AFTER_PERIOD: _ClassVar[ActionKind]
    ACTION_KIND_PAYMENT_AFTER_PROSECUTION: _ClassVar[ActionKind]
    ACTION_KIND_PAYMENT_UNALLOCATED: _ClassVar[ActionKind]
    ACTION_KIND_PAYMENT_PART_MATCHED: _ClassVar[ActionKind]
    ACTION_KIND_REFUND_DUE: _ClassVar[ActionKind]
    ACTION_KIND_EVIDENCE_CORRECTED: _ClassVar[ActionKind]
ACTION_KIND_UNSPECIFIED: ActionKind
ACTION_KIND_BREACH_PENDING_DECISION: ActionKind
ACTION_KIND_PENALTY_NOTICE_REQUEST_PENDING: ActionKind
ACTION_KIND_LOWER_RATE_ENDING: ActionKind
ACTION_KIND_UNPAID_AFTER_PERIOD: ActionKind
ACTION_KIND_PAYMENT_AFTER_PROSECUTION: ActionKind
ACTION_KIND_PAYMENT_UNALLOCATED: ActionKind
ACTION_KIND_PAYMENT_PART_MATCHED: ActionKind
ACTION_KIND_REFUND_DUE: ActionKind
ACTION_KIND_EVIDENCE_CORRECTED: ActionKind

class Action(_message.Message):
    __slots__ = ("kind", "resource", "breach", "due_date", "rule", "policy_version", "school_urn", "school_days_elapsed", "amount_pence", "action_id")
    KIND_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    BREACH_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_URN_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_DAYS_ELAPSED_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    kind: ActionKind
    resource: str
    breach: _notice_pb2.BreachReference
    due_date: _date_pb2.Date
    rule: str
    policy_version: str
    school_urn: str
    school_days_elapsed: int
    amount_pence: int
    action_id: str
    def __init__(self, kind: _Optional[_Union[ActionKind, str]] = ..., resource: _Optional[str] = ..., breach: _Optional[_Union[_notice_pb2.BreachReference, _Mapping]] = ..., due_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., rule: _Optional[str] = ..., policy_version: _Optional[str] = ..., school_urn: _Optional[str] = ..., school_days_elapsed: _Optional[int] = ..., amount_pence: _Optional[int] = ..., action_id: _Optional[str] = ...) -> None: ...

class ListActionsRequest(_message.Message):
    __slots__ = ("parent", "kinds", "school_urn", "due_on_or_before", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_URN_FIELD_NUMBER: _ClassVar[int]
    DUE_ON_OR_BEFORE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    kinds: _containers.RepeatedScalarFieldContainer[ActionKind]
    school_urn: str
    due_on_or_before: _date_pb2.Date
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., kinds: _Optional[_Iterable[_Union[ActionKind, str]]] = ..., school_urn: _Optional[str] = ..., due_on_or_before: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListActionsResponse(_message.Message):
    __slots__ = ("actions", "next_page_token", "as_of_date")
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    AS_OF_DATE_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[Action]
    next_page_token: str
    as_of_date: _date_pb2.Date
    def __init__(self, actions: _Optional[_Iterable[_Union[Action, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., as_of_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...
