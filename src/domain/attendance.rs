//! Attendance measures and the unauthorised-absence threshold, from session marks
//! (docs/domain.md, "Attendance measures" and "The threshold").

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};

use super::calendar::week_start;
use super::identifiers::{Upn, Urn};
use super::policy::Threshold;
use super::register_codes::{CodeCategory, CodeSet};
pub use super::session::PupilMark;
use super::session::Session;

/// A register mark as a school recorded it, its code already checked against
/// the code set in force on its date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterMark {
    pub school_urn: Urn,
    pub upn: Upn,
    pub date: NaiveDate,
    pub session: Session,
    pub code: String,
    pub category: CodeCategory,
    /// When the school recorded it: the later of two marks for one session wins.
    pub record_time: DateTime<Utc>,
}

/// The mark already held for a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldMark {
    pub code: String,
    /// The category the mark was stored with (its code's on its date).
    pub category: CodeCategory,
    pub record_time: DateTime<Utc>,
}

/// What recording a mark does to the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkChange {
    /// No mark was held for the session.
    Insert,
    /// A different, earlier mark was held: it moves to the history.
    Replace,
    /// The same code is already held.
    Unchanged,
    /// A different mark recorded later than this one is held: this one is
    /// older news and is not applied (registers are corrected forwards).
    Outdated,
}

/// docs/domain.md: a later mark for the same pupil/school/date/session replaces the
/// earlier one. "Later" is the school's record time, not arrival order, so a
/// connector resending an old export cannot undo a correction.
pub fn mark_change(held: Option<&HeldMark>, mark: &RegisterMark) -> MarkChange {
    match held {
        None => MarkChange::Insert,
        Some(h) if h.code == mark.code => MarkChange::Unchanged,
        Some(h) if mark.record_time >= h.record_time => MarkChange::Replace,
        Some(_) => MarkChange::Outdated,
    }
}

/// How many marks of a batch (or stream) each change applied to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MarkCounts {
    pub inserted: i64,
    pub replaced: i64,
    pub unchanged: i64,
    pub outdated: i64,
}

impl MarkCounts {
    pub fn count(&mut self, change: MarkChange) {
        match change {
            MarkChange::Insert => self.inserted += 1,
            MarkChange::Replace => self.replaced += 1,
            MarkChange::Unchanged => self.unchanged += 1,
            MarkChange::Outdated => self.outdated += 1,
        }
    }

    pub fn add(&mut self, other: MarkCounts) {
        self.inserted += other.inserted;
        self.replaced += other.replaced;
        self.unchanged += other.unchanged;
        self.outdated += other.outdated;
    }

