//! Returns to the Department for Education.

use chrono::NaiveDate;

use super::{App, Caller, Read, ServiceError, ServiceResult};
use crate::domain::{
    FieldViolation,
    access::Operation,
    notice::Notice,
    report::{self, StatutoryReturn},
    sen::{self, ReturnBySenStatus},
};
use crate::store::NoticeFilter;

/// Notices read per query while gathering a year.
const BATCH: i64 = 500;

impl App {
    /// The statutory return of the caller's authority for the academic year
    /// starting in `year_start`, as of `as_of` (default: today).
    pub async fn statutory_return(
        &self,
        caller: Caller,
        asked: Read<(i32, Option<NaiveDate>)>,
    ) -> ServiceResult<StatutoryReturn> {
        Ok(self.statutory_return_with_sen(caller, asked).await?.0)
    }

    /// The statutory return, with its notices broken down by SEN status
    /// (`sen::return_by_sen_status`), from the same read.
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
        let notices = self
            .read(move |_, mut tx| async move {
                let mut notices: Vec<Notice> = Vec::new();
                let mut after = None;
                let result = loop {
                    let filter = NoticeFilter {
                        issued_from: Some(first),
                        issued_to: Some(last),
                        ..Default::default()
                    };
                    let page = match tx
                        .list_notices(&caller.authority, &filter, today, after.clone(), BATCH)
                        .await
                    {
                        Ok(page) => page,
                        Err(e) => break Err(ServiceError::from(e)),
                    };
                    after = page.last().map(|n| (n.issue_date, n.notice_number.clone()));
                    let full = page.len() as i64 == BATCH;
                    notices.extend(page);
                    if !full {
                        break Ok(notices);
                    }
                };
                (tx, result)
            })
            .await?;
        let by_sen = sen::return_by_sen_status(&notices, year_start, as_of);
        Ok((
            report::statutory_return(&notices, year_start, as_of),
            by_sen,
        ))
    }
}
