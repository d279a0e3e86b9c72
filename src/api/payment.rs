//! PaymentService: money received, matched to notices, refunded; never lost.

use std::{collections::BTreeSet, collections::HashMap, sync::Arc};

use chrono::NaiveDate;
use prost::Message;
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};

use super::convert::{date, date_to_proto, optional_date, timestamp_to_proto};
use super::error::{ApiError, Violations};
use super::mutation::{Begun, IdempotentRequest, now, validate_request_id};
use super::notice::{paid_rate_to_proto, today};
use super::{caller, names, pagination};
use crate::domain::access::Operation;
use crate::domain::{
    FieldViolation, RuleViolation,
    actor::Actor,
    identifiers::LaCode,
    notice::Notice,
    payment::{self, AmountDue, Channel, Payment, Refund},
};
use crate::proto::v1::{self as pb, payment_service_server::PaymentService};
use crate::store::{NewAuditEvent, PaymentFilter, Store, StoreError, StoreTx};

const ALLOCATE_METHOD: &str = "/lea.notices.v1.PaymentService/AllocatePayment";

pub struct PaymentApi {
    store: Arc<dyn Store>,
}

impl PaymentApi {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

/// Re-applies every allocation on a notice after its money or state changed, in
/// `tx`, and records a status change in the audit log. Returns the notice as it
/// now stands.
pub(crate) async fn settle_notice(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    notice: &Notice,
    actor: &Actor,
    request_id: &str,
) -> Result<(), ApiError> {
    let facts = tx
        .notice_allocations(authority, &notice.notice_number)
        .await?;
    let money = payment::settle(notice, &facts);
    tx.apply_notice_money(authority, &notice.notice_number, &money)
        .await?;
    if money.settlement != notice.settlement {
        tx.append_audit(&NewAuditEvent {
            authority,
            at: now(),
            actor,
            action: if money.settlement.is_some() {
                "notice.paid"
            } else {
                "notice.payment_status_cleared"
            },
            resource: &names::notice_name(authority, &notice.notice_number),
            request_id,
            details: serde_json::json!({ "settlement": money.settlement }),
        })
        .await?;
    }
    Ok(())
}

fn fingerprint(request: &impl Message) -> String {
    hex::encode(Sha256::digest(request.encode_to_vec()))
}

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

pub(crate) fn payment_name(la: &LaCode, payment_id: &str) -> String {
    format!("{}/payments/{payment_id}", names::authority_name(la))
}

fn parse_payment_name(field: &str, name: &str) -> Result<(LaCode, String), FieldViolation> {
    let bad = || {
        FieldViolation::new(
            field,
            format!("'{name}' is not of the form authorities/{{la_code}}/payments/{{payment_id}}"),
        )
    };
    let rest = name.strip_prefix("authorities/").ok_or_else(bad)?;
    let (la, id) = rest.split_once("/payments/").ok_or_else(bad)?;
    if id.is_empty() || id.contains('/') {
        return Err(bad());
    }
    Ok((
        LaCode::parse(la).map_err(|e| FieldViolation::new(field, e))?,
        id.to_string(),
    ))
}

fn payment_to_proto(la: &LaCode, p: &Payment) -> pb::Payment {
    pb::Payment {
        name: payment_name(la, &p.payment_id),
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
        if a.amount_pence <= 0 {
            v.push(FieldViolation::new(
                format!("{f}.amount_pence"),
                "must be more than 0",
            ));
        }
        if let Some((_, number)) = notice {
            out.push((number, a.amount_pence));
        }
    }
    let total: i64 = out.iter().map(|(_, a)| a.max(&0)).sum();
    if let Some(amount) = amount
        && total > amount
    {
        v.push(FieldViolation::new(
            field,
            format!("allocations total {total} pence, more than the payment's {amount}"),
        ));
    }
    out
}

impl PaymentApi {
    /// Locks the notices named by `allocations` (in a fixed order, so concurrent
    /// payments cannot deadlock); refuses any that does not exist.
    async fn lock_notices(
        tx: &mut dyn StoreTx,
        authority: &LaCode,
        numbers: &BTreeSet<String>,
        field: &str,
    ) -> Result<HashMap<String, Notice>, ApiError> {
        let mut notices = HashMap::new();
        let mut missing = Vec::new();
        for number in numbers {
            match tx.notice_for_update(authority, number).await? {
                Some(n) => {
                    notices.insert(number.clone(), n);
                }
                None => missing.push(FieldViolation::new(
                    field,
                    format!("notice {number} does not exist"),
                )),
            }
        }
        if missing.is_empty() {
            Ok(notices)
        } else {
            Err(ApiError::InvalidArgument(missing))
        }
    }

