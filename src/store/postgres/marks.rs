//! PostgreSQL's bulk writes of register marks: one statement per step for the
//! whole batch, the rows sent as arrays and spread out with UNNEST (a statement
//! per row would be ~100x slower; see ARCHITECTURE.md).
//!
//! A statement that looks up a batch's sessions in the register probes the
//! primary key once per row whatever the statistics say: a `LATERAL` subquery
//! with `LIMIT 1`, or `ON CONFLICT`, never a plain join. Given a join, the
//! planner hashes the authority's whole register when its statistics predate
//! the authority's marks (an authority's first load into a database analysed
//! before it): each batch then reads every mark loaded so far (0.35 s a batch at
//! 776,000 marks, growing with each; BENCHMARKS.md, national scale).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, Postgres};

use crate::domain::attendance::{HeldMark, RegisterMark};
use crate::domain::identifiers::LaCode;
use crate::store::marks::MarkSql;
use crate::store::marks::changes::{
    SchoolWeekDays, WeekDeltas, YearDeltas, date_spans, session_number, stored_category,
};
use crate::store::marks::queries::{ListQueries, list_queries};
use crate::store::{StoreError, StoreResult};

/// The statements that look up a batch's sessions in the register (see the
/// module doc), public for the test that reads their plans
/// (`tests/api/partitions.rs`).
#[doc(hidden)]
pub mod register_lookups {
    /// Whether any mark is held for a pupil and school between two dates.
    pub const ANY_HELD: &str = "SELECT EXISTS ( \
           SELECT 1 FROM UNNEST($2::text[], $3::text[], $4::date[], $5::date[]) \
                AS i(upn, school_urn, first_date, last_date) \
           CROSS JOIN LATERAL (SELECT 1 FROM attendance_marks m \
             WHERE m.authority_code = $1 AND m.upn = i.upn \
               AND m.mark_date BETWEEN i.first_date AND i.last_date \
               AND m.school_urn = i.school_urn LIMIT 1) m)";
    /// The mark held for each session, by its ordinal.
    pub const HELD_MARKS: &str = "SELECT i.ord, m.code, m.category, m.record_time \
             FROM UNNEST($2::text[], $3::date[], $4::int2[], $5::text[]) \
                  WITH ORDINALITY AS i(upn, mark_date, session, school_urn, ord) \
             CROSS JOIN LATERAL (SELECT code, category, record_time FROM attendance_marks m \
               WHERE m.authority_code = $1 AND m.upn = i.upn AND m.mark_date = i.mark_date \
                 AND m.session = i.session AND m.school_urn = i.school_urn LIMIT 1) m";
    /// Each held session's mark replaced in place.
    pub const REPLACE_MARKS: &str = "INSERT INTO attendance_marks AS m \
             (authority_code, upn, mark_date, session, school_urn, code, category, record_time) \
             SELECT $1, * FROM UNNEST($2::text[], $3::date[], $4::int2[], $5::text[], $6::text[], \
                                      $7::int2[], $8::timestamptz[]) \
             ON CONFLICT (authority_code, upn, mark_date, session, school_urn) DO UPDATE \
             SET code = EXCLUDED.code, category = EXCLUDED.category, \
                 record_time = EXCLUDED.record_time";
}

/// Binds the authority as `$1` and a batch's columns as `$2`–`$8`, in the
/// order the register's inserts list them.
macro_rules! bind_marks {
    ($query:expr, $authority:expr, $c:expr) => {
        $query
            .bind($authority.as_str())
            .bind(&$c.upns[..])
            .bind(&$c.dates[..])
            .bind(&$c.sessions[..])
            .bind(&$c.schools[..])
            .bind(&$c.codes[..])
            .bind(&$c.categories[..])
            .bind(&$c.record_times[..])
    };
}

impl MarkSql for Postgres {
    const LIST_QUERIES: ListQueries = list_queries!(any_of);

