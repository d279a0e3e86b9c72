//! A pupil's special educational needs (SEN) status, as the school's MIS
//! records it and sends it: the school census's "SEN provision" (the DfE's
//! CBDS item, carried by the Common Transfer File as `SENprovision`), kept by
//! the date it applies from, so that a breach, a notice or a year's return is
//! broken down by the status the pupil had on the day that matters.
//!
//! SEN status is special-category-adjacent personal data: it never goes into
//! logs, spans, metric labels or error messages; only into the store, the
//! audit trail and the answers of callers who may read the pupil.

use chrono::NaiveDate;

/// The school census SEN provision codes in use since September 2014 (the
/// SEND code of practice replaced School Action, School Action Plus and
/// statements with SEN support and education, health and care plans).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SenProvision {
    /// `N`: no special educational need.
    NoSen,
    /// `K`: SEN support (needs met by the school, no plan).
    SenSupport,
    /// `E`: an education, health and care plan (or, before it was
    /// transferred, a statement of SEN).
    EhcPlan,
}

crate::domain::all_variants!(SenProvision {
    NoSen,
    SenSupport,
    EhcPlan
});

impl SenProvision {
    /// The census code, as the MIS and the CTF write it.
    pub fn code(self) -> &'static str {
        match self {
            SenProvision::NoSen => "N",
            SenProvision::SenSupport => "K",
            SenProvision::EhcPlan => "E",
        }
    }

    /// A census code (upper or lower case, surrounding space ignored).
    pub fn from_code(code: &str) -> Option<Self> {
        match code.trim().to_ascii_uppercase().as_str() {
            "N" => Some(SenProvision::NoSen),
            "K" => Some(SenProvision::SenSupport),
            "E" => Some(SenProvision::EhcPlan),
            _ => None,
        }
    }
}

/// Where a status came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenSource {
    /// An MIS connector's own RecordMarks / RecordMarksStream call.
    MarksCall,
    /// A register export read by `import-marks` (its `sen_provision` column).
    RegisterImport,
    /// A Common Transfer File read by `import-marks` (its SEN history).
    CommonTransferFile,
}

crate::domain::all_variants!(SenSource {
    MarksCall,
    RegisterImport,
    CommonTransferFile
});

impl SenSource {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SenSource::MarksCall => "marks_call",
            SenSource::RegisterImport => "register_import",
            SenSource::CommonTransferFile => "common_transfer_file",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// One entry of a pupil's history: the status from `effective_from` until
/// the next entry's date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenRecord {
    pub effective_from: NaiveDate,
    pub provision: SenProvision,
    pub source: SenSource,
}

/// The status on `date`: the entry with the latest `effective_from` on or
/// before it; `None` (not known) when the MIS has sent nothing that early.
/// The history need not be sorted; entries have distinct dates.
pub fn status_as_of(history: &[SenRecord], date: NaiveDate) -> Option<SenProvision> {
    history
        .iter()
        .filter(|r| r.effective_from <= date)
        .max_by_key(|r| r.effective_from)
        .map(|r| r.provision)
}

/// What a status sent for a pupil does to the history held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenChange {
    /// The history already says so on that date: nothing is written (an MIS
    /// sends the same status with every batch).
    Unchanged,
    /// A new entry from that date.
    Added,
    /// The entry of that very date said otherwise: it is corrected.
    Corrected { previous: SenProvision },
}

/// Applies `sent` to `history` (in place), saying what changed. A status is
/// only ever added or corrected: a pupil's known status is never removed by
/// a batch that sends none.
pub fn apply(history: &mut Vec<SenRecord>, sent: SenRecord) -> SenChange {
    if let Some(same_day) = history
        .iter_mut()
        .find(|r| r.effective_from == sent.effective_from)
    {
        if same_day.provision == sent.provision {
            return SenChange::Unchanged;
        }
        let previous = same_day.provision;
        *same_day = sent;
        return SenChange::Corrected { previous };
    }
    if status_as_of(history, sent.effective_from) == Some(sent.provision) {
        return SenChange::Unchanged;
    }
    history.push(sent);
    SenChange::Added
}

/// Counts by SEN status, with those whose status was not known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SenCounts {
    pub no_sen: i64,
    pub sen_support: i64,
    pub ehc_plan: i64,
    /// The MIS had sent no status on or before the date that mattered.
    pub not_known: i64,
}

impl SenCounts {
    /// Counts one more of `status`.
    pub fn add(&mut self, status: Option<SenProvision>) {
        let slot = match status {
            Some(SenProvision::NoSen) => &mut self.no_sen,
            Some(SenProvision::SenSupport) => &mut self.sen_support,
            Some(SenProvision::EhcPlan) => &mut self.ehc_plan,
            None => &mut self.not_known,
        };
        *slot += 1;
    }

    /// Counts of `statuses`.
    pub fn of(statuses: impl IntoIterator<Item = Option<SenProvision>>) -> Self {
        let mut counts = SenCounts::default();
        for s in statuses {
            counts.add(s);
        }
        counts
    }

    pub fn total(&self) -> i64 {
        self.no_sen + self.sen_support + self.ehc_plan + self.not_known
    }
}

/// The statutory return's breakdown by SEN status: the notices issued in
/// the academic year (on or before `as_of`), each counted by its pupil's SEN
/// status on its issue date.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReturnBySenStatus {
    pub penalty_notices_issued: SenCounts,
    pub notices_to_improve_issued: SenCounts,
}