    /// Replaces `payment_id`'s allocations (`before` names the notices it had) and
    /// settles every notice whose money changed.
    async fn allocate(
        tx: &mut dyn StoreTx,
        (authority, payment_id): (&LaCode, &str),
        before: &[String],
        (after, field): (&[(String, i64)], &str),
        actor: &Actor,
        request_id: &str,
    ) -> Result<(), ApiError> {
        let touched: BTreeSet<String> = before
            .iter()
            .cloned()
            .chain(after.iter().map(|(n, _)| n.clone()))
            .collect();
        let notices = Self::lock_notices(tx, authority, &touched, field).await?;
        tx.set_allocations(authority, payment_id, after).await?;
        for number in &touched {
            settle_notice(tx, authority, &notices[number], actor, request_id).await?;
            let amount = after
                .iter()
                .find(|(n, _)| n == number)
                .map_or(0, |(_, a)| *a);
            tx.append_audit(&NewAuditEvent {
                authority,
                at: now(),
                actor,
                action: "payment.allocated",
                resource: &names::notice_name(authority, number),
                request_id,
                details: serde_json::json!({ "payment": payment_name(authority, payment_id), "amount_pence": amount }),
            })
            .await?;
        }
        Ok(())
    }

    /// With no allocation given: the notices quoted in the reference, each given
    /// what is due on the paid date, in the order quoted; the rest stays unallocated.
    async fn match_reference(
        tx: &mut dyn StoreTx,
        authority: &LaCode,
        reference: &str,
        amount: i64,
        paid: NaiveDate,
    ) -> Result<Vec<(String, i64)>, ApiError> {
        let mut remaining = amount;
        let mut out = Vec::new();
        for number in payment::notice_numbers_in(reference, authority.as_str()) {
            let Some(notice) = tx.notice(authority, &number).await? else {
                continue;
            };
            if let AmountDue::Payable { amount_pence, .. } =
                payment::amount_due(&notice, notice.money.applied_pence, paid)
            {
                let take = remaining.min(amount_pence);
                if take > 0 {
                    out.push((number, take));
                    remaining -= take;
                }
            }
        }
        Ok(out)
    }
}

#[tonic::async_trait]
impl PaymentService for PaymentApi {
    async fn record_payment(
        &self,
        request: Request<pb::RecordPaymentRequest>,
    ) -> Result<Response<pb::RecordPaymentResponse>, Status> {
        let caller = caller::authorize(&request, Operation::RecordPayments)?;
        let actor = caller.actor.clone();
        let req = request.into_inner();
        caller.check_parent_name(&req.parent)?;
        let mut v = Violations::new();
        let authority = v.check(names::parse_authority("parent", &req.parent));
        let Some(p) = &req.payment else {
            v.push(FieldViolation::new("payment", "the payment is required"));
            return Err(v.finish::<()>(None).unwrap_err().into());
        };
        if p.amount_pence <= 0 {
            v.push(FieldViolation::new(
                "payment.amount_pence",
                "must be more than 0",
            ));
        }
        let paid_date = v.check(date("payment.paid_date", p.paid_date.as_ref()));
        let received_at = match &p.receive_time {
            Some(t) => chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32),
            None => None,
        };
        if received_at.is_none() {
            v.push(FieldViolation::new(
                "payment.receive_time",
                "when the payment was received is required",
            ));
        }
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
        let explicit = allocations_from_proto(
            &mut v,
            "payment.allocations",
            authority.as_ref(),
            &p.allocations,
            Some(p.amount_pence),
        );
        let (authority, ((paid_date, received_at), channel)) =
            v.finish(authority.zip(paid_date.zip(received_at).zip(channel)))?;
        let fingerprint = fingerprint(&req);

        let payment = Payment {
            payment_id: String::new(),
            amount_pence: p.amount_pence,
            paid_date,
            received_at: received_at.trunc_subsecs_micros(),
            channel,
            provider: p.provider.trim().to_string(),
            provider_payment_id: p.provider_payment_id.trim().to_string(),
            payer_reference: p.payer_reference.clone(),
            payer_name: p.payer_name.clone(),
            allocations: vec![],
            refunds: vec![],
            created_at: now(),
        };

