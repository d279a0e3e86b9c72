//! A breach as the start of a case: every breach is considered and its decision
//! recorded (DfE guidance: a notice must be *considered* when the threshold is
//! met). A breach found live is pending; a decision stores the case with the
//! breach's qualifying sessions, and those sessions are then consumed: the
//! threshold counts, for that pupil, only qualifying sessions after the last
//! session of the pupil's latest decided case. So a decided breach stays decided
//! when new marks arrive, and a breach after it is a new pending case.

use chrono::{DateTime, NaiveDate, Utc};

use super::actor::Actor;
use super::attendance::{Breach, PupilMark};
use super::notice::{NoticeKind, Session};
use super::violation::FieldViolation;

/// Where a breach stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BreachState {
    /// Found on the registers, not yet decided.
    Pending,
    NoticeToImproveIssued,
    PenaltyNoticeIssued,
    NoAction,
    ReferredToProsecution,
    /// Another measure than a notice or prosecution (for example a parenting
    /// contract or an education supervision order): named in the note.
    OtherMeasure,
}

impl BreachState {
    /// The stored number (never reused).
    pub fn number(self) -> i16 {
        match self {
            BreachState::Pending => 0,
            BreachState::NoticeToImproveIssued => 1,
            BreachState::PenaltyNoticeIssued => 2,
            BreachState::NoAction => 3,
            BreachState::ReferredToProsecution => 4,
            BreachState::OtherMeasure => 5,
        }
    }

    /// The state stored as `n`.
    pub fn from_number(n: i16) -> Option<Self> {
        Self::all().find(|s| s.number() == n)
    }

    /// Every state, in stored order, chained by [`BreachState::next`]: a new
    /// state fails to compile there (and in `number`, `as_str`, `is_decided`)
    /// until it is placed, so no list of states can leave it out.
    pub fn all() -> impl Iterator<Item = BreachState> {
        std::iter::successors(Some(BreachState::Pending), |s| s.next())
    }

    fn next(self) -> Option<Self> {
        match self {
            BreachState::Pending => Some(BreachState::NoticeToImproveIssued),
            BreachState::NoticeToImproveIssued => Some(BreachState::PenaltyNoticeIssued),
            BreachState::PenaltyNoticeIssued => Some(BreachState::NoAction),
            BreachState::NoAction => Some(BreachState::ReferredToProsecution),
            BreachState::ReferredToProsecution => Some(BreachState::OtherMeasure),
            BreachState::OtherMeasure => None,
        }
    }

    /// Whether a decision leaves a breach in this state (it is then a stored case).
    pub fn is_decided(self) -> bool {
        match self {
            BreachState::Pending => false,
            BreachState::NoticeToImproveIssued
            | BreachState::PenaltyNoticeIssued
            | BreachState::NoAction
            | BreachState::ReferredToProsecution
            | BreachState::OtherMeasure => true,
        }
    }

    /// Every state a decision can leave a breach in.
    pub fn decided() -> Vec<BreachState> {
        Self::all().filter(|s| s.is_decided()).collect()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BreachState::Pending => "pending",
            BreachState::NoticeToImproveIssued => "notice_to_improve_issued",
            BreachState::PenaltyNoticeIssued => "penalty_notice_issued",
            BreachState::NoAction => "no_action",
            BreachState::ReferredToProsecution => "referred_to_prosecution",
            BreachState::OtherMeasure => "other_measure",
        }
    }

    /// The state a notice of `kind` issued for the breach leaves it in.
    pub fn issued(kind: NoticeKind) -> Self {
        match kind {
            NoticeKind::NoticeToImprove => BreachState::NoticeToImproveIssued,
            NoticeKind::PenaltyNotice => BreachState::PenaltyNoticeIssued,
        }
    }
}

/// Why no action is taken on a breach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoActionReason {
    SupportInPlace,
    Medical,
    Safeguarding,
    ExceptionalCircumstances,
    /// Said in the note, which is then required.
    Other,
}

