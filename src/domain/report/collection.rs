//! The return in the collection's words: one row per authority and year, its
//! columns named as the DfE's published "parental responsibility measures"
//! data (explore-education-statistics, the publication's underlying data file
//! and its data guidance: `pn_issued`, `reason_pn_hols`, `pn_paid_21`, ...),
//! then the counts the published file does not name, in the same style
//! (marked "ours" below and in docs/domain.md). The CSV is what the command
//! prints and what `GetStatutoryReturn` answers in `csv`.

use super::{Counts, StatutoryReturn, measures::ProsecutionCounts};
use crate::domain::measures::Section;
use crate::domain::policy::OffenceReason;
use crate::domain::sen::{ReturnBySenStatus, SenCounts};

/// The collection's word for a main reason in its column names.
fn reason_word(reason: OffenceReason) -> &'static str {
    match reason {
        OffenceReason::Holiday => "hols",
        OffenceReason::Late => "late",
        OffenceReason::Other => "other",
    }
}

/// The prefix of a prosecution scope's columns (ours).
fn section_word(section: Section) -> &'static str {
    match section {
        Section::S444_1 => "prosecutions_s444_1",
        Section::S444_1A => "prosecutions_s444_1a",
    }
}

/// The collection's `time_period`: "202425" for 2024/25.
pub fn time_period(year_start: i32) -> String {
    format!("{year_start}{:02}", (year_start + 1).rem_euclid(100))
}

/// A penalty notice outcome's columns for one reason (ours: the published
/// file counts outcomes over all reasons only), after `reason_pn_{word}`.
fn reason_columns(out: &mut Vec<(String, i64)>, reason: OffenceReason, c: &Counts) {
    let word = reason_word(reason);
    let col = |suffix: &str| format!("reason_pn_{word}{suffix}");
    out.extend([
        (col("_paid"), c.paid_within_28_days),
        (col("_paid_21"), c.paid_within_21_days),
        (col("_paid_22_28"), c.paid_on_days_22_to_28),
        (col("_withdrawn"), c.withdrawn),
        (col("_prosecuted_non_payment"), c.prosecuted),
        (col("_unresolved"), c.other_or_outstanding),
    ]);
}

/// A prosecution scope's columns (ours): `{prefix}` referred, then by outcome.
fn prosecution_columns(out: &mut Vec<(String, i64)>, prefix: &str, c: &ProsecutionCounts) {
    let col = |suffix: &str| format!("{prefix}{suffix}");
    out.extend([
        (col(""), c.referred),
        (col("_fine"), c.fine),
        (col("_conditional_discharge"), c.conditional_discharge),
        (col("_withdrawn"), c.withdrawn),
        (col("_dismissed"), c.dismissed),
        (col("_discontinued"), c.discontinued),
        (col("_awaiting_outcome"), c.awaiting_outcome),
    ]);
}

/// The notices of one kind by SEN status (ours: the collection has no SEN
/// breakdown), after `{prefix}`: `_sen_none`, `_sen_support`, `_sen_ehc_plan`
/// (the census's N, K, E on the issue date), `_sen_not_known` (none sent);
/// the four add up to `{prefix}`.
fn sen_columns(out: &mut Vec<(String, i64)>, prefix: &str, c: &SenCounts) {
    let col = |suffix: &str| format!("{prefix}{suffix}");
    out.extend([
        (col("_sen_none"), c.no_sen),
        (col("_sen_support"), c.sen_support),
        (col("_sen_ehc_plan"), c.ehc_plan),
        (col("_sen_not_known"), c.not_known),
    ]);
}

/// Every count of the return as (column, value), in the CSV's order: the
/// published file's columns first, then ours, the SEN breakdown last.
pub fn columns(r: &StatutoryReturn, by_sen: &ReturnBySenStatus) -> Vec<(String, i64)> {
    let t = &r.totals;
    let w = &r.withdrawn_by_reason;
    let m = &r.measures;
    let reason_issued = |reason| {
        r.by_reason
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |(_, c)| c.issued)
    };
    let mut out: Vec<(String, i64)> = vec![
        ("pn_issued".into(), t.issued),
        (
            "reason_pn_hols".into(),
            reason_issued(OffenceReason::Holiday),
        ),
        ("reason_pn_late".into(), reason_issued(OffenceReason::Late)),
        (
            "reason_pn_other".into(),
            reason_issued(OffenceReason::Other),
        ),
        ("pn_paid".into(), t.paid_within_28_days),
        ("pn_paid_21".into(), t.paid_within_21_days),
        ("pn_paid_22_28".into(), t.paid_on_days_22_to_28),
        ("pn_withdrawn".into(), t.withdrawn),
        ("withdrawn_reason_conduct".into(), w.conduct),
        ("withdrawn_reason_wrong_issue".into(), w.wrong_issue),
        ("withdrawn_reason_material_error".into(), w.material_error),
        ("withdrawn_reason_expiry_no_legal".into(), w.expiry_no_legal),
        ("pn_prosecuted_non_payment".into(), t.prosecuted),
        ("pn_unresolved".into(), t.other_or_outstanding),
        (
            "parenting_orders_granted".into(),
            m.parenting_orders_granted,
        ),
        ("parenting_contracts_offered".into(), m.contracts_offered),
        ("parenting_contracts_accepted".into(), m.contracts_accepted),
        ("supervision_orders_total".into(), m.supervision_orders_made),
        (
            "supervision_orders_inplaceofprosecution".into(),
            m.supervision_orders_in_place_of_prosecution,
        ),
        (
            "supervision_orders_inadditiontoprosecution".into(),
            m.supervision_orders_in_addition_to_prosecution,
        ),
    ];
    for (reason, c) in &r.by_reason {
        reason_columns(&mut out, *reason, c);
    }
    out.push(("nti_issued".into(), r.notices_to_improve_issued));
    prosecution_columns(&mut out, "prosecutions", &m.prosecutions);
    for (section, c) in &m.prosecutions_by_section {
        prosecution_columns(&mut out, section_word(*section), c);
    }
    sen_columns(&mut out, "pn_issued", &by_sen.penalty_notices_issued);
    sen_columns(&mut out, "nti_issued", &by_sen.notices_to_improve_issued);
    out
}

/// The columns that name the row, before the counts (as the published file's).
const ROW_NAME: [&str; 4] = [
    "time_period",
    "time_identifier",
    "geographic_level",
    "old_la_code",
];

/// The return as CSV: a header and one row for the authority (`la_code`, the
/// three-digit code the collection calls `old_la_code`). No field needs
/// quoting: every value is a number or a fixed word.
pub fn csv(la_code: &str, r: &StatutoryReturn, by_sen: &ReturnBySenStatus) -> String {
    let columns = columns(r, by_sen);
    let header = ROW_NAME
        .iter()
        .map(|s| s.to_string())
        .chain(columns.iter().map(|(name, _)| name.clone()))
        .collect::<Vec<_>>()
        .join(",");
    let row = [
        time_period(r.year_start),
        "Academic year".to_string(),
        "Local authority".to_string(),
        la_code.to_string(),
    ]
    .into_iter()
    .chain(columns.iter().map(|(_, v)| v.to_string()))
    .collect::<Vec<_>>()
    .join(",");
    format!("{header}\n{row}\n")
}