        let recorded = async {
            let mut tx = self.store.begin().await?;
            if let Some(existing) = tx
                .find_payment_by_provider_id(&authority, &payment.provider_payment_id)
                .await?
            {
                return Ok::<_, ApiError>(Err(existing));
            }
            // The reference is matched inside the transaction that allocates.
            let allocations = if p.allocations.is_empty() {
                Self::match_reference(
                    &mut *tx,
                    &authority,
                    &p.payer_reference,
                    p.amount_pence,
                    paid_date,
                )
                .await?
            } else {
                explicit
            };
            let serial = tx.next_serial(&authority, "payment").await?;
            let payment = Payment {
                payment_id: format!("{authority}-PAY-{serial:06}"),
                ..payment.clone()
            };
            tx.insert_payment(&authority, &payment, &fingerprint)
                .await?;
            let name = payment_name(&authority, &payment.payment_id);
            tx.append_audit(&NewAuditEvent {
                authority: &authority,
                at: payment.created_at,
                actor: &actor,
                action: "payment.recorded",
                resource: &name,
                request_id: &payment.provider_payment_id,
                details: serde_json::to_value(&payment).expect("serialises"),
            })
            .await?;
            Self::allocate(
                &mut *tx,
                (&authority, &payment.payment_id),
                &[],
                (&allocations, "payment.allocations"),
                &actor,
                &payment.provider_payment_id,
            )
            .await?;
            let stored = tx
                .payment_for_update(&authority, &payment.payment_id)
                .await?
                .expect("inserted above");
            tx.commit().await?;
            Ok(Ok(stored))
        }
        .await;

        let existing = match recorded {
            Ok(Ok(stored)) => {
                crate::metrics::metrics()
                    .payments_recorded
                    .with_label_values(&[authority.as_str()])
                    .inc();
                return Ok(Response::new(pb::RecordPaymentResponse {
                    payment: Some(payment_to_proto(&authority, &stored)),
                }));
            }
            Ok(Err(existing)) => existing,
            // A concurrent request with the same provider id committed first.
            Err(ApiError::Store(StoreError::Duplicate(_))) => {
                let mut tx = self.store.begin().await.map_err(ApiError::from)?;
                tx.find_payment_by_provider_id(&authority, &payment.provider_payment_id)
                    .await
                    .map_err(ApiError::from)?
                    .ok_or_else(|| {
                        ApiError::Store(StoreError::Corrupt("duplicate payment vanished".into()))
                    })?
            }
            Err(e) => return Err(e.into()),
        };
        let (stored, stored_fingerprint) = existing;
        if stored_fingerprint == fingerprint {
            return Ok(Response::new(pb::RecordPaymentResponse {
                payment: Some(payment_to_proto(&authority, &stored)),
            }));
        }
        Err(ApiError::AlreadyExists {
            message: format!(
                "provider payment id '{}' was recorded as {} with different details",
                payment.provider_payment_id,
                payment_name(&authority, &stored.payment_id)
            ),
            reason: "PAYMENT_ALREADY_RECORDED",
            metadata: HashMap::from([
                (
                    "payment".to_string(),
                    payment_name(&authority, &stored.payment_id),
                ),
                (
                    "provider_payment_id".to_string(),
                    payment.provider_payment_id.clone(),
                ),
            ]),
        }
        .into())
    }

