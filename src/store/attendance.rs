// Attendance SQL that PostgreSQL and SQLite both accept, compiled into each
// backend module with `include!` after `common.rs`. The including module defines:
// - `any_of!("$n")`: the SQL for "is one of the list bound as $n";
// - `ListArg` and `list_arg(&[String])`: how that list is bound;
// - the bulk writes `lock_schools`, `insert_new_marks`, `held_marks`,
//   `replace_marks`, `note_enrolments` and `note_school_weeks` (its `marks.rs`).

use std::collections::{BTreeMap, BTreeSet};

use super::{AttendanceScope, EnrolmentFigures, QualifyingFilter, SchoolMark};
use crate::domain::attendance::{mark_change, Figures, HeldMark, MarkChange, PupilMark};
use crate::domain::calendar::week_start;
use crate::domain::identifiers::Urn;
use crate::domain::notice::Session;
use crate::domain::register_codes::CodeCategory;

fn session_number(session: Session) -> i16 {
    match session {
        Session::Am => 0,
        Session::Pm => 1,
    }
}

fn session_of(n: i16) -> StoreResult<Session> {
    match n {
        0 => Ok(Session::Am),
        1 => Ok(Session::Pm),
        _ => Err(StoreError::Corrupt(format!("session {n}"))),
    }
}

/// Classifies and writes one batch; the caller's transaction makes it all or nothing.
async fn write_marks(
    tx: &mut sqlx::pool::PoolConnection<Db>,
    authority: &LaCode,
    marks: &[RegisterMark],
    request_id: &str,
    at: DateTime<Utc>,
) -> StoreResult<MarkCounts> {
    let schools: BTreeSet<&str> = marks.iter().map(|m| m.school_urn.as_str()).collect();
    lock_schools(tx, authority, &schools).await?;
    // New sessions are the common case: insert them in one go, then look at
    // what was already held only for the rest.
    let inserted = insert_new_marks(tx, authority, marks).await?;
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
    let held = held_marks(tx, authority, &existing).await?;
    let mut replaced = Vec::new();
    for (mark, held) in existing.into_iter().zip(held) {
        let held = held.ok_or_else(|| StoreError::Corrupt("a conflicting mark vanished".into()))?;
        let change = mark_change(Some(&held), mark);
        counts.count(change);
        if change == MarkChange::Replace {
            replaced.push((mark, held));
        }
    }
    replace_marks(tx, authority, &replaced, request_id, at).await?;

    let written = || new.iter().copied().chain(replaced.iter().map(|(m, _)| *m));
    let spans = date_spans(written());
    let weeks: BTreeSet<(&str, NaiveDate)> = written()
        .filter(|m| m.category != CodeCategory::NotPossible)
        .map(|m| (m.school_urn.as_str(), week_start(m.date)))
        .collect();
    note_enrolments(tx, authority, &spans).await?;
    note_school_weeks(tx, authority, &weeks).await?;
    // A correction to "not a possible session" may leave a week with none.
    let emptied: BTreeSet<(&str, NaiveDate)> = replaced
        .iter()
        .filter(|(m, _)| m.category == CodeCategory::NotPossible)
        .map(|(m, _)| (m.school_urn.as_str(), week_start(m.date)))
        .filter(|w| !weeks.contains(w))
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
        .execute(&mut **tx)
        .await?;
    }
    Ok(counts)
}

/// Each `(upn, school)` of `marks` with the first and last date they give it.
fn date_spans<'a>(
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

