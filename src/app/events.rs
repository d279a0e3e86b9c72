//! The event feed: an authority's audit log read from a cursor, as CloudEvents
//! (`domain::events`), for `EventService.WatchEvents` and for `lea-notices
//! relay-events`, which publishes the same events to a broker and keeps how
//! far it got in `relay_cursors`.
//!
//! **Why "after the cursor" never skips an event.** An event's id is taken at
//! commit, by moving the authority's chain head on (`store::audit`,
//! `write_pending_audit`): on PostgreSQL an `UPDATE` of the head's row, whose
//! lock the unit keeps until its commit is visible, so the next unit of the
//! same authority takes its ids only after the previous unit's events are
//! visible, and links to them; on SQLite the single writer commits units one
//! at a time. So in any snapshot the events of an authority are exactly
//! `1..=head` (and the gaps left by ids of events from before the chain,
//! which never fill). A page reads the head and the events up to it in one
//! read-only unit (one snapshot): whatever commits later has a higher id
//! than the head read, and is read on a later page. Bounding the read by
//! the head also keeps a page from running ahead of a head it has not seen.

use tokio::sync::watch;

use super::{App, Caller, Read, ServiceError, ServiceResult};
use crate::domain::{
    FieldViolation,
    access::Operation,
    events::{FeedEvent, TypeFilter, sees},
    identifiers::LaCode,
};
use crate::store::AuditEvent;

/// Events of the log read at a time.
pub const EVENT_PAGE: i64 = 200;

/// What a page of the feed holds.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    /// The events after the cursor asked for (those the reader may see and
    /// asked for), oldest first.
    pub events: Vec<FeedEvent>,
    /// Every event up to this sequence has been read (handed out or passed
    /// over): where the next page starts.
    pub cursor: i64,
    /// The authority's last event id in the page's snapshot (0 before the
    /// first): the page reached the end of the log when `cursor == head`.
    pub head: i64,
}

impl App {
    /// WatchEvents' first step: whether the caller may follow its authority's
    /// feed at all, decided before the request's own errors are answered; the
    /// request (where to start, which types) once it may.
    pub fn open_event_feed(
        &self,
        caller: &Caller,
        asked: Read<(i64, TypeFilter)>,
    ) -> ServiceResult<(i64, TypeFilter)> {
        caller.check_allowed(Operation::WatchEvents)?;
        asked
    }

    /// A page of the caller's authority's events after `after`, as far as the
    /// caller's role sees them ([`sees`]) and `filter` asks. INVALID_ARGUMENT
    /// (`start_after`) for a cursor past the end of the log.
    pub async fn watch_events_page(
        &self,
        caller: &Caller,
        after: i64,
        filter: &TypeFilter,
    ) -> ServiceResult<EventPage> {
        caller.check_allowed(Operation::WatchEvents)?;
        let mut page = self
            .events_page(caller.authority.clone(), after, EVENT_PAGE, "start_after")
            .await?;
        let role = caller.role;
        page.events
            .retain(|e| sees(role, e.resource_kind()) && filter.matches(&e.event_type()));
        Ok(page)
    }

    /// A page of every event of `authority` after `after`, for the relay (an
    /// operator's process with access to the database, as `verify-audit`).
    pub async fn relay_events_page(
        &self,
        authority: LaCode,
        after: i64,
        limit: i64,
    ) -> ServiceResult<EventPage> {
        self.events_page(authority, after, limit, "relay cursor")
            .await
    }

    async fn events_page(
        &self,
        authority: LaCode,
        after: i64,
        limit: i64,
        cursor_field: &'static str,
    ) -> ServiceResult<EventPage> {
        if after < 0 {
            return Err(FieldViolation::new(cursor_field, "must not be negative").into());
        }
        self.read(move |_, mut tx| async move {
            let result = async {
                let head = tx
                    .audit_chain_head(&authority)
                    .await?
                    .map_or(0, |h| h.last_event_id);
                if after > head {
                    return Err(ServiceError::from(FieldViolation::new(
                        cursor_field,
                        format!(
                            "{after} is past the end of authority {authority}'s event log \
                             ({head}): start again from 0"
                        ),
                    )));
                }
                let rows = tx
                    .audit_events_through(&authority, after, head, limit)
                    .await?;
                let cursor = match rows.last() {
                    Some(last) if rows.len() as i64 >= limit => last.event_id,
                    _ => head,
                };
                let events = rows
                    .into_iter()
                    .map(|e| feed_event(&authority, e))
                    .collect();
                Ok(EventPage {
                    events,
                    cursor,
                    head,
                })
            }
            .await;
            (tx, result)
        })
        .await
    }

    /// Every authority with events, and its last event id, by LA code.
    pub async fn event_heads(&self) -> ServiceResult<Vec<(LaCode, i64)>> {
        self.read(move |_, mut tx| async move {
            let result = tx.audit_chain_heads().await.map(|heads| {
                heads
                    .into_iter()
                    .filter_map(|(la, head)| {
                        LaCode::parse(&la).ok().map(|la| (la, head.last_event_id))
                    })
                    .collect()
            });
            (tx, result.map_err(Into::into))
        })
        .await
    }

    /// How far relay `relay` has published `authority`'s events (0: none yet).
    pub async fn relay_cursor(&self, relay: String, authority: LaCode) -> ServiceResult<i64> {
        self.read(move |_, mut tx| async move {
            let result = tx.relay_cursor(&relay, &authority).await;
            (tx, result.map_err(Into::into))
        })
        .await
    }

    /// Records that relay `relay` has published (and had confirmed) every
    /// event of `authority` up to `sequence`. A cursor never moves back.
    pub async fn set_relay_cursor(
        &self,
        relay: String,
        authority: LaCode,
        sequence: i64,
    ) -> ServiceResult<()> {
        self.write(move |_, mut tx| async move {
            let result = tx.set_relay_cursor(&relay, &authority, sequence).await;
            (tx, result.map_err(Into::into))
        })
        .await
    }

    /// Changes each time a unit of work of this process commits (a watcher
    /// then reads at once instead of at its next poll; events committed by
    /// other processes are found by polling).
    pub fn commits(&self) -> watch::Receiver<u64> {
        self.commits.subscribe()
    }
}

fn feed_event(authority: &LaCode, e: AuditEvent) -> FeedEvent {
    FeedEvent {
        authority: authority.as_str().to_string(),
        sequence: e.event_id,
        time: e.at,
        action: e.action,
        resource: e.resource,
        actor_subject: e.actor_subject,
        actor_role: e.actor_role,
        request_id: e.request_id,
        details: e.details,
    }
}
