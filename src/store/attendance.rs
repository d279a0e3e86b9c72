//! Attendance SQL that PostgreSQL and SQLite both accept, written once over any
//! sqlx database that implements [`Dialect`]. What differs lives there: the bulk
//! writes of marks (each backend's `marks.rs`) and the SQL for "is one of a
//! bound list", which each dialect fills into the queries of [`ListQueries`].
//!
//! # Weekly figures
//!
//! A summary of a school or the whole authority over a long range would count
//! every mark in it (77.6 million for a county's school year). Every write of
//! marks therefore also appends to `attendance_week_figures` (migration 0013)
//! what it changed per school, pupil and week: +1 in the new mark's category for
//! each mark inserted; −1 in the held mark's category and +1 in the new one's for
//! each correction ([`week_deltas`]). Rows are
//! appended, never updated (keeping one row per week up to date halved
//! ingestion: BENCHMARKS.md, session 4), and a week's figures are the SUM of
//! its rows. A summary sums them over the whole
//! Monday-to-Sunday weeks inside its range ([`whole_weeks`]). Of a week the
//! range cuts (at most one at each end) it takes whole the figures of every
//! school whose possible sessions that week all lie inside the range (the days
//! `attendance_school_weeks` keeps, migration 0014: a range ending on a Friday
//! cuts no school's week), and counts raw marks only at the other schools.
//! The test `rollups::` proves the two agree on every range.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Days, NaiveDate, Utc};
use sqlx::{ColumnIndex, Encode, Executor, Type};

use super::common::Tx;
use super::dialect::{Column, Dialect};
use super::rows::NoticeRow;
use super::{
    AttendanceScope, EnrolmentFigures, QualifyingFilter, SchoolMark, StoreError, StoreResult,
};
use crate::domain::attendance::{
    Figures, HeldMark, MarkChange, MarkCounts, PupilMark, RegisterMark, mark_change,
};
use crate::domain::calendar::{school_year_of_week, school_year_weeks, week_start};
use crate::domain::evidence::ReplacedMark;
use crate::domain::identifiers::{LaCode, Upn, Urn};
use crate::domain::notice::{Notice, Session};
use crate::domain::register_codes::CodeCategory;

pub(super) fn session_number(session: Session) -> i16 {
    match session {
        Session::Am => 0,
        Session::Pm => 1,
    }
}

/// Every school's latest school weeks as read by earlier read-only units, under
/// `(authority, last Monday, weeks per school, the authority's (epoch, count)
/// of changes to its school weeks)`. A hit is what the query would answer:
/// triggers add to the count in the transaction of every insert or delete of a
/// school week (migration 0016), whoever writes it, and only read-only units
/// (one snapshot each, seeing only committed writes) fill the cache. Listing
/// breaches page by page reads the weeks once. A database restored from a
/// backup under running servers could repeat a count with other weeks:
/// restart the servers after a restore (README).
pub(super) type LatestWeeksCache =
    quick_cache::sync::Cache<(String, NaiveDate, i64, (i64, i64)), Arc<Vec<(String, NaiveDate)>>>;

/// Entries a store keeps: an authority's listing uses one (about 200 KB at
/// county size), a few dates or policies a few more.
pub(super) const LATEST_WEEKS_CACHED: usize = 32;

/// A stored mark's category (`attendance_marks.category`).
pub(super) fn stored_category(n: i16) -> StoreResult<CodeCategory> {
    CodeCategory::from_i16(n).ok_or_else(|| StoreError::Corrupt(format!("mark category {n}")))
}

/// How a write changed the weekly figures: per `(school, upn, week_start)`, the
/// sessions gained (or lost, negative) in present, approved activity,
/// authorised and unauthorised absence.
pub(super) type WeekDeltas<'a> = BTreeMap<(&'a str, &'a str, NaiveDate), [i32; 4]>;

/// How a write changed the school-year figures: per `(school_year, school,
/// upn)` ([`school_year_of_week`] of the weeks), as [`WeekDeltas`].
pub(super) type YearDeltas<'a> = BTreeMap<(i32, &'a str, &'a str), [i32; 4]>;

/// The school years' change made of the weeks' change.
pub(super) fn year_deltas<'a>(weeks: &WeekDeltas<'a>) -> YearDeltas<'a> {
    let mut years = YearDeltas::new();
    for ((school, upn, monday), row) in weeks {
        let sums = years
            .entry((school_year_of_week(*monday), *school, *upn))
            .or_default();
        for (sum, n) in sums.iter_mut().zip(row) {
            *sum += n;
        }
    }
    years.retain(|_, row| *row != [0; 4]);
    years
}

/// Per `(school, week_start)`, the first and last day of the week on which a
/// write holds a possible session (`attendance_school_weeks.first_day`, `last_day`).
pub(super) type SchoolWeekDays<'a> = BTreeMap<(&'a str, NaiveDate), (NaiveDate, NaiveDate)>;

/// The place of a possible session's category in a [`WeekDeltas`] row; none for
/// "not a possible session", which no figure counts.
fn delta_column(category: CodeCategory) -> Option<usize> {
    match category {
        CodeCategory::Present => Some(0),
        CodeCategory::ApprovedActivity => Some(1),
        CodeCategory::AuthorisedAbsence => Some(2),
        CodeCategory::UnauthorisedAbsence => Some(3),
        CodeCategory::NotPossible => None,
    }
}

