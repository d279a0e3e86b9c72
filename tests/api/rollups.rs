//! GetAttendanceSummary for the whole authority or one school sums the weekly
//! figures (appended deltas, migration 0013) over the whole weeks of its range,
//! and over the part weeks at its ends where a school's sessions that week all
//! lie inside the range (migration 0014), and counts raw marks for the rest.
//! Over a few weeks of seeded random marks (two schools, a pupil at both,
//! weekend sessions at one school, every category)
//! and rounds of corrections, every range's figures equal a count of the marks
//! the test sent, worked out here with the service's own "later mark wins" rule.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};
use lea_notices::domain::actor::Role;
use lea_notices::domain::attendance::Figures;
use lea_notices::domain::register_codes::CodeSet;
use lea_notices::proto::v1::{self as pb};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::helpers::attendance::{batch, mark, record};
use crate::helpers::notices::{d, proto_date};
use crate::helpers::{As, TestApp, on_both_backends};

const SCHOOLS: [&str; 2] = ["116439", "116440"];

/// Codes of each category (CodeCategory's order): present, approved activity,
/// authorised, unauthorised, not a possible session.
const CODES: [&[&str]; 5] = [
    &["/", "\\", "L"],
    &["K", "V", "P", "W", "B"],
    &["C", "M", "I", "S"],
    &["G", "N", "O", "U"],
    &["#", "X", "Z", "Y1"],
];

