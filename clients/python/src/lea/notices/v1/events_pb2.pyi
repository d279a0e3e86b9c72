import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WatchEventsRequest(_message.Message):
    __slots__ = ("parent", "start_after", "event_types", "stop_when_caught_up")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    START_AFTER_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    STOP_WHEN_CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    parent: str
    start_after: int
    event_types: _containers.RepeatedScalarFieldContainer[str]
    stop_when_caught_up: bool
    def __init__(self, parent: _Optional[str] = ..., start_after: _Optional[int] = ..., event_types: _Optional[_Iterable[str]] = ..., stop_when_caught_up: _Optional[bool] = ...) -> None: ...

class WatchEventsResponse(_message.Message):
    __slots__ = ("events", "cursor")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[FeedEvent]
    cursor: int
    def __init__(self, events: _Optional[_Iterable[_Union[FeedEvent, _Mapping]]] = ..., cursor: _Optional[int] = ...) -> None: ...

class FeedEvent(_message.Message):
    __slots__ = ("sequence", "id", "source", "spec_version", "type", "subject", "time", "data_content_type", "data_json", "cloud_event_json")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SPEC_VERSION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    DATA_CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    CLOUD_EVENT_JSON_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    id: str
    source: str
    spec_version: str
    type: str
    subject: str
    time: _timestamp_pb2.Timestamp
    data_content_type: str
    data_json: str
    cloud_event_json: str
    def __init__(self, sequence: _Optional[int] = ..., id: _Optional[str] = ..., source: _Optional[str] = ..., spec_version: _Optional[str] = ..., type: _Optional[str] = ..., subject: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., data_content_type: _Optional[str] = ..., data_json: _Optional[str] = ..., cloud_event_json: _Optional[str] = ...) -> None: ...
