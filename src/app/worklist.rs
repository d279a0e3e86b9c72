//! The officer's worklist: what needs a person now in an authority, worked out
//! in one read-only unit from the registers, requests, notices and payments as
//! they stand today (the injected clock's day). The rules, due dates and who
//! sees what are `domain::worklist`'s; this gathers the facts.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};

use super::breach_search::{BreachPosition, BreachSearch};
use super::policy::policy_in_force;
use super::{App, Caller, Read, ServiceError, ServiceResult};
use crate::domain::{
    access::Operation,
    breach::BreachState,
    calendar::london_date,
    identifiers::{LaCode, Urn},
    measures::{CaseState, MeasureKind},
    penalty_notice_request::{self, PenaltyNoticeRequestState},
    policy::PolicySource,
    worklist::{self, Action, ActionKind, WorklistQuery},
};
use crate::store::StoreTx;

/// The most pending breaches one listing works out (a county has a few
/// thousand at most).
const MAX_PENDING_BREACHES: usize = 1_000_000;

/// A page of the worklist and the day it was worked out for.
#[derive(Debug, Clone)]
pub struct Worklist {
    pub today: NaiveDate,
    /// In worklist order, at most the limit asked for.
    pub actions: Vec<Action>,
}

/// A page of the worklist asked for: which, after which (due date, key), how many.
pub type ActionListing = (WorklistQuery, Option<(NaiveDate, String)>, usize);

impl App {
    /// The caller's worklist today, in order after `after`, at most `limit` items.
    pub async fn list_actions(
        &self,
        caller: Caller,
        listing: Read<ActionListing>,
    ) -> ServiceResult<Worklist> {
        caller.check_allowed(Operation::ReadWorklist)?;
        let (query, after, limit) = listing?;
        query
            .check(caller.role, &caller.schools)
            .map_err(ServiceError::PermissionDenied)?;
        let today = self.today();
        self.read_replica(move |_, mut tx| async move {
            let result = worklist_in(&mut *tx, &caller, &query, today)
                .await
                .map(|all| {
                    let kept: Vec<Action> = all
                        .into_iter()
                        .filter(|a| query.keeps(caller.role, &caller.schools, a))
                        .collect();
                    let mut actions = worklist::in_order(kept, after.as_ref());
                    actions.truncate(limit);
                    Worklist { today, actions }
                });
            (tx, result)
        })
        .await
    }
}

/// The most prosecution cases stopped by money a listing reads.
const MAX_BLOCKED_CASES: i64 = 10_000;

/// Every item of the kinds the query and the caller's role call for, of the
/// schools in scope (visibility and the other filters are applied after).
async fn worklist_in(
    tx: &mut dyn StoreTx,
    caller: &Caller,
    query: &WorklistQuery,
    today: NaiveDate,
) -> ServiceResult<Vec<Action>> {
    let authority = &caller.authority;
    let kinds = query.kinds_for(caller.role);
    let wants = |k: ActionKind| kinds.contains(&k);
    // The schools to look at: the one asked for, or school staff's own.
    let schools: Option<Vec<Urn>> = match (&query.school, caller.covers_all_schools()) {
        (Some(urn), _) => Some(vec![urn.clone()]),
        (None, true) => None,
        (None, false) => Some(caller.schools.clone()),
    };
    let mut actions = Vec::new();
    if wants(ActionKind::BreachPendingDecision) {
        actions.extend(pending_breaches(tx, authority, schools.as_deref(), today).await?);
    }
    if wants(ActionKind::PenaltyNoticeRequestPending) {
        actions.extend(pending_requests(tx, authority, schools.as_deref(), today).await?);
    }
    let notice_kinds = [
        ActionKind::LowerRateEnding,
        ActionKind::UnpaidAfterPeriod,
        ActionKind::PaymentAfterProsecution,
        ActionKind::RefundDue,
        ActionKind::EvidenceCorrected,
    ];
    if notice_kinds.into_iter().any(wants) {
        actions.extend(notice_items(tx, authority, schools.as_deref(), today).await?);
    }
    if wants(ActionKind::ProsecutionBlockedByPayment) {
        let filter = crate::store::CaseFilter {
            kind: Some(MeasureKind::Prosecution),
            state: Some(CaseState::BlockedByPayment),
            upn: None,
            school_urn: only_school(schools.as_deref()),
        };
        for case in tx.cases(authority, &filter, 0, MAX_BLOCKED_CASES).await? {
            if in_scope(schools.as_deref(), &case.school_urn) {
                actions.push(worklist::blocked_prosecution(&case));
            }
        }
    }
    // Payments belong to no school: a listing of one school has none.
    let payment_kinds = [
        ActionKind::PaymentUnallocated,
        ActionKind::PaymentPartMatched,
    ];
    if payment_kinds.into_iter().any(wants) && query.school.is_none() {
        for p in tx.payments_in_suspense(authority).await? {
            actions.extend(worklist::payment_action(&p));
        }
    }
    Ok(actions)
}