/// A session: pupil, school, date, session (0 = AM, 1 = PM).
type Key = (u32, &'static str, NaiveDate, u8);

/// The register as the service should hold it: each session's code and record time.
type Register = BTreeMap<Key, (&'static str, i64)>;

fn officer(app: &TestApp) -> As {
    app.as_role("850", Role::LaOfficer)
}

fn category_of(code: &str) -> usize {
    CODES
        .iter()
        .position(|codes| codes.contains(&code))
        .expect("a listed code")
}

fn random_code(rng: &mut StdRng) -> &'static str {
    let category = match rng.random_range(0..20) {
        0..10 => 0,
        10..12 => 1,
        12..15 => 2,
        15..18 => 3,
        _ => 4,
    };
    CODES[category].choose(rng).expect("codes")
}

fn to_mark(key: &Key, code: &str, recorded: i64) -> pb::Mark {
    let (pupil, school, date, session) = *key;
    let session = if session == 0 {
        pb::Session::Am
    } else {
        pb::Session::Pm
    };
    mark(school, pupil, date, session, code, recorded)
}

/// What recording `code` at `recorded` does to `register` (docs/domain.md: a later
/// mark replaces the held one; the same code or an older record changes nothing).
fn apply(register: &mut Register, key: Key, code: &'static str, recorded: i64) {
    match register.get(&key) {
        Some((held, _)) if *held == code => {}
        Some((_, held_at)) if recorded < *held_at => {}
        _ => {
            register.insert(key, (code, recorded));
        }
    }
}

/// Sends `marks` in the given order in batches of random sizes, one call.
async fn send(app: &TestApp, rng: &mut StdRng, round: &str, marks: Vec<pb::Mark>) {
    let mut batches = Vec::new();
    let mut rest = &marks[..];
    while !rest.is_empty() {
        let n = rng.random_range(1..=40).min(rest.len());
        let (now, later) = rest.split_at(n);
        batches.push(batch(
            &format!("{round}-{}-{}", batches.len(), uuid::Uuid::new_v4()),
            now.to_vec(),
        ));
        rest = later;
    }
    record(&officer(app), batches).await.unwrap();
}

/// The schools each pupil is on the register of, and when: pupil 6 moves from
/// the first school to the second, with a week at both.
fn enrolled(pupil: u32, school: &str, date: NaiveDate) -> bool {
    match pupil {
        1..=3 => school == SCHOOLS[0],
        4..=5 => school == SCHOOLS[1],
        _ if school == SCHOOLS[0] => date <= d(2025, 3, 16),
        _ => date >= d(2025, 3, 10),
    }
}

/// Marks from Wednesday 5 to Tuesday 25 March 2025: most weekday sessions, a
/// few weekend ones at one school, then rounds of corrections of every kind.
async fn load(app: &TestApp, rng: &mut StdRng) -> Register {
    let mut register = Register::new();
    let mut first = Vec::new();
    for day in d(2025, 3, 5)
        .iter_days()
        .take_while(|x| *x <= d(2025, 3, 25))
    {
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        for pupil in 1..=6 {
            for school in SCHOOLS {
                for session in 0..2 {
                    // Weekend sessions at the second school only (until corrections
                    // add a few at the first), so that a range ending on a Friday
                    // cuts one school's week and not the other's.
                    let wanted = match (weekend, school == SCHOOLS[1]) {
                        (false, _) => 0.9,
                        (true, true) => 0.15,
                        (true, false) => 0.0,
                    };
                    if enrolled(pupil, school, day) && rng.random_bool(wanted) {
                        let key = (pupil, school, day, session);
                        let (code, recorded) = (random_code(rng), rng.random_range(0..100));
                        apply(&mut register, key, code, recorded);
                        first.push(to_mark(&key, code, recorded));
                    }
                }
            }
        }
    }
    first.shuffle(rng);
    send(app, rng, "load", first).await;

    let every_session: Vec<Key> = d(2025, 3, 5)
        .iter_days()
        .take_while(|x| *x <= d(2025, 3, 25))
        .flat_map(|day| {
            (1..=6).flat_map(move |pupil| {
                SCHOOLS.into_iter().flat_map(move |school| {
                    (0..2)
                        .filter(move |_| enrolled(pupil, school, day))
                        .map(move |session| (pupil, school, day, session))
                })
            })
        })
        .collect();
    for round in 0..4_i64 {
        let later = 1_000 * (round + 1);
        let mut corrections = Vec::new();
        for key in every_session.choose_multiple(rng, 60) {
            let Some(&(held, held_at)) = register.get(key) else {
                // A session first marked in a batch of corrections.
                let code = random_code(rng);
                apply(&mut register, *key, code, later);
                corrections.push(to_mark(key, code, later));
                continue;
            };
            let held_category = category_of(held);
            let other = |rng: &mut StdRng, category: usize| loop {
                let code = *CODES[category].choose(rng).expect("codes");
                if code != held {
                    break code;
                }
            };
            let (code, recorded) = match rng.random_range(0..6) {
                // Another category.
                0 => {
                    let category = (held_category + rng.random_range(1..5)) % 5;
                    (other(rng, category), later)
                }
                // Another code of the same category.
                1 => (other(rng, held_category), later),
                // Not a possible session after all, or possible after all.
                2 if held_category == 4 => {
                    let category = rng.random_range(0..4);
                    (other(rng, category), later)
                }
                2 => (other(rng, 4), later),
                // An older record of another code: outdated, changes nothing.
                3 => (other(rng, (held_category + 1) % 5), held_at - 1),
                // The same code again: unchanged.
                4 => (held, later),
                _ => (random_code(rng), later),
            };
            apply(&mut register, *key, code, recorded);
            corrections.push(to_mark(key, code, recorded));
        }
        send(app, rng, &format!("correct-{round}"), corrections).await;
    }
    register
}

/// Figures as compared: the five counts, then enrolments, persistent and severe.
type Totals = [i64; 8];

fn totals_of(enrolments: &[Figures]) -> Totals {
    let mut t = [0; 8];
    for f in enrolments {
        t[0] += f.possible;
        t[1] += f.present;
        t[2] += f.approved_activity;
        t[3] += f.authorised_absence;
        t[4] += f.unauthorised_absence;
        t[5] += 1;
        t[6] += i64::from(f.persistent_absence());
        t[7] += i64::from(f.severe_absence());
    }
    t
}

fn proto_totals(f: Option<&pb::AttendanceFigures>, counts: [i64; 3]) -> Totals {
    let f = f.expect("figures");
    [
        f.possible_sessions,
        f.present,
        f.approved_educational_activity,
        f.authorised_absence,
        f.unauthorised_absence,
        counts[0],
        counts[1],
        counts[2],
    ]
}

/// Each school's totals over `from..=to`, counted from `register`.
fn expected(register: &Register, from: NaiveDate, to: NaiveDate) -> BTreeMap<&str, Totals> {
    let mut by_enrolment: BTreeMap<(&str, u32), Figures> = BTreeMap::new();
    for ((pupil, school, date, _), (code, _)) in register {
        if *date < from || *date > to {
            continue;
        }
        by_enrolment
            .entry((*school, *pupil))
            .or_default()
            .add_count(CodeSet::categorise(*date, code).unwrap(), 1);
    }
    let mut by_school: BTreeMap<&str, Vec<Figures>> = BTreeMap::new();
    for ((school, _), f) in by_enrolment {
        if f.possible > 0 {
            by_school.entry(school).or_default().push(f);
        }
    }
    by_school
        .into_iter()
        .map(|(school, f)| (school, totals_of(&f)))
        .collect()
}

async fn summary(
    app: &TestApp,
    school: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> pb::GetAttendanceSummaryResponse {
    officer(app)
        .attendance()
        .get_attendance_summary(pb::GetAttendanceSummaryRequest {
            parent: "authorities/850".into(),
            school_urn: school.into(),
            start_date: proto_date(from),
            end_date: proto_date(to),
            group_by: pb::AttendanceGrouping::School as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

fn response_totals(r: &pb::GetAttendanceSummaryResponse) -> Totals {
    proto_totals(
        r.figures.as_ref(),
        [
            r.enrolments,
            r.persistent_absence_enrolments,
            r.severe_absence_enrolments,
        ],
    )
}

fn school_totals(r: &pb::GetAttendanceSummaryResponse) -> BTreeMap<&str, Totals> {
    r.school_groups
        .iter()
        .map(|g| {
            let counts = [
                g.enrolments,
                g.persistent_absence_enrolments,
                g.severe_absence_enrolments,
            ];
            (
                g.school_urn.as_str(),
                proto_totals(g.figures.as_ref(), counts),
            )
        })
        .collect()
}

/// The authority's and each school's summary over `from..=to` against `register`.
async fn check(app: &TestApp, register: &Register, from: NaiveDate, to: NaiveDate) {
    let want = expected(register, from, to);
    let authority = summary(app, "", from, to).await;
    let mut total = [0; 8];
    for t in want.values() {
        for (sum, n) in total.iter_mut().zip(t) {
            *sum += n;
        }
    }
    assert_eq!(
        response_totals(&authority),
        total,
        "authority, {from} to {to}"
    );
    assert_eq!(
        school_totals(&authority),
        want,
        "authority by school, {from} to {to}"
    );
    for school in SCHOOLS {
        let one = summary(app, school, from, to).await;
        let want = want.get(school).copied().unwrap_or_default();
        assert_eq!(
            response_totals(&one),
            want,
            "school {school}, {from} to {to}"
        );
    }
}

/// Every range over the data and a few days beyond it at both ends: a Monday
/// two days before the first mark to a Thursday two days after the last.
fn every_range() -> impl Iterator<Item = (NaiveDate, NaiveDate)> {
    let (first, last) = (d(2025, 3, 3), d(2025, 3, 27));
    first
        .iter_days()
        .take_while(move |x| *x <= last)
        .flat_map(move |from| {
            from.iter_days()
                .take_while(move |x| *x <= last)
                .map(move |to| (from, to))
        })
}

/// Ranges of months that end in the data or beyond it: a summary reads them
/// from the school year's rows (2024/25, migration 0015) less the weeks
/// outside, or over two school years.
fn long_ranges() -> impl Iterator<Item = (NaiveDate, NaiveDate)> {
    let froms = [
        d(2024, 9, 1),
        d(2024, 9, 3),
        d(2024, 12, 1),
        d(2025, 3, 5),
        d(2025, 3, 12),
    ];
    let tos = [
        d(2025, 3, 12),
        d(2025, 3, 14),
        d(2025, 3, 16),
        d(2025, 3, 25),
        d(2025, 7, 18),
        d(2025, 8, 31),
        d(2025, 10, 1),
    ];
    froms
        .into_iter()
        .flat_map(move |from| tos.into_iter().map(move |to| (from, to)))
        .filter(|(from, to)| from <= to)
}

on_both_backends! {
    async fn every_range_of_the_weekly_figures_equals_a_count_of_the_marks(app) {
        let mut rng = StdRng::seed_from_u64(0x2011_0715);
        let register = load(&app, &mut rng).await;
        // Every category is there, in both schools, and at weekends.
        for category in 0..5 {
            for school in SCHOOLS {
                assert!(register.iter().any(|((_, s, _, _), (code, _))| *s == school && category_of(code) == category));
            }
        }
        assert!(register.keys().any(|(_, _, date, _)| date.weekday() == Weekday::Sun));
        for (from, to) in every_range() {
            check(&app, &register, from, to).await;
        }
        // Ranges far beyond the data, and one ending before it starts.
        check(&app, &register, d(2024, 9, 1), d(2025, 8, 31)).await;
        check(&app, &register, d(2025, 3, 1), d(2025, 3, 4)).await;
        // The widest range the API takes: only the years that hold figures are read.
        check(&app, &register, d(1, 1, 1), d(9999, 12, 31)).await;
        // Long ranges, read from the school year's rows less the weeks outside
        // them, each end cutting a week or not.
        for (from, to) in long_ranges() {
            check(&app, &register, from, to).await;
        }
    }

    async fn the_migration_backfills_the_weekly_figures_from_the_marks_held(app) {
        let mut rng = StdRng::seed_from_u64(0x0013);
        let register = load(&app, &mut rng).await;
        // As if the marks had been written before migration 0013: only its backfill
        // (and no school-year rows either: migration 0015 came later).
        app.execute_raw("DELETE FROM attendance_week_figures").await.unwrap();
        app.execute_raw("DELETE FROM attendance_year_figures").await.unwrap();
        // Whole weeks only: read from the weekly figures alone.
        let empty = summary(&app, "", d(2025, 3, 3), d(2025, 3, 30)).await;
        assert_eq!(response_totals(&empty), [0; 8]);
        let migration = match app.backend {
            lea_notices::store::Backend::Postgres => include_str!("../../src/store/postgres/migrations/0013_week_figures.sql"),
            lea_notices::store::Backend::Sqlite => include_str!("../../src/store/sqlite/migrations/0013_week_figures.sql"),
        };
        let backfill = &migration[migration.find("INSERT INTO attendance_week_figures").expect("the backfill")..];
        let backfill = &backfill[..=backfill.find(';').expect("one statement")];
        app.execute_raw(backfill).await.unwrap();
        // As if the school weeks had been written before migration 0014: its
        // backfill of their days. Wrong days (none) first, to be put right.
        app.execute_raw("UPDATE attendance_school_weeks SET first_day = week_start, last_day = week_start").await.unwrap();
        let migration = match app.backend {
            lea_notices::store::Backend::Postgres => include_str!("../../src/store/postgres/migrations/0014_school_week_days.sql"),
            lea_notices::store::Backend::Sqlite => include_str!("../../src/store/sqlite/migrations/0014_school_week_days.sql"),
        };
        let backfill = &migration[migration.find("UPDATE attendance_school_weeks").expect("the backfill")..];
        let backfill = &backfill[..=backfill.find(';').expect("one statement")];
        assert!(app.execute_raw(backfill).await.unwrap() > 0, "the backfill sets the days");
        // And migration 0015's of the school years, from the weekly figures.
        app.execute_raw("DELETE FROM attendance_year_figures").await.unwrap();
        let migration = match app.backend {
            lea_notices::store::Backend::Postgres => include_str!("../../src/store/postgres/migrations/0015_year_figures.sql"),
            lea_notices::store::Backend::Sqlite => include_str!("../../src/store/sqlite/migrations/0015_year_figures.sql"),
        };
        let backfill = &migration[migration.find("INSERT INTO attendance_year_figures").expect("the backfill")..];
        let backfill = &backfill[..=backfill.find(';').expect("one statement")];
        assert!(app.execute_raw(backfill).await.unwrap() > 0, "the backfill adds the years");
        for (from, to) in long_ranges() {
            check(&app, &register, from, to).await;
        }
        for (from, to) in [(d(2025, 3, 3), d(2025, 3, 30)), (d(2025, 3, 5), d(2025, 3, 25)), (d(2025, 3, 10), d(2025, 3, 23)), (d(2025, 3, 11), d(2025, 3, 19)), (d(2025, 3, 5), d(2025, 3, 14)), (d(2025, 3, 12), d(2025, 3, 21))] {
            check(&app, &register, from, to).await;
        }
        // And the figures written after the backfill add to it.
        let key = (1, SCHOOLS[0], d(2025, 3, 12), 0);
        let code = if register.get(&key).is_some_and(|(c, _)| category_of(c) == 3) { "/" } else { "O" };
        let mut register = register;
        apply(&mut register, key, code, 1_000_000);
        send(&app, &mut rng, "after", vec![to_mark(&key, code, 1_000_000)]).await;
        check(&app, &register, d(2025, 3, 3), d(2025, 3, 30)).await;
        check(&app, &register, d(2024, 9, 2), d(2025, 7, 18)).await;
    }
}