/// The weekly figures' change when `inserted` marks are added and `replaced`
/// ones take the place of the marks held: +1 in the new category for each mark
/// written, −1 in the held one's for each replaced. Rows that come to nothing
/// (a correction within a category, or between two codes not counted) are left out.
pub(super) fn week_deltas<'a>(
    inserted: &[&'a RegisterMark],
    replaced: &[(&'a RegisterMark, HeldMark)],
) -> WeekDeltas<'a> {
    let mut deltas = WeekDeltas::new();
    let mut add = |m: &'a RegisterMark, category: CodeCategory, n: i32| {
        if let Some(column) = delta_column(category) {
            let key = (m.school_urn.as_str(), m.upn.as_str(), week_start(m.date));
            deltas.entry(key).or_default()[column] += n;
        }
    };
    for m in inserted {
        add(m, m.category, 1);
    }
    for (m, held) in replaced {
        add(m, held.category, -1);
        add(m, m.category, 1);
    }
    deltas.retain(|_, row| *row != [0; 4]);
    deltas
}

/// The Mondays of the first and last whole (Monday to Sunday) weeks inside
/// `from..=to`, if it holds one.
pub(super) fn whole_weeks(from: NaiveDate, to: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let first = week_start(from.checked_add_days(Days::new(6))?);
    let last = week_start(to.checked_sub_days(Days::new(6))?);
    (first <= last).then_some((first, last))
}

/// A row of (upn, school, date, session, code) as a school's mark.
fn school_mark(
    (upn, school_urn, date, session, code): (String, String, NaiveDate, i16, String),
) -> StoreResult<SchoolMark> {
    Ok(SchoolMark {
        upn,
        school_urn,
        mark: PupilMark {
            date,
            session: session_of(session)?,
            code,
        },
    })
}

fn session_of(n: i16) -> StoreResult<Session> {
    match n {
        0 => Ok(Session::Am),
        1 => Ok(Session::Pm),
        _ => Err(StoreError::Corrupt(format!("session {n}"))),
    }
}

/// Each `(upn, school)` of `marks` with the first and last date they give it.
pub(super) fn date_spans<'a>(
    marks: impl Iterator<Item = &'a RegisterMark>,
) -> BTreeMap<(&'a str, &'a str), (NaiveDate, NaiveDate)> {
    let mut spans: BTreeMap<(&str, &str), (NaiveDate, NaiveDate)> = BTreeMap::new();
    for m in marks {
        let span = spans
            .entry((m.upn.as_str(), m.school_urn.as_str()))
            .or_insert((m.date, m.date));
        span.0 = span.0.min(m.date);
        span.1 = span.1.max(m.date);
    }
    spans
}

/// The partial index that holds a policy's qualifying codes (migration 0005):
/// unauthorised absence, lateness ("L", counted by some older local codes), or both.
#[derive(Clone, Copy)]
enum Qualifying {
    Unauthorised,
    Late,
    Both,
}

impl Qualifying {
    fn of(codes: &[String]) -> Self {
        let late = codes.iter().any(|c| c == "L");
        match (late, codes.len() > usize::from(late)) {
            (true, true) => Self::Both,
            (true, false) => Self::Late,
            (false, _) => Self::Unauthorised,
        }
    }
}

/// A query for each partial index of qualifying marks.
pub(super) struct ByQualifying {
    pub(super) unauthorised: &'static str,
    pub(super) late: &'static str,
    pub(super) both: &'static str,
}

impl ByQualifying {
    fn get(&self, qualifying: Qualifying) -> &'static str {
        match qualifying {
            Qualifying::Unauthorised => self.unauthorised,
            Qualifying::Late => self.late,
            Qualifying::Both => self.both,
        }
    }
}

/// The queries that test "is one of a bound list", in one dialect: each
/// backend's `Dialect::LIST_QUERIES` is `list_queries!` with its `any_of!`.
pub(super) struct ListQueries {
    pub(super) threshold_candidates: ByQualifying,
    /// Only pupils on one school's register in the period (bound as `$8`).
    pub(super) school_threshold_candidates: ByQualifying,
    pub(super) qualifying_marks: ByQualifying,
    pub(super) enrolments_between: &'static str,
    pub(super) notices_of_pupils: &'static str,
}

/// [`ListQueries`] with `$any_of!("$n")` as the SQL for "is one of the list
/// bound as `$n`".
macro_rules! list_queries {
    ($any_of:ident) => {
        $crate::store::attendance::ListQueries {
            threshold_candidates: $crate::store::attendance::by_qualifying!(
                threshold_candidates,
                $any_of,
                ""
            ),
            school_threshold_candidates: $crate::store::attendance::by_qualifying!(
                threshold_candidates,
                $any_of,
                " AND upn IN ( \
                   SELECT upn FROM attendance_enrolments \
                   WHERE authority_code = $1 AND school_urn = $8 \
                     AND first_date <= $3 AND last_date >= $2)"
            ),
            qualifying_marks: $crate::store::attendance::by_qualifying!(qualifying_marks, $any_of),
            enrolments_between: concat!(
                "SELECT upn, school_urn FROM attendance_enrolments WHERE authority_code = $1 AND upn ",
                $any_of!("$2"),
                " AND first_date <= $4 AND last_date >= $3 ORDER BY upn, school_urn"
            ),
            notices_of_pupils: concat!(
                $crate::store::rows::notice_select!(),
                " WHERE authority_code = $1 AND upn ",
                $any_of!("$2"),
                " ORDER BY upn, issue_date, notice_number"
            ),
        }
    };
}
pub(super) use list_queries;

