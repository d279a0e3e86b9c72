//! The other measures, after (or instead of) a notice, as cases with a
//! lifecycle: attendance contracts, education supervision orders, parenting
//! orders and prosecutions (docs/domain.md, "After the notice: the other
//! measures"; docs/measures.md). Each kind has its states and the events that
//! move a case between them; [`apply`] decides, from the case as it stands and
//! an event with its date, the case after it or the rule the event breaks.
//! Money received on the notice a prosecution follows stops the case
//! ([`block_for_payment`]) until an officer records a decision (Local
//! Government Ombudsman, Norfolk, 19 016 403).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::RuleViolation;
use super::actor::Actor;
use super::notice::{Notice, NoticeKind, NoticeStatus};

/// A kind of measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureKind {
    /// A voluntary written agreement (formerly a parenting contract).
    AttendanceContract,
    /// Children Act 1989 s36: applied for to the family court.
    EducationSupervisionOrder,
    /// Made by a court on conviction or on an application of its own.
    ParentingOrder,
    /// Education Act 1996 s444(1) or s444(1A).
    Prosecution,
}
super::all_variants!(MeasureKind {
    AttendanceContract,
    EducationSupervisionOrder,
    ParentingOrder,
    Prosecution
});
string_names!(MeasureKind {
    AttendanceContract => "attendance_contract",
    EducationSupervisionOrder => "education_supervision_order",
    ParentingOrder => "parenting_order",
    Prosecution => "prosecution",
});

/// Where a case stands. Which states a kind has is [`states_of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Attendance contract offered to the parents.
    Offered,
    /// Attendance contract accepted.
    Accepted,
    /// Attendance contract declined (final).
    Declined,
    /// Education supervision order applied for.
    Applied,
    /// Order made (education supervision or parenting order).
    Made,
    /// Education supervision order refused (final).
    Refused,
    /// Prosecution referred (laid) under s444(1) or s444(1A).
    Referred,
    /// Prosecution with a hearing listed at a court.
    HearingListed,
    /// Prosecution with a plea entered.
    Pleaded,
    /// Prosecution with its outcome recorded.
    OutcomeRecorded,
    /// Prosecution whose outcome is under appeal.
    AppealLodged,
    /// Prosecution whose appeal was decided (final).
    AppealDecided,
    /// Prosecution stopped: money was received on the notice after referral,
    /// awaiting an officer's decision.
    BlockedByPayment,
    /// Prosecution discontinued by an officer after money was received (final).
    Discontinued,
    /// Contract or order ended (final).
    Ended,
}
super::all_variants!(CaseState {
    Offered,
    Accepted,
    Declined,
    Applied,
    Made,
    Refused,
    Referred,
    HearingListed,
    Pleaded,
    OutcomeRecorded,
    AppealLodged,
    AppealDecided,
    BlockedByPayment,
    Discontinued,
    Ended
});
string_names!(CaseState {
    Offered => "offered",
    Accepted => "accepted",
    Declined => "declined",
    Applied => "applied",
    Made => "made",
    Refused => "refused",
    Referred => "referred",
    HearingListed => "hearing_listed",
    Pleaded => "pleaded",
    OutcomeRecorded => "outcome_recorded",
    AppealLodged => "appeal_lodged",
    AppealDecided => "appeal_decided",
    BlockedByPayment => "blocked_by_payment",
    Discontinued => "discontinued",
    Ended => "ended",
});

/// The states a case of `kind` can be in.
pub fn states_of(kind: MeasureKind) -> &'static [CaseState] {
    use CaseState::*;
    match kind {
        MeasureKind::AttendanceContract => &[Offered, Accepted, Declined, Ended],
        MeasureKind::EducationSupervisionOrder => &[Applied, Made, Refused, Ended],
        MeasureKind::ParentingOrder => &[Made, Ended],
        MeasureKind::Prosecution => &[
            Referred,
            HearingListed,
            Pleaded,
            OutcomeRecorded,
            AppealLodged,
            AppealDecided,
            BlockedByPayment,
            Discontinued,
        ],
    }
}

