//! What the marks aggregate needs of each backend beyond the dialect.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};

use super::super::StoreResult;
use super::super::dialect::Dialect;
use super::changes::{SchoolWeekDays, WeekDeltas, YearDeltas};
use super::queries::ListQueries;
use crate::domain::attendance::{HeldMark, RegisterMark};
use crate::domain::identifiers::LaCode;

/// What the marks aggregate needs of a backend beyond [`Dialect`], in the
/// backend's `marks.rs`: its list queries completed with the backend's "any of",
/// and the bulk writes of register marks, since how a batch goes in fastest
/// differs (arrays and COPY on PostgreSQL, a prepared statement per row on SQLite).
pub(in crate::store) trait MarkSql: Dialect {
    /// The breach search's queries that test membership of a list, with this
    /// backend's SQL for "is one of the list bound as `$n`" (`queries::list_queries!`).
    const LIST_QUERIES: ListQueries;

    /// Makes the transaction the only writer of marks of `schools` until it ends.
    fn lock_schools(
        conn: &mut Self::Connection,
        authority: &LaCode,
        schools: &BTreeSet<&str>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Inserts the marks for sessions not held yet; `true` for each one
    /// inserted. Their weekly figures are the caller's
    /// ([`MarkSql::add_week_figures`]).
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
