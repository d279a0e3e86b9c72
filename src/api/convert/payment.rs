//! PaymentService messages ⇄ domain payments.

use chrono::{DateTime, NaiveDate, Utc};

use super::{date, date_to_proto, instant, optional_date, timestamp_to_proto};
use crate::api::error::Violations;
use crate::api::mutation::fingerprint;
use crate::api::pagination::{self, PageRequest};
use crate::app::{NewPayment, PaymentQuery, ServiceResult};
use crate::domain::{
    FieldViolation,
    identifiers::LaCode,
    names,
    payment::{Channel, MAX_PAYMENT_PENCE, Payment, Refund, total_pence},
};
use crate::proto::v1 as pb;

fn channel_from_proto(value: i32) -> Option<Channel> {
    match pb::PaymentChannel::try_from(value).ok()? {
        pb::PaymentChannel::Online => Some(Channel::Online),
        pb::PaymentChannel::Phone => Some(Channel::Phone),
        pb::PaymentChannel::Post => Some(Channel::Post),
        pb::PaymentChannel::InPerson => Some(Channel::InPerson),
        pb::PaymentChannel::Unspecified => None,
    }
}

fn channel_to_proto(c: Channel) -> pb::PaymentChannel {
    match c {
        Channel::Online => pb::PaymentChannel::Online,
        Channel::Phone => pb::PaymentChannel::Phone,
        Channel::Post => pb::PaymentChannel::Post,
        Channel::InPerson => pb::PaymentChannel::InPerson,
    }
}

pub(crate) fn payment_to_proto(la: &LaCode, p: &Payment) -> pb::Payment {
    pb::Payment {
        name: names::payment_name(la, &p.payment_id),
        amount_pence: p.amount_pence,
        paid_date: Some(date_to_proto(p.paid_date)),
        receive_time: Some(timestamp_to_proto(p.received_at)),
        channel: channel_to_proto(p.channel) as i32,
        provider: p.provider.clone(),
        provider_payment_id: p.provider_payment_id.clone(),
        payer_reference: p.payer_reference.clone(),
        payer_name: p.payer_name.clone(),
        allocations: p
            .allocations
            .iter()
            .map(|a| pb::Allocation {
                notice: names::notice_name(la, &a.notice_number),
                amount_pence: a.amount_pence,
                applied_pence: a.applied_pence,
                refund_due_pence: a.refund_due_pence,
            })
            .collect(),
        allocated_pence: p.allocated_pence(),
        unallocated_pence: p.unallocated_pence(),
        refunds: p
            .refunds
            .iter()
            .map(|r| pb::Refund {
                provider_refund_id: r.provider_refund_id.clone(),
                amount_pence: r.amount_pence,
                refund_date: Some(date_to_proto(r.refund_date)),
                reason: r.reason.clone(),
                notice: r
                    .notice_number
                    .as_deref()
                    .map(|n| names::notice_name(la, n))
                    .unwrap_or_default(),
            })
            .collect(),
        refunded_pence: p.refunded_pence(),
        refundable_pence: p.refundable_pence(),
    }
}

/// Requested allocations: notices of `authority`, positive amounts, each notice
/// once, summing to at most `amount` (when known).
fn allocations_from_proto(
    v: &mut Violations,
    field: &str,
    authority: Option<&LaCode>,
    allocations: &[pb::Allocation],
    amount: Option<i64>,
) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = Vec::new();
    for (i, a) in allocations.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let notice = v.check(names::parse_notice(&format!("{f}.notice"), &a.notice));
        if let (Some((la, number)), Some(authority)) = (&notice, authority) {
            if la != authority {
                v.push(FieldViolation::new(
                    format!("{f}.notice"),
                    "a payment can only pay its own authority's notices",
                ));
            } else if out.iter().any(|(n, _)| n == number) {
                v.push(FieldViolation::new(
                    format!("{f}.notice"),
                    "this notice is listed twice",
                ));
            }
        }
        check_amount(v, format!("{f}.amount_pence"), a.amount_pence);
        if let Some((_, number)) = notice {
            out.push((number, a.amount_pence));
        }
    }
    // An invalid amount is reported on its own; totals are checked against a valid one.
    if let Some(amount) = amount.filter(|a| (1..=MAX_PAYMENT_PENCE).contains(a)) {
        match total_pence(out.iter().map(|(_, a)| (*a).max(0))) {
            Some(total) if total <= amount => {}
            Some(total) => v.push(FieldViolation::new(
                field,
                format!("allocations total {total} pence, more than the payment's {amount}"),
            )),
            None => v.push(FieldViolation::new(
                field,
                format!("allocations total more than the payment's {amount}"),
            )),
        }
    }
    out
}

/// An amount of money within the bounds of one payment, refund or allocation.
fn check_amount(v: &mut Violations, field: String, amount: i64) {
    if !(1..=MAX_PAYMENT_PENCE).contains(&amount) {
        v.push(FieldViolation::new(
            field,
            format!("must be from 1 to {MAX_PAYMENT_PENCE} pence (£100,000)"),
        ));
    }
}

