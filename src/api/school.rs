//! SchoolService: each authority's school register (from the DfE's GIAS).

use tonic::{Request, Response, Status};

use super::convert::school::{get_request, import_request, list_request, school_to_proto};
use super::layers::prewalk;
use super::mutation::request_id;
use super::{caller, pagination};
use crate::app::App;
use crate::domain::access::Operation;
use crate::proto::v1::{self as pb, school_service_server::SchoolService};

pub struct SchoolApi {
    app: App,
}

impl SchoolApi {
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

#[tonic::async_trait]
impl SchoolService for SchoolApi {
    async fn import_schools(
        &self,
        request: Request<pb::ImportSchoolsRequest>,
    ) -> Result<Response<pb::ImportSchoolsResponse>, Status> {
        let caller = caller::authorize(&request, Operation::ImportSchools)?;
        let req = request.into_inner();
        prewalk::check(&req)?;
        caller.check_parent_name(&req.parent)?;
        let schools = import_request(&req)?;
        let id = request_id(&req.request_id, &req);
        let counts = self.app.import_schools(caller, id, schools).await?;
        Ok(Response::new(pb::ImportSchoolsResponse {
            added: counts.added,
            changed: counts.changed,
            unchanged: counts.unchanged,
        }))
    }

    async fn get_school(
        &self,
        request: Request<pb::GetSchoolRequest>,
    ) -> Result<Response<pb::GetSchoolResponse>, Status> {
        let caller = caller::authorize(&request, Operation::ReadSchools)?;
        let req = request.into_inner();
        prewalk::check(&req)?;
        caller.check_resource_name(&req.name)?;
        let (urn, version) = get_request(&req)?;
        let authority = caller.authority.clone();
        let (school, version) = self.app.school(caller, urn, version).await?;
        Ok(Response::new(pb::GetSchoolResponse {
            school: Some(school_to_proto(&authority, &school, version)),
        }))
    }

    async fn list_schools(
        &self,
        request: Request<pb::ListSchoolsRequest>,
    ) -> Result<Response<pb::ListSchoolsResponse>, Status> {
        let caller = caller::authorize(&request, Operation::ReadSchools)?;
        let req = request.into_inner();
        prewalk::check(&req)?;
        caller.check_parent_name(&req.parent)?;
        let page = list_request(&req)?;
        let authority = caller.authority.clone();
        let fetched = self
            .app
            .list_schools(caller, page.after, page.size + 1)
            .await?;
        let (schools, next_page_token) =
            pagination::page(fetched, page.size, &page.filter, |(last, _)| {
                last.urn.to_string()
            });
        Ok(Response::new(pb::ListSchoolsResponse {
            schools: schools
                .iter()
                .map(|(s, v)| school_to_proto(&authority, s, *v))
                .collect(),
            next_page_token,
        }))
    }
}
