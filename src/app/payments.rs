//! Payments: money received, matched to notices, reallocated, refunded; never lost.
//!
//! Recording and refunding are idempotent on the provider's ids (the same id with
//! the same details answers with what was recorded; with other details,
//! `ALREADY_EXISTS`); a reallocation is idempotent on its request id.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::data_protection::{payment_subjects, record_reads, returned};
use super::idempotency::UseCase;
use super::{App, Caller, Read, RequestId, ServiceError, ServiceResult};
use crate::domain::{
    FieldViolation, RuleViolation,
    access::Operation,
    access_log,
    actor::Actor,
    identifiers::LaCode,
    names,
    notice::Notice,
    payment::{self, AmountDue, Channel, Payment, Refund, total_pence},
    statutory_dates, worklist,
};
use crate::store::{NewAuditEvent, PaymentFilter, StoreError, StoreTx};

const ALLOCATE: UseCase = UseCase::AllocatePayment;

/// What a retried reallocation answers with.
#[derive(Serialize, Deserialize)]
struct Reallocated {
    payment_id: String,
}

/// A payment to record, as the provider reported it.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub amount_pence: i64,
    pub paid_date: NaiveDate,
    pub received_at: DateTime<Utc>,
    pub channel: Channel,
    pub provider: String,
    pub provider_payment_id: String,
    pub payer_reference: String,
    pub payer_name: String,
    /// `(notice number, pence)`; empty: match the notices the reference quotes.
    pub allocations: Vec<(String, i64)>,
    /// Identifies the request as sent: a retry must match it.
    pub fingerprint: String,
}

impl NewPayment {
    /// The payment as recorded under `payment_id`, before any allocation.
    fn payment(&self, payment_id: String, created_at: DateTime<Utc>) -> Payment {
        Payment {
            payment_id,
            amount_pence: self.amount_pence,
            paid_date: self.paid_date,
            received_at: self.received_at,
            channel: self.channel,
            provider: self.provider.clone(),
            provider_payment_id: self.provider_payment_id.clone(),
            payer_reference: self.payer_reference.clone(),
            payer_name: self.payer_name.clone(),
            allocations: vec![],
            refunds: vec![],
            created_at,
        }
    }
}

/// Which payments a listing returns: every set field must match.
#[derive(Debug, Clone, Default)]
pub struct PaymentQuery {
    pub notice_number: Option<String>,
    pub unallocated_only: bool,
    pub paid_from: Option<NaiveDate>,
    pub paid_to: Option<NaiveDate>,
}

/// A notice and what is due on it on a day.
#[derive(Debug, Clone)]
pub struct AmountDueOn {
    pub notice: Notice,
    pub on: NaiveDate,
    pub due: AmountDue,
}

