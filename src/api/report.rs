//! ReportService: the returns an authority makes to the DfE.

use tonic::{Request, Response, Status};

use super::caller::{self, read};
use super::convert::report::{return_request, return_to_proto};
use super::layers::prewalk;
use crate::app::App;
use crate::proto::v1::{self as pb, report_service_server::ReportService};

pub struct ReportApi {
    app: App,
}

impl ReportApi {
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

#[tonic::async_trait]
impl ReportService for ReportApi {
    async fn get_statutory_return(
        &self,
        request: Request<pb::GetStatutoryReturnRequest>,
    ) -> Result<Response<pb::GetStatutoryReturnResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let asked = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            return_request(&req)
        });
        let la_code = caller.authority.to_string();
        let (figures, by_sen) = self.app.statutory_return_with_sen(caller, asked).await?;
        Ok(Response::new(return_to_proto(&la_code, &figures, &by_sen)))
    }
}
