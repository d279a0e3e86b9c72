//! Schools' requests to the authority for penalty notices, and the local code's
//! deadline for them (DOMAIN.md: "schools must request a notice within 10
//! school days of the pupil's return" is local: `request_deadline_school_days`).

use chrono::{DateTime, NaiveDate, Utc};

use super::actor::Actor;
use super::notice::SessionMark;
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

/// The local deadline: at most `deadline` school days (0: no deadline) may
/// have passed since the offence's last session. `elapsed` counts the school's
/// days with a possible session after `last` up to the request date, so the
/// pupil's day of return is day 1.
pub fn check_request_deadline(
    deadline: i32,
    last: NaiveDate,
    elapsed: i64,
    school: &str,
) -> Result<(), RuleViolation> {
    if deadline == 0 || elapsed <= i64::from(deadline) {
        return Ok(());
    }
    Err(RuleViolation::new(
        "REQUEST_DEADLINE",
        format!("school {school}"),
        format!(
            "the local code's deadline is {deadline} school days after the last session \
             ({last}); {elapsed} school days at the school have passed"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_allows_its_last_day_and_refuses_the_next() {
        let last = NaiveDate::from_ymd_opt(2025, 3, 7).unwrap();
        assert!(check_request_deadline(10, last, 10, "116439").is_ok());
        let refused = check_request_deadline(10, last, 11, "116439").unwrap_err();
        assert_eq!(refused.rule, "REQUEST_DEADLINE");
        assert!(refused.description.contains("10 school days"));
        assert!(check_request_deadline(0, last, 400, "116439").is_ok());
    }
}