/// Re-applies every allocation on a notice after its money or state changed, in
/// `tx`, and records a change of settlement in the audit log.
pub(crate) async fn settle_notice(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    notice: &Notice,
    actor: &Actor,
    request_id: &str,
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    let facts = tx
        .notice_allocations(authority, &notice.notice_number)
        .await?;
    let money = payment::settle(notice, &facts);
    let settlement_changed = money.settlement != notice.settlement;
    tx.apply_notice_money(authority, &notice.notice_number, &money, settlement_changed)
        .await?;
    if settlement_changed {
        tx.append_audit(&NewAuditEvent {
            authority,
            at,
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

/// Locks the notices named (in a fixed order, so concurrent payments cannot
/// deadlock); refuses any that does not exist.
async fn lock_notices(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    numbers: &BTreeSet<String>,
    field: &str,
) -> ServiceResult<HashMap<String, Notice>> {
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
        Err(ServiceError::InvalidArgument(missing))
    }
}

/// With no allocation given: the notices quoted in the reference, as
/// `payment::allocate_by_reference` decides, read in the unit of work that
/// allocates.
async fn match_reference(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    reference: &str,
    amount: i64,
    paid: NaiveDate,
) -> ServiceResult<Vec<(String, i64)>> {
    let mut quoted = Vec::new();
    for number in payment::notice_numbers_in(reference, authority.as_str()) {
        if let Some(notice) = tx.notice(authority, &number).await? {
            let due = payment::amount_due(&notice, notice.money.applied_pence, paid);
            quoted.push((number, due));
        }
    }
    Ok(payment::allocate_by_reference(amount, &quoted))
}

/// The payment as stored, read in `tx`.
async fn payment_in(tx: &mut dyn StoreTx, authority: &LaCode, id: &str) -> ServiceResult<Payment> {
    tx.payment_for_update(authority, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("payment {id} vanished")).into())
}

/// Who moves money and why, for the audit events of an allocation.
struct Mover<'a> {
    actor: &'a Actor,
    request_id: &'a str,
    at: DateTime<Utc>,
}

/// Replaces `payment_id`'s allocations (`before`: the notices it had and how
/// much on each) and settles every notice whose money changed. Money put on a
/// notice already referred to prosecution is also a
/// `notice.payment_after_prosecution` event: payment discharges liability, so
/// the prosecution is to be reviewed; and money put on a notice a prosecution
/// case follows stops that case until an officer decides
/// (`measures::block_prosecutions`).
async fn allocate(
    tx: &mut dyn StoreTx,
    (authority, payment_id): (&LaCode, &str),
    before: &[(String, i64)],
    (after, field): (&[(String, i64)], &str),
    by: &Mover<'_>,
) -> ServiceResult<()> {
    let touched: BTreeSet<String> = before.iter().chain(after).map(|(n, _)| n.clone()).collect();
    let notices = lock_notices(tx, authority, &touched, field).await?;
    tx.set_allocations(authority, payment_id, !before.is_empty(), after)
        .await?;
    for number in &touched {
        settle_notice(
            tx,
            authority,
            &notices[number],
            by.actor,
            by.request_id,
            by.at,
        )
        .await?;
        let amount = after
            .iter()
            .find(|(n, _)| n == number)
            .map_or(0, |(_, a)| *a);
        tx.append_audit(&NewAuditEvent {
            authority,
            at: by.at,
            actor: by.actor,
            action: "payment.allocated",
            resource: &names::notice_name(authority, number),
            request_id: by.request_id,
            details: serde_json::json!({ "payment": names::payment_name(authority, payment_id), "amount_pence": amount }),
        })
        .await?;
        let had = before
            .iter()
            .filter(|(n, _)| n == number)
            .try_fold(0i64, |sum, (_, a)| sum.checked_add(*a))
            .ok_or_else(|| StoreError::Corrupt("allocations to a notice overflow".into()))?;
        if let Some(prosecution) = &notices[number].prosecution
            && amount > had
        {
            tx.append_audit(&NewAuditEvent {
                authority,
                at: by.at,
                actor: by.actor,
                action: statutory_dates::PAYMENT_AFTER_PROSECUTION,
                resource: &names::notice_name(authority, number),
                request_id: by.request_id,
                details: serde_json::json!({
                    "payment": names::payment_name(authority, payment_id),
                    "amount_pence": amount - had,
                    "hearing_date": prosecution.hearing_date,
                    "prosecution_result": prosecution.result.as_str(),
                    "rule": worklist::Rule::PaymentDischargesLiability.citation(),
                }),
            })
            .await?;
        }
        if amount > had {
            super::measures::block_prosecutions(
                tx,
                authority,
                (
                    number,
                    &names::payment_name(authority, payment_id),
                    amount - had,
                ),
                (by.actor, by.request_id, by.at),
            )
            .await?;
        }
    }
    Ok(())
}

/// The answer to a provider id that is already recorded: the payment, if the
/// details are the same; `ALREADY_EXISTS` naming it otherwise.
fn same_payment(
    authority: &LaCode,
    new: &NewPayment,
    (stored, fingerprint): (Payment, String),
) -> ServiceResult<Payment> {
    if fingerprint == new.fingerprint {
        return Ok(stored);
    }
    let name = names::payment_name(authority, &stored.payment_id);
    Err(ServiceError::AlreadyExists {
        message: format!(
            "provider payment id '{}' was recorded as {name} with different details",
            new.provider_payment_id
        ),
        reason: "PAYMENT_ALREADY_RECORDED",
        metadata: HashMap::from([
            ("payment".to_string(), name),
            (
                "provider_payment_id".to_string(),
                new.provider_payment_id.clone(),
            ),
        ]),
    })
}

/// A payment's new allocations: its id, (notice number, pence) pairs, and why.
pub type Reallocation = (String, Vec<(String, i64)>, String);

/// A page of payments asked for: which, after which (paid date, id), how many.
pub type PaymentListing = (PaymentQuery, Option<(NaiveDate, String)>, i64);

impl App {
    /// Records a payment and allocates it (as given, or by its reference).
    pub async fn record_payment(
        &self,
        caller: Caller,
        new: Read<NewPayment>,
    ) -> ServiceResult<Payment> {
        caller.check_allowed(Operation::RecordPayments)?;
        let new = new?;
        let authority = caller.authority.clone();
        let (caller2, new2) = (caller.clone(), new.clone());
        let recorded = self
            .write(move |app, mut tx| async move {
                let result = app.record_payment_in(&mut *tx, &caller2, &new2).await;
                (tx, result)
            })
            .await;
        match recorded {
            Ok(Ok(payment)) => {
                crate::server::metrics::metrics()
                    .payments_recorded
                    .with_label_values(&[authority.as_str()])
                    .inc();
                Ok(payment)
            }
            Ok(Err(existing)) => same_payment(&authority, &new, existing),
            // A concurrent request with the same provider id committed first.
            Err(ServiceError::Store(StoreError::Duplicate(_))) => {
                let id = new.provider_payment_id.clone();
                let existing = self
                    .read(move |_, mut tx| async move {
                        let found = tx.find_payment_by_provider_id(&caller.authority, &id).await;
                        let result = found.map_err(ServiceError::from).and_then(|f| {
                            f.ok_or_else(|| {
                                StoreError::Corrupt("duplicate payment vanished".into()).into()
                            })
                        });
                        (tx, result)
                    })
                    .await?;
                same_payment(&authority, &new, existing)
            }
            Err(e) => Err(e),
        }
    }

    /// `Err` holds the payment already recorded under the provider id, with its
    /// request fingerprint (nothing is written then).
    async fn record_payment_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        new: &NewPayment,
    ) -> ServiceResult<Result<Payment, (Payment, String)>> {
        let authority = &caller.authority;
        if let Some(existing) = tx
            .find_payment_by_provider_id(authority, &new.provider_payment_id)
            .await?
        {
            return Ok(Err(existing));
        }
        let allocations = if new.allocations.is_empty() {
            match_reference(
                tx,
                authority,
                &new.payer_reference,
                new.amount_pence,
                new.paid_date,
            )
            .await?
        } else {
            new.allocations.clone()
        };
        let serial = tx.next_serial(authority, "payment").await?;
        let payment = new.payment(format!("{authority}-PAY-{serial:06}"), self.now());
        tx.insert_payment(authority, &payment, &new.fingerprint)
            .await?;
        tx.append_audit(&NewAuditEvent {
            authority,
            at: payment.created_at,
            actor: &caller.actor,
            action: "payment.recorded",
            resource: &names::payment_name(authority, &payment.payment_id),
            request_id: &payment.provider_payment_id,
            details: serde_json::to_value(&payment)
                .map_err(|e| ServiceError::Internal(format!("a payment as JSON: {e}")))?,
        })
        .await?;
        let by = Mover {
            actor: &caller.actor,
            request_id: &payment.provider_payment_id,
            at: payment.created_at,
        };
        allocate(
            tx,
            (authority, &payment.payment_id),
            &[],
            (&allocations, "payment.allocations"),
            &by,
        )
        .await?;
        let recorded = tx
            .payment_inserted(authority, &payment.payment_id)
            .await?
            .ok_or_else(|| {
                StoreError::Corrupt(format!("payment {} vanished", payment.payment_id))
            })?;
        Ok(Ok(recorded))
    }

    /// Replaces a payment's allocations, for `reason`.
    pub async fn allocate_payment(
        &self,
        caller: Caller,
        request: RequestId,
        reallocation: Read<Reallocation>,
    ) -> ServiceResult<Payment> {
        caller.check_allowed(Operation::RecordPayments)?;
        let (payment_id, allocations, reason) = reallocation?;
        self.write(move |app, mut tx| async move {
            let result = app
                .allocate_payment_in(
                    &mut *tx,
                    &caller,
                    &request,
                    &payment_id,
                    &allocations,
                    &reason,
                )
                .await;
            (tx, result)
        })
        .await
    }

    async fn allocate_payment_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request: &RequestId,
        payment_id: &str,
        allocations: &[(String, i64)],
        reason: &str,
    ) -> ServiceResult<Payment> {
        let authority = &caller.authority;
        if let Some(kept) = request
            .claim::<Reallocated>(tx, authority, ALLOCATE, self.now())
            .await?
        {
            return payment_in(tx, authority, &kept.payment_id).await;
        }
        let name = names::payment_name(authority, payment_id);
        let before = tx
            .payment_for_update(authority, payment_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(name.clone()))?;
        check_allocations_total(allocations, before.amount_pence)?;
        let previous: Vec<(String, i64)> = before
            .allocations
            .iter()
            .map(|a| (a.notice_number.clone(), a.amount_pence))
            .collect();
        let by = Mover {
            actor: &caller.actor,
            request_id: &request.id,
            at: self.now(),
        };
        allocate(
            tx,
            (authority, payment_id),
            &previous,
            (allocations, "allocations"),
            &by,
        )
        .await?;
        let after = payment_in(tx, authority, payment_id).await?;
        check_refunds_still_due(&after)?;
        tx.append_audit(&NewAuditEvent {
            authority,
            at: by.at,
            actor: &caller.actor,
            action: "payment.reallocated",
            resource: &name,
            request_id: &request.id,
            details: serde_json::json!({ "reason": reason, "allocations": after.allocations }),
        })
        .await?;
        let kept = Reallocated {
            payment_id: payment_id.to_string(),
        };
        request.complete(tx, authority, ALLOCATE, &kept).await?;
        Ok(after)
    }

    /// Records money paid back out of a payment (idempotent on the provider's refund id).
    pub async fn record_refund(
        &self,
        caller: Caller,
        refund: Read<(String, Refund)>,
        fingerprint: String,
    ) -> ServiceResult<Payment> {
        caller.check_allowed(Operation::RecordPayments)?;
        let (payment_id, refund) = refund?;
        self.write(move |app, mut tx| async move {
            let result = app
                .record_refund_in(&mut *tx, &caller, &payment_id, &refund, &fingerprint)
                .await;
            (tx, result)
        })
        .await
    }

    async fn record_refund_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        payment_id: &str,
        refund: &Refund,
        fingerprint: &str,
    ) -> ServiceResult<Payment> {
        let authority = &caller.authority;
        let name = names::payment_name(authority, payment_id);
        let payment = tx
            .payment_for_update(authority, payment_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(name.clone()))?;
        if refund_recorded(tx, (authority, payment_id), refund, fingerprint).await? {
            return Ok(payment);
        }
        let refundable = payment.refundable_for(refund.notice_number.as_deref());
        if refund.amount_pence > refundable {
            return Err(RuleViolation::new(
                "REFUND_EXCEEDS_REFUNDABLE",
                refund
                    .notice_number
                    .clone()
                    .unwrap_or_else(|| "unallocated money".into()),
                format!(
                    "{refundable} pence of this payment may be refunded here; {} asked",
                    refund.amount_pence
                ),
            )
            .into());
        }
        let now = self.now();
        tx.insert_refund(authority, payment_id, refund, fingerprint, now)
            .await?;
        let notice_name = refund
            .notice_number
            .as_deref()
            .map(|n| names::notice_name(authority, n));
        let details = serde_json::to_value(refund)
            .map_err(|e| ServiceError::Internal(format!("a refund as JSON: {e}")))?;
        for resource in std::iter::once(&name).chain(notice_name.as_ref()) {
            tx.append_audit(&NewAuditEvent {
                authority,
                at: now,
                actor: &caller.actor,
                action: "payment.refunded",
                resource,
                request_id: &refund.provider_refund_id,
                details: details.clone(),
            })
            .await?;
        }
        payment_in(tx, authority, payment_id).await
    }

    /// What is due on a notice on `on` (default: today).
    pub async fn amount_due(
        &self,
        caller: Caller,
        asked: Read<(String, Option<NaiveDate>)>,
    ) -> ServiceResult<AmountDueOn> {
        caller.check_allowed(Operation::ReadPayments)?;
        let (number, on) = asked?;
        let on = on.unwrap_or_else(|| self.today());
        let notice = self
            .read(move |app, mut tx| async move {
                let result = async {
                    let notice = tx
                        .notice(&caller.authority, &number)
                        .await?
                        .ok_or_else(|| {
                            ServiceError::NotFound(names::notice_name(&caller.authority, &number))
                        })?;
                    let accessed = access_log::notice_subjects(&caller.authority, &notice);
                    record_reads(
                        &mut *tx,
                        &caller,
                        app.now(),
                        "GetAmountDue",
                        accessed.into(),
                    )
                    .await?;
                    Ok(notice)
                }
                .await;
                (tx, result)
            })
            .await?;
        let due = payment::amount_due(&notice, notice.money.applied_pence, on);
        Ok(AmountDueOn { notice, on, due })
    }

    /// Payments matching `query`, by paid date then id, after the cursor.
    pub async fn list_payments(
        &self,
        caller: Caller,
        listing: Read<PaymentListing>,
    ) -> ServiceResult<Vec<Payment>> {
        caller.check_allowed(Operation::ReadPayments)?;
        let (query, after, limit) = listing?;
        self.read_replica(move |app, mut tx| async move {
            let filter = PaymentFilter {
                notice_number: query.notice_number.as_deref(),
                unallocated_only: query.unallocated_only,
                paid_from: query.paid_from,
                paid_to: query.paid_to,
            };
            let result = async {
                let payments = tx
                    .list_payments(&caller.authority, &filter, after, limit)
                    .await?;
                let accessed =
                    payment_subjects(&mut *tx, &caller.authority, returned(&payments, limit))
                        .await?;
                record_reads(&mut *tx, &caller, app.now(), "ListPayments", accessed).await?;
                Ok(payments)
            }
            .await;
            (tx, result)
        })
        .await
    }
}

