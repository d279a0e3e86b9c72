//! Working days and civil dates for notice periods (DOMAIN.md, "Penalty notices"):
//! England and Wales bank holidays, receipt of posted notices, the last day of a
//! period, and the Europe/London date.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::RangeInclusive;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, TimeDelta, Utc, Weekday};

/// GOV.UK's list, kept as data so adding a year is an edit to a text file, not to code.
const BANK_HOLIDAYS_TXT: &str = include_str!("data/bank_holidays_england_wales.txt");

static BANK_HOLIDAYS: LazyLock<BankHolidays> =
    LazyLock::new(|| parse_bank_holidays(BANK_HOLIDAYS_TXT));

struct BankHolidays {
    years: RangeInclusive<i32>,
    dates: BTreeSet<NaiveDate>,
}

/// Panics on malformed data: the file is compiled in and the tests parse it, so a
/// bad edit fails the tests instead of silently misclassifying a day.
fn parse_bank_holidays(text: &str) -> BankHolidays {
    let mut dates = BTreeSet::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let number = index + 1;
        let date: NaiveDate = line
            .parse()
            .unwrap_or_else(|e| panic!("bank holidays line {number}: {line:?}: {e}"));
        // Strictly ascending, so a duplicated line cannot hide a missing one.
        if let Some(previous) = dates.last() {
            assert!(
                *previous < date,
                "bank holidays line {number}: {date} is not after {previous}"
            );
        }
        dates.insert(date);
    }
    let first = dates.first().expect("bank holiday table is empty").year();
    let last = dates.last().expect("bank holiday table is empty").year();
    // A year skipped in the middle would otherwise read as a year without holidays.
    for year in first..=last {
        assert!(
            dates.iter().any(|d| d.year() == year),
            "bank holiday table has no dates for {year}"
        );
    }
    BankHolidays {
        years: first..=last,
        dates,
    }
}

/// Years the bank-holiday table covers, inclusive.
pub fn covered_years() -> RangeInclusive<i32> {
    BANK_HOLIDAYS.years.clone()
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
            "England and Wales bank holidays for {} are not in the table (covered: {} to {})",
            self.year,
            covered.start(),
            covered.end()
        )
    }
}

impl std::error::Error for UnknownBankHolidays {}

pub fn is_bank_holiday(date: NaiveDate) -> Result<bool, UnknownBankHolidays> {
    let table = &*BANK_HOLIDAYS;
    if table.years.contains(&date.year()) {
        Ok(table.dates.contains(&date))
    } else {
        Err(UnknownBankHolidays { year: date.year() })
    }
}

