//! Pupils' SEN statuses as MIS batches send them, and the status on a date
//! for the breakdowns (breaches, notices, the statutory return).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};

use super::{Caller, ServiceResult};
use crate::domain::{
    identifiers::{LaCode, Upn},
    names,
    sen::{self, SenChange, SenProvision, SenRecord},
};
use crate::store::{NewAuditEvent, SenWrite, StoreTx};

/// A SEN status sent for a pupil with a batch of marks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSenStatus {
    pub upn: Upn,
    pub record: SenRecord,
}

/// Each pupil's history, by UPN.
pub(super) async fn histories(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    upns: impl IntoIterator<Item = String>,
) -> ServiceResult<BTreeMap<String, Vec<SenRecord>>> {
    let upns: Vec<String> = upns
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut out: BTreeMap<String, Vec<SenRecord>> = BTreeMap::new();
    for (upn, record) in tx.sen_histories(authority, &upns).await? {
        out.entry(upn).or_default().push(record);
    }
    Ok(out)
}

/// The status of each of `upns` on `date`, by UPN (absent: not known).
pub(super) async fn statuses_on(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    upns: impl IntoIterator<Item = String>,
    date: NaiveDate,
) -> ServiceResult<BTreeMap<String, SenProvision>> {
    Ok(histories(tx, authority, upns)
        .await?
        .into_iter()
        .filter_map(|(upn, h)| sen::status_as_of(&h, date).map(|s| (upn, s)))
        .collect())
}

/// Applies a batch's statuses to the pupils' histories in `tx`: what changes
/// is written, and the batch's changes audited together in one event
/// (`pupil.sen_statuses_recorded`, without the statuses themselves). A pupil's statuses are applied oldest
/// first, so a batch sending the same status on every row adds one entry.
/// Returns how many entries were added or corrected.
pub(super) async fn record_sen_statuses(
    tx: &mut dyn StoreTx,
    caller: &Caller,
    request_id: &str,
    sent: &[SentSenStatus],
    at: DateTime<Utc>,
) -> ServiceResult<usize> {
    if sent.is_empty() {
        return Ok(0);
    }
    let authority = &caller.authority;
    let mut held = histories(tx, authority, sent.iter().map(|s| s.upn.to_string())).await?;
    let mut ordered: Vec<&SentSenStatus> = sent.iter().collect();
    ordered.sort_by(|a, b| {
        (a.upn.as_str(), a.record.effective_from).cmp(&(b.upn.as_str(), b.record.effective_from))
    });
    let mut changes = Vec::new();
    for s in ordered {
        let history = held.entry(s.upn.to_string()).or_default();
        let change = match sen::apply(history, s.record.clone()) {
            SenChange::Unchanged => continue,
            SenChange::Added => "added",
            SenChange::Corrected { .. } => "corrected",
        };
        tx.put_sen_status(
            authority,
            &SenWrite {
                upn: s.upn.as_str(),
                record: &s.record,
                recorded_at: at,
                request_id,
            },
        )
        .await?;
        // The status itself stays out of the audit details: every audit
        // event goes out on the event feed and the broker relay, and SEN
        // status is special-category-adjacent. Who sent which pupil's status
        // for which date, and whether it was new or a correction, is here;
        // the status is in the pupil's history (and its subject access export).
        changes.push(serde_json::json!({
            "upn": s.upn.as_str(),
            "effective_date": s.record.effective_from,
            "change": change,
            "source": s.record.source.as_str(),
        }));
    }
    if !changes.is_empty() {
        tx.append_audit(&NewAuditEvent {
            authority,
            at,
            actor: &caller.actor,
            action: "pupil.sen_statuses_recorded",
            resource: &names::attendance_name(authority),
            request_id,
            details: serde_json::json!({ "changes": changes }),
        })
        .await?;
    }
    Ok(changes.len())
}
