//! The one place the service reads the time. Use cases take a [`Clock`], so a
//! test can fix "today" (a notice's status, the amount due, what counts as the
//! future) instead of depending on the day it runs.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};

use crate::domain::calendar;

pub trait Clock: Send + Sync + 'static {
    /// The current instant, at the microsecond precision both backends store.
    fn now(&self) -> DateTime<Utc>;

    /// Today in England, which decides statuses, amounts due and deadlines.
    fn today(&self) -> NaiveDate {
        calendar::london_date(self.now())
    }
}

/// The machine's clock: what `serve` uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// A clock that shows what it is set to, for tests and replays. Clones share the
/// same time, so a test can move the clock of a running server.
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<Mutex<DateTime<Utc>>>);

impl FixedClock {
    pub fn at(instant: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(instant.trunc_subsecs(6))))
    }

    /// Noon in London on `day`, a time that is `day` whatever the season.
    pub fn on(day: NaiveDate) -> Self {
        let noon = day.and_hms_opt(11, 0, 0).expect("11:00 exists").and_utc();
        Self::at(noon)
    }

    pub fn set(&self, instant: DateTime<Utc>) {
        *self.lock() = instant.trunc_subsecs(6);
    }

    /// Moves the clock to noon on `day`.
    pub fn set_day(&self, day: NaiveDate) {
        self.set(Self::on(day).now());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A poisoned lock still holds a valid instant.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_shows_its_day_in_london_in_summer_and_winter() {
        for (y, m, d) in [(2027, 1, 4), (2027, 7, 1), (2026, 3, 29), (2026, 10, 25)] {
            let day = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(FixedClock::on(day).today(), day);
        }
    }

    #[test]
    fn clones_share_the_time() {
        let clock = FixedClock::on(NaiveDate::from_ymd_opt(2027, 1, 4).unwrap());
        let seen_by_server = clock.clone();
        clock.set_day(NaiveDate::from_ymd_opt(2027, 3, 1).unwrap());
        assert_eq!(
            seen_by_server.today(),
            NaiveDate::from_ymd_opt(2027, 3, 1).unwrap()
        );
    }
}