    async fn allocate_payment(
        &self,
        request: Request<pb::AllocatePaymentRequest>,
    ) -> Result<Response<pb::AllocatePaymentResponse>, Status> {
        let caller = caller::authorize(&request, Operation::RecordPayments)?;
        let actor = caller.actor.clone();
        let req = request.into_inner();
        caller.check_resource_name(&req.name)?;
        let mut v = Violations::new();
        let name = v.check(parse_payment_name("name", &req.name));
        v.check(validate_request_id("request_id", &req.request_id));
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
        let (authority, payment_id) = v.finish(name)?;

        let request = IdempotentRequest::new(&authority, &req.request_id, ALLOCATE_METHOD, &req);
        let mut tx = match request.begin(&*self.store).await? {
            Begun::Replay(response) => return Ok(Response::new(response)),
            Begun::New(tx) => tx,
        };
        let before = tx
            .payment_for_update(&authority, &payment_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::NotFound(req.name.clone()))?;
        let total: i64 = allocations.iter().map(|(_, a)| a).sum();
        if total > before.amount_pence {
            return Err(ApiError::from(FieldViolation::new(
                "allocations",
                format!(
                    "allocations total {total} pence, more than the payment's {}",
                    before.amount_pence
                ),
            ))
            .into());
        }
        let previous: Vec<String> = before
            .allocations
            .iter()
            .map(|a| a.notice_number.clone())
            .collect();
        Self::allocate(
            &mut *tx,
            (&authority, &payment_id),
            &previous,
            (&allocations, "allocations"),
            &actor,
            &req.request_id,
        )
        .await?;
        let after = tx
            .payment_for_update(&authority, &payment_id)
            .await
            .map_err(ApiError::from)?
            .expect("locked above");
        // Money already paid back must still have been due back.
        let mut broken = Vec::new();
        for notice in after
            .refunds
            .iter()
            .map(|r| r.notice_number.as_deref())
            .collect::<BTreeSet<_>>()
        {
            if after.refundable_for(notice) < 0 {
                broken.push(RuleViolation::new(
                    "REFUNDED_MORE_THAN_DUE",
                    notice.unwrap_or("unallocated money"),
                    "refunds already paid back would exceed what is due back after this allocation",
                ));
            }
        }
        if !broken.is_empty() {
            return Err(ApiError::FailedPrecondition(broken).into());
        }
        tx.append_audit(&NewAuditEvent {
            authority: &authority,
            at: now(),
            actor: &actor,
            action: "payment.reallocated",
            resource: &req.name,
            request_id: &req.request_id,
            details: serde_json::json!({ "reason": req.reason, "allocations": after.allocations }),
        })
        .await
        .map_err(ApiError::from)?;
        let response = pb::AllocatePaymentResponse {
            payment: Some(payment_to_proto(&authority, &after)),
        };
        request.commit(tx, &response).await?;
        Ok(Response::new(response))
    }

    async fn record_refund(
        &self,
        request: Request<pb::RecordRefundRequest>,
    ) -> Result<Response<pb::RecordRefundResponse>, Status> {
        let caller = caller::authorize(&request, Operation::RecordPayments)?;
        let actor = caller.actor.clone();
        let req = request.into_inner();
        caller.check_resource_name(&req.name)?;
        let mut v = Violations::new();
        let name = v.check(parse_payment_name("name", &req.name));
        let refund = match &req.refund {
            None => {
                v.push(FieldViolation::new("refund", "the refund is required"));
                None
            }
            Some(r) => {
                if r.provider_refund_id.trim().is_empty() {
                    v.push(FieldViolation::new("refund.provider_refund_id", "required"));
                }
                if r.amount_pence <= 0 {
                    v.push(FieldViolation::new(
                        "refund.amount_pence",
                        "must be more than 0",
                    ));
                }
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
        };
        let ((authority, payment_id), refund) = v.finish(name.zip(refund))?;
        let fingerprint = fingerprint(&req);

        let mut tx = self.store.begin().await.map_err(ApiError::from)?;
        let payment = tx
            .payment_for_update(&authority, &payment_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::NotFound(req.name.clone()))?;
        match tx
            .refund_fingerprint(&authority, &payment_id, &refund.provider_refund_id)
            .await
            .map_err(ApiError::from)?
        {
            Some(f) if f == fingerprint => {
                return Ok(Response::new(pb::RecordRefundResponse {
                    payment: Some(payment_to_proto(&authority, &payment)),
                }));
            }
            Some(_) => {
                return Err(ApiError::AlreadyExists {
                    message: format!(
                        "refund '{}' was recorded with different details",
                        refund.provider_refund_id
                    ),
                    reason: "REFUND_ALREADY_RECORDED",
                    metadata: HashMap::from([
                        ("payment".to_string(), req.name.clone()),
                        (
                            "provider_refund_id".to_string(),
                            refund.provider_refund_id.clone(),
                        ),
                    ]),
                }
                .into());
            }
            None => {}
        }
        let refundable = payment.refundable_for(refund.notice_number.as_deref());
        if refund.amount_pence > refundable {
            return Err(ApiError::FailedPrecondition(vec![RuleViolation::new(
                "REFUND_EXCEEDS_REFUNDABLE",
                refund
                    .notice_number
                    .clone()
                    .unwrap_or_else(|| "unallocated money".into()),
                format!(
                    "{refundable} pence of this payment may be refunded here; {} asked",
                    refund.amount_pence
                ),
            )])
            .into());
        }
        tx.insert_refund(&authority, &payment_id, &refund, &fingerprint, now())
            .await
            .map_err(ApiError::from)?;
        let resources: Vec<String> = std::iter::once(req.name.clone())
            .chain(
                refund
                    .notice_number
                    .as_deref()
                    .map(|n| names::notice_name(&authority, n)),
            )
            .collect();
        for resource in &resources {
            tx.append_audit(&NewAuditEvent {
                authority: &authority,
                at: now(),
                actor: &actor,
                action: "payment.refunded",
                resource,
                request_id: &refund.provider_refund_id,
                details: serde_json::to_value(&refund).expect("serialises"),
            })
            .await
            .map_err(ApiError::from)?;
        }
        let after = tx
            .payment_for_update(&authority, &payment_id)
            .await
            .map_err(ApiError::from)?
            .expect("locked above");
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Response::new(pb::RecordRefundResponse {
            payment: Some(payment_to_proto(&authority, &after)),
        }))
    }

