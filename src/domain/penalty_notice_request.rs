//! Schools' requests to the authority for penalty notices, and the local code's
//! deadline for them (docs/domain.md: "schools must request a notice within 10
//! school days of the pupil's return" is local: `request_deadline_school_days`).
//! The deadline runs from the pupil's return as the register shows it: the
//! first school day after the claimed absence with the pupil present is day 1,
//! and while no register shows the return the deadline has not begun.

use chrono::{DateTime, NaiveDate, Utc};

use super::actor::Actor;
use super::notice::SessionMark;
use super::register_codes::{CodeCategory, CodeSet};
use super::session::PupilMark;
use super::violation::RuleViolation;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PenaltyNoticeRequestState {
    Pending,
    Issued,
    Declined,
}

impl PenaltyNoticeRequestState {
    pub fn number(self) -> i16 {
        match self {
            PenaltyNoticeRequestState::Pending => 0,
            PenaltyNoticeRequestState::Issued => 1,
            PenaltyNoticeRequestState::Declined => 2,
        }
    }

    pub fn from_number(n: i16) -> Option<Self> {
        Some(match n {
            0 => PenaltyNoticeRequestState::Pending,
            1 => PenaltyNoticeRequestState::Issued,
            2 => PenaltyNoticeRequestState::Declined,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PenaltyNoticeRequestState::Pending => "pending",
            PenaltyNoticeRequestState::Issued => "issued",
            PenaltyNoticeRequestState::Declined => "declined",
        }
    }
}

/// What a school sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PenaltyNoticeRequestDraft {
    pub upn: String,
    pub school_urn: String,
    pub parent_person_ids: Vec<String>,
    pub sessions: Vec<SessionMark>,
    pub support_offered: String,
}

/// A school's request for a penalty notice, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PenaltyNoticeRequest {
    pub number: i64,
    pub draft: PenaltyNoticeRequestDraft,
    pub state: PenaltyNoticeRequestState,
    pub requested_by: Actor,
    pub requested_at: DateTime<Utc>,
    pub school_days_elapsed: i32,
    pub deadline_school_days: i32,
    pub decline_reason: String,
    pub notice_numbers: Vec<String>,
}

/// The last session an offence claims.
pub fn last_session(sessions: &[SessionMark]) -> Option<NaiveDate> {
    sessions.iter().map(|s| s.date).max()
}

/// The pupil's return after the claimed absence: the first day after `last`
/// (the claim's last session) on which a register shows the pupil present or
/// at an approved educational activity (a code of either category, at any
/// school). `None` while no register held shows it. `marks` in any order;
/// codes unknown on their date do not count.
pub fn return_day(last: NaiveDate, marks: &[PupilMark]) -> Option<NaiveDate> {
    marks
        .iter()
        .filter(|m| m.date > last)
        .filter(|m| {
            matches!(
                CodeSet::categorise(m.date, &m.code),
                Ok(CodeCategory::Present | CodeCategory::ApprovedActivity)
            )
        })
        .map(|m| m.date)
        .min()
}

/// The local deadline: at most `deadline` school days (0: no deadline) from
/// the pupil's return (`returned`, day 1). `elapsed` counts the school's days
/// with a possible session from the return to the request date, both
/// included. While no register shows the return (`returned` is `None`) the
/// deadline has not begun and a request is in time.
pub fn check_request_deadline(
    deadline: i32,
    returned: Option<NaiveDate>,
    elapsed: i64,
    school: &str,
) -> Result<(), RuleViolation> {
    let Some(returned) = returned else {
        return Ok(());
    };
    if deadline == 0 || elapsed <= i64::from(deadline) {
        return Ok(());
    }
    Err(RuleViolation::new(
        "REQUEST_DEADLINE",
        format!("school {school}"),
        format!(
            "the local code's deadline is {deadline} school days from the pupil's return \
             ({returned}, day 1); {elapsed} school days at the school have passed"
        ),
    ))
}

