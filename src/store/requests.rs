//! Schools' requests for penalty notices (`penalty_notice_requests`), and the
//! school days the request deadline counts, in SQL both backends accept.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::tx::sql_impl;
use super::{StoreError, StoreResult};
use crate::domain::actor::{Actor, Role};
use crate::domain::identifiers::LaCode;
use crate::domain::penalty_notice_request::{
    PenaltyNoticeRequest, PenaltyNoticeRequestDraft, PenaltyNoticeRequestState,
};

macro_rules! penalty_notice_request_select {
    () => {
        "SELECT request_number, upn, school_urn, parent_person_ids, sessions, support_offered, \
           state, requested_by_subject, requested_by_role, requested_at, school_days_elapsed, \
           deadline_school_days, decline_reason, notice_numbers FROM penalty_notice_requests "
    };
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("penalty notice request: {what}"))
}

/// Schools' requests for penalty notices.
#[async_trait]
pub trait PenaltyNoticeRequestStore: Send {
    /// Stores a school's request for a penalty notice (numbered by the caller).
    async fn insert_penalty_notice_request(
        &mut self,
        authority: &LaCode,
        notice_request: &PenaltyNoticeRequest,
        request_id: &str,
    ) -> StoreResult<()>;

    async fn penalty_notice_request(
        &mut self,
        authority: &LaCode,
        number: i64,
    ) -> StoreResult<Option<PenaltyNoticeRequest>>;

