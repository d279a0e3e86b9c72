//! Attendance summaries: figures per enrolment over a date range.
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

use async_trait::async_trait;
use chrono::{Days, NaiveDate};

use super::super::StoreResult;
use super::super::tx::sql_impl;
use super::changes::{stored_category, whole_weeks};
use crate::domain::attendance::Figures;
use crate::domain::calendar::{school_year_of_week, school_year_weeks, week_start};
use crate::domain::identifiers::{LaCode, Upn, Urn};
use crate::domain::register_codes::CodeCategory;

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

/// Which marks an attendance summary covers.
#[derive(Debug, Clone, Copy)]
pub enum AttendanceScope<'a> {
    Authority,
    School(&'a Urn),
    Pupil(&'a Upn),
}

/// One enrolment's (pupil at a school) session counts over a date range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentFigures {
    pub upn: String,
    pub school_urn: String,
    pub figures: Figures,
}

/// One school's enrolments over a range, summed: the figures of those with a
/// possible session, how many they are, and how many of them were
/// persistently and severely absent (`Figures::persistent_absence`,
/// `Figures::severe_absence`, restated in SQL: tests/api/store_rules.rs checks
/// they agree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolTotals {
    pub school_urn: String,
    pub figures: Figures,
    pub enrolments: i64,
    pub persistent_absence_enrolments: i64,
    pub severe_absence_enrolments: i64,
}

// A school year's rows per school, summed and classified in the database: the
// whole authority's school year is 200,000 rows at county size, which took
// most of a summary's time to send and add up in the server (BENCHMARKS.md,
// session 15). `$3` is the school, where there is one.
macro_rules! school_year_totals {
    ($school:literal) => {
        concat!(
            "SELECT school_urn, CAST(SUM(present) AS BIGINT), CAST(SUM(approved_activity) AS BIGINT), \
                    CAST(SUM(authorised_absence) AS BIGINT), CAST(SUM(unauthorised_absence) AS BIGINT), \
                    COUNT(*), \
                    SUM(CASE WHEN (authorised_absence + unauthorised_absence) * 10 >= possible THEN 1 ELSE 0 END), \
                    SUM(CASE WHEN (authorised_absence + unauthorised_absence) * 2 >= possible THEN 1 ELSE 0 END) \
             FROM (SELECT school_urn, present, approved_activity, authorised_absence, unauthorised_absence, \
                          present + approved_activity + authorised_absence + unauthorised_absence AS possible \
                   FROM attendance_year_figures \
                   WHERE authority_code = $1 AND school_year = $2",
            $school,
            ") y WHERE possible > 0 GROUP BY school_urn ORDER BY school_urn"
        )
    };
}

/// Session counts per enrolment.
#[async_trait]
pub trait SummaryStore: Send {
    /// Per school (by URN), its enrolments' figures over `from..=to` summed
    /// and classified, when every figure in the range is a whole school
    /// year's row: no school week of that year holds a possible session
    /// outside the range (a school year's summary). `None` otherwise: the
    /// caller sums [`SummaryStore::enrolment_figures`] instead.
    async fn school_totals(
        &mut self,
        authority: &LaCode,
        school: Option<&Urn>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Option<Vec<SchoolTotals>>>;

    /// Session counts per enrolment for marks in scope dated `from..=to`.
    async fn enrolment_figures(
        &mut self,
        authority: &LaCode,
        scope: AttendanceScope<'_>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<EnrolmentFigures>>;
}

sql_impl! {
    impl SummaryStore for Tx {
        async fn school_totals(
            &mut self,
            authority: &LaCode,
            school: Option<&Urn>,
            from: NaiveDate,
            to: NaiveDate,
        ) -> StoreResult<Option<Vec<SchoolTotals>>> {
            let school = school.map(Urn::as_str);
            if from > to {
                return Ok(None);
            }
            let Some((first, last)) = self.held_weeks(authority, school).await? else {
                return Ok(None);
            };
            let (first, last) = (week_start(from).max(first), week_start(to).min(last));
            let year = school_year_of_week(first);
            if first > last || school_year_of_week(last) != year {
                return Ok(None);
            }
            let Some((year_first, year_last)) = school_year_weeks(year) else {
                return Ok(None);
            };
            // Any school week of the year with a possible session outside the range?
            let query = sqlx::query_scalar(if school.is_some() {
                "SELECT COUNT(*) FROM attendance_school_weeks \
                 WHERE authority_code = $1 AND school_urn = $5 \
                   AND week_start BETWEEN $2 AND $3 AND (first_day < $4 OR last_day > $6)"
            } else {
                "SELECT COUNT(*) FROM attendance_school_weeks \
                 WHERE authority_code = $1 \
                   AND week_start BETWEEN $2 AND $3 AND (first_day < $4 OR last_day > $5)"
            })
            .bind(authority.as_str())
            .bind(year_first)
            .bind(year_last)
            .bind(from);
            let query = match school {
                Some(urn) => query.bind(urn).bind(to),
                None => query.bind(to),
            };
            let outside: i64 = query.fetch_one(self.conn()).await?;
            if outside > 0 {
                return Ok(None);
            }
            let query = sqlx::query_as(if school.is_some() {
                school_year_totals!(" AND school_urn = $3")
            } else {
                school_year_totals!("")
            })
            .bind(authority.as_str())
            .bind(year);
            let query = match school {
                Some(urn) => query.bind(urn),
                None => query,
            };
            let rows: Vec<(String, i64, i64, i64, i64, i64, i64, i64)> =
                query.fetch_all(self.conn()).await?;
            Ok(Some(
                rows.into_iter()
                    .map(
                        |(school_urn, present, approved, authorised, unauthorised, enrolments, persistent, severe)| {
                            let mut figures = Figures::default();
                            figures.add_count(CodeCategory::Present, present);
                            figures.add_count(CodeCategory::ApprovedActivity, approved);
                            figures.add_count(CodeCategory::AuthorisedAbsence, authorised);
                            figures.add_count(CodeCategory::UnauthorisedAbsence, unauthorised);
                            SchoolTotals {
                                school_urn,
                                figures,
                                enrolments,
                                persistent_absence_enrolments: persistent,
                                severe_absence_enrolments: severe,
                            }
                        },
                    )
                    .collect(),
            ))
        }

        /// Each enrolment's figures over `from..=to`. A pupil's are counted from their
        /// marks; a school's or the authority's are summed from the weekly figures
        /// over the whole weeks of the range and the weeks it cuts but no school's
        /// sessions, with the marks of the rest (see the module's doc) counted on top.
        async fn enrolment_figures(
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
    }
}

sql_impl! {
    impl Tx {
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
    }
}
