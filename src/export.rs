//! The statutory return as the DfE collection takes it: CSV, one row per main
//! reason and one for all.

use crate::domain::report::{Counts, StatutoryReturn, academic_year_label};

const HEADER: [&str; 9] = [
    "la_code",
    "academic_year",
    "reason",
    "issued",
    "paid_within_21_days",
    "paid_within_28_days",
    "withdrawn",
    "prosecuted",
    "other_or_outstanding",
];

/// The figures as CSV text.
pub fn statutory_return_csv(la_code: &str, r: &StatutoryReturn) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(HEADER)?;
    let year = academic_year_label(r.year_start);
    let rows = r
        .by_reason
        .iter()
        .map(|(reason, counts)| (reason.as_str(), *counts))
        .chain(std::iter::once(("all", r.totals)));
    for (reason, c) in rows {
        let Counts {
            issued,
            paid_within_21_days,
            paid_within_28_days,
            withdrawn,
            prosecuted,
            other_or_outstanding,
        } = c;
        let figures = [
            issued,
            paid_within_21_days,
            paid_within_28_days,
            withdrawn,
            prosecuted,
            other_or_outstanding,
        ]
        .map(|n| n.to_string());
        out.write_record(
            [la_code, &year, reason]
                .into_iter()
                .chain(figures.iter().map(String::as_str)),
        )?;
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