/// Errs outside the covered years even for weekends, so callers meet the gap in
/// the table at once rather than only when a weekday happens to be asked about.
pub fn is_working_day(date: NaiveDate) -> Result<bool, UnknownBankHolidays> {
    let holiday = is_bank_holiday(date)?;
    Ok(!holiday && !matches!(date.weekday(), Weekday::Sat | Weekday::Sun))
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

/// Last day of a period of `days` days beginning with `first_day` (days >= 1):
/// first_day + (days - 1), because the first day counts as day 1.
///
/// Panics if `days` is 0 (a period has at least its first day) or the end is
/// beyond chrono's date range.
pub fn last_day_of_period(first_day: NaiveDate, days: u32) -> NaiveDate {
    assert!(days >= 1, "a period has at least one day");
    first_day + Days::new(u64::from(days - 1))
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
    let last = NaiveDate::from_ymd_opt(year, month, 31).expect("month has 31 days");
    last - Days::new(u64::from(last.weekday().num_days_from_sunday()))
}

/// The Monday of the ISO week containing `date`.
pub fn week_start(date: NaiveDate) -> NaiveDate {
    date.week(Weekday::Mon).first_day()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn is_weekend(date: NaiveDate) -> bool {
        matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
    }

    fn days_of_year(year: i32) -> impl Iterator<Item = NaiveDate> {
        d(year, 1, 1)
            .iter_days()
            .take_while(move |date| date.year() == year)
    }

    fn table_dates_in(year: i32) -> Vec<NaiveDate> {
        BANK_HOLIDAYS
            .dates
            .range(d(year, 1, 1)..=d(year, 12, 31))
            .copied()
            .collect()
    }

    #[test]
    fn table_covers_2023_to_2027() {
        assert_eq!(covered_years(), 2023..=2027);
    }

    #[test]
    fn bank_holidays_never_fall_on_a_weekend() {
        for date in &BANK_HOLIDAYS.dates {
            assert!(!is_weekend(*date), "{date} is a {}", date.weekday());
        }
    }

    #[test]
    fn eight_bank_holidays_a_year_and_nine_in_coronation_year() {
        for year in covered_years() {
            let expected = if year == 2023 { 9 } else { 8 };
            assert_eq!(table_dates_in(year).len(), expected, "{year}");
        }
        assert!(is_bank_holiday(d(2023, 5, 8)).unwrap(), "coronation");
    }

    #[test]
    fn working_days_per_year_follow_from_the_table() {
        // Hand-counted: every one of these years has 104 weekend days.
        for (year, hand_count) in [(2024, 254), (2025, 253), (2026, 253), (2027, 253)] {
            let days = days_of_year(year).count();
            let weekends = days_of_year(year).filter(|&date| is_weekend(date)).count();
            let holidays = table_dates_in(year).len();
            let working = days_of_year(year)
                .filter(|&date| is_working_day(date).unwrap())
                .count();
            assert_eq!(working, days - weekends - holidays, "{year}");
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
        ] {
            assert!(is_bank_holiday(date).unwrap(), "{name}");
            assert!(!is_working_day(date).unwrap(), "{name}");
        }
        // The real Boxing Day 2026 is a Saturday: a weekend, not a listed holiday.
        assert!(!is_bank_holiday(d(2026, 12, 26)).unwrap());
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
        ] {
            assert_eq!(posted_receipt_date(posted), Ok(received), "{why}");
        }
    }

    #[test]
    fn nth_working_day_after_skips_easter() {
        // Thursday before Good Friday 2025.
        assert_eq!(nth_working_day_after(d(2025, 4, 17), 1), Ok(d(2025, 4, 22)));
        assert_eq!(nth_working_day_after(d(2025, 4, 17), 3), Ok(d(2025, 4, 24)));
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

    #[test]
    fn dates_outside_the_table_are_errors() {
        for date in [d(2022, 6, 1), d(2028, 1, 5), d(2022, 12, 31), d(2028, 1, 1)] {
            let unknown = Err(UnknownBankHolidays { year: date.year() });
            assert_eq!(is_bank_holiday(date), unknown);
            assert_eq!(is_working_day(date), unknown);
        }
        assert!(posted_receipt_date(d(2022, 6, 1)).is_err());
        // Receipt would land in 2028: refuse rather than guess.
        assert_eq!(
            posted_receipt_date(d(2027, 12, 30)),
            Err(UnknownBankHolidays { year: 2028 })
        );
        // Posting just before the table is fine: only the days after are classified.
        assert_eq!(posted_receipt_date(d(2022, 12, 31)), Ok(d(2023, 1, 4)));
        assert_eq!(
            UnknownBankHolidays { year: 2028 }.to_string(),
            "England and Wales bank holidays for 2028 are not in the table (covered: 2023 to 2027)"
        );
    }

    #[test]
    #[should_panic(expected = "not after")]
    fn duplicate_table_line_is_refused() {
        parse_bank_holidays("2023-01-02\n2023-01-02\n");
    }

    #[test]
    #[should_panic(expected = "no dates for 2024")]
    fn skipped_table_year_is_refused() {
        parse_bank_holidays("# header\n2023-01-02\n\n2025-01-01\n");
    }

    #[test]
    #[should_panic(expected = "line 2")]
    fn malformed_table_line_is_refused() {
        parse_bank_holidays("2023-01-02\n2023-13-01\n");
    }

    const FIRST_POSTING: NaiveDate = match NaiveDate::from_ymd_opt(2023, 1, 1) {
        Some(date) => date,
        None => panic!("valid date"),
    };
    /// Receipt of later postings would fall in 2028, outside the table.
    const LAST_POSTING: NaiveDate = match NaiveDate::from_ymd_opt(2027, 12, 24) {
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