/// The last day of the local deadline, or `None` when the code sets none
/// (`deadline` 0): the `deadline`-th school day after `last`, the day before
/// the pupil's return (so the return is day 1), the day
/// [`check_request_deadline`] still allows.
///
/// `held` are the days with a possible session at the school after `last`, as
/// the registers held show them (sorted; the request deadline counts the same
/// days). Past the last of them (or `last` itself when none is held yet) the
/// registers are not in: each England and Wales working day is taken as a
/// school day, so a deadline in the future moves once registers show a
/// closure or an INSET day, and never lands on a weekend or bank holiday.
pub fn deadline_date(deadline: i32, last: NaiveDate, held: &[NaiveDate]) -> Option<NaiveDate> {
    let wanted = usize::try_from(deadline).ok().filter(|&n| n > 0)?;
    let after: Vec<NaiveDate> = held.iter().copied().filter(|&d| d > last).collect();
    if let Some(&day) = after.get(wanted - 1) {
        return Some(day);
    }
    let from = after.last().copied().unwrap_or(last);
    let remaining = u32::try_from(wanted - after.len()).ok()?;
    super::calendar::nth_working_day_after(from, remaining).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_deadline_date_is_the_last_day_the_deadline_check_allows() {
        // A school open every weekday of March 2025 but the week of the 17th
        // (a closure the registers show).
        let last = d(2025, 3, 7);
        let held: Vec<NaiveDate> = (8..=31)
            .map(|day| d(2025, 3, day))
            .filter(|day| chrono::Datelike::weekday(day).number_from_monday() <= 5)
            .filter(|day| !(17..=21).contains(&chrono::Datelike::day(day)))
            .collect();
        // On every school day the check allows a request exactly up to the date.
        for deadline in 1..=10 {
            let date = deadline_date(deadline, last, &held).unwrap();
            assert!(held.contains(&date));
            for &day in &held {
                let elapsed = held.iter().filter(|&&h| h <= day).count() as i64;
                assert_eq!(
                    check_request_deadline(deadline, Some(held[0]), elapsed, "116439").is_ok(),
                    day <= date,
                    "deadline {deadline}, {day}"
                );
            }
        }
        assert_eq!(deadline_date(5, last, &held), Some(d(2025, 3, 14)));
        assert_eq!(
            deadline_date(6, last, &held),
            Some(d(2025, 3, 24)),
            "the closed week skipped"
        );
        assert_eq!(deadline_date(0, last, &held), None, "no deadline");
    }

    #[test]
    fn past_the_registers_held_working_days_count() {
        // Registers held to Wednesday 16 April 2025; Good Friday (18th) and
        // Easter Monday (21st) are bank holidays.
        let last = d(2025, 4, 14);
        let held = [d(2025, 4, 15), d(2025, 4, 16)];
        assert_eq!(deadline_date(2, last, &held), Some(d(2025, 4, 16)));
        assert_eq!(deadline_date(3, last, &held), Some(d(2025, 4, 17)));
        assert_eq!(deadline_date(4, last, &held), Some(d(2025, 4, 22)));
        assert_eq!(deadline_date(1, last, &[]), Some(d(2025, 4, 15)));
    }

    #[test]
    fn the_deadline_allows_its_last_day_and_refuses_the_next() {
        let returned = Some(NaiveDate::from_ymd_opt(2025, 3, 10).unwrap());
        assert!(check_request_deadline(10, returned, 10, "116439").is_ok());
        let refused = check_request_deadline(10, returned, 11, "116439").unwrap_err();
        assert_eq!(refused.rule, "REQUEST_DEADLINE");
        assert!(refused.description.contains("10 school days"));
        assert!(refused.description.contains("2025-03-10"));
        assert!(check_request_deadline(0, returned, 400, "116439").is_ok());
    }

    #[test]
    fn before_the_return_is_registered_the_deadline_has_not_begun() {
        assert!(check_request_deadline(10, None, 400, "116439").is_ok());
    }

    fn pm(date: NaiveDate, code: &str) -> PupilMark {
        PupilMark {
            date,
            session: crate::domain::notice::Session::Am,
            code: code.into(),
        }
    }

    #[test]
    fn the_return_is_the_first_day_present_after_the_claimed_absence() {
        // A week of holiday to Friday 7 March 2025, then off ill (I) for 7
        // school days, back on Wednesday 19 March (late, L, is present).
        let last = d(2025, 3, 7);
        let mut marks = vec![pm(d(2025, 3, 7), "G"), pm(d(2025, 3, 3), "/")];
        for day in [10, 11, 12, 13, 14, 17, 18] {
            marks.push(pm(d(2025, 3, day), "I"));
        }
        assert_eq!(return_day(last, &marks), None, "not back yet");
        marks.push(pm(d(2025, 3, 20), "/"));
        marks.push(pm(d(2025, 3, 19), "L"));
        assert_eq!(return_day(last, &marks), Some(d(2025, 3, 19)));
        // An approved educational activity (K: provision arranged by the LA)
        // counts; a closure (Y1) or an unknown code does not.
        let activity = [
            pm(d(2025, 3, 10), "Y1"),
            pm(d(2025, 3, 11), "?"),
            pm(d(2025, 3, 12), "K"),
        ];
        assert_eq!(return_day(last, &activity), Some(d(2025, 3, 12)));
    }
}
