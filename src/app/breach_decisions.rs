//! Decisions on threshold breaches: an officer records one (no action, a
//! notice_request to prosecution, another measure), or issuing a notice closes the
//! breach its sessions belong to. Either way the breach becomes a case and its
//! sessions are consumed (see `domain::breach`).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::breach_search::{BreachSearch, FoundBreach, with_coverage};
use super::idempotency::UseCase;
use super::policy::policy_in_force;
use super::{App, Caller, Read, RequestId, ServiceError, ServiceResult};
use crate::domain::{
    RuleViolation,
    access::Operation,
    breach::{BreachState, DecidedBreach, Decision, closed_by_notice},
    identifiers::{LaCode, Upn},
    names,
    notice::Notice,
};
use crate::store::{DecidedBreachFilter, NewAuditEvent, StoreError, StoreTx};

const RECORD_DECISION: UseCase = UseCase::RecordBreachDecision;

/// What a retried decision answers with: the case it created.
#[derive(Serialize, Deserialize)]
struct Decided {
    breach_id: i64,
}

impl App {
    /// Records the decision on the pupil's pending breach on `as_of`.
    pub async fn record_breach_decision(
        &self,
        caller: Caller,
        request: RequestId,
        decision: Read<((Upn, NaiveDate), Decision)>,
    ) -> ServiceResult<FoundBreach> {
        caller.check_allowed(Operation::DecideBreach)?;
        let ((upn, as_of), decision) = decision?;
        self.write(move |app, mut tx| async move {
            let result = async {
                let mut found = app
                    .record_decision_in(&mut *tx, &caller, &request, (&upn, as_of), decision)
                    .await?;
                // The pupil's SEN status on the date, as a listing of that date gives it.
                found.sen_provision =
                    super::sen::statuses_on(&mut *tx, &caller.authority, [upn.to_string()], as_of)
                        .await?
                        .remove(upn.as_str());
                Ok(found)
            }
            .await;
            (tx, result)
        })
        .await
    }

