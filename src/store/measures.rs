//! The other measures' cases (`measure_cases`), their events
//! (`measure_case_events`) and what each follows (`measure_case_follows`), in
//! SQL both backends accept.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::tx::sql_impl;
use super::{StoreError, StoreResult};
use crate::domain::actor::{Actor, Role};
use crate::domain::identifiers::LaCode;
use crate::domain::measures::{CaseEvent, CaseState, MeasureCase, MeasureKind, RecordedCaseEvent};

macro_rules! case_select {
    () => {
        "SELECT case_number, kind, state, upn, school_urn, opened_on, facts, opened_by_subject, \
           opened_by_role, created_at, version FROM measure_cases "
    };
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("measure case: {what}"))
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data always serialises")
}

/// Which cases a listing returns: every set field must match.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter<'a> {
    pub kind: Option<MeasureKind>,
    pub state: Option<CaseState>,
    pub upn: Option<&'a str>,
    pub school_urn: Option<&'a str>,
}

/// Cases of the other measures.
#[async_trait]
pub trait MeasureStore: Send {
    /// Stores a new case (numbered by the caller) and what it follows.
    async fn insert_case(
        &mut self,
        authority: &LaCode,
        case: &MeasureCase,
        request_id: &str,
    ) -> StoreResult<()>;

    async fn case(&mut self, authority: &LaCode, number: i64) -> StoreResult<Option<MeasureCase>>;

    /// Writes `case`'s state and facts over version `case.version - 1`;
    /// false when the case changed since it was read.
    async fn update_case(&mut self, authority: &LaCode, case: &MeasureCase) -> StoreResult<bool>;