/// The state a new case of `kind` starts in.
pub fn initial_state(kind: MeasureKind) -> CaseState {
    match kind {
        MeasureKind::AttendanceContract => CaseState::Offered,
        MeasureKind::EducationSupervisionOrder => CaseState::Applied,
        MeasureKind::ParentingOrder => CaseState::Made,
        MeasureKind::Prosecution => CaseState::Referred,
    }
}

/// The offence a prosecution is for (Education Act 1996).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// s444(1): failing to secure regular attendance (strict liability, fine only).
    S444_1,
    /// s444(1A): knowingly failing (can lead to prison).
    S444_1A,
}
super::all_variants!(Section { S444_1, S444_1A });
string_names!(Section { S444_1 => "s444_1", S444_1A => "s444_1a" });

/// How a parenting order came to be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderBasis {
    /// By the court on the parent's conviction.
    OnConviction,
    /// On an application of its own (free-standing).
    FreeStanding,
}
super::all_variants!(OrderBasis {
    OnConviction,
    FreeStanding
});
string_names!(OrderBasis { OnConviction => "on_conviction", FreeStanding => "free_standing" });

/// Why a contract or order ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Contract: its term completed.
    Completed,
    /// Contract: broken by the parents (evidence for what follows).
    Broken,
    /// Contract: withdrawn.
    Withdrawn,
    /// Order: its term expired.
    Expired,
    /// Order: discharged by the court.
    Discharged,
}
super::all_variants!(EndReason {
    Completed,
    Broken,
    Withdrawn,
    Expired,
    Discharged
});
string_names!(EndReason {
    Completed => "completed",
    Broken => "broken",
    Withdrawn => "withdrawn",
    Expired => "expired",
    Discharged => "discharged",
});

/// The reasons a case of `kind` may end for.
pub fn end_reasons(kind: MeasureKind) -> &'static [EndReason] {
    use EndReason::*;
    match kind {
        MeasureKind::AttendanceContract => &[Completed, Broken, Withdrawn],
        MeasureKind::EducationSupervisionOrder | MeasureKind::ParentingOrder => {
            &[Expired, Discharged]
        }
        MeasureKind::Prosecution => &[],
    }
}

/// The parent's plea.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plea {
    Guilty,
    NotGuilty,
    /// No plea entered (for example no response to a Single Justice Procedure notice).
    NoPlea,
}
super::all_variants!(Plea {
    Guilty,
    NotGuilty,
    NoPlea
});
string_names!(Plea { Guilty => "guilty", NotGuilty => "not_guilty", NoPlea => "no_plea" });

/// What the court did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposal {
    /// Convicted and fined (`fine_pence` above 0).
    Fine,
    /// Convicted, conditionally discharged.
    ConditionalDischarge,
    /// The authority withdrew the prosecution.
    Withdrawn,
    /// The court dismissed the case.
    Dismissed,
}
super::all_variants!(Disposal {
    Fine,
    ConditionalDischarge,
    Withdrawn,
    Dismissed
});
string_names!(Disposal {
    Fine => "fine",
    ConditionalDischarge => "conditional_discharge",
    Withdrawn => "withdrawn",
    Dismissed => "dismissed",
});

impl Disposal {
    /// Whether the parent was convicted.
    pub fn convicts(self) -> bool {
        match self {
            Disposal::Fine | Disposal::ConditionalDischarge => true,
            Disposal::Withdrawn | Disposal::Dismissed => false,
        }
    }
}

/// A prosecution's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub disposal: Disposal,
    /// Above 0 exactly for a fine.
    pub fine_pence: i64,
    /// Costs awarded to the authority (0 for none).
    pub costs_pence: i64,
    /// A parenting order made on conviction (opens a parenting order case).
    pub parenting_order: bool,
}

/// What an appeal came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppealResult {
    /// The appeal was allowed (the conviction or sentence set aside or varied).
    Allowed,
    /// The appeal was dismissed (the outcome stands).
    Dismissed,
}
super::all_variants!(AppealResult { Allowed, Dismissed });
string_names!(AppealResult { Allowed => "allowed", Dismissed => "dismissed" });

/// An officer's decision on a prosecution stopped by money received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentDecision {
    /// Go on: the money does not discharge this offence (a reason is recorded).
    ProceedDespitePayment,
    /// Stop the prosecution.
    Discontinue,
}
super::all_variants!(PaymentDecision {
    ProceedDespitePayment,
    Discontinue
});
string_names!(PaymentDecision {
    ProceedDespitePayment => "proceed_despite_payment",
    Discontinue => "discontinue",
});

