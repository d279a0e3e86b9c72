//! The officer's worklist: what needs a person now. Each item names what to act
//! on, the rule it rests on (a regulation or the local code's clause) and the
//! day it is due, worked out here from the facts, the policy in force and
//! "today", which is always a parameter. Which roles see which items is here
//! too, as one exhaustive match ([`scope`]).
//!
//! The statutory dates come from the functions that set them elsewhere: a
//! notice's deadlines are its [`Charges`](super::notice::Charges) (from
//! `issuing::charges` at issue), its status is [`Notice::status`], money is
//! [`MoneyOnNotice`](super::notice::MoneyOnNotice) and
//! [`Payment::refundable_for`], a school's request deadline is
//! [`penalty_notice_request::deadline_date`](super::penalty_notice_request::deadline_date).

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::actor::Role;
use super::attendance::Breach;
use super::calendar::london_date;
use super::identifiers::{LaCode, Urn};
use super::names;
use super::notice::{Notice, NoticeKind, NoticeStatus};
use super::payment::Payment;
use super::penalty_notice_request::PenaltyNoticeRequest;
use super::policy::Threshold;

/// The regulations every statutory rule below comes from.
pub const REGULATIONS_2007: &str = "Education (Penalty Notices) (England) Regulations 2007";

/// What kind of thing needs doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActionKind {
    /// A pupil at the threshold whose breach no one has decided yet.
    BreachPendingDecision,
    /// A school's request for a penalty notice awaiting an officer.
    PenaltyNoticeRequestPending,
    /// A live penalty notice whose lower period ends within the policy's days.
    LowerRateEnding,
    /// A penalty notice unpaid at the end of its period: prosecute or withdraw.
    UnpaidAfterPeriod,
    /// Money held on a notice already referred to prosecution (a prosecution
    /// outcome recorded): review the prosecution.
    PaymentAfterProsecution,
    /// A payment none of which is matched to a notice (in suspense).
    PaymentUnallocated,
    /// A payment partly matched, the rest still in suspense.
    PaymentPartMatched,
    /// Money on a notice that is due back and not yet refunded.
    RefundDue,
    /// A live notice whose register evidence was corrected after issue.
    EvidenceCorrected,
    /// A prosecution case stopped by money received on its notice after
    /// referral: an officer decides whether it proceeds.
    ProsecutionBlockedByPayment,
}

super::all_variants!(ActionKind {
    BreachPendingDecision,
    PenaltyNoticeRequestPending,
    LowerRateEnding,
    UnpaidAfterPeriod,
    PaymentAfterProsecution,
    PaymentUnallocated,
    PaymentPartMatched,
    RefundDue,
    EvidenceCorrected,
    ProsecutionBlockedByPayment,
});

string_names!(ActionKind {
    BreachPendingDecision => "breach_pending_decision",
    PenaltyNoticeRequestPending => "penalty_notice_request_pending",
    LowerRateEnding => "lower_rate_ending",
    UnpaidAfterPeriod => "unpaid_after_period",
    PaymentAfterProsecution => "payment_after_prosecution",
    PaymentUnallocated => "payment_unallocated",
    PaymentPartMatched => "payment_part_matched",
    RefundDue => "refund_due",
    EvidenceCorrected => "evidence_corrected",
    ProsecutionBlockedByPayment => "prosecution_blocked_by_payment",
});

/// Which items of a kind a role sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every item of the authority.
    Every,
    /// Items of the caller's own schools only.
    OwnSchools,
    /// None: asking for the kind is refused.
    Nothing,
}