/// Pending breaches found today, each with the school days since it reached
/// the threshold (at the school of its latest qualifying session).
async fn pending_breaches(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    schools: Option<&[Urn]>,
    today: NaiveDate,
) -> ServiceResult<Vec<Action>> {
    let (policy, policy_name) = policy_in_force(tx, authority, today).await?;
    let threshold = &policy.rules.threshold;
    let local = policy.source == PolicySource::Authority;
    let searches: Vec<Option<&Urn>> = match schools {
        Some(list) => list.iter().map(Some).collect(),
        None => vec![None],
    };
    let mut found = Vec::new();
    for school in searches {
        let search = BreachSearch {
            authority,
            school,
            as_of: today,
            threshold,
            policy_name: &policy_name,
        };
        found.extend(
            search
                .list(
                    tx,
                    &[BreachState::Pending],
                    &BreachPosition::default(),
                    MAX_PENDING_BREACHES,
                )
                .await?,
        );
    }
    // Each school's days read once, from the earliest day any of its breaches
    // reached the threshold.
    let mut since: BTreeMap<String, NaiveDate> = BTreeMap::new();
    for b in &found {
        let reached = worklist::threshold_reached_on(&b.breach, threshold).unwrap_or(today);
        since
            .entry(b.school_urn.clone())
            .and_modify(|d| *d = (*d).min(reached))
            .or_insert(reached);
    }
    let mut days: BTreeMap<String, Vec<NaiveDate>> = BTreeMap::new();
    for (school, from) in since {
        let held = tx.school_day_dates(authority, &school, from, today).await?;
        days.insert(school, held);
    }
    Ok(found
        .iter()
        .map(|b| {
            let reached = worklist::threshold_reached_on(&b.breach, threshold).unwrap_or(today);
            let waited = days
                .get(&b.school_urn)
                .map_or(0, |held| held.iter().filter(|&&d| d > reached).count());
            worklist::pending_breach(
                &b.upn,
                &b.school_urn,
                &b.breach,
                threshold,
                (&policy_name, local),
                waited as i64,
                today,
            )
        })
        .collect())
}

/// Whether `school` is among `schools` (`None`: every school).
fn in_scope(schools: Option<&[Urn]>, school: &str) -> bool {
    schools.is_none_or(|list| list.iter().any(|u| u.as_str() == school))
}

/// The one school a query can filter on in SQL, when the scope is one school.
fn only_school(schools: Option<&[Urn]>) -> Option<&str> {
    match schools {
        Some([one]) => Some(one.as_str()),
        _ => None,
    }
}

/// Schools' pending requests (of `schools`), each with its deadline's last day.
async fn pending_requests(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    schools: Option<&[Urn]>,
    today: NaiveDate,
) -> ServiceResult<Vec<Action>> {
    let requests = tx
        .penalty_notice_requests(
            authority,
            Some(PenaltyNoticeRequestState::Pending),
            only_school(schools),
            0,
            i64::MAX,
        )
        .await?;
    let mut actions = Vec::with_capacity(requests.len());
    for r in requests
        .iter()
        .filter(|r| in_scope(schools, &r.draft.school_urn))
    {
        let (deadline, held) = request_deadline(tx, authority, r, today).await?;
        let (_, policy_name) = policy_in_force(tx, authority, london_date(r.requested_at)).await?;
        actions.push(worklist::pending_request(
            r,
            deadline,
            held as i64,
            &policy_name,
        ));
    }
    Ok(actions)
}

/// A request's deadline's last day (see `penalty_notice_request::deadline_date`)
/// and the school days counted from the pupil's return, as the registers held
/// today show them.
pub(super) async fn request_deadline(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    r: &penalty_notice_request::PenaltyNoticeRequest,
    today: NaiveDate,
) -> ServiceResult<(Option<NaiveDate>, usize)> {
    let Some(last) = penalty_notice_request::last_session(&r.draft.sessions) else {
        return Ok((None, 0));
    };
    // From the day before the pupil's return (day 1); before the return is
    // registered the deadline has not begun and has no last day yet.
    let (returned, _) = super::penalty_notice_requests::request_clock(
        tx,
        authority,
        &r.draft.upn,
        &r.draft.school_urn,
        last,
        today,
    )
    .await?;
    let Some(from) = returned.and_then(|r| r.pred_opt()) else {
        return Ok((None, 0));
    };
    let held = tx
        .school_day_dates(authority, &r.draft.school_urn, from, today)
        .await?;
    Ok((
        penalty_notice_request::deadline_date(r.deadline_school_days, from, &held),
        held.len(),
    ))
}

/// The notices' items (of `schools`): the store's candidates, narrowed by the
/// domain with the days their money was received.
async fn notice_items(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    schools: Option<&[Urn]>,
    today: NaiveDate,
) -> ServiceResult<Vec<Action>> {
    let (policy, _) = policy_in_force(tx, authority, today).await?;
    let warning_days = policy.rules.lower_rate_warning_days;
    let until = today
        .checked_add_days(Days::new(u64::try_from(warning_days).unwrap_or(0)))
        .unwrap_or(NaiveDate::MAX);
    let mut actions = Vec::new();
    let candidates = tx
        .worklist_notices(authority, today, until, only_school(schools))
        .await?;
    for notice in candidates
        .iter()
        .filter(|n| in_scope(schools, n.pupil.school_urn.as_str()))
    {
        let received: Vec<NaiveDate> = if notice.money.allocated_pence > 0 {
            tx.notice_allocations(authority, &notice.notice_number)
                .await?
                .iter()
                .map(|a| worklist::received_on(a.received_at))
                .collect()
        } else {
            vec![]
        };
        actions.extend(worklist::notice_actions(
            notice,
            &received,
            warning_days,
            today,
        ));
    }
    Ok(actions)
}
