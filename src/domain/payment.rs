//! Money on notices: how each pound allocated to a notice counts (applied) or
//! must go back to the payer (refund due), when a notice becomes paid and at
//! which rate, and what is due on a date.
//!
//! Invariants, for every notice: allocated = applied + refund due, and
//! refunded <= refund due; for every payment: amount = allocated + unallocated.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::notice::{Notice, NoticeKind, PaidRate, Settlement};

/// How a payment reached the authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Online,
    Phone,
    Post,
    InPerson,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Online => "online",
            Channel::Phone => "phone",
            Channel::Post => "post",
            Channel::InPerson => "in_person",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Channel::Online,
            Channel::Phone,
            Channel::Post,
            Channel::InPerson,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// Money from one payment allocated to one notice, as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationFact {
    pub payment_id: String,
    pub amount_pence: i64,
    /// The day the payer paid: it decides the rate and lateness.
    pub paid_date: NaiveDate,
    /// Breaks ties between payments made on one day.
    pub received_at: DateTime<Utc>,
}

/// What one allocation turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedAllocation {
    pub payment_id: String,
    pub applied_pence: i64,
    pub refund_due_pence: i64,
}

/// The outcome of all the money allocated to a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeMoney {
    /// In the order given to [`settle`].
    pub allocations: Vec<AppliedAllocation>,
    /// Set when the applied money paid the notice in full.
    pub settlement: Option<Settlement>,
}

/// The amount and rate due on `day` for a penalty notice nothing was applied to,
/// or `None` once the higher period has ended.
fn due_on(notice: &Notice, day: NaiveDate) -> Option<(i64, PaidRate, NaiveDate)> {
    let c = notice.charges.as_ref()?;
    if day > c.higher_deadline {
        return None;
    }
    match c.lower_deadline {
        Some(lower) if day <= lower => Some((c.lower_amount_pence, PaidRate::Lower, lower)),
        _ if notice.second_notice => Some((
            c.higher_amount_pence,
            PaidRate::SecondNoticeFlat,
            c.higher_deadline,
        )),
        _ => Some((c.higher_amount_pence, PaidRate::Higher, c.higher_deadline)),
    }
}

/// The most one payment, refund or allocation may be: £100,000. Every sum the
/// service keeps is of bounded amounts, so none can come near overflowing.
pub const MAX_PAYMENT_PENCE: i64 = 10_000_000;

/// Sums of stored amounts, which are bounded (see [`MAX_PAYMENT_PENCE`]); should
/// a hand-edited row hold more, the sum stops at the limit instead of wrapping.
fn sum_saturating(amounts: impl IntoIterator<Item = i64>) -> i64 {
    amounts.into_iter().fold(0, i64::saturating_add)
}

/// The sum of amounts of money, or `None` where it would overflow: a sum that
/// wraps would be a fabricated payment.
pub fn total_pence(amounts: impl IntoIterator<Item = i64>) -> Option<i64> {
    amounts.into_iter().try_fold(0i64, i64::checked_add)
}

/// Applies the money allocated to `notice`, in the order it was paid.
///
/// Money counts towards the notice only while it is a live penalty notice and the
/// payment date is within the higher period, and only up to what is due on that
/// date. Under a policy refusing part payments an allocation counts only if it
/// pays everything then outstanding; otherwise what is applied accumulates and a
/// short payment leaves the rest outstanding. Everything else is refund due: late
/// money, money above what is due, money on a withdrawn notice or a notice to
/// improve, and refused part payments.
pub fn settle(notice: &Notice, allocations: &[AllocationFact]) -> NoticeMoney {
    let mut order: Vec<usize> = (0..allocations.len()).collect();
    order.sort_by_key(|&i| {
        (
            allocations[i].paid_date,
            allocations[i].received_at,
            allocations[i].payment_id.clone(),
        )
    });

    let live = notice.kind == NoticeKind::PenaltyNotice && notice.withdrawal.is_none();
    let mut applied_total = 0;
    let mut settlement = None;
    let mut applied = vec![0; allocations.len()];
    for i in order {
        let a = &allocations[i];
        if !live || settlement.is_some() {
            continue;
        }
        let Some((due, rate, _)) = due_on(notice, a.paid_date) else {
            continue;
        };
        let outstanding = (due - applied_total).max(0);
        let counts = if notice.part_payments_accepted {
            a.amount_pence.min(outstanding)
        } else if a.amount_pence >= outstanding {
            outstanding
        } else {
            0
        };
        applied[i] = counts;
        applied_total += counts;
        if applied_total >= due {
            settlement = Some(Settlement {
                rate,
                date: a.paid_date,
            });
        }
    }
    NoticeMoney {
        allocations: allocations
            .iter()
            .zip(applied)
            .map(|(a, applied)| AppliedAllocation {
                payment_id: a.payment_id.clone(),
                applied_pence: applied,
                refund_due_pence: a.amount_pence - applied,
            })
            .collect(),
        settlement,
    }
}

