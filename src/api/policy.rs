//! PolicyService: each authority's versioned local code of conduct.

use tonic::{Request, Response, Status};

use super::caller::{self, read};
use super::convert::letters::{new_settings, settings_date, settings_to_proto};
use super::convert::policy::{new_version, policy_date, version_page, version_to_proto};
use super::convert::retention::{new_retention, retention_date, retention_to_proto};
use super::convert::sharing::{new_sharing, sharing_date, sharing_to_proto};
use super::layers::prewalk;
use super::mutation::request_id;
use super::pagination;
use crate::app::App;
use crate::proto::v1::{self as pb, policy_service_server::PolicyService};

pub struct PolicyApi {
    app: App,
}

impl PolicyApi {
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

#[tonic::async_trait]
impl PolicyService for PolicyApi {
    async fn create_policy_version(
        &self,
        request: Request<pb::CreatePolicyVersionRequest>,
    ) -> Result<Response<pb::CreatePolicyVersionResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let version = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            new_version(&req)
        });
        let authority = caller.authority.clone();
        let id = request_id(&req.request_id, &req);
        let version = self.app.create_policy_version(caller, id, version).await?;
        Ok(Response::new(pb::CreatePolicyVersionResponse {
            policy_version: Some(version_to_proto(&authority, &version)),
        }))
    }

    async fn get_policy(
        &self,
        request: Request<pb::GetPolicyRequest>,
    ) -> Result<Response<pb::GetPolicyResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let on = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            policy_date(&req)
        });
        let authority = caller.authority.clone();
        let version = self.app.policy_on(caller, on).await?;
        Ok(Response::new(pb::GetPolicyResponse {
            policy_version: Some(version_to_proto(&authority, &version)),
        }))
    }

    async fn list_policy_versions(
        &self,
        request: Request<pb::ListPolicyVersionsRequest>,
    ) -> Result<Response<pb::ListPolicyVersionsResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let asked = || {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            version_page(&req)
        };
        let listing = asked().map(|page| (page.after, page.size + 1));
        let authority = caller.authority.clone();
        let fetched = self
            .app
            .list_policy_versions(caller.clone(), listing)
            .await?;
        // Pure, and its errors were answered above: read again for the paging.
        let page = asked()?;
        let (versions, next_page_token) =
            pagination::page(fetched, page.size, &page.filter, |last| {
                last.effective_from.to_string()
            });
        Ok(Response::new(pb::ListPolicyVersionsResponse {
            policy_versions: versions
                .iter()
                .map(|v| version_to_proto(&authority, v))
                .collect(),
            next_page_token,
        }))
    }

    async fn create_authority_settings(
        &self,
        request: Request<pb::CreateAuthoritySettingsRequest>,
    ) -> Result<Response<pb::CreateAuthoritySettingsResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let settings = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            new_settings(&req)
        });
        let authority = caller.authority.clone();
        let id = request_id(&req.request_id, &req);
        let settings = self
            .app
            .create_authority_settings(caller, id, settings)
            .await?;
        Ok(Response::new(pb::CreateAuthoritySettingsResponse {
            settings: Some(settings_to_proto(&authority, &settings)),
        }))
    }

    async fn get_authority_settings(
        &self,
        request: Request<pb::GetAuthoritySettingsRequest>,
    ) -> Result<Response<pb::GetAuthoritySettingsResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let on = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            settings_date(&req)
        });
        let authority = caller.authority.clone();
        let settings = self.app.authority_settings_on(caller, on).await?;
        Ok(Response::new(pb::GetAuthoritySettingsResponse {
            settings: Some(settings_to_proto(&authority, &settings)),
        }))
    }

    async fn create_sharing_agreement_version(
        &self,
        request: Request<pb::CreateSharingAgreementVersionRequest>,
    ) -> Result<Response<pb::CreateSharingAgreementVersionResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let version = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            new_sharing(&req)
        });
        let authority = caller.authority.clone();
        let id = request_id(&req.request_id, &req);
        let version = self
            .app
            .create_sharing_agreement_version(caller, id, version)
            .await?;
        Ok(Response::new(pb::CreateSharingAgreementVersionResponse {
            sharing_agreement_version: Some(sharing_to_proto(&authority, &version)),
        }))
    }

    async fn get_sharing_agreement(
        &self,
        request: Request<pb::GetSharingAgreementRequest>,
    ) -> Result<Response<pb::GetSharingAgreementResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let on = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            sharing_date(&req)
        });
        let authority = caller.authority.clone();
        let version = self.app.sharing_agreement_on(caller, on).await?;
        Ok(Response::new(pb::GetSharingAgreementResponse {
            sharing_agreement_version: version.map(|v| sharing_to_proto(&authority, &v)),
        }))
    }

    async fn create_retention_policy_version(
        &self,
        request: Request<pb::CreateRetentionPolicyVersionRequest>,
    ) -> Result<Response<pb::CreateRetentionPolicyVersionResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let version = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            new_retention(&req)
        });
        let authority = caller.authority.clone();
        let id = request_id(&req.request_id, &req);
        let version = self
            .app
            .create_retention_policy_version(caller, id, version)
            .await?;
        Ok(Response::new(pb::CreateRetentionPolicyVersionResponse {
            retention_policy_version: Some(retention_to_proto(&authority, &version)),
        }))
    }

    async fn get_retention_policy(
        &self,
        request: Request<pb::GetRetentionPolicyRequest>,
    ) -> Result<Response<pb::GetRetentionPolicyResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let on = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            retention_date(&req)
        });
        let authority = caller.authority.clone();
        let version = self.app.retention_policy_on(caller, on).await?;
        Ok(Response::new(pb::GetRetentionPolicyResponse {
            retention_policy_version: Some(retention_to_proto(&authority, &version)),
        }))
    }
}
