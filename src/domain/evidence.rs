//! The registers as evidence for a notice: each claimed session checked against
//! the mark the authority holds for it, and school weeks as the registers held
//! show them (issue 15).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::RuleViolation;
use super::calendar::{self, week_start};
use super::policy::OffenceType;
use super::policy::{EvidenceRule, PolicyVersion};
use super::register_codes::{CodeCategory, CodeSet};
use super::session::{PupilMark, Session, SessionMark};

/// A mark the authority holds for a pupil: the session and the school that sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldSession {
    pub school_urn: String,
    pub mark: PupilMark,
}

/// The mark a claimed session was matched to at issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedMark {
    pub code: String,
    pub school_urn: String,
}

/// One claimed session of a notice and what the registers held at issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEvidence {
    pub date: NaiveDate,
    pub session: Session,
    pub claimed_code: String,
    /// `None`: no mark was held for the session (a claim the policy accepted).
    pub held: Option<MatchedMark>,
}

/// A later change of a mark that backed a notice at issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceCorrection {
    pub date: NaiveDate,
    pub session: Session,
    pub school_urn: String,
    pub previous_code: String,
    pub new_code: String,
    pub at: DateTime<Utc>,
    /// The RecordMarks batch that changed it.
    pub request_id: String,
}

/// A held mark replaced by a later one (what RecordMarks changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplacedMark {
    pub upn: String,
    pub school_urn: String,
    pub date: NaiveDate,
    pub session: Session,
    pub previous_code: String,
    pub new_code: String,
}

/// A pupil's school weeks as the registers held show them: the weeks in which a
/// school the pupil is on the register of had a possible session (as for
/// `ListThresholdBreaches`), and the spans of weeks each of those schools has
/// sent registers for. Inside a span a week without a possible session is a
/// holiday or closure; outside every span nothing is known and the week is
/// taken as a school week, as calendar weeks were before registers were held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterWeeks {
    school_weeks: BTreeSet<NaiveDate>,
    spans: Vec<(NaiveDate, NaiveDate)>,
}

impl RegisterWeeks {
    /// `school_weeks` are Mondays; `spans` each school's first and last school week.
    pub fn new(school_weeks: BTreeSet<NaiveDate>, spans: Vec<(NaiveDate, NaiveDate)>) -> Self {
        Self {
            school_weeks,
            spans,
        }
    }

    /// No registers held: every week is taken as a school week.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether a school the pupil is on the register of sent registers spanning
    /// the week of `day`.
    pub fn registers_held(&self, day: NaiveDate) -> bool {
        let monday = week_start(day);
        self.spans
            .iter()
            .any(|&(first, last)| first <= monday && monday <= last)
    }

    /// Whether a school the pupil is on the register of sent registers with a
    /// possible session in the week of `day`.
    pub fn had_possible_session(&self, day: NaiveDate) -> bool {
        self.school_weeks.contains(&week_start(day))
    }

    /// Whether the week of `day` is a school week: one with a possible session,
    /// or one no register is held for.
    pub fn is_school_week(&self, day: NaiveDate) -> bool {
        let monday = week_start(day);
        self.school_weeks.contains(&monday) || !self.registers_held(monday)
    }

    /// The last day of a period of `school_weeks` school weeks from `start`: it
    /// runs in blocks of seven days from `start`, and a block whose first day
    /// falls in a week that is not a school week (a holiday) does not count.
    pub fn end_of_school_weeks(&self, start: NaiveDate, school_weeks: u32) -> NaiveDate {
        let mut counted = 0;
        let mut blocks: u32 = 0;
        // A period can pass at most a year of holidays: beyond that the
        // registers are not telling of a school at all.
        while counted < school_weeks && blocks < school_weeks + 52 {
            let first = start + Duration::weeks(i64::from(blocks));
            if self.is_school_week(first) {
                counted += 1;
            }
            blocks += 1;
        }
        calendar::last_day_of_period(start, blocks.saturating_mul(7))
    }
}

/// The most qualifying sessions within any window of the policy's number of
/// school weeks: a window starts in the week of a qualifying session and runs
/// until it holds that many school weeks, skipping holidays the registers show.
pub fn best_window_count(
    policy: &PolicyVersion,
    sessions: &[SessionMark],
    weeks: &RegisterWeeks,
) -> i32 {
    let t = &policy.rules.threshold;
    let mut per_week: BTreeMap<NaiveDate, i32> = BTreeMap::new();
    for s in sessions
        .iter()
        .filter(|s| t.qualifying_codes.contains(&s.code))
    {
        *per_week.entry(week_start(s.date)).or_default() += 1;
    }
    let Some(&last) = per_week.keys().next_back() else {
        return 0;
    };
    let length = t.window_school_weeks.max(1);
    per_week
        .keys()
        .map(|&first| {
            let (mut counted, mut week) = (0, first);
            loop {
                if weeks.is_school_week(week) {
                    counted += 1;
                }
                if counted >= length || week >= last {
                    break;
                }
                week += Duration::weeks(1);
            }
            per_week.range(first..=week).map(|(_, n)| n).sum::<i32>()
        })
        .max()
        .unwrap_or(0)
}

