//! Notices to improve and penalty notices: issuing, their lifecycle, reading them.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::breach_search::{BreachSearch, FoundBreach};
use super::data_protection::{record_reads, recorded_purpose, returned};
use super::evidence::registers_of;
use super::idempotency::UseCase;
use super::payments::settle_notice;
use super::policy::policy_in_force;
use super::{App, Caller, Read, RequestId, ServiceError, ServiceResult};
use crate::domain::{
    RuleViolation,
    access::{self, Operation},
    access_log,
    identifiers::{LaCode, Urn},
    issuing::{self, BreachRef, Issue, NoticeToImproveRequest, PenaltyRequest, Registers},
    names,
    notice::{
        Notice, NoticeKind, NoticeStatus, Parent, ProsecutionOutcome, Pupil, SessionMark,
        Withdrawal,
    },
    policy::PolicyVersion,
    sharing::OtherAuthorityNotice,
};
use crate::store::{
    AuditEvent, AuditFilter, NewAuditEvent, NoticeFilter, ReadBy, StoreError, StoreTx,
};

const ISSUE_NTI: UseCase = UseCase::IssueNoticeToImprove;
const ISSUE_PENALTY: UseCase = UseCase::IssuePenaltyNotice;
const WITHDRAW: UseCase = UseCase::WithdrawNotice;
const PROSECUTION: UseCase = UseCase::RecordProsecutionOutcome;

/// What a retried issue answers with: the notices the first call created.
#[derive(Serialize, Deserialize)]
struct Issued {
    notices: Vec<String>,
}

/// What a retried lifecycle change answers with: the notice it changed.
#[derive(Serialize, Deserialize)]
struct Changed {
    notice: String,
}

/// A change to a notice's lifecycle.
#[derive(Debug, Clone)]
pub enum LifecycleChange {
    Withdraw(Withdrawal),
    Prosecute(ProsecutionOutcome),
}

impl LifecycleChange {
    fn use_case(&self) -> UseCase {
        match self {
            LifecycleChange::Withdraw(_) => WITHDRAW,
            LifecycleChange::Prosecute(_) => PROSECUTION,
        }
    }
}

/// Which notices a listing returns: every set field must match.
#[derive(Debug, Clone, Default)]
pub struct NoticeQuery {
    pub school_urn: Option<String>,
    pub upn: Option<String>,
    pub parent_person_id: Option<String>,
    pub kind: Option<NoticeKind>,
    /// Status today.
    pub status: Option<NoticeStatus>,
    pub issued_from: Option<NaiveDate>,
    pub issued_to: Option<NaiveDate>,
    /// The pupil's SEN status on the issue date.
    pub sen_provision: Option<crate::domain::sen::SenProvision>,
}

/// School staff issue only for pupils of their own schools.
fn check_school(caller: &Caller, pupil: &Pupil) -> ServiceResult<()> {
    if caller.covers_school(&pupil.school_urn) {
        Ok(())
    } else {
        Err(ServiceError::PermissionDenied(format!(
            "school {} is not one of the caller's schools",
            pupil.school_urn
        )))
    }
}

/// Issued notices, counted in the metrics.
fn counted(
    authority: &LaCode,
    kind: NoticeKind,
    issued: ServiceResult<Vec<Notice>>,
) -> ServiceResult<Vec<Notice>> {
    if let Ok(notices) = &issued {
        crate::server::metrics::metrics()
            .notices_issued
            .with_label_values(&[authority.as_str(), kind.as_str()])
            .inc_by(notices.len() as u64);
    }
    issued
}

/// Reads back the notices a first call created, for its retry.
async fn notices_named(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    numbers: &[String],
) -> ServiceResult<Vec<Notice>> {
    let mut out = Vec::with_capacity(numbers.len());
    for number in numbers {
        out.push(notice_in(tx, authority, number).await?);
    }
    Ok(out)
}

async fn notice_in(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    number: &str,
) -> ServiceResult<Notice> {
    tx.notice(authority, number)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("notice {number} vanished")).into())
}

/// A page of notices asked for: which, after which (issue date, number), how many.
pub type NoticeListing = (NoticeQuery, Option<(NaiveDate, String)>, i64);