/// What is due on a notice on a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountDue {
    Payable {
        amount_pence: i64,
        rate: PaidRate,
        due_by: NaiveDate,
    },
    NotPayable {
        reason: String,
    },
}

/// What must still be paid on `day` to settle `notice`, given `applied_pence`
/// already counted towards it.
pub fn amount_due(notice: &Notice, applied_pence: i64, day: NaiveDate) -> AmountDue {
    let not = |reason: &str| AmountDue::NotPayable {
        reason: reason.to_string(),
    };
    if notice.kind != NoticeKind::PenaltyNotice {
        return not("a notice to improve carries no penalty");
    }
    if notice.withdrawal.is_some() {
        return not("the notice was withdrawn");
    }
    if notice.settlement.is_some() {
        return not("the notice is paid");
    }
    if notice.prosecution.is_some() {
        return not("the notice went to prosecution");
    }
    match due_on(notice, day) {
        None => not("the higher period has ended: the authority must prosecute or withdraw"),
        Some((due, rate, due_by)) => AmountDue::Payable {
            amount_pence: (due - applied_pence).max(0),
            rate,
            due_by,
        },
    }
}

/// How a payment with no allocation given is matched to the notices its
/// reference quotes (those that exist): in the order quoted, each is given what
/// is due on it on the paid date until the money runs out; money left over (late,
/// short of nothing, or more than was due) goes to the first notice quoted, where
/// what does not count shows as refund due. A payment that arrives after the
/// period, or short, is still money received on the notice it names. Money
/// quoting no known notice is not matched here and stays unallocated.
pub fn allocate_by_reference(
    amount_pence: i64,
    quoted: &[(String, AmountDue)],
) -> Vec<(String, i64)> {
    let mut remaining = amount_pence;
    let mut out: Vec<(String, i64)> = Vec::new();
    for (number, due) in quoted {
        if let AmountDue::Payable { amount_pence, .. } = due {
            let take = remaining.min(*amount_pence);
            if take > 0 {
                out.push((number.clone(), take));
                remaining -= take;
            }
        }
    }
    if remaining > 0
        && let Some((first, _)) = quoted.first()
    {
        match out.iter_mut().find(|(n, _)| n == first) {
            Some((_, amount)) => *amount += remaining,
            None => out.insert(0, (first.clone(), remaining)),
        }
    }
    out
}

/// Notice numbers (`850-2026-000123`) quoted in a payer's free-text reference,
/// for authority `la`, in the order they appear, each once.
pub fn notice_numbers_in(reference: &str, la: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for token in reference.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
        let parts: Vec<&str> = token.split('-').collect();
        let is_number = parts.len() == 3
            && parts[0] == la
            && parts[1].len() == 4
            && parts[2].len() == 6
            && parts[1..]
                .iter()
                .all(|p| p.bytes().all(|b| b.is_ascii_digit()));
        if is_number && !found.iter().any(|f| f == token) {
            found.push(token.to_string());
        }
    }
    found
}

/// Money from a payment on one notice, with what the rules made of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allocation {
    pub notice_number: String,
    pub amount_pence: i64,
    pub applied_pence: i64,
    pub refund_due_pence: i64,
}

/// Money paid back against a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refund {
    pub provider_refund_id: String,
    pub amount_pence: i64,
    pub refund_date: NaiveDate,
    pub reason: String,
    /// The notice whose refund due it settles; `None` for unallocated money.
    pub notice_number: Option<String>,
}

