//! Working days and civil dates for notice periods (docs/domain.md, "Penalty notices"):
//! England and Wales bank holidays, receipt of posted notices, the last day of a
//! period, and the Europe/London date.
//!
//! Bank holidays are generated for each year from their rules, then the one-off
//! changes in `data/bank_holiday_changes_england_wales.txt` (jubilees, royal
//! events) are applied, so no year runs out the way a table of dates would.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::RangeInclusive;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, TimeDelta, Utc, Weekday};

/// The first year the changes file has been checked from: earlier years had other
/// one-off days (1977, 1981) and, before 1978, no early May bank holiday.
const FIRST_SUPPORTED_YEAR: i32 = 1990;
/// Four-digit years: later dates are typing errors, not notices.
const LAST_SUPPORTED_YEAR: i32 = 9999;

/// Kept as data so a new jubilee is a line in a text file, not an edit to code.
const CHANGES_TXT: &str = include_str!("data/bank_holiday_changes_england_wales.txt");

/// Panics on a malformed file: it is compiled in and a unit test parses it, so a
/// bad edit fails the tests instead of silently misclassifying a day.
static CHANGES: LazyLock<HolidayChanges> =
    LazyLock::new(|| parse_changes(CHANGES_TXT).unwrap_or_else(|e| panic!("{e}")));

/// Years whose bank holidays are known, inclusive: every date a notice can carry.
pub fn covered_years() -> RangeInclusive<i32> {
    FIRST_SUPPORTED_YEAR..=LAST_SUPPORTED_YEAR
}

/// Error when a date falls outside the covered years.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownBankHolidays {
    pub year: i32,
}

impl fmt::Display for UnknownBankHolidays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let covered = covered_years();
        write!(
            f,
            "England and Wales bank holidays for {} are not known (covered: {} to {})",
            self.year,
            covered.start(),
            covered.end()
        )
    }
}

impl std::error::Error for UnknownBankHolidays {}

pub fn is_bank_holiday(date: NaiveDate) -> Result<bool, UnknownBankHolidays> {
    Ok(bank_holidays_in(date.year())?.contains(&date))
}

/// Errs outside the covered years even for weekends, so an out-of-range date is
/// refused whichever day of the week it is.
pub fn is_working_day(date: NaiveDate) -> Result<bool, UnknownBankHolidays> {
    let holiday = is_bank_holiday(date)?;
    Ok(!holiday && !is_weekend(date))
}

/// The n-th working day strictly after `date` (n >= 1).
///
/// `date` itself is not classified, so posting on the last day before the covered
/// years is fine. Panics if `n` is 0, which has no meaning.
pub fn nth_working_day_after(date: NaiveDate, n: u32) -> Result<NaiveDate, UnknownBankHolidays> {
    assert!(n >= 1, "nth_working_day_after needs n >= 1");
    let mut day = date;
    let mut remaining = n;
    while remaining > 0 {
        // Only NaiveDate::MAX has no successor, and its year is never covered.
        day = day
            .succ_opt()
            .ok_or(UnknownBankHolidays { year: day.year() })?;
        if is_working_day(day)? {
            remaining -= 1;
        }
    }
    Ok(day)
}

/// Day of receipt of a posted notice: the second working day after posting.
pub fn posted_receipt_date(posting_date: NaiveDate) -> Result<NaiveDate, UnknownBankHolidays> {
    nth_working_day_after(posting_date, 2)
}

/// The bank holidays of `year`, in date order: the rules' days with the year's
/// one-off changes applied.
fn bank_holidays_in(year: i32) -> Result<BTreeSet<NaiveDate>, UnknownBankHolidays> {
    if covered_years().contains(&year) {
        Ok(CHANGES.apply(year, rule_holidays(year)))
    } else {
        Err(UnknownBankHolidays { year })
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The days the rules give in `year` (a covered year): the Banking and Financial
/// Dealings Act 1971, Schedule 1, the days proclaimed every year (New Year's Day
/// since 1974, early May since 1978) and the common-law holidays (Good Friday,
/// Christmas Day), each with its usual substitute when it falls on a weekend.
fn rule_holidays(year: i32) -> [NaiveDate; 8] {
    let new_year = match ymd(year, 1, 1).weekday() {
        Weekday::Sat => ymd(year, 1, 3),
        Weekday::Sun => ymd(year, 1, 2),
        _ => ymd(year, 1, 1),
    };
    let easter = easter_sunday(year);
    // Christmas Day and Boxing Day; a day on a weekend moves to the next weekday the
    // other does not occupy.
    let (christmas, boxing_day) = match ymd(year, 12, 25).weekday() {
        Weekday::Fri => (25, 28),
        Weekday::Sat => (27, 28),
        Weekday::Sun => (27, 26),
        _ => (25, 26),
    };
    [
        new_year,
        easter - Days::new(2),                       // Good Friday
        easter + Days::new(1),                       // Easter Monday
        first_monday(year, 5),                       // early May bank holiday
        last_in_31_day_month(year, 5, Weekday::Mon), // spring bank holiday
        last_in_31_day_month(year, 8, Weekday::Mon), // summer bank holiday
        ymd(year, 12, christmas),
        ymd(year, 12, boxing_day),
    ]
}

/// Easter Sunday in the Gregorian calendar: the anonymous Gregorian computus
/// (Meeus/Jones/Butcher), valid for any year from 1583.
fn easter_sunday(year: i32) -> NaiveDate {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let n = h + l - 7 * m + 114;
    ymd(year, (n / 31) as u32, (n % 31 + 1) as u32)
}

/// A date known to exist: callers pass real days of the month in years chrono has.
fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a real date")
}

fn first_monday(year: i32, month: u32) -> NaiveDate {
    let first = ymd(year, month, 1);
    first + Days::new(u64::from((7 - first.weekday().num_days_from_monday()) % 7))
}

/// The last `weekday` of a month with 31 days (March, May, August, October).
fn last_in_31_day_month(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    let last = ymd(year, month, 31);
    let back = (last.weekday().num_days_from_monday() + 7 - weekday.num_days_from_monday()) % 7;
    last - Days::new(u64::from(back))
}

/// The one-off changes, by year: days the rules give that are not bank holidays,
/// and days that are although no rule gives them (a move is one of each).
#[derive(Debug, Default)]
struct HolidayChanges {
    by_year: BTreeMap<i32, YearChanges>,
}

#[derive(Debug, Default)]
struct YearChanges {
    removed: BTreeSet<NaiveDate>,
    added: BTreeSet<NaiveDate>,
}

impl HolidayChanges {
    fn apply(&self, year: i32, rule_days: [NaiveDate; 8]) -> BTreeSet<NaiveDate> {
        let mut days = BTreeSet::from(rule_days);
        if let Some(changes) = self.by_year.get(&year) {
            days.retain(|day| !changes.removed.contains(day));
            days.extend(&changes.added);
        }
        days
    }
}

/// One line of the changes file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Moved { from: NaiveDate, to: NaiveDate },
    Added(NaiveDate),
    Removed(NaiveDate),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ChangesError {
    line: usize,
    reason: String,
}

impl fmt::Display for ChangesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bank holiday changes, line {}: {}",
            self.line, self.reason
        )
    }
}

