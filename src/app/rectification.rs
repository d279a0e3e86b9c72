//! Rectification (UK GDPR Article 16): correcting a pupil's or a parent's
//! personal details on every notice that holds them, keeping what each held
//! before (see `domain::rectification`).

use serde::{Deserialize, Serialize};

use super::idempotency::UseCase;
use super::{App, Caller, Read, RequestId, ServiceError, ServiceResult};
use crate::domain::{
    access::Operation,
    access_log::SubjectKind,
    names,
    rectification::{PersonalDetails, Rectification, RectificationRequest},
};
use crate::store::{NewAuditEvent, StoreError, StoreTx};

const RECTIFY: UseCase = UseCase::RectifyPersonalDetails;

/// What a retried rectification answers with: it reads back the rows its
/// request id made.
#[derive(Serialize, Deserialize)]
struct Rectified {
    count: usize,
}

/// What NOT_FOUND says when no notice names the subject: not the UPN or
/// person id (no personal value in an error).
fn nobody(authority: &crate::domain::identifiers::LaCode, kind: SubjectKind) -> String {
    format!(
        "no notice of {} names the {} given",
        names::authority_name(authority),
        kind.as_str()
    )
}

impl App {
    /// Corrects the details of the pupil or parent of `asked` on every notice
    /// of the caller's authority naming them, in one unit of work: each notice
    /// whose details differ is locked, written over, its previous details kept
    /// as a rectification and an audit event `notice.rectified` appended (the
    /// names of the fields changed and the reason, no values). Notices already
    /// holding the corrected details are left alone; `NOT_FOUND` when no notice
    /// names the subject. Returns the rectifications made, by notice number.
    pub async fn rectify_personal_details(
        &self,
        caller: Caller,
        request: RequestId,
        asked: Read<RectificationRequest>,
    ) -> ServiceResult<Vec<Rectification>> {
        caller.check_allowed(Operation::RectifyPersonalData)?;
        let asked = asked?;
        self.write(move |app, mut tx| async move {
            let result = app.rectify_in(&mut *tx, &caller, &request, asked).await;
            (tx, result)
        })
        .await
    }

    async fn rectify_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request: &RequestId,
        asked: RectificationRequest,
    ) -> ServiceResult<Vec<Rectification>> {
        let authority = &caller.authority;
        let now = self.now();
        if request
            .claim::<Rectified>(tx, authority, RECTIFY, now)
            .await?
            .is_some()
        {
            return Ok(tx.rectifications_of_request(authority, &request.id).await?);
        }
        let (kind, key) = (asked.subject_kind, asked.subject_key.as_str());
        let numbers = tx.notices_naming(authority, kind, key).await?;
        if numbers.is_empty() {
            return Err(ServiceError::NotFound(nobody(authority, kind)));
        }
        let mut done = Vec::new();
        for number in numbers {
            let notice = tx
                .notice_for_update(authority, &number)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("notice {number} vanished")))?;
            let previous = PersonalDetails::on_notice(&notice, kind);
            let changed = previous.changed_fields(&asked.corrected);
            if changed.is_empty() {
                continue;
            }
            let mut rectification = Rectification {
                notice_number: number.clone(),
                sequence: 0,
                subject_kind: kind,
                subject_key: key.to_string(),
                previous,
                corrected: asked.corrected.clone(),
                reason: asked.reason.clone(),
                at: now,
                by: caller.actor.clone(),
                request_id: request.id.clone(),
            };
            rectification.sequence = tx.rectify_notice(authority, &rectification).await?;
            tx.append_audit(&NewAuditEvent {
                authority,
                at: now,
                actor: &caller.actor,
                action: "notice.rectified",
                resource: &names::notice_name(authority, &number),
                request_id: &request.id,
                details: serde_json::json!({
                    "subject_kind": kind.as_str(),
                    "sequence": rectification.sequence,
                    "fields": changed,
                    "reason": asked.reason,
                }),
            })
            .await?;
            done.push(rectification);
        }
        request
            .complete(tx, authority, RECTIFY, &Rectified { count: done.len() })
            .await?;
        Ok(done)
    }
}
