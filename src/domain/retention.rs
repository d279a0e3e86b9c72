//! How long each kind of record is kept after the event that closes it, per
//! authority, in versions by effective date like the policy (see
//! `policy::in_force`), with documented defaults where an authority has no
//! version of its own. A record is past retention on a day when its closing
//! date plus the period (in whole years) is on or before that day: a mark of
//! 6 January 2020 kept 6 years is purged from 6 January 2026 (see [`cut_off`]).

use chrono::{Months, NaiveDate};
use serde::Serialize;

use super::FieldViolation;
use super::policy::Publication;

/// The kinds of record with a retention period, each closed by its own event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// Register entries (marks and their history), closed by the mark's date.
    Registers,
    /// Breaches and the decisions on them, closed by the decision.
    Breaches,
    /// Notices and their letters, closed when the notice is: paid, withdrawn,
    /// or its prosecution's outcome. An open notice is never past retention.
    Notices,
    /// Payments and refunds, closed by the payment's date.
    Payments,
    /// The log of who read what, closed by the read.
    AccessLog,
}
super::all_variants!(RecordKind {
    Registers,
    Breaches,
    Notices,
    Payments,
    AccessLog
});
string_names!(RecordKind {
    Registers => "registers",
    Breaches => "breaches",
    Notices => "notices",
    Payments => "payments",
    AccessLog => "access_log"
});

/// The shortest period register entries may be kept: the schools' own
/// statutory period (School Attendance (Pupil Registration) (England)
/// Regulations 2024: every entry preserved for six years from the date it was
/// made).
pub const STATUTORY_MIN_REGISTER_YEARS: i32 = 6;
/// The longest period any record may be kept, a bound of sense.
pub const MAX_YEARS: i32 = 100;

/// Years each kind is kept after its closing event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetentionPeriods {
    pub register_years: i32,
    pub breach_years: i32,
    pub notice_years: i32,
    pub payment_years: i32,
    pub access_log_years: i32,
}

/// The periods where an authority has no version of its own.
pub const DEFAULT_PERIODS: RetentionPeriods = RetentionPeriods {
    register_years: 6,
    breach_years: 6,
    notice_years: 6,
    payment_years: 6,
    access_log_years: 2,
};

/// Why each default is what it is.
pub fn default_basis(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Registers => {
            "6 years from the mark's date: School Attendance (Pupil Registration) (England) \
             Regulations 2024, the schools' own statutory period for register entries"
        }
        RecordKind::Breaches => {
            "6 years after the decision: local authorities' retention schedules for \
             attendance enforcement case files (the limitation period of a claim about it)"
        }
        RecordKind::Notices => {
            "6 years after the notice closed (paid, withdrawn or its prosecution's outcome): \
             local authorities' retention schedules for penalty notices"
        }
        RecordKind::Payments => {
            "6 years after the payment's date: Limitation Act 1980 s5 and councils' finance \
             retention schedules"
        }
        RecordKind::AccessLog => {
            "2 years after the read: long enough to answer a complaint or a subject access \
             request about who read a record"
        }
    }
}

impl RetentionPeriods {
    /// The years `kind` is kept.
    pub fn years(&self, kind: RecordKind) -> i32 {
        match kind {
            RecordKind::Registers => self.register_years,
            RecordKind::Breaches => self.breach_years,
            RecordKind::Notices => self.notice_years,
            RecordKind::Payments => self.payment_years,
            RecordKind::AccessLog => self.access_log_years,
        }
    }

    /// The protocol's field for `kind`'s period.
    pub fn field(kind: RecordKind) -> &'static str {
        match kind {
            RecordKind::Registers => "register_years",
            RecordKind::Breaches => "breach_years",
            RecordKind::Notices => "notice_years",
            RecordKind::Payments => "payment_years",
            RecordKind::AccessLog => "access_log_years",
        }
    }

    /// Every problem, one per field, named by the protocol's field (relative to
    /// the version): each period at least 1 year and at most [`MAX_YEARS`],
    /// registers at least [`STATUTORY_MIN_REGISTER_YEARS`].
    pub fn validate(&self) -> Vec<FieldViolation> {
        RecordKind::ALL
            .into_iter()
            .filter_map(|kind| {
                let years = self.years(kind);
                let min = match kind {
                    RecordKind::Registers => STATUTORY_MIN_REGISTER_YEARS,
                    _ => 1,
                };
                (!(min..=MAX_YEARS).contains(&years)).then(|| {
                    FieldViolation::new(
                        Self::field(kind),
                        match kind {
                            RecordKind::Registers => format!(
                                "must be from {min} (the schools' statutory period for \
                                 register entries) to {MAX_YEARS} years"
                            ),
                            _ => format!("must be from {min} to {MAX_YEARS} years"),
                        },
                    )
                })
            })
            .collect()
    }
}

/// One version of an authority's retention periods, or the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// `None` for the defaults, in force from the beginning.
    pub effective_from: Option<NaiveDate>,
    pub periods: RetentionPeriods,
    /// Set for an authority's own versions.
    pub published: Option<Publication>,
}

