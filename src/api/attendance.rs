//! AttendanceService: session registers from MIS connectors, attendance figures
//! and the pupils at the unauthorised-absence threshold.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status, Streaming};
use tonic_types::StatusExt;
use tracing::Instrument;

use super::caller::{self, read};
use super::convert::attendance::{
    batch_result_to_proto, breaches_request, history_request, history_to_proto, marks_batch,
    records_to_proto, summary_request, summary_to_proto,
};
use super::convert::breaches::{
    decision_fields, decision_request, position_from_cursor, position_to_cursor,
};
use super::convert::sen_counts_to_proto;
use super::error::ERROR_DOMAIN;
use super::layers::prewalk;
use super::mutation::request_id;
use super::pagination;
use crate::app::{App, Caller, FoundBreach, ServiceError, SummaryScope, call::Call};
use crate::domain::{FieldViolation, identifiers::LaCode, sen::SenCounts};
use crate::proto::v1::{self as pb, attendance_service_server::AttendanceService};

pub use super::convert::attendance::MAX_MARKS_PER_BATCH;

/// A breach with its state, decision and name.
fn breach_to_proto(authority: &LaCode, b: &FoundBreach) -> pb::ThresholdBreach {
    let mut out = pb::ThresholdBreach::from(b);
    decision_fields(authority, b, &mut out);
    out
}

/// `ErrorInfo.reason` of a stream stopped by a batch that was not committed.
const BATCH_NOT_COMMITTED: &str = "BATCH_NOT_COMMITTED";
/// `ErrorInfo.reason` of a stream that broke between batches (bad framing, reset).
const STREAM_FAILED: &str = "STREAM_FAILED";
/// `ErrorInfo.reason` of a RecordMarksStream call ended by its time limit.
const STREAM_TIME_LIMIT: &str = "STREAM_TIME_LIMIT";

pub struct AttendanceApi {
    app: App,
    /// How long one RecordMarksStream call takes batches for. Tonic's request
    /// timeout ends when a streaming response starts, so the stream keeps its own.
    stream_time_limit: Duration,
}

impl AttendanceApi {
    pub fn new(app: App, stream_time_limit: Duration) -> Self {
        Self {
            app,
            stream_time_limit,
        }
    }
}

/// The batches of one stream so far: the authority they name and what each
/// committed, in order.
#[derive(Default)]
struct Batches {
    parent: Option<String>,
    committed: Vec<pb::BatchResult>,
}

impl Batches {
    /// Validates and writes one batch in its own unit of work: its result, or
    /// the status that ends the stream, naming the batch so a client can tell
    /// which rows `marks[i]` are.
    async fn record(
        &mut self,
        app: &App,
        caller: &Caller,
        batch: &pb::RecordMarksRequest,
    ) -> Result<pb::BatchResult, Status> {
        let marks = read(|| {
            prewalk::check(batch)?;
            caller.check_parent_name(&batch.parent)?;
            if self.parent.get_or_insert_with(|| batch.parent.clone()) != &batch.parent {
                return Err(ServiceError::from(FieldViolation::new(
                    "parent",
                    "every message of a stream must name the same authority",
                )));
            }
            marks_batch(batch, app.now())
        });
        let id = request_id(&batch.request_id, batch);
        match app.record_marks(caller.clone(), id, marks).await {
            Ok(counts) => {
                let result = batch_result_to_proto(&batch.request_id, counts);
                self.committed.push(result.clone());
                Ok(result)
            }
            // The call's deadline passed (or its caller left) before the
            // batch's unit began: nothing of it was written, and it is the
            // call's end, not the batch's refusal.
            Err(e @ ServiceError::NotStarted(_)) => {
                Err(self.stopped(Status::from(e), Some(&batch.request_id), STREAM_TIME_LIMIT))
            }
            Err(e) => Err(self.stopped(
                Status::from(e),
                Some(&batch.request_id),
                BATCH_NOT_COMMITTED,
            )),
        }
    }

    /// The end of a stream that could not read its next batch: a batch over
    /// the request limits, refused before it was decoded (`prewalk`), is named
    /// as any refused batch is; anything else is the stream's.
    fn broke(&self, status: Status) -> Status {
        if let Some(refusal) = prewalk::refusal_of(&status) {
            let id = refusal.request_id.clone();
            return self.stopped(status, id.as_deref(), BATCH_NOT_COMMITTED);
        }
        self.stopped(status, None, STREAM_FAILED)
    }

