//! ReportService messages ⇄ the domain's statutory return.

use chrono::NaiveDate;

use super::{date_to_proto, optional_date};
use crate::api::convert::measures::section_to_proto;
use crate::api::convert::policy::offence_reason_to_proto;
use crate::api::error::Violations;
use crate::app::ServiceResult;
use crate::domain::{
    names,
    report::{
        Counts, ProsecutionCounts, StatutoryReturn, WithdrawnCounts, academic_year_label,
        collection,
    },
};
use crate::proto::v1 as pb;

/// A GetStatutoryReturn request: the academic year and the as-of date.
pub(crate) fn return_request(
    req: &pb::GetStatutoryReturnRequest,
) -> ServiceResult<(i32, Option<NaiveDate>)> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    let as_of = v.check(optional_date("as_of_date", req.as_of_date.as_ref()));
    if !(2004..=2999).contains(&req.academic_year_start) {
        v.push(crate::domain::FieldViolation::new(
            "academic_year_start",
            "a year from 2004 (penalty notices exist from 2004)",
        ));
    }
    let as_of = v.finish(as_of)?;
    Ok((req.academic_year_start, as_of))
}

impl From<Counts> for pb::PenaltyNoticeCounts {
    fn from(c: Counts) -> Self {
        pb::PenaltyNoticeCounts {
            issued: c.issued,
            paid_within_21_days: c.paid_within_21_days,
            paid_within_28_days: c.paid_within_28_days,
            withdrawn: c.withdrawn,
            prosecuted: c.prosecuted,
            other_or_outstanding: c.other_or_outstanding,
            paid_on_days_22_to_28: c.paid_on_days_22_to_28,
        }
    }
}

impl From<WithdrawnCounts> for pb::WithdrawnReasonCounts {
    fn from(c: WithdrawnCounts) -> Self {
        pb::WithdrawnReasonCounts {
            conduct: c.conduct,
            wrong_issue: c.wrong_issue,
            material_error: c.material_error,
            expiry_no_legal: c.expiry_no_legal,
        }
    }
}

impl From<ProsecutionCounts> for pb::ProsecutionCounts {
    fn from(c: ProsecutionCounts) -> Self {
        pb::ProsecutionCounts {
            referred: c.referred,
            fine: c.fine,
            conditional_discharge: c.conditional_discharge,
            withdrawn: c.withdrawn,
            dismissed: c.dismissed,
            discontinued: c.discontinued,
            awaiting_outcome: c.awaiting_outcome,
        }
    }
}

pub(crate) fn return_to_proto(
    la_code: &str,
    r: &StatutoryReturn,
    by_sen: &crate::domain::sen::ReturnBySenStatus,
) -> pb::GetStatutoryReturnResponse {
    let m = &r.measures;
    pb::GetStatutoryReturnResponse {
        la_code: la_code.to_string(),
        academic_year: academic_year_label(r.year_start),
        totals: Some(r.totals.into()),
        by_reason: r
            .by_reason
            .iter()
            .map(|(reason, counts)| pb::ReasonCounts {
                reason: offence_reason_to_proto(*reason) as i32,
                counts: Some((*counts).into()),
            })
            .collect(),
        notices_to_improve_issued: r.notices_to_improve_issued,
        as_of_date: Some(date_to_proto(r.as_of)),
        withdrawn_by_reason: Some(r.withdrawn_by_reason.into()),
        prosecutions: Some(m.prosecutions.into()),
        prosecutions_by_section: m
            .prosecutions_by_section
            .iter()
            .map(|(section, counts)| pb::SectionProsecutionCounts {
                section: section_to_proto(*section) as i32,
                counts: Some((*counts).into()),
            })
            .collect(),
        attendance_contracts_offered: m.contracts_offered,
        attendance_contracts_accepted: m.contracts_accepted,
        parenting_orders_granted: m.parenting_orders_granted,
        education_supervision_orders_made: m.supervision_orders_made,
        education_supervision_orders_in_place_of_prosecution: m
            .supervision_orders_in_place_of_prosecution,
        education_supervision_orders_in_addition_to_prosecution: m
            .supervision_orders_in_addition_to_prosecution,
        csv: collection::csv(la_code, r, by_sen),
        // The SEN breakdown (fields 20-29) is its own message, beside the rest.
        by_sen_status: Some(return_by_sen_to_proto(by_sen)),
    }
}

/// The return's breakdown by SEN status (GetStatutoryReturnResponse.by_sen_status).
fn return_by_sen_to_proto(
    r: &crate::domain::sen::ReturnBySenStatus,
) -> pb::StatutoryReturnBySenStatus {
    pb::StatutoryReturnBySenStatus {
        penalty_notices_issued: Some(super::sen_counts_to_proto(&r.penalty_notices_issued)),
        notices_to_improve_issued: Some(super::sen_counts_to_proto(&r.notices_to_improve_issued)),
    }
}
