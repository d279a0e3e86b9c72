//! The registers behind a notice: what the authority holds around the claimed
//! sessions when it issues, and the corrections of those marks after issue,
//! recorded on the notices they were evidence for.

use chrono::NaiveDate;

use super::{Caller, ServiceResult};
use crate::domain::{
    calendar::week_start,
    evidence::{HeldSession, RegisterWeeks, ReplacedMark},
    identifiers::LaCode,
    issuing::Registers,
    names,
    notice::{self, Notice, Pupil},
};
use crate::store::{NewAuditEvent, StoreError, StoreTx};

/// The pupil's marks dated `from..=to` and the school weeks of every school
/// whose register the pupil is on (and the notice's school), as held.
pub(super) async fn registers_of(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    pupil: &Pupil,
    from: NaiveDate,
    to: NaiveDate,
) -> ServiceResult<Registers> {
    let held = tx
        .pupil_marks(authority, &pupil.upn, from, to)
        .await?
        .into_iter()
        .map(|m| HeldSession {
            school_urn: m.school_urn,
            mark: m.mark,
        })
        .collect();
    let mut schools = tx.pupil_schools(authority, &pupil.upn).await?;
    if !schools.iter().any(|s| s == pupil.school_urn.as_str()) {
        schools.push(pupil.school_urn.to_string());
    }
    let (mut weeks, mut spans) = (std::collections::BTreeSet::new(), Vec::new());
    for school in &schools {
        let (held_weeks, span) = tx
            .school_weeks_of(authority, school, week_start(from), to)
            .await?;
        weeks.extend(held_weeks);
        spans.extend(span);
    }
    Ok(Registers {
        held,
        weeks: RegisterWeeks::new(weeks, spans),
    })
}

/// Records on each live notice every change `replaced` makes to a mark it was
/// matched to at issue, with a `notice.evidence_corrected` event, in the
/// transaction that changed the marks.
pub(super) async fn record_evidence_corrections(
    tx: &mut dyn StoreTx,
    caller: &Caller,
    request_id: &str,
    replaced: &[ReplacedMark],
    at: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<()> {
    if replaced.is_empty() {
        return Ok(());
    }
    let authority = &caller.authority;
    let mut upns: Vec<String> = replaced.iter().map(|r| r.upn.clone()).collect();
    upns.sort_unstable();
    upns.dedup();
    for notice in tx.notices_of_pupils(authority, &upns).await? {
        if notice::corrections_of(&notice, replaced, at, request_id).is_empty() {
            continue;
        }
        // Read again under its lock, so concurrent corrections all stay recorded.
        let mut locked = notice_for_update_in(tx, authority, &notice.notice_number).await?;
        let found = notice::corrections_of(&locked, replaced, at, request_id);
        locked.evidence_corrections.extend(found.iter().cloned());
        tx.record_evidence_corrections(
            authority,
            &locked.notice_number,
            &locked.evidence_corrections,
        )
        .await?;
        tx.append_audit(&NewAuditEvent {
            authority,
            at,
            actor: &caller.actor,
            action: "notice.evidence_corrected",
            resource: &names::notice_name(authority, &locked.notice_number),
            request_id,
            details: serde_json::json!({ "corrections": found }),
        })
        .await?;
    }
    Ok(())
}

async fn notice_for_update_in(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    number: &str,
) -> ServiceResult<Notice> {
    tx.notice_for_update(authority, number)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("notice {number} vanished")).into())
}
