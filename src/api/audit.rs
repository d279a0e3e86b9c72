//! AuditService: the authority's whole audit log and its hash chain.

use tonic::{Request, Response, Status};

use super::caller::{self, read};
use super::convert::audit::{
    audit_event_to_proto, audit_page, checkpoint_from_proto, checkpoint_to_proto,
    verification_to_proto,
};
use super::layers::prewalk;
use super::pagination;
use crate::app::App;
use crate::domain::names;
use crate::proto::v1::{self as pb, audit_service_server::AuditService};

pub struct AuditApi {
    app: App,
}

impl AuditApi {
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let asked = || {
            caller.check_parent_name(&req.parent)?;
            audit_page(&req)
        };
        let listing = asked().map(|page| (page.query, page.after.unwrap_or(0), page.size + 1));
        let fetched = self.app.list_audit_events(caller.clone(), listing).await?;
        // Pure, and its errors were answered above: read again for the paging.
        let page = asked()?;
        let (events, next_page_token) =
            pagination::page(fetched, page.size, &page.filter, |last| {
                last.event_id.to_string()
            });
        Ok(Response::new(pb::ListAuditEventsResponse {
            audit_events: events.into_iter().map(audit_event_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn verify_audit_trail(
        &self,
        request: Request<pb::VerifyAuditTrailRequest>,
    ) -> Result<Response<pb::VerifyAuditTrailResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let checkpoint = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            names::parse_authority("parent", &req.parent)?;
            req.checkpoint
                .as_ref()
                .map(checkpoint_from_proto)
                .transpose()
        });
        let summary = self.app.verify_audit_trail(caller, checkpoint).await?;
        Ok(Response::new(verification_to_proto(summary)))
    }

    async fn create_audit_checkpoint(
        &self,
        request: Request<pb::CreateAuditCheckpointRequest>,
    ) -> Result<Response<pb::CreateAuditCheckpointResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let parent = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            names::parse_authority("parent", &req.parent)?;
            Ok(())
        });
        let signed = self.app.create_audit_checkpoint(caller, parent).await?;
        Ok(Response::new(pb::CreateAuditCheckpointResponse {
            audit_checkpoint: Some(checkpoint_to_proto(&signed)),
        }))
    }
}
