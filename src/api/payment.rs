//! PaymentService: money received, matched to notices, refunded; never lost.

use tonic::{Request, Response, Status};

use super::caller::{self, read};
use super::convert::date_to_proto;
use super::convert::notice::{balance_to_proto, paid_rate_to_proto};
use super::convert::payment::{new_payment, payment_query, payment_to_proto, reallocation, refund};
use super::error::Violations;
use super::layers::prewalk;
use super::mutation::{fingerprint, request_id};
use super::pagination;
use crate::app::{AmountDueOn, App};
use crate::domain::{names, payment::AmountDue};
use crate::proto::v1::{self as pb, payment_service_server::PaymentService};

pub struct PaymentApi {
    app: App,
}

impl PaymentApi {
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

fn amount_due_to_proto(a: &AmountDueOn) -> pb::GetAmountDueResponse {
    let balance = Some(balance_to_proto(&a.notice, a.on));
    match &a.due {
        AmountDue::Payable {
            amount_pence,
            rate,
            due_by,
        } => pb::GetAmountDueResponse {
            amount_due_pence: *amount_pence,
            due_by: Some(date_to_proto(*due_by)),
            rate: paid_rate_to_proto(Some(*rate)) as i32,
            payable: true,
            not_payable_reason: String::new(),
            balance,
        },
        AmountDue::NotPayable { reason } => pb::GetAmountDueResponse {
            amount_due_pence: 0,
            due_by: None,
            rate: pb::PaidRate::Unspecified as i32,
            payable: false,
            not_payable_reason: reason.clone(),
            balance,
        },
    }
}

#[tonic::async_trait]
impl PaymentService for PaymentApi {
    async fn record_payment(
        &self,
        request: Request<pb::RecordPaymentRequest>,
    ) -> Result<Response<pb::RecordPaymentResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let new = read(|| {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            new_payment(&req, self.app.now())
        });
        let authority = caller.authority.clone();
        let payment = self.app.record_payment(caller, new).await?;
        Ok(Response::new(pb::RecordPaymentResponse {
            payment: Some(payment_to_proto(&authority, &payment)),
        }))
    }

    async fn allocate_payment(
        &self,
        request: Request<pb::AllocatePaymentRequest>,
    ) -> Result<Response<pb::AllocatePaymentResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let reallocation = read(|| {
            prewalk::check(&req)?;
            caller.check_resource_name(&req.name)?;
            let (payment_id, allocations) = reallocation(&req)?;
            Ok((payment_id, allocations, req.reason.clone()))
        });
        let authority = caller.authority.clone();
        let id = request_id(&req.request_id, &req);
        let payment = self.app.allocate_payment(caller, id, reallocation).await?;
        Ok(Response::new(pb::AllocatePaymentResponse {
            payment: Some(payment_to_proto(&authority, &payment)),
        }))
    }

    async fn record_refund(
        &self,
        request: Request<pb::RecordRefundRequest>,
    ) -> Result<Response<pb::RecordRefundResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let refund = read(|| {
            prewalk::check(&req)?;
            caller.check_resource_name(&req.name)?;
            refund(&req)
        });
        let authority = caller.authority.clone();
        let payment = self
            .app
            .record_refund(caller, refund, fingerprint(&req))
            .await?;
        Ok(Response::new(pb::RecordRefundResponse {
            payment: Some(payment_to_proto(&authority, &payment)),
        }))
    }

    async fn get_amount_due(
        &self,
        request: Request<pb::GetAmountDueRequest>,
    ) -> Result<Response<pb::GetAmountDueResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let asked = read(|| {
            prewalk::check(&req)?;
            caller.check_resource_name(&req.name)?;
            let mut v = Violations::new();
            let name = v.check(names::parse_notice("name", &req.name));
            let on = v.check(super::convert::optional_date("date", req.date.as_ref()));
            let ((_, number), on) = v.finish(name.zip(on))?;
            Ok((number, on))
        });
        let due = self.app.amount_due(caller, asked).await?;
        Ok(Response::new(amount_due_to_proto(&due)))
    }

    async fn list_payments(
        &self,
        request: Request<pb::ListPaymentsRequest>,
    ) -> Result<Response<pb::ListPaymentsResponse>, Status> {
        let caller = caller::identify(&request)?;
        let req = request.into_inner();
        let asked = || {
            prewalk::check(&req)?;
            caller.check_parent_name(&req.parent)?;
            payment_query(&req)
        };
        let listing = asked().map(|page| (page.query, page.after, page.size + 1));
        let authority = caller.authority.clone();
        let fetched = self.app.list_payments(caller.clone(), listing).await?;
        // Pure, and its errors were answered above: read again for the paging.
        let page = asked()?;
        let (payments, next_page_token) = pagination::page_within(
            fetched,
            page.size,
            &page.filter,
            |last| pagination::date_key_cursor(last.paid_date, &last.payment_id),
            |p| prost::Message::encoded_len(&payment_to_proto(&authority, p)),
        );
        Ok(Response::new(pb::ListPaymentsResponse {
            payments: payments
                .iter()
                .map(|p| payment_to_proto(&authority, p))
                .collect(),
            next_page_token,
        }))
    }
}