impl RetentionPolicy {
    pub fn defaults() -> Self {
        Self {
            effective_from: None,
            periods: DEFAULT_PERIODS,
            published: None,
        }
    }

    /// The last closing date of `kind` past retention on `on` (see [`cut_off`]).
    pub fn cut_off(&self, kind: RecordKind, on: NaiveDate) -> NaiveDate {
        cut_off(self.periods.years(kind), on)
    }
}

/// The version in force on `on`: the authority's own version with the latest
/// effective date on or before it, or the defaults.
pub fn in_force(own: &[RetentionPolicy], on: NaiveDate) -> RetentionPolicy {
    own.iter()
        .filter(|v| v.effective_from.is_some_and(|d| d <= on))
        .max_by_key(|v| v.effective_from)
        .cloned()
        .unwrap_or_else(RetentionPolicy::defaults)
}

/// The last closing date past a retention of `years` on `on`: a record closed
/// on or before it is past retention, one closed after it is kept. It is `on`
/// less `years` calendar years, so a record closed on a day is purged on the
/// same day `years` years later; one closed on 29 February, on 1 March (the
/// anniversary in a common year is 28 February, which is still kept).
pub fn cut_off(years: i32, on: NaiveDate) -> NaiveDate {
    let months = u32::try_from(years.clamp(0, MAX_YEARS)).unwrap_or(0) * 12;
    on.checked_sub_months(Months::new(months))
        .unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn past(years: i32, closed: NaiveDate, on: NaiveDate) -> bool {
        closed <= cut_off(years, on)
    }

    #[test]
    fn a_record_is_purged_on_its_anniversary_and_not_the_day_before() {
        let closed = d(2020, 1, 6);
        assert!(!past(6, closed, d(2026, 1, 5)));
        assert!(past(6, closed, d(2026, 1, 6)));
        assert!(past(6, closed, d(2026, 1, 7)));
        assert_eq!(cut_off(6, d(2026, 1, 6)), closed);
        assert_eq!(cut_off(2, d(2026, 1, 6)), d(2024, 1, 6));
    }

    #[test]
    fn a_closing_date_of_29_february_is_purged_on_1_march() {
        let closed = d(2020, 2, 29);
        assert_eq!(cut_off(6, d(2026, 2, 28)), d(2020, 2, 28));
        assert!(!past(6, closed, d(2026, 2, 28)));
        assert!(past(6, closed, d(2026, 3, 1)));
        // Into a leap year, the anniversary itself.
        assert!(!past(4, closed, d(2024, 2, 28)));
        assert!(past(4, closed, d(2024, 2, 29)));
    }

    #[test]
    fn the_version_in_force_is_the_latest_before_the_day_or_the_defaults() {
        let version = |y, register_years| RetentionPolicy {
            effective_from: Some(d(y, 4, 1)),
            periods: RetentionPeriods {
                register_years,
                ..DEFAULT_PERIODS
            },
            published: None,
        };
        let own = [version(2027, 8), version(2025, 7)];
        assert_eq!(in_force(&own, d(2025, 3, 31)), RetentionPolicy::defaults());
        assert_eq!(in_force(&own, d(2025, 4, 1)).periods.register_years, 7);
        assert_eq!(in_force(&own, d(2027, 3, 31)).periods.register_years, 7);
        assert_eq!(in_force(&own, d(2030, 1, 1)).periods.register_years, 8);
        assert_eq!(in_force(&[], d(2030, 1, 1)), RetentionPolicy::defaults());
        let v = in_force(&own, d(2026, 1, 6));
        assert_eq!(
            v.cut_off(RecordKind::Registers, d(2026, 1, 6)),
            d(2019, 1, 6)
        );
        assert_eq!(
            v.cut_off(RecordKind::AccessLog, d(2026, 1, 6)),
            d(2024, 1, 6)
        );
    }

    #[test]
    fn the_defaults_are_valid_and_sourced() {
        assert!(DEFAULT_PERIODS.validate().is_empty());
        for kind in RecordKind::ALL {
            assert!(DEFAULT_PERIODS.years(kind) >= 1);
            assert!(!default_basis(kind).is_empty());
        }
        assert_eq!(DEFAULT_PERIODS.register_years, STATUTORY_MIN_REGISTER_YEARS);
    }

    #[test]
    fn periods_out_of_bounds_name_their_field() {
        let fields = |p: RetentionPeriods| -> Vec<String> {
            p.validate().into_iter().map(|v| v.field).collect()
        };
        let p = RetentionPeriods {
            register_years: 5,
            breach_years: 0,
            notice_years: 101,
            payment_years: 1,
            access_log_years: -1,
        };
        assert_eq!(
            fields(p),
            [
                "register_years",
                "breach_years",
                "notice_years",
                "access_log_years"
            ]
        );
        let edges = RetentionPeriods {
            register_years: 6,
            breach_years: 1,
            notice_years: 100,
            payment_years: 100,
            access_log_years: 1,
        };
        assert!(fields(edges).is_empty());
        assert!(
            fields(RetentionPeriods {
                register_years: 101,
                ..edges
            }) == ["register_years"]
        );
    }
}
