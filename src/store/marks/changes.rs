//! What a batch of marks changes, worked out before it is written: the weekly
//! and school-year figures' deltas, the enrolment spans and school weeks, and
//! the stored forms of a session and a category.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};

use super::super::{StoreError, StoreResult};
use super::SchoolMark;
use crate::domain::attendance::{HeldMark, PupilMark, RegisterMark};
use crate::domain::calendar::{school_year_of_week, week_start};
use crate::domain::notice::Session;
use crate::domain::register_codes::CodeCategory;

pub(in crate::store) fn session_number(session: Session) -> i16 {
    match session {
        Session::Am => 0,
        Session::Pm => 1,
    }
}

/// A stored mark's category (`attendance_marks.category`).
pub(in crate::store) fn stored_category(n: i16) -> StoreResult<CodeCategory> {
    CodeCategory::from_i16(n).ok_or_else(|| StoreError::Corrupt(format!("mark category {n}")))
}

/// How a write changed the weekly figures: per `(school, upn, week_start)`, the
/// sessions gained (or lost, negative) in present, approved activity,
/// authorised and unauthorised absence.
pub(in crate::store) type WeekDeltas<'a> = BTreeMap<(&'a str, &'a str, NaiveDate), [i32; 4]>;

/// How a write changed the school-year figures: per `(school_year, school,
/// upn)` ([`school_year_of_week`] of the weeks), as [`WeekDeltas`].
pub(in crate::store) type YearDeltas<'a> = BTreeMap<(i32, &'a str, &'a str), [i32; 4]>;

/// The school years' change made of the weeks' change.
pub(in crate::store) fn year_deltas<'a>(weeks: &WeekDeltas<'a>) -> YearDeltas<'a> {
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
pub(in crate::store) type SchoolWeekDays<'a> =
    BTreeMap<(&'a str, NaiveDate), (NaiveDate, NaiveDate)>;

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
pub(in crate::store) fn week_deltas<'a>(
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

/// A row of (upn, school, date, session, code) as a school's mark.
pub(in crate::store) fn school_mark(
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

pub(in crate::store) fn session_of(n: i16) -> StoreResult<Session> {
    match n {
        0 => Ok(Session::Am),
        1 => Ok(Session::Pm),
        _ => Err(StoreError::Corrupt(format!("session {n}"))),
    }
}

/// The Mondays of the first and last whole (Monday to Sunday) weeks inside
/// `from..=to`, if it holds one.
pub(in crate::store) fn whole_weeks(
    from: NaiveDate,
    to: NaiveDate,
) -> Option<(NaiveDate, NaiveDate)> {
    let first = week_start(from.checked_add_days(Days::new(6))?);
    let last = week_start(to.checked_sub_days(Days::new(6))?);
    (first <= last).then_some((first, last))
}

/// Each `(upn, school)` of `marks` with the first and last date they give it.
pub(in crate::store) fn date_spans<'a>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Datelike};

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