/// Who sees what: officers (and auditors, who read everything) every item;
/// school staff their own schools' cases (breaches, their requests, corrected
/// registers); finance the money. Every role and kind is written out, so a new
/// one fails to compile until it is placed.
pub fn scope(role: Role, kind: ActionKind) -> Scope {
    use ActionKind::*;
    match (role, kind) {
        (Role::LaOfficer | Role::Auditor, _) => Scope::Every,
        (
            Role::SchoolStaff,
            BreachPendingDecision | PenaltyNoticeRequestPending | EvidenceCorrected,
        ) => Scope::OwnSchools,
        (
            Role::SchoolStaff,
            LowerRateEnding
            | UnpaidAfterPeriod
            | PaymentAfterProsecution
            | PaymentUnallocated
            | PaymentPartMatched
            | RefundDue
            | ProsecutionBlockedByPayment,
        ) => Scope::Nothing,
        (
            Role::Finance,
            PaymentAfterProsecution | PaymentUnallocated | PaymentPartMatched | RefundDue,
        ) => Scope::Every,
        (
            Role::Finance,
            BreachPendingDecision
            | PenaltyNoticeRequestPending
            | LowerRateEnding
            | UnpaidAfterPeriod
            | EvidenceCorrected
            | ProsecutionBlockedByPayment,
        ) => Scope::Nothing,
        (Role::Police | Role::Admin | Role::DataProtectionOfficer, _) => Scope::Nothing,
    }
}

/// Whether a role sees any item at all (who may call for the worklist).
pub fn sees_any(role: Role) -> bool {
    ActionKind::ALL
        .into_iter()
        .any(|k| scope(role, k) != Scope::Nothing)
}

/// What an item is about, and what the client acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionSubject {
    /// A pending breach, which has no name until decided: the pupil and the
    /// date it was found on (what RecordBreachDecision and IssuePenaltyNotice take).
    Breach { upn: String, as_of: NaiveDate },
    /// A school's request, by number.
    Request(i64),
    /// A notice, by number.
    Notice(String),
    /// A payment, by id.
    Payment(String),
    /// A case of the other measures, by number.
    Case(i64),
}

impl ActionSubject {
    /// Orders the items of one kind due on one day.
    fn key(&self) -> String {
        match self {
            ActionSubject::Breach { upn, .. } => upn.clone(),
            // Zero-padded, so numbers order as text does.
            ActionSubject::Request(n) => format!("{n:019}"),
            ActionSubject::Notice(number) => number.clone(),
            ActionSubject::Payment(id) => id.clone(),
            ActionSubject::Case(n) => format!("{n:019}"),
        }
    }

    /// The resource to act on; `None` for a pending breach.
    pub fn resource(&self, la: &LaCode) -> Option<String> {
        match self {
            ActionSubject::Breach { .. } => None,
            ActionSubject::Request(n) => Some(names::penalty_notice_request_name(la, *n)),
            ActionSubject::Notice(number) => Some(names::notice_name(la, number)),
            ActionSubject::Payment(id) => Some(names::payment_name(la, id)),
            ActionSubject::Case(n) => Some(names::case_name(la, *n)),
        }
    }
}

/// The rule an item rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// A penalty notice must be considered at the threshold: the national
    /// framework's, or the local code's where it sets its own.
    Threshold {
        sessions: i32,
        window_school_weeks: i32,
        local: bool,
    },
    /// The local code's deadline for schools' requests, in school days from
    /// the pupil's return (day 1).
    RequestDeadline { school_days: i32 },
    /// The local code sets no deadline for requests.
    NoRequestDeadline,
    /// The lower amount is due within its period (reg. 4), and the local code
    /// puts the notice on the worklist this many days before it ends.
    LowerPeriod { days: i64, warning_days: i32 },
    /// Unpaid at the end of the period: prosecute or withdraw (regs. 7 and 9).
    PeriodEnded { days: i64 },
    /// Payment discharges liability for the offence (s444A).
    PaymentDischargesLiability,
    /// Every payment is recorded against its notice (reg. 20).
    PaymentRecorded,
    /// Money paid on a withdrawn notice is repaid (reg. 8).
    RefundOnWithdrawal,
    /// Money that does not count towards the penalty (late, more than due, a
    /// refused part payment) is due back to the payer.
    RefundNotDue,
    /// A notice resting on registers since corrected may have to be withdrawn
    /// (reg. 8: ought not to have been issued, or has material errors).
    EvidenceCorrected,
}