    /// `status` as the end of the stream: its message names the batch to blame,
    /// and an ErrorInfo says how many batches committed and the last of them.
    /// The details are rebuilt with the final code and message, so the
    /// google.rpc.Status in them matches the call's status (issue 16).
    fn stopped(&self, status: Status, batch: Option<&str>, reason: &str) -> Status {
        // A message that did not decode is the client's fault.
        let status = crate::api::layers::undecodable::client_fault(&status).unwrap_or(status);
        let message = match batch {
            Some(id) => format!("batch {id}: {}", status.message()),
            None => status.message().to_string(),
        };
        let mut details = status.get_error_details();
        let (reason, domain, mut metadata) = match details.error_info() {
            Some(info) => (
                info.reason.clone(),
                info.domain.clone(),
                info.metadata.clone(),
            ),
            None => (
                reason.to_string(),
                ERROR_DOMAIN.to_string(),
                Default::default(),
            ),
        };
        metadata.insert(
            "committed_batches".to_string(),
            self.committed.len().to_string(),
        );
        if let Some(last) = self.committed.last() {
            metadata.insert("last_committed_batch".to_string(), last.request_id.clone());
        }
        details.set_error_info(reason, domain, metadata);
        Status::with_error_details(status.code(), message, details)
    }
}

/// RecordMarksStream's work, on its own task: writes and answers each batch
/// until the client closes its side, a batch fails or the time limit passes.
async fn answer_batches(
    app: App,
    caller: Caller,
    mut stream: Streaming<pb::RecordMarksStreamRequest>,
    (time_limit, call_deadline): (Duration, Option<tokio::time::Instant>),
    answers: mpsc::Sender<Result<pb::RecordMarksStreamResponse, Status>>,
) {
    // The caller's deadline, when sooner, ends the stream the same way.
    let own = tokio::time::Instant::now() + time_limit;
    let deadline = call_deadline.map_or(own, |d| d.min(own));
    let mut batches = Batches::default();
    let end = loop {
        // Checked before reading: a message already buffered would beat the timer.
        if tokio::time::Instant::now() >= deadline {
            break Some(batches.stopped(time_limit_reached(time_limit), None, STREAM_TIME_LIMIT));
        }
        let batch = match tokio::time::timeout_at(deadline, stream.message()).await {
            Err(_) => continue,
            Ok(Err(status)) => break Some(batches.broke(status)),
            Ok(Ok(None)) => break None,
            Ok(Ok(Some(b))) => pb::RecordMarksRequest {
                parent: b.parent,
                request_id: b.request_id,
                marks: b.marks,
                sen_statuses: b.sen_statuses,
            },
        };
        let answer = match batches.record(&app, &caller, &batch).await {
            Ok(result) => pb::RecordMarksStreamResponse {
                batch_result: Some(result),
            },
            Err(status) => break Some(status),
        };
        if answers.send(Ok(answer)).await.is_err() {
            break None; // the client went away; what committed stays committed
        }
    };
    let code = end.as_ref().map_or(tonic::Code::Ok, Status::code);
    tracing::info!(
        batches = batches.committed.len(),
        ?code,
        "marks stream finished"
    );
    if let Some(status) = end {
        let _ = answers.send(Err(status)).await;
    }
}

fn time_limit_reached(limit: Duration) -> Status {
    Status::deadline_exceeded(format!(
        "a call takes batches for {:.1} s: send the unanswered batches on a new call",
        limit.as_secs_f64()
    ))
}

#[tonic::async_trait]
impl AttendanceService for AttendanceApi {
    async fn record_marks(
        &self,
        request: Request<Streaming<pb::RecordMarksRequest>>,
    ) -> Result<Response<pb::RecordMarksResponse>, Status> {
        let caller = caller::identify(&request)?;
        self.app.open_marks_stream(&caller)?;
        // The call is cut at its deadline, and a cut call cannot say what it
        // committed: it stops taking batches a tenth of its time before, and
        // says so (as RecordMarksStream does at its time limit).
        let started = tokio::time::Instant::now();
        let deadline = request
            .extensions()
            .get::<Arc<Call>>()
            .and_then(|c| c.deadline())
            .map(|d| started + d.saturating_duration_since(started).mul_f64(0.9));
        let mut stream = request.into_inner();
        let mut batches = Batches::default();
        loop {
            let next = match deadline {
                Some(d) if tokio::time::Instant::now() >= d => None,
                Some(d) => tokio::time::timeout_at(d, stream.message()).await.ok(),
                None => Some(stream.message().await),
            };
            let batch = match next {
                Some(Ok(Some(batch))) => batch,
                Some(Ok(None)) => break,
                Some(Err(status)) => return Err(batches.broke(status)),
                None => {
                    let limit = deadline.map_or(Duration::ZERO, |d| d - started);
                    let status = time_limit_reached(limit);
                    return Err(batches.stopped(status, None, STREAM_TIME_LIMIT));
                }
            };
            batches.record(&self.app, &caller, &batch).await?;
        }
        Ok(Response::new(records_to_proto(batches.committed)))
    }

