//! Register marks as written: batches of marks, a pupil's marks and history,
//! a school's weeks.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::tx::sql_impl;
use super::{StoreError, StoreResult};
use crate::domain::attendance::{MarkChange, MarkCounts, PupilMark, RegisterMark, mark_change};
use crate::domain::calendar::week_start;
use crate::domain::evidence::ReplacedMark;
use crate::domain::identifiers::{LaCode, Upn, Urn};
use crate::domain::notice::Session;
use crate::domain::register_codes::CodeCategory;
use changes::{SchoolWeekDays, date_spans, school_mark, session_number, week_deltas, year_deltas};

mod backend;
pub(in crate::store) mod changes;
pub(in crate::store) mod queries;
pub mod search;
pub mod summary;

pub(in crate::store) use backend::MarkSql;

/// A mark of one pupil at one school.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolMark {
    pub upn: String,
    pub school_urn: String,
    pub mark: PupilMark,
}

/// Register marks: writes, and the reads of one pupil or school.
#[async_trait]
pub trait MarkStore: Send {
    /// Writes a batch of marks (no two for the same session): new sessions are
    /// inserted, later different marks replace held ones (which move to the
    /// history), and the enrolment spans and school weeks follow. Returns the
    /// counts and the held marks that were replaced.
    async fn record_marks(
        &mut self,
        authority: &LaCode,
        marks: &[RegisterMark],
        request_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<(MarkCounts, Vec<ReplacedMark>)>;

    /// Every mark held for a pupil dated `from..=to`, at any school.
    async fn pupil_marks(
        &mut self,
        authority: &LaCode,
        upn: &Upn,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<SchoolMark>>;

    /// The schools whose registers a pupil has ever been on.
    async fn pupil_schools(&mut self, authority: &LaCode, upn: &Upn) -> StoreResult<Vec<String>>;

    /// A school's school weeks (Mondays) within `from..=to`, and the first and
    /// last school week it has sent registers for (`None` before any).
    async fn school_weeks_of(
        &mut self,
        authority: &LaCode,
        school: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<(Vec<NaiveDate>, Option<(NaiveDate, NaiveDate)>)>;

    /// The marks a pupil's session has held, current first then replaced ones
    /// newest first: `(code, record_time)`.
    async fn mark_history(
        &mut self,
        authority: &LaCode,
        upn: &Upn,
        school: &Urn,
        date: NaiveDate,
        session: crate::domain::notice::Session,
    ) -> StoreResult<Vec<(String, DateTime<Utc>)>>;
}

sql_impl! {
    impl MarkStore for Tx where [DB: MarkSql] {
        /// Classifies and writes one batch; the caller's transaction makes it all or nothing.
        async fn record_marks(
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

        async fn pupil_marks(
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

        async fn pupil_schools(&mut self, authority: &LaCode, upn: &Upn) -> StoreResult<Vec<String>> {
            Ok(sqlx::query_scalar(
                "SELECT school_urn FROM attendance_enrolments \
                 WHERE authority_code = $1 AND upn = $2 ORDER BY school_urn",
            )
            .bind(authority.as_str())
            .bind(upn.as_str())
            .fetch_all(&mut *self.conn)
            .await?)
        }

        async fn school_weeks_of(
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

        async fn mark_history(
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
}