/// A payment received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payment {
    pub payment_id: String,
    pub amount_pence: i64,
    pub paid_date: NaiveDate,
    pub received_at: DateTime<Utc>,
    pub channel: Channel,
    pub provider: String,
    pub provider_payment_id: String,
    pub payer_reference: String,
    pub payer_name: String,
    pub allocations: Vec<Allocation>,
    pub refunds: Vec<Refund>,
    pub created_at: DateTime<Utc>,
}

impl Payment {
    pub fn allocated_pence(&self) -> i64 {
        sum_saturating(self.allocations.iter().map(|a| a.amount_pence))
    }

    pub fn unallocated_pence(&self) -> i64 {
        self.amount_pence.saturating_sub(self.allocated_pence())
    }

    pub fn refunded_pence(&self) -> i64 {
        sum_saturating(self.refunds.iter().map(|r| r.amount_pence))
    }

    /// What may still be paid back against `notice` (or, for `None`, out of the
    /// unallocated money).
    pub fn refundable_for(&self, notice: Option<&str>) -> i64 {
        let due = match notice {
            None => self.unallocated_pence(),
            Some(n) => self
                .allocations
                .iter()
                .filter(|a| a.notice_number == n)
                .map(|a| a.refund_due_pence)
                .fold(0, i64::saturating_add),
        };
        let refunded = self
            .refunds
            .iter()
            .filter(|r| r.notice_number.as_deref() == notice)
            .map(|r| r.amount_pence);
        due.saturating_sub(sum_saturating(refunded))
    }

