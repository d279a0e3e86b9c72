import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lea.notices.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AuditChainBreakKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIT_CHAIN_BREAK_KIND_UNSPECIFIED: _ClassVar[AuditChainBreakKind]
    AUDIT_CHAIN_BREAK_KIND_EVENT_ALTERED: _ClassVar[AuditChainBreakKind]
    AUDIT_CHAIN_BREAK_KIND_LINK_BROKEN: _ClassVar[AuditChainBreakKind]
    AUDIT_CHAIN_BREAK_KIND_UNCHAINED_EVENT: _ClassVar[AuditChainBreakKind]
    AUDIT_CHAIN_BREAK_KIND_HEAD_MISMATCH: _ClassVar[AuditChainBreakKind]
    AUDIT_CHAIN_BREAK_KIND_CHECKPOINT_REWRITTEN: _ClassVar[AuditChainBreakKind]
    AUDIT_CHAIN_BREAK_KIND_CHECKPOINT_TRUNCATED: _ClassVar[AuditChainBreakKind]
AUDIT_CHAIN_BREAK_KIND_UNSPECIFIED: AuditChainBreakKind
AUDIT_CHAIN_BREAK_KIND_EVENT_ALTERED: AuditChainBreakKind
AUDIT_CHAIN_BREAK_KIND_LINK_BROKEN: AuditChainBreakKind
AUDIT_CHAIN_BREAK_KIND_UNCHAINED_EVENT: AuditChainBreakKind
AUDIT_CHAIN_BREAK_KIND_HEAD_MISMATCH: AuditChainBreakKind
AUDIT_CHAIN_BREAK_KIND_CHECKPOINT_REWRITTEN: AuditChainBreakKind
AUDIT_CHAIN_BREAK_KIND_CHECKPOINT_TRUNCATED: AuditChainBreakKind

class AuditEvent(_message.Message):
    __slots__ = ("event_id", "event_time", "actor", "action", "resource", "request_id", "details_json", "previous_hash", "hash")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DETAILS_JSON_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_HASH_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    event_id: int
    event_time: _timestamp_pb2.Timestamp
    actor: _common_pb2.Actor
    action: str
    resource: str
    request_id: str
    details_json: str
    previous_hash: str
    hash: str
    def __init__(self, event_id: _Optional[int] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ..., action: _Optional[str] = ..., resource: _Optional[str] = ..., request_id: _Optional[str] = ..., details_json: _Optional[str] = ..., previous_hash: _Optional[str] = ..., hash: _Optional[str] = ...) -> None: ...

class ListAuditEventsRequest(_message.Message):
    __slots__ = ("parent", "resource", "action", "start_time", "end_time", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    resource: str
    action: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., resource: _Optional[str] = ..., action: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAuditEventsResponse(_message.Message):
    __slots__ = ("audit_events", "next_page_token")
    AUDIT_EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    audit_events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    next_page_token: str
    def __init__(self, audit_events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class VerifyAuditTrailRequest(_message.Message):
    __slots__ = ("parent", "checkpoint")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    parent: str
    checkpoint: AuditCheckpoint
    def __init__(self, parent: _Optional[str] = ..., checkpoint: _Optional[_Union[AuditCheckpoint, _Mapping]] = ...) -> None: ...

class AuditCheckpoint(_message.Message):
    __slots__ = ("authority", "event_id", "event_hash", "checkpoint_time", "public_key", "signature")
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_HASH_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_TIME_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    authority: str
    event_id: int
    event_hash: str
    checkpoint_time: _timestamp_pb2.Timestamp
    public_key: bytes
    signature: bytes
    def __init__(self, authority: _Optional[str] = ..., event_id: _Optional[int] = ..., event_hash: _Optional[str] = ..., checkpoint_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., public_key: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class CreateAuditCheckpointRequest(_message.Message):
    __slots__ = ("parent",)
    PARENT_FIELD_NUMBER: _ClassVar[int]
    parent: str
    def __init__(self, parent: _Optional[str] = ...) -> None: ...

class CreateAuditCheckpointResponse(_message.Message):
    __slots__ = ("audit_checkpoint",)
    AUDIT_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    audit_checkpoint: AuditCheckpoint
    def __init__(self, audit_checkpoint: _Optional[_Union[AuditCheckpoint, _Mapping]] = ...) -> None: ...

class AuditChainBreak(_message.Message):
    __slots__ = ("event_id", "kind", "description")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    event_id: int
    kind: AuditChainBreakKind
    description: str
    def __init__(self, event_id: _Optional[int] = ..., kind: _Optional[_Union[AuditChainBreakKind, str]] = ..., description: _Optional[str] = ...) -> None: ...

class VerifyAuditTrailResponse(_message.Message):
    __slots__ = ("intact", "events_checked", "unchained_events", "last_event_id", "last_hash", "first_break", "checkpoint_matched")
    INTACT_FIELD_NUMBER: _ClassVar[int]
    EVENTS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    UNCHAINED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    LAST_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_HASH_FIELD_NUMBER: _ClassVar[int]
    FIRST_BREAK_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_MATCHED_FIELD_NUMBER: _ClassVar[int]
    intact: bool
    events_checked: int
    unchained_events: int
    last_event_id: int
    last_hash: str
    first_break: AuditChainBreak
    checkpoint_matched: bool
    def __init__(self, intact: _Optional[bool] = ..., events_checked: _Optional[int] = ..., unchained_events: _Optional[int] = ..., last_event_id: _Optional[int] = ..., last_hash: _Optional[str] = ..., first_break: _Optional[_Union[AuditChainBreak, _Mapping]] = ..., checkpoint_matched: _Optional[bool] = ...) -> None: ...