/// [`ReturnBySenStatus`] from `notices` (any of the authority's, each with
/// `sen_provision` its pupil's status on its issue date; only those issued in
/// the year count, as in `report::statutory_return`).
pub fn return_by_sen_status(
    notices: &[super::notice::Notice],
    year_start: i32,
    as_of: NaiveDate,
) -> ReturnBySenStatus {
    use super::notice::NoticeKind;
    let mut out = ReturnBySenStatus::default();
    let Some((first, last)) = super::report::academic_year(year_start) else {
        return out;
    };
    for n in notices
        .iter()
        .filter(|n| n.issue_date <= as_of && (first..=last).contains(&n.issue_date))
    {
        match n.kind {
            NoticeKind::PenaltyNotice => out.penalty_notices_issued.add(n.sen_provision),
            NoticeKind::NoticeToImprove => out.notices_to_improve_issued.add(n.sen_provision),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, m, day).unwrap()
    }

    fn rec(date: NaiveDate, provision: SenProvision) -> SenRecord {
        SenRecord {
            effective_from: date,
            provision,
            source: SenSource::MarksCall,
        }
    }

    #[test]
    fn codes_are_the_census_codes() {
        for p in SenProvision::ALL {
            assert_eq!(SenProvision::from_code(p.code()), Some(p));
        }
        assert_eq!(
            SenProvision::from_code(" k "),
            Some(SenProvision::SenSupport)
        );
        // School Action (A), School Action Plus (P) and statements (S) ended in 2014.
        for old in ["A", "P", "S", "", "X"] {
            assert_eq!(SenProvision::from_code(old), None, "{old}");
        }
        for s in SenSource::ALL {
            assert_eq!(SenSource::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn the_status_on_a_date_is_the_latest_entry_on_or_before_it() {
        let mut history = vec![];
        assert_eq!(status_as_of(&history, d(1, 1)), None);
        assert_eq!(
            apply(&mut history, rec(d(1, 6), SenProvision::SenSupport)),
            SenChange::Added
        );
        // Sent again, or sent later while unchanged: nothing new.
        assert_eq!(
            apply(&mut history, rec(d(1, 6), SenProvision::SenSupport)),
            SenChange::Unchanged
        );
        assert_eq!(
            apply(&mut history, rec(d(2, 3), SenProvision::SenSupport)),
            SenChange::Unchanged
        );
        assert_eq!(
            apply(&mut history, rec(d(3, 3), SenProvision::EhcPlan)),
            SenChange::Added
        );
        assert_eq!(status_as_of(&history, d(1, 5)), None);
        assert_eq!(
            status_as_of(&history, d(1, 6)),
            Some(SenProvision::SenSupport)
        );
        assert_eq!(
            status_as_of(&history, d(3, 2)),
            Some(SenProvision::SenSupport)
        );
        assert_eq!(status_as_of(&history, d(3, 3)), Some(SenProvision::EhcPlan));
        // A correction of a date already held replaces it.
        assert_eq!(
            apply(&mut history, rec(d(1, 6), SenProvision::NoSen)),
            SenChange::Corrected {
                previous: SenProvision::SenSupport
            }
        );
        assert_eq!(status_as_of(&history, d(2, 1)), Some(SenProvision::NoSen));
        assert_eq!(history.len(), 2);
    }

    #[test]
    fn the_return_counts_each_notice_by_the_status_on_its_issue_date() {
        use crate::domain::issuing::tests_support::penalty_notice;
        use crate::domain::notice::NoticeKind;
        let on = |y: i32, m: u32, day: u32, sen: Option<SenProvision>| {
            let mut n = penalty_notice(NaiveDate::from_ymd_opt(y, m, day).unwrap());
            n.issue_date = NaiveDate::from_ymd_opt(y, m, day).unwrap();
            n.sen_provision = sen;
            n
        };
        let mut nti = on(2025, 1, 10, Some(SenProvision::EhcPlan));
        nti.kind = NoticeKind::NoticeToImprove;
        let notices = [
            on(2024, 10, 1, Some(SenProvision::SenSupport)),
            on(2025, 3, 3, Some(SenProvision::EhcPlan)),
            on(2025, 3, 4, None),
            // Before the year, and after the as-of date: not counted.
            on(2024, 8, 30, Some(SenProvision::NoSen)),
            on(2025, 6, 2, Some(SenProvision::NoSen)),
            nti,
        ];
        let r = return_by_sen_status(
            &notices,
            2024,
            NaiveDate::from_ymd_opt(2025, 5, 31).unwrap(),
        );
        let p = r.penalty_notices_issued;
        assert_eq!(
            (p.no_sen, p.sen_support, p.ehc_plan, p.not_known),
            (0, 1, 1, 1)
        );
        assert_eq!(r.notices_to_improve_issued.ehc_plan, 1);
        assert_eq!(r.notices_to_improve_issued.total(), 1);
    }

    #[test]
    fn counts_add_up() {
        let c = SenCounts::of([
            Some(SenProvision::EhcPlan),
            None,
            Some(SenProvision::SenSupport),
            Some(SenProvision::EhcPlan),
        ]);
        assert_eq!(
            (c.no_sen, c.sen_support, c.ehc_plan, c.not_known),
            (0, 1, 2, 1)
        );
        assert_eq!(c.total(), 4);
    }
}