    async fn record_marks_stream(
        &self,
        request: Request<Streaming<pb::RecordMarksStreamRequest>>,
    ) -> Result<Response<BoxStream<pb::RecordMarksStreamResponse>>, Status> {
        let caller = caller::identify(&request)?;
        self.app.open_marks_stream(&caller)?;
        // The batches' units check the call and hold its permit, as a unary
        // call's do: the call lasts until its last answer.
        let call = request.extensions().get::<Arc<Call>>().cloned();
        // Answers wait for the client to read them, so a slow reader slows the writes.
        let (answers, receiver) = mpsc::channel(2);
        let work = answer_batches(
            self.app.clone(),
            caller,
            request.into_inner(),
            (
                self.stream_time_limit,
                call.as_ref().and_then(|c| c.deadline()),
            ),
            answers,
        )
        .instrument(tracing::Span::current());
        match call {
            Some(call) => tokio::spawn(crate::app::call::scope(call, work)),
            None => tokio::spawn(work),
        };
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }

    async fn get_attendance_summary(
        &self,
        request: Request<pb::GetAttendanceSummaryRequest>,
    ) -> Result<Response<pb::GetAttendanceSummaryResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let asked = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            summary_request(&req)
        });
        let per_enrolment = matches!(&asked, Ok((SummaryScope::Pupil { .. }, ..)));
        let summary = self.app.attendance_summary(caller, asked).await?;
        Ok(Response::new(summary_to_proto(&summary, per_enrolment)))
    }

    async fn list_threshold_breaches(
        &self,
        request: Request<pb::ListThresholdBreachesRequest>,
    ) -> Result<Response<pb::ListThresholdBreachesResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let asked = || {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            breaches_request(&req)
        };
        let listing = asked().map(|page| {
            let after = page
                .after
                .as_deref()
                .map(position_from_cursor)
                .unwrap_or_default();
            (page.query, after, page.size as usize + 1)
        });
        let authority = caller.authority.clone();
        let found = self.app.threshold_breaches(caller.clone(), listing).await?;
        // Pure, and its errors were answered above: read again for the paging.
        let page = asked()?;
        let (breaches, next_page_token) = pagination::page(found, page.size, &page.filter, |b| {
            position_to_cursor(&b.position())
        });
        let sen_counts = SenCounts::of(breaches.iter().map(|b| b.sen_provision));
        Ok(Response::new(pb::ListThresholdBreachesResponse {
            threshold_breaches: breaches
                .iter()
                .map(|b| breach_to_proto(&authority, b))
                .collect(),
            next_page_token,
            sen_counts: Some(sen_counts_to_proto(&sen_counts)),
        }))
    }

    async fn record_breach_decision(
        &self,
        request: Request<pb::RecordBreachDecisionRequest>,
    ) -> Result<Response<pb::RecordBreachDecisionResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let decision = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            decision_request(&req)
        });
        let id = request_id(&req.request_id, &req);
        let authority = caller.authority.clone();
        let found = self
            .app
            .record_breach_decision(caller, id, decision)
            .await?;
        Ok(Response::new(pb::RecordBreachDecisionResponse {
            threshold_breach: Some(breach_to_proto(&authority, &found)),
        }))
    }

    async fn get_mark_history(
        &self,
        request: Request<pb::GetMarkHistoryRequest>,
    ) -> Result<Response<pb::GetMarkHistoryResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let asked = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            history_request(&req)
        });
        let marks = self.app.mark_history(caller, asked).await?;
        Ok(Response::new(history_to_proto(marks)))
    }
}
