//! NoticeService: issuing notices to improve and penalty notices, their
//! lifecycle, and their event history.

use tonic::{Request, Response, Status};

use super::caller::{self, read};
use super::convert::issuing::{notice_to_improve_request, penalty_request};
use super::convert::notice::{
    notice_query, notice_to_proto, prosecution_request, withdraw_request,
};
use super::convert::penalty_notice_requests::{
    decline_request, penalty_notice_request_draft, penalty_notice_request_query,
    penalty_notice_request_to_proto,
};
use super::convert::timestamp_to_proto;
use super::error::Violations;
use super::layers::prewalk;
use super::mutation::request_id;
use super::pagination;
use crate::app::{App, LifecycleChange, Read};
use crate::domain::{FieldViolation, actor::Role, identifiers::LaCode, names, notice::Notice};
use crate::proto::v1::{self as pb, notice_service_server::NoticeService};
use crate::store::AuditEvent;

pub struct NoticeApi {
    app: App,
}

impl NoticeApi {
    pub fn new(app: App) -> Self {
        Self { app }
    }

    fn notices_to_proto(&self, authority: &LaCode, notices: &[Notice]) -> Vec<pb::Notice> {
        let today = self.app.today();
        notices
            .iter()
            .map(|n| notice_to_proto(authority, n, today))
            .collect()
    }

    /// Withdraws a notice or records its prosecution's outcome.
    async fn change(
        &self,
        caller: crate::app::Caller,
        request_id: crate::app::RequestId,
        change: Read<(String, LifecycleChange)>,
    ) -> Result<pb::Notice, Status> {
        let notice = self
            .app
            .change_lifecycle(caller.clone(), request_id, change)
            .await?;
        Ok(notice_to_proto(
            &caller.authority,
            &notice,
            self.app.today(),
        ))
    }
}

fn event_to_proto(e: AuditEvent) -> pb::NoticeEvent {
    pb::NoticeEvent {
        event_id: e.event_id,
        event_time: Some(timestamp_to_proto(e.at)),
        actor: Some(pb::Actor {
            subject: e.actor_subject,
            role: caller::role_to_proto(Role::parse(&e.actor_role)) as i32,
        }),
        action: e.action,
        request_id: e.request_id,
        details_json: e.details.to_string(),
    }
}

