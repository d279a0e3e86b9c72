//! AttendanceService: session registers from MIS connectors, attendance figures
//! and the pupils at the unauthorised-absence threshold.

use tonic::{Request, Response, Status, Streaming};

use super::convert::attendance::{
    breaches_request, counts_to_proto, history_request, history_to_proto, marks_batch,
    summary_request, summary_to_proto,
};
use super::mutation::request_id;
use super::{caller, limits, pagination};
use crate::app::{App, Caller, ServiceError, SummaryScope};
use crate::domain::{FieldViolation, access::Operation, attendance::MarkCounts};
use crate::proto::v1::{self as pb, attendance_service_server::AttendanceService};

pub use super::convert::attendance::MAX_MARKS_PER_BATCH;

pub struct AttendanceApi {
    app: App,
}

impl AttendanceApi {
    pub fn new(app: App) -> Self {
        Self { app }
    }

    /// Validates and writes one batch in its own unit of work. The error names
    /// the batch, so a client can tell which rows `marks[i]` are.
    async fn record_batch(
        &self,
        caller: &Caller,
        batch: &pb::RecordMarksRequest,
    ) -> Result<MarkCounts, Status> {
        let recorded = async {
            limits::check(batch)?;
            let marks = marks_batch(batch, self.app.now())?;
            let id = request_id(&batch.request_id, batch);
            self.app.record_marks(caller.clone(), id, marks).await
        };
        recorded.await.map_err(|e| {
            let status = Status::from(e);
            Status::with_details(
                status.code(),
                format!("batch {}: {}", batch.request_id, status.message()),
                status.details().to_vec().into(),
            )
        })
    }
}

#[tonic::async_trait]
impl AttendanceService for AttendanceApi {
    async fn record_marks(
        &self,
        request: Request<Streaming<pb::RecordMarksRequest>>,
    ) -> Result<Response<pb::RecordMarksResponse>, Status> {
        let caller = caller::authorize(&request, Operation::RecordMarks)?;
        let mut stream = request.into_inner();
        let mut totals = MarkCounts::default();
        let mut batches = 0;
        let mut parent: Option<String> = None;
        while let Some(batch) = stream.message().await? {
            caller.check_parent_name(&batch.parent)?;
            if parent.get_or_insert_with(|| batch.parent.clone()) != &batch.parent {
                return Err(ServiceError::from(FieldViolation::new(
                    "parent",
                    "every message of a stream must name the same authority",
                ))
                .into());
            }
            totals.add(self.record_batch(&caller, &batch).await?);
            batches += 1;
        }
        Ok(Response::new(counts_to_proto(totals, batches)))
    }

    async fn get_attendance_summary(
        &self,
        request: Request<pb::GetAttendanceSummaryRequest>,
    ) -> Result<Response<pb::GetAttendanceSummaryResponse>, Status> {
        let caller = caller::authorize(&request, Operation::ReadAttendance)?;
        let req = request.into_inner();
        limits::check(&req)?;
        caller.check_parent_name(&req.parent)?;
        let (scope, start, end) = summary_request(&req)?;
        let per_enrolment = matches!(scope, SummaryScope::Pupil { .. });
        let summary = self
            .app
            .attendance_summary(caller, scope, start, end)
            .await?;
        Ok(Response::new(summary_to_proto(&summary, per_enrolment)))
    }

    async fn list_threshold_breaches(
        &self,
        request: Request<pb::ListThresholdBreachesRequest>,
    ) -> Result<Response<pb::ListThresholdBreachesResponse>, Status> {
        let caller = caller::authorize(&request, Operation::ReadAttendance)?;
        let req = request.into_inner();
        limits::check(&req)?;
        caller.check_parent_name(&req.parent)?;
        let page = breaches_request(&req)?;
        let (as_of, school) = page.query;
        let after = page.after.unwrap_or_default();
        let found = self
            .app
            .threshold_breaches(caller, school, as_of, after, page.size as usize + 1)
            .await?;
        let (breaches, next_page_token) =
            pagination::page(found, page.size, &page.filter, |b| b.upn.clone());
        Ok(Response::new(pb::ListThresholdBreachesResponse {
            threshold_breaches: breaches.iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn get_mark_history(
        &self,
        request: Request<pb::GetMarkHistoryRequest>,
    ) -> Result<Response<pb::GetMarkHistoryResponse>, Status> {
        let caller = caller::authorize(&request, Operation::ReadAttendance)?;
        let req = request.into_inner();
        limits::check(&req)?;
        caller.check_parent_name(&req.parent)?;
        let (pupil, day, session) = history_request(&req)?;
        let marks = self.app.mark_history(caller, pupil, day, session).await?;
        Ok(Response::new(history_to_proto(marks)))
    }
}
