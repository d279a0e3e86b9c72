//! Events on the statutory dates: the day a notice's lower rate ended, the day
//! it was still unpaid at the end of its period, the day a school's request
//! passed the local deadline still awaiting an officer. Each happens once per
//! notice (or request) and kind, on its day; which are due by a date, and what
//! the scheduler records of them, is decided here from the facts and the dates
//! given (no clock).

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::calendar::{london_date, london_local_to_utc};
use super::notice::{Notice, NoticeKind};

/// The subject scheduled events are recorded against: the service itself, no
/// caller behind it (see [`super::actor::Actor::service`]).
pub const SCHEDULER_SUBJECT: &str = "lea-notices/scheduler";

/// What happened on a statutory date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DateEventKind {
    /// The lower period ended with the notice unpaid: the higher amount is due.
    LowerRateEnded,
    /// The higher period ended with the notice unpaid: prosecute or withdraw.
    UnpaidAtPeriodEnd,
    /// A school's request passed the local deadline still awaiting an officer.
    RequestDeadlinePassed,
}

super::all_variants!(DateEventKind {
    LowerRateEnded,
    UnpaidAtPeriodEnd,
    RequestDeadlinePassed,
});

string_names!(DateEventKind {
    LowerRateEnded => "lower_rate_ended",
    UnpaidAtPeriodEnd => "unpaid_at_period_end",
    RequestDeadlinePassed => "request_deadline_passed",
});

impl DateEventKind {
    /// The audit log's action for it.
    pub fn action(self) -> &'static str {
        match self {
            DateEventKind::LowerRateEnded => "notice.lower_rate_ended",
            DateEventKind::UnpaidAtPeriodEnd => "notice.unpaid_at_period_end",
            DateEventKind::RequestDeadlinePassed => "penalty_notice_request.deadline_passed",
        }
    }
}

impl DateEventKind {
    /// The rule that makes the day matter, citing its source.
    pub fn citation(self) -> String {
        let regs = super::worklist::REGULATIONS_2007;
        match self {
            DateEventKind::LowerRateEnded => format!(
                "reg. 4 {regs}: the lower amount was payable to the period's last day; the \
                 higher amount is now due until the end of the higher period"
            ),
            DateEventKind::UnpaidAtPeriodEnd => format!(
                "regs. 7 and 9 {regs}: unpaid at the end of the period, the authority must \
                 prosecute (s444 Education Act 1996) or withdraw the notice"
            ),
            DateEventKind::RequestDeadlinePassed => format!(
                "local code of conduct (regs. 14-18 {regs}): the deadline for the school's \
                 request has passed with the request still awaiting an officer"
            ),
        }
    }
}

/// The audit action of money allocated to a notice already referred to
/// prosecution, appended with the allocation that causes it.
pub const PAYMENT_AFTER_PROSECUTION: &str = "notice.payment_after_prosecution";

/// An event due: its kind, its day (the first day after the period or
/// deadline), and the period's last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateEvent {
    pub kind: DateEventKind,
    /// The day it happened on: the day after `last_day`.
    pub statutory_date: NaiveDate,
    /// The period's (or deadline's) last day.
    pub last_day: NaiveDate,
}

impl DateEvent {
    fn after(kind: DateEventKind, last_day: NaiveDate) -> Option<Self> {
        Some(DateEvent {
            kind,
            statutory_date: last_day.succ_opt()?,
            last_day,
        })
    }

    /// The instant it is recorded at: the start of its day in England, the
    /// moment the period ended, whenever a scheduler got to it.
    pub fn at(&self) -> DateTime<Utc> {
        london_local_to_utc(
            self.statutory_date
                .and_hms_opt(0, 0, 0)
                .expect("midnight exists"),
        )
    }
}