/// Allocations may not add up to more than the payment (nor overflow).
fn check_allocations_total(allocations: &[(String, i64)], amount: i64) -> ServiceResult<()> {
    let description = match total_pence(allocations.iter().map(|(_, a)| *a)) {
        Some(total) if total <= amount => return Ok(()),
        Some(total) => format!("allocations total {total} pence, more than the payment's {amount}"),
        None => format!("allocations total more than the payment's {amount}"),
    };
    Err(FieldViolation::new("allocations", description).into())
}

/// Whether a refund id is new for the payment: `Ok(true)` if it was recorded
/// with the same details, `ALREADY_EXISTS` if with others.
async fn refund_recorded(
    tx: &mut dyn StoreTx,
    (authority, payment_id): (&LaCode, &str),
    refund: &Refund,
    fingerprint: &str,
) -> ServiceResult<bool> {
    match tx
        .refund_fingerprint(authority, payment_id, &refund.provider_refund_id)
        .await?
    {
        None => Ok(false),
        Some(f) if f == fingerprint => Ok(true),
        Some(_) => Err(ServiceError::AlreadyExists {
            message: format!(
                "refund '{}' was recorded with different details",
                refund.provider_refund_id
            ),
            reason: "REFUND_ALREADY_RECORDED",
            metadata: HashMap::from([
                (
                    "payment".to_string(),
                    names::payment_name(authority, payment_id),
                ),
                (
                    "provider_refund_id".to_string(),
                    refund.provider_refund_id.clone(),
                ),
            ]),
        }),
    }
}

/// Money already paid back must still have been due back after a reallocation.
fn check_refunds_still_due(after: &Payment) -> ServiceResult<()> {
    let broken: Vec<RuleViolation> = after
        .refunded_beyond_due()
        .into_iter()
        .map(|notice| {
            RuleViolation::new(
                "REFUNDED_MORE_THAN_DUE",
                notice.unwrap_or("unallocated money"),
                "refunds already paid back would exceed what is due back after this allocation",
            )
        })
        .collect();
    if broken.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::FailedPrecondition(broken))
    }
}