impl App {
    pub async fn issue_notice_to_improve(
        &self,
        caller: Caller,
        request: RequestId,
        req: Read<NoticeToImproveRequest>,
    ) -> ServiceResult<Vec<Notice>> {
        caller.check_allowed(Operation::IssueNoticeToImprove)?;
        let req = req?;
        check_school(&caller, &req.issue.pupil)?;
        let authority = caller.authority.clone();
        let notices = self
            .write(move |app, mut tx| async move {
                let result = app.issue_nti_in(&mut *tx, &caller, &request, req).await;
                (tx, result)
            })
            .await;
        counted(&authority, NoticeKind::NoticeToImprove, notices)
    }

    async fn issue_nti_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request: &RequestId,
        req: NoticeToImproveRequest,
    ) -> ServiceResult<Vec<Notice>> {
        let authority = &caller.authority;
        if let Some(kept) = request
            .claim::<Issued>(tx, authority, ISSUE_NTI, self.now())
            .await?
        {
            return notices_named(tx, authority, &kept.notices).await;
        }
        // Rules are decided after the claim, so a retry gets the first answer
        // even if the policy or other notices changed since.
        let mut req = req;
        let (policy, policy_name) = policy_in_force(tx, authority, req.issue.issue_date).await?;
        let breach = match &req.issue.breach {
            Some(reference) => Some(found_breach(tx, caller, reference).await?),
            None => None,
        };
        if let Some(found) = &breach {
            req.issue.sessions = breach_sessions(found);
        }
        let (from, to) = period_span(&req);
        let registers = registers_of(tx, authority, &req.issue.pupil, from, to).await?;
        let (receipt, period, evidence) =
            issuing::plan_notice_to_improve(&policy, &policy_name, &req, &registers)?;
        let drafts = req
            .issue
            .parents
            .iter()
            .map(|p| Notice {
                improvement_period: Some(period.clone()),
                sessions: req.issue.sessions.clone(),
                session_evidence: evidence.clone(),
                ..self.draft(
                    &req.issue,
                    p.clone(),
                    NoticeKind::NoticeToImprove,
                    receipt,
                    (&policy, &policy_name),
                )
            })
            .collect();
        let notices = self.create_notices(tx, caller, &request.id, drafts).await?;
        self.close_breach_by_notices(tx, caller, &request.id, &notices)
            .await?;
        request
            .complete(tx, authority, ISSUE_NTI, &Issued::of(&notices))
            .await?;
        Ok(notices)
    }

    /// Issues penalty notices; with `notice_request`, from that school's request.
    pub async fn issue_penalty_notice(
        &self,
        caller: Caller,
        request: RequestId,
        req: Read<(PenaltyRequest, Option<i64>)>,
    ) -> ServiceResult<Vec<Notice>> {
        caller.check_allowed(Operation::IssuePenaltyNotice)?;
        let (req, notice_request) = req?;
        check_school(&caller, &req.issue.pupil)?;
        let authority = caller.authority.clone();
        // The authorities sharing with this one, looked up (and audited in
        // both) in a unit of its own, before the issue is decided.
        let shared = self
            .look_up_other_authorities(&caller, &request.id, &req.issue)
            .await?;
        let notices = self
            .write(move |app, mut tx| async move {
                let result = app
                    .issue_penalty_in(&mut *tx, &caller, &request, (req, shared), notice_request)
                    .await;
                (tx, result)
            })
            .await;
        counted(&authority, NoticeKind::PenaltyNotice, notices)
    }

    async fn issue_penalty_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request: &RequestId,
        (req, shared): (PenaltyRequest, Vec<OtherAuthorityNotice>),
        notice_request: Option<i64>,
    ) -> ServiceResult<Vec<Notice>> {
        let authority = &caller.authority;
        if let Some(kept) = request
            .claim::<Issued>(tx, authority, ISSUE_PENALTY, self.now())
            .await?
        {
            return notices_named(tx, authority, &kept.notices).await;
        }
        let mut req = req;
        if let Some(number) = notice_request {
            self.check_issuable_penalty_notice_request(
                tx,
                authority,
                number,
                req.issue.pupil.upn.as_str(),
            )
            .await?;
        }
        let (policy, policy_name) = policy_in_force(tx, authority, req.issue.issue_date).await?;
        // Everything the rules read is read under the pupil's lock, so concurrent
        // requests for the same pupil are decided one after another.
        tx.lock_pupil(authority, &req.issue.pupil.upn).await?;
        // The sessions: claimed, or the breach's from the registers.
        let breach = match &req.issue.breach {
            Some(reference) => Some(found_breach(tx, caller, reference).await?),
            None => None,
        };
        if let Some(found) = &breach {
            req.issue.sessions = breach_sessions(found);
        }
        // The evidence: the registers held around those sessions.
        let registers = match sessions_span(&req.issue.sessions) {
            Some((from, to)) => registers_of(tx, authority, &req.issue.pupil, from, to).await?,
            None => Registers::none(),
        };
        let earlier = tx.pupil_notices(authority, &req.issue.pupil.upn).await?;
        // The rules, on all of it.
        let (receipt, planned, evidence) = issuing::plan_penalty_notices(
            &policy,
            &policy_name,
            (&earlier, &shared),
            &req,
            &registers,
        )?;
        let drafts = planned
            .into_iter()
            .map(|p| Notice {
                other_authority_notices: shared
                    .iter()
                    .filter(|s| s.person_id == p.parent.person_id)
                    .cloned()
                    .collect(),
                offence: Some(req.offence.clone()),
                sessions: req.issue.sessions.clone(),
                session_evidence: evidence.clone(),
                second_notice: p.second_notice,
                charges: Some(p.charges),
                ..self.draft(
                    &req.issue,
                    p.parent,
                    NoticeKind::PenaltyNotice,
                    receipt,
                    (&policy, &policy_name),
                )
            })
            .collect();
        let notices = self.create_notices(tx, caller, &request.id, drafts).await?;
        self.close_breach_by_notices(tx, caller, &request.id, &notices)
            .await?;
        if let Some(number) = notice_request {
            self.settle_issued_penalty_notice_request(tx, caller, &request.id, number, &notices)
                .await?;
        }
        request
            .complete(tx, authority, ISSUE_PENALTY, &Issued::of(&notices))
            .await?;
        Ok(notices)
    }

    /// A notice about to be numbered and stored.
    fn draft(
        &self,
        issue: &Issue,
        parent: Parent,
        kind: NoticeKind,
        receipt: NaiveDate,
        (policy, policy_name): (&PolicyVersion, &str),
    ) -> Notice {
        Notice {
            notice_number: String::new(),
            kind,
            pupil: issue.pupil.clone(),
            parent,
            related_notices: vec![],
            offence: None,
            sessions: vec![],
            issue_date: issue.issue_date,
            issuer: issue.issuer.clone(),
            delivery: issue.delivery.clone(),
            receipt_date: receipt,
            policy_version: policy_name.to_string(),
            second_notice: false,
            charges: None,
            improvement_period: None,
            part_payments_accepted: policy.rules.part_payments_accepted,
            settlement: None,
            withdrawal: None,
            prosecution: None,
            created_at: self.now(),
            money: Default::default(),
            session_evidence: vec![],
            evidence_corrections: vec![],
            other_authority_notices: vec![],
            sen_provision: None,
        }
    }

    /// Numbers, stores and audits one notice per planned parent, all in `tx`.
    async fn create_notices(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request_id: &str,
        drafts: Vec<Notice>,
    ) -> ServiceResult<Vec<Notice>> {
        let authority = &caller.authority;
        let mut notices = drafts;
        for n in &mut notices {
            let series = format!("notice-{}", n.issue_date.year());
            let serial = tx.next_serial(authority, &series).await?;
            n.notice_number =
                issuing::notice_number(authority.as_str(), n.issue_date.year(), serial);
        }
        let numbers: Vec<String> = notices.iter().map(|n| n.notice_number.clone()).collect();
        // The pupil's SEN status on the issue date, as a notice read later gives it.
        let upns: Vec<String> = notices.iter().map(|n| n.pupil.upn.to_string()).collect();
        let history: Vec<_> = tx
            .sen_histories(authority, &upns)
            .await?
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        for n in &mut notices {
            n.sen_provision = crate::domain::sen::status_as_of(&history, n.issue_date);
            n.related_notices = numbers
                .iter()
                .filter(|x| **x != n.notice_number)
                .cloned()
                .collect();
            tx.insert_notice(authority, n).await?;
            let action = match n.kind {
                NoticeKind::NoticeToImprove => "notice.notice_to_improve_issued",
                NoticeKind::PenaltyNotice => "notice.penalty_notice_issued",
            };
            tx.append_audit(&NewAuditEvent {
                authority,
                at: n.created_at,
                actor: &caller.actor,
                action,
                resource: &names::notice_name(authority, &n.notice_number),
                request_id,
                details: serde_json::to_value(&*n)
                    .map_err(|e| ServiceError::Internal(format!("a notice as JSON: {e}")))?,
            })
            .await?;
        }
        Ok(notices)
    }

    /// Withdraws a notice or records the outcome of its prosecution.
    pub async fn change_lifecycle(
        &self,
        caller: Caller,
        request: RequestId,
        change: Read<(String, LifecycleChange)>,
    ) -> ServiceResult<Notice> {
        caller.check_allowed(Operation::ChangeNoticeLifecycle)?;
        let (number, change) = change?;
        self.write(move |app, mut tx| async move {
            let result = app
                .change_lifecycle_in(&mut *tx, &caller, &request, &number, change)
                .await;
            (tx, result)
        })
        .await
    }

    /// Locks the notice, checks the change against its state, records it with its
    /// audit event and settles the notice's money again (money on a withdrawn
    /// notice becomes refund due). Returns the notice as it now stands.
    async fn change_lifecycle_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request: &RequestId,
        number: &str,
        change: LifecycleChange,
    ) -> ServiceResult<Notice> {
        let authority = &caller.authority;
        let use_case = change.use_case();
        if let Some(kept) = request
            .claim::<Changed>(tx, authority, use_case, self.now())
            .await?
        {
            return notice_in(tx, authority, &kept.notice).await;
        }
        let name = names::notice_name(authority, number);
        let mut notice = tx
            .notice_for_update(authority, number)
            .await?
            .ok_or_else(|| ServiceError::NotFound(name.clone()))?;
        let (action, details) = match change {
            LifecycleChange::Withdraw(w) => {
                notice.check_withdrawal(&w)?;
                tx.record_withdrawal(authority, number, &w).await?;
                let details = serde_json::to_value(&w);
                notice.withdrawal = Some(w);
                ("notice.withdrawn", details)
            }
            LifecycleChange::Prosecute(p) => {
                notice.check_prosecution(&p)?;
                tx.record_prosecution(authority, number, &p).await?;
                let details = serde_json::to_value(&p);
                notice.prosecution = Some(p);
                ("notice.prosecution_outcome_recorded", details)
            }
        };
        tx.append_audit(&NewAuditEvent {
            authority,
            at: self.now(),
            actor: &caller.actor,
            action,
            resource: &name,
            request_id: &request.id,
            details: details.map_err(|e| ServiceError::Internal(format!("as JSON: {e}")))?,
        })
        .await?;
        settle_notice(
            tx,
            authority,
            &notice,
            &caller.actor,
            &request.id,
            self.now(),
        )
        .await?;
        let kept = Changed {
            notice: number.to_string(),
        };
        request.complete(tx, authority, use_case, &kept).await?;
        notice_in(tx, authority, number).await
    }

    pub async fn get_notice(&self, caller: Caller, number: Read<String>) -> ServiceResult<Notice> {
        caller.check_allowed(Operation::ReadNotices)?;
        let number = number?;
        // One statement: the notice with the sums of its money, and on
        // PostgreSQL its read recorded in the same statement (see
        // `AccessLogStore::notice_recording_read`).
        self.read_single(move |app, mut tx| async move {
            let result = async {
                let read = ReadBy {
                    at: app.now(),
                    actor: &caller.actor,
                    method: "GetNotice",
                    purpose: recorded_purpose(&caller)?,
                };
                let name = names::notice_name(&caller.authority, &number);
                tx.notice_recording_read(
                    &caller.authority,
                    &number,
                    caller.notice_scope(),
                    &name,
                    &read,
                )
                .await?
                .ok_or(ServiceError::NotFound(name))
            }
            .await;
            (tx, result)
        })
        .await
    }

    /// Notices matching `query`, by issue date then number, after the cursor.
    pub async fn list_notices(
        &self,
        caller: Caller,
        page: Read<NoticeListing>,
    ) -> ServiceResult<Vec<Notice>> {
        caller.check_allowed(Operation::ReadNotices)?;
        let (query, after, limit) = page?;
        access::may_list_notices(caller.role, &caller.schools, query.school_urn.as_deref())
            .map_err(ServiceError::PermissionDenied)?;
        let today = self.today();
        self.read_replica(move |app, mut tx| async move {
            let filter = NoticeFilter {
                school_urn: query.school_urn.as_deref(),
                upn: query.upn.as_deref(),
                parent_person_id: query.parent_person_id.as_deref(),
                issuer_subject: access::listed_issuer(caller.role, &caller.actor.subject),
                kind: query.kind,
                status: query.status,
                issued_from: query.issued_from,
                issued_to: query.issued_to,
                sen_provision: query.sen_provision,
            };
            let result = async {
                let notices = tx
                    .list_notices(&caller.authority, &filter, today, after, limit)
                    .await?;
                let accessed = returned(&notices, limit)
                    .iter()
                    .flat_map(|n| access_log::notice_subjects(&caller.authority, n))
                    .collect();
                record_reads(&mut *tx, &caller, app.now(), "ListNotices", accessed).await?;
                Ok(notices)
            }
            .await;
            (tx, result)
        })
        .await
    }

    /// A notice's audit events after `after_event_id`, oldest first.
    pub async fn list_notice_events(
        &self,
        caller: Caller,
        page: Read<(String, i64, i64)>,
    ) -> ServiceResult<Vec<AuditEvent>> {
        caller.check_allowed(Operation::ReadNotices)?;
        let (number, after_event_id, limit) = page?;
        self.read(move |app, mut tx| async move {
            let result = async {
                let notice = visible_notice(&mut *tx, &caller, &number).await?;
                let accessed = access_log::notice_subjects(&caller.authority, &notice);
                record_reads(
                    &mut *tx,
                    &caller,
                    app.now(),
                    "ListNoticeEvents",
                    accessed.into(),
                )
                .await?;
                let name = names::notice_name(&caller.authority, &number);
                let filter = AuditFilter {
                    resource: Some(&name),
                    ..Default::default()
                };
                Ok(tx
                    .audit_events(&caller.authority, &filter, after_event_id, limit)
                    .await?)
            }
            .await;
            (tx, result)
        })
        .await
    }
}