/// The days a round of the scheduler looks at: from the day before the last
/// round's day (a notice committed just after midnight, made the day before, is
/// not missed) to `today`; a first round looks at yesterday and today. Days no
/// round ran on (the service down) are inside the next round's range.
pub fn round_from(previous_round: Option<NaiveDate>, today: NaiveDate) -> NaiveDate {
    let from = previous_round.unwrap_or(today).min(today);
    from.pred_opt().unwrap_or(from)
}

/// A penalty notice's date events with a statutory date from `from` to `today`
/// inclusive whose condition held on the day: the lower rate ended (a notice
/// with a lower rate) or the period ended, with the notice neither paid (its
/// settlement dated on or before the period's last day) nor withdrawn by then.
/// An event dated before the day the notice was recorded is not one: the
/// record already says so (a notice entered after its periods ran).
pub fn notice_events(notice: &Notice, from: NaiveDate, today: NaiveDate) -> Vec<DateEvent> {
    let (NoticeKind::PenaltyNotice, Some(c)) = (notice.kind, &notice.charges) else {
        return vec![];
    };
    let recorded = london_date(notice.created_at);
    let open_through = |last: NaiveDate| {
        notice.settlement.as_ref().is_none_or(|s| s.date > last)
            && notice.withdrawal.as_ref().is_none_or(|w| w.date > last)
    };
    [
        c.lower_deadline
            .and_then(|l| DateEvent::after(DateEventKind::LowerRateEnded, l)),
        DateEvent::after(DateEventKind::UnpaidAtPeriodEnd, c.higher_deadline),
    ]
    .into_iter()
    .flatten()
    .filter(|e| (from..=today).contains(&e.statutory_date))
    .filter(|e| e.statutory_date >= recorded)
    .filter(|e| open_through(e.last_day))
    .collect()
}

/// The range of deadlines (a period's last day) whose next day lies from
/// `from` to `today`: what the store's candidates query reads.
pub fn last_days_between(from: NaiveDate, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let back = |d: NaiveDate| d.checked_sub_days(Days::new(1)).unwrap_or(d);
    (back(from), back(today))
}

