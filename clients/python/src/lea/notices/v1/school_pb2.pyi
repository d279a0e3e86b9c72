from google.type import date_pb2 as _date_pb2
from lea.notices.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SchoolPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCHOOL_PHASE_UNSPECIFIED: _ClassVar[SchoolPhase]
    SCHOOL_PHASE_NURSERY: _ClassVar[SchoolPhase]
    SCHOOL_PHASE_PRIMARY: _ClassVar[SchoolPhase]
    SCHOOL_PHASE_MIDDLE: _ClassVar[SchoolPhase]
    SCHOOL_PHASE_SECONDARY: _ClassVar[SchoolPhase]
    SCHOOL_PHASE_ALL_THROUGH: _ClassVar[SchoolPhase]
    SCHOOL_PHASE_SIXTEEN_PLUS: _ClassVar[SchoolPhase]
    SCHOOL_PHASE_NOT_APPLICABLE: _ClassVar[SchoolPhase]

class SchoolStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCHOOL_STATUS_UNSPECIFIED: _ClassVar[SchoolStatus]
    SCHOOL_STATUS_OPEN: _ClassVar[SchoolStatus]
    SCHOOL_STATUS_CLOSED: _ClassVar[SchoolStatus]
    SCHOOL_STATUS_PROPOSED: _ClassVar[SchoolStatus]
SCHOOL_PHASE_UNSPECIFIED: SchoolPhase
SCHOOL_PHASE_NURSERY: SchoolPhase
SCHOOL_PHASE_PRIMARY: SchoolPhase
SCHOOL_PHASE_MIDDLE: SchoolPhase
SCHOOL_PHASE_SECONDARY: SchoolPhase
SCHOOL_PHASE_ALL_THROUGH: SchoolPhase
SCHOOL_PHASE_SIXTEEN_PLUS: SchoolPhase
SCHOOL_PHASE_NOT_APPLICABLE: SchoolPhase
SCHOOL_STATUS_UNSPECIFIED: SchoolStatus
SCHOOL_STATUS_OPEN: SchoolStatus
SCHOOL_STATUS_CLOSED: SchoolStatus
SCHOOL_STATUS_PROPOSED: SchoolStatus

class School(_message.Message):
    __slots__ = ("name", "urn", "la_code", "establishment_number", "establishment_name", "address", "phase", "establishment_type", "status", "open_date", "close_date", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    URN_FIELD_NUMBER: _ClassVar[int]
    LA_CODE_FIELD_NUMBER: _ClassVar[int]
    ESTABLISHMENT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ESTABLISHMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    ESTABLISHMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OPEN_DATE_FIELD_NUMBER: _ClassVar[int]
    CLOSE_DATE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    urn: str
    la_code: str
    establishment_number: str
    establishment_name: str
    address: _common_pb2.PostalAddress
    phase: SchoolPhase
    establishment_type: str
    status: SchoolStatus
    open_date: _date_pb2.Date
    close_date: _date_pb2.Date
    version: int
    def __init__(self, name: _Optional[str] = ..., urn: _Optional[str] = ..., la_code: _Optional[str] = ..., establishment_number: _Optional[str] = ..., establishment_name: _Optional[str] = ..., address: _Optional[_Union[_common_pb2.PostalAddress, _Mapping]] = ..., phase: _Optional[_Union[SchoolPhase, str]] = ..., establishment_type: _Optional[str] = ..., status: _Optional[_Union[SchoolStatus, str]] = ..., open_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., close_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., version: _Optional[int] = ...) -> None: ...

class ImportSchoolsRequest(_message.Message):
    __slots__ = ("parent", "request_id", "schools")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SCHOOLS_FIELD_NUMBER: _ClassVar[int]
    parent: str
    request_id: str
    schools: _containers.RepeatedCompositeFieldContainer[School]
    def __init__(self, parent: _Optional[str] = ..., request_id: _Optional[str] = ..., schools: _Optional[_Iterable[_Union[School, _Mapping]]] = ...) -> None: ...

class ImportSchoolsResponse(_message.Message):
    __slots__ = ("added", "changed", "unchanged")
    ADDED_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    added: int
    changed: int
    unchanged: int
    def __init__(self, added: _Optional[int] = ..., changed: _Optional[int] = ..., unchanged: _Optional[int] = ...) -> None: ...

class GetSchoolRequest(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class GetSchoolResponse(_message.Message):
    __slots__ = ("school",)
    SCHOOL_FIELD_NUMBER: _ClassVar[int]
    school: School
    def __init__(self, school: _Optional[_Union[School, _Mapping]] = ...) -> None: ...

class ListSchoolsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSchoolsResponse(_message.Message):
    __slots__ = ("schools", "next_page_token")
    SCHOOLS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    schools: _containers.RepeatedCompositeFieldContainer[School]
    next_page_token: str
    def __init__(self, schools: _Optional[_Iterable[_Union[School, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