/// A RecordPayment request: the authority and the payment to record.
pub(crate) fn new_payment(
    req: &pb::RecordPaymentRequest,
    now: DateTime<Utc>,
) -> ServiceResult<NewPayment> {
    let mut v = Violations::new();
    let authority = v.check(names::parse_authority("parent", &req.parent));
    let Some(p) = &req.payment else {
        v.push(FieldViolation::new("payment", "the payment is required"));
        return Err(v.finish::<()>(None).unwrap_err());
    };
    check_amount(&mut v, "payment.amount_pence".into(), p.amount_pence);
    let paid_date = v.check(date("payment.paid_date", p.paid_date.as_ref()));
    let received_at = match &p.receive_time {
        None => {
            v.push(FieldViolation::new(
                "payment.receive_time",
                "when the payment was received is required",
            ));
            None
        }
        Some(t) => {
            v.check(instant(t, now).map_err(|e| FieldViolation::new("payment.receive_time", e)))
        }
    };
    let channel = channel_from_proto(p.channel);
    if channel.is_none() {
        v.push(FieldViolation::new(
            "payment.channel",
            "online, phone, post or in person",
        ));
    }
    for (field, value) in [
        ("payment.provider", &p.provider),
        ("payment.provider_payment_id", &p.provider_payment_id),
    ] {
        if value.trim().is_empty() {
            v.push(FieldViolation::new(field, "required"));
        }
    }
    let allocations = allocations_from_proto(
        &mut v,
        "payment.allocations",
        authority.as_ref(),
        &p.allocations,
        Some(p.amount_pence),
    );
    let (_, ((paid_date, received_at), channel)) =
        v.finish(authority.zip(paid_date.zip(received_at).zip(channel)))?;
    Ok(NewPayment {
        amount_pence: p.amount_pence,
        paid_date,
        received_at,
        channel,
        provider: p.provider.trim().to_string(),
        provider_payment_id: p.provider_payment_id.trim().to_string(),
        payer_reference: p.payer_reference.clone(),
        payer_name: p.payer_name.clone(),
        allocations,
        fingerprint: fingerprint(req),
    })
}

/// An AllocatePayment request: the payment's id, the allocations and the reason.
pub(crate) fn reallocation(
    req: &pb::AllocatePaymentRequest,
) -> ServiceResult<(String, Vec<(String, i64)>)> {
    let mut v = Violations::new();
    let name = v.check(names::parse_payment("name", &req.name));
    v.check(crate::api::mutation::validate_request_id(
        "request_id",
        &req.request_id,
    ));
    if req.reason.trim().is_empty() {
        v.push(FieldViolation::new(
            "reason",
            "say why the allocation changes",
        ));
    }
    let allocations = allocations_from_proto(
        &mut v,
        "allocations",
        name.as_ref().map(|(la, _)| la),
        &req.allocations,
        None,
    );
    let (_, payment_id) = v.finish(name)?;
    Ok((payment_id, allocations))
}

/// A RecordRefund request: the payment's id and the refund.
pub(crate) fn refund(req: &pb::RecordRefundRequest) -> ServiceResult<(String, Refund)> {
    let mut v = Violations::new();
    let name = v.check(names::parse_payment("name", &req.name));
    let refund = match &req.refund {
        None => {
            v.push(FieldViolation::new("refund", "the refund is required"));
            None
        }
        Some(r) => refund_from_proto(&mut v, r),
    };
    let ((_, payment_id), refund) = v.finish(name.zip(refund))?;
    Ok((payment_id, refund))
}

fn refund_from_proto(v: &mut Violations, r: &pb::Refund) -> Option<Refund> {
    if r.provider_refund_id.trim().is_empty() {
        v.push(FieldViolation::new("refund.provider_refund_id", "required"));
    }
    check_amount(v, "refund.amount_pence".into(), r.amount_pence);
    let day = v.check(date("refund.refund_date", r.refund_date.as_ref()));
    let notice = if r.notice.is_empty() {
        Some(None)
    } else {
        v.check(names::parse_notice("refund.notice", &r.notice))
            .map(|(_, n)| Some(n))
    };
    day.zip(notice).map(|(refund_date, notice_number)| Refund {
        provider_refund_id: r.provider_refund_id.trim().to_string(),
        amount_pence: r.amount_pence,
        refund_date,
        reason: r.reason.clone(),
        notice_number,
    })
}

/// A ListPayments request.
pub(crate) fn payment_query(
    req: &pb::ListPaymentsRequest,
) -> ServiceResult<PageRequest<PaymentQuery, (NaiveDate, String)>> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    let size = v.check(pagination::page_size("page_size", req.page_size));
    let notice = if req.notice.is_empty() {
        Some(None)
    } else {
        v.check(names::parse_notice("notice", &req.notice))
            .map(|(_, n)| Some(n))
    };
    let paid_from = v.check(optional_date("paid_from", req.paid_from.as_ref()));
    let paid_to = v.check(optional_date("paid_to", req.paid_to.as_ref()));
    let mut token_request = req.clone();
    token_request.page_token.clear();
    token_request.page_size = 0;
    let filter = format!("{token_request:?}");
    let after = v.check(pagination::decode_date_key(
        "page_token",
        &req.page_token,
        &filter,
    ));
    let (size, (notice_number, ((paid_from, paid_to), after))) =
        v.finish(size.zip(notice.zip(paid_from.zip(paid_to).zip(after))))?;
    Ok(PageRequest {
        query: PaymentQuery {
            notice_number,
            unallocated_only: req.unallocated_only,
            paid_from,
            paid_to,
        },
        size,
        after,
        filter,
    })
}
