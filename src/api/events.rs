//! EventService: the authority's event feed as a server stream.
//!
//! A call reads its first page before it answers (so a bad cursor is the
//! call's status), then a task of its own follows the log: it reads a page (one
//! read-only unit of work, see `app::events`), sends it, and when it has
//! caught up waits for a commit of this server (gathered: at most a page a
//! [`EVENT_GATHER_INTERVAL`]), the next poll (events other
//! replicas commit) or the end. What it holds is bounded: a channel of two
//! responses of at most [`RESPONSE_BYTES`] each, and the page being sent; a
//! client that reads slowly makes the task wait, never buffer. The call keeps
//! its place under the server's call limit (`shedding`) until it ends, at the
//! call's deadline (the server's request timeout or the caller's, whichever is
//! sooner: then OK, and the client watches again from its last cursor), when
//! the client leaves, or when the server begins to shut down (UNAVAILABLE).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use super::caller;
use super::convert::events::{feed_event_to_proto, watch_request};
use super::layers::prewalk;
use crate::app::call::Call;
use crate::app::{App, Caller, EventPage, ServiceError};
use crate::domain::{events::TypeFilter, names};
use crate::proto::v1::{self as pb, event_service_server::EventService};

/// How often a stream that has caught up looks for events committed by other
/// servers (its own server's commits wake it at once). One poll is a page
/// read that finds nothing: the chain head's row, by its key.
pub const EVENT_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// A stream woken by its server's commits reads a page at most this often.
/// Under a steady write load every commit woke it for a page of one event: a
/// read per write, a fifth of IssuePenaltyNotice's rate (BENCHMARKS.md, session
/// 17). Waiting this long after its last read takes every commit meanwhile in
/// one page; a stream idle for this long reads at once.
pub const EVENT_GATHER_INTERVAL: Duration = Duration::from_millis(100);

/// A response holds events up to about this many bytes of JSON (a notice's
/// event, with the notice in its details, is a few kilobytes), far below the
/// message limit.
pub const RESPONSE_BYTES: usize = 1024 * 1024;

pub struct EventApi {
    app: App,
    poll: Duration,
    stopping: watch::Receiver<bool>,
}

impl EventApi {
    /// The feed on `app`; streams end when `stopping` turns true (the server
    /// shutting down).
    pub fn new(app: App, stopping: watch::Receiver<bool>) -> Self {
        Self {
            app,
            poll: EVENT_POLL_INTERVAL,
            stopping,
        }
    }
}

#[tonic::async_trait]
impl EventService for EventApi {
    async fn watch_events(
        &self,
        request: Request<pb::WatchEventsRequest>,
    ) -> Result<Response<BoxStream<pb::WatchEventsResponse>>, Status> {
        let caller = caller::identify(&request)?;
        let call = request.extensions().get::<Arc<Call>>().cloned();
        let req = request.into_inner();
        let asked = caller::read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            names::parse_authority("parent", &req.parent)?;
            watch_request(&req).map_err(ServiceError::InvalidArgument)
        });
        let (start_after, filter) = self.app.open_event_feed(&caller, asked)?;
        let first = self
            .app
            .watch_events_page(&caller, start_after, &filter)
            .await?;
        let (answers, receiver) = mpsc::channel(2);
        let follow = Follow {
            app: self.app.clone(),
            caller,
            filter,
            stop_at: req.stop_when_caught_up.then_some(first.head),
            deadline: call.as_ref().and_then(|c| c.deadline()),
            poll: self.poll,
            last_read: Instant::now(),
            stopping: self.stopping.clone(),
            answers,
        };
        let work = follow
            .run(start_after, first)
            .instrument(tracing::Span::current());
        match call {
            Some(call) => tokio::spawn(crate::app::call::scope(call, work)),
            None => tokio::spawn(work),
        };
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }
}

/// One WatchEvents stream's work.
struct Follow {
    app: App,
    caller: Caller,
    filter: TypeFilter,
    /// End (OK) once the cursor reaches this (`stop_when_caught_up`).
    stop_at: Option<i64>,
    deadline: Option<Instant>,
    poll: Duration,
    /// When it last read a page (see [`EVENT_GATHER_INTERVAL`]).
    last_read: Instant,
    stopping: watch::Receiver<bool>,
    answers: mpsc::Sender<Result<pb::WatchEventsResponse, Status>>,
}

/// Why a stream stops following.
enum End {
    /// Its deadline, `stop_when_caught_up`, or the client gone: the stream
    /// ends OK (if anyone still listens).
    Done,
    /// A status to end it with.
    Failed(Status),
}

impl Follow {
    async fn run(mut self, start_after: i64, first: EventPage) {
        let mut commits = self.app.commits();
        commits.borrow_and_update();
        let mut sent = start_after;
        let mut page = first;
        let end = loop {
            if !self.send(&page, &mut sent).await {
                break End::Done; // the client went away
            }
            if self.stop_at.is_some_and(|stop| sent >= stop) {
                break End::Done;
            }
            if page.cursor >= page.head
                && let Some(end) = self.wait(&mut commits).await
            {
                break end;
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                break End::Done;
            }
            // Checked between pages too: a long catch-up ends at shutdown.
            if *self.stopping.borrow() {
                break End::Failed(shutting_down());
            }
            commits.borrow_and_update();
            self.last_read = Instant::now();
            page = match self
                .app
                .watch_events_page(&self.caller, sent, &self.filter)
                .await
            {
                Ok(page) => page,
                // The call ended (deadline, client gone) before the read began.
                Err(ServiceError::NotStarted(_)) => break End::Done,
                Err(e) => break End::Failed(Status::from(e)),
            };
        };
        tracing::debug!(cursor = sent, "event stream finished");
        if let End::Failed(status) = end {
            let _ = self.answers.send(Err(status)).await;
        }
    }