/// [`ByQualifying`] of `$query!(predicate, ...)` with each partial index's
/// predicate, word for word as in the migration so that the planners use them.
macro_rules! by_qualifying {
    ($query:ident $(, $arg:tt)*) => {
        $crate::store::attendance::ByQualifying {
            unauthorised: $crate::store::attendance::$query!("category = 3" $(, $arg)*),
            late: $crate::store::attendance::$query!("code = 'L'" $(, $arg)*),
            both: $crate::store::attendance::$query!("(category = 3 OR code = 'L')" $(, $arg)*),
        }
    };
}
pub(super) use by_qualifying;

// The weekly figures of the school weeks `$where` picks (`w`), found through
// the school weeks: a week without one has no possible session, and its
// figures come to nothing.
macro_rules! school_week_figures {
    ($where:literal) => {
        concat!(
            "SELECT f.upn, f.school_urn, SUM(f.present), SUM(f.approved_activity), \
                    SUM(f.authorised_absence), SUM(f.unauthorised_absence) \
             FROM attendance_school_weeks w JOIN attendance_week_figures f \
               ON f.authority_code = w.authority_code AND f.school_urn = w.school_urn \
              AND f.week_start = w.week_start \
             WHERE w.authority_code = $1 AND ",
            $where,
            " GROUP BY f.upn, f.school_urn"
        )
    };
}

// Reads the qualifying marks by pupil, then date, in UPN order and stops at the
// limit: a page of breaches costs only its own pupils' marks. `$pupils` narrows
// the pupils (to one school's) or is empty.
macro_rules! threshold_candidates {
    ($predicate:literal, $any_of:ident, $pupils:literal) => {
        concat!(
            "SELECT upn FROM attendance_marks \
             WHERE authority_code = $1 AND mark_date BETWEEN $2 AND $3 AND ",
            $predicate,
            " AND code ",
            $any_of!("$4"),
            " AND upn > $5",
            $pupils,
            $crate::store::attendance::unconsumed!(),
            " GROUP BY upn HAVING COUNT(*) >= $6 ORDER BY upn LIMIT $7"
        )
    };
}
pub(super) use threshold_candidates;

macro_rules! qualifying_marks {
    ($predicate:literal, $any_of:ident) => {
        concat!(
            "SELECT upn, school_urn, mark_date, session, code FROM attendance_marks \
             WHERE authority_code = $1 AND upn ",
            $any_of!("$2"),
            " AND mark_date BETWEEN $3 AND $4 AND ",
            $predicate,
            " AND code ",
            $any_of!("$5"),
            $crate::store::attendance::unconsumed!(),
        )
    };
}
pub(super) use qualifying_marks;

// The pupil's sessions after the last session of their latest decided case
// (`domain::case::unconsumed`): a decided breach's sessions never count again.
// One probe of `breach_cases_by_pupil` per qualifying mark; `$1` is the authority.
macro_rules! unconsumed {
    () => {
        " AND NOT EXISTS (SELECT 1 FROM breach_cases c \
           WHERE c.authority_code = $1 AND c.upn = attendance_marks.upn \
             AND (c.last_date > attendance_marks.mark_date \
                  OR (c.last_date = attendance_marks.mark_date \
                      AND c.last_session >= attendance_marks.session)))"
    };
}
pub(super) use unconsumed;

/// Adds `(upn, school, present, approved activity, authorised, unauthorised)`
/// sums of weekly or yearly figures to the enrolments' figures, or with `sign`
/// −1 takes them off.
fn add_week_sums(
    by_enrolment: &mut BTreeMap<(String, String), Figures>,
    rows: Vec<(String, String, i64, i64, i64, i64)>,
    sign: i64,
) {
    for (upn, school_urn, present, approved, authorised, unauthorised) in rows {
        let figures = by_enrolment.entry((upn, school_urn)).or_default();
        figures.add_count(CodeCategory::Present, sign * present);
        figures.add_count(CodeCategory::ApprovedActivity, sign * approved);
        figures.add_count(CodeCategory::AuthorisedAbsence, sign * authorised);
        figures.add_count(CodeCategory::UnauthorisedAbsence, sign * unauthorised);
    }
}

/// Adds `(upn, school, category, count)` rows of marks to the enrolments' figures.
fn add_mark_counts(
    by_enrolment: &mut BTreeMap<(String, String), Figures>,
    rows: Vec<(String, String, i16, i64)>,
) -> StoreResult<()> {
    for (upn, school_urn, category, count) in rows {
        by_enrolment
            .entry((upn, school_urn))
            .or_default()
            .add_count(stored_category(category)?, count);
    }
    Ok(())
}

fn enrolment_figures(by_enrolment: BTreeMap<(String, String), Figures>) -> Vec<EnrolmentFigures> {
    by_enrolment
        .into_iter()
        .map(|((upn, school_urn), figures)| EnrolmentFigures {
            upn,
            school_urn,
            figures,
        })
        .collect()
}

