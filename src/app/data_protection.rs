//! Accountability for personal data: the access log (who read which pupil's or
//! parent's data), for the data protection officer and auditors, and the
//! record every read of a named child's or parent's data leaves in it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{App, Caller, Read, ServiceResult};
use crate::domain::{
    FieldViolation,
    access::Operation,
    access_log::{self, Accessed, SubjectKind},
    identifiers::LaCode,
    names,
    payment::Payment,
};
use crate::store::{AccessEvent, AccessFilter, NewAccess, StoreTx};

/// Which access-log entries to list: every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessQuery {
    /// Entries naming this pupil (UPN) or parent (person id).
    pub subject: Option<(SubjectKind, String)>,
    /// Entries of this caller (a token's subject).
    pub actor_subject: Option<String>,
    /// At or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// Records in `tx` that `caller` read `accessed` through `method` at `at`: one
/// access-log entry per subject and resource, appended when the unit commits
/// (nothing if it rolls back). A purpose header that is not one is refused
/// here, after the caller was authorised and the request read.
pub(super) async fn record_reads(
    tx: &mut dyn StoreTx,
    caller: &Caller,
    at: DateTime<Utc>,
    method: &'static str,
    accessed: Vec<Accessed>,
) -> ServiceResult<()> {
    let purpose = caller
        .purpose
        .recorded()
        .map_err(|why| FieldViolation::new(access_log::PURPOSE_HEADER, why))?;
    if accessed.is_empty() {
        return Ok(());
    }
    tx.record_access(&NewAccess {
        authority: &caller.authority,
        at,
        actor: &caller.actor,
        method,
        purpose,
        accessed: access_log::distinct(accessed),
    })
    .await?;
    Ok(())
}

/// The rows of a listing its caller gets: a listing reads one row past its
/// page (`limit` is the page size and one) to know whether another page
/// follows; that row is not returned, so its read is not recorded.
pub(super) fn returned<T>(rows: &[T], limit: i64) -> &[T] {
    let page = usize::try_from(limit.saturating_sub(1).max(1)).unwrap_or(usize::MAX);
    &rows[..rows.len().min(page)]
}

/// The pupils and parents `payments` name: those of the notices they were
/// allocated to or refunded against (a payment names no one by key itself; its
/// payer's name is free text), each with the payment's name as the resource.
pub(super) async fn payment_subjects(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    payments: &[Payment],
) -> ServiceResult<Vec<Accessed>> {
    let mut by_notice: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in payments {
        let notices = p
            .allocations
            .iter()
            .map(|a| a.notice_number.as_str())
            .chain(p.refunds.iter().filter_map(|r| r.notice_number.as_deref()));
        for number in notices {
            by_notice.entry(number).or_default().push(&p.payment_id);
        }
    }
    let numbers: Vec<String> = by_notice.keys().map(|n| n.to_string()).collect();
    let mut accessed = Vec::new();
    for (number, upn, person_id) in tx.notice_subjects(authority, &numbers).await? {
        for payment_id in by_notice.get(number.as_str()).into_iter().flatten() {
            let name = names::payment_name(authority, payment_id);
            accessed.push(Accessed::pupil(&upn, &name));
            accessed.push(Accessed::parent(&person_id, &name));
        }
    }
    Ok(accessed)
}

impl App {
    /// The caller's authority's access-log entries matching `query` after
    /// `after_entry_id`, oldest first.
    pub async fn list_access_events(
        &self,
        caller: Caller,
        asked: Read<(AccessQuery, i64, i64)>,
    ) -> ServiceResult<Vec<AccessEvent>> {
        caller.check_allowed(Operation::ReadAccessLog)?;
        let (query, after_entry_id, limit) = asked?;
        self.read_single(move |_, mut tx| async move {
            let filter = AccessFilter {
                subject: query.subject.as_ref().map(|(k, s)| (*k, s.as_str())),
                actor_subject: query.actor_subject.as_deref(),
                from: query.from,
                to: query.to,
            };
            let result = tx
                .access_events(&caller.authority, &filter, after_entry_id, limit)
                .await;
            (tx, result.map_err(Into::into))
        })
        .await
    }
}