/// Something that happens to a case, with its facts (its date is given beside it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CaseEvent {
    /// The case opened (its facts are the case's own); recorded once, first.
    Opened,
    /// Contract accepted by the parents.
    Accepted,
    /// Contract declined by the parents.
    Declined,
    /// Education supervision order made by the court.
    Made,
    /// Education supervision order refused by the court.
    Refused,
    /// Contract or order ended.
    Ended { reason: EndReason },
    /// A hearing listed (or relisted) at a court.
    HearingListed {
        court: String,
        hearing_date: NaiveDate,
    },
    /// The parent's plea.
    PleaEntered { plea: Plea },
    /// The court's outcome.
    OutcomeRecorded { outcome: Outcome },
    /// An appeal against the outcome lodged.
    AppealLodged,
    /// The appeal decided.
    AppealDecided { result: AppealResult },
    /// Money received on the notice after referral (recorded by the service
    /// with the payment, never by a caller).
    BlockedByPayment { payment: String, amount_pence: i64 },
    /// An officer's decision on money received after referral.
    PaymentDecisionRecorded {
        decision: PaymentDecision,
        reason: String,
    },
}

/// The kind of a [`CaseEvent`], as names go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseEventKind {
    Opened,
    Accepted,
    Declined,
    Made,
    Refused,
    Ended,
    HearingListed,
    PleaEntered,
    OutcomeRecorded,
    AppealLodged,
    AppealDecided,
    BlockedByPayment,
    PaymentDecisionRecorded,
}
super::all_variants!(CaseEventKind {
    Opened,
    Accepted,
    Declined,
    Made,
    Refused,
    Ended,
    HearingListed,
    PleaEntered,
    OutcomeRecorded,
    AppealLodged,
    AppealDecided,
    BlockedByPayment,
    PaymentDecisionRecorded
});
string_names!(CaseEventKind {
    Opened => "case_opened",
    Accepted => "accepted",
    Declined => "declined",
    Made => "made",
    Refused => "refused",
    Ended => "ended",
    HearingListed => "hearing_listed",
    PleaEntered => "plea_entered",
    OutcomeRecorded => "outcome_recorded",
    AppealLodged => "appeal_lodged",
    AppealDecided => "appeal_decided",
    BlockedByPayment => "blocked_by_payment",
    PaymentDecisionRecorded => "payment_decision_recorded",
});

impl CaseEventKind {
    /// The audit log's action for it (`measure.<event>`).
    pub fn action(self) -> String {
        format!("measure.{}", self.as_str())
    }
}

impl CaseEvent {
    pub fn kind(&self) -> CaseEventKind {
        match self {
            CaseEvent::Opened => CaseEventKind::Opened,
            CaseEvent::Accepted => CaseEventKind::Accepted,
            CaseEvent::Declined => CaseEventKind::Declined,
            CaseEvent::Made => CaseEventKind::Made,
            CaseEvent::Refused => CaseEventKind::Refused,
            CaseEvent::Ended { .. } => CaseEventKind::Ended,
            CaseEvent::HearingListed { .. } => CaseEventKind::HearingListed,
            CaseEvent::PleaEntered { .. } => CaseEventKind::PleaEntered,
            CaseEvent::OutcomeRecorded { .. } => CaseEventKind::OutcomeRecorded,
            CaseEvent::AppealLodged => CaseEventKind::AppealLodged,
            CaseEvent::AppealDecided { .. } => CaseEventKind::AppealDecided,
            CaseEvent::BlockedByPayment { .. } => CaseEventKind::BlockedByPayment,
            CaseEvent::PaymentDecisionRecorded { .. } => CaseEventKind::PaymentDecisionRecorded,
        }
    }
}

/// A parent a case concerns, as on the notice or as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseParent {
    pub person_id: String,
    pub given_name: String,
    pub family_name: String,
}

