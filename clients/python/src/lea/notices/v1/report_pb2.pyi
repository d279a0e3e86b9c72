from google.type import date_pb2 as _date_pb2
from lea.notices.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetStatutoryReturnRequest(_message.Message):
    __slots__ = ("parent", "academic_year_start", "as_of_date")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ACADEMIC_YEAR_START_FIELD_NUMBER: _ClassVar[int]
    AS_OF_DATE_FIELD_NUMBER: _ClassVar[int]
    parent: str
    academic_year_start: int
    as_of_date: _date_pb2.Date
    def __init__(self, parent: _Optional[str] = ..., academic_year_start: _Optional[int] = ..., as_of_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class PenaltyNoticeCounts(_message.Message):
    __slots__ = ("issued", "paid_within_21_days", "paid_within_28_days", "withdrawn", "prosecuted", "other_or_outstanding")
    ISSUED_FIELD_NUMBER: _ClassVar[int]
    PAID_WITHIN_21_DAYS_FIELD_NUMBER: _ClassVar[int]
    PAID_WITHIN_28_DAYS_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_FIELD_NUMBER: _ClassVar[int]
    PROSECUTED_FIELD_NUMBER: _ClassVar[int]
    OTHER_OR_OUTSTANDING_FIELD_NUMBER: _ClassVar[int]
    issued: int
    paid_within_21_days: int
    paid_within_28_days: int
    withdrawn: int
    prosecuted: int
    other_or_outstanding: int
    def __init__(self, issued: _Optional[int] = ..., paid_within_21_days: _Optional[int] = ..., paid_within_28_days: _Optional[int] = ..., withdrawn: _Optional[int] = ..., prosecuted: _Optional[int] = ..., other_or_outstanding: _Optional[int] = ...) -> None: ...

class ReasonCounts(_message.Message):
    __slots__ = ("reason", "counts")
    REASON_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    reason: _common_pb2.OffenceReason
    counts: PenaltyNoticeCounts
    def __init__(self, reason: _Optional[_Union[_common_pb2.OffenceReason, str]] = ..., counts: _Optional[_Union[PenaltyNoticeCounts, _Mapping]] = ...) -> None: ...

class GetStatutoryReturnResponse(_message.Message):
    __slots__ = ("la_code", "academic_year", "totals", "by_reason", "notices_to_improve_issued", "as_of_date")
    LA_CODE_FIELD_NUMBER: _ClassVar[int]
    ACADEMIC_YEAR_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    BY_REASON_FIELD_NUMBER: _ClassVar[int]
    NOTICES_TO_IMPROVE_ISSUED_FIELD_NUMBER: _ClassVar[int]
    AS_OF_DATE_FIELD_NUMBER: _ClassVar[int]
    la_code: str
    academic_year: str
    totals: PenaltyNoticeCounts
    by_reason: _containers.RepeatedCompositeFieldContainer[ReasonCounts]
    notices_to_improve_issued: int
    as_of_date: _date_pb2.Date
    def __init__(self, la_code: _Optional[str] = ..., academic_year: _Optional[str] = ..., totals: _Optional[_Union[PenaltyNoticeCounts, _Mapping]] = ..., by_reason: _Optional[_Iterable[_Union[ReasonCounts, _Mapping]]] = ..., notices_to_improve_issued: _Optional[int] = ..., as_of_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...
