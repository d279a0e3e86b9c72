//! Sharing penalty notices between authorities for the limit per parent per
//! child: each authority's agreement (versioned, admins publish it), and the
//! look-up an issue makes of the authorities that share with it, audited in
//! both authorities' logs in one unit of work.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::idempotency::UseCase;
use super::{App, Caller, Read, RequestId, ServiceResult};
use crate::domain::{
    FieldViolation,
    access::Operation,
    identifiers::LaCode,
    issuing::Issue,
    names,
    notice::NoticeKind,
    sharing::{self, OtherAuthorityNotice, ParentMatch, SharingAgreementVersion},
};
use crate::store::{NewAuditEvent, StoreError, StoreTx};

const CREATE: UseCase = UseCase::CreateSharingAgreementVersion;

/// What a retried create answers with: the version it created.
#[derive(Serialize, Deserialize)]
struct Created {
    effective_from: NaiveDate,
}

async fn version_from(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    effective_from: NaiveDate,
) -> ServiceResult<SharingAgreementVersion> {
    tx.sharing_agreement_versions(authority)
        .await?
        .into_iter()
        .find(|v| v.effective_from == effective_from)
        .ok_or_else(|| {
            StoreError::Corrupt(format!("sharing agreement {effective_from} vanished")).into()
        })
}

impl App {
    /// Publishes a version of the caller's authority's sharing agreement.
    pub async fn create_sharing_agreement_version(
        &self,
        caller: Caller,
        request: RequestId,
        version: Read<(NaiveDate, Vec<LaCode>)>,
    ) -> ServiceResult<SharingAgreementVersion> {
        caller.check_allowed(Operation::ChangeSharingAgreements)?;
        let (effective_from, shares_with) = version?;
        if shares_with.contains(&caller.authority) {
            return Err(FieldViolation::new(
                "sharing_agreement_version.shares_with",
                "an authority does not share with itself",
            )
            .into());
        }
        self.write(move |app, mut tx| async move {
            let result = app
                .create_sharing_in(&mut *tx, &caller, &request, effective_from, shares_with)
                .await;
            (tx, result)
        })
        .await
    }