impl NoActionReason {
    pub fn number(self) -> i16 {
        match self {
            NoActionReason::SupportInPlace => 1,
            NoActionReason::Medical => 2,
            NoActionReason::Safeguarding => 3,
            NoActionReason::ExceptionalCircumstances => 4,
            NoActionReason::Other => 5,
        }
    }

    pub fn from_number(n: i16) -> Option<Self> {
        Some(match n {
            1 => NoActionReason::SupportInPlace,
            2 => NoActionReason::Medical,
            3 => NoActionReason::Safeguarding,
            4 => NoActionReason::ExceptionalCircumstances,
            5 => NoActionReason::Other,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NoActionReason::SupportInPlace => "support_in_place",
            NoActionReason::Medical => "medical",
            NoActionReason::Safeguarding => "safeguarding",
            NoActionReason::ExceptionalCircumstances => "exceptional_circumstances",
            NoActionReason::Other => "other",
        }
    }
}

/// What was decided on a breach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Never `Pending`.
    pub state: BreachState,
    /// Only for `NoAction`, where it is required.
    pub reason: Option<NoActionReason>,
    /// Free text: required for `NoAction` with `Other` and for `OtherMeasure`.
    pub note: String,
    /// The notices that closed the breach (one per parent), for the issued states.
    pub notice_numbers: Vec<String>,
}

impl Decision {
    /// A decision an officer records (`RecordBreachDecision`): no action with a
    /// reason, a notice_request to prosecution, or another measure. The issued states
    /// come only from issuing the notice, which closes the breach itself.
    pub fn recorded(
        state: BreachState,
        reason: Option<NoActionReason>,
        note: String,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        match state {
            BreachState::Pending => violations.push(FieldViolation::new(
                "state",
                "a decision cannot leave a breach pending",
            )),
            BreachState::NoticeToImproveIssued | BreachState::PenaltyNoticeIssued => {
                violations.push(FieldViolation::new(
                    "state",
                    "issue the notice (IssueNoticeToImprove, IssuePenaltyNotice): issuing closes the breach",
                ))
            }
            BreachState::NoAction => match reason {
                None => violations.push(FieldViolation::new(
                    "no_action_reason",
                    "required when no action is taken",
                )),
                Some(NoActionReason::Other) if note.trim().is_empty() => violations.push(
                    FieldViolation::new("note", "required when the reason is other"),
                ),
                Some(_) => {}
            },
            BreachState::OtherMeasure if note.trim().is_empty() => violations.push(
                FieldViolation::new("note", "required to name the other measure"),
            ),
            BreachState::ReferredToProsecution | BreachState::OtherMeasure => {}
        }
        if reason.is_some() && state != BreachState::NoAction {
            violations.push(FieldViolation::new(
                "no_action_reason",
                "only for a decision of no action",
            ));
        }
        if violations.is_empty() {
            Ok(Decision {
                state,
                reason,
                note,
                notice_numbers: vec![],
            })
        } else {
            Err(violations)
        }
    }
}

/// A decided breach: the pupil, the breach's qualifying sessions, the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecidedBreach {
    /// Numbered per authority from 1.
    pub breach_id: i64,
    pub upn: String,
    /// The school of the breach's latest qualifying session.
    pub school_urn: String,
    /// The date the breach was found on (its window ends that week).
    pub as_of: NaiveDate,
    pub breach: Breach,
    pub policy_version: String,
    pub decision: Decision,
    pub decided_at: DateTime<Utc>,
    pub decided_by: Actor,
}

impl DecidedBreach {
    /// The last session the case consumed.
    pub fn last_session(&self) -> Option<(NaiveDate, Session)> {
        self.breach.sessions.last().map(|m| (m.date, m.session))
    }
}

/// The last session consumed by any of a pupil's decided cases.
pub fn consumed_through<'a>(
    cases: impl IntoIterator<Item = &'a DecidedBreach>,
) -> Option<(NaiveDate, Session)> {
    cases
        .into_iter()
        .filter_map(DecidedBreach::last_session)
        .max()
}