/// Whether a held code can back a notice for this offence: for s444, one of
/// the policy's qualifying codes; for s103 (an excluded pupil in public), an
/// absence of any kind.
fn backs(policy: &PolicyVersion, offence: OffenceType, date: NaiveDate, code: &str) -> bool {
    match offence {
        OffenceType::S444Attendance => policy
            .rules
            .threshold
            .qualifying_codes
            .iter()
            .any(|c| c == code),
        OffenceType::S103ExcludedInPublic => matches!(
            CodeSet::categorise(date, code),
            Ok(CodeCategory::AuthorisedAbsence | CodeCategory::UnauthorisedAbsence)
        ),
    }
}

/// Checks every claimed session against the registers held, under the policy
/// in force. Every held mark of a claimed session must back the offence; a
/// session without one is accepted only under `ClaimsAllowed`, or where no
/// school of the pupil sent registers for its week. Every refused session is named, with the held
/// code and the school it came from.
pub fn check_evidence(
    policy: &PolicyVersion,
    policy_name: &str,
    offence: OffenceType,
    claims: &[SessionMark],
    held: &[HeldSession],
    weeks: &RegisterWeeks,
) -> Result<Vec<SessionEvidence>, Vec<RuleViolation>> {
    let mut by_session: BTreeMap<(NaiveDate, Session), Vec<&HeldSession>> = BTreeMap::new();
    for h in held {
        by_session
            .entry((h.mark.date, h.mark.session))
            .or_default()
            .push(h);
    }
    let mut evidence = Vec::with_capacity(claims.len());
    let mut broken = Vec::new();
    for claim in claims {
        let subject = format!("{} {}", claim.date, claim.session.as_str().to_uppercase());
        let held_marks = by_session
            .get(&(claim.date, claim.session))
            .map_or(&[][..], Vec::as_slice);
        // A dual-registered pupil's other school marks the session as not
        // possible there (`D`): only the schools where it was a possible
        // session say what happened, unless none was.
        let possible: Vec<&HeldSession> = held_marks
            .iter()
            .copied()
            .filter(|h| {
                CodeSet::categorise(h.mark.date, &h.mark.code)
                    .is_ok_and(|c| c != CodeCategory::NotPossible)
            })
            .collect();
        let marks: Vec<&HeldSession> = if possible.is_empty() {
            held_marks.to_vec()
        } else {
            possible
        };
        let refused: Vec<&&HeldSession> = marks
            .iter()
            .filter(|h| !backs(policy, offence, h.mark.date, &h.mark.code))
            .collect();
        for h in &refused {
            broken.push(RuleViolation::new(
                "REGISTER_CONTRADICTS_CLAIM",
                subject.clone(),
                format!(
                    "claimed as '{}', but the register of school {} holds '{}', which is not a qualifying code under policy {policy_name}",
                    claim.code, h.school_urn, h.mark.code
                ),
            ));
        }
        if !refused.is_empty() {
            continue;
        }
        let matched = marks.first().map(|h| MatchedMark {
            code: h.mark.code.clone(),
            school_urn: h.school_urn.clone(),
        });
        if matched.is_none()
            && policy.rules.evidence == EvidenceRule::RegisterRequired
            && weeks.had_possible_session(claim.date)
        {
            broken.push(RuleViolation::new(
                "SESSION_NOT_IN_REGISTER",
                subject.clone(),
                format!(
                    "the registers held for the week of {} have no mark for this session, and policy {policy_name} requires one",
                    week_start(claim.date)
                ),
            ));
            continue;
        }
        evidence.push(SessionEvidence {
            date: claim.date,
            session: claim.session,
            claimed_code: claim.code.clone(),
            held: matched,
        });
    }
    if broken.is_empty() {
        Ok(evidence)
    } else {
        Err(broken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::national_regimes;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn claim(date: NaiveDate, code: &str) -> SessionMark {
        SessionMark {
            date,
            session: Session::Am,
            code: code.into(),
        }
    }

    fn held(date: NaiveDate, code: &str) -> HeldSession {
        HeldSession {
            school_urn: "116439".into(),
            mark: PupilMark {
                date,
                session: Session::Am,
                code: code.into(),
            },
        }
    }

    /// Registers from one school for the weeks from `first`, `open` saying
    /// which of them had a possible session.
    fn registers(first: NaiveDate, open: &[bool]) -> RegisterWeeks {
        let weeks = open
            .iter()
            .enumerate()
            .filter(|(_, o)| **o)
            .map(|(i, _)| first + Duration::weeks(i as i64))
            .collect();
        let last = first + Duration::weeks(open.len() as i64 - 1);
        RegisterWeeks::new(weeks, vec![(first, last)])
    }

    #[test]
    fn a_held_present_mark_refuses_the_claim_and_a_held_g_matches() {
        let policy = national_regimes().pop().unwrap();
        let monday = d(2026, 3, 2);
        let weeks = registers(monday, &[true]);
        let claims = [claim(monday, "G"), claim(monday + Duration::days(1), "G")];
        let refused = check_evidence(
            &policy,
            "p",
            OffenceType::S444Attendance,
            &claims,
            &[held(monday, "/"), held(monday + Duration::days(1), "G")],
            &weeks,
        )
        .unwrap_err();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].rule, "REGISTER_CONTRADICTS_CLAIM");
        assert_eq!(refused[0].subject, "2026-03-02 AM");
        let evidence = check_evidence(
            &policy,
            "p",
            OffenceType::S444Attendance,
            &claims,
            &[held(monday, "O"), held(monday + Duration::days(1), "G")],
            &weeks,
        )
        .unwrap();
        assert!(evidence.iter().all(|e| e.held.is_some()));
        assert_eq!(evidence[0].held.as_ref().unwrap().code, "O");
    }

    #[test]
    fn a_dual_registered_pupils_other_school_neither_backs_nor_contradicts() {
        let policy = national_regimes().pop().unwrap();
        let monday = d(2026, 3, 2);
        let at_other = |code: &str| HeldSession {
            school_urn: "116440".into(),
            ..held(monday, code)
        };
        let claims = [claim(monday, "G")];
        let evidence = check_evidence(
            &policy,
            "p",
            OffenceType::S444Attendance,
            &claims,
            &[at_other("D"), held(monday, "G")],
            &registers(monday, &[true]),
        )
        .unwrap();
        assert_eq!(evidence[0].held.as_ref().unwrap().school_urn, "116439");
        // Held only as not possible (a closure): that contradicts the claim.
        let refused = check_evidence(
            &policy,
            "p",
            OffenceType::S444Attendance,
            &claims,
            &[held(monday, "#")],
            &registers(monday, &[true]),
        )
        .unwrap_err();
        assert_eq!(refused[0].rule, "REGISTER_CONTRADICTS_CLAIM");
    }

    #[test]
    fn an_unheld_session_is_refused_only_where_registers_are_held_and_required() {
        let mut policy = national_regimes().pop().unwrap();
        let monday = d(2026, 3, 2);
        let claims = [claim(monday, "G")];
        let weeks = registers(monday, &[true]);
        let refused = check_evidence(
            &policy,
            "p",
            OffenceType::S444Attendance,
            &claims,
            &[],
            &weeks,
        )
        .unwrap_err();
        assert_eq!(refused[0].rule, "SESSION_NOT_IN_REGISTER");
        // No register held for that week: the claim stands, unmatched.
        let ok = check_evidence(
            &policy,
            "p",
            OffenceType::S444Attendance,
            &claims,
            &[],
            &RegisterWeeks::none(),
        )
        .unwrap();
        assert_eq!(ok[0].held, None);
        policy.rules.evidence = EvidenceRule::ClaimsAllowed;
        let ok = check_evidence(
            &policy,
            "p",
            OffenceType::S444Attendance,
            &claims,
            &[],
            &weeks,
        )
        .unwrap();
        assert_eq!(ok[0].held, None);
    }

    #[test]
    fn a_half_term_inside_the_registers_is_no_school_week() {
        let policy = national_regimes().pop().unwrap();
        let first = d(2026, 1, 5);
        // Eleven weeks, the seventh a half-term with no possible session.
        let mut open = [true; 11];
        open[6] = false;
        let claims: Vec<SessionMark> = (0..5)
            .map(|i| claim(first + Duration::days(i), "G"))
            .chain((0..5).map(|i| claim(first + Duration::weeks(10) + Duration::days(i), "G")))
            .collect();
        assert_eq!(
            best_window_count(&policy, &claims, &registers(first, &open)),
            10
        );
        assert_eq!(
            best_window_count(&policy, &claims, &registers(first, &[true; 11])),
            5
        );
        assert_eq!(
            best_window_count(&policy, &claims, &RegisterWeeks::none()),
            5
        );
        // A period of 6 school weeks from the fourth week passes the half-term.
        let start = first + Duration::weeks(3);
        assert_eq!(
            registers(first, &open).end_of_school_weeks(start, 6),
            start + Duration::days(48)
        );
        assert_eq!(
            RegisterWeeks::none().end_of_school_weeks(start, 6),
            start + Duration::days(41)
        );
    }
}