    /// Sends `page` in responses of at most [`RESPONSE_BYTES`] of events, or
    /// only its cursor when it moved past events this caller does not see.
    /// False when the client has gone.
    async fn send(&self, page: &EventPage, sent: &mut i64) -> bool {
        if page.events.is_empty() && page.cursor <= *sent {
            return true;
        }
        let mut batch = Vec::new();
        let mut bytes = 0;
        for (i, event) in page.events.iter().enumerate() {
            let event = feed_event_to_proto(event);
            bytes += event.cloud_event_json.len() + event.data_json.len();
            batch.push(event);
            let last = i + 1 == page.events.len();
            if bytes >= RESPONSE_BYTES && !last {
                let cursor = batch.last().map_or(*sent, |e| e.sequence);
                let events = std::mem::take(&mut batch);
                bytes = 0;
                if !self.answer(events, cursor).await {
                    return false;
                }
                *sent = cursor;
            }
        }
        if !self.answer(batch, page.cursor).await {
            return false;
        }
        *sent = page.cursor;
        true
    }

    async fn answer(&self, events: Vec<pb::FeedEvent>, cursor: i64) -> bool {
        let response = pb::WatchEventsResponse { events, cursor };
        self.answers.send(Ok(response)).await.is_ok()
    }

    /// Waits for something to read (see [`wait_to_read`]).
    async fn wait(&mut self, commits: &mut watch::Receiver<u64>) -> Option<End> {
        wait_to_read(
            commits,
            self.poll,
            self.deadline,
            self.last_read,
            &self.answers,
            &mut self.stopping,
        )
        .await
    }
}

/// A caught-up stream's wait for something to read: a commit of this server
/// (but not sooner than [`EVENT_GATHER_INTERVAL`] after `last_read`), the next
/// `poll`, or the deadline. `Some` when the stream must end instead: the
/// client gone (`answers` closed) or the server stopping.
async fn wait_to_read(
    commits: &mut watch::Receiver<u64>,
    poll: Duration,
    deadline: Option<Instant>,
    last_read: Instant,
    answers: &mpsc::Sender<Result<pb::WatchEventsResponse, Status>>,
    stopping: &mut watch::Receiver<bool>,
) -> Option<End> {
    let deadline = deadline.unwrap_or_else(|| Instant::now() + poll);
    let gathered = last_read + EVENT_GATHER_INTERVAL;
    let stopping = async move {
        if stopping.wait_for(|s| *s).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(stopping);
    tokio::select! {
        _ = commits.changed() => {}
        _ = tokio::time::sleep(poll) => return None,
        _ = tokio::time::sleep_until(deadline) => return None,
        _ = answers.closed() => return Some(End::Done),
        _ = &mut stopping => return Some(End::Failed(shutting_down())),
    }
    tokio::select! {
        _ = tokio::time::sleep_until(gathered.min(deadline)) => None,
        _ = answers.closed() => Some(End::Done),
        _ = stopping => Some(End::Failed(shutting_down())),
    }
}

fn shutting_down() -> Status {
    Status::unavailable("the server is shutting down: watch again from the last cursor")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream's channels, kept open, and when it woke after a commit sent
    /// `commit_after` from the start, having last read `read_before` earlier.
    async fn woke_after(read_before: Duration, commit_after: Duration) -> (Duration, bool) {
        let (commit, mut commits) = watch::channel(0_u64);
        let (answers, _receiver) = mpsc::channel(2);
        let (_stop, mut stopping) = watch::channel(false);
        let start = Instant::now();
        let last_read = start - read_before;
        let committer = tokio::spawn(async move {
            tokio::time::sleep(commit_after).await;
            commit.send_modify(|n| *n += 1);
            commit
        });
        let end = wait_to_read(
            &mut commits,
            EVENT_POLL_INTERVAL,
            None,
            last_read,
            &answers,
            &mut stopping,
        )
        .await;
        let woke = start.elapsed();
        committer.abort();
        (woke, end.is_none())
    }

    #[tokio::test(start_paused = true)]
    async fn commits_soon_after_a_read_are_read_together_after_the_gathering_interval() {
        let (woke, read) = woke_after(Duration::ZERO, Duration::from_millis(10)).await;
        assert!(read);
        assert_eq!(woke, EVENT_GATHER_INTERVAL);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_idle_for_the_gathering_interval_reads_at_the_commit() {
        let (woke, read) = woke_after(Duration::from_secs(1), Duration::from_millis(10)).await;
        assert!(read);
        assert_eq!(woke, Duration::from_millis(10));
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_commit_a_stream_reads_at_the_poll() {
        let (woke, read) = woke_after(Duration::ZERO, Duration::from_secs(60)).await;
        assert!(read);
        assert_eq!(woke, EVENT_POLL_INTERVAL);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_ends_when_its_client_leaves_while_gathering() {
        let (commit, mut commits) = watch::channel(0_u64);
        let (answers, receiver) = mpsc::channel(2);
        let (_stop, mut stopping) = watch::channel(false);
        commit.send_modify(|n| *n += 1);
        let leaving = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            drop(receiver);
        });
        let start = Instant::now();
        let end = wait_to_read(
            &mut commits,
            EVENT_POLL_INTERVAL,
            None,
            start,
            &answers,
            &mut stopping,
        )
        .await;
        leaving.await.unwrap();
        assert!(matches!(end, Some(End::Done)));
        assert_eq!(start.elapsed(), Duration::from_millis(20));
    }
}