/// What a case holds beyond its kind and state (kept as one document).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CaseFacts {
    pub parents: Vec<CaseParent>,
    /// Resource names of the notices or breaches it follows.
    pub follows: Vec<String>,
    /// Prosecutions: the offence.
    pub section: Option<Section>,
    /// Parenting orders: how it was made.
    pub order_basis: Option<OrderBasis>,
    pub court: Option<String>,
    pub hearing_date: Option<NaiveDate>,
    pub plea: Option<Plea>,
    pub outcome: Option<Outcome>,
    pub appeal_result: Option<AppealResult>,
    pub end_reason: Option<EndReason>,
    /// The day it reached a final state.
    pub closed_on: Option<NaiveDate>,
    /// While blocked by a payment: the state it goes back to if the officer
    /// decides to proceed.
    pub resume_state: Option<CaseState>,
    /// While blocked by a payment: the day the money stopped it, and how much
    /// arrived since it was last stopped.
    pub blocked_on: Option<NaiveDate>,
    pub blocked_pence: Option<i64>,
    /// The latest decision on money received after referral, and its reason.
    pub payment_decision: Option<(PaymentDecision, String)>,
    /// Prosecutions: the parenting order case its outcome opened.
    pub parenting_order_case: Option<i64>,
    /// Parenting orders made on conviction: the prosecution case.
    pub prosecution_case: Option<i64>,
}

/// A case of one of the other measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasureCase {
    pub number: i64,
    pub kind: MeasureKind,
    pub state: CaseState,
    pub upn: String,
    pub school_urn: String,
    /// The day the contract was offered, the order applied for or made, the
    /// prosecution referred.
    pub opened_on: NaiveDate,
    pub facts: CaseFacts,
    pub opened_by: Actor,
    pub created_at: DateTime<Utc>,
    /// Changes since opening (each event adds one): a change is written only
    /// over the version it was decided on.
    pub version: i64,
}

/// An event as recorded on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedCaseEvent {
    pub sequence: i64,
    pub event: CaseEvent,
    pub on: NaiveDate,
    pub state_after: CaseState,
    pub actor: Actor,
    pub recorded_at: DateTime<Utc>,
    pub request_id: String,
}

impl MeasureCase {
    /// Whether the case is in a state nothing moves it on from.
    pub fn is_closed(&self) -> bool {
        is_final(self.state)
    }
}

/// Whether nothing moves a case on from `state`.
pub fn is_final(state: CaseState) -> bool {
    use CaseState::*;
    match state {
        Declined | Refused | AppealDecided | Discontinued | Ended => true,
        Offered | Accepted | Applied | Made | Referred | HearingListed | Pleaded
        | OutcomeRecorded | AppealLodged | BlockedByPayment => false,
    }
}

fn not_allowed(case: &MeasureCase, subject: &str, event: CaseEventKind) -> RuleViolation {
    RuleViolation::new(
        "CASE_EVENT_NOT_ALLOWED",
        subject,
        format!(
            "a {} case that is {} cannot be {}",
            case.kind.as_str().replace('_', " "),
            case.state.as_str().replace('_', " "),
            event.as_str().replace('_', " ")
        ),
    )
}

