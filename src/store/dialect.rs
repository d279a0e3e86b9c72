//! What differs between the backends, as a trait both sqlx database types
//! implement: a few statements, how a list is bound, and (its supertrait
//! [`MarkWrites`]) the bulk writes of register marks. Everything else is shared,
//! generic code in each aggregate's file, over the bounds `tx::sql_impl!` writes.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Database, Decode, Encode, IntoArguments, Type};

use super::StoreResult;
use super::marks::changes::{SchoolWeekDays, WeekDeltas, YearDeltas};
use super::marks::queries::ListQueries;
use crate::domain::attendance::{HeldMark, RegisterMark};
use crate::domain::identifiers::LaCode;

/// A sqlx database the shared SQL runs on, with what is its own.
pub(super) trait Dialect: Database<Arguments: IntoArguments<Self>> + MarkWrites {
    /// Takes a per-pupil transaction lock, binding `$1` (a key); `None` where the
    /// write transaction already excludes other writers.
    const LOCK_PUPIL: Option<&'static str>;

    /// One notice by (`$1` authority, `$2` number), locked until the transaction ends.
    const SELECT_NOTICE_FOR_UPDATE: &'static str;

    /// Takes a per-payment transaction lock, binding `$1` (a key); `None` where
    /// the write transaction already excludes other writers. Not a row lock:
    /// `SELECT … FOR UPDATE` needs the UPDATE privilege, which the service's
    /// role does not have on `payments`.
    const LOCK_PAYMENT: Option<&'static str>;

    /// Appends an authority's last audit event of a unit (`$1`..`$11` as the
    /// plain INSERT binds them, `$11` its hash) and makes its hash the chain
    /// head's, in one statement; `None` where that takes two (a round trip
    /// less per mutation where the database is across a network).
    const INSERT_LAST_AUDIT_EVENT: Option<&'static str>;

    /// Each school's latest `$3` school weeks up to Monday `$2` in authority
    /// `$1`, as `(school_urn, week_start)`: the window of every breach search.
    const LATEST_SCHOOL_WEEKS: &'static str;

    /// The shared queries that test membership of a list, with this dialect's
    /// SQL for "is one of the list bound as `$n`" (see `marks::queries::list_queries!`).
    const LIST_QUERIES: ListQueries;

    /// How a list of strings is bound for [`Dialect::LIST_QUERIES`].
    type ListArg: for<'q> Encode<'q, Self> + Type<Self> + Send;

    fn list_arg(items: &[String]) -> Self::ListArg;

    /// The rows a statement inserted, updated or deleted.
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

/// A backend's bulk writes of register marks, in its `marks.rs`: how a batch
/// goes in fastest differs (arrays and COPY on PostgreSQL, a prepared statement
/// per row on SQLite).
pub(super) trait MarkWrites: Database {
    /// Makes the transaction the only writer of marks of `schools` until it ends.
    fn lock_schools(
        conn: &mut Self::Connection,
        authority: &LaCode,
        schools: &BTreeSet<&str>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Inserts the marks for sessions not held yet; `true` for each one
    /// inserted. Their weekly figures are the caller's
    /// ([`MarkWrites::add_week_figures`]).
    fn insert_new_marks(
        conn: &mut Self::Connection,
        authority: &LaCode,
        marks: &[RegisterMark],
    ) -> impl Future<Output = StoreResult<Vec<bool>>> + Send;

    /// The mark held for each of `marks`' sessions, in the same order.
    fn held_marks(
        conn: &mut Self::Connection,
        authority: &LaCode,
        marks: &[&RegisterMark],
    ) -> impl Future<Output = StoreResult<Vec<Option<HeldMark>>>> + Send;

    /// Moves each held mark to the history and puts the new one in its place.
    fn replace_marks(
        conn: &mut Self::Connection,
        authority: &LaCode,
        replaced: &[(&RegisterMark, HeldMark)],
        request_id: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Widens each `(upn, school)` enrolment span to cover the given dates.
    fn note_enrolments(
        conn: &mut Self::Connection,
        authority: &LaCode,
        spans: &BTreeMap<(&str, &str), (NaiveDate, NaiveDate)>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Appends each row of `deltas` to the weekly figures (`attendance_week_figures`).
    fn add_week_figures(
        conn: &mut Self::Connection,
        authority: &LaCode,
        deltas: &WeekDeltas<'_>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Adds each row of `deltas` to the school-year figures
    /// (`attendance_year_figures`), creating the rows not yet held.
    fn add_year_figures(
        conn: &mut Self::Connection,
        authority: &LaCode,
        deltas: &YearDeltas<'_>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Records that each school had possible sessions in the week starting on
    /// the Monday, between the two days given, widening the days already held.
    fn note_school_weeks(
        conn: &mut Self::Connection,
        authority: &LaCode,
        weeks: &SchoolWeekDays<'_>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// A Rust type the shared SQL binds and reads as a column value on `DB`.
pub(super) trait Column<DB: Database>:
    for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> + Send
{
}

impl<DB: Database, T> Column<DB> for T where
    T: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> + Send
{
}
