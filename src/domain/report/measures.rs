//! The other measures in the return, from the cases (`MeasureService`) and
//! their events: prosecutions under s444(1) and s444(1A) and their outcomes,
//! attendance contracts offered and accepted, parenting orders made, and
//! education supervision orders made (in place of, or in addition to,
//! prosecution). Each count is one function of a case's history and the
//! date; an event counts when it is dated on or before that date, so the
//! return as of a date reads the cases as they stood then.

use chrono::NaiveDate;

use super::in_year;
use crate::domain::measures::{
    CaseEvent, Disposal, MeasureCase, MeasureKind, PaymentDecision, RecordedCaseEvent, Section,
};
use crate::domain::names;

/// A case with its events (oldest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseHistory {
    pub case: MeasureCase,
    pub events: Vec<RecordedCaseEvent>,
}

impl CaseHistory {
    /// The numbers of the notices the case follows (its breaches left out).
    pub fn followed_notices(&self) -> impl Iterator<Item = &str> {
        self.case
            .facts
            .follows
            .iter()
            .filter_map(|name| names::notice_number_of(name))
    }

    /// The first event matching `which`, dated on or before `as_of`, with its date.
    fn first_event(
        &self,
        as_of: NaiveDate,
        which: impl Fn(&CaseEvent) -> bool,
    ) -> Option<(&CaseEvent, NaiveDate)> {
        self.events
            .iter()
            .find(|e| e.on <= as_of && which(&e.event))
            .map(|e| (&e.event, e.on))
    }
}

/// Where a prosecution stands as of a date (the return's outcome columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProsecutionOutcome {
    /// Convicted and fined.
    Fine,
    /// Convicted, conditionally discharged.
    ConditionalDischarge,
    /// Withdrawn by the authority.
    Withdrawn,
    /// Dismissed by the court.
    Dismissed,
    /// Discontinued by an officer after money was received on the notice.
    Discontinued,
    /// No outcome yet.
    AwaitingOutcome,
}

/// A prosecution's outcome as of `as_of`: the outcome recorded on or before
/// it (its disposal; an appeal does not change the column), else
/// discontinued if an officer so decided on or before it, else awaiting.
pub fn prosecution_outcome(h: &CaseHistory, as_of: NaiveDate) -> ProsecutionOutcome {
    let recorded = h.first_event(as_of, |e| matches!(e, CaseEvent::OutcomeRecorded { .. }));
    if let Some((CaseEvent::OutcomeRecorded { outcome }, _)) = recorded {
        return match outcome.disposal {
            Disposal::Fine => ProsecutionOutcome::Fine,
            Disposal::ConditionalDischarge => ProsecutionOutcome::ConditionalDischarge,
            Disposal::Withdrawn => ProsecutionOutcome::Withdrawn,
            Disposal::Dismissed => ProsecutionOutcome::Dismissed,
        };
    }
    let discontinued = h.first_event(as_of, |e| {
        matches!(
            e,
            CaseEvent::PaymentDecisionRecorded {
                decision: PaymentDecision::Discontinue,
                ..
            }
        )
    });
    match discontinued {
        Some(_) => ProsecutionOutcome::Discontinued,
        None => ProsecutionOutcome::AwaitingOutcome,
    }
}

/// Whether a prosecution case counts its notices as prosecuted as of
/// `as_of`: its outcome (any: fine, discharge, withdrawn, dismissed) is
/// recorded on or before it, as a notice's own prosecution counts from its
/// hearing. A case awaiting its outcome, or discontinued after money was
/// received, leaves its notice to the other outcomes.
pub fn prosecuted(h: &CaseHistory, as_of: NaiveDate) -> bool {
    h.case.kind == MeasureKind::Prosecution
        && h.first_event(as_of, |e| matches!(e, CaseEvent::OutcomeRecorded { .. }))
            .is_some()
}

/// A prosecution referred (opened) in the year, as of the date: its section.
pub fn prosecution_referred(h: &CaseHistory, year_start: i32, as_of: NaiveDate) -> Option<Section> {
    (h.case.kind == MeasureKind::Prosecution && in_year(h.case.opened_on, year_start, as_of))
        .then_some(h.case.facts.section)
        .flatten()
}

/// An attendance contract offered (opened) in the year, as of the date.
pub fn contract_offered(h: &CaseHistory, year_start: i32, as_of: NaiveDate) -> bool {
    h.case.kind == MeasureKind::AttendanceContract && in_year(h.case.opened_on, year_start, as_of)
}

/// Of the contracts offered in the year, one accepted on or before the date.
pub fn contract_accepted(h: &CaseHistory, year_start: i32, as_of: NaiveDate) -> bool {
    contract_offered(h, year_start, as_of)
        && h.first_event(as_of, |e| matches!(e, CaseEvent::Accepted))
            .is_some()
}

/// A parenting order made in the year, as of the date (on conviction or
/// free-standing: the case opens as made).
pub fn parenting_order_granted(h: &CaseHistory, year_start: i32, as_of: NaiveDate) -> bool {
    h.case.kind == MeasureKind::ParentingOrder && in_year(h.case.opened_on, year_start, as_of)
}

