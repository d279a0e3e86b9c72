//! Payments, their allocations to notices, and refunds.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::StoreResult;
use super::rows::parse_name;
use super::tx::{duplicate_as, sql_impl};
use crate::domain::identifiers::LaCode;
use crate::domain::payment::{Allocation, AllocationFact, Channel, NoticeMoney, Payment, Refund};

/// Which payments `list_payments` returns: every set field must match.
#[derive(Debug, Clone, Default)]
pub struct PaymentFilter<'a> {
    /// Allocated to this notice.
    pub notice_number: Option<&'a str>,
    /// With unallocated money: `Payment::unallocated_pence()` above 0 (refunds of
    /// unallocated money do not change it).
    pub unallocated_only: bool,
    pub paid_from: Option<NaiveDate>,
    pub paid_to: Option<NaiveDate>,
}

#[derive(sqlx::FromRow)]
pub(super) struct PaymentRow {
    payment_id: String,
    amount_pence: i64,
    paid_date: NaiveDate,
    received_at: DateTime<Utc>,
    channel: String,
    provider: String,
    provider_payment_id: String,
    payer_reference: String,
    payer_name: String,
    request_fingerprint: String,
    created_at: DateTime<Utc>,
}

/// `SELECT` of a payment row (`p`), without its allocations and refunds.
macro_rules! payment_select {
    () => {
        "SELECT p.payment_id, p.amount_pence, p.paid_date, p.received_at, p.channel, p.provider, \
         p.provider_payment_id, p.payer_reference, p.payer_name, p.request_fingerprint, p.created_at \
         FROM payments p"
    };
}

impl PaymentRow {
    pub(super) fn payment_id(&self) -> &str {
        &self.payment_id
    }

