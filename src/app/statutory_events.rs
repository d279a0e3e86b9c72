//! Events on the statutory dates, appended to the audit log by the service
//! itself (`lea-notices/scheduler`): a notice's lower rate ended, a notice
//! unpaid at the end of its period, a school's request past its deadline.
//!
//! [`App::emit_due_events`] is one round, and `serve` runs one every
//! `statutory_events_interval_ms` on every replica. Each event is recorded
//! in its own unit of work with the key (authority, resource, kind) of
//! `statutory_events`: whichever replica takes the key appends the event in
//! the same transaction, and every other finds it taken and appends nothing,
//! so each happens exactly once. A round looks at every day from the day
//! before the authority's last completed round up to today (the clock's), so
//! days missed while no server ran are caught up, each event still dated on
//! its own day (`statutory_dates::DateEvent::at`), with when it was recorded
//! in its details.

use chrono::{DateTime, NaiveDate, Utc};

use super::worklist::request_deadline;
use super::{App, ServiceError, ServiceResult};
use crate::domain::{
    actor::Actor,
    identifiers::LaCode,
    names,
    penalty_notice_request::PenaltyNoticeRequestState,
    statutory_dates::{self, DateEvent, DateEventKind, SCHEDULER_SUBJECT},
};
use crate::store::{NewAuditEvent, StoreTx};

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmittedEvents {
    /// The day the round ran for.
    pub today: Option<NaiveDate>,
    /// Authorities looked at.
    pub authorities: usize,
    /// Events this round appended (others may have been appended by another
    /// replica in the meantime).
    pub emitted: usize,
}

/// An event found due, before it is recorded.
#[derive(Debug, Clone)]
struct Due {
    resource: String,
    /// The notice's number, or the request's.
    subject: Subject,
    event: DateEvent,
    details: serde_json::Value,
}

#[derive(Debug, Clone)]
enum Subject {
    Notice(String),
    Request(i64),
}

impl App {
    /// One round of the scheduler on the clock's today: every event on a
    /// statutory date due and not yet recorded, for every authority, each
    /// appended once. An authority's progress is recorded once all its events
    /// are, so a round cut short is looked at again by the next.
    pub async fn emit_due_events(&self) -> ServiceResult<EmittedEvents> {
        let today = self.today();
        let authorities = self
            .read(|_, mut tx| async move {
                let heads = tx.audit_chain_heads().await;
                (tx, heads.map_err(ServiceError::from))
            })
            .await?;
        let mut done = EmittedEvents {
            today: Some(today),
            ..Default::default()
        };
        for (code, _) in authorities {
            let Ok(authority) = LaCode::parse(&code) else {
                continue;
            };
            done.emitted += self.emit_for(&authority, today).await?;
            done.authorities += 1;
        }
        Ok(done)
    }

    async fn emit_for(&self, authority: &LaCode, today: NaiveDate) -> ServiceResult<usize> {
        let la = authority.clone();
        let (from, due) = self
            .read(move |_, mut tx| async move {
                let found = due_events(&mut *tx, &la, today).await;
                (tx, found)
            })
            .await?;
        let mut emitted = 0;
        for d in due {
            let la = authority.clone();
            if self
                .write(move |app, mut tx| async move {
                    let now = app.now();
                    let recorded = record(&mut *tx, &la, &d, (from, today), now).await;
                    (tx, recorded)
                })
                .await?
            {
                emitted += 1;
            }
        }
        let la = authority.clone();
        self.write(move |_, mut tx| async move {
            let advanced = tx.advance_statutory_event_progress(&la, today).await;
            (tx, advanced.map_err(ServiceError::from))
        })
        .await?;
        if emitted > 0 {
            tracing::info!(authority = %authority, %today, emitted, "events on statutory dates recorded");
        }
        Ok(emitted)
    }
}

/// The first day the round looks at, and the events due from it to `today`.
async fn due_events(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    today: NaiveDate,
) -> ServiceResult<(NaiveDate, Vec<Due>)> {
    let previous = tx.statutory_event_progress(authority).await?;
    let from = statutory_dates::round_from(previous, today);
    let (first, last) = statutory_dates::last_days_between(from, today);
    let mut due = Vec::new();
    for notice in tx
        .notices_with_deadlines_between(authority, first, last)
        .await?
    {
        for event in statutory_dates::notice_events(&notice, from, today) {
            let c = notice.charges.as_ref();
            due.push(Due {
                resource: names::notice_name(authority, &notice.notice_number),
                subject: Subject::Notice(notice.notice_number.clone()),
                event,
                details: serde_json::json!({
                    "notice_number": notice.notice_number,
                    "higher_amount_pence": c.map(|c| c.higher_amount_pence),
                    "higher_deadline": c.map(|c| c.higher_deadline),
                }),
            });
        }
    }
    let pending = tx
        .penalty_notice_requests(
            authority,
            Some(PenaltyNoticeRequestState::Pending),
            None,
            0,
            i64::MAX,
        )
        .await?;
    for r in pending {
        let (deadline, elapsed) = request_deadline(tx, authority, &r, today).await?;
        if let Some(event) = statutory_dates::request_event(deadline, today) {
            due.push(Due {
                resource: names::penalty_notice_request_name(authority, r.number),
                subject: Subject::Request(r.number),
                event,
                details: serde_json::json!({
                    "school_urn": r.draft.school_urn,
                    "deadline_school_days": r.deadline_school_days,
                    "school_days_elapsed": elapsed,
                }),
            });
        }
    }
    Ok((from, due))
}

/// Records `d` unless its key is taken, with its audit event, in `tx`;
/// `true` when this unit recorded it. The facts are read again under this
/// unit: a notice paid or withdrawn, or a request settled, since the round
/// looked has no event.
async fn record(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    d: &Due,
    (from, today): (NaiveDate, NaiveDate),
    now: DateTime<Utc>,
) -> ServiceResult<bool> {
    let still = match &d.subject {
        Subject::Notice(number) => tx.notice(authority, number).await?.is_some_and(|n| {
            statutory_dates::notice_events(&n, from, today)
                .iter()
                .any(|e| e.kind == d.event.kind)
        }),
        Subject::Request(number) => tx
            .penalty_notice_request(authority, *number)
            .await?
            .is_some_and(|r| r.state == PenaltyNoticeRequestState::Pending),
    };
    let kind: DateEventKind = d.event.kind;
    if !still
        || !tx
            .claim_statutory_event(
                authority,
                (&d.resource, kind.as_str()),
                d.event.statutory_date,
                now,
            )
            .await?
    {
        return Ok(false);
    }
    let mut details = d.details.clone();
    if let Some(map) = details.as_object_mut() {
        map.insert("kind".into(), kind.as_str().into());
        map.insert(
            "statutory_date".into(),
            d.event.statutory_date.to_string().into(),
        );
        map.insert("last_day".into(), d.event.last_day.to_string().into());
        map.insert("emitted_at".into(), now.to_rfc3339().into());
        map.insert("caught_up".into(), (d.event.statutory_date < today).into());
        map.insert("rule".into(), kind.citation().into());
    }
    tx.append_audit(&NewAuditEvent {
        authority,
        at: d.event.at(),
        actor: &Actor::service(SCHEDULER_SUBJECT),
        action: kind.action(),
        resource: &d.resource,
        request_id: &format!("scheduler/{}/{}", kind.as_str(), d.event.statutory_date),
        details,
    })
    .await?;
    Ok(true)
}
