//! Issuing a notice: whether it is lawful (limits per parent and child, the
//! evidence the policy asks of the claimed sessions, the period of a notice to
//! improve), its day of receipt, charges and number.
//!
//! The functions here decide; the use case loads the facts (policy in force, the
//! pupil's earlier notices, the registers) inside the issuing transaction and
//! stores the result.

use std::collections::{BTreeSet, HashSet};

use chrono::{Months, NaiveDate};

use super::calendar::{self, UnknownBankHolidays};
use super::evidence::{self, HeldSession, RegisterWeeks, SessionEvidence, check_evidence};
use super::identifiers::Upn;
use super::notice::*;
use super::policy::{FRAMEWORK_2024_FROM, PolicyVersion};
use super::register_codes::{CodeCategory, CodeSet};
use super::sharing::OtherAuthorityNotice;
use super::{FieldViolation, RuleViolation};

/// A pupil's threshold breach as found on a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachRef {
    pub upn: Upn,
    pub as_of: NaiveDate,
}

/// What every issuing request gives, whichever notice it asks for (already
/// validated field by field).
#[derive(Debug, Clone)]
pub struct Issue {
    pub pupil: Pupil,
    pub parents: Vec<Parent>,
    pub issue_date: NaiveDate,
    pub issuer: Issuer,
    pub delivery: Delivery,
    /// Claimed (a penalty notice's), or (with `breach`) the breach's, filled in
    /// when it is resolved; none for a notice to improve issued without one.
    pub sessions: Vec<SessionMark>,
    /// Issue for this breach's sessions instead of claimed ones.
    pub breach: Option<BreachRef>,
}

/// What the issuer of a penalty notice asks for.
#[derive(Debug, Clone)]
pub struct PenaltyRequest {
    pub issue: Issue,
    pub offence: Offence,
}

/// What the issuer of a notice to improve asks for.
#[derive(Debug, Clone)]
pub struct NoticeToImproveRequest {
    pub issue: Issue,
    pub start_date: NaiveDate,
    pub school_weeks: i32,
    pub reason: String,
}

/// What the authority holds for the pupil around the claimed sessions.
#[derive(Debug, Clone, Default)]
pub struct Registers {
    /// The pupil's marks on the claimed sessions' dates, from every school.
    pub held: Vec<HeldSession>,
    pub weeks: RegisterWeeks,
}

impl Registers {
    /// No registers held: claims stand as made and every week is a school week.
    pub fn none() -> Self {
        Self::default()
    }
}

/// An accepted penalty notice request: the day of receipt, one plan per
/// parent, and the evidence for each claimed session.
pub type PenaltyPlan = (NaiveDate, Vec<PlannedNotice>, Vec<SessionEvidence>);

/// Why a notice cannot be issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The request itself is malformed.
    Invalid(Vec<FieldViolation>),
    /// Issuing would break the law or the authority's policy.
    Rules(Vec<RuleViolation>),
}

/// One notice to create: the parent and what the law makes of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedNotice {
    pub parent: Parent,
    pub second_notice: bool,
    pub charges: Charges,
}

/// The day of receipt: by hand, the issue date; by post, the second working day
/// after posting.
pub fn receipt_date(issue_date: NaiveDate, delivery: &Delivery) -> Result<NaiveDate, Refusal> {
    match (delivery.method, delivery.posting_date) {
        (DeliveryMethod::Hand, _) => Ok(issue_date),
        (DeliveryMethod::Post, Some(posted)) => {
            calendar::posted_receipt_date(posted).map_err(|e: UnknownBankHolidays| {
                Refusal::Rules(vec![RuleViolation::new(
                    "BANK_HOLIDAYS_UNKNOWN",
                    posted.to_string(),
                    e.to_string(),
                )])
            })
        }
        (DeliveryMethod::Post, None) => Err(Refusal::Invalid(vec![FieldViolation::new(
            "delivery.posting_date",
            "a posting date is required for delivery by post",
        )])),
    }
}