impl Rule {
    /// The rule as an officer reads it, citing its source.
    pub fn citation(&self) -> String {
        let regs = REGULATIONS_2007;
        match self {
            Rule::Threshold {
                sessions,
                window_school_weeks,
                local: false,
            } => format!(
                "Working together to improve school attendance (DfE, statutory from 19 August 2024): \
                 a penalty notice must be considered at {sessions} sessions of unauthorised absence \
                 within {window_school_weeks} school weeks"
            ),
            Rule::Threshold {
                sessions,
                window_school_weeks,
                local: true,
            } => format!(
                "local code of conduct (regs. 14-18 {regs}): a penalty notice is considered at \
                 {sessions} qualifying sessions within {window_school_weeks} school weeks"
            ),
            Rule::RequestDeadline { school_days } => format!(
                "local code of conduct (regs. 14-18 {regs}): a school requests a penalty notice \
                 within {school_days} school days of the pupil's return"
            ),
            Rule::NoRequestDeadline => format!(
                "local code of conduct (regs. 14-18 {regs}): no deadline for schools' requests"
            ),
            Rule::LowerPeriod { days, warning_days } => format!(
                "reg. 4 {regs}: the lower amount is payable within {days} days beginning with the \
                 day of receipt; local code: listed {warning_days} days before the period ends"
            ),
            Rule::PeriodEnded { days } => format!(
                "regs. 7 and 9 {regs}: unpaid {days} days after receipt, the authority must \
                 prosecute (s444 Education Act 1996) or withdraw the notice"
            ),
            Rule::PaymentDischargesLiability => {
                "s444A Education Act 1996: payment of the penalty in \
                 accordance with the notice discharges liability for the offence; review the \
                 prosecution (LGO 19 016 403)"
                    .to_string()
            }
            Rule::PaymentRecorded => format!(
                "reg. 20 {regs}: a record of every payment made on a notice and its date; match \
                 the money to its notice (LGO 24 020 946)"
            ),
            Rule::RefundOnWithdrawal => {
                format!("reg. 8 {regs}: money paid on a withdrawn notice is repaid")
            }
            Rule::RefundNotDue => format!(
                "reg. 4 {regs} and the local code: money that does not count towards the penalty \
                 (late, more than due, or a part payment the code refuses) is repaid"
            ),
            Rule::EvidenceCorrected => format!(
                "reg. 8 {regs}: a notice that ought not to have been issued, or contains material \
                 errors, is withdrawn; a register mark it rests on was corrected after issue"
            ),
        }
    }
}

/// One item of the worklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub kind: ActionKind,
    pub subject: ActionSubject,
    /// The school it belongs to; `None` for money not tied to a school (a payment).
    pub school_urn: Option<String>,
    /// The day it is due by.
    pub due: NaiveDate,
    pub rule: Rule,
    /// The policy version whose numbers set the due date, where one does.
    pub policy_version: Option<String>,
    /// School days counted so far: since a breach reached the threshold; since
    /// a request's last session (what its deadline counts).
    pub school_days_elapsed: Option<i64>,
    /// The money concerned: still to pay at the rate ending, held on a
    /// prosecuted notice, in suspense, due back.
    pub amount_pence: Option<i64>,
}

impl Action {
    /// Where the item comes in the worklist: by due date, then kind, then
    /// what it is about. Unique, so a page token can resume after it.
    pub fn position(&self) -> (NaiveDate, String) {
        (
            self.due,
            format!("{}/{}", self.kind.as_str(), self.subject.key()),
        )
    }
}

/// Which items a listing asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorklistQuery {
    /// Only these kinds; empty for every kind the caller sees.
    pub kinds: Vec<ActionKind>,
    /// Only this school's items.
    pub school: Option<Urn>,
    /// Only items due on or before this day.
    pub due_by: Option<NaiveDate>,
}

impl WorklistQuery {
    /// The kinds to work out for `role`: those asked for (or every kind) that
    /// the role sees.
    pub fn kinds_for(&self, role: Role) -> Vec<ActionKind> {
        ActionKind::ALL
            .into_iter()
            .filter(|k| self.kinds.is_empty() || self.kinds.contains(k))
            .filter(|&k| scope(role, k) != Scope::Nothing)
            .collect()
    }

    /// Refuses a listing the caller may not make: a kind its role never sees, or
    /// (school staff) a school not its own.
    pub fn check(&self, role: Role, schools: &[Urn]) -> Result<(), String> {
        if let Some(kind) = self
            .kinds
            .iter()
            .find(|&&k| scope(role, k) == Scope::Nothing)
        {
            return Err(format!(
                "the {} role does not see {} items",
                role.as_str(),
                kind.as_str()
            ));
        }
        match &self.school {
            Some(urn) if !super::access::covers_school(role, schools, urn) => {
                Err(format!("school {urn} is not one of the caller's schools"))
            }
            _ => Ok(()),
        }
    }