    /// Where refunds already paid back exceed what is now due back (`None`: the
    /// unallocated money), as after a reallocation that must then be refused.
    pub fn refunded_beyond_due(&self) -> Vec<Option<&str>> {
        self.refunds
            .iter()
            .map(|r| r.notice_number.as_deref())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|notice| self.refundable_for(*notice) < 0)
            .collect()
    }

    /// What may still be paid back in all.
    pub fn refundable_pence(&self) -> i64 {
        let due_back = self.allocations.iter().map(|a| a.refund_due_pence);
        sum_saturating(due_back)
            .saturating_add(self.unallocated_pence())
            .saturating_sub(self.refunded_pence())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::issuing::tests_support::penalty_notice;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn paid(id: &str, amount: i64, on: NaiveDate) -> AllocationFact {
        AllocationFact {
            payment_id: id.into(),
            amount_pence: amount,
            paid_date: on,
            received_at: DateTime::from_timestamp(1_738_000_000, 0).unwrap(),
        }
    }

    /// Received 2025-02-03: lower £80 to 2025-02-23 (day 21), higher £160 to 2025-03-02 (day 28).
    fn notice(part_payments: bool) -> Notice {
        let mut n = penalty_notice(d(2025, 2, 3));
        n.part_payments_accepted = part_payments;
        n
    }

    #[test]
    fn sums_of_money_that_would_wrap_are_refused() {
        assert_eq!(total_pence([100, 250]), Some(350));
        assert_eq!(total_pence([]), Some(0));
        assert_eq!(total_pence([100, i64::MAX]), None);
        assert_eq!(total_pence([i64::MIN, -1]), None);
    }

    #[test]
    fn a_reference_pays_the_quoted_notices_in_order_until_the_money_runs_out() {
        let due = |p: i64| AmountDue::Payable {
            amount_pence: p,
            rate: PaidRate::Lower,
            due_by: d(2025, 2, 23),
        };
        let not = AmountDue::NotPayable {
            reason: "paid".into(),
        };
        let quoted = [
            ("A".to_string(), due(8_000)),
            ("B".to_string(), not),
            ("C".to_string(), due(8_000)),
            ("D".to_string(), due(8_000)),
        ];
        assert_eq!(
            allocate_by_reference(12_000, &quoted),
            vec![("A".to_string(), 8_000), ("C".to_string(), 4_000)]
        );
        assert_eq!(
            allocate_by_reference(5_000, &quoted),
            vec![("A".to_string(), 5_000)]
        );
        // Late money still goes to the notice it quotes.
        assert_eq!(
            allocate_by_reference(5_000, &quoted[1..2]),
            vec![("B".to_string(), 5_000)]
        );
        // Money beyond everything due goes to the first notice quoted.
        assert_eq!(
            allocate_by_reference(30_000, &quoted),
            vec![
                ("A".to_string(), 14_000),
                ("C".to_string(), 8_000),
                ("D".to_string(), 8_000)
            ]
        );
        assert_eq!(
            allocate_by_reference(20_000, &quoted[1..3]),
            vec![("B".to_string(), 12_000), ("C".to_string(), 8_000)]
        );
        assert!(allocate_by_reference(5_000, &[]).is_empty());
    }

    #[test]
    fn lower_rate_on_day_21_not_22_and_higher_on_day_28_not_29() {
        let n = notice(false);
        let day21 = settle(&n, &[paid("a", 8_000, d(2025, 2, 23))]);
        assert_eq!(day21.settlement.map(|s| s.rate), Some(PaidRate::Lower));
        let day22 = settle(&n, &[paid("a", 8_000, d(2025, 2, 24))]);
        assert_eq!(
            (day22.settlement, day22.allocations[0].refund_due_pence),
            (None, 8_000)
        );
        let day28 = settle(&n, &[paid("a", 16_000, d(2025, 3, 2))]);
        assert_eq!(day28.settlement.map(|s| s.rate), Some(PaidRate::Higher));
        let day29 = settle(&n, &[paid("a", 16_000, d(2025, 3, 3))]);
        assert_eq!(
            (day29.settlement, day29.allocations[0].refund_due_pence),
            (None, 16_000)
        );
    }

    #[test]
    fn part_payments_count_only_where_the_policy_accepts_them() {
        let two = [
            paid("a", 5_000, d(2025, 2, 10)),
            paid("b", 3_000, d(2025, 2, 12)),
        ];
        let refused = settle(&notice(false), &two);
        assert_eq!(refused.settlement, None);
        assert!(refused.allocations.iter().all(|a| a.applied_pence == 0));
        let accepted = settle(&notice(true), &two);
        assert_eq!(
            accepted.settlement.map(|s| (s.rate, s.date)),
            Some((PaidRate::Lower, d(2025, 2, 12)))
        );
        assert_eq!(
            accepted
                .allocations
                .iter()
                .map(|a| a.applied_pence)
                .collect::<Vec<_>>(),
            [5_000, 3_000]
        );
    }

    #[test]
    fn overpayment_and_money_after_payment_are_refund_due() {
        let over = settle(
            &notice(false),
            &[
                paid("a", 10_000, d(2025, 2, 10)),
                paid("b", 8_000, d(2025, 2, 11)),
            ],
        );
        assert_eq!(over.allocations[0].applied_pence, 8_000);
        assert_eq!(over.allocations[0].refund_due_pence, 2_000);
        assert_eq!(over.allocations[1].refund_due_pence, 8_000);
    }

    #[test]
    fn everything_on_a_withdrawn_notice_is_refund_due() {
        let mut n = notice(true);
        n.withdrawal = Some(crate::domain::notice::Withdrawal {
            ground: crate::domain::notice::WithdrawalGround::MaterialErrors,
            reason: "x".into(),
            date: d(2025, 2, 20),
        });
        let m = settle(&n, &[paid("a", 8_000, d(2025, 2, 10))]);
        assert_eq!(
            (m.settlement, m.allocations[0].refund_due_pence),
            (None, 8_000)
        );
        assert!(matches!(
            amount_due(&n, 0, d(2025, 2, 10)),
            AmountDue::NotPayable { .. }
        ));
    }

    #[test]
    fn amount_due_by_date() {
        let n = notice(true);
        assert_eq!(
            amount_due(&n, 3_000, d(2025, 2, 23)),
            AmountDue::Payable {
                amount_pence: 5_000,
                rate: PaidRate::Lower,
                due_by: d(2025, 2, 23)
            }
        );
        assert_eq!(
            amount_due(&n, 3_000, d(2025, 2, 24)),
            AmountDue::Payable {
                amount_pence: 13_000,
                rate: PaidRate::Higher,
                due_by: d(2025, 3, 2)
            }
        );
        assert!(matches!(
            amount_due(&n, 0, d(2025, 3, 3)),
            AmountDue::NotPayable { .. }
        ));
    }

    #[test]
    fn notice_numbers_are_found_in_free_text() {
        assert_eq!(
            notice_numbers_in(
                "PN 850-2026-000123 & 850-2026-000124, ref 852-2026-000001 850-2026-000123",
                "850"
            ),
            ["850-2026-000123", "850-2026-000124"]
        );
        assert!(notice_numbers_in("850-26-000123 8502026000123", "850").is_empty());
    }
}