/// A pupil's breach on its as-of date, found by the same search as
/// ListThresholdBreaches (under the policy in force on that date).
async fn found_breach(
    tx: &mut dyn StoreTx,
    caller: &Caller,
    breach: &BreachRef,
) -> ServiceResult<FoundBreach> {
    let authority = &caller.authority;
    let (policy, policy_name) = policy_in_force(tx, authority, breach.as_of).await?;
    let search = BreachSearch {
        authority,
        school: None,
        as_of: breach.as_of,
        threshold: &policy.rules.threshold,
        policy_name: &policy_name,
    };
    let found = search.for_pupil(tx, &breach.upn).await?.ok_or_else(|| {
        RuleViolation::new(
            "BREACH_NOT_FOUND",
            breach.upn.to_string(),
            format!(
                "pupil {} is not at the threshold of policy {policy_name} as of {}",
                breach.upn, breach.as_of
            ),
        )
    })?;
    // School staff issue only from breaches at their own schools (the
    // request's school is already checked to be one of them).
    if Urn::parse(&found.school_urn).is_ok_and(|urn| !caller.covers_school(&urn)) {
        return Err(ServiceError::PermissionDenied(format!(
            "the breach is at school {}, not one of the caller's schools",
            found.school_urn
        )));
    }
    Ok(found)
}