/// The case after `event` on `on`, or the rule it breaks. `subject` names the
/// case in the violation. Pure: the caller stores the result.
pub fn apply(
    case: &MeasureCase,
    subject: &str,
    event: &CaseEvent,
    on: NaiveDate,
) -> Result<MeasureCase, RuleViolation> {
    use CaseState as S;
    use MeasureKind as K;
    let kind = event.kind();
    if on < case.opened_on {
        return Err(RuleViolation::new(
            "EVENT_BEFORE_OPENING",
            subject,
            format!(
                "the event's date {on} is before the case was opened on {}",
                case.opened_on
            ),
        ));
    }
    if case.state == S::BlockedByPayment {
        match event {
            CaseEvent::HearingListed { .. }
            | CaseEvent::PleaEntered { .. }
            | CaseEvent::OutcomeRecorded { .. }
            | CaseEvent::AppealLodged
            | CaseEvent::AppealDecided { .. } => {
                return Err(RuleViolation::new(
                    "PAYMENT_AFTER_REFERRAL",
                    subject,
                    "money was received on the notice after referral: payment discharges \
                     liability (s444A Education Act 1996), so the prosecution stops until an \
                     officer records a decision",
                ));
            }
            _ => {}
        }
    }
    let mut next = case.clone();
    next.version += 1;
    let f = &mut next.facts;
    let state = match (case.kind, case.state, event) {
        (K::AttendanceContract, S::Offered, CaseEvent::Accepted) => S::Accepted,
        (K::AttendanceContract, S::Offered, CaseEvent::Declined) => {
            f.closed_on = Some(on);
            S::Declined
        }
        (K::EducationSupervisionOrder, S::Applied, CaseEvent::Made) => S::Made,
        (K::EducationSupervisionOrder, S::Applied, CaseEvent::Refused) => {
            f.closed_on = Some(on);
            S::Refused
        }
        (
            K::AttendanceContract | K::EducationSupervisionOrder | K::ParentingOrder,
            S::Accepted | S::Made,
            CaseEvent::Ended { reason },
        ) => {
            if !end_reasons(case.kind).contains(reason) {
                return Err(RuleViolation::new(
                    "END_REASON_NOT_FOR_KIND",
                    subject,
                    format!(
                        "a {} does not end as {}",
                        case.kind.as_str().replace('_', " "),
                        reason.as_str()
                    ),
                ));
            }
            f.end_reason = Some(*reason);
            f.closed_on = Some(on);
            S::Ended
        }
        (
            K::Prosecution,
            S::Referred | S::HearingListed | S::Pleaded,
            CaseEvent::HearingListed {
                court,
                hearing_date,
            },
        ) => {
            f.court = Some(court.clone());
            f.hearing_date = Some(*hearing_date);
            if case.state == S::Pleaded {
                S::Pleaded
            } else {
                S::HearingListed
            }
        }
        (K::Prosecution, S::HearingListed | S::Pleaded, CaseEvent::PleaEntered { plea }) => {
            f.plea = Some(*plea);
            S::Pleaded
        }
        (
            K::Prosecution,
            S::Referred | S::HearingListed | S::Pleaded,
            CaseEvent::OutcomeRecorded { outcome },
        ) => {
            check_outcome(case, subject, outcome)?;
            f.outcome = Some(outcome.clone());
            if !outcome.disposal.convicts() {
                f.closed_on = Some(on);
            }
            S::OutcomeRecorded
        }
        (K::Prosecution, S::OutcomeRecorded, CaseEvent::AppealLodged) => {
            if !case
                .facts
                .outcome
                .as_ref()
                .is_some_and(|o| o.disposal.convicts())
            {
                return Err(RuleViolation::new(
                    "APPEAL_NEEDS_CONVICTION",
                    subject,
                    "only a conviction or its sentence can be appealed by the parent",
                ));
            }
            S::AppealLodged
        }
        (K::Prosecution, S::AppealLodged, CaseEvent::AppealDecided { result }) => {
            f.appeal_result = Some(*result);
            f.closed_on = Some(on);
            S::AppealDecided
        }
        (
            K::Prosecution,
            S::BlockedByPayment,
            CaseEvent::PaymentDecisionRecorded { decision, reason },
        ) => {
            f.payment_decision = Some((*decision, reason.clone()));
            let resume = f.resume_state.take().unwrap_or(S::Referred);
            f.blocked_on = None;
            f.blocked_pence = None;
            match decision {
                PaymentDecision::ProceedDespitePayment => resume,
                PaymentDecision::Discontinue => {
                    f.closed_on = Some(on);
                    S::Discontinued
                }
            }
        }
        (_, _, CaseEvent::BlockedByPayment { .. }) => {
            return block_for_payment(case, event, on)
                .ok_or_else(|| not_allowed(case, subject, kind));
        }
        _ => return Err(not_allowed(case, subject, kind)),
    };
    next.state = state;
    Ok(next)
}

fn check_outcome(case: &MeasureCase, subject: &str, o: &Outcome) -> Result<(), RuleViolation> {
    let bad = |rule, why: &str| Err(RuleViolation::new(rule, subject, why.to_string()));
    if (o.disposal == Disposal::Fine) != (o.fine_pence > 0) {
        return bad(
            "FINE_AMOUNT",
            "a fine has an amount above 0, and only a fine has one",
        );
    }
    if o.fine_pence < 0 || o.costs_pence < 0 {
        return bad("NEGATIVE_AMOUNT", "amounts may not be negative");
    }
    if o.parenting_order && !o.disposal.convicts() {
        return bad(
            "PARENTING_ORDER_NEEDS_CONVICTION",
            "a parenting order is made on conviction",
        );
    }
    if case.state == CaseState::Referred && o.disposal != Disposal::Withdrawn {
        return bad(
            "OUTCOME_NEEDS_HEARING",
            "only a withdrawal is recorded before a hearing is listed",
        );
    }
    Ok(())
}