    async fn record_decision_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request: &RequestId,
        (upn, as_of): (&Upn, NaiveDate),
        decision: Decision,
    ) -> ServiceResult<FoundBreach> {
        let authority = &caller.authority;
        if let Some(kept) = request
            .claim::<Decided>(tx, authority, RECORD_DECISION, self.now())
            .await?
        {
            return decided_breach_named(tx, authority, upn.as_str(), kept.breach_id).await;
        }
        // Decisions and issues for one pupil are decided one after another.
        tx.lock_pupil(authority, upn).await?;
        let pending = pending_breach(tx, authority, upn, as_of)
            .await?
            .ok_or_else(|| {
                RuleViolation::new(
                    "NO_PENDING_BREACH",
                    "upn".to_string(),
                    format!(
                        "the pupil has no pending breach on {as_of}: their qualifying sessions \
                     after their latest decided breach do not reach the threshold"
                    ),
                )
            })?;
        let decided = self
            .store_decided_breach(tx, caller, &request.id, pending, decision)
            .await?;
        request
            .complete(
                tx,
                authority,
                RECORD_DECISION,
                &Decided {
                    breach_id: decided.breach_id,
                },
            )
            .await?;
        found_of(tx, authority, decided).await
    }

    /// Numbers and stores a case, with its audit event.
    async fn store_decided_breach(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request_id: &str,
        pending: FoundBreach,
        decision: Decision,
    ) -> ServiceResult<DecidedBreach> {
        let authority = &caller.authority;
        let decided = DecidedBreach {
            breach_id: tx.next_serial(authority, "breach-case").await?,
            upn: pending.upn,
            school_urn: pending.school_urn,
            as_of: pending.as_of,
            breach: pending.breach,
            policy_version: pending.policy_version,
            decision,
            decided_at: self.now(),
            decided_by: caller.actor.clone(),
        };
        tx.insert_decided_breach(authority, &decided, request_id)
            .await?;
        let sessions: Vec<String> = decided
            .breach
            .sessions
            .iter()
            .map(|m| format!("{} {}", m.date, m.session.as_str()))
            .collect();
        tx.append_audit(&NewAuditEvent {
            authority,
            at: decided.decided_at,
            actor: &caller.actor,
            action: "breach.decision_recorded",
            resource: &names::breach_name(authority, decided.breach_id),
            request_id,
            details: serde_json::json!({
                "upn": decided.upn,
                "school_urn": decided.school_urn,
                "as_of_date": decided.as_of,
                "state": decided.decision.state.as_str(),
                "no_action_reason": decided.decision.reason.map(|r| r.as_str()),
                "note": decided.decision.note,
                "notice_numbers": decided.decision.notice_numbers,
                "sessions": sessions,
                "policy_version": decided.policy_version,
            }),
        })
        .await?;
        Ok(decided)
    }

    /// Issuing closes the breach: the pupil's pending breach (on the issue
    /// date, else on the date of the last session the notices cite) whose
    /// sessions the notices cite is recorded as closed by them, up to the last
    /// session they cite. Runs in the issuing unit of work, after the notices
    /// are stored; notices citing no session of a pending breach close nothing.
    pub(super) async fn close_breach_by_notices(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request_id: &str,
        notices: &[Notice],
    ) -> ServiceResult<Option<DecidedBreach>> {
        let Some(first) = notices.first() else {
            return Ok(None);
        };
        let cited: Vec<(NaiveDate, crate::domain::notice::Session)> =
            first.sessions.iter().map(|s| (s.date, s.session)).collect();
        let Some(&(last_cited, _)) = cited.iter().max() else {
            return Ok(None);
        };
        let authority = &caller.authority;
        let upn = &first.pupil.upn;
        tx.lock_pupil(authority, upn).await?;
        for as_of in [first.issue_date, last_cited] {
            let Some(pending) = pending_breach(tx, authority, upn, as_of).await? else {
                continue;
            };
            let Some(closed) = closed_by_notice(&pending.breach, &cited) else {
                continue;
            };
            let decision = Decision {
                state: BreachState::issued(first.kind),
                reason: None,
                note: String::new(),
                notice_numbers: notices.iter().map(|n| n.notice_number.clone()).collect(),
            };
            let pending = FoundBreach {
                breach: closed,
                ..pending
            };
            let decided = self
                .store_decided_breach(tx, caller, request_id, pending, decision)
                .await?;
            return Ok(Some(decided));
        }
        Ok(None)
    }
}

/// The pupil's pending breach on `as_of`, under the policy in force that day.
async fn pending_breach(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    upn: &Upn,
    as_of: NaiveDate,
) -> ServiceResult<Option<FoundBreach>> {
    let (policy, policy_name) = policy_in_force(tx, authority, as_of).await?;
    let search = BreachSearch {
        authority,
        school: None,
        as_of,
        threshold: &policy.rules.threshold,
        policy_name: &policy_name,
    };
    search.pending_of(tx, upn.as_str()).await
}

async fn found_of(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    decided: DecidedBreach,
) -> ServiceResult<FoundBreach> {
    let mut found = with_coverage(tx, authority, vec![FoundBreach::of_decided(decided)]).await?;
    found
        .pop()
        .ok_or_else(|| ServiceError::Internal("a decided breach vanished".into()))
}

/// A case a first request created, for its retry.
async fn decided_breach_named(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    upn: &str,
    breach_id: i64,
) -> ServiceResult<FoundBreach> {
    let cases = tx
        .decided_breaches(
            authority,
            &DecidedBreachFilter {
                after: (upn, breach_id - 1),
                upn: Some(upn),
                school: None,
                last_session_from: NaiveDate::from_ymd_opt(1900, 1, 1).expect("a date"),
                last_session_to: NaiveDate::from_ymd_opt(9999, 12, 31).expect("a date"),
                states: &BreachState::decided(),
                limit: 1,
            },
        )
        .await?;
    let decided = cases
        .into_iter()
        .find(|c| c.breach_id == breach_id)
        .ok_or_else(|| StoreError::Corrupt(format!("breach decided {breach_id} vanished")))?;
    found_of(tx, authority, decided).await
}