/// Parses the changes file strictly (format in the file's header): a change the
/// rules cannot explain is far more likely a typing error than a new holiday.
fn parse_changes(text: &str) -> Result<HolidayChanges, ChangesError> {
    let mut changes = HolidayChanges::default();
    // Every date named, with its line: two changes of one day contradict each other.
    let mut named: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let error = |reason: String| ChangesError { line, reason };
        let (body, comment) = match raw.split_once('#') {
            Some((body, comment)) => (body.trim(), comment.trim()),
            None => (raw.trim(), ""),
        };
        if body.is_empty() {
            continue;
        }
        if comment.is_empty() {
            return Err(error(
                "a change needs a comment: why, and who announced it".into(),
            ));
        }
        let change = parse_change(body).map_err(error)?;
        let dates = match change {
            Change::Moved { from, to } => vec![from, to],
            Change::Added(date) | Change::Removed(date) => vec![date],
        };
        for date in dates {
            if let Some(earlier) = named.insert(date, line) {
                return Err(error(format!("{date} is already on line {earlier}")));
            }
        }
        check_change(change).map_err(error)?;
        let year = changes.by_year.entry(dates_year(change)).or_default();
        match change {
            Change::Moved { from, to } => {
                year.removed.insert(from);
                year.added.insert(to);
            }
            Change::Added(date) => {
                year.added.insert(date);
            }
            Change::Removed(date) => {
                year.removed.insert(date);
            }
        }
    }
    Ok(changes)
}

/// `FROM -> TO`, `+ DATE` or `- DATE`, comment removed.
fn parse_change(body: &str) -> Result<Change, String> {
    if let Some(date) = body.strip_prefix('+') {
        return Ok(Change::Added(parse_iso_date(date.trim())?));
    }
    if let Some(date) = body.strip_prefix('-') {
        return Ok(Change::Removed(parse_iso_date(date.trim())?));
    }
    match body.split_once("->") {
        Some((from, to)) => Ok(Change::Moved {
            from: parse_iso_date(from.trim())?,
            to: parse_iso_date(to.trim())?,
        }),
        None => Err(format!(
            "expected `FROM -> TO`, `+ DATE` or `- DATE`, found {body:?}"
        )),
    }
}