/// A breach's qualifying sessions, as the sessions of a notice.
fn breach_sessions(found: &FoundBreach) -> Vec<SessionMark> {
    found
        .breach
        .sessions
        .iter()
        .map(|m| SessionMark {
            date: m.date,
            session: m.session,
            code: m.code.clone(),
        })
        .collect()
}

/// The first and last date of `sessions`.
fn sessions_span(sessions: &[SessionMark]) -> Option<(NaiveDate, NaiveDate)> {
    let from = sessions.iter().map(|s| s.date).min()?;
    let to = sessions.iter().map(|s| s.date).max()?;
    Some((from, to))
}

/// What a notice to improve reads the registers for: its sessions, and its
/// improvement period (the longest a policy allows, and a year of holidays).
fn period_span(req: &NoticeToImproveRequest) -> (NaiveDate, NaiveDate) {
    let end = req
        .start_date
        .checked_add_signed(chrono::Duration::weeks(i64::from(
            req.school_weeks.clamp(0, 52) + 52,
        )))
        .unwrap_or(req.start_date);
    match sessions_span(&req.issue.sessions) {
        Some((from, to)) => (from.min(req.start_date), to.max(end)),
        None => (req.start_date, end),
    }
}

/// A notice the caller may see; any other is NOT_FOUND, exactly as if it did not exist.
pub(super) async fn visible_notice(
    tx: &mut dyn StoreTx,
    caller: &Caller,
    number: &str,
) -> ServiceResult<Notice> {
    tx.notice(&caller.authority, number)
        .await?
        .filter(|n| caller.may_see(n))
        .ok_or_else(|| ServiceError::NotFound(names::notice_name(&caller.authority, number)))
}

impl Issued {
    fn of(notices: &[Notice]) -> Self {
        Self {
            notices: notices.iter().map(|n| n.notice_number.clone()).collect(),
        }
    }
}
