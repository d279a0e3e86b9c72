//! Attendance measures and the unauthorised-absence threshold, from session marks
//! (DOMAIN.md, "Attendance measures" and "The threshold").

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::calendar::week_start;
use super::notice::Session;
use super::policy::Threshold;
use super::register_codes::{CodeCategory, CodeSet};

/// One session mark of one pupil.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PupilMark {
    pub date: NaiveDate,
    pub session: Session,
    pub code: String,
}

/// Session counts by statistical category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    /// Every session except the "not a possible session" codes.
    pub possible: i64,
    pub present: i64,
    /// Approved educational activity: counts as present.
    pub approved_activity: i64,
    pub authorised_absence: i64,
    pub unauthorised_absence: i64,
}

impl Figures {
    /// Adds one mark, categorised by the code set in force on its date; a code
    /// that set does not know is an error.
    pub fn add(&mut self, date: NaiveDate, code: &str) -> Result<(), String> {
        match CodeSet::categorise(date, code)? {
            CodeCategory::NotPossible => return Ok(()),
            CodeCategory::Present => self.present += 1,
            CodeCategory::ApprovedActivity => self.approved_activity += 1,
            CodeCategory::AuthorisedAbsence => self.authorised_absence += 1,
            CodeCategory::UnauthorisedAbsence => self.unauthorised_absence += 1,
        }
        self.possible += 1;
        Ok(())
    }

    /// (authorised + unauthorised absence) / possible sessions; 0 with none possible.
    pub fn overall_absence_rate(&self) -> f64 {
        if self.possible == 0 {
            0.0
        } else {
            (self.authorised_absence + self.unauthorised_absence) as f64 / self.possible as f64
        }
    }

    /// Absence of at least 10% of possible sessions (exact, in integers).
    pub fn persistent_absence(&self) -> bool {
        self.possible > 0
            && (self.authorised_absence + self.unauthorised_absence) * 10 >= self.possible
    }

    /// Absence of at least 50% of possible sessions.
    pub fn severe_absence(&self) -> bool {
        self.possible > 0
            && (self.authorised_absence + self.unauthorised_absence) * 2 >= self.possible
    }
}

/// A pupil at or over the threshold on a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub qualifying_sessions: i32,
    /// Monday of the window's first and last school weeks.
    pub first_week: NaiveDate,
    pub last_week: NaiveDate,
    /// The qualifying sessions, oldest first.
    pub sessions: Vec<PupilMark>,
}

