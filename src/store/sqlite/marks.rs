//! SQLite's writes of register marks: a prepared statement per row inside the one
//! write transaction, which is how SQLite is fastest (no network round trips).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::domain::attendance::{HeldMark, RegisterMark};
use crate::domain::identifiers::LaCode;
use crate::store::StoreResult;
use crate::store::marks::MarkSql;
use crate::store::marks::changes::{
    SchoolWeekDays, WeekDeltas, YearDeltas, session_number, stored_category,
};
use crate::store::marks::queries::{ListQueries, list_queries};

/// Rows of weekly figures per INSERT: 800 bound values, well under SQLite's limit.
const WEEK_FIGURES_PER_INSERT: usize = 100;

impl MarkSql for Sqlite {
    const LIST_QUERIES: ListQueries = list_queries!(any_of);

    /// BEGIN IMMEDIATE already makes this transaction the only writer.
    async fn lock_schools(
        _conn: &mut SqliteConnection,
        _authority: &LaCode,
        _schools: &BTreeSet<&str>,
    ) -> StoreResult<()> {
        Ok(())
    }

    /// The mark held for each of `marks`' sessions, in the same order.
    async fn held_marks(
        conn: &mut SqliteConnection,
        authority: &LaCode,
        marks: &[&RegisterMark],
    ) -> StoreResult<Vec<Option<HeldMark>>> {
        let mut held = Vec::with_capacity(marks.len());
        for m in marks {
            let row: Option<(String, i16, DateTime<Utc>)> = sqlx::query_as(
                "SELECT code, category, record_time FROM attendance_marks WHERE authority_code = $1 \
                 AND upn = $2 AND mark_date = $3 AND session = $4 AND school_urn = $5",
            )
            .bind(authority.as_str())
            .bind(m.upn.as_str())
            .bind(m.date)
            .bind(session_number(m.session))
            .bind(m.school_urn.as_str())
            .fetch_optional(&mut *conn)
            .await?;
            held.push(match row {
                None => None,
                Some((code, category, record_time)) => Some(HeldMark {
                    code,
                    category: stored_category(category)?,
                    record_time,
                }),
            });
        }
        Ok(held)
    }