/// Amounts and deadlines of a penalty notice received on `receipt`: a second
/// notice has only its flat amount, payable within the higher period.
pub fn charges(policy: &PolicyVersion, receipt: NaiveDate, second_notice: bool) -> Charges {
    let r = &policy.rules;
    let higher_deadline = calendar::last_day_of_period(receipt, days(r.higher_period_days));
    if second_notice {
        Charges {
            lower_amount_pence: 0,
            lower_deadline: None,
            higher_amount_pence: r.second_notice_amount_pence,
            higher_deadline,
        }
    } else {
        Charges {
            lower_amount_pence: r.lower_amount_pence,
            lower_deadline: Some(calendar::last_day_of_period(
                receipt,
                days(r.lower_period_days),
            )),
            higher_amount_pence: r.higher_amount_pence,
            higher_deadline,
        }
    }
}

/// A notice that counts towards a parent's limit: its issue date and how a
/// refusal names it (its number, or only the other authority's code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub issue_date: NaiveDate,
    pub label: String,
}

/// Penalty notices to `parent` for this pupil that count, issued on or after
/// `since`: this authority's (not withdrawn) and the matched ones of the
/// authorities it shares with (`shared`, counted ones only).
fn counted_notices(
    earlier: &[Notice],
    shared: &[OtherAuthorityNotice],
    parent: &str,
    since: NaiveDate,
) -> Vec<Counted> {
    let own = earlier
        .iter()
        .filter(|n| {
            n.kind == NoticeKind::PenaltyNotice
                && n.counts()
                && n.parent.person_id == parent
                && n.issue_date >= since
        })
        .map(|n| Counted {
            issue_date: n.issue_date,
            label: n.notice_number.clone(),
        });
    let theirs = shared
        .iter()
        .filter(|s| s.counted && s.person_id == parent && s.issue_date >= since)
        .map(|s| Counted {
            issue_date: s.issue_date,
            label: format!("one of authority {} issued on {}", s.la_code, s.issue_date),
        });
    own.chain(theirs).collect()
}

/// From when earlier notices count towards the limit of a notice issued on
/// `issue_date`: under the 2024 framework only notices issued under it (the
/// statutory limit starts afresh); before it, a local code's limit binds over
/// every notice of its period.
fn limit_counts_since(issue_date: NaiveDate) -> NaiveDate {
    if issue_date >= FRAMEWORK_2024_FROM {
        FRAMEWORK_2024_FROM
    } else {
        NaiveDate::MIN
    }
}

/// A policy's period in days (validated to be positive; anything else is one day).
fn days(period: i32) -> u32 {
    u32::try_from(period).unwrap_or(1)
}

/// The policy's rolling period as a number of months.
fn period_months(policy: &PolicyVersion) -> Months {
    Months::new(
        u32::try_from(policy.rules.notice_limit_period_years)
            .unwrap_or(0)
            .saturating_mul(12),
    )
}

/// Counted notices within the rolling period that ends on `issue_date`: they make
/// a new notice a second notice.
fn counted_before(
    policy: &PolicyVersion,
    (earlier, shared): (&[Notice], &[OtherAuthorityNotice]),
    parent: &str,
    issue_date: NaiveDate,
) -> Vec<Counted> {
    let start = issue_date
        .checked_sub_months(period_months(policy))
        .unwrap_or(NaiveDate::MIN);
    // Second notices (a flat amount) exist only under the 2024 framework.
    counted_notices(earlier, shared, parent, FRAMEWORK_2024_FROM)
        .into_iter()
        .filter(|n| n.issue_date > start && n.issue_date <= issue_date)
        .collect()
}

