//! SchoolService: each authority's school register (from the DfE's GIAS).

use tonic::{Request, Response, Status};

use super::caller::{self, read};
use super::convert::school::{get_request, import_request, list_request, school_to_proto};
use super::layers::prewalk;
use super::mutation::request_id;
use super::pagination;
use crate::app::App;
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
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let schools = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            import_request(&req)
        });
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
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let asked = read(|| {
            prewalk::check(&req)?;
            caller.check_resource_name(&req.name)?;
            get_request(&req)
        });
        let authority = caller.authority.clone();
        let (school, version) = self.app.school(caller, asked).await?;
        Ok(Response::new(pb::GetSchoolResponse {
            school: Some(school_to_proto(&authority, &school, version)),
        }))
    }

    async fn list_schools(
        &self,
        request: Request<pb::ListSchoolsRequest>,
    ) -> Result<Response<pb::ListSchoolsResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let asked = || {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            list_request(&req)
        };
        let listing = asked().map(|page| (page.after, page.size + 1));
        let authority = caller.authority.clone();
        let fetched = self.app.list_schools(caller.clone(), listing).await?;
        // Pure, and its errors were answered above: read again for the paging.
        let page = asked()?;
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