    /// Whether `action` is one this listing returns to a caller in `role`
    /// with `schools`.
    pub fn keeps(&self, role: Role, schools: &[Urn], action: &Action) -> bool {
        let school = action.school_urn.as_deref();
        let visible = match scope(role, action.kind) {
            Scope::Every => true,
            Scope::OwnSchools => school.is_some_and(|s| schools.iter().any(|u| u.as_str() == s)),
            Scope::Nothing => false,
        };
        visible
            && (self.kinds.is_empty() || self.kinds.contains(&action.kind))
            && self
                .school
                .as_ref()
                .is_none_or(|u| school == Some(u.as_str()))
            && self.due_by.is_none_or(|d| action.due <= d)
    }
}

/// The items in worklist order, those after `after` only (a page's cursor).
pub fn in_order(mut actions: Vec<Action>, after: Option<&(NaiveDate, String)>) -> Vec<Action> {
    actions.sort_by_key(Action::position);
    actions.dedup_by_key(|a| a.position());
    match after {
        Some(cursor) => actions
            .into_iter()
            .filter(|a| a.position() > *cursor)
            .collect(),
        None => actions,
    }
}

/// The day a pending breach reached the threshold: the day of the qualifying
/// session that brought the sessions found (oldest first) to the threshold's
/// count. Every earlier session found was inside the window on that day too (a
/// window ending earlier starts no later), so the pupil was at the threshold
/// then; `None` for a breach short of it.
pub fn threshold_reached_on(breach: &Breach, threshold: &Threshold) -> Option<NaiveDate> {
    let n = usize::try_from(threshold.sessions).ok()?.max(1);
    breach.sessions.get(n - 1).map(|s| s.date)
}

/// A pupil's pending breach: due from the day it reached the threshold (a
/// notice must be considered then), with the school days it has waited since.
pub fn pending_breach(
    upn: &str,
    school_urn: &str,
    breach: &Breach,
    threshold: &Threshold,
    (policy_version, local): (&str, bool),
    school_days_since: i64,
    as_of: NaiveDate,
) -> Action {
    Action {
        kind: ActionKind::BreachPendingDecision,
        subject: ActionSubject::Breach {
            upn: upn.to_string(),
            as_of,
        },
        school_urn: Some(school_urn.to_string()),
        due: threshold_reached_on(breach, threshold).unwrap_or(as_of),
        rule: Rule::Threshold {
            sessions: threshold.sessions,
            window_school_weeks: threshold.window_school_weeks,
            local,
        },
        policy_version: Some(policy_version.to_string()),
        school_days_elapsed: Some(school_days_since),
        amount_pence: None,
    }
}

/// A school's pending request: due on the last day of the local deadline (see
/// `penalty_notice_request::deadline_date`), or the day it was made where the
/// code sets none or the deadline has not begun (no register shows the
/// pupil's return yet).
pub fn pending_request(
    r: &PenaltyNoticeRequest,
    deadline: Option<NaiveDate>,
    school_days_elapsed: i64,
    policy_version: &str,
) -> Action {
    Action {
        kind: ActionKind::PenaltyNoticeRequestPending,
        subject: ActionSubject::Request(r.number),
        school_urn: Some(r.draft.school_urn.clone()),
        due: deadline.unwrap_or_else(|| london_date(r.requested_at)),
        rule: if r.deadline_school_days > 0 {
            Rule::RequestDeadline {
                school_days: r.deadline_school_days,
            }
        } else {
            Rule::NoRequestDeadline
        },
        policy_version: Some(policy_version.to_string()),
        school_days_elapsed: Some(school_days_elapsed),
        amount_pence: None,
    }
}

/// A prosecution case stopped by money received after referral: due from the
/// day the money stopped it, resting on s444A (payment discharges liability).
pub fn blocked_prosecution(case: &super::measures::MeasureCase) -> Action {
    Action {
        kind: ActionKind::ProsecutionBlockedByPayment,
        subject: ActionSubject::Case(case.number),
        school_urn: Some(case.school_urn.clone()),
        due: case.facts.blocked_on.unwrap_or(case.opened_on),
        rule: Rule::PaymentDischargesLiability,
        policy_version: None,
        school_days_elapsed: None,
        amount_pence: case.facts.blocked_pence,
    }
}