/// Exactly `YYYY-MM-DD`: chrono alone would also take signs and short fields.
fn parse_iso_date(text: &str) -> Result<NaiveDate, String> {
    let shape_ok = text.len() == 10
        && text.bytes().enumerate().all(|(i, byte)| match i {
            4 | 7 => byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(format!("expected a date as YYYY-MM-DD, found {text:?}"));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| format!("{text}: {e}"))
}

fn dates_year(change: Change) -> i32 {
    match change {
        Change::Moved { from, .. } => from.year(),
        Change::Added(date) | Change::Removed(date) => date.year(),
    }
}

/// A change must make sense against the rules: it takes away only days they give,
/// and adds only weekdays they do not (a weekend holiday changes no working day).
fn check_change(change: Change) -> Result<(), String> {
    let year = dates_year(change);
    if !covered_years().contains(&year) {
        return Err(format!(
            "{year} is outside the covered years {FIRST_SUPPORTED_YEAR} to {LAST_SUPPORTED_YEAR}"
        ));
    }
    let rule_days = rule_holidays(year);
    let given = |date: NaiveDate| {
        if rule_days.contains(&date) {
            Ok(())
        } else {
            Err(format!("{date} is not a bank holiday the rules give"))
        }
    };
    let not_given = |date: NaiveDate| {
        if rule_days.contains(&date) {
            Err(format!("{date} is already a bank holiday by the rules"))
        } else if is_weekend(date) {
            Err(format!("{date} is a {}", date.weekday()))
        } else {
            Ok(())
        }
    };
    match change {
        Change::Moved { from, to } => {
            if to.year() != year {
                return Err(format!(
                    "{from} -> {to} moves a bank holiday to another year"
                ));
            }
            given(from)?;
            not_given(to)
        }
        Change::Added(date) => not_given(date),
        Change::Removed(date) => given(date),
    }
}

/// Last day of a period of `days` days beginning with `first_day` (days >= 1):
/// first_day + (days - 1), because the first day counts as day 1.
///
/// Panics if `days` is 0 (a period has at least its first day) or the end is
/// beyond chrono's date range.
pub fn last_day_of_period(first_day: NaiveDate, days: u32) -> NaiveDate {
    // A period has at least one day; a date past the calendar's end is its end.
    first_day
        .checked_add_days(Days::new(u64::from(days.max(1) - 1)))
        .unwrap_or(NaiveDate::MAX)
}

/// The Europe/London civil date at instant `now`.
///
/// Computed from the UK summer-time rule rather than a time-zone database, so the
/// crate needs no tz dependency; the rule has been stable since 2002.
pub fn london_date(now: DateTime<Utc>) -> NaiveDate {
    let utc = now.naive_utc();
    if is_bst(utc) {
        (utc + TimeDelta::hours(1)).date()
    } else {
        utc.date()
    }
}

/// The instant of a Europe/London wall-clock time (an MIS export's times carry
/// no offset). In the hour that repeats when summer time ends, the earlier
/// (BST) reading is taken; a time in the hour skipped in spring reads as GMT.
pub fn london_local_to_utc(local: NaiveDateTime) -> DateTime<Utc> {
    let if_bst = local - TimeDelta::hours(1);
    if is_bst(if_bst) { if_bst } else { local }.and_utc()
}

/// BST: from 01:00 UTC on the last Sunday of March until 01:00 UTC on the last
/// Sunday of October.
fn is_bst(utc: NaiveDateTime) -> bool {
    let at_one_am = |date: NaiveDate| date.and_hms_opt(1, 0, 0).expect("01:00 exists");
    let start = at_one_am(last_sunday(utc.year(), 3));
    let end = at_one_am(last_sunday(utc.year(), 10));
    (start..end).contains(&utc)
}

/// Last Sunday of a 31-day month (March or October).
fn last_sunday(year: i32, month: u32) -> NaiveDate {
    last_in_31_day_month(year, month, Weekday::Sun)
}

/// The Monday of the ISO week containing `date`.
pub fn week_start(date: NaiveDate) -> NaiveDate {
    date.week(Weekday::Mon).first_day()
}

/// The school year (by its September's calendar year) `day` falls in: a
/// school year runs from 1 September to 31 August.
pub fn school_year_of(day: NaiveDate) -> i32 {
    if day.month() >= 9 {
        day.year()
    } else {
        day.year() - 1
    }
}

/// The first day of school year `year` (by its September's calendar year).
pub fn school_year_start(year: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, 9, 1)
}

/// The last day of school year `year`.
pub fn school_year_end(year: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year.checked_add(1)?, 8, 31)
}

/// The school year a week's figures are kept under (`attendance_year_figures`):
/// the year of the September 1st on or before its Monday. A week that straddles
/// 1 September belongs wholly to the year its Monday falls in, so that a school
/// year's figures are the sum of whole weeks.
pub fn school_year_of_week(monday: NaiveDate) -> i32 {
    if monday.month() >= 9 {
        monday.year()
    } else {
        monday.year() - 1
    }
}

