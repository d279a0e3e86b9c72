//! DataProtectionService: the access log and subject access exports.

use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};

use super::caller;
use super::convert::data_protection::{
    access_event_to_proto, access_page, export_subject, rectification_to_proto, rectify_request,
};
use super::layers::prewalk;
use super::mutation::request_id;
use super::pagination;
use crate::app::App;
use crate::proto::v1::{self as pb, data_protection_service_server::DataProtectionService};

/// The bytes of an export each response carries: far below the message
/// limit, however large the record.
pub const EXPORT_CHUNK_BYTES: usize = 256 * 1024;

pub struct DataProtectionApi {
    app: App,
}

impl DataProtectionApi {
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

#[tonic::async_trait]
impl DataProtectionService for DataProtectionApi {
    async fn list_access_events(
        &self,
        request: Request<pb::ListAccessEventsRequest>,
    ) -> Result<Response<pb::ListAccessEventsResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let asked = || {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            access_page(&req)
        };
        let listing = asked().map(|page| (page.query, page.after.unwrap_or(0), page.size + 1));
        let fetched = self.app.list_access_events(caller.clone(), listing).await?;
        // Pure, and its errors were answered above: read again for the paging.
        let page = asked()?;
        let (events, next_page_token) =
            pagination::page(fetched, page.size, &page.filter, |last| {
                last.entry_id.to_string()
            });
        Ok(Response::new(pb::ListAccessEventsResponse {
            access_events: events.into_iter().map(access_event_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn export_subject_data(
        &self,
        request: Request<pb::ExportSubjectDataRequest>,
    ) -> Result<Response<BoxStream<pb::ExportSubjectDataResponse>>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let subject = caller::read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            export_subject(&req)
        });
        let export = self.app.export_subject_data(caller, subject).await?;
        let chunks: Vec<_> = export
            .bytes
            .chunks(EXPORT_CHUNK_BYTES)
            .enumerate()
            .map(|(i, chunk)| {
                Ok(pb::ExportSubjectDataResponse {
                    data: chunk.to_vec(),
                    content_type: if i == 0 {
                        export.content_type.to_string()
                    } else {
                        String::new()
                    },
                })
            })
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(chunks))))
    }

    async fn rectify_personal_details(
        &self,
        request: Request<pb::RectifyPersonalDetailsRequest>,
    ) -> Result<Response<pb::RectifyPersonalDetailsResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let asked = caller::read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            rectify_request(&req)
        });
        let id = request_id(&req.request_id, &req);
        let authority = caller.authority.clone();
        let done = self.app.rectify_personal_details(caller, id, asked).await?;
        Ok(Response::new(pb::RectifyPersonalDetailsResponse {
            rectifications: done
                .iter()
                .map(|r| rectification_to_proto(&authority, r))
                .collect(),
        }))
    }
}