/// Days of a period from the day of receipt to `last` inclusive.
fn period_days(receipt: NaiveDate, last: NaiveDate) -> i64 {
    (last - receipt).num_days() + 1
}

/// A notice's items on `today`. `received` are the days the money allocated to
/// it was received (London dates), which date the money items;
/// `warning_days` is the policy's [`lower_rate_warning_days`] in force today.
///
/// [`lower_rate_warning_days`]: super::policy::PolicyRules::lower_rate_warning_days
pub fn notice_actions(
    notice: &Notice,
    received: &[NaiveDate],
    warning_days: i32,
    today: NaiveDate,
) -> Vec<Action> {
    let status = notice.status(today);
    let item = |kind, due, rule, amount| Action {
        kind,
        subject: ActionSubject::Notice(notice.notice_number.clone()),
        school_urn: Some(notice.pupil.school_urn.to_string()),
        due,
        rule,
        policy_version: Some(notice.policy_version.clone()),
        school_days_elapsed: None,
        amount_pence: amount,
    };
    let money = &notice.money;
    let mut out = Vec::new();
    if let (NoticeKind::PenaltyNotice, Some(c)) = (notice.kind, &notice.charges) {
        if let Some(lower) = c.lower_deadline
            && status == NoticeStatus::Issued
            && today <= lower
            && today
                .checked_add_days(Days::new(u64::try_from(warning_days).unwrap_or(0)))
                .is_none_or(|until| lower <= until)
        {
            out.push(item(
                ActionKind::LowerRateEnding,
                lower,
                Rule::LowerPeriod {
                    days: period_days(notice.receipt_date, lower),
                    warning_days,
                },
                Some((c.lower_amount_pence - money.applied_pence).max(0)),
            ));
        }
        if status == NoticeStatus::Unpaid {
            out.push(item(
                ActionKind::UnpaidAfterPeriod,
                c.higher_deadline.succ_opt().unwrap_or(c.higher_deadline),
                Rule::PeriodEnded {
                    days: period_days(notice.receipt_date, c.higher_deadline),
                },
                None,
            ));
        }
    }
    let held = money.allocated_pence - money.refunded_pence;
    if notice.prosecution.is_some() && held > 0 {
        out.push(item(
            ActionKind::PaymentAfterProsecution,
            received.iter().min().copied().unwrap_or(today),
            Rule::PaymentDischargesLiability,
            Some(held),
        ));
    }
    let refund_outstanding = money.refund_due_pence() - money.refunded_pence;
    if refund_outstanding > 0 {
        let withdrawn = notice.withdrawal.as_ref().map(|w| w.date);
        let due = received
            .iter()
            .copied()
            .chain(withdrawn)
            .max()
            .unwrap_or(today);
        out.push(item(
            ActionKind::RefundDue,
            due,
            if withdrawn.is_some() {
                Rule::RefundOnWithdrawal
            } else {
                Rule::RefundNotDue
            },
            Some(refund_outstanding),
        ));
    }
    let open = matches!(
        status,
        NoticeStatus::Issued | NoticeStatus::Unpaid | NoticeStatus::ImprovementPeriodEnded
    );
    if open && let Some(first) = notice.evidence_corrections.iter().map(|c| c.at).min() {
        out.push(item(
            ActionKind::EvidenceCorrected,
            london_date(first),
            Rule::EvidenceCorrected,
            None,
        ));
    }
    out
}

/// A payment's item: money of it neither matched to a notice nor refunded,
/// due from the day it was received.
pub fn payment_action(p: &Payment) -> Option<Action> {
    let held = p.refundable_for(None);
    (held > 0).then(|| Action {
        kind: if p.allocations.is_empty() {
            ActionKind::PaymentUnallocated
        } else {
            ActionKind::PaymentPartMatched
        },
        subject: ActionSubject::Payment(p.payment_id.clone()),
        school_urn: None,
        due: received_on(p.received_at),
        rule: Rule::PaymentRecorded,
        policy_version: None,
        school_days_elapsed: None,
        amount_pence: Some(held),
    })
}