/// A pending request's event, due once the day after its deadline's last day
/// (see `penalty_notice_request::deadline_date`) has come; `None` with no
/// deadline or before it.
pub fn request_event(deadline: Option<NaiveDate>, today: NaiveDate) -> Option<DateEvent> {
    deadline
        .and_then(|last| DateEvent::after(DateEventKind::RequestDeadlinePassed, last))
        .filter(|e| e.statutory_date <= today)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::issuing::tests_support::penalty_notice;
    use crate::domain::notice::{PaidRate, Settlement, Withdrawal, WithdrawalGround};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn kinds_on(n: &Notice, from: NaiveDate, today: NaiveDate) -> Vec<(DateEventKind, NaiveDate)> {
        notice_events(n, from, today)
            .into_iter()
            .map(|e| (e.kind, e.statutory_date))
            .collect()
    }

    #[test]
    fn each_event_falls_on_the_day_after_its_period() {
        // Received 3 Feb 2025 (recorded 27 Jan): lower period to 23 Feb, higher to 2 Mar.
        let n = penalty_notice(d(2025, 2, 3));
        assert!(kinds_on(&n, d(2025, 2, 22), d(2025, 2, 23)).is_empty());
        assert_eq!(
            kinds_on(&n, d(2025, 2, 23), d(2025, 2, 24)),
            [(DateEventKind::LowerRateEnded, d(2025, 2, 24))]
        );
        assert!(kinds_on(&n, d(2025, 2, 25), d(2025, 3, 2)).is_empty());
        assert_eq!(
            kinds_on(&n, d(2025, 3, 2), d(2025, 3, 3)),
            [(DateEventKind::UnpaidAtPeriodEnd, d(2025, 3, 3))]
        );
        // Caught up after days down: both, each with its own day.
        assert_eq!(
            kinds_on(&n, d(2025, 2, 20), d(2025, 3, 10)),
            [
                (DateEventKind::LowerRateEnded, d(2025, 2, 24)),
                (DateEventKind::UnpaidAtPeriodEnd, d(2025, 3, 3))
            ]
        );
        let e = notice_events(&n, d(2025, 2, 24), d(2025, 2, 24))[0];
        assert_eq!(e.last_day, d(2025, 2, 23));
        assert_eq!(
            e.at(),
            d(2025, 2, 24).and_hms_opt(0, 0, 0).unwrap().and_utc(),
            "GMT in February"
        );
        assert_eq!(london_date(e.at()), e.statutory_date);
    }

    #[test]
    fn paid_in_time_or_withdrawn_before_the_day_is_no_event() {
        let mut n = penalty_notice(d(2025, 2, 3));
        n.settlement = Some(Settlement {
            rate: PaidRate::Lower,
            date: d(2025, 2, 23),
        });
        assert!(kinds_on(&n, d(2025, 2, 1), d(2025, 3, 10)).is_empty());
        // Paid at the higher rate: the lower rate did end unpaid.
        n.settlement = Some(Settlement {
            rate: PaidRate::Higher,
            date: d(2025, 2, 24),
        });
        assert_eq!(
            kinds_on(&n, d(2025, 2, 1), d(2025, 3, 10)),
            [(DateEventKind::LowerRateEnded, d(2025, 2, 24))]
        );
        n.settlement = None;
        n.withdrawal = Some(Withdrawal {
            ground: WithdrawalGround::MaterialErrors,
            reason: String::new(),
            date: d(2025, 3, 2),
        });
        assert_eq!(
            kinds_on(&n, d(2025, 2, 1), d(2025, 3, 10)),
            [(DateEventKind::LowerRateEnded, d(2025, 2, 24))]
        );
    }

    #[test]
    fn a_notice_recorded_after_its_periods_ran_has_no_events() {
        let mut n = penalty_notice(d(2025, 2, 3));
        n.created_at = d(2025, 3, 1).and_hms_opt(12, 0, 0).unwrap().and_utc();
        assert_eq!(
            kinds_on(&n, d(2025, 2, 1), d(2025, 3, 10)),
            [(DateEventKind::UnpaidAtPeriodEnd, d(2025, 3, 3))]
        );
    }

    #[test]
    fn a_round_looks_back_to_the_day_before_the_last_one() {
        assert_eq!(round_from(None, d(2025, 3, 3)), d(2025, 3, 2));
        assert_eq!(
            round_from(Some(d(2025, 3, 3)), d(2025, 3, 3)),
            d(2025, 3, 2)
        );
        assert_eq!(
            round_from(Some(d(2025, 2, 20)), d(2025, 3, 3)),
            d(2025, 2, 19)
        );
        assert_eq!(
            last_days_between(d(2025, 2, 19), d(2025, 3, 3)),
            (d(2025, 2, 18), d(2025, 3, 2))
        );
    }

    #[test]
    fn a_request_passes_its_deadline_the_day_after_its_last_day() {
        assert_eq!(request_event(None, d(2025, 3, 3)), None);
        assert_eq!(request_event(Some(d(2025, 3, 3)), d(2025, 3, 3)), None);
        let e = request_event(Some(d(2025, 3, 3)), d(2025, 3, 4)).unwrap();
        assert_eq!(
            (e.kind, e.statutory_date),
            (DateEventKind::RequestDeadlinePassed, d(2025, 3, 4))
        );
        // Summer time: midnight in London is 23:00 UTC the day before.
        let summer = request_event(Some(d(2025, 6, 30)), d(2025, 7, 9)).unwrap();
        assert_eq!(
            summer.at(),
            d(2025, 6, 30).and_hms_opt(23, 0, 0).unwrap().and_utc()
        );
        for kind in DateEventKind::ALL {
            assert_eq!(DateEventKind::parse(kind.as_str()), Some(kind));
        }
    }
}
