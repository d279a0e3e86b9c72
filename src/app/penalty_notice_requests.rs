//! Schools' requests to the authority for penalty notices: a school requests
//! within the local deadline, an officer issues from the request or declines it.

use serde::{Deserialize, Serialize};

use super::data_protection::{record_reads, returned};
use super::idempotency::UseCase;
use super::policy::policy_in_force;
use super::{App, Caller, Read, RequestId, ServiceError, ServiceResult};
use crate::domain::{
    RuleViolation,
    access::Operation,
    access_log::Accessed,
    identifiers::{LaCode, Upn, Urn},
    names,
    notice::Notice,
    penalty_notice_request::{
        self, PenaltyNoticeRequest, PenaltyNoticeRequestDraft, PenaltyNoticeRequestState,
    },
};
use crate::store::{NewAuditEvent, StoreError, StoreTx};

const REQUEST: UseCase = UseCase::RequestPenaltyNotice;
const DECLINE: UseCase = UseCase::DeclinePenaltyNoticeRequest;

/// What a retried request or decline answers with: the request it made or changed.
#[derive(Serialize, Deserialize)]
struct Kept {
    number: i64,
}

async fn penalty_notice_request_in(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    number: i64,
) -> ServiceResult<PenaltyNoticeRequest> {
    tx.penalty_notice_request(authority, number)
        .await?
        .ok_or_else(|| {
            ServiceError::NotFound(names::penalty_notice_request_name(authority, number))
        })
}

fn not_pending(authority: &LaCode, r: &PenaltyNoticeRequest) -> ServiceError {
    RuleViolation::new(
        "REQUEST_NOT_PENDING",
        names::penalty_notice_request_name(authority, r.number),
        format!("the request is already {}", r.state.as_str()),
    )
    .into()
}