/// The counted notices sharing some rolling period with a notice issued on
/// `issue_date` that already hold the policy's maximum, if any. Every period
/// containing the new date is checked, so a backdated notice cannot slip in
/// before two later ones.
fn limit_reached(
    policy: &PolicyVersion,
    (earlier, shared): (&[Notice], &[OtherAuthorityNotice]),
    parent: &str,
    issue_date: NaiveDate,
) -> Option<Vec<Counted>> {
    let max = policy.rules.max_notices_per_parent_per_child;
    if max <= 0 {
        return None;
    }
    let months = period_months(policy);
    let counted = counted_notices(earlier, shared, parent, limit_counts_since(issue_date));
    // A period holding the new notice and some others can always start at the
    // earliest of them, so these starts are the only ones to try.
    let starts =
        std::iter::once(issue_date).chain(counted.iter().map(|n| n.issue_date).filter(|&d| {
            d <= issue_date
                && d.checked_add_months(months)
                    .is_some_and(|end| issue_date < end)
        }));
    starts
        .map(|start| {
            let end = start.checked_add_months(months).unwrap_or(NaiveDate::MAX);
            counted
                .iter()
                .filter(|n| n.issue_date >= start && n.issue_date < end)
                .cloned()
                .collect::<Vec<_>>()
        })
        .find(|within| within.len() as i32 >= max)
}