    pub fn total(&self) -> i64 {
        self.inserted + self.replaced + self.unchanged + self.outdated
    }
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
        self.add_count(CodeSet::categorise(date, code)?, 1);
        Ok(())
    }

    /// Adds `n` sessions of a category.
    pub fn add_count(&mut self, category: CodeCategory, n: i64) {
        match category {
            CodeCategory::NotPossible => return,
            CodeCategory::Present => self.present += n,
            CodeCategory::ApprovedActivity => self.approved_activity += n,
            CodeCategory::AuthorisedAbsence => self.authorised_absence += n,
            CodeCategory::UnauthorisedAbsence => self.unauthorised_absence += n,
        }
        self.possible += n;
    }

    /// Adds another's counts.
    pub fn merge(&mut self, other: &Figures) {
        self.possible += other.possible;
        self.present += other.present;
        self.approved_activity += other.approved_activity;
        self.authorised_absence += other.authorised_absence;
        self.unauthorised_absence += other.unauthorised_absence;
    }

    /// (authorised + unauthorised absence) / possible sessions; 0 with none possible.
    pub fn overall_absence_rate(&self) -> f64 {
        if self.possible == 0 {
            0.0
        } else {
            (self.authorised_absence + self.unauthorised_absence) as f64 / self.possible as f64
        }
    }

    /// (present + approved educational activity) / possible sessions; 0 with
    /// none possible. Approved activity counts as present (docs/domain.md).
    pub fn attendance_rate(&self) -> f64 {
        if self.possible == 0 {
            0.0
        } else {
            (self.present + self.approved_activity) as f64 / self.possible as f64
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

/// The Mondays of the weeks in which `marks` hold at least one possible session:
/// a school's school weeks, from its pupils' marks.
pub fn possible_weeks<'a>(marks: impl IntoIterator<Item = &'a PupilMark>) -> BTreeSet<NaiveDate> {
    marks
        .into_iter()
        .filter(|m| is_possible(m.date, &m.code))
        .map(|m| week_start(m.date))
        .collect()
}

fn is_possible(date: NaiveDate, code: &str) -> bool {
    CodeSet::categorise(date, code).is_ok_and(|c| c != CodeCategory::NotPossible)
}

/// Whether a pupil reaches `threshold` on `as_of`: the qualifying sessions among
/// `marks` (the pupil's, at any school) within the rolling window of the last
/// `window_school_weeks` school weeks up to the week of `as_of`.
///
/// `school_weeks` are the Mondays of the weeks in which a school the pupil is
/// registered at had at least one possible session (docs/domain.md: "a week with at
/// least one possible session"). Holidays and closures are therefore not school
/// weeks, and the window spans terms, school years and a move between schools;
/// for a pupil on two schools' registers a week open at either counts.
pub fn threshold_breach(
    marks: &[PupilMark],
    school_weeks: &BTreeSet<NaiveDate>,
    as_of: NaiveDate,
    threshold: &Threshold,
) -> Option<Breach> {
    let window: Vec<NaiveDate> = school_weeks
        .range(..=week_start(as_of))
        .rev()
        .take(threshold.window_school_weeks.max(0) as usize)
        .copied()
        .collect();
    let (&last_week, &first_week) = (window.first()?, window.last()?);
    let mut sessions: Vec<PupilMark> = marks
        .iter()
        .filter(|m| {
            m.date <= as_of
                && week_start(m.date) >= first_week
                && threshold.qualifying_codes.contains(&m.code)
                && is_possible(m.date, &m.code)
        })
        .cloned()
        .collect();
    sessions.sort_by_key(|m| (m.date, m.session));
    // A dual-registered pupil's session counts once.
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

    /// The breach with the school weeks the marks themselves show.
    fn breach_on(marks: &[PupilMark], as_of: NaiveDate, t: &Threshold) -> Option<Breach> {
        threshold_breach(marks, &possible_weeks(marks), as_of, t)
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
        assert_eq!(breach_on(&marks, d(2025, 3, 7), &threshold()), None);
        let marks: Vec<_> = week(d(2025, 3, 3), &unauthorised(10));
        let breach = breach_on(&marks, d(2025, 3, 7), &threshold()).unwrap();
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
        let breach = breach_on(&marks, d(2025, 4, 25), &threshold()).unwrap();
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
        assert_eq!(breach_on(&marks, d(2025, 5, 2), &threshold()), None);
    }

    #[test]
    fn the_window_spans_a_school_year_boundary_and_a_change_of_school() {
        // July at one school, the summer holiday (no marks), September at another.
        let mut marks = week(d(2025, 7, 14), &unauthorised(6));
        marks.extend(week(d(2025, 9, 8), &unauthorised(4)));
        let breach = breach_on(&marks, d(2025, 9, 12), &threshold()).unwrap();
        assert_eq!(
            (breach.first_week, breach.qualifying_sessions),
            (d(2025, 7, 14), 10)
        );
        // Marks after the as-of date do not count.
        assert_eq!(breach_on(&marks, d(2025, 7, 18), &threshold()), None);
    }

    #[test]
    fn a_week_open_at_a_school_the_pupil_is_registered_at_is_a_school_week() {
        // Ten absences in the week of 3 Mar. The pupil's school was then open for
        // ten more weeks although the pupil has no marks in them (for example not
        // yet back on roll): those weeks still count, so the absences fall out.
        let marks = week(d(2025, 3, 3), &unauthorised(10));
        let mut weeks = possible_weeks(&marks);
        assert!(breach_on(&marks, d(2025, 5, 16), &threshold()).is_some());
        weeks.extend((1..=10).map(|w| d(2025, 3, 3) + Duration::weeks(w)));
        assert_eq!(
            threshold_breach(&marks, &weeks, d(2025, 5, 16), &threshold()),
            None
        );
    }

    #[test]
    fn a_later_mark_replaces_and_an_older_one_is_outdated() {
        let t = |s: i64| DateTime::from_timestamp(1_740_000_000 + s, 0).unwrap();
        let mark = |code: &str, at| RegisterMark {
            school_urn: Urn::parse("116000").unwrap(),
            upn: Upn::parse("B801200005001").unwrap(),
            date: d(2025, 3, 3),
            session: Session::Am,
            code: code.into(),
            category: CodeSet::categorise(d(2025, 3, 3), code).unwrap(),
            record_time: at,
        };
        let held = HeldMark {
            code: "N".into(),
            category: CodeCategory::UnauthorisedAbsence,
            record_time: t(0),
        };
        assert_eq!(mark_change(None, &mark("N", t(0))), MarkChange::Insert);
        assert_eq!(
            mark_change(Some(&held), &mark("N", t(9))),
            MarkChange::Unchanged
        );
        assert_eq!(
            mark_change(Some(&held), &mark("M", t(9))),
            MarkChange::Replace
        );
        assert_eq!(
            mark_change(Some(&held), &mark("M", t(-9))),
            MarkChange::Outdated
        );
    }
}