/// The prosecution after money of `event` (a [`CaseEvent::BlockedByPayment`])
/// was received on the notice it follows: blocked, remembering where it stood,
/// while it has not yet reached an outcome; `None` when the money does not
/// stop it (another kind of case, already blocked, an outcome already given
/// (the notice's `PAYMENT_AFTER_PROSECUTION` covers that), or closed).
pub fn block_for_payment(
    case: &MeasureCase,
    event: &CaseEvent,
    on: NaiveDate,
) -> Option<MeasureCase> {
    use CaseState as S;
    let CaseEvent::BlockedByPayment { amount_pence, .. } = event else {
        return None;
    };
    if case.kind != MeasureKind::Prosecution {
        return None;
    }
    match case.state {
        S::Referred | S::HearingListed | S::Pleaded => {
            let mut next = case.clone();
            next.version += 1;
            next.facts.resume_state = Some(case.state);
            next.state = S::BlockedByPayment;
            next.facts.payment_decision = None;
            next.facts.blocked_on = Some(on);
            next.facts.blocked_pence = Some(*amount_pence);
            Some(next)
        }
        S::OutcomeRecorded
        | S::AppealLodged
        | S::AppealDecided
        | S::BlockedByPayment
        | S::Discontinued
        | S::Offered
        | S::Accepted
        | S::Declined
        | S::Applied
        | S::Made
        | S::Refused
        | S::Ended => None,
    }
}

/// Refuses referring `notice` to prosecution unless it went unpaid: a paid
/// notice discharged the parent's liability (s444A; LGO 19 016 403), a
/// withdrawn one is void, and one still in its periods may yet be paid.
pub fn check_referral(notice: &Notice, on: NaiveDate) -> Result<(), RuleViolation> {
    let subject = &notice.notice_number;
    if notice.kind != NoticeKind::PenaltyNotice {
        return Err(RuleViolation::new(
            "NOT_A_PENALTY_NOTICE",
            subject,
            "only a penalty notice can lead to prosecution",
        ));
    }
    let (rule, why) = match notice.status(on) {
        NoticeStatus::Unpaid => return Ok(()),
        NoticeStatus::Paid => (
            "NOTICE_PAID",
            "the notice is paid in full, which discharges liability for the offence".to_string(),
        ),
        NoticeStatus::Withdrawn => ("NOTICE_WITHDRAWN", "the notice was withdrawn".to_string()),
        NoticeStatus::Prosecuted => (
            "NOTICE_ALREADY_PROSECUTED",
            "a prosecution outcome is already recorded on the notice".to_string(),
        ),
        NoticeStatus::Issued | NoticeStatus::ImprovementPeriodEnded => (
            "NOTICE_NOT_YET_UNPAID",
            format!(
                "the notice may still be paid until {}; referral is possible only after",
                notice.charges.as_ref().map_or_else(
                    || notice.issue_date.to_string(),
                    |c| c.higher_deadline.to_string()
                )
            ),
        ),
    };
    Err(RuleViolation::new(rule, subject, why))
}