/// Whether `marks` (one pupil's, any schools) reach `threshold` on `as_of`:
/// qualifying sessions within the rolling window of the last
/// `window_school_weeks` school weeks ending with the week of `as_of`. A school
/// week is a week in which the pupil had at least one possible session, so
/// holidays and closures do not count and the window spans terms, school years
/// and a move between schools.
pub fn threshold_breach(
    marks: &[PupilMark],
    as_of: NaiveDate,
    threshold: &Threshold,
) -> Option<Breach> {
    let possible = |m: &&PupilMark| {
        m.date <= as_of
            && CodeSet::categorise(m.date, &m.code).is_ok_and(|c| c != CodeCategory::NotPossible)
    };
    let school_weeks: BTreeSet<NaiveDate> = marks
        .iter()
        .filter(possible)
        .map(|m| week_start(m.date))
        .collect();
    let window: Vec<NaiveDate> = school_weeks
        .iter()
        .rev()
        .take(threshold.window_school_weeks.max(0) as usize)
        .copied()
        .collect();
    let (&last_week, &first_week) = (window.first()?, window.last()?);
    let mut sessions: Vec<PupilMark> = marks
        .iter()
        .filter(possible)
        .filter(|m| {
            week_start(m.date) >= first_week && threshold.qualifying_codes.contains(&m.code)
        })
        .cloned()
        .collect();
    sessions.sort_by_key(|m| (m.date, m.session));
    sessions.dedup_by_key(|m| (m.date, m.session));
    let count = sessions.len() as i32;
    (count >= threshold.sessions).then_some(Breach {
        qualifying_sessions: count,
        first_week,
        last_week,
        sessions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn threshold() -> Threshold {
        Threshold {
            sessions: 10,
            window_school_weeks: 10,
            qualifying_codes: ["G", "N", "O", "U"].map(String::from).to_vec(),
        }
    }

    /// A school week from `monday`: present except `absent` (code, day index, session).
    fn week(monday: NaiveDate, absent: &[(&str, i64, Session)]) -> Vec<PupilMark> {
        let mut marks = Vec::new();
        for day in 0..5 {
            for session in [Session::Am, Session::Pm] {
                let code = absent
                    .iter()
                    .find(|(_, dd, s)| *dd == day && *s == session)
                    .map_or(
                        if session == Session::Am { "/" } else { "\\" },
                        |(c, _, _)| *c,
                    );
                marks.push(PupilMark {
                    date: monday + Duration::days(day),
                    session,
                    code: code.into(),
                });
            }
        }
        marks
    }

    fn unauthorised(n: usize) -> Vec<(&'static str, i64, Session)> {
        (0..n)
            .map(|i| {
                (
                    "O",
                    (i / 2) as i64,
                    if i % 2 == 0 { Session::Am } else { Session::Pm },
                )
            })
            .collect()
    }

    #[test]
    fn figures_for_a_hand_computed_week() {
        let mut f = Figures::default();
        let monday = d(2025, 3, 3);
        for (i, code) in ["/", "\\", "L", "V", "I", "M", "G", "O", "#", "Y1"]
            .iter()
            .enumerate()
        {
            f.add(monday + Duration::days(i as i64 / 2), code).unwrap();
        }
        assert_eq!(
            f,
            Figures {
                possible: 8,
                present: 3,
                approved_activity: 1,
                authorised_absence: 2,
                unauthorised_absence: 2
            }
        );
        assert_eq!(f.overall_absence_rate(), 0.5);
        assert!(f.persistent_absence() && f.severe_absence());
        assert!(f.add(d(2025, 3, 3), "H").is_err(), "withdrawn in 2024");
    }

    #[test]
    fn ten_percent_is_persistent_and_just_under_is_not() {
        let f = Figures {
            possible: 100,
            present: 90,
            authorised_absence: 5,
            unauthorised_absence: 5,
            ..Default::default()
        };
        assert!(f.persistent_absence() && !f.severe_absence());
        let g = Figures {
            possible: 100,
            present: 91,
            authorised_absence: 9,
            ..Default::default()
        };
        assert!(!g.persistent_absence());
    }

    #[test]
    fn nine_sessions_do_not_breach_and_ten_do() {
        let marks: Vec<_> = week(d(2025, 3, 3), &unauthorised(9));
        assert_eq!(threshold_breach(&marks, d(2025, 3, 7), &threshold()), None);
        let marks: Vec<_> = week(d(2025, 3, 3), &unauthorised(10));
        let breach = threshold_breach(&marks, d(2025, 3, 7), &threshold()).unwrap();
        assert_eq!(
            (
                breach.qualifying_sessions,
                breach.first_week,
                breach.last_week
            ),
            (10, d(2025, 3, 3), d(2025, 3, 3))
        );
    }

    #[test]
    fn the_window_counts_school_weeks_so_a_half_term_does_not_shorten_it() {
        // Five absences in the week before half-term, a holiday week with no
        // possible sessions, then eight more school weeks and five more absences.
        let mut marks = week(d(2025, 2, 10), &unauthorised(5));
        // 17 Feb 2025: half-term, planned closure.
        marks.extend((0..5).flat_map(|i| {
            [Session::Am, Session::Pm].map(|s| PupilMark {
                date: d(2025, 2, 17) + Duration::days(i),
                session: s,
                code: "#".into(),
            })
        }));
        for w in 0..8 {
            marks.extend(week(d(2025, 2, 24) + Duration::weeks(w), &[]));
        }
        marks.extend(week(d(2025, 4, 21), &unauthorised(5)));
        // Ten school weeks end with 21 Apr: 10 Feb (first) .. 21 Apr, skipping half-term.
        let breach = threshold_breach(&marks, d(2025, 4, 25), &threshold()).unwrap();
        assert_eq!(
            (
                breach.first_week,
                breach.last_week,
                breach.qualifying_sessions
            ),
            (d(2025, 2, 10), d(2025, 4, 21), 10)
        );
        // One school week later the first five fall out of the window.
        marks.extend(week(d(2025, 4, 28), &[]));
        assert_eq!(threshold_breach(&marks, d(2025, 5, 2), &threshold()), None);
    }

    #[test]
    fn the_window_spans_a_school_year_boundary_and_a_change_of_school() {
        // July at one school, the summer holiday (no marks), September at another.
        let mut marks = week(d(2025, 7, 14), &unauthorised(6));
        marks.extend(week(d(2025, 9, 8), &unauthorised(4)));
        let breach = threshold_breach(&marks, d(2025, 9, 12), &threshold()).unwrap();
        assert_eq!(
            (breach.first_week, breach.qualifying_sessions),
            (d(2025, 7, 14), 10)
        );
        // Marks after the as-of date do not count.
        assert_eq!(threshold_breach(&marks, d(2025, 7, 18), &threshold()), None);
    }
}