/// An education supervision order made by the court in the year (its `made`
/// event dated in the year), as of the date.
pub fn supervision_order_made(h: &CaseHistory, year_start: i32, as_of: NaiveDate) -> bool {
    h.case.kind == MeasureKind::EducationSupervisionOrder
        && h.first_event(as_of, |e| matches!(e, CaseEvent::Made))
            .is_some_and(|(_, on)| in_year(on, year_start, as_of))
}

/// Of the supervision orders made in the year, one in addition to
/// prosecution: a prosecution case for the same pupil (UPN) was referred on or
/// before the date (whenever; in the year or before). The others were made in
/// place of prosecution.
pub fn supervision_order_in_addition_to_prosecution(
    h: &CaseHistory,
    cases: &[CaseHistory],
    year_start: i32,
    as_of: NaiveDate,
) -> bool {
    supervision_order_made(h, year_start, as_of)
        && cases.iter().any(|p| {
            p.case.kind == MeasureKind::Prosecution
                && p.case.upn == h.case.upn
                && p.case.opened_on <= as_of
        })
}

/// Of the supervision orders made in the year, one in place of prosecution:
/// no prosecution case for the same pupil referred on or before the date.
pub fn supervision_order_in_place_of_prosecution(
    h: &CaseHistory,
    cases: &[CaseHistory],
    year_start: i32,
    as_of: NaiveDate,
) -> bool {
    supervision_order_made(h, year_start, as_of)
        && !supervision_order_in_addition_to_prosecution(h, cases, year_start, as_of)
}

/// Prosecutions referred in the year, by where they stand as of the date.
/// `referred` = the sum of the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProsecutionCounts {
    pub referred: i64,
    pub fine: i64,
    pub conditional_discharge: i64,
    pub withdrawn: i64,
    pub dismissed: i64,
    pub discontinued: i64,
    pub awaiting_outcome: i64,
}

impl ProsecutionCounts {
    fn add(&mut self, outcome: ProsecutionOutcome) {
        self.referred += 1;
        match outcome {
            ProsecutionOutcome::Fine => self.fine += 1,
            ProsecutionOutcome::ConditionalDischarge => self.conditional_discharge += 1,
            ProsecutionOutcome::Withdrawn => self.withdrawn += 1,
            ProsecutionOutcome::Dismissed => self.dismissed += 1,
            ProsecutionOutcome::Discontinued => self.discontinued += 1,
            ProsecutionOutcome::AwaitingOutcome => self.awaiting_outcome += 1,
        }
    }
}

/// The other measures' counts for one authority and year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeasureCounts {
    /// Every prosecution referred in the year.
    pub prosecutions: ProsecutionCounts,
    /// By section, in the order of [`Section::ALL`].
    pub prosecutions_by_section: [(Section, ProsecutionCounts); 2],
    pub contracts_offered: i64,
    pub contracts_accepted: i64,
    pub parenting_orders_granted: i64,
    pub supervision_orders_made: i64,
    pub supervision_orders_in_place_of_prosecution: i64,
    pub supervision_orders_in_addition_to_prosecution: i64,
}

impl Default for MeasureCounts {
    fn default() -> Self {
        MeasureCounts {
            prosecutions: ProsecutionCounts::default(),
            prosecutions_by_section: Section::ALL.map(|s| (s, ProsecutionCounts::default())),
            contracts_offered: 0,
            contracts_accepted: 0,
            parenting_orders_granted: 0,
            supervision_orders_made: 0,
            supervision_orders_in_place_of_prosecution: 0,
            supervision_orders_in_addition_to_prosecution: 0,
        }
    }
}

/// The counts over `cases`: each is the number of cases its function holds for.
pub fn measure_counts(cases: &[CaseHistory], year_start: i32, as_of: NaiveDate) -> MeasureCounts {
    let mut m = MeasureCounts::default();
    let n = |f: &dyn Fn(&CaseHistory) -> bool| cases.iter().filter(|h| f(h)).count() as i64;
    for h in cases {
        if let Some(section) = prosecution_referred(h, year_start, as_of) {
            let outcome = prosecution_outcome(h, as_of);
            m.prosecutions.add(outcome);
            if let Some((_, c)) = m
                .prosecutions_by_section
                .iter_mut()
                .find(|(s, _)| *s == section)
            {
                c.add(outcome);
            }
        }
    }
    m.contracts_offered = n(&|h| contract_offered(h, year_start, as_of));
    m.contracts_accepted = n(&|h| contract_accepted(h, year_start, as_of));
    m.parenting_orders_granted = n(&|h| parenting_order_granted(h, year_start, as_of));
    m.supervision_orders_made = n(&|h| supervision_order_made(h, year_start, as_of));
    m.supervision_orders_in_addition_to_prosecution =
        n(&|h| supervision_order_in_addition_to_prosecution(h, cases, year_start, as_of));
    m.supervision_orders_in_place_of_prosecution =
        n(&|h| supervision_order_in_place_of_prosecution(h, cases, year_start, as_of));
    m
}