    /// One writer per school at a time, so a mark's "held" value cannot change
    /// between reading it and replacing it. Taken in URN order: no deadlocks.
    async fn lock_schools(
        conn: &mut PgConnection,
        authority: &LaCode,
        schools: &BTreeSet<&str>,
    ) -> StoreResult<()> {
        for school in schools {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(format!("marks/{authority}/{school}"))
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// The mark held for each of `marks`' sessions, in the same order.
    ///
    /// Each session is one probe of the primary key (see the module doc).
    async fn held_marks(
        conn: &mut PgConnection,
        authority: &LaCode,
        marks: &[&RegisterMark],
    ) -> StoreResult<Vec<Option<HeldMark>>> {
        if marks.is_empty() {
            return Ok(vec![]);
        }
        let c = columns(marks.iter().copied());
        let rows: Vec<(i64, String, i16, DateTime<Utc>)> =
            sqlx::query_as(register_lookups::HELD_MARKS)
                .bind(authority.as_str())
                .bind(&c.upns[..])
                .bind(&c.dates[..])
                .bind(&c.sessions[..])
                .bind(&c.schools[..])
                .fetch_all(&mut *conn)
                .await?;
        let mut held = vec![None; marks.len()];
        for (ord, code, category, record_time) in rows {
            held[(ord - 1) as usize] = Some(HeldMark {
                code,
                category: stored_category(category)?,
                record_time,
            });
        }
        Ok(held)
    }

    /// Inserts the marks for sessions not held yet; `true` for each one inserted.
    ///
    /// A batch of sessions none of which is held (the daily feed, a first load)
    /// goes in by COPY. INSERT … ON CONFLICT probes the primary key a second time
    /// for every row: a third of PostgreSQL's time in a profile (BENCHMARKS.md).
    /// The school locks make the check hold until commit.
    async fn insert_new_marks(
        conn: &mut PgConnection,
        authority: &LaCode,
        marks: &[RegisterMark],
    ) -> StoreResult<Vec<bool>> {
        let spans = date_spans(marks.iter());
        if !any_held(conn, authority, &spans).await? {
            copy_marks(conn, authority, marks).await?;
            return Ok(vec![true; marks.len()]);
        }
        let c = columns(marks.iter());
        let rows: Vec<(String, NaiveDate, i16, String)> = bind_marks!(
            sqlx::query_as(
                "INSERT INTO attendance_marks \
                 (authority_code, upn, mark_date, session, school_urn, code, category, record_time) \
                 SELECT $1, * FROM UNNEST($2::text[], $3::date[], $4::int2[], $5::text[], $6::text[], \
                                          $7::int2[], $8::timestamptz[]) \
                 ON CONFLICT DO NOTHING RETURNING upn, mark_date, session, school_urn",
            ),
            authority,
            c
        )
        .fetch_all(&mut *conn)
        .await?;
        if rows.len() == marks.len() {
            return Ok(vec![true; marks.len()]);
        }
        let inserted: std::collections::HashSet<(&str, NaiveDate, i16, &str)> = rows
            .iter()
            .map(|(upn, date, session, school)| (upn.as_str(), *date, *session, school.as_str()))
            .collect();
        let inserted = marks
            .iter()
            .map(|m| {
                inserted.contains(&(
                    m.upn.as_str(),
                    m.date,
                    session_number(m.session),
                    m.school_urn.as_str(),
                ))
            })
            .collect();
        Ok(inserted)
    }

    /// Moves each held mark to the history and puts the new one in its place.
    async fn replace_marks(
        conn: &mut PgConnection,
        authority: &LaCode,
        replaced: &[(&RegisterMark, HeldMark)],
        request_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        if replaced.is_empty() {
            return Ok(());
        }
        let c = columns(replaced.iter().map(|(m, _)| *m));
        // The history row is the mark held (read by `held_marks` in this unit,
        // under the school locks): no join back to the register.
        let held_codes: Vec<&str> = replaced.iter().map(|(_, h)| h.code.as_str()).collect();
        let held_times: Vec<DateTime<Utc>> = replaced.iter().map(|(_, h)| h.record_time).collect();
        sqlx::query(
            "INSERT INTO attendance_mark_history \
             (authority_code, upn, mark_date, session, school_urn, replaced_at, code, record_time, \
              replaced_by_code, replaced_by_request) \
             SELECT $1, i.upn, i.mark_date, i.session, i.school_urn, $6, i.held_code, i.held_time, \
                    i.code, $7 \
             FROM UNNEST($2::text[], $3::date[], $4::int2[], $5::text[], $8::text[], $9::text[], \
                         $10::timestamptz[]) \
                  AS i(upn, mark_date, session, school_urn, code, held_code, held_time)",
        )
        .bind(authority.as_str())
        .bind(&c.upns[..])
        .bind(&c.dates[..])
        .bind(&c.sessions[..])
        .bind(&c.schools[..])
        .bind(at)
        .bind(request_id)
        .bind(&c.codes[..])
        .bind(&held_codes[..])
        .bind(&held_times[..])
        .execute(&mut *conn)
        .await?;
        // Every session is held: each row meets its own conflict, one probe of
        // the primary key, and is updated in place.
        bind_marks!(sqlx::query(register_lookups::REPLACE_MARKS), authority, c)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Widens each `(upn, school)` enrolment span to cover the given dates.
    async fn note_enrolments(
        conn: &mut PgConnection,
        authority: &LaCode,
        spans: &BTreeMap<(&str, &str), (NaiveDate, NaiveDate)>,
    ) -> StoreResult<()> {
        if spans.is_empty() {
            return Ok(());
        }
        let c = span_columns(spans);
        sqlx::query(
            "INSERT INTO attendance_enrolments (authority_code, upn, school_urn, first_date, last_date) \
             SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::date[], $5::date[]) \
             ON CONFLICT (authority_code, upn, school_urn) DO UPDATE \
             SET first_date = LEAST(attendance_enrolments.first_date, excluded.first_date), \
                 last_date = GREATEST(attendance_enrolments.last_date, excluded.last_date) \
             WHERE excluded.first_date < attendance_enrolments.first_date \
                OR excluded.last_date > attendance_enrolments.last_date",
        )
        .bind(authority.as_str())
        .bind(c.upns)
        .bind(c.schools)
        .bind(c.firsts)
        .bind(c.lasts)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// One INSERT of arrays, not COPY: measured before the connections had
    /// TCP_NODELAY (see `nodelay`), COPY's closing message waited for delayed
    /// ACKs and made this step cost ingestion 28% at 10% of a county, this
    /// INSERT 10–13%. Every batch sends its figures: counting them in SQL from
    /// the marks a COPY had just written (session 7) read each batch's marks
    /// back, and ingestion took 7% longer than sending them (BENCHMARKS.md,
    /// session 10).
    async fn add_week_figures(
        conn: &mut PgConnection,
        authority: &LaCode,
        deltas: &WeekDeltas<'_>,
    ) -> StoreResult<()> {
        if deltas.is_empty() {
            return Ok(());
        }
        let column = |i: usize| deltas.values().map(|row| row[i]).collect::<Vec<i32>>();
        sqlx::query(
            "INSERT INTO attendance_week_figures (authority_code, school_urn, upn, week_start, \
             present, approved_activity, authorised_absence, unauthorised_absence) \
             SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::date[], \
                                      $5::int4[], $6::int4[], $7::int4[], $8::int4[])",
        )
        .bind(authority.as_str())
        .bind(
            deltas
                .keys()
                .map(|(school, _, _)| *school)
                .collect::<Vec<_>>(),
        )
        .bind(deltas.keys().map(|(_, upn, _)| *upn).collect::<Vec<_>>())
        .bind(
            deltas
                .keys()
                .map(|(_, _, monday)| *monday)
                .collect::<Vec<_>>(),
        )
        .bind(column(0))
        .bind(column(1))
        .bind(column(2))
        .bind(column(3))
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// In key order, as every writer does, so that two writes of one pupil's
    /// rows wait for each other and never deadlock.
    async fn add_year_figures(
        conn: &mut PgConnection,
        authority: &LaCode,
        deltas: &YearDeltas<'_>,
    ) -> StoreResult<()> {
        if deltas.is_empty() {
            return Ok(());
        }
        let column = |i: usize| deltas.values().map(|row| row[i]).collect::<Vec<i32>>();
        sqlx::query(
            "INSERT INTO attendance_year_figures AS y (authority_code, school_year, school_urn, upn, \
             present, approved_activity, authorised_absence, unauthorised_absence) \
             SELECT $1, * FROM UNNEST($2::int4[], $3::text[], $4::text[], \
                                      $5::int4[], $6::int4[], $7::int4[], $8::int4[]) \
             ON CONFLICT (authority_code, school_year, school_urn, upn) DO UPDATE \
             SET present = y.present + excluded.present, \
                 approved_activity = y.approved_activity + excluded.approved_activity, \
                 authorised_absence = y.authorised_absence + excluded.authorised_absence, \
                 unauthorised_absence = y.unauthorised_absence + excluded.unauthorised_absence",
        )
        .bind(authority.as_str())
        .bind(deltas.keys().map(|(year, _, _)| *year).collect::<Vec<_>>())
        .bind(deltas.keys().map(|(_, school, _)| *school).collect::<Vec<_>>())
        .bind(deltas.keys().map(|(_, _, upn)| *upn).collect::<Vec<_>>())
        .bind(column(0))
        .bind(column(1))
        .bind(column(2))
        .bind(column(3))
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn note_school_weeks(
        conn: &mut PgConnection,
        authority: &LaCode,
        weeks: &SchoolWeekDays<'_>,
    ) -> StoreResult<()> {
        if weeks.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO attendance_school_weeks (authority_code, school_urn, week_start, first_day, last_day) \
             SELECT $1, * FROM UNNEST($2::text[], $3::date[], $4::date[], $5::date[]) \
             ON CONFLICT (authority_code, school_urn, week_start) DO UPDATE \
             SET first_day = LEAST(attendance_school_weeks.first_day, excluded.first_day), \
                 last_day = GREATEST(attendance_school_weeks.last_day, excluded.last_day) \
             WHERE excluded.first_day < attendance_school_weeks.first_day \
                OR excluded.last_day > attendance_school_weeks.last_day",
        )
        .bind(authority.as_str())
        .bind(weeks.keys().map(|(school, _)| *school).collect::<Vec<_>>())
        .bind(weeks.keys().map(|(_, monday)| *monday).collect::<Vec<_>>())
        .bind(weeks.values().map(|(first, _)| *first).collect::<Vec<_>>())
        .bind(weeks.values().map(|(_, last)| *last).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// A batch's marks as one array per column, for UNNEST.
struct MarkColumns<'a> {
    upns: Vec<&'a str>,
    dates: Vec<NaiveDate>,
    sessions: Vec<i16>,
    schools: Vec<&'a str>,
    codes: Vec<&'a str>,
    categories: Vec<i16>,
    record_times: Vec<DateTime<Utc>>,
}

fn columns<'a>(marks: impl Iterator<Item = &'a RegisterMark>) -> MarkColumns<'a> {
    let mut c = MarkColumns {
        upns: vec![],
        dates: vec![],
        sessions: vec![],
        schools: vec![],
        codes: vec![],
        categories: vec![],
        record_times: vec![],
    };
    for m in marks {
        c.upns.push(m.upn.as_str());
        c.dates.push(m.date);
        c.sessions.push(session_number(m.session));
        c.schools.push(m.school_urn.as_str());
        c.codes.push(m.code.as_str());
        c.categories.push(m.category.as_i16());
        c.record_times.push(m.record_time);
    }
    c
}

/// Each `(upn, school)` span as one array per column, for UNNEST.
struct SpanColumns<'a> {
    upns: Vec<&'a str>,
    schools: Vec<&'a str>,
    firsts: Vec<NaiveDate>,
    lasts: Vec<NaiveDate>,
}

fn span_columns<'a>(
    spans: &BTreeMap<(&'a str, &'a str), (NaiveDate, NaiveDate)>,
) -> SpanColumns<'a> {
    SpanColumns {
        upns: spans.keys().map(|(upn, _)| *upn).collect(),
        schools: spans.keys().map(|(_, school)| *school).collect(),
        firsts: spans.values().map(|(first, _)| *first).collect(),
        lasts: spans.values().map(|(_, last)| *last).collect(),
    }
}

/// Whether any mark is held for a pupil and school within the dates `marks`
/// give them: one index range probe per pupil and school, not one per mark
///.
async fn any_held(
    conn: &mut PgConnection,
    authority: &LaCode,
    spans: &BTreeMap<(&str, &str), (NaiveDate, NaiveDate)>,
) -> StoreResult<bool> {
    let c = span_columns(spans);
    Ok(sqlx::query_scalar(register_lookups::ANY_HELD)
        .bind(authority.as_str())
        .bind(c.upns)
        .bind(c.schools)
        .bind(c.firsts)
        .bind(c.lasts)
        .fetch_one(&mut *conn)
        .await?)
}

/// Writes `marks` with COPY (text format); none of their sessions may be held.
async fn copy_marks(
    conn: &mut PgConnection,
    authority: &LaCode,
    marks: &[RegisterMark],
) -> StoreResult<()> {
    use std::fmt::Write;
    let mut rows = String::with_capacity(marks.len() * 80);
    for m in marks {
        // Infallible: writing to a String.
        let _ = writeln!(
            rows,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            copy_text(authority.as_str()),
            copy_text(m.upn.as_str()),
            m.date,
            session_number(m.session),
            copy_text(m.school_urn.as_str()),
            copy_text(&m.code),
            m.category.as_i16(),
            m.record_time
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        );
    }
    copy_rows(
        conn,
        "COPY attendance_marks \
         (authority_code, upn, mark_date, session, school_urn, code, category, record_time) \
         FROM STDIN",
        rows,
        marks.len(),
    )
    .await
}

/// Sends `rows` (COPY's text format) by the `COPY … FROM STDIN` `statement`,
/// which must write `expected` rows.
async fn copy_rows(
    conn: &mut PgConnection,
    statement: &'static str,
    rows: String,
    expected: usize,
) -> StoreResult<()> {
    let mut copy = conn.copy_in_raw(statement).await?;
    // A COPY merely dropped leaves the connection out of step with the server,
    // so a failed send is aborted explicitly (a cancelled one closes the
    // connection: see `Tx`'s drop).
    if let Err(e) = copy.send(rows.into_bytes()).await {
        let _ = copy.abort("sending the rows failed").await;
        return Err(e.into());
    }
    let written = copy.finish().await?;
    if written as usize != expected {
        return Err(StoreError::Corrupt(format!(
            "COPY wrote {written} of {expected} rows"
        )));
    }
    Ok(())
}

/// A value escaped for COPY's text format (the register code `\` needs it).
pub(super) fn copy_text(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains(['\\', '\t', '\n', '\r']) {
        return value.into();
    }
    let mut out = String::with_capacity(value.len() + 2);
    for ch in value.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(ch),
        }
    }
    out.into()
}