    /// Inserts the marks for sessions not held yet; `true` for each one inserted.
    async fn insert_new_marks(
        conn: &mut SqliteConnection,
        authority: &LaCode,
        marks: &[RegisterMark],
    ) -> StoreResult<Vec<bool>> {
        let mut inserted = Vec::with_capacity(marks.len());
        for m in marks {
            let done = sqlx::query(
                "INSERT INTO attendance_marks \
                 (authority_code, upn, mark_date, session, school_urn, code, category, record_time) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            )
            .bind(authority.as_str())
            .bind(m.upn.as_str())
            .bind(m.date)
            .bind(session_number(m.session))
            .bind(m.school_urn.as_str())
            .bind(m.code.as_str())
            .bind(m.category.as_i16())
            .bind(m.record_time)
            .execute(&mut *conn)
            .await?;
            inserted.push(done.rows_affected() == 1);
        }
        Ok(inserted)
    }

    /// Moves each held mark to the history and puts the new one in its place.
    async fn replace_marks(
        conn: &mut SqliteConnection,
        authority: &LaCode,
        replaced: &[(&RegisterMark, HeldMark)],
        request_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        for (m, held) in replaced {
            sqlx::query(
                "INSERT INTO attendance_mark_history \
                 (authority_code, upn, mark_date, session, school_urn, replaced_at, code, record_time, \
                  replaced_by_code, replaced_by_request) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(authority.as_str())
            .bind(m.upn.as_str())
            .bind(m.date)
            .bind(session_number(m.session))
            .bind(m.school_urn.as_str())
            .bind(at)
            .bind(held.code.as_str())
            .bind(held.record_time)
            .bind(m.code.as_str())
            .bind(request_id)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "UPDATE attendance_marks SET code = $6, category = $7, record_time = $8 \
                 WHERE authority_code = $1 AND upn = $2 AND mark_date = $3 AND session = $4 \
                   AND school_urn = $5",
            )
            .bind(authority.as_str())
            .bind(m.upn.as_str())
            .bind(m.date)
            .bind(session_number(m.session))
            .bind(m.school_urn.as_str())
            .bind(m.code.as_str())
            .bind(m.category.as_i16())
            .bind(m.record_time)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    /// Widens each `(upn, school)` enrolment span to cover the given dates.
    async fn note_enrolments(
        conn: &mut SqliteConnection,
        authority: &LaCode,
        spans: &BTreeMap<(&str, &str), (NaiveDate, NaiveDate)>,
    ) -> StoreResult<()> {
        for ((upn, school), (first, last)) in spans {
            sqlx::query(
                "INSERT INTO attendance_enrolments (authority_code, upn, school_urn, first_date, last_date) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (authority_code, upn, school_urn) DO UPDATE \
                 SET first_date = MIN(first_date, excluded.first_date), \
                     last_date = MAX(last_date, excluded.last_date)",
            )
            .bind(authority.as_str())
            .bind(*upn)
            .bind(*school)
            .bind(*first)
            .bind(*last)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    /// By multi-row INSERTs: one statement per 100 rows.
    async fn add_week_figures(
        conn: &mut SqliteConnection,
        authority: &LaCode,
        deltas: &WeekDeltas<'_>,
    ) -> StoreResult<()> {
        let rows: Vec<_> = deltas.iter().collect();
        for chunk in rows.chunks(WEEK_FIGURES_PER_INSERT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO attendance_week_figures (authority_code, school_urn, upn, week_start, \
                 present, approved_activity, authorised_absence, unauthorised_absence) ",
            );
            insert.push_values(chunk, |mut row, ((school, upn, monday), counts)| {
                row.push_bind(authority.as_str())
                    .push_bind(*school)
                    .push_bind(*upn)
                    .push_bind(*monday);
                for n in *counts {
                    row.push_bind(*n);
                }
            });
            // Not kept prepared: a statement per chunk size would crowd the cache.
            insert.build().persistent(false).execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// By multi-row upserts: one statement per 100 rows.
    async fn add_year_figures(
        conn: &mut SqliteConnection,
        authority: &LaCode,
        deltas: &YearDeltas<'_>,
    ) -> StoreResult<()> {
        let rows: Vec<_> = deltas.iter().collect();
        for chunk in rows.chunks(WEEK_FIGURES_PER_INSERT) {
            let mut upsert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO attendance_year_figures (authority_code, school_year, school_urn, upn, \
                 present, approved_activity, authorised_absence, unauthorised_absence) ",
            );
            upsert.push_values(chunk, |mut row, ((year, school, upn), counts)| {
                row.push_bind(authority.as_str())
                    .push_bind(*year)
                    .push_bind(*school)
                    .push_bind(*upn);
                for n in *counts {
                    row.push_bind(*n);
                }
            });
            upsert.push(
                " ON CONFLICT (authority_code, school_year, school_urn, upn) DO UPDATE \
                 SET present = present + excluded.present, \
                     approved_activity = approved_activity + excluded.approved_activity, \
                     authorised_absence = authorised_absence + excluded.authorised_absence, \
                     unauthorised_absence = unauthorised_absence + excluded.unauthorised_absence",
            );
            // Not kept prepared: a statement per chunk size would crowd the cache.
            upsert.build().persistent(false).execute(&mut *conn).await?;
        }
        Ok(())
    }

    async fn note_school_weeks(
        conn: &mut SqliteConnection,
        authority: &LaCode,
        weeks: &SchoolWeekDays<'_>,
    ) -> StoreResult<()> {
        for ((school, monday), (first, last)) in weeks {
            sqlx::query(
                "INSERT INTO attendance_school_weeks (authority_code, school_urn, week_start, first_day, last_day) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (authority_code, school_urn, week_start) DO UPDATE \
                 SET first_day = MIN(first_day, excluded.first_day), \
                     last_day = MAX(last_day, excluded.last_day) \
                 WHERE excluded.first_day < first_day OR excluded.last_day > last_day",
            )
            .bind(authority.as_str())
            .bind(*school)
            .bind(*monday)
            .bind(*first)
            .bind(*last)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}