    /// Requests in `state` (any: `None`) of `school` (any: `None`), by number after `after`.
    async fn penalty_notice_requests(
        &mut self,
        authority: &LaCode,
        state: Option<PenaltyNoticeRequestState>,
        school: Option<&str>,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<PenaltyNoticeRequest>>;

    /// Issues or declines a pending request at `at` (when its retention
    /// starts); false when it is no longer pending.
    async fn settle_penalty_notice_request(
        &mut self,
        authority: &LaCode,
        number: i64,
        state: PenaltyNoticeRequestState,
        decline_reason: &str,
        notice_numbers: &[String],
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<bool>;

    /// Days with a possible session at `school` after `after` up to `to`.
    async fn school_days(
        &mut self,
        authority: &LaCode,
        school: &str,
        after: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<i64>;

    /// The days [`Self::school_days`] counts, oldest first.
    async fn school_day_dates(
        &mut self,
        authority: &LaCode,
        school: &str,
        after: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<NaiveDate>>;
}

sql_impl! {
    impl PenaltyNoticeRequestStore for Tx {
        async fn insert_penalty_notice_request(
            &mut self,
            authority: &LaCode,
            r: &PenaltyNoticeRequest,
            request_id: &str,
        ) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO penalty_notice_requests (authority_code, request_number, upn, school_urn, \
                   parent_person_ids, sessions, support_offered, state, requested_by_subject, \
                   requested_by_role, requested_at, school_days_elapsed, deadline_school_days, \
                   decline_reason, notice_numbers, request_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            )
            .bind(authority.as_str())
            .bind(r.number)
            .bind(r.draft.upn.as_str())
            .bind(r.draft.school_urn.as_str())
            .bind(json(&r.draft.parent_person_ids))
            .bind(json(&r.draft.sessions))
            .bind(r.draft.support_offered.as_str())
            .bind(r.state.number())
            .bind(r.requested_by.subject.as_str())
            .bind(r.requested_by.role_str())
            .bind(r.requested_at)
            .bind(r.school_days_elapsed)
            .bind(r.deadline_school_days)
            .bind(r.decline_reason.as_str())
            .bind(json(&r.notice_numbers))
            .bind(request_id)
            .execute(self.conn())
            .await?;
            Ok(())
        }

        async fn penalty_notice_request(
            &mut self,
            authority: &LaCode,
            number: i64,
        ) -> StoreResult<Option<PenaltyNoticeRequest>> {
            let row: Option<PenaltyNoticeRequestRow> = sqlx::query_as(concat!(
                penalty_notice_request_select!(),
                "WHERE authority_code = $1 AND request_number = $2"
            ))
            .bind(authority.as_str())
            .bind(number)
            .fetch_optional(self.conn())
            .await?;
            row.map(PenaltyNoticeRequest::try_from).transpose()
        }

        async fn penalty_notice_requests(
            &mut self,
            authority: &LaCode,
            state: Option<PenaltyNoticeRequestState>,
            school: Option<&str>,
            after: i64,
            limit: i64,
        ) -> StoreResult<Vec<PenaltyNoticeRequest>> {
            let rows: Vec<PenaltyNoticeRequestRow> = sqlx::query_as(concat!(
                penalty_notice_request_select!(),
                "WHERE authority_code = $1 AND request_number > $2 AND ($3 < 0 OR state = $3) \
                   AND ($4 = '' OR school_urn = $4) ORDER BY request_number LIMIT $5"
            ))
            .bind(authority.as_str())
            .bind(after)
            .bind(state.map_or(-1, PenaltyNoticeRequestState::number))
            .bind(school.unwrap_or(""))
            .bind(limit)
            .fetch_all(self.conn())
            .await?;
            rows.into_iter().map(PenaltyNoticeRequest::try_from).collect()
        }

        /// Settles a pending request; false when it was no longer pending.
        async fn settle_penalty_notice_request(
            &mut self,
            authority: &LaCode,
            number: i64,
            state: PenaltyNoticeRequestState,
            decline_reason: &str,
            notice_numbers: &[String],
            at: chrono::DateTime<chrono::Utc>,
        ) -> StoreResult<bool> {
            let result = sqlx::query(
                "UPDATE penalty_notice_requests SET state = $3, decline_reason = $4, \
                 notice_numbers = $5, settled_at = $6 \
                 WHERE authority_code = $1 AND request_number = $2 AND state = 0",
            )
            .bind(authority.as_str())
            .bind(number)
            .bind(state.number())
            .bind(decline_reason)
            .bind(json(&notice_numbers))
            .bind(at)
            .execute(self.conn())
            .await?;
            Ok(DB::rows_affected(&result) == 1)
        }

        /// Days with a possible session at `school` after `after` up to `to`, from
        /// the marks of the pupils on its register then.
        async fn school_days(
            &mut self,
            authority: &LaCode,
            school: &str,
            after: NaiveDate,
            to: NaiveDate,
        ) -> StoreResult<i64> {
            Ok(sqlx::query_scalar(
                "SELECT COUNT(DISTINCT m.mark_date) \
                 FROM attendance_enrolments e JOIN attendance_marks m \
                   ON m.authority_code = e.authority_code AND m.upn = e.upn AND m.school_urn = e.school_urn \
                 WHERE e.authority_code = $1 AND e.school_urn = $2 \
                   AND e.first_date <= $4 AND e.last_date > $3 \
                   AND m.mark_date > $3 AND m.mark_date <= $4 AND m.category <> 4",
            )
            .bind(authority.as_str())
            .bind(school)
            .bind(after)
            .bind(to)
            .fetch_one(self.conn())
            .await?)
        }

        /// The same days as `school_days`, from the same rows.
        async fn school_day_dates(
            &mut self,
            authority: &LaCode,
            school: &str,
            after: NaiveDate,
            to: NaiveDate,
        ) -> StoreResult<Vec<NaiveDate>> {
            Ok(sqlx::query_scalar(
                "SELECT DISTINCT m.mark_date \
                 FROM attendance_enrolments e JOIN attendance_marks m \
                   ON m.authority_code = e.authority_code AND m.upn = e.upn AND m.school_urn = e.school_urn \
                 WHERE e.authority_code = $1 AND e.school_urn = $2 \
                   AND e.first_date <= $4 AND e.last_date > $3 \
                   AND m.mark_date > $3 AND m.mark_date <= $4 AND m.category <> 4 \
                 ORDER BY m.mark_date",
            )
            .bind(authority.as_str())
            .bind(school)
            .bind(after)
            .bind(to)
            .fetch_all(self.conn())
            .await?)
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data always serialises")
}

/// A row of [`penalty_notice_request_select!`].
#[derive(sqlx::FromRow)]
struct PenaltyNoticeRequestRow {
    request_number: i64,
    upn: String,
    school_urn: String,
    parent_person_ids: String,
    sessions: String,
    support_offered: String,
    state: i16,
    requested_by_subject: String,
    requested_by_role: String,
    requested_at: DateTime<Utc>,
    school_days_elapsed: i32,
    deadline_school_days: i32,
    decline_reason: String,
    notice_numbers: String,
}

impl TryFrom<PenaltyNoticeRequestRow> for PenaltyNoticeRequest {
    type Error = StoreError;

    fn try_from(r: PenaltyNoticeRequestRow) -> StoreResult<Self> {
        Ok(PenaltyNoticeRequest {
            number: r.request_number,
            draft: PenaltyNoticeRequestDraft {
                upn: r.upn,
                school_urn: r.school_urn,
                parent_person_ids: serde_json::from_str(&r.parent_person_ids).map_err(corrupt)?,
                sessions: serde_json::from_str(&r.sessions).map_err(corrupt)?,
                support_offered: r.support_offered,
            },
            state: PenaltyNoticeRequestState::from_number(r.state)
                .ok_or_else(|| corrupt(r.state))?,
            requested_by: Actor {
                subject: r.requested_by_subject,
                role: Role::parse(&r.requested_by_role),
            },
            requested_at: r.requested_at,
            school_days_elapsed: r.school_days_elapsed,
            deadline_school_days: r.deadline_school_days,
            decline_reason: r.decline_reason,
            notice_numbers: serde_json::from_str(&r.notice_numbers).map_err(corrupt)?,
        })
    }
}
