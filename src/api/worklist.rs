//! WorklistService: what needs a person now.

use tonic::{Request, Response, Status};

use super::caller;
use super::convert::date_to_proto;
use super::convert::worklist::{action_to_proto, actions_query};
use super::layers::prewalk;
use super::pagination;
use crate::app::App;
use crate::proto::v1::{self as pb, worklist_service_server::WorklistService};

pub struct WorklistApi {
    app: App,
}

impl WorklistApi {
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

#[tonic::async_trait]
impl WorklistService for WorklistApi {
    async fn list_actions(
        &self,
        request: Request<pb::ListActionsRequest>,
    ) -> Result<Response<pb::ListActionsResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let asked = || {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            actions_query(&req)
        };
        let listing = asked().map(|page| {
            let limit = usize::try_from(page.size + 1).unwrap_or(usize::MAX);
            (page.query, page.after, limit)
        });
        let authority = caller.authority.clone();
        let worklist = self.app.list_actions(caller.clone(), listing).await?;
        // Pure, and its errors were answered above: read again for the paging.
        let page = asked()?;
        let (actions, next_page_token) = pagination::page_within(
            worklist.actions,
            page.size,
            &page.filter,
            |last| {
                let (due, key) = last.position();
                pagination::date_key_cursor(due, &key)
            },
            |a| prost::Message::encoded_len(&action_to_proto(&authority, a)),
        );
        Ok(Response::new(pb::ListActionsResponse {
            actions: actions
                .iter()
                .map(|a| action_to_proto(&authority, a))
                .collect(),
            next_page_token,
            as_of_date: Some(date_to_proto(worklist.today)),
        }))
    }
}