// The bounds of `common.rs`'s `impl` of `Tx`, for the same reason.
impl<DB> Tx<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB> + ColumnIndex<DB::Row>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    String: Column<DB>,
    Option<String>: Column<DB>,
    i64: Column<DB>,
    Option<i64>: Column<DB>,
    i32: Column<DB>,
    Option<i32>: Column<DB>,
    i16: Column<DB>,
    bool: Column<DB>,
    NaiveDate: Column<DB>,
    Option<NaiveDate>: Column<DB>,
    DateTime<Utc>: Column<DB>,
    Option<DateTime<Utc>>: Column<DB>,
    Vec<u8>: Column<DB>,
{
    /// Classifies and writes one batch; the caller's transaction makes it all or nothing.
    pub(super) async fn write_marks(
        &mut self,
        authority: &LaCode,
        marks: &[RegisterMark],
        request_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<(MarkCounts, Vec<ReplacedMark>)> {
        let schools: BTreeSet<&str> = marks.iter().map(|m| m.school_urn.as_str()).collect();
        DB::lock_schools(self.conn(), authority, &schools).await?;
        // New sessions are the common case: insert them in one go, then look at
        // what was already held only for the rest.
        let inserted = DB::insert_new_marks(self.conn(), authority, marks).await?;
        let mut counts = MarkCounts::default();
        let (mut new, mut existing) = (Vec::new(), Vec::new());
        for (mark, inserted) in marks.iter().zip(inserted) {
            if inserted {
                counts.count(MarkChange::Insert);
                new.push(mark);
            } else {
                existing.push(mark);
            }
        }
        let held = DB::held_marks(self.conn(), authority, &existing).await?;
        let mut replaced = Vec::new();
        for (mark, held) in existing.into_iter().zip(held) {
            let held =
                held.ok_or_else(|| StoreError::Corrupt("a conflicting mark vanished".into()))?;
            let change = mark_change(Some(&held), mark);
            counts.count(change);
            if change == MarkChange::Replace {
                replaced.push((mark, held));
            }
        }
        DB::replace_marks(self.conn(), authority, &replaced, request_id, at).await?;
        let figure_deltas = week_deltas(&new, &replaced);
        DB::add_week_figures(self.conn(), authority, &figure_deltas).await?;
        DB::add_year_figures(self.conn(), authority, &year_deltas(&figure_deltas)).await?;

        let written = || new.iter().copied().chain(replaced.iter().map(|(m, _)| *m));
        let spans = date_spans(written());
        let mut weeks = SchoolWeekDays::new();
        for m in written().filter(|m| m.category != CodeCategory::NotPossible) {
            weeks
                .entry((m.school_urn.as_str(), week_start(m.date)))
                .and_modify(|(first, last)| {
                    *first = (*first).min(m.date);
                    *last = (*last).max(m.date);
                })
                .or_insert((m.date, m.date));
        }
        DB::note_enrolments(self.conn(), authority, &spans).await?;
        DB::note_school_weeks(self.conn(), authority, &weeks).await?;
        // A correction to "not a possible session" may leave a week with none.
        let emptied: BTreeSet<(&str, NaiveDate)> = replaced
            .iter()
            .filter(|(m, _)| m.category == CodeCategory::NotPossible)
            .map(|(m, _)| (m.school_urn.as_str(), week_start(m.date)))
            .filter(|w| !weeks.contains_key(w))
            .collect();
        for (school, monday) in emptied {
            sqlx::query(
                "DELETE FROM attendance_school_weeks \
                 WHERE authority_code = $1 AND school_urn = $2 AND week_start = $3 AND NOT EXISTS ( \
                   SELECT 1 FROM attendance_enrolments e JOIN attendance_marks m \
                     ON m.authority_code = e.authority_code AND m.upn = e.upn AND m.school_urn = e.school_urn \
                   WHERE e.authority_code = $1 AND e.school_urn = $2 \
                     AND e.first_date <= $4 AND e.last_date >= $3 \
                     AND m.mark_date BETWEEN $3 AND $4 AND m.category <> 4)",
            )
            .bind(authority.as_str())
            .bind(school)
            .bind(monday)
            .bind(monday + chrono::Duration::days(6))
            .execute(self.conn())
            .await?;
        }
        let replaced = replaced
            .into_iter()
            .map(|(m, held)| ReplacedMark {
                upn: m.upn.to_string(),
                school_urn: m.school_urn.to_string(),
                date: m.date,
                session: m.session,
                previous_code: held.code,
                new_code: m.code.clone(),
            })
            .collect();
        Ok((counts, replaced))
    }

    pub(super) async fn select_pupil_marks(
        &mut self,
        authority: &LaCode,
        upn: &Upn,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<SchoolMark>> {
        let rows: Vec<(String, String, NaiveDate, i16, String)> = sqlx::query_as(
            "SELECT upn, school_urn, mark_date, session, code FROM attendance_marks \
             WHERE authority_code = $1 AND upn = $2 AND mark_date BETWEEN $3 AND $4 \
             ORDER BY mark_date, session, school_urn",
        )
        .bind(authority.as_str())
        .bind(upn.as_str())
        .bind(from)
        .bind(to)
        .fetch_all(self.conn())
        .await?;
        rows.into_iter().map(school_mark).collect()
    }

    pub(super) async fn select_school_weeks_of(
        &mut self,
        authority: &LaCode,
        school: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<(Vec<NaiveDate>, Option<(NaiveDate, NaiveDate)>)> {
        // One round trip: the weeks in range (0), then the school's first (1)
        // and last (2) week, each end by the primary key.
        let rows: Vec<(NaiveDate, i32)> = sqlx::query_as(
            "SELECT week_start, 0 FROM attendance_school_weeks \
             WHERE authority_code = $1 AND school_urn = $2 AND week_start BETWEEN $3 AND $4 \
             UNION ALL SELECT * FROM (SELECT week_start, 1 FROM attendance_school_weeks \
               WHERE authority_code = $1 AND school_urn = $2 ORDER BY week_start LIMIT 1) f \
             UNION ALL SELECT * FROM (SELECT week_start, 2 FROM attendance_school_weeks \
               WHERE authority_code = $1 AND school_urn = $2 ORDER BY week_start DESC LIMIT 1) l",
        )
        .bind(authority.as_str())
        .bind(school)
        .bind(week_start(from))
        .bind(to)
        .fetch_all(self.conn())
        .await?;
        let mut weeks = BTreeSet::new();
        let (mut first, mut last) = (None, None);
        for (week, part) in rows {
            match part {
                0 => {
                    weeks.insert(week);
                }
                1 => first = Some(week),
                _ => last = Some(week),
            }
        }
        Ok((weeks.into_iter().collect(), first.zip(last)))
    }

    /// Each enrolment's figures over `from..=to`. A pupil's are counted from their
    /// marks; a school's or the authority's are summed from the weekly figures
    /// over the whole weeks of the range and the weeks it cuts but no school's
    /// sessions, with the marks of the rest (see the module's doc) counted on top.
    pub(super) async fn select_enrolment_figures(
        &mut self,
        authority: &LaCode,
        scope: AttendanceScope<'_>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<EnrolmentFigures>> {
        let mut by_enrolment: BTreeMap<(String, String), Figures> = BTreeMap::new();
        let school = match scope {
            AttendanceScope::Pupil(upn) => {
                let rows = sqlx::query_as(
                    "SELECT upn, school_urn, category, COUNT(*) FROM attendance_marks \
                     WHERE authority_code = $1 AND mark_date BETWEEN $2 AND $3 AND upn = $4 \
                     GROUP BY upn, school_urn, category",
                )
                .bind(authority.as_str())
                .bind(from)
                .bind(to)
                .bind(upn.as_str())
                .fetch_all(self.conn())
                .await?;
                add_mark_counts(&mut by_enrolment, rows)?;
                return Ok(enrolment_figures(by_enrolment));
            }
            AttendanceScope::School(urn) => Some(urn.as_str()),
            AttendanceScope::Authority => None,
        };
        if from > to {
            return Ok(vec![]);
        }
        let whole = whole_weeks(from, to);
        let (range_first, range_last) = (week_start(from), week_start(to));
        // Per school year the range touches: its year rows less its weeks
        // outside the range, or the range's whole weeks in it, whichever reads
        // fewer weeks (a year row is about one week's rows).
        let weeks = |(a, b): (NaiveDate, NaiveDate)| (b - a).num_days() / 7 + 1;
        let mut years_in_rows = BTreeSet::new();
        // Only the years that hold figures: a range may run from year 1 to 9999.
        let held = self.held_weeks(authority, school).await?;
        let years = held
            .map(|(first, last)| (range_first.max(first), range_last.min(last)))
            .filter(|(first, last)| first <= last)
            .map(|(first, last)| school_year_of_week(first)..=school_year_of_week(last));
        for year in years.into_iter().flatten() {
            let Some((year_first, year_last)) = school_year_weeks(year) else {
                break;
            };
            let whole_in_year = whole.and_then(|(first, last)| {
                let (first, last) = (first.max(year_first), last.min(year_last));
                (first <= last).then_some((first, last))
            });
            let outside = [
                (year_first < range_first).then(|| (year_first, range_first - Days::new(7))),
                (range_last < year_last).then(|| (range_last + Days::new(7), year_last)),
            ];
            let outside_weeks: i64 = outside.iter().flatten().copied().map(weeks).sum();
            if 1 + outside_weeks < whole_in_year.map_or(0, weeks) {
                self.sum_year_figures(&mut by_enrolment, authority, school, year)
                    .await?;
                for span in outside.into_iter().flatten() {
                    self.subtract_week_figures(&mut by_enrolment, authority, school, span)
                        .await?;
                }
                years_in_rows.insert(year);
            } else if let Some((first, last)) = whole_in_year {
                self.sum_week_figures(&mut by_enrolment, authority, school, first, last)
                    .await?;
            }
        }
        // The weeks the range cuts: at most one at each end.
        let mut cut_weeks = vec![week_start(from)];
        if week_start(to) != week_start(from) {
            cut_weeks.push(week_start(to));
        }
        cut_weeks
            .retain(|monday| whole.is_none_or(|(first, last)| *monday < first || *monday > last));
        for monday in cut_weeks {
            let sunday = monday
                .checked_add_days(Days::new(6))
                .unwrap_or(NaiveDate::MAX);
            let days = (from.max(monday), to.min(sunday));
            let in_year_rows = years_in_rows.contains(&school_year_of_week(monday));
            self.sum_cut_week(
                &mut by_enrolment,
                authority,
                school,
                monday,
                days,
                in_year_rows,
            )
            .await?;
        }
        Ok(enrolment_figures(by_enrolment))
    }

    /// Adds the figures of `days`, part of the week from `monday`. A school
    /// whose possible sessions that week all fall within `days` (its
    /// `attendance_school_weeks` days) has its weekly figures taken whole: a
    /// range ending on a Friday cuts no school's week. The other schools'
    /// marks on those days are counted; the scope's pupils come from the
    /// enrolment spans, their marks by key, without reading the rest of the
    /// register. Where the week's school year was added from its year rows
    /// (`in_year_rows`), those other schools' weekly figures are taken off
    /// instead of the first ones' being added.
    async fn sum_cut_week(
        &mut self,
        by_enrolment: &mut BTreeMap<(String, String), Figures>,
        authority: &LaCode,
        school: Option<&str>,
        monday: NaiveDate,
        (from, to): (NaiveDate, NaiveDate),
        in_year_rows: bool,
    ) -> StoreResult<()> {
        // The week `$2`, days `$3` to `$4`, school `$5`.
        let query = sqlx::query_as(match (school.is_some(), in_year_rows) {
            (true, false) => school_week_figures!(
                "w.week_start = $2 AND w.school_urn = $5 AND w.first_day >= $3 AND w.last_day <= $4"
            ),
            (false, false) => {
                school_week_figures!("w.week_start = $2 AND w.first_day >= $3 AND w.last_day <= $4")
            }
            (true, true) => school_week_figures!(
                "w.week_start = $2 AND w.school_urn = $5 AND (w.first_day < $3 OR w.last_day > $4)"
            ),
            (false, true) => {
                school_week_figures!("w.week_start = $2 AND (w.first_day < $3 OR w.last_day > $4)")
            }
        })
        .bind(authority.as_str())
        .bind(monday)
        .bind(from)
        .bind(to);
        let query = match school {
            Some(urn) => query.bind(urn),
            None => query,
        };
        let sign = if in_year_rows { -1 } else { 1 };
        add_week_sums(by_enrolment, query.fetch_all(self.conn()).await?, sign);

        // The cut schools are few, usually none, and a school's pupils are found
        // by its enrolments: a plan the planner cannot guess from the join.
        let query = sqlx::query_scalar(if school.is_some() {
            "SELECT school_urn FROM attendance_school_weeks \
             WHERE authority_code = $1 AND week_start = $2 AND school_urn = $5 \
               AND (first_day < $3 OR last_day > $4)"
        } else {
            "SELECT school_urn FROM attendance_school_weeks \
             WHERE authority_code = $1 AND week_start = $2 \
               AND (first_day < $3 OR last_day > $4)"
        })
        .bind(authority.as_str())
        .bind(monday)
        .bind(from)
        .bind(to);
        let query = match school {
            Some(urn) => query.bind(urn),
            None => query,
        };
        let cut: Vec<String> = query.fetch_all(self.conn()).await?;
        for urn in cut {
            let rows = sqlx::query_as(
                "SELECT m.upn, m.school_urn, m.category, COUNT(*) \
                 FROM attendance_enrolments e JOIN attendance_marks m \
                   ON m.authority_code = e.authority_code AND m.upn = e.upn AND m.school_urn = e.school_urn \
                 WHERE e.authority_code = $1 AND e.school_urn = $4 \
                   AND e.first_date <= $3 AND e.last_date >= $2 \
                   AND m.mark_date BETWEEN $2 AND $3 \
                 GROUP BY m.upn, m.school_urn, m.category",
            )
            .bind(authority.as_str())
            .bind(from)
            .bind(to)
            .bind(urn.as_str())
            .fetch_all(self.conn())
            .await?;
            add_mark_counts(by_enrolment, rows)?;
        }
        Ok(())
    }

    /// The first and last school week of the authority, or of one school, with
    /// a possible session; `None` with none.
    async fn held_weeks(
        &mut self,
        authority: &LaCode,
        school: Option<&str>,
    ) -> StoreResult<Option<(NaiveDate, NaiveDate)>> {
        // One round trip: the first week (0), then the last (1).
        let query = sqlx::query_as(if school.is_some() {
            "SELECT * FROM (SELECT week_start, 0 FROM attendance_school_weeks \
               WHERE authority_code = $1 AND school_urn = $2 ORDER BY week_start LIMIT 1) f \
             UNION ALL SELECT * FROM (SELECT week_start, 1 FROM attendance_school_weeks \
               WHERE authority_code = $1 AND school_urn = $2 ORDER BY week_start DESC LIMIT 1) l"
        } else {
            "SELECT * FROM (SELECT week_start, 0 FROM attendance_school_weeks \
               WHERE authority_code = $1 ORDER BY week_start LIMIT 1) f \
             UNION ALL SELECT * FROM (SELECT week_start, 1 FROM attendance_school_weeks \
               WHERE authority_code = $1 ORDER BY week_start DESC LIMIT 1) l"
        })
        .bind(authority.as_str());
        let query = match school {
            Some(urn) => query.bind(urn),
            None => query,
        };
        let rows: Vec<(NaiveDate, i32)> = query.fetch_all(self.conn()).await?;
        let first = rows
            .iter()
            .find(|(_, end)| *end == 0)
            .map(|(week, _)| *week);
        let last = rows
            .iter()
            .find(|(_, end)| *end == 1)
            .map(|(week, _)| *week);
        Ok(first.zip(last))
    }

    /// Adds the school year's figures (`attendance_year_figures`): its weeks'
    /// figures, one row per enrolment.
    async fn sum_year_figures(
        &mut self,
        by_enrolment: &mut BTreeMap<(String, String), Figures>,
        authority: &LaCode,
        school: Option<&str>,
        year: i32,
    ) -> StoreResult<()> {
        let query = sqlx::query_as(if school.is_some() {
            "SELECT upn, school_urn, CAST(present AS BIGINT), CAST(approved_activity AS BIGINT), \
                    CAST(authorised_absence AS BIGINT), CAST(unauthorised_absence AS BIGINT) \
             FROM attendance_year_figures \
             WHERE authority_code = $1 AND school_year = $2 AND school_urn = $3"
        } else {
            "SELECT upn, school_urn, CAST(present AS BIGINT), CAST(approved_activity AS BIGINT), \
                    CAST(authorised_absence AS BIGINT), CAST(unauthorised_absence AS BIGINT) \
             FROM attendance_year_figures \
             WHERE authority_code = $1 AND school_year = $2"
        })
        .bind(authority.as_str())
        .bind(year);
        let query = match school {
            Some(urn) => query.bind(urn),
            None => query,
        };
        add_week_sums(by_enrolment, query.fetch_all(self.conn()).await?, 1);
        Ok(())
    }

    /// Takes off the weekly figures of the weeks from Monday `first` to Monday
    /// `last`, found through the school weeks: the weeks of a school year
    /// outside a range are few, and often have no sessions at all.
    async fn subtract_week_figures(
        &mut self,
        by_enrolment: &mut BTreeMap<(String, String), Figures>,
        authority: &LaCode,
        school: Option<&str>,
        (first, last): (NaiveDate, NaiveDate),
    ) -> StoreResult<()> {
        let query = sqlx::query_as(if school.is_some() {
            school_week_figures!("w.week_start BETWEEN $2 AND $3 AND w.school_urn = $4")
        } else {
            school_week_figures!("w.week_start BETWEEN $2 AND $3")
        })
        .bind(authority.as_str())
        .bind(first)
        .bind(last);
        let query = match school {
            Some(urn) => query.bind(urn),
            None => query,
        };
        add_week_sums(by_enrolment, query.fetch_all(self.conn()).await?, -1);
        Ok(())
    }

    /// Adds the weekly figures of the weeks from Monday `first` to Monday `last`.
    async fn sum_week_figures(
        &mut self,
        by_enrolment: &mut BTreeMap<(String, String), Figures>,
        authority: &LaCode,
        school: Option<&str>,
        first: NaiveDate,
        last: NaiveDate,
    ) -> StoreResult<()> {
        let query = sqlx::query_as(if school.is_some() {
            "SELECT upn, school_urn, SUM(present), SUM(approved_activity), \
                    SUM(authorised_absence), SUM(unauthorised_absence) \
             FROM attendance_week_figures \
             WHERE authority_code = $1 AND school_urn = $4 AND week_start BETWEEN $2 AND $3 \
             GROUP BY upn, school_urn"
        } else {
            "SELECT upn, school_urn, SUM(present), SUM(approved_activity), \
                    SUM(authorised_absence), SUM(unauthorised_absence) \
             FROM attendance_week_figures \
             WHERE authority_code = $1 AND week_start BETWEEN $2 AND $3 \
             GROUP BY upn, school_urn"
        })
        .bind(authority.as_str())
        .bind(first)
        .bind(last);
        let query = match school {
            Some(urn) => query.bind(urn),
            None => query,
        };
        add_week_sums(by_enrolment, query.fetch_all(self.conn()).await?, 1);
        Ok(())
    }

    pub(super) async fn select_latest_school_weeks(
        &mut self,
        authority: &LaCode,
        last_week: NaiveDate,
        per_school: i64,
        pupil: Option<&str>,
    ) -> StoreResult<Vec<(String, NaiveDate)>> {
        let Some(cache) = self.latest_weeks.clone().filter(|_| pupil.is_none()) else {
            return self
                .query_latest_school_weeks(authority, last_week, per_school, pupil)
                .await;
        };
        // (0, 0) while the authority holds no school week.
        let count: Option<(i64, i64)> = sqlx::query_as(
            "SELECT epoch, changes FROM attendance_school_week_changes WHERE authority_code = $1",
        )
        .bind(authority.as_str())
        .fetch_optional(self.conn())
        .await?;
        let key = (
            authority.to_string(),
            last_week,
            per_school,
            count.unwrap_or_default(),
        );
        if let Some(weeks) = cache.get(&key) {
            return Ok(weeks.as_ref().clone());
        }
        let weeks = self
            .query_latest_school_weeks(authority, last_week, per_school, None)
            .await?;
        cache.insert(key, Arc::new(weeks.clone()));
        Ok(weeks)
    }

    async fn query_latest_school_weeks(
        &mut self,
        authority: &LaCode,
        last_week: NaiveDate,
        per_school: i64,
        pupil: Option<&str>,
    ) -> StoreResult<Vec<(String, NaiveDate)>> {
        // One pupil's breach needs only its own schools' weeks, not the county's.
        let query = sqlx::query_as(if pupil.is_some() {
            "SELECT school_urn, week_start FROM ( \
               SELECT school_urn, week_start, \
                      ROW_NUMBER() OVER (PARTITION BY school_urn ORDER BY week_start DESC) AS back \
               FROM attendance_school_weeks WHERE authority_code = $1 AND week_start <= $2 \
                 AND school_urn IN (SELECT school_urn FROM attendance_enrolments \
                                    WHERE authority_code = $1 AND upn = $4)) w \
             WHERE back <= $3"
        } else {
            DB::LATEST_SCHOOL_WEEKS
        })
        .bind(authority.as_str())
        .bind(last_week)
        .bind(per_school);
        let query = match pupil {
            Some(upn) => query.bind(upn),
            None => query,
        };
        Ok(query.fetch_all(self.conn()).await?)
    }

    pub(super) async fn select_threshold_candidates(
        &mut self,
        authority: &LaCode,
        f: &QualifyingFilter<'_>,
        school: Option<&Urn>,
        at_least: i64,
        after_upn: &str,
        limit: i64,
    ) -> StoreResult<Vec<String>> {
        let queries = if school.is_some() {
            &DB::LIST_QUERIES.school_threshold_candidates
        } else {
            &DB::LIST_QUERIES.threshold_candidates
        };
        let query = sqlx::query_scalar(queries.get(Qualifying::of(f.codes)))
            .bind(authority.as_str())
            .bind(f.from)
            .bind(f.to)
            .bind(DB::list_arg(f.codes))
            .bind(after_upn)
            .bind(at_least)
            .bind(limit);
        let query = match school {
            Some(urn) => query.bind(urn.as_str()),
            None => query,
        };
        Ok(query.fetch_all(self.conn()).await?)
    }

    pub(super) async fn select_qualifying_marks(
        &mut self,
        authority: &LaCode,
        upns: &[String],
        f: &QualifyingFilter<'_>,
    ) -> StoreResult<Vec<SchoolMark>> {
        let rows: Vec<(String, String, NaiveDate, i16, String)> = sqlx::query_as(
            DB::LIST_QUERIES
                .qualifying_marks
                .get(Qualifying::of(f.codes)),
        )
        .bind(authority.as_str())
        .bind(DB::list_arg(upns))
        .bind(f.from)
        .bind(f.to)
        .bind(DB::list_arg(f.codes))
        .fetch_all(self.conn())
        .await?;
        rows.into_iter().map(school_mark).collect()
    }

    pub(super) async fn select_enrolments_between(
        &mut self,
        authority: &LaCode,
        upns: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<(String, String)>> {
        Ok(sqlx::query_as(DB::LIST_QUERIES.enrolments_between)
            .bind(authority.as_str())
            .bind(DB::list_arg(upns))
            .bind(from)
            .bind(to)
            .fetch_all(self.conn())
            .await?)
    }

    pub(super) async fn select_notices_of_pupils(
        &mut self,
        authority: &LaCode,
        upns: &[String],
    ) -> StoreResult<Vec<Notice>> {
        let rows: Vec<NoticeRow> = sqlx::query_as(DB::LIST_QUERIES.notices_of_pupils)
            .bind(authority.as_str())
            .bind(DB::list_arg(upns))
            .fetch_all(self.conn())
            .await?;
        rows.into_iter().map(Notice::try_from).collect()
    }

    pub(super) async fn select_mark_history(
        &mut self,
        authority: &LaCode,
        upn: &Upn,
        school: &Urn,
        date: NaiveDate,
        session: Session,
    ) -> StoreResult<Vec<(String, DateTime<Utc>)>> {
        Ok(sqlx::query_as(
            "SELECT code, record_time FROM ( \
               SELECT code, record_time, 1 AS current FROM attendance_marks \
               WHERE authority_code = $1 AND upn = $2 AND mark_date = $3 AND session = $4 AND school_urn = $5 \
               UNION ALL \
               SELECT code, record_time, 0 AS current FROM attendance_mark_history \
               WHERE authority_code = $1 AND upn = $2 AND mark_date = $3 AND session = $4 AND school_urn = $5) h \
             ORDER BY current DESC, record_time DESC",
        )
        .bind(authority.as_str())
        .bind(upn.as_str())
        .bind(date)
        .bind(session_number(session))
        .bind(school.as_str())
        .fetch_all(self.conn())
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn whole_weeks_are_the_mondays_whose_sundays_fall_in_the_range() {
        let days: Vec<NaiveDate> = d(2025, 2, 26).iter_days().take(30).collect();
        for (i, &from) in days.iter().enumerate() {
            for &to in &days[i..] {
                let mondays: Vec<NaiveDate> = days
                    .iter()
                    .copied()
                    .filter(|m| m.weekday() == chrono::Weekday::Mon)
                    .filter(|m| from <= *m && *m + Days::new(6) <= to)
                    .collect();
                let want = mondays.first().copied().zip(mondays.last().copied());
                assert_eq!(whole_weeks(from, to), want, "{from} to {to}");
            }
        }
        assert_eq!(whole_weeks(NaiveDate::MIN, NaiveDate::MIN), None);
        assert_eq!(whole_weeks(NaiveDate::MAX, NaiveDate::MAX), None);
    }

    #[test]
    fn a_correction_moves_a_session_between_categories_and_nothing_is_counted_twice() {
        use crate::domain::identifiers::{Upn, Urn};
        use crate::domain::register_codes::CodeSet;
        let mark = |date: NaiveDate, session, code: &str| RegisterMark {
            school_urn: Urn::parse("116000").unwrap(),
            upn: Upn::parse("B801200005001").unwrap(),
            date,
            session,
            code: code.into(),
            category: CodeSet::categorise(date, code).unwrap(),
            record_time: DateTime::from_timestamp(1_740_000_000, 0).unwrap(),
        };
        let held = |code: &str, date| HeldMark {
            code: code.into(),
            category: CodeSet::categorise(date, code).unwrap(),
            record_time: DateTime::from_timestamp(1_730_000_000, 0).unwrap(),
        };
        let (mon, sun, next) = (d(2025, 3, 3), d(2025, 3, 9), d(2025, 3, 10));
        let new = [
            mark(mon, Session::Am, "/"),
            mark(sun, Session::Am, "O"),
            mark(next, Session::Am, "#"),
        ];
        let corrected = [
            mark(mon, Session::Pm, "N"),
            mark(next, Session::Pm, "M"),
            mark(next + Days::new(1), Session::Am, "#"),
        ];
        let replaced = vec![
            (&corrected[0], held("I", mon)),
            (&corrected[1], held("C", next)),
            (&corrected[2], held("X", next)),
        ];
        let deltas = week_deltas(&new.iter().collect::<Vec<_>>(), &replaced);
        let key = |monday| ("116000", "B801200005001", monday);
        // Present +1; unauthorised +1 (Sunday's) +1 (the correction); authorised -1.
        assert_eq!(deltas.get(&key(mon)), Some(&[1, 0, -1, 2]));
        // "#" counts nowhere, "C" to "M" stays authorised, "X" to "#" is never possible.
        assert_eq!(deltas.get(&key(next)), None);
        assert_eq!(deltas.len(), 1);
    }
}