/// Decides a penalty notice request against the policy in force on its issue
/// date and the pupil's earlier notices (to any parent), with the matched
/// notices of the authorities this one shares with (`shared`: they count
/// towards the limit and the second amount). Every rule broken is reported,
/// so the issuer sees them all at once.
pub fn plan_penalty_notices(
    policy: &PolicyVersion,
    policy_name: &str,
    (earlier, shared): (&[Notice], &[OtherAuthorityNotice]),
    req: &PenaltyRequest,
    registers: &Registers,
) -> Result<PenaltyPlan, Refusal> {
    let rules = &policy.rules;
    validate_sessions(policy, req)?;
    let receipt = receipt_date(req.issue.issue_date, &req.issue.delivery)?;
    let mut broken = Vec::new();
    let session_evidence = check_evidence(
        policy,
        policy_name,
        req.offence.offence_type,
        &req.issue.sessions,
        &registers.held,
        &registers.weeks,
    )
    .unwrap_or_else(|refused| {
        broken.extend(refused);
        vec![]
    });

    if !rules.permitted_issuers.contains(&req.issue.issuer.role) {
        broken.push(RuleViolation::new(
            "ISSUER_NOT_PERMITTED",
            req.issue.issuer.role.as_str(),
            format!(
                "policy {policy_name} does not let a {} issue penalty notices",
                req.issue.issuer.role.as_str()
            ),
        ));
    }

    if req.offence.offence_type == OffenceType::S444Attendance {
        let best = evidence::best_window_count(policy, &req.issue.sessions, &registers.weeks);
        let t = &rules.threshold;
        if best < t.sessions {
            broken.push(RuleViolation::new(
                "THRESHOLD_NOT_MET",
                req.issue.pupil.upn.to_string(),
                format!(
                    "{best} qualifying sessions within any {} school weeks; policy {policy_name} requires {}",
                    t.window_school_weeks, t.sessions
                ),
            ));
        }
    }

    let needs_nti = req.offence.offence_type == OffenceType::S444Attendance
        && req
            .offence
            .reason
            .is_some_and(|r| rules.notice_to_improve_required_for.contains(&r));
    let claimed: BTreeSet<(NaiveDate, Session)> = req
        .issue
        .sessions
        .iter()
        .map(|s| (s.date, s.session))
        .collect();
    let requested_parents: HashSet<&str> = req
        .issue
        .parents
        .iter()
        .map(|p| p.person_id.as_str())
        .collect();

    let mut planned = Vec::new();
    for parent in &req.issue.parents {
        let subject = format!(
            "parent {} of pupil {}",
            parent.person_id, req.issue.pupil.upn
        );
        if needs_nti {
            let ntis: Vec<&Notice> = earlier
                .iter()
                .filter(|n| {
                    n.kind == NoticeKind::NoticeToImprove
                        && n.counts()
                        && n.parent.person_id == parent.person_id
                })
                .collect();
            let ended = ntis.iter().any(|n| {
                n.improvement_period
                    .as_ref()
                    .is_some_and(|p| p.end_date < req.issue.issue_date)
            });
            if !ended {
                let (rule, description) = match ntis
                    .iter()
                    .filter_map(|n| n.improvement_period.as_ref())
                    .map(|p| p.end_date)
                    .max()
                {
                    Some(end) => (
                        "NOTICE_TO_IMPROVE_PERIOD_NOT_ENDED",
                        format!("the notice to improve's improvement period runs to {end}"),
                    ),
                    None => (
                        "NOTICE_TO_IMPROVE_REQUIRED",
                        format!(
                            "policy {policy_name} requires a notice to improve before a penalty notice for {}",
                            req.offence.reason.map_or("this offence", |r| r.as_str())
                        ),
                    ),
                };
                broken.push(RuleViolation::new(rule, subject.clone(), description));
            }
        }

        if let Some(within) = limit_reached(
            policy,
            (earlier, shared),
            &parent.person_id,
            req.issue.issue_date,
        ) {
            broken.push(RuleViolation::new(
                "NOTICE_LIMIT",
                subject.clone(),
                format!(
                    "{} notices within {} years of {} ({}); at most {} are allowed",
                    within.len(),
                    rules.notice_limit_period_years,
                    req.issue.issue_date,
                    within
                        .iter()
                        .map(|n| n.label.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    rules.max_notices_per_parent_per_child
                ),
            ));
        }
        let counted = counted_before(
            policy,
            (earlier, shared),
            &parent.person_id,
            req.issue.issue_date,
        );
        let second_notice = !counted.is_empty() && rules.second_notice_amount_pence > 0;
        planned.push(PlannedNotice {
            parent: parent.clone(),
            second_notice,
            charges: charges(policy, receipt, second_notice),
        });
    }

    // A family cannot be fined twice for the same absence: a session already backing
    // a penalty notice may back another only for the same offence (same type,
    // reason and sessions) to a different parent.
    for n in earlier
        .iter()
        .filter(|n| n.kind == NoticeKind::PenaltyNotice && n.counts())
    {
        let theirs: BTreeSet<(NaiveDate, Session)> =
            n.sessions.iter().map(|s| (s.date, s.session)).collect();
        let overlap: Vec<_> = theirs.intersection(&claimed).collect();
        if overlap.is_empty() {
            continue;
        }
        let same_offence = theirs == claimed
            && n.offence.as_ref().map(|o| (o.offence_type, o.reason))
                == Some((req.offence.offence_type, req.offence.reason));
        if !same_offence || requested_parents.contains(n.parent.person_id.as_str()) {
            broken.push(RuleViolation::new(
                "SESSIONS_ALREADY_USED",
                n.notice_number.clone(),
                format!(
                    "{} of the sessions (first {} {}) are evidence for notice {}",
                    overlap.len(),
                    overlap[0].0,
                    overlap[0].1.as_str().to_uppercase(),
                    n.notice_number
                ),
            ));
        }
    }

    if broken.is_empty() {
        Ok((receipt, planned, session_evidence))
    } else {
        Err(Refusal::Rules(broken))
    }
}

/// Field-level checks of the claimed sessions that need the policy: each is a
/// real code on its date, counts as unauthorised absence or as qualifying under
/// the policy, is not after the issue date and is claimed once.
fn validate_sessions(policy: &PolicyVersion, req: &PenaltyRequest) -> Result<(), Refusal> {
    let mut invalid = Vec::new();
    if req.offence.offence_type == OffenceType::S444Attendance && req.issue.sessions.is_empty() {
        invalid.push(FieldViolation::new(
            "sessions",
            "an s444 offence needs the unauthorised sessions that make it up",
        ));
    }
    let mut seen = HashSet::new();
    for (i, s) in req.issue.sessions.iter().enumerate() {
        let field = format!("sessions[{i}]");
        if !seen.insert((s.date, s.session)) {
            invalid.push(FieldViolation::new(&field, "this session is listed twice"));
        }
        if s.date > req.issue.issue_date {
            invalid.push(FieldViolation::new(
                format!("{field}.date"),
                "a session after the issue date cannot be evidence",
            ));
        }
        match CodeSet::categorise(s.date, &s.code) {
            Err(e) => invalid.push(FieldViolation::new(format!("{field}.code"), e)),
            Ok(CodeCategory::UnauthorisedAbsence) => {}
            Ok(_) if req.offence.offence_type == OffenceType::S103ExcludedInPublic => {}
            Ok(_) if policy.rules.threshold.qualifying_codes.contains(&s.code) => {}
            Ok(category) => invalid.push(FieldViolation::new(
                format!("{field}.code"),
                format!("'{}' is {category:?}, not unauthorised absence", s.code),
            )),
        }
    }
    if invalid.is_empty() {
        Ok(())
    } else {
        Err(Refusal::Invalid(invalid))
    }
}

/// Decides a notice to improve request: the issuer may issue, the improvement
/// period is within the policy's range and starts no earlier than the issue date.
pub fn plan_notice_to_improve(
    policy: &PolicyVersion,
    policy_name: &str,
    req: &NoticeToImproveRequest,
    registers: &Registers,
) -> Result<(NaiveDate, ImprovementPeriod, Vec<SessionEvidence>), Refusal> {
    let rules = &policy.rules;
    let mut invalid = Vec::new();
    if req.start_date < req.issue.issue_date {
        invalid.push(FieldViolation::new(
            "improvement_period.start_date",
            "the improvement period cannot start before the issue date",
        ));
    }
    let range = rules.notice_to_improve_min_school_weeks..=rules.notice_to_improve_max_school_weeks;
    if !range.contains(&req.school_weeks) {
        invalid.push(FieldViolation::new(
            "improvement_period.school_weeks",
            format!(
                "policy {policy_name} sets improvement periods of {} to {} school weeks",
                range.start(),
                range.end()
            ),
        ));
    }
    if !invalid.is_empty() {
        return Err(Refusal::Invalid(invalid));
    }
    let receipt = receipt_date(req.issue.issue_date, &req.issue.delivery)?;
    if !rules.permitted_issuers.contains(&req.issue.issuer.role) {
        return Err(Refusal::Rules(vec![RuleViolation::new(
            "ISSUER_NOT_PERMITTED",
            req.issue.issuer.role.as_str(),
            format!(
                "policy {policy_name} does not let a {} issue notices",
                req.issue.issuer.role.as_str()
            ),
        )]));
    }
    let session_evidence = check_evidence(
        policy,
        policy_name,
        OffenceType::S444Attendance,
        &req.issue.sessions,
        &registers.held,
        &registers.weeks,
    )
    .map_err(Refusal::Rules)?;
    // School weeks as the registers show them; weeks no register is held for
    // (the future, mostly) count as school weeks.
    let end_date = registers
        .weeks
        .end_of_school_weeks(req.start_date, u32::try_from(req.school_weeks).unwrap_or(0));
    Ok((
        receipt,
        ImprovementPeriod {
            start_date: req.start_date,
            school_weeks: req.school_weeks,
            end_date,
            reason: req.reason.clone(),
        },
        session_evidence,
    ))
}

/// A notice number readable on a letter: `{la}-{year}-{serial:06}`.
pub fn notice_number(la: &str, year: i32, serial: i64) -> String {
    format!("{la}-{year}-{serial:06}")
}

/// A plain penalty notice for unit tests elsewhere in the domain.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::domain::identifiers::Urn;
    use crate::domain::policy::IssuerRole;

    /// A first penalty notice under the 2024 framework, received on `receipt`.
    pub fn penalty_notice(receipt: NaiveDate) -> Notice {
        let policy = crate::domain::policy::national_regimes().pop().unwrap();
        Notice {
            notice_number: "850-2025-000001".into(),
            kind: NoticeKind::PenaltyNotice,
            pupil: Pupil {
                upn: Upn::parse("B801200005001").unwrap(),
                school_urn: Urn::parse("116439").unwrap(),
                given_name: "Sam".into(),
                family_name: "Taylor".into(),
                address: Address::default(),
            },
            parent: Parent {
                person_id: "p".into(),
                given_name: "P".into(),
                family_name: "T".into(),
                address: Address::default(),
                liability: None,
            },
            related_notices: vec![],
            offence: None,
            sessions: vec![],
            issue_date: receipt,
            issuer: Issuer {
                role: IssuerRole::LaOfficer,
                display_name: "O".into(),
                official_details: String::new(),
                subject: "s".into(),
            },
            delivery: Delivery {
                method: DeliveryMethod::Hand,
                posting_date: None,
            },
            receipt_date: receipt,
            policy_version: "nationalRegimes/2024-08-19".into(),
            second_notice: false,
            charges: Some(charges(&policy, receipt, false)),
            improvement_period: None,
            part_payments_accepted: false,
            settlement: None,
            withdrawal: None,
            prosecution: None,
            created_at: chrono::DateTime::from_timestamp(1_738_000_000, 0).unwrap(),
            money: MoneyOnNotice::default(),
            session_evidence: vec![],
            evidence_corrections: vec![],
            other_authority_notices: vec![],
            sen_provision: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::identifiers::Urn;
    use crate::domain::policy::{IssuerRole, OffenceReason};
    use crate::domain::policy::{in_force, national_regimes};
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn national_2024() -> PolicyVersion {
        national_regimes().pop().unwrap()
    }

    fn pupil() -> Pupil {
        Pupil {
            upn: Upn::parse("B801200005001").unwrap(),
            school_urn: Urn::parse("116439").unwrap(),
            given_name: "Sam".into(),
            family_name: "Taylor".into(),
            address: Address {
                lines: vec!["1 High Street".into()],
                postcode: "SO23 8UJ".into(),
            },
        }
    }

    fn parent(id: &str) -> Parent {
        Parent {
            person_id: id.into(),
            given_name: id.into(),
            family_name: "Taylor".into(),
            address: Address::default(),
            liability: None,
        }
    }

    fn week_of(code: &str, monday: NaiveDate) -> Vec<SessionMark> {
        (0..5)
            .flat_map(|i| {
                [Session::Am, Session::Pm].map(|s| SessionMark {
                    date: monday + chrono::Duration::days(i),
                    session: s,
                    code: code.into(),
                })
            })
            .collect()
    }

    fn request(parents: &[&str], monday: NaiveDate, issue_date: NaiveDate) -> PenaltyRequest {
        PenaltyRequest {
            issue: Issue {
                pupil: pupil(),
                parents: parents.iter().map(|p| parent(p)).collect(),
                sessions: week_of("G", monday),
                breach: None,
                issue_date,
                issuer: Issuer {
                    role: IssuerRole::LaOfficer,
                    display_name: "Officer".into(),
                    official_details: String::new(),
                    subject: "s".into(),
                },
                delivery: Delivery {
                    method: DeliveryMethod::Hand,
                    posting_date: None,
                },
            },
            offence: Offence {
                offence_type: OffenceType::S444Attendance,
                reason: Some(OffenceReason::Holiday),
                description: String::new(),
            },
        }
    }

    /// A stored notice made from an accepted plan.
    fn stored(
        req: &PenaltyRequest,
        plan: &PlannedNotice,
        number: &str,
        receipt: NaiveDate,
    ) -> Notice {
        Notice {
            notice_number: number.into(),
            kind: NoticeKind::PenaltyNotice,
            pupil: req.issue.pupil.clone(),
            parent: plan.parent.clone(),
            related_notices: vec![],
            offence: Some(req.offence.clone()),
            sessions: req.issue.sessions.clone(),
            issue_date: req.issue.issue_date,
            issuer: req.issue.issuer.clone(),
            delivery: req.issue.delivery.clone(),
            receipt_date: receipt,
            policy_version: "p".into(),
            second_notice: plan.second_notice,
            charges: Some(plan.charges.clone()),
            improvement_period: None,
            part_payments_accepted: false,
            settlement: None,
            withdrawal: None,
            prosecution: None,
            created_at: chrono::DateTime::from_timestamp(1_738_000_000, 0).unwrap(),
            money: MoneyOnNotice::default(),
            session_evidence: vec![],
            evidence_corrections: vec![],
            other_authority_notices: vec![],
            sen_provision: None,
        }
    }

    fn rules(r: Result<PenaltyPlan, Refusal>) -> Vec<&'static str> {
        match r {
            Err(Refusal::Rules(v)) => v.into_iter().map(|v| v.rule).collect(),
            other => panic!("expected a rule refusal, got {other:?}"),
        }
    }

    #[test]
    fn second_notice_is_flat_and_third_is_refused_within_three_years() {
        let policy = national_2024();
        let mut earlier = Vec::new();
        for (i, monday) in [d(2024, 9, 9), d(2025, 1, 6)].into_iter().enumerate() {
            let req = request(&["mum"], monday, monday + chrono::Duration::days(21));
            let (receipt, plans, _) =
                plan_penalty_notices(&policy, "p", (&earlier, &[]), &req, &Registers::none())
                    .unwrap();
            assert_eq!(plans[0].second_notice, i == 1);
            if i == 1 {
                assert_eq!(
                    (
                        plans[0].charges.lower_amount_pence,
                        plans[0].charges.higher_amount_pence
                    ),
                    (0, 16_000)
                );
                assert_eq!(plans[0].charges.lower_deadline, None);
            }
            earlier.push(stored(&req, &plans[0], &format!("n{i}"), receipt));
        }
        let third = request(&["mum"], d(2025, 6, 2), d(2025, 6, 23));
        assert_eq!(
            rules(plan_penalty_notices(
                &policy,
                "p",
                (&earlier, &[]),
                &third,
                &Registers::none()
            )),
            ["NOTICE_LIMIT"]
        );
        // Three years after the first notice it no longer counts: a second notice again.
        let later = request(&["mum"], d(2027, 9, 20), d(2027, 10, 22));
        let (_, plans, _) =
            plan_penalty_notices(&policy, "p", (&earlier, &[]), &later, &Registers::none())
                .unwrap();
        assert!(plans[0].second_notice);
        // A notice backdated before the two cannot slip under the limit either.
        let backdated = request(&["mum"], d(2024, 8, 26), d(2024, 9, 2));
        assert_eq!(
            rules(plan_penalty_notices(
                &policy,
                "p",
                (&earlier, &[]),
                &backdated,
                &Registers::none()
            )),
            ["NOTICE_LIMIT"]
        );
        // A withdrawn notice does not count.
        earlier[1].withdrawal = Some(Withdrawal {
            ground: WithdrawalGround::MaterialErrors,
            reason: "x".into(),
            date: d(2025, 2, 1),
        });
        assert!(
            plan_penalty_notices(&policy, "p", (&earlier, &[]), &third, &Registers::none()).is_ok()
        );
    }

    #[test]
    fn another_authoritys_matched_notices_count_and_doubtful_ones_do_not() {
        let policy = national_2024();
        let shared = |counted: bool, day: NaiveDate| OtherAuthorityNotice {
            person_id: "mum".into(),
            la_code: "852".into(),
            issue_date: day,
            counted,
        };
        let req = request(&["mum"], d(2025, 1, 6), d(2025, 2, 3));
        let plan = |shared: &[OtherAuthorityNotice]| {
            plan_penalty_notices(&policy, "p", (&[], shared), &req, &Registers::none())
        };
        assert!(plan(&[shared(true, d(2024, 11, 4))]).unwrap().1[0].second_notice);
        assert!(!plan(&[shared(false, d(2024, 11, 4))]).unwrap().1[0].second_notice);
        let refused =
            plan(&[shared(true, d(2024, 11, 4)), shared(true, d(2024, 12, 2))]).unwrap_err();
        let Refusal::Rules(broken) = refused else {
            panic!("{refused:?}")
        };
        assert_eq!(broken[0].rule, "NOTICE_LIMIT");
        assert!(
            broken[0]
                .description
                .contains("one of authority 852 issued on 2024-11-04")
        );
    }

    #[test]
    fn notices_before_the_2024_framework_do_not_count() {
        let old_policy = in_force(&[], d(2024, 6, 1)).unwrap();
        let old = request(&["mum"], d(2024, 5, 6), d(2024, 6, 1));
        let (receipt, plans, _) =
            plan_penalty_notices(&old_policy, "p", (&[], &[]), &old, &Registers::none()).unwrap();
        let earlier = vec![stored(&old, &plans[0], "old", receipt)];
        let new = request(&["mum"], d(2024, 9, 9), d(2024, 10, 1));
        let (_, plans, _) = plan_penalty_notices(
            &national_2024(),
            "p",
            (&earlier, &[]),
            &new,
            &Registers::none(),
        )
        .unwrap();
        assert!(!plans[0].second_notice);
    }

    #[test]
    fn threshold_counts_only_qualifying_codes_within_the_window() {
        let policy = national_2024();
        let mut sessions = week_of("G", d(2025, 1, 6));
        assert_eq!(
            evidence::best_window_count(&policy, &sessions, &RegisterWeeks::none()),
            10
        );
        sessions[0].code = "L".into();
        assert_eq!(
            evidence::best_window_count(&policy, &sessions, &RegisterWeeks::none()),
            9
        );
        let spread: Vec<_> = week_of("G", d(2025, 1, 6))
            .into_iter()
            .take(5)
            .chain(week_of("O", d(2025, 3, 17)).into_iter().take(5))
            .collect();
        assert_eq!(
            evidence::best_window_count(&policy, &spread, &RegisterWeeks::none()),
            5,
            "10 weeks apart is outside a 10-week window"
        );
        let close: Vec<_> = week_of("G", d(2025, 1, 6))
            .into_iter()
            .take(5)
            .chain(week_of("O", d(2025, 3, 10)).into_iter().take(5))
            .collect();
        assert_eq!(
            evidence::best_window_count(&policy, &close, &RegisterWeeks::none()),
            10,
            "the 10th week is inside the window"
        );
    }

    #[test]
    fn status_follows_facts_then_dates() {
        let policy = national_2024();
        let req = request(&["mum"], d(2025, 1, 6), d(2025, 2, 3));
        let (receipt, plans, _) =
            plan_penalty_notices(&policy, "p", (&[], &[]), &req, &Registers::none()).unwrap();
        let mut n = stored(&req, &plans[0], "n", receipt);
        assert_eq!(n.status(d(2025, 3, 2)), NoticeStatus::Issued);
        assert_eq!(n.status(d(2025, 3, 3)), NoticeStatus::Unpaid);
        n.settlement = Some(Settlement {
            rate: PaidRate::Lower,
            date: d(2025, 2, 10),
        });
        assert_eq!(n.status(d(2025, 3, 3)), NoticeStatus::Paid);
        n.withdrawal = Some(Withdrawal {
            ground: WithdrawalGround::MaterialErrors,
            reason: "x".into(),
            date: d(2025, 3, 5),
        });
        assert_eq!(n.status(d(2025, 3, 3)), NoticeStatus::Withdrawn);
    }

    proptest! {
        /// Periods are "N days beginning with the day of receipt": the lower deadline is
        /// receipt + lower days - 1, the higher receipt + higher days - 1, and a posted
        /// notice is never received before the second day after posting.
        #[test]
        fn deadlines_count_from_the_day_of_receipt(offset in 0i64..1400, posted in any::<bool>(), second in any::<bool>()) {
            let policy = national_2024();
            let issue = d(2024, 1, 1) + chrono::Duration::days(offset);
            let delivery = if posted {
                Delivery { method: DeliveryMethod::Post, posting_date: Some(issue) }
            } else {
                Delivery { method: DeliveryMethod::Hand, posting_date: None }
            };
            let receipt = receipt_date(issue, &delivery).unwrap();
            if posted {
                prop_assert!(receipt >= issue + chrono::Duration::days(2));
                prop_assert!(receipt <= issue + chrono::Duration::days(8));
            } else {
                prop_assert_eq!(receipt, issue);
            }
            let c = charges(&policy, receipt, second);
            prop_assert_eq!((c.higher_deadline - receipt).num_days(), 27);
            match c.lower_deadline {
                Some(lower) => prop_assert_eq!((lower - receipt).num_days(), 20),
                None => prop_assert!(second),
            }
        }
    }
}
