//! Notices to improve and penalty notices: who may issue them, when they are
//! lawful, what they cost, when they fall due, and their status on a date.
//!
//! The functions here decide; the API loads the facts (policy in force, the
//! pupil's earlier notices) inside the issuing transaction and stores the result.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::attendance::Breach;
use super::evidence::{EvidenceCorrection, ReplacedMark, SessionEvidence};
use super::identifiers::{Upn, Urn};
use super::policy::{IssuerRole, OffenceReason};

use super::RuleViolation;
pub use super::policy::OffenceType;
pub use super::session::{Session, SessionMark};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    NoticeToImprove,
    PenaltyNotice,
}
string_names!(NoticeKind { NoticeToImprove => "notice_to_improve", PenaltyNotice => "penalty_notice" });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMethod {
    Hand,
    Post,
}
string_names!(DeliveryMethod { Hand => "hand", Post => "post" });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeStatus {
    Issued,
    Paid,
    Unpaid,
    Prosecuted,
    Withdrawn,
    ImprovementPeriodEnded,
}
string_names!(NoticeStatus {
    Issued => "issued",
    Paid => "paid",
    Unpaid => "unpaid",
    Prosecuted => "prosecuted",
    Withdrawn => "withdrawn",
    ImprovementPeriodEnded => "improvement_period_ended",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaidRate {
    Lower,
    Higher,
    SecondNoticeFlat,
}
string_names!(PaidRate { Lower => "lower", Higher => "higher", SecondNoticeFlat => "second_notice_flat" });

/// The statutory grounds for withdrawing a penalty notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalGround {
    OughtNotToHaveBeenIssued,
    IssuedToWrongPerson,
    MaterialErrors,
    OutsideCodeOfConduct,
}
string_names!(WithdrawalGround {
    OughtNotToHaveBeenIssued => "ought_not_to_have_been_issued",
    IssuedToWrongPerson => "issued_to_wrong_person",
    MaterialErrors => "material_errors",
    OutsideCodeOfConduct => "outside_code_of_conduct",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProsecutionResult {
    Convicted,
    Acquitted,
    Withdrawn,
}
string_names!(ProsecutionResult { Convicted => "convicted", Acquitted => "acquitted", Withdrawn => "withdrawn" });

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct Address {
    pub lines: Vec<String>,
    pub postcode: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pupil {
    #[serde(serialize_with = "as_display")]
    pub upn: Upn,
    #[serde(serialize_with = "as_display")]
    pub school_urn: Urn,
    pub given_name: String,
    pub family_name: String,
    pub address: Address,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parent {
    /// The caller's stable id for the person.
    pub person_id: String,
    pub given_name: String,
    pub family_name: String,
    pub address: Address,
    /// Why the person is liable as a parent: required on a penalty notice
    /// (none on notices issued before it was recorded).
    pub liability: Option<Liability>,
}

/// Who is a parent for the Education Act 1996 (s576): anyone with parental
/// responsibility for the child, or who has care of the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LiabilityBasis {
    ParentalResponsibility,
    CareOfChild,
}
string_names!(LiabilityBasis {
    ParentalResponsibility => "parental_responsibility",
    CareOfChild => "care_of_child",
});

/// A parent's liability as recorded at issue: the basis, and the relationship
/// to the child as given ("mother", "step-father").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Liability {
    pub basis: LiabilityBasis,
    pub relationship: String,
}

/// The most characters a relationship may have.
pub const MAX_RELATIONSHIP_CHARS: usize = 60;

impl Liability {
    /// The sentence a letter states it in.
    pub fn sentence(&self) -> String {
        let because = match self.basis {
            LiabilityBasis::ParentalResponsibility => {
                "you have parental responsibility for the child"
            }
            LiabilityBasis::CareOfChild => "you have care of the child",
        };
        format!(
            "You are liable as a parent (section 576 of the Education Act 1996) because {because} ({}).",
            self.relationship
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issuer {
    pub role: IssuerRole,
    pub display_name: String,
    pub official_details: String,
    /// The verified identity that issued it.
    pub subject: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Offence {
    pub offence_type: OffenceType,
    /// For s444 offences.
    pub reason: Option<OffenceReason>,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub method: DeliveryMethod,
    /// For delivery by post.
    pub posting_date: Option<NaiveDate>,
}

/// What a penalty notice costs and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Charges {
    /// 0 for a second notice (flat amount only).
    pub lower_amount_pence: i64,
    /// `None` for a second notice.
    pub lower_deadline: Option<NaiveDate>,
    pub higher_amount_pence: i64,
    pub higher_deadline: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImprovementPeriod {
    pub start_date: NaiveDate,
    pub school_weeks: i32,
    pub end_date: NaiveDate,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Withdrawal {
    pub ground: WithdrawalGround,
    pub reason: String,
    pub date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProsecutionOutcome {
    pub hearing_date: NaiveDate,
    pub court: String,
    pub result: ProsecutionResult,
    pub fine_pence: i64,
    pub costs_pence: i64,
}

/// Full payment of a penalty notice (recorded by payments).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settlement {
    pub rate: PaidRate,
    pub date: NaiveDate,
}

/// A notice to one parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub notice_number: String,
    pub kind: NoticeKind,
    pub pupil: Pupil,
    pub parent: Parent,
    /// Notices issued together to the pupil's other parents for the same offence.
    pub related_notices: Vec<String>,
    /// Penalty notices only.
    pub offence: Option<Offence>,
    pub sessions: Vec<SessionMark>,
    pub issue_date: NaiveDate,
    pub issuer: Issuer,
    pub delivery: Delivery,
    pub receipt_date: NaiveDate,
    /// The resource name of the policy version in force on the issue date.
    pub policy_version: String,
    pub second_notice: bool,
    /// Penalty notices only.
    pub charges: Option<Charges>,
    /// Notices to improve only.
    pub improvement_period: Option<ImprovementPeriod>,
    /// Whether a short payment counts (the policy's choice, fixed at issue).
    pub part_payments_accepted: bool,
    /// Full payment, derived from the money applied (see `payment::settle`).
    pub settlement: Option<Settlement>,
    pub withdrawal: Option<Withdrawal>,
    pub prosecution: Option<ProsecutionOutcome>,
    pub created_at: DateTime<Utc>,
    /// Sums over the payments allocated to it (0 on a new notice).
    pub money: MoneyOnNotice,
    /// Each claimed session and the mark held for it at issue.
    pub session_evidence: Vec<SessionEvidence>,
    /// Later changes of the marks it was matched to, oldest first.
    pub evidence_corrections: Vec<EvidenceCorrection>,
    /// Penalty notices to this parent for this child by the authorities this
    /// one shares with, as found at issue (counted, or doubtful).
    pub other_authority_notices: Vec<super::sharing::OtherAuthorityNotice>,
    /// The pupil's SEN status on the issue date, as the MIS has sent it (read
    /// from the pupil's history, not fixed at issue: a status the MIS sends
    /// later for an earlier date corrects it). Not part of the notice's own
    /// record, so not in its audit event.
    #[serde(skip)]
    pub sen_provision: Option<super::sen::SenProvision>,
}

/// Money on a notice, summed over its allocations and refunds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct MoneyOnNotice {
    pub allocated_pence: i64,
    pub applied_pence: i64,
    pub refunded_pence: i64,
}

impl MoneyOnNotice {
    pub fn refund_due_pence(&self) -> i64 {
        self.allocated_pence - self.applied_pence
    }
}

fn as_display<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

impl Notice {
    /// The status on `today`: the facts first (withdrawn, prosecuted, paid), then the
    /// date (a penalty notice unpaid after its higher deadline; a notice to improve
    /// whose period has ended). The store's status filter mirrors this order.
    pub fn status(&self, today: NaiveDate) -> NoticeStatus {
        if self.withdrawal.is_some() {
            return NoticeStatus::Withdrawn;
        }
        if self.prosecution.is_some() {
            return NoticeStatus::Prosecuted;
        }
        if self.settlement.is_some() {
            return NoticeStatus::Paid;
        }
        match (self.kind, &self.charges, &self.improvement_period) {
            (NoticeKind::PenaltyNotice, Some(c), _) if today > c.higher_deadline => {
                NoticeStatus::Unpaid
            }
            (NoticeKind::NoticeToImprove, _, Some(p)) if today > p.end_date => {
                NoticeStatus::ImprovementPeriodEnded
            }
            _ => NoticeStatus::Issued,
        }
    }

    /// Whether this notice still counts towards limits and evidence: withdrawn
    /// notices do not.
    pub fn counts(&self) -> bool {
        self.withdrawal.is_none()
    }

    /// Refuses a withdrawal the notice's state does not allow.
    pub fn check_withdrawal(&self, w: &Withdrawal) -> Result<(), RuleViolation> {
        let subject = &self.notice_number;
        if self.withdrawal.is_some() {
            return Err(RuleViolation::new(
                "NOTICE_ALREADY_WITHDRAWN",
                subject,
                "the notice is already withdrawn",
            ));
        }
        if self.prosecution.is_some() {
            return Err(RuleViolation::new(
                "NOTICE_PROSECUTED",
                subject,
                "a prosecution outcome is recorded; the notice can no longer be withdrawn",
            ));
        }
        if w.date < self.issue_date {
            return Err(RuleViolation::new(
                "WITHDRAWAL_BEFORE_ISSUE",
                subject,
                format!(
                    "withdrawal date {} is before the issue date {}",
                    w.date, self.issue_date
                ),
            ));
        }
        Ok(())
    }

    /// Refuses a prosecution outcome unless the notice went unpaid: the higher
    /// period ended without full payment and it was not withdrawn.
    pub fn check_prosecution(&self, p: &ProsecutionOutcome) -> Result<(), RuleViolation> {
        let subject = &self.notice_number;
        let Some(charges) = &self.charges else {
            return Err(RuleViolation::new(
                "NOT_A_PENALTY_NOTICE",
                subject,
                "only a penalty notice can lead to prosecution",
            ));
        };
        let refusal = match self.status(p.hearing_date) {
            NoticeStatus::Unpaid => return Ok(()),
            NoticeStatus::Withdrawn => ("NOTICE_WITHDRAWN", "the notice was withdrawn".to_string()),
            NoticeStatus::Prosecuted => (
                "NOTICE_ALREADY_PROSECUTED",
                "an outcome is already recorded".into(),
            ),
            NoticeStatus::Paid => (
                "NOTICE_PAID",
                "the notice was paid, which discharges liability".into(),
            ),
            _ => (
                "NOTICE_NOT_YET_UNPAID",
                format!(
                    "the higher period runs to {}; prosecution is possible only after it",
                    charges.higher_deadline
                ),
            ),
        };
        Err(RuleViolation::new(refusal.0, subject, refusal.1))
    }
}

/// Whether notices already cover a breach: `(notice to improve, penalty notice)`.
/// A notice covers it when it cites one of the breach's sessions; a notice to
/// improve also when its improvement period overlaps the window, since those
/// sessions are then already being dealt with. Withdrawn notices cover nothing.
pub fn breach_coverage(breach: &Breach, notices: &[Notice]) -> (bool, bool) {
    let cites = |n: &Notice| {
        n.sessions.iter().any(|s| {
            breach
                .sessions
                .iter()
                .any(|m| m.date == s.date && m.session == s.session)
        })
    };
    let window_end = breach.sessions.last().map_or(breach.last_week, |m| m.date);
    let mut cover = (false, false);
    for n in notices.iter().filter(|n| n.withdrawal.is_none()) {
        match n.kind {
            NoticeKind::NoticeToImprove => {
                let overlaps = n
                    .improvement_period
                    .as_ref()
                    .is_some_and(|p| p.start_date <= window_end && p.end_date >= breach.first_week);
                cover.0 |= overlaps || cites(n);
            }
            NoticeKind::PenaltyNotice => cover.1 |= cites(n),
        }
    }
    cover
}

/// The corrections `replaced` makes to the evidence of `notice`: changes of a
/// mark it was matched to at issue. A withdrawn notice is no longer evidence
/// of anything and records none.
pub fn corrections_of(
    notice: &Notice,
    replaced: &[ReplacedMark],
    at: DateTime<Utc>,
    request_id: &str,
) -> Vec<EvidenceCorrection> {
    if !notice.counts() {
        return vec![];
    }
    replaced
        .iter()
        .filter(|r| r.upn == notice.pupil.upn.as_str())
        .filter(|r| {
            notice.session_evidence.iter().any(|e| {
                e.date == r.date
                    && e.session == r.session
                    && e.held
                        .as_ref()
                        .is_some_and(|h| h.school_urn == r.school_urn)
            })
        })
        .map(|r| EvidenceCorrection {
            date: r.date,
            session: r.session,
            school_urn: r.school_urn.clone(),
            previous_code: r.previous_code.clone(),
            new_code: r.new_code.clone(),
            at,
            request_id: request_id.to_string(),
        })
        .collect()
}
