from google.type import date_pb2 as _date_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_SCHOOL_STAFF: _ClassVar[Role]
    ROLE_LA_OFFICER: _ClassVar[Role]
    ROLE_POLICE: _ClassVar[Role]
    ROLE_FINANCE: _ClassVar[Role]
    ROLE_AUDITOR: _ClassVar[Role]
    ROLE_ADMIN: _ClassVar[Role]

class Session(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_UNSPECIFIED: _ClassVar[Session]
    SESSION_AM: _ClassVar[Session]
    SESSION_PM: _ClassVar[Session]

class IssuerRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ISSUER_ROLE_UNSPECIFIED: _ClassVar[IssuerRole]
    ISSUER_ROLE_HEAD_TEACHER: _ClassVar[IssuerRole]
    ISSUER_ROLE_LA_OFFICER: _ClassVar[IssuerRole]
    ISSUER_ROLE_POLICE: _ClassVar[IssuerRole]

class OffenceReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OFFENCE_REASON_UNSPECIFIED: _ClassVar[OffenceReason]
    OFFENCE_REASON_HOLIDAY: _ClassVar[OffenceReason]
    OFFENCE_REASON_LATE: _ClassVar[OffenceReason]
    OFFENCE_REASON_OTHER: _ClassVar[OffenceReason]
ROLE_UNSPECIFIED: Role
ROLE_SCHOOL_STAFF: Role
ROLE_LA_OFFICER: Role
ROLE_POLICE: Role
ROLE_FINANCE: Role
ROLE_AUDITOR: Role
ROLE_ADMIN: Role
SESSION_UNSPECIFIED: Session
SESSION_AM: Session
SESSION_PM: Session
ISSUER_ROLE_UNSPECIFIED: IssuerRole
ISSUER_ROLE_HEAD_TEACHER: IssuerRole
ISSUER_ROLE_LA_OFFICER: IssuerRole
ISSUER_ROLE_POLICE: IssuerRole
OFFENCE_REASON_UNSPECIFIED: OffenceReason
OFFENCE_REASON_HOLIDAY: OffenceReason
OFFENCE_REASON_LATE: OffenceReason
OFFENCE_REASON_OTHER: OffenceReason

class Actor(_message.Message):
    __slots__ = ("subject", "role")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    subject: str
    role: Role
    def __init__(self, subject: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ...) -> None: ...

class SessionMark(_message.Message):
    __slots__ = ("date", "session", "code")
    DATE_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    date: _date_pb2.Date
    session: Session
    code: str
    def __init__(self, date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., session: _Optional[_Union[Session, str]] = ..., code: _Optional[str] = ...) -> None: ...

class PostalAddress(_message.Message):
    __slots__ = ("lines", "postcode")
    LINES_FIELD_NUMBER: _ClassVar[int]
    POSTCODE_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedScalarFieldContainer[str]
    postcode: str
    def __init__(self, lines: _Optional[_Iterable[str]] = ..., postcode: _Optional[str] = ...) -> None: ...