/// The parenting order case a conviction's outcome opens, from the
/// prosecution it follows (numbered by the caller).
pub fn parenting_order_from(
    prosecution: &MeasureCase,
    prosecution_name: &str,
    number: i64,
    on: NaiveDate,
    by: &Actor,
    at: DateTime<Utc>,
) -> MeasureCase {
    let mut follows = vec![prosecution_name.to_string()];
    follows.extend(prosecution.facts.follows.iter().cloned());
    MeasureCase {
        number,
        kind: MeasureKind::ParentingOrder,
        state: CaseState::Made,
        upn: prosecution.upn.clone(),
        school_urn: prosecution.school_urn.clone(),
        opened_on: on,
        facts: CaseFacts {
            parents: prosecution.facts.parents.clone(),
            follows,
            order_basis: Some(OrderBasis::OnConviction),
            court: prosecution.facts.court.clone(),
            prosecution_case: Some(prosecution.number),
            ..CaseFacts::default()
        },
        opened_by: by.clone(),
        created_at: at,
        version: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn case(kind: MeasureKind) -> MeasureCase {
        MeasureCase {
            number: 1,
            kind,
            state: initial_state(kind),
            upn: "B801200005001".into(),
            school_urn: "116439".into(),
            opened_on: d(2025, 3, 3),
            facts: CaseFacts {
                section: (kind == MeasureKind::Prosecution).then_some(Section::S444_1),
                ..CaseFacts::default()
            },
            opened_by: Actor {
                subject: "officer".into(),
                role: None,
            },
            created_at: DateTime::<Utc>::MIN_UTC,
            version: 0,
        }
    }

    fn step(c: &MeasureCase, e: CaseEvent) -> Result<MeasureCase, &'static str> {
        apply(c, "case", &e, d(2025, 4, 1)).map_err(|v| v.rule)
    }

    #[test]
    fn every_kind_starts_in_one_of_its_states() {
        for kind in MeasureKind::ALL {
            assert!(states_of(kind).contains(&initial_state(kind)), "{kind:?}");
        }
    }

    #[test]
    fn a_contract_is_accepted_then_ended_for_a_contract_reason() {
        let c = case(MeasureKind::AttendanceContract);
        let accepted = step(&c, CaseEvent::Accepted).unwrap();
        assert_eq!(accepted.state, CaseState::Accepted);
        assert_eq!(
            step(
                &accepted,
                CaseEvent::Ended {
                    reason: EndReason::Expired
                }
            ),
            Err("END_REASON_NOT_FOR_KIND")
        );
        let ended = step(
            &accepted,
            CaseEvent::Ended {
                reason: EndReason::Broken,
            },
        )
        .unwrap();
        assert_eq!(
            (ended.state, ended.facts.end_reason),
            (CaseState::Ended, Some(EndReason::Broken))
        );
        assert_eq!(
            step(
                &c,
                CaseEvent::Ended {
                    reason: EndReason::Completed
                }
            ),
            Err("CASE_EVENT_NOT_ALLOWED")
        );
        assert_eq!(
            step(&step(&c, CaseEvent::Declined).unwrap(), CaseEvent::Accepted),
            Err("CASE_EVENT_NOT_ALLOWED")
        );
    }

    #[test]
    fn an_order_is_made_or_refused_and_a_parenting_order_starts_made() {
        let eso = case(MeasureKind::EducationSupervisionOrder);
        assert_eq!(
            step(&eso, CaseEvent::Refused).unwrap().state,
            CaseState::Refused
        );
        let made = step(&eso, CaseEvent::Made).unwrap();
        assert_eq!(
            step(
                &made,
                CaseEvent::Ended {
                    reason: EndReason::Discharged
                }
            )
            .unwrap()
            .state,
            CaseState::Ended
        );
        let po = case(MeasureKind::ParentingOrder);
        assert_eq!(step(&po, CaseEvent::Made), Err("CASE_EVENT_NOT_ALLOWED"));
        assert_eq!(
            step(
                &po,
                CaseEvent::Ended {
                    reason: EndReason::Expired
                }
            )
            .unwrap()
            .state,
            CaseState::Ended
        );
    }

    #[test]
    fn a_prosecution_goes_from_referral_to_outcome_and_appeal() {
        let p = case(MeasureKind::Prosecution);
        let fine = Outcome {
            disposal: Disposal::Fine,
            fine_pence: 12_000,
            costs_pence: 5_000,
            parenting_order: true,
        };
        assert_eq!(
            step(
                &p,
                CaseEvent::OutcomeRecorded {
                    outcome: fine.clone()
                }
            ),
            Err("OUTCOME_NEEDS_HEARING")
        );
        assert_eq!(
            step(&p, CaseEvent::PleaEntered { plea: Plea::Guilty }),
            Err("CASE_EVENT_NOT_ALLOWED")
        );
        let listed = step(
            &p,
            CaseEvent::HearingListed {
                court: "Basingstoke".into(),
                hearing_date: d(2025, 5, 1),
            },
        )
        .unwrap();
        let pleaded = step(&listed, CaseEvent::PleaEntered { plea: Plea::Guilty }).unwrap();
        let bad = Outcome {
            fine_pence: 0,
            ..fine.clone()
        };
        assert_eq!(
            step(&pleaded, CaseEvent::OutcomeRecorded { outcome: bad }),
            Err("FINE_AMOUNT")
        );
        let dismissed = Outcome {
            disposal: Disposal::Dismissed,
            fine_pence: 0,
            costs_pence: 0,
            parenting_order: true,
        };
        assert_eq!(
            step(&pleaded, CaseEvent::OutcomeRecorded { outcome: dismissed }),
            Err("PARENTING_ORDER_NEEDS_CONVICTION")
        );
        let decided = step(&pleaded, CaseEvent::OutcomeRecorded { outcome: fine }).unwrap();
        assert_eq!(decided.state, CaseState::OutcomeRecorded);
        let lodged = step(&decided, CaseEvent::AppealLodged).unwrap();
        let done = step(
            &lodged,
            CaseEvent::AppealDecided {
                result: AppealResult::Dismissed,
            },
        )
        .unwrap();
        assert!(done.is_closed());
        assert_eq!(done.version, 5);
    }

    #[test]
    fn money_after_referral_blocks_until_a_decision() {
        let p = case(MeasureKind::Prosecution);
        let listed = step(
            &p,
            CaseEvent::HearingListed {
                court: "Basingstoke".into(),
                hearing_date: d(2025, 5, 1),
            },
        )
        .unwrap();
        let money = CaseEvent::BlockedByPayment {
            payment: "p".into(),
            amount_pence: 100,
        };
        let blocked = block_for_payment(&listed, &money, d(2025, 4, 2)).unwrap();
        assert_eq!(blocked.state, CaseState::BlockedByPayment);
        assert!(block_for_payment(&blocked, &money, d(2025, 4, 2)).is_none());
        assert_eq!(
            step(
                &blocked,
                CaseEvent::HearingListed {
                    court: "x".into(),
                    hearing_date: d(2025, 5, 2)
                }
            ),
            Err("PAYMENT_AFTER_REFERRAL")
        );
        assert_eq!(
            step(&blocked, CaseEvent::PleaEntered { plea: Plea::NoPlea }),
            Err("PAYMENT_AFTER_REFERRAL")
        );
        let proceed = CaseEvent::PaymentDecisionRecorded {
            decision: PaymentDecision::ProceedDespitePayment,
            reason: "short".into(),
        };
        assert_eq!(
            step(&blocked, proceed).unwrap().state,
            CaseState::HearingListed
        );
        let stop = CaseEvent::PaymentDecisionRecorded {
            decision: PaymentDecision::Discontinue,
            reason: "paid".into(),
        };
        assert_eq!(
            step(&blocked, stop.clone()).unwrap().state,
            CaseState::Discontinued
        );
        assert_eq!(step(&listed, stop), Err("CASE_EVENT_NOT_ALLOWED"));
        assert!(
            block_for_payment(
                &case(MeasureKind::AttendanceContract),
                &money,
                d(2025, 4, 2)
            )
            .is_none()
        );
    }

    #[test]
    fn an_event_cannot_predate_the_case() {
        let c = case(MeasureKind::AttendanceContract);
        assert_eq!(
            apply(&c, "c", &CaseEvent::Accepted, d(2025, 3, 2)).map_err(|v| v.rule),
            Err("EVENT_BEFORE_OPENING")
        );
    }

    #[test]
    fn final_states_are_final_for_every_kind() {
        for kind in MeasureKind::ALL {
            for state in states_of(kind) {
                let c = MeasureCase {
                    state: *state,
                    ..case(kind)
                };
                if is_final(*state) {
                    for e in [
                        CaseEvent::Accepted,
                        CaseEvent::Made,
                        CaseEvent::AppealLodged,
                        CaseEvent::Ended {
                            reason: EndReason::Expired,
                        },
                    ] {
                        assert!(step(&c, e).is_err(), "{kind:?} {state:?}");
                    }
                }
            }
        }
    }
}