async fn select_enrolment_figures(
    conn: &mut <Db as sqlx::Database>::Connection,
    authority: &LaCode,
    scope: AttendanceScope<'_>,
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<EnrolmentFigures>> {
    let query = match scope {
        AttendanceScope::Pupil(upn) => sqlx::query_as(
            "SELECT upn, school_urn, category, COUNT(*) FROM attendance_marks \
             WHERE authority_code = $1 AND mark_date BETWEEN $2 AND $3 AND upn = $4 \
             GROUP BY upn, school_urn, category",
        )
        .bind(authority.as_str())
        .bind(from)
        .bind(to)
        .bind(upn.as_str()),
        // The school's pupils come from the enrolment spans, their marks by key.
        AttendanceScope::School(urn) => sqlx::query_as(
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
        .bind(urn.as_str()),
        AttendanceScope::Authority => sqlx::query_as(
            "SELECT upn, school_urn, category, COUNT(*) FROM attendance_marks \
             WHERE authority_code = $1 AND mark_date BETWEEN $2 AND $3 \
             GROUP BY upn, school_urn, category",
        )
        .bind(authority.as_str())
        .bind(from)
        .bind(to),
    };
    let rows: Vec<(String, String, i16, i64)> = query.fetch_all(&mut *conn).await?;
    let mut by_enrolment: BTreeMap<(String, String), Figures> = BTreeMap::new();
    for (upn, school_urn, category, count) in rows {
        let category = CodeCategory::from_i16(category)
            .ok_or_else(|| StoreError::Corrupt(format!("mark category {category}")))?;
        by_enrolment
            .entry((upn, school_urn))
            .or_default()
            .add_count(category, count);
    }
    Ok(by_enrolment
        .into_iter()
        .map(|((upn, school_urn), figures)| EnrolmentFigures {
            upn,
            school_urn,
            figures,
        })
        .collect())
}

async fn select_latest_school_weeks(
    conn: &mut <Db as sqlx::Database>::Connection,
    authority: &LaCode,
    last_week: NaiveDate,
    per_school: i64,
) -> StoreResult<Vec<(String, NaiveDate)>> {
    Ok(sqlx::query_as(
        "SELECT school_urn, week_start FROM ( \
           SELECT school_urn, week_start, \
                  ROW_NUMBER() OVER (PARTITION BY school_urn ORDER BY week_start DESC) AS back \
           FROM attendance_school_weeks WHERE authority_code = $1 AND week_start <= $2) w \
         WHERE back <= $3",
    )
    .bind(authority.as_str())
    .bind(last_week)
    .bind(per_school)
    .fetch_all(&mut *conn)
    .await?)
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

/// `$query!(predicate)` with the partial indexes' predicate for `$qualifying`,
/// word for word as in the migration so that the planners use them.
macro_rules! with_qualifying {
    ($qualifying:expr, $query:ident $(, $arg:literal)*) => {
        match $qualifying {
            Qualifying::Unauthorised => $query!("category = 3" $(, $arg)*),
            Qualifying::Late => $query!("code = 'L'" $(, $arg)*),
            Qualifying::Both => $query!("(category = 3 OR code = 'L')" $(, $arg)*),
        }
    };
}

// Reads the qualifying marks by pupil, then date, in UPN order and stops at the
// limit: a page of breaches costs only its own pupils' marks. `$pupils` narrows
// the pupils (to one school's) or is empty.
macro_rules! threshold_candidates {
    ($predicate:literal, $pupils:literal) => {
        concat!(
            "SELECT upn FROM attendance_marks \
             WHERE authority_code = $1 AND mark_date BETWEEN $2 AND $3 AND ",
            $predicate,
            " AND code ",
            any_of!("$4"),
            " AND upn > $5",
            $pupils,
            " GROUP BY upn HAVING COUNT(*) >= $6 ORDER BY upn LIMIT $7"
        )
    };
}

macro_rules! qualifying_marks {
    ($predicate:literal) => {
        concat!(
            "SELECT upn, school_urn, mark_date, session, code FROM attendance_marks \
             WHERE authority_code = $1 AND upn ",
            any_of!("$2"),
            " AND mark_date BETWEEN $3 AND $4 AND ",
            $predicate,
            " AND code ",
            any_of!("$5"),
        )
    };
}

async fn select_threshold_candidates(
    conn: &mut <Db as sqlx::Database>::Connection,
    authority: &LaCode,
    f: &QualifyingFilter<'_>,
    school: Option<&Urn>,
    at_least: i64,
    after_upn: &str,
    limit: i64,
) -> StoreResult<Vec<String>> {
    let qualifying = Qualifying::of(f.codes);
    let query = sqlx::query_scalar(if school.is_some() {
        with_qualifying!(
            qualifying,
            threshold_candidates,
            " AND upn IN ( \
               SELECT upn FROM attendance_enrolments \
               WHERE authority_code = $1 AND school_urn = $8 \
                 AND first_date <= $3 AND last_date >= $2)"
        )
    } else {
        with_qualifying!(qualifying, threshold_candidates, "")
    })
    .bind(authority.as_str())
    .bind(f.from)
    .bind(f.to)
    .bind(list_arg(f.codes))
    .bind(after_upn)
    .bind(at_least)
    .bind(limit);
    let query = match school {
        Some(urn) => query.bind(urn.as_str()),
        None => query,
    };
    Ok(query.fetch_all(&mut *conn).await?)
}

async fn select_qualifying_marks(
    conn: &mut <Db as sqlx::Database>::Connection,
    authority: &LaCode,
    upns: &[String],
    f: &QualifyingFilter<'_>,
) -> StoreResult<Vec<SchoolMark>> {
    let rows: Vec<(String, String, NaiveDate, i16, String)> =
        sqlx::query_as(with_qualifying!(Qualifying::of(f.codes), qualifying_marks))
    .bind(authority.as_str())
    .bind(list_arg(upns))
    .bind(f.from)
    .bind(f.to)
    .bind(list_arg(f.codes))
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(upn, school_urn, date, session, code)| {
            Ok(SchoolMark {
                upn,
                school_urn,
                mark: PupilMark {
                    date,
                    session: session_of(session)?,
                    code,
                },
            })
        })
        .collect()
}

async fn select_enrolments_between(
    conn: &mut <Db as sqlx::Database>::Connection,
    authority: &LaCode,
    upns: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<(String, String)>> {
    Ok(sqlx::query_as(concat!(
        "SELECT upn, school_urn FROM attendance_enrolments WHERE authority_code = $1 AND upn ",
        any_of!("$2"),
        " AND first_date <= $4 AND last_date >= $3 ORDER BY upn, school_urn"
    ))
    .bind(authority.as_str())
    .bind(list_arg(upns))
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?)
}

async fn select_notices_of_pupils(
    conn: &mut <Db as sqlx::Database>::Connection,
    authority: &LaCode,
    upns: &[String],
) -> StoreResult<Vec<Notice>> {
    let rows: Vec<NoticeRow> = sqlx::query_as(concat!(
        notice_select!(),
        " WHERE authority_code = $1 AND upn ",
        any_of!("$2"),
        " ORDER BY upn, issue_date, notice_number"
    ))
    .bind(authority.as_str())
    .bind(list_arg(upns))
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(Notice::try_from).collect()
}

async fn select_mark_history(
    conn: &mut <Db as sqlx::Database>::Connection,
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
    .fetch_all(&mut *conn)
    .await?)
}