    async fn create_sharing_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request: &RequestId,
        effective_from: NaiveDate,
        shares_with: Vec<LaCode>,
    ) -> ServiceResult<SharingAgreementVersion> {
        let authority = &caller.authority;
        let now = self.now();
        if let Some(kept) = request.claim::<Created>(tx, authority, CREATE, now).await? {
            return version_from(tx, authority, kept.effective_from).await;
        }
        let version = SharingAgreementVersion {
            effective_from,
            shares_with,
            published_at: now,
            published_by: caller.actor.clone(),
        };
        match tx
            .insert_sharing_agreement_version(authority, &version)
            .await
        {
            Err(StoreError::Duplicate(_)) => {
                return Err(FieldViolation::new(
                    "sharing_agreement_version.effective_from",
                    format!(
                        "authority {authority} already has a sharing agreement effective from \
                         {effective_from}"
                    ),
                )
                .into());
            }
            other => other?,
        }
        tx.append_audit(&NewAuditEvent {
            authority,
            at: now,
            actor: &caller.actor,
            action: "sharing_agreement.created",
            resource: &names::sharing_agreement_name(authority, effective_from),
            request_id: &request.id,
            details: serde_json::json!({
                "effective_from": effective_from,
                "shares_with": version.shares_with.iter().map(LaCode::as_str).collect::<Vec<_>>(),
            }),
        })
        .await?;
        request
            .complete(tx, authority, CREATE, &Created { effective_from })
            .await?;
        Ok(version)
    }

    /// The caller's authority's sharing agreement in force on `on` (`None`:
    /// it shares with nobody).
    pub async fn sharing_agreement_on(
        &self,
        caller: Caller,
        on: Read<NaiveDate>,
    ) -> ServiceResult<Option<SharingAgreementVersion>> {
        caller.check_allowed(Operation::ReadPolicy)?;
        let on = on?;
        self.read(move |_, mut tx| async move {
            let result = tx
                .sharing_agreement_versions(&caller.authority)
                .await
                .map(|versions| sharing::in_force(&versions, on).cloned())
                .map_err(Into::into);
            (tx, result)
        })
        .await
    }

    /// Before a penalty notice is decided: the penalty notices to its parents
    /// for its pupil issued by the authorities that share with the caller's
    /// on the issue date (both agreements naming each other), matched (see
    /// `sharing::match_parent`). Its own unit of work, committed whatever the
    /// issue then decides, so every look-up stays on record: in the caller's
    /// audit log as `sharing.notices_looked_up` and in the other's as
    /// `sharing.notices_disclosed`, in the same transaction. The details hold
    /// authority codes, counts, dates and the other authority's own notice
    /// numbers, never a name or a UPN.
    pub(super) async fn look_up_other_authorities(
        &self,
        caller: &Caller,
        request_id: &str,
        issue: &Issue,
    ) -> ServiceResult<Vec<OtherAuthorityNotice>> {
        let (caller, request_id, issue) = (caller.clone(), request_id.to_string(), issue.clone());
        self.write(move |app, mut tx| async move {
            let result = app.look_up_in(&mut *tx, &caller, &request_id, &issue).await;
            (tx, result)
        })
        .await
    }

    async fn look_up_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request_id: &str,
        issue: &Issue,
    ) -> ServiceResult<Vec<OtherAuthorityNotice>> {
        let me = &caller.authority;
        let date = issue.issue_date;
        let mine = tx.sharing_agreement_versions(me).await?;
        let Some(version) = sharing::in_force(&mine, date).cloned() else {
            return Ok(vec![]);
        };
        let now = self.now();
        let mut found = Vec::new();
        for other in &version.shares_with {
            let theirs = tx.sharing_agreement_versions(other).await?;
            if !sharing::both_agree((me, &mine), (other, &theirs), date) {
                continue;
            }
            let notices = tx.pupil_notices(other, &issue.pupil.upn).await?;
            let mut disclosed: Vec<&str> = Vec::new();
            let (mut counted, mut doubtful) = (0, 0);
            for n in notices
                .iter()
                .filter(|n| n.kind == NoticeKind::PenaltyNotice && n.counts())
            {
                for parent in &issue.parents {
                    let is_match = match sharing::match_parent(parent, &n.parent) {
                        ParentMatch::Same => true,
                        ParentMatch::Doubtful => false,
                        ParentMatch::Different => continue,
                    };
                    if is_match {
                        counted += 1;
                    } else {
                        doubtful += 1;
                    }
                    if !disclosed.contains(&n.notice_number.as_str()) {
                        disclosed.push(&n.notice_number);
                    }
                    found.push(OtherAuthorityNotice {
                        person_id: parent.person_id.clone(),
                        la_code: other.to_string(),
                        issue_date: n.issue_date,
                        counted: is_match,
                    });
                }
            }
            tx.append_audit(&NewAuditEvent {
                authority: me,
                at: now,
                actor: &caller.actor,
                action: "sharing.notices_looked_up",
                resource: &names::authority_name(other),
                request_id,
                details: serde_json::json!({
                    "with": other.as_str(),
                    "issue_date": date,
                    "counted": counted,
                    "doubtful": doubtful,
                }),
            })
            .await?;
            tx.append_audit(&NewAuditEvent {
                authority: other,
                at: now,
                actor: &caller.actor,
                action: "sharing.notices_disclosed",
                resource: &names::authority_name(me),
                request_id,
                details: serde_json::json!({
                    "to": me.as_str(),
                    "issue_date": date,
                    "notices": disclosed,
                }),
            })
            .await?;
        }
        Ok(found)
    }
}