async fn audit(
    tx: &mut dyn StoreTx,
    caller: &Caller,
    request_id: &str,
    action: &str,
    r: &PenaltyNoticeRequest,
    at: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<()> {
    let authority = &caller.authority;
    tx.append_audit(&NewAuditEvent {
        authority,
        at,
        actor: &caller.actor,
        action,
        resource: &names::penalty_notice_request_name(authority, r.number),
        request_id,
        details: serde_json::json!({
            "upn": r.draft.upn,
            "school_urn": r.draft.school_urn,
            "state": r.state.as_str(),
            "sessions": r.draft.sessions.len(),
            "school_days_elapsed": r.school_days_elapsed,
            "deadline_school_days": r.deadline_school_days,
            "decline_reason": r.decline_reason,
            "notice_numbers": r.notice_numbers,
        }),
    })
    .await?;
    Ok(())
}

/// The pupil's return after the claim's `last` session as the registers held
/// show it, and the school days at `school` from the return (day 1) to
/// `today` (0 before the return).
pub(super) async fn request_clock(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    upn: &str,
    school: &str,
    last: chrono::NaiveDate,
    today: chrono::NaiveDate,
) -> ServiceResult<(Option<chrono::NaiveDate>, i64)> {
    let upn = Upn::parse(upn).map_err(|e| crate::domain::FieldViolation::new("upn", e))?;
    let Some(from) = last.succ_opt() else {
        return Ok((None, 0));
    };
    let marks: Vec<_> = tx
        .pupil_marks(authority, &upn, from, today)
        .await?
        .into_iter()
        .map(|m| m.mark)
        .collect();
    let Some(returned) = penalty_notice_request::return_day(last, &marks) else {
        return Ok((None, 0));
    };
    let day_before = returned.pred_opt().unwrap_or(returned);
    let elapsed = tx.school_days(authority, school, day_before, today).await?;
    Ok((Some(returned), elapsed))
}

/// A page of requests asked for: (state, school) filters, after which number, how many.
pub type RequestListing = ((Option<PenaltyNoticeRequestState>, Option<Urn>), i64, i64);

impl App {
    /// A school asks for a penalty notice, within the local deadline.
    pub async fn request_penalty_notice(
        &self,
        caller: Caller,
        request: RequestId,
        draft: Read<PenaltyNoticeRequestDraft>,
    ) -> ServiceResult<PenaltyNoticeRequest> {
        caller.check_allowed(Operation::RequestPenaltyNotice)?;
        let draft = draft?;
        let school = Urn::parse(&draft.school_urn)
            .map_err(|e| crate::domain::FieldViolation::new("school_urn", e))?;
        if !caller.covers_school(&school) {
            return Err(ServiceError::PermissionDenied(format!(
                "school {school} is not one of the caller's schools"
            )));
        }
        self.write(move |app, mut tx| async move {
            let result = app.request_in(&mut *tx, &caller, &request, draft).await;
            (tx, result)
        })
        .await
    }

    async fn request_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request: &RequestId,
        draft: PenaltyNoticeRequestDraft,
    ) -> ServiceResult<PenaltyNoticeRequest> {
        let authority = &caller.authority;
        if let Some(kept) = request
            .claim::<Kept>(tx, authority, REQUEST, self.now())
            .await?
        {
            return penalty_notice_request_in(tx, authority, kept.number).await;
        }
        let today = self.today();
        let (policy, _) = policy_in_force(tx, authority, today).await?;
        if !policy.rules.school_requests_accepted {
            return Err(RuleViolation::new(
                "SCHOOL_REQUESTS_NOT_ACCEPTED",
                names::authority_name(authority),
                "the local code of conduct in force takes no requests for penalty notices from schools",
            )
            .into());
        }
        let deadline = policy.rules.request_deadline_school_days;
        let last = penalty_notice_request::last_session(&draft.sessions)
            .ok_or_else(|| ServiceError::Internal("a request without sessions".into()))?;
        let (returned, elapsed) =
            request_clock(tx, authority, &draft.upn, &draft.school_urn, last, today).await?;
        penalty_notice_request::check_request_deadline(
            deadline,
            returned,
            elapsed,
            &draft.school_urn,
        )?;
        let r = PenaltyNoticeRequest {
            number: tx.next_serial(authority, "penalty-notice-request").await?,
            draft,
            state: PenaltyNoticeRequestState::Pending,
            requested_by: caller.actor.clone(),
            requested_at: self.now(),
            school_days_elapsed: i32::try_from(elapsed).unwrap_or(i32::MAX),
            deadline_school_days: deadline,
            decline_reason: String::new(),
            notice_numbers: vec![],
        };
        tx.insert_penalty_notice_request(authority, &r, &request.id)
            .await?;
        audit(
            tx,
            caller,
            &request.id,
            "penalty_notice_request.created",
            &r,
            r.requested_at,
        )
        .await?;
        request
            .complete(tx, authority, REQUEST, &Kept { number: r.number })
            .await?;
        Ok(r)
    }

    /// The authority's requests, by number after `after`.
    pub async fn penalty_notice_requests(
        &self,
        caller: Caller,
        page: Read<RequestListing>,
    ) -> ServiceResult<Vec<PenaltyNoticeRequest>> {
        caller.check_allowed(Operation::ReviewPenaltyNoticeRequests)?;
        let ((state, school), after, limit) = page?;
        self.read_replica(move |app, mut tx| async move {
            let result = async {
                let requests = tx
                    .penalty_notice_requests(
                        &caller.authority,
                        state,
                        school.as_ref().map(Urn::as_str),
                        after,
                        limit,
                    )
                    .await?;
                let accessed = returned(&requests, limit)
                    .iter()
                    .flat_map(|r| {
                        let name = names::penalty_notice_request_name(&caller.authority, r.number);
                        let parents = r
                            .draft
                            .parent_person_ids
                            .iter()
                            .map(|p| Accessed::parent(p, &name))
                            .collect::<Vec<_>>();
                        parents
                            .into_iter()
                            .chain([Accessed::pupil(&r.draft.upn, &name)])
                    })
                    .collect();
                let at = app.now();
                record_reads(&mut *tx, &caller, at, "ListPenaltyNoticeRequests", accessed).await?;
                Ok::<_, ServiceError>(requests)
            }
            .await;
            (tx, result)
        })
        .await
    }

    /// Declines a pending request with a reason.
    pub async fn decline_penalty_notice_request(
        &self,
        caller: Caller,
        request: RequestId,
        decline: Read<(i64, String)>,
    ) -> ServiceResult<PenaltyNoticeRequest> {
        caller.check_allowed(Operation::ReviewPenaltyNoticeRequests)?;
        let (number, reason) = decline?;
        self.write(move |app, mut tx| async move {
            let result = app
                .decline_in(&mut *tx, &caller, &request, number, reason)
                .await;
            (tx, result)
        })
        .await
    }

    async fn decline_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request: &RequestId,
        number: i64,
        reason: String,
    ) -> ServiceResult<PenaltyNoticeRequest> {
        let authority = &caller.authority;
        if let Some(kept) = request
            .claim::<Kept>(tx, authority, DECLINE, self.now())
            .await?
        {
            return penalty_notice_request_in(tx, authority, kept.number).await;
        }
        let r = penalty_notice_request_in(tx, authority, number).await?;
        if r.state != PenaltyNoticeRequestState::Pending
            || !tx
                .settle_penalty_notice_request(
                    authority,
                    number,
                    PenaltyNoticeRequestState::Declined,
                    &reason,
                    &[],
                    self.now(),
                )
                .await?
        {
            return Err(not_pending(authority, &r));
        }
        let r = PenaltyNoticeRequest {
            state: PenaltyNoticeRequestState::Declined,
            decline_reason: reason,
            ..r
        };
        audit(
            tx,
            caller,
            &request.id,
            "penalty_notice_request.declined",
            &r,
            self.now(),
        )
        .await?;
        request
            .complete(tx, authority, DECLINE, &Kept { number })
            .await?;
        Ok(r)
    }

    /// Before issuing from a request: it must be pending and for the pupil.
    pub(super) async fn check_issuable_penalty_notice_request(
        &self,
        tx: &mut dyn StoreTx,
        authority: &LaCode,
        number: i64,
        upn: &str,
    ) -> ServiceResult<()> {
        let r = penalty_notice_request_in(tx, authority, number).await?;
        if r.state != PenaltyNoticeRequestState::Pending {
            return Err(not_pending(authority, &r));
        }
        if r.draft.upn != upn {
            return Err(RuleViolation::new(
                "REQUEST_FOR_ANOTHER_PUPIL",
                names::penalty_notice_request_name(authority, number),
                "the request is for another pupil than the one this notice names".to_string(),
            )
            .into());
        }
        Ok(())
    }

    /// After issuing from a request: it is issued, with the notices.
    pub(super) async fn settle_issued_penalty_notice_request(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request_id: &str,
        number: i64,
        notices: &[Notice],
    ) -> ServiceResult<()> {
        let authority = &caller.authority;
        let numbers: Vec<String> = notices.iter().map(|n| n.notice_number.clone()).collect();
        let r = penalty_notice_request_in(tx, authority, number).await?;
        if !tx
            .settle_penalty_notice_request(
                authority,
                number,
                PenaltyNoticeRequestState::Issued,
                "",
                &numbers,
                self.now(),
            )
            .await?
        {
            return Err(
                StoreError::Corrupt(format!("request {number} changed while issuing")).into(),
            );
        }
        let r = PenaltyNoticeRequest {
            state: PenaltyNoticeRequestState::Issued,
            notice_numbers: numbers,
            ..r
        };
        audit(
            tx,
            caller,
            request_id,
            "penalty_notice_request.issued",
            &r,
            self.now(),
        )
        .await
    }
}