#[tonic::async_trait]
impl NoticeService for NoticeApi {
    async fn issue_notice_to_improve(
        &self,
        request: Request<pb::IssueNoticeToImproveRequest>,
    ) -> Result<Response<pb::IssueNoticeToImproveResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let issue = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            notice_to_improve_request(&req, &caller, self.app.today())
        });
        let authority = caller.authority.clone();
        let notices = self
            .app
            .issue_notice_to_improve(caller, request_id(&req.request_id, &req), issue)
            .await?;
        Ok(Response::new(pb::IssueNoticeToImproveResponse {
            notices: self.notices_to_proto(&authority, &notices),
        }))
    }

    async fn issue_penalty_notice(
        &self,
        request: Request<pb::IssuePenaltyNoticeRequest>,
    ) -> Result<Response<pb::IssuePenaltyNoticeResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let issue = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            let issue = penalty_request(&req, &caller, self.app.today())?;
            if req.penalty_notice_request.is_empty() {
                return Ok((issue, None));
            }
            caller.check_resource_name(&req.penalty_notice_request)?;
            let (_, number) = names::parse_penalty_notice_request(
                "penalty_notice_request",
                &req.penalty_notice_request,
            )?;
            Ok((issue, Some(number)))
        });
        let authority = caller.authority.clone();
        let notices = self
            .app
            .issue_penalty_notice(caller, request_id(&req.request_id, &req), issue)
            .await?;
        Ok(Response::new(pb::IssuePenaltyNoticeResponse {
            notices: self.notices_to_proto(&authority, &notices),
        }))
    }

    async fn get_notice(
        &self,
        request: Request<pb::GetNoticeRequest>,
    ) -> Result<Response<pb::GetNoticeResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let number = read(|| {
            prewalk::check(&req)?;
            caller.check_resource_name(&req.name)?;
            Ok(names::parse_notice("name", &req.name)?.1)
        });
        let authority = caller.authority.clone();
        let notice = self.app.get_notice(caller, number).await?;
        Ok(Response::new(pb::GetNoticeResponse {
            notice: Some(notice_to_proto(&authority, &notice, self.app.today())),
        }))
    }

    async fn list_notices(
        &self,
        request: Request<pb::ListNoticesRequest>,
    ) -> Result<Response<pb::ListNoticesResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let asked = || {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            notice_query(&req)
        };
        let listing = asked().map(|p| (p.query, p.after, p.size + 1));
        let authority = caller.authority.clone();
        let fetched = self.app.list_notices(caller.clone(), listing).await?;
        // Pure, and its errors were answered above: read again for the paging.
        let page = asked()?;
        let today = self.app.today();
        let (notices, next_page_token) = pagination::page_within(
            fetched,
            page.size,
            &page.filter,
            |last| pagination::date_key_cursor(last.issue_date, &last.notice_number),
            |n| prost::Message::encoded_len(&notice_to_proto(&authority, n, today)),
        );
        Ok(Response::new(pb::ListNoticesResponse {
            notices: self.notices_to_proto(&authority, &notices),
            next_page_token,
        }))
    }

    async fn withdraw_notice(
        &self,
        request: Request<pb::WithdrawNoticeRequest>,
    ) -> Result<Response<pb::WithdrawNoticeResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let change = read(|| {
            prewalk::check(&req)?;
            caller.check_resource_name(&req.name)?;
            withdraw_request(&req, self.app.today())
        });
        let id = request_id(&req.request_id, &req);
        let notice = self.change(caller, id, change).await?;
        Ok(Response::new(pb::WithdrawNoticeResponse {
            notice: Some(notice),
        }))
    }

    async fn record_prosecution_outcome(
        &self,
        request: Request<pb::RecordProsecutionOutcomeRequest>,
    ) -> Result<Response<pb::RecordProsecutionOutcomeResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let change = read(|| {
            prewalk::check(&req)?;
            caller.check_resource_name(&req.name)?;
            prosecution_request(&req, self.app.today())
        });
        let id = request_id(&req.request_id, &req);
        let notice = self.change(caller, id, change).await?;
        Ok(Response::new(pb::RecordProsecutionOutcomeResponse {
            notice: Some(notice),
        }))
    }

    async fn list_notice_events(
        &self,
        request: Request<pb::ListNoticeEventsRequest>,
    ) -> Result<Response<pb::ListNoticeEventsResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let filter = format!("parent={}", req.parent);
        let asked = || {
            prewalk::check(&req)?;
            caller.check_resource_name(&req.parent)?;
            let mut v = Violations::new();
            let name = v.check(names::parse_notice("parent", &req.parent));
            let size = v.check(pagination::page_size("page_size", req.page_size));
            let after = v.check(pagination::decode_id(
                "page_token",
                &req.page_token,
                &filter,
            ));
            let (((_, number), size), after) = v.finish(name.zip(size).zip(after))?;
            Ok((number, after, size))
        };
        let listing = asked().map(|(number, after, size)| (number, after, size + 1));
        let fetched = self.app.list_notice_events(caller.clone(), listing).await?;
        // Pure, and its errors were answered above: read again for the paging.
        let (_, _, size) = asked()?;
        let (page, next_page_token) =
            pagination::page(fetched, size, &filter, |last| last.event_id.to_string());
        Ok(Response::new(pb::ListNoticeEventsResponse {
            notice_events: page.into_iter().map(event_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn render_notice(
        &self,
        request: Request<pb::RenderNoticeRequest>,
    ) -> Result<Response<pb::RenderNoticeResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let number = read(|| {
            prewalk::check(&req)?;
            caller.check_resource_name(&req.name)?;
            Ok(names::parse_notice("name", &req.name)?.1)
        });
        let pdf = self.app.render_notice(caller, number).await?;
        Ok(Response::new(pdf.into()))
    }

    async fn request_penalty_notice(
        &self,
        request: Request<pb::RequestPenaltyNoticeRequest>,
    ) -> Result<Response<pb::RequestPenaltyNoticeResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let draft = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            penalty_notice_request_draft(&req)
        });
        let authority = caller.authority.clone();
        let made = self
            .app
            .request_penalty_notice(caller, request_id(&req.request_id, &req), draft)
            .await?;
        Ok(Response::new(pb::RequestPenaltyNoticeResponse {
            penalty_notice_request: Some(penalty_notice_request_to_proto(&authority, &made)),
        }))
    }

    async fn list_penalty_notice_requests(
        &self,
        request: Request<pb::ListPenaltyNoticeRequestsRequest>,
    ) -> Result<Response<pb::ListPenaltyNoticeRequestsResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let asked = || {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            let page = penalty_notice_request_query(&req)?;
            let after = match page.after.as_deref() {
                None => 0,
                Some(cursor) => cursor.parse().map_err(|_| {
                    FieldViolation::new("page_token", "not a page token this service issued")
                })?,
            };
            Ok((page, after))
        };
        let listing = asked().map(|(page, after)| (page.query, after, page.size + 1));
        let authority = caller.authority.clone();
        let found = self
            .app
            .penalty_notice_requests(caller.clone(), listing)
            .await?;
        // Pure, and its errors were answered above: read again for the paging.
        let (page, _) = asked()?;
        let (found, next_page_token) =
            pagination::page(found, page.size, &page.filter, |r| r.number.to_string());
        Ok(Response::new(pb::ListPenaltyNoticeRequestsResponse {
            penalty_notice_requests: found
                .iter()
                .map(|r| penalty_notice_request_to_proto(&authority, r))
                .collect(),
            next_page_token,
        }))
    }

    async fn decline_penalty_notice_request(
        &self,
        request: Request<pb::DeclinePenaltyNoticeRequestRequest>,
    ) -> Result<Response<pb::DeclinePenaltyNoticeRequestResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let decline = read(|| {
            prewalk::check(&req)?;
            caller.check_resource_name(&req.name)?;
            decline_request(&req)
        });
        let authority = caller.authority.clone();
        let declined = self
            .app
            .decline_penalty_notice_request(caller, request_id(&req.request_id, &req), decline)
            .await?;
        Ok(Response::new(pb::DeclinePenaltyNoticeRequestResponse {
            penalty_notice_request: Some(penalty_notice_request_to_proto(&authority, &declined)),
        }))
    }
}
