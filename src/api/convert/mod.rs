//! Protocol ⇄ domain conversions: dates and instants here, each service's
//! messages in its own module.

pub mod attendance;
pub mod audit;
pub mod breaches;
pub mod data_protection;
pub mod events;
pub mod issuing;
pub mod letters;
pub mod measures;
pub mod notice;
pub mod payment;
pub mod penalty_notice_requests;
pub mod policy;
pub mod report;
pub mod retention;
pub mod school;
pub mod sharing;
pub mod worklist;

#[cfg(test)]
mod never_panics;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::domain::{FieldViolation, notice::Session};
use crate::proto::{Date, v1 as pb};

/// A required civil date.
pub fn date(field: &str, value: Option<&Date>) -> Result<NaiveDate, FieldViolation> {
    let d = value.ok_or_else(|| FieldViolation::new(field, "a date is required"))?;
    u32::try_from(d.month)
        .ok()
        .zip(u32::try_from(d.day).ok())
        .and_then(|(m, day)| NaiveDate::from_ymd_opt(d.year, m, day))
        .filter(|_| (1..=9999).contains(&d.year))
        .ok_or_else(|| {
            FieldViolation::new(
                field,
                format!(
                    "{:04}-{:02}-{:02} is not a calendar date",
                    d.year, d.month, d.day
                ),
            )
        })
}

/// An optional civil date: unset is `None`.
pub fn optional_date(
    field: &str,
    value: Option<&Date>,
) -> Result<Option<NaiveDate>, FieldViolation> {
    value.map(|d| date(field, Some(d))).transpose()
}

pub fn date_to_proto(d: NaiveDate) -> Date {
    Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

pub fn session_from_proto(value: i32) -> Option<Session> {
    match pb::Session::try_from(value).ok()? {
        pb::Session::Am => Some(Session::Am),
        pb::Session::Pm => Some(Session::Pm),
        pb::Session::Unspecified => None,
    }
}

pub fn session_to_proto(s: Session) -> pb::Session {
    match s {
        Session::Am => pb::Session::Am,
        Session::Pm => pb::Session::Pm,
    }
}

/// The earliest instant the service accepts: no register, payment or refund
/// it handles is older.
pub const EARLIEST_INSTANT: &str = "2000-01-01T00:00:00Z";

/// An instant from the protocol: valid nanos, from 2000 on, and no later than
/// `latest`; truncated to the microseconds both backends keep, so a retry
/// compares equal to what was stored.
pub fn instant(
    t: &prost_types::Timestamp,
    latest: DateTime<Utc>,
) -> Result<DateTime<Utc>, &'static str> {
    let earliest = DateTime::parse_from_rfc3339(EARLIEST_INSTANT)
        .map(|t| t.to_utc())
        .map_err(|_| "no earliest instant")?;
    let nanos = u32::try_from(t.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .ok_or("nanos must be from 0 to 999,999,999")?;
    let at = DateTime::from_timestamp(t.seconds, nanos)
        .filter(|at| (earliest..=latest).contains(at))
        .ok_or("must be a time from 2000 to now")?;
    Ok(chrono::SubsecRound::trunc_subsecs(at, 6))
}

pub fn timestamp_to_proto(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// A SEN status as the protocol gives it; `None` for UNSPECIFIED (not known).
pub fn sen_to_proto(s: Option<crate::domain::sen::SenProvision>) -> pb::SenProvision {
    use crate::domain::sen::SenProvision as S;
    match s {
        None => pb::SenProvision::Unspecified,
        Some(S::NoSen) => pb::SenProvision::NoSen,
        Some(S::SenSupport) => pb::SenProvision::SenSupport,
        Some(S::EhcPlan) => pb::SenProvision::EhcPlan,
    }
}

/// A SEN status field: `Ok(None)` for UNSPECIFIED, an error for a number
/// the protocol does not define.
pub fn sen_from_proto(
    field: &str,
    value: i32,
) -> Result<Option<crate::domain::sen::SenProvision>, FieldViolation> {
    use crate::domain::sen::SenProvision as S;
    match pb::SenProvision::try_from(value) {
        Ok(pb::SenProvision::Unspecified) => Ok(None),
        Ok(pb::SenProvision::NoSen) => Ok(Some(S::NoSen)),
        Ok(pb::SenProvision::SenSupport) => Ok(Some(S::SenSupport)),
        Ok(pb::SenProvision::EhcPlan) => Ok(Some(S::EhcPlan)),
        Err(_) => Err(FieldViolation::new(
            field,
            format!("{value} is not one of the allowed values"),
        )),
    }
}

/// Counts by SEN status as the protocol gives them.
pub fn sen_counts_to_proto(c: &crate::domain::sen::SenCounts) -> pb::SenCounts {
    pb::SenCounts {
        no_sen: c.no_sen,
        sen_support: c.sen_support,
        ehc_plan: c.ehc_plan,
        not_known: c.not_known,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_impossible_dates_are_refused() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(date("f", Some(&date_to_proto(d))), Ok(d));
        for (y, m, day) in [
            (2023, 2, 29),
            (2024, 13, 1),
            (2024, 0, 1),
            (0, 1, 1),
            (2024, 1, -1),
        ] {
            let v = date(
                "f",
                Some(&Date {
                    year: y,
                    month: m,
                    day,
                }),
            )
            .unwrap_err();
            assert_eq!(v.field, "f");
        }
        assert!(date("f", None).is_err());
        assert_eq!(optional_date("f", None), Ok(None));
    }
}