    async fn get_amount_due(
        &self,
        request: Request<pb::GetAmountDueRequest>,
    ) -> Result<Response<pb::GetAmountDueResponse>, Status> {
        let caller = caller::authorize(&request, Operation::ReadPayments)?;
        let req = request.into_inner();
        caller.check_resource_name(&req.name)?;
        let mut v = Violations::new();
        let name = v.check(names::parse_notice("name", &req.name));
        let on = v
            .check(optional_date("date", req.date.as_ref()))
            .map(|d| d.unwrap_or_else(today));
        let ((authority, number), on) = v.finish(name.zip(on))?;
        let mut tx = self.store.begin_read().await.map_err(ApiError::from)?;
        let notice = tx
            .notice(&authority, &number)
            .await
            .map_err(ApiError::from)?;
        tx.commit().await.map_err(ApiError::from)?;
        let notice = notice.ok_or_else(|| ApiError::NotFound(req.name.clone()))?;
        let balance = super::notice::balance_to_proto(&notice, on);
        let response = match payment::amount_due(&notice, notice.money.applied_pence, on) {
            AmountDue::Payable {
                amount_pence,
                rate,
                due_by,
            } => pb::GetAmountDueResponse {
                amount_due_pence: amount_pence,
                due_by: Some(date_to_proto(due_by)),
                rate: paid_rate_to_proto(Some(rate)) as i32,
                payable: true,
                not_payable_reason: String::new(),
                balance: Some(balance),
            },
            AmountDue::NotPayable { reason } => pb::GetAmountDueResponse {
                amount_due_pence: 0,
                due_by: None,
                rate: pb::PaidRate::Unspecified as i32,
                payable: false,
                not_payable_reason: reason,
                balance: Some(balance),
            },
        };
        Ok(Response::new(response))
    }

    async fn list_payments(
        &self,
        request: Request<pb::ListPaymentsRequest>,
    ) -> Result<Response<pb::ListPaymentsResponse>, Status> {
        let caller = caller::authorize(&request, Operation::ReadPayments)?;
        let req = request.into_inner();
        caller.check_parent_name(&req.parent)?;
        let mut v = Violations::new();
        let authority = v.check(names::parse_authority("parent", &req.parent));
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
        let ((authority, size), (notice, ((paid_from, paid_to), after))) = v.finish(
            authority
                .zip(size)
                .zip(notice.zip(paid_from.zip(paid_to).zip(after))),
        )?;
        let mut tx = self.store.begin_read().await.map_err(ApiError::from)?;
        let fetched = tx
            .list_payments(
                &authority,
                &PaymentFilter {
                    notice_number: notice.as_deref(),
                    unallocated_only: req.unallocated_only,
                    paid_from,
                    paid_to,
                },
                after,
                size + 1,
            )
            .await
            .map_err(ApiError::from)?;
        tx.commit().await.map_err(ApiError::from)?;
        let (page, next_page_token) = pagination::page(fetched, size, &filter, |last| {
            pagination::date_key_cursor(last.paid_date, &last.payment_id)
        });
        Ok(Response::new(pb::ListPaymentsResponse {
            payments: page
                .iter()
                .map(|p| payment_to_proto(&authority, p))
                .collect(),
            next_page_token,
        }))
    }
}

trait TruncMicros {
    fn trunc_subsecs_micros(self) -> Self;
}

impl TruncMicros for chrono::DateTime<chrono::Utc> {
    /// Both backends store microseconds: a retry must compare equal to what was stored.
    fn trunc_subsecs_micros(self) -> Self {
        chrono::SubsecRound::trunc_subsecs(self, 6)
    }
}