    /// The payment with its allocations and refunds, and its request fingerprint.
    pub(super) fn into_payment(
        self,
        allocations: Vec<AllocationRow>,
        refunds: Vec<RefundRow>,
    ) -> StoreResult<(Payment, String)> {
        Ok((
            Payment {
                channel: parse_name("channel", &self.channel, Channel::parse)?,
                payment_id: self.payment_id,
                amount_pence: self.amount_pence,
                paid_date: self.paid_date,
                received_at: self.received_at,
                provider: self.provider,
                provider_payment_id: self.provider_payment_id,
                payer_reference: self.payer_reference,
                payer_name: self.payer_name,
                allocations: allocations
                    .into_iter()
                    .map(|a| Allocation {
                        notice_number: a.notice_number,
                        amount_pence: a.amount_pence,
                        applied_pence: a.applied_pence,
                        refund_due_pence: a.refund_due_pence,
                    })
                    .collect(),
                refunds: refunds
                    .into_iter()
                    .map(|r| Refund {
                        provider_refund_id: r.provider_refund_id,
                        amount_pence: r.amount_pence,
                        refund_date: r.refund_date,
                        reason: r.reason,
                        notice_number: r.notice_number,
                    })
                    .collect(),
                created_at: self.created_at,
            },
            self.request_fingerprint,
        ))
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct AllocationRow {
    notice_number: String,
    amount_pence: i64,
    applied_pence: i64,
    refund_due_pence: i64,
}

#[derive(sqlx::FromRow)]
pub(super) struct RefundRow {
    provider_refund_id: String,
    amount_pence: i64,
    refund_date: NaiveDate,
    reason: String,
    notice_number: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(super) struct AllocationFactRow {
    payment_id: String,
    amount_pence: i64,
    paid_date: NaiveDate,
    received_at: DateTime<Utc>,
}

impl From<AllocationFactRow> for AllocationFact {
    fn from(r: AllocationFactRow) -> Self {
        AllocationFact {
            payment_id: r.payment_id,
            amount_pence: r.amount_pence,
            paid_date: r.paid_date,
            received_at: r.received_at,
        }
    }
}

/// Payments and what they pay.
#[async_trait]
pub trait PaymentStore: Send {
    /// The payment a provider's payment id was recorded as, with its request fingerprint.
    async fn find_payment_by_provider_id(
        &mut self,
        authority: &LaCode,
        provider_payment_id: &str,
    ) -> StoreResult<Option<(Payment, String)>>;

    /// One payment, locked against concurrent change until the transaction ends.
    async fn payment_for_update(
        &mut self,
        authority: &LaCode,
        payment_id: &str,
    ) -> StoreResult<Option<Payment>>;

    /// A payment inserted earlier in this unit, with its allocations. No other
    /// unit sees it before this one commits, so there is nothing to lock
    /// against and no refund of it can exist: two round trips fewer than
    /// [`Self::payment_for_update`].
    async fn payment_inserted(
        &mut self,
        authority: &LaCode,
        payment_id: &str,
    ) -> StoreResult<Option<Payment>>;

    /// Inserts a payment (without allocations); `Duplicate` if its provider id is known.
    async fn insert_payment(
        &mut self,
        authority: &LaCode,
        payment: &Payment,
        fingerprint: &str,
    ) -> StoreResult<()>;

    /// Replaces a payment's allocations with `(notice number, pence)` pairs
    /// (`had_any`: whether it has any now; when it has none there is nothing
    /// to delete, and no statement is sent for it). The notices' money must
    /// then be settled with `apply_notice_money`.
    async fn set_allocations(
        &mut self,
        authority: &LaCode,
        payment_id: &str,
        had_any: bool,
        allocations: &[(String, i64)],
    ) -> StoreResult<()>;

    /// Every allocation to a notice, with its payment's dates.
    async fn notice_allocations(
        &mut self,
        authority: &LaCode,
        notice_number: &str,
    ) -> StoreResult<Vec<AllocationFact>>;

    /// Stores what the rules made of a notice's money; the notice's settlement
    /// is written only when `settlement_changed` (from what the unit read of
    /// the notice under its lock), as writing the same values back is a round
    /// trip for nothing.
    async fn apply_notice_money(
        &mut self,
        authority: &LaCode,
        notice_number: &str,
        money: &NoticeMoney,
        settlement_changed: bool,
    ) -> StoreResult<()>;

    /// The request fingerprint of a refund already recorded.
    async fn refund_fingerprint(
        &mut self,
        authority: &LaCode,
        payment_id: &str,
        provider_refund_id: &str,
    ) -> StoreResult<Option<String>>;

    /// Inserts a refund; `Duplicate` if its provider id is known for the payment.
    async fn insert_refund(
        &mut self,
        authority: &LaCode,
        payment_id: &str,
        refund: &Refund,
        fingerprint: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Payments matching `filter`, by paid date then id, after the cursor.
    async fn list_payments(
        &mut self,
        authority: &LaCode,
        filter: &PaymentFilter<'_>,
        after: Option<(NaiveDate, String)>,
        limit: i64,
    ) -> StoreResult<Vec<Payment>>;

    /// Payments with money in suspense: `Payment::refundable_for(None)` above
    /// 0, the amount less what is allocated to notices and what was refunded
    /// out of the unallocated money (checked against the domain in
    /// tests/api/store_rules.rs). Oldest received first.
    async fn payments_in_suspense(&mut self, authority: &LaCode) -> StoreResult<Vec<Payment>>;
}

sql_impl! {
    impl PaymentStore for Tx {
        async fn find_payment_by_provider_id(
            &mut self,
            authority: &LaCode,
            provider_payment_id: &str,
        ) -> StoreResult<Option<(Payment, String)>> {
            let row: Option<PaymentRow> = sqlx::query_as(concat!(
                payment_select!(),
                " WHERE p.authority_code = $1 AND p.provider_payment_id = $2"
            ))
            .bind(authority.as_str())
            .bind(provider_payment_id)
            .fetch_optional(&mut *self.conn)
            .await?;
            match row {
                None => Ok(None),
                Some(row) => self.payment_parts(authority, row).await.map(Some),
            }
        }

        async fn payment_for_update(
            &mut self,
            authority: &LaCode,
            payment_id: &str,
        ) -> StoreResult<Option<Payment>> {
            if let Some(sql) = DB::LOCK_PAYMENT {
                sqlx::query(sql)
                    .bind(format!("payments/{authority}/{payment_id}"))
                    .execute(&mut *self.conn)
                    .await?;
            }
            // A statement of its own after the lock, so it reads what the unit
            // that held the lock committed.
            let row: Option<PaymentRow> = sqlx::query_as(concat!(
                payment_select!(),
                " WHERE p.authority_code = $1 AND p.payment_id = $2"
            ))
            .bind(authority.as_str())
            .bind(payment_id)
            .fetch_optional(&mut *self.conn)
            .await?;
            match row {
                None => Ok(None),
                Some(row) => Ok(Some(self.payment_parts(authority, row).await?.0)),
            }
        }

        async fn payment_inserted(
            &mut self,
            authority: &LaCode,
            payment_id: &str,
        ) -> StoreResult<Option<Payment>> {
            let row: Option<PaymentRow> = sqlx::query_as(concat!(
                payment_select!(),
                " WHERE p.authority_code = $1 AND p.payment_id = $2"
            ))
            .bind(authority.as_str())
            .bind(payment_id)
            .fetch_optional(&mut *self.conn)
            .await?;
            match row {
                None => Ok(None),
                Some(row) => {
                    let allocations = self.payment_allocations(authority, row.payment_id()).await?;
                    Ok(Some(row.into_payment(allocations, Vec::new())?.0))
                }
            }
        }

        async fn insert_payment(
            &mut self,
            authority: &LaCode,
            p: &Payment,
            fingerprint: &str,
        ) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO payments (authority_code, payment_id, amount_pence, paid_date, received_at, \
                 channel, provider, provider_payment_id, payer_reference, payer_name, request_fingerprint, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(authority.as_str())
            .bind(&p.payment_id)
            .bind(p.amount_pence)
            .bind(p.paid_date)
            .bind(p.received_at)
            .bind(p.channel.as_str())
            .bind(&p.provider)
            .bind(&p.provider_payment_id)
            .bind(&p.payer_reference)
            .bind(&p.payer_name)
            .bind(fingerprint)
            .bind(p.created_at)
            .execute(&mut *self.conn)
            .await
            .map_err(duplicate_as(|| format!("payment with provider payment id {}", p.provider_payment_id)))?;
            Ok(())
        }

        async fn set_allocations(
            &mut self,
            authority: &LaCode,
            payment_id: &str,
            had_any: bool,
            allocations: &[(String, i64)],
        ) -> StoreResult<()> {
            if had_any {
                sqlx::query("DELETE FROM allocations WHERE authority_code = $1 AND payment_id = $2")
                    .bind(authority.as_str())
                    .bind(payment_id)
                    .execute(&mut *self.conn)
                    .await?;
            }
            for (notice_number, amount) in allocations {
                // Nothing counts until the notice's money is settled in this transaction.
                sqlx::query(
                    "INSERT INTO allocations (authority_code, payment_id, notice_number, amount_pence, \
                     applied_pence, refund_due_pence) VALUES ($1, $2, $3, $4, 0, $4)",
                )
                .bind(authority.as_str())
                .bind(payment_id)
                .bind(notice_number)
                .bind(amount)
                .execute(&mut *self.conn)
                .await?;
            }
            Ok(())
        }

        async fn notice_allocations(
            &mut self,
            authority: &LaCode,
            notice_number: &str,
        ) -> StoreResult<Vec<AllocationFact>> {
            // Each payment by its primary key, in subqueries: as a join, a plan
            // cached while `payments` was small (a prepared statement's generic plan,
            // or statistics from before a load) hashes the whole table on every call,
            // so RecordPayment slowed as payments grew, by as much as the plan
            // happened to be. Lookups by key cost the same whatever the statistics.
            let rows: Vec<AllocationFactRow> = sqlx::query_as(
                "SELECT a.payment_id, a.amount_pence, \
                 (SELECT p.paid_date FROM payments p \
                  WHERE p.authority_code = a.authority_code AND p.payment_id = a.payment_id) AS paid_date, \
                 (SELECT p.received_at FROM payments p \
                  WHERE p.authority_code = a.authority_code AND p.payment_id = a.payment_id) AS received_at \
                 FROM allocations a \
                 WHERE a.authority_code = $1 AND a.notice_number = $2 ORDER BY a.payment_id",
            )
            .bind(authority.as_str())
            .bind(notice_number)
            .fetch_all(&mut *self.conn)
            .await?;
            Ok(rows.into_iter().map(AllocationFact::from).collect())
        }

        async fn apply_notice_money(
            &mut self,
            authority: &LaCode,
            notice_number: &str,
            money: &NoticeMoney,
            settlement_changed: bool,
        ) -> StoreResult<()> {
            // Only allocations whose figures changed are written. A new payment
            // usually changes its own allocation alone; rewriting every allocation
            // made each payment to a notice cost one statement per earlier payment
            // to it, so RecordPayment slowed as notices were paid in instalments.
            let stored: Vec<(String, i64, i64)> = sqlx::query_as(
                "SELECT payment_id, applied_pence, refund_due_pence FROM allocations \
                 WHERE authority_code = $1 AND notice_number = $2",
            )
            .bind(authority.as_str())
            .bind(notice_number)
            .fetch_all(&mut *self.conn)
            .await?;
            let stored: std::collections::HashMap<&str, (i64, i64)> = stored
                .iter()
                .map(|(id, applied, refund)| (id.as_str(), (*applied, *refund)))
                .collect();
            for a in &money.allocations {
                if stored.get(a.payment_id.as_str()) == Some(&(a.applied_pence, a.refund_due_pence)) {
                    continue;
                }
                sqlx::query(
                    "UPDATE allocations SET applied_pence = $4, refund_due_pence = $5 \
                     WHERE authority_code = $1 AND payment_id = $2 AND notice_number = $3",
                )
                .bind(authority.as_str())
                .bind(&a.payment_id)
                .bind(notice_number)
                .bind(a.applied_pence)
                .bind(a.refund_due_pence)
                .execute(&mut *self.conn)
                .await?;
            }
            if settlement_changed {
                sqlx::query("UPDATE notices SET paid_rate = $3, paid_date = $4 WHERE authority_code = $1 AND notice_number = $2")
                    .bind(authority.as_str())
                    .bind(notice_number)
                    .bind(money.settlement.as_ref().map(|s| s.rate.as_str()))
                    .bind(money.settlement.as_ref().map(|s| s.date))
                    .execute(&mut *self.conn)
                    .await?;
            }
            Ok(())
        }

        async fn refund_fingerprint(
            &mut self,
            authority: &LaCode,
            payment_id: &str,
            provider_refund_id: &str,
        ) -> StoreResult<Option<String>> {
            Ok(sqlx::query_scalar(
                "SELECT request_fingerprint FROM refunds \
                 WHERE authority_code = $1 AND payment_id = $2 AND provider_refund_id = $3",
            )
            .bind(authority.as_str())
            .bind(payment_id)
            .bind(provider_refund_id)
            .fetch_optional(&mut *self.conn)
            .await?)
        }

        async fn insert_refund(
            &mut self,
            authority: &LaCode,
            payment_id: &str,
            r: &Refund,
            fingerprint: &str,
            at: DateTime<Utc>,
        ) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO refunds (authority_code, payment_id, provider_refund_id, amount_pence, refund_date, \
                 reason, notice_number, request_fingerprint, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(authority.as_str())
            .bind(payment_id)
            .bind(&r.provider_refund_id)
            .bind(r.amount_pence)
            .bind(r.refund_date)
            .bind(&r.reason)
            .bind(r.notice_number.as_deref())
            .bind(fingerprint)
            .bind(at)
            .execute(&mut *self.conn)
            .await
            .map_err(duplicate_as(|| format!("refund {}", r.provider_refund_id)))?;
            Ok(())
        }

        async fn list_payments(
            &mut self,
            authority: &LaCode,
            f: &PaymentFilter<'_>,
            after: Option<(NaiveDate, String)>,
            limit: i64,
        ) -> StoreResult<Vec<Payment>> {
            let (after_date, after_id) = after.unzip();
            // "Unallocated" is `Payment::unallocated_pence`: the amount less what is
            // allocated to notices. Refunds of unallocated money do not change it
            // (checked against the domain in tests/api/store_rules.rs).
            let rows: Vec<PaymentRow> = sqlx::query_as(concat!(
                payment_select!(),
                " WHERE p.authority_code = $1 \
                  AND ($2 IS NULL OR EXISTS (SELECT 1 FROM allocations a WHERE a.authority_code = p.authority_code \
                       AND a.payment_id = p.payment_id AND a.notice_number = $2)) \
                  AND (NOT $3 OR p.amount_pence \
                       - (SELECT COALESCE(SUM(a.amount_pence), 0) FROM allocations a \
                          WHERE a.authority_code = p.authority_code AND a.payment_id = p.payment_id) > 0) \
                  AND ($4 IS NULL OR p.paid_date >= $4) \
                  AND ($5 IS NULL OR p.paid_date <= $5) \
                  AND ($6 IS NULL OR p.paid_date > $6 OR (p.paid_date = $6 AND p.payment_id > $7)) \
                ORDER BY p.paid_date, p.payment_id LIMIT $8"
            ))
            .bind(authority.as_str())
            .bind(f.notice_number)
            .bind(f.unallocated_only)
            .bind(f.paid_from)
            .bind(f.paid_to)
            .bind(after_date)
            .bind(after_id)
            .bind(limit)
            .fetch_all(&mut *self.conn)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(self.payment_parts(authority, row).await?.0);
            }
            Ok(out)
        }

        async fn payments_in_suspense(&mut self, authority: &LaCode) -> StoreResult<Vec<Payment>> {
            let rows: Vec<PaymentRow> = sqlx::query_as(concat!(
                payment_select!(),
                " WHERE p.authority_code = $1 \
                  AND p.amount_pence \
                      - (SELECT COALESCE(SUM(a.amount_pence), 0) FROM allocations a \
                         WHERE a.authority_code = p.authority_code AND a.payment_id = p.payment_id) \
                      - (SELECT COALESCE(SUM(r.amount_pence), 0) FROM refunds r \
                         WHERE r.authority_code = p.authority_code AND r.payment_id = p.payment_id \
                           AND r.notice_number IS NULL) > 0 \
                ORDER BY p.received_at, p.payment_id"
            ))
            .bind(authority.as_str())
            .fetch_all(&mut *self.conn)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(self.payment_parts(authority, row).await?.0);
            }
            Ok(out)
        }
    }
}

sql_impl! {
    impl Tx {
        /// A payment row completed with its allocations and refunds, and its fingerprint.
        async fn payment_parts(
            &mut self,
            authority: &LaCode,
            row: PaymentRow,
        ) -> StoreResult<(Payment, String)> {
            let allocations = self.payment_allocations(authority, row.payment_id()).await?;
            let refunds: Vec<RefundRow> = sqlx::query_as(
                "SELECT provider_refund_id, amount_pence, refund_date, reason, notice_number FROM refunds \
                 WHERE authority_code = $1 AND payment_id = $2 ORDER BY created_at, provider_refund_id",
            )
            .bind(authority.as_str())
            .bind(row.payment_id())
            .fetch_all(&mut *self.conn)
            .await?;
            row.into_payment(allocations, refunds)
        }

        /// A payment's allocations, by notice number.
        async fn payment_allocations(
            &mut self,
            authority: &LaCode,
            payment_id: &str,
        ) -> StoreResult<Vec<AllocationRow>> {
            Ok(sqlx::query_as(
                "SELECT notice_number, amount_pence, applied_pence, refund_due_pence FROM allocations \
                 WHERE authority_code = $1 AND payment_id = $2 ORDER BY notice_number",
            )
            .bind(authority.as_str())
            .bind(payment_id)
            .fetch_all(&mut *self.conn)
            .await?)
        }
    }
}
