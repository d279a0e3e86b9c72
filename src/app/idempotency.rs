//! AIP-155 request ids: a retry with the same id and the same request gets the
//! result of the first; the same id with another request is `ALREADY_EXISTS`.
//!
//! The claim, the change and its audit event commit in one unit of work. What is
//! kept for a retry is what the first call created or changed (notice numbers, a
//! payment id, a policy version's date), and a retry answers with those resources
//! as they stand now.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Serialize, de::DeserializeOwned};

use super::error::{ServiceError, ServiceResult};
use crate::domain::identifiers::LaCode;
use crate::store::{RequestKey, StoreError, StoreTx};

/// The use cases that keep their request ids, each under a name of its own so
/// one id cannot be replayed against another use case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UseCase {
    CreatePolicyVersion,
    CreateAuthoritySettings,
    RecordMarks,
    RecordBreachDecision,
    IssueNoticeToImprove,
    IssuePenaltyNotice,
    WithdrawNotice,
    RecordProsecutionOutcome,
    RequestPenaltyNotice,
    DeclinePenaltyNoticeRequest,
    AllocatePayment,
    ImportSchools,
    OpenCase,
    RecordCaseEvent,
    CreateSharingAgreementVersion,
    CreateRetentionPolicyVersion,
    RectifyPersonalDetails,
}

impl UseCase {
    /// The name its request ids are kept under (`idempotency_keys.method`;
    /// migration 0018 renamed the gRPC paths kept before).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            UseCase::CreatePolicyVersion => "create_policy_version",
            UseCase::CreateAuthoritySettings => "create_authority_settings",
            UseCase::RecordMarks => "record_marks",
            UseCase::RecordBreachDecision => "record_breach_decision",
            UseCase::IssueNoticeToImprove => "issue_notice_to_improve",
            UseCase::IssuePenaltyNotice => "issue_penalty_notice",
            UseCase::WithdrawNotice => "withdraw_notice",
            UseCase::RecordProsecutionOutcome => "record_prosecution_outcome",
            UseCase::RequestPenaltyNotice => "request_penalty_notice",
            UseCase::DeclinePenaltyNoticeRequest => "decline_penalty_notice_request",
            UseCase::AllocatePayment => "allocate_payment",
            UseCase::ImportSchools => "import_schools",
            UseCase::OpenCase => "open_case",
            UseCase::RecordCaseEvent => "record_case_event",
            UseCase::CreateSharingAgreementVersion => "create_sharing_agreement_version",
            UseCase::CreateRetentionPolicyVersion => "create_retention_policy_version",
            UseCase::RectifyPersonalDetails => "rectify_personal_details",
        }
    }
}

/// A mutation's request id, with a fingerprint of the whole request as sent
/// (the transport computes it: equal requests, equal fingerprints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId {
    pub id: String,
    pub fingerprint: String,
}

impl RequestId {
    fn key<'a>(&'a self, authority: &'a LaCode, use_case: UseCase) -> RequestKey<'a> {
        RequestKey {
            authority,
            request_id: &self.id,
            method: use_case.as_str(),
            fingerprint: &self.fingerprint,
        }
    }

    /// Claims the id in `tx` for `use_case`. `None`: the id is new and now held by
    /// this unit of work. `Some`: what the first request with this id kept.
    pub(crate) async fn claim<R: DeserializeOwned>(
        &self,
        tx: &mut dyn StoreTx,
        authority: &LaCode,
        use_case: UseCase,
        at: DateTime<Utc>,
    ) -> ServiceResult<Option<R>> {
        let Some(earlier) = tx.claim_request(&self.key(authority, use_case), at).await? else {
            return Ok(None);
        };
        if earlier.method == use_case.as_str() && earlier.fingerprint == self.fingerprint {
            let kept = serde_json::from_slice(&earlier.response).map_err(|e| {
                StoreError::Corrupt(format!("kept result of {}: {e}", use_case.as_str()))
            })?;
            return Ok(Some(kept));
        }
        Err(ServiceError::AlreadyExists {
            message: format!(
                "request_id '{}' was already used for a different request",
                self.id
            ),
            reason: "REQUEST_ID_REUSED",
            metadata: HashMap::from([
                ("request_id".to_string(), self.id.clone()),
                ("method".to_string(), earlier.method),
            ]),
        })
    }

    /// Keeps `result` for retries, in the same unit of work as the change.
    pub(crate) async fn complete<R: Serialize>(
        &self,
        tx: &mut dyn StoreTx,
        authority: &LaCode,
        use_case: UseCase,
        result: &R,
    ) -> ServiceResult<()> {
        let kept = serde_json::to_vec(result)
            .map_err(|e| ServiceError::Internal(format!("keeping a result: {e}")))?;
        tx.complete_request(&self.key(authority, use_case), &kept)
            .await?;
        Ok(())
    }
}