/// The day money received at `at` arrived, in England.
pub fn received_on(at: DateTime<Utc>) -> NaiveDate {
    london_date(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::evidence::EvidenceCorrection;
    use crate::domain::issuing::tests_support::penalty_notice;
    use crate::domain::notice::{
        ProsecutionOutcome, ProsecutionResult, Session, Settlement, Withdrawal, WithdrawalGround,
    };
    use crate::domain::payment::{Allocation, Channel, Refund};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn kinds(actions: &[Action]) -> Vec<ActionKind> {
        actions.iter().map(|a| a.kind).collect()
    }

    #[test]
    fn every_kind_has_a_name_and_every_seeing_role_may_call() {
        for kind in ActionKind::ALL {
            assert_eq!(ActionKind::parse(kind.as_str()), Some(kind));
        }
        for role in Role::ALL {
            assert_eq!(
                crate::domain::access::allowed(
                    role,
                    crate::domain::access::Operation::ReadWorklist
                ),
                sees_any(role),
                "{role:?}"
            );
        }
        assert!(!sees_any(Role::Police) && !sees_any(Role::Admin));
        // Finance sees exactly the money.
        let money: Vec<ActionKind> = ActionKind::ALL
            .into_iter()
            .filter(|&k| scope(Role::Finance, k) == Scope::Every)
            .collect();
        assert_eq!(
            money,
            [
                ActionKind::PaymentAfterProsecution,
                ActionKind::PaymentUnallocated,
                ActionKind::PaymentPartMatched,
                ActionKind::RefundDue
            ]
        );
    }

    #[test]
    fn a_notice_lists_its_lower_rate_ending_then_unpaid_after_its_period() {
        // Received 3 Feb 2025: lower period to 23 Feb (day 21), higher to 2 Mar.
        let n = penalty_notice(d(2025, 2, 3));
        let c = n.charges.clone().unwrap();
        assert_eq!(
            (c.lower_deadline, c.higher_deadline),
            (Some(d(2025, 2, 23)), d(2025, 3, 2))
        );
        assert!(
            notice_actions(&n, &[], 7, d(2025, 2, 15)).is_empty(),
            "8 days before"
        );
        let ending = notice_actions(&n, &[], 7, d(2025, 2, 16));
        assert_eq!(kinds(&ending), [ActionKind::LowerRateEnding]);
        assert_eq!(ending[0].due, d(2025, 2, 23));
        assert_eq!(ending[0].amount_pence, Some(c.lower_amount_pence));
        assert_eq!(
            ending[0].rule,
            Rule::LowerPeriod {
                days: 21,
                warning_days: 7
            }
        );
        assert!(
            ending[0]
                .rule
                .citation()
                .starts_with("reg. 4 Education (Penalty Notices)")
        );
        assert_eq!(
            kinds(&notice_actions(&n, &[], 7, d(2025, 2, 23))),
            [ActionKind::LowerRateEnding]
        );
        assert!(
            notice_actions(&n, &[], 7, d(2025, 2, 24)).is_empty(),
            "higher rate now"
        );
        assert!(
            notice_actions(&n, &[], 7, d(2025, 3, 2)).is_empty(),
            "the period's last day"
        );
        let unpaid = notice_actions(&n, &[], 7, d(2025, 3, 3));
        assert_eq!(kinds(&unpaid), [ActionKind::UnpaidAfterPeriod]);
        assert_eq!(unpaid[0].due, d(2025, 3, 3));
        assert_eq!(unpaid[0].rule, Rule::PeriodEnded { days: 28 });
        assert_eq!(
            kinds(&notice_actions(&n, &[], 7, d(2026, 1, 1))),
            [ActionKind::UnpaidAfterPeriod]
        );
        // A longer warning lists it sooner.
        assert_eq!(
            kinds(&notice_actions(&n, &[], 21, d(2025, 2, 3))),
            [ActionKind::LowerRateEnding]
        );
    }

    #[test]
    fn paid_withdrawn_or_prosecuted_notices_leave_the_date_items() {
        let mut paid = penalty_notice(d(2025, 2, 3));
        paid.settlement = Some(Settlement {
            rate: crate::domain::notice::PaidRate::Lower,
            date: d(2025, 2, 10),
        });
        let mut withdrawn = penalty_notice(d(2025, 2, 3));
        withdrawn.withdrawal = Some(Withdrawal {
            ground: WithdrawalGround::MaterialErrors,
            reason: String::new(),
            date: d(2025, 3, 5),
        });
        let mut prosecuted = penalty_notice(d(2025, 2, 3));
        prosecuted.prosecution = Some(ProsecutionOutcome {
            hearing_date: d(2025, 4, 1),
            court: "Winchester".into(),
            result: ProsecutionResult::Convicted,
            fine_pence: 0,
            costs_pence: 0,
        });
        for n in [&paid, &withdrawn, &prosecuted] {
            for day in [d(2025, 2, 20), d(2025, 3, 3), d(2025, 6, 1)] {
                assert!(notice_actions(n, &[], 7, day).is_empty(), "{day}");
            }
        }
    }

    #[test]
    fn money_on_a_prosecuted_notice_is_reviewed_until_refunded() {
        let mut n = penalty_notice(d(2025, 2, 3));
        n.prosecution = Some(ProsecutionOutcome {
            hearing_date: d(2025, 4, 1),
            court: "Winchester".into(),
            result: ProsecutionResult::Convicted,
            fine_pence: 0,
            costs_pence: 0,
        });
        // £160 paid on 20 April, after the period: none of it counts.
        n.money.allocated_pence = 16_000;
        let received = [d(2025, 4, 20)];
        let items = notice_actions(&n, &received, 7, d(2025, 4, 21));
        assert_eq!(
            kinds(&items),
            [ActionKind::PaymentAfterProsecution, ActionKind::RefundDue]
        );
        assert_eq!(items[0].due, d(2025, 4, 20));
        assert_eq!(items[0].amount_pence, Some(16_000));
        assert_eq!(items[1].rule, Rule::RefundNotDue);
        n.money.refunded_pence = 16_000;
        assert!(notice_actions(&n, &received, 7, d(2025, 4, 22)).is_empty());
    }

    #[test]
    fn a_refund_on_a_withdrawn_notice_is_due_from_the_withdrawal() {
        let mut n = penalty_notice(d(2025, 2, 3));
        n.money.allocated_pence = 8_000;
        n.withdrawal = Some(Withdrawal {
            ground: WithdrawalGround::IssuedToWrongPerson,
            reason: String::new(),
            date: d(2025, 2, 20),
        });
        let items = notice_actions(&n, &[d(2025, 2, 10)], 7, d(2025, 2, 21));
        assert_eq!(kinds(&items), [ActionKind::RefundDue]);
        assert_eq!(
            (items[0].due, items[0].amount_pence),
            (d(2025, 2, 20), Some(8_000))
        );
        assert_eq!(items[0].rule, Rule::RefundOnWithdrawal);
    }

    #[test]
    fn corrected_evidence_is_reviewed_while_the_notice_is_open() {
        let mut n = penalty_notice(d(2025, 2, 3));
        n.evidence_corrections = vec![EvidenceCorrection {
            date: d(2025, 1, 13),
            session: Session::Am,
            school_urn: "116439".into(),
            previous_code: "G".into(),
            new_code: "I".into(),
            at: d(2025, 2, 5).and_hms_opt(9, 0, 0).unwrap().and_utc(),
            request_id: "r".into(),
        }];
        let items = notice_actions(&n, &[], 7, d(2025, 2, 6));
        assert_eq!(kinds(&items), [ActionKind::EvidenceCorrected]);
        assert_eq!(items[0].due, d(2025, 2, 5));
        n.withdrawal = Some(Withdrawal {
            ground: WithdrawalGround::OughtNotToHaveBeenIssued,
            reason: String::new(),
            date: d(2025, 2, 6),
        });
        assert!(notice_actions(&n, &[], 7, d(2025, 2, 6)).is_empty());
    }

    fn payment(allocated: &[i64], refunded_unallocated: i64) -> Payment {
        Payment {
            payment_id: "850-PAY-000001".into(),
            amount_pence: 16_000,
            paid_date: d(2025, 2, 10),
            received_at: d(2025, 2, 10).and_hms_opt(23, 30, 0).unwrap().and_utc(),
            channel: Channel::Online,
            provider: "gov.uk pay".into(),
            provider_payment_id: "p1".into(),
            payer_reference: String::new(),
            payer_name: String::new(),
            allocations: allocated
                .iter()
                .map(|&a| Allocation {
                    notice_number: "850-2025-000001".into(),
                    amount_pence: a,
                    applied_pence: a,
                    refund_due_pence: 0,
                })
                .collect(),
            refunds: (refunded_unallocated > 0)
                .then(|| Refund {
                    provider_refund_id: "r1".into(),
                    amount_pence: refunded_unallocated,
                    refund_date: d(2025, 2, 12),
                    reason: String::new(),
                    notice_number: None,
                })
                .into_iter()
                .collect(),
            created_at: d(2025, 2, 11).and_hms_opt(9, 0, 0).unwrap().and_utc(),
        }
    }

    #[test]
    fn money_in_suspense_is_matched_or_refunded() {
        let suspense = payment_action(&payment(&[], 0)).unwrap();
        assert_eq!(suspense.kind, ActionKind::PaymentUnallocated);
        // Received at 23:30 UTC on 10 February: still the 10th in London (GMT).
        assert_eq!(
            (suspense.due, suspense.amount_pence),
            (d(2025, 2, 10), Some(16_000))
        );
        let part = payment_action(&payment(&[8_000], 0)).unwrap();
        assert_eq!(
            (part.kind, part.amount_pence),
            (ActionKind::PaymentPartMatched, Some(8_000))
        );
        assert_eq!(
            payment_action(&payment(&[8_000], 8_000)),
            None,
            "the rest refunded"
        );
        assert_eq!(payment_action(&payment(&[16_000], 0)), None, "all matched");
    }

    #[test]
    fn the_worklist_is_ordered_by_due_date_then_kind_then_subject_and_resumes_after_a_cursor() {
        let mut late = penalty_notice(d(2025, 2, 3));
        late.notice_number = "850-2025-000009".into();
        let early = penalty_notice(d(2025, 1, 6));
        let today = d(2025, 3, 4);
        let mut all: Vec<Action> = [&late, &early]
            .into_iter()
            .flat_map(|n| notice_actions(n, &[], 7, today))
            .collect();
        all.extend(payment_action(&payment(&[], 0)));
        let ordered = in_order(all, None);
        let due: Vec<NaiveDate> = ordered.iter().map(|a| a.due).collect();
        assert_eq!(due, [d(2025, 2, 3), d(2025, 2, 10), d(2025, 3, 3)]);
        let cursor = ordered[0].position();
        let rest = in_order(ordered.clone(), Some(&cursor));
        assert_eq!(rest, ordered[1..]);
    }

    #[test]
    fn school_staff_see_their_schools_cases_only_and_may_not_ask_for_money() {
        let own = Urn::parse("116439").unwrap();
        let other = Urn::parse("100000").unwrap();
        let n = penalty_notice(d(2025, 2, 3));
        let mut corrected = notice_actions(&n, &[], 7, d(2025, 2, 16));
        corrected[0].kind = ActionKind::EvidenceCorrected;
        let q = WorklistQuery::default();
        assert!(q.keeps(Role::SchoolStaff, std::slice::from_ref(&own), &corrected[0]));
        assert!(!q.keeps(
            Role::SchoolStaff,
            std::slice::from_ref(&other),
            &corrected[0]
        ));
        assert!(!q.keeps(Role::Finance, &[], &corrected[0]));
        assert!(q.keeps(Role::LaOfficer, &[], &corrected[0]));
        let money = WorklistQuery {
            kinds: vec![ActionKind::RefundDue],
            ..Default::default()
        };
        assert!(
            money
                .check(Role::SchoolStaff, std::slice::from_ref(&own))
                .is_err()
        );
        assert!(money.check(Role::Finance, &[]).is_ok());
        let elsewhere = WorklistQuery {
            school: Some(other.clone()),
            ..Default::default()
        };
        assert!(elsewhere.check(Role::SchoolStaff, &[own]).is_err());
        assert!(elsewhere.check(Role::LaOfficer, &[]).is_ok());
        assert_eq!(
            WorklistQuery::default().kinds_for(Role::Finance),
            [
                ActionKind::PaymentAfterProsecution,
                ActionKind::PaymentUnallocated,
                ActionKind::PaymentPartMatched,
                ActionKind::RefundDue
            ]
        );
    }
}
