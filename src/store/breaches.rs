//! Decided threshold breaches (`breach_cases`), in SQL both backends accept. The
//! breach search's side of a case (counting only unconsumed sessions) is the
//! `unconsumed!` clause of `attendance.rs`'s queries.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::marks::changes::session_number;
use super::tx::sql_impl;
use super::{StoreError, StoreResult};
use crate::domain::actor::{Actor, Role};
use crate::domain::attendance::{Breach, PupilMark};
use crate::domain::breach::{BreachState, DecidedBreach, Decision, NoActionReason};
use crate::domain::identifiers::LaCode;
use crate::domain::notice::Session;

/// Which decided breaches `breach_cases` returns, by UPN then case id.
#[derive(Debug, Clone)]
pub struct DecidedBreachFilter<'a> {
    /// After this `(upn, breach_id)`; `("", 0)` from the start.
    pub after: (&'a str, i64),
    /// Only this pupil's.
    pub upn: Option<&'a str>,
    /// Only cases whose breach's latest session was at this school.
    pub school: Option<&'a str>,
    /// Cases whose last session lies within these dates.
    pub last_session_from: NaiveDate,
    pub last_session_to: NaiveDate,
    /// In one of these states.
    pub states: &'a [BreachState],
    pub limit: i64,
}

/// The stored numbers of every state a decided breach may hold, from the
/// domain's list, as SQL (`1, 2, 3`): each backend's `migrate` writes them
/// into the trigger that checks `breach_cases.state` (migration 0019), so a new
/// outcome needs no migration of its own.
pub(super) fn known_states_sql() -> String {
    BreachState::decided()
        .into_iter()
        .map(|s| s.number().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A stored session of a decided breach: `[date, "am" | "pm", code]`.
#[derive(Serialize, Deserialize)]
struct StoredSession(NaiveDate, String, String);

macro_rules! decided_breach_columns {
    () => {
        "case_id, upn, school_urn, as_of_date, state, \
     COALESCE(no_action_reason, CAST(0 AS SMALLINT)) AS no_action_reason, note, notice_numbers, qualifying_sessions, \
     first_week, last_week, sessions, policy_version, decided_at, decided_by_subject, decided_by_role"
    };
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("decided breach: {what}"))
}

/// Decided threshold breaches.
#[async_trait]
pub trait BreachStore: Send {
    /// Stores a decided breach (numbered by the caller).
    async fn insert_decided_breach(
        &mut self,
        authority: &LaCode,
        decided: &DecidedBreach,
        request_id: &str,
    ) -> StoreResult<()>;

    /// Decided breaches matching `filter`, by UPN then case id, at most `filter.limit`.
    async fn decided_breaches(
        &mut self,
        authority: &LaCode,
        filter: &DecidedBreachFilter<'_>,
    ) -> StoreResult<Vec<DecidedBreach>>;
}

sql_impl! {
    impl BreachStore for Tx {
        async fn insert_decided_breach(
            &mut self,
            authority: &LaCode,
            decided: &DecidedBreach,
            request_id: &str,
        ) -> StoreResult<()> {
            let last = decided
                .breach
                .sessions
                .last()
                .ok_or_else(|| corrupt("a decided breach without sessions"))?;
            let sessions: Vec<StoredSession> = decided
                .breach
                .sessions
                .iter()
                .map(|m| StoredSession(m.date, m.session.as_str().to_string(), m.code.clone()))
                .collect();
            let d = &decided.decision;
            sqlx::query(
                "INSERT INTO breach_cases (authority_code, case_id, upn, school_urn, as_of_date, state, \
                   no_action_reason, note, notice_numbers, qualifying_sessions, first_week, last_week, \
                   sessions, last_date, last_session, policy_version, decided_at, decided_by_subject, \
                   decided_by_role, request_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                   $18, $19, $20)",
            )
            .bind(authority.as_str())
            .bind(decided.breach_id)
            .bind(decided.upn.as_str())
            .bind(decided.school_urn.as_str())
            .bind(decided.as_of)
            .bind(d.state.number())
            .bind(d.reason.map(|r| i32::from(r.number())))
            .bind(d.note.as_str())
            .bind(serde_json::to_string(&d.notice_numbers).expect("strings always serialise"))
            .bind(decided.breach.qualifying_sessions)
            .bind(decided.breach.first_week)
            .bind(decided.breach.last_week)
            .bind(serde_json::to_string(&sessions).expect("plain data always serialises"))
            .bind(last.date)
            .bind(session_number(last.session))
            .bind(decided.policy_version.as_str())
            .bind(decided.decided_at)
            .bind(decided.decided_by.subject.as_str())
            .bind(decided.decided_by.role_str())
            .bind(request_id)
            .execute(self.conn())
            .await?;
            Ok(())
        }

        async fn decided_breaches(
            &mut self,
            authority: &LaCode,
            f: &DecidedBreachFilter<'_>,
        ) -> StoreResult<Vec<DecidedBreach>> {
            let states = f
                .states
                .iter()
                .fold(0i64, |mask, s| mask | (1 << s.number()));
            let sql = concat!(
                "SELECT ",
                decided_breach_columns!(),
                " FROM breach_cases \
                 WHERE authority_code = $1 AND (upn > $2 OR (upn = $2 AND case_id > $3)) \
                   AND last_date BETWEEN $4 AND $5 AND (($6 >> state) & 1) = 1 \
                   AND ($7 = '' OR school_urn = $7) AND ($8 = '' OR upn = $8) \
                 ORDER BY upn, case_id LIMIT $9"
            );
            let rows: Vec<DecidedBreachRow> = sqlx::query_as(sql)
                .bind(authority.as_str())
                .bind(f.after.0)
                .bind(f.after.1)
                .bind(f.last_session_from)
                .bind(f.last_session_to)
                .bind(states)
                .bind(f.school.unwrap_or(""))
                .bind(f.upn.unwrap_or(""))
                .bind(f.limit)
                .fetch_all(self.conn())
                .await?;
            rows.into_iter().map(DecidedBreach::try_from).collect()
        }
    }
}

/// A row of [`decided_breach_columns!`].
#[derive(sqlx::FromRow)]
struct DecidedBreachRow {
    #[sqlx(rename = "case_id")]
    breach_id: i64,
    upn: String,
    school_urn: String,
    as_of_date: NaiveDate,
    state: i16,
    /// 0 for none.
    no_action_reason: i16,
    note: String,
    notice_numbers: String,
    qualifying_sessions: i32,
    first_week: NaiveDate,
    last_week: NaiveDate,
    sessions: String,
    policy_version: String,
    decided_at: DateTime<Utc>,
    decided_by_subject: String,
    decided_by_role: String,
}

impl TryFrom<DecidedBreachRow> for DecidedBreach {
    type Error = StoreError;

    fn try_from(r: DecidedBreachRow) -> StoreResult<Self> {
        let sessions: Vec<StoredSession> = serde_json::from_str(&r.sessions).map_err(corrupt)?;
        let sessions = sessions
            .into_iter()
            .map(|StoredSession(date, session, code)| {
                Ok(PupilMark {
                    date,
                    session: Session::parse(&session).ok_or_else(|| corrupt(&session))?,
                    code,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(DecidedBreach {
            breach_id: r.breach_id,
            upn: r.upn,
            school_urn: r.school_urn,
            as_of: r.as_of_date,
            breach: Breach {
                qualifying_sessions: r.qualifying_sessions,
                first_week: r.first_week,
                last_week: r.last_week,
                sessions,
            },
            policy_version: r.policy_version,
            decision: Decision {
                state: BreachState::from_number(r.state).ok_or_else(|| corrupt(r.state))?,
                reason: match r.no_action_reason {
                    0 => None,
                    n => Some(NoActionReason::from_number(n).ok_or_else(|| corrupt(n))?),
                },
                note: r.note,
                notice_numbers: serde_json::from_str(&r.notice_numbers).map_err(corrupt)?,
            },
            decided_at: r.decided_at,
            decided_by: Actor {
                subject: r.decided_by_subject,
                role: Role::parse(&r.decided_by_role),
            },
        })
    }
}