/// The first and last Monday of the weeks kept under `year`
/// ([`school_year_of_week`]), or `None` for a year the calendar cannot hold.
pub fn school_year_weeks(year: i32) -> Option<(NaiveDate, NaiveDate)> {
    let first = week_start(NaiveDate::from_ymd_opt(year, 9, 7)?);
    let last = week_start(NaiveDate::from_ymd_opt(year.checked_add(1)?, 8, 31)?);
    Some((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_school_year_runs_from_september_to_august() {
        assert_eq!(school_year_of(d(2019, 9, 1)), 2019);
        assert_eq!(school_year_of(d(2020, 8, 31)), 2019);
        assert_eq!(school_year_of(d(2020, 1, 6)), 2019);
        assert_eq!(school_year_start(2019), Some(d(2019, 9, 1)));
        assert_eq!(school_year_end(2019), Some(d(2020, 8, 31)));
        assert_eq!(school_year_end(i32::MAX), None);
    }

    proptest! {
        /// Every day lies in its school year, which starts on a 1 September.
        #[test]
        fn each_day_lies_in_the_school_year_of_it(days in 0i64..20_000) {
            let day = d(2000, 1, 1) + chrono::Duration::days(days);
            let year = school_year_of(day);
            let (start, end) = (school_year_start(year).unwrap(), school_year_end(year).unwrap());
            prop_assert!(start <= day && day <= end, "{day} in {year}");
            prop_assert_eq!(school_year_of(start), year);
            prop_assert_eq!(school_year_of(end + chrono::Duration::days(1)), year + 1);
        }
    }

    #[test]
    fn every_monday_is_in_one_school_years_weeks_and_those_run_september_to_august() {
        let mut monday = d(1999, 8, 30);
        while monday < d(2041, 1, 1) {
            let year = school_year_of_week(monday);
            let (first, last) = school_year_weeks(year).unwrap();
            assert!(first <= monday && monday <= last, "{monday}");
            assert_eq!(first.weekday(), Weekday::Mon);
            assert_eq!(last.weekday(), Weekday::Mon);
            // The first Monday on or after 1 September, the last on or before 31 August.
            assert!(first >= d(year, 9, 1) && first <= d(year, 9, 7), "{first}");
            assert!(
                last <= d(year + 1, 8, 31) && last > d(year + 1, 8, 24),
                "{last}"
            );
            // The next year's weeks follow on.
            assert_eq!(school_year_weeks(year + 1).unwrap().0, last + Days::new(7));
            monday = monday + Days::new(7);
        }
        assert_eq!(school_year_of_week(d(2025, 9, 1)), 2025);
        assert_eq!(school_year_of_week(d(2025, 8, 25)), 2024);
        assert_eq!(school_year_of_week(d(2024, 9, 2)), 2024);
        assert_eq!(school_year_weeks(i32::MAX), None);
    }

    /// GOV.UK's published list, a fixture for the tests only.
    const PUBLISHED_TXT: &str = include_str!("data/published_bank_holidays_england_wales.txt");

    fn d(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn days_of_year(year: i32) -> impl Iterator<Item = NaiveDate> {
        d(year, 1, 1)
            .iter_days()
            .take_while(move |date| date.year() == year)
    }

    fn holidays(year: i32) -> BTreeSet<NaiveDate> {
        bank_holidays_in(year).unwrap()
    }

    /// `MM-DD` days of `year`, for readable expectations.
    fn days_in(year: i32, month_days: &[&str]) -> BTreeSet<NaiveDate> {
        month_days
            .iter()
            .map(|md| parse_iso_date(&format!("{year}-{md}")).unwrap())
            .collect()
    }

    /// The published list by year; panics on a malformed or out-of-order line.
    fn published_by_year() -> BTreeMap<i32, BTreeSet<NaiveDate>> {
        let mut by_year: BTreeMap<i32, BTreeSet<NaiveDate>> = BTreeMap::new();
        let mut previous = None;
        for (index, raw) in PUBLISHED_TXT.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let number = index + 1;
            let date = parse_iso_date(line)
                .unwrap_or_else(|e| panic!("published list line {number}: {e}"));
            // Strictly ascending, so a duplicated line cannot hide a missing one.
            assert!(
                previous < Some(date),
                "published list line {number}: {date} out of order"
            );
            previous = Some(date);
            by_year.entry(date.year()).or_default().insert(date);
        }
        by_year
    }

    fn parse_error(text: &str) -> ChangesError {
        parse_changes(text).expect_err("the changes should be refused")
    }

    /// The soundness every covered year must have, whatever the changes file says.
    fn check_year(year: i32) -> Result<(), String> {
        let days = holidays(year);
        if days.len() < 8 {
            return Err(format!("{year}: only {} bank holidays", days.len()));
        }
        for date in &days {
            if date.year() != year {
                return Err(format!("{year}: {date} is in another year"));
            }
            if is_weekend(*date) {
                return Err(format!("{year}: {date} is a {}", date.weekday()));
            }
        }
        Ok(())
    }

    #[test]
    fn covered_years_are_1990_to_9999() {
        assert_eq!(covered_years(), 1990..=9999);
    }

    #[test]
    fn shipped_changes_file_parses() {
        let changes = parse_changes(CHANGES_TXT).unwrap_or_else(|e| panic!("{e}"));
        let years: Vec<i32> = changes.by_year.keys().copied().collect();
        assert_eq!(years, [1995, 1999, 2002, 2011, 2012, 2020, 2022, 2023]);
    }

    #[test]
    fn generated_holidays_equal_the_published_list() {
        let published = published_by_year();
        let years: Vec<i32> = published.keys().copied().collect();
        let (first, last) = (years[0], years[years.len() - 1]);
        assert_eq!(
            years,
            (first..=last).collect::<Vec<_>>(),
            "a year is skipped"
        );
        assert!(
            first <= 2012 && last >= 2027,
            "published list shrank: {first} to {last}"
        );
        for (year, listed) in &published {
            let generated = holidays(*year);
            let missing: Vec<_> = listed.difference(&generated).collect();
            let extra: Vec<_> = generated.difference(listed).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{year}: published but not generated {missing:?}; generated but not published {extra:?}"
            );
        }
    }

    #[test]
    fn one_off_years_before_the_published_list() {
        // From the royal proclamations (see the changes file).
        for (year, expected) in [
            (
                1995,
                &[
                    "01-02", "04-14", "04-17", "05-08", "05-29", "08-28", "12-25", "12-26",
                ][..],
            ),
            (
                1999,
                &[
                    "01-01", "04-02", "04-05", "05-03", "05-31", "08-30", "12-27", "12-28", "12-31",
                ],
            ),
            (
                2002,
                &[
                    "01-01", "03-29", "04-01", "05-06", "06-03", "06-04", "08-26", "12-25", "12-26",
                ],
            ),
            (
                2011,
                &[
                    "01-03", "04-22", "04-25", "04-29", "05-02", "05-30", "08-29", "12-26", "12-27",
                ],
            ),
        ] {
            assert_eq!(holidays(year), days_in(year, expected), "{year}");
        }
        // The millennium's New Year's Day fell on a Saturday: its substitute is the rule's.
        assert_eq!(holidays(2000).first(), Some(&d(2000, 1, 3)));
    }

    #[test]
    fn bank_holiday_counts_from_1990_to_2027() {
        for year in 1990..=2027 {
            let expected = match year {
                1999 | 2002 | 2011 | 2012 | 2023 => 9,
                2022 => 10,
                _ => 8,
            };
            assert_eq!(holidays(year).len(), expected, "{year}");
        }
    }

    #[test]
    fn easter_sunday_known_dates() {
        for easter in [
            d(1818, 3, 22), // earliest possible
            d(1943, 4, 25), // latest possible
            d(2000, 4, 23),
            d(2008, 3, 23),
            d(2011, 4, 24),
            d(2019, 4, 21),
            d(2024, 3, 31),
            d(2025, 4, 20),
            d(2038, 4, 25),
            d(2100, 3, 28),
            d(2285, 3, 22),
        ] {
            assert_eq!(easter_sunday(easter.year()), easter);
        }
    }

    #[test]
    fn substitute_days_follow_the_weekday() {
        for (year, christmas_weekday, late_december) in [
            (2023, Weekday::Mon, [25, 26]),
            (2018, Weekday::Tue, [25, 26]),
            (2024, Weekday::Wed, [25, 26]),
            (2025, Weekday::Thu, [25, 26]),
            (2026, Weekday::Fri, [25, 28]),
            (2027, Weekday::Sat, [27, 28]),
            (2022, Weekday::Sun, [26, 27]),
        ] {
            assert_eq!(d(year, 12, 25).weekday(), christmas_weekday);
            let december: Vec<u32> = holidays(year)
                .iter()
                .filter(|date| date.month() == 12)
                .map(|date| date.day())
                .collect();
            assert_eq!(december, late_december, "{year}");
        }
        for (year, new_year_weekday, day_off) in [
            (2022, Weekday::Sat, d(2022, 1, 3)),
            (2023, Weekday::Sun, d(2023, 1, 2)),
            (2024, Weekday::Mon, d(2024, 1, 1)),
        ] {
            assert_eq!(d(year, 1, 1).weekday(), new_year_weekday);
            assert_eq!(holidays(year).first(), Some(&day_off), "{year}");
        }
    }

    #[test]
    fn every_covered_year_has_at_least_eight_weekday_holidays_within_it() {
        for year in covered_years() {
            check_year(year).unwrap();
        }
    }

    #[test]
    fn rule_days_fall_where_the_rules_put_them() {
        for year in covered_years() {
            let easter = easter_sunday(year);
            assert_eq!(easter.weekday(), Weekday::Sun, "{year}");
            assert!(
                (d(year, 3, 22)..=d(year, 4, 25)).contains(&easter),
                "{year}"
            );
            let rule_days = BTreeSet::from(rule_holidays(year));
            assert_eq!(rule_days.len(), 8, "{year}: two rules on one day");
            let early_may = first_monday(year, 5);
            let spring = last_in_31_day_month(year, 5, Weekday::Mon);
            let summer = last_in_31_day_month(year, 8, Weekday::Mon);
            for (day, first, last) in [
                (early_may, d(year, 5, 1), d(year, 5, 7)),
                (spring, d(year, 5, 25), d(year, 5, 31)),
                (summer, d(year, 8, 25), d(year, 8, 31)),
            ] {
                assert_eq!(day.weekday(), Weekday::Mon, "{year}");
                assert!((first..=last).contains(&day), "{year}: {day}");
                assert!(rule_days.contains(&day), "{year}: {day}");
            }
        }
    }

    #[test]
    fn working_days_per_year_follow_from_the_holidays() {
        // Hand-counted: every one of these years has 104 weekend days.
        for (year, hand_count) in [(2024, 254), (2025, 253), (2026, 253), (2027, 253)] {
            let days = days_of_year(year).count();
            let weekends = days_of_year(year).filter(|&date| is_weekend(date)).count();
            let working = days_of_year(year)
                .filter(|&date| is_working_day(date).unwrap())
                .count();
            assert_eq!(working, days - weekends - holidays(year).len(), "{year}");
            assert_eq!(working, hand_count, "{year}");
        }
    }

    #[test]
    fn named_bank_holidays_are_not_working_days() {
        for (date, name) in [
            (d(2026, 4, 3), "Good Friday 2026"),
            (d(2026, 4, 6), "Easter Monday 2026"),
            (d(2026, 12, 28), "Boxing Day 2026 (substitute)"),
            (d(2027, 12, 27), "Christmas Day 2027 (substitute)"),
            (d(2027, 12, 28), "Boxing Day 2027 (substitute)"),
            (d(2023, 5, 8), "Coronation of King Charles III"),
            (d(2100, 3, 26), "Good Friday 2100"),
        ] {
            assert!(is_bank_holiday(date).unwrap(), "{name}");
            assert!(!is_working_day(date).unwrap(), "{name}");
        }
        // The real Boxing Day 2026 is a Saturday: a weekend, not a bank holiday.
        assert!(!is_bank_holiday(d(2026, 12, 26)).unwrap());
        // Days the one-off changes moved away from are ordinary days.
        for moved_from in [d(2020, 5, 4), d(2022, 5, 30), d(2012, 5, 28)] {
            assert!(is_working_day(moved_from).unwrap(), "{moved_from}");
        }
        assert!(
            is_working_day(d(2026, 4, 7)).unwrap(),
            "Tuesday after Easter"
        );
    }

    #[test]
    fn posted_receipt_examples() {
        for (posted, received, why) in [
            (
                d(2025, 5, 1),
                d(2025, 5, 6),
                "Thu, over early-May bank holiday",
            ),
            (
                d(2026, 8, 27),
                d(2026, 9, 1),
                "Thu, over 2026-08-31 bank holiday",
            ),
            (d(2025, 6, 6), d(2025, 6, 10), "Fri, over a weekend"),
            (
                d(2024, 12, 24),
                d(2024, 12, 30),
                "Christmas Eve, over Christmas",
            ),
            (d(2025, 6, 2), d(2025, 6, 4), "Mon, plain week"),
            (
                d(2020, 5, 7),
                d(2020, 5, 12),
                "Thu, over VE Day Friday 2020",
            ),
            (
                d(2022, 6, 1),
                d(2022, 6, 7),
                "Wed, over the Platinum Jubilee",
            ),
            (
                d(1999, 12, 30),
                d(2000, 1, 5),
                "Thu, over the millennium and New Year's substitute",
            ),
            (
                d(2031, 12, 24),
                d(2031, 12, 30),
                "Christmas Eve 2031, Christmas on a Thursday",
            ),
            (
                d(2100, 12, 23),
                d(2100, 12, 29),
                "Thu, Christmas 2100 on a Saturday",
            ),
        ] {
            assert_eq!(posted_receipt_date(posted), Ok(received), "{why}");
        }
    }

    #[test]
    fn nth_working_day_after_skips_easter() {
        // Thursday before Good Friday 2025.
        assert_eq!(nth_working_day_after(d(2025, 4, 17), 1), Ok(d(2025, 4, 22)));
        assert_eq!(nth_working_day_after(d(2025, 4, 17), 3), Ok(d(2025, 4, 24)));
        // Thursday before Good Friday 2100 (Easter Sunday 28 March).
        assert_eq!(nth_working_day_after(d(2100, 3, 25), 1), Ok(d(2100, 3, 30)));
    }

    #[test]
    fn covered_range_ends() {
        let before = UnknownBankHolidays { year: 1989 };
        let after = UnknownBankHolidays { year: 10000 };
        assert_eq!(is_bank_holiday(d(1989, 12, 31)), Err(before.clone()));
        assert_eq!(is_working_day(d(1989, 12, 31)), Err(before.clone()));
        assert_eq!(is_bank_holiday(d(1990, 1, 1)), Ok(true), "a Monday");
        assert_eq!(is_working_day(d(9999, 12, 31)), Ok(true), "a Friday");
        assert_eq!(is_bank_holiday(d(10000, 1, 1)), Err(after.clone()));
        assert_eq!(is_working_day(d(10000, 1, 3)), Err(after.clone()));
        // Only the days after posting are classified.
        assert_eq!(posted_receipt_date(d(1989, 12, 31)), Ok(d(1990, 1, 3)));
        assert_eq!(posted_receipt_date(d(1989, 12, 30)), Err(before.clone()));
        assert_eq!(posted_receipt_date(d(9999, 12, 29)), Ok(d(9999, 12, 31)));
        // Receipt would land in 10000: refuse rather than guess.
        assert_eq!(posted_receipt_date(d(9999, 12, 30)), Err(after.clone()));
        assert_eq!(
            UnknownBankHolidays { year: 10000 }.to_string(),
            "England and Wales bank holidays for 10000 are not known (covered: 1990 to 9999)"
        );
    }

    #[test]
    fn chrono_limits_are_errors_not_panics() {
        for date in [NaiveDate::MIN, NaiveDate::MAX] {
            let unknown = Err(UnknownBankHolidays { year: date.year() });
            assert_eq!(is_bank_holiday(date), unknown);
            assert_eq!(is_working_day(date), unknown);
            assert!(posted_receipt_date(date).is_err());
        }
    }

    #[test]
    fn changes_move_add_and_remove_days() {
        let changes = parse_changes(
            "# a header\n\
             2030-05-06 -> 2030-05-10  # early May moved to a Friday\n\
             \n\
             + 2030-06-04  # an extra Tuesday\n\
             - 2030-08-26  # summer bank holiday cancelled\n",
        )
        .unwrap();
        let mut expected = BTreeSet::from(rule_holidays(2030));
        assert!(expected.remove(&d(2030, 5, 6)) && expected.remove(&d(2030, 8, 26)));
        expected.extend([d(2030, 5, 10), d(2030, 6, 4)]);
        assert_eq!(changes.apply(2030, rule_holidays(2030)), expected);
        assert_eq!(
            changes.apply(2031, rule_holidays(2031)),
            BTreeSet::from(rule_holidays(2031)),
            "other years are untouched"
        );
    }

    #[test]
    fn malformed_change_lines_are_refused() {
        for (line, reason) in [
            ("2022-06-03  # a bare date", "expected `FROM -> TO`"),
            ("+ 2022-6-03  # short month", "YYYY-MM-DD"),
            ("+ 2022-02-30  # no such day", "2022-02-30"),
            ("+ +2022-06-03  # two signs", "YYYY-MM-DD"),
            ("* 2022-06-03  # unknown sign", "expected `FROM -> TO`"),
            (
                "2022-05-30 => 2022-06-02  # wrong arrow",
                "expected `FROM -> TO`",
            ),
            (
                "2022-05-30 -> 2022-06-02 -> 2022-06-03  # two arrows",
                "YYYY-MM-DD",
            ),
            ("-> 2022-06-02  # no source", "YYYY-MM-DD"),
            ("+ 2022-06-03 too  # trailing words", "YYYY-MM-DD"),
            ("+ 22022-06-03  # five-digit year", "YYYY-MM-DD"),
            ("+ 2022-06-03", "needs a comment"),
            ("+ 2022-06-03  #   ", "needs a comment"),
        ] {
            let error = parse_error(&format!("# header\n\n{line}\n"));
            assert_eq!(error.line, 3, "{line}");
            assert!(error.reason.contains(reason), "{line}: {error}");
        }
    }

    #[test]
    fn changes_the_rules_cannot_explain_are_refused() {
        for (line, reason) in [
            (
                "2022-05-31 -> 2022-06-02  # not a rule day",
                "not a bank holiday the rules give",
            ),
            (
                "- 2022-05-31  # not a rule day",
                "not a bank holiday the rules give",
            ),
            (
                "+ 2022-12-26  # Boxing Day already",
                "already a bank holiday by the rules",
            ),
            (
                "2022-05-30 -> 2022-08-29  # onto a rule day",
                "already a bank holiday by the rules",
            ),
            ("+ 2022-06-04  # a Saturday", "2022-06-04 is a Sat"),
            (
                "2022-05-30 -> 2022-06-05  # onto a Sunday",
                "2022-06-05 is a Sun",
            ),
            (
                "1999-12-27 -> 2000-01-04  # across the year",
                "to another year",
            ),
            (
                "+ 1985-06-03  # before the covered years",
                "outside the covered years",
            ),
        ] {
            let error = parse_error(&format!("{line}\n"));
            assert_eq!(error.line, 1, "{line}");
            assert!(error.reason.contains(reason), "{line}: {error}");
        }
    }

    #[test]
    fn a_date_named_twice_is_refused() {
        for text in [
            "+ 2022-06-03  # a\n+ 2022-06-03  # b\n",
            "2022-05-30 -> 2022-06-02  # a\n+ 2022-06-02  # b\n",
            "- 2022-05-30  # a\n2022-05-30 -> 2022-06-02  # b\n",
        ] {
            let error = parse_error(text);
            assert_eq!(error.line, 2, "{text}");
            assert!(
                error.reason.contains("already on line 1"),
                "{text}: {error}"
            );
        }
        let error = parse_error("2022-05-30 -> 2022-05-30  # onto itself\n");
        assert!(error.reason.contains("already on line 1"), "{error}");
    }

    #[test]
    fn last_day_of_period_counts_the_first_day() {
        assert_eq!(last_day_of_period(d(2025, 6, 10), 21), d(2025, 6, 30));
        assert_eq!(last_day_of_period(d(2025, 6, 10), 28), d(2025, 7, 7));
        assert_eq!(last_day_of_period(d(2025, 6, 10), 1), d(2025, 6, 10));
    }

    #[test]
    fn london_date_is_a_day_ahead_late_on_a_summer_evening() {
        assert_eq!(london_date(utc("2025-06-30T23:30:00Z")), d(2025, 7, 1));
    }

    #[test]
    fn london_date_in_winter_is_the_utc_date() {
        assert_eq!(london_date(utc("2025-12-31T23:30:00Z")), d(2025, 12, 31));
    }

    #[test]
    fn bst_starts_and_ends_at_one_am_utc() {
        let bst = |text: &str| is_bst(utc(text).naive_utc());
        assert!(!bst("2025-03-30T00:59:59Z"));
        assert!(bst("2025-03-30T01:00:00Z"));
        assert!(bst("2025-10-26T00:30:00Z"));
        assert!(!bst("2025-10-26T01:00:00Z"));
        assert_eq!(london_date(utc("2025-03-29T23:30:00Z")), d(2025, 3, 29));
        assert_eq!(london_date(utc("2025-03-30T23:30:00Z")), d(2025, 3, 31));
        assert_eq!(london_date(utc("2025-10-25T23:30:00Z")), d(2025, 10, 26));
        assert_eq!(london_date(utc("2025-10-26T23:30:00Z")), d(2025, 10, 26));
    }

    #[test]
    fn last_sundays() {
        assert_eq!(last_sunday(2025, 3), d(2025, 3, 30));
        assert_eq!(last_sunday(2025, 10), d(2025, 10, 26));
        // The 31st itself is a Sunday.
        assert_eq!(last_sunday(2024, 3), d(2024, 3, 31));
        assert_eq!(last_sunday(2026, 10), d(2026, 10, 25));
    }

    #[test]
    fn week_start_examples() {
        assert_eq!(week_start(d(2025, 6, 4)), d(2025, 6, 2));
        assert_eq!(week_start(d(2025, 6, 2)), d(2025, 6, 2));
        assert_eq!(week_start(d(2025, 6, 8)), d(2025, 6, 2));
    }

    const FIRST_POSTING: NaiveDate = match NaiveDate::from_ymd_opt(1990, 1, 1) {
        Some(date) => date,
        None => panic!("valid date"),
    };
    /// Receipt of later postings would fall in 10000, outside the covered years.
    const LAST_POSTING: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 29) {
        Some(date) => date,
        None => panic!("valid date"),
    };

    fn posting_date() -> impl Strategy<Value = NaiveDate> {
        let span = (LAST_POSTING - FIRST_POSTING).num_days() as u64;
        (0..=span).prop_map(|offset| FIRST_POSTING + Days::new(offset))
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        // 1900 to about 2173: wide, and far from chrono's range limits.
        (0u64..100_000).prop_map(|offset| d(1900, 1, 1) + Days::new(offset))
    }

    fn any_chrono_date() -> impl Strategy<Value = NaiveDate> {
        (NaiveDate::MIN.num_days_from_ce()..=NaiveDate::MAX.num_days_from_ce())
            .prop_map(|days| NaiveDate::from_num_days_from_ce_opt(days).unwrap())
    }

    /// Line numbers (0-based) of the shipped file's change lines.
    fn change_line_indexes() -> Vec<usize> {
        CHANGES_TXT
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.split('#').next().unwrap_or("").trim().is_empty())
            .map(|(index, _)| index)
            .collect()
    }

    proptest! {
        #[test]
        fn receipt_is_the_second_working_day_after_posting(posted in posting_date()) {
            let received = posted_receipt_date(posted).unwrap();
            prop_assert!(received > posted);
            prop_assert!(is_working_day(received).unwrap());
            let between = posted
                .iter_days()
                .skip(1)
                .take_while(|&date| date < received)
                .filter(|&date| is_working_day(date).unwrap())
                .count();
            prop_assert_eq!(between, 1);
        }

        #[test]
        fn any_covered_year_has_at_least_eight_weekday_holidays_within_it(
            year in FIRST_SUPPORTED_YEAR..=LAST_SUPPORTED_YEAR,
        ) {
            prop_assert_eq!(check_year(year), Ok(()));
            let days = holidays(year);
            for date in days_of_year(year) {
                prop_assert_eq!(is_bank_holiday(date), Ok(days.contains(&date)));
            }
        }

        #[test]
        fn easter_is_a_sunday_from_22_march_to_25_april(year in 1583i32..=9999) {
            let easter = easter_sunday(year);
            prop_assert_eq!(easter.weekday(), Weekday::Sun);
            prop_assert!((d(year, 3, 22)..=d(year, 4, 25)).contains(&easter));
        }

        #[test]
        fn any_date_is_classified_or_refused_without_panicking(date in any_chrono_date()) {
            let covered = covered_years().contains(&date.year());
            prop_assert_eq!(is_bank_holiday(date).is_ok(), covered);
            prop_assert_eq!(is_working_day(date).is_ok(), covered);
            if let Ok(received) = posted_receipt_date(date) {
                prop_assert!(received > date);
            }
        }

        #[test]
        fn an_extra_day_is_accepted_only_on_a_weekday_the_rules_do_not_give(
            year in FIRST_SUPPORTED_YEAR..=LAST_SUPPORTED_YEAR,
            day_of_year in 0u64..365,
        ) {
            let date = d(year, 1, 1) + Days::new(day_of_year);
            let rule_days = BTreeSet::from(rule_holidays(year));
            let parsed = parse_changes(&format!("+ {date}  # test\n"));
            if is_weekend(date) || rule_days.contains(&date) {
                prop_assert!(parsed.is_err());
            } else {
                let days = parsed.unwrap().apply(year, rule_holidays(year));
                prop_assert!(days.contains(&date));
                prop_assert_eq!(days.len(), 9);
            }
        }

        #[test]
        fn a_corrupted_line_of_the_shipped_file_is_refused(
            pick in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            junk in "[a-zA-Z!$%&*(),.;:=?@_~]{1,8}",
            truncate in any::<bool>(),
        ) {
            // Letters and punctuation have no place in a change, and every proper
            // prefix of a change is incomplete: either way the line is malformed.
            let indexes = change_line_indexes();
            let index = indexes[pick.index(indexes.len())];
            let mut lines: Vec<String> = CHANGES_TXT.lines().map(str::to_owned).collect();
            let (body, comment) = lines[index].split_once('#').unwrap();
            let body = body.trim();
            let corrupted = if truncate {
                body[..1 + at.index(body.len() - 1)].to_owned()
            } else {
                let cut = at.index(body.len() + 1);
                format!("{}{junk}{}", &body[..cut], &body[cut..])
            };
            lines[index] = format!("{corrupted}  #{comment}");
            let error = parse_changes(&lines.join("\n")).unwrap_err();
            prop_assert_eq!(error.line, index + 1, "{}", error);
        }

        #[test]
        fn period_ends_days_minus_one_after_its_first_day(
            first in any_date(),
            days in 1u32..=60,
        ) {
            let last = last_day_of_period(first, days);
            prop_assert_eq!((last - first).num_days(), i64::from(days) - 1);
        }

        #[test]
        fn week_start_is_the_monday_on_or_before(date in any_date()) {
            let monday = week_start(date);
            prop_assert_eq!(monday.weekday(), Weekday::Mon);
            prop_assert!(monday <= date);
            prop_assert!((date - monday).num_days() <= 6);
        }

        #[test]
        fn london_is_ahead_of_utc_date_only_in_the_last_utc_hour(
            seconds in 946_684_800i64..4_102_444_800, // 2000 to 2100
        ) {
            let now = DateTime::from_timestamp(seconds, 0).unwrap();
            let ahead = (london_date(now) - now.date_naive()).num_days();
            prop_assert!(ahead == 0 || ahead == 1);
            if ahead == 1 {
                prop_assert_eq!(chrono::Timelike::hour(&now), 23);
            }
        }
    }
}
