import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import date_pb2 as _date_pb2
from lea.notices.v1 import notice_pb2 as _notice_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PaymentChannel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_CHANNEL_UNSPECIFIED: _ClassVar[PaymentChannel]
    PAYMENT_CHANNEL_ONLINE: _ClassVar[PaymentChannel]
    PAYMENT_CHANNEL_PHONE: _ClassVar[PaymentChannel]
    PAYMENT_CHANNEL_POST: _ClassVar[PaymentChannel]
    PAYMENT_CHANNEL_IN_PERSON: _ClassVar[PaymentChannel]
PAYMENT_CHANNEL_UNSPECIFIED: PaymentChannel
PAYMENT_CHANNEL_ONLINE: PaymentChannel
PAYMENT_CHANNEL_PHONE: PaymentChannel
PAYMENT_CHANNEL_POST: PaymentChannel
PAYMENT_CHANNEL_IN_PERSON: PaymentChannel

class Allocation(_message.Message):
    __slots__ = ("notice", "amount_pence", "applied_pence", "refund_due_pence")
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    APPLIED_PENCE_FIELD_NUMBER: _ClassVar[int]
    REFUND_DUE_PENCE_FIELD_NUMBER: _ClassVar[int]
    notice: str
    amount_pence: int
    applied_pence: int
    refund_due_pence: int
    def __init__(self, notice: _Optional[str] = ..., amount_pence: _Optional[int] = ..., applied_pence: _Optional[int] = ..., refund_due_pence: _Optional[int] = ...) -> None: ...

class Refund(_message.Message):
    __slots__ = ("provider_refund_id", "amount_pence", "refund_date", "reason", "notice")
    PROVIDER_REFUND_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    REFUND_DATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    provider_refund_id: str
    amount_pence: int
    refund_date: _date_pb2.Date
    reason: str
    notice: str
    def __init__(self, provider_refund_id: _Optional[str] = ..., amount_pence: _Optional[int] = ..., refund_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., reason: _Optional[str] = ..., notice: _Optional[str] = ...) -> None: ...

class Payment(_message.Message):
    __slots__ = ("name", "amount_pence", "paid_date", "receive_time", "channel", "provider", "provider_payment_id", "payer_reference", "payer_name", "allocations", "allocated_pence", "unallocated_pence", "refunds", "refunded_pence", "refundable_pence")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    PAID_DATE_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAYER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PAYER_NAME_FIELD_NUMBER: _ClassVar[int]
    ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    ALLOCATED_PENCE_FIELD_NUMBER: _ClassVar[int]
    UNALLOCATED_PENCE_FIELD_NUMBER: _ClassVar[int]
    REFUNDS_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_PENCE_FIELD_NUMBER: _ClassVar[int]
    REFUNDABLE_PENCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    amount_pence: int
    paid_date: _date_pb2.Date
    receive_time: _timestamp_pb2.Timestamp
    channel: PaymentChannel
    provider: str
    provider_payment_id: str
    payer_reference: str
    payer_name: str
    allocations: _containers.RepeatedCompositeFieldContainer[Allocation]
    allocated_pence: int
    unallocated_pence: int
    refunds: _containers.RepeatedCompositeFieldContainer[Refund]
    refunded_pence: int
    refundable_pence: int
    def __init__(self, name: _Optional[str] = ..., amount_pence: _Optional[int] = ..., paid_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., receive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., channel: _Optional[_Union[PaymentChannel, str]] = ..., provider: _Optional[str] = ..., provider_payment_id: _Optional[str] = ..., payer_reference: _Optional[str] = ..., payer_name: _Optional[str] = ..., allocations: _Optional[_Iterable[_Union[Allocation, _Mapping]]] = ..., allocated_pence: _Optional[int] = ..., unallocated_pence: _Optional[int] = ..., refunds: _Optional[_Iterable[_Union[Refund, _Mapping]]] = ..., refunded_pence: _Optional[int] = ..., refundable_pence: _Optional[int] = ...) -> None: ...

class RecordPaymentRequest(_message.Message):
    __slots__ = ("parent", "payment")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    parent: str
    payment: Payment
    def __init__(self, parent: _Optional[str] = ..., payment: _Optional[_Union[Payment, _Mapping]] = ...) -> None: ...

class RecordPaymentResponse(_message.Message):
    __slots__ = ("payment",)
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    payment: Payment
    def __init__(self, payment: _Optional[_Union[Payment, _Mapping]] = ...) -> None: ...

class AllocatePaymentRequest(_message.Message):
    __slots__ = ("name", "request_id", "allocations", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    request_id: str
    allocations: _containers.RepeatedCompositeFieldContainer[Allocation]
    reason: str
    def __init__(self, name: _Optional[str] = ..., request_id: _Optional[str] = ..., allocations: _Optional[_Iterable[_Union[Allocation, _Mapping]]] = ..., reason: _Optional[str] = ...) -> None: ...

class AllocatePaymentResponse(_message.Message):
    __slots__ = ("payment",)
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    payment: Payment
    def __init__(self, payment: _Optional[_Union[Payment, _Mapping]] = ...) -> None: ...

class RecordRefundRequest(_message.Message):
    __slots__ = ("name", "refund")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REFUND_FIELD_NUMBER: _ClassVar[int]
    name: str
    refund: Refund
    def __init__(self, name: _Optional[str] = ..., refund: _Optional[_Union[Refund, _Mapping]] = ...) -> None: ...

class RecordRefundResponse(_message.Message):
    __slots__ = ("payment",)
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    payment: Payment
    def __init__(self, payment: _Optional[_Union[Payment, _Mapping]] = ...) -> None: ...

class GetAmountDueRequest(_message.Message):
    __slots__ = ("name", "date")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    name: str
    date: _date_pb2.Date
    def __init__(self, name: _Optional[str] = ..., date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class GetAmountDueResponse(_message.Message):
    __slots__ = ("amount_due_pence", "due_by", "rate", "payable", "not_payable_reason", "balance")
    AMOUNT_DUE_PENCE_FIELD_NUMBER: _ClassVar[int]
    DUE_BY_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    PAYABLE_FIELD_NUMBER: _ClassVar[int]
    NOT_PAYABLE_REASON_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    amount_due_pence: int
    due_by: _date_pb2.Date
    rate: _notice_pb2.PaidRate
    payable: bool
    not_payable_reason: str
    balance: _notice_pb2.NoticeBalance
    def __init__(self, amount_due_pence: _Optional[int] = ..., due_by: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., rate: _Optional[_Union[_notice_pb2.PaidRate, str]] = ..., payable: _Optional[bool] = ..., not_payable_reason: _Optional[str] = ..., balance: _Optional[_Union[_notice_pb2.NoticeBalance, _Mapping]] = ...) -> None: ...

class ListPaymentsRequest(_message.Message):
    __slots__ = ("parent", "notice", "unallocated_only", "paid_from", "paid_to", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    UNALLOCATED_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAID_FROM_FIELD_NUMBER: _ClassVar[int]
    PAID_TO_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    notice: str
    unallocated_only: bool
    paid_from: _date_pb2.Date
    paid_to: _date_pb2.Date
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., notice: _Optional[str] = ..., unallocated_only: _Optional[bool] = ..., paid_from: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., paid_to: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPaymentsResponse(_message.Message):
    __slots__ = ("payments", "next_page_token")
    PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    payments: _containers.RepeatedCompositeFieldContainer[Payment]
    next_page_token: str
    def __init__(self, payments: _Optional[_Iterable[_Union[Payment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