    /// Cases matching `filter`, by number after `after`.
    async fn cases(
        &mut self,
        authority: &LaCode,
        filter: &CaseFilter<'_>,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<MeasureCase>>;

    /// Appends an event to a case's history.
    async fn insert_case_event(
        &mut self,
        authority: &LaCode,
        number: i64,
        event: &RecordedCaseEvent,
    ) -> StoreResult<()>;

    /// A case's events, oldest first, after sequence `after`.
    async fn case_events(
        &mut self,
        authority: &LaCode,
        number: i64,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<RecordedCaseEvent>>;

    /// Cases opened from `from` to `to` (both included), by number after
    /// `after`: what the statutory return reads.
    async fn cases_opened_between(
        &mut self,
        authority: &LaCode,
        from: NaiveDate,
        to: NaiveDate,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<MeasureCase>>;

    /// The events of the cases numbered `first` to `last` (both included), by
    /// case number and then oldest first: one read for a page of cases.
    async fn events_of_cases(
        &mut self,
        authority: &LaCode,
        first: i64,
        last: i64,
    ) -> StoreResult<Vec<(i64, RecordedCaseEvent)>>;

    /// The cases that follow `resource` (a notice's or breach's name), by number.
    async fn cases_following(
        &mut self,
        authority: &LaCode,
        resource: &str,
    ) -> StoreResult<Vec<MeasureCase>>;
}

sql_impl! {
    impl MeasureStore for Tx {
        async fn insert_case(
            &mut self,
            authority: &LaCode,
            c: &MeasureCase,
            request_id: &str,
        ) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO measure_cases (authority_code, case_number, kind, state, upn, school_urn, \
                   opened_on, facts, opened_by_subject, opened_by_role, created_at, version, request_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(authority.as_str())
            .bind(c.number)
            .bind(c.kind.as_str())
            .bind(c.state.as_str())
            .bind(c.upn.as_str())
            .bind(c.school_urn.as_str())
            .bind(c.opened_on)
            .bind(json(&c.facts))
            .bind(c.opened_by.subject.as_str())
            .bind(c.opened_by.role_str())
            .bind(c.created_at)
            .bind(c.version)
            .bind(request_id)
            .execute(self.conn())
            .await?;
            let mut follows = c.facts.follows.clone();
            follows.sort();
            follows.dedup();
            for resource in &follows {
                sqlx::query(
                    "INSERT INTO measure_case_follows (authority_code, resource, case_number) \
                     VALUES ($1, $2, $3)",
                )
                .bind(authority.as_str())
                .bind(resource.as_str())
                .bind(c.number)
                .execute(self.conn())
                .await?;
            }
            Ok(())
        }

        async fn case(&mut self, authority: &LaCode, number: i64) -> StoreResult<Option<MeasureCase>> {
            let row: Option<CaseRow> = sqlx::query_as(concat!(
                case_select!(),
                "WHERE authority_code = $1 AND case_number = $2"
            ))
            .bind(authority.as_str())
            .bind(number)
            .fetch_optional(self.conn())
            .await?;
            row.map(MeasureCase::try_from).transpose()
        }

        async fn update_case(&mut self, authority: &LaCode, c: &MeasureCase) -> StoreResult<bool> {
            let result = sqlx::query(
                "UPDATE measure_cases SET state = $3, facts = $4, version = $5 \
                 WHERE authority_code = $1 AND case_number = $2 AND version = $6",
            )
            .bind(authority.as_str())
            .bind(c.number)
            .bind(c.state.as_str())
            .bind(json(&c.facts))
            .bind(c.version)
            .bind(c.version - 1)
            .execute(self.conn())
            .await?;
            Ok(DB::rows_affected(&result) == 1)
        }

        async fn cases(
            &mut self,
            authority: &LaCode,
            f: &CaseFilter<'_>,
            after: i64,
            limit: i64,
        ) -> StoreResult<Vec<MeasureCase>> {
            let rows: Vec<CaseRow> = sqlx::query_as(concat!(
                case_select!(),
                "WHERE authority_code = $1 AND case_number > $2 AND ($3 = '' OR kind = $3) \
                   AND ($4 = '' OR state = $4) AND ($5 = '' OR upn = $5) \
                   AND ($6 = '' OR school_urn = $6) ORDER BY case_number LIMIT $7"
            ))
            .bind(authority.as_str())
            .bind(after)
            .bind(f.kind.map_or("", MeasureKind::as_str))
            .bind(f.state.map_or("", CaseState::as_str))
            .bind(f.upn.unwrap_or(""))
            .bind(f.school_urn.unwrap_or(""))
            .bind(limit)
            .fetch_all(self.conn())
            .await?;
            rows.into_iter().map(MeasureCase::try_from).collect()
        }

        async fn insert_case_event(
            &mut self,
            authority: &LaCode,
            number: i64,
            e: &RecordedCaseEvent,
        ) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO measure_case_events (authority_code, case_number, sequence, event, on_date, \
                   facts, state_after, actor_subject, actor_role, recorded_at, request_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(authority.as_str())
            .bind(number)
            .bind(e.sequence)
            .bind(e.event.kind().as_str())
            .bind(e.on)
            .bind(json(&e.event))
            .bind(e.state_after.as_str())
            .bind(e.actor.subject.as_str())
            .bind(e.actor.role_str())
            .bind(e.recorded_at)
            .bind(e.request_id.as_str())
            .execute(self.conn())
            .await?;
            Ok(())
        }

        async fn case_events(
            &mut self,
            authority: &LaCode,
            number: i64,
            after: i64,
            limit: i64,
        ) -> StoreResult<Vec<RecordedCaseEvent>> {
            let rows: Vec<EventRow> = sqlx::query_as(
                "SELECT sequence, on_date, facts, state_after, actor_subject, actor_role, recorded_at, \
                   request_id FROM measure_case_events \
                 WHERE authority_code = $1 AND case_number = $2 AND sequence > $3 \
                 ORDER BY sequence LIMIT $4",
            )
            .bind(authority.as_str())
            .bind(number)
            .bind(after)
            .bind(limit)
            .fetch_all(self.conn())
            .await?;
            rows.into_iter().map(RecordedCaseEvent::try_from).collect()
        }

        async fn cases_opened_between(
            &mut self,
            authority: &LaCode,
            from: NaiveDate,
            to: NaiveDate,
            after: i64,
            limit: i64,
        ) -> StoreResult<Vec<MeasureCase>> {
            let rows: Vec<CaseRow> = sqlx::query_as(concat!(
                case_select!(),
                "WHERE authority_code = $1 AND opened_on >= $2 AND opened_on <= $3 \
                   AND case_number > $4 ORDER BY case_number LIMIT $5"
            ))
            .bind(authority.as_str())
            .bind(from)
            .bind(to)
            .bind(after)
            .bind(limit)
            .fetch_all(self.conn())
            .await?;
            rows.into_iter().map(MeasureCase::try_from).collect()
        }

        async fn events_of_cases(
            &mut self,
            authority: &LaCode,
            first: i64,
            last: i64,
        ) -> StoreResult<Vec<(i64, RecordedCaseEvent)>> {
            let rows: Vec<CaseEventRow> = sqlx::query_as(
                "SELECT case_number, sequence, on_date, facts, state_after, actor_subject, actor_role, \
                   recorded_at, request_id FROM measure_case_events \
                 WHERE authority_code = $1 AND case_number >= $2 AND case_number <= $3 \
                 ORDER BY case_number, sequence",
            )
            .bind(authority.as_str())
            .bind(first)
            .bind(last)
            .fetch_all(self.conn())
            .await?;
            rows.into_iter()
                .map(|r| Ok((r.case_number, RecordedCaseEvent::try_from(r.event)?)))
                .collect()
        }

        async fn cases_following(
            &mut self,
            authority: &LaCode,
            resource: &str,
        ) -> StoreResult<Vec<MeasureCase>> {
            let rows: Vec<CaseRow> = sqlx::query_as(concat!(
                case_select!(),
                "WHERE authority_code = $1 AND case_number IN (SELECT case_number FROM \
                   measure_case_follows WHERE authority_code = $1 AND resource = $2) \
                 ORDER BY case_number"
            ))
            .bind(authority.as_str())
            .bind(resource)
            .fetch_all(self.conn())
            .await?;
            rows.into_iter().map(MeasureCase::try_from).collect()
        }
    }
}

/// A row of [`case_select!`].
#[derive(sqlx::FromRow)]
struct CaseRow {
    case_number: i64,
    kind: String,
    state: String,
    upn: String,
    school_urn: String,
    opened_on: NaiveDate,
    facts: String,
    opened_by_subject: String,
    opened_by_role: String,
    created_at: DateTime<Utc>,
    version: i64,
}

impl TryFrom<CaseRow> for MeasureCase {
    type Error = StoreError;

    fn try_from(r: CaseRow) -> StoreResult<Self> {
        Ok(MeasureCase {
            number: r.case_number,
            kind: MeasureKind::parse(&r.kind).ok_or_else(|| corrupt(&r.kind))?,
            state: CaseState::parse(&r.state).ok_or_else(|| corrupt(&r.state))?,
            upn: r.upn,
            school_urn: r.school_urn,
            opened_on: r.opened_on,
            facts: serde_json::from_str(&r.facts).map_err(corrupt)?,
            opened_by: Actor {
                subject: r.opened_by_subject,
                role: Role::parse(&r.opened_by_role),
            },
            created_at: r.created_at,
            version: r.version,
        })
    }
}

#[derive(sqlx::FromRow)]
struct EventRow {
    sequence: i64,
    on_date: NaiveDate,
    facts: String,
    state_after: String,
    actor_subject: String,
    actor_role: String,
    recorded_at: DateTime<Utc>,
    request_id: String,
}

/// An [`EventRow`] with its case's number.
#[derive(sqlx::FromRow)]
struct CaseEventRow {
    case_number: i64,
    #[sqlx(flatten)]
    event: EventRow,
}

impl TryFrom<EventRow> for RecordedCaseEvent {
    type Error = StoreError;

    fn try_from(r: EventRow) -> StoreResult<Self> {
        let event: CaseEvent = serde_json::from_str(&r.facts).map_err(corrupt)?;
        Ok(RecordedCaseEvent {
            sequence: r.sequence,
            event,
            on: r.on_date,
            state_after: CaseState::parse(&r.state_after).ok_or_else(|| corrupt(&r.state_after))?,
            actor: Actor {
                subject: r.actor_subject,
                role: Role::parse(&r.actor_role),
            },
            recorded_at: r.recorded_at,
            request_id: r.request_id,
        })
    }
}
