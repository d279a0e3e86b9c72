//! MeasureService: the other measures as cases (docs/measures.md).

use tonic::{Request, Response, Status};

use super::caller::{self, read};
use super::convert::measures::{
    case_event_to_proto, case_events_query, case_query, case_to_proto, open_case_request,
    record_case_event_request,
};
use super::layers::prewalk;
use super::mutation::request_id;
use super::pagination;
use crate::app::App;
use crate::domain::names;
use crate::proto::v1::{self as pb, measure_service_server::MeasureService};

pub struct MeasureApi {
    app: App,
}

impl MeasureApi {
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

#[tonic::async_trait]
impl MeasureService for MeasureApi {
    async fn open_case(
        &self,
        request: Request<pb::OpenCaseRequest>,
    ) -> Result<Response<pb::OpenCaseResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let opening = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            for f in &req.follows {
                caller.check_resource_name(f)?;
            }
            open_case_request(&req)
        });
        let authority = caller.authority.clone();
        let opened = self
            .app
            .open_case(caller, request_id(&req.request_id, &req), opening)
            .await?;
        Ok(Response::new(pb::OpenCaseResponse {
            measure_case: Some(case_to_proto(&authority, &opened)),
        }))
    }

    async fn record_case_event(
        &self,
        request: Request<pb::RecordCaseEventRequest>,
    ) -> Result<Response<pb::RecordCaseEventResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let change = read(|| {
            prewalk::check(&req)?;
            caller.check_resource_name(&req.name)?;
            record_case_event_request(&req)
        });
        let authority = caller.authority.clone();
        let changed = self
            .app
            .record_case_event(caller, request_id(&req.request_id, &req), change)
            .await?;
        Ok(Response::new(pb::RecordCaseEventResponse {
            measure_case: Some(case_to_proto(&authority, &changed)),
        }))
    }

    async fn get_case(
        &self,
        request: Request<pb::GetCaseRequest>,
    ) -> Result<Response<pb::GetCaseResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let number = read(|| {
            prewalk::check(&req)?;
            caller.check_resource_name(&req.name)?;
            Ok(names::parse_case("name", &req.name)?.1)
        });
        let authority = caller.authority.clone();
        let found = self.app.get_case(caller, number).await?;
        Ok(Response::new(pb::GetCaseResponse {
            measure_case: Some(case_to_proto(&authority, &found)),
        }))
    }

    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let asked = || {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            case_query(&req)
        };
        let listing = asked().map(|page| (page.query, page.after.unwrap_or(0), page.size + 1));
        let authority = caller.authority.clone();
        let found = self.app.list_cases(caller.clone(), listing).await?;
        // Pure, and its errors were answered above: read again for the paging.
        let page = asked()?;
        let (found, next_page_token) =
            pagination::page(found, page.size, &page.filter, |c| c.number.to_string());
        Ok(Response::new(pb::ListCasesResponse {
            cases: found.iter().map(|c| case_to_proto(&authority, c)).collect(),
            next_page_token,
        }))
    }

    async fn list_case_events(
        &self,
        request: Request<pb::ListCaseEventsRequest>,
    ) -> Result<Response<pb::ListCaseEventsResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let asked = || {
            prewalk::check(&req)?;
            caller.check_resource_name(&req.name)?;
            case_events_query(&req)
        };
        let listing = asked().map(|page| (page.query, page.after.unwrap_or(0), page.size + 1));
        let found = self.app.list_case_events(caller.clone(), listing).await?;
        let page = asked()?;
        let (found, next_page_token) =
            pagination::page(found, page.size, &page.filter, |e| e.sequence.to_string());
        Ok(Response::new(pb::ListCaseEventsResponse {
            events: found.iter().map(case_event_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn render_prosecution_file(
        &self,
        request: Request<pb::RenderProsecutionFileRequest>,
    ) -> Result<Response<pb::RenderProsecutionFileResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let number = read(|| {
            prewalk::check(&req)?;
            caller.check_resource_name(&req.name)?;
            Ok(names::parse_case("name", &req.name)?.1)
        });
        let pdf = self.app.render_prosecution_file(caller, number).await?;
        Ok(Response::new(pb::RenderProsecutionFileResponse {
            page_count: i32::try_from(pdf.page_count).unwrap_or(i32::MAX),
            content: pdf.bytes,
            content_type: "application/pdf".into(),
        }))
    }
}