/// The marks a new breach may count: those after `through` (the pupil's
/// consumed sessions), all of them when nothing is consumed. The store's
/// breach search restates this in SQL; `tests/api/store_rules.rs` checks they agree.
pub fn unconsumed(marks: &[PupilMark], through: Option<(NaiveDate, Session)>) -> Vec<PupilMark> {
    marks
        .iter()
        .filter(|m| through.is_none_or(|t| (m.date, m.session) > t))
        .cloned()
        .collect()
}

/// The breach a notice closes, if it cites any of the breach's sessions: the
/// breach cut after the last session the notice cites, so qualifying sessions
/// after the notice's stay live for a later case.
pub fn closed_by_notice(breach: &Breach, cited: &[(NaiveDate, Session)]) -> Option<Breach> {
    let last_cited = breach
        .sessions
        .iter()
        .rposition(|m| cited.contains(&(m.date, m.session)))?;
    let sessions: Vec<PupilMark> = breach.sessions[..=last_cited].to_vec();
    Some(Breach {
        qualifying_sessions: sessions.len() as i32,
        sessions,
        ..breach.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_is_listed_once_and_reads_back_from_its_number_and_name() {
        let all: Vec<BreachState> = BreachState::all().collect();
        let mut numbers: Vec<i16> = all.iter().map(|s| s.number()).collect();
        numbers.dedup();
        assert_eq!(
            numbers.len(),
            all.len(),
            "numbers in stored order, none twice"
        );
        assert!(numbers.windows(2).all(|w| w[0] < w[1]));
        for s in &all {
            assert_eq!(BreachState::from_number(s.number()), Some(*s));
        }
        assert_eq!(BreachState::from_number(numbers.last().unwrap() + 1), None);
        assert_eq!(
            BreachState::decided(),
            all.iter()
                .copied()
                .filter(|s| *s != BreachState::Pending)
                .collect::<Vec<_>>()
        );
    }

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, day).unwrap()
    }

    fn mark(day: u32, session: Session) -> PupilMark {
        PupilMark {
            date: d(day),
            session,
            code: "O".into(),
        }
    }

    #[test]
    fn only_sessions_after_the_last_consumed_one_count() {
        let marks = [
            mark(5, Session::Am),
            mark(5, Session::Pm),
            mark(6, Session::Am),
        ];
        assert_eq!(unconsumed(&marks, None), marks.to_vec());
        assert_eq!(
            unconsumed(&marks, Some((d(5), Session::Am))),
            marks[1..].to_vec()
        );
        assert!(unconsumed(&marks, Some((d(6), Session::Am))).is_empty());
    }

    #[test]
    fn a_notice_closes_the_breach_up_to_its_last_cited_session() {
        let breach = Breach {
            qualifying_sessions: 3,
            first_week: d(5),
            last_week: d(5),
            sessions: vec![
                mark(5, Session::Am),
                mark(5, Session::Pm),
                mark(6, Session::Am),
            ],
        };
        let closed = closed_by_notice(&breach, &[(d(5), Session::Pm)]).unwrap();
        assert_eq!(closed.sessions, breach.sessions[..2].to_vec());
        assert_eq!(closed.qualifying_sessions, 2);
        assert!(closed_by_notice(&breach, &[(d(7), Session::Am)]).is_none());
    }

    #[test]
    fn decisions_need_their_reasons() {
        assert!(Decision::recorded(BreachState::Pending, None, String::new()).is_err());
        assert!(Decision::recorded(BreachState::PenaltyNoticeIssued, None, String::new()).is_err());
        assert!(Decision::recorded(BreachState::NoAction, None, String::new()).is_err());
        assert!(
            Decision::recorded(
                BreachState::NoAction,
                Some(NoActionReason::Other),
                " ".into()
            )
            .is_err()
        );
        assert!(
            Decision::recorded(
                BreachState::NoAction,
                Some(NoActionReason::Medical),
                String::new()
            )
            .is_ok()
        );
        assert!(Decision::recorded(BreachState::OtherMeasure, None, String::new()).is_err());
        assert!(
            Decision::recorded(
                BreachState::ReferredToProsecution,
                Some(NoActionReason::Medical),
                String::new()
            )
            .is_err()
        );
        assert!(
            Decision::recorded(BreachState::ReferredToProsecution, None, String::new()).is_ok()
        );
    }
}
