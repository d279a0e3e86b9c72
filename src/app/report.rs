//! Returns to the Department for Education.

use chrono::NaiveDate;

use super::{App, Caller, Read, ServiceError, ServiceResult};
use crate::domain::{
    FieldViolation,
    access::Operation,
    measures::RecordedCaseEvent,
    notice::Notice,
    report::{self, CaseHistory, StatutoryReturn},
    sen::{self, ReturnBySenStatus},
};
use crate::store::NoticeFilter;

/// Notices (or cases) read per query while gathering a year.
const BATCH: i64 = 500;

impl App {
    /// The statutory return of the caller's authority for the academic year
    /// starting in `year_start`, as of `as_of` (default: today), with its
    /// notices broken down by SEN status (`sen::return_by_sen_status`), from
    /// the same read.
    pub async fn statutory_return_with_sen(
        &self,
        caller: Caller,
        asked: Read<(i32, Option<NaiveDate>)>,
    ) -> ServiceResult<(StatutoryReturn, ReturnBySenStatus)> {
        caller.check_allowed(Operation::ReadStatutoryReturn)?;
        let (year_start, as_of) = asked?;
        let Some((first, last)) = report::academic_year(year_start) else {
            return Err(FieldViolation::new(
                "academic_year_start",
                "not a year the calendar holds",
            )
            .into());
        };
        let as_of = as_of.unwrap_or_else(|| self.today());
        let today = self.today();
        // The cases: every one opened from the first day of the year to the
        // later of its last day and `as_of`, so the prosecutions following the
        // year's notices (opened after them, perhaps after the year) are among
        // them; each count's function picks its own.
        let cases_to = last.max(as_of);
        let (notices, cases) = self
            .read_replica(move |_, mut tx| async move {
                let result = async {
                    let mut notices: Vec<Notice> = Vec::new();
                    let mut after = None;
                    loop {
                        let filter = NoticeFilter {
                            issued_from: Some(first),
                            issued_to: Some(last),
                            ..Default::default()
                        };
                        let page = tx
                            .list_notices(&caller.authority, &filter, today, after.clone(), BATCH)
                            .await?;
                        after = page.last().map(|n| (n.issue_date, n.notice_number.clone()));
                        let full = page.len() as i64 == BATCH;
                        notices.extend(page);
                        if !full {
                            break;
                        }
                    }
                    let mut cases: Vec<CaseHistory> = Vec::new();
                    let mut after = 0;
                    loop {
                        let page = tx
                            .cases_opened_between(&caller.authority, first, cases_to, after, BATCH)
                            .await?;
                        let (Some(lo), Some(hi)) = (page.first(), page.last()) else {
                            break;
                        };
                        let (lo, hi) = (lo.number, hi.number);
                        let mut events: std::collections::HashMap<i64, Vec<RecordedCaseEvent>> =
                            std::collections::HashMap::new();
                        for (number, event) in tx.events_of_cases(&caller.authority, lo, hi).await?
                        {
                            events.entry(number).or_default().push(event);
                        }
                        after = hi;
                        let full = page.len() as i64 == BATCH;
                        cases.extend(page.into_iter().map(|case| CaseHistory {
                            events: events.remove(&case.number).unwrap_or_default(),
                            case,
                        }));
                        if !full {
                            break;
                        }
                    }
                    Ok::<_, ServiceError>((notices, cases))
                }
                .await;
                (tx, result)
            })
            .await?;
        let by_sen = sen::return_by_sen_status(&notices, year_start, as_of);
        Ok((
            report::statutory_return(&notices, &cases, year_start, as_of),
            by_sen,
        ))
    }
}
